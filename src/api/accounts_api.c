/* accounts_api.c - POST /v1/accounts and the /v1/me routes. */
#include "api/api.h"

#include "auth/accounts.h"

static json_t *account_json(const sh_account_view *v)
{
    return json_pack("{s:o, s:s, s:s?, s:o}", "id", sh_api_id(&v->id), "email", v->email,
                     "display_name", v->display_name, "created_at", sh_api_time(v->created_at));
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
    sh_status rc = sh_account_get(&sh_api_app(r)->auth, &r->principal.user, &v);

    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_TOKEN; /* the account is gone; so is the token */
    if (rc != SH_OK)
        return rc;
    sh_req_reply(r, 200, account_json(&v));
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
    const char *cur, *next;
    size_t cur_len, next_len;
    sh_status rc;

    if ((rc = sh_req_string(r, "current_password", SH_FIELD_PASSWORD_MAX, &cur, &cur_len)) ||
        (rc = sh_req_string(r, "new_password", SH_FIELD_PASSWORD_MAX, &next, &next_len)))
        return rc;
    rc = sh_account_change_password(&sh_api_app(r)->auth, &r->principal, cur, cur_len, next,
                                    next_len);
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}
