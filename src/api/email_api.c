/* email_api.c - e-mail verification and password reset by e-mail. */
#include "api/api.h"

#include "auth/email_verify.h"
#include "auth/password_reset.h"

sh_status sh_api_email_verify(sh_req *r)
{
    const char *token;
    size_t len;
    sh_status rc;

    if ((rc = sh_req_string(r, "token", SH_FIELD_TOKEN_MAX, &token, &len)))
        return rc;
    rc = sh_email_verify_confirm(&sh_api_app(r)->auth, token, len);
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 200, json_pack("{s:b}", "email_verified", 1));
}

sh_status sh_api_password_reset(sh_req *r)
{
    const char *email;
    sh_status rc;

    if ((rc = sh_req_string(r, "email", SH_FIELD_EMAIL_MAX, &email, NULL)))
        return rc;
    /* 202 whatever the address: nothing here tells which ones exist */
    rc = sh_password_reset_request(&sh_api_app(r)->auth, email);
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 202, NULL);
}

sh_status sh_api_password_reset_confirm(sh_req *r)
{
    const char *token, *password;
    size_t tlen, plen;
    sh_status rc;

    if ((rc = sh_req_string(r, "token", SH_FIELD_TOKEN_MAX, &token, &tlen)) ||
        (rc = sh_req_string(r, "new_password", SH_FIELD_PASSWORD_MAX, &password, &plen)))
        return rc;
    rc = sh_password_reset_confirm(&sh_api_app(r)->auth, token, tlen, password, plen);
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}
