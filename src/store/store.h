/*
 * store.h - the one seam between domain code and a storage backend.
 *
 * Domain modules call the store and never see SQL; backends (sqlite/, the
 * embedded default, and postgres/, for several nodes) implement the tables
 * of functions below and never see HTTP. Records carry sealed blobs and
 * hashes only: the store never holds a key and never sees a personal value
 * in clear. Nothing above src/store/<backend>/ knows which backend runs.
 *
 * The contract, the same on every backend:
 * - Dispatch has one spelling: sh_store_do(st, table, op, args...), with
 *   table one of core, devices, mfa, oauth.
 * - Isolation: every operation is atomic and serializable on its own; an
 *   operation documented as conditional ("only if", "while unused") is one
 *   decision, so of two racing callers, on one node or several, exactly one
 *   succeeds.
 * - Transactions are explicit handles (sh_store_tx_run, or begin/end):
 *   operations called with the handle commit or roll back together. A
 *   handle belongs to the thread that began it; calls through the store
 *   itself from that thread meanwhile join it. Transactions nest by
 *   flattening: only the outermost commits.
 * - Retries: a backend retries a serialization failure or deadlock of an
 *   operation of its own, with a bound; one inside a caller's transaction
 *   comes back as SH_ERR_RETRY, and sh_store_tx_run runs the caller's
 *   function again, with a bound.
 * - Durability: an operation or transaction that returned SH_OK is durable
 *   (survives kill -9 and power loss).
 * - Listing: callbacks are called after the rows were read; a callback may
 *   call the store again.
 * - Errors: SH_ERR_NOT_FOUND (no row / condition not met), SH_ERR_CONFLICT
 *   (constraint), SH_ERR_STORE (unreachable or failed), SH_ERR_RETRY,
 *   SH_ERR_NOMEM.
 * - Threads: on a store with st->blocking set, any call may wait on the
 *   network; callers keep such calls off the HTTP event threads.
 *
 * Ownership: records filled by the store own their blobs (malloc'd); release
 * them with the matching *_clear function. Records passed in are borrowed.
 * Every function is safe to call from any thread.
 */
#ifndef SH_STORE_H
#define SH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"
#include "metrics/metrics.h"

#define SH_STORE_HASH_LEN 32
#define SH_STORE_PWHASH_MAX 128
#define SH_STORE_RULE_VALUE_MAX 64

typedef struct sh_store sh_store;

typedef struct sh_user_rec {
    sh_id id;
    uint8_t email_idx[SH_STORE_HASH_LEN]; /* keyed blind index */
    uint8_t *email_ct;                    /* sealed e-mail */
    size_t email_ct_len;
    uint8_t *name_ct; /* sealed display name, may be NULL */
    size_t name_ct_len;
    char password_hash[SH_STORE_PWHASH_MAX];
    uint8_t *wrapped_key; /* data key wrapped by master key */
    size_t wrapped_key_len;
    int64_t created_at;
    int64_t updated_at;
} sh_user_rec;

typedef struct sh_session_rec {
    sh_id id;
    sh_id user_id;
    int token_class;
    uint8_t *device_name_ct; /* sealed, may be NULL */
    size_t device_name_ct_len;
    int64_t created_at;
    int64_t last_used_at;
    int64_t revoked_at; /* 0 while active */
} sh_session_rec;

enum sh_rule_scope {
    SH_RULE_ALL = 1,
    SH_RULE_CLASS,
    SH_RULE_USER,
    SH_RULE_SESSION,
    SH_RULE_CLIENT,      /* every token of one OAuth client (partner) */
    SH_RULE_INTEGRATION, /* every partner token, no app session */
    SH_RULE_GRANT,       /* one user's link to one partner */
};

typedef struct sh_rule_rec {
    int64_t seq; /* store-assigned, increasing */
    sh_id id;
    int scope;                           /* enum sh_rule_scope */
    char value[SH_STORE_RULE_VALUE_MAX]; /* class name or hex id; "" for all */
    int64_t not_before;
    int64_t created_at;
} sh_rule_rec;

