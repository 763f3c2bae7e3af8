/*
 * store_sqlite.c - the embedded store: one SQLite file in WAL mode.
 *
 * This file: connections, the statement cache, the list helper, migrations,
 * batches and the ops table; each domain's SQL lives in its own file (see
 * internal.h).
 *
 * Each thread gets its own connection with its own prepared statements
 * (SQLite connections must not be shared between threads without a lock, and
 * a shared lock would serialize every read). Readers never block in WAL mode;
 * writers queue on SQLite's own lock with a busy timeout.
 *
 * Durability (P10): synchronous=FULL, so a commit that returned is on disk
 * and survives kill -9 and power loss. secure_delete=ON overwrites freed
 * pages, so deleted rows do not linger in the file.
 */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/log.h"
#include "store/backends.h"
#include "store/migrations.h"
#include "store/sqlite/internal.h"

#define BUSY_TIMEOUT_MS 10000
#define DEFAULT_FILE "safehouse.db"

const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
const char SQL_COMMIT[] = "COMMIT";
const char SQL_ROLLBACK[] = "ROLLBACK";

struct sqlite_store {
    sh_store base;
    char *path;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards conns */
    struct sh_sq_conn *conns;
};

/* A transaction handle: the tables of the store and the connection. */
struct sqlite_tx {
    sh_store base;
    struct sh_sq_conn *conn;
};

static const struct sh_store_core_ops sqlite_ops;

static sh_status exec_pragmas(sqlite3 *db)
{
    static const char *const sql = "PRAGMA journal_mode=WAL;"
                                   "PRAGMA synchronous=FULL;"
                                   "PRAGMA foreign_keys=ON;"
                                   "PRAGMA secure_delete=ON;"
                                   "PRAGMA temp_store=MEMORY;";
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        sh_log_event(SH_LOG_ERROR, "sqlite_pragma_failed", "error", sqlite3_errmsg(db));
        return SH_ERR_STORE;
    }
    return SH_OK;
}

/* SQLite's own busy handler sleeps up to 100 ms between tries, which turns
 * a write lock held for a millisecond into a latency spike for every other
 * writer. Retry sooner: 20 us growing to 1 ms, for up to BUSY_TIMEOUT_MS. */
static int on_busy(void *arg, int tries)
{
    long wait_us = 20L * (tries + 1);

    (void)arg;
    if (wait_us > 1000)
        wait_us = 1000;
    if (tries > BUSY_TIMEOUT_MS) /* each try waits at most 1 ms */
        return 0;
    usleep((useconds_t)wait_us);
    return 1;
}

static struct sh_sq_conn *conn_open(struct sqlite_store *s)
{
    struct sh_sq_conn *c = calloc(1, sizeof(*c));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

