/* mfa.c - two-factor rows, challenges, one-time e-mail tokens, known logins,
 * the account's e-mail state and abuse-limit buckets (SQLite). The outbox
 * is in mail.c. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/internal.h"
#include "store/store_mfa.h"

static const char SQL_TOTP_GET[] =
    "SELECT secret_ct,confirmed_at,last_step,created_at FROM mfa_totp WHERE user_id=?";
static const char SQL_TOTP_PUT[] =
    "INSERT INTO mfa_totp(user_id,secret_ct,confirmed_at,last_step,created_at) "
    "VALUES(?,?,NULL,0,?) ON CONFLICT(user_id) DO UPDATE SET secret_ct=excluded.secret_ct,"
    "last_step=0,created_at=excluded.created_at WHERE mfa_totp.confirmed_at IS NULL";
static const char SQL_TOTP_CONFIRM[] =
    "UPDATE mfa_totp SET confirmed_at=?,last_step=? WHERE user_id=? AND confirmed_at IS NULL "
    "AND last_step<?";
static const char SQL_TOTP_DELETE[] = "DELETE FROM mfa_totp WHERE user_id=?";
static const char SQL_TOTP_USE_STEP[] =
    "UPDATE mfa_totp SET last_step=? WHERE user_id=? AND last_step<?";
static const char SQL_RECOVERY_CLEAR[] = "DELETE FROM mfa_recovery WHERE user_id=?";
static const char SQL_RECOVERY_INSERT[] = "INSERT INTO mfa_recovery(user_id,hash) VALUES(?,?)";
static const char SQL_RECOVERY_USE[] =
    "UPDATE mfa_recovery SET used_at=? WHERE user_id=? AND hash=? AND used_at IS NULL";
static const char SQL_CH_INSERT[] =
    "INSERT INTO mfa_challenges(id,hash,user_id,class,device_name_ct,failures,expires_at,"
    "created_at) VALUES(?,?,?,?,?,0,?,?)";
static const char SQL_CH_GET[] =
    "SELECT id,user_id,class,device_name_ct,failures,expires_at,used_at,created_at "
    "FROM mfa_challenges WHERE hash=?";
static const char SQL_CH_FAIL[] = "UPDATE mfa_challenges SET failures=failures+1 WHERE id=? AND "
                                  "used_at IS NULL RETURNING failures";
static const char SQL_CH_CONSUME[] =
    "UPDATE mfa_challenges SET used_at=? WHERE id=? AND used_at IS NULL AND expires_at>? "
    "AND failures<?";
static const char SQL_UT_INSERT[] =
    "INSERT INTO user_tokens(hash,user_id,purpose,bound_idx,expires_at,created_at) "
    "VALUES(?,?,?,?,?,?)";
static const char SQL_UT_CONSUME[] =
    "UPDATE user_tokens SET used_at=? WHERE hash=? AND purpose=? AND used_at IS NULL "
    "AND expires_at>? RETURNING user_id,bound_idx,expires_at,created_at";
static const char SQL_UT_DROP[] =
    "DELETE FROM user_tokens WHERE user_id=? AND purpose=? AND used_at IS NULL";
static const char SQL_SEEN_COUNT[] = "SELECT count(*) FROM known_logins WHERE user_id=?";
static const char SQL_SEEN_INSERT[] =
    "INSERT OR IGNORE INTO known_logins(user_id,fingerprint,first_seen_at) VALUES(?,?,?)";
static const char SQL_STATE[] =
    "SELECT u.email_verified_at,t.confirmed_at FROM users u LEFT JOIN mfa_totp t "
    "ON t.user_id=u.id WHERE u.id=?";
static const char SQL_SET_EMAIL[] = "UPDATE users SET email_idx=?,email_ct=?,"
                                    "email_verified_at=NULL,updated_at=? WHERE id=?";
static const char SQL_EMAIL_VERIFY[] =
    "UPDATE users SET email_verified_at=? WHERE id=? AND email_idx=?";
static const char SQL_USER_DELETE[] = "DELETE FROM users WHERE id=?";
static const char SQL_PRUNE_CH[] = "DELETE FROM mfa_challenges WHERE expires_at<?";
static const char SQL_PRUNE_UT[] = "DELETE FROM user_tokens WHERE expires_at<?";
static const char SQL_PRUNE_LIMITS[] = "DELETE FROM limit_buckets WHERE idle_at<?";
static const char SQL_LIMIT_GET[] =
    "SELECT strikes,tokens,last_us,blocked_until,idle_at FROM limit_buckets WHERE key=?";
static const char SQL_LIMIT_PUT[] =
    "INSERT INTO limit_buckets(key,strikes,tokens,last_us,blocked_until,idle_at) "
    "VALUES(?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET strikes=excluded.strikes,"
    "tokens=excluded.tokens,last_us=excluded.last_us,blocked_until=excluded.blocked_until,"
    "idle_at=excluded.idle_at";

/* c and q name the variables it declares, so they cannot be parenthesized. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CONN_STMT(st, sql, c, q)                                                                   \
    struct sh_sq_conn *c = sh_sq_conn(st);                                                         \
    sqlite3_stmt *q = c ? sh_sq_stmt(c, sql) : NULL;                                               \
    if (q == NULL)                                                                                 \
        return SH_ERR_STORE;
// NOLINTEND(bugprone-macro-parentheses)

static void copy_hash(sqlite3_stmt *q, int i, uint8_t out[SH_STORE_HASH_LEN])
{
    const void *p = sqlite3_column_blob(q, i);

    memset(out, 0, SH_STORE_HASH_LEN);
    if (p != NULL && sqlite3_column_bytes(q, i) == SH_STORE_HASH_LEN)
        memcpy(out, p, SH_STORE_HASH_LEN);
}

/* Steps a one-row SELECT: SH_OK with the row, SH_ERR_NOT_FOUND, or an error
 * (statement reset). */
