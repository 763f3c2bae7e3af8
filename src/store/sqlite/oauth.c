/*
 * oauth.c - OAuth clients, codes, grants and refresh tokens (SQLite).
 *
 * Multi-statement operations (a grant with its devices and first refresh
 * token; a refresh-token exchange) are one transaction each, or part of the
 * caller's batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/internal.h"
#include "store/store_oauth.h"

#define CLIENT_COLS                                                                                \
    "id,name,secret_hash,redirect_uris,scopes,service_key_hash IS NOT NULL,created_at,"            \
    "secret_set_at,coalesce(disabled_at,0)"
#define GRANT_COLS "id,user_id,client_id,scopes,created_at,last_used_at,coalesce(revoked_at,0)"
#define DEVICE_REF_LEN (SH_ID_LEN + 8)

static const char SQL_CLIENT_INSERT[] =
    "INSERT INTO oauth_clients(id,name,secret_hash,redirect_uris,scopes,service_key_hash,"
    "created_at,secret_set_at) VALUES(?,?,?,?,?,?,?,?)";
static const char SQL_CLIENT_GET[] = "SELECT " CLIENT_COLS " FROM oauth_clients WHERE id=?";
static const char SQL_CLIENT_LIST[] =
    "SELECT " CLIENT_COLS " FROM oauth_clients ORDER BY created_at";
static const char SQL_CLIENT_SECRET[] =
    "UPDATE oauth_clients SET secret_hash=?,secret_set_at=? WHERE id=?";
static const char SQL_CLIENT_DISABLE[] =
    "UPDATE oauth_clients SET disabled_at=? WHERE id=? AND disabled_at IS NULL";
static const char SQL_CLIENT_BY_KEY[] =
    "SELECT id FROM oauth_clients WHERE service_key_hash=? AND disabled_at IS NULL";
static const char SQL_CODE_INSERT[] =
    "INSERT INTO oauth_codes(hash,client_id,user_id,redirect_uri,scopes,challenge,devices,"
    "created_at,expires_at) VALUES(?,?,?,?,?,?,?,?,?)";
static const char SQL_CODE_GET[] =
    "SELECT client_id,user_id,redirect_uri,scopes,challenge,devices,created_at,expires_at,"
    "coalesce(used_at,0),grant_id FROM oauth_codes WHERE hash=?";
static const char SQL_CODE_CONSUME[] =
    "UPDATE oauth_codes SET used_at=?,grant_id=? WHERE hash=? AND used_at IS NULL";
static const char SQL_GRANT_INSERT[] =
    "INSERT INTO oauth_grants(id,user_id,client_id,scopes,created_at,last_used_at) "
    "VALUES(?,?,?,?,?,?)";
static const char SQL_GRANT_DEVICE_INSERT[] =
    "INSERT OR IGNORE INTO oauth_grant_devices(grant_id,device_id,generation) VALUES(?,?,?)";
static const char SQL_REFRESH_INSERT[] =
    "INSERT INTO oauth_refresh_tokens(hash,grant_id,state,created_at) VALUES(?,?,1,?)";
static const char SQL_GRANT_GET[] = "SELECT " GRANT_COLS " FROM oauth_grants WHERE id=?";
static const char SQL_GRANT_REVOKE[] =
    "UPDATE oauth_grants SET revoked_at=? WHERE id=? AND revoked_at IS NULL";
static const char SQL_GRANTS_LIVE[] =
    "SELECT " GRANT_COLS " FROM oauth_grants WHERE user_id=?1 AND revoked_at IS NULL "
    "AND (?2 IS NULL OR client_id=?2) ORDER BY created_at";
static const char SQL_GRANT_DEVICES[] =
    "SELECT device_id,generation FROM oauth_grant_devices WHERE grant_id=?";
static const char SQL_REFRESH_FIND[] =
    "SELECT grant_id,state,used_at IS NOT NULL FROM oauth_refresh_tokens WHERE hash=?";
static const char SQL_REFRESH_RETIRE[] =
    "UPDATE oauth_refresh_tokens SET state=0 WHERE grant_id=? AND state=?";
static const char SQL_REFRESH_MARK_PREV[] =
    "UPDATE oauth_refresh_tokens SET state=2,used_at=? WHERE hash=?";
static const char SQL_GRANT_TOUCH[] = "UPDATE oauth_grants SET last_used_at=? WHERE id=?";
/* role of the user on a granted device, in the granted generation, which
 * must be the device's current one */
#define ROLE_EXPR                                                                                  \
    "CASE WHEN d.owner_id=?3 THEN 1 ELSE (SELECT s.role FROM device_shares s WHERE "               \
    "s.device_id=d.id AND s.generation=d.generation AND s.user_id=?3) END"
