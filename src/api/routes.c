/*
 * routes.c - the public API, as data. Who may call what is decided here:
 * the auth column, whether a route blocks (HASH: Argon2id; WRITE: a
 * durable commit) and so runs off the event threads, and the per-address
 * limit it is counted against (last column; auth/limits.h). Routes that
 * change the password or e-mail, turn two-factor off or delete the account
 * call the step-up check (auth/stepup.h) in their handler.
 */
#include "api/api.h"
#include "auth/limits.h"

#define B SH_ROUTE_BODY
#define H SH_ROUTE_HASH
#define W SH_ROUTE_WRITE
#define O SH_ROUTE_BODY_OPT

const struct sh_route sh_api_routes[] = {
    {"GET", "/healthz", sh_api_healthz, SH_AUTH_NONE, 0, 0},
    {"POST", "/v1/accounts", sh_api_accounts_create, SH_AUTH_NONE, B | H, 0, SH_LIMIT_REGISTER},
    {"POST", "/v1/sessions", sh_api_sessions_create, SH_AUTH_NONE, B | H, 0, SH_LIMIT_LOGIN},
    {"POST", "/v1/sessions/mfa", sh_api_sessions_mfa, SH_AUTH_NONE, B | W, 0, SH_LIMIT_CODE},
    {"POST", "/v1/sessions/refresh", sh_api_sessions_refresh, SH_AUTH_NONE, B | W, 0},
    {"GET", "/v1/sessions", sh_api_sessions_list, SH_AUTH_USER, 0, 0},
    {"DELETE", "/v1/sessions", sh_api_sessions_delete_others, SH_AUTH_USER, W, 0},
    {"DELETE", "/v1/sessions/{id}", sh_api_sessions_delete, SH_AUTH_USER, W, 0},
    {"POST", "/v1/logout", sh_api_logout, SH_AUTH_USER, W, 0},
    {"GET", "/v1/me", sh_api_me_get, SH_AUTH_USER, 0, 0},
    {"PATCH", "/v1/me", sh_api_me_patch, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/me", sh_api_me_delete, SH_AUTH_USER, O | H, 0},
    {"POST", "/v1/me/password", sh_api_me_password, SH_AUTH_USER, B | H, 0},
    {"POST", "/v1/me/email", sh_api_me_email, SH_AUTH_USER, B | H, 0},
    {"POST", "/v1/me/mfa/totp", sh_api_mfa_enrol, SH_AUTH_USER, W, 0},
    {"POST", "/v1/me/mfa/totp/confirm", sh_api_mfa_confirm, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/me/mfa/totp", sh_api_mfa_disable, SH_AUTH_USER, B | H, 0},
    {"POST", "/v1/email/verify", sh_api_email_verify, SH_AUTH_NONE, B | W, 0, SH_LIMIT_VERIFY},
    {"POST", "/v1/password-reset", sh_api_password_reset, SH_AUTH_NONE, B | W, 0, SH_LIMIT_RESET},
    {"POST", "/v1/password-reset/confirm", sh_api_password_reset_confirm, SH_AUTH_NONE, B | H, 0,
     SH_LIMIT_RESET},
    /* devices, user side: every query is scoped by the caller's id */
    {"POST", "/v1/devices/claim", sh_api_devices_claim, SH_AUTH_USER, B | W, 0, SH_LIMIT_CLAIM},
    {"GET", "/v1/devices", sh_api_devices_list, SH_AUTH_USER, 0, 0},
    {"GET", "/v1/devices/{id}", sh_api_devices_get, SH_AUTH_USER, 0, 0},
    {"PATCH", "/v1/devices/{id}", sh_api_devices_patch, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/devices/{id}", sh_api_devices_release, SH_AUTH_USER, W, 0},
    {"PUT", "/v1/devices/{id}/state", sh_api_devices_state, SH_AUTH_USER, B | W, 0},
    {"GET", "/v1/devices/{id}/shares", sh_api_shares_list, SH_AUTH_USER, 0, 0},
    {"POST", "/v1/devices/{id}/shares", sh_api_shares_create, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/devices/{id}/shares/{share}", sh_api_shares_delete, SH_AUTH_USER, W, 0},
    {"POST", "/v1/devices/{id}/stream", sh_api_devices_stream, SH_AUTH_USER, 0, 0},
    /* the media relay */
    {"POST", "/v1/streams/verify", sh_api_streams_verify, SH_AUTH_RELAY, B, 0},
    /* devices, device side (device token) */
    {"POST", "/v1/device/heartbeat", sh_api_device_heartbeat, SH_AUTH_DEVICE, B | W, 0},
    {"POST", "/v1/device/reset", sh_api_device_reset, SH_AUTH_DEVICE, W, 0},
};

const size_t sh_api_routes_count = sizeof(sh_api_routes) / sizeof(sh_api_routes[0]);
