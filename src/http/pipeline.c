/*
 * pipeline.c - the socket-free request pipeline (see pipeline.h).
 *
 * Order of checks, each of which ends the exchange with an error answer:
 *   begin:   no route (404), OPTIONS (204 + Allow: not an error, but it
 *            ends the exchange), wrong method (405 + Allow), Content-Length
 *            above the route's limit (413); HEAD runs the GET route
 *   append:  body above the limit (413)
 *   prepare: a per-address limit (429), authentication (401/403), then for
 *            JSON body routes an empty body, a wrong Content-Type (415), bad
 *            JSON (400), a non-object (400); for form routes a bad query
 *            string or urlencoded body
 *   run:     whatever the handler returns
 * An error is rendered as problem+json, or as RFC 6749 error JSON on
 * SH_ANSWER_OAUTH routes, or as an HTML page on SH_ANSWER_HTML routes.
 * Nothing in here knows about libmicrohttpd.
 */
#include "http/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "http/router.h"

/* No answer is larger: a reply past it is a bug, answered 500. */
#define SH_REPLY_MAX ((size_t)16 << 20)

/* ---- request side ------------------------------------------------------- */

void sh_exchange_begin(sh_exchange *x, const sh_pipeline *pl, const char *method, const char *path,
                       const sh_request_source *src)
{
    uint8_t rid[SH_REQ_ID_LEN / 2];
    const char *cl;

    memset(x, 0, sizeof(*x));
    x->pl = pl;
    x->src = *src;
    x->start_us = sh_clock_now_us();
    x->r.app = pl->app;
    x->r.method = method;
    x->r.header_fn = src->header;
    x->r.header_ctx = src->ctx;
    randombytes_buf(rid, sizeof(rid));
    sodium_bin2hex(x->r.req_id, sizeof(x->r.req_id), rid, sizeof(rid));
    x->err =
        sh_router_match(pl->routes, pl->nroutes, method, path, &x->r, x->allow, sizeof(x->allow));
    x->limit = SH_BODY_LIMIT_DEFAULT;
    cl = src->header(src->ctx, "Content-Length");
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
    const char *h = x->src.header(x->src.ctx, "Authorization");

    /* Another scheme (Basic, ...) is no credential of ours: RFC 6750 3.1
     * treats it like none, a challenge without an error code. */
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return;
    h += 7;
    while (*h == ' ')
        h++;
    x->r.bearer = h;
    x->r.bearer_len = strlen(h);
    while (x->r.bearer_len > 0 && h[x->r.bearer_len - 1] == ' ')
        x->r.bearer_len--;
}

