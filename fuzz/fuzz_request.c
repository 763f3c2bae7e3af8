/*
 * fuzz_request.c - every route of both listeners, through the same pipeline
 * the network uses (sh_pipeline_handle: route match, Content-Length limit,
 * authentication, JSON body parsing, the handler, problem+json), against a
 * real app on a private data directory.
 *
 * Properties: every status is 2xx-5xx; every error is problem+json with a
 * code, RFC 6749 error JSON, or an HTML page.
 *
 * Input format, like an HTTP/1.1 request without the version:
 *     METHOD SP PATH LF
 *     Name: value LF        (up to MAX_HEADERS)
 *     LF
 *     body
 * PATH may carry a query string, which form routes (GET /oauth/authorize)
 * read. Paths under /admin/ go to the admin listener's table, the rest to
 * the public one (both serve /healthz).
 *
 * Placeholders, so that mutations reach the handlers behind authentication:
 *   $AT  a live access token of user A (re-minted when a request killed it)
 *   $RT  the refresh token of a fresh session of user B
 *   $AD  the admin token
 *   $DV  the id of a camera user A owns (re-claimed after a release/reset)
 *   $DT  that camera's device token
 *   $ST  a stream ticket for that camera
 *   $CC  the claim code of a freshly provisioned plug
 *   $RL  a media relay credential
 *   $CI, $CS, $CB  an OAuth client's id, secret, and base64(id:secret) for
 *        HTTP Basic; its redirect URI is https://fuzz.example/cb
 *   $LC  user A's browser login cookie value (sh_oauth_login=...)
 *   $BR, $CT  a browser nonce (sh_oauth_b=...) and its CSRF token
 *   $AC  a fresh authorization code for user A, PKCE verifier $PV
 *   $PA, $PR  a live partner access token; a fresh partner refresh token
 * A fixture a request destroyed (a deleted or moved account, a changed
 * password, a released camera, a disabled client) is put back before the
 * next placeholder needs it.
 * The heartbeat group commit is not started: heartbeats write directly.
 * SH_FUZZ_VERBOSE=1 prints each answer on stderr (for checking seeds).
 * Password hashing runs at the lowest Argon2id cost so that sign-up, login
 * and password change run hundreds of times a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/app.h"
#include "auth/accounts.h"
#include "auth/sessions.h"
#include "auth/token_class.h"
#include "core/clock.h"
#include "crypto/password.h"
#include "devices/devices.h"
#include "devices/streams.h"
#include "fuzz_util.h"
#include "http/pipeline.h"
#include "crypto/pkce.h"
#include "oauth/authorize.h"
#include "oauth/grants.h"

#define MAX_HEADERS 16
#define MAX_LINE 4096
#define USER_A "fuzz-a@example.com"
#define USER_B "fuzz-b@example.com"
#define PASSWORD "fuzzing is believing 1"
#define REDIRECT_URI "https://fuzz.example/cb"
#define SCOPES "devices:read devices:control camera:stream"
#define VERIFIER "fuzz-verifier-0123456789-0123456789-0123456789"

static sh_app app;
static sh_pipeline api_pl, admin_pl;
static char admin_token[SH_TOKEN_MAX];
static char access_a[SH_TOKEN_MAX];
static char relay_token[SH_TOKEN_MAX];
static sh_device_secrets camera; /* owned by user A */
static sh_id user_a, user_b;
static sh_id client_id;
static char client_hex[SH_ID_HEX_LEN + 1];
static char client_secret[SH_TOKEN_MAX];
static char client_basic[2 * SH_TOKEN_MAX];
static char login_cookie[SH_TOKEN_MAX];
static char browser[SH_AUTHZ_BROWSER_LEN + 1];
static char csrf[SH_AUTHZ_CSRF_LEN + 1];
static char challenge[SH_PKCE_CHALLENGE_LEN + 1];
static char partner_access[SH_TOKEN_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void close_app(void)
{
    sh_app_stop_services(&app);
    sh_app_close(&app);
}

static void make_user(const char *email, sh_id *id)
{
    sh_account_view v;

    if (sh_account_create(&app.auth, email, PASSWORD, strlen(PASSWORD), NULL, &v) != SH_OK)
        abort();
    *id = v.id;
    sh_account_view_clear(&v);
}

/* User A (or B) as the fixtures need it: a request may have deleted the
 * account (DELETE /v1/me) or changed its password; both are put back. */
static void restore_user(sh_id *user)
{
    const char *email = sh_id_equal(user, &user_a) ? USER_A : USER_B;
    char hash[SH_PASSWORD_HASH_MAX];
    sh_account_view v;
    sh_user_rec u;
    int same;

    if (sh_account_get(&app.auth, user, &v) != SH_OK) {
        make_user(email, user); /* deleted */
        return;
    }
    same = strcmp(v.email, email) == 0;
    sh_account_view_clear(&v);
    if (!same) {
        make_user(email, user); /* moved to another e-mail: a new account */
        return;
    }
    if (sh_store_do(app.store, core, user_get, user, &u) != SH_OK)
        abort();
    if (sh_password_verify(u.password_hash, PASSWORD, strlen(PASSWORD)) != SH_OK &&
        (sh_password_hash(PASSWORD, strlen(PASSWORD), hash) != SH_OK ||
         sh_store_do(app.store, core, user_set_password, user, hash, sh_clock_now_us()) != SH_OK))
        abort();
    sh_user_rec_clear(&u);
}

static void open_session(sh_id *user, sh_token_pair *t)
{
    sh_user_rec u;

    restore_user(user);
    if (sh_store_do(app.store, core, user_get, user, &u) != SH_OK)
        abort();
    if (sh_session_open(&app.auth, &u, SH_CLASS_IOS, NULL, t) != SH_OK)
        abort();
    sh_user_rec_clear(&u);
}

/* A live access token for user A: a request may have logged it out. */
static const char *live_access(void)
{
    sh_principal p;
    sh_token_pair t;

    if (sh_session_authenticate(&app.auth, access_a, strlen(access_a), &p) != SH_OK) {
        open_session(&user_a, &t);
        memcpy(access_a, t.access, sizeof(access_a));
        sodium_memzero(&t, sizeof(t));
    }
    return access_a;
}

static void principal_a(sh_principal *p)
{
    const char *at = live_access();

    if (sh_session_authenticate(&app.auth, at, strlen(at), p) != SH_OK)
        abort();
}

/* A camera user A owns, with a working device token: a request may have
 * released it (DELETE /v1/devices/{id}) or reset it (POST /v1/device/reset).
 * A new one is provisioned and claimed; when the claim is refused (the
 * per-account claim limit) the old one stays, and requests naming it get
 * the answers a stale camera gets. */
static const sh_device_secrets *live_camera(void)
{
    sh_principal a, dev;
    sh_device_view v;
    sh_device_secrets fresh;
    int role = 0, retry = 0;
    int64_t gen = 0;
    sh_status rc;

    principal_a(&a);
    if (camera.device_token[0] != '\0' &&
        sh_device_authenticate(&app.auth, camera.device_token, strlen(camera.device_token), &dev) ==
            SH_OK &&
        sh_device_role(&app.auth, &a, &camera.device_id, &role, &gen) == SH_OK)
        return &camera;
    if (sh_device_provision(&app.auth, SH_DEVICE_CAMERA, "Fuzz Cam 1", &fresh) != SH_OK)
        abort();
    rc = sh_device_claim(&app.auth, &a, fresh.claim_code, strlen(fresh.claim_code), "Hall", &v,
                         &retry);
    if (rc == SH_OK) {
        sh_device_view_clear(&v);
        camera = fresh;
    } else if (rc != SH_ERR_RATE_LIMITED || camera.device_token[0] == '\0') {
        abort();
    }
    sodium_memzero(&fresh, sizeof(fresh));
    return &camera;
}

/* OAuth: a client, user A's browser login, codes and partner tokens. */
static void oauth_setup(void)
{
    const char *uris[] = {REDIRECT_URI};
    char detail[160], pair[SH_ID_HEX_LEN + 1 + SH_TOKEN_MAX];
    uint8_t hash[crypto_hash_sha256_BYTES];
    sh_id_hex hex;

    if (sh_oauth_client_add(&app.oauth, "Fuzz Partner", uris, 1, SCOPES, NULL, &client_id,
                            client_secret, detail, sizeof(detail)) != SH_OK)
        abort();
    sh_id_to_hex(&client_id, &hex);
    memcpy(client_hex, hex.s, sizeof(client_hex));
    snprintf(pair, sizeof(pair), "%s:%s", client_hex, client_secret);
    sodium_bin2base64(client_basic, sizeof(client_basic), (const uint8_t *)pair, strlen(pair),
                      sodium_base64_VARIANT_ORIGINAL);
    crypto_hash_sha256(hash, (const uint8_t *)VERIFIER, strlen(VERIFIER));
    sodium_bin2base64(challenge, sizeof(challenge), hash, sizeof(hash),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sh_authz_browser_new(browser);
    sh_authz_csrf(&app.oauth, browser, csrf);
}

/* The fixture client, registered again if a request disabled it or
 * rotated its secret. */
static void live_client(void)
{
    sh_oauth_client_rec c;

    if (sh_oauth_client_authenticate(&app.oauth, client_hex, client_secret, strlen(client_secret),
                                     0, &c) != SH_OK) {
        partner_access[0] = '\0';
        oauth_setup();
    }
}

/* User A's browser login cookie; logged in again when a request (a rule,
 * a password change) or time ended it. Fills *user. */
static const char *live_login(sh_principal *user)
{
    sh_login_ticket t;
    char mfa[SH_TOKEN_MAX];

    if (login_cookie[0] == '\0' ||
        sh_authz_logged_in(&app.oauth, login_cookie, strlen(login_cookie), user) != SH_OK) {
        restore_user(&user_a);
        if (sh_authz_login(&app.oauth, USER_A, PASSWORD, strlen(PASSWORD), &t, login_cookie, mfa) !=
                SH_OK ||
            sh_authz_logged_in(&app.oauth, login_cookie, strlen(login_cookie), user) != SH_OK)
            login_cookie[0] = '\0'; /* rate-limited or a second factor: no login now */
    }
    return login_cookie;
}

/* A fresh authorization code for user A (consent to the live camera);
 * "" when user A cannot log in any more. */
static void new_code(char code[SH_TOKEN_MAX])
{
    sh_authz_params p = {"code", client_hex, REDIRECT_URI, SCOPES, "st", challenge, "S256"};
    sh_authz_request req;
    sh_principal user;
    sh_id_hex dev;
    const char *devices[1], *error = NULL, *desc = NULL;

    code[0] = '\0';
    live_client();
    sh_id_to_hex(&live_camera()->device_id, &dev);
    devices[0] = dev.s;
    if (live_login(&user)[0] == '\0' ||
        sh_authz_check(&app.oauth, &p, &req, &error, &desc) != SH_OK)
        return;
    if (sh_authz_approve(&app.oauth, &req, &user, devices, 1, code) != SH_OK)
        code[0] = '\0';
}

/* A fresh partner token set (access and refresh); zeroed if none. */
static void new_partner_tokens(sh_oauth_token_set *t)
{
    sh_oauth_client_rec client;
    char code[SH_TOKEN_MAX];

    memset(t, 0, sizeof(*t));
    new_code(code);
    if (code[0] == '\0' || sh_oauth_client_find(&app.oauth, client_hex, &client) != SH_OK)
        return;
    if (sh_oauth_exchange_code(&app.oauth, &client, code, REDIRECT_URI, VERIFIER, t) != SH_OK)
        memset(t, 0, sizeof(*t));
}

static const char *live_partner_access(void)
{
    sh_principal p;
    sh_oauth_token_set t;

    if (partner_access[0] == '\0' ||
        sh_oauth_authenticate(&app.oauth, partner_access, strlen(partner_access), &p) != SH_OK) {
        new_partner_tokens(&t);
        memcpy(partner_access, t.access, sizeof(partner_access));
        sodium_memzero(&t, sizeof(t));
    }
    return partner_access;
}

/* The signature is libFuzzer's. */
int LLVMFuzzerInitialize(int *argc, char ***argv) // NOLINT(readability-non-const-parameter)
{
    sh_config cfg;
    sh_token_pair t;
    sh_id relay;

    (void)argc;
    (void)argv;
    sh_fuzz_env();
    sh_config_init(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/data", sh_fuzz_temp_dir());
    cfg.argon2_ops = 1; /* the lowest cost: hundreds of logins a second */
    cfg.argon2_mem_kib = 8;
    if (sh_app_open(&app, &cfg) != SH_OK || sh_app_start_services(&app) != SH_OK)
        abort();
    atexit(close_app);
    if (sh_app_admin_token_new(&app, admin_token, sizeof(admin_token)) != SH_OK)
        abort();
    if (sh_relay_create(&app.auth, &relay, relay_token) != SH_OK)
        abort();
    api_pl = (sh_pipeline){sh_api_routes, sh_api_routes_count, &app, sh_app_authenticate};
    admin_pl = (sh_pipeline){sh_admin_routes, sh_admin_routes_count, &app, sh_app_authenticate};
    make_user(USER_A, &user_a);
    make_user(USER_B, &user_b);
    open_session(&user_a, &t);
    memcpy(access_a, t.access, sizeof(access_a));
    sodium_memzero(&t, sizeof(t));
    (void)live_camera();
    oauth_setup();
    return 0;
}

/* The text a placeholder stands for, written into buf; NULL if name is not
 * one. */
static const char *placeholder(char a, char b, char buf[SH_TOKEN_MAX])
{
    sh_token_pair t;
    sh_principal p;
    sh_id_hex hex;
    sh_device_secrets plug;
    int64_t ttl;

    if (a == 'A' && b == 'T')
        return live_access();
    if (a == 'A' && b == 'D')
        return admin_token;
    if (a == 'R' && b == 'L')
        return relay_token;
    if (a == 'D' && b == 'T')
        return live_camera()->device_token;
    if (a == 'D' && b == 'V') {
        sh_id_to_hex(&live_camera()->device_id, &hex);
        memcpy(buf, hex.s, sizeof(hex.s));
        return buf;
    }
    if (a == 'R' && b == 'T') {
        open_session(&user_b, &t);
        memcpy(buf, t.refresh, SH_TOKEN_MAX);
        sodium_memzero(&t, sizeof(t));
        return buf;
    }
    if (a == 'S' && b == 'T') {
        const sh_device_secrets *cam = live_camera();
        principal_a(&p);
        if (sh_stream_ticket(&app.auth, &p, &cam->device_id, buf, &ttl) != SH_OK)
            buf[0] = '\0'; /* a stale camera: no ticket */
        return buf;
    }
    if (a == 'C' && (b == 'I' || b == 'S' || b == 'B'))
        live_client();
    if (a == 'C' && b == 'I')
        return client_hex;
    if (a == 'C' && b == 'S')
        return client_secret;
    if (a == 'C' && b == 'B')
        return client_basic;
    if (a == 'B' && b == 'R')
        return browser;
    if (a == 'C' && b == 'T')
        return csrf;
    if (a == 'P' && b == 'V')
        return VERIFIER;
    if (a == 'L' && b == 'C')
        return live_login(&p);
    if (a == 'A' && b == 'C') {
        new_code(buf);
        return buf;
    }
    if (a == 'P' && b == 'A')
        return live_partner_access();
    if (a == 'P' && b == 'R') {
        sh_oauth_token_set ts;
        new_partner_tokens(&ts);
        memcpy(buf, ts.refresh, SH_TOKEN_MAX);
        sodium_memzero(&ts, sizeof(ts));
        return buf;
    }
    if (a == 'C' && b == 'C') {
        if (sh_device_provision(&app.auth, SH_DEVICE_PLUG, "Fuzz Plug 1", &plug) != SH_OK)
            abort();
        memcpy(buf, plug.claim_code, SH_CLAIM_TEXT_MAX);
        sodium_memzero(&plug, sizeof(plug));
        return buf;
    }
    return NULL;
}

/* Replaces every placeholder in [s, s+n) and returns a malloc'ed,
 * NUL-terminated result with its length in *out_len. */
static char *expand(const char *s, size_t n, size_t *out_len)
{
    size_t cap = n + 1, len = 0, rlen;
    char *out = malloc(cap), *grown;
    char buf[SH_TOKEN_MAX];
    const char *rep;

    if (out == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        rep = s[i] == '$' && i + 2 < n ? placeholder(s[i + 1], s[i + 2], buf) : NULL;
        if (rep == NULL) {
            out[len++] = s[i];
            continue;
        }
        rlen = strlen(rep);
        cap += rlen;
        grown = realloc(out, cap);
        if (grown == NULL)
            abort();
        out = grown;
        memcpy(out + len, rep, rlen);
        len += rlen;
        i += 2;
    }
    out[len] = '\0';
    *out_len = len;
    return out;
}

/* Every error has a body of one of the three error kinds: problem+json
 * with a stable code, RFC 6749 JSON with an error code (OAuth routes), or
 * an HTML page (browser routes). */
static int error_well_formed(const sh_response *resp)
{
    const char *ct = sh_response_header(resp, "Content-Type");

    if (resp->body == NULL || ct == NULL)
        return 0;
    if (strcmp(ct, "application/problem+json") == 0)
        return strstr(resp->body, "\"code\":") != NULL;
    if (strcmp(ct, "application/json") == 0)
        return strncmp(resp->body, "{\"error\":", 9) == 0;
    return strncmp(ct, "text/html", 9) == 0;
}

/* Next line of [*p, end) without its LF; NULL at the end. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
    const char *start = *p, *lf;

    if (start >= end)
        return NULL;
    lf = memchr(start, '\n', (size_t)(end - start));
    *len = lf ? (size_t)(lf - start) : (size_t)(end - start);
    *p = lf ? lf + 1 : end;
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size, *line, *sp;
    char *method = NULL, *path = NULL, *body = NULL;
    char *names[MAX_HEADERS], *values[MAX_HEADERS];
    const char *headers[MAX_HEADERS][2];
    size_t n, nh = 0, body_len = 0, vlen;
    sh_response resp;

    line = next_line(&p, end, &n);
    if (line == NULL || n > MAX_LINE || (sp = memchr(line, ' ', n)) == NULL)
        return 0;
    method = sh_fuzz_cstr((const uint8_t *)line, (size_t)(sp - line));
    path = expand(sp + 1, n - (size_t)(sp - line) - 1, &vlen);
    while ((line = next_line(&p, end, &n)) != NULL && n > 0 && nh < MAX_HEADERS) {
        const char *colon = memchr(line, ':', n);
        if (colon == NULL)
            continue;
        names[nh] = sh_fuzz_cstr((const uint8_t *)line, (size_t)(colon - line));
        colon++;
        if (colon < line + n && *colon == ' ')
            colon++;
        values[nh] = expand(colon, (size_t)(line + n - colon), &vlen);
        headers[nh][0] = names[nh];
        headers[nh][1] = values[nh];
        nh++;
    }
    body = expand(p, (size_t)(end - p), &body_len);
    if (sh_pipeline_handle(strncmp(path, "/admin/", 7) == 0 ? &admin_pl : &api_pl, method, path,
                           (const char *const(*)[2])headers, nh, body, body_len, &resp) == SH_OK) {
        if (getenv("SH_FUZZ_VERBOSE") != NULL)
            fprintf(stderr, "%d %s %s %.*s\n", resp.status, method, path, (int)resp.len,
                    resp.body ? resp.body : "");
        if (resp.status < 200 || resp.status > 599)
            abort();
        if (resp.status >= 400 && !error_well_formed(&resp))
            abort();
        sh_response_clear(&resp);
    }
    for (size_t i = 0; i < nh; i++) {
        free(names[i]);
        free(values[i]);
    }
    free(body);
    free(path);
    free(method);
    return 0;
}
