/*
 * stepup.h - step-up authentication for sensitive actions.
 *
 * Changing the password or the e-mail, turning two-factor off, deleting the
 * account, releasing a device and unlinking an integration must not be
 * possible with nothing but a stolen access token. Such an action is allowed
 * when the caller's session was created (by a full login, with the second
 * factor for two-factor users) less than SH_STEPUP_FRESH_S seconds ago, or
 * when the request itself carries proof: "password", and for two-factor
 * users also "code" (6 digits) or "recovery_code". Otherwise the answer is
 * SH_ERR_REAUTH (403 reauthentication_required).
 *
 * Wrong proof costs the same per-account limits as a login (password) and
 * as a second factor (code), so step-up is no side door for guessing.
 */
#ifndef SH_STEPUP_H
#define SH_STEPUP_H

#include <jansson.h>

#include "auth/auth.h"
#include "core/status.h"

#define SH_STEPUP_FRESH_S 300

/* 1 if p's session was created within the step-up window. */
int sh_stepup_recent(const sh_auth *a, const sh_principal *p);
/* May the caller p do a sensitive action now? body (may be NULL) is the
 * request's JSON object; its optional string fields "password", "code" and
 * "recovery_code" are read. Returns SH_OK, SH_ERR_REAUTH (stale login and
 * missing or wrong proof), SH_ERR_RATE_LIMITED (*retry_after_s, may be NULL)
 * or a store error. Slow when a password is given (Argon2id): call it from a
 * route in the hash pool (SH_POOL_HASH). */
sh_status sh_stepup_check(const sh_auth *a, const sh_principal *p, const json_t *body,
                          int *retry_after_s);

/* Like sh_stepup_check, but proof is always required, however fresh the
 * login (turning two-factor off). */
sh_status sh_stepup_require_proof(const sh_auth *a, const sh_principal *p, const json_t *body,
                                  int *retry_after_s);

#endif
