/*
 * html.h - the shell of the few HTML pages safehouse serves itself (the
 * OAuth login, second-factor, consent and error pages), and the security
 * headers those pages carry.
 *
 * Pages use no JavaScript and no external resource. The one inline style
 * sheet is allowed by its SHA-256 hash in the Content-Security-Policy, so
 * the policy can stay `default-src 'none'` with no 'unsafe-inline'.
 */
#ifndef SH_HTML_H
#define SH_HTML_H

#include <stddef.h>

#include "core/buf.h"

#define SH_HTML_PAGE_MAX (256 * 1024)
#define SH_HTML_CSP_MAX 512

/* Starts a page: doctype, head with title (escaped) and style, body. */
void sh_html_begin(sh_buf *b, const char *title);
/* Ends a page started with sh_html_begin. */
void sh_html_end(sh_buf *b);
/* The Content-Security-Policy for a page. form_origin (may be NULL) is
 * one extra origin that forms may submit to, including redirects after a
 * submission (the consent form ends in a redirect to the partner); it must
 * be a validated "scheme://host[:port]". */
void sh_html_csp(char out[SH_HTML_CSP_MAX], const char *form_origin);
/* A complete error page (malloc'd, *len set), or NULL when out of memory.
 * title and detail are escaped. */
char *sh_html_error_page(const char *title, const char *detail, size_t *len);

#endif
