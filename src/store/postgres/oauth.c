/*
 * oauth.c - OAuth clients, codes, grants and refresh tokens (PostgreSQL).
 *
 * The same operations, with the same meaning, as store/sqlite/oauth.c.
 * Multi-statement operations (a grant with its devices and first refresh
 * token; a refresh-token exchange) are one sh_pg_atomic body each, or part
 * of the caller's transaction. A refresh-token exchange locks the token and
 * its grant first (SELECT ... FOR UPDATE), so exchanges of one grant's
 * tokens on several nodes run one after the other. Single-use conditions
 * (a code, disabling, revoking) are single conditional statements.
 */
#include <stdlib.h>
#include <string.h>

#include "store/postgres/devices_rows.h"
#include "store/postgres/internal.h"
#include "store/store_oauth.h"

#define CLIENT_COLS                                                                                \
    "id,name,secret_hash,redirect_uris,scopes,service_key_hash IS NOT NULL,created_at,"            \
    "secret_set_at,coalesce(disabled_at,0)"
#define GRANT_COLS "id,user_id,client_id,scopes,created_at,last_used_at,coalesce(revoked_at,0)"
#define DEVICE_REF_LEN (SH_ID_LEN + 8)

static const char SQL_CLIENT_INSERT[] =
    "INSERT INTO oauth_clients(id,name,secret_hash,redirect_uris,scopes,service_key_hash,"
    "created_at,secret_set_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8)";
static const char SQL_CLIENT_GET[] = "SELECT " CLIENT_COLS " FROM oauth_clients WHERE id=$1";
static const char SQL_CLIENT_LIST[] =
    "SELECT " CLIENT_COLS " FROM oauth_clients ORDER BY created_at";
static const char SQL_CLIENT_SECRET[] =
    "UPDATE oauth_clients SET secret_hash=$1,secret_set_at=$2 WHERE id=$3";
static const char SQL_CLIENT_DISABLE[] =
    "UPDATE oauth_clients SET disabled_at=$1 WHERE id=$2 AND disabled_at IS NULL";
static const char SQL_CLIENT_BY_KEY[] =
    "SELECT id FROM oauth_clients WHERE service_key_hash=$1 AND disabled_at IS NULL";
static const char SQL_CODE_INSERT[] =
    "INSERT INTO oauth_codes(hash,client_id,user_id,redirect_uri,scopes,challenge,devices,"
    "created_at,expires_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)";
static const char SQL_CODE_GET[] =
    "SELECT client_id,user_id,redirect_uri,scopes,challenge,devices,created_at,expires_at,"
    "coalesce(used_at,0),grant_id FROM oauth_codes WHERE hash=$1";
static const char SQL_CODE_CONSUME[] =
    "UPDATE oauth_codes SET used_at=$1,grant_id=$2 WHERE hash=$3 AND used_at IS NULL";
static const char SQL_GRANT_INSERT[] =
    "INSERT INTO oauth_grants(id,user_id,client_id,scopes,created_at,last_used_at) "
    "VALUES($1,$2,$3,$4,$5,$6)";
static const char SQL_GRANT_DEVICE_INSERT[] =
    "INSERT INTO oauth_grant_devices(grant_id,device_id,generation) VALUES($1,$2,$3) "
    "ON CONFLICT DO NOTHING";
static const char SQL_REFRESH_INSERT[] =
    "INSERT INTO oauth_refresh_tokens(hash,grant_id,state,created_at) VALUES($1,$2,1,$3)";
static const char SQL_GRANT_GET[] = "SELECT " GRANT_COLS " FROM oauth_grants WHERE id=$1";
static const char SQL_GRANT_REVOKE[] =
    "UPDATE oauth_grants SET revoked_at=$1 WHERE id=$2 AND revoked_at IS NULL";
static const char SQL_GRANTS_LIVE[] =
    "SELECT " GRANT_COLS " FROM oauth_grants WHERE user_id=$1 AND revoked_at IS NULL "
    "AND ($2::bytea IS NULL OR client_id=$2::bytea) ORDER BY created_at";
static const char SQL_GRANT_DEVICES[] =
    "SELECT device_id,generation FROM oauth_grant_devices WHERE grant_id=$1";
static const char SQL_REFRESH_FIND[] =
    "SELECT grant_id,state,used_at IS NOT NULL FROM oauth_refresh_tokens WHERE hash=$1";
/* The same, locking the token and its grant for the exchange. */
static const char SQL_REFRESH_FIND_LOCK[] =
    "SELECT t.grant_id,t.state,t.used_at IS NOT NULL FROM oauth_refresh_tokens t "
    "JOIN oauth_grants g ON g.id=t.grant_id WHERE t.hash=$1 FOR UPDATE OF t,g";
