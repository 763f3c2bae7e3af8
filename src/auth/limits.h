/*
 * limits.h - the abuse limits of the public API: one token-bucket policy
 * per (action, key kind), built on core/ratelimit.
 *
 * Per client address (taken from the connection, never from a header;
 * IPv4 by address, IPv6 by /64 prefix): every request of a limited route
 * costs a token, checked on the event thread before any work is queued.
 * These buckets are in memory, per node: the event thread must never wait
 * on the network, so N nodes give an address N times its budget.
 *
 * Per account: only failures cost (wrong password, wrong code), so a user
 * who types right is never slowed down by someone else's guessing beyond
 * the documented lockouts; the key is the e-mail blind index (login,
 * password reset: unknown addresses are limited alike, which reveals
 * nothing) or the user id (codes, claims). These buckets live in the store
 * when the limits have one, shared by every node that uses it, so the
 * bound on guessing one account's password or code does not grow with the
 * number of nodes. The store row is keyed by a hash of (policy name, key)
 * and holds the integer bucket state of core/ratelimit.h; check reads it
 * (no row: a full bucket), charge reads, charges and writes it back in one
 * transaction (on PostgreSQL at SERIALIZABLE, so two nodes charging one
 * account at once serialize and one runs again). A charge made inside a
 * caller's open transaction is part of it, and is lost if it rolls back:
 * charge outside transactions. The per-account calls may wait on the
 * store: call them from worker threads, never the event thread.
 *
 * The numbers, and the arithmetic that bounds guessing a 6-digit code, are
 * in docs/security.md ("Abuse limits"). Change them there too.
 */
#ifndef SH_LIMITS_H
#define SH_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/ratelimit.h"
#include "core/status.h"
#include "store/store.h"

/* What a route or an operation is limited as. Route tables name these in
 * their `limit` column (SH_LIMIT_NONE: no address limit). */
enum sh_limit_kind {
    SH_LIMIT_NONE = 0,
    SH_LIMIT_LOGIN,    /* POST /v1/sessions; per account: failed passwords */
    SH_LIMIT_CODE,     /* second-factor and recovery codes; per account: failed codes */
    SH_LIMIT_RESET,    /* password reset request/confirm; per account: requests */
    SH_LIMIT_REGISTER, /* POST /v1/accounts */
    SH_LIMIT_CLAIM,    /* device claim codes (devices domain) */
    SH_LIMIT_VERIFY,   /* e-mail verification tokens */
    SH_LIMIT__COUNT
};

typedef struct sh_limits sh_limits;

/* Makes every limiter. per_address 0 turns the per-address ones off (for a
 * deployment behind a proxy, or tests that come from one address); the
 * per-account limits are always on: in st when st is not NULL (borrowed;
 * it must outlive the limits), else in memory (unit tests, tools).
 * Returns SH_OK or SH_ERR_NOMEM; free with sh_limits_free. */
sh_status sh_limits_new(int per_address, sh_store *st, sh_limits **out);
void sh_limits_free(sh_limits *l);

/* One request of kind from a client address key (see sh_req_peer_key).
 * SH_OK or SH_ERR_RATE_LIMITED with *retry_after_s. NULL l: SH_OK. */
sh_status sh_limits_address(sh_limits *l, enum sh_limit_kind kind, const uint8_t *peer,
                            size_t peer_len, int *retry_after_s);
/* Whether an account may try (kind LOGIN, CODE, RESET, CLAIM). Takes
 * nothing. SH_OK, SH_ERR_RATE_LIMITED with *retry_after_s (may be NULL),
 * or, when the store cannot be read, SH_ERR_STORE (fails closed; then
 * *retry_after_s is 1). NULL l or a kind without an account limit: SH_OK. */
sh_status sh_limits_account_check(sh_limits *l, enum sh_limit_kind kind, const void *key,
                                  size_t len, int *retry_after_s);
/* Charges an account for a failure (or, for RESET, a request). A store
 * failure is logged (limit_charge_failed) and otherwise ignored. */
void sh_limits_account_charge(sh_limits *l, enum sh_limit_kind kind, const void *key, size_t len);
/* The in-memory limiter of one (kind, scope) for other domains (e.g. claim
 * codes per device): scope 0 address, 1 account. NULL if that limit does
 * not exist, is turned off, or (scope 1) lives in the store. */
sh_ratelimit *sh_limits_get(sh_limits *l, enum sh_limit_kind kind, int account);

#endif
