/*
 * route_table.h - the route tables checked and described. The tables
 * (api/routes.c, admin/admin_routes.c) are where authorization is
 * declared; this module refuses a table whose rows contradict each other
 * (a step-up outside the hash pool, an admin route with no role, a device
 * role on a route with no device) and prints a table as JSON for
 * `safehouse routes --json`, which the authorization-matrix tests read.
 */
#ifndef SH_ROUTE_TABLE_H
#define SH_ROUTE_TABLE_H

#include <stddef.h>

#include <jansson.h>

#include "core/cli.h"
#include "core/status.h"
#include "http/request.h"

#define SH_ROUTE_WHY_MAX 160

/* SH_OK, or SH_ERR_INVALID with the first broken rule and the row in why. */
sh_status sh_route_table_check(const struct sh_route *routes, size_t n, char *why, size_t cap);

/* Appends one JSON object per route to arr: listener, method, path, auth,
 * body, pool, stepup, answer, partner_scope (scope names), limit, roles,
 * device_role (null when not a device route). Returns SH_OK or SH_ERR_NOMEM. */
sh_status sh_route_table_json(const char *listener, const struct sh_route *routes, size_t n,
                              json_t *arr);

/* `safehouse routes [--json]`: both listeners' tables. Exit code. */
int sh_route_table_cmd(int argc, char **argv);
/* Its flags, for --help, the man page and completion. */
extern const sh_cli_cmd sh_route_table_cli;

#endif
