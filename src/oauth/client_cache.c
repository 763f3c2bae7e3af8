/* client_cache.c - a fixed table of client rows with a one-second life.
 * Open addressing on the first bytes of the (random) id; when the probe
 * finds no slot the row is simply not cached. */
#include "oauth/client_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

struct slot {
    int used;
    int64_t loaded_at;
    sh_oauth_client_rec rec;
};

struct sh_client_cache {
    pthread_mutex_t lock;
    struct slot slots[SH_CLIENT_CACHE_SLOTS];
};

sh_client_cache *sh_client_cache_new(void)
{
    sh_client_cache *cc = calloc(1, sizeof(*cc));

    if (cc != NULL)
        pthread_mutex_init(&cc->lock, NULL);
    return cc;
}

void sh_client_cache_free(sh_client_cache *cc)
{
    if (cc == NULL)
        return;
    pthread_mutex_destroy(&cc->lock);
    free(cc);
}

static size_t home(const sh_id *id)
{
    return ((size_t)id->b[0] | (size_t)id->b[1] << 8) % SH_CLIENT_CACHE_SLOTS;
}

/* The slot holding id, or else a free or stale slot on its probe path, or
 * NULL. Called with the lock held. */
static struct slot *find(sh_client_cache *cc, const sh_id *id, int64_t now, int *hit)
{
    struct slot *spare = NULL;
    size_t h = home(id);

    *hit = 0;
    for (size_t n = 0; n < 8; n++, h = (h + 1) % SH_CLIENT_CACHE_SLOTS) {
        struct slot *s = &cc->slots[h];
        if (s->used && sh_id_equal(&s->rec.id, id)) {
            *hit = now - s->loaded_at < SH_CLIENT_CACHE_TTL_US;
            return s;
        }
        if (spare == NULL && (!s->used || now - s->loaded_at >= SH_CLIENT_CACHE_TTL_US))
            spare = s;
    }
    return spare;
}

sh_status sh_client_cache_get(sh_client_cache *cc, sh_store *st, const sh_id *id,
                              sh_oauth_client_rec *out)
{
    int64_t now = sh_clock_now_us();
    struct slot *s;
    sh_status rc;
    int hit = 0;

    if (cc != NULL) {
        pthread_mutex_lock(&cc->lock);
        s = find(cc, id, now, &hit);
        if (hit)
            *out = s->rec;
        pthread_mutex_unlock(&cc->lock);
        if (hit)
            return SH_OK;
    }
    if (st == NULL)
        return SH_WOULDBLOCK;
    rc = sh_store_do(st, oauth, client_get, id, out);
    if (rc != SH_OK || cc == NULL)
        return rc;
    pthread_mutex_lock(&cc->lock);
    s = find(cc, id, now, &hit);
    if (s != NULL) {
        s->used = 1;
        s->loaded_at = now;
        s->rec = *out;
    }
    pthread_mutex_unlock(&cc->lock);
    return SH_OK;
}

void sh_client_cache_drop(sh_client_cache *cc, const sh_id *id)
{
    struct slot *s;
    int hit = 0;

    if (cc == NULL)
        return;
    pthread_mutex_lock(&cc->lock);
    s = find(cc, id, sh_clock_now_us(), &hit);
    if (s != NULL && s->used && sh_id_equal(&s->rec.id, id))
        s->used = 0;
    pthread_mutex_unlock(&cc->lock);
}
