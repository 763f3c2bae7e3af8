/* accounts_api.c - POST /v1/accounts and the /v1/me routes. */
#include "api/api.h"

#include "auth/accounts.h"
#include "auth/email_verify.h"
#include "devices/devices.h"
#include "store/store_mfa.h"

static json_t *account_json(const sh_account_view *v, const sh_account_state *s)
{
    return json_pack("{s:o, s:s, s:s?, s:o, s:b, s:b}", "id", sh_api_id(&v->id), "email", v->email,
                     "display_name", v->display_name, "created_at", sh_api_time(v->created_at),
                     "email_verified", s->email_verified_at != 0, "mfa_enabled",
                     s->mfa_confirmed_at != 0);
}

sh_status sh_api_accounts_create(sh_req *r)
{
    const char *email, *password, *name;
    size_t plen;
    sh_account_view v;
    sh_status rc;

    if ((rc = sh_req_string(r, "email", SH_FIELD_EMAIL_MAX, &email, NULL)) ||
        (rc = sh_req_string(r, "password", SH_FIELD_PASSWORD_MAX, &password, &plen)) ||
        (rc = sh_req_string_opt(r, "display_name", SH_FIELD_NAME_MAX, &name)))
        return rc;
    rc = sh_account_create(&sh_api_app(r)->auth, email, password, plen, name, &v);
    if (rc == SH_ERR_INVALID_REQUEST)
        return sh_req_fail(r, rc, "field 'display_name' must be 1 to 128 printable characters");
    if (rc != SH_OK)
        return rc;
    sh_req_reply(r, 201, json_pack("{s:o, s:s}", "id", sh_api_id(&v.id), "email", v.email));
    sh_account_view_clear(&v);
    return SH_OK;
}

static sh_status reply_me(sh_req *r)
{
    sh_account_view v;
    sh_account_state state;
    sh_status rc =
        sh_account_me(&sh_api_app(r)->auth, &r->principal.user, r->memory_only, &v, &state);

    if (rc == SH_WOULDBLOCK)
        return rc;
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_TOKEN; /* the account is gone; so is the token */
    if (rc != SH_OK)
        return rc;
    sh_req_reply(r, 200, account_json(&v, &state));
    sh_account_view_clear(&v);
    return SH_OK;
}

sh_status sh_api_me_get(sh_req *r) { return reply_me(r); }

sh_status sh_api_me_patch(sh_req *r)
{
    const char *name;
    int present;
    sh_status rc;

    if ((rc = sh_req_string_nullable(r, "display_name", SH_FIELD_NAME_MAX, &name, &present)))
        return rc;
    if (present) {
        rc = sh_account_set_display_name(&sh_api_app(r)->auth, &r->principal.user, name);
        if (rc == SH_ERR_INVALID_REQUEST)
            return sh_req_fail(r, rc, "field 'display_name' must be 1 to 128 printable characters");
        if (rc != SH_OK)
            return rc;
    }
    return reply_me(r);
}

sh_status sh_api_me_password(sh_req *r)
{
    sh_password_change c = {0};
    int retry = 0;
    sh_status rc;

    if ((rc = sh_req_string(r, "current_password", SH_FIELD_PASSWORD_MAX, &c.current,
                            &c.current_len)) ||
        (rc = sh_req_string(r, "new_password", SH_FIELD_PASSWORD_MAX, &c.next, &c.next_len)) ||
        (rc = sh_req_string_opt(r, "code", SH_FIELD_CODE_MAX, &c.code)) ||
        (rc = sh_req_string_opt(r, "recovery_code", SH_FIELD_CODE_MAX, &c.recovery_code)))
        return rc;
    rc = sh_account_change_password(&sh_api_app(r)->auth, &r->principal, &c, &retry);
    if (rc == SH_ERR_REAUTH)
        return sh_req_fail(r, rc, "two-factor login is on: send 'code' or 'recovery_code' too");
    if (rc != SH_OK)
        return sh_api_limited(r, rc, retry);
    return sh_req_reply(r, 204, NULL);
}

/* Releases every device the caller owns (new generation: shares and stream
 * tickets through this owner end, P5) before the account goes. */
static sh_status release_owned_devices(sh_req *r)
{
    sh_device_list l = {0};
    sh_status rc = sh_device_list_for(&sh_api_app(r)->auth, &r->principal, &l);

    for (size_t i = 0; rc == SH_OK && i < l.count; i++) {
        if (l.items[i].role == SH_ROLE_OWNER)
            rc = sh_device_release(&sh_api_app(r)->auth, &r->principal, &l.items[i].id);
    }
    sh_device_list_clear(&l);
    return rc;
}

sh_status sh_api_me_delete(sh_req *r)
{
    sh_status rc = release_owned_devices(r);

    if (rc != SH_OK)
        return rc;
    rc = sh_account_delete(&sh_api_app(r)->auth, &r->principal);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_TOKEN;
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}

sh_status sh_api_me_email(sh_req *r)
{
    const char *email;
    sh_status rc;

    if ((rc = sh_req_string(r, "email", SH_FIELD_EMAIL_MAX, &email, NULL)))
        return rc;
    rc = sh_email_change(&sh_api_app(r)->auth, &r->principal, email);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_TOKEN;
    if (rc != SH_OK)
        return rc;
    return reply_me(r);
}