typedef void (*sh_store_session_cb)(void *ctx, const sh_session_rec *s);
typedef void (*sh_store_rule_cb)(void *ctx, const sh_rule_rec *r);
/* A user whose cached data another process changed (see changes_wait). */
typedef void (*sh_store_user_cb)(void *ctx, const sh_id *user);

/* A position in the feed of revocation rules, meaningful to the backend
 * only. All zero: the start. */
typedef struct sh_rule_cursor {
    int64_t a;
    int64_t b;
} sh_rule_cursor;

/* ---- bulk copy: every row of a table, as it is stored ------------------
 * For moving an installation from one backend to another (`safehouse admin
 * migrate-store`). A table is named as in the schema (store/tables.h lists
 * them in foreign-key order); a row is its columns by name, each value of
 * one of four kinds. Nothing is interpreted: sealed blobs and hashes stay
 * opaque bytes, so no key is needed. */
enum sh_store_value_kind { SH_VAL_NULL = 0, SH_VAL_INT, SH_VAL_TEXT, SH_VAL_BLOB };

typedef struct sh_store_value {
    int kind;         /* enum sh_store_value_kind */
    int64_t i;        /* SH_VAL_INT */
    const uint8_t *p; /* SH_VAL_TEXT (not NUL-terminated) and SH_VAL_BLOB; */
    size_t len;       /* never NULL for those, even when len is 0 */
} sh_store_value;

/* One exported row: names[i] holds vals[i], for i < ncols; both borrowed
 * for the call only. Returning anything but SH_OK stops the export, which
 * returns that status. */
typedef sh_status (*sh_store_row_cb)(void *ctx, int ncols, const char *const *names,
                                     const sh_store_value *vals);
typedef void (*sh_store_table_cb)(void *ctx, const char *table);
/* A writer of one table's rows, from table_import_begin to
 * table_import_end: each backend's own state follows this head. */
typedef struct sh_store_import {
    int ncols; /* values in every row */
} sh_store_import;

/* What a bulk load (seed, migrate-store) asks its thread's connection to
 * keep in memory (see bulk_hint): the pages of a 2.4M-user store that one
 * large transaction touches at random, with room to spare. */
#define SH_STORE_BULK_BYTES (INT64_C(2) << 30)

