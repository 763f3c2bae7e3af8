/*
 * admin_cli.c - `safehouse admin ...`: operator commands that work on a data
 * dir directly, also while a server runs on it (SQLite WAL lets both write;
 * the server picks new rules up within a second).
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api/app.h"
#include "auth/revocation.h"
#include "core/clock.h"
#include "crypto/token.h"

#define EXIT_USAGE 2
#define FUTURE_SKEW_US (5 * SH_USEC)

static void usage(void)
{
    fprintf(stderr, "usage: safehouse admin revoke [--data-dir DIR] (--all | --class CLASS |\n"
                    "                              --user ID | --session ID) [--before RFC3339]\n"
                    "       safehouse admin token-reset [--data-dir DIR]\n");
}

struct revoke_args {
    int scope;
    const char *value;
    int64_t before;
};

enum { O_DATA_DIR = 1, O_ALL, O_CLASS, O_USER, O_SESSION, O_BEFORE };

static const struct option admin_opts[] = {
    {"data-dir", required_argument, NULL, O_DATA_DIR},
    {"all", no_argument, NULL, O_ALL},
    {"class", required_argument, NULL, O_CLASS},
    {"user", required_argument, NULL, O_USER},
    {"session", required_argument, NULL, O_SESSION},
    {"before", required_argument, NULL, O_BEFORE},
    {NULL, 0, NULL, 0},
};

static int set_scope(struct revoke_args *a, int scope, const char *value)
{
    if (a->scope != 0) {
        fprintf(stderr, "safehouse: give exactly one of --all, --class, --user, --session\n");
        return -1;
    }
    a->scope = scope;
    a->value = value;
    return 0;
}

/* Parses the flags shared by admin subcommands. Returns 0 or -1. */
static int parse(int argc, char **argv, sh_config *cfg, struct revoke_args *a)
{
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", admin_opts, NULL)) != -1) {
        switch (opt) {
        case O_DATA_DIR:
            snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", optarg);
            break;
        case O_ALL:
            if (set_scope(a, SH_RULE_ALL, NULL))
                return -1;
            break;
        case O_CLASS:
            if (set_scope(a, SH_RULE_CLASS, optarg))
                return -1;
            break;
        case O_USER:
            if (set_scope(a, SH_RULE_USER, optarg))
                return -1;
            break;
        case O_SESSION:
            if (set_scope(a, SH_RULE_SESSION, optarg))
                return -1;
            break;
        case O_BEFORE:
            if (sh_clock_parse(optarg, &a->before) != 0 || a->before <= 0) {
                fprintf(stderr, "safehouse: --before needs an RFC 3339 time\n");
                return -1;
            }
            if (a->before > sh_clock_now_us() + FUTURE_SKEW_US) {
                fprintf(stderr, "safehouse: --before must not be in the future\n");
                return -1;
            }
            break;
        default:
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "safehouse: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

static int print_json(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (text == NULL)
        return 1;
    printf("%s\n", text);
    free(text);
    return 0;
}

static int cmd_revoke(sh_app *app, const struct revoke_args *a)
{
    sh_rule_rec rule;
    sh_status rc;

    if (a->scope == 0) {
        fprintf(stderr, "safehouse: give one of --all, --class, --user, --session\n");
        return EXIT_USAGE;
    }
    rc = sh_revocation_add(app->store, NULL, a->scope, a->value, a->before, &rule);
    if (rc == SH_ERR_INVALID_REQUEST) {
        fprintf(stderr, "safehouse: --class takes android|ios|web|cli; --user and --session "
                        "take a 32-hex id\n");
        return EXIT_USAGE;
    }
    if (rc != SH_OK) {
        fprintf(stderr, "safehouse: could not store the rule (%s)\n", sh_status_code(rc));
        return 1;
    }
    return print_json(sh_admin_rule_json(&rule));
}

static int cmd_token_reset(sh_app *app)
{
    char token[SH_TOKEN_MAX];

    if (sh_app_admin_token_new(app, token, sizeof(token)) != SH_OK) {
        fprintf(stderr, "safehouse: could not store the admin token\n");
        return 1;
    }
    printf("admin token: %s\n", token);
    sodium_memzero(token, sizeof(token));
    return 0;
}

int sh_admin_cli(int argc, char **argv)
{
    struct revoke_args a = {0, NULL, 0};
    char db[SH_CONFIG_PATH_MAX + 32];
    sh_config cfg;
    sh_app app;
    int code;

    if (argc < 2) {
        usage();
        return EXIT_USAGE;
    }
    sh_config_init(&cfg);
    if (strcmp(argv[1], "revoke") != 0 && strcmp(argv[1], "token-reset") != 0) {
        usage();
        return EXIT_USAGE;
    }
    if (parse(argc - 1, argv + 1, &cfg, &a) != 0) {
        usage();
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "token-reset") == 0 && a.scope != 0) {
        usage();
        return EXIT_USAGE;
    }
    /* A mistyped --data-dir must not quietly create a new, empty service. */
    if (sh_config_path(&cfg, "safehouse.db", db, sizeof(db)) != 0 || access(db, F_OK) != 0) {
        fprintf(stderr, "safehouse: no database in %s (check --data-dir)\n", cfg.data_dir);
        return 1;
    }
    if (sh_app_open(&app, &cfg) != SH_OK) {
        fprintf(stderr, "safehouse: cannot open data dir %s\n", cfg.data_dir);
        sh_app_close(&app);
        return 1;
    }
    code = strcmp(argv[1], "revoke") == 0 ? cmd_revoke(&app, &a) : cmd_token_reset(&app);
    sh_app_close(&app);
    return code;
}