static const char SQL_GRANTED_ROLE[] =
    "SELECT " ROLE_EXPR ",d.generation FROM oauth_grant_devices g JOIN devices d ON "
    "d.id=g.device_id AND d.generation=g.generation WHERE g.grant_id=?1 AND g.device_id=?2";
static const char SQL_GRANTED_LIST[] =
    "SELECT " SH_SQ_DEVICE_COLS ",r FROM (SELECT d.*," ROLE_EXPR " AS r FROM oauth_grant_devices g "
    "JOIN devices d ON d.id=g.device_id AND d.generation=g.generation WHERE g.grant_id=?1) d "
    "WHERE r IS NOT NULL";

static void col_text(sqlite3_stmt *q, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(q, i);

    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static void col_hash(sqlite3_stmt *q, int i, uint8_t out[SH_STORE_HASH_LEN])
{
    const void *p = sqlite3_column_blob(q, i);

    memset(out, 0, SH_STORE_HASH_LEN);
    if (p != NULL && sqlite3_column_bytes(q, i) == SH_STORE_HASH_LEN)
        memcpy(out, p, SH_STORE_HASH_LEN);
}

static void put_i64(uint8_t *p, int64_t v)
{
    for (int i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8))
        p[i] = (uint8_t)v;
}

static int64_t get_i64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* ---- clients ----------------------------------------------------------------- */

/* Reads a client row into rec (an sh_oauth_client_rec); always 0. */
static int read_client(sqlite3_stmt *q, void *rec)
{
    sh_oauth_client_rec *c = rec;

    memset(c, 0, sizeof(*c));
    sh_sq_col_id(q, 0, &c->id);
    col_text(q, 1, c->name, sizeof(c->name));
    col_hash(q, 2, c->secret_hash);
    col_text(q, 3, c->redirect_uris, sizeof(c->redirect_uris));
    c->scopes = (unsigned)sqlite3_column_int(q, 4);
    c->has_service_key = sqlite3_column_int(q, 5);
    c->created_at = sqlite3_column_int64(q, 6);
    c->secret_set_at = sqlite3_column_int64(q, 7);
    c->disabled_at = sqlite3_column_int64(q, 8);
    return 0;
}

static void give_client(union sh_sq_cb cb, void *ctx, const void *rec) { cb.client(ctx, rec); }

static const struct sh_sq_kind client_kind = {
    .size = sizeof(sh_oauth_client_rec),
    .read = read_client,
    .give = give_client,
};

static sh_status client_insert(sh_store *st, const sh_oauth_client_rec *c, const uint8_t *key_hash)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CLIENT_INSERT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &c->id);
    sqlite3_bind_text(q, 2, c->name, -1, SQLITE_STATIC);
    sh_sq_bind_blob(q, 3, c->secret_hash, SH_STORE_HASH_LEN);
    sqlite3_bind_text(q, 4, c->redirect_uris, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, (int)c->scopes);
    sh_sq_bind_blob(q, 6, key_hash, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(q, 7, c->created_at);
    sqlite3_bind_int64(q, 8, c->secret_set_at);
    return sh_sq_run(cn, q, NULL);
}

static sh_status client_get(sh_store *st, const sh_id *id, sh_oauth_client_rec *out)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CLIENT_GET) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, id);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        read_client(q, out);
    else
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(cn, r);
    sh_sq_done(q);
    return rc;
}

static sh_status client_list(sh_store *st, sh_store_client_cb cb, void *ctx)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CLIENT_LIST) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    return sh_sq_list(cn, q, &client_kind, (union sh_sq_cb){.client = cb}, ctx);
}

static sh_status client_set_secret(sh_store *st, const sh_id *id,
                                   const uint8_t hash[SH_STORE_HASH_LEN], int64_t now)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CLIENT_SECRET) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(q, 2, now);
    sh_sq_bind_id(q, 3, id);
    return sh_sq_update_result(cn, q);
}

static sh_status client_disable(sh_store *st, const sh_id *id, int64_t now)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CLIENT_DISABLE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, id);
    return sh_sq_update_result(cn, q);
}

/* Runs a one-row query whose first column is an id. */
static sh_status one_id(struct sh_sq_conn *cn, sqlite3_stmt *q, sh_id *out)
{
    sh_status rc = SH_OK;
    int r = sqlite3_step(q);

    if (r == SQLITE_ROW)
        sh_sq_col_id(q, 0, out);
    else
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(cn, r);
    sh_sq_done(q);
    return rc;
}

