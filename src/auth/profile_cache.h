/*
 * profile_cache.h - what GET /v1/me shows, held in memory for a second.
 *
 * GET /v1/me is the busiest route an app calls, and without this it reads
 * two rows, unwraps the user's data key and opens two sealed fields on
 * every call. The view it answers changes rarely (a rename, a new address,
 * two-factor on or off), so a server keeps it for at most
 * SH_PROFILE_CACHE_TTL_US.
 *
 * Invariants (a cache must never mix users nor serve a change late):
 * - An entry is keyed by the full user id and a lookup compares all of it:
 *   two users whose ids land in one slot evict each other, they never see
 *   each other's entry.
 * - Every write in this process that changes the view drops the user's
 *   entry before it answers (sh_profile_cache_drop), and a reader that
 *   loaded before such a drop cannot put its older copy back: each slot has
 *   a drop counter, taken as a ticket before the load and checked at put.
 * - Another node's write reaches this cache through the store's change
 *   notifications (a dropped entry, as above), and in any case within the
 *   TTL, the bound for a lost notification.
 * - Only the answer of GET /v1/me comes from here: no security decision
 *   (is two-factor on, may this user log in) reads the cache.
 * - Opened values (the e-mail address, the display name) live only in this
 *   memory, and are wiped when an entry is dropped, replaced or freed.
 *
 * Thread safety: one mutex per slot stripe; entries are copied out.
 */
#ifndef SH_PROFILE_CACHE_H
#define SH_PROFILE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/accounts.h"
#include "core/id.h"
#include "store/store_mfa.h"

#define SH_PROFILE_CACHE_SLOTS 8192 /* power of two */
#define SH_PROFILE_CACHE_TTL_US 1000000

typedef struct sh_profile_cache sh_profile_cache;

/* A new, empty cache; NULL when out of memory. */
sh_profile_cache *sh_profile_cache_new(void);
/* Wipes and frees every entry. c may be NULL. */
void sh_profile_cache_free(sh_profile_cache *c);

/* A fresh entry for user: 1 and *view (caller frees with
 * sh_account_view_clear) and *state filled, or 0 (miss, or out of memory).
 * c may be NULL (always a miss). */
int sh_profile_cache_get(sh_profile_cache *c, const sh_id *user, int64_t now, sh_account_view *view,
                         sh_account_state *state);
/* The ticket to take before loading user's view from the store. */
uint64_t sh_profile_cache_ticket(sh_profile_cache *c, const sh_id *user);
/* Keeps a view loaded under ticket, unless the user's entry was dropped
 * since the ticket was taken. The view is copied. */
void sh_profile_cache_put(sh_profile_cache *c, uint64_t ticket, const sh_account_view *view,
                          const sh_account_state *state, int64_t now);
/* Forgets user's entry (a write changed the view). c may be NULL. */
void sh_profile_cache_drop(sh_profile_cache *c, const sh_id *user);

#endif
