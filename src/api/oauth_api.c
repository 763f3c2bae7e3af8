/*
 * oauth_api.c - the partner-facing OAuth endpoints (all form-encoded in,
 * JSON out, errors as RFC 6749 5.2 JSON through SH_ANSWER_OAUTH):
 *   POST /oauth/token       authorization_code, refresh_token
 *   POST /oauth/revoke      RFC 7009
 *   POST /oauth/introspect  RFC 7662
 *   GET  /.well-known/oauth-authorization-server   RFC 8414
 * Client authentication: client_secret_basic or client_secret_post, never
 * both (RFC 6749 2.3).
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/clock.h"
#include "oauth/clients.h"
#include "oauth/grants.h"
#include "oauth/scopes.h"

#define CLIENT_ID_MAX 64
#define SECRET_MAX 128
#define BASIC_MAX 512
#define CODE_MAX 128
#define VERIFIER_MAX 128

static sh_oauth *oauth(sh_req *r) { return &sh_api_app(r)->oauth; }

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s in place (RFC 6749 2.3.1: Basic credentials are
 * form-encoded first); -1 on a bad escape or a NUL. An escape is exactly
 * '%' and two hex digits (sscanf's %2x also took " 1", "+f" and "-1"). */
static int pct_decode(char *s)
{
    char *o = s;
    int hi, lo;

    for (; *s != '\0'; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%') {
            hi = hex_digit(s[1]);
            lo = hi < 0 ? -1 : hex_digit(s[2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return -1;
            *o++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return 0;
}

/* client_secret_basic: "Basic base64(id:secret)" into id and secret. */
static sh_status basic_credentials(const char *h, char *id, size_t id_cap, char *secret,
                                   size_t secret_cap)
{
    char buf[BASIC_MAX];
    size_t n = 0;
    const char *end = NULL;
    char *colon;

    while (*h == ' ')
        h++;
    if (strlen(h) >= BASIC_MAX ||
        sodium_base642bin((unsigned char *)buf, sizeof(buf) - 1, h, strlen(h), " ", &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *end != '\0')
        return SH_ERR_INVALID_CLIENT;
    buf[n] = '\0';
    colon = strchr(buf, ':');
    if (colon == NULL || memchr(buf, 0, n) != NULL)
        return SH_ERR_INVALID_CLIENT;
    *colon = '\0';
    if (pct_decode(buf) != 0 || pct_decode(colon + 1) != 0 || strlen(buf) >= id_cap ||
        strlen(colon + 1) >= secret_cap) {
        sodium_memzero(buf, sizeof(buf));
        return SH_ERR_INVALID_CLIENT;
    }
    memcpy(id, buf, strlen(buf) + 1);
    memcpy(secret, colon + 1, strlen(colon + 1) + 1);
    sodium_memzero(buf, sizeof(buf));
    return SH_OK;
}

/* Authenticates the calling client (how: see sh_oauth_client_authenticate);
 * from memory alone when the exchange is on an event thread. */
static sh_status client_auth(sh_req *r, enum sh_client_read how, sh_oauth_client_rec *client)
{
    const char *h = sh_req_header(r, "Authorization");
    const char *post_id = NULL, *post_secret = NULL;
    char id[CLIENT_ID_MAX + 1], secret[SECRET_MAX + 1];
    sh_status rc;

    if (r->memory_only)
        how = SH_CLIENT_MEMORY;
    if ((rc = sh_req_param_opt(r, "client_id", CLIENT_ID_MAX, &post_id)) ||
        (rc = sh_req_param_opt(r, "client_secret", SECRET_MAX, &post_secret)))
        return rc;
    if (h != NULL) {
        if (strncasecmp(h, "Basic ", 6) != 0)
            return sh_req_fail(r, SH_ERR_INVALID_CLIENT, "use client_secret_basic or _post");
        if (post_secret != NULL)
            return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                               "use one client authentication method, not two");
        if ((rc = basic_credentials(h + 6, id, sizeof(id), secret, sizeof(secret))) != SH_OK)
            return sh_req_fail(r, rc, "malformed Basic credentials");
        if (post_id != NULL && strcmp(post_id, id) != 0)
            rc = sh_req_fail(r, SH_ERR_INVALID_REQUEST, "client_id differs from the Basic one");
        else
            rc = sh_oauth_client_authenticate(oauth(r), id, secret, strlen(secret), how, client);
        sodium_memzero(secret, sizeof(secret));
        return rc;
    }
    if (post_id == NULL || post_secret == NULL)
        return sh_req_fail(r, SH_ERR_INVALID_CLIENT, "client authentication is required");
    return sh_oauth_client_authenticate(oauth(r), post_id, post_secret, strlen(post_secret), how,
                                        client);
}

static sh_status reply_tokens(sh_req *r, sh_oauth_token_set *t)
{
    char scope[SH_SCOPE_TEXT_MAX];
    json_t *j;

    sh_scope_format(t->scopes, scope, sizeof(scope));
    j = json_pack("{s:s, s:s, s:I, s:s, s:s}", "access_token", t->access, "token_type", "Bearer",
                  "expires_in", (json_int_t)t->expires_in_s, "refresh_token", t->refresh, "scope",
                  scope);
    sodium_memzero(t, sizeof(*t));
    if (j == NULL)
        return SH_ERR_NOMEM;
    sh_req_add_header(r, "Pragma", "no-cache");
    return sh_req_reply(r, 200, j);
}

static sh_status grant_code(sh_req *r, const sh_oauth_client_rec *client)
{
    const char *code, *redirect_uri, *verifier;
    sh_oauth_token_set t;
    sh_status rc;

    if ((rc = sh_req_param(r, "code", CODE_MAX, &code)) ||
        (rc = sh_req_param(r, "redirect_uri", SH_STORE_REDIRECT_URI_MAX, &redirect_uri)) ||
        (rc = sh_req_param(r, "code_verifier", VERIFIER_MAX, &verifier)))
        return rc;
    rc = sh_oauth_exchange_code(oauth(r), client, code, redirect_uri, verifier, &t);
    if (rc != SH_OK)
        return sh_req_fail(r, rc,
                           rc == SH_ERR_INVALID_GRANT
                               ? "the code is invalid, expired, used, or does not match "
                                 "redirect_uri or code_verifier"
                               : NULL);
    return reply_tokens(r, &t);
}

static sh_status grant_refresh(sh_req *r, const sh_oauth_client_rec *client)
{
    const char *refresh, *scope;
    unsigned narrow = 0;
    sh_oauth_token_set t;
    sh_status rc;

    if ((rc = sh_req_param(r, "refresh_token", SH_TOKEN_MAX, &refresh)) ||
        (rc = sh_req_param_opt(r, "scope", 256, &scope)))
        return rc;
    if (scope != NULL && sh_scope_parse(scope, &narrow) != 0)
        return sh_req_fail(r, SH_ERR_INVALID_SCOPE, "unknown scope");
    rc = sh_oauth_refresh(oauth(r), client, refresh, narrow, &t);
    if (rc == SH_ERR_INVALID_GRANT)
        return sh_req_fail(r, rc, "the refresh token is invalid, expired or revoked");
    if (rc == SH_ERR_INVALID_SCOPE)
        return sh_req_fail(r, rc, "scope exceeds the grant");
    if (rc != SH_OK)
        return rc;
    return reply_tokens(r, &t);
}

sh_status sh_api_oauth_token(sh_req *r)
{
    sh_oauth_client_rec client;
    const char *grant_type;
    sh_status rc;

    if ((rc = client_auth(r, SH_CLIENT_FRESH, &client)) != SH_OK)
        return rc;
    if ((rc = sh_req_param(r, "grant_type", 64, &grant_type)) != SH_OK)
        return rc;
    if (strcmp(grant_type, "authorization_code") == 0)
        return grant_code(r, &client);
    if (strcmp(grant_type, "refresh_token") == 0)
        return grant_refresh(r, &client);
    return sh_req_fail(r, SH_ERR_UNSUPPORTED_GRANT,
                       "grant_type must be authorization_code or refresh_token");
}

sh_status sh_api_oauth_revoke(sh_req *r)
{
    json_t *empty;
    sh_oauth_client_rec client;
    const char *token, *hint;
    sh_status rc;

    if ((rc = client_auth(r, SH_CLIENT_CACHED, &client)) != SH_OK)
        return rc;
    if ((rc = sh_req_param(r, "token", SH_TOKEN_MAX, &token)) ||
        (rc = sh_req_param_opt(r, "token_type_hint", 32, &hint)))
        return rc;
    if ((rc = sh_oauth_revoke_token(oauth(r), &client, token)) != SH_OK)
        return rc;
    /* RFC 7009 2.2 says only 200; an empty JSON object rather than no body,
     * because clients parse the answer as JSON (npm's simple-oauth2 throws
     * on an empty one; oauth4webapi takes either). */
    if ((empty = json_object()) == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, empty);
}

sh_status sh_api_oauth_introspect(sh_req *r)
{
    sh_oauth_client_rec client;
    sh_oauth_introspection in;
    char scope[SH_SCOPE_TEXT_MAX];
    const char *token, *hint;
    sh_id_hex id;
    json_t *j;
    sh_status rc;

    if ((rc = client_auth(r, SH_CLIENT_CACHED, &client)) != SH_OK)
        return rc;
    if ((rc = sh_req_param(r, "token", SH_TOKEN_MAX, &token)) ||
        (rc = sh_req_param_opt(r, "token_type_hint", 32, &hint)))
        return rc;
    /* only an access token is decided from memory; a refresh token reads its grant */
    if (r->memory_only && strncmp(token, SH_TOKEN_OAUTH_ACCESS, strlen(SH_TOKEN_OAUTH_ACCESS)) != 0)
        return SH_WOULDBLOCK;
    if ((rc = sh_oauth_introspect(oauth(r), &client, token, &in)) != SH_OK)
        return rc;
    if (!in.active)
        return sh_req_reply(r, 200, json_pack("{s:b}", "active", 0));
    sh_scope_format(in.scopes, scope, sizeof(scope));
    sh_id_to_hex(&client.id, &id);
    j = json_pack("{s:b, s:s, s:s, s:s, s:s, s:I}", "active", 1, "scope", scope, "client_id", id.s,
                  "sub", in.sub, "iss", oauth(r)->issuer, "iat", (json_int_t)(in.iat / SH_USEC));
    if (j != NULL && !in.is_refresh) {
        json_object_set_new(j, "token_type", json_string("Bearer"));
        json_object_set_new(j, "exp", json_integer((json_int_t)(in.exp / SH_USEC)));
    }
    return sh_req_reply(r, 200, j);
}

static json_t *endpoint(const sh_oauth *o, const char *path)
{
    char url[SH_OAUTH_ISSUER_MAX + 64];

    snprintf(url, sizeof(url), "%s%s", o->issuer, path);
    return json_string(url);
}

sh_status sh_api_oauth_metadata(sh_req *r)
{
    const sh_oauth *o = oauth(r);
    json_t *scopes = json_array(),
           *auth = json_pack("[s, s]", "client_secret_basic", "client_secret_post");
    json_t *j;

    for (size_t i = 0; scopes != NULL && i < sh_scope_count(); i++)
        json_array_append_new(scopes, json_string(sh_scope_name(i)));
    j = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:[s], s:[s], s:[s, s], s:[s], s:O, s:O, "
        "s:O, s:b}",
        "issuer", o->issuer, "authorization_endpoint", endpoint(o, "/oauth/authorize"),
        "token_endpoint", endpoint(o, "/oauth/token"), "revocation_endpoint",
        endpoint(o, "/oauth/revoke"), "introspection_endpoint", endpoint(o, "/oauth/introspect"),
        "scopes_supported", scopes, "response_types_supported", "code", "response_modes_supported",
        "query", "grant_types_supported", "authorization_code", "refresh_token",
        "code_challenge_methods_supported", "S256", "token_endpoint_auth_methods_supported", auth,
        "revocation_endpoint_auth_methods_supported", auth,
        "introspection_endpoint_auth_methods_supported", auth,
        "authorization_response_iss_parameter_supported", 1);
    json_decref(auth);
    if (j == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, j);
}