static sh_status client_by_service_key(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                                       sh_id *id)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CLIENT_BY_KEY) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    return one_id(cn, q, id);
}

/* ---- codes ------------------------------------------------------------------- */

static sh_status code_insert(sh_store *st, const sh_oauth_code_rec *c)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CODE_INSERT) : NULL;
    uint8_t devs[SH_STORE_GRANT_DEVICES_MAX * DEVICE_REF_LEN + 1];

    if (q == NULL)
        return SH_ERR_STORE;
    if (c->ndevices > SH_STORE_GRANT_DEVICES_MAX)
        return SH_ERR_INVALID_REQUEST;
    for (size_t i = 0; i < c->ndevices; i++) {
        memcpy(devs + i * DEVICE_REF_LEN, c->devices[i].device.b, SH_ID_LEN);
        put_i64(devs + i * DEVICE_REF_LEN + SH_ID_LEN, c->devices[i].generation);
    }
    sh_sq_bind_blob(q, 1, c->hash, SH_STORE_HASH_LEN);
    sh_sq_bind_id(q, 2, &c->client);
    sh_sq_bind_id(q, 3, &c->user);
    sqlite3_bind_text(q, 4, c->redirect_uri, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, (int)c->scopes);
    sqlite3_bind_text(q, 6, c->challenge, -1, SQLITE_STATIC);
    /* an empty blob, not NULL, for a link without devices */
    sqlite3_bind_blob(q, 7, devs, (int)(c->ndevices * DEVICE_REF_LEN), SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, c->created_at);
    sqlite3_bind_int64(q, 9, c->expires_at);
    return sh_sq_run(cn, q, NULL);
}

static void read_code(sqlite3_stmt *q, sh_oauth_code_rec *c)
{
    const uint8_t *devs = sqlite3_column_blob(q, 5);
    size_t n = (size_t)sqlite3_column_bytes(q, 5) / DEVICE_REF_LEN;

    sh_sq_col_id(q, 0, &c->client);
    sh_sq_col_id(q, 1, &c->user);
    col_text(q, 2, c->redirect_uri, sizeof(c->redirect_uri));
    c->scopes = (unsigned)sqlite3_column_int(q, 3);
    col_text(q, 4, c->challenge, sizeof(c->challenge));
    if (n > SH_STORE_GRANT_DEVICES_MAX)
        n = SH_STORE_GRANT_DEVICES_MAX;
    for (size_t i = 0; devs != NULL && i < n; i++) {
        memcpy(c->devices[i].device.b, devs + i * DEVICE_REF_LEN, SH_ID_LEN);
        c->devices[i].generation = get_i64(devs + i * DEVICE_REF_LEN + SH_ID_LEN);
    }
    c->ndevices = devs != NULL ? n : 0;
    c->created_at = sqlite3_column_int64(q, 6);
    c->expires_at = sqlite3_column_int64(q, 7);
    c->used_at = sqlite3_column_int64(q, 8);
    c->has_grant = sqlite3_column_type(q, 9) != SQLITE_NULL;
    if (c->has_grant)
        sh_sq_col_id(q, 9, &c->grant);
}

static sh_status code_get(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                          sh_oauth_code_rec *out)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CODE_GET) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    memset(out, 0, sizeof(*out));
    memcpy(out->hash, hash, SH_STORE_HASH_LEN);
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        read_code(q, out);
    else
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(cn, r);
    sh_sq_done(q);
    return rc;
}

static sh_status code_consume(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int64_t now,
                              const sh_id *grant)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_CODE_CONSUME) : NULL;
    sh_status rc;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, grant);
    sh_sq_bind_blob(q, 3, hash, SH_STORE_HASH_LEN);
    rc = sh_sq_update_result(cn, q);
    return rc == SH_ERR_NOT_FOUND ? SH_ERR_CONFLICT : rc;
}

/* ---- grants ------------------------------------------------------------------ */

static sh_status insert_refresh(struct sh_sq_conn *cn, const uint8_t hash[SH_STORE_HASH_LEN],
                                const sh_id *grant, int64_t now)
{
    sqlite3_stmt *q = sh_sq_stmt(cn, SQL_REFRESH_INSERT);

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    sh_sq_bind_id(q, 2, grant);
    sqlite3_bind_int64(q, 3, now);
    return sh_sq_run(cn, q, NULL);
}