static sh_status step_row(struct sh_sq_conn *c, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);

    if (rc == SQLITE_ROW)
        return SH_OK;
    sh_status st = rc == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(c, rc);
    sh_sq_done(q);
    return st;
}

/* ---- TOTP and recovery codes --------------------------------------------- */

static sh_status totp_get(sh_store *st, const sh_id *user, sh_totp_rec *out)
{
    CONN_STMT(st, SQL_TOTP_GET, c, q);
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_sq_bind_id(q, 1, user);
    if ((rc = step_row(c, q)) != SH_OK)
        return rc;
    out->user_id = *user;
    if (sh_sq_col_blob(q, 0, &out->secret_ct, &out->secret_ct_len) != 0)
        rc = SH_ERR_NOMEM;
    out->confirmed_at = sqlite3_column_int64(q, 1);
    out->last_step = sqlite3_column_int64(q, 2);
    out->created_at = sqlite3_column_int64(q, 3);
    sh_sq_done(q);
    return rc;
}

static sh_status totp_put_pending(sh_store *st, const sh_totp_rec *t)
{
    CONN_STMT(st, SQL_TOTP_PUT, c, q);
    int changes = 0;
    sh_status rc;

    sh_sq_bind_id(q, 1, &t->user_id);
    sh_sq_bind_blob(q, 2, t->secret_ct, t->secret_ct_len);
    sqlite3_bind_int64(q, 3, t->created_at);
    rc = sh_sq_run(c, q, &changes);
    if (rc == SH_OK && changes == 0)
        rc = SH_ERR_CONFLICT; /* a confirmed row is in the way */
    return rc;
}

static sh_status replace_recovery(struct sh_sq_conn *c, const sh_id *user,
                                  const uint8_t (*hashes)[SH_STORE_HASH_LEN], size_t n)
{
    sqlite3_stmt *q = sh_sq_stmt(c, SQL_RECOVERY_CLEAR);
    sh_status rc;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, user);
    if ((rc = sh_sq_run(c, q, NULL)) != SH_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if ((q = sh_sq_stmt(c, SQL_RECOVERY_INSERT)) == NULL)
            return SH_ERR_STORE;
        sh_sq_bind_id(q, 1, user);
        sh_sq_bind_blob(q, 2, hashes[i], SH_STORE_HASH_LEN);
        if ((rc = sh_sq_run(c, q, NULL)) != SH_OK)
            return rc;
    }
    return SH_OK;
}

