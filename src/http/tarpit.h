/*
 * tarpit.h - answer refused requests late.
 *
 * A client that floods gets 429 anyway; answering it at once lets a
 * closed-loop flooder (one that sends the next request when the previous
 * answer arrives) go as fast as the server can refuse, and on a small machine
 * refusing 30,000 requests a second costs the CPU that authenticated calls
 * need. The tarpit holds each refused connection (suspended, no thread, no
 * work) for a fixed delay and then lets the server answer it, so such a
 * client's rate falls to connections / delay.
 *
 * One thread, one bounded FIFO: with a fixed delay, first in is first due.
 * When the FIFO is full, sh_tarpit_hold fails and the caller answers at once.
 */
#ifndef SH_TARPIT_H
#define SH_TARPIT_H

#include <stddef.h>

#include "core/status.h"

typedef struct sh_tarpit sh_tarpit;
typedef void (*sh_tarpit_fn)(void *arg);

/* Starts the thread: fn(arg) for each held item delay_ms after it was held;
 * room for `cap` items. */
sh_status sh_tarpit_new(unsigned delay_ms, size_t cap, sh_tarpit **out);
/* Holds arg; SH_ERR_BUSY if full or stopping (then the caller answers). */
sh_status sh_tarpit_hold(sh_tarpit *t, sh_tarpit_fn fn, void *arg);
/* Releases everything held now, stops the thread and frees. */
void sh_tarpit_free(sh_tarpit *t);

#endif