    if (c == NULL)
        return NULL;
    if (sqlite3_open_v2(s->path, &c->db, flags, NULL) != SQLITE_OK) {
        sh_log_event(SH_LOG_ERROR, "sqlite_open_failed", "error",
                     c->db ? sqlite3_errmsg(c->db) : "nomem");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    sqlite3_busy_handler(c->db, on_busy, NULL);
    if (exec_pragmas(c->db) != SH_OK) {
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    s->conns = c;
    pthread_mutex_unlock(&s->lock);
    return c;
}

struct sh_sq_conn *sh_sq_conn(sh_store *st)
{
    struct sqlite_store *s;
    struct sh_sq_conn *c;

    if (st->root != NULL)
        return ((struct sqlite_tx *)st)->conn;
    s = (struct sqlite_store *)st;
    c = pthread_getspecific(s->key);

    if (c == NULL) {
        c = conn_open(s);
        if (c != NULL)
            pthread_setspecific(s->key, c);
    }
    return c;
}

sqlite3_stmt *sh_sq_stmt(struct sh_sq_conn *c, const char *sql)
{
    size_t h = ((uintptr_t)sql >> 3) % SH_SQ_STMT_CACHE;
    sqlite3_stmt *q = NULL;

    for (size_t n = 0; n < SH_SQ_STMT_CACHE; n++, h = (h + 1) % SH_SQ_STMT_CACHE) {
        if (c->cache[h].sql == sql)
            return c->cache[h].stmt;
        if (c->cache[h].sql == NULL)
            break;
    }
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK) {
        sh_log_event(SH_LOG_ERROR, "sqlite_prepare_failed", "error", sqlite3_errmsg(c->db));
        return NULL;
    }
    if (c->cache[h].sql != NULL) {
        sh_log_event(SH_LOG_ERROR, "sqlite_stmt_cache_full", NULL, NULL);
        sqlite3_finalize(q);
        return NULL;
    }
    c->cache[h].sql = sql;
    c->cache[h].stmt = q;
    return q;
}

void sh_sq_done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

sh_status sh_sq_step_error(struct sh_sq_conn *c, int rc)
{
    if (rc == SQLITE_CONSTRAINT)
        return SH_ERR_CONFLICT;
    sh_log_event(SH_LOG_ERROR, "sqlite_step_failed", "error", sqlite3_errmsg(c->db));
    return SH_ERR_STORE;
}

sh_status sh_sq_int64(struct sh_sq_conn *c, const char *sql, int64_t *out)
{
    sqlite3_stmt *q = c ? sh_sq_stmt(c, sql) : NULL;
    sh_status st = SH_OK;
    int rc;

    if (q == NULL)
        return SH_ERR_STORE;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(q, 0);
    else
        st = sh_sq_step_error(c, rc);
    sh_sq_done(q);
    return st;
}

sh_status sh_sq_run(struct sh_sq_conn *c, sqlite3_stmt *q, int *changes)
{
    int rc = sqlite3_step(q);
    sh_status st = SH_OK;

    if (rc != SQLITE_DONE)
        st = sh_sq_step_error(c, rc);
    else if (changes != NULL)
        *changes = sqlite3_changes(c->db);
    sh_sq_done(q);
    return st;
}

sh_status sh_sq_update_result(struct sh_sq_conn *c, sqlite3_stmt *q)
{
    int changes = 0;
    sh_status rc = sh_sq_run(c, q, &changes);

    if (rc == SH_OK && changes == 0)
        rc = SH_ERR_NOT_FOUND;
    return rc;
}

sh_status sh_sq_exec(struct sh_sq_conn *c, const char *sql)
{
    sqlite3_stmt *q = sh_sq_stmt(c, sql);

    return q ? sh_sq_run(c, q, NULL) : SH_ERR_STORE;
}

sh_status sh_sq_tx_begin(struct sh_sq_conn *c)
{
    return c->in_batch ? SH_OK : sh_sq_exec(c, SQL_BEGIN);
}

sh_status sh_sq_tx_end(struct sh_sq_conn *c, sh_status rc)
{
    if (c->in_batch)
        return rc;
    if (rc == SH_OK)
        rc = sh_sq_exec(c, SQL_COMMIT);
    if (rc != SH_OK)
        sh_sq_exec(c, SQL_ROLLBACK);
    return rc;
}

void sh_sq_bind_id(sqlite3_stmt *q, int i, const sh_id *id)
{
    sqlite3_bind_blob(q, i, id->b, SH_ID_LEN, SQLITE_STATIC);
}

void sh_sq_bind_blob(sqlite3_stmt *q, int i, const void *p, size_t n)
{
    if (p == NULL)
        sqlite3_bind_null(q, i);
    else
        sqlite3_bind_blob(q, i, p, (int)n, SQLITE_STATIC);
}

void sh_sq_col_id(sqlite3_stmt *q, int i, sh_id *id)
{
    const void *p = sqlite3_column_blob(q, i);

    memset(id, 0, sizeof(*id));
    if (p != NULL && sqlite3_column_bytes(q, i) == SH_ID_LEN)
        memcpy(id->b, p, SH_ID_LEN);
}

int sh_sq_col_blob(sqlite3_stmt *q, int i, uint8_t **out, size_t *len)
{
    const void *p = sqlite3_column_blob(q, i);
    int n = sqlite3_column_bytes(q, i);

    *out = NULL;
    *len = 0;
    if (p == NULL || n == 0)
        return 0;
    *out = malloc((size_t)n);
    if (*out == NULL)
        return -1;
    memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return 0;
}

/* ---- lists: every row read before the first callback -------------------- */

#define ROWS_FIRST_CAP 16

void sh_sq_rows_init(struct sh_sq_rows *r, size_t size, size_t max, void (*clear)(void *rec))
{
    assert(size > 0 && max <= SIZE_MAX / size);
    memset(r, 0, sizeof(*r));
    r->size = size;
    r->max = max;
    r->clear = clear;
}

sh_status sh_sq_rows_add(struct sh_sq_rows *r, void **rec)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : ROWS_FIRST_CAP;
        unsigned char *p;

