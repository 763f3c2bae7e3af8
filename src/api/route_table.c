/* route_table.c - consistency rules over a route table, and its JSON. */
#include "api/route_table.h"

#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "auth/limits.h"
#include "core/cli.h"
#include "devices/devices.h"
#include "oauth/scopes.h"

static const char *const auth_names[] = {"none",  "user",    "admin",      "device",
                                         "relay", "partner", "service_key"};
static const char *const body_names[] = {"none", "json", "json_optional", "form"};
static const char *const pool_names[] = {"read", "nostore", "cached", "hash", "write"};
static const char *const stepup_names[] = {"none", "recent", "proof"};
static const char *const answer_names[] = {"json", "oauth", "html"};
static const char *const limit_names[] = {"none",     "login", "code",  "reset",
                                          "register", "claim", "verify"};
static const char *const role_names[] = {"viewer", "support", "security", "owner", "scrape"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, unsigned i)
{
    return i < n ? names[i] : "?";
}

/* The first rule a row breaks, or NULL. */
static const char *broken_rule(const struct sh_route *rt)
{
    if (rt->method == NULL || rt->path == NULL || rt->handler == NULL)
        return "method, path and handler are required";
    if ((unsigned)rt->auth >= COUNT(auth_names) || (unsigned)rt->body >= COUNT(body_names) ||
        (unsigned)rt->pool >= COUNT(pool_names) || (unsigned)rt->stepup >= COUNT(stepup_names) ||
        (unsigned)rt->answer >= COUNT(answer_names) || (unsigned)rt->limit >= COUNT(limit_names))
        return "a field is out of its range";
    if ((rt->auth == SH_AUTH_ADMIN) != (rt->roles != 0))
        return "admin routes, and only they, name roles";
    if (rt->stepup != SH_STEPUP_NONE && (rt->auth != SH_AUTH_USER || rt->pool != SH_POOL_HASH ||
                                         rt->body == SH_BODY_NONE || rt->body == SH_BODY_FORM))
        return "step-up needs a user route in the hash pool with a JSON body";
    if (rt->device_role != 0 &&
        (rt->auth != SH_AUTH_USER || strncmp(rt->path, "/v1/devices/{id}", 16) != 0 ||
         rt->device_role < SH_ROLE_OWNER || rt->device_role > SH_ROLE_VIEWER))
        return "a device role needs a user route on /v1/devices/{id}";
    if (rt->partner_scope != 0 && rt->auth != SH_AUTH_USER && rt->auth != SH_AUTH_PARTNER)
        return "partner scopes only on user or partner routes";
    if (rt->auth == SH_AUTH_PARTNER && rt->partner_scope == 0)
        return "a partner route must name the scopes that open it";
    if ((rt->partner_scope & ~(unsigned)SH_SCOPE_ALL) != 0)
        return "unknown partner scope";
    if (rt->pool == SH_POOL_NOSTORE && rt->auth != SH_AUTH_NONE)
        return "authentication reads the store: not on a nostore route";
    if (rt->pool == SH_POOL_CACHED && ((rt->auth != SH_AUTH_USER && rt->auth != SH_AUTH_NONE) ||
                                       rt->device_role != 0 || rt->stepup != SH_STEPUP_NONE))
        return "a cached route is a user or public route with no device role or step-up";
    if (rt->answer != SH_ANSWER_JSON && rt->body != SH_BODY_FORM)
        return "OAuth and HTML routes take a form";
    return NULL;
}

sh_status sh_route_table_check(const struct sh_route *routes, size_t n, char *why, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        const char *rule = broken_rule(&routes[i]);

        for (size_t j = 0; rule == NULL && j < i; j++) {
            if (strcmp(routes[i].method, routes[j].method) == 0 &&
                strcmp(routes[i].path, routes[j].path) == 0)
                rule = "the same method and path twice";
        }
        if (rule != NULL) {
            snprintf(why, cap, "route %zu (%s %s): %s", i,
                     routes[i].method ? routes[i].method : "?",
                     routes[i].path ? routes[i].path : "?", rule);
            return SH_ERR_INVALID_REQUEST;
        }
    }
    return SH_OK;
}

