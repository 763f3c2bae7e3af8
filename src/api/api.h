/*
 * api.h - handlers of the public API (one file per area under src/api) and
 * the small JSON helpers they share.
 */
#ifndef SH_API_H
#define SH_API_H

#include <jansson.h>

#include "api/app.h"
#include "devices/devices.h"
#include "http/request.h"

/* Field length limits (bytes) for request bodies. */
#define SH_FIELD_EMAIL_MAX 1024
/* Passwords: the policy (10..256 characters) decides, so that an overlong
 * one is a weak_password, not a malformed request. */
#define SH_FIELD_PASSWORD_MAX SH_BODY_LIMIT_DEFAULT
#define SH_FIELD_NAME_MAX 512
#define SH_FIELD_TOKEN_MAX 256
#define SH_FIELD_CODE_MAX 64

static inline sh_app *sh_api_app(sh_req *r) { return (sh_app *)r->app; }

/* JSON string of a time in RFC 3339 (UTC, seconds). */
json_t *sh_api_time(int64_t us);
/* {device_id, device_token, claim_code}, as provisioning and reset show. */
json_t *sh_api_device_secrets_json(const sh_device_secrets *s);
/* JSON string of an id in hex. */
json_t *sh_api_id(const sh_id *id);

/* ops_api.c: /healthz, /readyz, /.well-known/security.txt */
sh_status sh_api_healthz(sh_req *r);
sh_status sh_api_readyz(sh_req *r);
sh_status sh_api_security_txt(sh_req *r);
sh_status sh_api_accounts_create(sh_req *r);
sh_status sh_api_sessions_create(sh_req *r);
/* Counts a login's or a second factor's outcome (metrics/metrics.h). */
void sh_api_count_outcome(void (*count)(enum sh_metrics_outcome), sh_status rc);
sh_status sh_api_sessions_refresh(sh_req *r);
sh_status sh_api_sessions_list(sh_req *r);
sh_status sh_api_sessions_delete(sh_req *r);
sh_status sh_api_sessions_delete_others(sh_req *r);
sh_status sh_api_logout(sh_req *r);
sh_status sh_api_me_get(sh_req *r);
sh_status sh_api_me_patch(sh_req *r);
sh_status sh_api_me_password(sh_req *r);
sh_status sh_api_me_delete(sh_req *r);
sh_status sh_api_me_email(sh_req *r);
sh_status sh_api_sessions_mfa(sh_req *r);
sh_status sh_api_mfa_enrol(sh_req *r);
sh_status sh_api_mfa_confirm(sh_req *r);
sh_status sh_api_mfa_disable(sh_req *r);
sh_status sh_api_email_verify(sh_req *r);
sh_status sh_api_password_reset(sh_req *r);
sh_status sh_api_password_reset_confirm(sh_req *r);

/* Replies 200 with a token pair and wipes it. */
struct sh_token_pair;
sh_status sh_api_reply_tokens(sh_req *r, struct sh_token_pair *t);
/* Maps a domain status with retry-after to the request (429 Retry-After). */
sh_status sh_api_limited(sh_req *r, sh_status rc, int retry_after_s);
sh_status sh_api_devices_claim(sh_req *r);
sh_status sh_api_devices_list(sh_req *r);
sh_status sh_api_devices_get(sh_req *r);
sh_status sh_api_devices_patch(sh_req *r);
sh_status sh_api_devices_release(sh_req *r);
sh_status sh_api_devices_state(sh_req *r);
sh_status sh_api_shares_create(sh_req *r);
sh_status sh_api_shares_list(sh_req *r);
sh_status sh_api_shares_delete(sh_req *r);
sh_status sh_api_devices_stream(sh_req *r);
sh_status sh_api_streams_verify(sh_req *r);
sh_status sh_api_device_heartbeat(sh_req *r);
sh_status sh_api_device_reset(sh_req *r);
/* account linking (oauth_authorize_api.c, oauth_api.c, integrations_api.c) */
sh_status sh_api_oauth_authorize(sh_req *r);
sh_status sh_api_oauth_login(sh_req *r);
sh_status sh_api_oauth_mfa(sh_req *r);
sh_status sh_api_oauth_consent(sh_req *r);
sh_status sh_api_oauth_token(sh_req *r);
sh_status sh_api_oauth_revoke(sh_req *r);
sh_status sh_api_oauth_introspect(sh_req *r);
sh_status sh_api_oauth_metadata(sh_req *r);
sh_status sh_api_integrations_list(sh_req *r);
sh_status sh_api_integrations_delete(sh_req *r);
sh_status sh_api_ifttt_user_info(sh_req *r);
sh_status sh_api_ifttt_status(sh_req *r);

#endif
