/*
 * server.c - the libmicrohttpd glue: daemons, connection suspend/resume for
 * slow routes, and turning a rendered answer into an MHD response. Routing,
 * authentication, body parsing, handlers and problem+json live in
 * pipeline.c, which needs no socket.
 *
 * Life of a request (struct conn_req, owned by the connection):
 *   call 1: allocate, sh_exchange_begin (route, Content-Length) -> MHD_YES
 *   call 2..n with data: sh_exchange_append                      -> MHD_YES
 *   last call (no data): sh_exchange_prepare, run the handler    -> queue
 *     (blocking routes: suspend, run on a worker, resume, and the next call
 *      queues the response)
 *   completed callback: log one line, free everything.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "core/log.h"
#include "http/form.h"
#include "http/pipeline.h"
#include "http/tarpit.h"

#define MAX_DAEMONS 64
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 4096
/* libmicrohttpd's per-connection pool holds the request line, the headers
 * and the answer's headers, and is zeroed in full before every request on a
 * kept-alive connection (MHD_pool_reset): 32 KiB by default, which was
 * memset at 5.7 % of a GET /v1/me profile. 8 KiB still takes request
 * headers of about 4 KiB (answered 431 past that); bodies never live there. */
#define CONNECTION_MEMORY 8192
/* Refusals for being too fast (429) are answered this late; see tarpit.h. */
#define TARPIT_MS 250
#define TARPIT_CAP 8192
/* Two years, what Mozilla's TLS guidelines give; no includeSubDomains: the
 * other hosts of the operator's domain are not ours to commit to HTTPS. */
#define HSTS_VALUE "max-age=63072000"

enum req_state { ST_NEW, ST_RUNNING, ST_DONE };

struct sh_server {
    struct sh_listener_cfg cfg;
    sh_pipeline pl;
    struct MHD_Daemon *daemons[MAX_DAEMONS];
    unsigned ndaemons;
    sh_tarpit *tarpit;
};

/* One request: the pipeline's exchange plus what libmicrohttpd needs. */
struct conn_req {
    sh_exchange x;
    sh_server *srv;
    struct MHD_Connection *conn;
    enum req_state state;
};

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

