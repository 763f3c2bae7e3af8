/*
 * metrics.c - the registry: fixed arrays of relaxed atomics, indexed by
 * listener, route row and status, so recording never allocates or locks,
 * and a renderer that reads them once per scrape.
 */
#include "metrics/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "core/buf.h"
#include "http/request.h"

#define RENDER_MAX ((size_t)1 << 20)

/* Request latency buckets, seconds: from a cache hit to an Argon2id login. */
static const double req_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define REQ_BUCKETS (sizeof(req_bounds) / sizeof(req_bounds[0]))
/* Store call buckets: an in-memory hit to a slow commit on a network store. */
static const double store_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                      0.005,   0.01,   0.025,   0.05,   0.1,   0.5};
#define STORE_BUCKETS (sizeof(store_bounds) / sizeof(store_bounds[0]))

/* The statuses the server answers with; anything else counts as "other". */
static const int statuses[] = {200, 201, 204, 302, 303, 400, 401, 403, 404,
                               405, 409, 413, 415, 422, 429, 500, 503};
#define STATUSES (sizeof(statuses) / sizeof(statuses[0]))
#define STATUS_OTHER STATUSES

struct histogram {
    atomic_uint_fast64_t bucket[REQ_BUCKETS > STORE_BUCKETS ? REQ_BUCKETS : STORE_BUCKETS];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

/* Row SH_METRICS_ROUTES_MAX of a listener: requests that matched no route. */
struct listener_stats {
    const struct sh_route *routes;
    size_t nroutes;
    atomic_uint_fast64_t by_status[SH_METRICS_ROUTES_MAX + 1][STATUSES + 1];
    struct histogram latency[SH_METRICS_ROUTES_MAX + 1];
};

static struct {
    struct listener_stats listener[SH_METRICS__LISTENERS];
    atomic_uint_fast64_t logins[SH_METRICS__OUTCOMES];
    atomic_uint_fast64_t mfa[SH_METRICS__OUTCOMES];
    atomic_uint_fast64_t tokens[SH_METRICS__TOKENS][2];
    struct histogram store;
    atomic_uint_fast64_t store_errors;
} reg;

static const char *const listener_names[] = {"api", "admin"};
static const char *const outcome_names[] = {"success", "failure", "limited"};
static const char *const token_names[] = {"access", "partner", "device",
                                          "relay",  "admin",   "service_key"};

static void add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void observe(struct histogram *h, const double *bounds, size_t n, int64_t us)
{
    double s = (double)(us < 0 ? 0 : us) / 1e6;

    for (size_t i = 0; i < n; i++) {
        if (s <= bounds[i]) {
            add(&h->bucket[i], 1); /* non-cumulative here; summed when rendered */
            break;
        }
    }
    add(&h->count, 1);
    add(&h->sum_us, (uint64_t)(us < 0 ? 0 : us));
}

void sh_metrics_set_routes(enum sh_metrics_listener l, const struct sh_route *routes, size_t n)
{
    reg.listener[l].routes = routes;
    reg.listener[l].nroutes = n < SH_METRICS_ROUTES_MAX ? n : SH_METRICS_ROUTES_MAX;
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < STATUSES; i++) {
        if (statuses[i] == status)
            return i;
    }
    return STATUS_OTHER;
}

void sh_metrics_request(enum sh_metrics_listener l, const struct sh_route *route, int status,
                        int64_t us)
{
    struct listener_stats *ls = &reg.listener[l];
    size_t row = SH_METRICS_ROUTES_MAX;

    if (route != NULL && ls->routes != NULL && route >= ls->routes &&
        (size_t)(route - ls->routes) < ls->nroutes)
        row = (size_t)(route - ls->routes);
    add(&ls->by_status[row][status_index(status)], 1);
    observe(&ls->latency[row], req_bounds, REQ_BUCKETS, us);
}

void sh_metrics_login(enum sh_metrics_outcome o) { add(&reg.logins[o], 1); }
void sh_metrics_mfa(enum sh_metrics_outcome o) { add(&reg.mfa[o], 1); }
void sh_metrics_token(enum sh_metrics_token kind, int ok) { add(&reg.tokens[kind][ok ? 1 : 0], 1); }

