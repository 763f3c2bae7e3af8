/* users.c - users and the meta key/value table (SQLite). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/internal.h"
#include "store/migrations.h"

static const char SQL_USER_INSERT[] =
    "INSERT INTO users(id,email_idx,email_ct,name_ct,password,wrapped_key,"
    "created_at,updated_at) VALUES(?,?,?,?,?,?,?,?)";
static const char SQL_USER_GET[] =
    "SELECT id,email_idx,email_ct,name_ct,password,wrapped_key,created_at,"
    "updated_at FROM users WHERE id=?";
static const char SQL_USER_GET_BY_EMAIL[] =
    "SELECT id,email_idx,email_ct,name_ct,password,wrapped_key,"
    "created_at,updated_at FROM users WHERE email_idx=?";
static const char SQL_USER_SET_NAME[] = "UPDATE users SET name_ct=?,updated_at=? WHERE id=?";
static const char SQL_USER_SET_PASSWORD[] = "UPDATE users SET password=?,updated_at=? WHERE id=?";
static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key=?";
static const char SQL_SCHEMA_VERSION[] = "SELECT coalesce(max(version),0) FROM schema_version";
static const char SQL_META_PUT[] = "INSERT INTO meta(key,value) VALUES(?,?) "
                                   "ON CONFLICT(key) DO UPDATE SET value=excluded.value";
static const char SQL_META_ADD[] = "INSERT INTO meta(key,value) VALUES(?,?) "
                                   "ON CONFLICT(key) DO NOTHING";

/* ---- users --------------------------------------------------------------- */

sh_status sh_sq_user_insert(sh_store *st, const sh_user_rec *u)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_USER_INSERT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &u->id);
    sh_sq_bind_blob(q, 2, u->email_idx, SH_STORE_HASH_LEN);
    sh_sq_bind_blob(q, 3, u->email_ct, u->email_ct_len);
    sh_sq_bind_blob(q, 4, u->name_ct, u->name_ct_len);
    sqlite3_bind_text(q, 5, u->password_hash, -1, SQLITE_STATIC);
    sh_sq_bind_blob(q, 6, u->wrapped_key, u->wrapped_key_len);
    sqlite3_bind_int64(q, 7, u->created_at);
    sqlite3_bind_int64(q, 8, u->updated_at);
    return sh_sq_run(c, q, NULL);
}

static sh_status read_user(struct sh_sq_conn *c, sqlite3_stmt *q, sh_user_rec *u)
{
    int rc = sqlite3_step(q);
    sh_status st = SH_OK;
    const void *idx;
    const unsigned char *pw;

    memset(u, 0, sizeof(*u));
    if (rc == SQLITE_DONE) {
        st = SH_ERR_NOT_FOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        st = sh_sq_step_error(c, rc);
        goto out;
    }
    sh_sq_col_id(q, 0, &u->id);
    idx = sqlite3_column_blob(q, 1);
    if (idx != NULL && sqlite3_column_bytes(q, 1) == SH_STORE_HASH_LEN)
        memcpy(u->email_idx, idx, SH_STORE_HASH_LEN);
    pw = sqlite3_column_text(q, 4);
    if (pw != NULL)
        snprintf(u->password_hash, sizeof(u->password_hash), "%s", (const char *)pw);
    if (sh_sq_col_blob(q, 2, &u->email_ct, &u->email_ct_len) ||
        sh_sq_col_blob(q, 3, &u->name_ct, &u->name_ct_len) ||
        sh_sq_col_blob(q, 5, &u->wrapped_key, &u->wrapped_key_len)) {
        sh_user_rec_clear(u);
        st = SH_ERR_NOMEM;
        goto out;
    }
    u->created_at = sqlite3_column_int64(q, 6);
    u->updated_at = sqlite3_column_int64(q, 7);
out:
    sh_sq_done(q);
    return st;
}

sh_status sh_sq_user_get(sh_store *st, const sh_id *id, sh_user_rec *out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_USER_GET) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, id);
    return read_user(c, q, out);
}

sh_status sh_sq_user_get_by_email(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                  sh_user_rec *out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_USER_GET_BY_EMAIL) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, idx, SH_STORE_HASH_LEN);
    return read_user(c, q, out);
}

sh_status sh_sq_user_set_name(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                              int64_t now)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_USER_SET_NAME) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, ct, len);
    sqlite3_bind_int64(q, 2, now);
    sh_sq_bind_id(q, 3, id);
    return sh_sq_update_result(c, q);
}

sh_status sh_sq_user_set_password(sh_store *st, const sh_id *id, const char *hash, int64_t now)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_USER_SET_PASSWORD) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    sh_sq_bind_id(q, 3, id);
    return sh_sq_update_result(c, q);
}

/* ---- meta ---------------------------------------------------------------- */

sh_status sh_sq_meta_get(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_META_GET) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        if (n > cap) {
            rc = SH_ERR_INTERNAL;
        } else {
            memcpy(buf, sqlite3_column_blob(q, 0), n);
            *len = n;
        }
    } else {
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(c, r);
    }
    sh_sq_done(q);
    return rc;
}

sh_status sh_sq_schema_version(sh_store *st, int *stored, int *known)
{
    int64_t v = 0;
    sh_status rc = sh_sq_int64(sh_sq_conn(st), SQL_SCHEMA_VERSION, &v);

    *stored = (int)v;
    *known = sh_sqlite_migrations[sh_sqlite_migrations_count - 1].version;
    return rc;
}

sh_status sh_sq_meta_add(sh_store *st, const char *key, const uint8_t *val, size_t len)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_META_ADD) : NULL;
    int changes = 0;
    sh_status rc;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sh_sq_bind_blob(q, 2, val, len);
    rc = sh_sq_run(c, q, &changes);
    return rc == SH_OK && changes == 0 ? SH_ERR_CONFLICT : rc;
}

sh_status sh_sq_meta_put(sh_store *st, const char *key, const uint8_t *val, size_t len)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_META_PUT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sh_sq_bind_blob(q, 2, val, len);
    return sh_sq_run(c, q, NULL);
}