struct sh_store_core_ops {
    void (*close)(sh_store *st);
    sh_status (*user_insert)(sh_store *st, const sh_user_rec *u);
    sh_status (*user_get)(sh_store *st, const sh_id *id, sh_user_rec *out);
    sh_status (*user_get_by_email)(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                   sh_user_rec *out);
    sh_status (*user_set_name)(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                               int64_t now);
    sh_status (*user_set_password)(sh_store *st, const sh_id *id, const char *hash, int64_t now);
    sh_status (*session_insert)(sh_store *st, const sh_session_rec *s,
                                const uint8_t refresh_hash[SH_STORE_HASH_LEN]);
    sh_status (*session_get)(sh_store *st, const sh_id *id, sh_session_rec *out);
    sh_status (*session_list)(sh_store *st, const sh_id *user_id, sh_store_session_cb cb,
                              void *ctx);
    /* SH_ERR_NOT_FOUND when unknown or already revoked. */
    sh_status (*session_revoke)(sh_store *st, const sh_id *id, int64_t now);
    sh_status (*refresh_find)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                              sh_id *session_id, int *rotated);
    /* Marks old_hash rotated and stores new_hash, only if old_hash was not
     * rotated yet: of two racing rotations exactly one succeeds, the other
     * gets SH_ERR_CONFLICT. */
    sh_status (*refresh_rotate)(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                                const uint8_t new_hash[SH_STORE_HASH_LEN], const sh_id *session_id,
                                int64_t now);
    /* Stores a rule; r->seq gets a number for display and ordering only. */
    sh_status (*rule_insert)(sh_store *st, sh_rule_rec *r);
    /* Calls cb for every rule committed since *cur, then moves *cur on.
     * Never skips a rule, whatever order concurrent writers commit in; may
     * deliver a rule again, so consumers must be idempotent. */
    sh_status (*rules_feed)(sh_store *st, sh_rule_cursor *cur, sh_store_rule_cb cb, void *ctx);
    /* Waits up to timeout_ms for news from other nodes: a hint that rules
     * may have changed (read the feed), and users whose cached data changed
     * (on_user is called for each, from this thread). Returns SH_OK on news
     * or when the time ran out, SH_ERR_STORE when the store cannot be
     * reached. A backend without notifications just sleeps: callers must
     * not rely on it for more than speed. One thread only. */
    sh_status (*changes_wait)(sh_store *st, int timeout_ms, sh_store_user_cb on_user, void *ctx);
    /* Tells the other nodes that user's cached data changed (at the commit
     * of the caller's transaction, if any). Best effort: caches keep their
     * own time bound for a lost notice. */
    sh_status (*user_changed)(sh_store *st, const sh_id *user);
    sh_status (*meta_get)(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len);
    /* *stored gets the newest migration applied to the store, *known the
     * newest this binary carries (a readiness check: they differ when
     * another node migrated further, or a migration is missing). One round
     * trip; SH_ERR_STORE when the store cannot be reached. */
    sh_status (*schema_version)(sh_store *st, int *stored, int *known);
    sh_status (*meta_put)(sh_store *st, const char *key, const uint8_t *val, size_t len);
    /* Stores key only if it is absent: SH_OK, or SH_ERR_CONFLICT when a row
     * is there already (another node got there first). */
    sh_status (*meta_add)(sh_store *st, const char *key, const uint8_t *val, size_t len);
    /* A transaction on this thread's connection: *tx is a handle with the
     * same tables, freed by tx_end, which commits when commit is set and
     * rolls back otherwise. */
    sh_status (*tx_begin)(sh_store *st, sh_store **tx);
    sh_status (*tx_end)(sh_store *tx, int commit);
    /* ---- bulk copy (see sh_store_value) ---- */
    /* Calls cb with the name of every table of the store, but the
     * backend's own bookkeeping (schema_version, SQLite's sqlite_*). */
    sh_status (*table_list)(sh_store *st, sh_store_table_cb cb, void *ctx);
    /* Before a bulk load on this thread (seed, migrate-store): the store
     * may spend up to bytes of memory on it until the thread's connection
     * closes (SQLite: that connection's page cache, so that the pages a
     * large transaction dirties stay in memory until its commit). Changes
     * nothing that is stored; a backend that needs nothing returns SH_OK. */
    sh_status (*bulk_hint)(sh_store *st, int64_t bytes);
    /* *n gets the number of rows of table; SH_ERR_NOT_FOUND: no such table. */
    sh_status (*table_count)(sh_store *st, const char *table, int64_t *n);
    /* Calls cb for every row of table, in ascending order of its first
     * column (revocation_rules: seq), with every column but the backend's
     * private ones (PostgreSQL's revocation_rules.txid). Streams: rows are
     * read while cb runs, so cb must not call this store (another store is
     * fine). SH_ERR_NOT_FOUND: no such table; SH_ERR_STORE also for a value
     * of none of the four kinds. */
    sh_status (*table_export)(sh_store *st, const char *table, sh_store_row_cb cb, void *ctx);
    /* Starts writing rows into table with the columns names[0..ncols)
     * (read during the call only). A column the store numbers itself
     * (PostgreSQL's identity revocation_rules.seq) is not written: it gets
     * the next number, in the order the rows come; a column not named gets
     * its default. Atomic on its own; with a transaction handle, part of
     * that transaction. Until table_import_end, st serves this import only.
     * SH_ERR_NOT_FOUND: no such table or column. On SH_OK, *out must go to
     * table_import_end. */
    sh_status (*table_import_begin)(sh_store *st, const char *table, int ncols,
                                    const char *const *names, sh_store_import **out);
    /* Adds a row, vals[i] for names[i]. A value the column cannot hold is
     * SH_ERR_INVALID_REQUEST; a constraint may fail here or at the end
     * (SH_ERR_CONFLICT). After an error, only table_import_end may follow. */
    sh_status (*table_import_row)(sh_store *st, sh_store_import *im, const sh_store_value *vals);
    /* Ends the import and frees im: with ok set, writes the rows and returns
     * the first failure of the import; else abandons them (the transaction
     * it was part of must roll back) and returns SH_OK. */
    sh_status (*table_import_end)(sh_store *st, sh_store_import *im, int ok);
};