        if (r->n >= r->max)
            return SH_ERR_TOO_LARGE;
        if (cap > r->max)
            cap = r->max;
        if ((p = realloc(r->p, cap * r->size)) == NULL)
            return SH_ERR_NOMEM;
        r->p = p;
        r->cap = cap;
    }
    *rec = memset(r->p + r->n * r->size, 0, r->size);
    r->n++;
    return SH_OK;
}

void *sh_sq_rows_at(const struct sh_sq_rows *r, size_t i)
{
    assert(i < r->n);
    return r->p + i * r->size;
}

void sh_sq_rows_clear(struct sh_sq_rows *r)
{
    for (size_t i = 0; r->clear != NULL && i < r->n; i++)
        r->clear(sh_sq_rows_at(r, i));
    free(r->p);
    r->p = NULL;
    r->n = r->cap = 0;
}

/* Reads every row of q into rows; resets q. */
static sh_status read_rows(struct sh_sq_conn *c, sqlite3_stmt *q, const struct sh_sq_kind *k,
                           struct sh_sq_rows *rows)
{
    sh_status rc = SH_OK;
    void *rec;
    int r = SQLITE_DONE;

    while (rc == SH_OK && (r = sqlite3_step(q)) == SQLITE_ROW) {
        rc = sh_sq_rows_add(rows, &rec);
        if (rc == SH_OK && k->read(q, rec) != 0)
            rc = SH_ERR_NOMEM;
    }
    if (rc == SH_OK && r != SQLITE_DONE)
        rc = sh_sq_step_error(c, r);
    sh_sq_done(q);
    if (rc == SH_ERR_TOO_LARGE) {
        sh_log_event(SH_LOG_ERROR, "sqlite_list_too_long", NULL, NULL);
        rc = SH_ERR_STORE;
    }
    return rc;
}

sh_status sh_sq_list(struct sh_sq_conn *c, sqlite3_stmt *q, const struct sh_sq_kind *k,
                     union sh_sq_cb cb, void *ctx)
{
    struct sh_sq_rows rows;
    sh_status rc;

    sh_sq_rows_init(&rows, k->size, SH_SQ_LIST_MAX_BYTES / k->size, k->clear);
    rc = read_rows(c, q, k, &rows);
    for (size_t i = 0; rc == SH_OK && i < rows.n; i++)
        k->give(cb, ctx, sh_sq_rows_at(&rows, i));
    sh_sq_rows_clear(&rows);
    return rc;
}

/* ---- migrations -------------------------------------------------------- */

static sh_status migrate(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    int current = 0;
    sh_status rc = SH_ERR_STORE;

    if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version),0) FROM schema_version", -1, &q,
                           NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        goto out;
    current = sqlite3_column_int(q, 0);
    for (int i = 0; i < sh_sqlite_migrations_count; i++) {
        const struct sh_migration *m = &sh_sqlite_migrations[i];
        char ver[64];
        if (m->version <= current)
            continue;
        snprintf(ver, sizeof(ver), "INSERT INTO schema_version VALUES(%d)", m->version);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, ver, NULL, NULL, NULL) != SQLITE_OK) {
            sh_log_event(SH_LOG_ERROR, "migration_failed", "migration", m->name);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto out;
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        sh_log_event(SH_LOG_INFO, "migration_applied", "migration", m->name);
    }
    rc = SH_OK;
out:
    if (rc != SH_OK)
        sh_log_event(SH_LOG_ERROR, "migrate_failed", "error", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return rc;
}

/* An explicit transaction on this thread's connection. The per-operation
 * transactions of the domain files fold into it (in_batch). */
