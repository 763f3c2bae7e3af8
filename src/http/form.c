/*
 * form.c - urlencoded parsing. Every field is copied into its own
 * allocation; the whole form is freed at once with the request.
 */
#include "http/form.h"

#include <stdlib.h>
#include <string.h>

struct field {
    char *name;
    char *value;
    size_t vlen;
};

struct sh_form {
    struct field f[SH_FORM_FIELDS_MAX];
    size_t n;
};

sh_form *sh_form_new(void) { return calloc(1, sizeof(sh_form)); }

void sh_form_free(sh_form *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->f[i].name);
        free(f->f[i].value);
    }
    free(f);
}

int sh_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[k] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        p += n + 1;
    }
    return 1;
}

static char *copy(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

sh_status sh_form_add(sh_form *f, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct field *fl;

    if (f->n >= SH_FORM_FIELDS_MAX || nlen == 0 || nlen > SH_FORM_NAME_MAX ||
        vlen > SH_FORM_VALUE_MAX || memchr(name, '\0', nlen) != NULL ||
        memchr(value, '\0', vlen) != NULL || !sh_utf8_valid(name, nlen) ||
        !sh_utf8_valid(value, vlen))
        return SH_ERR_INVALID_REQUEST;
    fl = &f->f[f->n];
    fl->name = copy(name, nlen);
    fl->value = copy(value, vlen);
    if (fl->name == NULL || fl->value == NULL) {
        free(fl->name);
        free(fl->value);
        return SH_ERR_NOMEM;
    }
    fl->vlen = vlen;
    f->n++;
    return SH_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t sh_url_unescape(char *s)
{
    size_t r = 0, w = 0;
    int hi, lo;

    while (s[r] != '\0') {
        if (s[r] == '%' && (hi = hexval(s[r + 1])) >= 0 && (lo = hexval(s[r + 2])) >= 0 &&
            (hi | lo) != 0) {
            s[w++] = (char)(hi << 4 | lo);
            r += 3;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

/* Decodes in[0..n) into out (capacity n); returns the decoded length or
 * -1 on a bad escape. */
static long decode(const char *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (in[i] == '+') {
            out[o++] = ' ';
        } else if (in[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = hexval(in[i + 1]);
            lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    return (long)o;
}

sh_status sh_form_parse(sh_form *f, const char *text, size_t len)
{
    char *tmp = malloc(len + 1);
    size_t pos = 0;
    sh_status rc = SH_OK;

    if (tmp == NULL)
        return SH_ERR_NOMEM;
    while (rc == SH_OK && pos < len) {
        const char *piece = text + pos, *amp = memchr(piece, '&', len - pos);
        size_t plen = amp ? (size_t)(amp - piece) : len - pos;
        const char *eq = memchr(piece, '=', plen);
        size_t nraw = eq ? (size_t)(eq - piece) : plen;
        long nlen, vlen;

        pos += plen + 1;
        if (plen == 0)
            continue;
        nlen = decode(piece, nraw, tmp);
        if (nlen < 0) {
            rc = SH_ERR_INVALID_REQUEST;
            break;
        }
        /* decode the value behind the name in the same scratch buffer */
        vlen = eq ? decode(eq + 1, plen - nraw - 1, tmp + nlen) : 0;
        if (vlen < 0) {
            rc = SH_ERR_INVALID_REQUEST;
            break;
        }
        rc = sh_form_add(f, tmp, (size_t)nlen, tmp + nlen, (size_t)vlen);
    }
    free(tmp);
    return rc;
}

size_t sh_form_count(const sh_form *f, const char *name)
{
    size_t c = 0;

    for (size_t i = 0; f != NULL && i < f->n; i++)
        c += strcmp(f->f[i].name, name) == 0;
    return c;
}

const char *sh_form_get(const sh_form *f, const char *name, size_t i, size_t *len)
{
    for (size_t k = 0; f != NULL && k < f->n; k++) {
        if (strcmp(f->f[k].name, name) != 0)
            continue;
        if (i-- == 0) {
            if (len != NULL)
                *len = f->f[k].vlen;
            return f->f[k].value;
        }
    }
    return NULL;
}

size_t sh_form_size(const sh_form *f) { return f ? f->n : 0; }

const char *sh_form_name_at(const sh_form *f, size_t i)
{
    return (f != NULL && i < f->n) ? f->f[i].name : NULL;
}
