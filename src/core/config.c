/* config.c - defaults, environment and command-line flags for serve. */
#include "core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_str(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src); }

static unsigned online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : (n > 16 ? 16 : (unsigned)n);
}

void sh_config_init(sh_config *c)
{
    const char *v;

    memset(c, 0, sizeof(*c));
    set_str(c->data_dir, sizeof(c->data_dir), "var");
    set_str(c->listen, sizeof(c->listen), "127.0.0.1:8080");
    set_str(c->admin_listen, sizeof(c->admin_listen), "127.0.0.1:8081");
    c->threads = online_cores();
    c->hash_workers = online_cores();
    c->hash_queue = 64;
    /* writers mostly wait for a (group) commit, not for CPU */
    c->write_workers = 32;
    c->write_queue = 4096;
    c->access_ttl_s = 900;
    c->argon2_ops = 2;
    c->argon2_mem_kib = (size_t)19 * 1024;
    c->access_log = 1;
    c->address_limits = 1;
    c->reauth_window_s = 300;
    set_str(c->mail_from, sizeof(c->mail_from), "safehouse@localhost");
    c->oauth_access_ttl_s = 3600;
    c->oauth_code_ttl_s = 600;
    if ((v = getenv("SAFEHOUSE_ISSUER")) != NULL && *v)
        set_str(c->issuer, sizeof(c->issuer), v);
    if ((v = getenv("SAFEHOUSE_DATA_DIR")) != NULL && *v)
        set_str(c->data_dir, sizeof(c->data_dir), v);
    if ((v = getenv("SAFEHOUSE_STORE")) != NULL && *v)
        set_str(c->store, sizeof(c->store), v);
    if ((v = getenv("SAFEHOUSE_LISTEN")) != NULL && *v)
        set_str(c->listen, sizeof(c->listen), v);
    if ((v = getenv("SAFEHOUSE_ADMIN_LISTEN")) != NULL && *v)
        set_str(c->admin_listen, sizeof(c->admin_listen), v);
}