static sh_status sqlite_tx_begin(sh_store *st, sh_store **out)
{
    struct sqlite_tx *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return SH_ERR_NOMEM;
    t->conn = sh_sq_conn(st);
    if (t->conn == NULL || t->conn->in_batch > 0 || sh_sq_exec(t->conn, SQL_BEGIN) != SH_OK) {
        sh_status rc = (t->conn != NULL && t->conn->in_batch > 0) ? SH_ERR_INTERNAL : SH_ERR_STORE;
        free(t);
        return rc;
    }
    t->conn->in_batch = 1;
    t->base = *st;
    t->base.root = st;
    t->base.tx_depth = 0;
    t->base.tx_failed = 0;
    *out = &t->base;
    return SH_OK;
}

static sh_status sqlite_tx_end(sh_store *tx, int commit)
{
    struct sqlite_tx *t = (struct sqlite_tx *)tx;
    struct sh_sq_conn *c = t->conn;
    sh_status rc;

    c->in_batch = 0;
    rc = sh_sq_tx_end(c, commit ? SH_OK : SH_ERR_INTERNAL);
    free(t);
    return commit ? rc : SH_OK;
}

/* One SQLite file has no notifications: a sleep; the callers' poll and
 * caches' time bounds do the rest. */
static sh_status sqlite_changes_wait(sh_store *st, int timeout_ms, sh_store_user_cb on_user,
                                     void *ctx)
{
    (void)st;
    (void)on_user;
    (void)ctx;
    usleep((useconds_t)timeout_ms * 1000u);
    return SH_OK;
}

static sh_status sqlite_user_changed(sh_store *st, const sh_id *user)
{
    (void)st;
    (void)user;
    return SH_OK;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void sqlite_close(sh_store *st)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct sh_sq_conn *c = s->conns, *next;

    for (; c != NULL; c = next) {
        next = c->next;
        for (int i = 0; i < SH_SQ_STMT_CACHE; i++)
            sqlite3_finalize(c->cache[i].stmt);
        sqlite3_close(c->db);
        free(c);
    }
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

int sh_store_sqlite_default_url(const char *data_dir, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "sqlite:%s/" DEFAULT_FILE, data_dir);

    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

sh_status sh_store_open_sqlite(const char *path, sh_store **out)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));
    struct sh_sq_conn *c;

    if (s == NULL)
        return SH_ERR_NOMEM;
    s->base.core = &sqlite_ops;
    s->base.backend = "sqlite";
    s->base.mfa = &sh_sq_mfa_ops;
    s->base.devices = &sh_sq_device_ops;
    s->base.oauth = &sh_sq_oauth_ops;
    s->path = strdup(path);
    pthread_mutex_init(&s->lock, NULL);
    if (s->path == NULL || pthread_key_create(&s->key, NULL) != 0) {
        free(s->path);
        free(s);
        return SH_ERR_NOMEM;
    }
    c = sh_sq_conn(&s->base);
    if (c == NULL || migrate(c->db) != SH_OK) {
        sqlite_close(&s->base);
        return SH_ERR_STORE;
    }
    *out = &s->base;
    return SH_OK;
}

static const struct sh_store_core_ops sqlite_ops = {
    .close = sqlite_close,
    .user_insert = sh_sq_user_insert,
    .user_get = sh_sq_user_get,
    .user_get_by_email = sh_sq_user_get_by_email,
    .user_set_name = sh_sq_user_set_name,
    .user_set_password = sh_sq_user_set_password,
    .session_insert = sh_sq_session_insert,
    .session_get = sh_sq_session_get,
    .session_list = sh_sq_session_list,
    .session_revoke = sh_sq_session_revoke,
    .refresh_find = sh_sq_refresh_find,
    .refresh_rotate = sh_sq_refresh_rotate,
    .rule_insert = sh_sq_rule_insert,
    .rules_feed = sh_sq_rules_feed,
    .changes_wait = sqlite_changes_wait,
    .user_changed = sqlite_user_changed,
    .meta_get = sh_sq_meta_get,
    .schema_version = sh_sq_schema_version,
    .meta_put = sh_sq_meta_put,
    .meta_add = sh_sq_meta_add,
    .tx_begin = sqlite_tx_begin,
    .tx_end = sqlite_tx_end,
    .table_list = sh_sq_table_list,
    .bulk_hint = sh_sq_bulk_hint,
    .table_count = sh_sq_table_count,
    .table_export = sh_sq_table_export,
    .table_import_begin = sh_sq_table_import_begin,
    .table_import_row = sh_sq_table_import_row,
    .table_import_end = sh_sq_table_import_end,
};
