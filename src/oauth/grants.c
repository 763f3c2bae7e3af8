/*
 * grants.c - token endpoint, revocation, introspection, partner bearer
 * authentication and the user's integrations.
 *
 * A grant is alive when its row is not revoked and no rule (all,
 * integration, client, user, grant) covers its creation time; access
 * tokens carry that creation time, so the same test decides both from
 * memory.
 */
#include "oauth/grants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/token_class.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/pkce.h"
#include "oauth/tokens.h"

#define CODE_DOMAIN "oauth_code"
#define REFRESH_DOMAIN "oauth_refresh"
#define PAIRWISE_DOMAIN "pairwise"

static sh_store *store(const sh_oauth *o) { return o->auth->store; }

static void hash_opaque(const sh_oauth *o, const char *domain, const uint8_t *secret,
                        uint8_t hash[SH_HASH_LEN])
{
    sh_hash_secret(o->auth->kr, domain, secret, SH_TOKEN_SECRET_LEN, hash);
}

/* Parses an opaque token and hashes it; -1 if it is not well formed. */
static int parse_hash(const sh_oauth *o, const char *prefix, const char *domain, const char *text,
                      uint8_t hash[SH_HASH_LEN])
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];

    if (text == NULL || sh_token_opaque_parse(prefix, text, strlen(text), secret) != SH_OK)
        return -1;
    hash_opaque(o, domain, secret, hash);
    sodium_memzero(secret, sizeof(secret));
    return 0;
}

static int grant_alive(const sh_oauth *o, const sh_oauth_grant_rec *g)
{
    return g->revoked_at == 0 &&
           sh_revocation_allows_partner(o->auth->rev, &g->client, &g->user, &g->id, g->created_at);
}

static void mint(const sh_oauth *o, const sh_oauth_grant_rec *g, unsigned scopes, int64_t now,
                 sh_oauth_token_set *out)
{
    sh_partner_claims c;

    memset(&c, 0, sizeof(c));
    c.scopes = scopes;
    c.grant = g->id;
    c.user = g->user;
    c.client = g->client;
    c.grant_created = g->created_at;
    c.minted_at = now;
    c.expires_at = now + o->access_ttl_us;
    sh_partner_token_encode(o->auth->kr, &c, out->access);
    out->expires_in_s = o->access_ttl_us / SH_USEC;
    out->scopes = scopes;
}

static void new_refresh(const sh_oauth *o, char text[SH_TOKEN_MAX], uint8_t hash[SH_HASH_LEN])
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];

    sh_token_opaque_new(SH_TOKEN_OAUTH_REFRESH, secret, text);
    hash_opaque(o, REFRESH_DOMAIN, secret, hash);
    sodium_memzero(secret, sizeof(secret));
}

/* Ends one grant inside the transaction tx. */
static sh_status end_grant_tx(const sh_oauth *o, sh_store *tx, const sh_id *grant, int64_t now)
{
    sh_id_hex hex;
    sh_status rc = sh_store_do(tx, oauth, grant_revoke, grant, now);

    if (rc != SH_OK)
        return rc;
    sh_id_to_hex(grant, &hex);
    return sh_revocation_add(tx, o->auth->rev, SH_RULE_GRANT, hex.s, now, NULL);
}

struct end_grant_args {
    const sh_oauth *o;
    const sh_id *grant;
};

static sh_status end_grant_fn(sh_store *tx, void *ctx)
{
    struct end_grant_args *a = ctx;

    return end_grant_tx(a->o, tx, a->grant, sh_clock_now_us());
}

sh_status sh_oauth_grant_end(const sh_oauth *o, const sh_id *grant, const char *event)
{
    struct end_grant_args args = {o, grant};
    sh_id_hex hex;
    sh_status rc = sh_store_tx_run(store(o), end_grant_fn, &args);

    if (rc == SH_ERR_NOT_FOUND)
        return SH_OK; /* already ended */
    sh_id_to_hex(grant, &hex);
    if (rc == SH_OK)
        sh_log_event(SH_LOG_WARN, event, "grant_id", hex.s);
    return rc;
}

/* ---- authorization_code ------------------------------------------------------ */

struct collect_ids {
    sh_id ids[16];
    size_t n;
};

static void collect_grant(void *arg, const sh_oauth_grant_rec *g)
{
    struct collect_ids *c = arg;

    if (c->n < sizeof(c->ids) / sizeof(c->ids[0]))
        c->ids[c->n++] = g->id;
}

struct make_grant_args {
    const sh_oauth *o;
    const sh_oauth_code_rec *code;
    const sh_oauth_grant_rec *g;
    const uint8_t *refresh_hash;
};

