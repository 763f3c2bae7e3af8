/*
 * workpool.h - a fixed set of worker threads with a bounded queue.
 *
 * Argon2id takes ~15 ms of CPU and 19 MiB; running it on the HTTP event
 * threads would stall every other connection of that thread. Slow work goes
 * here instead. The queue is bounded: when it is full, submit fails at once
 * and the caller answers 429, so a flood of logins is refused quickly instead
 * of queueing without end.
 */
#ifndef SH_WORKPOOL_H
#define SH_WORKPOOL_H

#include <stddef.h>

#include "core/status.h"

typedef struct sh_workpool sh_workpool;
typedef void (*sh_work_fn)(void *arg);

/* Starts `threads` workers with room for `queue_max` waiting jobs. */
sh_status sh_workpool_new(size_t threads, size_t queue_max, sh_workpool **out);
/* Like sh_workpool_new, with the workers' scheduling priority lowered by
 * `nice` (Linux applies nice per thread): CPU-bound jobs (Argon2id) then
 * yield to the event threads when the cores are busy, so a flood of logins
 * slows logins, not every other request. */
sh_status sh_workpool_new_nice(size_t threads, size_t queue_max, int nice, sh_workpool **out);
/* Queues fn(arg). SH_ERR_BUSY if the queue is full, SH_ERR_UNAVAILABLE if
 * the pool is stopping. */
sh_status sh_workpool_submit(sh_workpool *wp, sh_work_fn fn, void *arg);
/* Runs every queued job, then joins the workers. Later submits get
 * SH_ERR_UNAVAILABLE. Idempotent. */
void sh_workpool_stop(sh_workpool *wp);
/* Stops (if needed) and frees the pool. */
void sh_workpool_free(sh_workpool *wp);
/* Jobs waiting or running (approximate; for metrics). */
size_t sh_workpool_load(sh_workpool *wp);

#endif
