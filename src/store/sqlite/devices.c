/* devices.c - devices, shares and relays (SQLite). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/internal.h"
#include "store/store_devices.h"

#define DEVICE_COLS SH_SQ_DEVICE_COLS

static const char SQL_DEV_INSERT[] =
    "INSERT INTO devices(id,type,model,token_hash,claim_hash,claim_expires_at,generation,"
    "created_at,owner_id,name_ct) VALUES(?,?,?,?,?,?,?,?,?,?)";
static const char SQL_DEV_GET[] = "SELECT " DEVICE_COLS " FROM devices d WHERE d.id=?";
static const char SQL_DEV_GET_BY_TOKEN[] =
    "SELECT " DEVICE_COLS " FROM devices d WHERE d.token_hash=?";
static const char SQL_DEV_FIND_CLAIM[] =
    "SELECT " DEVICE_COLS " FROM devices d WHERE d.claim_hash=? AND d.owner_id IS NULL "
    "AND d.claim_expires_at>?";
static const char SQL_DEV_CLAIM[] =
    "UPDATE devices SET owner_id=?,claim_hash=NULL,claim_expires_at=NULL "
    "WHERE id=? AND generation=? AND owner_id IS NULL";
static const char SQL_DEV_SET_NAME[] = "UPDATE devices SET name_ct=? WHERE id=? AND generation=?";
static const char SQL_DEV_SET_STATE[] =
    "UPDATE devices SET desired_state=? WHERE id=? AND generation=?";
static const char SQL_DEV_HEARTBEAT[] =
    "UPDATE devices SET last_seen_at=?1,firmware_version=?2,"
    "network_ct=CASE WHEN generation=?3 AND ?4 IS NOT NULL THEN ?4 ELSE network_ct END "
    "WHERE id=?5";
static const char SQL_DEV_RELEASE[] =
    "UPDATE devices SET generation=generation+1,owner_id=NULL,name_ct=NULL,network_ct=NULL,"
    "desired_state='{}',token_hash=coalesce(?,token_hash),claim_hash=?,claim_expires_at=? "
    "WHERE id=? AND generation=?";
static const char SQL_SHARES_DROP[] = "DELETE FROM device_shares WHERE device_id=?";
static const char SQL_DEV_LIST_USER[] =
    "SELECT " DEVICE_COLS ",1 FROM devices d WHERE d.owner_id=?1 "
    "UNION ALL SELECT " DEVICE_COLS ",s.role FROM device_shares s "
    "JOIN devices d ON d.id=s.device_id AND d.generation=s.generation WHERE s.user_id=?1";
static const char SQL_DEV_OWNER_ROLE[] = "SELECT owner_id=?2,generation FROM devices WHERE id=?1";
static const char SQL_SHARE_ROLE[] =
    "SELECT s.role FROM device_shares s JOIN devices d ON d.id=s.device_id "
    "AND d.generation=s.generation WHERE s.device_id=? AND s.user_id=?";
static const char SQL_SHARE_INSERT[] =
    "INSERT INTO device_shares(id,device_id,generation,user_id,role,created_at) "
    "VALUES(?,?,?,?,?,?)";
static const char SQL_SHARE_LIST[] =
    "SELECT id,device_id,generation,user_id,role,created_at FROM device_shares "
    "WHERE device_id=? AND generation=? ORDER BY created_at";
static const char SQL_SHARE_OF[] =
    "SELECT s.id,s.device_id,s.generation,s.user_id,s.role,s.created_at FROM device_shares s "
    "JOIN devices d ON d.id=s.device_id AND d.generation=s.generation "
    "WHERE s.device_id=? AND s.user_id=?";
static const char SQL_SHARE_DELETE[] = "DELETE FROM device_shares WHERE device_id=? AND id=?";
static const char SQL_RELAY_INSERT[] = "INSERT INTO relays(id,token_hash,created_at) VALUES(?,?,?)";
static const char SQL_RELAY_FIND[] = "SELECT id FROM relays WHERE token_hash=?";

static void col_text(sqlite3_stmt *q, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(q, i);

    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int sh_sq_read_device(sqlite3_stmt *q, sh_device_rec *d)
{
    memset(d, 0, sizeof(*d));
    sh_sq_col_id(q, 0, &d->id);
    d->type = sqlite3_column_int(q, 1);
    col_text(q, 2, d->model, sizeof(d->model));
    d->has_owner = sqlite3_column_type(q, 3) != SQLITE_NULL;
    if (d->has_owner)
        sh_sq_col_id(q, 3, &d->owner);
    d->generation = sqlite3_column_int64(q, 4);
    col_text(q, 7, d->firmware, sizeof(d->firmware));
    d->last_seen_at = sqlite3_column_int64(q, 8);
    col_text(q, 9, d->desired_state, sizeof(d->desired_state));
    d->claim_expires_at = sqlite3_column_int64(q, 10);
    d->created_at = sqlite3_column_int64(q, 11);
    if (sh_sq_col_blob(q, 5, &d->name_ct, &d->name_ct_len) ||
        sh_sq_col_blob(q, 6, &d->network_ct, &d->network_ct_len)) {
        sh_device_rec_clear(d);
        return -1;
    }
    return 0;
}

/* A device row of a list, with the caller's role on it. */
struct device_role {
    sh_device_rec d;
    int role;
};

