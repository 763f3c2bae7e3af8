/*
 * store_sqlite.c - the embedded store: one SQLite file in WAL mode.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"
#include "store/migrations.h"
#include "store/store.h"

#define BUSY_TIMEOUT_MS 10000

enum stmt_id {
    Q_USER_INSERT,
    Q_USER_GET,
    Q_USER_GET_BY_EMAIL,
    Q_USER_SET_NAME,
    Q_USER_SET_PASSWORD,
    Q_SESSION_INSERT,
    Q_REFRESH_INSERT,
    Q_SESSION_GET,
    Q_SESSION_LIST,
    Q_SESSION_REVOKE,
    Q_SESSION_TOUCH,
    Q_REFRESH_FIND,
    Q_REFRESH_MARK,
    Q_RULE_INSERT,
    Q_RULES_SINCE,
    Q_META_GET,
    Q_META_PUT,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q__COUNT
};

static const char *const stmt_sql[Q__COUNT] = {
    [Q_USER_INSERT] = "INSERT INTO users(id,email_idx,email_ct,name_ct,password,wrapped_key,"
                      "created_at,updated_at) VALUES(?,?,?,?,?,?,?,?)",
    [Q_USER_GET] = "SELECT id,email_idx,email_ct,name_ct,password,wrapped_key,created_at,"
                   "updated_at FROM users WHERE id=?",
    [Q_USER_GET_BY_EMAIL] = "SELECT id,email_idx,email_ct,name_ct,password,wrapped_key,"
                            "created_at,updated_at FROM users WHERE email_idx=?",
    [Q_USER_SET_NAME] = "UPDATE users SET name_ct=?,updated_at=? WHERE id=?",
    [Q_USER_SET_PASSWORD] = "UPDATE users SET password=?,updated_at=? WHERE id=?",
    [Q_SESSION_INSERT] = "INSERT INTO sessions(id,user_id,class,device_name_ct,created_at,"
                         "last_used_at) VALUES(?,?,?,?,?,?)",
    [Q_REFRESH_INSERT] = "INSERT INTO refresh_tokens(hash,session_id,created_at) VALUES(?,?,?)",
    [Q_SESSION_GET] = "SELECT id,user_id,class,device_name_ct,created_at,last_used_at,"
                      "revoked_at FROM sessions WHERE id=?",
    [Q_SESSION_LIST] = "SELECT id,user_id,class,device_name_ct,created_at,last_used_at,"
                       "revoked_at FROM sessions WHERE user_id=? AND revoked_at IS NULL "
                       "ORDER BY created_at",
    [Q_SESSION_REVOKE] = "UPDATE sessions SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
    [Q_SESSION_TOUCH] = "UPDATE sessions SET last_used_at=? WHERE id=?",
    [Q_REFRESH_FIND] = "SELECT session_id,rotated_at IS NOT NULL FROM refresh_tokens "
                       "WHERE hash=?",
    [Q_REFRESH_MARK] = "UPDATE refresh_tokens SET rotated_at=? WHERE hash=? AND session_id=? "
                       "AND rotated_at IS NULL",
    [Q_RULE_INSERT] = "INSERT INTO revocation_rules(id,scope,value,not_before,created_at) "
                      "VALUES(?,?,?,?,?)",
    [Q_RULES_SINCE] = "SELECT seq,id,scope,value,not_before,created_at FROM revocation_rules "
                      "WHERE seq>? ORDER BY seq",
    [Q_META_GET] = "SELECT value FROM meta WHERE key=?",
    [Q_META_PUT] = "INSERT INTO meta(key,value) VALUES(?,?) "
                   "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
};

struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[Q__COUNT];
    int in_batch;     /* batch depth: per-op transactions fold into the batch */
    int batch_failed; /* an inner batch failed: the outermost rolls back */
    struct conn *next;
};

struct sqlite_store {
    sh_store base;
    char *path;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards conns */
    struct conn *conns;
};

