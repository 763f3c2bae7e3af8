/*
 * sdnotify.h - systemd's service notification protocol (sd_notify(3)):
 * READY=1 once the service answers, STOPPING=1 when it begins to stop, and
 * WATCHDOG=1 pings when the unit sets WatchdogSec=. It is one datagram to
 * the unix socket named by $NOTIFY_SOCKET (an abstract one when the name
 * starts with '@'), so it is written here rather than linked from
 * libsystemd. Without $NOTIFY_SOCKET every call does nothing.
 */
#ifndef SH_SDNOTIFY_H
#define SH_SDNOTIFY_H

#include <stdint.h>

/* Sends state (e.g. "READY=1") to $NOTIFY_SOCKET. Returns 1 when sent, 0
 * when there is no socket to send to, -1 when sending failed. */
int sh_sdnotify(const char *state);
/* The watchdog interval systemd expects pings within, in microseconds, or
 * 0 when no watchdog is set for this process ($WATCHDOG_USEC, and
 * $WATCHDOG_PID naming this process when set). */
int64_t sh_sdnotify_watchdog_usec(void);

#endif
