/*
 * heartbeats.c - the batcher. Batches are numbered: an update joins the
 * batch being filled; the flusher closes that batch (the next one starts
 * filling), commits it, then records its number as committed and wakes the
 * waiters, who read their batch's status from a small ring.
 */
#include "devices/heartbeats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store_devices.h"

#define STATUS_RING 4096 /* batches a waiter may sleep through */
#define BATCH_MAX 4096

struct hb_entry {
    sh_id device;
    int64_t generation;
    int64_t now;
    char firmware[SH_STORE_FIRMWARE_MAX + 1];
    uint8_t *network_ct;
    size_t network_len;
};

struct sh_heartbeats {
    sh_store *store;
    pthread_mutex_t lock;
    pthread_cond_t work; /* flusher waits for entries */
    pthread_cond_t done; /* callers wait for their batch */
    struct hb_entry *entries;
    size_t count;
    uint64_t filling;   /* number of the batch being filled */
    uint64_t committed; /* newest batch on disk (or failed) */
    sh_status status[STATUS_RING];
    int stopping;
    pthread_t flusher;
};

struct batch {
    struct hb_entry *e;
    size_t n;
};

static sh_status commit_fn(sh_store *tx, void *ctx)
{
    struct batch *b = ctx;
    struct hb_entry *e = b->e;
    sh_status rc = SH_OK;

    for (size_t i = 0; rc == SH_OK && i < b->n; i++) {
        rc = sh_store_do(tx, devices, heartbeat, &e[i].device, e[i].generation, e[i].now,
                         e[i].firmware, e[i].network_ct, e[i].network_len);
        if (rc == SH_ERR_NOT_FOUND)
            rc = SH_OK; /* device deleted meanwhile: nothing to record */
    }
    return rc;
}

/* One transaction, one durable commit, for the whole batch. */
static sh_status commit(sh_store *st, struct hb_entry *e, size_t n)
{
    struct batch b = {e, n};

    return sh_store_tx_run(st, commit_fn, &b);
}

static void *flush_loop(void *arg)
{
    sh_heartbeats *hb = arg;
    struct hb_entry *batch = calloc(BATCH_MAX, sizeof(*batch));
    size_t n;
    uint64_t number;
    sh_status rc;

    pthread_mutex_lock(&hb->lock);
    for (;;) {
        while (hb->count == 0 && !hb->stopping)
            pthread_cond_wait(&hb->work, &hb->lock);
        if (hb->count == 0 && hb->stopping)
            break;
        n = hb->count;
        memcpy(batch, hb->entries, n * sizeof(*batch));
        hb->count = 0;
        number = hb->filling++;
        pthread_mutex_unlock(&hb->lock);

        rc = commit(hb->store, batch, n);
        if (rc != SH_OK)
            sh_log_event(SH_LOG_ERROR, "heartbeat_batch_failed", "code", sh_status_code(rc));
        for (size_t i = 0; i < n; i++)
            free(batch[i].network_ct);

        pthread_mutex_lock(&hb->lock);
        hb->status[number % STATUS_RING] = rc;
        hb->committed = number;
        pthread_cond_broadcast(&hb->done);
    }
    pthread_mutex_unlock(&hb->lock);
    free(batch);
    return NULL;
}

sh_status sh_heartbeats_start(sh_store *st, sh_heartbeats **out)
{
    sh_heartbeats *hb = calloc(1, sizeof(*hb));

    if (hb == NULL || (hb->entries = calloc(BATCH_MAX, sizeof(struct hb_entry))) == NULL) {
        free(hb);
        return SH_ERR_NOMEM;
    }
    hb->store = st;
    hb->filling = 1;
    pthread_mutex_init(&hb->lock, NULL);
    pthread_cond_init(&hb->work, NULL);
    pthread_cond_init(&hb->done, NULL);
    if (pthread_create(&hb->flusher, NULL, flush_loop, hb) != 0) {
        free(hb->entries);
        free(hb);
        return SH_ERR_INTERNAL;
    }
    *out = hb;
    return SH_OK;
}

void sh_heartbeats_stop(sh_heartbeats *hb)
{
    if (hb == NULL)
        return;
    pthread_mutex_lock(&hb->lock);
    hb->stopping = 1;
    pthread_cond_signal(&hb->work);
    pthread_mutex_unlock(&hb->lock);
    pthread_join(hb->flusher, NULL);
    pthread_mutex_destroy(&hb->lock);
    pthread_cond_destroy(&hb->work);
    pthread_cond_destroy(&hb->done);
    free(hb->entries);
    free(hb);
}

sh_status sh_heartbeats_record(sh_heartbeats *hb, const sh_id *device, int64_t generation,
                               int64_t now, const char *firmware, const uint8_t *network_ct,
                               size_t network_len)
{
    struct hb_entry e;
    uint64_t mine;
    sh_status rc;

    memset(&e, 0, sizeof(e));
    e.device = *device;
    e.generation = generation;
    e.now = now;
    strncpy(e.firmware, firmware, SH_STORE_FIRMWARE_MAX);
    if (network_ct != NULL) {
        if ((e.network_ct = malloc(network_len)) == NULL)
            return SH_ERR_NOMEM;
        memcpy(e.network_ct, network_ct, network_len);
        e.network_len = network_len;
    }
    pthread_mutex_lock(&hb->lock);
    if (hb->stopping || hb->count == BATCH_MAX) {
        pthread_mutex_unlock(&hb->lock);
        free(e.network_ct);
        return SH_ERR_BUSY;
    }
    hb->entries[hb->count++] = e;
    mine = hb->filling;
    pthread_cond_signal(&hb->work);
    while (hb->committed < mine)
        pthread_cond_wait(&hb->done, &hb->lock);
    rc = hb->status[mine % STATUS_RING];
    pthread_mutex_unlock(&hb->lock);
    return rc;
}
