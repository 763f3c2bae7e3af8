/*
 * users.c - users and the meta key/value table (PostgreSQL).
 *
 * Same meaning as sqlite/users.c. Every operation here is one statement,
 * atomic on its own and retried by the helpers on a serialization failure;
 * a taken e-mail index comes back as SH_ERR_CONFLICT (unique violation).
 * Records filled here own their blobs (release with sh_user_rec_clear).
 */
#include <stdlib.h>
#include <string.h>

#include "store/postgres/internal.h"
#include "store/migrations.h"

static const char SQL_USER_INSERT[] =
    "INSERT INTO users(id,email_idx,email_ct,name_ct,password,wrapped_key,"
    "created_at,updated_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8)";
static const char SQL_USER_GET[] =
    "SELECT id,email_idx,email_ct,name_ct,password,wrapped_key,created_at,"
    "updated_at FROM users WHERE id=$1";
static const char SQL_USER_GET_BY_EMAIL[] =
    "SELECT id,email_idx,email_ct,name_ct,password,wrapped_key,"
    "created_at,updated_at FROM users WHERE email_idx=$1";
static const char SQL_USER_SET_NAME[] = "UPDATE users SET name_ct=$1,updated_at=$2 WHERE id=$3";
static const char SQL_USER_SET_PASSWORD[] =
    "UPDATE users SET password=$1,updated_at=$2 WHERE id=$3";
static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key=$1";
static const char SQL_SCHEMA_VERSION[] = "SELECT coalesce(max(version),0) FROM schema_version";
static const char SQL_META_PUT[] = "INSERT INTO meta(key,value) VALUES($1,$2) "
                                   "ON CONFLICT(key) DO UPDATE SET value=excluded.value";
static const char SQL_META_ADD[] = "INSERT INTO meta(key,value) VALUES($1,$2) "
                                   "ON CONFLICT(key) DO NOTHING";

/* ---- users --------------------------------------------------------------- */

sh_status sh_pg_user_insert(sh_store *st, const sh_user_rec *u)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &u->id);
    sh_pg_p_blob(&p, u->email_idx, SH_STORE_HASH_LEN);
    sh_pg_p_blob(&p, u->email_ct, u->email_ct_len);
    sh_pg_p_blob(&p, u->name_ct, u->name_ct_len);
    sh_pg_p_text(&p, u->password_hash);
    sh_pg_p_blob(&p, u->wrapped_key, u->wrapped_key_len);
    sh_pg_p_i64(&p, u->created_at);
    sh_pg_p_i64(&p, u->updated_at);
    return sh_pg_run(c, SQL_USER_INSERT, &p, NULL);
}

/* Runs a one-row user SELECT (the column order of SQL_USER_GET) and fills
 * u: SH_OK, SH_ERR_NOT_FOUND, SH_ERR_NOMEM or the query's error. u is
 * zeroed on every failure. */
static sh_status get_user(sh_store *st, const char *sql, const sh_pg_params *p, sh_user_rec *u)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_status rc;

    memset(u, 0, sizeof(*u));
    if ((rc = sh_pg_query(c, sql, p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    sh_pg_col_id(r, 0, 0, &u->id);
    sh_pg_col_fixed(r, 0, 1, u->email_idx, SH_STORE_HASH_LEN);
    sh_pg_col_text(r, 0, 4, u->password_hash, sizeof(u->password_hash));
    if (sh_pg_col_blob(r, 0, 2, &u->email_ct, &u->email_ct_len) != 0 ||
        sh_pg_col_blob(r, 0, 3, &u->name_ct, &u->name_ct_len) != 0 ||
        sh_pg_col_blob(r, 0, 5, &u->wrapped_key, &u->wrapped_key_len) != 0) {
        sh_user_rec_clear(u);
        rc = SH_ERR_NOMEM;
        goto out;
    }
    u->created_at = sh_pg_col_i64(r, 0, 6);
    u->updated_at = sh_pg_col_i64(r, 0, 7);
out:
    PQclear(r);
    return rc;
}

sh_status sh_pg_user_get(sh_store *st, const sh_id *id, sh_user_rec *out)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    return get_user(st, SQL_USER_GET, &p, out);
}

sh_status sh_pg_user_get_by_email(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                  sh_user_rec *out)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, idx, SH_STORE_HASH_LEN);
    return get_user(st, SQL_USER_GET_BY_EMAIL, &p, out);
}

sh_status sh_pg_user_set_name(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                              int64_t now)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, ct, len);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, id);
    return sh_pg_update_result(c, SQL_USER_SET_NAME, &p);
}

sh_status sh_pg_user_set_password(sh_store *st, const sh_id *id, const char *hash, int64_t now)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_text(&p, hash);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, id);
    return sh_pg_update_result(c, SQL_USER_SET_PASSWORD, &p);
}

/* ---- meta ---------------------------------------------------------------- */

/* Copies the value of key into buf: SH_ERR_NOT_FOUND when absent,
 * SH_ERR_INTERNAL when it is longer than cap (buf untouched). */
sh_status sh_pg_meta_get(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    uint8_t *v = NULL;
    size_t n = 0;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_text(&p, key);
    if ((rc = sh_pg_query(c, SQL_META_GET, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    if (sh_pg_col_blob(r, 0, 0, &v, &n) != 0) {
        rc = SH_ERR_NOMEM;
        goto out;
    }
    if (n > cap) {
        rc = SH_ERR_INTERNAL;
        goto out;
    }
    if (n > 0)
        memcpy(buf, v, n);
    *len = n;
out:
    free(v);
    PQclear(r);
    return rc;
}

sh_status sh_pg_schema_version(sh_store *st, int *stored, int *known)
{
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    sh_pg_params_init(&p);
    *known = sh_postgres_migrations[sh_postgres_migrations_count - 1].version;
    if ((rc = sh_pg_query(sh_pg_conn(st), SQL_SCHEMA_VERSION, &p, &r)) != SH_OK)
        return rc;
    if (PQntuples(r) == 1)
        *stored = (int)sh_pg_col_i64(r, 0, 0);
    else
        rc = SH_ERR_STORE;
    PQclear(r);
    return rc;
}

sh_status sh_pg_meta_add(sh_store *st, const char *key, const uint8_t *val, size_t len)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    int changes = 0;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_text(&p, key);
    sh_pg_p_blob(&p, val, len);
    rc = sh_pg_run(c, SQL_META_ADD, &p, &changes);
    return rc == SH_OK && changes == 0 ? SH_ERR_CONFLICT : rc;
}

sh_status sh_pg_meta_put(sh_store *st, const char *key, const uint8_t *val, size_t len)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_text(&p, key);
    sh_pg_p_blob(&p, val, len);
    return sh_pg_run(c, SQL_META_PUT, &p, NULL);
}
