/*
 * router.h - matching a method and path against a route table.
 * Linear scan: tables hold a few dozen routes, and a scan over them costs
 * less than a hash of the path would.
 */
#ifndef SH_ROUTER_H
#define SH_ROUTER_H

#include <stddef.h>

#include "http/request.h"

/* Finds the route for (method, path), filling r->params; HEAD finds the
 * GET route. Returns SH_OK, SH_ERR_NO_ROUTE (path unknown), SH_ERR_OPTIONS
 * (OPTIONS on a known path) or SH_ERR_METHOD (path known, method not).
 * Whenever the path is known, allow gets the comma-separated list of its
 * methods, HEAD and OPTIONS included (capacity allow_cap). */
sh_status sh_router_match(const struct sh_route *routes, size_t n, const char *method,
                          const char *path, sh_req *r, char *allow, size_t allow_cap);

#endif
