/*
 * oauth_authorize_api.c - the browser side of account linking:
 *   GET  /oauth/authorize          check the request; login or consent page
 *   POST /oauth/authorize/login    e-mail + password -> login cookie, back to GET
 *   POST /oauth/authorize/mfa      a second factor -> done login cookie, back to GET
 *   POST /oauth/authorize          the consent decision -> redirect with a code
 *
 * Cookies, all HttpOnly, SameSite=Lax, Path=/oauth (Secure when the issuer
 * is https): sh_oauth_b, a random browser nonce whose keyed hash is the
 * CSRF token of every form; sh_oauth_login, the MAC'd login ticket; and,
 * between password and code for a two-factor account, sh_oauth_mfa, the
 * second-factor challenge (sh_mt_). GET shows the consent page for a done
 * ticket, the code form for a pending one with its challenge, else login.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "http/html.h"
#include "oauth/authorize.h"
#include "oauth/pages.h"

#define COOKIE_BROWSER "sh_oauth_b"
#define COOKIE_LOGIN "sh_oauth_login"
#define COOKIE_MFA "sh_oauth_mfa"
#define COOKIE_VALUE_MAX SH_TOKEN_MAX
#define PARAM_MAX 1024
#define HTML_CTYPE "text/html; charset=utf-8"

static sh_oauth *oauth(sh_req *r) { return &sh_api_app(r)->oauth; }

/* The value of cookie `name` from the Cookie header into out; 0 if found. */
static int cookie(sh_req *r, const char *name, char *out, size_t cap)
{
    const char *h = sh_req_header(r, "Cookie");
    size_t n = strlen(name);

    while (h != NULL && *h != '\0') {
        while (*h == ' ' || *h == ';')
            h++;
        size_t len = strcspn(h, ";");
        if (len > n && strncmp(h, name, n) == 0 && h[n] == '=') {
            size_t vlen = len - n - 1;
            if (vlen == 0 || vlen >= cap)
                return -1;
            memcpy(out, h + n + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        h += len;
    }
    return -1;
}

static sh_status set_cookie(sh_req *r, const char *name, const char *value, int max_age)
{
    char line[COOKIE_VALUE_MAX + 160];

    snprintf(line, sizeof(line), "%s=%s; Path=/oauth; Max-Age=%d; HttpOnly; SameSite=Lax%s", name,
             value, max_age, oauth(r)->cookie_secure ? "; Secure" : "");
    return sh_req_add_header(r, "Set-Cookie", line);
}

/* The browser nonce, made and set as a cookie if the browser has none. */
static sh_status browser_nonce(sh_req *r, char out[SH_AUTHZ_BROWSER_LEN + 1])
{
    if (cookie(r, COOKIE_BROWSER, out, SH_AUTHZ_BROWSER_LEN + 1) == 0 &&
        strlen(out) == SH_AUTHZ_BROWSER_LEN)
        return SH_OK;
    sh_authz_browser_new(out);
    return set_cookie(r, COOKIE_BROWSER, out, 3600);
}

static sh_status page(sh_req *r, int status, char *text, size_t len)
{
    if (text == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply_text(r, status, HTML_CTYPE, text, len);
}

/* Reads the request parameters. Client and redirect URI problems are the
 * error page's (never redirect); the others go back to the client. */
static sh_status read_params(sh_req *r, sh_authz_params *p, int *redirectable)
{
    sh_status rc;

    memset(p, 0, sizeof(*p));
    *redirectable = 0;
    if ((rc = sh_req_param_opt(r, "client_id", 64, &p->client_id)) ||
        (rc = sh_req_param_opt(r, "redirect_uri", SH_STORE_REDIRECT_URI_MAX, &p->redirect_uri)))
        return rc;
    *redirectable = 1;
    if ((rc = sh_req_param_opt(r, "response_type", 64, &p->response_type)) ||
        (rc = sh_req_param_opt(r, "scope", PARAM_MAX, &p->scope)) ||
        (rc = sh_req_param_opt(r, "state", SH_AUTHZ_STATE_MAX, &p->state)) ||
        (rc = sh_req_param_opt(r, "code_challenge", 128, &p->code_challenge)) ||
        (rc = sh_req_param_opt(r, "code_challenge_method", 16, &p->code_challenge_method)))
        return rc;
    return SH_OK;
}

static sh_status redirect_error(sh_req *r, const sh_authz_request *req, const char *error,
                                const char *description)
{
    sh_buf b;
    sh_status rc;

    sh_buf_init(&b, (size_t)4 * PARAM_MAX);
    sh_authz_redirect_url(oauth(r), req, NULL, error, description, &b);
    rc = sh_buf_status(&b);
    if (rc == SH_OK)
        rc = sh_req_redirect(r, 302, b.p);
    sh_buf_free(&b);
    return rc;
}

/* Reads and checks the authorization request: SH_OK with *req, or an
 * answer already prepared (error page or redirect) in *done. */
static sh_status checked_request(sh_req *r, sh_authz_request *req, int *done)
{
    sh_authz_params p;
    const char *error = NULL, *description = NULL;
    int redirectable = 0;
    sh_status rc = read_params(r, &p, &redirectable);

    *done = 1;
    if (rc != SH_OK && !redirectable)
        return rc; /* error page with the reader's detail */
    if (rc == SH_OK) {
        rc = sh_authz_check(oauth(r), &p, req, &error, &description);
    } else {
        /* A later parameter is repeated or too long. Redirect only to a
         * client's registered URI; with an unknown client or redirect URI
         * there is none (req->redirect_uri is NULL): the error page. */
        if (sh_authz_check(oauth(r), &p, req, &error, &description) == SH_ERR_NOT_FOUND)
            return sh_req_fail(r, SH_ERR_INVALID_REQUEST, error);
        return redirect_error(r, req, "invalid_request", "a parameter is repeated or too long");
    }
    if (rc == SH_ERR_NOT_FOUND)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST, error);
    if (rc == SH_ERR_INVALID_REQUEST)
        return redirect_error(r, req, error, description);
    if (rc != SH_OK)
        return rc;
    *done = 0;
    return SH_OK;
}

static sh_status login_page(sh_req *r, const sh_authz_request *req, const char *browser, int status,
                            const char *error)
{
    char csrf[SH_AUTHZ_CSRF_LEN + 1];
    size_t len = 0;
    char *text;

    sh_authz_csrf(oauth(r), browser, csrf);
    text = sh_page_login(req, csrf, error, &len);
    return page(r, status, text, len);
}

static sh_status mfa_page(sh_req *r, const sh_authz_request *req, const char *browser, int status,
                          const char *error)
{
    char csrf[SH_AUTHZ_CSRF_LEN + 1];
    size_t len = 0;
    char *text;

    sh_authz_csrf(oauth(r), browser, csrf);
    text = sh_page_mfa(req, csrf, error, &len);
    return page(r, status, text, len);
}

/* The consent page. Its CSP lets the form's submission end in a redirect
 * to the partner's origin, and nowhere else. */
static sh_status consent_page(sh_req *r, const sh_authz_request *req, const char *browser,
                              const sh_principal *user)
{
    char csrf[SH_AUTHZ_CSRF_LEN + 1], origin[SH_OAUTH_ORIGIN_MAX], csp[SH_HTML_CSP_MAX];
    sh_device_list devices = {0};
    size_t len = 0;
    char *text;
    sh_status rc = sh_device_list_for(oauth(r)->auth, user, &devices);

    if (rc != SH_OK)
        return rc;
    sh_authz_csrf(oauth(r), browser, csrf);
    text = sh_page_consent(req, csrf, &devices, &len);
    sh_device_list_clear(&devices);
    if (sh_oauth_redirect_origin(req->redirect_uri, origin, sizeof(origin)) != 0) {
        free(text);
        return SH_ERR_INTERNAL;
    }
    sh_html_csp(csp, origin);
    if ((rc = sh_req_add_header(r, "Content-Security-Policy", csp)) != SH_OK) {
        free(text);
        return rc;
    }
    return page(r, 200, text, len);
}

static int logged_in(sh_req *r, sh_principal *user)
{
    char value[COOKIE_VALUE_MAX];

    return cookie(r, COOKIE_LOGIN, value, sizeof(value)) == 0 &&
           sh_authz_logged_in(oauth(r), value, strlen(value), user) == SH_OK;
}

/* 1 if the browser is between password and second factor: a pending
 * ticket and a challenge cookie (the challenge itself is checked by the
 * code form's post). */
static int mfa_pending(sh_req *r)
{
    char value[COOKIE_VALUE_MAX];

    if (cookie(r, COOKIE_LOGIN, value, sizeof(value)) != 0 ||
        !sh_authz_mfa_pending(oauth(r), value, strlen(value)))
        return 0;
    return cookie(r, COOKIE_MFA, value, sizeof(value)) == 0;
}

sh_status sh_api_oauth_authorize(sh_req *r)
{
    char browser[SH_AUTHZ_BROWSER_LEN + 1];
    sh_authz_request req;
    sh_principal user;
    int done = 0;
    sh_status rc = checked_request(r, &req, &done);

    if (done)
        return rc;
    if ((rc = browser_nonce(r, browser)) != SH_OK)
        return rc;
    if (logged_in(r, &user))
        return consent_page(r, &req, browser, &user);
    if (mfa_pending(r))
        return mfa_page(r, &req, browser, 200, NULL);
    return login_page(r, &req, browser, 200, NULL);
}

/* Back to GET /oauth/authorize with the same (checked) request. */
static sh_status back_to_authorize(sh_req *r, const sh_authz_request *req)
{
    sh_buf b;
    sh_id_hex id;
    sh_status rc;

    sh_id_to_hex(&req->client.id, &id);
    sh_buf_init(&b, (size_t)4 * PARAM_MAX);
    sh_buf_puts(&b, "/oauth/authorize?response_type=code&client_id=");
    sh_buf_puts(&b, id.s);
    sh_buf_puts(&b, "&redirect_uri=");
    sh_buf_urlenc(&b, req->redirect_uri);
    sh_buf_puts(&b, "&scope=");
    sh_buf_urlenc(&b, req->scope_text);
    if (req->state != NULL) {
        sh_buf_puts(&b, "&state=");
        sh_buf_urlenc(&b, req->state);
    }
    sh_buf_puts(&b, "&code_challenge=");
    sh_buf_urlenc(&b, req->challenge);
    sh_buf_puts(&b, "&code_challenge_method=S256");
    rc = sh_buf_status(&b);
    if (rc == SH_OK)
        rc = sh_req_redirect(r, 303, b.p);
    sh_buf_free(&b);
    return rc;
}

/* The CSRF check every form post starts with. */
static sh_status check_csrf(sh_req *r, char browser[SH_AUTHZ_BROWSER_LEN + 1])
{
    const char *csrf = NULL;

    if (sh_req_param_opt(r, "csrf", 128, &csrf) != SH_OK ||
        cookie(r, COOKIE_BROWSER, browser, SH_AUTHZ_BROWSER_LEN + 1) != 0 ||
        !sh_authz_csrf_ok(oauth(r), browser, csrf))
        return sh_req_fail(r, SH_ERR_FORBIDDEN,
                           "This form has expired or did not come from safehouse. Start the "
                           "linking again.");
    return SH_OK;
}

sh_status sh_api_oauth_login(sh_req *r)
{
    char browser[SH_AUTHZ_BROWSER_LEN + 1], ticket[SH_TOKEN_MAX], challenge[SH_TOKEN_MAX];
    const char *email = NULL, *password = NULL;
    sh_authz_request req;
    sh_login_ticket t;
    int done = 0, max_age;
    sh_status rc = checked_request(r, &req, &done);

    if (done)
        return rc;
    if ((rc = check_csrf(r, browser)) != SH_OK)
        return rc;
    if (sh_req_param_opt(r, "email", SH_FIELD_EMAIL_MAX, &email) != SH_OK ||
        sh_req_param_opt(r, "password", SH_FORM_VALUE_MAX, &password) != SH_OK || email == NULL ||
        password == NULL)
        return login_page(r, &req, browser, 400, "Enter your e-mail and password.");
    rc = sh_authz_login(oauth(r), email, password, strlen(password), &t, ticket, challenge);
    if (rc == SH_ERR_INVALID_CREDENTIALS)
        return login_page(r, &req, browser, 401, "Wrong e-mail or password.");
    if (rc != SH_OK)
        return rc;
    /* a pending ticket lives as long as its challenge; GET then shows the code form */
    max_age = (int)((t.expires_at - t.login_at) / SH_USEC);
    rc = set_cookie(r, COOKIE_LOGIN, ticket, max_age);
    if (rc == SH_OK && t.stage == SH_LOGIN_MFA_PENDING)
        rc = set_cookie(r, COOKIE_MFA, challenge, max_age);
    sodium_memzero(ticket, sizeof(ticket));
    sodium_memzero(challenge, sizeof(challenge));
    if (rc != SH_OK)
        return rc;
    return back_to_authorize(r, &req);
}

/* A form field the user may leave empty (browsers send "" for it). */
static sh_status optional_field(sh_req *r, const char *name, const char **out)
{
    sh_status rc = sh_req_param_opt(r, name, SH_FIELD_CODE_MAX, out);

    if (rc == SH_OK && *out != NULL && **out == '\0')
        *out = NULL;
    return rc;
}

/* The answer to a second factor that was not accepted. */
static sh_status mfa_refused(sh_req *r, const sh_authz_request *req, const char *browser,
                             sh_status rc, int retry)
{
    char text[128], num[16];

    switch (rc) {
    case SH_ERR_INVALID_CODE:
        return mfa_page(r, req, browser, 401, "That code is wrong or was already used.");
    case SH_ERR_RATE_LIMITED:
        retry = retry > 0 ? retry : 1;
        snprintf(num, sizeof(num), "%d", retry);
        snprintf(text, sizeof(text),
                 "Too many wrong codes for this account. Try again in %d minute%s.",
                 (retry + 59) / 60, retry > 60 ? "s" : "");
        if ((rc = sh_req_add_header(r, "Retry-After", num)) != SH_OK)
            return rc;
        return mfa_page(r, req, browser, 429, text);
    case SH_ERR_INVALID_TOKEN: /* expired, used, dead after 5 wrong codes, revoked */
        if ((rc = set_cookie(r, COOKIE_MFA, "", 0)) != SH_OK ||
            (rc = set_cookie(r, COOKIE_LOGIN, "", 0)) != SH_OK)
            return rc;
        return login_page(r, req, browser, 401,
                          "Your sign-in has expired or had too many wrong codes. Sign in again.");
    default:
        return rc;
    }
}

sh_status sh_api_oauth_mfa(sh_req *r)
{
    char browser[SH_AUTHZ_BROWSER_LEN + 1], ticket[SH_TOKEN_MAX] = "";
    char challenge[SH_TOKEN_MAX] = "", fresh[SH_TOKEN_MAX];
    const char *code = NULL, *recovery = NULL;
    sh_authz_request req;
    sh_login_ticket t;
    int done = 0, retry = 0;
    sh_status rc = checked_request(r, &req, &done);

    if (done)
        return rc;
    if ((rc = check_csrf(r, browser)) != SH_OK)
        return rc;
    if (!mfa_pending(r))
        return mfa_refused(r, &req, browser, SH_ERR_INVALID_TOKEN, 0);
    if (optional_field(r, "code", &code) != SH_OK ||
        optional_field(r, "recovery_code", &recovery) != SH_OK ||
        (code == NULL) == (recovery == NULL))
        return mfa_page(r, &req, browser, 400, "Enter either the 6-digit code or a recovery code.");
    (void)cookie(r, COOKIE_LOGIN, ticket, sizeof(ticket));
    (void)cookie(r, COOKIE_MFA, challenge, sizeof(challenge));
    rc = sh_authz_second_factor(oauth(r), ticket, strlen(ticket), challenge, strlen(challenge),
                                code, recovery, &t, fresh, &retry);
    if (rc != SH_OK) {
        rc = mfa_refused(r, &req, browser, rc, retry);
        goto out;
    }
    if ((rc = set_cookie(r, COOKIE_LOGIN, fresh, SH_OAUTH_LOGIN_TTL_S)) != SH_OK ||
        (rc = set_cookie(r, COOKIE_MFA, "", 0)) != SH_OK)
        goto out;
    rc = back_to_authorize(r, &req);
out:
    sodium_memzero(ticket, sizeof(ticket));
    sodium_memzero(challenge, sizeof(challenge));
    sodium_memzero(fresh, sizeof(fresh));
    return rc;
}

sh_status sh_api_oauth_consent(sh_req *r)
{
    char browser[SH_AUTHZ_BROWSER_LEN + 1], code[SH_TOKEN_MAX];
    const char *devices[SH_STORE_GRANT_DEVICES_MAX];
    const char *decision = NULL;
    sh_authz_request req;
    sh_principal user;
    size_t n = sh_form_count(r->form, "device");
    int done = 0;
    sh_buf b;
    sh_status rc = checked_request(r, &req, &done);

    if (done)
        return rc;
    if ((rc = check_csrf(r, browser)) != SH_OK)
        return rc;
    if (!logged_in(r, &user))
        return login_page(r, &req, browser, 401, "Your sign-in has expired. Sign in again.");
    if (sh_req_param(r, "decision", 16, &decision) != SH_OK)
        return SH_ERR_INVALID_REQUEST;
    if (strcmp(decision, "allow") != 0)
        return redirect_error(r, &req, "access_denied", "the user denied access");
    if (n > SH_STORE_GRANT_DEVICES_MAX)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST, "Too many devices chosen.");
    for (size_t i = 0; i < n; i++)
        devices[i] = sh_form_get(r->form, "device", i, NULL);
    rc = sh_authz_approve(oauth(r), &req, &user, devices, n, code);
    if (rc == SH_ERR_NOT_FOUND)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "One of the chosen devices is not yours (any more).");
    if (rc != SH_OK)
        return rc;
    sh_buf_init(&b, (size_t)4 * PARAM_MAX);
    sh_authz_redirect_url(oauth(r), &req, code, NULL, NULL, &b);
    sodium_memzero(code, sizeof(code));
    rc = sh_buf_status(&b);
    if (rc == SH_OK)
        rc = sh_req_redirect(r, 302, b.p);
    sodium_memzero(b.p, b.len);
    sh_buf_free(&b);
    return rc;
}