static const char SQL_REFRESH_RETIRE[] =
    "UPDATE oauth_refresh_tokens SET state=0 WHERE grant_id=$1 AND state=$2";
static const char SQL_REFRESH_MARK_PREV[] =
    "UPDATE oauth_refresh_tokens SET state=2,used_at=$1 WHERE hash=$2";
static const char SQL_GRANT_TOUCH[] = "UPDATE oauth_grants SET last_used_at=$1 WHERE id=$2";
/* role of user u on a granted device, in the granted generation, which
 * must be the device's current one */
#define ROLE_EXPR(u)                                                                               \
    "CASE WHEN d.owner_id=" u " THEN 1 ELSE (SELECT s.role FROM device_shares s WHERE "            \
    "s.device_id=d.id AND s.generation=d.generation AND s.user_id=" u ") END"
#define ROLE_OF_U3 ROLE_EXPR("$3")
#define ROLE_OF_U2 ROLE_EXPR("$2")
static const char SQL_GRANTED_ROLE[] =
    "SELECT " ROLE_OF_U3 ",d.generation FROM oauth_grant_devices g JOIN devices d ON "
    "d.id=g.device_id AND d.generation=g.generation WHERE g.grant_id=$1 AND g.device_id=$2";
static const char SQL_GRANTED_LIST[] =
    "SELECT " SH_PG_DEVICE_COLS ",r FROM (SELECT d.*," ROLE_OF_U2 " AS r FROM "
    "oauth_grant_devices g JOIN devices d ON d.id=g.device_id AND d.generation=g.generation "
    "WHERE g.grant_id=$1) d WHERE r IS NOT NULL";

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

/* Runs a one-row query whose first column is an id. */
static sh_status one_id(struct sh_pg_conn *cn, const char *sql, const sh_pg_params *p, sh_id *out)
{
    PGresult *r = NULL;
    sh_status rc;

    if ((rc = sh_pg_query(cn, sql, p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else
        sh_pg_col_id(r, 0, 0, out);
out:
    PQclear(r);
    return rc;
}

/* ---- clients ----------------------------------------------------------------- */

static void read_client(const PGresult *r, int row, sh_oauth_client_rec *c)
{
    memset(c, 0, sizeof(*c));
    sh_pg_col_id(r, row, 0, &c->id);
    sh_pg_col_text(r, row, 1, c->name, sizeof(c->name));
    sh_pg_col_fixed(r, row, 2, c->secret_hash, SH_STORE_HASH_LEN);
    sh_pg_col_text(r, row, 3, c->redirect_uris, sizeof(c->redirect_uris));
    c->scopes = (unsigned)(int)sh_pg_col_i64(r, row, 4);
    c->has_service_key = (int)sh_pg_col_i64(r, row, 5);
    c->created_at = sh_pg_col_i64(r, row, 6);
    c->secret_set_at = sh_pg_col_i64(r, row, 7);
    c->disabled_at = sh_pg_col_i64(r, row, 8);
}

static sh_status client_insert(sh_store *st, const sh_oauth_client_rec *c, const uint8_t *key_hash)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &c->id);
    sh_pg_p_text(&p, c->name);
    sh_pg_p_blob(&p, c->secret_hash, SH_STORE_HASH_LEN);
    sh_pg_p_text(&p, c->redirect_uris);
    sh_pg_p_i64(&p, (int)c->scopes); /* stored as a signed 32-bit integer */
    sh_pg_p_blob(&p, key_hash, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, c->created_at);
    sh_pg_p_i64(&p, c->secret_set_at);
    return sh_pg_run(cn, SQL_CLIENT_INSERT, &p, NULL);
}

static sh_status client_get(sh_store *st, const sh_id *id, sh_oauth_client_rec *out)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    if ((rc = sh_pg_query(cn, SQL_CLIENT_GET, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else
        read_client(r, 0, out);
out:
    PQclear(r);
    return rc;
}

static sh_status client_list(sh_store *st, sh_store_client_cb cb, void *ctx)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_oauth_client_rec *c = NULL; /* large: not on the stack */
    PGresult *r = NULL;
    sh_status rc;

    if ((c = malloc(sizeof(*c))) == NULL)
        return SH_ERR_NOMEM;
    if ((rc = sh_pg_query(cn, SQL_CLIENT_LIST, NULL, &r)) != SH_OK)
        goto out;
    for (int i = 0; i < PQntuples(r); i++) {
        read_client(r, i, c);
        cb(ctx, c);
    }
out:
    PQclear(r);
    free(c);
    return rc;
}

static sh_status client_set_secret(sh_store *st, const sh_id *id,
                                   const uint8_t hash[SH_STORE_HASH_LEN], int64_t now)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, id);
    return sh_pg_update_result(cn, SQL_CLIENT_SECRET, &p);
}