/* The query string, as libmicrohttpd decoded it ('+' as a space). */
static sh_status lookup_query(void *ctx, sh_form *form)
{
    struct query_ctx q = {form, SH_OK};

    MHD_get_connection_values_n(ctx, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
    return q.rc;
}

static enum MHD_Result respond(struct conn_req *cr)
{
    struct MHD_Response *resp;
    sh_response out;
    enum MHD_Result ret;

    if (sh_exchange_render(&cr->x, &out) != SH_OK)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(out.len, out.body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        sh_response_clear(&out);
        return MHD_NO;
    }
    for (size_t i = 0; i < out.nheaders; i++)
        MHD_add_response_header(resp, out.headers[i].name, out.headers[i].value);
    if (cr->srv->cfg.tls != NULL)
        MHD_add_response_header(resp, "Strict-Transport-Security", HSTS_VALUE);
    ret = MHD_queue_response(cr->conn, (unsigned)out.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void slow_job(void *arg)
{
    struct conn_req *cr = arg;

    sh_exchange_run(&cr->x);
    cr->state = ST_DONE;
    MHD_resume_connection(cr->conn);
}

static sh_workpool *pool_for(const struct conn_req *cr)
{
    enum sh_route_pool pool = cr->x.r.route->pool;

    if (pool == SH_POOL_HASH)
        return cr->srv->cfg.hash_pool;
    if (pool == SH_POOL_WRITE)
        return cr->srv->cfg.write_pool;
    if (cr->x.deferred)
        return cr->srv->cfg.write_pool; /* a store that may wait on the network */
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

/* Suspends the connection and hands the exchange to pool; a full or
 * stopping pool is answered from the suspended connection. */
static enum MHD_Result to_pool(struct conn_req *cr, sh_workpool *pool)
{
    sh_status rc;

    cr->state = ST_RUNNING;
    MHD_suspend_connection(cr->conn);
    rc = sh_workpool_submit(pool, slow_job, cr);
    if (rc == SH_OK)
        return MHD_YES;
    cr->x.err = rc == SH_ERR_BUSY ? sh_req_fail(&cr->x.r, rc, "server busy, retry later")
                                  : sh_req_fail(&cr->x.r, rc, "shutting down");
    cr->x.r.retry_after = 1;
    if (rc == SH_ERR_BUSY && hold_refusal(cr, 1))
        return MHD_YES;
    cr->state = ST_DONE;
    MHD_resume_connection(cr->conn);
    return MHD_YES;
}

static enum MHD_Result dispatch(struct conn_req *cr)
{
    sh_workpool *pool;
    sh_status rc;

    rc = sh_exchange_prepare(&cr->x);
    if (rc == SH_ERR_RATE_LIMITED && hold_refusal(cr, 0))
        return MHD_YES;
    if (rc != SH_OK)
        return respond(cr);
    pool = pool_for(cr);
    if (pool != NULL)
        return to_pool(cr, pool);
    sh_exchange_run(&cr->x);
    if (sh_exchange_wants_worker(&cr->x)) /* a cache miss on a store that blocks */
        return to_pool(cr, cr->srv->cfg.write_pool);
    return respond(cr);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct conn_req *cr = *con_cls;
    sh_server *srv = cls;
    sh_request_source src;

    (void)version;
    if (cr == NULL) {
        /* first call: never answer here (see server.h) */
        cr = calloc(1, sizeof(*cr));
        if (cr == NULL)
            return MHD_NO;
        cr->srv = srv;
        cr->conn = conn;
        src = (sh_request_source){lookup_header, lookup_query, conn};
        sh_exchange_begin(&cr->x, &srv->pl, method, url, &src);
        read_peer(conn, &cr->x.r);
        *con_cls = cr;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        sh_exchange_append(&cr->x, upload_data, *upload_size);
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

    (void)cls;
    (void)conn;
    (void)toe;
    if (cr == NULL)
        return;
    sh_exchange_log(&cr->x);
    sh_exchange_free(&cr->x);
    free(cr);
    *con_cls = NULL;
}

/* ---- TLS ------------------------------------------------------------------ */

/* A connection holds the credential it was accepted under (its socket
 * context) from accept to close; GnuTLS has let go of it by then
 * (libmicrohttpd deinits the session before it reports the close). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    sh_server *srv = cls;

    (void)conn;
    if (srv->cfg.tls == NULL)
        return;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = sh_tls_acquire(srv->cfg.tls);
    } else {
        sh_tls_release(*socket_context);
        *socket_context = NULL;
    }
}

/* gnutls_certificate_retrieve_function2: the handshake's chain and key are
 * those of the connection's credential. libmicrohttpd sets the session's
 * pointer to its connection. */
static int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                        const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **chain,
                        unsigned int *nchain, gnutls_privkey_t *key)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;

    (void)req_ca_dn;
    (void)nreqs;
    (void)algos;
    (void)nalgos;
    if (ci == NULL || ci->socket_context == NULL)
        return -1;
    sh_tls_cred_parts(ci->socket_context, chain, nchain, key);
    return 0;
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

/* libmicrohttpd's own unescaping turns %00 into a NUL, and the path the
 * router sees ends there: "/readyz%00junk" answered as "/readyz". Ours
 * leaves %00 as it came (sh_url_unescape), so such a path matches no route
 * and no parameter value holds a NUL. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return sh_url_unescape(s);
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

/* Parses one listener's address and checks that it can be bound now. */
static sh_status usable_addr(const char *text, const char *name, struct sockaddr_storage *addr,
                             size_t *len)
{
    if (sh_server_parse_addr(text, addr, len) != 0) {
        sh_log_event(SH_LOG_ERROR, "listen_address_invalid", "listener", name);
        return SH_ERR_IO;
    }
    if (!address_free(addr, *len)) {
        sh_log_event(SH_LOG_ERROR, "listen_address_in_use", "listener", name);
        return SH_ERR_IO;
    }
    return SH_OK;
}

sh_status sh_server_check_addrs(const char *listen, const char *admin_listen)
{
    struct sockaddr_storage a, b;
    size_t alen = 0, blen = 0;

    if (usable_addr(listen, "api", &a, &alen) != SH_OK ||
        usable_addr(admin_listen, "admin", &b, &blen) != SH_OK)
        return SH_ERR_IO;
    if (alen == blen && memcmp(&a, &b, alen) == 0) {
        sh_log_event(SH_LOG_ERROR, "listen_addresses_equal", NULL, NULL);
        return SH_ERR_IO;
    }
    return SH_OK;
}

sh_status sh_server_start(const struct sh_listener_cfg *cfg, sh_server **out)
{
    static char priorities[] = SH_TLS_PRIORITIES;
    /* without TLS, an empty list; with it, the credential callback and the
     * protocol versions and ciphers of crypto/tls.h */
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_retrieve},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, priorities},
        {MHD_OPTION_END, 0, NULL},
    };
    struct sockaddr_storage addr;
    size_t addr_len = 0;
    sh_server *s;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

    if (usable_addr(cfg->listen, cfg->name, &addr, &addr_len) != SH_OK)
        return SH_ERR_IO;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cfg->tls != NULL)
        flags |= MHD_USE_TLS;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SH_ERR_NOMEM;
    s->cfg = *cfg;
    s->pl.routes = cfg->routes;
    s->pl.nroutes = cfg->nroutes;
    s->pl.app = cfg->app;
    s->pl.authenticate = cfg->authenticate;
    s->pl.admit = cfg->admit;
    s->pl.authorize = cfg->authorize;
    s->pl.metrics = cfg->metrics;
    s->pl.blocking_store = cfg->blocking_store;
    if (sh_tarpit_new(TARPIT_MS, TARPIT_CAP, &s->tarpit) != SH_OK) {
        free(s);
        return SH_ERR_NOMEM;
    }
    /* The logger goes first: libmicrohttpd prints to stderr itself, text
     * and client addresses included, until it has seen that option. */
    for (unsigned i = 0; i < cfg->threads && i < MAX_DAEMONS; i++) {
        s->daemons[i] = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_LISTENING_ADDRESS_REUSE,
            (unsigned)1, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
            MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_ARRAY, cfg->tls != NULL ? tls_opts : tls_opts + 2,
            MHD_OPTION_END);
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
