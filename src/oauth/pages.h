/*
 * pages.h - the HTML of the authorize step: the login page, the
 * second-factor page and the consent page. No JavaScript; every value is
 * escaped; the authorization request travels in hidden fields with the
 * CSRF token. The server adds the Content-Security-Policy, X-Frame-Options
 * and Referrer-Policy headers.
 */
#ifndef SH_OAUTH_PAGES_H
#define SH_OAUTH_PAGES_H

#include <stddef.h>

#include "devices/devices.h"
#include "oauth/authorize.h"

/* The login page (malloc'd, *len set), or NULL when out of memory. error
 * may be NULL. */
char *sh_page_login(const sh_authz_request *req, const char *csrf, const char *error, size_t *len);
/* The second-factor page: one form with a TOTP code field and a recovery
 * code field (the user fills one). Same ownership as sh_page_login. */
char *sh_page_mfa(const sh_authz_request *req, const char *csrf, const char *error, size_t *len);
/* The consent page: partner, scopes, the user's devices with a checkbox
 * each (unchecked: the user picks). */
char *sh_page_consent(const sh_authz_request *req, const char *csrf, const sh_device_list *devices,
                      size_t *len);

#endif