static int read_device_role(sqlite3_stmt *q, void *rec)
{
    struct device_role *r = rec;

    r->role = sqlite3_column_int(q, 12);
    return sh_sq_read_device(q, &r->d);
}

static void give_device_role(union sh_sq_cb cb, void *ctx, const void *rec)
{
    const struct device_role *r = rec;

    cb.device(ctx, &r->d, r->role);
}

static void clear_device_role(void *rec) { sh_device_rec_clear(&((struct device_role *)rec)->d); }

static const struct sh_sq_kind device_role_kind = {
    .size = sizeof(struct device_role),
    .read = read_device_role,
    .give = give_device_role,
    .clear = clear_device_role,
};

sh_status sh_sq_each_device(struct sh_sq_conn *c, sqlite3_stmt *q, sh_store_device_cb cb, void *ctx)
{
    return sh_sq_list(c, q, &device_role_kind, (union sh_sq_cb){.device = cb}, ctx);
}

/* Steps a one-row device query. */
static sh_status one_device(struct sh_sq_conn *c, sqlite3_stmt *q, sh_device_rec *out)
{
    int r = sqlite3_step(q);
    sh_status rc;

    if (r == SQLITE_ROW)
        rc = sh_sq_read_device(q, out) ? SH_ERR_NOMEM : SH_OK;
    else
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(c, r);
    sh_sq_done(q);
    return rc;
}

static sh_status dev_insert(sh_store *st, const sh_device_rec *d,
                            const uint8_t token_hash[SH_STORE_HASH_LEN],
                            const uint8_t claim_hash[SH_STORE_HASH_LEN])
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_DEV_INSERT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &d->id);
    sqlite3_bind_int(q, 2, d->type);
    sqlite3_bind_text(q, 3, d->model, -1, SQLITE_STATIC);
    sh_sq_bind_blob(q, 4, token_hash, SH_STORE_HASH_LEN);
    sh_sq_bind_blob(q, 5, claim_hash, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(q, 6, d->claim_expires_at);
    sqlite3_bind_int64(q, 7, d->generation);
    sqlite3_bind_int64(q, 8, d->created_at);
    if (d->has_owner)
        sh_sq_bind_id(q, 9, &d->owner);
    sh_sq_bind_blob(q, 10, d->name_ct, d->name_ct_len);
    return sh_sq_run(c, q, NULL);
}

static sh_status dev_get(sh_store *st, const sh_id *id, sh_device_rec *out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_DEV_GET) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, id);
    return one_device(c, q, out);
}

static sh_status dev_get_by_token(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                                  sh_device_rec *out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_DEV_GET_BY_TOKEN) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    return one_device(c, q, out);
}

