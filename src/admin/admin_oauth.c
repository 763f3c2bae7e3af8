/*
 * admin_oauth.c - registering partners (OAuth clients), through the admin
 * API and as `safehouse admin oauth-client add|list|rotate-secret|disable`.
 * A client secret is printed once, when made; only its keyed hash is kept.
 */
#include "admin/admin.h"

#include "core/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "core/log.h"
#include "oauth/clients.h"
#include "oauth/scopes.h"

#define EXIT_USAGE 2
#define DETAIL_MAX 200

json_t *sh_admin_client_json(const sh_oauth_client_rec *c)
{
    char scopes[SH_SCOPE_TEXT_MAX];
    json_t *uris = json_array();
    const char *p = c->redirect_uris;

    while (uris != NULL && *p != '\0') {
        size_t n = strcspn(p, "\n");
        json_array_append_new(uris, json_stringn(p, n));
        p += n;
        if (*p == '\n')
            p++;
    }
    sh_scope_format(c->scopes, scopes, sizeof(scopes));
    return json_pack("{s:o, s:s, s:o, s:s, s:b, s:o, s:o, s:o?}", "client_id", sh_api_id(&c->id),
                     "name", c->name, "redirect_uris", uris, "scopes", scopes, "ifttt_service_key",
                     c->has_service_key, "created_at", sh_api_time(c->created_at), "secret_set_at",
                     sh_api_time(c->secret_set_at), "disabled_at",
                     c->disabled_at ? sh_api_time(c->disabled_at) : NULL);
}

static json_t *secret_json(const sh_id *id, const char *secret)
{
    return json_pack("{s:o, s:s}", "client_id", sh_api_id(id), "client_secret", secret);
}

/* ---- admin API -------------------------------------------------------------------- */

sh_status sh_admin_oauth_clients_create(sh_req *r)
{
    const char *name, *scopes, *key, *uris[SH_STORE_REDIRECT_URIS_MAX];
    char secret[SH_TOKEN_MAX], detail[DETAIL_MAX];
    json_t *arr = json_object_get(r->body, "redirect_uris"), *v;
    size_t i, n = 0;
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_string(r, "name", 256, &name, NULL)) ||
        (rc = sh_req_string(r, "scopes", 256, &scopes, NULL)) ||
        (rc = sh_req_string_opt(r, "ifttt_service_key", 512, &key)))
        return rc;
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > SH_STORE_REDIRECT_URIS_MAX)
        return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                           "field 'redirect_uris' must be an array of 1 to 8 strings");
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return sh_req_fail(r, SH_ERR_INVALID_REQUEST,
                               "field 'redirect_uris' must be an array of 1 to 8 strings");
        uris[n++] = json_string_value(v);
    }
    rc = sh_oauth_client_add(&sh_api_app(r)->oauth, name, uris, n, scopes, key, &id, secret, detail,
                             sizeof(detail));
    if (rc != SH_OK)
        return sh_req_fail(r, rc, detail);
    sh_req_reply(r, 201, secret_json(&id, secret));
    sodium_memzero(secret, sizeof(secret));
    return SH_OK;
}

static void collect_client(void *ctx, const sh_oauth_client_rec *c)
{
    json_array_append_new(ctx, sh_admin_client_json(c));
}

sh_status sh_admin_oauth_clients_list(sh_req *r)
{
    json_t *arr = json_array();
    sh_store *st = sh_api_app(r)->store;
    sh_status rc;

    if (arr == NULL)
        return SH_ERR_NOMEM;
    if ((rc = sh_store_do(st, oauth, client_list, collect_client, arr)) != SH_OK) {
        json_decref(arr);
        return rc;
    }
    return sh_req_reply(r, 200, json_pack("{s:o}", "clients", arr));
}

sh_status sh_admin_oauth_client_rotate(sh_req *r)
{
    char secret[SH_TOKEN_MAX];
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)))
        return rc;
    if ((rc = sh_oauth_client_rotate(&sh_api_app(r)->oauth, &id, secret)) != SH_OK)
        return rc;
    sh_req_reply(r, 200, secret_json(&id, secret));
    sodium_memzero(secret, sizeof(secret));
    return SH_OK;
}

sh_status sh_admin_oauth_client_disable(sh_req *r)
{
    sh_oauth_client_rec c;
    sh_store *st = sh_api_app(r)->store;
    sh_id id;
    sh_status rc;

    if ((rc = sh_req_param_id(r, 0, &id)))
        return rc;
    if ((rc = sh_oauth_client_disable(&sh_api_app(r)->oauth, &id)) != SH_OK)
        return rc;
    if ((rc = sh_store_do(st, oauth, client_get, &id, &c)) != SH_OK)
        return rc;
    return sh_req_reply(r, 200, sh_admin_client_json(&c));
}