/* 1 if Content-Type is `type`, optionally followed by parameters. */
static int content_type_is(sh_exchange *x, const char *type)
{
    const char *ct = x->src.header(x->src.ctx, "Content-Type");
    size_t n = strlen(type);

    return ct != NULL && strncasecmp(ct, type, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static sh_status parse_body(sh_exchange *x)
{
    json_error_t jerr;

    if (x->len == 0)
        return sh_req_fail(&x->r, SH_ERR_INVALID_JSON, "a JSON object body is required");
    if (!content_type_is(x, "application/json"))
        return SH_ERR_UNSUPPORTED_MEDIA;
    x->r.body = json_loadb(x->buf, x->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (x->r.body == NULL)
        return sh_req_fail(&x->r, SH_ERR_INVALID_JSON, "body is not valid UTF-8 JSON");
    if (!json_is_object(x->r.body))
        return sh_req_fail(&x->r, SH_ERR_INVALID_REQUEST, "body must be a JSON object");
    return SH_OK;
}

/* SH_BODY_FORM: a GET's query string, or an urlencoded body. */
static sh_status parse_form(sh_exchange *x)
{
    x->r.form = sh_form_new();
    if (x->r.form == NULL)
        return SH_ERR_NOMEM;
    if (strcmp(x->r.method, "GET") == 0 || strcmp(x->r.method, "HEAD") == 0) {
        if (x->src.query(x->src.ctx, x->r.form) != SH_OK)
            return sh_req_fail(&x->r, SH_ERR_INVALID_REQUEST,
                               "query parameters are malformed or too many");
        return SH_OK;
    }
    if (x->len == 0)
        return SH_OK;
    if (!content_type_is(x, "application/x-www-form-urlencoded"))
        return sh_req_fail(&x->r, SH_ERR_UNSUPPORTED_MEDIA,
                           "body must be application/x-www-form-urlencoded");
    if (sh_form_parse(x->r.form, x->buf, x->len) != SH_OK)
        return sh_req_fail(&x->r, SH_ERR_INVALID_REQUEST,
                           "form body is malformed (bad escape, NUL, invalid UTF-8 or too many "
                           "fields)");
    return SH_OK;
}

/* An admin route names the roles that may call it; the credential must
 * hold one. A table row with none is refused by sh_route_table_check. */
static sh_status check_roles(sh_exchange *x)
{
    if (x->r.route->auth != SH_AUTH_ADMIN || (x->r.principal.roles & x->r.route->roles) != 0)
        return SH_OK;
    return sh_req_fail(&x->r, SH_ERR_FORBIDDEN, "this credential's role cannot call this route");
}

static sh_status parse_request(sh_exchange *x)
{
    switch (x->r.route->body) {
    case SH_BODY_JSON:
        return parse_body(x);
    case SH_BODY_JSON_OPT:
        return x->len > 0 ? parse_body(x) : SH_OK;
    case SH_BODY_FORM:
        return parse_form(x);
    default:
        return SH_OK;
    }
}

/* Authentication, the route's roles, and body or form parsing. */
static sh_status prepare_rest(sh_exchange *x)
{
    const struct sh_route *rt = x->r.route;
    sh_status rc;

    if (rt->auth != SH_AUTH_NONE) {
        read_bearer(x);
        rc = x->pl->authenticate(x->pl->app, rt->auth, &x->r);
        if (rc != SH_OK)
            return rc;
        x->r.authenticated = 1;
        if ((rc = check_roles(x)) != SH_OK)
            return rc;
    }
    return parse_request(x);
}

/* Whether this exchange runs off the event thread whatever its pool. */
static int store_blocks(const sh_exchange *x)
{
    return x->pl->blocking_store && x->r.route->pool != SH_POOL_NOSTORE;
}

static sh_status prepare(sh_exchange *x)
{
    const struct sh_route *rt = x->r.route;
    sh_status rc;

    if (rt->limit != 0 && x->pl->admit != NULL && (rc = x->pl->admit(x->pl->app, &x->r)) != SH_OK)
        return rc;
    if (store_blocks(x)) {
        if (rt->pool != SH_POOL_CACHED) {
            x->deferred = 1;
            return SH_OK;
        }
        x->r.memory_only = 1;
    }
    return prepare_rest(x);
}

sh_status sh_exchange_prepare(sh_exchange *x)
{
    if (x->err == SH_OK)
        x->err = prepare(x);
    return x->err;
}

static int needs_authorize(const struct sh_route *rt)
{
    return rt->device_role != 0 || rt->stepup != SH_STEPUP_NONE;
}

void sh_exchange_run(sh_exchange *x)
{
    if (x->deferred) {
        x->deferred = 0;
        if ((x->err = prepare_rest(x)) != SH_OK)
            return;
    }
    if (needs_authorize(x->r.route)) {
        /* a device role or a step-up reads the store: never from memory */
        if (x->r.memory_only)
            x->err = SH_WOULDBLOCK;
        else /* fail closed on a listener that cannot check */
            x->err = x->pl->authorize ? x->pl->authorize(x->pl->app, &x->r) : SH_ERR_INTERNAL;
        if (x->err != SH_OK)
            return;
    }
    x->err = x->r.route->handler(&x->r);
    if (x->err == SH_PENDING || (x->err == SH_WOULDBLOCK && !x->r.memory_only))
        x->err = SH_ERR_INTERNAL;
}

int sh_exchange_wants_worker(sh_exchange *x)
{
    if (x->err != SH_WOULDBLOCK)
        return 0;
    x->r.memory_only = 0;
    x->err = SH_OK;
    return 1;
}

/* ---- response side ------------------------------------------------------ */

static void add_header(sh_response *out, const char *name, const char *value)
{
    if (out->nheaders >= SH_OUT_HEADERS_MAX)
        return;
    out->headers[out->nheaders].name = name;
    out->headers[out->nheaders].value = value;
    out->nheaders++;
}

static void common_headers(const sh_exchange *x, sh_response *out)
{
    add_header(out, "X-Request-Id", x->r.req_id);
    add_header(out, "Cache-Control", "no-store");
    add_header(out, "X-Content-Type-Options", "nosniff");
}

static enum sh_route_answer answer_kind(const sh_exchange *x)
{
    return x->r.route ? x->r.route->answer : SH_ANSWER_JSON;
}

/* What a browser page carries (SH_ANSWER_HTML): no framing, no referrer,
 * and a CSP unless the handler set its own. */
static void page_headers(const sh_exchange *x, sh_response *out)
{
    int own_csp = 0;

    for (int i = 0; i < x->r.nheaders; i++)
        own_csp |= strcmp(x->r.headers[i].name, "Content-Security-Policy") == 0;
    if (!own_csp) {
        sh_html_csp(out->csp, NULL);
        add_header(out, "Content-Security-Policy", out->csp);
    }
    add_header(out, "X-Frame-Options", "DENY");
    add_header(out, "Referrer-Policy", "no-referrer");
}

/* A text answer: body (owned, may be NULL), common headers, Content-Type,
 * page headers on HTML routes, the handler's headers, then `extra`. */
static void text_answer(const sh_exchange *x, int status, char *body, size_t len, const char *ctype,
                        const struct sh_out_header *extra, size_t nextra, sh_response *out)
{
    out->status = status;
    out->body = body;
    out->len = len;
    common_headers(x, out);
    if (body != NULL && ctype != NULL)
        add_header(out, "Content-Type", ctype);
    if (answer_kind(x) == SH_ANSWER_HTML)
        page_headers(x, out);
    for (int i = 0; i < x->r.nheaders; i++)
        add_header(out, x->r.headers[i].name, x->r.headers[i].value);
    for (size_t i = 0; i < nextra; i++)
        add_header(out, extra[i].name, extra[i].value);
}

/* RFC 6749 5.2 error JSON for SH_ANSWER_OAUTH routes. */
static sh_status oauth_error(const sh_exchange *x, sh_status st, sh_response *out)
{
    json_t *j = json_pack("{s:s}", "error", sh_status_oauth(st));
    struct sh_out_header extra[3];
    size_t n = 0;
    char *text;

    if (j != NULL && x->r.detail[0] != '\0')
        json_object_set_new(j, "error_description", json_string(x->r.detail));
    text = j ? sh_jw_dumps(j, SH_REPLY_MAX, NULL) : NULL;
    json_decref(j);
    if (text == NULL)
        return SH_ERR_NOMEM;
    if (st == SH_ERR_INVALID_CLIENT && x->src.header(x->src.ctx, "Authorization") != NULL)
        extra[n++] = (struct sh_out_header){"WWW-Authenticate", "Basic realm=\"safehouse\""};
    if (st == SH_ERR_METHOD)
        extra[n++] = (struct sh_out_header){"Allow", x->allow};
    extra[n++] = (struct sh_out_header){"Pragma", "no-cache"};
    text_answer(x, sh_status_http(st), text, strlen(text), "application/json", extra, n, out);
    return SH_OK;
}

static sh_status html_error(const sh_exchange *x, sh_status st, sh_response *out)
{
    size_t len = 0;
    char *page = sh_html_error_page(sh_status_title(st), x->r.detail, &len);
    struct sh_out_header allow = {"Allow", x->allow};

    if (page == NULL)
        return SH_ERR_NOMEM;
    text_answer(x, sh_status_http(st), page, len, "text/html; charset=utf-8", &allow,
                st == SH_ERR_METHOD ? 1 : 0, out);
    return SH_OK;
}

/* The challenge of a 401 or an insufficient_scope 403 (RFC 6750 3,
 * RFC 9110 11.6.1), or NULL. A route that authenticates with the
 * IFTTT-Service-Key header challenges that, never Bearer: IFTTT sends no
 * bearer token there, and a Bearer challenge would send clients looking
 * for one. */
static const char *challenge(const sh_exchange *x, sh_status st)
{
    if (x->r.route != NULL && x->r.route->auth == SH_AUTH_SERVICE_KEY)
        return sh_status_http(st) == 401 ? "IFTTT-Service-Key realm=\"safehouse\"" : NULL;
    if (st == SH_ERR_INVALID_TOKEN)
        return "Bearer realm=\"safehouse\", error=\"invalid_token\"";
    if (st == SH_ERR_INSUFFICIENT_SCOPE)
        return "Bearer realm=\"safehouse\", error=\"insufficient_scope\"";
    /* no credentials, another scheme, or a failed login (not HTTP auth) */
    return sh_status_http(st) == 401 ? "Bearer realm=\"safehouse\"" : NULL;
}

/* OPTIONS on a known path: 204, the path's methods in Allow, no body. */
static sh_status options_answer(const sh_exchange *x, sh_response *out)
{
    out->status = 204;
    common_headers(x, out);
    add_header(out, "Allow", x->allow);
    return SH_OK;
}

/* RFC 9457 problem+json with the stable code. */
static sh_status problem(const sh_exchange *x, sh_status st, sh_response *out)
{
    char type[96];
    json_t *p;

    snprintf(type, sizeof(type), "urn:safehouse:problem:%s", sh_status_code(st));
    p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", sh_status_title(st), "status",
                  sh_status_http(st), "code", sh_status_code(st), "request_id", x->r.req_id);
    if (p != NULL && x->r.detail[0] != '\0')
        json_object_set_new(p, "detail", json_string(x->r.detail));
    out->body = p ? sh_jw_dumps(p, SH_REPLY_MAX, NULL) : NULL;
    json_decref(p);
    if (out->body == NULL)
        return SH_ERR_NOMEM;
    out->len = strlen(out->body);
    out->status = sh_status_http(st);
    common_headers(x, out);
    add_header(out, "Content-Type", "application/problem+json");
    if (st == SH_ERR_METHOD)
        add_header(out, "Allow", x->allow);
    if (challenge(x, st) != NULL)
        add_header(out, "WWW-Authenticate", challenge(x, st));
    if (sh_status_http(st) == 429) {
        snprintf(out->retry_after, sizeof(out->retry_after), "%d",
                 x->r.retry_after > 0 ? x->r.retry_after : 1);
        add_header(out, "Retry-After", out->retry_after);
    }
    return SH_OK;
}

static sh_status success(const sh_exchange *x, sh_response *out)
{
    int status = x->r.status ? x->r.status : 200;
    const char *ctype = x->r.content_type;
    char *text = NULL;
    size_t len = 0;

    if (x->r.text != NULL) {
        text = malloc(x->r.text_len ? x->r.text_len : 1);
        if (text == NULL)
            return SH_ERR_NOMEM;
        memcpy(text, x->r.text, x->r.text_len);
        len = x->r.text_len;
    } else if (x->r.reply != NULL) {
        text = sh_jw_dumps(x->r.reply, SH_REPLY_MAX, &len);
        if (text == NULL)
            return SH_ERR_NOMEM;
        ctype = "application/json";
    }
    text_answer(x, status, text, len, ctype, NULL, 0, out);
    return SH_OK;
}

sh_status sh_exchange_render(const sh_exchange *x, sh_response *out)
{
    enum sh_route_answer kind = answer_kind(x);

    memset(out, 0, sizeof(*out));
    if (x->err == SH_OK)
        return success(x, out);
    if (x->err == SH_ERR_OPTIONS)
        return options_answer(x, out);
    if (kind == SH_ANSWER_OAUTH)
        return oauth_error(x, x->err, out);
    if (kind == SH_ANSWER_HTML)
        return html_error(x, x->err, out);
    return problem(x, x->err, out);
}

void sh_response_clear(sh_response *resp)
{
    free(resp->body);
    free(resp->hbuf);
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

/* Copies every header value into resp->hbuf so that resp outlives the
 * exchange it was rendered from. */
static sh_status own_header_values(sh_response *resp)
{
    size_t total = 0, off = 0, n;

    for (size_t i = 0; i < resp->nheaders; i++)
        total += strlen(resp->headers[i].value) + 1;
    resp->hbuf = malloc(total ? total : 1);
    if (resp->hbuf == NULL)
        return SH_ERR_NOMEM;
    for (size_t i = 0; i < resp->nheaders; i++) {
        n = strlen(resp->headers[i].value) + 1;
        memcpy(resp->hbuf + off, resp->headers[i].value, n);
        resp->headers[i].value = resp->hbuf + off;
        off += n;
    }
    return SH_OK;
}

/* ---- end of an exchange ------------------------------------------------- */

/* The access log line and the request metrics, once per exchange. */
void sh_exchange_log(const sh_exchange *x)
{
    struct sh_log_request line;
    sh_id_hex a, b;
    const struct sh_route *rt = x->r.route;

    memset(&line, 0, sizeof(line));
    line.req_id = x->r.req_id;
    line.method = x->r.method;
    line.route = rt ? rt->path : "-";
    line.status = x->err != SH_OK ? sh_status_http(x->err) : (x->r.status ? x->r.status : 200);
    line.dur_us = sh_clock_now_us() - x->start_us;
    sh_metrics_request(x->pl->metrics, rt, line.status, line.dur_us);
    if (x->err != SH_OK && x->err != SH_ERR_OPTIONS)
        line.code = sh_status_code(x->err);
    if (x->r.authenticated && x->r.principal.kind == SH_PRINCIPAL_PARTNER) {
        sh_id_to_hex(&x->r.principal.user, &a);
        sh_id_to_hex(&x->r.principal.client, &b);
        line.user_id = a.s;
        line.client_id = b.s;
    } else if (x->r.authenticated && rt != NULL && rt->auth == SH_AUTH_DEVICE) {
        sh_id_to_hex(&x->r.principal.device, &a);
        line.device_id = a.s;
    } else if (x->r.authenticated && rt != NULL && rt->auth == SH_AUTH_USER) {
        sh_id_to_hex(&x->r.principal.user, &a);
        sh_id_to_hex(&x->r.principal.session, &b);
        line.user_id = a.s;
        line.session_id = b.s;
    }
    sh_log_request(&line);
}

void sh_exchange_free(sh_exchange *x)
{
    json_decref(x->r.body);
    json_decref(x->r.reply);
    sh_form_free(x->r.form);
    free(x->r.text);
    for (int i = 0; i < x->r.nheaders; i++)
        free(x->r.headers[i].value);
    free(x->buf);
    x->r.body = x->r.reply = NULL;
    x->r.form = NULL;
    x->r.text = NULL;
    x->r.nheaders = 0;
    x->buf = NULL;
    x->len = x->cap = 0;
}

/* ---- in-process entry point --------------------------------------------- */

struct inproc {
    const char *const (*h)[2];
    size_t n;
    const char *query; /* raw, after '?', or NULL */
};

static const char *inproc_header(void *ctx, const char *name)
{
    const struct inproc *in = ctx;

    for (size_t i = 0; i < in->n; i++) {
        if (strcasecmp(in->h[i][0], name) == 0)
            return in->h[i][1];
    }
    return NULL;
}

static sh_status inproc_query(void *ctx, sh_form *form)
{
    const struct inproc *in = ctx;

    if (in->query == NULL)
        return SH_OK;
    return sh_form_parse(form, in->query, strlen(in->query));
}

sh_status sh_pipeline_handle(const sh_pipeline *pl, const char *method, const char *target,
                             const char *const (*headers)[2], size_t nheaders, const char *body,
                             size_t body_len, sh_response *out)
{
    struct inproc in = {headers, nheaders, NULL};
    sh_request_source src = {inproc_header, inproc_query, &in};
    const char *q = strchr(target, '?');
    char *path = q ? strndup(target, (size_t)(q - target)) : NULL;
    sh_exchange x;
    sh_status rc;

    if (q != NULL && path == NULL)
        return SH_ERR_NOMEM;
    in.query = q ? q + 1 : NULL;
    sh_exchange_begin(&x, pl, method, path ? path : target, &src);
    if (body_len > 0)
        sh_exchange_append(&x, body, body_len);
    if (sh_exchange_prepare(&x) == SH_OK)
        sh_exchange_run(&x);
    rc = sh_exchange_render(&x, out);
    if (rc == SH_OK && (rc = own_header_values(out)) != SH_OK)
        sh_response_clear(out);
    sh_exchange_log(&x);
    sh_exchange_free(&x);
    free(path);
    return rc;
}
