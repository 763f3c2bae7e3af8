/*
 * status.h - the one status type of safehouse.
 *
 * Every layer (crypto, store, domain, http) returns an sh_status. The HTTP
 * layer maps a status to an HTTP code and a stable problem+json `code` in
 * exactly one place (status.c), so a new error is added here and nowhere
 * else. SH_OK is 0 so `if (rc)` reads as "if failed".
 */
#ifndef SH_STATUS_H
#define SH_STATUS_H

typedef enum sh_status {
    SH_OK = 0,
    SH_PENDING,    /* work handed to another thread; answer later */
    SH_WOULDBLOCK, /* memory could not answer (r->memory_only): run again on a worker */
    SH_ERR_NOMEM,
    SH_ERR_INTERNAL,
    SH_ERR_IO,
    SH_ERR_STORE,           /* database failure or unreachable */
    SH_ERR_RETRY,           /* serialization failure or deadlock: run the transaction again */
    SH_ERR_BUSY,            /* a bounded queue is full; retry later */
    SH_ERR_UNAVAILABLE,     /* shutting down: not taking new work */
    SH_ERR_INVALID_JSON,    /* body is not valid JSON / UTF-8 */
    SH_ERR_INVALID_REQUEST, /* JSON is valid but fields are missing/wrong */
    SH_ERR_UNSUPPORTED_MEDIA,
    SH_ERR_TOO_LARGE,
    SH_ERR_INVALID_EMAIL,
    SH_ERR_WEAK_PASSWORD,
    SH_ERR_EMAIL_TAKEN,
    SH_ERR_INVALID_CREDENTIALS,
    SH_ERR_UNAUTHENTICATED, /* no credentials presented */
    SH_ERR_INVALID_TOKEN,   /* garbled, forged, expired or revoked */
    SH_ERR_FORBIDDEN,
    SH_ERR_NOT_FOUND,       /* resource unknown, or not the caller's */
    SH_ERR_NO_ROUTE,        /* path unknown */
    SH_ERR_METHOD,          /* path known, method not */
    SH_ERR_OPTIONS,         /* OPTIONS on a known path: 204 with Allow, not a failure */
    SH_ERR_NOT_READY,       /* /readyz: the store, its schema or the keys are not ready */
    SH_ERR_CONFLICT,        /* generic unique-constraint conflict */
    SH_ERR_REAUTH,          /* sensitive action: a fresh login or password (+ code) needed */
    SH_ERR_RATE_LIMITED,    /* a per-account or per-address limit refused; see retry_after */
    SH_ERR_INVALID_CODE,    /* wrong, reused or expired second-factor / recovery code */
    SH_ERR_UNKNOWN_ACCOUNT, /* sharing with an e-mail that has no account */
    /* OAuth 2.0 (RFC 6749 5.2, RFC 6750 3.1): the problem code is the
     * RFC's error code */
    SH_ERR_INVALID_CLIENT,      /* client authentication failed */
    SH_ERR_INVALID_GRANT,       /* bad, expired, used or revoked code / refresh token */
    SH_ERR_UNAUTHORIZED_CLIENT, /* client may not use this grant type */
    SH_ERR_UNSUPPORTED_GRANT,   /* unknown grant_type */
    SH_ERR_INVALID_SCOPE,       /* scope unknown or not allowed for the client */
    SH_ERR_INSUFFICIENT_SCOPE,  /* a partner token without the scope the route needs */
    SH_ERR__COUNT
} sh_status;

/* HTTP status code for a status (200 for SH_OK). */
int sh_status_http(sh_status st);
/* Stable machine-readable code for problem+json ("invalid_token", ...). */
const char *sh_status_code(sh_status st);
/* Short human title for problem+json. */
const char *sh_status_title(sh_status st);
/* The RFC 6749 5.2 error code an OAuth endpoint answers for a status:
 * the OAuth statuses map to themselves, other 4xx to invalid_request,
 * 401 to invalid_client, 429/503 to temporarily_unavailable, the rest to
 * server_error. */
const char *sh_status_oauth(sh_status st);

#endif