/* Per-domain operation tables, each defined in its own header
 * (store/store_<domain>.h) so domains grow without one giant interface.
 * A backend sets every pointer. */
struct sh_store_device_ops;
struct sh_store_mfa_ops;
struct sh_store_oauth_ops;

struct sh_store {
    const struct sh_store_core_ops *core;      /* accounts, sessions, rules */
    const struct sh_store_device_ops *devices; /* store_devices.h */
    const struct sh_store_mfa_ops *mfa;        /* store_mfa.h: 2FA, mail, limits */
    const struct sh_store_oauth_ops *oauth;    /* store_oauth.h */
    const char *backend;                       /* "sqlite", "postgres" */
    int blocking;                              /* calls may wait on the network */
    sh_store *root;                            /* a transaction handle: its store; else NULL */
    int tx_depth;                              /* a transaction handle: nested begins */
    int tx_failed;                             /* a nested part failed: roll back */
};

/* The one dispatch spelling; every call is timed for /metrics (two reads of
 * the vDSO clock and three relaxed atomic adds). The comma sequences the
 * clock before the call; calls nest (a transaction's body makes more). */
#define sh_store_do(st, table, op, ...)                                                            \
    (sh_metrics_store_begin(), sh_metrics_store_end((st)->table->op((st), __VA_ARGS__)))

/* Opens the store a URL names, creating and migrating it: "sqlite:PATH"
 * or "postgres://..." / "postgresql://..." (libpq's URI syntax). url NULL
 * or "": the embedded default in data_dir. */
sh_status sh_store_open(const char *url, const char *data_dir, sh_store **out);
/* The backend a URL names ("sqlite", "postgres", "unknown"), for logs:
 * never the URL itself, which may carry a password. */
const char *sh_store_url_backend(const char *url);
/* 1 when the store a URL names exists already (for SQLite: the file; a
 * server-side store is taken to exist), else 0. */
int sh_store_present(const char *url, const char *data_dir);
/* The URL sh_store_open uses for url NULL: the SQLite file in data_dir. */
int sh_store_default_url(const char *data_dir, char *buf, size_t cap);

static inline void sh_store_close(sh_store *st)
{
    if (st != NULL)
        st->core->close(st);
}

/* Explicit transactions. begin on a transaction handle nests (the same
 * handle comes back). end commits when rc is SH_OK and rolls back
 * otherwise; it returns rc, or the commit's failure. Inside one, an
 * operation that fails (SH_ERR_CONFLICT included) dooms the transaction on
 * PostgreSQL, which aborts it: code that expects a conflict and goes on
 * looks first (as account creation does for a taken e-mail). */
sh_status sh_store_tx_begin(sh_store *st, sh_store **tx);
sh_status sh_store_tx_end(sh_store *tx, sh_status rc);
/* Runs fn(tx, ctx) in a transaction, again (up to a bound) when it or the
 * commit fails with SH_ERR_RETRY. fn must have no effect outside the
 * store that it cannot repeat. Returns fn's status or the commit's. */
typedef sh_status (*sh_store_tx_fn)(sh_store *tx, void *ctx);
sh_status sh_store_tx_run(sh_store *st, sh_store_tx_fn fn, void *ctx);

void sh_user_rec_clear(sh_user_rec *u);
void sh_session_rec_clear(sh_session_rec *s);

#endif
