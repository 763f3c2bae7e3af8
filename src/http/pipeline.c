/*
 * pipeline.c - the socket-free request pipeline (see pipeline.h).
 *
 * Order of checks, each of which ends the exchange with a problem+json:
 *   begin:   no route (404), wrong method (405 + Allow), Content-Length
 *            above the route's limit (413)
 *   append:  body above the limit (413)
 *   prepare: authentication (401), then for body routes an empty body,
 *            a wrong Content-Type (415), bad JSON (400), a non-object (400)
 *   run:     whatever the handler returns
 * Nothing in here knows about libmicrohttpd.
 */
#include "http/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/router.h"

/* ---- request side ------------------------------------------------------- */

void sh_exchange_begin(sh_exchange *x, const sh_pipeline *pl, const char *method, const char *path,
                       sh_header_fn header, void *header_ctx)
{
    uint8_t rid[SH_REQ_ID_LEN / 2];
    const char *cl;

    memset(x, 0, sizeof(*x));
    x->pl = pl;
    x->header = header;
    x->header_ctx = header_ctx;
    x->start_us = sh_clock_now_us();
    x->r.app = pl->app;
    x->r.method = method;
    randombytes_buf(rid, sizeof(rid));
    sodium_bin2hex(x->r.req_id, sizeof(x->r.req_id), rid, sizeof(rid));
    x->err =
        sh_router_match(pl->routes, pl->nroutes, method, path, &x->r, x->allow, sizeof(x->allow));
    x->limit = SH_BODY_LIMIT_DEFAULT;
    if (x->r.route != NULL && x->r.route->body_limit != 0)
        x->limit = x->r.route->body_limit;
    cl = header(header_ctx, "Content-Length");
    if (cl != NULL && strtoull(cl, NULL, 10) > x->limit)
        x->err = SH_ERR_TOO_LARGE;
}

void sh_exchange_append(sh_exchange *x, const char *data, size_t n)
{
    size_t cap;
    char *buf;

    if (x->err != SH_OK)
        return; /* already failing: drain and discard */
    if (n > x->limit - x->len) {
        x->err = SH_ERR_TOO_LARGE;
        return;
    }
    if (x->len + n > x->cap) {
        cap = x->cap ? x->cap : 1024;
        while (cap < x->len + n)
            cap *= 2;
        if (cap > x->limit)
            cap = x->limit;
        buf = realloc(x->buf, cap);
        if (buf == NULL) {
            x->err = SH_ERR_NOMEM;
            return;
        }
        x->buf = buf;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
}

static void read_bearer(sh_exchange *x)
{
    const char *h = x->header(x->header_ctx, "Authorization");

    if (h == NULL)
        return;
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        x->r.bearer = ""; /* present but not a bearer token */
        return;
    }
    h += 7;
    while (*h == ' ')
        h++;
    x->r.bearer = h;
    x->r.bearer_len = strlen(h);
    while (x->r.bearer_len > 0 && h[x->r.bearer_len - 1] == ' ')
        x->r.bearer_len--;
}

