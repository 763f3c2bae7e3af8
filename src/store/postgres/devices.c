/*
 * devices.c - devices, shares and relays (PostgreSQL).
 *
 * The same operations, with the same meaning, as store/sqlite/devices.c.
 * Where SQLite's single writer made a read-then-write safe, this file makes
 * it safe across nodes: claim locks the row it read (SELECT ... FOR UPDATE)
 * inside one sh_pg_atomic body, release is one atomic body, and every
 * "only if generation still matches" is a single conditional statement.
 * role_of is one statement, so the role and generation it returns come
 * from one snapshot.
 *
 * sh_device_rec_clear is store-wide and defined once (store.c).
 */
#include <stdlib.h>
#include <string.h>

#include "store/postgres/devices_rows.h"
#include "store/postgres/internal.h"
#include "store/store_devices.h"

#define DEVICE_COLS SH_PG_DEVICE_COLS

static const char SQL_DEV_INSERT[] =
    "INSERT INTO devices(id,type,model,token_hash,claim_hash,claim_expires_at,generation,"
    "created_at,owner_id,name_ct) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)";
static const char SQL_DEV_GET[] = "SELECT " DEVICE_COLS " FROM devices d WHERE d.id=$1";
static const char SQL_DEV_GET_BY_TOKEN[] =
    "SELECT " DEVICE_COLS " FROM devices d WHERE d.token_hash=$1";
/* Locks the row: of two racing claims on two nodes, the second waits,
 * then fails to serialize and is retried, and no longer finds it. */
static const char SQL_DEV_FIND_CLAIM[] =
    "SELECT " DEVICE_COLS " FROM devices d WHERE d.claim_hash=$1 AND d.owner_id IS NULL "
    "AND d.claim_expires_at>$2 FOR UPDATE";
static const char SQL_DEV_CLAIM[] =
    "UPDATE devices SET owner_id=$1,claim_hash=NULL,claim_expires_at=NULL "
    "WHERE id=$2 AND generation=$3 AND owner_id IS NULL";
static const char SQL_DEV_SET_NAME[] =
    "UPDATE devices SET name_ct=$1 WHERE id=$2 AND generation=$3";
static const char SQL_DEV_SET_STATE[] =
    "UPDATE devices SET desired_state=$1 WHERE id=$2 AND generation=$3";
static const char SQL_DEV_HEARTBEAT[] =
    "UPDATE devices SET last_seen_at=$1,firmware_version=$2,"
    "network_ct=CASE WHEN generation=$3 AND $4::bytea IS NOT NULL THEN $4::bytea "
    "ELSE network_ct END WHERE id=$5";
static const char SQL_DEV_RELEASE[] =
    "UPDATE devices SET generation=generation+1,owner_id=NULL,name_ct=NULL,network_ct=NULL,"
    "desired_state='{}',token_hash=coalesce($1::bytea,token_hash),claim_hash=$2,"
    "claim_expires_at=$3 WHERE id=$4 AND generation=$5";
static const char SQL_SHARES_DROP[] = "DELETE FROM device_shares WHERE device_id=$1";
static const char SQL_DEV_LIST_USER[] =
    "SELECT " DEVICE_COLS ",1 FROM devices d WHERE d.owner_id=$1 "
    "UNION ALL SELECT " DEVICE_COLS ",s.role FROM device_shares s "
    "JOIN devices d ON d.id=s.device_id AND d.generation=s.generation WHERE s.user_id=$1";
/* The owner's role, else the user's current-generation share's role (NULL
 * when none), and the generation: the two look-ups of the SQLite backend
 * in one statement. */
static const char SQL_DEV_ROLE[] =
    "SELECT CASE WHEN d.owner_id=$2 THEN 1 ELSE (SELECT s.role FROM device_shares s "
    "WHERE s.device_id=d.id AND s.generation=d.generation AND s.user_id=$2) END,d.generation "
    "FROM devices d WHERE d.id=$1";
static const char SQL_SHARE_INSERT[] =
    "INSERT INTO device_shares(id,device_id,generation,user_id,role,created_at) "
    "VALUES($1,$2,$3,$4,$5,$6)";
static const char SQL_SHARE_LIST[] =
    "SELECT id,device_id,generation,user_id,role,created_at FROM device_shares "
    "WHERE device_id=$1 AND generation=$2 ORDER BY created_at";
