/*
 * idmap.h - an open-addressing hash map from 128-bit ids to int64 values.
 *
 * Used by the revocation index (user id -> not_before, session id ->
 * not_before). Ids are random, so their first 8 bytes are already a good
 * hash; lookups and inserts are O(1) expected. Not thread-safe: the owner
 * locks. Capacity doubles when 3/4 full.
 */
#ifndef SH_IDMAP_H
#define SH_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"

typedef struct sh_idmap sh_idmap;

sh_idmap *sh_idmap_new(size_t initial);
void sh_idmap_free(sh_idmap *m);
/* Sets key to max(existing, value). Returns 0, or -1 on allocation failure. */
int sh_idmap_put_max(sh_idmap *m, const sh_id *key, int64_t value);
/* Returns 1 and sets *value if key is present, else 0. */
int sh_idmap_get(const sh_idmap *m, const sh_id *key, int64_t *value);
size_t sh_idmap_count(const sh_idmap *m);

#endif
