/*
 * revocation.c - the rule index: one value for "all", one per class, and a
 * hash map each for users and sessions. Entries only ever grow (a later
 * not_before replaces an earlier one), so applying a rule twice is harmless
 * and the poller may re-read rules this process wrote itself.
 */
#include "auth/revocation.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/token_class.h"
#include "core/clock.h"
#include "core/idmap.h"

struct sh_revocation {
    pthread_rwlock_t lock;
    int64_t all;
    int64_t by_class[SH_CLASS__COUNT];
    sh_idmap *users;
    sh_idmap *sessions;
    int64_t integration; /* every partner token */
    sh_idmap *clients;   /* OAuth client id -> max not_before */
    sh_idmap *grants;    /* grant id -> max not_before */
    sh_rule_cursor feed; /* where sync reads on from */
    uint64_t count;      /* rule deliveries applied (a rule may come twice) */
    pthread_mutex_t sync_lock;
};

static const char *const scope_names[] = {
    [SH_RULE_ALL] = "all",       [SH_RULE_CLASS] = "class",
    [SH_RULE_USER] = "user",     [SH_RULE_SESSION] = "session",
    [SH_RULE_CLIENT] = "client", [SH_RULE_INTEGRATION] = "integration",
    [SH_RULE_GRANT] = "grant",
};
#define RULE_LAST SH_RULE_GRANT

sh_revocation *sh_revocation_new(void)
{
    sh_revocation *rv = calloc(1, sizeof(*rv));

    if (rv == NULL)
        return NULL;
    rv->users = sh_idmap_new(64);
    rv->sessions = sh_idmap_new(64);
    rv->clients = sh_idmap_new(16);
    rv->grants = sh_idmap_new(64);
    if (rv->users == NULL || rv->sessions == NULL || rv->clients == NULL || rv->grants == NULL) {
        sh_idmap_free(rv->users);
        sh_idmap_free(rv->sessions);
        sh_idmap_free(rv->clients);
        sh_idmap_free(rv->grants);
        free(rv);
        return NULL;
    }
    pthread_rwlock_init(&rv->lock, NULL);
    pthread_mutex_init(&rv->sync_lock, NULL);
    return rv;
}

void sh_revocation_free(sh_revocation *rv)
{
    if (rv == NULL)
        return;
    sh_idmap_free(rv->users);
    sh_idmap_free(rv->sessions);
    sh_idmap_free(rv->clients);
    sh_idmap_free(rv->grants);
    pthread_rwlock_destroy(&rv->lock);
    pthread_mutex_destroy(&rv->sync_lock);
    free(rv);
}

static void raise_to(int64_t *slot, int64_t v)
{
    if (v > *slot)
        *slot = v;
}

static sh_idmap *map_for(sh_revocation *rv, int scope)
{
    switch (scope) {
    case SH_RULE_USER:
        return rv->users;
    case SH_RULE_SESSION:
        return rv->sessions;
    case SH_RULE_CLIENT:
        return rv->clients;
    default:
        return rv->grants;
    }
}

sh_status sh_revocation_apply(sh_revocation *rv, const sh_rule_rec *r)
{
    sh_status rc = SH_OK;
    sh_id id;
    int cls;

    pthread_rwlock_wrlock(&rv->lock);
    switch (r->scope) {
    case SH_RULE_ALL:
        raise_to(&rv->all, r->not_before);
        break;
    case SH_RULE_CLASS:
        cls = sh_class_from_name(r->value);
        if (cls == SH_CLASS_NONE)
            rc = SH_ERR_INVALID_REQUEST;
        else
            raise_to(&rv->by_class[cls], r->not_before);
        break;
    case SH_RULE_INTEGRATION:
        raise_to(&rv->integration, r->not_before);
        break;
    case SH_RULE_USER:
    case SH_RULE_SESSION:
    case SH_RULE_CLIENT:
    case SH_RULE_GRANT:
        if (sh_id_from_hex(r->value, &id) != 0)
            rc = SH_ERR_INVALID_REQUEST;
        else if (sh_idmap_put_max(map_for(rv, r->scope), &id, r->not_before) != 0)
            rc = SH_ERR_NOMEM;
        break;
    default:
        rc = SH_ERR_INVALID_REQUEST;
    }
    pthread_rwlock_unlock(&rv->lock);
    return rc;
}

