/*
 * group_commit.c - the flusher. Batches are numbered: a submit joins the
 * batch being filled (its item lives on the caller's stack, which waits);
 * the flusher takes that batch whole (the next one starts filling in the
 * other array), runs and commits it, writes every item's status into the
 * item, then records its number as done and wakes its callers. At most two
 * batches are alive, the one committing and the one filling, so callers
 * wait on the condition of their batch number's parity and the end of one
 * batch does not wake the callers of the next.
 */
#include "store/group_commit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/log.h"

struct gc_item {
    sh_group_commit_fn fn;
    void *arg;
    sh_status status; /* written by the flusher, read after done >= batch */
};

struct sh_group_commit {
    sh_store *store;
    const char *fail_event;
    pthread_mutex_t lock;
    pthread_cond_t work;      /* the flusher waits for items */
    pthread_cond_t done[2];   /* callers wait for their batch, by parity */
    pthread_cond_t left;      /* stop waits for the last caller to leave */
    struct gc_item **filling; /* the batch being filled */
    struct gc_item **flushing;
    size_t count;     /* items in filling */
    uint64_t number;  /* number of the batch being filled */
    uint64_t flushed; /* newest batch committed (or failed) */
    size_t inside;    /* callers in submit */
    int stopping;
    pthread_t flusher;
};

struct batch {
    struct gc_item **items;
    size_t n;
};

/* The item's own answers; anything else fails the batch. */
static int own_answer(sh_status rc)
{
    return rc == SH_OK || rc == SH_ERR_CONFLICT || rc == SH_ERR_NOT_FOUND;
}

/* One attempt at the batch: every status is computed afresh, since
 * sh_store_tx_run calls this again after SH_ERR_RETRY. */
static sh_status batch_fn(sh_store *tx, void *ctx)
{
    struct batch *b = ctx;
    sh_status rc;

    for (size_t i = 0; i < b->n; i++)
        b->items[i]->status = SH_ERR_INTERNAL;
    for (size_t i = 0; i < b->n; i++) {
        rc = b->items[i]->fn(tx, b->items[i]->arg);
        b->items[i]->status = rc;
        if (!own_answer(rc))
            return rc;
    }
    return SH_OK;
}

/* One transaction, one durable commit, for the whole batch. */
static void commit(sh_group_commit *gc, struct gc_item **items, size_t n)
{
    struct batch b = {items, n};
    sh_status rc = sh_store_tx_run(gc->store, batch_fn, &b);

    if (rc == SH_OK)
        return;
    sh_log_event(SH_LOG_ERROR, gc->fail_event, "code", sh_status_code(rc));
    for (size_t i = 0; i < n; i++)
        items[i]->status = rc;
}

static void *flush_loop(void *arg)
{
    sh_group_commit *gc = arg;
    struct gc_item **items;
    size_t n;
    uint64_t number;

    pthread_mutex_lock(&gc->lock);
    for (;;) {
        while (gc->count == 0 && !gc->stopping)
            pthread_cond_wait(&gc->work, &gc->lock);
        if (gc->count == 0)
            break; /* stopping, and nothing left */
        items = gc->filling;
        n = gc->count;
        gc->filling = gc->flushing;
        gc->flushing = items;
        gc->count = 0;
        number = gc->number++;
        pthread_mutex_unlock(&gc->lock);

        commit(gc, items, n);

        pthread_mutex_lock(&gc->lock);
        gc->flushed = number;
        pthread_cond_broadcast(&gc->done[number & 1]);
    }
    pthread_mutex_unlock(&gc->lock);
    return NULL;
}

static void destroy(sh_group_commit *gc)
{
    pthread_mutex_destroy(&gc->lock);
    pthread_cond_destroy(&gc->work);
    pthread_cond_destroy(&gc->done[0]);
    pthread_cond_destroy(&gc->done[1]);
    pthread_cond_destroy(&gc->left);
    free(gc->filling);
    free(gc->flushing);
    free(gc);
}

sh_status sh_group_commit_start(sh_store *st, const char *fail_event, sh_group_commit **out)
{
    sh_group_commit *gc = calloc(1, sizeof(*gc));

    *out = NULL;
    if (gc == NULL)
        return SH_ERR_NOMEM;
    gc->store = st;
    gc->fail_event = fail_event;
    gc->number = 1;
    pthread_mutex_init(&gc->lock, NULL);
    pthread_cond_init(&gc->work, NULL);
    pthread_cond_init(&gc->done[0], NULL);
    pthread_cond_init(&gc->done[1], NULL);
    pthread_cond_init(&gc->left, NULL);
    gc->filling = calloc(SH_GROUP_COMMIT_BATCH_MAX, sizeof(struct gc_item *));
    gc->flushing = calloc(SH_GROUP_COMMIT_BATCH_MAX, sizeof(struct gc_item *));
    if (gc->filling == NULL || gc->flushing == NULL) {
        destroy(gc);
        return SH_ERR_NOMEM;
    }
    if (pthread_create(&gc->flusher, NULL, flush_loop, gc) != 0) {
        destroy(gc);
        return SH_ERR_INTERNAL;
    }
    *out = gc;
    return SH_OK;
}

void sh_group_commit_stop(sh_group_commit *gc)
{
    if (gc == NULL)
        return;
    pthread_mutex_lock(&gc->lock);
    gc->stopping = 1;
    pthread_cond_signal(&gc->work);
    pthread_mutex_unlock(&gc->lock);
    pthread_join(gc->flusher, NULL); /* it drains the queue first */
    pthread_mutex_lock(&gc->lock);
    while (gc->inside > 0)
        pthread_cond_wait(&gc->left, &gc->lock);
    pthread_mutex_unlock(&gc->lock);
    destroy(gc);
}

sh_status sh_group_commit_submit(sh_group_commit *gc, sh_group_commit_fn fn, void *arg)
{
    struct gc_item item = {fn, arg, SH_ERR_INTERNAL};
    uint64_t mine;
    sh_status rc;

    pthread_mutex_lock(&gc->lock);
    if (gc->stopping || gc->count == SH_GROUP_COMMIT_BATCH_MAX) {
        rc = gc->stopping ? SH_ERR_UNAVAILABLE : SH_ERR_BUSY;
        pthread_mutex_unlock(&gc->lock);
        return rc;
    }
    gc->inside++;
    gc->filling[gc->count++] = &item;
    mine = gc->number;
    if (gc->count == 1)
        pthread_cond_signal(&gc->work); /* the flusher sleeps only on an empty queue */
    while (gc->flushed < mine)
        pthread_cond_wait(&gc->done[mine & 1], &gc->lock);
    rc = item.status;
    if (--gc->inside == 0 && gc->stopping)
        pthread_cond_signal(&gc->left);
    pthread_mutex_unlock(&gc->lock);
    return rc;
}

size_t sh_group_commit_pending(sh_group_commit *gc)
{
    size_t n;

    pthread_mutex_lock(&gc->lock);
    n = gc->count;
    pthread_mutex_unlock(&gc->lock);
    return n;
}
