/*
 * sessions.c - login, refresh rotation, authentication, session listing and
 * ending.
 *
 * Validity of a session is decided in one place, session_alive(): the row
 * is not marked revoked and no revocation rule covers its creation time.
 * Access tokens carry that same creation time, so a rule kills a session's
 * refresh token and its access tokens together.
 */
#include "auth/sessions.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/credentials.h"
#include "auth/mfa.h"
#include "auth/mfa_login.h"
#include "auth/notify.h"
#include "auth/token_class.h"
#include "auth/user_key.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "store/group_commit.h"

/* A refresh token unused for this long is dead (idle timeout). */
#define REFRESH_IDLE_US (60LL * 24 * 3600 * SH_USEC)
#define REFRESH_DOMAIN "refresh"

static void mint_access(const sh_auth *a, const sh_session_rec *s, int64_t now, sh_token_pair *out)
{
    sh_access_claims c;

    memset(&c, 0, sizeof(c));
    c.token_class = (uint8_t)s->token_class;
    c.session = s->id;
    c.principal = s->user_id;
    c.issued_at = s->created_at;
    c.expires_at = now + a->access_ttl_us;
    sh_token_access_encode(a->kr, &c, out->access);
    out->session = s->id;
    out->expires_in_s = a->access_ttl_us / SH_USEC;
}

static void new_refresh(const sh_auth *a, char text[SH_TOKEN_MAX], uint8_t hash[SH_HASH_LEN])
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];

    sh_token_opaque_new(SH_TOKEN_REFRESH, secret, text);
    sh_hash_secret(a->kr, REFRESH_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
}

static int session_alive(const sh_auth *a, const sh_session_rec *s)
{
    return s->revoked_at == 0 &&
           sh_revocation_allows(a->rev, s->token_class, &s->user_id, &s->id, s->created_at);
}

/* Marks a session ended and adds a session rule so that its access tokens
 * are refused at once; both in one transaction, so a crash cannot leave a
 * dead refresh token with live access tokens. A session already marked
 * ended is left alone (no second rule for a replayed token). */
struct end_args {
    const sh_auth *a;
    const sh_id *session;
};

static sh_status end_session_fn(sh_store *tx, void *ctx)
{
    struct end_args *e = ctx;
    int64_t now = sh_clock_now_us();
    sh_id_hex hex;
    sh_status rc = sh_store_do(tx, core, session_revoke, e->session, now);

    sh_id_to_hex(e->session, &hex);
    if (rc == SH_OK)
        rc = sh_revocation_add(tx, e->a->rev, SH_RULE_SESSION, hex.s, now, NULL);
    return rc;
}

static sh_status end_session(const sh_auth *a, const sh_id *session)
{
    struct end_args e = {a, session};
    sh_id_hex hex;
    sh_status rc = sh_store_tx_run(a->store, end_session_fn, &e);

    sh_id_to_hex(session, &hex);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_OK; /* already ended */
    if (rc == SH_OK)
        sh_log_event(SH_LOG_INFO, "session_ended", "session_id", hex.s);
    return rc;
}

/* Looks a user up by e-mail; idx gets the blind index (the per-account
 * limit key), or the hash of the raw text when it does not normalize. */
static sh_status find_user(const sh_auth *a, const char *email, uint8_t idx[SH_HASH_LEN],
                           sh_user_rec *u)
{
    char norm[SH_EMAIL_MAX + 1];
    sh_status rc;

    memset(u, 0, sizeof(*u));
    if (sh_email_normalize(email, norm, sizeof(norm)) != SH_OK) {
        sh_hash_blind_index(a->kr, email, idx);
        return SH_ERR_NOT_FOUND;
    }
    sh_hash_blind_index(a->kr, norm, idx);
    sodium_memzero(norm, sizeof(norm));
    rc = sh_store_do(a->store, core, user_get_by_email, idx, u);
    return rc;
}

