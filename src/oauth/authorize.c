/* authorize.c - authorization request checks, browser login and CSRF,
 * consent -> code. */
#include "oauth/authorize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/mfa.h"
#include "auth/mfa_login.h"
#include "auth/sessions.h"
#include "auth/token_class.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/pkce.h"
#include "devices/devices.h"

#define CODE_DOMAIN "oauth_code"
#define CSRF_DOMAIN "oauth_csrf"

sh_status sh_authz_check(const sh_oauth *o, const sh_authz_params *p, sh_authz_request *out,
                         const char **error, const char **description)
{
    memset(out, 0, sizeof(*out));
    *description = NULL;
    if (p->client_id == NULL || sh_oauth_client_find(o, p->client_id, &out->client) != SH_OK) {
        *error = "This app is not known to safehouse (unknown or disabled client_id).";
        return SH_ERR_NOT_FOUND;
    }
    if (p->redirect_uri == NULL || !sh_oauth_redirect_registered(&out->client, p->redirect_uri)) {
        *error = "The redirect_uri is not registered for this app.";
        return SH_ERR_NOT_FOUND;
    }
    out->redirect_uri = p->redirect_uri;
    out->state = p->state;
    *error = "invalid_request";
    if (p->state != NULL && strlen(p->state) > SH_AUTHZ_STATE_MAX) {
        *description = "state is too long";
        out->state = NULL; /* not echoed */
        return SH_ERR_INVALID_REQUEST;
    }
    if (p->response_type == NULL || strcmp(p->response_type, "code") != 0) {
        *error = p->response_type ? "unsupported_response_type" : "invalid_request";
        *description = "response_type must be code";
        return SH_ERR_INVALID_REQUEST;
    }
    if (p->code_challenge_method == NULL || strcmp(p->code_challenge_method, "S256") != 0 ||
        p->code_challenge == NULL ||
        !sh_pkce_challenge_valid(p->code_challenge, strlen(p->code_challenge))) {
        *description = "PKCE is required: code_challenge (43 characters) with "
                       "code_challenge_method=S256";
        return SH_ERR_INVALID_REQUEST;
    }
    out->challenge = p->code_challenge;
    if (p->scope == NULL) {
        out->scopes = out->client.scopes; /* RFC 6749 3.3: the client's default */
    } else if (sh_scope_parse(p->scope, &out->scopes) != 0 ||
               (out->scopes & ~out->client.scopes) != 0) {
        *error = "invalid_scope";
        *description = "scope is unknown or not allowed for this client";
        return SH_ERR_INVALID_REQUEST;
    }
    sh_scope_format(out->scopes, out->scope_text, sizeof(out->scope_text));
    *error = NULL;
    return SH_OK;
}

static void add_param(sh_buf *b, int *first, const char *name, const char *value)
{
    if (value == NULL)
        return;
    sh_buf_puts(b, *first ? "" : "&");
    sh_buf_puts(b, name);
    sh_buf_puts(b, "=");
    sh_buf_urlenc(b, value);
    *first = 0;
}

void sh_authz_redirect_url(const sh_oauth *o, const sh_authz_request *req, const char *code,
                           const char *error, const char *description, sh_buf *out)
{
    int first = 1;

    sh_buf_puts(out, req->redirect_uri);
    sh_buf_puts(out, strchr(req->redirect_uri, '?') ? "&" : "?");
    add_param(out, &first, "code", code);
    add_param(out, &first, "error", error);
    add_param(out, &first, "error_description", description);
    add_param(out, &first, "state", req->state);
    add_param(out, &first, "iss", o->issuer); /* RFC 9207: mix-up defence */
}