int sh_revocation_allows(sh_revocation *rv, int cls, const sh_id *user, const sh_id *session,
                         int64_t issued_at)
{
    int64_t limit, v;

    pthread_rwlock_rdlock(&rv->lock);
    limit = rv->all;
    if (cls > SH_CLASS_NONE && cls < SH_CLASS__COUNT)
        raise_to(&limit, rv->by_class[cls]);
    if (sh_idmap_get(rv->users, user, &v))
        raise_to(&limit, v);
    if (sh_idmap_get(rv->sessions, session, &v))
        raise_to(&limit, v);
    pthread_rwlock_unlock(&rv->lock);
    return issued_at > limit;
}

int sh_revocation_allows_partner(sh_revocation *rv, const sh_id *client, const sh_id *user,
                                 const sh_id *grant, int64_t issued_at)
{
    int64_t limit, v;

    pthread_rwlock_rdlock(&rv->lock);
    limit = rv->all;
    raise_to(&limit, rv->integration);
    if (sh_idmap_get(rv->clients, client, &v))
        raise_to(&limit, v);
    if (sh_idmap_get(rv->users, user, &v))
        raise_to(&limit, v);
    if (sh_idmap_get(rv->grants, grant, &v))
        raise_to(&limit, v);
    pthread_rwlock_unlock(&rv->lock);
    return issued_at > limit;
}

int sh_revocation_scope_from_name(const char *name)
{
    if (name == NULL)
        return 0;
    for (int s = SH_RULE_ALL; s <= RULE_LAST; s++) {
        if (strcmp(name, scope_names[s]) == 0)
            return s;
    }
    return 0;
}

const char *sh_revocation_scope_name(int scope)
{
    if (scope < SH_RULE_ALL || scope > RULE_LAST)
        return "unknown";
    return scope_names[scope];
}

static int value_valid(int scope, const char *value)
{
    sh_id id;

    switch (scope) {
    case SH_RULE_ALL:
    case SH_RULE_INTEGRATION:
        return value == NULL || *value == '\0';
    case SH_RULE_CLASS:
        return sh_class_from_name(value) != SH_CLASS_NONE;
    case SH_RULE_USER:
    case SH_RULE_SESSION:
    case SH_RULE_CLIENT:
    case SH_RULE_GRANT:
        return value != NULL && sh_id_from_hex(value, &id) == 0;
    default:
        return 0;
    }
}

sh_status sh_revocation_add(sh_store *st, sh_revocation *rv, int scope, const char *value,
                            int64_t not_before, sh_rule_rec *out)
{
    sh_rule_rec r;
    sh_status rc;
    sh_id id;

    if (!value_valid(scope, value))
        return SH_ERR_INVALID_REQUEST;
    memset(&r, 0, sizeof(r));
    sh_id_random(&r.id);
    r.scope = scope;
    if (scope == SH_RULE_USER || scope == SH_RULE_SESSION || scope == SH_RULE_CLIENT ||
        scope == SH_RULE_GRANT) {
        /* canonical lower-case hex */
        sh_id_hex hex;
        (void)sh_id_from_hex(value, &id);
        sh_id_to_hex(&id, &hex);
        memcpy(r.value, hex.s, sizeof(hex.s));
    } else if (value != NULL) {
        strncpy(r.value, value, sizeof(r.value) - 1);
    }
    r.created_at = sh_clock_now_us();
    r.not_before = not_before != 0 ? not_before : r.created_at;
    rc = sh_store_do(st, core, rule_insert, &r);
    if (rc == SH_OK && rv != NULL)
        rc = sh_revocation_apply(rv, &r);
    if (rc == SH_OK && out != NULL)
        *out = r;
    return rc;
}

struct sync_ctx {
    sh_revocation *rv;
    uint64_t applied;
};

static void sync_one(void *arg, const sh_rule_rec *r)
{
    struct sync_ctx *ctx = arg;

    if (sh_revocation_apply(ctx->rv, r) == SH_OK)
        ctx->applied++;
}

sh_status sh_revocation_sync(sh_store *st, sh_revocation *rv)
{
    struct sync_ctx ctx = {rv, 0};
    sh_rule_cursor cur;
    sh_status rc;

    pthread_mutex_lock(&rv->sync_lock);
    cur = rv->feed;
    rc = sh_store_do(st, core, rules_feed, &cur, sync_one, &ctx);
    if (rc == SH_OK)
        rv->feed = cur;
    pthread_rwlock_wrlock(&rv->lock);
    rv->count += ctx.applied;
    pthread_rwlock_unlock(&rv->lock);
    pthread_mutex_unlock(&rv->sync_lock);
    return rc;
}

uint64_t sh_revocation_count(sh_revocation *rv)
{
    uint64_t n;

    pthread_rwlock_rdlock(&rv->lock);
    n = rv->count;
    pthread_rwlock_unlock(&rv->lock);
    return n;
}
