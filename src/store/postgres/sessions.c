/*
 * sessions.c - app sessions and refresh tokens (PostgreSQL).
 *
 * Same meaning as sqlite/sessions.c. session_insert and refresh_rotate
 * write several rows and run as bodies of sh_pg_atomic (their own
 * transaction, or the caller's). The rest are single
 * statements; session_revoke is one conditional UPDATE, so of two racing
 * revocations exactly one succeeds.
 *
 * refresh_rotate: the mark is a conditional UPDATE (rotated_at IS NULL).
 * Of two rotations of one token on two nodes, the second blocks on the
 * row until the first commits; PostgreSQL then re-checks the condition on
 * the new row version, the mark changes no row, and it gets
 * SH_ERR_CONFLICT (store.h's contract, as on SQLite).
 */
#include <stdlib.h>
#include <string.h>

#include "store/postgres/internal.h"

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions(id,user_id,class,device_name_ct,created_at,"
    "last_used_at) VALUES($1,$2,$3,$4,$5,$6)";
static const char SQL_REFRESH_INSERT[] =
    "INSERT INTO refresh_tokens(hash,session_id,created_at) VALUES($1,$2,$3)";
static const char SQL_SESSION_GET[] =
    "SELECT id,user_id,class,device_name_ct,created_at,last_used_at,"
    "revoked_at FROM sessions WHERE id=$1";
static const char SQL_SESSION_LIST[] =
    "SELECT id,user_id,class,device_name_ct,created_at,last_used_at,"
    "revoked_at FROM sessions WHERE user_id=$1 AND revoked_at IS NULL "
    "ORDER BY created_at";
static const char SQL_SESSION_REVOKE[] =
    "UPDATE sessions SET revoked_at=$1 WHERE id=$2 AND revoked_at IS NULL";
static const char SQL_SESSION_TOUCH[] = "UPDATE sessions SET last_used_at=$1 WHERE id=$2";
static const char SQL_REFRESH_FIND[] =
    "SELECT session_id,rotated_at IS NOT NULL FROM refresh_tokens "
    "WHERE hash=$1";
static const char SQL_REFRESH_MARK[] =
    "UPDATE refresh_tokens SET rotated_at=$1 WHERE hash=$2 AND session_id=$3 "
    "AND rotated_at IS NULL";

/* ---- sessions and refresh tokens ---------------------------------------- */

static sh_status insert_refresh(struct sh_pg_conn *c, const uint8_t hash[SH_STORE_HASH_LEN],
                                const sh_id *session_id, int64_t now)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    sh_pg_p_id(&p, session_id);
    sh_pg_p_i64(&p, now);
    return sh_pg_run(c, SQL_REFRESH_INSERT, &p, NULL);
}

struct session_insert_args {
    const sh_session_rec *s;
    const uint8_t *refresh_hash;
};

static sh_status session_insert_body(struct sh_pg_conn *c, void *ctx)
{
    const struct session_insert_args *a = ctx;
    const sh_session_rec *s = a->s;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &s->id);
    sh_pg_p_id(&p, &s->user_id);
    sh_pg_p_i64(&p, s->token_class);
    sh_pg_p_blob(&p, s->device_name_ct, s->device_name_ct_len);
    sh_pg_p_i64(&p, s->created_at);
    sh_pg_p_i64(&p, s->last_used_at);
    if ((rc = sh_pg_run(c, SQL_SESSION_INSERT, &p, NULL)) != SH_OK)
        return rc;
    return insert_refresh(c, a->refresh_hash, &s->id, s->created_at);
}

/* Stores the session and its first refresh token in one transaction. */
sh_status sh_pg_session_insert(sh_store *st, const sh_session_rec *s,
                               const uint8_t refresh_hash[SH_STORE_HASH_LEN])
{
    struct session_insert_args a = {.s = s, .refresh_hash = refresh_hash};

    return sh_pg_atomic(st, session_insert_body, &a);
}