void sh_authz_browser_new(char out[SH_AUTHZ_BROWSER_LEN + 1])
{
    uint8_t raw[32];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, SH_AUTHZ_BROWSER_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void sh_authz_csrf(const sh_oauth *o, const char *browser, char out[SH_AUTHZ_CSRF_LEN + 1])
{
    uint8_t h[SH_HASH_LEN];

    sh_hash_secret(o->auth->kr, CSRF_DOMAIN, browser, strlen(browser), h);
    sodium_bin2base64(out, SH_AUTHZ_CSRF_LEN + 1, h, sizeof(h),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int sh_authz_csrf_ok(const sh_oauth *o, const char *browser, const char *presented)
{
    char want[SH_AUTHZ_CSRF_LEN + 1];

    if (browser == NULL || presented == NULL || strlen(browser) != SH_AUTHZ_BROWSER_LEN ||
        strlen(presented) != SH_AUTHZ_CSRF_LEN)
        return 0;
    sh_authz_csrf(o, browser, want);
    return sodium_memcmp(want, presented, SH_AUTHZ_CSRF_LEN) == 0;
}

/* 1 when the account has a second factor that must be checked before
 * consent. Fails closed: when the store cannot say, the second factor is
 * required (and the challenge then fails, so nobody gets past). */
static int needs_second_factor(const sh_auth *a, const sh_user_rec *u)
{
    int on = 1;

    if (sh_mfa_enabled(a, &u->id, &on) != SH_OK)
        return 1;
    return on;
}

static void ticket_new(const sh_oauth *o, int stage, const sh_id *user, int64_t ttl_s,
                       sh_login_ticket *t, char cookie[SH_TOKEN_MAX])
{
    sh_id_hex hex;

    memset(t, 0, sizeof(*t));
    t->stage = stage;
    t->user = *user;
    sh_id_random(&t->nonce);
    t->login_at = sh_clock_now_us();
    t->expires_at = t->login_at + ttl_s * SH_USEC;
    sh_login_ticket_encode(o->auth->kr, t, cookie);
    if (stage == SH_LOGIN_DONE) {
        sh_id_to_hex(user, &hex);
        sh_log_event(SH_LOG_INFO, "oauth_login", "user_id", hex.s);
    }
}

sh_status sh_authz_login(const sh_oauth *o, const char *email, const char *password, size_t len,
                         sh_login_ticket *t, char cookie[SH_TOKEN_MAX],
                         char mfa_token[SH_TOKEN_MAX])
{
    sh_user_rec u;
    int64_t expires_in = 0;
    sh_status rc = sh_session_check_password(o->auth, email, password, len, &u);

    mfa_token[0] = '\0';
    if (rc != SH_OK)
        return rc;
    if (!needs_second_factor(o->auth, &u)) {
        ticket_new(o, SH_LOGIN_DONE, &u.id, SH_OAUTH_LOGIN_TTL_S, t, cookie);
        goto out;
    }
    rc = sh_mfa_challenge_new(o->auth, &u, SH_MFA_BROWSER, NULL, mfa_token, &expires_in);
    if (rc == SH_OK)
        ticket_new(o, SH_LOGIN_MFA_PENDING, &u.id, expires_in, t, cookie);
out:
    sh_user_rec_clear(&u);
    return rc;
}

/* A ticket of the given stage that no user or all rule has ended. */
static int ticket_ok(const sh_oauth *o, const char *cookie, size_t len, int stage,
                     sh_login_ticket *t)
{
    static const sh_id no_session;

    return cookie != NULL &&
           sh_login_ticket_verify(o->auth->kr, cookie, len, sh_clock_now_us(), t) == SH_OK &&
           t->stage == stage &&
           sh_revocation_allows(o->auth->rev, SH_CLASS_NONE, &t->user, &no_session, t->login_at);
}

int sh_authz_mfa_pending(const sh_oauth *o, const char *cookie, size_t len)
{
    sh_login_ticket t;

    return ticket_ok(o, cookie, len, SH_LOGIN_MFA_PENDING, &t);
}

sh_status sh_authz_second_factor(const sh_oauth *o, const char *ticket, size_t ticket_len,
                                 const char *mfa_token, size_t mfa_len, const char *code,
                                 const char *recovery, sh_login_ticket *t,
                                 char cookie[SH_TOKEN_MAX], int *retry_after_s)
{
    sh_login_ticket pending;
    sh_status rc;

    if (!ticket_ok(o, ticket, ticket_len, SH_LOGIN_MFA_PENDING, &pending) || mfa_token == NULL)
        return SH_ERR_INVALID_TOKEN;
    rc = sh_mfa_challenge_pass(o->auth, mfa_token, mfa_len, &pending.user, code, recovery,
                               retry_after_s);
    if (rc == SH_OK)
        ticket_new(o, SH_LOGIN_DONE, &pending.user, SH_OAUTH_LOGIN_TTL_S, t, cookie);
    return rc;
}

sh_status sh_authz_logged_in(const sh_oauth *o, const char *cookie, size_t len, sh_principal *user)
{
    sh_login_ticket t;

    if (!ticket_ok(o, cookie, len, SH_LOGIN_DONE, &t))
        return SH_ERR_INVALID_TOKEN;
    memset(user, 0, sizeof(*user));
    user->kind = SH_PRINCIPAL_USER;
    user->user = t.user;
    user->issued_at = t.login_at;
    return SH_OK;
}

sh_status sh_authz_approve(const sh_oauth *o, const sh_authz_request *req, const sh_principal *user,
                           const char *const *devices, size_t n, char code[SH_TOKEN_MAX])
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];
    sh_oauth_code_rec *c;
    sh_status rc = SH_OK;
    sh_id_hex hex;

    if (n > SH_STORE_GRANT_DEVICES_MAX)
        return SH_ERR_INVALID_REQUEST;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return SH_ERR_NOMEM;
    for (size_t i = 0; rc == SH_OK && i < n; i++) {
        int role = 0;
        if (sh_id_from_hex(devices[i], &c->devices[i].device) != 0)
            rc = SH_ERR_NOT_FOUND;
        else
            rc = sh_device_role(o->auth, user, &c->devices[i].device, &role,
                                &c->devices[i].generation);
    }
    c->ndevices = n;
    if (rc != SH_OK)
        goto out;
    sh_token_opaque_new(SH_TOKEN_OAUTH_CODE, secret, code);
    sh_hash_secret(o->auth->kr, CODE_DOMAIN, secret, sizeof(secret), c->hash);
    sodium_memzero(secret, sizeof(secret));
    c->client = req->client.id;
    c->user = user->user;
    snprintf(c->redirect_uri, sizeof(c->redirect_uri), "%s", req->redirect_uri);
    c->scopes = req->scopes;
    snprintf(c->challenge, sizeof(c->challenge), "%s", req->challenge);
    c->created_at = sh_clock_now_us();
    c->expires_at = c->created_at + o->code_ttl_us;
    rc = sh_store_do(o->auth->store, oauth, code_insert, c);
    if (rc != SH_OK) {
        sodium_memzero(code, SH_TOKEN_MAX);
        goto out;
    }
    sh_id_to_hex(&req->client.id, &hex);
    sh_log_event(SH_LOG_INFO, "oauth_consent_given", "client_id", hex.s);
out:
    free(c);
    return rc;
}
