/*
 * store_pg.c - the PostgreSQL store, for several `serve` nodes on one
 * database.
 *
 * This file: connections, prepared statements, parameters and results,
 * transactions with their retries, migrations under an advisory lock, and
 * the ops table; each domain's SQL lives in its own file (see internal.h).
 *
 * Each thread has its own connection (libpq connections are not shared
 * between threads), opened on first use and opened again after PostgreSQL
 * went away.
 *
 * Isolation, so that operations mean on several nodes what they mean on
 * SQLite's single writer: an operation of the backend's own (one statement,
 * or a body run by sh_pg_atomic) runs at READ COMMITTED and is written to
 * need no more: single-use steps are single conditional statements, which
 * PostgreSQL re-checks on the newest row version after waiting for a
 * concurrent writer, and read-then-write bodies lock what they read (SELECT
 * ... FOR UPDATE). So racing writers queue on row locks instead of failing.
 * A caller's explicit transaction (sh_store_tx_run), which composes
 * operations the backend cannot see together, runs at SERIALIZABLE; a
 * serialization failure or deadlock is retried by whoever owns the
 * transaction, a bounded number of times.
 *
 * Durability (P10): synchronous_commit is on for every session, whatever the
 * server's default, so a commit that returned is on the primary's disk.
 *
 * Which threads may wait here: every call may wait on the network, so the
 * store is marked blocking and the HTTP layer runs every route that touches
 * it on a worker (docs/internals/store.md).
 */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/backends.h"
#include "store/migrations.h"
#include "store/postgres/internal.h"

#define TX_TRIES 20
#define CONNECT_TIMEOUT "3"
/* A connection idle this long is checked with an empty query before use:
 * after a restart or failover its socket may look fine until written to. */
#define IDLE_CHECK_US (1 * SH_USEC)
/* After a failed connect, calls fail at once for this long instead of
 * each waiting for its own connect attempt. */
#define DOWN_HOLD_US (200LL * 1000)
/* Any constant: the key of the advisory lock that serializes migrations
 * between nodes starting at once. */
#define MIGRATE_LOCK_KEY "7354616"
#define RULES_CHANNEL "sh_rules"
#define USERS_CHANNEL "sh_users"

struct pg_store {
    sh_store base;
    char *url;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards conns */
    struct sh_pg_conn *conns;
    PGconn *listen;             /* the rules poller's LISTEN connection */
    _Atomic int64_t down_until; /* no connect attempts before this */
    _Atomic int down;           /* PostgreSQL was found away (logged once) */
};

/* A transaction handle: the tables of the store and the connection. */
struct pg_tx {
    sh_store base;
    struct sh_pg_conn *conn;
};

static const struct sh_store_core_ops pg_ops;

/* ---- connections --------------------------------------------------------- */

