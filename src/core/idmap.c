/*
 * idmap.c - linear probing over a power-of-two table. Entries are never
 * removed (rules only ever tighten), which keeps probing simple.
 */
#include "core/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/id.h"

struct slot {
    sh_id key;
    int64_t value;
    int used;
};

struct sh_idmap {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

static uint64_t hash_id(const sh_id *id)
{
    uint64_t h;

    memcpy(&h, id->b, sizeof(h));
    return h ^ (h >> 29);
}

sh_idmap *sh_idmap_new(size_t initial)
{
    sh_idmap *m = calloc(1, sizeof(*m));
    size_t cap = 16;

    if (m == NULL)
        return NULL;
    while (cap < initial * 2)
        cap <<= 1;
    m->slots = calloc(cap, sizeof(struct slot));
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    m->cap = cap;
    return m;
}

void sh_idmap_free(sh_idmap *m)
{
    if (m == NULL)
        return;
    free(m->slots);
    free(m);
}

static struct slot *find(const sh_idmap *m, const sh_id *key)
{
    size_t i = hash_id(key) & (m->cap - 1);

    while (m->slots[i].used && !sh_id_equal(&m->slots[i].key, key))
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static int grow(sh_idmap *m)
{
    struct slot *old = m->slots;
    size_t old_cap = m->cap;

    m->slots = calloc(old_cap * 2, sizeof(struct slot));
    if (m->slots == NULL) {
        m->slots = old;
        return -1;
    }
    m->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].used)
            *find(m, &old[i].key) = old[i];
    }
    free(old);
    return 0;
}

int sh_idmap_put_max(sh_idmap *m, const sh_id *key, int64_t value)
{
    struct slot *s;

    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    s = find(m, key);
    if (!s->used) {
        s->used = 1;
        s->key = *key;
        s->value = value;
        m->count++;
    } else if (value > s->value) {
        s->value = value;
    }
    return 0;
}

int sh_idmap_get(const sh_idmap *m, const sh_id *key, int64_t *value)
{
    const struct slot *s = find(m, key);

    if (!s->used)
        return 0;
    *value = s->value;
    return 1;
}

size_t sh_idmap_count(const sh_idmap *m) { return m->count; }
