/*
 * heartbeats.c - heartbeats as items of a group commit (store/group_commit.h):
 * the caller's update is written by the committer's flusher, in the batch's
 * transaction, and the caller waits for that batch to be on disk.
 */
#include "devices/heartbeats.h"

#include <stdlib.h>

#include "store/group_commit.h"
#include "store/store_devices.h"

struct sh_heartbeats {
    sh_group_commit *gc;
};

struct hb_update {
    const sh_id *device;
    int64_t generation;
    int64_t now;
    const char *firmware;
    const uint8_t *network_ct;
    size_t network_len;
};

/* One heartbeat: a single UPDATE. No row (the device was deleted
 * meanwhile) writes nothing and is nothing to record. The UPDATE touches
 * no constrained column, so a conflict would be a failed statement, which
 * on PostgreSQL aborts the transaction: it fails the batch. */
static sh_status write_one(sh_store *tx, void *arg)
{
    const struct hb_update *u = arg;
    sh_status rc = sh_store_do(tx, devices, heartbeat, u->device, u->generation, u->now,
                               u->firmware, u->network_ct, u->network_len);

    if (rc == SH_ERR_NOT_FOUND)
        return SH_OK;
    return rc == SH_ERR_CONFLICT ? SH_ERR_STORE : rc;
}

sh_status sh_heartbeats_start(sh_store *st, sh_heartbeats **out)
{
    sh_heartbeats *hb = calloc(1, sizeof(*hb));
    sh_status rc;

    *out = NULL;
    if (hb == NULL)
        return SH_ERR_NOMEM;
    if ((rc = sh_group_commit_start(st, "heartbeat_batch_failed", &hb->gc)) != SH_OK) {
        free(hb);
        return rc;
    }
    *out = hb;
    return SH_OK;
}

void sh_heartbeats_stop(sh_heartbeats *hb)
{
    if (hb == NULL)
        return;
    sh_group_commit_stop(hb->gc);
    free(hb);
}

sh_status sh_heartbeats_record(sh_heartbeats *hb, const sh_id *device, int64_t generation,
                               int64_t now, const char *firmware, const uint8_t *network_ct,
                               size_t network_len)
{
    struct hb_update u = {device, generation, now, firmware, network_ct, network_len};

    return sh_group_commit_submit(hb->gc, write_one, &u);
}
