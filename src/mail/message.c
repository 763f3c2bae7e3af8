/* message.c - headers and CRLF conversion. */
#include "mail/message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#define HEAD_MAX 1024

static int header_safe(const char *s, size_t n) { return strcspn(s, "\r\n") >= n; }

sh_status sh_mail_format(const char *from, const char *to, const char *text, const sh_id *msg_id,
                         int64_t now_us, char **out, size_t *len)
{
    const char *sep = strstr(text, "\n\n");
    char head[HEAD_MAX], date[64];
    time_t t = (time_t)(now_us / SH_USEC);
    struct tm tm;
    sh_id_hex hex;
    size_t subject_len, body_lines = 1, n = 0;
    const char *body;
    char *buf;
    int h;

    if (sep == NULL)
        return SH_ERR_INTERNAL;
    subject_len = (size_t)(sep - text);
    body = sep + 2;
    if (!header_safe(from, strlen(from)) || !header_safe(to, strlen(to)) ||
        !header_safe(text, subject_len))
        return SH_ERR_INVALID_REQUEST;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    sh_id_to_hex(msg_id, &hex);
    h = snprintf(
        head, sizeof(head),
        "From: <%s>\r\nTo: <%s>\r\nSubject: %.*s\r\nDate: %s\r\n"
        "Message-ID: <%s@safehouse>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        from, to, (int)subject_len, text, date, hex.s);
    if (h < 0 || (size_t)h >= sizeof(head))
        return SH_ERR_INVALID_REQUEST;
    for (const char *p = body; *p; p++)
        body_lines += *p == '\n';
    buf = malloc((size_t)h + strlen(body) + body_lines + 3);
    if (buf == NULL)
        return SH_ERR_NOMEM;
    memcpy(buf, head, (size_t)h);
    n = (size_t)h;
    for (const char *p = body; *p; p++) {
        if (*p == '\n' && (p == body || p[-1] != '\r'))
            buf[n++] = '\r';
        buf[n++] = *p;
    }
    if (n < 2 || buf[n - 1] != '\n') {
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return SH_OK;
}
