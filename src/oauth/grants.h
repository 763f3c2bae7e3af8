/*
 * grants.h - what happens after consent: the token endpoint's two grant
 * types, RFC 7009 revocation, RFC 7662 introspection, authenticating a
 * partner's bearer token, and a user's view of their integrations.
 *
 * A grant is one user's link to one partner: the scopes and the devices
 * (with their generations) the user chose. Every token of a grant carries
 * the grant's creation time, so ending a grant (unlink, code replay,
 * refresh-token reuse, revocation) is one grant rule plus one row update,
 * and no access token needs to be found. A new link of the same user with
 * the same partner ends the previous one.
 *
 * Errors are RFC 6749 statuses: SH_ERR_INVALID_GRANT for any code or
 * refresh token that is unknown, expired, used, revoked, or not the
 * client's; SH_ERR_INVALID_SCOPE; SH_ERR_INVALID_REQUEST.
 */
#ifndef SH_OAUTH_GRANTS_H
#define SH_OAUTH_GRANTS_H

#include "crypto/token.h"
#include "oauth/oauth.h"
#include "store/store_oauth.h"

#define SH_OAUTH_SUBJECT_LEN 32

typedef struct sh_oauth_token_set {
    char access[SH_TOKEN_MAX];
    char refresh[SH_TOKEN_MAX];
    int64_t expires_in_s;
    unsigned scopes;
} sh_oauth_token_set;

typedef struct sh_oauth_introspection {
    int active;
    int is_refresh;
    unsigned scopes;
    char sub[SH_OAUTH_SUBJECT_LEN + 1];
    int64_t iat; /* µs */
    int64_t exp; /* µs, 0 for refresh tokens */
} sh_oauth_introspection;

typedef struct sh_integration_view {
    sh_id client;
    char name[SH_STORE_CLIENT_NAME_MAX + 1];
    unsigned scopes;
    sh_id devices[SH_STORE_GRANT_DEVICES_MAX]; /* still in the grant */
    size_t ndevices;
    int64_t linked_at;
    int64_t last_used_at;
} sh_integration_view;

typedef struct sh_integration_list {
    sh_integration_view *items;
    size_t count, cap;
} sh_integration_list;

/* authorization_code grant (RFC 6749 4.1.3 with RFC 7636). A replayed
 * code ends the grant made from it. Wipes nothing the caller owns. */
sh_status sh_oauth_exchange_code(const sh_oauth *o, const sh_oauth_client_rec *client,
                                 const char *code, const char *redirect_uri, const char *verifier,
                                 sh_oauth_token_set *out);
/* refresh_token grant (RFC 6749 6). narrow: requested scope bits, 0 for
 * the grant's. A retired, used refresh token ends the grant. */
sh_status sh_oauth_refresh(const sh_oauth *o, const sh_oauth_client_rec *client,
                           const char *refresh, unsigned narrow, sh_oauth_token_set *out);
/* RFC 7009: ends the grant of an access or refresh token of this client;
 * anything else (unknown, another client's) is ignored. SH_OK unless the
 * store fails. */
sh_status sh_oauth_revoke_token(const sh_oauth *o, const sh_oauth_client_rec *client,
                                const char *token);
/* RFC 7662, for this client's tokens only (others are inactive). */
sh_status sh_oauth_introspect(const sh_oauth *o, const sh_oauth_client_rec *client,
                              const char *token, sh_oauth_introspection *out);
/* Verifies a partner access token from memory (MAC, expiry, rules) and
 * fills a SH_PRINCIPAL_PARTNER principal. SH_ERR_INVALID_TOKEN otherwise. */
sh_status sh_oauth_authenticate(const sh_oauth *o, const char *bearer, size_t len,
                                sh_principal *out);
/* The pairwise subject of a user for a client (32 hex): partners cannot
 * correlate a user by id. */
void sh_oauth_subject(const sh_oauth *o, const sh_id *client, const sh_id *user,
                      char out[SH_OAUTH_SUBJECT_LEN + 1]);
/* Ends a grant: marks it revoked and adds a grant rule, in one
 * transaction; `event` is logged. An already ended grant is left alone. */
sh_status sh_oauth_grant_end(const sh_oauth *o, const sh_id *grant, const char *event);
/* The caller's live integrations (app principals only). */
sh_status sh_oauth_integrations(const sh_oauth *o, const sh_principal *user,
                                sh_integration_list *out);
void sh_integration_list_clear(sh_integration_list *l);
/* Ends the caller's link(s) with one client; SH_ERR_NOT_FOUND if none. */
sh_status sh_oauth_unlink(const sh_oauth *o, const sh_principal *user, const sh_id *client);

#endif