static void store_call(int64_t us, sh_status rc);

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Open store calls of this thread; deeper ones than this go untimed. */
#define STORE_NEST_MAX 16
static _Thread_local int64_t store_started[STORE_NEST_MAX];
static _Thread_local int store_depth;

void sh_metrics_store_begin(void)
{
    if (store_depth < STORE_NEST_MAX)
        store_started[store_depth] = now_us();
    store_depth++;
}

sh_status sh_metrics_store_end(sh_status rc)
{
    if (store_depth > 0 && --store_depth < STORE_NEST_MAX)
        store_call(now_us() - store_started[store_depth], rc);
    return rc;
}

static void store_call(int64_t us, sh_status rc)
{
    observe(&reg.store, store_bounds, STORE_BUCKETS, us);
    /* not-found and conflicts are answers, not failures of the store */
    if (rc == SH_ERR_STORE || rc == SH_ERR_IO || rc == SH_ERR_NOMEM || rc == SH_ERR_INTERNAL)
        add(&reg.store_errors, 1);
}

/* ---- rendering ---------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void putf(sh_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    /* clang-tidy 14 loses the va_start just above (a known false positive) */
    n = vsnprintf(line, sizeof(line), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n > 0)
        sh_buf_add(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void family(sh_buf *b, const char *name, const char *type, const char *help)
{
    putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void route_labels(const struct listener_stats *ls, size_t l, size_t row, char *out,
                         size_t cap)
{
    if (row == SH_METRICS_ROUTES_MAX)
        snprintf(out, cap, "listener=\"%s\",method=\"\",route=\"unmatched\"", listener_names[l]);
    else
        snprintf(out, cap, "listener=\"%s\",method=\"%s\",route=\"%s\"", listener_names[l],
                 ls->routes[row].method, ls->routes[row].path);
}

static void histogram_lines(sh_buf *b, const char *name, const char *labels, struct histogram *h,
                            const double *bounds, size_t n)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";
    char own[300] = "";

    if (labels[0])
        snprintf(own, sizeof(own), "{%s}", labels);

    for (size_t i = 0; i < n; i++) {
        cum += get(&h->bucket[i]);
        putf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
             (unsigned long long)cum);
    }
    putf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
         (unsigned long long)get(&h->count));
    putf(b, "%s_sum%s %.6f\n", name, own, (double)get(&h->sum_us) / 1e6);
    putf(b, "%s_count%s %llu\n", name, own, (unsigned long long)get(&h->count));
}

static void render_requests(sh_buf *b)
{
    char labels[256];

    family(b, "safehouse_http_requests_total", "counter",
           "HTTP requests answered, by route and status.");
    for (size_t l = 0; l < SH_METRICS__LISTENERS; l++) {
        struct listener_stats *ls = &reg.listener[l];

        for (size_t row = 0; row <= SH_METRICS_ROUTES_MAX; row++) {
            if (row >= ls->nroutes && row != SH_METRICS_ROUTES_MAX)
                continue;
            route_labels(ls, l, row, labels, sizeof(labels));
            for (size_t s = 0; s <= STATUSES; s++) {
                uint64_t v = get(&ls->by_status[row][s]);

                if (v == 0)
                    continue;
                if (s == STATUS_OTHER)
                    putf(b, "safehouse_http_requests_total{%s,status=\"other\"} %llu\n", labels,
                         (unsigned long long)v);
                else
                    putf(b, "safehouse_http_requests_total{%s,status=\"%d\"} %llu\n", labels,
                         statuses[s], (unsigned long long)v);
            }
        }
    }
    family(b, "safehouse_http_request_duration_seconds", "histogram",
           "Time from the request line to the answer, by route.");
    for (size_t l = 0; l < SH_METRICS__LISTENERS; l++) {
        struct listener_stats *ls = &reg.listener[l];

        for (size_t row = 0; row <= SH_METRICS_ROUTES_MAX; row++) {
            if ((row >= ls->nroutes && row != SH_METRICS_ROUTES_MAX) ||
                get(&ls->latency[row].count) == 0)
                continue;
            route_labels(ls, l, row, labels, sizeof(labels));
            histogram_lines(b, "safehouse_http_request_duration_seconds", labels, &ls->latency[row],
                            req_bounds, REQ_BUCKETS);
        }
    }
}

