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
    "WHERE seq>? ORDER BY seq";

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

sh_status sh_sq_rules_since(sh_store *st, int64_t after_seq, sh_store_rule_cb cb, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_RULES_SINCE) : NULL;
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
        sh_sq_col_id(q, 1, &r.id);
        r.scope = sqlite3_column_int(q, 2);
        snprintf(r.value, sizeof(r.value), "%s", v ? (const char *)v : "");
        r.not_before = sqlite3_column_int64(q, 4);
        r.created_at = sqlite3_column_int64(q, 5);
        cb(ctx, &r);
    }
    if (s != SQLITE_DONE)
        rc = sh_sq_step_error(c, s);
    sh_sq_done(q);
    return rc;
}