static const struct sh_store_ops sqlite_ops;

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

static struct conn *conn_open(struct sqlite_store *s)
{
    struct conn *c = calloc(1, sizeof(*c));
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
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
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

static struct conn *conn_get(sh_store *st)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct conn *c = pthread_getspecific(s->key);

    if (c == NULL) {
        c = conn_open(s);
        if (c != NULL)
            pthread_setspecific(s->key, c);
    }
    return c;
}

/* Returns the cached prepared statement, reset and unbound, or NULL. */
static sqlite3_stmt *stmt(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *q = c->stmts[id];

    if (q == NULL) {
        if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) !=
            SQLITE_OK) {
            sh_log_event(SH_LOG_ERROR, "sqlite_prepare_failed", "error", sqlite3_errmsg(c->db));
            return NULL;
        }
        c->stmts[id] = q;
    }
    return q;
}

static void done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static sh_status step_error(struct conn *c, int rc)
{
    if (rc == SQLITE_CONSTRAINT)
        return SH_ERR_CONFLICT;
    sh_log_event(SH_LOG_ERROR, "sqlite_step_failed", "error", sqlite3_errmsg(c->db));
    return SH_ERR_STORE;
}

/* Runs a statement that returns no rows. *changes gets the row count. */
static sh_status run(struct conn *c, sqlite3_stmt *q, int *changes)
{
    int rc = sqlite3_step(q);
    sh_status st = SH_OK;

    if (rc != SQLITE_DONE)
        st = step_error(c, rc);
    else if (changes != NULL)
        *changes = sqlite3_changes(c->db);
    done(q);
    return st;
}

static sh_status simple(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *q = stmt(c, id);

    return q ? run(c, q, NULL) : SH_ERR_STORE;
}

/* Per-operation transactions; inside a batch they are part of the batch. */
static sh_status tx_begin(struct conn *c) { return c->in_batch ? SH_OK : simple(c, Q_BEGIN); }

static sh_status tx_end(struct conn *c, sh_status rc)
{
    if (c->in_batch)
        return rc;
    if (rc == SH_OK)
        rc = simple(c, Q_COMMIT);
    if (rc != SH_OK)
        simple(c, Q_ROLLBACK);
    return rc;
}

static void bind_id(sqlite3_stmt *q, int i, const sh_id *id)
{
    sqlite3_bind_blob(q, i, id->b, SH_ID_LEN, SQLITE_STATIC);
}

static void bind_blob(sqlite3_stmt *q, int i, const void *p, size_t n)
{
    if (p == NULL)
        sqlite3_bind_null(q, i);
    else
        sqlite3_bind_blob(q, i, p, (int)n, SQLITE_STATIC);
}

static void col_id(sqlite3_stmt *q, int i, sh_id *id)
{
    const void *p = sqlite3_column_blob(q, i);

    memset(id, 0, sizeof(*id));
    if (p != NULL && sqlite3_column_bytes(q, i) == SH_ID_LEN)
        memcpy(id->b, p, SH_ID_LEN);
}

/* Copies a blob column into a malloc'd buffer (NULL for SQL NULL). */
static int col_blob(sqlite3_stmt *q, int i, uint8_t **out, size_t *len)
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

/* ---- users --------------------------------------------------------------- */

static sh_status user_insert(sh_store *st, const sh_user_rec *u)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_USER_INSERT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_id(q, 1, &u->id);
    bind_blob(q, 2, u->email_idx, SH_STORE_HASH_LEN);
    bind_blob(q, 3, u->email_ct, u->email_ct_len);
    bind_blob(q, 4, u->name_ct, u->name_ct_len);
    sqlite3_bind_text(q, 5, u->password_hash, -1, SQLITE_STATIC);
    bind_blob(q, 6, u->wrapped_key, u->wrapped_key_len);
    sqlite3_bind_int64(q, 7, u->created_at);
    sqlite3_bind_int64(q, 8, u->updated_at);
    return run(c, q, NULL);
}

