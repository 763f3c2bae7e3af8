/*
 * admin.h - the operator's tools: the admin API (its own listener, admin
 * token) and the same operations as `safehouse admin ...` subcommands.
 */
#ifndef SH_ADMIN_H
#define SH_ADMIN_H

#include <jansson.h>

#include "store/store.h"

/* JSON form of a revocation rule, as the API and the CLI print it. */
json_t *sh_admin_rule_json(const sh_rule_rec *r);
/* Runs `safehouse admin ARGS...`; returns a process exit code. */
int sh_admin_cli(int argc, char **argv);

#endif
