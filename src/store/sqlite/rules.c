/* rules.c - revocation rules (SQLite). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/internal.h"

static const char SQL_RULE_INSERT[] =
    "INSERT INTO revocation_rules(id,scope,value,not_before,created_at) "
    "VALUES(?,?,?,?,?)";
static const char SQL_RULES_SINCE[] =
    "SELECT seq,id,scope,value,not_before,created_at FROM revocation_rules "
    "WHERE seq>?1 ORDER BY seq LIMIT ?2";

/* Rules read per statement: a feed from the start holds no more at once. */
#define RULES_BATCH 1024

/* ---- revocation rules ---------------------------------------------------- */

sh_status sh_sq_rule_insert(sh_store *st, sh_rule_rec *r)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_RULE_INSERT) : NULL;
    sh_status rc;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &r->id);
    sqlite3_bind_int(q, 2, r->scope);
    sqlite3_bind_text(q, 3, r->value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, r->not_before);
    sqlite3_bind_int64(q, 5, r->created_at);
    rc = sh_sq_run(c, q, NULL);
    if (rc == SH_OK)
        r->seq = sqlite3_last_insert_rowid(c->db);
    return rc;
}

/* A feed in progress: the caller's cursor and context, and how many rules
 * this batch gave. */
struct feed {
    sh_rule_cursor *cur;
    void *ctx;
    int n;
};

static int read_rule(sqlite3_stmt *q, void *rec)
{
    const unsigned char *v = sqlite3_column_text(q, 3);
    sh_rule_rec *r = rec;

    r->seq = sqlite3_column_int64(q, 0);
    sh_sq_col_id(q, 1, &r->id);
    r->scope = sqlite3_column_int(q, 2);
    snprintf(r->value, sizeof(r->value), "%s", v ? (const char *)v : "");
    r->not_before = sqlite3_column_int64(q, 4);
    r->created_at = sqlite3_column_int64(q, 5);
    return 0;
}

/* Moves the cursor past each rule as it is handed on. */
static void give_rule(union sh_sq_cb cb, void *ctx, const void *rec)
{
    struct feed *f = ctx;
    const sh_rule_rec *r = rec;

    if (r->seq > f->cur->a)
        f->cur->a = r->seq;
    f->n++;
    cb.rule(f->ctx, r);
}

static const struct sh_sq_kind rule_kind = {
    .size = sizeof(sh_rule_rec),
    .read = read_rule,
    .give = give_rule,
};

/* One writer at a time: rows commit in seq order, so the cursor is the
 * highest seq delivered (cur->a). Rules come in batches of RULES_BATCH until
 * a batch is short; a failed batch gives nothing, earlier ones stay given. */
sh_status sh_sq_rules_feed(sh_store *st, sh_rule_cursor *cur, sh_store_rule_cb cb, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_RULES_SINCE) : NULL;
    struct feed f = {cur, ctx, RULES_BATCH};
    sh_status rc = SH_OK;

    if (q == NULL)
        return SH_ERR_STORE;
    while (rc == SH_OK && f.n == RULES_BATCH) {
        f.n = 0;
        sqlite3_bind_int64(q, 1, cur->a);
        sqlite3_bind_int(q, 2, RULES_BATCH);
        rc = sh_sq_list(c, q, &rule_kind, (union sh_sq_cb){.rule = cb}, &f);
    }
    return rc;
}
