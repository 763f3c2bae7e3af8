/*
 * integrations_api.c - what a user sees of their partner links, and the
 * two IFTTT service endpoints:
 *   GET    /v1/me/integrations
 *   DELETE /v1/me/integrations/{client_id}
 *   GET    /ifttt/v1/user/info   (partner token)
 *   GET    /ifttt/v1/status      (IFTTT-Service-Key header)
 */
#include "api/api.h"

#include <string.h>

#include "auth/accounts.h"
#include "oauth/clients.h"
#include "oauth/grants.h"
#include "oauth/scopes.h"

static sh_oauth *oauth(sh_req *r) { return &sh_api_app(r)->oauth; }

static json_t *scope_array(unsigned bits)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < sh_scope_count(); i++) {
        if (bits & sh_scope_bit(i))
            json_array_append_new(a, json_string(sh_scope_name(i)));
    }
    return a;
}

static json_t *integration_json(const sh_integration_view *v)
{
    json_t *devices = json_array();

    for (size_t i = 0; devices != NULL && i < v->ndevices; i++)
        json_array_append_new(devices, sh_api_id(&v->devices[i]));
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}", "client_id", sh_api_id(&v->client), "name",
                     v->name, "scopes", scope_array(v->scopes), "devices", devices, "linked_at",
                     sh_api_time(v->linked_at), "last_used_at", sh_api_time(v->last_used_at));
}

sh_status sh_api_integrations_list(sh_req *r)
{
    sh_integration_list l = {0};
    json_t *arr;
    sh_status rc = sh_oauth_integrations(oauth(r), &r->principal, &l);

    if (rc != SH_OK)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < l.count; i++)
        json_array_append_new(arr, integration_json(&l.items[i]));
    sh_integration_list_clear(&l);
    if (arr == NULL)
        return SH_ERR_NOMEM;
    return sh_req_reply(r, 200, json_pack("{s:o}", "integrations", arr));
}

sh_status sh_api_integrations_delete(sh_req *r)
{
    sh_id client;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &client)) != SH_OK)
        return rc;
    if ((rc = sh_oauth_unlink(oauth(r), &r->principal, &client)) != SH_OK)
        return rc;
    return sh_req_reply(r, 204, NULL);
}

sh_status sh_api_ifttt_user_info(sh_req *r)
{
    char sub[SH_OAUTH_SUBJECT_LEN + 1];
    sh_account_view v;
    json_t *j;
    sh_status rc = sh_account_get(oauth(r)->auth, &r->principal.user, &v);

    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    sh_oauth_subject(oauth(r), &r->principal.client, &r->principal.user, sub);
    /* the display name the user chose, never the e-mail address */
    j = json_pack("{s:{s:s, s:s}}", "data", "id", sub, "name",
                  v.display_name ? v.display_name : "safehouse user");
    sh_account_view_clear(&v);
    return sh_req_reply(r, 200, j);
}

/* The service key was checked by the pipeline (SH_AUTH_SERVICE_KEY). */
sh_status sh_api_ifttt_status(sh_req *r)
{
    return sh_req_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}
