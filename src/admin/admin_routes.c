/*
 * admin_routes.c - the admin API, served only on the admin listener
 * (--admin-listen, loopback by default) and only to the admin token, or,
 * for GET /metrics, a scrape token.
 */
#include "admin/admin.h"

#include <string.h>

#include "api/api.h"
#include "auth/revocation.h"
#include "core/clock.h"
#include "core/log.h"
#include "devices/streams.h"

#include <sodium.h>

/* A not_before further ahead than this would lock users out (P4). */
#define FUTURE_SKEW_US (5 * SH_USEC)

json_t *sh_admin_rule_json(const sh_rule_rec *r)
{
    return json_pack("{s:o, s:s, s:s?, s:o, s:o}", "id", sh_api_id(&r->id), "scope",
                     sh_revocation_scope_name(r->scope), "value", r->value[0] ? r->value : NULL,
                     "not_before", sh_api_time(r->not_before), "created_at",
                     sh_api_time(r->created_at));
}

static sh_status revocations_create(sh_req *r)
{
    const char *scope_name, *value, *nb_text;
    int64_t not_before = 0;
    sh_rule_rec rule;
    sh_id_hex hex;
    int scope;
    sh_status rc;

    if ((rc = sh_req_string(r, "scope", 16, &scope_name, NULL)) ||
        (rc = sh_req_string_opt(r, "value", 64, &value)) ||
        (rc = sh_req_string_opt(r, "not_before", 64, &nb_text)))
        return rc;
    scope = sh_revocation_scope_from_name(scope_name);
    if (scope == 0)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "field 'scope' must be one of all, class, user, session, client, "
                           "integration, grant");
    if (nb_text != NULL && sh_clock_parse(nb_text, &not_before) != 0)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST, "field 'not_before' must be RFC 3339");
    if (nb_text != NULL && not_before > sh_clock_now_us() + FUTURE_SKEW_US)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST, "field 'not_before' is in the future");
    if (nb_text != NULL && not_before <= 0)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST, "field 'not_before' is before 1970");
    rc = sh_revocation_add(sh_api_app(r)->store, sh_api_app(r)->rev, scope, value, not_before,
                           &rule);
    if (rc == SH_ERR_INVALID_REQUEST)
        return sh_req_fail(r, rc,
                           "field 'value' must be a client class (class), a 32-hex id "
                           "(user, session, client, grant) or absent (all, integration)");
    if (rc != SH_OK)
        return rc;
    sh_id_to_hex(&rule.id, &hex);
    sh_log_event(SH_LOG_WARN, "revocation_rule_added", "rule_id", hex.s);
    return sh_req_reply(r, 201, sh_admin_rule_json(&rule));
}

static void collect_rule(void *ctx, const sh_rule_rec *rule)
{
    json_array_append_new(ctx, sh_admin_rule_json(rule));
}

static sh_status revocations_list(sh_req *r)
{
    json_t *arr = json_array();
    sh_rule_cursor from_start = {0, 0};
    sh_status rc;

    if (arr == NULL)
        return SH_ERR_NOMEM;
    rc = sh_store_do(sh_api_app(r)->store, core, rules_feed, &from_start, collect_rule, arr);
    if (rc != SH_OK) {
        json_decref(arr);
        return rc;
    }
    return sh_req_reply(r, 200, json_pack("{s:o}", "rules", arr));
}

#define PROVISION_MAX 1000

