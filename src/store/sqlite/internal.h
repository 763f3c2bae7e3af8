/*
 * internal.h - what the SQLite backend's files share: the per-thread
 * connection, the prepared-statement cache and small binding helpers.
 * One file per domain (users.c, sessions.c, rules.c, ...) holds that
 * domain's SQL and implements its part of the store interface.
 */
#ifndef SH_SQLITE_INTERNAL_H
#define SH_SQLITE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_devices.h"
#include "store/store_mfa.h"
#include "store/store_oauth.h"

#define SH_SQ_STMT_CACHE 128

struct sh_sq_cached {
    const char *sql; /* identity: the address of a static SQL string */
    sqlite3_stmt *stmt;
};

struct sh_sq_conn {
    sqlite3 *db;
    struct sh_sq_cached cache[SH_SQ_STMT_CACHE];
    int in_batch; /* in an explicit transaction: per-op ones fold into it */
    struct sh_sq_conn *next;
};

extern const char SQL_BEGIN[];
extern const char SQL_COMMIT[];
extern const char SQL_ROLLBACK[];

/* This thread's connection, opened on first use; NULL on failure. */
struct sh_sq_conn *sh_sq_conn(sh_store *st);
/* The cached prepared statement for a static SQL string (reset, unbound),
 * or NULL. sql must have static storage: its address is the cache key. */
sqlite3_stmt *sh_sq_stmt(struct sh_sq_conn *c, const char *sql);
/* Resets and unbinds a statement after use. */
void sh_sq_done(sqlite3_stmt *q);
/* Maps a failed step to a status (constraint -> SH_ERR_CONFLICT). */
sh_status sh_sq_step_error(struct sh_sq_conn *c, int rc);
/* The integer in the first column of the one row sql (no parameters)
 * answers. c may be NULL (then SH_ERR_STORE). */
sh_status sh_sq_int64(struct sh_sq_conn *c, const char *sql, int64_t *out);
/* Runs a statement that returns no rows; *changes (may be NULL) gets the
 * number of rows changed. Resets the statement. */
sh_status sh_sq_run(struct sh_sq_conn *c, sqlite3_stmt *q, int *changes);
/* Like sh_sq_run, but SH_ERR_NOT_FOUND when no row changed. */
sh_status sh_sq_update_result(struct sh_sq_conn *c, sqlite3_stmt *q);
/* Runs a cached statement with no parameters. */
sh_status sh_sq_exec(struct sh_sq_conn *c, const char *sql);
/* Per-operation transactions; inside an explicit one they are part of it. */
sh_status sh_sq_tx_begin(struct sh_sq_conn *c);
sh_status sh_sq_tx_end(struct sh_sq_conn *c, sh_status rc);

void sh_sq_bind_id(sqlite3_stmt *q, int i, const sh_id *id);
/* Binds a blob, or NULL when p is NULL. The memory must outlive the step. */
void sh_sq_bind_blob(sqlite3_stmt *q, int i, const void *p, size_t n);
void sh_sq_col_id(sqlite3_stmt *q, int i, sh_id *id);
/* Copies a blob column into a malloc'd buffer (*out NULL for SQL NULL).
 * Returns 0, or -1 when out of memory. */
int sh_sq_col_blob(sqlite3_stmt *q, int i, uint8_t **out, size_t *len);

/* ---- lists ------------------------------------------------------------------
 * store.h promises that list callbacks run after the rows were read, so a
 * callback may call the store again, even the same list, which gets the same
 * cached statement. So every list reads all its rows into memory it owns,
 * resets the statement, and only then calls back (sh_sq_list). */

/* The most bytes of records one list holds at once. */
#define SH_SQ_LIST_MAX_BYTES ((size_t)32 << 20)

/* A growable array of fixed-size records, holding at most max of them. Each
 * record is zeroed when added; clear (NULL when records own nothing) frees
 * what one record owns. */
struct sh_sq_rows {
    unsigned char *p;
    size_t n, cap; /* records held, records allocated */
    size_t size;   /* bytes per record */
    size_t max;    /* most records */
    void (*clear)(void *rec);
};

/* An empty array; max * size must not overflow. */
void sh_sq_rows_init(struct sh_sq_rows *r, size_t size, size_t max, void (*clear)(void *rec));
/* Appends a zeroed record, *rec pointing at it (valid until the next add).
 * SH_OK, SH_ERR_NOMEM, or SH_ERR_TOO_LARGE when max records are held. */
sh_status sh_sq_rows_add(struct sh_sq_rows *r, void **rec);
/* The i-th record, i < r->n. */
void *sh_sq_rows_at(const struct sh_sq_rows *r, size_t i);
/* Clears every record and frees the array; r is empty and reusable after. */
void sh_sq_rows_clear(struct sh_sq_rows *r);

/* A caller's list callback, one member per kind of record. */
union sh_sq_cb {
    sh_store_session_cb session;
    sh_store_rule_cb rule;
    sh_store_mail_cb mail;
    sh_store_device_cb device;
    sh_store_share_cb share;
    sh_store_client_cb client;
    sh_store_grant_cb grant;
    sh_store_device_ref_cb device_ref;
};

/* One kind of listed record: its size; read fills a zeroed record from the
 * current row (0, or -1 when out of memory, leaving it safe to clear); give
 * hands a record to the caller's callback; clear frees what a record owns
 * (NULL when it owns nothing). */
