/*
 * admin_metrics.c - GET /metrics on the admin listener: the registry of
 * metrics/metrics.h, plus what is read at scrape time (revocation rules,
 * the mail outbox, the Argon2id queue). A scrape token opens this route and
 * no other (its row's .roles); so does any operator role.
 */
#include "admin/admin.h"

#include "api/api.h"
#include "core/clock.h"
#include "core/version.h"
#include "core/workpool.h"
#include "store/store_mfa.h"

struct rule_stats {
    size_t count;
    int64_t newest;
};

static void count_rule(void *ctx, const sh_rule_rec *rule)
{
    struct rule_stats *s = ctx;

    s->count++;
    if (rule->created_at > s->newest)
        s->newest = rule->created_at;
}

sh_status sh_admin_metrics(sh_req *r)
{
    sh_app *app = sh_api_app(r);
    struct rule_stats rules = {0, 0};
    sh_rule_cursor from_start = {0, 0};
    sh_metrics_gauges g = {.version = SH_VERSION, .store_backend = app->store->backend};
    int64_t outbox = 0;
    size_t len = 0;
    char *text;
    sh_status rc;

    if ((rc = sh_store_do(app->store, core, rules_feed, &from_start, count_rule, &rules)) ||
        (rc = sh_store_do(app->store, mfa, mail_count, &outbox)))
        return rc;
    g.rules = rules.count;
    g.newest_rule_age_us = rules.count ? sh_clock_now_us() - rules.newest : -1;
    g.outbox = outbox > 0 ? (size_t)outbox : 0;
    g.hash_queue = app->hash_pool ? sh_workpool_load(app->hash_pool) : 0;
    g.hash_queue_max = app->cfg.hash_queue;
    if ((text = sh_metrics_render(&g, &len)) == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