static sh_status make_grant_fn(sh_store *tx, void *ctx)
{
    struct make_grant_args *a = ctx;
    struct collect_ids old = {.n = 0};
    sh_status rc;

    rc = sh_store_do(tx, oauth, code_consume, a->code->hash, a->g->created_at, &a->g->id);
    if (rc == SH_OK)
        rc = sh_store_do(tx, oauth, grants_live, &a->g->user, &a->g->client, collect_grant, &old);
    for (size_t i = 0; rc == SH_OK && i < old.n; i++)
        rc = end_grant_tx(a->o, tx, &old.ids[i], a->g->created_at);
    if (rc == SH_OK)
        rc = sh_store_do(tx, oauth, grant_insert, a->g, a->code->devices, a->code->ndevices,
                         a->refresh_hash);
    return rc;
}

/* One transaction: the code is used, the user's previous link with this
 * client ends, the new grant with its devices and refresh token exists. */
static sh_status make_grant(const sh_oauth *o, const sh_oauth_code_rec *code,
                            const sh_oauth_grant_rec *g, const uint8_t refresh_hash[SH_HASH_LEN])
{
    struct make_grant_args args = {o, code, g, refresh_hash};

    return sh_store_tx_run(store(o), make_grant_fn, &args);
}

/* A used code came back: RFC 6749 4.1.2 says revoke what it issued. */
static sh_status code_replayed(const sh_oauth *o, const uint8_t hash[SH_HASH_LEN])
{
    sh_oauth_code_rec code;
    sh_status rc = sh_store_do(store(o), oauth, code_get, hash, &code);

    if (rc == SH_OK && code.has_grant)
        rc = sh_oauth_grant_end(o, &code.grant, "oauth_code_replay");
    return rc == SH_OK || rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_GRANT : rc;
}

sh_status sh_oauth_exchange_code(const sh_oauth *o, const sh_oauth_client_rec *client,
                                 const char *code_text, const char *redirect_uri,
                                 const char *verifier, sh_oauth_token_set *out)
{
    uint8_t hash[SH_HASH_LEN], refresh_hash[SH_HASH_LEN];
    static const sh_id no_session;
    sh_oauth_code_rec code;
    sh_oauth_grant_rec g;
    int64_t now = sh_clock_now_us();
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if (parse_hash(o, SH_TOKEN_OAUTH_CODE, CODE_DOMAIN, code_text, hash) != 0)
        return SH_ERR_INVALID_GRANT;
    rc = sh_store_do(store(o), oauth, code_get, hash, &code);
    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_GRANT : rc;
    if (!sh_id_equal(&code.client, &client->id))
        return SH_ERR_INVALID_GRANT;
    if (code.used_at != 0)
        return code_replayed(o, hash);
    /* expired, another redirect URI, a wrong verifier, or a user logged out
     * everywhere since consent: refused, and the code stays as it was */
    if (code.expires_at <= now || redirect_uri == NULL ||
        strcmp(redirect_uri, code.redirect_uri) != 0 || verifier == NULL ||
        !sh_pkce_s256_check(code.challenge, verifier, strlen(verifier)) ||
        !sh_revocation_allows(o->auth->rev, SH_CLASS_NONE, &code.user, &no_session,
                              code.created_at))
        return SH_ERR_INVALID_GRANT;
    memset(&g, 0, sizeof(g));
    sh_id_random(&g.id);
    g.user = code.user;
    g.client = client->id;
    g.scopes = code.scopes;
    g.created_at = g.last_used_at = now;
    new_refresh(o, out->refresh, refresh_hash);
    rc = make_grant(o, &code, &g, refresh_hash);
    if (rc == SH_ERR_CONFLICT)
        return code_replayed(o, hash); /* lost a race with the same code */
    if (rc != SH_OK) {
        sodium_memzero(out, sizeof(*out));
        return rc;
    }
    mint(o, &g, g.scopes, now, out);
    {
        sh_id_hex hex;
        sh_id_to_hex(&g.id, &hex);
        sh_log_event(SH_LOG_INFO, "oauth_grant_created", "grant_id", hex.s);
    }
    return SH_OK;
}

/* ---- refresh_token ------------------------------------------------------------- */

