/*
 * request.h - one HTTP request as handlers see it, and the route table type.
 *
 * Routes are data (STYLE habit 7): method, path pattern, handler, who may
 * call it, flags and body limit sit in one table per listener, so what each
 * route may do is reviewed in one place.
 *
 * A request owns everything hanging off it (body, parsed JSON, response
 * JSON); the server frees it all in one place when the request ends.
 */
#ifndef SH_REQUEST_H
#define SH_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/auth.h"
#include "core/status.h"
#include "http/form.h"

#define SH_BODY_LIMIT_DEFAULT ((size_t)64 * 1024)
#define SH_PATH_MAX 512
#define SH_PATH_PARAMS_MAX 2
#define SH_PATH_PARAM_LEN 64
#define SH_DETAIL_MAX 160
#define SH_REQ_ID_LEN 16
#define SH_RESP_HEADERS_MAX 6

typedef struct sh_req sh_req;
typedef sh_status (*sh_handler)(sh_req *r);

enum sh_auth_kind {
    SH_AUTH_NONE = 0,    /* anyone; a bearer token, if sent, is not read */
    SH_AUTH_USER,        /* app access token, or a partner token where partner_scope allows */
    SH_AUTH_ADMIN,       /* admin credential on the admin listener; .roles says which */
    SH_AUTH_DEVICE,      /* device token */
    SH_AUTH_RELAY,       /* media relay credential */
    SH_AUTH_PARTNER,     /* OAuth partner access token (sh_oa_) only */
    SH_AUTH_SERVICE_KEY, /* the IFTTT-Service-Key header of a registered client */
};

/* What the request carries. */
enum sh_route_body {
    SH_BODY_NONE = 0, /* ignored */
    SH_BODY_JSON,     /* a JSON object, required */
    SH_BODY_JSON_OPT, /* a JSON object when one is sent */
    SH_BODY_FORM,     /* parameters in r->form: a GET's query string, else an urlencoded body */
};

/* Where the handler runs. On a store that blocks (PostgreSQL) every route
 * but SH_POOL_NOSTORE leaves the event threads. */
enum sh_route_pool {
    SH_POOL_READ = 0, /* reads the store: the event thread on SQLite, a worker on PostgreSQL */
    SH_POOL_NOSTORE,  /* neither the handler nor its authentication reads the store */
    SH_POOL_CACHED,   /* like READ, but on a store that blocks authentication reads no store
                       * and the handler first runs on the event thread with r->memory_only
                       * set; it answers from a cache or returns SH_WOULDBLOCK, and then
                       * runs again on a worker */
    SH_POOL_HASH,     /* runs Argon2id: the hash pool */
    SH_POOL_WRITE,    /* waits on a durable commit: the write pool */
};

/* Step-up (auth/stepup.h), enforced by the pipeline before the handler. */
enum sh_route_stepup {
    SH_STEPUP_NONE = 0,
    SH_STEPUP_RECENT, /* a login within the step-up window, or proof in the body */
    SH_STEPUP_PROOF,  /* proof in the body ("password", and "code"), however fresh the login */
};

/* How errors (and pages) are answered. */
enum sh_route_answer {
    SH_ANSWER_JSON = 0, /* JSON; errors as problem+json (RFC 9457) */
    SH_ANSWER_OAUTH,    /* errors as RFC 6749 5.2 JSON ({"error": ...}) */
    SH_ANSWER_HTML,     /* a browser page: errors as an HTML page, and every answer carries
                         * CSP, X-Frame-Options: DENY and friends */
};

/* Operator roles (admin routes): a route lists the roles any of which may
 * call it. The admin token holds them all; a scrape token holds
 * SH_ADMIN_SCRAPE alone, so it can read /metrics and nothing else. */
enum sh_admin_role {
    SH_ADMIN_VIEWER = 1 << 0,   /* metrics (and, later, the audit log): no personal values */
    SH_ADMIN_SUPPORT = 1 << 1,  /* looks at accounts on a user's behalf */
    SH_ADMIN_SECURITY = 1 << 2, /* revocation, partner clients, device provisioning, relays */
    SH_ADMIN_OWNER = 1 << 3,    /* operators */
    SH_ADMIN_SCRAPE = 1 << 4,   /* a Prometheus scrape credential: /metrics only */
};
#define SH_ADMIN_ALL                                                                               \
    (SH_ADMIN_VIEWER | SH_ADMIN_SUPPORT | SH_ADMIN_SECURITY | SH_ADMIN_OWNER | SH_ADMIN_SCRAPE)

/*
 * One route. Rows are written with designated initializers; every field
 * left out means "none": no credential, no body, the read pool, no step-up,
 * never a partner token, no address limit, no role, no device role.
 */
