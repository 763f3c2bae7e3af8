/*
 * rules.c - revocation rules (PostgreSQL).
 *
 * The feed must never skip a rule, and on PostgreSQL a transaction that
 * took a lower seq can commit after one that took a higher seq, so "seq >
 * last seen" would lose it for ever. Each row records the id of the
 * transaction that wrote it (txid). A read also returns the xmin of its own
 * snapshot: every transaction below it had finished when the read ran, so
 * every rule they committed was in that read. The next read starts at that
 * xmin, so it sees again what may still have been in flight (delivered
 * twice at worst; applying a rule is idempotent) and never misses a late
 * commit.
 *
 * A rule's insert also notifies RULES_CHANNEL at commit, so the other
 * nodes' pollers wake at once instead of at their next tick.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/internal.h"

static const char SQL_RULE_INSERT[] =
    "INSERT INTO revocation_rules(id,scope,value,not_before,created_at) "
    "VALUES($1,$2,$3,$4,$5) RETURNING seq";
static const char SQL_RULE_NOTIFY[] = "SELECT pg_notify('sh_rules','')::text";
static const char SQL_RULES_FEED[] =
    "WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS x) "
    "SELECT s.x,r.seq,r.id,r.scope,r.value,r.not_before,r.created_at FROM s "
    "LEFT JOIN revocation_rules r ON r.txid >= $1::text::xid8 ORDER BY r.seq";

/* ctx: the sh_rule_rec to store; its seq is filled in. */
static sh_status insert_body(struct sh_pg_conn *c, void *ctx)
{
    sh_rule_rec *r = ctx;
    sh_pg_params p;
    PGresult *res = NULL;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &r->id);
    sh_pg_p_i64(&p, r->scope);
    sh_pg_p_text(&p, r->value);
    sh_pg_p_i64(&p, r->not_before);
    sh_pg_p_i64(&p, r->created_at);
    rc = sh_pg_query(c, SQL_RULE_INSERT, &p, &res);
    if (rc == SH_OK && PQntuples(res) == 1)
        r->seq = sh_pg_col_i64(res, 0, 0);
    PQclear(res);
    if (rc == SH_OK)
        rc = sh_pg_run(c, SQL_RULE_NOTIFY, NULL, NULL);
    return rc;
}

sh_status sh_pg_rule_insert(sh_store *st, sh_rule_rec *r)
{
    return sh_pg_atomic(st, insert_body, r);
}

sh_status sh_pg_rules_feed(sh_store *st, sh_rule_cursor *cur, sh_store_rule_cb cb, void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    PGresult *res = NULL;
    sh_pg_params p;
    sh_rule_rec r;
    sh_status rc;
    int n;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, cur->a);
    if ((rc = sh_pg_query(c, SQL_RULES_FEED, &p, &res)) != SH_OK)
        return rc;
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if (sh_pg_col_null(res, i, 1))
            continue; /* the snapshot row of an empty feed */
        memset(&r, 0, sizeof(r));
        r.seq = sh_pg_col_i64(res, i, 1);
        sh_pg_col_id(res, i, 2, &r.id);
        r.scope = (int)sh_pg_col_i64(res, i, 3);
        sh_pg_col_text(res, i, 4, r.value, sizeof(r.value));
        r.not_before = sh_pg_col_i64(res, i, 5);
        r.created_at = sh_pg_col_i64(res, i, 6);
        cb(ctx, &r);
    }
    if (n > 0)
        cur->a = sh_pg_col_i64(res, 0, 0);
    PQclear(res);
    return SH_OK;
}
