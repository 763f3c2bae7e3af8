/*
 * mfa_login.h - the second step of a two-factor login.
 *
 * After the right password, a two-factor user gets an mfa_token (sh_mt_):
 * 256 random bits, kept only as a keyed hash in mfa_challenges, bound to
 * the user and the client kind (and device name) of that login, valid
 * SH_MFA_CHALLENGE_TTL_S seconds, good for one session, and dead after
 * SH_MFA_MAX_FAILURES wrong codes. POST /v1/sessions/mfa exchanges it and a
 * code (or a recovery code) for the usual tokens.
 *
 * The OAuth authorize page uses the same challenges for its own second
 * step (SH_MFA_BROWSER): those have no client kind, never open an app
 * session, and an app's challenge never completes a browser login.
 *
 * Nothing here depends on revocation rules: a challenge is not a session,
 * and the session it opens is newer than any rule. That is what keeps
 * two-factor users able to log in after any mass revocation (P4).
 */
#ifndef SH_MFA_LOGIN_H
#define SH_MFA_LOGIN_H

#include "auth/sessions.h"
#include "auth/token_class.h"

#define SH_MFA_CHALLENGE_TTL_S 300
#define SH_MFA_MAX_FAILURES 5
/* The token_class of a challenge made for the OAuth authorize page. */
#define SH_MFA_BROWSER SH_CLASS_NONE

/* Makes a challenge for u after a correct password; token gets its text.
 * token_class: the app's client kind, or SH_MFA_BROWSER. */
sh_status sh_mfa_challenge_new(const sh_auth *a, const sh_user_rec *u, int token_class,
                               const char *device_name, char token[SH_TOKEN_MAX],
                               int64_t *expires_in_s);
/* Exchanges a challenge and a second factor (exactly one of code and
 * recovery) for tokens. token_class: the client kind the request claims,
 * or SH_CLASS_NONE to accept the challenge's. Returns SH_OK,
 * SH_ERR_INVALID_TOKEN (unknown, used, expired, dead, other client kind,
 * a browser challenge),
 * SH_ERR_INVALID_CODE (counted against the challenge and the account),
 * SH_ERR_RATE_LIMITED (*retry_after_s). */
sh_status sh_session_login_mfa(const sh_auth *a, const char *mfa_token, size_t len, int token_class,
                               const char *code, const char *recovery, sh_token_pair *out,
                               int *retry_after_s);
/* The same second step for the OAuth authorize page: checks a browser
 * challenge of user and a second factor (exactly one of code and recovery)
 * and uses the challenge up; opens nothing. Same returns as
 * sh_session_login_mfa; SH_ERR_INVALID_TOKEN also for an app's challenge or
 * another user's (before any code is looked at). */
sh_status sh_mfa_challenge_pass(const sh_auth *a, const char *mfa_token, size_t len,
                                const sh_id *user, const char *code, const char *recovery,
                                int *retry_after_s);

#endif
