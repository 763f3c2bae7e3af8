/*
 * clients.h - the partners (OAuth clients) an operator registers: name,
 * exact redirect URIs, the scopes they may ask for, and a secret (sh_cs_)
 * shown once and stored only as a keyed hash. An IFTTT service key, when
 * given, is stored the same way.
 *
 * Redirect URIs are matched byte for byte (no normalization, no prefix or
 * wildcard): https, or http on a loopback host; no fragment, no user info,
 * and none of the characters that could break out of a header or a CSP.
 */
#ifndef SH_OAUTH_CLIENTS_H
#define SH_OAUTH_CLIENTS_H

#include <stddef.h>

#include "crypto/token.h"
#include "oauth/oauth.h"
#include "store/store_oauth.h"

#define SH_OAUTH_SERVICE_KEY_MIN 16
#define SH_OAUTH_SERVICE_KEY_MAX 256
#define SH_OAUTH_ORIGIN_MAX 300

/* Registers a client. uris: n redirect URIs (1..SH_STORE_REDIRECT_URIS_MAX);
 * scopes: space-separated; service_key may be NULL. On success *id and
 * secret (shown once) are filled. SH_ERR_INVALID_REQUEST with a fixed text
 * in detail (cap bytes) for bad input; SH_ERR_CONFLICT if the service key
 * is taken. */
sh_status sh_oauth_client_add(const sh_oauth *o, const char *name, const char *const *uris,
                              size_t n, const char *scopes, const char *service_key, sh_id *id,
                              char secret[SH_TOKEN_MAX], char *detail, size_t cap);
/* A new secret for a client; the old one stops working at once. */
sh_status sh_oauth_client_rotate(const sh_oauth *o, const sh_id *id, char secret[SH_TOKEN_MAX]);
/* Disables a client and adds a client revocation rule: every token it
 * holds dies at once, and it can neither authenticate nor start a link.
 * SH_ERR_NOT_FOUND if unknown or already disabled. */
sh_status sh_oauth_client_disable(const sh_oauth *o, const sh_id *id);
/* Where sh_oauth_client_authenticate reads the client's row. */
enum sh_client_read {
    SH_CLIENT_CACHED = 0, /* the cache while fresh, else the store */
    SH_CLIENT_FRESH,      /* the store (before issuing tokens: a client disabled or rotated on
                           * another node a moment ago must not get any) */
    SH_CLIENT_MEMORY,     /* the cache only: on a miss, or a secret that does not match the
                           * cached row, SH_WOULDBLOCK (ask again where the store may block) */
};
/* Authenticates a client by id text and secret text. Returns SH_OK (out
 * filled) or SH_ERR_INVALID_CLIENT, the same for an unknown id, a wrong
 * secret and a disabled client (or SH_WOULDBLOCK, see SH_CLIENT_MEMORY). */
sh_status sh_oauth_client_authenticate(const sh_oauth *o, const char *id_text, const char *secret,
                                       size_t secret_len, enum sh_client_read how,
                                       sh_oauth_client_rec *out);
/* An enabled client by id text; SH_ERR_NOT_FOUND otherwise. */
sh_status sh_oauth_client_find(const sh_oauth *o, const char *id_text, sh_oauth_client_rec *out);
/* 1 if uri is registered for c, byte for byte. */
int sh_oauth_redirect_registered(const sh_oauth_client_rec *c, const char *uri);
/* 1 if uri is acceptable as a redirect URI at registration. */
int sh_oauth_redirect_uri_valid(const char *uri);
/* "scheme://host[:port]" of a valid redirect URI into out; -1 if it does
 * not fit. */
int sh_oauth_redirect_origin(const char *uri, char *out, size_t cap);
/* SH_OK if key is the IFTTT service key of an enabled client, else
 * SH_ERR_INVALID_TOKEN. */
sh_status sh_oauth_service_key_check(const sh_oauth *o, const char *key, size_t len);

#endif
