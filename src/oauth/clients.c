/* clients.c - registering, rotating, disabling and authenticating
 * partners. */
#include "oauth/clients.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "oauth/client_cache.h"
#include "oauth/scopes.h"

#define SECRET_DOMAIN "client_secret"
#define SERVICE_KEY_DOMAIN "ifttt_service_key"

static int uri_char_ok(unsigned char c)
{
    /* printable ASCII without space and without the characters that could
     * end a header value, a CSP source or an HTML attribute */
    return c > 0x20 && c < 0x7F && strchr("\"'<>\\`{}|^;,#", c) == NULL;
}

static int loopback_host(const char *host, size_t n)
{
    return (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (n == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
           (n == 5 && strncmp(host, "[::1]", 5) == 0);
}

int sh_oauth_redirect_uri_valid(const char *uri)
{
    size_t len = strlen(uri), skip, alen, hlen;
    const char *auth, *colon;
    int https;

    if (len == 0 || len > SH_STORE_REDIRECT_URI_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!uri_char_ok((unsigned char)uri[i]))
            return 0;
    }
    https = strncmp(uri, "https://", 8) == 0;
    if (!https && strncmp(uri, "http://", 7) != 0)
        return 0;
    skip = https ? 8 : 7;
    auth = uri + skip;
    alen = strcspn(auth, "/?");
    if (alen == 0 || memchr(auth, '@', alen) != NULL)
        return 0;
    colon = auth[0] == '[' ? memchr(auth, ']', alen) : auth;
    if (colon == NULL)
        return 0;
    colon = memchr(colon, ':', alen - (size_t)(colon - auth));
    hlen = colon ? (size_t)(colon - auth) : alen;
    if (hlen == 0)
        return 0;
    return https || loopback_host(auth, hlen);
}

int sh_oauth_redirect_origin(const char *uri, char *out, size_t cap)
{
    const char *auth = strstr(uri, "://");
    size_t n;
    int w;

    if (auth == NULL)
        return -1;
    auth += 3;
    n = (size_t)(auth - uri) + strcspn(auth, "/?");
    w = snprintf(out, cap, "%.*s", (int)n, uri);
    return (w < 0 || (size_t)w >= cap) ? -1 : 0;
}

int sh_oauth_redirect_registered(const sh_oauth_client_rec *c, const char *uri)
{
    size_t n = strlen(uri);
    const char *p = c->redirect_uris;

    if (n == 0)
        return 0;
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        if (len == n && sodium_memcmp(p, uri, n) == 0)
            return 1;
        p += len;
        if (*p == '\n')
            p++;
    }
    return 0;
}

static void new_secret(const sh_oauth *o, char text[SH_TOKEN_MAX], uint8_t hash[SH_HASH_LEN])
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];

    sh_token_opaque_new(SH_TOKEN_CLIENT_SECRET, secret, text);
    sh_hash_secret(o->auth->kr, SECRET_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
}

static sh_status fail(char *detail, size_t cap, const char *text)
{
    snprintf(detail, cap, "%s", text);
    return SH_ERR_INVALID_REQUEST;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > SH_STORE_CLIENT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F)
            return 0;
    }
    return 1;
}

/* Joins validated URIs with newlines into the record. */
static sh_status set_uris(sh_oauth_client_rec *c, const char *const *uris, size_t n, char *detail,
                          size_t cap)
{
    size_t off = 0;

    if (n == 0 || n > SH_STORE_REDIRECT_URIS_MAX)
        return fail(detail, cap, "give 1 to 8 redirect URIs");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(uris[i]);
        if (!sh_oauth_redirect_uri_valid(uris[i]))
            return fail(detail, cap,
                        "a redirect URI must be an absolute https URI (http only on "
                        "localhost), at most 512 characters, without fragment or user info");
        memcpy(c->redirect_uris + off, uris[i], len);
        off += len;
        c->redirect_uris[off++] = i + 1 < n ? '\n' : '\0';
    }
    return SH_OK;
}

sh_status sh_oauth_client_add(const sh_oauth *o, const char *name, const char *const *uris,
                              size_t n, const char *scopes, const char *service_key, sh_id *id,
                              char secret[SH_TOKEN_MAX], char *detail, size_t cap)
{
    uint8_t key_hash[SH_HASH_LEN];
    sh_oauth_client_rec c;
    sh_id_hex hex;
    size_t klen = service_key ? strlen(service_key) : 0;
    sh_status rc;

    memset(&c, 0, sizeof(c));
    if (name == NULL || !name_ok(name))
        return fail(detail, cap, "the name must be 1 to 64 printable characters");
    if (scopes == NULL || sh_scope_parse(scopes, &c.scopes) != 0)
        return fail(detail, cap,
                    "scopes must be a space-separated list of devices:read, devices:control, "
                    "camera:stream");
    if (service_key != NULL && (klen < SH_OAUTH_SERVICE_KEY_MIN || klen > SH_OAUTH_SERVICE_KEY_MAX))
        return fail(detail, cap, "the IFTTT service key must be 16 to 256 characters");
    if ((rc = set_uris(&c, uris, n, detail, cap)) != SH_OK)
        return rc;
    sh_id_random(&c.id);
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.created_at = c.secret_set_at = sh_clock_now_us();
    new_secret(o, secret, c.secret_hash);
    if (service_key != NULL)
        sh_hash_secret(o->auth->kr, SERVICE_KEY_DOMAIN, service_key, klen, key_hash);
    rc = sh_store_do(o->auth->store, oauth, client_insert, &c, service_key ? key_hash : NULL);
    if (rc != SH_OK) {
        sodium_memzero(secret, SH_TOKEN_MAX);
        if (rc == SH_ERR_CONFLICT)
            snprintf(detail, cap, "that IFTTT service key belongs to another client");
        return rc;
    }
    *id = c.id;
    sh_id_to_hex(&c.id, &hex);
    sh_log_event(SH_LOG_INFO, "oauth_client_added", "client_id", hex.s);
    return SH_OK;
}