static sh_status read_user(struct conn *c, sqlite3_stmt *q, sh_user_rec *u)
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
        st = step_error(c, rc);
        goto out;
    }
    col_id(q, 0, &u->id);
    idx = sqlite3_column_blob(q, 1);
    if (idx != NULL && sqlite3_column_bytes(q, 1) == SH_STORE_HASH_LEN)
        memcpy(u->email_idx, idx, SH_STORE_HASH_LEN);
    pw = sqlite3_column_text(q, 4);
    if (pw != NULL)
        snprintf(u->password_hash, sizeof(u->password_hash), "%s", (const char *)pw);
    if (col_blob(q, 2, &u->email_ct, &u->email_ct_len) ||
        col_blob(q, 3, &u->name_ct, &u->name_ct_len) ||
        col_blob(q, 5, &u->wrapped_key, &u->wrapped_key_len)) {
        sh_user_rec_clear(u);
        st = SH_ERR_NOMEM;
        goto out;
    }
    u->created_at = sqlite3_column_int64(q, 6);
    u->updated_at = sqlite3_column_int64(q, 7);
out:
    done(q);
    return st;
}

static sh_status user_get(sh_store *st, const sh_id *id, sh_user_rec *out)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_USER_GET) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_id(q, 1, id);
    return read_user(c, q, out);
}

static sh_status user_get_by_email(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                   sh_user_rec *out)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_USER_GET_BY_EMAIL) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_blob(q, 1, idx, SH_STORE_HASH_LEN);
    return read_user(c, q, out);
}

/* Runs an UPDATE keyed by id; NOT_FOUND when no row matched. */
static sh_status update_result(struct conn *c, sqlite3_stmt *q)
{
    int changes = 0;
    sh_status rc = run(c, q, &changes);

    if (rc == SH_OK && changes == 0)
        rc = SH_ERR_NOT_FOUND;
    return rc;
}

static sh_status user_set_name(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                               int64_t now)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_USER_SET_NAME) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_blob(q, 1, ct, len);
    sqlite3_bind_int64(q, 2, now);
    bind_id(q, 3, id);
    return update_result(c, q);
}

static sh_status user_set_password(sh_store *st, const sh_id *id, const char *hash, int64_t now)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_USER_SET_PASSWORD) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    bind_id(q, 3, id);
    return update_result(c, q);
}

/* ---- sessions and refresh tokens ---------------------------------------- */

static sh_status insert_refresh(struct conn *c, const uint8_t hash[SH_STORE_HASH_LEN],
                                const sh_id *session_id, int64_t now)
{
    sqlite3_stmt *q = stmt(c, Q_REFRESH_INSERT);

    if (q == NULL)
        return SH_ERR_STORE;
    bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    bind_id(q, 2, session_id);
    sqlite3_bind_int64(q, 3, now);
    return run(c, q, NULL);
}

static sh_status session_insert(sh_store *st, const sh_session_rec *s,
                                const uint8_t refresh_hash[SH_STORE_HASH_LEN])
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_SESSION_INSERT) : NULL;
    sh_status rc;

    if (q == NULL || tx_begin(c) != SH_OK)
        return SH_ERR_STORE;
    bind_id(q, 1, &s->id);
    bind_id(q, 2, &s->user_id);
    sqlite3_bind_int(q, 3, s->token_class);
    bind_blob(q, 4, s->device_name_ct, s->device_name_ct_len);
    sqlite3_bind_int64(q, 5, s->created_at);
    sqlite3_bind_int64(q, 6, s->last_used_at);
    rc = run(c, q, NULL);
    if (rc == SH_OK)
        rc = insert_refresh(c, refresh_hash, &s->id, s->created_at);
    return tx_end(c, rc);
}

