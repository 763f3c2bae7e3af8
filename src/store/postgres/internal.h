/*
 * internal.h - what the PostgreSQL backend's files share: the per-thread
 * connection, prepared statements, parameters and result readers.
 *
 * One file per domain (users.c, sessions.c, rules.c, devices.c, mfa.c,
 * mail.c, oauth.c) holds that domain's SQL and implements its part of the
 * store interface with the same meaning as the SQLite backend.
 *
 * Conventions every file follows:
 * - SQL strings are static arrays; their address names the prepared
 *   statement on each connection (prepared on first use, again after a
 *   reconnect). Parameters are $1..$n.
 * - Parameters: ids, hashes and sealed blobs are bytea in binary; numbers
 *   and text go as text and PostgreSQL casts them to the column's type.
 * - Results come back in binary; read them with sh_pg_col_* only.
 * - Isolation: the backend's own statements and sh_pg_atomic bodies run at
 *   READ COMMITTED, so every body locks what it reads before deciding
 *   (SELECT ... FOR UPDATE) or decides in one conditional statement; a
 *   caller's explicit transaction runs at SERIALIZABLE. A statement outside
 *   a transaction is retried here on a serialization failure or a deadlock;
 *   inside one, SH_ERR_RETRY goes up to whoever owns the transaction
 *   (sh_pg_atomic for an operation's own, sh_store_tx_run for the
 *   caller's).
 * - A result (PGresult) is complete before any row is read, so a callback
 *   may call the store again.
 */
#ifndef SH_PG_INTERNAL_H
#define SH_PG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_devices.h"
#include "store/store_mfa.h"
#include "store/store_oauth.h"

#define SH_PG_PARAMS_MAX 16
#define SH_PG_STMT_CACHE 256
#define SH_PG_NUM_LEN 24

struct sh_pg_prepared {
    const char *sql; /* identity: the address of a static SQL string */
    int n;           /* statement name is "s<n>" */
};

struct sh_pg_conn {
    PGconn *pg;
    struct sh_pg_prepared cache[SH_PG_STMT_CACHE];
    int nprepared;
    int tx_depth;    /* > 0 inside a transaction */
    int tx_failed;   /* an inner part failed: the outermost rolls back */
    int64_t used_us; /* last use: a connection idle longer is checked first */
    struct sh_pg_conn *next;
};

/* Parameters of one statement. Values are borrowed (they must outlive the
 * call), except numbers, which are formatted into num[]. */
typedef struct sh_pg_params {
    int n;
    const char *values[SH_PG_PARAMS_MAX];
    int lengths[SH_PG_PARAMS_MAX];
    int formats[SH_PG_PARAMS_MAX];
    char num[SH_PG_PARAMS_MAX][SH_PG_NUM_LEN];
} sh_pg_params;

void sh_pg_params_init(sh_pg_params *p);
void sh_pg_p_id(sh_pg_params *p, const sh_id *id);
/* bytea, or SQL NULL when v is NULL. */
void sh_pg_p_blob(sh_pg_params *p, const void *v, size_t n);
void sh_pg_p_i64(sh_pg_params *p, int64_t v);
/* text, or SQL NULL when s is NULL. */
void sh_pg_p_text(sh_pg_params *p, const char *s);
void sh_pg_p_null(sh_pg_params *p);

/* The connection for st: a transaction handle's own, else this thread's
 * (opened, or re-opened after a failure, on use). NULL when PostgreSQL
 * cannot be reached: answer SH_ERR_STORE. */
struct sh_pg_conn *sh_pg_conn(sh_store *st);

/* Runs a prepared statement. On SH_OK *out (may be NULL when the caller
 * wants no rows) holds the result, owned by the caller (PQclear). c may be
 * NULL (what sh_pg_conn returns when PostgreSQL is away): SH_ERR_STORE, so
 * callers pass sh_pg_conn's answer straight on. The same holds for
 * sh_pg_run and sh_pg_update_result.
 * Errors: SH_ERR_CONFLICT (unique, foreign-key or check violation),
 * SH_ERR_RETRY (serialization failure or deadlock inside a transaction),
 * SH_ERR_STORE (connection lost, or any other failure). */
sh_status sh_pg_query(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p, PGresult **out);
/* Runs a statement that returns no rows; *changes (may be NULL) gets the
 * number of rows it changed. */
sh_status sh_pg_run(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p, int *changes);
/* Like sh_pg_run, but SH_ERR_NOT_FOUND when no row changed. */
sh_status sh_pg_update_result(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p);