static void maybe_rehash(const sh_auth *a, const sh_user_rec *u, const char *pw, size_t len)
{
    char hash[SH_PASSWORD_HASH_MAX];
    sh_id_hex hex;

    if (!sh_password_needs_rehash(u->password_hash))
        return;
    if (sh_password_hash(pw, len, hash) != SH_OK)
        return;
    if (sh_store_do(a->store, core, user_set_password, &u->id, hash, sh_clock_now_us()) == SH_OK) {
        sh_id_to_hex(&u->id, &hex);
        sh_log_event(SH_LOG_INFO, "password_rehashed", "user_id", hex.s);
    }
}

sh_status sh_session_open(const sh_auth *a, const sh_user_rec *u, int token_class,
                          const char *device_name, sh_token_pair *out)
{
    uint8_t refresh_hash[SH_HASH_LEN];
    sh_session_rec s;
    sh_datakey key;
    sh_status rc;

    memset(&s, 0, sizeof(s));
    sh_id_random(&s.id);
    s.user_id = u->id;
    s.token_class = token_class;
    s.created_at = s.last_used_at = sh_clock_now_us();
    if (device_name != NULL) {
        if ((rc = sh_user_key_open(a, u, &key)) != SH_OK)
            return rc;
        rc = sh_seal(&key, "sessions", "device_name", &s.id, device_name, strlen(device_name),
                     &s.device_name_ct, &s.device_name_ct_len);
        sh_datakey_wipe(&key);
        if (rc != SH_OK)
            return rc;
    }
    new_refresh(a, out->refresh, refresh_hash);
    rc = sh_store_do(a->store, core, session_insert, &s, refresh_hash);
    if (rc == SH_OK)
        mint_access(a, &s, s.created_at, out);
    sh_session_rec_clear(&s);
    return rc;
}

void sh_session_log_created(const sh_id *session)
{
    sh_id_hex hex;

    sh_id_to_hex(session, &hex);
    sh_log_event(SH_LOG_INFO, "session_created", "session_id", hex.s);
}

/* E-mail and password, behind the account's login limit: a locked account
 * (known or not) gets SH_ERR_RATE_LIMITED before any hashing; a failure is
 * charged. On SH_OK *u is filled. */
static sh_status check_password(const sh_auth *a, const char *email, const char *password,
                                size_t password_len, sh_user_rec *u, int *retry)
{
    uint8_t idx[SH_HASH_LEN];
    sh_status rc = find_user(a, email, idx, u), rc2;

    if (rc != SH_OK && rc != SH_ERR_NOT_FOUND)
        return rc;
    if ((rc2 = sh_limits_account_check(a->limits, SH_LIMIT_LOGIN, idx, sizeof(idx), retry)) !=
        SH_OK) {
        sh_user_rec_clear(u);
        return rc2 == SH_ERR_STORE ? rc2 : SH_ERR_RATE_LIMITED;
    }
    if (rc == SH_ERR_NOT_FOUND) {
        sh_password_burn(password, password_len);
        rc = SH_ERR_INVALID_CREDENTIALS;
    } else {
        rc = sh_password_verify(u->password_hash, password, password_len);
    }
    if (rc != SH_OK) {
        sh_limits_account_charge(a->limits, SH_LIMIT_LOGIN, idx, sizeof(idx));
        sh_user_rec_clear(u);
        return rc;
    }
    maybe_rehash(a, u, password, password_len);
    return SH_OK;
}

sh_status sh_session_check_password(const sh_auth *a, const char *email, const char *password,
                                    size_t password_len, sh_user_rec *u)
{
    return check_password(a, email, password, password_len, u, NULL);
}

