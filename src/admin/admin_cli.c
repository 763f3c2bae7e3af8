/*
 * admin_cli.c - `safehouse admin ...`: operator commands that work on the
 * store directly (--data-dir, --store), also while servers run on it; the
 * servers pick new rules up within a second.
 */
#include "admin/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "api/app.h"
#include "devices/streams.h"
#include "auth/revocation.h"
#include "core/cli.h"
#include "core/clock.h"
#include "crypto/token.h"

#define EXIT_USAGE 2
#define FUTURE_SKEW_US (5 * SH_USEC)

static void usage(FILE *f)
{
    fprintf(f, "usage: safehouse admin revoke [--data-dir DIR] (--all | --class CLASS |\n"
               "                              --user ID | --session ID | --client ID |\n"
               "                              --integration | --grant ID) [--before RFC3339]\n"
               "       safehouse admin token-reset [--data-dir DIR]\n"
               "       safehouse admin device provision [--data-dir DIR] --type TYPE --model "
               "MODEL\n"
               "                                        [--count N]\n"
               "       safehouse admin relay create [--data-dir DIR]\n"
               "       safehouse admin scrape-token create [--data-dir DIR]\n"
               "       safehouse admin oauth-client add|list|rotate-secret|disable ...\n"
               "       safehouse admin migrate-store --from URL --to URL\n"
               "every command but migrate-store also takes --store URL (sqlite:PATH or\n"
               "postgres://...; default: the SQLite file in the data dir) and --key-file FILE;\n"
               "each takes --config FILE and --help\n");
}

struct revoke_args {
    int scope;
    const char *value;
    int64_t before;
    const char *type; /* device provision */
    const char *model;
    long count;
    sh_config *cfg;
};

enum {
    O_DATA_DIR = 1,
    O_ALL,
    O_CLASS,
    O_USER,
    O_SESSION,
    O_BEFORE,
    O_TYPE,
    O_MODEL,
    O_COUNT,
    O_CLIENT,
    O_INTEGRATION,
    O_GRANT,
    O_STORE,
    O_KEY_FILE
};

