/*
 * admin_cli.c - `safehouse admin ...`: operator commands that work on the
 * store directly (--data-dir, --store), also while servers run on it; the
 * servers pick new rules up within a second.
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "api/app.h"
#include "devices/streams.h"
#include "auth/revocation.h"
#include "core/clock.h"
#include "crypto/token.h"

#define EXIT_USAGE 2
#define FUTURE_SKEW_US (5 * SH_USEC)

static void usage(void)
{
    fprintf(stderr,
            "usage: safehouse admin revoke [--data-dir DIR] (--all | --class CLASS |\n"
            "                              --user ID | --session ID | --client ID |\n"
            "                              --integration | --grant ID) [--before RFC3339]\n"
            "       safehouse admin token-reset [--data-dir DIR]\n"
            "       safehouse admin device provision [--data-dir DIR] --type TYPE --model MODEL\n"
            "                                        [--count N]\n"
            "       safehouse admin relay create [--data-dir DIR]\n"
            "       safehouse admin oauth-client add|list|rotate-secret|disable ...\n"
            "       safehouse admin migrate-store --from URL --to URL\n"
            "every command but migrate-store also takes --store URL (sqlite:PATH or\n"
            "postgres://...; default: the SQLite file in the data dir)\n");
}

struct revoke_args {
    int scope;
    const char *value;
    int64_t before;
    const char *type; /* device provision */
    const char *model;
    long count;
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
    O_STORE
};

static const struct option admin_opts[] = {
    {"data-dir", required_argument, NULL, O_DATA_DIR},
    {"store", required_argument, NULL, O_STORE},
    {"all", no_argument, NULL, O_ALL},
    {"class", required_argument, NULL, O_CLASS},
    {"user", required_argument, NULL, O_USER},
    {"session", required_argument, NULL, O_SESSION},
    {"before", required_argument, NULL, O_BEFORE},
    {"type", required_argument, NULL, O_TYPE},
    {"model", required_argument, NULL, O_MODEL},
    {"count", required_argument, NULL, O_COUNT},
    {"client", required_argument, NULL, O_CLIENT},
    {"integration", no_argument, NULL, O_INTEGRATION},
    {"grant", required_argument, NULL, O_GRANT},
    {NULL, 0, NULL, 0},
};

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

/* Parses the flags shared by admin subcommands. Returns 0 or -1. */
static int parse(int argc, char **argv, sh_config *cfg, struct revoke_args *a)
{
    char *end;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", admin_opts, NULL)) != -1) {
        switch (opt) {
        case O_DATA_DIR:
            snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", optarg);
            break;
        case O_STORE:
            if (sh_config_set_store(cfg, optarg) != 0)
                return -1;
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
        case O_CLIENT:
            if (set_scope(a, SH_RULE_CLIENT, optarg))
                return -1;
            break;
        case O_INTEGRATION:
            if (set_scope(a, SH_RULE_INTEGRATION, NULL))
                return -1;
            break;
        case O_GRANT:
            if (set_scope(a, SH_RULE_GRANT, optarg))
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
        case O_TYPE:
            a->type = optarg;
            break;
        case O_MODEL:
            a->model = optarg;
            break;
        case O_COUNT:
            a->count = strtol(optarg, &end, 10);
            if (*end != '\0' || a->count < 1 || a->count > 100000) {
                fprintf(stderr, "safehouse: --count takes 1 to 100000\n");
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

/* Subcommands: name (one or two words), which flags they take. */
enum { CMD_REVOKE = 1, CMD_TOKEN_RESET, CMD_PROVISION, CMD_RELAY };

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
    return 0;
}

static int run(sh_app *app, int cmd, const struct revoke_args *a)
{
    switch (cmd) {
    case CMD_REVOKE:
        return cmd_revoke(app, a);
    case CMD_TOKEN_RESET:
        return cmd_token_reset(app);
    case CMD_PROVISION:
        return cmd_provision(app, a);
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
    struct revoke_args a = {0, NULL, 0, NULL, NULL, 0};
    sh_config cfg;
    sh_app app;
    int cmd, words, code;

    if (argc >= 2 && strcmp(argv[1], "oauth-client") == 0)
        return sh_admin_oauth_cli(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "migrate-store") == 0)
        return sh_admin_migrate_cli(argc - 1, argv + 1);
    if (argc < 2 || (cmd = which(argc, argv, &words)) == 0) {
        usage();
        return EXIT_USAGE;
    }
    sh_config_init(&cfg);
    if (parse(argc - words, argv + words, &cfg, &a) != 0) {
        usage();
        return EXIT_USAGE;
    }
    if ((cmd != CMD_REVOKE && a.scope != 0) ||
        (cmd != CMD_PROVISION && (a.type || a.model || a.count))) {
        usage();
        return EXIT_USAGE;
    }
    if ((code = sh_admin_open(&cfg, &app)) != 0)
        return code;
    code = run(&app, cmd, &a);
    sh_app_close(&app);
    return code;
}