static const char SQL_SHARE_OF[] =
    "SELECT s.id,s.device_id,s.generation,s.user_id,s.role,s.created_at FROM device_shares s "
    "JOIN devices d ON d.id=s.device_id AND d.generation=s.generation "
    "WHERE s.device_id=$1 AND s.user_id=$2";
static const char SQL_SHARE_DELETE[] = "DELETE FROM device_shares WHERE device_id=$1 AND id=$2";
static const char SQL_RELAY_INSERT[] =
    "INSERT INTO relays(id,token_hash,created_at) VALUES($1,$2,$3)";
static const char SQL_RELAY_FIND[] = "SELECT id FROM relays WHERE token_hash=$1";

/* ---- rows -------------------------------------------------------------------- */

int sh_pg_read_device(const PGresult *r, int row, sh_device_rec *d)
{
    memset(d, 0, sizeof(*d));
    sh_pg_col_id(r, row, 0, &d->id);
    d->type = (int)sh_pg_col_i64(r, row, 1);
    sh_pg_col_text(r, row, 2, d->model, sizeof(d->model));
    d->has_owner = !sh_pg_col_null(r, row, 3);
    if (d->has_owner)
        sh_pg_col_id(r, row, 3, &d->owner);
    d->generation = sh_pg_col_i64(r, row, 4);
    sh_pg_col_text(r, row, 7, d->firmware, sizeof(d->firmware));
    d->last_seen_at = sh_pg_col_i64(r, row, 8);
    sh_pg_col_text(r, row, 9, d->desired_state, sizeof(d->desired_state));
    d->claim_expires_at = sh_pg_col_i64(r, row, 10);
    d->created_at = sh_pg_col_i64(r, row, 11);
    if (sh_pg_col_blob(r, row, 5, &d->name_ct, &d->name_ct_len) ||
        sh_pg_col_blob(r, row, 6, &d->network_ct, &d->network_ct_len)) {
        sh_device_rec_clear(d);
        return -1;
    }
    return 0;
}

sh_status sh_pg_each_device(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p,
                            sh_store_device_cb cb, void *ctx)
{
    PGresult *r = NULL;
    sh_device_rec d;
    sh_status rc;

    if ((rc = sh_pg_query(c, sql, p, &r)) != SH_OK)
        goto out;
    for (int i = 0; i < PQntuples(r); i++) {
        if (sh_pg_read_device(r, i, &d) != 0) {
            rc = SH_ERR_NOMEM;
            goto out;
        }
        cb(ctx, &d, (int)sh_pg_col_i64(r, i, 12));
        sh_device_rec_clear(&d);
    }
out:
    PQclear(r);
    return rc;
}

/* Runs a one-row device query into out. */
static sh_status one_device(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p,
                            sh_device_rec *out)
{
    PGresult *r = NULL;
    sh_status rc;

    if ((rc = sh_pg_query(c, sql, p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else if (sh_pg_read_device(r, 0, out) != 0)
        rc = SH_ERR_NOMEM;
out:
    PQclear(r);
    return rc;
}

static void read_share(const PGresult *r, int row, sh_share_rec *s)
{
    memset(s, 0, sizeof(*s));
    sh_pg_col_id(r, row, 0, &s->id);
    sh_pg_col_id(r, row, 1, &s->device_id);
    s->generation = sh_pg_col_i64(r, row, 2);
    sh_pg_col_id(r, row, 3, &s->user_id);
    s->role = (int)sh_pg_col_i64(r, row, 4);
    s->created_at = sh_pg_col_i64(r, row, 5);
}

/* ---- devices ----------------------------------------------------------------- */

static sh_status dev_insert(sh_store *st, const sh_device_rec *d,
                            const uint8_t token_hash[SH_STORE_HASH_LEN],
                            const uint8_t claim_hash[SH_STORE_HASH_LEN])
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &d->id);
    sh_pg_p_i64(&p, d->type);
    sh_pg_p_text(&p, d->model);
    sh_pg_p_blob(&p, token_hash, SH_STORE_HASH_LEN);
    sh_pg_p_blob(&p, claim_hash, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, d->claim_expires_at);
    sh_pg_p_i64(&p, d->generation);
    sh_pg_p_i64(&p, d->created_at);
    if (d->has_owner)
        sh_pg_p_id(&p, &d->owner);
    else
        sh_pg_p_null(&p);
    sh_pg_p_blob(&p, d->name_ct, d->name_ct_len);
    return sh_pg_run(c, SQL_DEV_INSERT, &p, NULL);
}

static sh_status dev_get(sh_store *st, const sh_id *id, sh_device_rec *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    return one_device(c, SQL_DEV_GET, &p, out);
}

static sh_status dev_get_by_token(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                                  sh_device_rec *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, hash, SH_STORE_HASH_LEN);
    return one_device(c, SQL_DEV_GET_BY_TOKEN, &p, out);
}