/* ---- CLI ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: safehouse admin oauth-client add [--data-dir DIR] --name NAME\n"
               "           --redirect-uri URI [--redirect-uri URI...] --scopes \"SCOPE...\"\n"
               "           [--ifttt-service-key KEY]\n"
               "       safehouse admin oauth-client list [--data-dir DIR]\n"
               "       safehouse admin oauth-client rotate-secret [--data-dir DIR] --client ID\n"
               "       safehouse admin oauth-client disable [--data-dir DIR] --client ID\n"
               "each also takes --store URL, --key-file FILE, --config FILE and --help\n"
               "scopes: devices:read devices:control camera:stream\n");
}

struct client_args {
    const char *name, *scopes, *key, *client;
    const char *uris[SH_STORE_REDIRECT_URIS_MAX];
    size_t nuris;
    sh_config *cfg;
};

enum { C_DATA_DIR = 1, C_NAME, C_URI, C_SCOPES, C_KEY, C_CLIENT, C_STORE, C_KEY_FILE };

static const sh_cli_flag add_flags[] = {
    SH_CLI_FLAG_DATA_DIR(C_DATA_DIR),
    SH_CLI_FLAG_STORE(C_STORE),
    SH_CLI_FLAG_KEY_FILE(C_KEY_FILE),
    {"name", "NAME", C_NAME, "the partner's name, shown on the consent page"},
    {"redirect-uri", "URI", C_URI, "an allowed redirect URI (repeat for more, at most 8)"},
    {"scopes", "\"SCOPE...\"", C_SCOPES, "devices:read devices:control camera:stream"},
    {"ifttt-service-key", "KEY", C_KEY, "IFTTT's service key, for /ifttt/v1/status"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

static const sh_cli_flag list_flags[] = {
    SH_CLI_FLAG_DATA_DIR(C_DATA_DIR),
    SH_CLI_FLAG_STORE(C_STORE),
    SH_CLI_FLAG_KEY_FILE(C_KEY_FILE),
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

static const sh_cli_flag client_flags[] = {
    SH_CLI_FLAG_DATA_DIR(C_DATA_DIR),
    SH_CLI_FLAG_STORE(C_STORE),
    SH_CLI_FLAG_KEY_FILE(C_KEY_FILE),
    {"client", "ID", C_CLIENT, "the client id (32 hex)"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

const sh_cli_cmd sh_admin_oauth_commands[] = {
    {"admin oauth-client add",
     "--name NAME --redirect-uri URI [--redirect-uri URI...] --scopes \"SCOPE...\"\n"
     "           [--ifttt-service-key KEY] [--data-dir DIR] [--store URL]",
     "Registers a partner (Alexa, Google, IFTTT); prints client_id and client_secret once.",
     SH_CLI_FLAGS(add_flags)},
    {"admin oauth-client list", "[--data-dir DIR] [--store URL]",
     "Lists the registered clients (never their secrets).", SH_CLI_FLAGS(list_flags)},
    {"admin oauth-client rotate-secret", "--client ID [--data-dir DIR] [--store URL]",
     "Makes a new client secret (the old one stops working) and prints it once.",
     SH_CLI_FLAGS(client_flags)},
    {"admin oauth-client disable", "--client ID [--data-dir DIR] [--store URL]",
     "Disables a client: its tokens and grants stop working.", SH_CLI_FLAGS(client_flags)},
};
const size_t sh_admin_oauth_commands_count =
    sizeof(sh_admin_oauth_commands) / sizeof(sh_admin_oauth_commands[0]);

static int client_flag(void *ctx, int opt, const char *arg)
{
    struct client_args *a = ctx;

    switch (opt) {
    case C_DATA_DIR:
        snprintf(a->cfg->data_dir, sizeof(a->cfg->data_dir), "%s", arg);
        return 0;
    case C_STORE:
        return sh_config_set_store(a->cfg, arg);
    case C_KEY_FILE:
        return sh_config_set_key_file(a->cfg, arg);
    case C_NAME:
        a->name = arg;
        return 0;
    case C_URI:
        if (a->nuris == SH_STORE_REDIRECT_URIS_MAX) {
            fprintf(stderr, "safehouse: at most 8 --redirect-uri\n");
            return -1;
        }
        a->uris[a->nuris++] = arg;
        return 0;
    case C_SCOPES:
        a->scopes = arg;
        return 0;
    case C_KEY:
        a->key = arg;
        return 0;
    default:
        a->client = arg;
        return 0;
    }
}

static int print_json(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (text == NULL)
        return 1;
    printf("%s\n", text);
    sodium_memzero(text, strlen(text));
    free(text);
    return 0;
}

static int cmd_add(sh_app *app, const struct client_args *a)
{
    char secret[SH_TOKEN_MAX], detail[DETAIL_MAX] = "";
    sh_id id;
    sh_status rc;
    int code;

    if (a->name == NULL || a->scopes == NULL || a->nuris == 0) {
        sh_cli_usage(stderr, &sh_admin_oauth_commands[0]);
        return EXIT_USAGE;
    }
    rc = sh_oauth_client_add(&app->oauth, a->name, a->uris, a->nuris, a->scopes, a->key, &id,
                             secret, detail, sizeof(detail));
    if (rc != SH_OK) {
        fprintf(stderr, "safehouse: %s\n", detail[0] ? detail : sh_status_code(rc));
        return rc == SH_ERR_INVALID_REQUEST ? EXIT_USAGE : 1;
    }
    code = print_json(secret_json(&id, secret));
    sodium_memzero(secret, sizeof(secret));
    return code;
}

static void print_client(void *ctx, const sh_oauth_client_rec *c)
{
    json_array_append_new(ctx, sh_admin_client_json(c));
}

static int cmd_list(sh_app *app)
{
    json_t *arr = json_array();

    if (arr == NULL || sh_store_do(app->store, oauth, client_list, print_client, arr)) {
        json_decref(arr);
        fprintf(stderr, "safehouse: could not read the clients\n");
        return 1;
    }
    return print_json(json_pack("{s:o}", "clients", arr));
}

static int client_id(const struct client_args *a, sh_id *id)
{
    if (a->client == NULL || sh_id_from_hex(a->client, id) != 0 || a->name || a->scopes ||
        a->nuris || a->key) {
        fprintf(stderr, "safehouse: --client takes a 32-hex client id (and nothing else)\n");
        return -1;
    }
    return 0;
}

static int cmd_rotate(sh_app *app, const struct client_args *a)
{
    char secret[SH_TOKEN_MAX];
    sh_id id;
    sh_status rc;
    int code;

    if (client_id(a, &id) != 0)
        return EXIT_USAGE;
    if ((rc = sh_oauth_client_rotate(&app->oauth, &id, secret)) != SH_OK) {
        fprintf(stderr, "safehouse: %s\n",
                rc == SH_ERR_NOT_FOUND ? "no such client" : sh_status_code(rc));
        return 1;
    }
    code = print_json(secret_json(&id, secret));
    sodium_memzero(secret, sizeof(secret));
    return code;
}

static int cmd_disable(sh_app *app, const struct client_args *a)
{
    sh_oauth_client_rec c;
    sh_id id;
    sh_status rc;

    if (client_id(a, &id) != 0)
        return EXIT_USAGE;
    if ((rc = sh_oauth_client_disable(&app->oauth, &id)) != SH_OK) {
        fprintf(stderr, "safehouse: %s\n",
                rc == SH_ERR_NOT_FOUND ? "no such client, or already disabled"
                                       : sh_status_code(rc));
        return 1;
    }
    if (sh_store_do(app->store, oauth, client_get, &id, &c) != SH_OK)
        return 1;
    return print_json(sh_admin_client_json(&c));
}

/* The subcommand argv names (index into commands), or -1. */
static int which(const char *name)
{
    static const char *const names[] = {"add", "list", "rotate-secret", "disable"};

    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
        if (strcmp(name, names[i]) == 0)
            return i;
    }
    return -1;
}

int sh_admin_oauth_cli(int argc, char **argv)
{
    struct client_args a;
    sh_config cfg;
    sh_app app;
    const char *name = argc >= 2 ? argv[1] : "";
    int cmd = which(name), code;

    memset(&a, 0, sizeof(a));
    sh_config_init(&cfg);
    a.cfg = &cfg;
    if (sh_cli_is_help(name)) {
        usage(stdout);
        return 0;
    }
    if (cmd < 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    code = sh_cli_parse(&sh_admin_oauth_commands[cmd], argc - 1, argv + 1, client_flag, &a);
    if (code != SH_CLI_OK)
        return code == SH_CLI_HELP ? 0 : EXIT_USAGE;
    if ((code = sh_admin_open(&cfg, &app)) != 0)
        return code;
    if (cmd == 0)
        code = cmd_add(&app, &a);
    else if (cmd == 1)
        code = cmd_list(&app);
    else if (cmd == 2)
        code = cmd_rotate(&app, &a);
    else
        code = cmd_disable(&app, &a);
    sh_app_close(&app);
    return code;
}
