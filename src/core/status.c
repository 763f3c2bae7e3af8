/*
 * status.c - the single mapping from sh_status to HTTP status, problem code
 * and title. Clients rely on the codes: never rename one.
 */
#include "core/status.h"

#include <stddef.h>

struct status_info {
    int http;
    const char *code;
    const char *title;
};

static const struct status_info infos[SH_ERR__COUNT] = {
    [SH_OK] = {200, "ok", "OK"},
    [SH_PENDING] = {500, "internal_error", "Internal error"},
    [SH_WOULDBLOCK] = {500, "internal_error", "Internal error"},
    [SH_ERR_NOMEM] = {503, "unavailable", "Service unavailable"},
    [SH_ERR_INTERNAL] = {500, "internal_error", "Internal error"},
    [SH_ERR_IO] = {500, "internal_error", "Internal error"},
    [SH_ERR_STORE] = {503, "store_unavailable", "Storage unavailable"},
    [SH_ERR_RETRY] = {503, "store_unavailable", "Storage busy, try again"},
    [SH_ERR_BUSY] = {429, "rate_limited", "Too many requests"},
    [SH_ERR_UNAVAILABLE] = {503, "unavailable", "Service unavailable"},
    [SH_ERR_INVALID_JSON] = {400, "invalid_json", "Body is not valid JSON"},
    [SH_ERR_INVALID_REQUEST] = {400, "invalid_request", "Invalid request"},
    [SH_ERR_UNSUPPORTED_MEDIA] = {415, "unsupported_media_type", "Body must be application/json"},
    [SH_ERR_TOO_LARGE] = {413, "payload_too_large", "Body too large"},
    [SH_ERR_INVALID_EMAIL] = {400, "invalid_email", "Invalid e-mail address"},
    [SH_ERR_WEAK_PASSWORD] = {400, "weak_password", "Password too weak"},
    [SH_ERR_EMAIL_TAKEN] = {409, "email_taken", "E-mail already registered"},
    [SH_ERR_INVALID_CREDENTIALS] = {401, "invalid_credentials", "Invalid e-mail or password"},
    [SH_ERR_UNAUTHENTICATED] = {401, "unauthenticated", "Authentication required"},
    [SH_ERR_INVALID_TOKEN] = {401, "invalid_token", "Token invalid, expired or revoked"},
    [SH_ERR_FORBIDDEN] = {403, "forbidden", "Forbidden"},
    [SH_ERR_NOT_FOUND] = {404, "not_found", "Not found"},
    [SH_ERR_NO_ROUTE] = {404, "not_found", "Not found"},
    [SH_ERR_METHOD] = {405, "method_not_allowed", "Method not allowed"},
    [SH_ERR_OPTIONS] = {204, "ok", "No content"},
    [SH_ERR_NOT_READY] = {503, "not_ready", "Not ready"},
    [SH_ERR_CONFLICT] = {409, "conflict", "Conflict"},
    [SH_ERR_REAUTH] = {403, "reauthentication_required", "Confirm your password to continue"},
    [SH_ERR_RATE_LIMITED] = {429, "rate_limited", "Too many requests"},
    [SH_ERR_INVALID_CODE] = {400, "invalid_code", "Invalid or already used code"},
    [SH_ERR_UNKNOWN_ACCOUNT] = {404, "unknown_account", "No account with that e-mail"},
    [SH_ERR_INVALID_CLIENT] = {401, "invalid_client", "Client authentication failed"},
    [SH_ERR_INVALID_GRANT] = {400, "invalid_grant", "Invalid, expired or revoked grant"},
    [SH_ERR_UNAUTHORIZED_CLIENT] = {400, "unauthorized_client", "Client not allowed to do this"},
    [SH_ERR_UNSUPPORTED_GRANT] = {400, "unsupported_grant_type", "Unsupported grant type"},
    [SH_ERR_INVALID_SCOPE] = {400, "invalid_scope", "Invalid scope"},
    [SH_ERR_INSUFFICIENT_SCOPE] = {403, "insufficient_scope", "Token lacks the scope needed"},
};

static const struct status_info *info(sh_status st)
{
    if ((unsigned)st >= SH_ERR__COUNT || infos[st].code == NULL)
        return &infos[SH_ERR_INTERNAL];
    return &infos[st];
}

int sh_status_http(sh_status st) { return info(st)->http; }
const char *sh_status_code(sh_status st) { return info(st)->code; }
const char *sh_status_title(sh_status st) { return info(st)->title; }

const char *sh_status_oauth(sh_status st)
{
    int http = sh_status_http(st);

    if (st >= SH_ERR_INVALID_CLIENT && st < SH_ERR__COUNT)
        return infos[st].code;
    if (http == 401)
        return "invalid_client";
    if (http == 429 || http == 503)
        return "temporarily_unavailable";
    if (http >= 400 && http < 500)
        return "invalid_request";
    return "server_error";
}
