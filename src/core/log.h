/*
 * log.h - JSON-lines logging on stderr.
 *
 * Promise P1: logs carry ids, never values. The API therefore takes only
 * fixed event names, ids and numbers; there is no printf-style entry point
 * through which an e-mail or a token could slip into a log line.
 */
#ifndef SH_LOG_H
#define SH_LOG_H

#include <stdint.h>

typedef enum { SH_LOG_DEBUG, SH_LOG_INFO, SH_LOG_WARN, SH_LOG_ERROR } sh_log_level;

struct sh_log_request {
    const char *req_id;
    const char *method;
    const char *route; /* route pattern, e.g. "/v1/sessions/{id}" */
    int status;
    int64_t dur_us;
    const char *user_id; /* hex id or NULL */
    const char *session_id;
    const char *device_id; /* for device-authenticated requests */
    const char *client_id; /* OAuth client, for partner-authenticated requests */
    const char *code;      /* problem code on error, or NULL */
};

void sh_log_set_level(sh_log_level level);
/* Turns per-request lines on or off (benchmarks may turn them off). */
void sh_log_set_access(int on);
/* event: a fixed snake_case name; key/value: an optional id or number as text. */
void sh_log_event(sh_log_level level, const char *event, const char *key, const char *value);
void sh_log_request(const struct sh_log_request *r);

#endif