static int read_session_row(sqlite3_stmt *q, sh_session_rec *s)
{
    memset(s, 0, sizeof(*s));
    col_id(q, 0, &s->id);
    col_id(q, 1, &s->user_id);
    s->token_class = sqlite3_column_int(q, 2);
    s->created_at = sqlite3_column_int64(q, 4);
    s->last_used_at = sqlite3_column_int64(q, 5);
    s->revoked_at = sqlite3_column_int64(q, 6);
    return col_blob(q, 3, &s->device_name_ct, &s->device_name_ct_len);
}

static sh_status session_get(sh_store *st, const sh_id *id, sh_session_rec *out)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_SESSION_GET) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_id(q, 1, id);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        rc = read_session_row(q, out) ? SH_ERR_NOMEM : SH_OK;
    else if (r == SQLITE_DONE)
        rc = SH_ERR_NOT_FOUND;
    else
        rc = step_error(c, r);
    done(q);
    return rc;
}

static sh_status session_list(sh_store *st, const sh_id *user_id, sh_store_session_cb cb, void *ctx)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_SESSION_LIST) : NULL;
    sh_session_rec s;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_id(q, 1, user_id);
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        if (read_session_row(q, &s) != 0) {
            rc = SH_ERR_NOMEM;
            break;
        }
        cb(ctx, &s);
        sh_session_rec_clear(&s);
    }
    if (rc == SH_OK && r != SQLITE_DONE)
        rc = step_error(c, r);
    done(q);
    return rc;
}

static sh_status session_revoke(sh_store *st, const sh_id *id, int64_t now)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_SESSION_REVOKE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    bind_id(q, 2, id);
    return update_result(c, q);
}

static sh_status refresh_find(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                              sh_id *session_id, int *rotated)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_REFRESH_FIND) : NULL;
    sh_status rc = SH_OK;
    int r;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_blob(q, 1, hash, SH_STORE_HASH_LEN);
    r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        col_id(q, 0, session_id);
        *rotated = sqlite3_column_int(q, 1);
    } else {
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : step_error(c, r);
    }
    done(q);
    return rc;
}

/* Marks old_hash used and stores new_hash, atomically. SH_ERR_CONFLICT if
 * old_hash was already used (a concurrent or replayed refresh). */
static sh_status refresh_rotate(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                                const uint8_t new_hash[SH_STORE_HASH_LEN], const sh_id *session_id,
                                int64_t now)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_REFRESH_MARK) : NULL;
    sqlite3_stmt *t = c ? stmt(c, Q_SESSION_TOUCH) : NULL;
    int changes = 0;
    sh_status rc;

    if (q == NULL || t == NULL || tx_begin(c) != SH_OK)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    bind_blob(q, 2, old_hash, SH_STORE_HASH_LEN);
    bind_id(q, 3, session_id);
    rc = run(c, q, &changes);
    if (rc == SH_OK && changes != 1)
        rc = SH_ERR_CONFLICT;
    if (rc == SH_OK)
        rc = insert_refresh(c, new_hash, session_id, now);
    if (rc == SH_OK) {
        sqlite3_bind_int64(t, 1, now);
        bind_id(t, 2, session_id);
        rc = run(c, t, NULL);
    }
    return tx_end(c, rc);
}

/* ---- revocation rules ---------------------------------------------------- */

static sh_status rule_insert(sh_store *st, sh_rule_rec *r)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_RULE_INSERT) : NULL;
    sh_status rc;

    if (q == NULL)
        return SH_ERR_STORE;
    bind_id(q, 1, &r->id);
    sqlite3_bind_int(q, 2, r->scope);
    sqlite3_bind_text(q, 3, r->value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, r->not_before);
    sqlite3_bind_int64(q, 5, r->created_at);
    rc = run(c, q, NULL);
    if (rc == SH_OK)
        r->seq = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static sh_status rules_since(sh_store *st, int64_t after_seq, sh_store_rule_cb cb, void *ctx)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_RULES_SINCE) : NULL;
    sh_rule_rec r;
    sh_status rc = SH_OK;
    int s;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, after_seq);
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(q, 3);
        memset(&r, 0, sizeof(r));
        r.seq = sqlite3_column_int64(q, 0);
        col_id(q, 1, &r.id);
        r.scope = sqlite3_column_int(q, 2);
        snprintf(r.value, sizeof(r.value), "%s", v ? (const char *)v : "");
        r.not_before = sqlite3_column_int64(q, 4);
        r.created_at = sqlite3_column_int64(q, 5);
        cb(ctx, &r);
    }
    if (s != SQLITE_DONE)
        rc = step_error(c, s);
    done(q);
    return rc;
}