static sh_status grant_insert(sh_store *st, const sh_oauth_grant_rec *g,
                              const sh_oauth_device_ref *devices, size_t n,
                              const uint8_t refresh_hash[SH_STORE_HASH_LEN])
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_GRANT_INSERT) : NULL;
    sqlite3_stmt *d = cn ? sh_sq_stmt(cn, SQL_GRANT_DEVICE_INSERT) : NULL;
    sh_status rc;

    if (q == NULL || d == NULL || sh_sq_tx_begin(cn) != SH_OK)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &g->id);
    sh_sq_bind_id(q, 2, &g->user);
    sh_sq_bind_id(q, 3, &g->client);
    sqlite3_bind_int(q, 4, (int)g->scopes);
    sqlite3_bind_int64(q, 5, g->created_at);
    sqlite3_bind_int64(q, 6, g->last_used_at);
    rc = sh_sq_run(cn, q, NULL);
    for (size_t i = 0; rc == SH_OK && i < n; i++) {
        sh_sq_bind_id(d, 1, &g->id);
        sh_sq_bind_id(d, 2, &devices[i].device);
        sqlite3_bind_int64(d, 3, devices[i].generation);
        rc = sh_sq_run(cn, d, NULL);
    }
    if (rc == SH_OK)
        rc = insert_refresh(cn, refresh_hash, &g->id, g->created_at);
    return sh_sq_tx_end(cn, rc);
}

/* Reads a grant row into rec (an sh_oauth_grant_rec); always 0. */
static int read_grant(sqlite3_stmt *q, void *rec)
{
    sh_oauth_grant_rec *g = rec;

    memset(g, 0, sizeof(*g));
    sh_sq_col_id(q, 0, &g->id);
    sh_sq_col_id(q, 1, &g->user);
    sh_sq_col_id(q, 2, &g->client);
    g->scopes = (unsigned)sqlite3_column_int(q, 3);
    g->created_at = sqlite3_column_int64(q, 4);
    g->last_used_at = sqlite3_column_int64(q, 5);
    g->revoked_at = sqlite3_column_int64(q, 6);
    return 0;
}

static void give_grant(union sh_sq_cb cb, void *ctx, const void *rec) { cb.grant(ctx, rec); }

static const struct sh_sq_kind grant_kind = {
    .size = sizeof(sh_oauth_grant_rec),
    .read = read_grant,
    .give = give_grant,
};

static sh_status grant_get(sh_store *st, const sh_id *id, sh_oauth_grant_rec *out)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_GRANT_GET) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, id);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        read_grant(q, out);
    else
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(cn, r);
    sh_sq_done(q);
    return rc;
}

static sh_status grant_revoke(sh_store *st, const sh_id *id, int64_t now)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_GRANT_REVOKE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, id);
    return sh_sq_update_result(cn, q);
}

static sh_status grants_live(sh_store *st, const sh_id *user, const sh_id *client,
                             sh_store_grant_cb cb, void *ctx)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_GRANTS_LIVE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, user);
    if (client != NULL)
        sh_sq_bind_id(q, 2, client);
    return sh_sq_list(cn, q, &grant_kind, (union sh_sq_cb){.grant = cb}, ctx);
}

static int read_device_ref(sqlite3_stmt *q, void *rec)
{
    sh_oauth_device_ref *d = rec;

    sh_sq_col_id(q, 0, &d->device);
    d->generation = sqlite3_column_int64(q, 1);
    return 0;
}

static void give_device_ref(union sh_sq_cb cb, void *ctx, const void *rec)
{
    cb.device_ref(ctx, rec);
}

static const struct sh_sq_kind device_ref_kind = {
    .size = sizeof(sh_oauth_device_ref),
    .read = read_device_ref,
    .give = give_device_ref,
};

static sh_status grant_devices(sh_store *st, const sh_id *grant, sh_store_device_ref_cb cb,
                               void *ctx)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_GRANT_DEVICES) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, grant);
    return sh_sq_list(cn, q, &device_ref_kind, (union sh_sq_cb){.device_ref = cb}, ctx);
}

/* ---- refresh tokens ------------------------------------------------------------ */

static sh_status find_refresh(struct sh_sq_conn *cn, const uint8_t hash[SH_STORE_HASH_LEN],
                              sh_id *grant, int *state, int *used)
{
    sqlite3_stmt *q = sh_sq_stmt(cn, SQL_REFRESH_FIND);
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        sh_sq_col_id(q, 0, grant);
        *state = sqlite3_column_int(q, 1);
        *used = sqlite3_column_int(q, 2);
    } else {
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(cn, r);
    }
    sh_sq_done(q);
    return rc;
}

static sh_status refresh_find(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], sh_id *grant,
                              int *state, int *used)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);

    return cn ? find_refresh(cn, hash, grant, state, used) : SH_ERR_STORE;
}

