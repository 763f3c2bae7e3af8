/*
 * buf.h - a growable byte buffer with a hard maximum size (curl's dynbuf
 * habit): every buffer that grows from input or output is created with the
 * most it may ever hold, so no caller can make it grow without bound.
 *
 * The text is always NUL-terminated. After the first failed append the
 * buffer is marked failed and every later append is a no-op, so callers can
 * append a whole page and check once at the end.
 */
#ifndef SH_BUF_H
#define SH_BUF_H

#include <stddef.h>

#include "core/status.h"

typedef struct sh_buf {
    char *p;
    size_t len, cap, max;
    int failed;
} sh_buf;

/* An empty buffer that will hold at most max bytes (plus the NUL). */
void sh_buf_init(sh_buf *b, size_t max);
void sh_buf_free(sh_buf *b);
/* Appends n bytes / a C string; on overflow or ENOMEM marks the buffer
 * failed. */
void sh_buf_add(sh_buf *b, const void *data, size_t n);
void sh_buf_puts(sh_buf *b, const char *s);
/* Appends s escaped for HTML text and attribute values (& < > " '). */
void sh_buf_html(sh_buf *b, const char *s);
/* Appends s percent-encoded for a URL query component (unreserved bytes
 * kept, everything else %XX). */
void sh_buf_urlenc(sh_buf *b, const char *s);
/* SH_OK, or SH_ERR_NOMEM / SH_ERR_TOO_LARGE after a failed append. */
sh_status sh_buf_status(const sh_buf *b);
/* Hands the text to the caller (malloc'd, NUL-terminated; *len may be
 * NULL) and leaves the buffer empty. NULL if the buffer failed. */
char *sh_buf_take(sh_buf *b, size_t *len);

#endif
