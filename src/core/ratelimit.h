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
 * accesses). Limits are per process: several nodes each apply their own.
 */
#ifndef SH_RATELIMIT_H
#define SH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct sh_ratelimit sh_ratelimit;

struct sh_ratelimit_policy {
    const char *name;     /* for logs and docs, e.g. "login_account" */
    double burst;         /* bucket size: attempts allowed at once (>= 1) */
    double interval_s;    /* one token returns every interval_s seconds (> 0) */
    double backoff_max_s; /* longest block after repeated exhaustion */
};

/* Makes a limiter with room for about `slots` keys (rounded up to a power of
 * two, at least 64). The policy is copied; p->name must be static. Returns
 * SH_OK or SH_ERR_NOMEM. Free with sh_ratelimit_free. */
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
