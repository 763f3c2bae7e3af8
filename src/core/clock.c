/*
 * clock.c - time helpers. Parsing is strict: anything that is not exactly an
 * RFC 3339 date-time fails, because a mis-read `--before` on a revocation rule
 * would silently revoke the wrong set of sessions.
 */
#include "core/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t sh_clock_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * SH_USEC + ts.tv_nsec / 1000;
}

void sh_clock_format(int64_t us, char *buf, size_t len)
{
    time_t secs = (time_t)(us / SH_USEC);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void sh_clock_format_ms(int64_t us, char *buf, size_t len)
{
    time_t secs = (time_t)(us / SH_USEC);
    struct tm tm;
    char whole[SH_RFC3339_MAX];

    gmtime_r(&secs, &tm);
    strftime(whole, sizeof(whole), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", whole, (int)((us % SH_USEC) / 1000));
}

/* Reads exactly n digits at *p; returns -1 on a non-digit. */
static int digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

int sh_clock_parse(const char *text, int64_t *us)
{
    const char *p = text;
    struct tm tm;
    int64_t frac = 0, offset = 0;
    int y, mo, d, h, mi, s;

    memset(&tm, 0, sizeof(tm));
    if ((y = digits(&p, 4)) < 0 || expect(&p, '-') || (mo = digits(&p, 2)) < 0 || expect(&p, '-') ||
        (d = digits(&p, 2)) < 0)
        return -1;
    if (*p != 'T' && *p != 't')
        return -1;
    p++;
    if ((h = digits(&p, 2)) < 0 || expect(&p, ':') || (mi = digits(&p, 2)) < 0 || expect(&p, ':') ||
        (s = digits(&p, 2)) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    if (*p == '.') {
        int64_t scale = 100000;
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if ((oh = digits(&p, 2)) < 0 || expect(&p, ':') || (om = digits(&p, 2)) < 0 || oh > 23 ||
            om > 59)
            return -1;
        offset = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s > 59 ? 59 : s;
    time_t t = timegm(&tm);
    struct tm back;
    /* timegm rolls 2023-02-29 over to March 1: refuse days the month lacks */
    if (gmtime_r(&t, &back) == NULL || back.tm_mday != tm.tm_mday || back.tm_mon != mo - 1)
        return -1;
    *us = ((int64_t)t - offset) * SH_USEC + frac;
    return 0;
}
