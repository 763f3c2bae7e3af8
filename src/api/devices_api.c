/*
 * devices_api.c - /v1/devices (user side), /v1/device (device side) and
 * /v1/streams/verify (media relay).
 */
#include "api/api.h"

#include <stdio.h>

#include <sodium.h>

#include "devices/shares.h"
#include "devices/streams.h"

#define SH_FIELD_CODE_MAX 64
#define SH_FIELD_NET_MAX 64

static json_t *device_json(const sh_device_view *v)
{
    json_t *j =
        json_pack("{s:o, s:s?, s:s, s:s, s:s?, s:o?, s:b, s:s, s:O}", "id", sh_api_id(&v->id),
                  "name", v->name, "type", sh_device_type_name(v->type), "model", v->model,
                  "firmware_version", v->firmware[0] ? v->firmware : NULL, "last_seen_at",
                  v->last_seen_at ? sh_api_time(v->last_seen_at) : NULL, "online", v->online,
                  "role", sh_device_role_name(v->role), "desired_state", v->desired_state);

    if (j != NULL && v->has_network)
        json_object_set(j, "network", v->network ? v->network : json_null());
    return j;
}

static sh_status reply_device(sh_req *r, int status, sh_device_view *v)
{
    sh_req_reply(r, status, device_json(v));
    sh_device_view_clear(v);
    return r->reply ? SH_OK : SH_ERR_NOMEM;
}

sh_status sh_api_devices_claim(sh_req *r)
{
    const char *code, *name;
    size_t code_len;
    sh_device_view v;
    int retry = 0;
    sh_status rc;

    if ((rc = sh_req_string(r, "claim_code", SH_FIELD_CODE_MAX, &code, &code_len)) ||
        (rc = sh_req_string(r, "name", SH_FIELD_NAME_MAX, &name, NULL)))
        return rc;
    rc = sh_device_claim(&sh_api_app(r)->auth, &r->principal, code, code_len, name, &v, &retry);
    if (rc == SH_ERR_RATE_LIMITED)
        return sh_api_limited(r, rc, retry);
    if (rc == SH_ERR_INVALID_REQUEST)
        return sh_req_fail(r, rc, "field 'name' must be 1 to 128 printable characters");
    if (rc == SH_ERR_NOT_FOUND)
        return sh_req_fail(r, rc, "no claimable device has that code");
    if (rc != SH_OK)
        return rc;
    return reply_device(r, 201, &v);
}

sh_status sh_api_devices_list(sh_req *r)
{
    sh_device_list l = {0};
    json_t *arr;
    sh_status rc = sh_device_list_for(&sh_api_app(r)->auth, &r->principal, &l);

    if (rc != SH_OK)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < l.count; i++)
        json_array_append_new(arr, device_json(&l.items[i]));
    sh_device_list_clear(&l);
    if (arr == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, json_pack("{s:o}", "devices", arr));
}

sh_status sh_api_devices_get(sh_req *r)
{
    sh_device_view v;
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)))
        return rc;
    if ((rc = sh_device_get(&sh_api_app(r)->auth, &r->principal, &id, &v)) != SH_OK)
        return rc;
    return reply_device(r, 200, &v);
}

sh_status sh_api_devices_patch(sh_req *r)
{
    const char *name;
    sh_device_view v;
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)) ||
        (rc = sh_req_string(r, "name", SH_FIELD_NAME_MAX, &name, NULL)))
        return rc;
    rc = sh_device_rename(&sh_api_app(r)->auth, &r->principal, &id, name);
    if (rc == SH_ERR_INVALID_REQUEST)
        return sh_req_fail(r, rc, "field 'name' must be 1 to 128 printable characters");
    if (rc != SH_OK)
        return rc;
    if ((rc = sh_device_get(&sh_api_app(r)->auth, &r->principal, &id, &v)) != SH_OK)
        return rc;
    return reply_device(r, 200, &v);
}

sh_status sh_api_devices_release(sh_req *r)
{
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)) != SH_OK)
        return rc;
    if ((rc = sh_device_release(&sh_api_app(r)->auth, &r->principal, &id)) != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}

sh_status sh_api_devices_state(sh_req *r)
{
    json_t *result = NULL;
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)))
        return rc;
    rc = sh_device_set_state(&sh_api_app(r)->auth, &r->principal, &id, r->body, &result, r->detail,
                             sizeof(r->detail));
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 200, json_pack("{s:o}", "desired_state", result));
}

static json_t *share_json(const sh_share_view *s)
{
    return json_pack("{s:o, s:s, s:s, s:o}", "id", sh_api_id(&s->id), "email", s->email, "role",
                     sh_device_role_name(s->role), "created_at", sh_api_time(s->created_at));
}

