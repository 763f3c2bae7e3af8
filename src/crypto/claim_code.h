/*
 * claim_code.h - the codes printed on (or shown by) a device so that its
 * buyer can claim it: 25 characters of Crockford base32 in five groups,
 * "7K3QD-M2XWV-...", 125 random bits. Typed by people, so parsing forgives
 * case, dashes and spaces, and reads I/L as 1 and O as 0. Only a keyed hash
 * of the canonical form is stored.
 */
#ifndef SH_CLAIM_CODE_H
#define SH_CLAIM_CODE_H

#include <stddef.h>

#include "core/status.h"

#define SH_CLAIM_CHARS 25
#define SH_CLAIM_TEXT_MAX 32 /* 25 characters, 4 dashes, NUL */

/* Writes a new random code, grouped with dashes. */
void sh_claim_code_new(char out[SH_CLAIM_TEXT_MAX]);
/* Canonical 25-character form of typed text (NUL-terminated into out), or
 * SH_ERR_INVALID_REQUEST if it is not a claim code. */
sh_status sh_claim_code_canonical(const char *text, size_t len, char out[SH_CLAIM_CHARS + 1]);

#endif