static sh_status client_disable(sh_store *st, const sh_id *id, int64_t now)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, id);
    return sh_pg_update_result(cn, SQL_CLIENT_DISABLE, &p);
}

static sh_status client_by_service_key(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                                       sh_id *id)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    return one_id(cn, SQL_CLIENT_BY_KEY, &p, id);
}

/* ---- codes ------------------------------------------------------------------- */

static sh_status code_insert(sh_store *st, const sh_oauth_code_rec *c)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    uint8_t devs[SH_STORE_GRANT_DEVICES_MAX * DEVICE_REF_LEN + 1];
    sh_pg_params p;

    if (c->ndevices > SH_STORE_GRANT_DEVICES_MAX)
        return SH_ERR_INVALID_REQUEST;
    for (size_t i = 0; i < c->ndevices; i++) {
        memcpy(devs + i * DEVICE_REF_LEN, c->devices[i].device.b, SH_ID_LEN);
        put_i64(devs + i * DEVICE_REF_LEN + SH_ID_LEN, c->devices[i].generation);
    }
    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, c->hash, SH_STORE_HASH_LEN);
    sh_pg_p_id(&p, &c->client);
    sh_pg_p_id(&p, &c->user);
    sh_pg_p_text(&p, c->redirect_uri);
    sh_pg_p_i64(&p, (int)c->scopes);
    sh_pg_p_text(&p, c->challenge);
    /* an empty bytea, not NULL, for a link without devices */
    sh_pg_p_blob(&p, devs, c->ndevices * DEVICE_REF_LEN);
    sh_pg_p_i64(&p, c->created_at);
    sh_pg_p_i64(&p, c->expires_at);
    return sh_pg_run(cn, SQL_CODE_INSERT, &p, NULL);
}

/* Reads a SQL_CODE_GET row into c (hash already set). 0, or -1 when out
 * of memory. */
static int read_code(const PGresult *r, sh_oauth_code_rec *c)
{
    uint8_t *devs = NULL;
    size_t len = 0, n;

    if (sh_pg_col_blob(r, 0, 5, &devs, &len) != 0)
        return -1;
    n = len / DEVICE_REF_LEN;
    sh_pg_col_id(r, 0, 0, &c->client);
    sh_pg_col_id(r, 0, 1, &c->user);
    sh_pg_col_text(r, 0, 2, c->redirect_uri, sizeof(c->redirect_uri));
    c->scopes = (unsigned)(int)sh_pg_col_i64(r, 0, 3);
    sh_pg_col_text(r, 0, 4, c->challenge, sizeof(c->challenge));
    if (n > SH_STORE_GRANT_DEVICES_MAX)
        n = SH_STORE_GRANT_DEVICES_MAX;
    for (size_t i = 0; devs != NULL && i < n; i++) {
        memcpy(c->devices[i].device.b, devs + i * DEVICE_REF_LEN, SH_ID_LEN);
        c->devices[i].generation = get_i64(devs + i * DEVICE_REF_LEN + SH_ID_LEN);
    }
    c->ndevices = devs != NULL ? n : 0;
    c->created_at = sh_pg_col_i64(r, 0, 6);
    c->expires_at = sh_pg_col_i64(r, 0, 7);
    c->used_at = sh_pg_col_i64(r, 0, 8);
    c->has_grant = !sh_pg_col_null(r, 0, 9);
    if (c->has_grant)
        sh_pg_col_id(r, 0, 9, &c->grant);
    free(devs);
    return 0;
}

static sh_status code_get(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                          sh_oauth_code_rec *out)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    memcpy(out->hash, hash, SH_STORE_HASH_LEN);
    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    if ((rc = sh_pg_query(cn, SQL_CODE_GET, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else if (read_code(r, out) != 0)
        rc = SH_ERR_NOMEM;
out:
    PQclear(r);
    return rc;
}

static sh_status code_consume(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int64_t now,
                              const sh_id *grant)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, grant);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    rc = sh_pg_update_result(cn, SQL_CODE_CONSUME, &p);
    return rc == SH_ERR_NOT_FOUND ? SH_ERR_CONFLICT : rc;
}

