/*
 * ops_api.c - what operators and scanners ask of a running node:
 *   GET /healthz                  liveness: the process answers (no store)
 *   GET /readyz                   readiness: store reachable, schema current,
 *                                 keys loaded (200 or 503 not_ready)
 *   GET /.well-known/security.txt RFC 9116, public listener only
 * /healthz and /readyz are on both listeners, so a load balancer checks the
 * public one and a supervisor the admin one.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"

/* RFC 9116 2.5.5: Expires SHOULD be less than a year ahead; the file is
 * made per request, so it never goes stale while the node runs. */
#define SECURITY_TXT_EXPIRES_US (180LL * 86400 * SH_USEC)
#define SECURITY_TXT_MAX 1024

sh_status sh_api_healthz(sh_req *r)
{
    return sh_req_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}

sh_status sh_api_readyz(sh_req *r)
{
    sh_app *app = sh_api_app(r);
    int stored = 0, known = 0;
    json_t *j;

    if (app->kr == NULL)
        return sh_req_fail(r, SH_ERR_NOT_READY, "the keys are not loaded");
    if (sh_store_do(app->store, core, schema_version, &stored, &known) != SH_OK)
        return sh_req_fail(r, SH_ERR_NOT_READY, "the store cannot be reached");
    if (stored != known)
        return sh_req_fail(r, SH_ERR_NOT_READY,
                           "the store's schema version is not the one this binary runs");
    j = json_pack("{s:s, s:i}", "status", "ready", "schema_version", stored);
    if (j == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, j);
}

sh_status sh_api_security_txt(sh_req *r)
{
    sh_app *app = sh_api_app(r);
    char expires[SH_RFC3339_MAX], *text;
    int n;

    /* a made-up contact would be worse than none */
    if (app->cfg.security_contact[0] == '\0')
        return sh_req_fail(r, SH_ERR_NOT_FOUND, "no security contact is configured");
    sh_clock_format(sh_clock_now_us() + SECURITY_TXT_EXPIRES_US, expires, sizeof(expires));
    if ((text = malloc(SECURITY_TXT_MAX)) == NULL)
        return SH_ERR_NOMEM;
    n = snprintf(text, SECURITY_TXT_MAX,
                 "Contact: %s\nExpires: %s\nCanonical: %s/.well-known/security.txt\n",
                 app->cfg.security_contact, expires, app->oauth.issuer);
    if (n < 0 || n >= SECURITY_TXT_MAX) {
        free(text);
        return SH_ERR_INTERNAL;
    }
    return sh_req_reply_text(r, 200, "text/plain; charset=utf-8", text, (size_t)n);
}
