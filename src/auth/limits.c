/*
 * limits.c - the policies (named constants) and their buckets: per address
 * in memory, per account in the store when there is one (see limits.h).
 *
 * Both per-account paths apply the same pure functions of core/ratelimit.h
 * to the same integer state, so a bucket in the store answers exactly as
 * one in memory would.
 */
#include "auth/limits.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/store_mfa.h"

#define ADDRESS_SLOTS 65536
#define ACCOUNT_SLOTS 65536
/* Bounds a stored bucket is clamped into before use, so that a damaged row
 * cannot overflow the arithmetic: more strikes change nothing, and 2^62 us
 * is well past the year 100,000 (tokens above the burst read as full). */
#define STRIKES_MAX 62
#define VALUE_MAX (INT64_C(1) << 62)

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
    sh_ratelimit *account[SH_LIMIT__COUNT]; /* only without a store */
    sh_store *store;                        /* borrowed; NULL: accounts in memory */
};

sh_status sh_limits_new(int per_address, sh_store *st, sh_limits **out)
{
    sh_limits *l = calloc(1, sizeof(*l));
    sh_status rc = SH_OK;

    if (l == NULL)
        return SH_ERR_NOMEM;
    l->store = st;
    for (int k = 1; k < SH_LIMIT__COUNT && rc == SH_OK; k++) {
        if (per_address && address_policy[k].name != NULL)
            rc = sh_ratelimit_new(&address_policy[k], ADDRESS_SLOTS, &l->address[k]);
        if (rc == SH_OK && st == NULL && account_policy[k].name != NULL)
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

/* ---- per-account buckets in the store ------------------------------------ */

/* The policy of a per-account limit in the store, or NULL (none, or the
 * limits keep accounts in memory). */
static const struct sh_ratelimit_policy *stored_policy(const sh_limits *l, enum sh_limit_kind kind)
{
    if (l == NULL || l->store == NULL || kind <= SH_LIMIT_NONE || kind >= SH_LIMIT__COUNT ||
        account_policy[kind].name == NULL)
        return NULL;
    return &account_policy[kind];
}

/* The row key: BLAKE2b-256 of the policy name with its NUL (names contain
 * none, so no name runs into a key) and the caller's key. */
static void row_key(const struct sh_ratelimit_policy *p, const void *key, size_t len,
                    uint8_t out[SH_STORE_HASH_LEN])
{
    crypto_generichash_state h;

    crypto_generichash_init(&h, NULL, 0, SH_STORE_HASH_LEN);
    crypto_generichash_update(&h, (const unsigned char *)p->name, strlen(p->name) + 1);
    crypto_generichash_update(&h, key, len);
    crypto_generichash_final(&h, out, SH_STORE_HASH_LEN);
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

static void from_rec(const sh_limit_rec *r, sh_ratelimit_bucket *b)
{
    b->strikes = (uint32_t)clamp(r->strikes, 0, STRIKES_MAX);
    b->tokens = clamp(r->tokens, 0, VALUE_MAX); /* above burst reads as full */
    b->last_us = clamp(r->last_us, 0, VALUE_MAX);
    b->blocked_until = clamp(r->blocked_until, 0, VALUE_MAX);
}

static void to_rec(const sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p,
                   sh_limit_rec *r)
{
    r->strikes = b->strikes;
    r->tokens = b->tokens;
    r->last_us = b->last_us;
    r->blocked_until = b->blocked_until;
    r->idle_at = sh_ratelimit_bucket_idle_at(b, p);
}

static sh_status store_check(const sh_limits *l, const struct sh_ratelimit_policy *p,
                             const void *key, size_t len, int *retry_after_s)
{
    uint8_t k[SH_STORE_HASH_LEN];
    sh_ratelimit_bucket b;
    sh_limit_rec r;
    sh_status rc;

    row_key(p, key, len, k);
    rc = sh_store_do(l->store, mfa, limit_get, k, &r);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_OK; /* a full bucket: every valid policy allows one try */
    if (rc != SH_OK) {
        sh_log_event(SH_LOG_WARN, "limit_check_failed", "policy", p->name);
        if (retry_after_s != NULL)
            *retry_after_s = 1;
        return SH_ERR_STORE; /* closed: no store, no guessing */
    }
    from_rec(&r, &b);
    return sh_ratelimit_bucket_check(&b, p, sh_clock_now_us(), retry_after_s);
}

struct charge_ctx {
    const struct sh_ratelimit_policy *p;
};

/* The store's read-modify-write calls this with the bucket as stored (or
 * none); the clock is read here, as it may run again. */
static void charge_fn(void *ctx, sh_limit_rec *r, int found)
{
    const struct charge_ctx *a = ctx;
    int64_t now = sh_clock_now_us();
    sh_ratelimit_bucket b;

    if (found)
        from_rec(r, &b);
    else
        sh_ratelimit_bucket_init(&b, a->p, now);
    sh_ratelimit_bucket_charge(&b, a->p, now);
    to_rec(&b, a->p, r);
}

static void store_charge(const sh_limits *l, const struct sh_ratelimit_policy *p, const void *key,
                         size_t len)
{
    struct charge_ctx a = {p};
    uint8_t k[SH_STORE_HASH_LEN];

    row_key(p, key, len, k);
    if (sh_store_do(l->store, mfa, limit_update, k, charge_fn, &a) != SH_OK)
        sh_log_event(SH_LOG_WARN, "limit_charge_failed", "policy", p->name);
}

/* ---- per account --------------------------------------------------------- */

sh_status sh_limits_account_check(sh_limits *l, enum sh_limit_kind kind, const void *key,
                                  size_t len, int *retry_after_s)
{
    const struct sh_ratelimit_policy *p = stored_policy(l, kind);
    sh_ratelimit *rl;

    if (p != NULL)
        return store_check(l, p, key, len, retry_after_s);
    if ((rl = sh_limits_get(l, kind, 1)) == NULL)
        return SH_OK;
    return sh_ratelimit_check(rl, key, len, sh_clock_now_us(), retry_after_s);
}

void sh_limits_account_charge(sh_limits *l, enum sh_limit_kind kind, const void *key, size_t len)
{
    const struct sh_ratelimit_policy *p = stored_policy(l, kind);
    sh_ratelimit *rl;

    if (p != NULL)
        store_charge(l, p, key, len);
    else if ((rl = sh_limits_get(l, kind, 1)) != NULL)
        sh_ratelimit_charge(rl, key, len, sh_clock_now_us());
}
