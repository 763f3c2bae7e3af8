/*
 * client_cache.h - registered clients held in memory for a second.
 *
 * Every token-endpoint, introspection and revocation request authenticates
 * its client. Reading the client row each time costs a SQLite read
 * transaction (file locks included), more than the rest of an
 * introspection. Clients are few and change rarely, so a running server
 * keeps each one it has read for at most SH_CLIENT_CACHE_TTL_US.
 *
 * Invariants: an entry is a copy of a row read at `loaded_at`; a change
 * made through this process (rotate, disable) drops the entry at once; a
 * change made by another process (the CLI, another node) is seen within the
 * TTL, the same bound as for revocation rules, and sooner where it matters:
 * the token endpoint reads the row afresh before issuing anything, and a
 * secret that does not match is checked again against a fresh row, so a new
 * secret works at once everywhere. An old secret may pass introspection or
 * revocation on another node for at most the TTL. Tokens of a disabled
 * client die at once anyway, through its client revocation rule.
 *
 * Thread safety: one mutex; entries are copied out under it.
 */
#ifndef SH_CLIENT_CACHE_H
#define SH_CLIENT_CACHE_H

#include "store/store_oauth.h"

#define SH_CLIENT_CACHE_SLOTS 64
#define SH_CLIENT_CACHE_TTL_US 1000000

typedef struct sh_client_cache sh_client_cache;

/* A new, empty cache; NULL when out of memory. */
sh_client_cache *sh_client_cache_new(void);
void sh_client_cache_free(sh_client_cache *cc);
/* The client row for id, from the cache while fresh, else from the store
 * (and then cached). cc may be NULL: straight to the store. st may be
 * NULL: the cache alone, SH_WOULDBLOCK on a miss. */
sh_status sh_client_cache_get(sh_client_cache *cc, sh_store *st, const sh_id *id,
                              sh_oauth_client_rec *out);
/* Forgets id (after this process changed its row). cc may be NULL. */
void sh_client_cache_drop(sh_client_cache *cc, const sh_id *id);

#endif
