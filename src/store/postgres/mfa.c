/*
 * mfa.c - two-factor rows, challenges, one-time e-mail tokens, known logins,
 * the account's e-mail state and abuse-limit buckets (PostgreSQL). The
 * outbox is in mail.c.
 *
 * Same meaning as sqlite/mfa.c. totp_confirm and totp_delete change two
 * tables and run as bodies of sh_pg_atomic. Every single-use or counting
 * operation (put_pending, use_step, recovery_use, challenge_fail/consume,
 * utoken_consume, email_verify) is one conditional statement: a second
 * racing caller blocks on the row, and PostgreSQL re-checks the condition
 * on the row the first one left (READ COMMITTED), which no longer matches,
 * so it gets SH_ERR_NOT_FOUND (or SH_ERR_CONFLICT for put_pending).
 *
 * login_seen counts and inserts in one statement (a data-modifying WITH),
 * where the SQLite code uses two statements and the single writer.
 * user_delete relies on ON DELETE CASCADE (migrations/postgres/).
 *
 * limit_get and limit_put are a plain read and upsert; limit_update is the
 * read-modify-write that charges a bucket, with a row lock so that two nodes
 * charging one bucket at once queue instead of failing (see below).
 */
#include <stdlib.h>
#include <string.h>

#include "store/postgres/internal.h"
#include "store/store_mfa.h"

static const char SQL_TOTP_GET[] =
    "SELECT secret_ct,confirmed_at,last_step,created_at FROM mfa_totp WHERE user_id=$1";
static const char SQL_TOTP_PUT[] =
    "INSERT INTO mfa_totp(user_id,secret_ct,confirmed_at,last_step,created_at) "
    "VALUES($1,$2,NULL,0,$3) ON CONFLICT(user_id) DO UPDATE SET secret_ct=excluded.secret_ct,"
    "last_step=0,created_at=excluded.created_at WHERE mfa_totp.confirmed_at IS NULL";
static const char SQL_TOTP_CONFIRM[] =
    "UPDATE mfa_totp SET confirmed_at=$1,last_step=$2 WHERE user_id=$3 AND confirmed_at IS NULL "
    "AND last_step<$2";
static const char SQL_TOTP_DELETE[] = "DELETE FROM mfa_totp WHERE user_id=$1";
static const char SQL_TOTP_USE_STEP[] =
    "UPDATE mfa_totp SET last_step=$1 WHERE user_id=$2 AND last_step<$1";
static const char SQL_RECOVERY_CLEAR[] = "DELETE FROM mfa_recovery WHERE user_id=$1";
static const char SQL_RECOVERY_INSERT[] = "INSERT INTO mfa_recovery(user_id,hash) VALUES($1,$2)";
static const char SQL_RECOVERY_USE[] =
    "UPDATE mfa_recovery SET used_at=$1 WHERE user_id=$2 AND hash=$3 AND used_at IS NULL";
static const char SQL_CH_INSERT[] =
    "INSERT INTO mfa_challenges(id,hash,user_id,class,device_name_ct,failures,expires_at,"
    "created_at) VALUES($1,$2,$3,$4,$5,0,$6,$7)";
static const char SQL_CH_GET[] =
    "SELECT id,user_id,class,device_name_ct,failures,expires_at,used_at,created_at "
    "FROM mfa_challenges WHERE hash=$1";
static const char SQL_CH_FAIL[] = "UPDATE mfa_challenges SET failures=failures+1 WHERE id=$1 AND "
                                  "used_at IS NULL RETURNING failures";
static const char SQL_CH_CONSUME[] =
    "UPDATE mfa_challenges SET used_at=$1 WHERE id=$2 AND used_at IS NULL AND expires_at>$1 "
    "AND failures<$3";
static const char SQL_UT_INSERT[] =
    "INSERT INTO user_tokens(hash,user_id,purpose,bound_idx,expires_at,created_at) "
    "VALUES($1,$2,$3,$4,$5,$6)";
static const char SQL_UT_CONSUME[] =
    "UPDATE user_tokens SET used_at=$1 WHERE hash=$2 AND purpose=$3 AND used_at IS NULL "
    "AND expires_at>$1 RETURNING user_id,bound_idx,expires_at,created_at";