sh_status sh_session_login(const sh_auth *a, const sh_login_in *in, sh_login_out *out)
{
    sh_user_rec u;
    int mfa_on = 0;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if (in->token_class <= SH_CLASS_NONE || in->token_class >= SH_CLASS__COUNT)
        return SH_ERR_INVALID_REQUEST;
    if (in->device_name != NULL && !sh_display_name_valid(in->device_name))
        return SH_ERR_INVALID_REQUEST;
    rc = check_password(a, in->email, in->password, in->password_len, &u, &out->retry_after_s);
    if (rc != SH_OK)
        return rc;
    if ((rc = sh_mfa_enabled(a, &u.id, &mfa_on)) != SH_OK)
        goto out;
    if (mfa_on) {
        out->mfa_required = 1;
        rc = sh_mfa_challenge_new(a, &u, in->token_class, in->device_name, out->mfa_token,
                                  &out->mfa_expires_in_s);
        goto out;
    }
    rc = sh_session_open(a, &u, in->token_class, in->device_name, &out->tokens);
    if (rc == SH_OK) {
        sh_session_log_created(&out->tokens.session);
        sh_notify_login(a, &u, in->token_class, in->device_name);
    }
out:
    sh_user_rec_clear(&u);
    return rc;
}

/* A rotation, as an item of the rotations' group commit (or alone). The
 * group commit needs its SH_ERR_CONFLICT to have written nothing: the
 * conditional mark's conflict (already rotated) writes nothing; a conflict
 * after the mark (the new hash already stored) would leave the old token
 * marked with no successor, so that one fails the batch instead. On
 * PostgreSQL such a failed statement also aborts the transaction, and the
 * look-up below then fails with SH_ERR_STORE. */
struct rotate_args {
    const uint8_t *old_hash;
    const uint8_t *new_hash;
    const sh_id *session;
    int64_t now;
};

static sh_status rotate_fn(sh_store *st, void *arg)
{
    const struct rotate_args *r = arg;
    sh_id owner;
    int rotated;
    sh_status rc =
        sh_store_do(st, core, refresh_rotate, r->old_hash, r->new_hash, r->session, r->now);

    if (rc != SH_ERR_CONFLICT)
        return rc;
    rc = sh_store_do(st, core, refresh_find, r->new_hash, &owner, &rotated);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_CONFLICT;
    return rc == SH_OK ? SH_ERR_INTERNAL : rc;
}

/* Rotates durably: in the next batch of the group commit when there is one
 * (many rotations share one commit), else in a commit of its own. */
static sh_status rotate(const sh_auth *a, const uint8_t old_hash[SH_HASH_LEN],
                        const uint8_t new_hash[SH_HASH_LEN], const sh_id *session, int64_t now)
{
    struct rotate_args r = {old_hash, new_hash, session, now};

    if (a->rotations != NULL)
        return sh_group_commit_submit(a->rotations, rotate_fn, &r);
    return rotate_fn(a->store, &r);
}

