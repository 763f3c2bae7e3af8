/*
 * server.c - the libmicrohttpd glue: request life cycle, body accumulation
 * with a limit, routing, authentication, JSON parsing, slow-route offload,
 * problem+json errors and the access log.
 *
 * Life of a request (struct conn_req, owned by the connection):
 *   call 1: allocate, route, check Content-Length         -> MHD_YES
 *   call 2..n with data: append up to the route's limit   -> MHD_YES
 *   last call (no data): authenticate, parse, run handler -> queue response
 *     (blocking routes: suspend, run on a worker, resume, and the next call
 *      queues the response)
 *   completed callback: log one line, free everything.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/html.h"
#include "http/router.h"
#include "http/tarpit.h"

#define MAX_DAEMONS 64
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 4096
#define ALLOW_MAX 64
/* Refusals for being too fast (429) are answered this late; see tarpit.h. */
#define TARPIT_MS 250
#define TARPIT_CAP 8192

enum req_state { ST_NEW, ST_RUNNING, ST_DONE };

struct sh_server {
    struct sh_listener_cfg cfg;
    struct MHD_Daemon *daemons[MAX_DAEMONS];
    unsigned ndaemons;
    sh_tarpit *tarpit;
};

struct conn_req {
    sh_req r;
    sh_server *srv;
    struct MHD_Connection *conn;
    enum req_state state;
    sh_status err; /* set before the handler runs, or by it */
    char allow[ALLOW_MAX];
    char *buf; /* request body */
    size_t len, cap, limit;
    int64_t start_us;
};

/* ---- responses ------------------------------------------------------------ */

