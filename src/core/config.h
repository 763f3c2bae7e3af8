/*
 * config.h - settings of `safehouse serve`, from defaults, then environment
 * (SAFEHOUSE_DATA_DIR, SAFEHOUSE_STORE, SAFEHOUSE_LISTEN, SAFEHOUSE_ADMIN_LISTEN), then
 * flags.
 */
#ifndef SH_CONFIG_H
#define SH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/cli.h"

#define SH_CONFIG_PATH_MAX 512
#define SH_CONFIG_ADDR_MAX 128

typedef struct sh_config {
    char data_dir[SH_CONFIG_PATH_MAX];
    char store[SH_CONFIG_PATH_MAX];    /* store URL; "": SQLite in data_dir */
    char key_file[SH_CONFIG_PATH_MAX]; /* --key-file; "": env, credential, data dir */
    char listen[SH_CONFIG_ADDR_MAX];
    char admin_listen[SH_CONFIG_ADDR_MAX];
    unsigned threads;      /* HTTP event threads; default: online cores */
    unsigned hash_workers; /* Argon2id workers; default: online cores */
    unsigned hash_queue;   /* waiting logins before 429 */
    unsigned write_workers;
    unsigned write_queue;
    int64_t access_ttl_s;
    unsigned long long argon2_ops;
    size_t argon2_mem_kib;
    int access_log;
    int log_debug;
    int64_t reauth_window_s;           /* step-up: a login this recent suffices */
    int address_limits;                /* per-client-address limits on */
    char smtp_url[SH_CONFIG_PATH_MAX]; /* "" : spool outgoing mail */
    char mail_from[SH_CONFIG_ADDR_MAX];
    char mail_spool[SH_CONFIG_PATH_MAX]; /* "" : DATA_DIR/mail-spool */
    char issuer[256];                    /* OAuth issuer URL; default http://<listen> */
    int64_t oauth_access_ttl_s;          /* partner access tokens (>= 360) */
    int64_t oauth_code_ttl_s;            /* authorization codes (<= 600) */
    char security_contact[256];          /* security.txt Contact: URI; "" : no file */
    char tls_cert[SH_CONFIG_PATH_MAX];   /* PEM chain; "" : plain HTTP (with tls_key) */
    char tls_key[SH_CONFIG_PATH_MAX];    /* PEM private key of tls_cert */
} sh_config;

/* Fills defaults, then applies the environment. */
void sh_config_init(sh_config *c);
/* Applies `serve` flags (sh_config_serve_cmd). Returns SH_CLI_OK,
 * SH_CLI_HELP (the help is printed) or SH_CLI_ERR (why is printed). */
extern const sh_cli_cmd sh_config_serve_cmd;
int sh_config_parse_serve(sh_config *c, int argc, char **argv);
/* Sets the store URL (sqlite:PATH, postgres://...). Returns 0, or -1 after
 * printing why on stderr. */
int sh_config_set_store(sh_config *c, const char *url);
/* Sets --key-file. Returns 0, or -1 after printing why on stderr. */
int sh_config_set_key_file(sh_config *c, const char *path);
/* Joins the data dir and a file name into out; -1 if it does not fit. */
int sh_config_path(const sh_config *c, const char *file, char *out, size_t cap);

#endif
