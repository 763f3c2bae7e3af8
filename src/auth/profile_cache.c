/* profile_cache.c - a direct-mapped table of GET /v1/me views.
 *
 * The slot of a user is a keyed hash of the id (a per-process random key,
 * so a client cannot aim two accounts at one slot). A slot holds one entry
 * and a drop counter; SLOT_STRIPES mutexes guard the slots. */
#include "auth/profile_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/credentials.h"

#define SLOT_STRIPES 64
#define NAME_BYTES (SH_DISPLAY_NAME_MAX * 4 + 1) /* 128 characters of UTF-8 */

struct entry {
    int used;
    sh_id user;
    int64_t loaded_at;
    int has_name;
    char email[SH_EMAIL_MAX + 1];
    char name[NAME_BYTES];
    int64_t created_at;
    sh_account_state state;
};

struct sh_profile_cache {
    pthread_mutex_t locks[SLOT_STRIPES];
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    struct entry slots[SH_PROFILE_CACHE_SLOTS];
    uint64_t drops[SH_PROFILE_CACHE_SLOTS];
};

sh_profile_cache *sh_profile_cache_new(void)
{
    sh_profile_cache *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    for (int i = 0; i < SLOT_STRIPES; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    randombytes_buf(c->hash_key, sizeof(c->hash_key));
    return c;
}

void sh_profile_cache_free(sh_profile_cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SLOT_STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i]);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

static size_t slot_of(const sh_profile_cache *c, const sh_id *user)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, user->b, SH_ID_LEN, c->hash_key);
    memcpy(&v, h, sizeof(v));
    return (size_t)(v & (SH_PROFILE_CACHE_SLOTS - 1));
}

static pthread_mutex_t *lock_of(sh_profile_cache *c, size_t slot)
{
    return &c->locks[slot % SLOT_STRIPES];
}

static void wipe(struct entry *e) { sodium_memzero(e, sizeof(*e)); }

/* Copies e out; 0, or -1 when out of memory (nothing copied). */
static int copy_out(const struct entry *e, sh_account_view *view, sh_account_state *state)
{
    memset(view, 0, sizeof(*view));
    view->id = e->user;
    view->created_at = e->created_at;
    view->email = strdup(e->email);
    if (e->has_name)
        view->display_name = strdup(e->name);
    if (view->email == NULL || (e->has_name && view->display_name == NULL)) {
        sh_account_view_clear(view);
        return -1;
    }
    *state = e->state;
    return 0;
}

int sh_profile_cache_get(sh_profile_cache *c, const sh_id *user, int64_t now, sh_account_view *view,
                         sh_account_state *state)
{
    size_t s;
    struct entry *e;
    int hit = 0;

    if (c == NULL)
        return 0;
    s = slot_of(c, user);
    e = &c->slots[s];
    pthread_mutex_lock(lock_of(c, s));
    if (e->used && sh_id_equal(&e->user, user)) {
        if (now - e->loaded_at < SH_PROFILE_CACHE_TTL_US && now >= e->loaded_at)
            hit = copy_out(e, view, state) == 0;
        else
            wipe(e); /* expired: opened values do not outlive their TTL */
    }
    pthread_mutex_unlock(lock_of(c, s));
    return hit;
}

uint64_t sh_profile_cache_ticket(sh_profile_cache *c, const sh_id *user)
{
    size_t s;
    uint64_t t;

    if (c == NULL)
        return 0;
    s = slot_of(c, user);
    pthread_mutex_lock(lock_of(c, s));
    t = c->drops[s];
    pthread_mutex_unlock(lock_of(c, s));
    return t;
}

static int fits(const sh_account_view *view)
{
    return view->email != NULL && strlen(view->email) <= SH_EMAIL_MAX &&
           (view->display_name == NULL || strlen(view->display_name) < NAME_BYTES);
}

void sh_profile_cache_put(sh_profile_cache *c, uint64_t ticket, const sh_account_view *view,
                          const sh_account_state *state, int64_t now)
{
    size_t s;
    struct entry *e;

    if (c == NULL || !fits(view))
        return;
    s = slot_of(c, &view->id);
    e = &c->slots[s];
    pthread_mutex_lock(lock_of(c, s));
    if (c->drops[s] == ticket) {
        wipe(e);
        e->used = 1;
        e->user = view->id;
        e->loaded_at = now;
        e->created_at = view->created_at;
        memcpy(e->email, view->email, strlen(view->email) + 1);
        if (view->display_name != NULL) {
            e->has_name = 1;
            memcpy(e->name, view->display_name, strlen(view->display_name) + 1);
        }
        e->state = *state;
    }
    pthread_mutex_unlock(lock_of(c, s));
}

void sh_profile_cache_drop(sh_profile_cache *c, const sh_id *user)
{
    size_t s;

    if (c == NULL)
        return;
    s = slot_of(c, user);
    pthread_mutex_lock(lock_of(c, s));
    c->drops[s]++;
    wipe(&c->slots[s]);
    pthread_mutex_unlock(lock_of(c, s));
}