static sh_status dev_claim(sh_store *st, const uint8_t claim_hash[SH_STORE_HASH_LEN], int64_t now,
                           const sh_id *owner, sh_device_rec *out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *f = c ? sh_sq_stmt(c, SQL_DEV_FIND_CLAIM) : NULL;
    sqlite3_stmt *u = c ? sh_sq_stmt(c, SQL_DEV_CLAIM) : NULL;
    sh_status rc;

    if (f == NULL || u == NULL || sh_sq_tx_begin(c) != SH_OK)
        return SH_ERR_STORE;
    sh_sq_bind_blob(f, 1, claim_hash, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(f, 2, now);
    rc = one_device(c, f, out);
    if (rc == SH_OK) {
        sh_sq_bind_id(u, 1, owner);
        sh_sq_bind_id(u, 2, &out->id);
        sqlite3_bind_int64(u, 3, out->generation);
        rc = sh_sq_update_result(c, u);
        if (rc == SH_OK) {
            out->has_owner = 1;
            out->owner = *owner;
        } else {
            sh_device_rec_clear(out);
        }
    }
    return sh_sq_tx_end(c, rc);
}

static sh_status dev_set_blob_text(sh_store *st, const char *sql, const sh_id *id, int64_t gen,
                                   const void *val, size_t len, int is_text)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, sql) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    if (is_text)
        sqlite3_bind_text(q, 1, val, -1, SQLITE_STATIC);
    else
        sh_sq_bind_blob(q, 1, val, len);
    sh_sq_bind_id(q, 2, id);
    sqlite3_bind_int64(q, 3, gen);
    return sh_sq_update_result(c, q);
}

static sh_status dev_set_name(sh_store *st, const sh_id *id, int64_t gen, const uint8_t *ct,
                              size_t len)
{
    return dev_set_blob_text(st, SQL_DEV_SET_NAME, id, gen, ct, len, 0);
}

static sh_status dev_set_state(sh_store *st, const sh_id *id, int64_t gen, const char *json)
{
    return dev_set_blob_text(st, SQL_DEV_SET_STATE, id, gen, json, 0, 1);
}

static sh_status dev_heartbeat(sh_store *st, const sh_id *id, int64_t gen, int64_t now,
                               const char *firmware, const uint8_t *net, size_t net_len)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_DEV_HEARTBEAT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_text(q, 2, firmware, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, gen);
    sh_sq_bind_blob(q, 4, net, net_len);
    sh_sq_bind_id(q, 5, id);
    return sh_sq_update_result(c, q);
}

static sh_status dev_release(sh_store *st, const sh_id *id, int64_t gen, int64_t now,
                             const uint8_t *new_token_hash, const uint8_t *new_claim_hash,
                             int64_t claim_expires_at)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_DEV_RELEASE) : NULL;
    sqlite3_stmt *drop = c ? sh_sq_stmt(c, SQL_SHARES_DROP) : NULL;
    sh_status rc;

    (void)now;
    if (q == NULL || drop == NULL || sh_sq_tx_begin(c) != SH_OK)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, new_token_hash, SH_STORE_HASH_LEN);
    sh_sq_bind_blob(q, 2, new_claim_hash, SH_STORE_HASH_LEN);
    if (new_claim_hash != NULL)
        sqlite3_bind_int64(q, 3, claim_expires_at);
    else
        sqlite3_bind_null(q, 3);
    sh_sq_bind_id(q, 4, id);
    sqlite3_bind_int64(q, 5, gen);
    rc = sh_sq_update_result(c, q);
    if (rc == SH_OK) {
        sh_sq_bind_id(drop, 1, id);
        rc = sh_sq_run(c, drop, NULL);
    }
    return sh_sq_tx_end(c, rc);
}

static sh_status dev_list_for_user(sh_store *st, const sh_id *user, sh_store_device_cb cb,
                                   void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_DEV_LIST_USER) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, user);
    return sh_sq_each_device(c, q, cb, ctx);
}

