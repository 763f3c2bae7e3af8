/*
 * pipeline.h - one HTTP exchange without sockets: route match, Content-Length
 * limit, body accumulation, authentication, JSON or form parsing, the
 * handler, and the rendering of the answer (JSON, text/HTML, problem+json,
 * RFC 6749 error JSON or an HTML error page, and every header).
 *
 * server.c drives an exchange from libmicrohttpd callbacks and may run the
 * handler on a worker thread; sh_pipeline_handle() drives one from start to
 * end on the calling thread, for fuzz drivers and in-process tests. Both go
 * through the same functions, so what the fuzzer reaches is what the network
 * reaches.
 *
 * Invariants: an exchange owns everything hanging off it (body buffer,
 * parsed JSON or form, reply JSON or text, handler-set headers) and
 * sh_exchange_free() releases all of it; request header values are looked
 * up through the caller's callbacks and must stay valid until the exchange
 * is freed (the bearer token points into one).
 */
#ifndef SH_PIPELINE_H
#define SH_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

#include "http/html.h"
#include "metrics/metrics.h"

#define SH_ALLOW_MAX 64
/* common (3) + Content-Type + page (3) + handler's + RFC 6749 extras (3) */
#define SH_OUT_HEADERS_MAX (10 + SH_RESP_HEADERS_MAX)

/* Decides whether r->bearer may call a route of this kind; fills
 * r->principal. Returns SH_OK, SH_ERR_UNAUTHENTICATED or
 * SH_ERR_INVALID_TOKEN. Called on an event thread: must not block. */
typedef sh_status (*sh_authenticate_fn)(void *app, enum sh_auth_kind kind, sh_req *r);

/* Per-address admission for routes with a `limit`: called on the event
 * thread before authentication, body parsing or any queued work. Returns
 * SH_OK or SH_ERR_RATE_LIMITED with r->retry_after set. Must not block. */
typedef sh_status (*sh_admit_fn)(void *app, sh_req *r);

/* The checks of a route's .device_role and .stepup, on an authenticated
 * request with its body parsed, just before the handler and on the same
 * thread. Returns SH_OK, or the refusal (404 not_found, 403 forbidden,
 * 403 reauthentication_required, 429) with r->detail set. May block: it
 * reads the store, and a step-up password costs an Argon2id hash. */
typedef sh_status (*sh_authorize_fn)(void *app, sh_req *r);

/* Returns the NUL-terminated value of request header `name` (matched
 * without regard to case), or NULL if absent. */
typedef const char *(*sh_header_fn)(void *ctx, const char *name);
/* Adds every query-string parameter, decoded ('+' is a space, %XX a byte),
 * to form with sh_form_add. Returns SH_OK or the first failure. */
typedef sh_status (*sh_query_fn)(void *ctx, sh_form *form);

/* Where an exchange reads the request's headers and query string. */
typedef struct sh_request_source {
    sh_header_fn header;
    sh_query_fn query;
    void *ctx;
} sh_request_source;

/* What a listener serves: its route table, how it authenticates and how it
 * admits (admit may be NULL: no per-address limits). */
typedef struct sh_pipeline {
    const struct sh_route *routes;
    size_t nroutes;
    void *app;
    sh_authenticate_fn authenticate;
    sh_admit_fn admit;
    sh_authorize_fn authorize;        /* may be NULL when no route has a device role or step-up */
    enum sh_metrics_listener metrics; /* whose request counts an exchange adds to */
    /* Store calls may wait on the network: authentication, parsing and the
     * handler of every route but SH_POOL_NOSTORE ones wait for
     * sh_exchange_run, on a worker; admission stays on the event thread.
     * SH_POOL_CACHED ones try memory on the event thread first. */
    int blocking_store;
} sh_pipeline;

typedef struct sh_exchange {
    sh_req r;
    const sh_pipeline *pl;
    sh_request_source src;
    sh_status err; /* set before the handler runs, or by it */
    int deferred;  /* authentication and parsing wait for sh_exchange_run */
    char allow[SH_ALLOW_MAX];
    char *buf; /* request body, not NUL-terminated */
    size_t len, cap, limit;
    int64_t start_us;
} sh_exchange;

struct sh_out_header {
    const char *name;
    const char *value;
};

/* A rendered answer. body is malloc'ed (NULL when there is none) and owned
 * by the caller after sh_exchange_render(); free it with sh_response_clear.
 * Header values point into the response or into the exchange: use them
 * before sh_exchange_free (sh_pipeline_handle copies them into hbuf). */
typedef struct sh_response {
    int status;
    char *body;
    size_t len;
    struct sh_out_header headers[SH_OUT_HEADERS_MAX];
    size_t nheaders;
    char retry_after[16];
    char csp[SH_HTML_CSP_MAX];
    char *hbuf; /* owned copies of the header values, or NULL */
} sh_response;

/* Starts an exchange: request id, route match, Content-Length against the
 * route's body limit. Never fails; a failure is remembered in x->err and
 * answered by sh_exchange_render. The client address (x->r.peer) is the
 * caller's to fill; it stays unknown otherwise. */
void sh_exchange_begin(sh_exchange *x, const sh_pipeline *pl, const char *method, const char *path,
                       const sh_request_source *src);
/* Appends body bytes, up to the route's limit (past it: payload_too_large,
 * and the rest is discarded). */
void sh_exchange_append(sh_exchange *x, const char *data, size_t n);
/* Admits (routes with a per-address limit), authenticates (if the route
 * needs it) and parses the body (JSON; optional JSON for SH_BODY_JSON_OPT)
 * or the form (query string of a GET, urlencoded body otherwise) if the
 * route takes one. Returns x->err: SH_OK when the handler may run;
 * SH_ERR_RATE_LIMITED is the caller's to answer late (see tarpit.h). */
sh_status sh_exchange_prepare(sh_exchange *x);
/* Runs what prepare deferred, then the route's handler, and records the
 * status in x->err. May run on any thread; the exchange must not be
 * touched by another meanwhile. */
void sh_exchange_run(sh_exchange *x);
/* After sh_exchange_run on the event thread: 1 when the handler could not
 * answer from memory (SH_POOL_CACHED) and sh_exchange_run must run again,
 * on a worker; then the exchange is ready for it. */
int sh_exchange_wants_worker(sh_exchange *x);
/* Renders the answer: status, body and headers. Returns SH_OK, or
 * SH_ERR_NOMEM (nothing to send). */
sh_status sh_exchange_render(const sh_exchange *x, sh_response *out);
/* Writes the exchange's access-log line. */
void sh_exchange_log(const sh_exchange *x);
/* Frees everything the exchange holds (not x itself). */
void sh_exchange_free(sh_exchange *x);

/* Frees a rendered response's body (and copied header values). */
void sh_response_clear(sh_response *resp);
/* Value of a rendered response header, or NULL. */
const char *sh_response_header(const sh_response *resp, const char *name);

/* One request from start to end on this thread, with no socket: the
 * in-process entry point for fuzz drivers and tests. target is the path,
 * optionally followed by "?query"; headers is an array of nheaders
 * name/value pairs (NUL-terminated). Slow routes (Argon2id, durable
 * commits) run inline. Returns what sh_exchange_render returns; on SH_OK
 * the caller owns out, header values included (sh_response_clear). */
sh_status sh_pipeline_handle(const sh_pipeline *pl, const char *method, const char *target,
                             const char *const (*headers)[2], size_t nheaders, const char *body,
                             size_t body_len, sh_response *out);

#endif