static sh_status totp_confirm(sh_store *st, const sh_id *user, int64_t step, int64_t now,
                              const uint8_t (*hashes)[SH_STORE_HASH_LEN], size_t n)
{
    CONN_STMT(st, SQL_TOTP_CONFIRM, c, q);
    sh_status rc;

    if ((rc = sh_sq_tx_begin(c)) != SH_OK)
        return rc;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, step);
    sh_sq_bind_id(q, 3, user);
    sqlite3_bind_int64(q, 4, step);
    rc = sh_sq_update_result(c, q);
    if (rc == SH_OK)
        rc = replace_recovery(c, user, hashes, n);
    return sh_sq_tx_end(c, rc);
}

static sh_status totp_delete(sh_store *st, const sh_id *user)
{
    CONN_STMT(st, SQL_TOTP_DELETE, c, q);
    sh_status rc;

    if ((rc = sh_sq_tx_begin(c)) != SH_OK)
        return rc;
    sh_sq_bind_id(q, 1, user);
    rc = sh_sq_update_result(c, q);
    if (rc == SH_OK)
        rc = replace_recovery(c, user, NULL, 0);
    return sh_sq_tx_end(c, rc);
}

static sh_status totp_use_step(sh_store *st, const sh_id *user, int64_t step)
{
    CONN_STMT(st, SQL_TOTP_USE_STEP, c, q);

    sqlite3_bind_int64(q, 1, step);
    sh_sq_bind_id(q, 2, user);
    sqlite3_bind_int64(q, 3, step);
    return sh_sq_update_result(c, q);
}

static sh_status recovery_use(sh_store *st, const sh_id *user,
                              const uint8_t hash[SH_STORE_HASH_LEN], int64_t now)
{
    CONN_STMT(st, SQL_RECOVERY_USE, c, q);

    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, user);
    sh_sq_bind_blob(q, 3, hash, SH_STORE_HASH_LEN);
    return sh_sq_update_result(c, q);
}

static sh_status count_query(sh_store *st, const char *sql, const sh_id *user, int *count)
{
    CONN_STMT(st, sql, c, q);
    sh_status rc;

    sh_sq_bind_id(q, 1, user);
    if ((rc = step_row(c, q)) != SH_OK)
        return rc;
    *count = sqlite3_column_int(q, 0);
    sh_sq_done(q);
    return SH_OK;
}

/* ---- challenges ------------------------------------------------------------ */

static sh_status challenge_insert(sh_store *st, const sh_challenge_rec *ch)
{
    CONN_STMT(st, SQL_CH_INSERT, c, q);

    sh_sq_bind_id(q, 1, &ch->id);
    sh_sq_bind_blob(q, 2, ch->hash, SH_STORE_HASH_LEN);
    sh_sq_bind_id(q, 3, &ch->user_id);
    sqlite3_bind_int(q, 4, ch->token_class);
    sh_sq_bind_blob(q, 5, ch->device_name_ct, ch->device_name_ct_len);
    sqlite3_bind_int64(q, 6, ch->expires_at);
    sqlite3_bind_int64(q, 7, ch->created_at);
    return sh_sq_run(c, q, NULL);
}

static sh_status challenge_get(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                               sh_challenge_rec *out)
{
    CONN_STMT(st, SQL_CH_GET, c, q);
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    if ((rc = step_row(c, q)) != SH_OK)
        return rc;
    memcpy(out->hash, hash, SH_STORE_HASH_LEN);
    sh_sq_col_id(q, 0, &out->id);
    sh_sq_col_id(q, 1, &out->user_id);
    out->token_class = sqlite3_column_int(q, 2);
    if (sh_sq_col_blob(q, 3, &out->device_name_ct, &out->device_name_ct_len) != 0)
        rc = SH_ERR_NOMEM;
    out->failures = sqlite3_column_int(q, 4);
    out->expires_at = sqlite3_column_int64(q, 5);
    out->used_at = sqlite3_column_int64(q, 6);
    out->created_at = sqlite3_column_int64(q, 7);
    sh_sq_done(q);
    return rc;
}