/* ---- meta ---------------------------------------------------------------- */

static sh_status meta_get(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_META_GET) : NULL;
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
        rc = r == SQLITE_DONE ? SH_ERR_NOT_FOUND : step_error(c, r);
    }
    done(q);
    return rc;
}

static sh_status meta_put(sh_store *st, const char *key, const uint8_t *val, size_t len)
{
    struct conn *c = conn_get(st);
    sqlite3_stmt *q = c ? stmt(c, Q_META_PUT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    bind_blob(q, 2, val, len);
    return run(c, q, NULL);
}

/* Batches nest: only the outermost begins and commits, and any failed
 * inner batch makes the outermost roll back. */
static sh_status batch_begin(sh_store *st)
{
    struct conn *c = conn_get(st);

    if (c == NULL)
        return SH_ERR_STORE;
    if (c->in_batch == 0) {
        if (simple(c, Q_BEGIN) != SH_OK)
            return SH_ERR_STORE;
        c->batch_failed = 0;
    }
    c->in_batch++;
    return SH_OK;
}

static sh_status batch_end(sh_store *st, int ok)
{
    struct conn *c = conn_get(st);

    if (c == NULL || c->in_batch == 0)
        return SH_ERR_STORE;
    if (!ok)
        c->batch_failed = 1;
    if (--c->in_batch > 0)
        return ok ? SH_OK : SH_ERR_INTERNAL;
    return tx_end(c, c->batch_failed ? SH_ERR_INTERNAL : SH_OK);
}

/* ---- lifecycle ----------------------------------------------------------- */

static void sqlite_close(sh_store *st)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct conn *c = s->conns, *next;

    for (; c != NULL; c = next) {
        next = c->next;
        for (int i = 0; i < Q__COUNT; i++)
            sqlite3_finalize(c->stmts[i]);
        sqlite3_close(c->db);
        free(c);
    }
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

sh_status sh_store_open_sqlite(const char *path, sh_store **out)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));
    struct conn *c;

    if (s == NULL)
        return SH_ERR_NOMEM;
    s->base.ops = &sqlite_ops;
    s->path = strdup(path);
    pthread_mutex_init(&s->lock, NULL);
    if (s->path == NULL || pthread_key_create(&s->key, NULL) != 0) {
        free(s->path);
        free(s);
        return SH_ERR_NOMEM;
    }
    c = conn_get(&s->base);
    if (c == NULL || migrate(c->db) != SH_OK) {
        sqlite_close(&s->base);
        return SH_ERR_STORE;
    }
    *out = &s->base;
    return SH_OK;
}

static const struct sh_store_ops sqlite_ops = {
    .close = sqlite_close,
    .user_insert = user_insert,
    .user_get = user_get,
    .user_get_by_email = user_get_by_email,
    .user_set_name = user_set_name,
    .user_set_password = user_set_password,
    .session_insert = session_insert,
    .session_get = session_get,
    .session_list = session_list,
    .session_revoke = session_revoke,
    .refresh_find = refresh_find,
    .refresh_rotate = refresh_rotate,
    .rule_insert = rule_insert,
    .rules_since = rules_since,
    .meta_get = meta_get,
    .meta_put = meta_put,
    .batch_begin = batch_begin,
    .batch_end = batch_end,
};
