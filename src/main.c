/*
 * main.c - the `safehouse` binary: subcommand dispatch.
 *   safehouse serve [flags]        run the API and admin listeners
 *   safehouse admin SUBCOMMAND     operator tools on a data dir
 *   safehouse help --man           the man page, from the flag tables
 *   safehouse completion bash      the bash completion, from the same
 * Each command's flags and their help live in one table (core/cli.h) next
 * to the code that parses them; this file lists only the commands.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "admin/admin.h"
#include "api/app.h"
#include "api/route_table.h"
#include "core/clidoc.h"
#include "core/log.h"
#include "http/server.h"
#include "tools/tools.h"

#include "core/version.h"
#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f,
            "usage: safehouse COMMAND [FLAGS]\n\n"
            "safehouse %s - smart-home cloud backend\n\n"
            "commands:\n"
            "  serve                 run the public and the admin API\n"
            "  admin SUBCOMMAND      operator tools: revoke, token-reset, device provision,\n"
            "                        relay create, scrape-token create, oauth-client,\n"
            "                        migrate-store\n"
            "  routes                print the route tables: who may call what (--json)\n"
            "  seed                  fill a data dir with synthetic users (benchmarks)\n"
            "  bench-internal        in-process micro-benchmarks\n"
            "  completion bash       print the bash completion script\n"
            "  --version, version    print the version\n"
            "  --help, -h, help      print this help (help --man: the man page in roff)\n\n"
            "'safehouse COMMAND --help' lists every flag of a command; every command takes\n"
            "--config FILE (name = value lines). --data-dir, --store, --key-file and\n"
            "--config may come before or after the subcommand.\n",
            SH_VERSION);
}

/* Top-level words without a flag table, for the man page and completion. */
static const sh_clidoc_word extra_words[] = {
    {"", "bench-internal",
     "in-process micro-benchmarks (make bench): token-verify, argon2, "
     "revoke DATA_DIR [COUNT]; no flags"},
    {"", "completion", NULL},
    {"completion", "bash",
     "safehouse completion bash: prints the bash completion script "
     "(installed as /usr/share/bash-completion/completions/safehouse)"},
    {"", "version", "safehouse version, safehouse --version: prints the version"},
    {"", "help", "safehouse help, --help, -h: the commands; safehouse help --man: this page"},
};

#define COMMANDS_MAX 32
/* Every command with a flag table, in the order the man page lists them. */
static const sh_cli_cmd *commands[COMMANDS_MAX];
static size_t ncommands;

static void list_commands(void)
{
    commands[ncommands++] = &sh_config_serve_cmd;
    for (size_t i = 0; i < sh_admin_commands_count && ncommands < COMMANDS_MAX; i++)
        commands[ncommands++] = &sh_admin_commands[i];
    for (size_t i = 0; i < sh_admin_oauth_commands_count && ncommands < COMMANDS_MAX; i++)
        commands[ncommands++] = &sh_admin_oauth_commands[i];
    if (ncommands + 3 <= COMMANDS_MAX) {
        commands[ncommands++] = &sh_admin_migrate_cmd;
        commands[ncommands++] = &sh_route_table_cli;
        commands[ncommands++] = &sh_tool_seed_cmd;
    }
    sh_cli_register(commands, ncommands);
}

static int clidoc(const char *what)
{
    sh_clidoc doc = {commands, ncommands, extra_words, sizeof(extra_words) / sizeof(extra_words[0]),
                     SH_VERSION};

    if (strcmp(what, "man") == 0) {
        sh_clidoc_man(stdout, &doc);
        return 0;
    }
    return sh_clidoc_bash(stdout, &doc) == 0 ? 0 : 1;
}

static int serve(int argc, char **argv)
{
    sh_config cfg;
    sh_app app;
    int code;

    sh_config_init(&cfg);
    code = sh_config_parse_serve(&cfg, argc, argv);
    if (code != SH_CLI_OK)
        return code == SH_CLI_HELP ? 0 : EXIT_USAGE;
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
    list_commands();
    if (sh_cli_hoist_globals(argc, argv) != 0)
        return 1;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "admin") == 0)
        return sh_admin_cli(argc - 1, argv + 1);
    if (strcmp(argv[1], "routes") == 0)
        return sh_route_table_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "seed") == 0)
        return sh_tool_seed(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench-internal") == 0)
        return sh_tool_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("safehouse %s\n", SH_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 && argc == 3 && strcmp(argv[2], "--man") == 0)
        return clidoc("man");
    if (strcmp(argv[1], "completion") == 0) {
        if (argc == 3 && strcmp(argv[2], "bash") == 0)
            return clidoc("bash");
        fputs("usage: safehouse completion bash\n",
              argc == 3 && sh_cli_is_help(argv[2]) ? stdout : stderr);
        return argc == 3 && sh_cli_is_help(argv[2]) ? 0 : EXIT_USAGE;
    }
    if (sh_cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return EXIT_USAGE;
}
