/*
 * main.c - the `safehouse` binary: subcommand dispatch.
 *   safehouse serve [flags]        run the API and admin listeners
 *   safehouse admin SUBCOMMAND     operator tools on a data dir
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "admin/admin.h"
#include "api/app.h"
#include "core/log.h"
#include "http/server.h"
#include "tools/tools.h"

#define SH_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "safehouse %s - smart-home cloud backend\n\n"
            "usage: safehouse serve [--data-dir DIR] [--store URL] [--listen ADDR:PORT]\n"
            "                       [--admin-listen ADDR:PORT] [--threads N]\n"
            "                       [--access-ttl SECONDS] [--no-access-log]\n"
            "       safehouse admin revoke [--data-dir DIR] (--all | --class CLASS |\n"
            "                       --user ID | --session ID) [--before RFC3339]\n"
            "       safehouse admin token-reset [--data-dir DIR]\n"
            "       safehouse seed [--data-dir DIR] [--users N] [--sessions-per-user K]\n"
            "       safehouse --version\n\n"
            "environment: SAFEHOUSE_DATA_DIR, SAFEHOUSE_STORE, SAFEHOUSE_LISTEN, "
            "SAFEHOUSE_ADMIN_LISTEN,\n"
            "             SAFEHOUSE_MASTER_KEY (64 hex characters; else DIR/master.key)\n",
            SH_VERSION);
}

static int serve(int argc, char **argv)
{
    sh_config cfg;
    sh_app app;
    int code;

    sh_config_init(&cfg);
    if (sh_config_parse_serve(&cfg, argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    sh_log_set_access(cfg.access_log);
    if (cfg.log_debug)
        sh_log_set_level(SH_LOG_DEBUG);
    /* before anything is created: a start that cannot listen leaves no key,
     * no database and prints no admin token */
    if (sh_server_check_addrs(cfg.listen, cfg.admin_listen) != SH_OK) {
        sh_log_event(SH_LOG_ERROR, "startup_failed", NULL, NULL);
        return 1;
    }
    if (sh_app_open(&app, &cfg) != SH_OK) {
        sh_log_event(SH_LOG_ERROR, "startup_failed", NULL, NULL);
        sh_app_close(&app);
        return 1;
    }
    code = sh_app_serve(&app);
    sh_app_close(&app);
    return code;
}

int main(int argc, char **argv)
{
    /* Everything we create (database, WAL, key file) is for our user only. */
    umask(077);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "admin") == 0)
        return sh_admin_cli(argc - 1, argv + 1);
    if (strcmp(argv[1], "seed") == 0)
        return sh_tool_seed(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench-internal") == 0)
        return sh_tool_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("safehouse %s\n", SH_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
