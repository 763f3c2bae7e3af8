/*
 * ratelimit.h - keyed token buckets with growing back-off, in memory.
 *
 * One sh_ratelimit holds the buckets of one policy (for example "login
 * failures per account") for any number of keys (an account's blind index,
 * a user id, a client address prefix, a device id). A key starts with a
 * full bucket of `burst` tokens; one token comes back every `interval_s`
 * seconds. Whenever a charge leaves less than one token, strikes grows by
 * one and the key is blocked for interval_s * 2^(strikes - 1) seconds
 * (capped at backoff_max_s); nothing refills during a block, and when it
 * ends the key has exactly one attempt. A client that keeps failing waits
 * twice as long each time. Strikes are forgiven after a whole refill period
 * (burst * interval_s) without a block. Either way a key never gets more
 * than burst + elapsed / interval_s attempts: that bound is what the
 * documented guessing arithmetic relies on.
 *
 * Two ways to use it:
 *   - take:  every attempt costs a token (per-address limits);
 *   - check, then charge on failure only (per-account limits on passwords
 *     and codes, so that a legitimate user's successes cost nothing).
 *
 * Memory is bounded: a fixed table of slots (open addressing, a short probe
 * window). A slot whose key has fully recovered is free for reuse; when the
 * window holds none, the least recently touched slot is taken over. Keys are
 * hashed with a per-process random key, so a client cannot aim at a slot.
 * Thread-safe (one mutex per limiter; every operation is a few memory
 * accesses). The table is per process: several nodes each apply their own.
 *
 * The arithmetic itself is a set of pure functions on a plain bucket state
 * (sh_ratelimit_bucket_*), which the table uses and which callers may apply
 * to a bucket kept elsewhere (auth/limits.c keeps the per-account buckets in
 * the store, shared by every node): the same state, policy and time give
 * the same answer on both paths. The state is integer (tokens in millionths,
 * times in microseconds), so it can be stored and read back exactly;
 * fractions of a millionth are rounded down, that is, against the client.
 */
#ifndef SH_RATELIMIT_H
#define SH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct sh_ratelimit sh_ratelimit;

/* Bounds on a policy, so that the integer arithmetic cannot overflow. */
#define SH_RATELIMIT_BURST_MAX 1000000.0
#define SH_RATELIMIT_INTERVAL_MAX_S 1000000.0
/* One token, in the unit of sh_ratelimit_bucket.tokens. */
#define SH_RATELIMIT_UNIT 1000000LL

struct sh_ratelimit_policy {
    const char *name;     /* for logs and docs, e.g. "login_account" */
    double burst;         /* bucket size: attempts allowed at once (>= 1) */
    double interval_s;    /* one token returns every interval_s seconds (> 0) */
    double backoff_max_s; /* longest block after repeated exhaustion */
};

/* The state of one key's bucket: plain data, valid anywhere (memory, a
 * store row). Only the functions below change it. */
typedef struct sh_ratelimit_bucket {
    uint32_t strikes;      /* blocks since the last quiet period */
    int64_t tokens;        /* at last_us, in 1/SH_RATELIMIT_UNIT tokens */
    int64_t last_us;       /* when tokens held; the end of a block while blocked */
    int64_t blocked_until; /* end of the last block (0: never blocked) */
} sh_ratelimit_bucket;

/* 1 when p can be used: 1 <= burst <= SH_RATELIMIT_BURST_MAX,
 * 0 < interval_s <= SH_RATELIMIT_INTERVAL_MAX_S and backoff_max_s >= 0 (and
 * under 2^60 us); else 0. Every function below requires a valid policy. */
int sh_ratelimit_policy_valid(const struct sh_ratelimit_policy *p);
/* A full bucket with no strikes at now_us: what a key has never seen. */
void sh_ratelimit_bucket_init(sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p,
                              int64_t now_us);
/* SH_OK if an attempt would be allowed at now_us, else SH_ERR_RATE_LIMITED
 * and *retry_after_s (may be NULL) set to the whole seconds to wait, 1 to
 * 86400. Changes nothing. */
sh_status sh_ratelimit_bucket_check(const sh_ratelimit_bucket *b,
                                    const struct sh_ratelimit_policy *p, int64_t now_us,
                                    int *retry_after_s);
/* Takes one token at now_us (allowed or not: a failure after the fact),
 * starting or growing the back-off when the bucket runs dry. */
void sh_ratelimit_bucket_charge(sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p,
                                int64_t now_us);
/* The time from which b answers like a fresh bucket (full, unblocked, no
 * strikes) and may be forgotten. */
int64_t sh_ratelimit_bucket_idle_at(const sh_ratelimit_bucket *b,
                                    const struct sh_ratelimit_policy *p);

/* Makes a limiter with room for about `slots` keys (rounded up to a power of
 * two, at least 64). The policy is copied; p->name must be static. Returns
 * SH_OK, SH_ERR_INTERNAL (an invalid policy) or SH_ERR_NOMEM. Free with
 * sh_ratelimit_free. */
sh_status sh_ratelimit_new(const struct sh_ratelimit_policy *p, size_t slots, sh_ratelimit **out);
void sh_ratelimit_free(sh_ratelimit *rl);

/* One attempt for key (len bytes, any content): SH_OK and one token taken,
 * or SH_ERR_RATE_LIMITED and *retry_after_s (may be NULL) set to the whole
 * seconds to wait (>= 1). */
sh_status sh_ratelimit_take(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us,
                            int *retry_after_s);
/* Like take, but takes nothing: SH_OK if an attempt would be allowed now. */
sh_status sh_ratelimit_check(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us,
                             int *retry_after_s);
/* Takes one token after the fact (a failed attempt), starting or growing the
 * back-off when the bucket runs dry. */
void sh_ratelimit_charge(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us);
/* Forgets key: full bucket, no strikes (e.g. after a proven success where
 * the policy wants that). */
void sh_ratelimit_forget(sh_ratelimit *rl, const void *key, size_t len);

#endif
