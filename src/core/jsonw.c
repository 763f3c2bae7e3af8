/* jsonw.c - a compact JSON writer over sh_buf. */
#include "core/jsonw.h"

#include <stdio.h>
#include <string.h>

static const char hex[] = "0123456789abcdef";

void sh_jw_str(sh_buf *b, const char *s) { sh_jw_strn(b, s, strlen(s)); }

void sh_jw_strn(sh_buf *b, const char *s, size_t len)
{
    const char *run = s, *end = s + len;

    sh_buf_add(b, "\"", 1);
    for (; s < end; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sh_buf_add(b, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        sh_buf_add(b, esc, n);
    }
    sh_buf_add(b, run, (size_t)(s - run));
    sh_buf_add(b, "\"", 1);
}

void sh_jw_key(sh_buf *b, const char *key, int first)
{
    if (!first)
        sh_buf_add(b, ",", 1);
    sh_jw_str(b, key);
    sh_buf_add(b, ":", 1);
}

void sh_jw_int(sh_buf *b, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%lld", (long long)v);

    if (n > 0)
        sh_buf_add(b, t, (size_t)n);
}

void sh_jw_bool(sh_buf *b, int v) { sh_buf_puts(b, v ? "true" : "false"); }

/* As jansson writes a real: 17 significant digits, an exponent without '+'
 * or leading zeros, and always a '.' or an exponent so that it reads back
 * as a real. */
static void real(sh_buf *b, double d)
{
    char t[40], *e, *from, *to;
    int n = snprintf(t, sizeof(t), "%.17g", d);

    if (n <= 0 || (size_t)n >= sizeof(t))
        return;
    if ((e = strchr(t, 'e')) != NULL) {
        from = to = e + 1;
        if (*from == '+')
            from++;
        else if (*from == '-')
            to = ++from;
        while (*from == '0' && from[1] != '\0')
            from++;
        memmove(to, from, strlen(from) + 1);
    }
    sh_buf_puts(b, t);
    if (strpbrk(t, ".e") == NULL)
        sh_buf_add(b, ".0", 2);
}

/* A scalar, or NULL as null. */
static void scalar(sh_buf *b, json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        sh_jw_strn(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        sh_jw_int(b, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        sh_buf_puts(b, "true");
        break;
    case JSON_FALSE:
        sh_buf_puts(b, "false");
        break;
    default:
        sh_buf_puts(b, "null");
    }
}

/* An open array or object: what comes next in it. */
struct level {
    json_t *v;
    size_t index; /* arrays */
    void *iter;   /* objects */
};

/* Opens v if it is a container (pushing a level), else writes it. Returns
 * 0, or -1 when nesting goes past SH_JW_DEPTH_MAX. */
static int enter(sh_buf *b, json_t *v, struct level *stack, size_t *depth)
{
    if (!json_is_array(v) && !json_is_object(v)) {
        scalar(b, v);
        return 0;
    }
    if (*depth == SH_JW_DEPTH_MAX)
        return -1;
    sh_buf_add(b, json_is_array(v) ? "[" : "{", 1);
    stack[*depth] = (struct level){v, 0, json_is_object(v) ? json_object_iter(v) : NULL};
    (*depth)++;
    return 0;
}

/* The next member of the innermost open container, or NULL when it is
 * done (then closed and popped). */
static json_t *next(sh_buf *b, struct level *top)
{
    json_t *e = NULL;

    if (json_is_array(top->v)) {
        if (top->index < json_array_size(top->v)) {
            if (top->index > 0)
                sh_buf_add(b, ",", 1);
            e = json_array_get(top->v, top->index++);
        }
    } else if (top->iter != NULL) {
        sh_jw_key(b, json_object_iter_key(top->iter), top->index++ == 0);
        e = json_object_iter_value(top->iter);
        top->iter = json_object_iter_next(top->v, top->iter);
    }
    if (e == NULL)
        sh_buf_add(b, json_is_array(top->v) ? "]" : "}", 1);
    return e;
}

/* Iterative, so that no input can grow the C stack. */
void sh_jw_value(sh_buf *b, json_t *v)
{
    struct level stack[SH_JW_DEPTH_MAX];
    size_t depth = 0;
    json_t *e;

    if (enter(b, v, stack, &depth) != 0)
        goto too_deep;
    while (depth > 0) {
        if ((e = next(b, &stack[depth - 1])) == NULL)
            depth--;
        else if (enter(b, e, stack, &depth) != 0)
            goto too_deep;
    }
    return;
too_deep:
    b->failed = 2; /* as past its maximum: sh_buf_take gives no text */
}

char *sh_jw_dumps(json_t *v, size_t max, size_t *len)
{
    sh_buf b;

    if (v == NULL)
        return NULL;
    sh_buf_init(&b, max);
    sh_jw_value(&b, v);
    return sh_buf_take(&b, len);
}
