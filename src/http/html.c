/* html.c - page shell, the style sheet and its CSP hash, error pages. */
#include "http/html.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

static const char STYLE[] =
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.4rem}label{display:block;margin:.6rem 0}"
    "input[type=email],input[type=password],input[type=text]{width:100%;padding:.4rem;"
    "box-sizing:border-box}button{padding:.5rem 1.2rem;margin:.8rem .5rem 0 0}"
    "ul{padding-left:1.2rem}.devices label{display:flex;gap:.5rem}.error{color:#a00}"
    ".muted{color:#666;font-size:.9rem}";

static char style_hash[64];
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void hash_style(void)
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)STYLE, strlen(STYLE));
    sodium_bin2base64(style_hash, sizeof(style_hash), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
}

void sh_html_csp(char out[SH_HTML_CSP_MAX], const char *form_origin)
{
    pthread_once(&hash_once, hash_style);
    snprintf(out, SH_HTML_CSP_MAX,
             "default-src 'none'; style-src 'sha256-%s'; form-action 'self'%s%s; "
             "frame-ancestors 'none'; base-uri 'none'",
             style_hash, form_origin ? " " : "", form_origin ? form_origin : "");
}

void sh_html_begin(sh_buf *b, const char *title)
{
    sh_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                   "<meta name=\"referrer\" content=\"no-referrer\"><title>");
    sh_buf_html(b, title);
    sh_buf_puts(b, "</title><style>");
    sh_buf_puts(b, STYLE);
    sh_buf_puts(b, "</style></head><body>\n");
}

void sh_html_end(sh_buf *b) { sh_buf_puts(b, "\n</body></html>\n"); }

char *sh_html_error_page(const char *title, const char *detail, size_t *len)
{
    sh_buf b;

    sh_buf_init(&b, SH_HTML_PAGE_MAX);
    sh_html_begin(&b, title);
    sh_buf_puts(&b, "<h1>");
    sh_buf_html(&b, title);
    sh_buf_puts(&b, "</h1>\n<p class=\"error\">");
    sh_buf_html(&b, detail != NULL && detail[0] != '\0' ? detail : "The request cannot be served.");
    sh_buf_puts(&b, "</p>\n<p class=\"muted\">You can close this window and start the linking "
                    "again from the app you came from.</p>");
    sh_html_end(&b);
    return sh_buf_take(&b, len);
}