static const sh_cli_flag revoke_flags[] = {
    SH_CLI_FLAG_DATA_DIR(O_DATA_DIR),
    SH_CLI_FLAG_STORE(O_STORE),
    SH_CLI_FLAG_KEY_FILE(O_KEY_FILE),
    {"all", NULL, O_ALL, "every session and partner grant"},
    {"class", "CLASS", O_CLASS, "one client class: android, ios, web or cli"},
    {"user", "ID", O_USER, "every session of one user (32 hex)"},
    {"session", "ID", O_SESSION, "one session (32 hex)"},
    {"client", "ID", O_CLIENT, "every grant of one OAuth client (32 hex)"},
    {"integration", NULL, O_INTEGRATION, "every partner grant, no app session"},
    {"grant", "ID", O_GRANT, "one partner grant (32 hex)"},
    {"before", "RFC3339", O_BEFORE, "only what was issued at or before this time (default: now)"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

static const sh_cli_flag plain_flags[] = {
    SH_CLI_FLAG_DATA_DIR(O_DATA_DIR),
    SH_CLI_FLAG_STORE(O_STORE),
    SH_CLI_FLAG_KEY_FILE(O_KEY_FILE),
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

static const sh_cli_flag provision_flags[] = {
    SH_CLI_FLAG_DATA_DIR(O_DATA_DIR),
    SH_CLI_FLAG_STORE(O_STORE),
    SH_CLI_FLAG_KEY_FILE(O_KEY_FILE),
    {"type", "TYPE", O_TYPE, "camera, plug, bulb, sensor or scale"},
    {"model", "MODEL", O_MODEL, "the model name printed on the box"},
    {"count", "N", O_COUNT, "how many devices, 1-100000 (default 1)"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

/* Subcommands, in the order of enum cmd - 1. */
enum { CMD_REVOKE = 1, CMD_TOKEN_RESET, CMD_PROVISION, CMD_RELAY, CMD_SCRAPE_TOKEN };
const sh_cli_cmd sh_admin_commands[] = {
    {"admin revoke",
     "(--all | --class CLASS | --user ID | --session ID | --client ID | --integration |\n"
     "                              --grant ID) [--before RFC3339] [--data-dir DIR] [--store URL]",
     "Adds a revocation rule: every matching session or grant issued at or before the\n"
     "time stops working; running servers apply it within a second. Prints the rule.",
     SH_CLI_FLAGS(revoke_flags)},
    {"admin token-reset", "[--data-dir DIR] [--store URL]",
     "Makes a new admin token (the old one stops working) and prints it once.",
     SH_CLI_FLAGS(plain_flags)},
    {"admin device provision",
     "--type TYPE --model MODEL [--count N] [--data-dir DIR] [--store URL]",
     "Registers devices at the factory; prints each one's id, device token and claim code.",
     SH_CLI_FLAGS(provision_flags)},
    {"admin relay create", "[--data-dir DIR] [--store URL]",
     "Registers a media relay; prints its id and credential once.", SH_CLI_FLAGS(plain_flags)},
    {"admin scrape-token create", "[--data-dir DIR] [--store URL]",
     "Makes the Prometheus scrape token (GET /metrics, nothing else), replacing any old\n"
     "one, and prints it once.",
     SH_CLI_FLAGS(plain_flags)},
};
const size_t sh_admin_commands_count = sizeof(sh_admin_commands) / sizeof(sh_admin_commands[0]);

static int set_scope(struct revoke_args *a, int scope, const char *value)
{
    if (a->scope != 0) {
        fprintf(stderr, "safehouse: give exactly one of --all, --class, --user, --session, "
                        "--client, --integration, --grant\n");
        return -1;
    }
    a->scope = scope;
    a->value = value;
    return 0;
}

static int set_before(struct revoke_args *a, const char *arg)
{
    if (sh_clock_parse(arg, &a->before) != 0 || a->before <= 0) {
        fprintf(stderr, "safehouse: --before needs an RFC 3339 time\n");
        return -1;
    }
    if (a->before > sh_clock_now_us() + FUTURE_SKEW_US) {
        fprintf(stderr, "safehouse: --before must not be in the future\n");
        return -1;
    }
    return 0;
}

static int set_count(struct revoke_args *a, const char *arg)
{
    char *end;

    a->count = strtol(arg, &end, 10);
    if (*end != '\0' || a->count < 1 || a->count > 100000) {
        fprintf(stderr, "safehouse: --count takes 1 to 100000\n");
        return -1;
    }
    return 0;
}

/* One flag of an admin subcommand (sh_cli_flag_fn); getopt has already
 * refused the flags the subcommand does not take. */
static int admin_flag(void *ctx, int opt, const char *arg)
{
    struct revoke_args *a = ctx;

    switch (opt) {
    case O_DATA_DIR:
        snprintf(a->cfg->data_dir, sizeof(a->cfg->data_dir), "%s", arg);
        return 0;
    case O_STORE:
        return sh_config_set_store(a->cfg, arg);
    case O_KEY_FILE:
        return sh_config_set_key_file(a->cfg, arg);
    case O_ALL:
        return set_scope(a, SH_RULE_ALL, NULL);
    case O_CLASS:
        return set_scope(a, SH_RULE_CLASS, arg);
    case O_USER:
        return set_scope(a, SH_RULE_USER, arg);
    case O_SESSION:
        return set_scope(a, SH_RULE_SESSION, arg);
    case O_CLIENT:
        return set_scope(a, SH_RULE_CLIENT, arg);
    case O_INTEGRATION:
        return set_scope(a, SH_RULE_INTEGRATION, NULL);
    case O_GRANT:
        return set_scope(a, SH_RULE_GRANT, arg);
    case O_BEFORE:
        return set_before(a, arg);
    case O_TYPE:
        a->type = arg;
        return 0;
    case O_MODEL:
        a->model = arg;
        return 0;
    default:
        return set_count(a, arg);
    }
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
        fprintf(stderr, "safehouse: give one of --all, --class, --user, --session, --client, "
                        "--integration, --grant\n");
        return EXIT_USAGE;
    }
    rc = sh_revocation_add(app->store, NULL, a->scope, a->value, a->before, &rule);
    if (rc == SH_ERR_INVALID_REQUEST) {
        fprintf(stderr, "safehouse: --class takes android|ios|web|cli; --user, --session, "
                        "--client and --grant take a 32-hex id\n");
        return EXIT_USAGE;
    }
    if (rc != SH_OK) {
        fprintf(stderr, "safehouse: could not store the rule (%s)\n", sh_status_code(rc));
        return 1;
    }
    return print_json(sh_admin_rule_json(&rule));
}

/* Makes an operator credential (replacing the old one) and prints it once
 * as "WHAT token: TEXT". */
static int cmd_new_token(sh_app *app, sh_status (*make)(sh_app *, char *, size_t), const char *what)
{
    char token[SH_TOKEN_MAX];

    if (make(app, token, sizeof(token)) != SH_OK) {
        fprintf(stderr, "safehouse: could not store the %s token\n", what);
        return 1;
    }
    printf("%s token: %s\n", what, token);
    sodium_memzero(token, sizeof(token));
    return 0;
}

static int cmd_provision(sh_app *app, const struct revoke_args *a)
{
    int type = sh_device_type_from_name(a->type);
    sh_device_secrets sec;

    if (type == 0 || a->model == NULL) {
        fprintf(stderr, "safehouse: --type camera|plug|bulb|sensor|scale and --model are "
                        "required\n");
        return EXIT_USAGE;
    }
    for (long i = 0; i < (a->count ? a->count : 1); i++) {
        if (sh_device_provision(&app->auth, type, a->model, &sec) != SH_OK) {
            fprintf(stderr, "safehouse: could not provision (model too long?)\n");
            return 1;
        }
        print_json(sh_api_device_secrets_json(&sec));
        sodium_memzero(&sec, sizeof(sec));
    }
    return 0;
}

static int cmd_relay_create(sh_app *app)
{
    char token[SH_TOKEN_MAX];
    sh_id id;
    int code;

    if (sh_relay_create(&app->auth, &id, token) != SH_OK) {
        fprintf(stderr, "safehouse: could not store the relay credential\n");
        return 1;
    }
    code = print_json(json_pack("{s:o, s:s}", "relay_id", sh_api_id(&id), "relay_token", token));
    sodium_memzero(token, sizeof(token));
    return code;
}

/* Which subcommand argv names, and how many words its name has. */
static int which(int argc, char **argv, int *words)
{
    *words = 1;
    if (strcmp(argv[1], "revoke") == 0)
        return CMD_REVOKE;
    if (strcmp(argv[1], "token-reset") == 0)
        return CMD_TOKEN_RESET;
    *words = 2;
    if (argc >= 3 && strcmp(argv[1], "device") == 0 && strcmp(argv[2], "provision") == 0)
        return CMD_PROVISION;
    if (argc >= 3 && strcmp(argv[1], "relay") == 0 && strcmp(argv[2], "create") == 0)
        return CMD_RELAY;
    if (argc >= 3 && strcmp(argv[1], "scrape-token") == 0 && strcmp(argv[2], "create") == 0)
        return CMD_SCRAPE_TOKEN;
    return 0;
}

static int run(sh_app *app, int cmd, const struct revoke_args *a)
{
    switch (cmd) {
    case CMD_REVOKE:
        return cmd_revoke(app, a);
    case CMD_TOKEN_RESET:
        return cmd_new_token(app, sh_app_admin_token_new, "admin");
    case CMD_PROVISION:
        return cmd_provision(app, a);
    case CMD_SCRAPE_TOKEN:
        return cmd_new_token(app, sh_app_scrape_token_new, "scrape");
    default:
        return cmd_relay_create(app);
    }
}

int sh_admin_open(sh_config *cfg, sh_app *app)
{
    /* A mistyped --data-dir must not quietly create a new, empty service. */
    if (!sh_store_present(cfg->store, cfg->data_dir)) {
        fprintf(stderr, "safehouse: no database in %s (check --data-dir or --store)\n",
                cfg->data_dir);
        return 1;
    }
    if (sh_app_open(app, cfg) != SH_OK) {
        fprintf(stderr, "safehouse: cannot open data dir %s\n", cfg->data_dir);
        sh_app_close(app);
        return 1;
    }
    return 0;
}

int sh_admin_cli(int argc, char **argv)
{
    struct revoke_args a = {0, NULL, 0, NULL, NULL, 0, NULL};
    sh_config cfg;
    sh_app app;
    int cmd, words, code;

    if (argc >= 2 && strcmp(argv[1], "oauth-client") == 0)
        return sh_admin_oauth_cli(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "migrate-store") == 0)
        return sh_admin_migrate_cli(argc - 1, argv + 1);
    if (argc >= 2 && sh_cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || (cmd = which(argc, argv, &words)) == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    sh_config_init(&cfg);
    a.cfg = &cfg;
    code = sh_cli_parse(&sh_admin_commands[cmd - 1], argc - words, argv + words, admin_flag, &a);
    if (code != SH_CLI_OK)
        return code == SH_CLI_HELP ? 0 : EXIT_USAGE;
    if ((code = sh_admin_open(&cfg, &app)) != 0)
        return code;
    code = run(&app, cmd, &a);
    sh_app_close(&app);
    return code;
}