struct claim_args {
    const uint8_t *claim_hash;
    int64_t now;
    const sh_id *owner;
    sh_device_rec *out;
    int filled; /* out owns blobs from an attempt */
};

static sh_status claim_body(struct sh_pg_conn *c, void *ctx)
{
    struct claim_args *a = ctx;
    sh_pg_params p;
    sh_status rc;

    if (a->filled) { /* a retried attempt: drop the last one's record */
        sh_device_rec_clear(a->out);
        a->filled = 0;
    }
    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, a->claim_hash, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, a->now);
    if ((rc = one_device(c, SQL_DEV_FIND_CLAIM, &p, a->out)) != SH_OK)
        return rc;
    a->filled = 1;
    sh_pg_params_init(&p);
    sh_pg_p_id(&p, a->owner);
    sh_pg_p_id(&p, &a->out->id);
    sh_pg_p_i64(&p, a->out->generation);
    if ((rc = sh_pg_update_result(c, SQL_DEV_CLAIM, &p)) != SH_OK)
        return rc;
    a->out->has_owner = 1;
    a->out->owner = *a->owner;
    return SH_OK;
}

static sh_status dev_claim(sh_store *st, const uint8_t claim_hash[SH_STORE_HASH_LEN], int64_t now,
                           const sh_id *owner, sh_device_rec *out)
{
    struct claim_args a = {.claim_hash = claim_hash, .now = now, .owner = owner, .out = out};
    sh_status rc = sh_pg_atomic(st, claim_body, &a);

    if (rc != SH_OK && a.filled)
        sh_device_rec_clear(out);
    return rc;
}

static sh_status dev_set_name(sh_store *st, const sh_id *id, int64_t gen, const uint8_t *ct,
                              size_t len)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, ct, len);
    sh_pg_p_id(&p, id);
    sh_pg_p_i64(&p, gen);
    return sh_pg_update_result(c, SQL_DEV_SET_NAME, &p);
}

static sh_status dev_set_state(sh_store *st, const sh_id *id, int64_t gen, const char *json)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_text(&p, json);
    sh_pg_p_id(&p, id);
    sh_pg_p_i64(&p, gen);
    return sh_pg_update_result(c, SQL_DEV_SET_STATE, &p);
}

static sh_status dev_heartbeat(sh_store *st, const sh_id *id, int64_t gen, int64_t now,
                               const char *firmware, const uint8_t *net, size_t net_len)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_text(&p, firmware);
    sh_pg_p_i64(&p, gen);
    sh_pg_p_blob(&p, net, net_len);
    sh_pg_p_id(&p, id);
    return sh_pg_update_result(c, SQL_DEV_HEARTBEAT, &p);
}

struct release_args {
    const sh_id *id;
    int64_t gen;
    const uint8_t *new_token_hash;
    const uint8_t *new_claim_hash;
    int64_t claim_expires_at;
};

static sh_status release_body(struct sh_pg_conn *c, void *ctx)
{
    const struct release_args *a = ctx;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, a->new_token_hash, SH_STORE_HASH_LEN);
    sh_pg_p_blob(&p, a->new_claim_hash, SH_STORE_HASH_LEN);
    if (a->new_claim_hash != NULL)
        sh_pg_p_i64(&p, a->claim_expires_at);
    else
        sh_pg_p_null(&p);
    sh_pg_p_id(&p, a->id);
    sh_pg_p_i64(&p, a->gen);
    if ((rc = sh_pg_update_result(c, SQL_DEV_RELEASE, &p)) != SH_OK)
        return rc;
    sh_pg_params_init(&p);
    sh_pg_p_id(&p, a->id);
    return sh_pg_run(c, SQL_SHARES_DROP, &p, NULL);
}