static sh_status challenge_fail(sh_store *st, const sh_id *id, int *failures)
{
    CONN_STMT(st, SQL_CH_FAIL, c, q);
    sh_status rc;

    sh_sq_bind_id(q, 1, id);
    if ((rc = step_row(c, q)) != SH_OK)
        return rc;
    *failures = sqlite3_column_int(q, 0);
    /* RETURNING: step to the end so the UPDATE completes */
    while (sqlite3_step(q) == SQLITE_ROW)
        ;
    sh_sq_done(q);
    return SH_OK;
}

static sh_status challenge_consume(sh_store *st, const sh_id *id, int64_t now, int max_failures)
{
    CONN_STMT(st, SQL_CH_CONSUME, c, q);

    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, id);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_int(q, 4, max_failures);
    return sh_sq_update_result(c, q);
}

/* ---- one-time e-mail tokens ------------------------------------------------ */

static sh_status utoken_insert(sh_store *st, const sh_user_token_rec *t)
{
    CONN_STMT(st, SQL_UT_INSERT, c, q);

    sh_sq_bind_blob(q, 1, t->hash, SH_STORE_HASH_LEN);
    sh_sq_bind_id(q, 2, &t->user_id);
    sqlite3_bind_int(q, 3, t->purpose);
    sh_sq_bind_blob(q, 4, t->bound_idx, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(q, 5, t->expires_at);
    sqlite3_bind_int64(q, 6, t->created_at);
    return sh_sq_run(c, q, NULL);
}

static sh_status utoken_consume(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int purpose,
                                int64_t now, sh_user_token_rec *out)
{
    CONN_STMT(st, SQL_UT_CONSUME, c, q);
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_blob(q, 2, hash, SH_STORE_HASH_LEN);
    sqlite3_bind_int(q, 3, purpose);
    sqlite3_bind_int64(q, 4, now);
    if ((rc = step_row(c, q)) != SH_OK)
        return rc;
    memcpy(out->hash, hash, SH_STORE_HASH_LEN);
    out->purpose = purpose;
    sh_sq_col_id(q, 0, &out->user_id);
    copy_hash(q, 1, out->bound_idx);
    out->expires_at = sqlite3_column_int64(q, 2);
    out->created_at = sqlite3_column_int64(q, 3);
    while (sqlite3_step(q) == SQLITE_ROW)
        ;
    sh_sq_done(q);
    return SH_OK;
}

static sh_status utoken_drop_all(sh_store *st, const sh_id *user, int purpose)
{
    CONN_STMT(st, SQL_UT_DROP, c, q);

    sh_sq_bind_id(q, 1, user);
    sqlite3_bind_int(q, 2, purpose);
    return sh_sq_run(c, q, NULL);
}

/* ---- known logins ----------------------------------------------------------- */

static sh_status login_seen(sh_store *st, const sh_id *user, const uint8_t fp[SH_STORE_HASH_LEN],
                            int64_t now, int *is_new, int *known_before)
{
    CONN_STMT(st, SQL_SEEN_INSERT, c, q);
    int changes = 0;
    sh_status rc;

    if ((rc = count_query(st, SQL_SEEN_COUNT, user, known_before)) != SH_OK)
        return rc;
    sh_sq_bind_id(q, 1, user);
    sh_sq_bind_blob(q, 2, fp, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(q, 3, now);
    rc = sh_sq_run(c, q, &changes);
    *is_new = changes > 0;
    return rc;
}

/* ---- account e-mail state ------------------------------------------------- */

static sh_status account_state(sh_store *st, const sh_id *user, sh_account_state *out)
{
    CONN_STMT(st, SQL_STATE, c, q);
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_sq_bind_id(q, 1, user);
    if ((rc = step_row(c, q)) != SH_OK)
        return rc;
    out->email_verified_at = sqlite3_column_int64(q, 0);
    out->mfa_confirmed_at = sqlite3_column_int64(q, 1);
    sh_sq_done(q);
    return SH_OK;
}

static sh_status set_email(sh_store *st, const sh_id *user, const uint8_t idx[SH_STORE_HASH_LEN],
                           const uint8_t *ct, size_t len, int64_t now)
{
    CONN_STMT(st, SQL_SET_EMAIL, c, q);

    sh_sq_bind_blob(q, 1, idx, SH_STORE_HASH_LEN);
    sh_sq_bind_blob(q, 2, ct, len);
    sqlite3_bind_int64(q, 3, now);
    sh_sq_bind_id(q, 4, user);
    return sh_sq_update_result(c, q);
}

static sh_status email_verify(sh_store *st, const sh_id *user,
                              const uint8_t bound_idx[SH_STORE_HASH_LEN], int64_t now)
{
    CONN_STMT(st, SQL_EMAIL_VERIFY, c, q);

    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, user);
    sh_sq_bind_blob(q, 3, bound_idx, SH_STORE_HASH_LEN);
    return sh_sq_update_result(c, q);
}

static sh_status user_delete(sh_store *st, const sh_id *user)
{
    CONN_STMT(st, SQL_USER_DELETE, c, q);

    sh_sq_bind_id(q, 1, user);
    return sh_sq_update_result(c, q);
}

static sh_status prune(sh_store *st, int64_t before)
{
    CONN_STMT(st, SQL_PRUNE_CH, c, q);
    sh_status rc;

    sqlite3_bind_int64(q, 1, before);
    if ((rc = sh_sq_run(c, q, NULL)) != SH_OK)
        return rc;
    if ((q = sh_sq_stmt(c, SQL_PRUNE_UT)) == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, before);
    if ((rc = sh_sq_run(c, q, NULL)) != SH_OK)
        return rc;
    if ((q = sh_sq_stmt(c, SQL_PRUNE_LIMITS)) == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, before);
    return sh_sq_run(c, q, NULL);
}

/* ---- abuse-limit buckets ---------------------------------------------------- */

static sh_status limit_get(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN], sh_limit_rec *out)
{
    CONN_STMT(st, SQL_LIMIT_GET, c, q);
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_sq_bind_blob(q, 1, key, SH_STORE_HASH_LEN);
    if ((rc = step_row(c, q)) != SH_OK)
        return rc;
    out->strikes = sqlite3_column_int64(q, 0);
    out->tokens = sqlite3_column_int64(q, 1);
    out->last_us = sqlite3_column_int64(q, 2);
    out->blocked_until = sqlite3_column_int64(q, 3);
    out->idle_at = sqlite3_column_int64(q, 4);
    sh_sq_done(q);
    return SH_OK;
}

