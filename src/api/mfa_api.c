/* mfa_api.c - /v1/me/mfa/totp (enrol, confirm, turn off) and the second
 * step of a two-factor login, POST /v1/sessions/mfa. */
#include "api/api.h"

#include <stdlib.h>

#include <sodium.h>

#include "api/qr_svg.h"
#include "auth/mfa.h"
#include "auth/mfa_login.h"
#include "auth/stepup.h"
#include "auth/token_class.h"

sh_status sh_api_mfa_enrol(sh_req *r)
{
    sh_mfa_enrolment e;
    size_t svg_len = 0;
    char *svg;
    sh_status rc = sh_mfa_enrol(&sh_api_app(r)->auth, &r->principal, &e);

    if (rc == SH_ERR_CONFLICT)
        return sh_req_fail(r, rc, "two-factor login is already on");
    if (rc != SH_OK)
        return rc;
    svg = sh_qr_svg(e.uri, &svg_len);
    if (svg == NULL) {
        sodium_memzero(&e, sizeof(e));
        return SH_ERR_NOMEM;
    }
    sh_req_reply(r, 200,
                 json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "secret", e.secret, "otpauth_uri",
                           e.uri, "qr_svg", svg, "digits", SH_TOTP_DIGITS, "period", SH_TOTP_STEP_S,
                           "algorithm", "SHA1"));
    sodium_memzero(&e, sizeof(e));
    sodium_memzero(svg, svg_len);
    free(svg);
    return r->reply != NULL ? SH_OK : SH_ERR_NOMEM;
}

sh_status sh_api_mfa_confirm(sh_req *r)
{
    const char *code;
    sh_mfa_codes codes;
    json_t *arr;
    int retry = 0;
    sh_status rc;

    if ((rc = sh_req_string(r, "code", SH_FIELD_CODE_MAX, &code, NULL)))
        return rc;
    rc = sh_mfa_confirm(&sh_api_app(r)->auth, &r->principal, code, &codes, &retry);
    if (rc == SH_ERR_NOT_FOUND)
        return sh_req_fail(r, SH_ERR_CONFLICT, "no enrolment pending: POST /v1/me/mfa/totp first");
    if (rc == SH_ERR_CONFLICT)
        return sh_req_fail(r, rc, "two-factor login is already on");
    if (rc != SH_OK)
        return sh_api_limited(r, rc, retry);
    arr = json_array();
    for (int i = 0; arr != NULL && i < SH_RECOVERY_COUNT; i++)
        json_array_append_new(arr, json_string(codes.codes[i]));
    sodium_memzero(&codes, sizeof(codes));
    if (arr == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, json_pack("{s:o, s:b}", "recovery_codes", arr, "mfa_enabled", 1));
}

/* The proof (password and code) was checked by the pipeline: the route's
 * step-up is SH_STEPUP_PROOF. */
sh_status sh_api_mfa_disable(sh_req *r)
{
    int on = 0;
    sh_app *app = sh_api_app(r);
    sh_status rc = sh_mfa_enabled(&app->auth, &r->principal.user, &on);

    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    if (!on)
        return sh_req_fail(r, SH_ERR_CONFLICT, "two-factor login is not on");
    rc = sh_mfa_disable(&app->auth, &r->principal);
    if (rc == SH_ERR_NOT_FOUND)
        return sh_req_fail(r, SH_ERR_CONFLICT, "two-factor login is not on");
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}

sh_status sh_api_sessions_mfa(sh_req *r)
{
    const char *token, *code, *recovery, *client;
    size_t len;
    sh_token_pair t;
    int cls = SH_CLASS_NONE, retry = 0;
    sh_status rc;

    if ((rc = sh_req_string(r, "mfa_token", SH_FIELD_TOKEN_MAX, &token, &len)) ||
        (rc = sh_req_string_opt(r, "code", SH_FIELD_CODE_MAX, &code)) ||
        (rc = sh_req_string_opt(r, "recovery_code", SH_FIELD_CODE_MAX, &recovery)) ||
        (rc = sh_req_string_opt(r, "client", 16, &client)))
        return rc;
    if ((code == NULL) == (recovery == NULL))
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "send exactly one of 'code' and 'recovery_code'");
    if (client != NULL && (cls = sh_class_from_name(client)) == SH_CLASS_NONE)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "field 'client' must be one of android, ios, web, cli");
    rc = sh_session_login_mfa(&sh_api_app(r)->auth, token, len, cls, code, recovery, &t, &retry);
    sh_api_count_outcome(sh_metrics_mfa, rc);
    if (rc == SH_ERR_INVALID_CODE)
        return sh_req_fail(r, rc, "wrong or already used code");
    if (rc != SH_OK)
        return sh_api_limited(r, rc, retry);
    return sh_api_reply_tokens(r, &t);
}