static void render_auth(sh_buf *b)
{
    family(b, "safehouse_logins_total", "counter",
           "Password logins (POST /v1/sessions): succeeded, failed or refused by a limit.");
    for (size_t o = 0; o < SH_METRICS__OUTCOMES; o++)
        putf(b, "safehouse_logins_total{outcome=\"%s\"} %llu\n", outcome_names[o],
             (unsigned long long)get(&reg.logins[o]));
    family(b, "safehouse_mfa_verifications_total", "counter",
           "Second-factor codes at login (POST /v1/sessions/mfa), by outcome.");
    for (size_t o = 0; o < SH_METRICS__OUTCOMES; o++)
        putf(b, "safehouse_mfa_verifications_total{outcome=\"%s\"} %llu\n", outcome_names[o],
             (unsigned long long)get(&reg.mfa[o]));
    family(b, "safehouse_token_verifications_total", "counter",
           "Credentials verified by the pipeline, by kind and result.");
    for (size_t k = 0; k < SH_METRICS__TOKENS; k++) {
        putf(b, "safehouse_token_verifications_total{kind=\"%s\",result=\"valid\"} %llu\n",
             token_names[k], (unsigned long long)get(&reg.tokens[k][1]));
        putf(b, "safehouse_token_verifications_total{kind=\"%s\",result=\"invalid\"} %llu\n",
             token_names[k], (unsigned long long)get(&reg.tokens[k][0]));
    }
}

static void render_gauges(sh_buf *b, const sh_metrics_gauges *g)
{
    family(b, "safehouse_revocation_rules", "gauge", "Revocation rules in the store.");
    putf(b, "safehouse_revocation_rules %zu\n", g->rules);
    family(b, "safehouse_revocation_newest_rule_age_seconds", "gauge",
           "Age of the newest revocation rule; absent when there is none.");
    if (g->newest_rule_age_us >= 0)
        putf(b, "safehouse_revocation_newest_rule_age_seconds %.3f\n",
             (double)g->newest_rule_age_us / 1e6);
    family(b, "safehouse_outbox_depth", "gauge", "Mails in the outbox, not yet sent.");
    putf(b, "safehouse_outbox_depth %zu\n", g->outbox);
    family(b, "safehouse_hash_pool_queue", "gauge",
           "Argon2id jobs queued or running in the hash pool.");
    putf(b, "safehouse_hash_pool_queue %zu\n", g->hash_queue);
    family(b, "safehouse_hash_pool_queue_limit", "gauge",
           "Jobs the hash pool holds before it refuses with 503.");
    putf(b, "safehouse_hash_pool_queue_limit %zu\n", g->hash_queue_max);
    family(b, "safehouse_build_info", "gauge", "The running build; always 1.");
    putf(b, "safehouse_build_info{version=\"%s\",store=\"%s\"} 1\n", g->version, g->store_backend);
}

char *sh_metrics_render(const sh_metrics_gauges *g, size_t *len)
{
    sh_buf b;

    sh_buf_init(&b, RENDER_MAX);
    render_requests(&b);
    render_auth(&b);
    family(&b, "safehouse_store_call_duration_seconds", "histogram",
           "Time of each store call (both backends), including transactions.");
    histogram_lines(&b, "safehouse_store_call_duration_seconds", "", &reg.store, store_bounds,
                    STORE_BUCKETS);
    family(&b, "safehouse_store_errors_total", "counter",
           "Store calls that failed (not a missing row: the store itself).");
    putf(&b, "safehouse_store_errors_total %llu\n", (unsigned long long)get(&reg.store_errors));
    render_gauges(&b, g);
    return sh_buf_take(&b, len);
}