static PGconn *connect_url(const char *url)
{
    /* connect_timeout first: a value in the URL, processed later, wins */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {CONNECT_TIMEOUT, "safehouse", url, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);

    if (pg == NULL)
        return NULL;
    if (PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* A connect attempt for s, unless one failed a moment ago; logs only when
 * PostgreSQL goes away and when it is back. */
static PGconn *connect_store(struct pg_store *s)
{
    int64_t now = sh_clock_now_us();
    PGconn *pg;

    if (now < s->down_until)
        return NULL;
    pg = connect_url(s->url);
    if (pg == NULL) {
        s->down_until = now + DOWN_HOLD_US;
        if (!s->down) {
            s->down = 1;
            sh_log_event(SH_LOG_ERROR, "postgres_unreachable", NULL, NULL);
        }
        return NULL;
    }
    if (s->down) {
        s->down = 0;
        sh_log_event(SH_LOG_INFO, "postgres_reachable", NULL, NULL);
    }
    return pg;
}

static sh_status session_setup(PGconn *pg)
{
    PGresult *r = PQexec(pg, "SET default_transaction_isolation='read committed';"
                             "SET synchronous_commit=on;"
                             "SET client_min_messages=warning");
    sh_status rc = PQresultStatus(r) == PGRES_COMMAND_OK ? SH_OK : SH_ERR_STORE;

    PQclear(r);
    return rc;
}

static struct sh_pg_conn *conn_open(struct pg_store *s)
{
    struct sh_pg_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->pg = connect_store(s);
    if (c->pg == NULL || session_setup(c->pg) != SH_OK) {
        PQfinish(c->pg);
        free(c);
        return NULL;
    }
    c->used_us = sh_clock_now_us();
    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    s->conns = c;
    pthread_mutex_unlock(&s->lock);
    return c;
}

/* After PostgreSQL went away (restart, failover): a new session, with
 * nothing prepared on it yet. Returns 0, or -1 when it is still away. */
static int conn_revive(struct pg_store *s, struct sh_pg_conn *c)
{
    PGconn *pg = connect_store(s);

    if (pg == NULL || session_setup(pg) != SH_OK) {
        PQfinish(pg);
        return -1;
    }
    PQfinish(c->pg);
    c->pg = pg;
    memset(c->cache, 0, sizeof(c->cache));
    c->nprepared = 0;
    c->tx_depth = 0;
    c->tx_failed = 0;
    c->used_us = sh_clock_now_us();
    return 0;
}

/* Whether an idle connection still has its server. A server that shut
 * down or restarted has sent a goodbye or closed the socket, so the socket
 * reads as ready: reading it then tells libpq. A quiet socket costs one
 * poll(2) with no wait. */
static int conn_alive(struct sh_pg_conn *c)
{
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN, .revents = 0};
    int64_t now = sh_clock_now_us();
    PGresult *r;
    int ok;

    if (PQstatus(c->pg) != CONNECTION_OK || pfd.fd < 0)
        return 0;
    if (poll(&pfd, 1, 0) > 0 && PQconsumeInput(c->pg) == 0)
        return 0;
    if (now - c->used_us > IDLE_CHECK_US) {
        r = PQexec(c->pg, "");
        ok = PQresultStatus(r) == PGRES_EMPTY_QUERY;
        PQclear(r);
        if (!ok)
            return 0;
    }
    c->used_us = now;
    return PQstatus(c->pg) == CONNECTION_OK;
}

static struct pg_store *root_of(sh_store *st)
{
    return (struct pg_store *)(st->root != NULL ? st->root : st);
}

struct sh_pg_conn *sh_pg_conn(sh_store *st)
{
    struct pg_store *s = root_of(st);
    struct sh_pg_conn *c;

    if (st->root != NULL)
        return ((struct pg_tx *)st)->conn;
    c = pthread_getspecific(s->key);
    if (c == NULL) {
        c = conn_open(s);
        if (c != NULL)
            pthread_setspecific(s->key, c);
        return c;
    }
    /* a broken connection outside a transaction can be replaced; inside
     * one, the transaction is lost and its owner must hear so */
    if (c->tx_depth == 0 && !conn_alive(c) && conn_revive(s, c) != 0)
        return NULL;
    return c;
}

/* ---- parameters ---------------------------------------------------------- */

void sh_pg_params_init(sh_pg_params *p) { p->n = 0; }

static void param(sh_pg_params *p, const char *v, int len, int fmt)
{
    if (p->n >= SH_PG_PARAMS_MAX)
        return; /* caught by sh_pg_query: n stays at the maximum */
    p->values[p->n] = v;
    p->lengths[p->n] = len;
    p->formats[p->n] = fmt;
    p->n++;
}

void sh_pg_p_id(sh_pg_params *p, const sh_id *id) { param(p, (const char *)id->b, SH_ID_LEN, 1); }

void sh_pg_p_blob(sh_pg_params *p, const void *v, size_t n)
{
    param(p, (const char *)v, (int)n, 1);
}

void sh_pg_p_i64(sh_pg_params *p, int64_t v)
{
    if (p->n >= SH_PG_PARAMS_MAX)
        return;
    snprintf(p->num[p->n], SH_PG_NUM_LEN, "%" PRId64, v);
    param(p, p->num[p->n], 0, 0);
}

void sh_pg_p_text(sh_pg_params *p, const char *s) { param(p, s, 0, 0); }

void sh_pg_p_null(sh_pg_params *p) { param(p, NULL, 0, 0); }

/* ---- statements ---------------------------------------------------------- */

/* The name of sql's prepared statement on c, preparing it on first use.
 * Returns 0, or -1 (logged). */
static int prepared(struct sh_pg_conn *c, const char *sql, int nparams, char name[16])
{
    size_t h = ((uintptr_t)sql >> 3) % SH_PG_STMT_CACHE;
    PGresult *r;
    int ok;

    for (size_t n = 0; n < SH_PG_STMT_CACHE; n++, h = (h + 1) % SH_PG_STMT_CACHE) {
        if (c->cache[h].sql == sql) {
            snprintf(name, 16, "s%d", c->cache[h].n);
            return 0;
        }
        if (c->cache[h].sql == NULL)
            break;
    }
    if (c->cache[h].sql != NULL) {
        sh_log_event(SH_LOG_ERROR, "postgres_stmt_cache_full", NULL, NULL);
        return -1;
    }
    snprintf(name, 16, "s%d", c->nprepared);
    r = PQprepare(c->pg, name, sql, nparams, NULL);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        sh_log_event(SH_LOG_ERROR, "postgres_prepare_failed", "error", PQerrorMessage(c->pg));
    PQclear(r);
    if (!ok)
        return -1;
    c->cache[h].sql = sql;
    c->cache[h].n = c->nprepared++;
    return 0;
}

/* Maps a failed result to a status. */
static sh_status result_error(struct sh_pg_conn *c, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(c->pg) != CONNECTION_OK)
        return SH_ERR_STORE;
    if (state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return SH_ERR_RETRY;
    if (state != NULL && strncmp(state, "23", 2) == 0)
        return SH_ERR_CONFLICT;
    sh_log_event(SH_LOG_ERROR, "postgres_statement_failed", "sqlstate", state ? state : "none");
    return SH_ERR_STORE;
}

static void backoff(int attempt)
{
    /* 0.2 ms growing to ~13 ms, with jitter so that two retrying nodes part */
    useconds_t base = (useconds_t)(200u << (attempt < 6 ? attempt : 6));

    usleep(base + randombytes_uniform(base));
}

static sh_status query_once(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p,
                            PGresult **out)
{
    char name[16];
    PGresult *r;
    ExecStatusType es;
    sh_status rc;

    if (prepared(c, sql, p ? p->n : 0, name) != 0)
        return SH_ERR_STORE;
    r = PQexecPrepared(c->pg, name, p ? p->n : 0, p ? p->values : NULL, p ? p->lengths : NULL,
                       p ? p->formats : NULL, 1);
    es = PQresultStatus(r);
    if (es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK) {
        if (out != NULL)
            *out = r;
        else
            PQclear(r);
        return SH_OK;
    }
    rc = result_error(c, r);
    PQclear(r);
    return rc;
}

sh_status sh_pg_query(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p, PGresult **out)
{
    sh_status rc;

    if (out != NULL)
        *out = NULL;
    if (c == NULL)
        return SH_ERR_STORE; /* sh_pg_conn found PostgreSQL away */
    if (p != NULL && p->n >= SH_PG_PARAMS_MAX)
        return SH_ERR_INTERNAL;
    for (int attempt = 0;; attempt++) {
        rc = query_once(c, sql, p, out);
        if (rc == SH_OK)
            return rc;
        if (c->tx_depth > 0) {
            c->tx_failed = 1; /* PostgreSQL aborted the transaction */
            return rc;
        }
        if (rc != SH_ERR_RETRY || attempt + 1 >= TX_TRIES)
            return rc;
        backoff(attempt);
    }
}

sh_status sh_pg_run(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p, int *changes)
{
    PGresult *r = NULL;
    sh_status rc = sh_pg_query(c, sql, p, &r);

    if (rc == SH_OK && changes != NULL) {
        const char *n = PQcmdTuples(r);
        *changes = (n != NULL && *n != '\0') ? (int)strtol(n, NULL, 10) : 0;
    }
    PQclear(r);
    return rc;
}

sh_status sh_pg_update_result(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p)
{
    int changes = 0;
    sh_status rc = sh_pg_run(c, sql, p, &changes);

    if (rc == SH_OK && changes == 0)
        rc = SH_ERR_NOT_FOUND;
    return rc;
}

/* ---- transactions -------------------------------------------------------- */

static sh_status simple(struct sh_pg_conn *c, const char *sql)
{
    PGresult *r = PQexec(c->pg, sql);
    sh_status rc = PQresultStatus(r) == PGRES_COMMAND_OK ? SH_OK : result_error(c, r);

    PQclear(r);
    return rc;
}

static sh_status tx_open_as(struct sh_pg_conn *c, const char *begin)
{
    sh_status rc = simple(c, begin);

    if (rc == SH_OK) {
        c->tx_depth = 1;
        c->tx_failed = 0;
    }
    return rc;
}

/* Commits (commit set and nothing failed) or rolls back; the connection is
 * outside a transaction afterwards. A commit asked for after a statement
 * failed cannot happen (PostgreSQL aborted the transaction): it rolls back
 * and says so, rather than report a commit that did not take place. */
static sh_status tx_close(struct sh_pg_conn *c, int commit)
{
    sh_status rc = SH_OK;

    if (commit && !c->tx_failed) {
        rc = simple(c, "COMMIT");
    } else {
        simple(c, "ROLLBACK");
        if (commit)
            rc = SH_ERR_STORE;
    }
    c->tx_depth = 0;
    c->tx_failed = 0;
    return rc;
}

static sh_status atomic_as(sh_store *st, const char *begin, sh_pg_body_fn body, void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_status rc;

    if (c == NULL)
        return SH_ERR_STORE;
    if (c->tx_depth > 0)
        return body(c, ctx);
    for (int attempt = 0;; attempt++) {
        if ((rc = tx_open_as(c, begin)) != SH_OK)
            return rc;
        rc = body(c, ctx);
        if (rc == SH_OK)
            rc = tx_close(c, 1);
        else
            tx_close(c, 0);
        if (rc != SH_ERR_RETRY || attempt + 1 >= TX_TRIES)
            return rc;
        backoff(attempt);
    }
}

sh_status sh_pg_atomic(sh_store *st, sh_pg_body_fn body, void *ctx)
{
    return atomic_as(st, "BEGIN ISOLATION LEVEL READ COMMITTED", body, ctx);
}

static sh_status pg_tx_begin(sh_store *st, sh_store **out)
{
    struct pg_tx *t = calloc(1, sizeof(*t));
    sh_status rc;

    if (t == NULL)
        return SH_ERR_NOMEM;
    t->conn = sh_pg_conn(st);
    if (t->conn == NULL) {
        free(t);
        return SH_ERR_STORE;
    }
    if (t->conn->tx_depth > 0) {
        free(t);
        return SH_ERR_INTERNAL; /* one transaction per thread at a time */
    }
    if ((rc = tx_open_as(t->conn, "BEGIN ISOLATION LEVEL SERIALIZABLE")) != SH_OK) {
        free(t);
        return rc;
    }
    t->base = *st;
    t->base.root = st;
    t->base.tx_depth = 0;
    t->base.tx_failed = 0;
    *out = &t->base;
    return SH_OK;
}

static sh_status pg_tx_end(sh_store *tx, int commit)
{
    struct pg_tx *t = (struct pg_tx *)tx;
    sh_status rc = tx_close(t->conn, commit);

    free(t);
    return rc;
}

/* ---- result readers ------------------------------------------------------ */

int sh_pg_col_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col); }

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int64_t sh_pg_col_i64(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    int n = PQgetlength(r, row, col);

    if (PQgetisnull(r, row, col))
        return 0;
    switch (n) {
    case 1: /* bool */
        return p[0];
    case 2:
        return (int16_t)be(p, 2);
    case 4:
        return (int32_t)be(p, 4);
    case 8:
        return (int64_t)be(p, 8);
    default:
        return 0;
    }
}