/* ---- grants ------------------------------------------------------------------ */

static sh_status insert_refresh(struct sh_pg_conn *cn, const uint8_t hash[SH_STORE_HASH_LEN],
                                const sh_id *grant, int64_t now)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    sh_pg_p_id(&p, grant);
    sh_pg_p_i64(&p, now);
    return sh_pg_run(cn, SQL_REFRESH_INSERT, &p, NULL);
}

struct grant_insert_args {
    const sh_oauth_grant_rec *g;
    const sh_oauth_device_ref *devices;
    size_t n;
    const uint8_t *refresh_hash;
};

static sh_status grant_insert_body(struct sh_pg_conn *cn, void *ctx)
{
    const struct grant_insert_args *a = ctx;
    const sh_oauth_grant_rec *g = a->g;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &g->id);
    sh_pg_p_id(&p, &g->user);
    sh_pg_p_id(&p, &g->client);
    sh_pg_p_i64(&p, (int)g->scopes);
    sh_pg_p_i64(&p, g->created_at);
    sh_pg_p_i64(&p, g->last_used_at);
    rc = sh_pg_run(cn, SQL_GRANT_INSERT, &p, NULL);
    for (size_t i = 0; rc == SH_OK && i < a->n; i++) {
        sh_pg_params_init(&p);
        sh_pg_p_id(&p, &g->id);
        sh_pg_p_id(&p, &a->devices[i].device);
        sh_pg_p_i64(&p, a->devices[i].generation);
        rc = sh_pg_run(cn, SQL_GRANT_DEVICE_INSERT, &p, NULL);
    }
    if (rc == SH_OK)
        rc = insert_refresh(cn, a->refresh_hash, &g->id, g->created_at);
    return rc;
}

static sh_status grant_insert(sh_store *st, const sh_oauth_grant_rec *g,
                              const sh_oauth_device_ref *devices, size_t n,
                              const uint8_t refresh_hash[SH_STORE_HASH_LEN])
{
    struct grant_insert_args a = {.g = g, .devices = devices, .n = n, .refresh_hash = refresh_hash};

    return sh_pg_atomic(st, grant_insert_body, &a);
}

static void read_grant(const PGresult *r, int row, sh_oauth_grant_rec *g)
{
    memset(g, 0, sizeof(*g));
    sh_pg_col_id(r, row, 0, &g->id);
    sh_pg_col_id(r, row, 1, &g->user);
    sh_pg_col_id(r, row, 2, &g->client);
    g->scopes = (unsigned)(int)sh_pg_col_i64(r, row, 3);
    g->created_at = sh_pg_col_i64(r, row, 4);
    g->last_used_at = sh_pg_col_i64(r, row, 5);
    g->revoked_at = sh_pg_col_i64(r, row, 6);
}

static sh_status grant_get(sh_store *st, const sh_id *id, sh_oauth_grant_rec *out)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    if ((rc = sh_pg_query(cn, SQL_GRANT_GET, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else
        read_grant(r, 0, out);
out:
    PQclear(r);
    return rc;
}

static sh_status grant_revoke(sh_store *st, const sh_id *id, int64_t now)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, id);
    return sh_pg_update_result(cn, SQL_GRANT_REVOKE, &p);
}

static sh_status grants_live(sh_store *st, const sh_id *user, const sh_id *client,
                             sh_store_grant_cb cb, void *ctx)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_oauth_grant_rec g;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    if (client != NULL)
        sh_pg_p_id(&p, client);
    else
        sh_pg_p_null(&p);
    if ((rc = sh_pg_query(cn, SQL_GRANTS_LIVE, &p, &r)) != SH_OK)
        goto out;
    for (int i = 0; i < PQntuples(r); i++) {
        read_grant(r, i, &g);
        cb(ctx, &g);
    }
out:
    PQclear(r);
    return rc;
}

static sh_status grant_devices(sh_store *st, const sh_id *grant, sh_store_device_ref_cb cb,
                               void *ctx)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_oauth_device_ref d;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, grant);
    if ((rc = sh_pg_query(cn, SQL_GRANT_DEVICES, &p, &r)) != SH_OK)
        goto out;
    for (int i = 0; i < PQntuples(r); i++) {
        sh_pg_col_id(r, i, 0, &d.device);
        d.generation = sh_pg_col_i64(r, i, 1);
        cb(ctx, &d);
    }
out:
    PQclear(r);
    return rc;
}

/* ---- refresh tokens ------------------------------------------------------------ */

