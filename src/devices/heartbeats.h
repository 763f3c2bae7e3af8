/*
 * heartbeats.h - group commit for device heartbeats.
 *
 * Heartbeats are the most frequent write (every device, every minute) and
 * each one would otherwise cost a synchronous commit. Callers hand their
 * update to a group commit (store/group_commit.h) and wait; its flusher
 * commits everything that arrived meanwhile in a single transaction and
 * wakes them. A heartbeat is acknowledged only after its batch is on disk,
 * so kill -9 loses none.
 * The update itself never touches security state: ownership and generation
 * change only through release/reset, and a heartbeat's sealed network data
 * lands only if the generation it was sealed for is still current.
 */
#ifndef SH_HEARTBEATS_H
#define SH_HEARTBEATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"
#include "store/store.h"

typedef struct sh_heartbeats sh_heartbeats;

sh_status sh_heartbeats_start(sh_store *st, sh_heartbeats **out);
/* Commits what is pending, stops the flusher and frees the batcher. */
void sh_heartbeats_stop(sh_heartbeats *hb);
/* Queues one update and waits until it is committed; firmware and
 * network_ct (may be NULL) are borrowed until then. A device deleted
 * meanwhile is SH_OK (nothing to record). Returns the batch's commit
 * status, or SH_ERR_BUSY when the queue is full. */
sh_status sh_heartbeats_record(sh_heartbeats *hb, const sh_id *device, int64_t generation,
                               int64_t now, const char *firmware, const uint8_t *network_ct,
                               size_t network_len);

#endif