static const char SQL_UT_DROP[] =
    "DELETE FROM user_tokens WHERE user_id=$1 AND purpose=$2 AND used_at IS NULL";
/* Every part of a WITH sees the same snapshot, so the count is of the
 * fingerprints known before this insert. */
static const char SQL_SEEN[] =
    "WITH ins AS (INSERT INTO known_logins(user_id,fingerprint,first_seen_at) "
    "VALUES($1,$2,$3) ON CONFLICT(user_id,fingerprint) DO NOTHING RETURNING 1) "
    "SELECT (SELECT count(*) FROM known_logins WHERE user_id=$1),(SELECT count(*) FROM ins)";
static const char SQL_STATE[] =
    "SELECT u.email_verified_at,t.confirmed_at FROM users u LEFT JOIN mfa_totp t "
    "ON t.user_id=u.id WHERE u.id=$1";
static const char SQL_SET_EMAIL[] = "UPDATE users SET email_idx=$1,email_ct=$2,"
                                    "email_verified_at=NULL,updated_at=$3 WHERE id=$4";
static const char SQL_EMAIL_VERIFY[] =
    "UPDATE users SET email_verified_at=$1 WHERE id=$2 AND email_idx=$3";
static const char SQL_USER_DELETE[] = "DELETE FROM users WHERE id=$1";
static const char SQL_PRUNE_CH[] = "DELETE FROM mfa_challenges WHERE expires_at<$1";
static const char SQL_PRUNE_UT[] = "DELETE FROM user_tokens WHERE expires_at<$1";
static const char SQL_PRUNE_LIMITS[] = "DELETE FROM limit_buckets WHERE idle_at<$1";
static const char SQL_LIMIT_GET[] =
    "SELECT strikes,tokens,last_us,blocked_until,idle_at FROM limit_buckets WHERE key=$1";
static const char SQL_LIMIT_LOCK[] =
    "SELECT strikes,tokens,last_us,blocked_until,idle_at FROM limit_buckets WHERE key=$1 "
    "FOR UPDATE";
static const char SQL_LIMIT_INSERT[] =
    "INSERT INTO limit_buckets(key,strikes,tokens,last_us,blocked_until,idle_at) "
    "VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(key) DO NOTHING";
static const char SQL_LIMIT_PUT[] =
    "INSERT INTO limit_buckets(key,strikes,tokens,last_us,blocked_until,idle_at) "
    "VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(key) DO UPDATE SET strikes=excluded.strikes,"
    "tokens=excluded.tokens,last_us=excluded.last_us,blocked_until=excluded.blocked_until,"
    "idle_at=excluded.idle_at";

/* ---- TOTP and recovery codes --------------------------------------------- */

static sh_status totp_get(sh_store *st, const sh_id *user, sh_totp_rec *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    if ((rc = sh_pg_query(c, SQL_TOTP_GET, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    if (sh_pg_col_blob(r, 0, 0, &out->secret_ct, &out->secret_ct_len) != 0) {
        rc = SH_ERR_NOMEM;
        goto out;
    }
    out->user_id = *user;
    out->confirmed_at = sh_pg_col_i64(r, 0, 1);
    out->last_step = sh_pg_col_i64(r, 0, 2);
    out->created_at = sh_pg_col_i64(r, 0, 3);
out:
    PQclear(r);
    return rc;
}

static sh_status totp_put_pending(sh_store *st, const sh_totp_rec *t)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    int changes = 0;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &t->user_id);
    sh_pg_p_blob(&p, t->secret_ct, t->secret_ct_len);
    sh_pg_p_i64(&p, t->created_at);
    rc = sh_pg_run(c, SQL_TOTP_PUT, &p, &changes);
    if (rc == SH_OK && changes == 0)
        rc = SH_ERR_CONFLICT; /* a confirmed row is in the way */
    return rc;
}

/* Deletes the user's recovery codes and stores hashes[0..n) instead. Runs
 * inside the caller's atomic body. */
static sh_status replace_recovery(struct sh_pg_conn *c, const sh_id *user,
                                  const uint8_t (*hashes)[SH_STORE_HASH_LEN], size_t n)
{
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    if ((rc = sh_pg_run(c, SQL_RECOVERY_CLEAR, &p, NULL)) != SH_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        sh_pg_params_init(&p);
        sh_pg_p_id(&p, user);
        sh_pg_p_blob(&p, hashes[i], SH_STORE_HASH_LEN);
        if ((rc = sh_pg_run(c, SQL_RECOVERY_INSERT, &p, NULL)) != SH_OK)
            return rc;
    }
    return SH_OK;
}

struct totp_confirm_args {
    const sh_id *user;
    int64_t step;
    int64_t now;
    const uint8_t (*hashes)[SH_STORE_HASH_LEN];
    size_t n;
};

static sh_status totp_confirm_body(struct sh_pg_conn *c, void *ctx)
{
    const struct totp_confirm_args *a = ctx;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, a->now);
    sh_pg_p_i64(&p, a->step);
    sh_pg_p_id(&p, a->user);
    if ((rc = sh_pg_update_result(c, SQL_TOTP_CONFIRM, &p)) != SH_OK)
        return rc;
    return replace_recovery(c, a->user, a->hashes, a->n);
}

