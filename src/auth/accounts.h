/*
 * accounts.h - creating and reading accounts, changing the display name and
 * the password. E-mail and display name are sealed under the user's own data
 * key; the e-mail is found again through its keyed blind index.
 */
#ifndef SH_ACCOUNTS_H
#define SH_ACCOUNTS_H

#include <stdint.h>

#include "auth/auth.h"
#include "core/status.h"
#include "store/store_mfa.h"

/* An account as the API shows it. Strings are malloc'd and owned by the
 * view; release with sh_account_view_clear. */
typedef struct sh_account_view {
    sh_id id;
    char *email;
    char *display_name; /* may be NULL */
    int64_t created_at;
} sh_account_view;

void sh_account_view_clear(sh_account_view *v);

/* Creates an account. display_name may be NULL. Errors: SH_ERR_INVALID_EMAIL,
 * SH_ERR_WEAK_PASSWORD, SH_ERR_EMAIL_TAKEN, SH_ERR_INVALID_REQUEST. Slow: runs
 * Argon2id. */
sh_status sh_account_create(const sh_auth *a, const char *email, const char *password,
                            size_t password_len, const char *display_name, sh_account_view *out);
/* Creates an account from an e-mail and an already computed password hash
 * (bulk seeding). Fills *out (borrowed fields: none; caller frees with
 * sh_user_rec_clear) with the stored record. */
sh_status sh_account_create_hashed(const sh_auth *a, const char *email, const char *pw_hash,
                                   const char *display_name, sh_user_rec *out);
/* Reads and opens a user's account. SH_ERR_NOT_FOUND if gone. */
sh_status sh_account_get(const sh_auth *a, const sh_id *user, sh_account_view *out);
/* Sets (or, with NULL, clears) the display name. */
sh_status sh_account_set_display_name(const sh_auth *a, const sh_id *user, const char *name);
/* What GET /v1/me shows: the account and its e-mail and two-factor state,
 * from the profile cache while fresh (auth/profile_cache.h), else from the
 * store; with memory_only set, SH_WOULDBLOCK instead of a store read.
 * *view is the caller's (sh_account_view_clear). */
sh_status sh_account_me(const sh_auth *a, const sh_id *user, int memory_only, sh_account_view *view,
                        sh_account_state *state);
/* After a write that changes what sh_account_me shows: drops the cached
 * view here and tells the other nodes. */
void sh_account_changed(const sh_auth *a, const sh_id *user);
/* A password change as requested: the current password always; for a
 * two-factor user whose login is older than the step-up window also a code
 * or a recovery code (NULL when absent). */
typedef struct sh_password_change {
    const char *current;
    size_t current_len;
    const char *next;
    size_t next_len;
    const char *code;
    const char *recovery_code;
} sh_password_change;

/* Changes the password after checking the current one (and, for a stale
 * two-factor login, the code: else SH_ERR_REAUTH), ends every other session
 * of the user and mails a notice. Slow: runs Argon2id twice. */
sh_status sh_account_change_password(const sh_auth *a, const sh_principal *p,
                                     const sh_password_change *c, int *retry_after_s);
/* Deletes the caller's account (the caller has done the step-up): the row
 * and with it every session, token, 2FA secret and queued message, and the
 * wrapped data key, so sealed copies in old backups cannot be opened (P9);
 * a `user` revocation rule ends every access token at once. */
sh_status sh_account_delete(const sh_auth *a, const sh_principal *p);

#endif