static sh_status dev_role_of(sh_store *st, const sh_id *device, const sh_id *user, int *role,
                             int64_t *generation)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *o = c ? sh_sq_stmt(c, SQL_DEV_OWNER_ROLE) : NULL;
    sqlite3_stmt *s = c ? sh_sq_stmt(c, SQL_SHARE_ROLE) : NULL;
    sh_status rc = SH_ERR_NOT_FOUND;
    int r, owner = 0;

    if (o == NULL || s == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(o, 1, device);
    sh_sq_bind_id(o, 2, user);
    r = sqlite3_step(o);
    if (r == SQLITE_ROW) {
        owner = sqlite3_column_int(o, 0) == 1;
        *generation = sqlite3_column_int64(o, 1);
    } else if (r != SQLITE_DONE) {
        rc = sh_sq_step_error(c, r);
    }
    sh_sq_done(o);
    if (r != SQLITE_ROW)
        return rc;
    if (owner) {
        *role = 1;
        return SH_OK;
    }
    sh_sq_bind_id(s, 1, device);
    sh_sq_bind_id(s, 2, user);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        *role = sqlite3_column_int(s, 0);
        rc = SH_OK;
    } else if (r != SQLITE_DONE) {
        rc = sh_sq_step_error(c, r);
    }
    sh_sq_done(s);
    return rc;
}

static sh_status share_insert(sh_store *st, const sh_share_rec *s)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SHARE_INSERT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &s->id);
    sh_sq_bind_id(q, 2, &s->device_id);
    sqlite3_bind_int64(q, 3, s->generation);
    sh_sq_bind_id(q, 4, &s->user_id);
    sqlite3_bind_int(q, 5, s->role);
    sqlite3_bind_int64(q, 6, s->created_at);
    return sh_sq_run(c, q, NULL);
}

/* Reads a share row into rec (an sh_share_rec); always 0. */
static int read_share(sqlite3_stmt *q, void *rec)
{
    sh_share_rec *s = rec;

    memset(s, 0, sizeof(*s));
    sh_sq_col_id(q, 0, &s->id);
    sh_sq_col_id(q, 1, &s->device_id);
    s->generation = sqlite3_column_int64(q, 2);
    sh_sq_col_id(q, 3, &s->user_id);
    s->role = sqlite3_column_int(q, 4);
    s->created_at = sqlite3_column_int64(q, 5);
    return 0;
}

static void give_share(union sh_sq_cb cb, void *ctx, const void *rec) { cb.share(ctx, rec); }

static const struct sh_sq_kind share_kind = {
    .size = sizeof(sh_share_rec),
    .read = read_share,
    .give = give_share,
};

static sh_status share_list(sh_store *st, const sh_id *device, int64_t gen, sh_store_share_cb cb,
                            void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SHARE_LIST) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, device);
    sqlite3_bind_int64(q, 2, gen);
    return sh_sq_list(c, q, &share_kind, (union sh_sq_cb){.share = cb}, ctx);
}

static sh_status share_of(sh_store *st, const sh_id *device, const sh_id *user, sh_share_rec *out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SHARE_OF) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, device);
    sh_sq_bind_id(q, 2, user);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        read_share(q, out);
    else
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(c, r);
    sh_sq_done(q);
    return rc;
}

static sh_status share_delete(sh_store *st, const sh_id *device, const sh_id *share)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_SHARE_DELETE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, device);
    sh_sq_bind_id(q, 2, share);
    return sh_sq_update_result(c, q);
}

static sh_status relay_insert(sh_store *st, const sh_id *id,
                              const uint8_t token_hash[SH_STORE_HASH_LEN], int64_t now)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_RELAY_INSERT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, id);
    sh_sq_bind_blob(q, 2, token_hash, SH_STORE_HASH_LEN);
    sqlite3_bind_int64(q, 3, now);
    return sh_sq_run(c, q, NULL);
}

static sh_status relay_find(sh_store *st, const uint8_t token_hash[SH_STORE_HASH_LEN], sh_id *id)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_RELAY_FIND) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_blob(q, 1, token_hash, SH_STORE_HASH_LEN);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        sh_sq_col_id(q, 0, id);
    else
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : sh_sq_step_error(c, r);
    sh_sq_done(q);
    return rc;
}

const struct sh_store_device_ops sh_sq_device_ops = {
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
