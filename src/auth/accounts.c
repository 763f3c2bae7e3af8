/*
 * accounts.c - accounts. Every personal value goes through sh_seal with
 * (table, column, user id) as additional data before it reaches the store,
 * and comes back through sh_open; nothing here writes SQL.
 */
#include "auth/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/credentials.h"
#include "auth/email_verify.h"
#include "auth/mfa.h"
#include "auth/notify.h"
#include "auth/profile_cache.h"
#include "auth/stepup.h"
#include "auth/sessions.h"
#include "auth/user_key.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "store/store_mfa.h"

void sh_account_view_clear(sh_account_view *v)
{
    free(v->email);
    free(v->display_name);
    memset(v, 0, sizeof(*v));
}

static sh_status seal_user_fields(const sh_datakey *key, sh_user_rec *u, const char *email,
                                  const char *name)
{
    sh_status rc = sh_seal(key, "users", "email", &u->id, email, strlen(email), &u->email_ct,
                           &u->email_ct_len);

    if (rc == SH_OK && name != NULL)
        rc =
            sh_seal(key, "users", "name", &u->id, name, strlen(name), &u->name_ct, &u->name_ct_len);
    return rc;
}

sh_status sh_account_create(const sh_auth *a, const char *email, const char *password,
                            size_t password_len, const char *display_name, sh_account_view *out)
{
    char norm[SH_EMAIL_MAX + 1];
    uint8_t wrapped[SH_WRAPPED_KEY_LEN];
    sh_datakey key;
    sh_user_rec u;
    sh_status rc;

    memset(&u, 0, sizeof(u));
    memset(&key, 0, sizeof(key));
    if ((rc = sh_email_normalize(email, norm, sizeof(norm))) != SH_OK)
        return rc;
    if ((rc = sh_password_policy_check(password, password_len)) != SH_OK)
        return rc;
    if (display_name != NULL && !sh_display_name_valid(display_name))
        return SH_ERR_INVALID_REQUEST;
    sh_id_random(&u.id);
    sh_hash_blind_index(a->kr, norm, u.email_idx);
    if ((rc = sh_password_hash(password, password_len, u.password_hash)) != SH_OK)
        goto out;
    sh_datakey_new(a->kr, &u.id, &key, wrapped);
    u.wrapped_key = wrapped;
    u.wrapped_key_len = sizeof(wrapped);
    if ((rc = seal_user_fields(&key, &u, norm, display_name)) != SH_OK)
        goto out;
    u.created_at = u.updated_at = sh_clock_now_us();
    rc = sh_store_do(a->store, core, user_insert, &u);
    if (rc == SH_ERR_CONFLICT)
        rc = SH_ERR_EMAIL_TAKEN;
    if (rc != SH_OK)
        goto out;
    if (sh_email_verify_send(a, &u, norm) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_queue_failed", "kind", "email_verify");
    memset(out, 0, sizeof(*out));
    out->id = u.id;
    out->created_at = u.created_at;
    out->email = strdup(norm);
    out->display_name = display_name ? strdup(display_name) : NULL;
    if (out->email == NULL || (display_name != NULL && out->display_name == NULL)) {
        sh_account_view_clear(out);
        rc = SH_ERR_NOMEM;
    }
out:
    u.wrapped_key = NULL; /* stack buffer, not owned by the record */
    sh_user_rec_clear(&u);
    sh_datakey_wipe(&key);
    sodium_memzero(norm, sizeof(norm));
    return rc;
}

/* SH_OK when no account has the e-mail of blind index idx. */
static sh_status email_free(const sh_auth *a, const uint8_t *idx)
{
    sh_user_rec u;
    sh_status rc = sh_store_do(a->store, core, user_get_by_email, idx, &u);

    sh_user_rec_clear(&u);
    if (rc == SH_OK)
        return SH_ERR_EMAIL_TAKEN;
    return rc == SH_ERR_NOT_FOUND ? SH_OK : rc;
}

sh_status sh_account_create_hashed(const sh_auth *a, const char *email, const char *pw_hash,
                                   const char *display_name, sh_user_rec *out)
{
    char norm[SH_EMAIL_MAX + 1];
    uint8_t wrapped[SH_WRAPPED_KEY_LEN];
    sh_datakey key;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = sh_email_normalize(email, norm, sizeof(norm))) != SH_OK)
        return rc;
    sh_id_random(&out->id);
    sh_hash_blind_index(a->kr, norm, out->email_idx);
    /* Look before inserting: in a caller's transaction on PostgreSQL a
     * failed insert dooms the whole transaction (see sh_store_tx_begin);
     * the insert's own conflict still settles a race. */
    if ((rc = email_free(a, out->email_idx)) != SH_OK)
        return rc;
    snprintf(out->password_hash, sizeof(out->password_hash), "%s", pw_hash);
    sh_datakey_new(a->kr, &out->id, &key, wrapped);
    out->wrapped_key = malloc(sizeof(wrapped));
    if (out->wrapped_key == NULL) {
        rc = SH_ERR_NOMEM;
        goto out;
    }
    memcpy(out->wrapped_key, wrapped, sizeof(wrapped));
    out->wrapped_key_len = sizeof(wrapped);
    if ((rc = seal_user_fields(&key, out, norm, display_name)) != SH_OK)
        goto out;
    out->created_at = out->updated_at = sh_clock_now_us();
    rc = sh_store_do(a->store, core, user_insert, out);
    if (rc == SH_ERR_CONFLICT)
        rc = SH_ERR_EMAIL_TAKEN;
