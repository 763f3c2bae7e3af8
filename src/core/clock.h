/*
 * clock.h - wall-clock time in microseconds since the Unix epoch, and
 * RFC 3339 conversion. Tokens and revocation rules compare these values, so
 * microsecond resolution lets a login made right after a rule be newer than
 * the rule.
 */
#ifndef SH_CLOCK_H
#define SH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define SH_USEC 1000000LL
#define SH_RFC3339_MAX 32

int64_t sh_clock_now_us(void);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds) into buf (>= SH_RFC3339_MAX). */
void sh_clock_format(int64_t us, char *buf, size_t len);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, milliseconds; us >= 0) into buf
 * (>= SH_RFC3339_MAX): the log's timestamps, which order events that the
 * same second holds. */
void sh_clock_format_ms(int64_t us, char *buf, size_t len);
/* Parses an RFC 3339 date-time (Z or +hh:mm offset, optional fraction).
 * Returns 0 and sets *us, or -1 if the text is not a valid date-time. */
int sh_clock_parse(const char *text, int64_t *us);

#endif
