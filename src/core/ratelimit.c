/*
 * ratelimit.c - token-bucket arithmetic, and buckets in a fixed
 * open-addressing table.
 *
 * The arithmetic is integer: tokens in millionths, times in microseconds,
 * policies converted on use. A slot holds the 16-byte keyed hash of the
 * caller's key and a bucket (tokens at last_us, end of the last block,
 * strikes). Refill is computed lazily from the elapsed time; nothing runs
 * in the background.
 */
#include "core/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"

#define KEY_LEN 16
#define PROBE 8
#define MIN_SLOTS 64
#define MAX_STRIKE_SHIFT 30

struct slot {
    uint8_t key[KEY_LEN];
    int used;
    sh_ratelimit_bucket b;
};

struct sh_ratelimit {
    struct sh_ratelimit_policy p;
    pthread_mutex_t lock;
    uint8_t hash_key[crypto_generichash_KEYBYTES];
    struct slot *slots;
    size_t mask;
};

/* ---- the arithmetic: pure functions on a bucket ---------------------------- */

/* Saturation point for block lengths (about 36,000 years): keeps
 * now + backoff far from overflowing. */
#define BACKOFF_CEIL_US (INT64_C(1) << 60)

/* x (a positive number of seconds or tokens) in millionths, rounded. */
static int64_t micros(double x) { return (int64_t)(x * 1e6 + 0.5); }

static int64_t burst_units(const struct sh_ratelimit_policy *p) { return micros(p->burst); }

static int64_t interval_us(const struct sh_ratelimit_policy *p)
{
    int64_t iv = micros(p->interval_s);

    return iv < 1 ? 1 : iv;
}

/* The time it takes to refill `units` tokens (in millionths), rounded up.
 * units <= 1e12 and iv <= 1e12 keep every product below 2^63. */
static int64_t refill_time(int64_t units, int64_t iv)
{
    return units / SH_RATELIMIT_UNIT * iv +
           (units % SH_RATELIMIT_UNIT * iv + SH_RATELIMIT_UNIT - 1) / SH_RATELIMIT_UNIT;
}

/* Tokens (millionths) b holds at now: refilled, capped at burst. Rounded
 * down, so a client never gains from being looked at often. */
static int64_t tokens_at(const sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p,
                         int64_t now)
{
    int64_t full = burst_units(p), iv = interval_us(p), t = b->tokens, elapsed, whole;

    if (now <= b->last_us || t >= full)
        return t < full ? t : full;
    elapsed = now - b->last_us;
    whole = elapsed / iv;
    if (whole > (full - t) / SH_RATELIMIT_UNIT)
        return full;
    t += whole * SH_RATELIMIT_UNIT + elapsed % iv * SH_RATELIMIT_UNIT / iv;
    return t < full ? t : full;
}

/* Brings b up to now: refill, and strikes forgiven after a whole refill
 * period (burst * interval) without a block. */
static void refill(sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p, int64_t now)
{
    int64_t quiet_us = refill_time(burst_units(p), interval_us(p));

    b->tokens = tokens_at(b, p, now);
    if (now > b->last_us)
        b->last_us = now;
    if (b->strikes > 0 && now >= b->blocked_until + quiet_us)
        b->strikes = 0;
}

static int64_t backoff_us(const sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p)
{
    int64_t iv = interval_us(p), max_us = micros(p->backoff_max_s), us = iv;

    for (uint32_t i = 1; i < b->strikes && us <= BACKOFF_CEIL_US / 2; i++)
        us *= 2;
    /* a cap not longer than one interval is ignored */
    if (max_us > iv && us > max_us)
        us = max_us;
    return us;
}

int sh_ratelimit_policy_valid(const struct sh_ratelimit_policy *p)
{
    return p->burst >= 1 && p->burst <= SH_RATELIMIT_BURST_MAX && p->interval_s > 0 &&
           p->interval_s <= SH_RATELIMIT_INTERVAL_MAX_S && p->backoff_max_s >= 0 &&
           p->backoff_max_s <= (double)BACKOFF_CEIL_US / (double)SH_USEC;
}

void sh_ratelimit_bucket_init(sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p,
                              int64_t now_us)
{
    memset(b, 0, sizeof(*b));
    b->tokens = burst_units(p);
    b->last_us = now_us;
}

sh_status sh_ratelimit_bucket_check(const sh_ratelimit_bucket *b,
                                    const struct sh_ratelimit_policy *p, int64_t now_us,
                                    int *retry_after_s)
{
    int64_t t = tokens_at(b, p, now_us), wait_us = 0, secs;

    if (now_us >= b->blocked_until && t >= SH_RATELIMIT_UNIT)
        return SH_OK;
    if (retry_after_s == NULL)
        return SH_ERR_RATE_LIMITED;
    if (b->blocked_until > now_us)
        wait_us = b->blocked_until - now_us;
    if (t < SH_RATELIMIT_UNIT) {
        int64_t refill_us = refill_time(SH_RATELIMIT_UNIT - t, interval_us(p));
        if (refill_us > wait_us)
            wait_us = refill_us;
    }
    secs = (wait_us + SH_USEC - 1) / SH_USEC;
    *retry_after_s = secs < 1 ? 1 : (secs > 86400 ? 86400 : (int)secs);
    return SH_ERR_RATE_LIMITED;
}

