/* limits.c - the policies (named constants) and their limiters. */
#include "auth/limits.h"

#include <stdlib.h>

#include "core/clock.h"

#define ADDRESS_SLOTS 65536
#define ACCOUNT_SLOTS 65536

/* {name, burst, one token every N seconds, longest back-off in seconds} */
static const struct sh_ratelimit_policy address_policy[SH_LIMIT__COUNT] = {
    [SH_LIMIT_LOGIN] = {"login_address", 20, 0.5, 300},
    [SH_LIMIT_CODE] = {"code_address", 10, 6, 3600},
    [SH_LIMIT_RESET] = {"reset_address", 5, 60, 3600},
    [SH_LIMIT_REGISTER] = {"register_address", 10, 30, 3600},
    [SH_LIMIT_CLAIM] = {"claim_address", 10, 6, 3600},
    [SH_LIMIT_VERIFY] = {"verify_address", 10, 6, 3600},
};

static const struct sh_ratelimit_policy account_policy[SH_LIMIT__COUNT] = {
    [SH_LIMIT_LOGIN] = {"login_failures_account", 10, 60, 900},
    [SH_LIMIT_CODE] = {"code_failures_account", 5, 360, 3600},
    [SH_LIMIT_RESET] = {"reset_requests_account", 3, 600, 3600},
    [SH_LIMIT_CLAIM] = {"claim_failures_account", 5, 60, 3600},
};

struct sh_limits {
    sh_ratelimit *address[SH_LIMIT__COUNT];
    sh_ratelimit *account[SH_LIMIT__COUNT];
};

sh_status sh_limits_new(int per_address, sh_limits **out)
{
    sh_limits *l = calloc(1, sizeof(*l));
    sh_status rc = SH_OK;

    if (l == NULL)
        return SH_ERR_NOMEM;
    for (int k = 1; k < SH_LIMIT__COUNT && rc == SH_OK; k++) {
        if (per_address && address_policy[k].name != NULL)
            rc = sh_ratelimit_new(&address_policy[k], ADDRESS_SLOTS, &l->address[k]);
        if (rc == SH_OK && account_policy[k].name != NULL)
            rc = sh_ratelimit_new(&account_policy[k], ACCOUNT_SLOTS, &l->account[k]);
    }
    if (rc != SH_OK) {
        sh_limits_free(l);
        return rc;
    }
    *out = l;
    return SH_OK;
}

void sh_limits_free(sh_limits *l)
{
    if (l == NULL)
        return;
    for (int k = 0; k < SH_LIMIT__COUNT; k++) {
        sh_ratelimit_free(l->address[k]);
        sh_ratelimit_free(l->account[k]);
    }
    free(l);
}

sh_ratelimit *sh_limits_get(sh_limits *l, enum sh_limit_kind kind, int account)
{
    if (l == NULL || kind <= SH_LIMIT_NONE || kind >= SH_LIMIT__COUNT)
        return NULL;
    return account ? l->account[kind] : l->address[kind];
}

sh_status sh_limits_address(sh_limits *l, enum sh_limit_kind kind, const uint8_t *peer,
                            size_t peer_len, int *retry_after_s)
{
    sh_ratelimit *rl = sh_limits_get(l, kind, 0);

    if (rl == NULL)
        return SH_OK;
    return sh_ratelimit_take(rl, peer, peer_len, sh_clock_now_us(), retry_after_s);
}

sh_status sh_limits_account_check(sh_limits *l, enum sh_limit_kind kind, const void *key,
                                  size_t len, int *retry_after_s)
{
    sh_ratelimit *rl = sh_limits_get(l, kind, 1);

    if (rl == NULL)
        return SH_OK;
    return sh_ratelimit_check(rl, key, len, sh_clock_now_us(), retry_after_s);
}

void sh_limits_account_charge(sh_limits *l, enum sh_limit_kind kind, const void *key, size_t len)
{
    sh_ratelimit *rl = sh_limits_get(l, kind, 1);

    if (rl != NULL)
        sh_ratelimit_charge(rl, key, len, sh_clock_now_us());
}
