/*
 * authorize.h - the authorization endpoint's logic (RFC 6749 4.1.1-4.1.2,
 * RFC 7636): checking an authorization request, the browser login that
 * precedes consent, CSRF tokens, and turning an approved consent into a
 * single-use code.
 *
 * Order of checks, as RFC 6749 4.1.2.1 requires: client and redirect URI
 * first; if either is wrong the user sees an error page and is never
 * redirected. Every later error is reported to the client by redirecting
 * to the (now trusted) redirect URI with error= and state=.
 *
 * The browser's login is a MAC'd ticket in a cookie (sh_ol_, 10 minutes),
 * not an app session: it appears nowhere, holds no refresh token, and dies
 * with any user or all rule. Its stage says whether a second factor is
 * still owed: a pending ticket is never accepted for consent, only by the
 * second step, which checks the factor with the two-factor domain code
 * (auth/mfa_login.h) and replaces it with a done ticket.
 */
#ifndef SH_OAUTH_AUTHORIZE_H
#define SH_OAUTH_AUTHORIZE_H

#include "core/buf.h"
#include "oauth/clients.h"
#include "oauth/scopes.h"
#include "oauth/tokens.h"

#define SH_AUTHZ_STATE_MAX 512
#define SH_AUTHZ_CSRF_LEN 43
#define SH_AUTHZ_BROWSER_LEN 43

/* The request's parameters as received (each NULL when absent). */
typedef struct sh_authz_params {
    const char *response_type;
    const char *client_id;
    const char *redirect_uri;
    const char *scope;
    const char *state;
    const char *code_challenge;
    const char *code_challenge_method;
} sh_authz_params;

/* A checked request. Strings point into the params. */
typedef struct sh_authz_request {
    sh_oauth_client_rec client;
    const char *redirect_uri;
    const char *state; /* may be NULL */
    const char *challenge;
    unsigned scopes;
    char scope_text[SH_SCOPE_TEXT_MAX];
} sh_authz_request;

/* Checks a request. SH_OK; or SH_ERR_NOT_FOUND with *error a fixed text
 * for the error page (unknown client or redirect URI: never redirect); or
 * SH_ERR_INVALID_REQUEST with *error an RFC 6749 error code
 * (invalid_request, unsupported_response_type, invalid_scope) and
 * *description a fixed text, to be sent to the redirect URI. */
sh_status sh_authz_check(const sh_oauth *o, const sh_authz_params *p, sh_authz_request *out,
                         const char **error, const char **description);
/* Builds the redirect to the client: redirect_uri plus code (or error and
 * error_description), state and iss, correctly joined and encoded. */
void sh_authz_redirect_url(const sh_oauth *o, const sh_authz_request *req, const char *code,
                           const char *error, const char *description, sh_buf *out);

/* A new random browser nonce (base64url, SH_AUTHZ_BROWSER_LEN chars). */
void sh_authz_browser_new(char out[SH_AUTHZ_BROWSER_LEN + 1]);
/* The CSRF token of the forms shown to a browser: a keyed hash of its
 * nonce, so a page from another site can neither read nor make one. */
void sh_authz_csrf(const sh_oauth *o, const char *browser, char out[SH_AUTHZ_CSRF_LEN + 1]);
/* 1 if presented is the CSRF token of browser (constant time). */
int sh_authz_csrf_ok(const sh_oauth *o, const char *browser, const char *presented);

/* Checks e-mail and password (slow: Argon2id). On success fills the
 * ticket and its cookie text: stage SH_LOGIN_DONE; or, when the account
 * has a second factor, stage SH_LOGIN_MFA_PENDING (living as long as the
 * challenge) and mfa_token, a browser challenge (sh_mt_, auth/mfa_login.h)
 * for the caller to set as a cookie; mfa_token is "" otherwise.
 * SH_ERR_INVALID_CREDENTIALS or SH_ERR_RATE_LIMITED otherwise. */
sh_status sh_authz_login(const sh_oauth *o, const char *email, const char *password, size_t len,
                         sh_login_ticket *t, char cookie[SH_TOKEN_MAX],
                         char mfa_token[SH_TOKEN_MAX]);
/* 1 if cookie is a stage SH_LOGIN_MFA_PENDING ticket (MAC, expiry) with no
 * user or all rule since the password: the code form is due. */
int sh_authz_mfa_pending(const sh_oauth *o, const char *cookie, size_t len);
/* The second step: a pending ticket, the challenge made with it and a
 * second factor (exactly one of code and recovery; sh_mfa_verify: single
 * use, +-1 step, the per-account code limit). On SH_OK fills a new stage
 * SH_LOGIN_DONE ticket and its cookie text. SH_ERR_INVALID_CODE (counted:
 * the form again), SH_ERR_RATE_LIMITED (*retry_after_s), or
 * SH_ERR_INVALID_TOKEN (no pending ticket, a rule since the password, the
 * challenge unknown, used, expired, another user's or dead after
 * SH_MFA_MAX_FAILURES wrong codes: sign in again). */
sh_status sh_authz_second_factor(const sh_oauth *o, const char *ticket, size_t ticket_len,
                                 const char *mfa_token, size_t mfa_len, const char *code,
                                 const char *recovery, sh_login_ticket *t,
                                 char cookie[SH_TOKEN_MAX], int *retry_after_s);
/* Verifies a login cookie: MAC, expiry, stage done, and no user or all
 * rule since the login. Fills *user (an app-side principal for device
 * look-ups). SH_ERR_INVALID_TOKEN otherwise (a pending ticket too). */
sh_status sh_authz_logged_in(const sh_oauth *o, const char *cookie, size_t len, sh_principal *user);
/* Approves a request for the logged-in user with the chosen devices (ids
 * as 32-hex text, n <= SH_STORE_GRANT_DEVICES_MAX): each must be a device
 * the user has a role on now; its current generation is recorded. Makes a
 * code (sh_ac_, single use, o->code_ttl_us). SH_ERR_NOT_FOUND for a device
 * that is not the user's. */
sh_status sh_authz_approve(const sh_oauth *o, const sh_authz_request *req, const sh_principal *user,
                           const char *const *devices, size_t n, char code[SH_TOKEN_MAX]);

#endif