sh_status sh_session_refresh(const sh_auth *a, const char *refresh, size_t len, sh_token_pair *out)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], old_hash[SH_HASH_LEN], new_hash[SH_HASH_LEN];
    sh_session_rec s;
    sh_id session_id;
    int rotated = 0;
    int64_t now = sh_clock_now_us();
    sh_status rc;

    if (sh_token_opaque_parse(SH_TOKEN_REFRESH, refresh, len, secret) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(a->kr, REFRESH_DOMAIN, secret, sizeof(secret), old_hash);
    sodium_memzero(secret, sizeof(secret));
    rc = sh_store_do(a->store, core, refresh_find, old_hash, &session_id, &rotated);
    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    if (rotated) {
        /* A rotated token came back: someone holds a copy. End the family. */
        sh_id_hex hex;
        sh_id_to_hex(&session_id, &hex);
        sh_log_event(SH_LOG_WARN, "refresh_token_reuse", "session_id", hex.s);
        rc = end_session(a, &session_id);
        return rc == SH_OK ? SH_ERR_INVALID_TOKEN : rc;
    }
    if ((rc = sh_store_do(a->store, core, session_get, &session_id, &s)) != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    if (!session_alive(a, &s) || now - s.last_used_at > REFRESH_IDLE_US) {
        rc = SH_ERR_INVALID_TOKEN;
        goto out;
    }
    new_refresh(a, out->refresh, new_hash);
    rc = rotate(a, old_hash, new_hash, &session_id, now);
    if (rc == SH_ERR_CONFLICT) {
        (void)end_session(a, &session_id); /* lost a race with a copy */
        rc = SH_ERR_INVALID_TOKEN;
    }
    if (rc == SH_OK)
        mint_access(a, &s, now, out);
out:
    sh_session_rec_clear(&s);
    return rc;
}

sh_status sh_session_authenticate(const sh_auth *a, const char *bearer, size_t len,
                                  sh_principal *out)
{
    sh_access_claims c;

    if (sh_token_access_verify(a->kr, bearer, len, sh_clock_now_us(), &c) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    if (c.token_class <= SH_CLASS_NONE || c.token_class >= SH_CLASS__COUNT)
        return SH_ERR_INVALID_TOKEN;
    if (!sh_revocation_allows(a->rev, c.token_class, &c.principal, &c.session, c.issued_at))
        return SH_ERR_INVALID_TOKEN;
    out->user = c.principal;
    out->session = c.session;
    out->token_class = c.token_class;
    out->issued_at = c.issued_at;
    return SH_OK;
}

struct list_ctx {
    const sh_auth *a;
    const sh_principal *p;
    sh_session_list *out;
    const sh_datakey *key;
    sh_status rc;
};

static void list_one(void *arg, const sh_session_rec *s)
{
    struct list_ctx *ctx = arg;
    sh_session_list *l = ctx->out;
    sh_session_view *v;

    if (ctx->rc != SH_OK || !session_alive(ctx->a, s))
        return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        sh_session_view *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            ctx->rc = SH_ERR_NOMEM;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    v = &l->items[l->count];
    memset(v, 0, sizeof(*v));
    v->id = s->id;
    v->token_class = s->token_class;
    v->created_at = s->created_at;
    v->last_used_at = s->last_used_at;
    v->current = sh_id_equal(&s->id, &ctx->p->session);
    if (s->device_name_ct != NULL &&
        sh_open(ctx->key, "sessions", "device_name", &s->id, s->device_name_ct,
                s->device_name_ct_len, &v->device_name, NULL) != SH_OK) {
        ctx->rc = SH_ERR_INTERNAL;
        return;
    }
    l->count++;
}

sh_status sh_session_list_live(const sh_auth *a, const sh_principal *p, sh_session_list *out)
{
    struct list_ctx ctx = {a, p, out, NULL, SH_OK};
    sh_user_rec u;
    sh_datakey key;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = sh_store_do(a->store, core, user_get, &p->user, &u)) != SH_OK)
        return rc;
    rc = sh_user_key_open(a, &u, &key);
    sh_user_rec_clear(&u);
    if (rc != SH_OK)
        return rc;
    ctx.key = &key;
    rc = sh_store_do(a->store, core, session_list, &p->user, list_one, &ctx);
    if (rc == SH_OK)
        rc = ctx.rc;
    sh_datakey_wipe(&key);
    if (rc != SH_OK)
        sh_session_list_clear(out);
    return rc;
}

void sh_session_list_clear(sh_session_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].device_name);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

sh_status sh_session_end(const sh_auth *a, const sh_principal *p, const sh_id *session)
{
    sh_session_rec s;
    sh_status rc = sh_store_do(a->store, core, session_get, session, &s);
    int mine;

    if (rc != SH_OK)
        return rc;
    mine = sh_id_equal(&s.user_id, &p->user) && session_alive(a, &s);
    sh_session_rec_clear(&s);
    if (!mine)
        return SH_ERR_NOT_FOUND; /* another user's session does not exist for you */
    return end_session(a, session);
}

sh_status sh_session_end_others(const sh_auth *a, const sh_principal *p)
{
    sh_session_list l = {0};
    sh_status rc = sh_session_list_live(a, p, &l);

    for (size_t i = 0; rc == SH_OK && i < l.count; i++) {
        if (!l.items[i].current)
            rc = end_session(a, &l.items[i].id);
    }
    sh_session_list_clear(&l);
    return rc;
}
