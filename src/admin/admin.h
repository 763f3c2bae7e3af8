/*
 * admin.h - the operator's tools: the admin API (its own listener, admin
 * token) and the same operations as `safehouse admin ...` subcommands.
 */
#ifndef SH_ADMIN_H
#define SH_ADMIN_H

#include <jansson.h>

#include "api/app.h"
#include "http/request.h"
#include "store/store.h"
#include "store/store_oauth.h"

/* JSON form of a revocation rule, as the API and the CLI print it. */
json_t *sh_admin_rule_json(const sh_rule_rec *r);
/* Runs `safehouse admin ARGS...`; returns a process exit code. */
int sh_admin_cli(int argc, char **argv);
/* The flag tables of the admin subcommands (for the man page, completion). */
extern const sh_cli_cmd sh_admin_commands[];
extern const size_t sh_admin_commands_count;
extern const sh_cli_cmd sh_admin_oauth_commands[];
extern const size_t sh_admin_oauth_commands_count;
extern const sh_cli_cmd sh_admin_migrate_cmd;
/* Opens the data dir of cfg for a CLI command (refusing one without a
 * database). 0, or the exit code after printing why. */
int sh_admin_open(sh_config *cfg, sh_app *app);

/* OAuth clients (admin_oauth.c): JSON form, admin API handlers, CLI. */
json_t *sh_admin_client_json(const sh_oauth_client_rec *c);
sh_status sh_admin_oauth_clients_create(sh_req *r);
sh_status sh_admin_oauth_clients_list(sh_req *r);
/* GET /metrics (admin_metrics.c). */
sh_status sh_admin_metrics(sh_req *r);
sh_status sh_admin_oauth_client_rotate(sh_req *r);
sh_status sh_admin_oauth_client_disable(sh_req *r);
/* `safehouse admin oauth-client SUBCOMMAND ...` (argv[0] is "oauth-client"). */
int sh_admin_oauth_cli(int argc, char **argv);

/* `safehouse admin migrate-store --from URL --to URL` (admin_migrate.c;
 * argv[0] is "migrate-store"): copies a store into an empty one. Returns a
 * process exit code. */
int sh_admin_migrate_cli(int argc, char **argv);

#endif