void sh_ratelimit_bucket_charge(sh_ratelimit_bucket *b, const struct sh_ratelimit_policy *p,
                                int64_t now_us)
{
    int64_t block;

    refill(b, p, now_us);
    b->tokens -= SH_RATELIMIT_UNIT;
    if (b->tokens >= SH_RATELIMIT_UNIT)
        return;
    if (b->strikes < MAX_STRIKE_SHIFT)
        b->strikes++;
    block = backoff_us(b, p);
    b->blocked_until = now_us + block;
    /* nothing accrues during the block: when it ends, exactly one attempt */
    b->tokens = SH_RATELIMIT_UNIT;
    b->last_us = b->blocked_until;
}

int64_t sh_ratelimit_bucket_idle_at(const sh_ratelimit_bucket *b,
                                    const struct sh_ratelimit_policy *p)
{
    int64_t full = burst_units(p), iv = interval_us(p), at = b->last_us;

    if (b->tokens < full)
        at += refill_time(full - b->tokens, iv);
    if (b->strikes > 0 && b->blocked_until + refill_time(full, iv) > at)
        at = b->blocked_until + refill_time(full, iv);
    return at;
}

/* ---- the in-memory table ------------------------------------------------------ */

sh_status sh_ratelimit_new(const struct sh_ratelimit_policy *p, size_t slots, sh_ratelimit **out)
{
    sh_ratelimit *rl;
    size_t n = MIN_SLOTS;

    if (!sh_ratelimit_policy_valid(p))
        return SH_ERR_INTERNAL;
    while (n < slots)
        n <<= 1;
    rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return SH_ERR_NOMEM;
    rl->slots = calloc(n, sizeof(struct slot));
    if (rl->slots == NULL) {
        free(rl);
        return SH_ERR_NOMEM;
    }
    rl->p = *p;
    rl->mask = n - 1;
    randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
    pthread_mutex_init(&rl->lock, NULL);
    *out = rl;
    return SH_OK;
}

void sh_ratelimit_free(sh_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->slots);
    free(rl);
}

static int recovered(const sh_ratelimit *rl, const struct slot *s, int64_t now)
{
    return !s->used ||
           (now >= s->b.blocked_until && tokens_at(&s->b, &rl->p, now) >= burst_units(&rl->p));
}

static uint64_t key_hash(const sh_ratelimit *rl, const void *key, size_t len, uint8_t h[KEY_LEN])
{
    uint64_t start;

    crypto_generichash(h, KEY_LEN, key, len, rl->hash_key, sizeof(rl->hash_key));
    memcpy(&start, h, sizeof(start));
    return start;
}

/* The slot holding key, or NULL. Lock held. */
static struct slot *lookup(sh_ratelimit *rl, const uint8_t h[KEY_LEN], uint64_t start)
{
    for (size_t i = 0; i < PROBE; i++) {
        struct slot *s = &rl->slots[(start + i) & rl->mask];
        if (s->used && sodium_memcmp(s->key, h, KEY_LEN) == 0)
            return s;
    }
    return NULL;
}

/* The slot for key, found or (re)initialized; never NULL. Lock held. */
static struct slot *find(sh_ratelimit *rl, const void *key, size_t len, int64_t now)
{
    uint8_t h[KEY_LEN];
    uint64_t start = key_hash(rl, key, len, h);
    struct slot *victim = NULL, *s = lookup(rl, h, start);

    if (s != NULL)
        return s;
    for (size_t i = 0; i < PROBE; i++) {
        s = &rl->slots[(start + i) & rl->mask];
        if (victim == NULL || (!recovered(rl, victim, now) && recovered(rl, s, now)) ||
            (!recovered(rl, victim, now) && !recovered(rl, s, now) &&
             s->b.last_us < victim->b.last_us))
            victim = s;
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, h, KEY_LEN);
    victim->used = 1;
    sh_ratelimit_bucket_init(&victim->b, &rl->p, now);
    return victim;
}

sh_status sh_ratelimit_check(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us,
                             int *retry_after_s)
{
    sh_status rc;

    pthread_mutex_lock(&rl->lock);
    rc = sh_ratelimit_bucket_check(&find(rl, key, len, now_us)->b, &rl->p, now_us, retry_after_s);
    pthread_mutex_unlock(&rl->lock);
    return rc;
}

sh_status sh_ratelimit_take(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us,
                            int *retry_after_s)
{
    struct slot *s;
    sh_status rc;

    pthread_mutex_lock(&rl->lock);
    s = find(rl, key, len, now_us);
    rc = sh_ratelimit_bucket_check(&s->b, &rl->p, now_us, retry_after_s);
    if (rc == SH_OK)
        sh_ratelimit_bucket_charge(&s->b, &rl->p, now_us);
    pthread_mutex_unlock(&rl->lock);
    return rc;
}

void sh_ratelimit_charge(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us)
{
    pthread_mutex_lock(&rl->lock);
    sh_ratelimit_bucket_charge(&find(rl, key, len, now_us)->b, &rl->p, now_us);
    pthread_mutex_unlock(&rl->lock);
}

void sh_ratelimit_forget(sh_ratelimit *rl, const void *key, size_t len)
{
    uint8_t h[KEY_LEN];
    uint64_t start = key_hash(rl, key, len, h);
    struct slot *s;

    pthread_mutex_lock(&rl->lock);
    s = lookup(rl, h, start);
    if (s != NULL)
        s->used = 0;
    pthread_mutex_unlock(&rl->lock);
}
