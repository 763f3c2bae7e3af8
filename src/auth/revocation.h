/*
 * revocation.h - revocation rules and their in-memory index (promise P3).
 *
 * A rule is (scope, not_before): every token of that scope issued at or
 * before not_before is dead. Scopes: all, class, user, session for app
 * sessions; client (one partner), integration (every partner) and grant
 * (one user's link to one partner) for OAuth partner tokens. `all` and
 * `user` cover partner tokens too; `class` and `session` never do. Adding a
 * rule is one durable row plus one O(1) update of the index, whatever the
 * number of sessions; no token row is touched. Checking a token is four
 * look-ups in memory: the maximum not_before over the rules that match it.
 *
 * Rules added by another process (the CLI, another node) reach a running
 * server through sh_revocation_sync, which reads rows newer than the last
 * one seen; the server calls it every 250 ms.
 *
 * Thread safety: the index is guarded by a rwlock; checks take it shared.
 */
#ifndef SH_REVOCATION_H
#define SH_REVOCATION_H

#include <stdint.h>

#include "core/id.h"
#include "core/status.h"
#include "store/store.h"

typedef struct sh_revocation sh_revocation;

sh_revocation *sh_revocation_new(void);
void sh_revocation_free(sh_revocation *rv);

/* Folds one rule into the index (idempotent). */
sh_status sh_revocation_apply(sh_revocation *rv, const sh_rule_rec *r);
/* 1 if a token of (cls, user, session) issued at issued_at survives every
 * rule, else 0. */
int sh_revocation_allows(sh_revocation *rv, int cls, const sh_id *user, const sh_id *session,
                         int64_t issued_at);

/* 1 if a partner token of (client, user, grant) issued at issued_at (the
 * grant's creation time) survives every rule, else 0. */
int sh_revocation_allows_partner(sh_revocation *rv, const sh_id *client, const sh_id *user,
                                 const sh_id *grant, int64_t issued_at);

/* Parses "all" | "class" | "user" | "session" | "client" | "integration" |
 * "grant"; returns 0 if unknown. */
int sh_revocation_scope_from_name(const char *name);
const char *sh_revocation_scope_name(int scope);

/* Validates and stores a rule, then applies it to rv (if not NULL).
 * value: class name for class, 32-hex id for user/session/client/grant,
 * NULL/"" for all and integration.
 * Returns SH_ERR_INVALID_REQUEST for a bad scope/value. *out is filled. */
sh_status sh_revocation_add(sh_store *st, sh_revocation *rv, int scope, const char *value,
                            int64_t not_before, sh_rule_rec *out);
/* Applies rules stored since the last sync. */
sh_status sh_revocation_sync(sh_store *st, sh_revocation *rv);
/* Number of distinct stored rules read into the index by sync (rules
 * applied only locally by sh_revocation_add are counted once sync reads
 * their row). For metrics and tests. */
uint64_t sh_revocation_count(sh_revocation *rv);
#endif