sh_status sh_oauth_refresh(const sh_oauth *o, const sh_oauth_client_rec *client,
                           const char *refresh, unsigned narrow, sh_oauth_token_set *out)
{
    uint8_t old_hash[SH_HASH_LEN], new_hash[SH_HASH_LEN];
    sh_oauth_grant_rec g;
    sh_id grant;
    int state = 0, used = 0, outcome = 0;
    int64_t now = sh_clock_now_us();
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if (parse_hash(o, SH_TOKEN_OAUTH_REFRESH, REFRESH_DOMAIN, refresh, old_hash) != 0)
        return SH_ERR_INVALID_GRANT;
    rc = sh_store_do(store(o), oauth, refresh_find, old_hash, &grant, &state, &used);
    if (rc == SH_OK)
        rc = sh_store_do(store(o), oauth, grant_get, &grant, &g);
    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_GRANT : rc;
    if (!sh_id_equal(&g.client, &client->id) || !grant_alive(o, &g) ||
        now - g.last_used_at > SH_OAUTH_REFRESH_IDLE_S * SH_USEC)
        return SH_ERR_INVALID_GRANT;
    if (narrow != 0 && (narrow & ~g.scopes) != 0)
        return SH_ERR_INVALID_SCOPE;
    new_refresh(o, out->refresh, new_hash);
    rc = sh_store_do(store(o), oauth, refresh_use, old_hash, new_hash, now, &grant, &outcome);
    if (rc == SH_OK && outcome == SH_REFRESH_REUSED)
        rc = sh_oauth_grant_end(o, &grant, "oauth_refresh_token_reuse");
    if (rc == SH_OK && outcome != SH_REFRESH_ROTATED)
        rc = SH_ERR_INVALID_GRANT;
    if (rc != SH_OK) {
        sodium_memzero(out, sizeof(*out));
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_GRANT : rc;
    }
    mint(o, &g, narrow ? narrow : g.scopes, now, out);
    return SH_OK;
}

/* ---- revocation, introspection, authentication ------------------------------------ */

/* The grant behind a token of this client (access or refresh), if any.
 * *is_refresh and (for access tokens) *claims are filled. */
static sh_status grant_of(const sh_oauth *o, const sh_oauth_client_rec *client, const char *token,
                          int check_expiry, sh_oauth_grant_rec *g, int *is_refresh,
                          sh_partner_claims *claims)
{
    uint8_t hash[SH_HASH_LEN];
    sh_id grant;
    int state = 0, used = 0;
    size_t len = strlen(token);
    sh_status rc;

    *is_refresh = 0;
    if (len > 6 && strncmp(token, SH_TOKEN_OAUTH_ACCESS, 6) == 0) {
        int64_t now = check_expiry ? sh_clock_now_us() : 0;
        if (sh_partner_token_verify(o->auth->kr, token, len, now, claims) != SH_OK)
            return SH_ERR_NOT_FOUND;
        grant = claims->grant;
    } else if (parse_hash(o, SH_TOKEN_OAUTH_REFRESH, REFRESH_DOMAIN, token, hash) == 0) {
        *is_refresh = 1;
        rc = sh_store_do(store(o), oauth, refresh_find, hash, &grant, &state, &used);
        if (rc != SH_OK)
            return rc;
        if (state == SH_REFRESH_RETIRED)
            return SH_ERR_NOT_FOUND;
    } else {
        return SH_ERR_NOT_FOUND;
    }
    rc = sh_store_do(store(o), oauth, grant_get, &grant, g);
    if (rc == SH_OK && !sh_id_equal(&g->client, &client->id))
        rc = SH_ERR_NOT_FOUND; /* another client's token does not exist for you */
    return rc;
}

sh_status sh_oauth_revoke_token(const sh_oauth *o, const sh_oauth_client_rec *client,
                                const char *token)
{
    sh_partner_claims claims;
    sh_oauth_grant_rec g;
    int is_refresh = 0;
    sh_status rc = grant_of(o, client, token, 0, &g, &is_refresh, &claims);

    if (rc == SH_ERR_NOT_FOUND)
        return SH_OK;
    if (rc != SH_OK)
        return rc;
    return sh_oauth_grant_end(o, &g.id, "oauth_token_revoked");
}

void sh_oauth_subject(const sh_oauth *o, const sh_id *client, const sh_id *user,
                      char out[SH_OAUTH_SUBJECT_LEN + 1])
{
    uint8_t in[2 * SH_ID_LEN], h[SH_HASH_LEN];

    memcpy(in, client->b, SH_ID_LEN);
    memcpy(in + SH_ID_LEN, user->b, SH_ID_LEN);
    sh_hash_secret(o->auth->kr, PAIRWISE_DOMAIN, in, sizeof(in), h);
    sodium_bin2hex(out, SH_OAUTH_SUBJECT_LEN + 1, h, SH_OAUTH_SUBJECT_LEN / 2);
}

