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

#define SH_SQ_STMT_CACHE 128

struct sh_sq_cached {
    const char *sql; /* identity: the address of a static SQL string */
    sqlite3_stmt *stmt;
};

struct sh_sq_conn {
    sqlite3 *db;
    struct sh_sq_cached cache[SH_SQ_STMT_CACHE];
    int in_batch;     /* batch depth: per-op transactions fold into the batch */
    int batch_failed; /* an inner batch failed: the outermost rolls back */
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
/* Runs a statement that returns no rows; *changes (may be NULL) gets the
 * number of rows changed. Resets the statement. */
sh_status sh_sq_run(struct sh_sq_conn *c, sqlite3_stmt *q, int *changes);
/* Like sh_sq_run, but SH_ERR_NOT_FOUND when no row changed. */
sh_status sh_sq_update_result(struct sh_sq_conn *c, sqlite3_stmt *q);
/* Runs a cached statement with no parameters. */
sh_status sh_sq_exec(struct sh_sq_conn *c, const char *sql);
/* Per-operation transactions; inside a batch they are part of the batch. */
sh_status sh_sq_tx_begin(struct sh_sq_conn *c);
sh_status sh_sq_tx_end(struct sh_sq_conn *c, sh_status rc);

void sh_sq_bind_id(sqlite3_stmt *q, int i, const sh_id *id);
/* Binds a blob, or NULL when p is NULL. The memory must outlive the step. */
void sh_sq_bind_blob(sqlite3_stmt *q, int i, const void *p, size_t n);
void sh_sq_col_id(sqlite3_stmt *q, int i, sh_id *id);
/* Copies a blob column into a malloc'd buffer (*out NULL for SQL NULL).
 * Returns 0, or -1 when out of memory. */
int sh_sq_col_blob(sqlite3_stmt *q, int i, uint8_t **out, size_t *len);

/* Domain entry points (users.c, sessions.c, rules.c). */
sh_status sh_sq_user_insert(sh_store *st, const sh_user_rec *u);
sh_status sh_sq_user_get(sh_store *st, const sh_id *id, sh_user_rec *out);
sh_status sh_sq_user_get_by_email(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                  sh_user_rec *out);
sh_status sh_sq_user_set_name(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                              int64_t now);
sh_status sh_sq_user_set_password(sh_store *st, const sh_id *id, const char *hash, int64_t now);
sh_status sh_sq_meta_get(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len);
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
sh_status sh_sq_rules_since(sh_store *st, int64_t after_seq, sh_store_rule_cb cb, void *ctx);

/* Two-factor, one-time tokens, known logins, e-mail state (mfa.c) and the
 * outbox (mail.c). */
extern const struct sh_store_mfa_ops sh_sq_mfa_ops;
sh_status sh_sq_mail_insert(sh_store *st, const sh_mail_rec *m);
sh_status sh_sq_mail_due(sh_store *st, int64_t now, int limit, sh_store_mail_cb cb, void *ctx);
sh_status sh_sq_mail_done(sh_store *st, const sh_id *id);
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
/* Steps q (bound by the caller) over device rows whose 13th column is the
 * caller's role, calling cb for each; resets q. */
sh_status sh_sq_each_device(struct sh_sq_conn *c, sqlite3_stmt *q, sh_store_device_cb cb,
                            void *ctx);

/* Per-domain ops tables, registered by sh_store_open_sqlite. */
extern const struct sh_store_device_ops sh_sq_device_ops;
extern const struct sh_store_oauth_ops sh_sq_oauth_ops;

#endif
