/*
 * ratelimit.c - token buckets in a fixed open-addressing table.
 *
 * A slot holds the 16-byte keyed hash of the caller's key, the tokens left
 * at last_us, the end of the current block and the strike count. Refill is
 * computed lazily from the elapsed time; nothing runs in the background.
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
    uint32_t strikes;
    double tokens;
    int64_t last_us;
    int64_t blocked_until;
};

struct sh_ratelimit {
    struct sh_ratelimit_policy p;
    pthread_mutex_t lock;
    uint8_t hash_key[crypto_generichash_KEYBYTES];
    struct slot *slots;
    size_t mask;
};

sh_status sh_ratelimit_new(const struct sh_ratelimit_policy *p, size_t slots, sh_ratelimit **out)
{
    sh_ratelimit *rl;
    size_t n = MIN_SLOTS;

    if (p->burst < 1 || p->interval_s <= 0)
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

/* Tokens a slot holds at now (refilled, capped at burst). */
static double tokens_at(const sh_ratelimit *rl, const struct slot *s, int64_t now)
{
    double t = s->tokens;

    if (now > s->last_us)
        t += (double)(now - s->last_us) / ((double)SH_USEC * rl->p.interval_s);
    return t > rl->p.burst ? rl->p.burst : t;
}

static int recovered(const sh_ratelimit *rl, const struct slot *s, int64_t now)
{
    return !s->used || (now >= s->blocked_until && tokens_at(rl, s, now) >= rl->p.burst);
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
            (!recovered(rl, victim, now) && !recovered(rl, s, now) && s->last_us < victim->last_us))
            victim = s;
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, h, KEY_LEN);
    victim->used = 1;
    victim->tokens = rl->p.burst;
    victim->last_us = now;
    return victim;
}

static void refill(sh_ratelimit *rl, struct slot *s, int64_t now)
{
    int64_t quiet_us = (int64_t)(rl->p.burst * rl->p.interval_s * (double)SH_USEC);

    s->tokens = tokens_at(rl, s, now);
    if (now > s->last_us)
        s->last_us = now;
    /* strikes are forgiven after a whole refill period without a block */
    if (s->strikes > 0 && now >= s->blocked_until + quiet_us)
        s->strikes = 0;
}

static int retry_seconds(const sh_ratelimit *rl, const struct slot *s, int64_t now)
{
    int64_t wait_us = 0, secs;

    if (s->blocked_until > now)
        wait_us = s->blocked_until - now;
    if (s->tokens < 1) {
        int64_t refill_us = (int64_t)((1 - s->tokens) * rl->p.interval_s * (double)SH_USEC);
        if (refill_us > wait_us)
            wait_us = refill_us;
    }
    secs = (wait_us + SH_USEC - 1) / SH_USEC;
    return secs < 1 ? 1 : (secs > 86400 ? 86400 : (int)secs);
}

static sh_status check_locked(sh_ratelimit *rl, struct slot *s, int64_t now, int *retry)
{
    refill(rl, s, now);
    if (now < s->blocked_until || s->tokens < 1) {
        if (retry != NULL)
            *retry = retry_seconds(rl, s, now);
        return SH_ERR_RATE_LIMITED;
    }
    return SH_OK;
}

static void charge_locked(sh_ratelimit *rl, struct slot *s, int64_t now)
{
    double backoff;

    refill(rl, s, now);
    s->tokens -= 1;
    if (s->tokens >= 1)
        return;
    if (s->tokens < 0)
        s->tokens = 0;
    if (s->strikes < MAX_STRIKE_SHIFT)
        s->strikes++;
    backoff = rl->p.interval_s * (double)(1u << (s->strikes - 1));
    if (backoff > rl->p.backoff_max_s && rl->p.backoff_max_s > rl->p.interval_s)
        backoff = rl->p.backoff_max_s;
    s->blocked_until = now + (int64_t)(backoff * (double)SH_USEC);
    /* nothing accrues during the block: when it ends, exactly one attempt */
    s->tokens = 1;
    s->last_us = s->blocked_until;
}

sh_status sh_ratelimit_check(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us,
                             int *retry_after_s)
{
    sh_status rc;

    pthread_mutex_lock(&rl->lock);
    rc = check_locked(rl, find(rl, key, len, now_us), now_us, retry_after_s);
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
    rc = check_locked(rl, s, now_us, retry_after_s);
    if (rc == SH_OK)
        charge_locked(rl, s, now_us);
    pthread_mutex_unlock(&rl->lock);
    return rc;
}

void sh_ratelimit_charge(sh_ratelimit *rl, const void *key, size_t len, int64_t now_us)
{
    pthread_mutex_lock(&rl->lock);
    charge_locked(rl, find(rl, key, len, now_us), now_us);
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
