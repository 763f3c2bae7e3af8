/* buf.c - bounded growable buffer with HTML and URL escaping helpers. */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

void sh_buf_init(sh_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void sh_buf_free(sh_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void sh_buf_add(sh_buf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (n > b->max - b->len) {
        b->failed = 2; /* too large */
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sh_buf_puts(sh_buf *b, const char *s) { sh_buf_add(b, s, strlen(s)); }

void sh_buf_html(sh_buf *b, const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '&':
            esc = "&amp;";
            break;
        case '<':
            esc = "&lt;";
            break;
        case '>':
            esc = "&gt;";
            break;
        case '"':
            esc = "&quot;";
            break;
        case '\'':
            esc = "&#39;";
            break;
        default:
            continue;
        }
        sh_buf_add(b, run, (size_t)(s - run));
        sh_buf_puts(b, esc);
        run = s + 1;
    }
    sh_buf_add(b, run, (size_t)(s - run));
}

void sh_buf_urlenc(sh_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[3];

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            sh_buf_add(b, s, 1);
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        sh_buf_add(b, esc, 3);
    }
}

sh_status sh_buf_status(const sh_buf *b)
{
    if (b->failed == 1)
        return SH_ERR_NOMEM;
    return b->failed ? SH_ERR_TOO_LARGE : SH_OK;
}

char *sh_buf_take(sh_buf *b, size_t *len)
{
    char *p;

    if (b->failed) {
        sh_buf_free(b);
        return NULL;
    }
    if (b->p == NULL)
        sh_buf_add(b, "", 0);
    if (b->p == NULL) /* empty add does not allocate */
        b->p = calloc(1, 1);
    p = b->p;
    if (len != NULL)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}