/* Retires the grant's token in `state` (if any). */
static sh_status retire(struct sh_sq_conn *cn, const sh_id *grant, int state)
{
    sqlite3_stmt *q = sh_sq_stmt(cn, SQL_REFRESH_RETIRE);

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, grant);
    sqlite3_bind_int(q, 2, state);
    return sh_sq_run(cn, q, NULL);
}

static sh_status touch_grant(struct sh_sq_conn *cn, const sh_id *grant, int64_t now)
{
    sqlite3_stmt *q = sh_sq_stmt(cn, SQL_GRANT_TOUCH);

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sh_sq_bind_id(q, 2, grant);
    return sh_sq_run(cn, q, NULL);
}

/* current -> it becomes previous (used now), the old previous retires;
 * previous -> the unused current retires, the previous stays previous;
 * retired -> REUSED if it had been used, else STALE. */
static sh_status rotate(struct sh_sq_conn *cn, const uint8_t old_hash[SH_STORE_HASH_LEN],
                        const uint8_t new_hash[SH_STORE_HASH_LEN], int64_t now, const sh_id *grant,
                        int state, int used, int *outcome)
{
    sqlite3_stmt *q;
    sh_status rc;

    if (state == SH_REFRESH_RETIRED) {
        *outcome = used ? SH_REFRESH_REUSED : SH_REFRESH_STALE;
        return SH_OK;
    }
    if (state == SH_REFRESH_CURRENT) {
        if ((rc = retire(cn, grant, SH_REFRESH_PREVIOUS)) != SH_OK)
            return rc;
        if ((q = sh_sq_stmt(cn, SQL_REFRESH_MARK_PREV)) == NULL)
            return SH_ERR_STORE;
        sqlite3_bind_int64(q, 1, now);
        sh_sq_bind_blob(q, 2, old_hash, SH_STORE_HASH_LEN);
        rc = sh_sq_run(cn, q, NULL);
    } else {
        rc = retire(cn, grant, SH_REFRESH_CURRENT);
    }
    if (rc == SH_OK)
        rc = insert_refresh(cn, new_hash, grant, now);
    if (rc == SH_OK)
        rc = touch_grant(cn, grant, now);
    if (rc == SH_OK)
        *outcome = SH_REFRESH_ROTATED;
    return rc;
}

static sh_status refresh_use(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                             const uint8_t new_hash[SH_STORE_HASH_LEN], int64_t now, sh_id *grant,
                             int *outcome)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    int state = 0, used = 0;
    sh_status rc;

    if (cn == NULL || sh_sq_tx_begin(cn) != SH_OK)
        return SH_ERR_STORE;
    rc = find_refresh(cn, old_hash, grant, &state, &used);
    if (rc == SH_OK)
        rc = rotate(cn, old_hash, new_hash, now, grant, state, used, outcome);
    return sh_sq_tx_end(cn, rc);
}

/* ---- devices through a grant ----------------------------------------------------- */

static sh_status granted_role(sh_store *st, const sh_id *grant, const sh_id *device,
                              const sh_id *user, int *role, int64_t *generation)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_GRANTED_ROLE) : NULL;
    sh_status rc = SH_ERR_NOT_FOUND;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, grant);
    sh_sq_bind_id(q, 2, device);
    sh_sq_bind_id(q, 3, user);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        *role = sqlite3_column_int(q, 0);
        *generation = sqlite3_column_int64(q, 1);
        rc = SH_OK;
    } else if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = sh_sq_step_error(cn, r);
    }
    sh_sq_done(q);
    return rc;
}

static sh_status granted_list(sh_store *st, const sh_id *grant, const sh_id *user,
                              sh_store_device_cb cb, void *ctx)
{
    struct sh_sq_conn *cn = sh_sq_conn(st);
    sqlite3_stmt *q = cn ? sh_sq_stmt(cn, SQL_GRANTED_LIST) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, grant);
    sh_sq_bind_id(q, 3, user);
    return sh_sq_each_device(cn, q, cb, ctx);
}

const struct sh_store_oauth_ops sh_sq_oauth_ops = {
    .client_insert = client_insert,
    .client_get = client_get,
    .client_list = client_list,
    .client_set_secret = client_set_secret,
    .client_disable = client_disable,
    .client_by_service_key = client_by_service_key,
    .code_insert = code_insert,
    .code_get = code_get,
    .code_consume = code_consume,
    .grant_insert = grant_insert,
    .grant_get = grant_get,
    .grant_revoke = grant_revoke,
    .grants_live = grants_live,
    .grant_devices = grant_devices,
    .refresh_find = refresh_find,
    .refresh_use = refresh_use,
    .granted_role = granted_role,
    .granted_list = granted_list,
};