struct sh_sq_kind {
    size_t size;
    int (*read)(sqlite3_stmt *q, void *rec);
    void (*give)(union sh_sq_cb cb, void *ctx, const void *rec);
    void (*clear)(void *rec);
};

/* Steps q (bound by the caller) to the end, reading every row as a k record
 * (at most SH_SQ_LIST_MAX_BYTES of them), resets q, then gives each record
 * to cb in row order and frees them all. SH_OK; or, with nothing given,
 * SH_ERR_NOMEM, or SH_ERR_STORE (a step failed, or too many rows). */
sh_status sh_sq_list(struct sh_sq_conn *c, sqlite3_stmt *q, const struct sh_sq_kind *k,
                     union sh_sq_cb cb, void *ctx);

/* Domain entry points (users.c, sessions.c, rules.c). */
sh_status sh_sq_user_insert(sh_store *st, const sh_user_rec *u);
sh_status sh_sq_user_get(sh_store *st, const sh_id *id, sh_user_rec *out);
sh_status sh_sq_user_get_by_email(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                  sh_user_rec *out);
sh_status sh_sq_user_set_name(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                              int64_t now);
sh_status sh_sq_user_set_password(sh_store *st, const sh_id *id, const char *hash, int64_t now);
sh_status sh_sq_meta_get(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len);
sh_status sh_sq_schema_version(sh_store *st, int *stored, int *known);
sh_status sh_sq_meta_add(sh_store *st, const char *key, const uint8_t *val, size_t len);
sh_status sh_sq_meta_put(sh_store *st, const char *key, const uint8_t *val, size_t len);
sh_status sh_sq_session_insert(sh_store *st, const sh_session_rec *s,
                               const uint8_t refresh_hash[SH_STORE_HASH_LEN]);
sh_status sh_sq_session_get(sh_store *st, const sh_id *id, sh_session_rec *out);
sh_status sh_sq_session_list(sh_store *st, const sh_id *user_id, sh_store_session_cb cb, void *ctx);
sh_status sh_sq_session_revoke(sh_store *st, const sh_id *id, int64_t now);
sh_status sh_sq_refresh_find(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], sh_id *session_id,
                             int *rotated);
sh_status sh_sq_refresh_rotate(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                               const uint8_t new_hash[SH_STORE_HASH_LEN], const sh_id *session_id,
                               int64_t now);
sh_status sh_sq_rule_insert(sh_store *st, sh_rule_rec *r);
sh_status sh_sq_rules_feed(sh_store *st, sh_rule_cursor *cur, sh_store_rule_cb cb, void *ctx);

/* Two-factor, one-time tokens, known logins, e-mail state (mfa.c) and the
 * outbox (mail.c). */
extern const struct sh_store_mfa_ops sh_sq_mfa_ops;
sh_status sh_sq_mail_insert(sh_store *st, const sh_mail_rec *m);
sh_status sh_sq_mail_due(sh_store *st, int64_t now, int64_t lease_until, int limit,
                         sh_store_mail_cb cb, void *ctx);
sh_status sh_sq_mail_done(sh_store *st, const sh_id *id);
sh_status sh_sq_mail_count(sh_store *st, int64_t *count);
sh_status sh_sq_mail_retry(sh_store *st, const sh_id *id, int attempts, int64_t next_attempt_at);
/* Columns of a device row (table alias d), in the order sh_sq_read_device
 * reads them (12 columns). */
#define SH_SQ_DEVICE_COLS                                                                          \
    "d.id,d.type,d.model,d.owner_id,d.generation,d.name_ct,d.network_ct,"                          \
    "coalesce(d.firmware_version,''),coalesce(d.last_seen_at,0),d.desired_state,"                  \
    "coalesce(d.claim_expires_at,0),d.created_at"
struct sh_device_rec;
/* Reads SH_SQ_DEVICE_COLS into d; 0, or -1 when out of memory. */
int sh_sq_read_device(sqlite3_stmt *q, struct sh_device_rec *d);
/* Lists the device rows of q (bound by the caller) whose 13th column is the
 * caller's role, as sh_sq_list does: every row is read and q reset before
 * the first call of cb. */
sh_status sh_sq_each_device(struct sh_sq_conn *c, sqlite3_stmt *q, sh_store_device_cb cb,
                            void *ctx);

/* Per-domain ops tables, registered by sh_store_open_sqlite. */
extern const struct sh_store_device_ops sh_sq_device_ops;
extern const struct sh_store_oauth_ops sh_sq_oauth_ops;

/* Bulk copy of whole tables (bulk.c; the contract is in store.h). */
sh_status sh_sq_table_list(sh_store *st, sh_store_table_cb cb, void *ctx);
sh_status sh_sq_bulk_hint(sh_store *st, int64_t bytes);
sh_status sh_sq_table_count(sh_store *st, const char *table, int64_t *n);
sh_status sh_sq_table_export(sh_store *st, const char *table, sh_store_row_cb cb, void *ctx);
sh_status sh_sq_table_import_begin(sh_store *st, const char *table, int ncols,
                                   const char *const *names, sh_store_import **out);
sh_status sh_sq_table_import_row(sh_store *st, sh_store_import *im, const sh_store_value *vals);
sh_status sh_sq_table_import_end(sh_store *st, sh_store_import *im, int ok);

#endif
