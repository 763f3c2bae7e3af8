/* tarpit.c - a delay FIFO with one thread. */
#include "http/tarpit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct item {
    sh_tarpit_fn fn;
    void *arg;
    int64_t due_ns;
};

struct sh_tarpit {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    struct item *ring;
    size_t cap, head, count;
    int64_t delay_ns;
    int stopping;
};

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *run(void *arg)
{
    sh_tarpit *t = arg;
    struct timespec ts;
    struct item it;

    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (t->count == 0 && !t->stopping)
            pthread_cond_wait(&t->cond, &t->lock);
        if (t->count == 0)
            break;
        it = t->ring[t->head];
        if (!t->stopping && it.due_ns > mono_ns()) {
            ts.tv_sec = (time_t)(it.due_ns / 1000000000LL);
            ts.tv_nsec = (long)(it.due_ns % 1000000000LL);
            pthread_cond_timedwait(&t->cond, &t->lock, &ts);
            continue;
        }
        t->head = (t->head + 1) % t->cap;
        t->count--;
        pthread_mutex_unlock(&t->lock);
        it.fn(it.arg);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

sh_status sh_tarpit_new(unsigned delay_ms, size_t cap, sh_tarpit **out)
{
    sh_tarpit *t = calloc(1, sizeof(*t));
    pthread_condattr_t ca;

    if (t == NULL)
        return SH_ERR_NOMEM;
    t->ring = calloc(cap, sizeof(struct item));
    if (t->ring == NULL) {
        free(t);
        return SH_ERR_NOMEM;
    }
    t->cap = cap;
    t->delay_ns = (int64_t)delay_ms * 1000000LL;
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, run, t) != 0) {
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t->ring);
        free(t);
        return SH_ERR_INTERNAL;
    }
    *out = t;
    return SH_OK;
}

sh_status sh_tarpit_hold(sh_tarpit *t, sh_tarpit_fn fn, void *arg)
{
    sh_status rc = SH_ERR_BUSY;

    pthread_mutex_lock(&t->lock);
    if (!t->stopping && t->count < t->cap) {
        t->ring[(t->head + t->count) % t->cap] = (struct item){fn, arg, mono_ns() + t->delay_ns};
        if (t->count++ == 0)
            pthread_cond_signal(&t->cond);
        rc = SH_OK;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void sh_tarpit_free(sh_tarpit *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1; /* the thread releases what it holds, then ends */
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->ring);
    free(t);
}
