/*
 * sessions.h - app sessions: login, refresh-token rotation, listing and
 * ending sessions, and turning a bearer token into a principal.
 *
 * A session is a token family: one row, one current refresh token (its keyed
 * hash), and short-lived access tokens that carry the session's creation
 * time. Authenticating a request never touches the store: MAC, expiry and
 * the in-memory revocation index decide. Ending a session marks its row and
 * adds a session rule, so its access tokens die at once, not at expiry.
 */
#ifndef SH_SESSIONS_H
#define SH_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/status.h"
#include "crypto/token.h"

typedef struct sh_token_pair {
    char access[SH_TOKEN_MAX];
    char refresh[SH_TOKEN_MAX];
    sh_id session;
    int64_t expires_in_s;
} sh_token_pair;

typedef struct sh_session_view {
    sh_id id;
    int token_class;
    char *device_name; /* malloc'd, may be NULL */
    int64_t created_at;
    int64_t last_used_at;
    int current;
} sh_session_view;

typedef struct sh_session_list {
    sh_session_view *items;
    size_t count;
    size_t cap;
} sh_session_list;

/* A login attempt, as typed. Borrowed strings. */
typedef struct sh_login_in {
    const char *email;
    const char *password;
    size_t password_len;
    int token_class;
    const char *device_name; /* may be NULL */
} sh_login_in;

/* The outcome: tokens, or (mfa_required) a second-factor challenge. The
 * caller wipes it after replying. */
typedef struct sh_login_out {
    sh_token_pair tokens;
    int mfa_required;
    char mfa_token[SH_TOKEN_MAX];
    int64_t mfa_expires_in_s;
    int retry_after_s; /* with SH_ERR_RATE_LIMITED */
} sh_login_out;

/* Logs in with e-mail and password. Same SH_ERR_INVALID_CREDENTIALS, in
 * about the same time, for an unknown e-mail and a wrong password; failures
 * are charged to the account's login limit (keyed by the e-mail's blind
 * index, so unknown addresses behave alike) and a locked account gets
 * SH_ERR_RATE_LIMITED before any hashing. Re-hashes a password stored with
 * older Argon2id parameters. For a two-factor user the answer is a
 * challenge (out->mfa_required) instead of tokens. Queues a new-login alert
 * for a client not seen before. Slow. */
sh_status sh_session_login(const sh_auth *a, const sh_login_in *in, sh_login_out *out);
/* Logs session_created for a new session. */
void sh_session_log_created(const sh_id *session);
/* Checks e-mail and password without opening a session (the OAuth login
 * page uses it). Same timing, errors and per-account limit as sh_session_login;
 * re-hashes an old hash. Does not look at two-factor login: the caller must. On SH_OK *u is filled
 * (release with sh_user_rec_clear). */
sh_status sh_session_check_password(const sh_auth *a, const char *email, const char *password,
                                    size_t password_len, sh_user_rec *u);
/* Opens a session for an already authenticated user record (login, seed). */
sh_status sh_session_open(const sh_auth *a, const sh_user_rec *u, int token_class,
                          const char *device_name, sh_token_pair *out);
/* Rotates a refresh token. A token that was already rotated ends its whole
 * session and returns SH_ERR_INVALID_TOKEN. */
sh_status sh_session_refresh(const sh_auth *a, const char *refresh, size_t len, sh_token_pair *out);
/* Verifies a bearer access token without the store. */
sh_status sh_session_authenticate(const sh_auth *a, const char *bearer, size_t len,
                                  sh_principal *out);
/* Lists the caller's live sessions; release with sh_session_list_clear. */
sh_status sh_session_list_live(const sh_auth *a, const sh_principal *p, sh_session_list *out);
void sh_session_list_clear(sh_session_list *l);
/* Ends one of the caller's sessions; SH_ERR_NOT_FOUND if it is not theirs. */
sh_status sh_session_end(const sh_auth *a, const sh_principal *p, const sh_id *session);
/* Ends every live session of the caller's user except the caller's own. */
sh_status sh_session_end_others(const sh_auth *a, const sh_principal *p);

#endif