static sh_status limit_put(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN],
                           const sh_limit_rec *r)
{
    CONN_STMT(st, SQL_LIMIT_PUT, c, q);

    sh_sq_bind_blob(q, 1, key, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(q, 2, r->strikes);
    sqlite3_bind_int64(q, 3, r->tokens);
    sqlite3_bind_int64(q, 4, r->last_us);
    sqlite3_bind_int64(q, 5, r->blocked_until);
    sqlite3_bind_int64(q, 6, r->idle_at);
    return sh_sq_run(c, q, NULL);
}

/* One writer at a time: get and put in one BEGIN IMMEDIATE transaction. */
static sh_status limit_update(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN],
                              sh_limit_update_fn fn, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sh_limit_rec r;
    sh_status rc;

    if (c == NULL || sh_sq_tx_begin(c) != SH_OK)
        return SH_ERR_STORE;
    rc = limit_get(st, key, &r);
    if (rc == SH_OK || rc == SH_ERR_NOT_FOUND) {
        fn(ctx, &r, rc == SH_OK);
        rc = limit_put(st, key, &r);
    }
    return sh_sq_tx_end(c, rc);
}

const struct sh_store_mfa_ops sh_sq_mfa_ops = {
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
    .mail_insert = sh_sq_mail_insert,
    .mail_due = sh_sq_mail_due,
    .mail_done = sh_sq_mail_done,
    .mail_count = sh_sq_mail_count,
    .mail_retry = sh_sq_mail_retry,
    .prune = prune,
    .limit_get = limit_get,
    .limit_put = limit_put,
    .limit_update = limit_update,
};
