/*
 * metrics.h - counters and histograms for GET /metrics (Prometheus text
 * format 0.0.4), kept in one process-wide registry of atomics so that a
 * hot path pays one relaxed atomic add and never takes a lock.
 *
 * Nothing here carries a personal value or an id: labels are route
 * templates ("/v1/devices/{id}"), status codes and fixed outcome names.
 */
#ifndef SH_METRICS_H
#define SH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct sh_route;

enum sh_metrics_listener { SH_METRICS_API = 0, SH_METRICS_ADMIN, SH_METRICS__LISTENERS };
enum sh_metrics_outcome {
    SH_METRICS_SUCCESS = 0,
    SH_METRICS_FAILURE,
    SH_METRICS_LIMITED,
    SH_METRICS__OUTCOMES
};
/* token verifications, by credential kind */
enum sh_metrics_token {
    SH_METRICS_TOKEN_ACCESS = 0,
    SH_METRICS_TOKEN_PARTNER,
    SH_METRICS_TOKEN_DEVICE,
    SH_METRICS_TOKEN_RELAY,
    SH_METRICS_TOKEN_ADMIN,
    SH_METRICS_TOKEN_SERVICE_KEY,
    SH_METRICS__TOKENS
};

#define SH_METRICS_ROUTES_MAX 64

/* A listener's route table, named once at start so that request counts can
 * be rendered with their templates. */
void sh_metrics_set_routes(enum sh_metrics_listener l, const struct sh_route *routes, size_t n);

/* One answered request: route (NULL: no route matched), status, duration. */
void sh_metrics_request(enum sh_metrics_listener l, const struct sh_route *route, int status,
                        int64_t us);
void sh_metrics_login(enum sh_metrics_outcome o);
void sh_metrics_mfa(enum sh_metrics_outcome o);
void sh_metrics_token(enum sh_metrics_token kind, int ok);
/* Around each store call (sh_store_do): begin notes the time on this
 * thread's stack of open calls, end records the call's duration and rc and
 * returns rc. */
void sh_metrics_store_begin(void);
sh_status sh_metrics_store_end(sh_status rc);

/* What only the caller can read at scrape time. */
typedef struct sh_metrics_gauges {
    size_t rules;               /* revocation rules in the store */
    int64_t newest_rule_age_us; /* -1: no rule */
    size_t outbox;              /* mails waiting to be sent */
    size_t hash_queue;          /* Argon2id jobs queued or running */
    size_t hash_queue_max;
    const char *version;
    const char *store_backend;
} sh_metrics_gauges;

/* The exposition text; malloc'ed, the caller frees it. NULL on no memory. */
char *sh_metrics_render(const sh_metrics_gauges *g, size_t *len);

#endif
