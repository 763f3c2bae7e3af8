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
    SH_AUTH_NONE,    /* anyone */
    SH_AUTH_USER,    /* app access token */
    SH_AUTH_ADMIN,   /* admin token, admin listener only */
    SH_AUTH_DEVICE,  /* device token */
    SH_AUTH_RELAY,   /* media relay credential */
    SH_AUTH_PARTNER, /* OAuth partner access token (sh_oa_) only */
};

enum sh_route_flags {
    SH_ROUTE_BODY = 1 << 0,        /* needs a JSON object body */
    SH_ROUTE_HASH = 1 << 1,        /* runs Argon2id: handled in the hash pool */
    SH_ROUTE_WRITE = 1 << 2,       /* waits on a durable commit: handled in the write pool */
    SH_ROUTE_FORM = 1 << 3,        /* form parameters in r->form: the query string of a GET, an
                                      application/x-www-form-urlencoded body otherwise */
    SH_ROUTE_OAUTH = 1 << 4,       /* errors as RFC 6749 JSON ({"error": ...}), not problem+json */
    SH_ROUTE_HTML = 1 << 5,        /* a browser page: errors as an HTML page, and every answer
                                      carries CSP, X-Frame-Options: DENY and friends */
    SH_ROUTE_BODY_OPT = 1 << 6,    /* a JSON object body is parsed when one is sent */
    SH_ROUTE_NOSTORE = 1 << 7,     /* neither the handler nor its authentication reads the store */
    SH_ROUTE_SERVICE_KEY = 1 << 8, /* authenticated by the IFTTT-Service-Key header (in the
                                    * handler): a 401 challenges that scheme, not Bearer */
    SH_ROUTE_CACHED = 1 << 9,      /* on a store that blocks (PostgreSQL): authentication reads
                                    * no store, and the handler first runs on the event thread
                                    * with r->memory_only set; it answers from a cache or returns
                                    * SH_WOULDBLOCK, and then runs again on a worker */
};

struct sh_route {
    const char *method;
    const char *pattern; /* "/v1/sessions/{id}": {x} matches one segment */
    sh_handler handler;
    enum sh_auth_kind auth;
    unsigned flags;
    size_t body_limit; /* 0 = SH_BODY_LIMIT_DEFAULT */
    /* OAuth partner tokens (sh_oa_): the scopes (SH_SCOPE_* bits) of which
     * a partner token must hold at least one to call this SH_AUTH_USER
     * route. 0: never reachable with a partner token (accounts, sessions,
     * sharing, health...). */
    unsigned partner;
    int limit; /* per-address limit (enum sh_limit_kind), 0 = none */
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
    json_t *body;  /* parsed JSON object, for SH_ROUTE_BODY */
    sh_form *form; /* parsed parameters, for SH_ROUTE_FORM */
    /* request headers, looked up through the server */
    const char *(*header_fn)(void *ctx, const char *name);
    void *header_ctx;
    sh_principal principal; /* valid when authenticated */
    int authenticated;
    int memory_only; /* SH_ROUTE_CACHED on the event thread: no store call */
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
/* Form parameter readers (SH_ROUTE_FORM). A parameter may appear at most
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
