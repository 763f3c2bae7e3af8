/*
 * devices_api.c - /v1/devices (user side), /v1/device (device side) and
 * /v1/streams/verify (media relay).
 */
#include "api/api.h"

#include <stdio.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "devices/shares.h"
#include "devices/streams.h"

#define SH_FIELD_CODE_MAX 64
#define SH_FIELD_NET_MAX 64

/* The largest device answer: a list of SH_DEVICES_MAX views, names and
 * network details included, fits many times over. */
#define DEVICE_TEXT_MAX ((size_t)4 << 20)

static void opt_str(sh_buf *b, const char *key, const char *v)
{
    sh_jw_key(b, key, 0);
    if (v != NULL)
        sh_jw_str(b, v);
    else
        sh_buf_puts(b, "null");
}

/* One device as the API shows it, written straight into b: a list of them
 * is the hottest answer that carries more than a few fields. */
static void device_write(sh_buf *b, const sh_device_view *v)
{
    char when[SH_RFC3339_MAX];
    sh_id_hex id;

    sh_id_to_hex(&v->id, &id);
    sh_buf_add(b, "{", 1);
    sh_jw_key(b, "id", 1);
    sh_jw_str(b, id.s);
    opt_str(b, "name", v->name);
    sh_jw_key(b, "type", 0);
    sh_jw_str(b, sh_device_type_name(v->type));
    sh_jw_key(b, "model", 0);
    sh_jw_str(b, v->model);
    opt_str(b, "firmware_version", v->firmware[0] ? v->firmware : NULL);
    if (v->last_seen_at)
        sh_clock_format(v->last_seen_at, when, sizeof(when));
    opt_str(b, "last_seen_at", v->last_seen_at ? when : NULL);
    sh_jw_key(b, "online", 0);
    sh_jw_bool(b, v->online);
    sh_jw_key(b, "role", 0);
    sh_jw_str(b, sh_device_role_name(v->role));
    sh_jw_key(b, "desired_state", 0);
    sh_jw_value(b, v->desired_state);
    if (v->has_network) {
        sh_jw_key(b, "network", 0);
        sh_jw_value(b, v->network);
    }
    sh_buf_add(b, "}", 1);
}

static sh_status reply_buf(sh_req *r, int status, sh_buf *b)
{
    size_t len = 0;
    char *text = sh_buf_take(b, &len);

    if (text == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply_text(r, status, "application/json", text, len);
}

static sh_status reply_device(sh_req *r, int status, sh_device_view *v)
{
    sh_buf b;

    sh_buf_init(&b, DEVICE_TEXT_MAX);
    device_write(&b, v);
    sh_device_view_clear(v);
    return reply_buf(r, status, &b);
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
    sh_buf b;
    sh_status rc = sh_device_list_for(&sh_api_app(r)->auth, &r->principal, &l);

    if (rc != SH_OK)
        return rc;
    sh_buf_init(&b, DEVICE_TEXT_MAX);
    sh_buf_puts(&b, "{\"devices\":[");
    for (size_t i = 0; i < l.count; i++) {
        if (i > 0)
            sh_buf_add(&b, ",", 1);
        device_write(&b, &l.items[i]);
    }
    sh_buf_puts(&b, "]}");
    sh_device_list_clear(&l);
    return reply_buf(r, 200, &b);
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