static void add_common_headers(struct MHD_Response *resp, const struct conn_req *cr)
{
    MHD_add_response_header(resp, "X-Request-Id", cr->r.req_id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

static json_t *problem_body(const struct conn_req *cr, sh_status st)
{
    char type[96];
    json_t *p;

    snprintf(type, sizeof(type), "urn:safehouse:problem:%s", sh_status_code(st));
    p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", sh_status_title(st), "status",
                  sh_status_http(st), "code", sh_status_code(st), "request_id", cr->r.req_id);
    if (p != NULL && cr->r.detail[0] != '\0')
        json_object_set_new(p, "detail", json_string(cr->r.detail));
    return p;
}

static enum MHD_Result queue_json(struct conn_req *cr, int status, json_t *body, const char *ctype)
{
    struct MHD_Response *resp;
    char *text = NULL;
    size_t len = 0;
    enum MHD_Result ret;

    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL)
            return MHD_NO;
        len = strlen(text);
    }
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    add_common_headers(resp, cr);
    if (body != NULL)
        MHD_add_response_header(resp, "Content-Type", ctype);
    ret = MHD_queue_response(cr->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result queue_problem(struct conn_req *cr, sh_status st)
{
    struct MHD_Response *resp;
    json_t *body = problem_body(cr, st);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char num[16];
    enum MHD_Result ret;

    json_decref(body);
    if (text == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    add_common_headers(resp, cr);
    MHD_add_response_header(resp, "Content-Type", "application/problem+json");
    if (st == SH_ERR_METHOD)
        MHD_add_response_header(resp, "Allow", cr->allow);
    if (sh_status_http(st) == 401)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                st == SH_ERR_UNAUTHENTICATED ? "Bearer"
                                                             : "Bearer error=\"invalid_token\"");
    if (st == SH_ERR_INSUFFICIENT_SCOPE) /* RFC 6750 3.1 */
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer error=\"insufficient_scope\"");
    if (sh_status_http(st) == 429) {
        snprintf(num, sizeof(num), "%d", cr->r.retry_after > 0 ? cr->r.retry_after : 1);
        MHD_add_response_header(resp, "Retry-After", num);
    }
    ret = MHD_queue_response(cr->conn, (unsigned)sh_status_http(st), resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Headers a browser page needs (SH_ROUTE_HTML): no framing, no referrer,
 * and a CSP unless the handler set its own. */
static void add_page_headers(struct MHD_Response *resp, const struct conn_req *cr)
{
    char csp[SH_HTML_CSP_MAX];
    int own_csp = 0;

    for (int i = 0; i < cr->r.nheaders; i++)
        own_csp |= strcmp(cr->r.headers[i].name, "Content-Security-Policy") == 0;
    if (!own_csp) {
        sh_html_csp(csp, NULL);
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
    }
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

/* Queues text (owned, malloc'd, may be NULL) with the handler's extra
 * headers. */
static enum MHD_Result queue_text(struct conn_req *cr, int status, char *text, size_t len,
                                  const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    add_common_headers(resp, cr);
    if (text != NULL && ctype != NULL)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (cr->r.route != NULL && (cr->r.route->flags & SH_ROUTE_HTML))
        add_page_headers(resp, cr);
    for (int i = 0; i < cr->r.nheaders; i++)
        MHD_add_response_header(resp, cr->r.headers[i].name, cr->r.headers[i].value);
    ret = MHD_queue_response(cr->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* RFC 6749 5.2 error JSON for SH_ROUTE_OAUTH routes. */
static enum MHD_Result queue_oauth_error(struct conn_req *cr, sh_status st)
{
    json_t *j = json_pack("{s:s}", "error", sh_status_oauth(st));
    char *text;

    if (j != NULL && cr->r.detail[0] != '\0')
        json_object_set_new(j, "error_description", json_string(cr->r.detail));
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return MHD_NO;
    if (st == SH_ERR_INVALID_CLIENT && sh_req_header(&cr->r, "Authorization") != NULL)
        sh_req_add_header(&cr->r, "WWW-Authenticate", "Basic realm=\"safehouse\"");
    if (st == SH_ERR_METHOD)
        sh_req_add_header(&cr->r, "Allow", cr->allow);
    sh_req_add_header(&cr->r, "Pragma", "no-cache");
    return queue_text(cr, sh_status_http(st), text, strlen(text), "application/json");
}

static enum MHD_Result queue_html_error(struct conn_req *cr, sh_status st)
{
    size_t len = 0;
    char *page = sh_html_error_page(sh_status_title(st), cr->r.detail, &len);

    if (page == NULL)
        return MHD_NO;
    if (st == SH_ERR_METHOD)
        sh_req_add_header(&cr->r, "Allow", cr->allow);
    return queue_text(cr, sh_status_http(st), page, len, "text/html; charset=utf-8");
}

static enum MHD_Result respond(struct conn_req *cr)
{
    unsigned flags = cr->r.route ? cr->r.route->flags : 0;
    char *text;

    if (cr->err != SH_OK) {
        if (flags & SH_ROUTE_OAUTH)
            return queue_oauth_error(cr, cr->err);
        if (flags & SH_ROUTE_HTML)
            return queue_html_error(cr, cr->err);
        return queue_problem(cr, cr->err);
    }
    if (cr->r.text != NULL || cr->r.nheaders > 0 || (flags & SH_ROUTE_HTML)) {
        size_t len = cr->r.text_len;
        const char *ctype = cr->r.content_type;
        text = cr->r.text;
        cr->r.text = NULL;
        if (text == NULL && cr->r.reply != NULL) {
            text = json_dumps(cr->r.reply, JSON_COMPACT);
            if (text == NULL)
                return MHD_NO;
            len = strlen(text);
            ctype = "application/json";
        }
        return queue_text(cr, cr->r.status ? cr->r.status : 200, text, len, ctype);
    }
    return queue_json(cr, cr->r.status ? cr->r.status : 200, cr->r.reply, "application/json");
}

/* ---- request processing ------------------------------------------------ */

static void read_bearer(struct conn_req *cr)
{
    const char *h = MHD_lookup_connection_value(cr->conn, MHD_HEADER_KIND, "Authorization");

    if (h == NULL)
        return;
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        cr->r.bearer = ""; /* present but not a bearer token */
        return;
    }
    h += 7;
    while (*h == ' ')
        h++;
    cr->r.bearer = h;
    cr->r.bearer_len = strlen(h);
    while (cr->r.bearer_len > 0 && h[cr->r.bearer_len - 1] == ' ')
        cr->r.bearer_len--;
}

static int content_type_is_json(struct conn_req *cr)
{
    const char *ct = MHD_lookup_connection_value(cr->conn, MHD_HEADER_KIND, "Content-Type");
    size_t n = strlen("application/json");

    return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static sh_status parse_body(struct conn_req *cr)
{
    json_error_t jerr;

    if (cr->len == 0)
        return sh_req_fail(&cr->r, SH_ERR_INVALID_JSON, "a JSON object body is required");
    if (!content_type_is_json(cr))
        return SH_ERR_UNSUPPORTED_MEDIA;
    cr->r.body = json_loadb(cr->buf, cr->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (cr->r.body == NULL)
        return sh_req_fail(&cr->r, SH_ERR_INVALID_JSON, "body is not valid UTF-8 JSON");
    if (!json_is_object(cr->r.body))
        return sh_req_fail(&cr->r, SH_ERR_INVALID_REQUEST, "body must be a JSON object");
    return SH_OK;
}

static int content_type_is_form(struct conn_req *cr)
{
    const char *ct = MHD_lookup_connection_value(cr->conn, MHD_HEADER_KIND, "Content-Type");
    size_t n = strlen("application/x-www-form-urlencoded");

    return ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

struct query_ctx {
    sh_form *form;
    sh_status rc;
};

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    struct query_ctx *q = cls;

    (void)kind;
    if (q->rc == SH_OK)
        q->rc = sh_form_add(q->form, key, key_size, value ? value : "", value ? value_size : 0);
    return q->rc == SH_OK ? MHD_YES : MHD_NO;
}

/* SH_ROUTE_FORM: a GET's query string (decoded by libmicrohttpd, '+' as a
 * space), or an urlencoded body. */
static sh_status parse_form(struct conn_req *cr)
{
    struct query_ctx q;

    cr->r.form = sh_form_new();
    if (cr->r.form == NULL)
        return SH_ERR_NOMEM;
    if (strcmp(cr->r.method, "GET") == 0) {
        q.form = cr->r.form;
        q.rc = SH_OK;
        MHD_get_connection_values_n(cr->conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
        return q.rc == SH_OK
                   ? SH_OK
                   : sh_req_fail(&cr->r, q.rc, "query parameters are malformed or too many");
    }
    if (cr->len == 0)
        return SH_OK;
    if (!content_type_is_form(cr))
        return sh_req_fail(&cr->r, SH_ERR_UNSUPPORTED_MEDIA,
                           "body must be application/x-www-form-urlencoded");
    if (sh_form_parse(cr->r.form, cr->buf, cr->len) != SH_OK)
        return sh_req_fail(&cr->r, SH_ERR_INVALID_REQUEST,
                           "form body is malformed (bad escape, NUL, invalid UTF-8 or too many "
                           "fields)");
    return SH_OK;
}

static sh_status prepare(struct conn_req *cr)
{
    const struct sh_route *rt = cr->r.route;
    sh_status rc;

    if (rt->limit != 0 && cr->srv->cfg.admit != NULL &&
        (rc = cr->srv->cfg.admit(cr->srv->cfg.app, &cr->r)) != SH_OK)
        return rc;
    if (rt->auth != SH_AUTH_NONE) {
        read_bearer(cr);
        rc = cr->srv->cfg.authenticate(cr->srv->cfg.app, rt->auth, &cr->r);
        if (rc != SH_OK)
            return rc;
        cr->r.authenticated = 1;
    }
    if (rt->flags & SH_ROUTE_BODY)
        return parse_body(cr);
    if ((rt->flags & SH_ROUTE_BODY_OPT) && cr->len > 0)
        return parse_body(cr);
    if (rt->flags & SH_ROUTE_FORM)
        return parse_form(cr);
    return SH_OK;
}

static void run_handler(struct conn_req *cr)
{
    cr->err = cr->r.route->handler(&cr->r);
    if (cr->err == SH_PENDING)
        cr->err = SH_ERR_INTERNAL;
}

static void slow_job(void *arg)
{
    struct conn_req *cr = arg;

    run_handler(cr);
    cr->state = ST_DONE;
    MHD_resume_connection(cr->conn);
}

static sh_workpool *pool_for(const struct conn_req *cr)
{
    unsigned flags = cr->r.route->flags;

    if (flags & SH_ROUTE_HASH)
        return cr->srv->cfg.hash_pool;
    if (flags & SH_ROUTE_WRITE)
        return cr->srv->cfg.write_pool;
    return NULL;
}

static void release_late(void *arg)
{
    struct conn_req *cr = arg;

    cr->state = ST_DONE;
    MHD_resume_connection(cr->conn);
}

/* A request refused for being too fast (an address limit, a full pool) is
 * answered TARPIT_MS late, from a suspended connection. suspended: the
 * caller has already suspended it. Returns 1 when held, 0 when the tarpit is
 * full (the caller answers now; the connection is as it was). */
static int hold_refusal(struct conn_req *cr, int suspended)
{
    if (cr->srv->tarpit == NULL)
        return 0;
    cr->state = ST_RUNNING;
    if (!suspended)
        MHD_suspend_connection(cr->conn);
    if (sh_tarpit_hold(cr->srv->tarpit, release_late, cr) == SH_OK)
        return 1;
    if (!suspended)
        MHD_resume_connection(cr->conn);
    cr->state = ST_NEW;
    return 0;
}

static enum MHD_Result dispatch(struct conn_req *cr)
{
    sh_workpool *pool;

    if (cr->err == SH_OK)
        cr->err = prepare(cr);
    if (cr->err == SH_ERR_RATE_LIMITED && hold_refusal(cr, 0))
        return MHD_YES;
    if (cr->err != SH_OK)
        return respond(cr);
    pool = pool_for(cr);
    if (pool != NULL) {
        cr->state = ST_RUNNING;
        MHD_suspend_connection(cr->conn);
        sh_status rc = sh_workpool_submit(pool, slow_job, cr);
        if (rc == SH_OK)
            return MHD_YES;
        cr->err = rc == SH_ERR_BUSY ? sh_req_fail(&cr->r, rc, "server busy, retry later")
                                    : sh_req_fail(&cr->r, rc, "shutting down");
        cr->r.retry_after = 1;
        if (rc == SH_ERR_BUSY && hold_refusal(cr, 1))
            return MHD_YES;
        cr->state = ST_DONE;
        MHD_resume_connection(cr->conn);
        return MHD_YES;
    }
    run_handler(cr);
    return respond(cr);
}

/* The client address from the connection itself (never from a header). */
static void read_peer(struct MHD_Connection *conn, sh_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    memset(r->peer, 0, sizeof(r->peer));
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        r->peer[10] = r->peer[11] = 0xff;
        memcpy(r->peer + 12, &v4->sin_addr, 4);
        r->peer_known = 1;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(r->peer, &v6->sin6_addr, 16);
        r->peer_known = 1;
    }
}

static const char *lookup_header(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static struct conn_req *conn_req_new(sh_server *srv, struct MHD_Connection *conn, const char *url,
                                     const char *method)
{
    struct conn_req *cr = calloc(1, sizeof(*cr));
    uint8_t rid[SH_REQ_ID_LEN / 2];
    const char *cl;

    if (cr == NULL)
        return NULL;
    cr->srv = srv;
    cr->conn = conn;
    cr->start_us = sh_clock_now_us();
    cr->r.app = srv->cfg.app;
    cr->r.method = method;
    read_peer(conn, &cr->r);
    cr->r.header_fn = lookup_header;
    cr->r.header_ctx = conn;
    randombytes_buf(rid, sizeof(rid));
    sodium_bin2hex(cr->r.req_id, sizeof(cr->r.req_id), rid, sizeof(rid));
    cr->err = sh_router_match(srv->cfg.routes, srv->cfg.nroutes, method, url, &cr->r, cr->allow,
                              sizeof(cr->allow));
    cr->limit = SH_BODY_LIMIT_DEFAULT;
    if (cr->r.route != NULL && cr->r.route->body_limit != 0)
        cr->limit = cr->r.route->body_limit;
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl != NULL && strtoull(cl, NULL, 10) > cr->limit)
        cr->err = SH_ERR_TOO_LARGE;
    return cr;
}

static void append_body(struct conn_req *cr, const char *data, size_t n)
{
    if (cr->err != SH_OK)
        return; /* already failing: drain and discard */
    if (cr->len + n > cr->limit) {
        cr->err = SH_ERR_TOO_LARGE;
        return;
    }
    if (cr->len + n > cr->cap) {
        size_t cap = cr->cap ? cr->cap : 1024;
        char *buf;
        while (cap < cr->len + n)
            cap *= 2;
        if (cap > cr->limit)
            cap = cr->limit;
        buf = realloc(cr->buf, cap);
        if (buf == NULL) {
            cr->err = SH_ERR_NOMEM;
            return;
        }
        cr->buf = buf;
        cr->cap = cap;
    }
    memcpy(cr->buf + cr->len, data, n);
    cr->len += n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct conn_req *cr = *con_cls;

    (void)version;
    if (cr == NULL) {
        cr = conn_req_new(cls, conn, url, method);
        *con_cls = cr;
        return cr != NULL ? MHD_YES : MHD_NO;
    }
    if (*upload_size != 0) {
        append_body(cr, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (cr->state == ST_DONE)
        return respond(cr);
    if (cr->state == ST_RUNNING)
        return MHD_YES; /* spurious call while a worker holds it */
    return dispatch(cr);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_req *cr = *con_cls;
    struct sh_log_request line;
    sh_id_hex user, session;

    (void)cls;
    (void)conn;
    (void)toe;
    if (cr == NULL)
        return;
    memset(&line, 0, sizeof(line));
    line.req_id = cr->r.req_id;
    line.method = cr->r.method;
    line.route = cr->r.route ? cr->r.route->pattern : "-";
    line.status = cr->err != SH_OK ? sh_status_http(cr->err) : (cr->r.status ? cr->r.status : 200);
    line.dur_us = sh_clock_now_us() - cr->start_us;
    if (cr->err != SH_OK)
        line.code = sh_status_code(cr->err);
    if (cr->r.authenticated && cr->r.principal.kind == SH_PRINCIPAL_PARTNER) {
        sh_id_to_hex(&cr->r.principal.user, &user);
        sh_id_to_hex(&cr->r.principal.client, &session);
        line.user_id = user.s;
        line.client_id = session.s;
    } else if (cr->r.authenticated && cr->r.route->auth == SH_AUTH_DEVICE) {
        sh_id_to_hex(&cr->r.principal.device, &user);
        line.device_id = user.s;
    } else if (cr->r.authenticated && cr->r.route->auth == SH_AUTH_USER) {
        sh_id_to_hex(&cr->r.principal.user, &user);
        sh_id_to_hex(&cr->r.principal.session, &session);
        line.user_id = user.s;
        line.session_id = session.s;
    }
    sh_log_request(&line);
    json_decref(cr->r.body);
    json_decref(cr->r.reply);
    sh_form_free(cr->r.form);
    free(cr->r.text);
    for (int i = 0; i < cr->r.nheaders; i++)
        free(cr->r.headers[i].value);
    free(cr->buf);
    free(cr);
    *con_cls = NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

int sh_server_parse_addr(const char *text, void *storage, size_t *len)
{
    char host[64];
    const char *colon;
    char *end;
    unsigned long port;
    size_t hlen;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        hlen = (size_t)(close - text - 1);
        if (hlen >= sizeof(host))
            return -1;
        memcpy(host, text + 1, hlen);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
            return -1;
        hlen = (size_t)(colon - text);
        memcpy(host, text, hlen);
    }
    host[hlen] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port > 65535)
        return -1;
    memset(storage, 0, sizeof(struct sockaddr_storage));
    struct sockaddr_in *v4 = storage;
    struct sockaddr_in6 *v6 = storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    memset(storage, 0, sizeof(struct sockaddr_storage));
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return -1;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    /* libmicrohttpd messages can carry client addresses: log only that one
     * happened, never its text. */
    (void)cls;
    (void)fmt;
    (void)ap;
    sh_log_event(SH_LOG_DEBUG, "http_library_message", NULL, NULL);
}

/* SO_REUSEPORT would also let a second safehouse (same user) bind the port
 * and silently take half the traffic. A plain bind first fails with
 * EADDRINUSE if anyone holds the address. */
static int address_free(const struct sockaddr_storage *addr, size_t len)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, ok;

    if (fd < 0)
        return 0;
    /* SO_REUSEADDR only skips TIME_WAIT leftovers, not live listeners */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (const struct sockaddr *)addr, (socklen_t)len) == 0;
    close(fd);
    return ok;
}

sh_status sh_server_start(const struct sh_listener_cfg *cfg, sh_server **out)
{
    struct sockaddr_storage addr;
    size_t addr_len = 0;
    sh_server *s;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

    if (sh_server_parse_addr(cfg->listen, &addr, &addr_len) != 0) {
        sh_log_event(SH_LOG_ERROR, "listen_address_invalid", "listener", cfg->name);
        return SH_ERR_IO;
    }
    if (!address_free(&addr, addr_len)) {
        sh_log_event(SH_LOG_ERROR, "listen_address_in_use", "listener", cfg->name);
        return SH_ERR_IO;
    }
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SH_ERR_NOMEM;
    s->cfg = *cfg;
    if (sh_tarpit_new(TARPIT_MS, TARPIT_CAP, &s->tarpit) != SH_OK) {
        free(s);
        return SH_ERR_NOMEM;
    }
    for (unsigned i = 0; i < cfg->threads && i < MAX_DAEMONS; i++) {
        s->daemons[i] = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT, MHD_OPTION_EXTERNAL_LOGGER,
            mhd_log, NULL, MHD_OPTION_END);
        if (s->daemons[i] == NULL) {
            sh_log_event(SH_LOG_ERROR, "listen_failed", "listener", cfg->name);
            sh_server_stop(s, 0);
            return SH_ERR_IO;
        }
        s->ndaemons++;
    }
    *out = s;
    return SH_OK;
}

void sh_server_quiesce(sh_server *s)
{
    for (unsigned i = 0; i < s->ndaemons; i++) {
        MHD_socket fd = MHD_quiesce_daemon(s->daemons[i]);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

static unsigned open_connections(sh_server *s)
{
    unsigned n = 0;

    for (unsigned i = 0; i < s->ndaemons; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(s->daemons[i], MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info != NULL)
            n += info->num_connections;
    }
    return n;
}

void sh_server_stop(sh_server *s, unsigned grace_ms)
{
    if (s == NULL)
        return;
    sh_tarpit_free(s->tarpit); /* answers every held refusal now */
    s->tarpit = NULL;
    for (unsigned waited = 0; waited < grace_ms && open_connections(s) > 0; waited += 10)
        usleep(10000);
    for (unsigned i = 0; i < s->ndaemons; i++)
        MHD_stop_daemon(s->daemons[i]);
    free(s);
}
