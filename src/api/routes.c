/*
 * routes.c - the public API, as data. Who may call what is decided here:
 * the auth column, whether a route blocks (HASH: Argon2id; WRITE: a
 * durable commit) and so runs off the event threads, which scopes an OAuth
 * partner token needs on the route (7th column; 0: partners never; health,
 * network details, sessions and the account are 0), and the per-address
 * limit it is counted against (8th column; auth/limits.h). Routes that change
 * the password or e-mail, turn two-factor off, delete the account, release a
 * device or unlink an integration call the step-up check (auth/stepup.h) in
 * their handler: a recent login, or the password (and code) in the body.
 */
#include "api/api.h"
#include "auth/limits.h"
#include "oauth/scopes.h"

#define B SH_ROUTE_BODY
#define H SH_ROUTE_HASH
#define W SH_ROUTE_WRITE
#define O SH_ROUTE_BODY_OPT
#define F SH_ROUTE_FORM
#define OA SH_ROUTE_OAUTH
#define HT SH_ROUTE_HTML
#define READ SH_SCOPE_DEVICES_READ
#define CONTROL SH_SCOPE_DEVICES_CONTROL
#define STREAM SH_SCOPE_CAMERA_STREAM

const struct sh_route sh_api_routes[] = {
    {"GET", "/healthz", sh_api_healthz, SH_AUTH_NONE, SH_ROUTE_NOSTORE, 0},
    {"GET", "/readyz", sh_api_readyz, SH_AUTH_NONE, 0, 0},
    {"GET", "/.well-known/security.txt", sh_api_security_txt, SH_AUTH_NONE, SH_ROUTE_NOSTORE, 0},
    {"POST", "/v1/accounts", sh_api_accounts_create, SH_AUTH_NONE, B | H, 0, 0, SH_LIMIT_REGISTER},
    {"POST", "/v1/sessions", sh_api_sessions_create, SH_AUTH_NONE, B | H, 0, 0, SH_LIMIT_LOGIN},
    {"POST", "/v1/sessions/mfa", sh_api_sessions_mfa, SH_AUTH_NONE, B | W, 0, 0, SH_LIMIT_CODE},
    {"POST", "/v1/sessions/refresh", sh_api_sessions_refresh, SH_AUTH_NONE, B | W, 0},
    {"GET", "/v1/sessions", sh_api_sessions_list, SH_AUTH_USER, 0, 0},
    {"DELETE", "/v1/sessions", sh_api_sessions_delete_others, SH_AUTH_USER, W, 0},
    {"DELETE", "/v1/sessions/{id}", sh_api_sessions_delete, SH_AUTH_USER, W, 0},
    {"POST", "/v1/logout", sh_api_logout, SH_AUTH_USER, W, 0},
    {"GET", "/v1/me", sh_api_me_get, SH_AUTH_USER, SH_ROUTE_CACHED, 0},
    {"PATCH", "/v1/me", sh_api_me_patch, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/me", sh_api_me_delete, SH_AUTH_USER, O | H, 0},
    {"POST", "/v1/me/password", sh_api_me_password, SH_AUTH_USER, B | H, 0},
    {"POST", "/v1/me/email", sh_api_me_email, SH_AUTH_USER, B | H, 0},
    {"POST", "/v1/me/mfa/totp", sh_api_mfa_enrol, SH_AUTH_USER, W, 0},
    {"POST", "/v1/me/mfa/totp/confirm", sh_api_mfa_confirm, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/me/mfa/totp", sh_api_mfa_disable, SH_AUTH_USER, B | H, 0},
    {"POST", "/v1/email/verify", sh_api_email_verify, SH_AUTH_NONE, B | W, 0, 0, SH_LIMIT_VERIFY},
    {"POST", "/v1/password-reset", sh_api_password_reset, SH_AUTH_NONE, B | W, 0, 0,
     SH_LIMIT_RESET},
    {"POST", "/v1/password-reset/confirm", sh_api_password_reset_confirm, SH_AUTH_NONE, B | H, 0, 0,
     SH_LIMIT_RESET},
    /* devices, user side: every query is scoped by the caller's id */
    {"POST", "/v1/devices/claim", sh_api_devices_claim, SH_AUTH_USER, B | W, 0, 0, SH_LIMIT_CLAIM},
    {"GET", "/v1/devices", sh_api_devices_list, SH_AUTH_USER, 0, 0, READ},
    {"GET", "/v1/devices/{id}", sh_api_devices_get, SH_AUTH_USER, 0, 0, READ},
    {"PATCH", "/v1/devices/{id}", sh_api_devices_patch, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/devices/{id}", sh_api_devices_release, SH_AUTH_USER, O | H, 0},
    {"PUT", "/v1/devices/{id}/state", sh_api_devices_state, SH_AUTH_USER, B | W, 0, CONTROL},
    {"GET", "/v1/devices/{id}/shares", sh_api_shares_list, SH_AUTH_USER, 0, 0},
    {"POST", "/v1/devices/{id}/shares", sh_api_shares_create, SH_AUTH_USER, B | W, 0},
    {"DELETE", "/v1/devices/{id}/shares/{share}", sh_api_shares_delete, SH_AUTH_USER, W, 0},
    {"POST", "/v1/devices/{id}/stream", sh_api_devices_stream, SH_AUTH_USER, 0, 0, STREAM},
    /* the media relay */
    {"POST", "/v1/streams/verify", sh_api_streams_verify, SH_AUTH_RELAY, B, 0},
    /* devices, device side (device token) */
    {"POST", "/v1/device/heartbeat", sh_api_device_heartbeat, SH_AUTH_DEVICE, B | W, 0},
    {"POST", "/v1/device/reset", sh_api_device_reset, SH_AUTH_DEVICE, W, 0},
    /* account linking: the authorization server (RFC 6749, 7636, 7009, 7662, 8414) */
    {"GET", "/oauth/authorize", sh_api_oauth_authorize, SH_AUTH_NONE, F | HT, 0},
    {"POST", "/oauth/authorize", sh_api_oauth_consent, SH_AUTH_NONE, F | HT | W, 0},
    {"POST", "/oauth/authorize/login", sh_api_oauth_login, SH_AUTH_NONE, F | HT | H, 0, 0,
     SH_LIMIT_LOGIN},
    {"POST", "/oauth/authorize/mfa", sh_api_oauth_mfa, SH_AUTH_NONE, F | HT | W, 0, 0,
     SH_LIMIT_CODE},
    {"POST", "/oauth/token", sh_api_oauth_token, SH_AUTH_NONE, F | OA | W, 0},
    {"POST", "/oauth/revoke", sh_api_oauth_revoke, SH_AUTH_NONE, F | OA | W, 0},
    {"POST", "/oauth/introspect", sh_api_oauth_introspect, SH_AUTH_NONE, F | OA, 0},
    {"GET", "/.well-known/oauth-authorization-server", sh_api_oauth_metadata, SH_AUTH_NONE,
     SH_ROUTE_NOSTORE, 0},
    /* a user's links, app tokens only */
    {"GET", "/v1/me/integrations", sh_api_integrations_list, SH_AUTH_USER, 0, 0},
    {"DELETE", "/v1/me/integrations/{client}", sh_api_integrations_delete, SH_AUTH_USER, O | H, 0},
    /* IFTTT service API */
    {"GET", "/ifttt/v1/user/info", sh_api_ifttt_user_info, SH_AUTH_PARTNER, 0, 0, SH_SCOPE_ALL},
    {"GET", "/ifttt/v1/status", sh_api_ifttt_status, SH_AUTH_NONE, SH_ROUTE_SERVICE_KEY, 0},
};

const size_t sh_api_routes_count = sizeof(sh_api_routes) / sizeof(sh_api_routes[0]);
