/*
 * group_commit.h - many small writes, one durable commit.
 *
 * A durable commit costs an fsync (SQLite) or a WAL flush (PostgreSQL),
 * ~1 ms, whatever it holds: a route that commits once per request is
 * capped at about a thousand requests per second per writer. A group
 * commit lets many callers share one: a caller submits an item (a function
 * and its argument) and waits; one flusher thread runs every item that
 * arrived meanwhile inside ONE sh_store_tx_run transaction, commits it,
 * and wakes the callers of that batch. An item is answered only after the
 * batch that holds it is durable, so kill -9 loses no acknowledged item.
 *
 * Statuses, per item:
 * - SH_OK, SH_ERR_CONFLICT and SH_ERR_NOT_FOUND are the item's own answer:
 *   the other items of the batch still commit. An item that answers
 *   CONFLICT or NOT_FOUND must have written nothing and left the
 *   transaction usable (no failed statement: PostgreSQL aborts the whole
 *   transaction on one); check the store operations an item calls.
 * - Any other status from an item fails the batch: it rolls back and every
 *   item of it gets that status, as when the commit itself fails or
 *   SH_ERR_RETRY outlasts sh_store_tx_run's retries. On SH_ERR_RETRY
 *   (PostgreSQL) the whole batch runs again and its statuses are computed
 *   afresh, so an item must have no effect outside the store.
 *
 * Items run on the flusher thread, in submission order, each seeing the
 * writes of the items before it. Batches hold at most
 * SH_GROUP_COMMIT_BATCH_MAX items, and at most that many wait for the next
 * batch; beyond, submit answers SH_ERR_BUSY at once. Stopping commits
 * everything already submitted first.
 */
#ifndef SH_GROUP_COMMIT_H
#define SH_GROUP_COMMIT_H

#include <stddef.h>

#include "core/status.h"
#include "store/store.h"

#define SH_GROUP_COMMIT_BATCH_MAX 4096

typedef struct sh_group_commit sh_group_commit;

/* One item: runs inside the batch's transaction tx, with the arg given to
 * submit. */
typedef sh_status (*sh_group_commit_fn)(sh_store *tx, void *arg);

/* Starts a flusher committing to st (borrowed: it must outlive the
 * committer). fail_event (a static string) is the log event for a failed
 * batch. SH_ERR_NOMEM or SH_ERR_INTERNAL (no thread). */
sh_status sh_group_commit_start(sh_store *st, const char *fail_event, sh_group_commit **out);
/* Commits every item submitted so far, stops the flusher and frees gc
 * (NULL: nothing). A submit running meanwhile returns first (committed,
 * or SH_ERR_UNAVAILABLE); none may start once stop has returned. */
void sh_group_commit_stop(sh_group_commit *gc);
/* Runs fn(tx, arg) in the next batch and waits until that batch is
 * durable or failed. Returns the item's status (see above), or, without
 * running fn, SH_ERR_BUSY when the queue is full and SH_ERR_UNAVAILABLE
 * once stopping. arg is borrowed until the return. */
sh_status sh_group_commit_submit(sh_group_commit *gc, sh_group_commit_fn fn, void *arg);
/* Items waiting for the next batch, now (for metrics and tests). */
size_t sh_group_commit_pending(sh_group_commit *gc);

#endif
