/*
 * fuzz_form.c - the application/x-www-form-urlencoded parser
 * (sh_form_parse), which reads OAuth token/revoke/introspect bodies, the
 * login and consent forms, and query strings in process. Properties: every
 * parsed form keeps the invariants of form.h (at most SH_FORM_FIELDS_MAX
 * fields, names 1..SH_FORM_NAME_MAX bytes, values at most SH_FORM_VALUE_MAX,
 * valid UTF-8, no NUL), and encoding it again and parsing that gives the
 * same fields in the same order.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "http/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Percent-encodes every byte that is not unreserved. */
static void encode(char **out, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            (*out)[(*len)++] = (char)c;
        } else {
            (*out)[(*len)++] = '%';
            (*out)[(*len)++] = hex[c >> 4];
            (*out)[(*len)++] = hex[c & 15];
        }
    }
}

/* Field i's value: the k-th occurrence of its name, k counted before i. */
static const char *field_value(const sh_form *f, size_t i, size_t *len)
{
    const char *name = sh_form_name_at(f, i);
    size_t k = 0;

    for (size_t j = 0; j < i; j++)
        k += strcmp(sh_form_name_at(f, j), name) == 0;
    return sh_form_get(f, name, k, len);
}

static void check_invariants(const sh_form *f)
{
    size_t n = sh_form_size(f), vlen;

    if (n > SH_FORM_FIELDS_MAX)
        abort();
    for (size_t i = 0; i < n; i++) {
        const char *name = sh_form_name_at(f, i), *v;
        size_t nlen = strlen(name);
        if (nlen < 1 || nlen > SH_FORM_NAME_MAX || !sh_utf8_valid(name, nlen))
            abort();
        v = field_value(f, i, &vlen);
        if (v == NULL || strlen(v) != vlen || vlen > SH_FORM_VALUE_MAX || !sh_utf8_valid(v, vlen))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sh_form *f = sh_form_new(), *g = NULL;
    char *text = NULL;
    size_t len = 0, n, cap;

    if (f == NULL)
        abort();
    if (sh_form_parse(f, (const char *)data, size) != SH_OK)
        goto out;
    check_invariants(f);
    n = sh_form_size(f);
    cap = 3 * (size + 1) + 2 * n + 1; /* every byte escaped, '=' and '&' */
    text = malloc(cap);
    g = sh_form_new();
    if (text == NULL || g == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            text[len++] = '&';
        encode(&text, &len, sh_form_name_at(f, i));
        text[len++] = '=';
        encode(&text, &len, field_value(f, i, NULL));
    }
    if (sh_form_parse(g, text, len) != SH_OK || sh_form_size(g) != n)
        abort(); /* what we encode, we must read back */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sh_form_name_at(f, i), sh_form_name_at(g, i)) != 0 ||
            strcmp(field_value(f, i, NULL), field_value(g, i, NULL)) != 0)
            abort();
    }
out:
    free(text);
    sh_form_free(g);
    sh_form_free(f);
    return 0;
}