void sh_pg_col_id(const PGresult *r, int row, int col, sh_id *id)
{
    sh_pg_col_fixed(r, row, col, id->b, SH_ID_LEN);
}

void sh_pg_col_fixed(const PGresult *r, int row, int col, uint8_t *out, size_t n)
{
    memset(out, 0, n);
    if (!PQgetisnull(r, row, col) && (size_t)PQgetlength(r, row, col) == n)
        memcpy(out, PQgetvalue(r, row, col), n);
}

int sh_pg_col_blob(const PGresult *r, int row, int col, uint8_t **out, size_t *len)
{
    int n = PQgetlength(r, row, col);

    *out = NULL;
    *len = 0;
    if (PQgetisnull(r, row, col) || n <= 0)
        return 0;
    *out = malloc((size_t)n);
    if (*out == NULL)
        return -1;
    memcpy(*out, PQgetvalue(r, row, col), (size_t)n);
    *len = (size_t)n;
    return 0;
}

void sh_pg_col_text(const PGresult *r, int row, int col, char *buf, size_t cap)
{
    size_t n = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);

    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    if (n > 0)
        memcpy(buf, PQgetvalue(r, row, col), n);
    buf[n] = '\0';
}

/* ---- rules: the change hint ---------------------------------------------- */

static int listen_open(struct pg_store *s)
{
    PGresult *r;
    int ok;

    s->listen = connect_store(s);
    if (s->listen == NULL)
        return -1;
    r = PQexec(s->listen, "LISTEN " RULES_CHANNEL "; LISTEN " USERS_CHANNEL);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(s->listen);
        s->listen = NULL;
        return -1;
    }
    return 0;
}

