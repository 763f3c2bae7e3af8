/* config.c - defaults, environment and command-line flags for serve. */
#include "core/config.h"

#include <errno.h>
#include <getopt.h>
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
};

static const struct option serve_opts[] = {
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"store", required_argument, NULL, OPT_STORE},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"admin-listen", required_argument, NULL, OPT_ADMIN_LISTEN},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"access-ttl", required_argument, NULL, OPT_ACCESS_TTL},
    {"argon2-ops", required_argument, NULL, OPT_ARGON_OPS},
    {"argon2-mem-kib", required_argument, NULL, OPT_ARGON_MEM},
    {"hash-queue", required_argument, NULL, OPT_HASH_QUEUE},
    {"no-access-log", no_argument, NULL, OPT_NO_ACCESS_LOG},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"smtp-url", required_argument, NULL, OPT_SMTP_URL},
    {"mail-from", required_argument, NULL, OPT_MAIL_FROM},
    {"mail-spool", required_argument, NULL, OPT_MAIL_SPOOL},
    {"no-address-limits", no_argument, NULL, OPT_NO_ADDRESS_LIMITS},
    {"reauth-window", required_argument, NULL, OPT_REAUTH_WINDOW},
    {"issuer", required_argument, NULL, OPT_ISSUER},
    {"oauth-access-ttl", required_argument, NULL, OPT_OAUTH_ACCESS_TTL},
    {"oauth-code-ttl", required_argument, NULL, OPT_OAUTH_CODE_TTL},
    {"security-contact", required_argument, NULL, OPT_SECURITY_CONTACT},
    {NULL, 0, NULL, 0},
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

int sh_config_parse_serve(sh_config *c, int argc, char **argv)
{
    unsigned long long v;
    int opt;

    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "", serve_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_DATA_DIR:
            set_str(c->data_dir, sizeof(c->data_dir), optarg);
            break;
        case OPT_STORE:
            if (sh_config_set_store(c, optarg) != 0)
                return -1;
            break;
        case OPT_LISTEN:
            set_str(c->listen, sizeof(c->listen), optarg);
            break;
        case OPT_ADMIN_LISTEN:
            set_str(c->admin_listen, sizeof(c->admin_listen), optarg);
            break;
        case OPT_THREADS:
            if (parse_num("--threads", optarg, 1, 64, &v))
                return -1;
            c->threads = (unsigned)v;
            break;
        case OPT_ACCESS_TTL:
            if (parse_num("--access-ttl", optarg, 1, 86400, &v))
                return -1;
            c->access_ttl_s = (int64_t)v;
            break;
        case OPT_ARGON_OPS:
            if (parse_num("--argon2-ops", optarg, 1, 16, &v))
                return -1;
            c->argon2_ops = v;
            break;
        case OPT_ARGON_MEM:
            if (parse_num("--argon2-mem-kib", optarg, 8192, 4ULL * 1024 * 1024, &v))
                return -1;
            c->argon2_mem_kib = (size_t)v;
            break;
        case OPT_HASH_QUEUE:
            if (parse_num("--hash-queue", optarg, 1, 100000, &v))
                return -1;
            c->hash_queue = (unsigned)v;
            break;
        case OPT_NO_ACCESS_LOG:
            c->access_log = 0;
            break;
        case OPT_DEBUG:
            c->log_debug = 1;
            break;
        case OPT_SMTP_URL:
            if (strncmp(optarg, "smtp://", 7) != 0 && strncmp(optarg, "smtps://", 8) != 0) {
                fprintf(stderr, "safehouse: --smtp-url must start with smtp:// or smtps://\n");
                return -1;
            }
            set_str(c->smtp_url, sizeof(c->smtp_url), optarg);
            break;
        case OPT_MAIL_FROM:
            if (strchr(optarg, '@') == NULL || strpbrk(optarg, "\r\n<> ") != NULL) {
                fprintf(stderr, "safehouse: --mail-from needs a plain address\n");
                return -1;
            }
            set_str(c->mail_from, sizeof(c->mail_from), optarg);
            break;
        case OPT_MAIL_SPOOL:
            set_str(c->mail_spool, sizeof(c->mail_spool), optarg);
            break;
        case OPT_REAUTH_WINDOW:
            if (parse_num("--reauth-window", optarg, 1, 3600, &v))
                return -1;
            c->reauth_window_s = (int64_t)v;
            break;
        case OPT_NO_ADDRESS_LIMITS:
            c->address_limits = 0;
            break;
        case OPT_ISSUER:
            if (strlen(optarg) >= sizeof(c->issuer) ||
                (strncmp(optarg, "https://", 8) != 0 && strncmp(optarg, "http://", 7) != 0)) {
                fprintf(stderr, "safehouse: --issuer needs an http(s) URL of at most 255 "
                                "characters\n");
                return -1;
            }
            set_str(c->issuer, sizeof(c->issuer), optarg);
            break;
        case OPT_OAUTH_ACCESS_TTL:
            /* Alexa refuses access tokens that live less than 6 minutes */
            if (parse_num("--oauth-access-ttl", optarg, 360, 86400, &v))
                return -1;
            c->oauth_access_ttl_s = (int64_t)v;
            break;
        case OPT_OAUTH_CODE_TTL:
            if (parse_num("--oauth-code-ttl", optarg, 1, 600, &v))
                return -1;
            c->oauth_code_ttl_s = (int64_t)v;
            break;
        case OPT_SECURITY_CONTACT:
            if (set_security_contact(c, optarg) != 0)
                return -1;
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

int sh_config_path(const sh_config *c, const char *file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", c->data_dir, file);

    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}