sh_status sh_api_shares_create(sh_req *r)
{
    const char *email, *role_name;
    sh_share_view v;
    sh_id id;
    int role;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)) ||
        (rc = sh_req_string(r, "email", SH_FIELD_EMAIL_MAX, &email, NULL)) ||
        (rc = sh_req_string(r, "role", 16, &role_name, NULL)))
        return rc;
    role = sh_device_role_from_name(role_name);
    if (role == SH_ROLE_NONE)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "field 'role' must be \"viewer\" or \"controller\"");
    rc = sh_share_create(&sh_api_app(r)->auth, &r->principal, &id, email, role, &v);
    if (rc == SH_ERR_INVALID_REQUEST)
        return sh_req_fail(r, rc, "a device cannot be shared with its owner");
    if (rc == SH_ERR_CONFLICT)
        return sh_req_fail(r, rc, "the device is already shared with that account");
    if (rc != SH_OK)
        return rc;
    sh_req_reply(r, 201, share_json(&v));
    sh_share_view_clear(&v);
    return SH_OK;
}

sh_status sh_api_shares_list(sh_req *r)
{
    sh_share_list l = {0};
    json_t *arr;
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)))
        return rc;
    if ((rc = sh_share_list_for(&sh_api_app(r)->auth, &r->principal, &id, &l)) != SH_OK)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < l.count; i++)
        json_array_append_new(arr, share_json(&l.items[i]));
    sh_share_list_clear(&l);
    if (arr == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, json_pack("{s:o}", "shares", arr));
}

sh_status sh_api_shares_delete(sh_req *r)
{
    sh_id id, share;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)) || (rc = sh_req_param_id(r, 1, &share)))
        return rc;
    rc = sh_share_delete(&sh_api_app(r)->auth, &r->principal, &id, &share);
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}

sh_status sh_api_devices_stream(sh_req *r)
{
    char ticket[SH_TOKEN_MAX];
    int64_t expires_in = 0;
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)))
        return rc;
    rc = sh_stream_ticket(&sh_api_app(r)->auth, &r->principal, &id, ticket, &expires_in);
    if (rc == SH_ERR_INVALID_REQUEST)
        return sh_req_fail(r, rc, "only cameras stream");
    if (rc != SH_OK)
        return rc;
    sh_req_reply(r, 201,
                 json_pack("{s:s, s:I}", "ticket", ticket, "expires_in", (json_int_t)expires_in));
    sodium_memzero(ticket, sizeof(ticket));
    return SH_OK;
}

sh_status sh_api_streams_verify(sh_req *r)
{
    const char *ticket;
    size_t len;
    sh_stream_status st;
    sh_status rc;

    if ((rc = sh_req_string(r, "ticket", SH_FIELD_TOKEN_MAX, &ticket, &len)))
        return rc;
    if ((rc = sh_stream_verify(&sh_api_app(r)->auth, ticket, len, &st)) != SH_OK)
        return rc;
    if (!st.active)
        return sh_req_reply(r, 200, json_pack("{s:b}", "active", 0));
    return sh_req_reply(r, 200,
                        json_pack("{s:b, s:o, s:o, s:o}", "active", 1, "device_id",
                                  sh_api_id(&st.device), "user_id", sh_api_id(&st.user),
                                  "expires_at", sh_api_time(st.expires_at)));
}

/* ---- device side ------------------------------------------------------------ */

sh_status sh_api_device_heartbeat(sh_req *r)
{
    const char *fw, *ssid, *subnet, *ip;
    json_t *desired = NULL;
    sh_status rc;

    if ((rc = sh_req_string(r, "firmware_version", SH_STORE_FIRMWARE_MAX, &fw, NULL)) ||
        (rc = sh_req_string_opt(r, "wifi_ssid", SH_FIELD_NET_MAX, &ssid)) ||
        (rc = sh_req_string_opt(r, "subnet", SH_FIELD_NET_MAX, &subnet)) ||
        (rc = sh_req_string_opt(r, "local_ip", SH_FIELD_NET_MAX, &ip)))
        return rc;
    if ((rc = sh_device_heartbeat_check(fw, ssid, subnet, ip, r->detail, sizeof(r->detail))))
        return rc;
    rc = sh_device_heartbeat(&sh_api_app(r)->auth, &r->principal, fw, ssid, subnet, ip, &desired);
    if (rc != SH_OK)
        return rc;
    return sh_req_reply(r, 200, json_pack("{s:o}", "desired_state", desired));
}

json_t *sh_api_device_secrets_json(const sh_device_secrets *s)
{
    return json_pack("{s:o, s:s, s:s}", "device_id", sh_api_id(&s->device_id), "device_token",
                     s->device_token, "claim_code", s->claim_code);
}

sh_status sh_api_device_reset(sh_req *r)
{
    sh_device_secrets s;
    sh_status rc = sh_device_reset(&sh_api_app(r)->auth, &r->principal, &s);

    if (rc != SH_OK)
        return rc;
    sh_req_reply(r, 200, sh_api_device_secrets_json(&s));
    sodium_memzero(&s, sizeof(s));
    return SH_OK;
}