/* Runs body(c, ctx) atomically: in its own transaction, retried on
 * SH_ERR_RETRY up to a bound, or as part of the caller's transaction when
 * st is a transaction handle (or this thread has one open). */
typedef sh_status (*sh_pg_body_fn)(struct sh_pg_conn *c, void *ctx);
sh_status sh_pg_atomic(sh_store *st, sh_pg_body_fn body, void *ctx);

/* Result readers (binary results). A NULL value reads as 0, "" or absent. */
int sh_pg_col_null(const PGresult *r, int row, int col);
int64_t sh_pg_col_i64(const PGresult *r, int row, int col); /* int2/4/8 and bool */
void sh_pg_col_id(const PGresult *r, int row, int col, sh_id *id);
/* Copies a bytea of exactly n bytes into out (zeroes when NULL or of
 * another length). */
void sh_pg_col_fixed(const PGresult *r, int row, int col, uint8_t *out, size_t n);
/* Copies a bytea into a malloc'd buffer (*out NULL for SQL NULL or empty).
 * Returns 0, or -1 when out of memory. */
int sh_pg_col_blob(const PGresult *r, int row, int col, uint8_t **out, size_t *len);
/* Copies text into buf (NUL-terminated, cut to cap - 1 bytes). */
void sh_pg_col_text(const PGresult *r, int row, int col, char *buf, size_t cap);

/* Domain entry points. */
sh_status sh_pg_user_insert(sh_store *st, const sh_user_rec *u);
sh_status sh_pg_user_get(sh_store *st, const sh_id *id, sh_user_rec *out);
sh_status sh_pg_user_get_by_email(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                  sh_user_rec *out);
sh_status sh_pg_user_set_name(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                              int64_t now);
sh_status sh_pg_user_set_password(sh_store *st, const sh_id *id, const char *hash, int64_t now);
sh_status sh_pg_meta_get(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len);
sh_status sh_pg_schema_version(sh_store *st, int *stored, int *known);
sh_status sh_pg_meta_add(sh_store *st, const char *key, const uint8_t *val, size_t len);
sh_status sh_pg_meta_put(sh_store *st, const char *key, const uint8_t *val, size_t len);
sh_status sh_pg_session_insert(sh_store *st, const sh_session_rec *s,
                               const uint8_t refresh_hash[SH_STORE_HASH_LEN]);
sh_status sh_pg_session_get(sh_store *st, const sh_id *id, sh_session_rec *out);
sh_status sh_pg_session_list(sh_store *st, const sh_id *user_id, sh_store_session_cb cb, void *ctx);
sh_status sh_pg_session_revoke(sh_store *st, const sh_id *id, int64_t now);
sh_status sh_pg_refresh_find(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], sh_id *session_id,
                             int *rotated);
sh_status sh_pg_refresh_rotate(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                               const uint8_t new_hash[SH_STORE_HASH_LEN], const sh_id *session_id,
                               int64_t now);
sh_status sh_pg_rule_insert(sh_store *st, sh_rule_rec *r);
sh_status sh_pg_rules_feed(sh_store *st, sh_rule_cursor *cur, sh_store_rule_cb cb, void *ctx);

sh_status sh_pg_mail_insert(sh_store *st, const sh_mail_rec *m);
sh_status sh_pg_mail_due(sh_store *st, int64_t now, int64_t lease_until, int limit,
                         sh_store_mail_cb cb, void *ctx);
sh_status sh_pg_mail_done(sh_store *st, const sh_id *id);
sh_status sh_pg_mail_count(sh_store *st, int64_t *count);
sh_status sh_pg_mail_retry(sh_store *st, const sh_id *id, int attempts, int64_t next_attempt_at);

extern const struct sh_store_mfa_ops sh_pg_mfa_ops;
extern const struct sh_store_device_ops sh_pg_device_ops;
extern const struct sh_store_oauth_ops sh_pg_oauth_ops;

/* Bulk copy of whole tables (bulk.c; the contract is in store.h). */
sh_status sh_pg_table_list(sh_store *st, sh_store_table_cb cb, void *ctx);
sh_status sh_pg_bulk_hint(sh_store *st, int64_t bytes);
sh_status sh_pg_table_count(sh_store *st, const char *table, int64_t *n);
sh_status sh_pg_table_export(sh_store *st, const char *table, sh_store_row_cb cb, void *ctx);
sh_status sh_pg_table_import_begin(sh_store *st, const char *table, int ncols,
                                   const char *const *names, sh_store_import **out);
sh_status sh_pg_table_import_row(sh_store *st, sh_store_import *im, const sh_store_value *vals);
sh_status sh_pg_table_import_end(sh_store *st, sh_store_import *im, int ok);

#endif