/* Runs SQL_REFRESH_FIND or SQL_REFRESH_FIND_LOCK for hash. */
static sh_status find_refresh(struct sh_pg_conn *cn, const char *sql,
                              const uint8_t hash[SH_STORE_HASH_LEN], sh_id *grant, int *state,
                              int *used)
{
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    if ((rc = sh_pg_query(cn, sql, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    sh_pg_col_id(r, 0, 0, grant);
    *state = (int)sh_pg_col_i64(r, 0, 1);
    *used = (int)sh_pg_col_i64(r, 0, 2);
out:
    PQclear(r);
    return rc;
}

static sh_status refresh_find(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], sh_id *grant,
                              int *state, int *used)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);

    return cn ? find_refresh(cn, SQL_REFRESH_FIND, hash, grant, state, used) : SH_ERR_STORE;
}

/* Retires the grant's token in `state` (if any). */
static sh_status retire(struct sh_pg_conn *cn, const sh_id *grant, int state)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, grant);
    sh_pg_p_i64(&p, state);
    return sh_pg_run(cn, SQL_REFRESH_RETIRE, &p, NULL);
}

static sh_status touch_grant(struct sh_pg_conn *cn, const sh_id *grant, int64_t now)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_id(&p, grant);
    return sh_pg_run(cn, SQL_GRANT_TOUCH, &p, NULL);
}

static sh_status mark_previous(struct sh_pg_conn *cn, const uint8_t hash[SH_STORE_HASH_LEN],
                               int64_t now)
{
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    return sh_pg_run(cn, SQL_REFRESH_MARK_PREV, &p, NULL);
}

struct refresh_use_args {
    const uint8_t *old_hash;
    const uint8_t *new_hash;
    int64_t now;
    sh_id *grant;
    int *outcome;
};

/* current -> it becomes previous (used now), the old previous retires;
 * previous -> the unused current retires, the previous stays previous;
 * retired -> REUSED if it had been used, else STALE. */
static sh_status refresh_use_body(struct sh_pg_conn *cn, void *ctx)
{
    const struct refresh_use_args *a = ctx;
    int state = 0, used = 0;
    sh_status rc;

    rc = find_refresh(cn, SQL_REFRESH_FIND_LOCK, a->old_hash, a->grant, &state, &used);
    if (rc != SH_OK)
        return rc;
    if (state == SH_REFRESH_RETIRED) {
        *a->outcome = used ? SH_REFRESH_REUSED : SH_REFRESH_STALE;
        return SH_OK;
    }
    if (state == SH_REFRESH_CURRENT) {
        rc = retire(cn, a->grant, SH_REFRESH_PREVIOUS);
        if (rc == SH_OK)
            rc = mark_previous(cn, a->old_hash, a->now);
    } else {
        rc = retire(cn, a->grant, SH_REFRESH_CURRENT);
    }
    if (rc == SH_OK)
        rc = insert_refresh(cn, a->new_hash, a->grant, a->now);
    if (rc == SH_OK)
        rc = touch_grant(cn, a->grant, a->now);
    if (rc == SH_OK)
        *a->outcome = SH_REFRESH_ROTATED;
    return rc;
}

static sh_status
refresh_use(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
            const uint8_t new_hash[SH_STORE_HASH_LEN], int64_t now, sh_id *grant,
            int *outcome) /* NOLINT(readability-non-const-parameter): set by the body */
{
    struct refresh_use_args a = {
        .old_hash = old_hash, .new_hash = new_hash, .now = now, .grant = grant, .outcome = outcome};

    return sh_pg_atomic(st, refresh_use_body, &a);
}

/* ---- devices through a grant ----------------------------------------------------- */

static sh_status granted_role(sh_store *st, const sh_id *grant, const sh_id *device,
                              const sh_id *user, int *role, int64_t *generation)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, grant);
    sh_pg_p_id(&p, device);
    sh_pg_p_id(&p, user);
    if ((rc = sh_pg_query(cn, SQL_GRANTED_ROLE, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0 || sh_pg_col_null(r, 0, 0)) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    *role = (int)sh_pg_col_i64(r, 0, 0);
    *generation = sh_pg_col_i64(r, 0, 1);
out:
    PQclear(r);
    return rc;
}

static sh_status granted_list(sh_store *st, const sh_id *grant, const sh_id *user,
                              sh_store_device_cb cb, void *ctx)
{
    struct sh_pg_conn *cn = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, grant);
    sh_pg_p_id(&p, user);
    return sh_pg_each_device(cn, SQL_GRANTED_LIST, &p, cb, ctx);
}

const struct sh_store_oauth_ops sh_pg_oauth_ops = {
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
