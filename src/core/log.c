/*
 * log.c - one JSON object per line on stderr, written with a single write(2)
 * so lines from several threads never interleave.
 */
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

#define LOG_LINE_MAX 1024

static sh_log_level min_level = SH_LOG_INFO;
static int access_on = 1;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void sh_log_set_level(sh_log_level level) { min_level = level; }
void sh_log_set_access(int on) { access_on = on; }

/* Appends `"key":"value"` with JSON escaping of the few characters that can
 * appear in ids, route patterns and event names. */
static size_t put_str(char *buf, size_t off, const char *key, const char *val)
{
    int n;

    if (val == NULL || off >= LOG_LINE_MAX)
        return off;
    n = snprintf(buf + off, LOG_LINE_MAX - off, ",\"%s\":\"", key);
    if (n < 0 || (size_t)n >= LOG_LINE_MAX - off)
        return LOG_LINE_MAX;
    off += (size_t)n;
    for (const char *p = val; *p && off < LOG_LINE_MAX - 4; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
            buf[off++] = '?';
        else
            buf[off++] = (char)c;
    }
    if (off < LOG_LINE_MAX - 1)
        buf[off++] = '"';
    return off;
}

static void emit(char *buf, size_t off)
{
    if (off > LOG_LINE_MAX - 3)
        off = LOG_LINE_MAX - 3;
    buf[off++] = '}';
    buf[off++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, off);
    (void)w;
}

static size_t head(char *buf, sh_log_level level)
{
    char ts[SH_RFC3339_MAX];
    int n;

    sh_clock_format_ms(sh_clock_now_us(), ts, sizeof(ts));
    n = snprintf(buf, LOG_LINE_MAX, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
    return n < 0 ? 0 : (size_t)n;
}

void sh_log_event(sh_log_level level, const char *event, const char *key, const char *value)
{
    char buf[LOG_LINE_MAX];
    size_t off;

    if (level < min_level)
        return;
    off = head(buf, level);
    off = put_str(buf, off, "event", event);
    if (key != NULL)
        off = put_str(buf, off, key, value);
    emit(buf, off);
}

void sh_log_request(const struct sh_log_request *r)
{
    char buf[LOG_LINE_MAX];
    size_t off;
    int n;

    if (!access_on || SH_LOG_INFO < min_level)
        return;
    off = head(buf, SH_LOG_INFO);
    off = put_str(buf, off, "event", "request");
    off = put_str(buf, off, "req_id", r->req_id);
    off = put_str(buf, off, "method", r->method);
    off = put_str(buf, off, "route", r->route);
    if (off < LOG_LINE_MAX) {
        n = snprintf(buf + off, LOG_LINE_MAX - off, ",\"status\":%d,\"dur_us\":%lld", r->status,
                     (long long)r->dur_us);
        off = (n < 0 || (size_t)n >= LOG_LINE_MAX - off) ? LOG_LINE_MAX : off + (size_t)n;
    }
    off = put_str(buf, off, "user_id", r->user_id);
    off = put_str(buf, off, "session_id", r->session_id);
    off = put_str(buf, off, "device_id", r->device_id);
    off = put_str(buf, off, "client_id", r->client_id);
    off = put_str(buf, off, "code", r->code);
    emit(buf, off);
}
