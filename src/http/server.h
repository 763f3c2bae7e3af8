/*
 * server.h - an HTTP listener on libmicrohttpd.
 *
 * One single-threaded epoll daemon per core, all bound to the same port with
 * SO_REUSEPORT so the kernel spreads connections evenly (measured better than
 * MHD's thread pool, which sometimes leaves a thread idle). A response is
 * queued on the second call of the access handler, never the first: answering
 * on the first makes libmicrohttpd 0.9.75 close the connection.
 *
 * Routes that block are run in a worker pool: SH_POOL_HASH (Argon2id) in the
 * hash pool, SH_POOL_WRITE (a synchronous commit) in the write pool. The
 * connection is suspended, the handler runs on a worker, and the connection
 * is resumed to send the answer. The event threads never run Argon2id nor
 * wait for fsync; two pools, so a login flood cannot starve other writes.
 *
 * With TLS (cfg.tls), every accepted connection takes a reference to the
 * credential current at that moment and keeps it until it closes, so a
 * reload changes the certificate of new handshakes only (crypto/tls.h).
 */
#ifndef SH_SERVER_H
#define SH_SERVER_H

#include <stddef.h>

#include "core/workpool.h"
#include "crypto/tls.h"
#include "http/pipeline.h"
#include "http/request.h"

typedef struct sh_server sh_server;

struct sh_listener_cfg {
    const char *name;   /* "api", "admin": for logs */
    const char *listen; /* "127.0.0.1:8080" or "[::1]:8080" */
    const struct sh_route *routes;
    size_t nroutes;
    void *app;
    sh_authenticate_fn authenticate;
    sh_admit_fn admit;                /* may be NULL */
    sh_authorize_fn authorize;        /* may be NULL: no route with a device role or step-up */
    enum sh_metrics_listener metrics; /* SH_METRICS_API or SH_METRICS_ADMIN */
    unsigned threads;                 /* daemons sharing the port (>= 1) */
    sh_workpool *hash_pool;           /* for SH_POOL_HASH routes */
    sh_workpool *write_pool;          /* for SH_POOL_WRITE routes */
    int blocking_store;               /* store calls may wait on the network: every route that
                                         reads it (not SH_POOL_NOSTORE) runs on write_pool,
                                         SH_POOL_CACHED ones only on a cache miss */
    sh_tls *tls;                      /* NULL: plain HTTP; else HTTPS with its credential
                                         (outlives the listener) and HSTS on every answer */
};

/* Binds and starts the listener. Returns SH_ERR_IO if the address cannot be
 * parsed or bound. */
sh_status sh_server_start(const struct sh_listener_cfg *cfg, sh_server **out);
/* Stops accepting new connections; in-flight requests go on. */
void sh_server_quiesce(sh_server *s);
/* Waits (up to grace_ms) for open connections to finish, then stops the
 * daemons and frees the server. */
void sh_server_stop(sh_server *s, unsigned grace_ms);
/* Checks, without keeping anything open, that two listener addresses
 * parse, differ, and can be bound now: what `serve` does before it creates
 * any file, so a start that cannot listen leaves nothing behind. Logs why
 * and returns SH_ERR_IO when not. */
sh_status sh_server_check_addrs(const char *listen, const char *admin_listen);
/* Parses "host:port" / "[v6]:port" into a sockaddr; 0 on success. */
int sh_server_parse_addr(const char *text, void *sockaddr_storage, size_t *len);

#endif