static void deliver(const PGnotify *n, sh_store_user_cb on_user, void *ctx)
{
    sh_id id;

    if (on_user != NULL && strcmp(n->relname, USERS_CHANNEL) == 0 &&
        sh_id_from_hex(n->extra, &id) == 0)
        on_user(ctx, &id);
}

/* Called by one thread only (the revocation poller). */
static sh_status pg_changes_wait(sh_store *st, int timeout_ms, sh_store_user_cb on_user, void *ctx)
{
    struct pg_store *s = root_of(st);
    struct pollfd pfd;
    PGnotify *n;

    if (s->listen != NULL && PQstatus(s->listen) != CONNECTION_OK) {
        PQfinish(s->listen);
        s->listen = NULL;
    }
    if (s->listen == NULL && listen_open(s) != 0) {
        usleep((useconds_t)timeout_ms * 1000u);
        return SH_ERR_STORE;
    }
    pfd.fd = PQsocket(s->listen);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, timeout_ms) > 0 && PQconsumeInput(s->listen) == 0)
        return SH_ERR_STORE;
    while ((n = PQnotifies(s->listen)) != NULL) {
        deliver(n, on_user, ctx);
        PQfreemem(n);
    }
    return SH_OK;
}

static const char SQL_USER_CHANGED[] = "SELECT pg_notify('" USERS_CHANNEL "',$1)::text";