out:
    if (rc != SH_OK)
        sh_user_rec_clear(out);
    sh_datakey_wipe(&key);
    return rc;
}

sh_status sh_account_get(const sh_auth *a, const sh_id *user, sh_account_view *out)
{
    sh_user_rec u;
    sh_datakey key;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = sh_store_do(a->store, core, user_get, user, &u)) != SH_OK)
        return rc;
    if ((rc = sh_user_key_open(a, &u, &key)) != SH_OK)
        goto out;
    rc = sh_open(&key, "users", "email", &u.id, u.email_ct, u.email_ct_len, &out->email, NULL);
    if (rc == SH_OK && u.name_ct != NULL)
        rc = sh_open(&key, "users", "name", &u.id, u.name_ct, u.name_ct_len, &out->display_name,
                     NULL);
    out->id = u.id;
    out->created_at = u.created_at;
    if (rc != SH_OK)
        sh_account_view_clear(out);
    sh_datakey_wipe(&key);
out:
    sh_user_rec_clear(&u);
    return rc;
}

void sh_account_changed(const sh_auth *a, const sh_id *user)
{
    sh_profile_cache_drop(a->profiles, user);
    if (sh_store_do(a->store, core, user_changed, user) != SH_OK)
        sh_log_event(SH_LOG_WARN, "user_change_notice_failed", NULL, NULL);
}

sh_status sh_account_me(const sh_auth *a, const sh_id *user, int memory_only, sh_account_view *view,
                        sh_account_state *state)
{
    int64_t now = sh_clock_now_us();
    uint64_t ticket;
    sh_status rc;

    if (sh_profile_cache_get(a->profiles, user, now, view, state))
        return SH_OK;
    if (memory_only)
        return SH_WOULDBLOCK;
    ticket = sh_profile_cache_ticket(a->profiles, user);
    if ((rc = sh_account_get(a, user, view)) != SH_OK)
        return rc;
    if ((rc = sh_store_do(a->store, mfa, account_state, user, state)) != SH_OK) {
        sh_account_view_clear(view);
        return rc;
    }
    sh_profile_cache_put(a->profiles, ticket, view, state, now);
    return SH_OK;
}

sh_status sh_account_set_display_name(const sh_auth *a, const sh_id *user, const char *name)
{
    sh_user_rec u;
    sh_datakey key;
    uint8_t *ct = NULL;
    size_t ct_len = 0;
    sh_status rc;

    if (name != NULL && !sh_display_name_valid(name))
        return SH_ERR_INVALID_REQUEST;
    if ((rc = sh_store_do(a->store, core, user_get, user, &u)) != SH_OK)
        return rc;
    if ((rc = sh_user_key_open(a, &u, &key)) != SH_OK)
        goto out;
    if (name != NULL)
        rc = sh_seal(&key, "users", "name", &u.id, name, strlen(name), &ct, &ct_len);
    if (rc == SH_OK)
        rc = sh_store_do(a->store, core, user_set_name, user, ct, ct_len, sh_clock_now_us());
    if (rc == SH_OK)
        sh_account_changed(a, user);
    sh_datakey_wipe(&key);
    free(ct);
out:
    sh_user_rec_clear(&u);
    return rc;
}