static sh_status devices_provision(sh_req *r)
{
    const char *type_name, *model;
    json_int_t count = 1;
    json_t *cv = json_object_get(r->body, "count"), *arr;
    sh_device_secrets sec;
    int type;
    sh_status rc, end;
    sh_store *tx;

    if ((rc = sh_req_string(r, "type", 16, &type_name, NULL)) ||
        (rc = sh_req_string(r, "model", SH_STORE_MODEL_MAX, &model, NULL)))
        return rc;
    type = sh_device_type_from_name(type_name);
    if (type == 0)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "field 'type' must be camera, plug, bulb, sensor or scale");
    if (cv != NULL) {
        if (!json_is_integer(cv) || json_integer_value(cv) < 1 ||
            json_integer_value(cv) > PROVISION_MAX)
            return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                               "field 'count' must be an integer from 1 to 1000");
        count = json_integer_value(cv);
    }
    if ((arr = json_array()) == NULL)
        return SH_ERR_NOMEM;
    /* all or nothing: secrets of devices that were not answered are lost */
    if ((rc = sh_store_tx_begin(sh_api_app(r)->store, &tx)) != SH_OK) {
        json_decref(arr);
        return rc;
    }
    for (json_int_t i = 0; rc == SH_OK && i < count; i++) {
        rc = sh_device_provision(&sh_api_app(r)->auth, type, model, &sec);
        if (rc == SH_OK)
            json_array_append_new(arr, sh_api_device_secrets_json(&sec));
        sodium_memzero(&sec, sizeof(sec));
    }
    end = sh_store_tx_end(tx, rc);
    if (rc == SH_OK)
        rc = end;
    if (rc != SH_OK) {
        json_decref(arr);
        return rc == SH_ERR_INVALID_REQUEST
                   ? sh_req_fail(r, rc, "field 'model' must be 1 to 64 characters")
                   : rc;
    }
    sh_log_event(SH_LOG_INFO, "devices_provisioned", NULL, NULL);
    return sh_req_reply(r, 201, json_pack("{s:o}", "devices", arr));
}

static sh_status relays_create(sh_req *r)
{
    char token[SH_TOKEN_MAX];
    sh_id id;
    sh_status rc = sh_relay_create(&sh_api_app(r)->auth, &id, token);

    if (rc != SH_OK)
        return rc;
    sh_req_reply(r, 201, json_pack("{s:o, s:s}", "relay_id", sh_api_id(&id), "relay_token", token));
    sodium_memzero(token, sizeof(token));
    return SH_OK;
}

/* The admin listener's routes. .roles names the operator roles that may
 * call each one (http/request.h); the admin token holds them all. */
const struct sh_route sh_admin_routes[] = {
    {.method = "GET", .path = "/healthz", .handler = sh_api_healthz, .pool = SH_POOL_NOSTORE},
    {.method = "GET", .path = "/readyz", .handler = sh_api_readyz},
    {.method = "GET",
     .path = "/metrics",
     .handler = sh_admin_metrics,
     .auth = SH_AUTH_ADMIN,
     .roles = SH_ADMIN_VIEWER | SH_ADMIN_SCRAPE},
    {.method = "POST",
     .path = "/admin/v1/revocations",
     .handler = revocations_create,
     .auth = SH_AUTH_ADMIN,
     .body = SH_BODY_JSON,
     .pool = SH_POOL_WRITE,
     .roles = SH_ADMIN_SECURITY},
    {.method = "GET",
     .path = "/admin/v1/revocations",
     .handler = revocations_list,
     .auth = SH_AUTH_ADMIN,
     .roles = SH_ADMIN_SECURITY},
    {.method = "POST",
     .path = "/admin/v1/devices",
     .handler = devices_provision,
     .auth = SH_AUTH_ADMIN,
     .body = SH_BODY_JSON,
     .pool = SH_POOL_WRITE,
     .roles = SH_ADMIN_SECURITY},
    {.method = "POST",
     .path = "/admin/v1/relays",
     .handler = relays_create,
     .auth = SH_AUTH_ADMIN,
     .pool = SH_POOL_WRITE,
     .roles = SH_ADMIN_SECURITY},
    {.method = "POST",
     .path = "/admin/v1/oauth/clients",
     .handler = sh_admin_oauth_clients_create,
     .auth = SH_AUTH_ADMIN,
     .body = SH_BODY_JSON,
     .pool = SH_POOL_WRITE,
     .roles = SH_ADMIN_SECURITY},
    {.method = "GET",
     .path = "/admin/v1/oauth/clients",
     .handler = sh_admin_oauth_clients_list,
     .auth = SH_AUTH_ADMIN,
     .roles = SH_ADMIN_SECURITY},
    {.method = "POST",
     .path = "/admin/v1/oauth/clients/{id}/secret",
     .handler = sh_admin_oauth_client_rotate,
     .auth = SH_AUTH_ADMIN,
     .pool = SH_POOL_WRITE,
     .roles = SH_ADMIN_SECURITY},
    {.method = "POST",
     .path = "/admin/v1/oauth/clients/{id}/disable",
     .handler = sh_admin_oauth_client_disable,
     .auth = SH_AUTH_ADMIN,
     .pool = SH_POOL_WRITE,
     .roles = SH_ADMIN_SECURITY},
};

const size_t sh_admin_routes_count = sizeof(sh_admin_routes) / sizeof(sh_admin_routes[0]);
