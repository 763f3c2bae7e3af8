/* router.c - segment-wise pattern matching; {x} matches one non-empty
 * segment of at most SH_PATH_PARAM_LEN characters.
 *
 * HEAD is answered by the GET route of a path (RFC 9110 9.3.2: same status
 * and headers, no body; libmicrohttpd drops the body of a HEAD answer), so
 * no table lists HEAD, and every GET route has one. */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

/* Matches path against pattern; fills params (may be NULL). */
static int match(const char *pattern, const char *path, char params[][SH_PATH_PARAM_LEN + 1])
{
    int np = 0;
    const char *p = pattern, *s = path;

    while (*p != '\0') {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (end == NULL || n == 0 || n > SH_PATH_PARAM_LEN || np >= SH_PATH_PARAMS_MAX)
                return 0;
            if (params != NULL) {
                memcpy(params[np], s, n);
                params[np][n] = '\0';
            }
            np++;
            s += n;
            p = end + 1;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *s == '\0';
}

/* 1 if a request with `method` is served by a route of `route_method`. */
static int serves(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Appends one method to the comma-separated list in allow. */
static void allow_add(char *allow, size_t cap, const char *method)
{
    size_t used = strlen(allow);

    snprintf(allow + used, cap - used, "%s%s", used ? ", " : "", method);
}

sh_status sh_router_match(const struct sh_route *routes, size_t n, const char *method,
                          const char *path, sh_req *r, char *allow, size_t allow_cap)
{
    const struct sh_route *found = NULL;
    int path_known = 0;

    allow[0] = '\0';
    if (strlen(path) > SH_PATH_MAX)
        return SH_ERR_NO_ROUTE;
    /* the whole table is scanned: Allow lists every method of the path */
    for (size_t i = 0; i < n; i++) {
        if (!match(routes[i].path, path, NULL))
            continue;
        path_known = 1;
        if (found == NULL && serves(routes[i].method, method))
            found = &routes[i];
        allow_add(allow, allow_cap, routes[i].method);
        if (strcmp(routes[i].method, "GET") == 0)
            allow_add(allow, allow_cap, "HEAD");
    }
    if (!path_known)
        return SH_ERR_NO_ROUTE;
    allow_add(allow, allow_cap, "OPTIONS");
    if (found == NULL)
        return strcmp(method, "OPTIONS") == 0 ? SH_ERR_OPTIONS : SH_ERR_METHOD;
    match(found->path, path, r->params);
    r->route = found;
    return SH_OK;
}