sh_status sh_oauth_introspect(const sh_oauth *o, const sh_oauth_client_rec *client,
                              const char *token, sh_oauth_introspection *out)
{
    sh_partner_claims claims;
    sh_oauth_grant_rec g;
    int is_refresh = 0;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    /* an access token is decided from memory: MAC, expiry and rules */
    if (strncmp(token, SH_TOKEN_OAUTH_ACCESS, 6) == 0) {
        if (sh_partner_token_verify(o->auth->kr, token, strlen(token), sh_clock_now_us(),
                                    &claims) != SH_OK ||
            !sh_id_equal(&claims.client, &client->id) ||
            !sh_revocation_allows_partner(o->auth->rev, &claims.client, &claims.user, &claims.grant,
                                          claims.grant_created))
            return SH_OK;
        out->active = 1;
        out->scopes = claims.scopes;
        out->iat = claims.minted_at;
        out->exp = claims.expires_at;
        sh_oauth_subject(o, &claims.client, &claims.user, out->sub);
        return SH_OK;
    }
    rc = grant_of(o, client, token, 1, &g, &is_refresh, &claims);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_OK;
    if (rc != SH_OK)
        return rc;
    if (!grant_alive(o, &g))
        return SH_OK;
    out->active = 1;
    out->is_refresh = 1;
    out->scopes = g.scopes;
    out->iat = g.created_at;
    sh_oauth_subject(o, &g.client, &g.user, out->sub);
    return SH_OK;
}

sh_status sh_oauth_authenticate(const sh_oauth *o, const char *bearer, size_t len,
                                sh_principal *out)
{
    sh_partner_claims c;

    if (sh_partner_token_verify(o->auth->kr, bearer, len, sh_clock_now_us(), &c) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    if (!sh_revocation_allows_partner(o->auth->rev, &c.client, &c.user, &c.grant, c.grant_created))
        return SH_ERR_INVALID_TOKEN;
    memset(out, 0, sizeof(*out));
    out->kind = SH_PRINCIPAL_PARTNER;
    out->user = c.user;
    out->session = c.grant;
    out->issued_at = c.grant_created;
    out->client = c.client;
    out->scopes = c.scopes;
    return SH_OK;
}

/* ---- integrations ----------------------------------------------------------------- */

struct list_ctx {
    const sh_oauth *o;
    sh_integration_list *out;
    sh_status rc;
};

static void collect_device(void *arg, const sh_device_rec *d, int role)
{
    sh_integration_view *v = arg;

    (void)role;
    if (v->ndevices < SH_STORE_GRANT_DEVICES_MAX)
        v->devices[v->ndevices++] = d->id;
}

static void list_one(void *arg, const sh_oauth_grant_rec *g)
{
    struct list_ctx *ctx = arg;
    sh_integration_list *l = ctx->out;
    sh_oauth_client_rec *c;
    sh_integration_view *v;

    if (ctx->rc != SH_OK || !grant_alive(ctx->o, g))
        return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        sh_integration_view *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            ctx->rc = SH_ERR_NOMEM;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    v = &l->items[l->count];
    memset(v, 0, sizeof(*v));
    v->client = g->client;
    v->scopes = g->scopes;
    v->linked_at = g->created_at;
    v->last_used_at = g->last_used_at;
    if ((c = malloc(sizeof(*c))) == NULL) {
        ctx->rc = SH_ERR_NOMEM;
        return;
    }
    ctx->rc = sh_store_do(store(ctx->o), oauth, client_get, &g->client, c);
    if (ctx->rc == SH_OK)
        memcpy(v->name, c->name, sizeof(v->name));
    free(c);
    if (ctx->rc == SH_OK)
        ctx->rc =
            sh_store_do(store(ctx->o), oauth, granted_list, &g->id, &g->user, collect_device, v);
    if (ctx->rc == SH_OK)
        l->count++;
}

sh_status sh_oauth_integrations(const sh_oauth *o, const sh_principal *user,
                                sh_integration_list *out)
{
    struct list_ctx ctx = {o, out, SH_OK};
    sh_status rc;

    memset(out, 0, sizeof(*out));
    rc = sh_store_do(store(o), oauth, grants_live, &user->user, NULL, list_one, &ctx);
    if (rc == SH_OK)
        rc = ctx.rc;
    if (rc != SH_OK)
        sh_integration_list_clear(out);
    return rc;
}

void sh_integration_list_clear(sh_integration_list *l)
{
    free(l->items);
    memset(l, 0, sizeof(*l));
}

sh_status sh_oauth_unlink(const sh_oauth *o, const sh_principal *user, const sh_id *client)
{
    struct collect_ids ids = {.n = 0};
    sh_status rc =
        sh_store_do(store(o), oauth, grants_live, &user->user, client, collect_grant, &ids);

    if (rc != SH_OK)
        return rc;
    if (ids.n == 0)
        return SH_ERR_NOT_FOUND;
    for (size_t i = 0; rc == SH_OK && i < ids.n; i++)
        rc = sh_oauth_grant_end(o, &ids.ids[i], "oauth_integration_unlinked");
    return rc;
}