sh_status sh_oauth_client_rotate(const sh_oauth *o, const sh_id *id, char secret[SH_TOKEN_MAX])
{
    uint8_t hash[SH_HASH_LEN];
    sh_id_hex hex;
    sh_status rc;

    new_secret(o, secret, hash);
    rc = sh_store_do(o->auth->store, oauth, client_set_secret, id, hash, sh_clock_now_us());
    sh_client_cache_drop(o->clients, id);
    if (rc != SH_OK) {
        sodium_memzero(secret, SH_TOKEN_MAX);
        return rc;
    }
    sh_id_to_hex(id, &hex);
    sh_log_event(SH_LOG_WARN, "oauth_client_secret_rotated", "client_id", hex.s);
    return SH_OK;
}

struct disable_args {
    const sh_oauth *o;
    const sh_id *id;
};

/* The client is disabled and a rule ends its tokens, together. */
static sh_status disable_fn(sh_store *tx, void *ctx)
{
    struct disable_args *d = ctx;
    int64_t now = sh_clock_now_us();
    sh_id_hex hex;
    sh_status rc = sh_store_do(tx, oauth, client_disable, d->id, now);

    sh_id_to_hex(d->id, &hex);
    if (rc == SH_OK)
        rc = sh_revocation_add(tx, d->o->auth->rev, SH_RULE_CLIENT, hex.s, now, NULL);
    return rc;
}

sh_status sh_oauth_client_disable(const sh_oauth *o, const sh_id *id)
{
    struct disable_args d = {o, id};
    sh_id_hex hex;
    sh_status rc = sh_store_tx_run(o->auth->store, disable_fn, &d);

    sh_id_to_hex(id, &hex);
    sh_client_cache_drop(o->clients, id);
    if (rc == SH_OK)
        sh_log_event(SH_LOG_WARN, "oauth_client_disabled", "client_id", hex.s);
    return rc;
}

/* The enabled client id names: from the cache while fresh, else the store;
 * st NULL: the cache alone (SH_WOULDBLOCK on a miss). */
static sh_status client_find(const sh_oauth *o, sh_store *st, const char *id_text,
                             sh_oauth_client_rec *out)
{
    sh_id id;
    sh_status rc;

    if (id_text == NULL || sh_id_from_hex(id_text, &id) != 0)
        return SH_ERR_NOT_FOUND;
    rc = sh_client_cache_get(o->clients, st, &id, out);
    if (rc == SH_OK && out->disabled_at != 0)
        rc = SH_ERR_NOT_FOUND;
    return rc;
}

sh_status sh_oauth_client_find(const sh_oauth *o, const char *id_text, sh_oauth_client_rec *out)
{
    return client_find(o, o->auth->store, id_text, out);
}

static sh_status check_secret(const sh_oauth *o, sh_store *st, const char *id_text,
                              const uint8_t hash[SH_HASH_LEN], sh_oauth_client_rec *out)
{
    sh_status rc = client_find(o, st, id_text, out);

    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_CLIENT;
    if (rc != SH_OK)
        return rc;
    return crypto_verify_32(hash, out->secret_hash) == 0 ? SH_OK : SH_ERR_INVALID_CLIENT;
}

/* The cache may hold a row another node has changed since: a fresh check
 * reads the row first; a failed one reads it again before it refuses, so a
 * secret just rotated elsewhere works at once. From memory alone, a failure
 * is never final: the caller asks again with the store. */
sh_status sh_oauth_client_authenticate(const sh_oauth *o, const char *id_text, const char *secret,
                                       size_t secret_len, enum sh_client_read how,
                                       sh_oauth_client_rec *out)
{
    uint8_t raw[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];
    sh_store *st = how == SH_CLIENT_MEMORY ? NULL : o->auth->store;
    sh_status rc;
    sh_id id;

    if (id_text == NULL || sh_id_from_hex(id_text, &id) != 0 ||
        sh_token_opaque_parse(SH_TOKEN_CLIENT_SECRET, secret, secret_len, raw) != SH_OK)
        return SH_ERR_INVALID_CLIENT;
    sh_hash_secret(o->auth->kr, SECRET_DOMAIN, raw, sizeof(raw), hash);
    sodium_memzero(raw, sizeof(raw));
    if (how == SH_CLIENT_FRESH)
        sh_client_cache_drop(o->clients, &id);
    rc = check_secret(o, st, id_text, hash, out);
    if (rc == SH_ERR_INVALID_CLIENT && how == SH_CLIENT_MEMORY)
        rc = SH_WOULDBLOCK;
    if (rc == SH_ERR_INVALID_CLIENT && how == SH_CLIENT_CACHED) {
        sh_client_cache_drop(o->clients, &id);
        rc = check_secret(o, st, id_text, hash, out);
    }
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

sh_status sh_oauth_service_key_check(const sh_oauth *o, const char *key, size_t len)
{
    uint8_t hash[SH_HASH_LEN];
    sh_id id;
    sh_status rc;

    if (key == NULL || len < SH_OAUTH_SERVICE_KEY_MIN || len > SH_OAUTH_SERVICE_KEY_MAX)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(o->auth->kr, SERVICE_KEY_DOMAIN, key, len, hash);
    rc = sh_store_do(o->auth->store, oauth, client_by_service_key, hash, &id);
    return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
}
