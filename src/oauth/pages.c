/* pages.c - login, second-factor and consent pages. */
#include "oauth/pages.h"

#include "http/html.h"

static void hidden(sh_buf *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    sh_buf_puts(b, "<input type=\"hidden\" name=\"");
    sh_buf_puts(b, name);
    sh_buf_puts(b, "\" value=\"");
    sh_buf_html(b, value);
    sh_buf_puts(b, "\">\n");
}

/* The authorization request, as checked, and the CSRF token. */
static void request_fields(sh_buf *b, const sh_authz_request *req, const char *csrf)
{
    sh_id_hex id;

    sh_id_to_hex(&req->client.id, &id);
    hidden(b, "response_type", "code");
    hidden(b, "client_id", id.s);
    hidden(b, "redirect_uri", req->redirect_uri);
    hidden(b, "scope", req->scope_text);
    hidden(b, "state", req->state);
    hidden(b, "code_challenge", req->challenge);
    hidden(b, "code_challenge_method", "S256");
    hidden(b, "csrf", csrf);
}

static void heading(sh_buf *b, const sh_authz_request *req)
{
    sh_buf_puts(b, "<h1>Link ");
    sh_buf_html(b, req->client.name);
    sh_buf_puts(b, " to your safehouse account</h1>\n");
}

static void error_line(sh_buf *b, const char *error)
{
    if (error == NULL)
        return;
    sh_buf_puts(b, "<p class=\"error\" role=\"alert\">");
    sh_buf_html(b, error);
    sh_buf_puts(b, "</p>\n");
}

char *sh_page_login(const sh_authz_request *req, const char *csrf, const char *error, size_t *len)
{
    sh_buf b;

    sh_buf_init(&b, SH_HTML_PAGE_MAX);
    sh_html_begin(&b, "Sign in - safehouse");
    heading(&b, req);
    sh_buf_puts(&b, "<p>Sign in to choose what ");
    sh_buf_html(&b, req->client.name);
    sh_buf_puts(&b, " may see and do.</p>\n");
    error_line(&b, error);
    sh_buf_puts(&b, "<form method=\"post\" action=\"/oauth/authorize/login\">\n");
    request_fields(&b, req, csrf);
    sh_buf_puts(&b, "<label>E-mail <input type=\"email\" name=\"email\" required "
                    "autocomplete=\"username\"></label>\n"
                    "<label>Password <input type=\"password\" name=\"password\" required "
                    "autocomplete=\"current-password\"></label>\n"
                    "<button type=\"submit\">Sign in</button>\n</form>");
    sh_html_end(&b);
    return sh_buf_take(&b, len);
}

char *sh_page_mfa(const sh_authz_request *req, const char *csrf, const char *error, size_t *len)
{
    sh_buf b;

    sh_buf_init(&b, SH_HTML_PAGE_MAX);
    sh_html_begin(&b, "Second factor - safehouse");
    heading(&b, req);
    sh_buf_puts(&b, "<p>Your account has two-factor login. Enter the 6-digit code from your "
                    "authenticator app, or one of your recovery codes.</p>\n");
    error_line(&b, error);
    sh_buf_puts(&b, "<form method=\"post\" action=\"/oauth/authorize/mfa\">\n");
    request_fields(&b, req, csrf);
    sh_buf_puts(&b, "<label>Code <input type=\"text\" name=\"code\" inputmode=\"numeric\" "
                    "autocomplete=\"one-time-code\" autofocus></label>\n"
                    "<label>Or a recovery code <input type=\"text\" name=\"recovery_code\" "
                    "autocomplete=\"off\"></label>\n"
                    "<button type=\"submit\">Continue</button>\n</form>");
    sh_html_end(&b);
    return sh_buf_take(&b, len);
}

static void scope_list(sh_buf *b, unsigned scopes)
{
    sh_buf_puts(b, "<ul class=\"scopes\">\n");
    for (size_t i = 0; i < sh_scope_count(); i++) {
        if (!(scopes & sh_scope_bit(i)))
            continue;
        sh_buf_puts(b, "<li>");
        sh_buf_html(b, sh_scope_description(i));
        sh_buf_puts(b, " <span class=\"muted\">(");
        sh_buf_html(b, sh_scope_name(i));
        sh_buf_puts(b, ")</span></li>\n");
    }
    sh_buf_puts(b, "</ul>\n");
}

static void device_boxes(sh_buf *b, const sh_device_list *devices)
{
    sh_buf_puts(b, "<fieldset class=\"devices\"><legend>Devices</legend>\n");
    if (devices->count == 0)
        sh_buf_puts(b, "<p class=\"muted\">You have no devices yet.</p>\n");
    for (size_t i = 0; i < devices->count; i++) {
        const sh_device_view *d = &devices->items[i];
        sh_id_hex id;
        sh_id_to_hex(&d->id, &id);
        sh_buf_puts(b, "<label><input type=\"checkbox\" name=\"device\" value=\"");
        sh_buf_puts(b, id.s);
        sh_buf_puts(b, "\"> ");
        sh_buf_html(b, d->name ? d->name : d->model);
        sh_buf_puts(b, " <span class=\"muted\">");
        sh_buf_html(b, sh_device_type_name(d->type));
        sh_buf_puts(b, "</span></label>\n");
    }
    sh_buf_puts(b, "</fieldset>\n");
}

char *sh_page_consent(const sh_authz_request *req, const char *csrf, const sh_device_list *devices,
                      size_t *len)
{
    sh_buf b;

    sh_buf_init(&b, SH_HTML_PAGE_MAX);
    sh_html_begin(&b, "Allow access - safehouse");
    heading(&b, req);
    sh_buf_puts(&b, "<p><strong>");
    sh_buf_html(&b, req->client.name);
    sh_buf_puts(&b, "</strong> asks to:</p>\n");
    scope_list(&b, req->scopes);
    sh_buf_puts(&b, "<form method=\"post\" action=\"/oauth/authorize\">\n");
    request_fields(&b, req, csrf);
    sh_buf_puts(&b, "<p>Choose the devices it may use. It will never see your health data, your "
                    "network details or your account.</p>\n");
    device_boxes(&b, devices);
    sh_buf_puts(&b, "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>"
                    "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n"
                    "</form>\n<p class=\"muted\">You can end this link at any time in the app "
                    "(Settings, Integrations).</p>");
    sh_html_end(&b);
    return sh_buf_take(&b, len);
}
