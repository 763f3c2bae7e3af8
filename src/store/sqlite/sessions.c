/* sessions.c - app sessions and refresh tokens (SQLite). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/internal.h"

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions(id,user_id,class,device_name_ct,created_at,"
    "last_used_at) VALUES(?,?,?,?,?,?)";
static const char SQL_REFRESH_INSERT[] =
    "INSERT INTO refresh_tokens(hash,session_id,created_at) VALUES(?,?,?)";
static const char SQL_SESSION_GET[] =
    "SELECT id,user_id,class,device_name_ct,created_at,last_used_at,"
    "revoked_at FROM sessions WHERE id=?";
static const char SQL_SESSION_LIST[] =
    "SELECT id,user_id,class,device_name_ct,created_at,last_used_at,"
    "revoked_at FROM sessions WHERE user_id=? AND revoked_at IS NULL "
    "ORDER BY created_at";
static const char SQL_SESSION_REVOKE[] =
    "UPDATE sessions SET revoked_at=? WHERE id=? AND revoked_at IS NULL";
static const char SQL_SESSION_TOUCH[] = "UPDATE sessions SET last_used_at=? WHERE id=?";
static const char SQL_REFRESH_FIND[] =
    "SELECT session_id,rotated_at IS NOT NULL FROM refresh_tokens "
    "WHERE hash=?";
static const char SQL_REFRESH_MARK[] =
    "UPDATE refresh_tokens SET rotated_at=? WHERE hash=? AND session_id=? "
    "AND rotated_at IS NULL";

/* ---- sessions and refresh tokens ---------------------------------------- */

static sh_status insert_refresh(struct sh_sq_conn *c, const uint8_t hash[SH_STORE_HASH_LEN],
                                const sh_id *session_id, int64_t now)
{
    sqlite3_stmt *q = sh_sq_stmt(c, SQL_REFRESH_INSERT);

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    sh_sq_bind_id(q, 2, session_id);
    sqlite3_bind_int64(q, 3, now);
    return sh_sq_run(c, q, NULL);
}

sh_status sh_sq_session_insert(sh_store *st, const sh_session_rec *s,
                               const uint8_t refresh_hash[SH_STORE_HASH_LEN])
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SESSION_INSERT) : NULL;
    sh_status rc;

    if (q == NULL || sh_sq_tx_begin(c) != SH_OK)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &s->id);
    sh_sq_bind_id(q, 2, &s->user_id);
    sqlite3_bind_int(q, 3, s->token_class);
    sh_sq_bind_blob(q, 4, s->device_name_ct, s->device_name_ct_len);
    sqlite3_bind_int64(q, 5, s->created_at);
    sqlite3_bind_int64(q, 6, s->last_used_at);
    rc = sh_sq_run(c, q, NULL);
    if (rc == SH_OK)
        rc = insert_refresh(c, refresh_hash, &s->id, s->created_at);
    return sh_sq_tx_end(c, rc);
}

/* Reads a session row into rec (an sh_session_rec); 0, or -1 when out of
 * memory. */
static int read_session(sqlite3_stmt *q, void *rec)
{
    sh_session_rec *s = rec;

    memset(s, 0, sizeof(*s));
    sh_sq_col_id(q, 0, &s->id);
    sh_sq_col_id(q, 1, &s->user_id);
    s->token_class = sqlite3_column_int(q, 2);
    s->created_at = sqlite3_column_int64(q, 4);
    s->last_used_at = sqlite3_column_int64(q, 5);
    s->revoked_at = sqlite3_column_int64(q, 6);
    return sh_sq_col_blob(q, 3, &s->device_name_ct, &s->device_name_ct_len);
}

sh_status sh_sq_session_get(sh_store *st, const sh_id *id, sh_session_rec *out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SESSION_GET) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, id);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        rc = read_session(q, out) ? SH_ERR_NOMEM : SH_OK;
    else if (r == SQLITE_DONE)
        rc = SH_ERR_NOT_FOUND;
    else
        rc = sh_sq_step_error(c, r);
    sh_sq_done(q);
    return rc;
}

static void give_session(union sh_sq_cb cb, void *ctx, const void *rec) { cb.session(ctx, rec); }

static void clear_session(void *rec) { sh_session_rec_clear(rec); }

static const struct sh_sq_kind session_kind = {
    .size = sizeof(sh_session_rec),
    .read = read_session,
    .give = give_session,
    .clear = clear_session,
};

sh_status sh_sq_session_list(sh_store *st, const sh_id *user_id, sh_store_session_cb cb, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SESSION_LIST) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, user_id);
    return sh_sq_list(c, q, &session_kind, (union sh_sq_cb){.session = cb}, ctx);
}

sh_status sh_sq_session_revoke(sh_store *st, const sh_id *id, int64_t now)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SESSION_REVOKE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, id);
    return sh_sq_update_result(c, q);
}

sh_status sh_sq_refresh_find(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], sh_id *session_id,
                             int *rotated)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_REFRESH_FIND) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        sh_sq_col_id(q, 0, session_id);
        *rotated = sqlite3_column_int(q, 1);
    } else {
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(c, r);
    }
    sh_sq_done(q);
    return rc;
}

/* Marks old_hash used and stores new_hash, atomically. SH_ERR_CONFLICT if
 * old_hash was already used (a concurrent or replayed refresh). */
sh_status sh_sq_refresh_rotate(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                               const uint8_t new_hash[SH_STORE_HASH_LEN], const sh_id *session_id,
                               int64_t now)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_REFRESH_MARK) : NULL;
    sqlite3_stmt *t = c ? sh_sq_stmt(c, SQL_SESSION_TOUCH) : NULL;
    int changes = 0;
    sh_status rc;

    if (q == NULL || t == NULL || sh_sq_tx_begin(c) != SH_OK)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_blob(q, 2, old_hash, SH_STORE_HASH_LEN);
    sh_sq_bind_id(q, 3, session_id);
    rc = sh_sq_run(c, q, &changes);
    if (rc == SH_OK && changes != 1)
        rc = SH_ERR_CONFLICT;
    if (rc == SH_OK)
        rc = insert_refresh(c, new_hash, session_id, now);
    if (rc == SH_OK) {
        sqlite3_bind_int64(t, 1, now);
        sh_sq_bind_id(t, 2, session_id);
        rc = sh_sq_run(c, t, NULL);
    }
    return sh_sq_tx_end(c, rc);
}