static sh_status totp_confirm(sh_store *st, const sh_id *user, int64_t step, int64_t now,
                              const uint8_t (*hashes)[SH_STORE_HASH_LEN], size_t n)
{
    struct totp_confirm_args a = {.user = user, .step = step, .now = now, .hashes = hashes, .n = n};

    return sh_pg_atomic(st, totp_confirm_body, &a);
}

static sh_status totp_delete_body(struct sh_pg_conn *c, void *ctx)
{
    const sh_id *user = ctx;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    if ((rc = sh_pg_update_result(c, SQL_TOTP_DELETE, &p)) != SH_OK)
        return rc;
    return replace_recovery(c, user, NULL, 0);
}

static sh_status totp_delete(sh_store *st, const sh_id *user)
{
    sh_id u = *user; /* a copy: the body's context is not const */

    return sh_pg_atomic(st, totp_delete_body, &u);
}

static sh_status totp_use_step(sh_store *st, const sh_id *user, int64_t step)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, step);
    sh_pg_p_id(&p, user);
    return sh_pg_update_result(c, SQL_TOTP_USE_STEP, &p);
}

static sh_status recovery_use(sh_store *st, const sh_id *user,
                              const uint8_t hash[SH_STORE_HASH_LEN], int64_t now)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, user);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    return sh_pg_update_result(c, SQL_RECOVERY_USE, &p);
}

/* ---- challenges ------------------------------------------------------------ */

static sh_status challenge_insert(sh_store *st, const sh_challenge_rec *ch)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &ch->id);
    sh_pg_p_blob(&p, ch->hash, SH_STORE_HASH_LEN);
    sh_pg_p_id(&p, &ch->user_id);
    sh_pg_p_i64(&p, ch->token_class);
    sh_pg_p_blob(&p, ch->device_name_ct, ch->device_name_ct_len);
    sh_pg_p_i64(&p, ch->expires_at);
    sh_pg_p_i64(&p, ch->created_at);
    return sh_pg_run(c, SQL_CH_INSERT, &p, NULL);
}

