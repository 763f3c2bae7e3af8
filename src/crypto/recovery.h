/*
 * recovery.h - one-time recovery codes for two-factor accounts.
 *
 * Ten codes are made when two-factor login is turned on and shown once.
 * Each is 10 characters from Crockford's base32 alphabet (50 random bits),
 * printed as XXXXX-XXXXX. The store keeps only
 * BLAKE2b(token-hash key, "recovery" || user id || normalized code), so a copy
 * of the table is useless without the key and a code of one user does not
 * match the row of another. Normalization: drop '-' and spaces, upper-case,
 * map O->0 and I,L->1 (Crockford), so a code typed from paper works.
 */
#ifndef SH_RECOVERY_H
#define SH_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"

#define SH_RECOVERY_COUNT 10
#define SH_RECOVERY_CHARS 10
#define SH_RECOVERY_TEXT_LEN (SH_RECOVERY_CHARS + 1) /* with the dash */

/* Makes SH_RECOVERY_COUNT codes: text (for the user, NUL-terminated) and
 * their keyed hashes (for the store). The caller wipes text after use. */
void sh_recovery_new(const sh_keyring *kr, const sh_id *user,
                     char text[SH_RECOVERY_COUNT][SH_RECOVERY_TEXT_LEN + 1],
                     uint8_t hashes[SH_RECOVERY_COUNT][SH_HASH_LEN]);
/* Hashes a typed code. SH_ERR_INVALID_CODE if it cannot be a code. */
__attribute__((warn_unused_result)) sh_status sh_recovery_hash(const sh_keyring *kr,
                                                               const sh_id *user, const char *typed,
                                                               uint8_t out[SH_HASH_LEN]);

#endif