static json_t *scope_list(unsigned bits)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < sh_scope_count(); i++) {
        if (bits & sh_scope_bit(i))
            json_array_append_new(arr, json_string(sh_scope_name(i)));
    }
    return arr;
}

static json_t *role_list(unsigned bits)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < COUNT(role_names); i++) {
        if (bits & (1u << i))
            json_array_append_new(arr, json_string(role_names[i]));
    }
    return arr;
}

static json_t *route_json(const char *listener, const struct sh_route *rt)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "listener",
                     listener, "method", rt->method, "path", rt->path, "auth",
                     name_of(auth_names, COUNT(auth_names), rt->auth), "body",
                     name_of(body_names, COUNT(body_names), rt->body), "pool",
                     name_of(pool_names, COUNT(pool_names), rt->pool), "stepup",
                     name_of(stepup_names, COUNT(stepup_names), rt->stepup), "answer",
                     name_of(answer_names, COUNT(answer_names), rt->answer), "partner_scope",
                     scope_list(rt->partner_scope), "limit",
                     name_of(limit_names, COUNT(limit_names), (unsigned)rt->limit), "roles",
                     role_list(rt->roles), "device_role",
                     rt->device_role ? json_string(sh_device_role_name(rt->device_role))
                                     : json_null());
}

sh_status sh_route_table_json(const char *listener, const struct sh_route *routes, size_t n,
                              json_t *arr)
{
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, route_json(listener, &routes[i])) != 0)
            return SH_ERR_NOMEM;
    }
    return SH_OK;
}

/* ---- safehouse routes ------------------------------------------------------ */

static const sh_cli_flag routes_flags[] = {
    {"json", NULL, 'j', "one JSON array of every route on both listeners"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

const sh_cli_cmd sh_route_table_cli = {
    .name = "routes",
    .synopsis = "[--json]",
    .summary = "Prints the route tables: who may call each route, and how it runs.",
    SH_CLI_FLAGS(routes_flags),
};

static int routes_flag(void *ctx, int id, const char *arg)
{
    (void)arg;
    if (id == 'j')
        *(int *)ctx = 1;
    return 0;
}

static void print_text(const json_t *arr)
{
    size_t i;
    const json_t *rt;

    json_array_foreach(arr, i, rt)
    {
        const json_t *dr = json_object_get(rt, "device_role");

        printf("%-6s %-6s %-44s auth=%s pool=%s stepup=%s device_role=%s\n",
               json_string_value(json_object_get(rt, "listener")),
               json_string_value(json_object_get(rt, "method")),
               json_string_value(json_object_get(rt, "path")),
               json_string_value(json_object_get(rt, "auth")),
               json_string_value(json_object_get(rt, "pool")),
               json_string_value(json_object_get(rt, "stepup")),
               json_is_string(dr) ? json_string_value(dr) : "-");
    }
}

int sh_route_table_cmd(int argc, char **argv)
{
    int as_json = 0, code = sh_cli_parse(&sh_route_table_cli, argc, argv, routes_flag, &as_json);
    json_t *arr;

    if (code != SH_CLI_OK)
        return code == SH_CLI_HELP ? 0 : 2;
    arr = json_array();
    if (arr == NULL ||
        sh_route_table_json("api", sh_api_routes, sh_api_routes_count, arr) != SH_OK ||
        sh_route_table_json("admin", sh_admin_routes, sh_admin_routes_count, arr) != SH_OK) {
        json_decref(arr);
        fprintf(stderr, "safehouse routes: out of memory\n");
        return 1;
    }
    if (as_json)
        code = json_dumpf(arr, stdout, JSON_INDENT(1)) == 0 ? 0 : 1;
    else
        print_text(arr);
    if (as_json)
        fputc('\n', stdout);
    json_decref(arr);
    return code;
}