struct sh_route {
    const char *method;
    const char *path; /* "/v1/sessions/{id}": {x} matches one segment */
    sh_handler handler;
    enum sh_auth_kind auth;
    enum sh_route_body body;
    enum sh_route_pool pool;
    enum sh_route_stepup stepup; /* SH_AUTH_USER routes in the hash pool only */
    enum sh_route_answer answer;
    /* OAuth partner tokens (sh_oa_) on SH_AUTH_USER or SH_AUTH_PARTNER
     * routes: the SH_SCOPE_* bits of which the token must hold at least
     * one. 0: never reachable with a partner token (accounts, sessions,
     * sharing, health...). */
    unsigned partner_scope;
    int limit;      /* per-address limit (enum sh_limit_kind), 0 = none */
    unsigned roles; /* SH_AUTH_ADMIN routes: enum sh_admin_role bits, any of which may call */
    /* routes on one device ({id} is its id): the weakest share role that
     * may call (SH_ROLE_* of devices/devices.h; owner 1 < controller 2 <
     * viewer 3). A caller with no role on the device gets 404, as if it
     * did not exist; one with a weaker role 403. 0: not a device route. */
    int device_role;
};

struct sh_resp_header {
    const char *name; /* static */
    char *value;      /* owned */
};

#define SH_PEER_LEN 16 /* client address as IPv6; IPv4 as ::ffff:a.b.c.d */

struct sh_req {
    void *app; /* the listener's context */
    const struct sh_route *route;
    const char *method;
    char params[SH_PATH_PARAMS_MAX][SH_PATH_PARAM_LEN + 1];
    const char *bearer; /* Authorization bearer token, or NULL */
    size_t bearer_len;
    json_t *body;  /* parsed JSON object, for SH_BODY_JSON */
    sh_form *form; /* parsed parameters, for SH_BODY_FORM */
    /* request headers, looked up through the server */
    const char *(*header_fn)(void *ctx, const char *name);
    void *header_ctx;
    sh_principal principal; /* valid when authenticated */
    int authenticated;
    int memory_only; /* SH_POOL_CACHED on the event thread: no store call */
    char req_id[SH_REQ_ID_LEN + 1];
    uint8_t peer[SH_PEER_LEN]; /* the connection's client address (never logged) */
    int peer_known;

    /* response, set by the handler */
    int status;                 /* 200, 201, 204 ... */
    json_t *reply;              /* owned; NULL for no body */
    char detail[SH_DETAIL_MAX]; /* problem detail on error, may be "" */
    int retry_after;            /* seconds, for 429 */
    char *text;                 /* owned non-JSON body (HTML), or NULL */
    size_t text_len;
    const char *content_type; /* static; for text */
    struct sh_resp_header headers[SH_RESP_HEADERS_MAX];
    int nheaders;
};

/* Sets a JSON reply (takes ownership of body) and status. Returns SH_OK. */
sh_status sh_req_reply(sh_req *r, int status, json_t *body);
/* Sets an error detail (a fixed, value-free text) and returns st. */
sh_status sh_req_fail(sh_req *r, sh_status st, const char *detail);

/* Sets a non-JSON body (takes ownership of text, malloc'd) with a static
 * content type and status. Returns SH_OK. */
sh_status sh_req_reply_text(sh_req *r, int status, const char *ctype, char *text, size_t len);
/* A redirect (302/303) to location (copied). Returns SH_OK or SH_ERR_NOMEM. */
sh_status sh_req_redirect(sh_req *r, int status, const char *location);
/* Adds a response header; name must be static, value is copied. */
sh_status sh_req_add_header(sh_req *r, const char *name, const char *value);
/* A request header's value, or NULL. Valid for the request. */
const char *sh_req_header(sh_req *r, const char *name);
/* Form parameter readers (SH_BODY_FORM). A parameter may appear at most
 * once (RFC 6749 3.1, 3.2); a repeated, missing (sh_req_param) or too long
 * one is SH_ERR_INVALID_REQUEST with a detail naming it. An empty value
 * counts as absent (RFC 6749 3.1). */
sh_status sh_req_param(sh_req *r, const char *name, size_t max_bytes, const char **out);
sh_status sh_req_param_opt(sh_req *r, const char *name, size_t max_bytes, const char **out);

/* Body field readers. Each returns SH_OK or SH_ERR_INVALID_REQUEST with a
 * detail naming the field. Strings point into r->body (valid for the
 * request). max_bytes bounds the UTF-8 length. */
sh_status sh_req_string(sh_req *r, const char *field, size_t max_bytes, const char **out,
                        size_t *len);
/* Like sh_req_string but absent -> *out NULL, SH_OK. */
sh_status sh_req_string_opt(sh_req *r, const char *field, size_t max_bytes, const char **out);
/* Absent -> *present 0; null -> *out NULL; string -> *out. */
sh_status sh_req_string_nullable(sh_req *r, const char *field, size_t max_bytes, const char **out,
                                 int *present);
/* The key a per-address limit uses for this client: the whole address for
 * IPv4 (and IPv4-mapped), the /64 prefix for IPv6. Returns its length. */
size_t sh_req_peer_key(const sh_req *r, uint8_t out[SH_PEER_LEN]);
/* Path parameter {name} number i as a 128-bit id; SH_ERR_NOT_FOUND if it is
 * not one (an id that cannot exist is an unknown resource). */
sh_status sh_req_param_id(sh_req *r, int i, sh_id *out);

#endif
