/*
 * form.h - application/x-www-form-urlencoded parameters (RFC 6749 request
 * bodies, HTML form posts, query strings), decoded and checked once.
 *
 * Invariants of a parsed form: at most SH_FORM_FIELDS_MAX fields; every
 * name is 1..SH_FORM_NAME_MAX bytes; names and values are valid UTF-8 with
 * no NUL byte (a %00 is refused, so values are safe C strings); values are
 * at most SH_FORM_VALUE_MAX bytes. Repeated names are kept in order: the
 * caller decides whether a name may repeat (RFC 6749 says request
 * parameters must not; an HTML checkbox list does).
 */
#ifndef SH_FORM_H
#define SH_FORM_H

#include <stddef.h>

#include "core/status.h"

#define SH_FORM_FIELDS_MAX 64
#define SH_FORM_NAME_MAX 64
#define SH_FORM_VALUE_MAX 4096

typedef struct sh_form sh_form;

/* A new, empty form; NULL when out of memory. Free with sh_form_free. */
sh_form *sh_form_new(void);
void sh_form_free(sh_form *f);
/* Adds one already decoded pair (copied). SH_ERR_INVALID_REQUEST when it
 * breaks an invariant above, SH_ERR_NOMEM. */
sh_status sh_form_add(sh_form *f, const char *name, size_t nlen, const char *value, size_t vlen);
/* Decodes "a=1&b=x+y%21" (len bytes, not necessarily NUL-terminated) into
 * f: '+' is a space, %XX a byte; an empty piece ("a=1&&b=2") is skipped; a
 * piece without '=' has an empty value. SH_ERR_INVALID_REQUEST for a bad
 * escape or a broken invariant. */
sh_status sh_form_parse(sh_form *f, const char *text, size_t len);
/* Decodes every %HH of the NUL-terminated s in place, but %00, which stays
 * as it came (a NUL would end the text early); a % without two hex digits
 * stays too. Returns the new length. */
size_t sh_url_unescape(char *s);
/* How many times name occurs. */
size_t sh_form_count(const sh_form *f, const char *name);
/* The i-th value of name (NUL-terminated, owned by the form), or NULL;
 * *len (may be NULL) gets its length. */
const char *sh_form_get(const sh_form *f, const char *name, size_t i, size_t *len);
/* Number of fields, and field i's name (for iteration). */
size_t sh_form_size(const sh_form *f);
const char *sh_form_name_at(const sh_form *f, size_t i);

/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int sh_utf8_valid(const char *s, size_t len);

#endif