static sh_status challenge_get(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                               sh_challenge_rec *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    if ((rc = sh_pg_query(c, SQL_CH_GET, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    if (sh_pg_col_blob(r, 0, 3, &out->device_name_ct, &out->device_name_ct_len) != 0) {
        rc = SH_ERR_NOMEM;
        goto out;
    }
    memcpy(out->hash, hash, SH_STORE_HASH_LEN);
    sh_pg_col_id(r, 0, 0, &out->id);
    sh_pg_col_id(r, 0, 1, &out->user_id);
    out->token_class = (int)sh_pg_col_i64(r, 0, 2);
    out->failures = (int)sh_pg_col_i64(r, 0, 4);
    out->expires_at = sh_pg_col_i64(r, 0, 5);
    out->used_at = sh_pg_col_i64(r, 0, 6);
    out->created_at = sh_pg_col_i64(r, 0, 7);
out:
    PQclear(r);
    return rc;
}

static sh_status challenge_fail(sh_store *st, const sh_id *id, int *failures)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    if ((rc = sh_pg_query(c, SQL_CH_FAIL, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else
        *failures = (int)sh_pg_col_i64(r, 0, 0);
out:
    PQclear(r);
    return rc;
}

static sh_status challenge_consume(sh_store *st, const sh_id *id, int64_t now, int max_failures)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, id);
    sh_pg_p_i64(&p, max_failures);
    return sh_pg_update_result(c, SQL_CH_CONSUME, &p);
}

/* ---- one-time e-mail tokens ------------------------------------------------ */

static sh_status utoken_insert(sh_store *st, const sh_user_token_rec *t)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, t->hash, SH_STORE_HASH_LEN);
    sh_pg_p_id(&p, &t->user_id);
    sh_pg_p_i64(&p, t->purpose);
    sh_pg_p_blob(&p, t->bound_idx, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, t->expires_at);
    sh_pg_p_i64(&p, t->created_at);
    return sh_pg_run(c, SQL_UT_INSERT, &p, NULL);
}

static sh_status utoken_consume(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int purpose,
                                int64_t now, sh_user_token_rec *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, purpose);
    if ((rc = sh_pg_query(c, SQL_UT_CONSUME, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    memcpy(out->hash, hash, SH_STORE_HASH_LEN);
    out->purpose = purpose;
    sh_pg_col_id(r, 0, 0, &out->user_id);
    sh_pg_col_fixed(r, 0, 1, out->bound_idx, SH_STORE_HASH_LEN);
    out->expires_at = sh_pg_col_i64(r, 0, 2);
    out->created_at = sh_pg_col_i64(r, 0, 3);
out:
    PQclear(r);
    return rc;
}

static sh_status utoken_drop_all(sh_store *st, const sh_id *user, int purpose)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    sh_pg_p_i64(&p, purpose);
    return sh_pg_run(c, SQL_UT_DROP, &p, NULL);
}

/* ---- known logins ----------------------------------------------------------- */

static sh_status login_seen(sh_store *st, const sh_id *user, const uint8_t fp[SH_STORE_HASH_LEN],
                            int64_t now, int *is_new, int *known_before)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    sh_pg_p_blob(&p, fp, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, now);
    if ((rc = sh_pg_query(c, SQL_SEEN, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) != 1) {
        rc = SH_ERR_STORE;
        goto out;
    }
    *known_before = (int)sh_pg_col_i64(r, 0, 0);
    *is_new = sh_pg_col_i64(r, 0, 1) > 0;
out:
    PQclear(r);
    return rc;
}

/* ---- account e-mail state ------------------------------------------------- */

static sh_status account_state(sh_store *st, const sh_id *user, sh_account_state *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    if ((rc = sh_pg_query(c, SQL_STATE, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    out->email_verified_at = sh_pg_col_i64(r, 0, 0);
    out->mfa_confirmed_at = sh_pg_col_i64(r, 0, 1);
out:
    PQclear(r);
    return rc;
}

static sh_status set_email(sh_store *st, const sh_id *user, const uint8_t idx[SH_STORE_HASH_LEN],
                           const uint8_t *ct, size_t len, int64_t now)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, idx, SH_STORE_HASH_LEN);
    sh_pg_p_blob(&p, ct, len);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, user);
    return sh_pg_update_result(c, SQL_SET_EMAIL, &p);
}

static sh_status email_verify(sh_store *st, const sh_id *user,
                              const uint8_t bound_idx[SH_STORE_HASH_LEN], int64_t now)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, user);
    sh_pg_p_blob(&p, bound_idx, SH_STORE_HASH_LEN);
    return sh_pg_update_result(c, SQL_EMAIL_VERIFY, &p);
}

/* One DELETE: sessions, tokens, 2FA rows and queued mail go with the user
 * by ON DELETE CASCADE, in the same statement. */
static sh_status user_delete(sh_store *st, const sh_id *user)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    return sh_pg_update_result(c, SQL_USER_DELETE, &p);
}

static sh_status prune(sh_store *st, int64_t before)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, before);
    if ((rc = sh_pg_run(c, SQL_PRUNE_CH, &p, NULL)) != SH_OK)
        return rc;
    if ((rc = sh_pg_run(c, SQL_PRUNE_UT, &p, NULL)) != SH_OK)
        return rc;
    return sh_pg_run(c, SQL_PRUNE_LIMITS, &p, NULL);
}

/* ---- abuse-limit buckets ---------------------------------------------------- */