/* Parses an unsigned number within [lo, hi]; -1 if not one. */
static int parse_num(const char *flag, const char *text, unsigned long long lo,
                     unsigned long long hi, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '\0' || text[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "safehouse: %s needs a number from %llu to %llu\n", flag, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    OPT_DATA_DIR = 1000,
    OPT_LISTEN,
    OPT_ADMIN_LISTEN,
    OPT_THREADS,
    OPT_ACCESS_TTL,
    OPT_ARGON_OPS,
    OPT_ARGON_MEM,
    OPT_NO_ACCESS_LOG,
    OPT_DEBUG,
    OPT_HASH_QUEUE,
    OPT_SMTP_URL,
    OPT_MAIL_FROM,
    OPT_MAIL_SPOOL,
    OPT_NO_ADDRESS_LIMITS,
    OPT_REAUTH_WINDOW,
    OPT_ISSUER,
    OPT_OAUTH_ACCESS_TTL,
    OPT_OAUTH_CODE_TTL,
    OPT_STORE,
    OPT_SECURITY_CONTACT,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_KEY_FILE,
};

/* Every flag of `safehouse serve`; docs/operations.md has the same table. */
static const sh_cli_flag serve_flags[] = {
    SH_CLI_FLAG_DATA_DIR(OPT_DATA_DIR),
    SH_CLI_FLAG_STORE(OPT_STORE),
    SH_CLI_FLAG_KEY_FILE(OPT_KEY_FILE),
    {"listen", "ADDR:PORT", OPT_LISTEN,
     "public API address (env SAFEHOUSE_LISTEN; default 127.0.0.1:8080)"},
    {"admin-listen", "ADDR:PORT", OPT_ADMIN_LISTEN,
     "admin API address (env SAFEHOUSE_ADMIN_LISTEN; default 127.0.0.1:8081)"},
    {"threads", "N", OPT_THREADS,
     "HTTP event threads of the public listener, 1-64 (default: cores)"},
    {"access-ttl", "SECONDS", OPT_ACCESS_TTL, "access token lifetime, 1-86400 (default 900)"},
    {"argon2-ops", "N", OPT_ARGON_OPS, "Argon2id passes for new password hashes, 1-16 (default 2)"},
    {"argon2-mem-kib", "N", OPT_ARGON_MEM,
     "Argon2id memory for new password hashes, 8192-4194304 (default 19456)"},
    {"hash-queue", "N", OPT_HASH_QUEUE,
     "logins waiting for a hash worker before 429, 1-100000 (default 64)"},
    {"no-access-log", NULL, OPT_NO_ACCESS_LOG, "no per-request log lines"},
    {"debug", NULL, OPT_DEBUG, "also log debug events"},
    {"smtp-url", "URL", OPT_SMTP_URL, "send mail over smtp://host:port or smtps://host:port"},
    {"mail-from", "ADDR", OPT_MAIL_FROM, "sender of outgoing mail (default safehouse@localhost)"},
    {"mail-spool", "DIR", OPT_MAIL_SPOOL,
     "without --smtp-url: where .eml files go (default DIR/mail-spool)"},
    {"reauth-window", "SECONDS", OPT_REAUTH_WINDOW,
     "a login this recent passes step-up, 1-3600 (default 300)"},
    {"no-address-limits", NULL, OPT_NO_ADDRESS_LIMITS, "turn the per-client-address limits off"},
    {"issuer", "URL", OPT_ISSUER,
     "OAuth issuer URL (env SAFEHOUSE_ISSUER; default http://LISTEN, https:// with TLS)"},
    {"oauth-access-ttl", "SECONDS", OPT_OAUTH_ACCESS_TTL,
     "partner access token lifetime, 360-86400 (default 3600)"},
    {"oauth-code-ttl", "SECONDS", OPT_OAUTH_CODE_TTL,
     "authorization code lifetime, 1-600 (default 600)"},
    {"security-contact", "URI", OPT_SECURITY_CONTACT,
     "Contact: of /.well-known/security.txt (mailto:, https: or tel:; default: no file)"},
    {"tls-cert", "FILE", OPT_TLS_CERT,
     "serve HTTPS on both listeners with this PEM certificate chain (with --tls-key)"},
    {"tls-key", "FILE", OPT_TLS_KEY,
     "the PEM private key of --tls-cert; SIGHUP reloads both files"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

const sh_cli_cmd sh_config_serve_cmd = {
    .name = "serve",
    .synopsis = "[FLAGS]",
    .summary = "Runs the public API and the admin API until SIGTERM or SIGINT; SIGHUP reloads\n"
               "the TLS certificate and key. Flags override the --config file, which overrides\n"
               "the environment (SAFEHOUSE_*), which overrides the defaults. The master key (64\n"
               "hex characters) is --key-file FILE, else SAFEHOUSE_MASTER_KEY, else\n"
               "$CREDENTIALS_DIRECTORY/master.key (systemd's LoadCredential=), else\n"
               "DIR/master.key (created at first start). Under systemd (NOTIFY_SOCKET) it\n"
               "reports READY=1, STOPPING=1 and watchdog pings.",
    .flags = serve_flags,
    .nflags = sizeof(serve_flags) / sizeof(serve_flags[0]),
};

/* RFC 9116 2.5.3: a URI; https and mailto are what scanners follow. */
static int set_security_contact(sh_config *c, const char *v)
{
    if (strlen(v) >= sizeof(c->security_contact) || strpbrk(v, "\r\n ") != NULL ||
        (strncmp(v, "mailto:", 7) != 0 && strncmp(v, "https://", 8) != 0 &&
         strncmp(v, "tel:", 4) != 0)) {
        fprintf(stderr, "safehouse: --security-contact needs a mailto:, https:// or tel: URI of "
                        "at most 255 characters\n");
        return -1;
    }
    set_str(c->security_contact, sizeof(c->security_contact), v);
    return 0;
}

static int set_tls_flag(sh_config *c, int opt, const char *arg)
{
    char *dst = opt == OPT_TLS_CERT ? c->tls_cert : c->tls_key;

    if (arg[0] == '\0' || strlen(arg) >= SH_CONFIG_PATH_MAX) {
        fprintf(stderr, "safehouse: --%s needs a file name of at most %d characters\n",
                opt == OPT_TLS_CERT ? "tls-cert" : "tls-key", SH_CONFIG_PATH_MAX - 1);
        return -1;
    }
    set_str(dst, SH_CONFIG_PATH_MAX, arg);
    return 0;
}

static int set_mail_flag(sh_config *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_SMTP_URL:
        if (strncmp(arg, "smtp://", 7) != 0 && strncmp(arg, "smtps://", 8) != 0) {
            fprintf(stderr, "safehouse: --smtp-url must start with smtp:// or smtps://\n");
            return -1;
        }
        set_str(c->smtp_url, sizeof(c->smtp_url), arg);
        return 0;
    case OPT_MAIL_FROM:
        if (strchr(arg, '@') == NULL || strpbrk(arg, "\r\n<> ") != NULL) {
            fprintf(stderr, "safehouse: --mail-from needs a plain address\n");
            return -1;
        }
        set_str(c->mail_from, sizeof(c->mail_from), arg);
        return 0;
    default:
        set_str(c->mail_spool, sizeof(c->mail_spool), arg);
        return 0;
    }
}

static int set_oauth_flag(sh_config *c, int opt, const char *arg)
{
    unsigned long long v;

    switch (opt) {
    case OPT_ISSUER:
        if (strlen(arg) >= sizeof(c->issuer) ||
            (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0)) {
            fprintf(stderr, "safehouse: --issuer needs an http(s) URL of at most 255 "
                            "characters\n");
            return -1;
        }
        set_str(c->issuer, sizeof(c->issuer), arg);
        return 0;
    case OPT_OAUTH_ACCESS_TTL:
        /* Alexa refuses access tokens that live less than 6 minutes */
        if (parse_num("--oauth-access-ttl", arg, 360, 86400, &v))
            return -1;
        c->oauth_access_ttl_s = (int64_t)v;
        return 0;
    default:
        if (parse_num("--oauth-code-ttl", arg, 1, 600, &v))
            return -1;
        c->oauth_code_ttl_s = (int64_t)v;
        return 0;
    }
}

/* The numeric flags. */
static int set_num_flag(sh_config *c, int opt, const char *arg)
{
    unsigned long long v;

    switch (opt) {
    case OPT_THREADS:
        if (parse_num("--threads", arg, 1, 64, &v))
            return -1;
        c->threads = (unsigned)v;
        return 0;
    case OPT_ACCESS_TTL:
        if (parse_num("--access-ttl", arg, 1, 86400, &v))
            return -1;
        c->access_ttl_s = (int64_t)v;
        return 0;
    case OPT_ARGON_OPS:
        if (parse_num("--argon2-ops", arg, 1, 16, &v))
            return -1;
        c->argon2_ops = v;
        return 0;
    case OPT_ARGON_MEM:
        if (parse_num("--argon2-mem-kib", arg, 8192, 4ULL * 1024 * 1024, &v))
            return -1;
        c->argon2_mem_kib = (size_t)v;
        return 0;
    case OPT_HASH_QUEUE:
        if (parse_num("--hash-queue", arg, 1, 100000, &v))
            return -1;
        c->hash_queue = (unsigned)v;
        return 0;
    default:
        if (parse_num("--reauth-window", arg, 1, 3600, &v))
            return -1;
        c->reauth_window_s = (int64_t)v;
        return 0;
    }
}

static int serve_flag(void *ctx, int opt, const char *arg)
{
    sh_config *c = ctx;

    switch (opt) {
    case OPT_DATA_DIR:
        set_str(c->data_dir, sizeof(c->data_dir), arg);
        return 0;
    case OPT_STORE:
        return sh_config_set_store(c, arg);
    case OPT_KEY_FILE:
        return sh_config_set_key_file(c, arg);
    case OPT_LISTEN:
        set_str(c->listen, sizeof(c->listen), arg);
        return 0;
    case OPT_ADMIN_LISTEN:
        set_str(c->admin_listen, sizeof(c->admin_listen), arg);
        return 0;
    case OPT_NO_ACCESS_LOG:
        c->access_log = 0;
        return 0;
    case OPT_DEBUG:
        c->log_debug = 1;
        return 0;
    case OPT_NO_ADDRESS_LIMITS:
        c->address_limits = 0;
        return 0;
    case OPT_SECURITY_CONTACT:
        return set_security_contact(c, arg);
    case OPT_TLS_CERT:
    case OPT_TLS_KEY:
        return set_tls_flag(c, opt, arg);
    case OPT_SMTP_URL:
    case OPT_MAIL_FROM:
    case OPT_MAIL_SPOOL:
        return set_mail_flag(c, opt, arg);
    case OPT_ISSUER:
    case OPT_OAUTH_ACCESS_TTL:
    case OPT_OAUTH_CODE_TTL:
        return set_oauth_flag(c, opt, arg);
    default:
        return set_num_flag(c, opt, arg);
    }
}

int sh_config_parse_serve(sh_config *c, int argc, char **argv)
{
    int rc = sh_cli_parse(&sh_config_serve_cmd, argc, argv, serve_flag, c);

    /* half a TLS configuration is a mistake, not plain HTTP */
    if (rc == SH_CLI_OK && (c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
        fprintf(stderr, "safehouse: --tls-cert and --tls-key go together: give both or neither\n");
        sh_cli_usage(stderr, &sh_config_serve_cmd);
        return SH_CLI_ERR;
    }
    return rc;
}

int sh_config_set_store(sh_config *c, const char *url)
{
    if (strlen(url) >= sizeof(c->store) ||
        (strncmp(url, "sqlite:", 7) != 0 && strncmp(url, "postgres://", 11) != 0 &&
         strncmp(url, "postgresql://", 13) != 0)) {
        fprintf(stderr, "safehouse: --store takes sqlite:PATH or postgres://...\n");
        return -1;
    }
    set_str(c->store, sizeof(c->store), url);
    return 0;
}

int sh_config_set_key_file(sh_config *c, const char *path)
{
    if (*path == '\0' || strlen(path) >= sizeof(c->key_file)) {
        fprintf(stderr, "safehouse: --key-file needs a path of at most %zu characters\n",
                sizeof(c->key_file) - 1);
        return -1;
    }
    set_str(c->key_file, sizeof(c->key_file), path);
    return 0;
}

int sh_config_path(const sh_config *c, const char *file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", c->data_dir, file);

    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}
