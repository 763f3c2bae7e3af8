/* request.c - reply helpers and strict readers for JSON body fields. */
#include "http/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sh_status sh_req_reply(sh_req *r, int status, json_t *body)
{
    json_decref(r->reply);
    r->reply = body;
    r->status = status;
    return SH_OK;
}

sh_status sh_req_fail(sh_req *r, sh_status st, const char *detail)
{
    snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
    return st;
}

static sh_status bad_field(sh_req *r, const char *field, const char *what)
{
    snprintf(r->detail, sizeof(r->detail), "field '%s' %s", field, what);
    return SH_ERR_INVALID_REQUEST;
}

static sh_status read_string(sh_req *r, const char *field, size_t max_bytes, json_t *v,
                             const char **out, size_t *len)
{
    if (!json_is_string(v))
        return bad_field(r, field, "must be a string");
    if (json_string_length(v) > max_bytes)
        return bad_field(r, field, "is too long");
    *out = json_string_value(v);
    if (len != NULL)
        *len = json_string_length(v);
    return SH_OK;
}

sh_status sh_req_string(sh_req *r, const char *field, size_t max_bytes, const char **out,
                        size_t *len)
{
    json_t *v = r->body ? json_object_get(r->body, field) : NULL;

    if (v == NULL)
        return bad_field(r, field, "is required");
    return read_string(r, field, max_bytes, v, out, len);
}

sh_status sh_req_string_opt(sh_req *r, const char *field, size_t max_bytes, const char **out)
{
    json_t *v = r->body ? json_object_get(r->body, field) : NULL;

    *out = NULL;
    if (v == NULL)
        return SH_OK;
    return read_string(r, field, max_bytes, v, out, NULL);
}

sh_status sh_req_string_nullable(sh_req *r, const char *field, size_t max_bytes, const char **out,
                                 int *present)
{
    json_t *v = r->body ? json_object_get(r->body, field) : NULL;

    *out = NULL;
    *present = v != NULL;
    if (v == NULL || json_is_null(v))
        return SH_OK;
    return read_string(r, field, max_bytes, v, out, NULL);
}

sh_status sh_req_param_id(sh_req *r, int i, sh_id *out)
{
    if (i < 0 || i >= SH_PATH_PARAMS_MAX || sh_id_from_hex(r->params[i], out) != 0)
        return sh_req_fail(r, SH_ERR_NOT_FOUND, "no such resource");
    return SH_OK;
}

size_t sh_req_peer_key(const sh_req *r, uint8_t out[SH_PEER_LEN])
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memcpy(out, r->peer, SH_PEER_LEN);
    if (memcmp(r->peer, v4_mapped, sizeof(v4_mapped)) == 0)
        return SH_PEER_LEN;
    return 8; /* an IPv6 client usually holds a whole /64 */
}

sh_status sh_req_reply_text(sh_req *r, int status, const char *ctype, char *text, size_t len)
{
    free(r->text);
    r->text = text;
    r->text_len = len;
    r->content_type = ctype;
    r->status = status;
    return SH_OK;
}

sh_status sh_req_add_header(sh_req *r, const char *name, const char *value)
{
    char *v;

    if (r->nheaders >= SH_RESP_HEADERS_MAX || (v = strdup(value)) == NULL)
        return SH_ERR_NOMEM;
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = v;
    r->nheaders++;
    return SH_OK;
}

sh_status sh_req_redirect(sh_req *r, int status, const char *location)
{
    r->status = status;
    return sh_req_add_header(r, "Location", location);
}

const char *sh_req_header(sh_req *r, const char *name)
{
    return r->header_fn ? r->header_fn(r->header_ctx, name) : NULL;
}

static sh_status bad_param(sh_req *r, const char *name, const char *what)
{
    snprintf(r->detail, sizeof(r->detail), "parameter '%s' %s", name, what);
    return SH_ERR_INVALID_REQUEST;
}

sh_status sh_req_param_opt(sh_req *r, const char *name, size_t max_bytes, const char **out)
{
    size_t n = sh_form_count(r->form, name), len = 0;
    const char *v;

    *out = NULL;
    if (n == 0)
        return SH_OK;
    if (n > 1)
        return bad_param(r, name, "is repeated");
    v = sh_form_get(r->form, name, 0, &len);
    if (len > max_bytes)
        return bad_param(r, name, "is too long");
    if (len > 0)
        *out = v;
    return SH_OK;
}

sh_status sh_req_param(sh_req *r, const char *name, size_t max_bytes, const char **out)
{
    sh_status rc = sh_req_param_opt(r, name, max_bytes, out);

    if (rc == SH_OK && *out == NULL)
        return bad_param(r, name, "is required");
    return rc;
}
