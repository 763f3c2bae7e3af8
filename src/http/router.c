/* router.c - segment-wise pattern matching; {x} matches one non-empty
 * segment of at most SH_PATH_PARAM_LEN characters. */
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

sh_status sh_router_match(const struct sh_route *routes, size_t n, const char *method,
                          const char *path, sh_req *r, char *allow, size_t allow_cap)
{
    int path_known = 0;
    size_t used;

    allow[0] = '\0';
    if (strlen(path) > SH_PATH_MAX)
        return SH_ERR_NO_ROUTE;
    for (size_t i = 0; i < n; i++) {
        if (!match(routes[i].pattern, path, NULL))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            match(routes[i].pattern, path, r->params);
            r->route = &routes[i];
            return SH_OK;
        }
        used = strlen(allow);
        snprintf(allow + used, allow_cap - used, "%s%s", path_known ? ", " : "", routes[i].method);
        path_known = 1;
    }
    return path_known ? SH_ERR_METHOD : SH_ERR_NO_ROUTE;
}