/* Fills s from row `row` (the column order of SQL_SESSION_GET); 0, or -1
 * when out of memory (s then owns nothing). */
static int read_session_row(const PGresult *r, int row, sh_session_rec *s)
{
    memset(s, 0, sizeof(*s));
    sh_pg_col_id(r, row, 0, &s->id);
    sh_pg_col_id(r, row, 1, &s->user_id);
    s->token_class = (int)sh_pg_col_i64(r, row, 2);
    s->created_at = sh_pg_col_i64(r, row, 4);
    s->last_used_at = sh_pg_col_i64(r, row, 5);
    s->revoked_at = sh_pg_col_i64(r, row, 6);
    return sh_pg_col_blob(r, row, 3, &s->device_name_ct, &s->device_name_ct_len);
}

sh_status sh_pg_session_get(sh_store *st, const sh_id *id, sh_session_rec *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    if ((rc = sh_pg_query(c, SQL_SESSION_GET, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else if (read_session_row(r, 0, out) != 0)
        rc = SH_ERR_NOMEM;
out:
    PQclear(r);
    return rc;
}

/* Calls cb for each active session of the user, oldest first, after the
 * rows were read (cb may call the store). */
sh_status sh_pg_session_list(sh_store *st, const sh_id *user_id, sh_store_session_cb cb, void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_session_rec s;
    sh_status rc;
    int n;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user_id);
    if ((rc = sh_pg_query(c, SQL_SESSION_LIST, &p, &r)) != SH_OK)
        goto out;
    n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        if (read_session_row(r, i, &s) != 0) {
            rc = SH_ERR_NOMEM;
            goto out;
        }
        cb(ctx, &s);
        sh_session_rec_clear(&s);
    }
out:
    PQclear(r);
    return rc;
}

sh_status sh_pg_session_revoke(sh_store *st, const sh_id *id, int64_t now)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, id);
    return sh_pg_update_result(c, SQL_SESSION_REVOKE, &p);
}

sh_status sh_pg_refresh_find(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], sh_id *session_id,
                             int *rotated)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    if ((rc = sh_pg_query(c, SQL_REFRESH_FIND, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    sh_pg_col_id(r, 0, 0, session_id);
    *rotated = (int)sh_pg_col_i64(r, 0, 1);
out:
    PQclear(r);
    return rc;
}

struct rotate_args {
    const uint8_t *old_hash;
    const uint8_t *new_hash;
    const sh_id *session_id;
    int64_t now;
};

static sh_status rotate_body(struct sh_pg_conn *c, void *ctx)
{
    const struct rotate_args *a = ctx;
    sh_pg_params p;
    int changes = 0;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, a->now);
    sh_pg_p_blob(&p, a->old_hash, SH_STORE_HASH_LEN);
    sh_pg_p_id(&p, a->session_id);
    if ((rc = sh_pg_run(c, SQL_REFRESH_MARK, &p, &changes)) != SH_OK)
        return rc;
    if (changes != 1)
        return SH_ERR_CONFLICT; /* already rotated: a concurrent or replayed refresh */
    if ((rc = insert_refresh(c, a->new_hash, a->session_id, a->now)) != SH_OK)
        return rc;
    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, a->now);
    sh_pg_p_id(&p, a->session_id);
    return sh_pg_run(c, SQL_SESSION_TOUCH, &p, NULL);
}

/* Marks old_hash rotated, stores new_hash and touches the session, in one
 * transaction. SH_ERR_CONFLICT if old_hash was already rotated (or is not
 * the session's): of two racing rotations exactly one succeeds. */
sh_status sh_pg_refresh_rotate(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                               const uint8_t new_hash[SH_STORE_HASH_LEN], const sh_id *session_id,
                               int64_t now)
{
    struct rotate_args a = {
        .old_hash = old_hash, .new_hash = new_hash, .session_id = session_id, .now = now};

    return sh_pg_atomic(st, rotate_body, &a);
}