static sh_status pg_user_changed(sh_store *st, const sh_id *user)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_id_hex hex;
    sh_pg_params p;

    if (c == NULL)
        return SH_ERR_STORE;
    sh_id_to_hex(user, &hex);
    sh_pg_params_init(&p);
    sh_pg_p_text(&p, hex.s);
    return sh_pg_run(c, SQL_USER_CHANGED, &p, NULL);
}

/* ---- migrations ---------------------------------------------------------- */

static sh_status exec_script(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType es = PQresultStatus(r);
    sh_status rc = (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) ? SH_OK : SH_ERR_STORE;

    if (rc != SH_OK)
        sh_log_event(SH_LOG_ERROR, "postgres_migration_statement_failed", "error",
                     PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static int current_version(PGconn *pg)
{
    PGresult *r = PQexec(pg, "SELECT coalesce(max(version),0) FROM schema_version");
    int v = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static sh_status apply(PGconn *pg, const struct sh_migration *m)
{
    char ver[64];
    sh_status rc;

    snprintf(ver, sizeof(ver), "INSERT INTO schema_version VALUES(%d)", m->version);
    if ((rc = exec_script(pg, "BEGIN")) != SH_OK)
        return rc;
    rc = exec_script(pg, m->sql);
    if (rc == SH_OK)
        rc = exec_script(pg, ver);
    if (rc == SH_OK)
        rc = exec_script(pg, "COMMIT");
    if (rc != SH_OK) {
        exec_script(pg, "ROLLBACK");
        sh_log_event(SH_LOG_ERROR, "migration_failed", "migration", m->name);
        return rc;
    }
    sh_log_event(SH_LOG_INFO, "migration_applied", "migration", m->name);
    return SH_OK;
}

/* Several nodes starting at once: the advisory lock lets one migrate while
 * the others wait, then find nothing left to do. */
static sh_status migrate(PGconn *pg)
{
    sh_status rc;
    int current;

    if ((rc = exec_script(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")")) != SH_OK)
        return rc;
    rc = exec_script(pg, "CREATE TABLE IF NOT EXISTS schema_version(version integer NOT NULL)");
    current = rc == SH_OK ? current_version(pg) : -1;
    if (current < 0)
        rc = SH_ERR_STORE;
    for (int i = 0; rc == SH_OK && i < sh_postgres_migrations_count; i++) {
        if (sh_postgres_migrations[i].version > current)
            rc = apply(pg, &sh_postgres_migrations[i]);
    }
    exec_script(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void pg_close(sh_store *st)
{
    struct pg_store *s = (struct pg_store *)st;
    struct sh_pg_conn *c = s->conns, *next;

    for (; c != NULL; c = next) {
        next = c->next;
        PQfinish(c->pg);
        free(c);
    }
    PQfinish(s->listen);
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    if (s->url != NULL)
        sodium_memzero(s->url, strlen(s->url)); /* may hold a password */
    free(s->url);
    free(s);
}

sh_status sh_store_open_postgres(const char *url, sh_store **out)
{
    struct pg_store *s = calloc(1, sizeof(*s));
    struct sh_pg_conn *c;

    if (s == NULL)
        return SH_ERR_NOMEM;
    s->base.core = &pg_ops;
    s->base.mfa = &sh_pg_mfa_ops;
    s->base.devices = &sh_pg_device_ops;
    s->base.oauth = &sh_pg_oauth_ops;
    s->base.backend = "postgres";
    s->base.blocking = 1;
    s->url = strdup(url);
    pthread_mutex_init(&s->lock, NULL);
    if (s->url == NULL || pthread_key_create(&s->key, NULL) != 0) {
        free(s->url);
        free(s);
        return SH_ERR_NOMEM;
    }
    c = sh_pg_conn(&s->base);
    if (c == NULL || migrate(c->pg) != SH_OK) {
        pg_close(&s->base);
        return SH_ERR_STORE;
    }
    *out = &s->base;
    return SH_OK;
}

static const struct sh_store_core_ops pg_ops = {
    .close = pg_close,
    .user_insert = sh_pg_user_insert,
    .user_get = sh_pg_user_get,
    .user_get_by_email = sh_pg_user_get_by_email,
    .user_set_name = sh_pg_user_set_name,
    .user_set_password = sh_pg_user_set_password,
    .session_insert = sh_pg_session_insert,
    .session_get = sh_pg_session_get,
    .session_list = sh_pg_session_list,
    .session_revoke = sh_pg_session_revoke,
    .refresh_find = sh_pg_refresh_find,
    .refresh_rotate = sh_pg_refresh_rotate,
    .rule_insert = sh_pg_rule_insert,
    .rules_feed = sh_pg_rules_feed,
    .changes_wait = pg_changes_wait,
    .user_changed = pg_user_changed,
    .meta_get = sh_pg_meta_get,
    .schema_version = sh_pg_schema_version,
    .meta_put = sh_pg_meta_put,
    .meta_add = sh_pg_meta_add,
    .tx_begin = pg_tx_begin,
    .tx_end = pg_tx_end,
    .table_list = sh_pg_table_list,
    .bulk_hint = sh_pg_bulk_hint,
    .table_count = sh_pg_table_count,
    .table_export = sh_pg_table_export,
    .table_import_begin = sh_pg_table_import_begin,
    .table_import_row = sh_pg_table_import_row,
    .table_import_end = sh_pg_table_import_end,
};
