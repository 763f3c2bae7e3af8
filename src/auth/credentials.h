/*
 * credentials.h - what a user types: e-mail normalization and password
 * policy.
 *
 * E-mail: surrounding white space trimmed; the local part kept as typed
 * (RFC 5321 leaves its case to the receiving host); the domain mapped with
 * IDNA2008/UTS #46 (libidn2) to lower-case ASCII, so "Bob@BÜCHER.de" and
 * "Bob@xn--bcher-kva.de" are one account.
 * Password: 10 to 256 characters (code points) and not on the embedded list
 * of common passwords.
 */
#ifndef SH_CREDENTIALS_H
#define SH_CREDENTIALS_H

#include <stddef.h>

#include "core/status.h"

#define SH_EMAIL_MAX 254
#define SH_PASSWORD_MIN_CHARS 10
#define SH_PASSWORD_MAX_CHARS 256

/* Normalizes an e-mail address into out (cap >= SH_EMAIL_MAX + 1).
 * Returns SH_OK or SH_ERR_INVALID_EMAIL. */
sh_status sh_email_normalize(const char *in, char *out, size_t cap);
/* Returns SH_OK, or SH_ERR_WEAK_PASSWORD. pw must be valid UTF-8. */
sh_status sh_password_policy_check(const char *pw, size_t len);

#endif