/* Reads a bucket with sql (SQL_LIMIT_GET or SQL_LIMIT_LOCK). */
static sh_status limit_read(struct sh_pg_conn *c, const char *sql,
                            const uint8_t key[SH_STORE_HASH_LEN], sh_limit_rec *out)
{
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, key, SH_STORE_HASH_LEN);
    if ((rc = sh_pg_query(c, sql, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    out->strikes = sh_pg_col_i64(r, 0, 0);
    out->tokens = sh_pg_col_i64(r, 0, 1);
    out->last_us = sh_pg_col_i64(r, 0, 2);
    out->blocked_until = sh_pg_col_i64(r, 0, 3);
    out->idle_at = sh_pg_col_i64(r, 0, 4);
out:
    PQclear(r);
    return rc;
}

/* Writes a bucket with sql (SQL_LIMIT_PUT or SQL_LIMIT_INSERT). */
static sh_status limit_write(struct sh_pg_conn *c, const char *sql,
                             const uint8_t key[SH_STORE_HASH_LEN], const sh_limit_rec *lr,
                             int *changes)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, key, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, lr->strikes);
    sh_pg_p_i64(&p, lr->tokens);
    sh_pg_p_i64(&p, lr->last_us);
    sh_pg_p_i64(&p, lr->blocked_until);
    sh_pg_p_i64(&p, lr->idle_at);
    return sh_pg_run(c, sql, &p, changes);
}

static sh_status limit_get(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN], sh_limit_rec *out)
{
    return limit_read(sh_pg_conn(st), SQL_LIMIT_GET, key, out);
}

static sh_status limit_put(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN],
                           const sh_limit_rec *lr)
{
    return limit_write(sh_pg_conn(st), SQL_LIMIT_PUT, key, lr, NULL);
}

struct limit_args {
    const uint8_t *key;
    sh_limit_update_fn fn;
    void *ctx;
};

/* At READ COMMITTED (sh_pg_atomic): FOR UPDATE waits for a
 * concurrent update of the bucket and then reads its result, where
 * SERIALIZABLE would fail the race. A first charge inserts; if another
 * inserted first (nothing inserted), the row is locked and read again. */
static sh_status limit_update_body(struct sh_pg_conn *c, void *ctx)
{
    struct limit_args *a = ctx;
    sh_limit_rec r;
    sh_status rc;
    int changes = 0;

    for (int tries = 0; tries < 2; tries++) {
        rc = limit_read(c, SQL_LIMIT_LOCK, a->key, &r);
        if (rc == SH_OK) {
            a->fn(a->ctx, &r, 1);
            return limit_write(c, SQL_LIMIT_PUT, a->key, &r, NULL);
        }
        if (rc != SH_ERR_NOT_FOUND)
            return rc;
        a->fn(a->ctx, &r, 0);
        if ((rc = limit_write(c, SQL_LIMIT_INSERT, a->key, &r, &changes)) != SH_OK || changes == 1)
            return rc;
    }
    return SH_ERR_RETRY;
}

static sh_status limit_update(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN],
                              sh_limit_update_fn fn, void *ctx)
{
    struct limit_args a = {key, fn, ctx};

    return sh_pg_atomic(st, limit_update_body, &a);
}

const struct sh_store_mfa_ops sh_pg_mfa_ops = {
    .totp_get = totp_get,
    .totp_put_pending = totp_put_pending,
    .totp_confirm = totp_confirm,
    .totp_delete = totp_delete,
    .totp_use_step = totp_use_step,
    .recovery_use = recovery_use,
    .challenge_insert = challenge_insert,
    .challenge_get = challenge_get,
    .challenge_fail = challenge_fail,
    .challenge_consume = challenge_consume,
    .utoken_insert = utoken_insert,
    .utoken_consume = utoken_consume,
    .utoken_drop_all = utoken_drop_all,
    .login_seen = login_seen,
    .account_state = account_state,
    .set_email = set_email,
    .email_verify = email_verify,
    .user_delete = user_delete,
    .mail_insert = sh_pg_mail_insert,
    .mail_due = sh_pg_mail_due,
    .mail_done = sh_pg_mail_done,
    .mail_count = sh_pg_mail_count,
    .mail_retry = sh_pg_mail_retry,
    .prune = prune,
    .limit_get = limit_get,
    .limit_put = limit_put,
    .limit_update = limit_update,
};
