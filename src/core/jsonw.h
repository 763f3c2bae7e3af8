/*
 * jsonw.h - writing JSON text straight into a buffer (core/buf.h).
 *
 * jansson's json_dumps walks a tree through a callback per fragment, and a
 * reply's tree is built, dumped and freed for every request: on a device
 * list that was half of all instructions. sh_jw_value writes a jansson tree
 * in one pass, and the sh_jw_* pieces let a hot route write its answer
 * without building a tree at all.
 *
 * Strings must be valid UTF-8 (every string safehouse holds was checked on
 * the way in); they are copied as they are but for '"', '\\' and control
 * characters, escaped as RFC 8259 says. Keys of objects keep their order.
 */
#ifndef SH_JSONW_H
#define SH_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"

/* Deeper values are refused (the buffer fails): replies are a few levels. */
#define SH_JW_DEPTH_MAX 32

/* A JSON string: "s", escaped; strn takes its length (a NUL in it is
 * written as \u0000). */
void sh_jw_str(sh_buf *b, const char *s);
void sh_jw_strn(sh_buf *b, const char *s, size_t len);
/* "key": (with a comma before it unless first). */
void sh_jw_key(sh_buf *b, const char *key, int first);
void sh_jw_int(sh_buf *b, int64_t v);
void sh_jw_bool(sh_buf *b, int v);
/* Any jansson value, compact, as json_dumps(v, JSON_COMPACT) would; v is
 * only read (jansson's iterators take no const). NULL is written as null. */
void sh_jw_value(sh_buf *b, json_t *v);
/* The text of v, malloc'ed (the caller frees it), or NULL on no memory or
 * past max bytes. */
char *sh_jw_dumps(json_t *v, size_t max, size_t *len);

#endif
