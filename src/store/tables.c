/*
 * tables.c - the schema's tables in foreign-key order (see tables.h).
 * Keep it in step with migrations/<backend>/NNN_*.sql: both backends have
 * the same tables and columns.
 */
#include "store/tables.h"

#include <string.h>

/* One table a line; after the name, what it references. */
/* clang-format off */
const char *const sh_store_tables[] = {
    /* 001_init */
    "users",
    "sessions",             /* -> users */
    "refresh_tokens",       /* -> sessions */
    "revocation_rules",
    "meta",
    /* 002_devices */
    "devices",              /* -> users */
    "device_shares",        /* -> devices, users */
    "relays",
    /* 003_mfa_mail */
    "mfa_totp",             /* -> users */
    "mfa_recovery",         /* -> users */
    "mfa_challenges",       /* -> users */
    "user_tokens",          /* -> users */
    "known_logins",         /* -> users */
    "mail_outbox",          /* -> users */
    /* 004_oauth */
    "oauth_clients",
    "oauth_codes",          /* -> oauth_clients, users */
    "oauth_grants",         /* -> users, oauth_clients */
    "oauth_grant_devices",  /* -> oauth_grants, devices */
    "oauth_refresh_tokens", /* -> oauth_grants */
    /* 005_limits */
    "limit_buckets",
};
/* clang-format on */

const int sh_store_tables_count = (int)(sizeof(sh_store_tables) / sizeof(sh_store_tables[0]));

int sh_store_table_index(const char *name)
{
    for (int i = 0; i < sh_store_tables_count; i++) {
        if (strcmp(sh_store_tables[i], name) == 0)
            return i;
    }
    return -1;
}

int sh_store_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > SH_STORE_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}
