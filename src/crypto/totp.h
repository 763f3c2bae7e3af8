/*
 * totp.h - TOTP secrets (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps), made
 * and checked here so that no other layer holds one in clear.
 *
 * A secret is 20 random bytes (160 bits, RFC 4226's recommendation). It is
 * shown to the user once, as base32 text inside an otpauth URI, and stored
 * only sealed under the user's data key with AAD "sh1|mfa_totp|secret|<user>".
 * Checking a code opens the secret, computes the codes of the allowed steps
 * with liboath, compares in constant time and wipes everything.
 *
 * Steps are numbered floor(unix time / 30). A code is accepted for the
 * current step and one step either side (clock skew), and only for a step
 * later than `after_step`, the last one used: a code is good once.
 */
#ifndef SH_TOTP_H
#define SH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"
#include "crypto/seal.h"

#define SH_TOTP_SECRET_LEN 20
#define SH_TOTP_B32_LEN 32 /* base32 of 20 bytes, no padding */
#define SH_TOTP_DIGITS 6
#define SH_TOTP_STEP_S 30
#define SH_TOTP_WINDOW 1 /* steps accepted either side of now */

/* Must be called once before threads start (liboath's global init). */
sh_status sh_totp_init(void);
/* Releases liboath's global state; at exit. */
void sh_totp_cleanup(void);

/* Makes a fresh secret for user, sealed under key into *sealed (malloc'd,
 * caller frees), and writes its base32 form (NUL-terminated) to b32 for the
 * one-time display. The caller wipes b32 after use. */
sh_status sh_totp_new(const sh_datakey *key, const sh_id *user, uint8_t **sealed,
                      size_t *sealed_len, char b32[SH_TOTP_B32_LEN + 1]);

/* Checks a 6-digit code against a sealed secret at now_s. Accepts steps in
 * [now-1, now+1] that are > after_step; *step gets the matching one.
 * Returns SH_OK, SH_ERR_INVALID_CODE (wrong, reused, or not 6 digits), or
 * SH_ERR_INTERNAL if the blob does not open for this user. */
__attribute__((warn_unused_result)) sh_status
sh_totp_check(const sh_datakey *key, const sh_id *user, const uint8_t *sealed, size_t sealed_len,
              const char *code, int64_t now_s, int64_t after_step, int64_t *step);

#endif
