/*
 * mfa.h - two-factor login with TOTP: enrolment, confirmation (which turns
 * it on and makes the recovery codes), turning it off, and checking a
 * second factor (a TOTP code or a recovery code) for a user.
 *
 * Invariants: a code is accepted once (the store moves last_step forward
 * with a conditional UPDATE, so two racing requests with one code cannot
 * both pass); a recovery code is accepted once (conditional UPDATE);
 * failures are charged to the per-account code limit (auth/limits.h), which
 * is checked before any code is looked at.
 */
#ifndef SH_MFA_H
#define SH_MFA_H

#include "auth/auth.h"
#include "core/status.h"
#include "crypto/recovery.h"
#include "crypto/totp.h"

#define SH_MFA_ISSUER "safehouse"
#define SH_MFA_URI_MAX 1024

/* What enrolment hands the user once. */
typedef struct sh_mfa_enrolment {
    char secret[SH_TOTP_B32_LEN + 1];
    char uri[SH_MFA_URI_MAX]; /* otpauth://totp/... */
} sh_mfa_enrolment;

typedef struct sh_mfa_codes {
    char codes[SH_RECOVERY_COUNT][SH_RECOVERY_TEXT_LEN + 1];
} sh_mfa_codes;

/* 1 in *on if the user has two-factor login turned on. */
sh_status sh_mfa_enabled(const sh_auth *a, const sh_id *user, int *on);
/* Starts (or restarts) enrolment: a new pending secret. SH_ERR_CONFLICT if
 * two-factor is already on. The caller wipes *out after replying. */
sh_status sh_mfa_enrol(const sh_auth *a, const sh_principal *p, sh_mfa_enrolment *out);
/* Confirms enrolment with a code from the new secret: turns two-factor on,
 * makes ten recovery codes (caller wipes *out) and mails the user.
 * SH_ERR_NOT_FOUND if no enrolment is pending, SH_ERR_INVALID_CODE,
 * SH_ERR_RATE_LIMITED (*retry_after_s). */
sh_status sh_mfa_confirm(const sh_auth *a, const sh_principal *p, const char *code,
                         sh_mfa_codes *out, int *retry_after_s);
/* Turns two-factor off (the caller has done the step-up) and mails the user.
 * SH_ERR_NOT_FOUND if it was not on. */
sh_status sh_mfa_disable(const sh_auth *a, const sh_principal *p);
/* Checks a second factor for user u: exactly one of code (6 digits) and
 * recovery (a recovery code) is non-NULL. SH_OK (and the code is used up),
 * SH_ERR_INVALID_CODE (charged to the limit), SH_ERR_RATE_LIMITED
 * (*retry_after_s, nothing checked), SH_ERR_NOT_FOUND if u has no
 * confirmed TOTP. */
sh_status sh_mfa_verify(const sh_auth *a, const sh_user_rec *u, const char *code,
                        const char *recovery, int *retry_after_s);

#endif
