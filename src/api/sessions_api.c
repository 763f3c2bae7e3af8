/* sessions_api.c - login, refresh, listing and ending app sessions. */
#include "api/api.h"

#include <sodium.h>

#include "auth/sessions.h"
#include "auth/token_class.h"

sh_status sh_api_reply_tokens(sh_req *r, sh_token_pair *t)
{
    sh_req_reply(r, 200,
                 json_pack("{s:s, s:s, s:s, s:I, s:o}", "access_token", t->access, "refresh_token",
                           t->refresh, "token_type", "Bearer", "expires_in",
                           (json_int_t)t->expires_in_s, "session_id", sh_api_id(&t->session)));
    sodium_memzero(t, sizeof(*t));
    return r->reply != NULL ? SH_OK : SH_ERR_NOMEM;
}

sh_status sh_api_sessions_create(sh_req *r)
{
    const char *client;
    sh_login_in in = {0};
    sh_login_out out;
    sh_status rc;

    if ((rc = sh_req_string(r, "email", SH_FIELD_EMAIL_MAX, &in.email, NULL)) ||
        (rc =
             sh_req_string(r, "password", SH_FIELD_PASSWORD_MAX, &in.password, &in.password_len)) ||
        (rc = sh_req_string(r, "client", 16, &client, NULL)) ||
        (rc = sh_req_string_opt(r, "device_name", SH_FIELD_NAME_MAX, &in.device_name)))
        return rc;
    in.token_class = sh_class_from_name(client);
    if (in.token_class == SH_CLASS_NONE)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "field 'client' must be one of android, ios, web, cli");
    rc = sh_session_login(&sh_api_app(r)->auth, &in, &out);
    sh_api_count_outcome(sh_metrics_login, rc);
    if (rc == SH_ERR_INVALID_REQUEST)
        return sh_req_fail(r, rc, "field 'device_name' must be 1 to 128 printable characters");
    if (rc != SH_OK)
        return sh_api_limited(r, rc, out.retry_after_s);
    if (!out.mfa_required)
        return sh_api_reply_tokens(r, &out.tokens);
    sh_req_reply(r, 200,
                 json_pack("{s:b, s:s, s:I, s:[s,s]}", "mfa_required", 1, "mfa_token",
                           out.mfa_token, "expires_in", (json_int_t)out.mfa_expires_in_s, "methods",
                           "totp", "recovery_code"));
    sodium_memzero(&out, sizeof(out));
    return r->reply != NULL ? SH_OK : SH_ERR_NOMEM;
}

sh_status sh_api_sessions_refresh(sh_req *r)
{
    const char *token;
    size_t len;
    sh_token_pair t;
    sh_status rc;

    if ((rc = sh_req_string(r, "refresh_token", SH_FIELD_TOKEN_MAX, &token, &len)))
        return rc;
    rc = sh_session_refresh(&sh_api_app(r)->auth, token, len, &t);
    if (rc != SH_OK)
        return rc;
    return sh_api_reply_tokens(r, &t);
}

static json_t *session_json(const sh_session_view *s)
{
    return json_pack("{s:o, s:s, s:s?, s:o, s:o, s:b}", "id", sh_api_id(&s->id), "client",
                     sh_class_name(s->token_class), "device_name", s->device_name, "created_at",
                     sh_api_time(s->created_at), "last_used_at", sh_api_time(s->last_used_at),
                     "current", s->current);
}

sh_status sh_api_sessions_list(sh_req *r)
{
    sh_session_list l = {0};
    json_t *arr;
    sh_status rc = sh_session_list_live(&sh_api_app(r)->auth, &r->principal, &l);

    if (rc != SH_OK)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < l.count; i++)
        json_array_append_new(arr, session_json(&l.items[i]));
    sh_session_list_clear(&l);
    if (arr == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, json_pack("{s:o}", "sessions", arr));
}

sh_status sh_api_sessions_delete(sh_req *r)
{
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)))
        return rc;
    rc = sh_session_end(&sh_api_app(r)->auth, &r->principal, &id);
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}

sh_status sh_api_sessions_delete_others(sh_req *r)
{
    sh_status rc = sh_session_end_others(&sh_api_app(r)->auth, &r->principal);

    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}

sh_status sh_api_logout(sh_req *r)
{
    sh_status rc = sh_session_end(&sh_api_app(r)->auth, &r->principal, &r->principal.session);

    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}