static sh_status dev_release(sh_store *st, const sh_id *id, int64_t gen, int64_t now,
                             const uint8_t *new_token_hash, const uint8_t *new_claim_hash,
                             int64_t claim_expires_at)
{
    struct release_args a = {.id = id,
                             .gen = gen,
                             .new_token_hash = new_token_hash,
                             .new_claim_hash = new_claim_hash,
                             .claim_expires_at = claim_expires_at};

    (void)now;
    return sh_pg_atomic(st, release_body, &a);
}

static sh_status dev_list_for_user(sh_store *st, const sh_id *user, sh_store_device_cb cb,
                                   void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, user);
    return sh_pg_each_device(c, SQL_DEV_LIST_USER, &p, cb, ctx);
}

static sh_status dev_role_of(sh_store *st, const sh_id *device, const sh_id *user, int *role,
                             int64_t *generation)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, device);
    sh_pg_p_id(&p, user);
    if ((rc = sh_pg_query(c, SQL_DEV_ROLE, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0) {
        rc = SH_ERR_NOT_FOUND;
        goto out;
    }
    *generation = sh_pg_col_i64(r, 0, 1);
    if (sh_pg_col_null(r, 0, 0))
        rc = SH_ERR_NOT_FOUND;
    else
        *role = (int)sh_pg_col_i64(r, 0, 0);
out:
    PQclear(r);
    return rc;
}

/* ---- shares ------------------------------------------------------------------ */

static sh_status share_insert(sh_store *st, const sh_share_rec *s)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &s->id);
    sh_pg_p_id(&p, &s->device_id);
    sh_pg_p_i64(&p, s->generation);
    sh_pg_p_id(&p, &s->user_id);
    sh_pg_p_i64(&p, s->role);
    sh_pg_p_i64(&p, s->created_at);
    return sh_pg_run(c, SQL_SHARE_INSERT, &p, NULL);
}

static sh_status share_list(sh_store *st, const sh_id *device, int64_t gen, sh_store_share_cb cb,
                            void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_share_rec s;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, device);
    sh_pg_p_i64(&p, gen);
    if ((rc = sh_pg_query(c, SQL_SHARE_LIST, &p, &r)) != SH_OK)
        goto out;
    for (int i = 0; i < PQntuples(r); i++) {
        read_share(r, i, &s);
        cb(ctx, &s);
    }
out:
    PQclear(r);
    return rc;
}

static sh_status share_of(sh_store *st, const sh_id *device, const sh_id *user, sh_share_rec *out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, device);
    sh_pg_p_id(&p, user);
    if ((rc = sh_pg_query(c, SQL_SHARE_OF, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else
        read_share(r, 0, out);
out:
    PQclear(r);
    return rc;
}

static sh_status share_delete(sh_store *st, const sh_id *device, const sh_id *share)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, device);
    sh_pg_p_id(&p, share);
    return sh_pg_update_result(c, SQL_SHARE_DELETE, &p);
}

/* ---- relays ------------------------------------------------------------------ */

static sh_status relay_insert(sh_store *st, const sh_id *id,
                              const uint8_t token_hash[SH_STORE_HASH_LEN], int64_t now)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    sh_pg_p_blob(&p, token_hash, SH_STORE_HASH_LEN);
    sh_pg_p_i64(&p, now);
    return sh_pg_run(c, SQL_RELAY_INSERT, &p, NULL);
}

static sh_status relay_find(sh_store *st, const uint8_t token_hash[SH_STORE_HASH_LEN], sh_id *id)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    PGresult *r = NULL;
    sh_pg_params p;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_blob(&p, token_hash, SH_STORE_HASH_LEN);
    if ((rc = sh_pg_query(c, SQL_RELAY_FIND, &p, &r)) != SH_OK)
        goto out;
    if (PQntuples(r) == 0)
        rc = SH_ERR_NOT_FOUND;
    else
        sh_pg_col_id(r, 0, 0, id);
out:
    PQclear(r);
    return rc;
}

const struct sh_store_device_ops sh_pg_device_ops = {
    .insert = dev_insert,
    .get = dev_get,
    .get_by_token = dev_get_by_token,
    .claim = dev_claim,
    .set_name = dev_set_name,
    .set_state = dev_set_state,
    .heartbeat = dev_heartbeat,
    .release = dev_release,
    .list_for_user = dev_list_for_user,
    .role_of = dev_role_of,
    .share_insert = share_insert,
    .share_list = share_list,
    .share_delete = share_delete,
    .relay_insert = relay_insert,
    .relay_find = relay_find,
    .share_of = share_of,
};
