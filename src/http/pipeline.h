/*
 * pipeline.h - one HTTP exchange without sockets: route match, Content-Length
 * limit, body accumulation, authentication, JSON body parsing, the handler,
 * and the rendering of the answer (JSON or problem+json and its headers).
 *
 * server.c drives an exchange from libmicrohttpd callbacks and may run the
 * handler on a worker thread; sh_pipeline_handle() drives one from start to
 * end on the calling thread, for fuzz drivers and in-process tests. Both go
 * through the same functions, so what the fuzzer reaches is what the network
 * reaches.
 *
 * Invariants: an exchange owns everything hanging off it (body buffer,
 * parsed JSON, reply JSON) and sh_exchange_free() releases all of it; header
 * values are looked up through the caller's callback and must stay valid
 * until the exchange is freed (the bearer token points into one).
 */
#ifndef SH_PIPELINE_H
#define SH_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

#define SH_ALLOW_MAX 64
#define SH_RESP_HEADERS_MAX 8
#define SH_RESP_HEADER_VALUE_MAX 96

/* Decides whether r->bearer may call a route of this kind; fills
 * r->principal. Returns SH_OK, SH_ERR_UNAUTHENTICATED or
 * SH_ERR_INVALID_TOKEN. Called on an event thread: must not block. */
typedef sh_status (*sh_authenticate_fn)(void *app, enum sh_auth_kind kind, sh_req *r);

/* Returns the NUL-terminated value of request header `name` (matched
 * without regard to case), or NULL if absent. */
typedef const char *(*sh_header_fn)(void *ctx, const char *name);

/* What a listener serves: its route table and how it authenticates. */
typedef struct sh_pipeline {
    const struct sh_route *routes;
    size_t nroutes;
    void *app;
    sh_authenticate_fn authenticate;
} sh_pipeline;

typedef struct sh_exchange {
    sh_req r;
    const sh_pipeline *pl;
    sh_header_fn header;
    void *header_ctx;
    sh_status err; /* set before the handler runs, or by it */
    char allow[SH_ALLOW_MAX];
    char *buf; /* request body, not NUL-terminated */
    size_t len, cap, limit;
    int64_t start_us;
} sh_exchange;

struct sh_resp_header {
    const char *name;
    char value[SH_RESP_HEADER_VALUE_MAX];
};

/* A rendered answer. body is malloc'ed (NULL when there is none) and owned
 * by the caller after sh_exchange_render(); free it with sh_response_clear. */
typedef struct sh_response {
    int status;
    char *body;
    size_t len;
    struct sh_resp_header headers[SH_RESP_HEADERS_MAX];
    size_t nheaders;
} sh_response;

/* Starts an exchange: request id, route match, Content-Length against the
 * route's body limit. Never fails; a failure is remembered in x->err and
 * answered by sh_exchange_render. */
void sh_exchange_begin(sh_exchange *x, const sh_pipeline *pl, const char *method, const char *path,
                       sh_header_fn header, void *header_ctx);
/* Appends body bytes, up to the route's limit (past it: payload_too_large,
 * and the rest is discarded). */
void sh_exchange_append(sh_exchange *x, const char *data, size_t n);
/* Authenticates (if the route needs it) and parses the body (if the route
 * takes one). Returns x->err: SH_OK when the handler may run. */
sh_status sh_exchange_prepare(sh_exchange *x);
/* Runs the route's handler and records its status in x->err. May run on
 * any thread; the exchange must not be touched by another meanwhile. */
void sh_exchange_run(sh_exchange *x);
/* Renders the answer: status, body and headers. Returns SH_OK, or
 * SH_ERR_NOMEM (nothing to send). */
sh_status sh_exchange_render(const sh_exchange *x, sh_response *out);
/* Writes the exchange's access-log line. */
void sh_exchange_log(const sh_exchange *x);
/* Frees everything the exchange holds (not x itself). */
void sh_exchange_free(sh_exchange *x);

/* Frees a rendered response's body. */
void sh_response_clear(sh_response *resp);
/* Value of a rendered response header, or NULL. */
const char *sh_response_header(const sh_response *resp, const char *name);

/* One request from start to end on this thread, with no socket: the
 * in-process entry point for fuzz drivers and tests. headers is an array of
 * nheaders name/value pairs (NUL-terminated). Slow routes (Argon2id, durable
 * commits) run inline. Returns what sh_exchange_render returns; on SH_OK
 * the caller owns out (sh_response_clear). */
sh_status sh_pipeline_handle(const sh_pipeline *pl, const char *method, const char *path,
                             const char *const (*headers)[2], size_t nheaders, const char *body,
                             size_t body_len, sh_response *out);

#endif
