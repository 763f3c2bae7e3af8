/*
 * seed.c - `safehouse seed --data-dir DIR --users N [--sessions-per-user K]`.
 *
 * Creates N users (e-mail userI@seed.invalid, sealed like any other) with K
 * app sessions each, through the same domain code as the API but in large
 * transactions, so a 2.4M-user store takes minutes, not days. Every seeded
 * user shares one Argon2id hash of a random password nobody knows: seeded
 * users exist to be counted and looked up, not logged into.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/app.h"
#include "core/cli.h"
#include "auth/accounts.h"
#include "auth/sessions.h"
#include "auth/token_class.h"
#include "core/clock.h"
#include "core/id.h"
#include "crypto/password.h"
#include "devices/devices.h"
#include "tools/tools.h"

/* Users per transaction. With ids in ascending order most pages are
 * written once, full; the few indexes keyed by hashes (e-mail, device
 * token) still take random pages, and each commit writes those again, so
 * fewer, larger commits (with the page cache of SH_STORE_BULK_BYTES). */
#define BATCH 200000

struct seed_args {
    unsigned long users;
    unsigned long sessions;
    const char *password;
};

static const sh_cli_flag seed_flags[] = {
    SH_CLI_FLAG_DATA_DIR('d'),
    SH_CLI_FLAG_STORE('S'),
    SH_CLI_FLAG_KEY_FILE('k'),
    {"users", "N", 'u', "how many users (default 2400000, the size of the 2019 leak)"},
    {"sessions-per-user", "K", 's', "app sessions per user, 0-1000 (default 2)"},
    {"password", "PW", 'p', "one password for every seeded user (default: random, unknown)"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

const sh_cli_cmd sh_tool_seed_cmd = {
    .name = "seed",
    .synopsis = "[--data-dir DIR] [--store URL] [--users N] [--sessions-per-user K] "
                "[--password PW]",
    .summary = "Fills a data dir with synthetic users (userI@seed.invalid), their devices,\n"
               "shares and sessions, for benchmarks. Never on a production data dir.",
    .flags = seed_flags,
    .nflags = sizeof(seed_flags) / sizeof(seed_flags[0]),
};

struct seed_ctx {
    sh_config *cfg;
    struct seed_args *a;
};

static int seed_flag(void *ctx, int opt, const char *arg)
{
    struct seed_ctx *c = ctx;
    char *end;

    switch (opt) {
    case 'd':
        snprintf(c->cfg->data_dir, sizeof(c->cfg->data_dir), "%s", arg);
        return 0;
    case 'S':
        return sh_config_set_store(c->cfg, arg);
    case 'k':
        return sh_config_set_key_file(c->cfg, arg);
    case 'u':
        c->a->users = strtoul(arg, &end, 10);
        return *end != '\0' || c->a->users == 0 ? -1 : 0;
    case 's':
        c->a->sessions = strtoul(arg, &end, 10);
        return *end != '\0' || c->a->sessions > 1000 ? -1 : 0;
    default:
        c->a->password = arg;
        return 0;
    }
}

/* SH_CLI_OK, SH_CLI_HELP or SH_CLI_ERR (see sh_cli_parse). */
static int parse(int argc, char **argv, sh_config *cfg, struct seed_args *a)
{
    struct seed_ctx c = {cfg, a};

    return sh_cli_parse(&sh_tool_seed_cmd, argc, argv, seed_flag, &c);
}

static const int seed_types[] = {SH_DEVICE_CAMERA, SH_DEVICE_PLUG, SH_DEVICE_BULB, SH_DEVICE_SENSOR,
                                 SH_DEVICE_SCALE};

static sh_status seed_devices(sh_app *app, unsigned long i, const sh_user_rec *u, sh_id *prev_user)
{
    char name[32];
    sh_share_rec s;
    sh_id dev;
    unsigned long n = 2 + (i % 2); /* 2.5 devices per user on average */
    sh_status rc = SH_OK;

    for (unsigned long k = 0; rc == SH_OK && k < n; k++) {
        int type = seed_types[(i + k) % 5];
        snprintf(name, sizeof(name), "%s %lu", sh_device_type_name(type), k + 1);
        rc = sh_device_create_owned(&app->auth, u, type, "SEED-1", name, &dev);
        if (rc != SH_OK || (i + k) % 4 != 0 || sh_id_is_zero(prev_user))
            continue;
        memset(&s, 0, sizeof(s));
        sh_id_random(&s.id);
        s.device_id = dev;
        s.generation = 1;
        s.user_id = *prev_user;
        s.role = SH_ROLE_VIEWER;
        s.created_at = sh_clock_now_us();
        rc = sh_store_do(app->store, devices, share_insert, &s);
    }
    return rc;
}

static sh_status seed_user(sh_app *app, unsigned long i, const char *pw_hash,
                           unsigned long sessions, sh_id *prev_user)
{
    char email[64];
    sh_user_rec u;
    sh_token_pair t;
    sh_status rc;

    snprintf(email, sizeof(email), "user%lu@seed.invalid", i);
    rc = sh_account_create_hashed(&app->auth, email, pw_hash, NULL, &u);
    if (rc == SH_ERR_EMAIL_TAKEN)
        return SH_OK; /* seeding twice is harmless */
    for (unsigned long s = 0; rc == SH_OK && s < sessions; s++)
        rc = sh_session_open(&app->auth, &u, (int)(1 + s % (SH_CLASS__COUNT - 1)), NULL, &t);
    if (rc == SH_OK)
        rc = seed_devices(app, i, &u, prev_user);
    if (rc == SH_OK)
        *prev_user = u.id;
    sodium_memzero(&t, sizeof(t));
    sh_user_rec_clear(&u);
    return rc;
}

int sh_tool_seed(int argc, char **argv)
{
    struct seed_args a = {2400000, 2, NULL};
    char pw_hash[SH_PASSWORD_HASH_MAX];
    uint8_t pw[32];
    sh_config cfg;
    sh_app app;
    sh_status rc = SH_OK;
    sh_store *tx;
    sh_id prev_user;
    int64_t t0 = sh_clock_now_us();
    int code;

    memset(&prev_user, 0, sizeof(prev_user));

    sh_config_init(&cfg);
    if ((code = parse(argc, argv, &cfg, &a)) != SH_CLI_OK)
        return code == SH_CLI_HELP ? 0 : 2;
    if (sh_app_open(&app, &cfg) != SH_OK) {
        fprintf(stderr, "safehouse: cannot open data dir %s\n", cfg.data_dir);
        sh_app_close(&app);
        return 1;
    }
    randombytes_buf(pw, sizeof(pw));
    if (a.password != NULL)
        rc = sh_password_hash(a.password, strlen(a.password), pw_hash);
    else
        rc = sh_password_hash((const char *)pw, sizeof(pw), pw_hash);
    sodium_memzero(pw, sizeof(pw));
    /* every id the load draws, each user's row, sessions, devices and
     * shares, comes in ascending order: see sh_id_ascending_begin */
    sh_id_ascending_begin((uint64_t)a.users * (a.sessions + 5));
    if (rc == SH_OK)
        rc = sh_store_do(app.store, core, bulk_hint, SH_STORE_BULK_BYTES);
    for (unsigned long i = 0; rc == SH_OK && i < a.users; i += BATCH) {
        if ((rc = sh_store_tx_begin(app.store, &tx)) != SH_OK)
            break;
        for (unsigned long j = i; rc == SH_OK && j < i + BATCH && j < a.users; j++)
            rc = seed_user(&app, j, pw_hash, a.sessions, &prev_user);
        sh_status end = sh_store_tx_end(tx, rc);
        if (rc == SH_OK)
            rc = end;
        fprintf(stderr, "seed: %lu users\n", i + BATCH < a.users ? i + BATCH : a.users);
    }
    sh_id_ascending_end();
    sh_app_close(&app);
    if (rc != SH_OK) {
        fprintf(stderr, "safehouse: seeding failed (%s)\n", sh_status_code(rc));
        return 1;
    }
    printf("{\"users\":%lu,\"sessions\":%lu,\"devices\":%lu,\"seconds\":%.1f}\n", a.users,
           a.users * a.sessions, a.users / 2 * 5 + (a.users % 2) * 2,
           (double)(sh_clock_now_us() - t0) / SH_USEC);
    return 0;
}
