/*
 * oauth.h - the OAuth 2.0 authorization server's context: what the
 * account-linking code needs from the rest of the process, built once at
 * start and read-only afterwards.
 *
 * Module map (src/oauth):
 *   scopes.c     scope names and bits
 *   tokens.c     partner access tokens (sh_oa_) and browser login tickets
 *   clients.c    registered partners: secrets, redirect URIs, authentication
 *   client_cache.c  client rows kept in memory for a second
 *   authorize.c  the authorization request, login and consent -> code
 *   pages.c      the HTML pages of the authorize step
 *   grants.c     token endpoint, refresh rotation, revoke, introspect,
 *                partner authentication, a user's integrations
 */
#ifndef SH_OAUTH_H
#define SH_OAUTH_H

#include <stdint.h>

#include "auth/auth.h"

#define SH_OAUTH_ISSUER_MAX 256
#define SH_OAUTH_ACCESS_TTL_MIN_S 360 /* Alexa refuses shorter access tokens */
#define SH_OAUTH_ACCESS_TTL_DEFAULT_S 3600
#define SH_OAUTH_CODE_TTL_MAX_S 600 /* RFC 6749 4.1.2: at most 10 minutes */
#define SH_OAUTH_LOGIN_TTL_S 600    /* a browser login on the authorize pages */
/* A grant whose refresh tokens are unused this long is dead. */
#define SH_OAUTH_REFRESH_IDLE_S (365LL * 24 * 3600)

struct sh_client_cache;

typedef struct sh_oauth {
    const sh_auth *auth;
    char issuer[SH_OAUTH_ISSUER_MAX]; /* "https://home.example.com", no trailing slash */
    int64_t access_ttl_us;
    int64_t code_ttl_us;
    int cookie_secure; /* issuer is https: cookies get Secure */
    /* clients read in the last second (client_cache.h); NULL in the CLI */
    struct sh_client_cache *clients;
} sh_oauth;

#endif