/* A two-factor user with a stale login must add a code to the password. */
static sh_status second_factor(const sh_auth *a, const sh_principal *p, const sh_user_rec *u,
                               const sh_password_change *c, int *retry)
{
    int on = 0;
    sh_status rc;

    if (sh_stepup_recent(a, p))
        return SH_OK;
    if ((rc = sh_mfa_enabled(a, &u->id, &on)) != SH_OK || !on)
        return rc;
    if (c->code == NULL && c->recovery_code == NULL)
        return SH_ERR_REAUTH;
    rc = sh_mfa_verify(a, u, c->recovery_code ? NULL : c->code, c->recovery_code, retry);
    return (rc == SH_ERR_INVALID_CODE || rc == SH_ERR_NOT_FOUND) ? SH_ERR_REAUTH : rc;
}

struct new_password_args {
    const sh_auth *a;
    const sh_principal *p;
    const char *hash;
};

/* The new hash and the end of every other session commit together. */
static sh_status new_password_fn(sh_store *tx, void *ctx)
{
    struct new_password_args *n = ctx;
    sh_status rc =
        sh_store_do(tx, core, user_set_password, &n->p->user, n->hash, sh_clock_now_us());

    return rc == SH_OK ? sh_session_end_others(n->a, n->p) : rc;
}

sh_status sh_account_change_password(const sh_auth *a, const sh_principal *p,
                                     const sh_password_change *c, int *retry_after_s)
{
    char hash[SH_PASSWORD_HASH_MAX];
    struct new_password_args n = {a, p, hash};
    sh_user_rec u;
    sh_status rc;

    if ((rc = sh_store_do(a->store, core, user_get, &p->user, &u)) != SH_OK)
        return rc;
    rc = sh_limits_account_check(a->limits, SH_LIMIT_LOGIN, u.email_idx, SH_STORE_HASH_LEN,
                                 retry_after_s);
    if (rc != SH_OK)
        goto out;
    if ((rc = sh_password_verify(u.password_hash, c->current, c->current_len)) != SH_OK) {
        sh_limits_account_charge(a->limits, SH_LIMIT_LOGIN, u.email_idx, SH_STORE_HASH_LEN);
        goto out;
    }
    if ((rc = sh_password_policy_check(c->next, c->next_len)) != SH_OK)
        goto out;
    if ((rc = second_factor(a, p, &u, c, retry_after_s)) != SH_OK)
        goto out;
    if ((rc = sh_password_hash(c->next, c->next_len, hash)) != SH_OK)
        goto out;
    rc = sh_store_tx_run(a->store, new_password_fn, &n);
    if (rc == SH_OK && sh_notify(a, &u, SH_MAIL_PASSWORD_CHANGED, NULL, NULL) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_queue_failed", "kind", "password_changed");
out:
    sodium_memzero(hash, sizeof(hash));
    sh_user_rec_clear(&u);
    return rc;
}

struct delete_args {
    const sh_auth *a;
    const sh_principal *p;
};

static sh_status delete_fn(sh_store *tx, void *ctx)
{
    struct delete_args *d = ctx;
    sh_id_hex hex;
    sh_status rc = sh_store_do(tx, mfa, user_delete, &d->p->user);

    sh_id_to_hex(&d->p->user, &hex);
    if (rc == SH_OK)
        rc = sh_revocation_add(tx, d->a->rev, SH_RULE_USER, hex.s, sh_clock_now_us(), NULL);
    return rc;
}

sh_status sh_account_delete(const sh_auth *a, const sh_principal *p)
{
    struct delete_args d = {a, p};
    sh_id_hex hex;
    sh_status rc = sh_store_tx_run(a->store, delete_fn, &d);

    sh_id_to_hex(&p->user, &hex);
    if (rc == SH_OK)
        sh_account_changed(a, &p->user);
    if (rc == SH_OK)
        sh_log_event(SH_LOG_WARN, "account_deleted", "user_id", hex.s);
    return rc;
}