static int content_type_is_json(sh_exchange *x)
{
    const char *ct = x->header(x->header_ctx, "Content-Type");
    size_t n = strlen("application/json");

    return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static sh_status parse_body(sh_exchange *x)
{
    json_error_t jerr;

    if (x->len == 0)
        return sh_req_fail(&x->r, SH_ERR_INVALID_JSON, "a JSON object body is required");
    if (!content_type_is_json(x))
        return SH_ERR_UNSUPPORTED_MEDIA;
    x->r.body = json_loadb(x->buf, x->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (x->r.body == NULL)
        return sh_req_fail(&x->r, SH_ERR_INVALID_JSON, "body is not valid UTF-8 JSON");
    if (!json_is_object(x->r.body))
        return sh_req_fail(&x->r, SH_ERR_INVALID_REQUEST, "body must be a JSON object");
    return SH_OK;
}

static sh_status prepare(sh_exchange *x)
{
    const struct sh_route *rt = x->r.route;
    sh_status rc;

    if (rt->auth != SH_AUTH_NONE) {
        read_bearer(x);
        rc = x->pl->authenticate(x->pl->app, rt->auth, &x->r);
        if (rc != SH_OK)
            return rc;
        x->r.authenticated = 1;
    }
    if (rt->flags & SH_ROUTE_BODY)
        return parse_body(x);
    return SH_OK;
}

sh_status sh_exchange_prepare(sh_exchange *x)
{
    if (x->err == SH_OK)
        x->err = prepare(x);
    return x->err;
}

void sh_exchange_run(sh_exchange *x)
{
    x->err = x->r.route->handler(&x->r);
    if (x->err == SH_PENDING)
        x->err = SH_ERR_INTERNAL;
}

/* ---- response side ------------------------------------------------------ */

static void add_header(sh_response *out, const char *name, const char *value)
{
    struct sh_resp_header *h;

    if (out->nheaders >= SH_RESP_HEADERS_MAX)
        return;
    h = &out->headers[out->nheaders++];
    h->name = name;
    snprintf(h->value, sizeof(h->value), "%s", value);
}

static json_t *problem_body(const sh_exchange *x, sh_status st)
{
    char type[96];
    json_t *p;

    snprintf(type, sizeof(type), "urn:safehouse:problem:%s", sh_status_code(st));
    p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", sh_status_title(st), "status",
                  sh_status_http(st), "code", sh_status_code(st), "request_id", x->r.req_id);
    if (p != NULL && x->r.detail[0] != '\0')
        json_object_set_new(p, "detail", json_string(x->r.detail));
    return p;
}

static void problem_headers(const sh_exchange *x, sh_status st, sh_response *out)
{
    char num[16];

    add_header(out, "Content-Type", "application/problem+json");
    if (st == SH_ERR_METHOD)
        add_header(out, "Allow", x->allow);
    if (sh_status_http(st) == 401)
        add_header(out, "WWW-Authenticate",
                   st == SH_ERR_UNAUTHENTICATED ? "Bearer" : "Bearer error=\"invalid_token\"");
    if (st == SH_ERR_BUSY) {
        snprintf(num, sizeof(num), "%d", x->r.retry_after > 0 ? x->r.retry_after : 1);
        add_header(out, "Retry-After", num);
    }
}

sh_status sh_exchange_render(const sh_exchange *x, sh_response *out)
{
    json_t *problem = NULL;
    const json_t *body;

    memset(out, 0, sizeof(*out));
    if (x->err != SH_OK) {
        problem = problem_body(x, x->err);
        if (problem == NULL)
            return SH_ERR_NOMEM;
        body = problem;
        out->status = sh_status_http(x->err);
    } else {
        body = x->r.reply;
        out->status = x->r.status ? x->r.status : 200;
    }
    if (body != NULL) {
        out->body = json_dumps(body, JSON_COMPACT);
        json_decref(problem);
        if (out->body == NULL)
            return SH_ERR_NOMEM;
        out->len = strlen(out->body);
    }
    add_header(out, "X-Request-Id", x->r.req_id);
    add_header(out, "Cache-Control", "no-store");
    add_header(out, "X-Content-Type-Options", "nosniff");
    if (x->err != SH_OK)
        problem_headers(x, x->err, out);
    else if (body != NULL)
        add_header(out, "Content-Type", "application/json");
    return SH_OK;
}

void sh_response_clear(sh_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

const char *sh_response_header(const sh_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    }
    return NULL;
}

/* ---- end of an exchange ------------------------------------------------- */

void sh_exchange_log(const sh_exchange *x)
{
    struct sh_log_request line;
    sh_id_hex user, session;

    memset(&line, 0, sizeof(line));
    line.req_id = x->r.req_id;
    line.method = x->r.method;
    line.route = x->r.route ? x->r.route->pattern : "-";
    line.status = x->err != SH_OK ? sh_status_http(x->err) : (x->r.status ? x->r.status : 200);
    line.dur_us = sh_clock_now_us() - x->start_us;
    if (x->err != SH_OK)
        line.code = sh_status_code(x->err);
    if (x->r.authenticated && x->r.route != NULL && x->r.route->auth == SH_AUTH_DEVICE) {
        sh_id_to_hex(&x->r.principal.device, &user);
        line.device_id = user.s;
    } else if (x->r.authenticated && x->r.route != NULL && x->r.route->auth == SH_AUTH_USER) {
        sh_id_to_hex(&x->r.principal.user, &user);
        sh_id_to_hex(&x->r.principal.session, &session);
        line.user_id = user.s;
        line.session_id = session.s;
    }
    sh_log_request(&line);
}

void sh_exchange_free(sh_exchange *x)
{
    json_decref(x->r.body);
    json_decref(x->r.reply);
    free(x->buf);
    x->r.body = x->r.reply = NULL;
    x->buf = NULL;
    x->len = x->cap = 0;
}

/* ---- in-process entry point --------------------------------------------- */

struct header_list {
    const char *const (*h)[2];
    size_t n;
};

static const char *list_lookup(void *ctx, const char *name)
{
    const struct header_list *l = ctx;

    for (size_t i = 0; i < l->n; i++) {
        if (strcasecmp(l->h[i][0], name) == 0)
            return l->h[i][1];
    }
    return NULL;
}

sh_status sh_pipeline_handle(const sh_pipeline *pl, const char *method, const char *path,
                             const char *const (*headers)[2], size_t nheaders, const char *body,
                             size_t body_len, sh_response *out)
{
    struct header_list l = {headers, nheaders};
    sh_exchange x;
    sh_status rc;

    sh_exchange_begin(&x, pl, method, path, list_lookup, &l);
    if (body_len > 0)
        sh_exchange_append(&x, body, body_len);
    if (sh_exchange_prepare(&x) == SH_OK)
        sh_exchange_run(&x);
    rc = sh_exchange_render(&x, out);
    sh_exchange_log(&x);
    sh_exchange_free(&x);
    return rc;
}
