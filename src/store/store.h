/*
 * store.h - the one seam between domain code and a storage backend.
 *
 * Domain modules call sh_store_* and never see SQL; backends (sqlite today,
 * postgres later) implement struct sh_store_ops and never see HTTP. Records
 * carry sealed blobs and hashes only: the store never holds a key and never
 * sees a personal value in clear.
 *
 * Ownership: records filled by the store own their blobs (malloc'd); release
 * them with the matching *_clear function. Records passed in are borrowed.
 * Every function is safe to call from any thread; backends keep one
 * connection per thread.
 */
#ifndef SH_STORE_H
#define SH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"

#define SH_STORE_HASH_LEN 32
#define SH_STORE_PWHASH_MAX 128
#define SH_STORE_RULE_VALUE_MAX 64

typedef struct sh_store sh_store;

typedef struct sh_user_rec {
    sh_id id;
    uint8_t email_idx[SH_STORE_HASH_LEN]; /* keyed blind index */
    uint8_t *email_ct;                    /* sealed e-mail */
    size_t email_ct_len;
    uint8_t *name_ct; /* sealed display name, may be NULL */
    size_t name_ct_len;
    char password_hash[SH_STORE_PWHASH_MAX];
    uint8_t *wrapped_key; /* data key wrapped by master key */
    size_t wrapped_key_len;
    int64_t created_at;
    int64_t updated_at;
} sh_user_rec;

typedef struct sh_session_rec {
    sh_id id;
    sh_id user_id;
    int token_class;
    uint8_t *device_name_ct; /* sealed, may be NULL */
    size_t device_name_ct_len;
    int64_t created_at;
    int64_t last_used_at;
    int64_t revoked_at; /* 0 while active */
} sh_session_rec;

enum sh_rule_scope {
    SH_RULE_ALL = 1,
    SH_RULE_CLASS,
    SH_RULE_USER,
    SH_RULE_SESSION,
    SH_RULE_CLIENT,      /* every token of one OAuth client (partner) */
    SH_RULE_INTEGRATION, /* every partner token, no app session */
    SH_RULE_GRANT,       /* one user's link to one partner */
};

typedef struct sh_rule_rec {
    int64_t seq; /* store-assigned, increasing */
    sh_id id;
    int scope;                           /* enum sh_rule_scope */
    char value[SH_STORE_RULE_VALUE_MAX]; /* class name or hex id; "" for all */
    int64_t not_before;
    int64_t created_at;
} sh_rule_rec;

typedef void (*sh_store_session_cb)(void *ctx, const sh_session_rec *s);
typedef void (*sh_store_rule_cb)(void *ctx, const sh_rule_rec *r);

struct sh_store_ops {
    void (*close)(sh_store *st);
    sh_status (*user_insert)(sh_store *st, const sh_user_rec *u);
    sh_status (*user_get)(sh_store *st, const sh_id *id, sh_user_rec *out);
    sh_status (*user_get_by_email)(sh_store *st, const uint8_t idx[SH_STORE_HASH_LEN],
                                   sh_user_rec *out);
    sh_status (*user_set_name)(sh_store *st, const sh_id *id, const uint8_t *ct, size_t len,
                               int64_t now);
    sh_status (*user_set_password)(sh_store *st, const sh_id *id, const char *hash, int64_t now);
    sh_status (*session_insert)(sh_store *st, const sh_session_rec *s,
                                const uint8_t refresh_hash[SH_STORE_HASH_LEN]);
    sh_status (*session_get)(sh_store *st, const sh_id *id, sh_session_rec *out);
    sh_status (*session_list)(sh_store *st, const sh_id *user_id, sh_store_session_cb cb,
                              void *ctx);
    sh_status (*session_revoke)(sh_store *st, const sh_id *id, int64_t now);
    sh_status (*refresh_find)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                              sh_id *session_id, int *rotated);
    sh_status (*refresh_rotate)(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                                const uint8_t new_hash[SH_STORE_HASH_LEN], const sh_id *session_id,
                                int64_t now);
    sh_status (*rule_insert)(sh_store *st, sh_rule_rec *r);
    sh_status (*rules_since)(sh_store *st, int64_t after_seq, sh_store_rule_cb cb, void *ctx);
    sh_status (*meta_get)(sh_store *st, const char *key, uint8_t *buf, size_t cap, size_t *len);
    sh_status (*meta_put)(sh_store *st, const char *key, const uint8_t *val, size_t len);
    /* Groups this thread's following writes into one transaction (bulk
     * loading, e.g. `safehouse seed`); end commits (ok) or rolls back. */
    sh_status (*batch_begin)(sh_store *st);
    sh_status (*batch_end)(sh_store *st, int ok);
};

/* Per-domain operation tables, each defined in its own header
 * (store/store_<domain>.h) so domains grow without one giant interface.
 * A backend sets every pointer it implements. */
struct sh_store_device_ops;
struct sh_store_mfa_ops;
struct sh_store_oauth_ops;

struct sh_store {
    const struct sh_store_ops *ops;            /* accounts, sessions, rules */
    const struct sh_store_device_ops *devices; /* store_devices.h */
    const struct sh_store_mfa_ops *mfa;        /* store_mfa.h: 2FA, mail, limits */
    const struct sh_store_oauth_ops *oauth;    /* store_oauth.h */
};

/* Opens the embedded SQLite store at path, creating and migrating it. */
sh_status sh_store_open_sqlite(const char *path, sh_store **out);

static inline void sh_store_close(sh_store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

void sh_user_rec_clear(sh_user_rec *u);
void sh_session_rec_clear(sh_session_rec *s);

/* Thin dispatchers: sh_store_<op>(st, ...) -> st->ops-><op>(st, ...). */
#define sh_store_user_insert(st, ...) ((st)->ops->user_insert((st), __VA_ARGS__))
#define sh_store_user_get(st, ...) ((st)->ops->user_get((st), __VA_ARGS__))
#define sh_store_user_get_by_email(st, ...) ((st)->ops->user_get_by_email((st), __VA_ARGS__))
#define sh_store_user_set_name(st, ...) ((st)->ops->user_set_name((st), __VA_ARGS__))
#define sh_store_user_set_password(st, ...) ((st)->ops->user_set_password((st), __VA_ARGS__))
#define sh_store_session_insert(st, ...) ((st)->ops->session_insert((st), __VA_ARGS__))
#define sh_store_session_get(st, ...) ((st)->ops->session_get((st), __VA_ARGS__))
#define sh_store_session_list(st, ...) ((st)->ops->session_list((st), __VA_ARGS__))
#define sh_store_session_revoke(st, ...) ((st)->ops->session_revoke((st), __VA_ARGS__))
#define sh_store_refresh_find(st, ...) ((st)->ops->refresh_find((st), __VA_ARGS__))
#define sh_store_refresh_rotate(st, ...) ((st)->ops->refresh_rotate((st), __VA_ARGS__))
#define sh_store_rule_insert(st, ...) ((st)->ops->rule_insert((st), __VA_ARGS__))
#define sh_store_rules_since(st, ...) ((st)->ops->rules_since((st), __VA_ARGS__))
#define sh_store_meta_get(st, ...) ((st)->ops->meta_get((st), __VA_ARGS__))
#define sh_store_meta_put(st, ...) ((st)->ops->meta_put((st), __VA_ARGS__))
#define sh_store_batch_begin(st) ((st)->ops->batch_begin((st)))
#define sh_store_batch_end(st, ok) ((st)->ops->batch_end((st), (ok)))

#endif
