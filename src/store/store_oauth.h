/*
 * store_oauth.h - the OAuth authorization server's part of the store:
 * clients, authorization codes, grants (one user's link to one partner,
 * with the devices and their generations), and refresh tokens.
 *
 * Same rules as store.h: keyed hashes only, never a secret; records filled
 * by the store own nothing that needs freeing (fixed-size fields).
 *
 * Refresh tokens follow the "previous stays valid until the new one is
 * first used" rule: per grant one token is current and at most one is
 * previous. refresh_use() runs that state machine in one transaction.
 */
#ifndef SH_STORE_OAUTH_H
#define SH_STORE_OAUTH_H

#include "store/store.h"
#include "store/store_devices.h"

#define SH_STORE_CLIENT_NAME_MAX 64
#define SH_STORE_REDIRECT_URI_MAX 512
#define SH_STORE_REDIRECT_URIS_MAX 8
#define SH_STORE_REDIRECTS_TEXT_MAX (SH_STORE_REDIRECT_URIS_MAX * (SH_STORE_REDIRECT_URI_MAX + 1))
#define SH_STORE_CHALLENGE_MAX 64
#define SH_STORE_GRANT_DEVICES_MAX 64

typedef struct sh_oauth_client_rec {
    sh_id id;
    char name[SH_STORE_CLIENT_NAME_MAX + 1];
    uint8_t secret_hash[SH_STORE_HASH_LEN];
    char redirect_uris[SH_STORE_REDIRECTS_TEXT_MAX + 1]; /* newline-separated */
    unsigned scopes;
    int has_service_key;
    int64_t created_at;
    int64_t secret_set_at;
    int64_t disabled_at; /* 0 while enabled */
} sh_oauth_client_rec;

typedef struct sh_oauth_device_ref {
    sh_id device;
    int64_t generation;
} sh_oauth_device_ref;

typedef struct sh_oauth_code_rec {
    uint8_t hash[SH_STORE_HASH_LEN];
    sh_id client;
    sh_id user;
    char redirect_uri[SH_STORE_REDIRECT_URI_MAX + 1];
    unsigned scopes;
    char challenge[SH_STORE_CHALLENGE_MAX + 1];
    sh_oauth_device_ref devices[SH_STORE_GRANT_DEVICES_MAX];
    size_t ndevices;
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at; /* 0 while unused */
    int has_grant;
    sh_id grant; /* when used: the grant it made */
} sh_oauth_code_rec;

typedef struct sh_oauth_grant_rec {
    sh_id id;
    sh_id user;
    sh_id client;
    unsigned scopes;
    int64_t created_at;
    int64_t last_used_at;
    int64_t revoked_at; /* 0 while linked */
} sh_oauth_grant_rec;

enum sh_refresh_state { SH_REFRESH_RETIRED = 0, SH_REFRESH_CURRENT = 1, SH_REFRESH_PREVIOUS = 2 };

enum sh_refresh_outcome {
    SH_REFRESH_ROTATED = 1, /* accepted: new_hash is now current */
    SH_REFRESH_REUSED,      /* a used, retired token came back: revoke the grant */
    SH_REFRESH_STALE,       /* a never-used, superseded token: refuse, nothing else */
};

typedef void (*sh_store_client_cb)(void *ctx, const sh_oauth_client_rec *c);
typedef void (*sh_store_grant_cb)(void *ctx, const sh_oauth_grant_rec *g);
typedef void (*sh_store_device_ref_cb)(void *ctx, const sh_oauth_device_ref *d);

struct sh_store_oauth_ops {
    /* service_key_hash may be NULL. SH_ERR_CONFLICT if the key is taken. */
    sh_status (*client_insert)(sh_store *st, const sh_oauth_client_rec *c,
                               const uint8_t *service_key_hash);
    sh_status (*client_get)(sh_store *st, const sh_id *id, sh_oauth_client_rec *out);
    sh_status (*client_list)(sh_store *st, sh_store_client_cb cb, void *ctx);
    sh_status (*client_set_secret)(sh_store *st, const sh_id *id,
                                   const uint8_t hash[SH_STORE_HASH_LEN], int64_t now);
    /* SH_ERR_NOT_FOUND if unknown or already disabled. */
    sh_status (*client_disable)(sh_store *st, const sh_id *id, int64_t now);
    /* The enabled client holding this IFTTT service key. */
    sh_status (*client_by_service_key)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                                       sh_id *id);

    sh_status (*code_insert)(sh_store *st, const sh_oauth_code_rec *c);
    sh_status (*code_get)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                          sh_oauth_code_rec *out);
    /* Marks an unused code used by grant; SH_ERR_CONFLICT if it was used. */
    sh_status (*code_consume)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int64_t now,
                              const sh_id *grant);

    /* A new grant with its devices and its first (current) refresh token. */
    sh_status (*grant_insert)(sh_store *st, const sh_oauth_grant_rec *g,
                              const sh_oauth_device_ref *devices, size_t ndevices,
                              const uint8_t refresh_hash[SH_STORE_HASH_LEN]);
    sh_status (*grant_get)(sh_store *st, const sh_id *id, sh_oauth_grant_rec *out);
    /* SH_ERR_NOT_FOUND if unknown or already revoked. */
    sh_status (*grant_revoke)(sh_store *st, const sh_id *id, int64_t now);
    /* Live grants of a user, of one client when client is not NULL. */
    sh_status (*grants_live)(sh_store *st, const sh_id *user, const sh_id *client,
                             sh_store_grant_cb cb, void *ctx);
    /* The (device, generation) pairs a grant names. */
    sh_status (*grant_devices)(sh_store *st, const sh_id *grant, sh_store_device_ref_cb cb,
                               void *ctx);

    /* Looks a refresh token up: its grant and state (enum sh_refresh_state)
     * and whether it was ever used. */
    sh_status (*refresh_find)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], sh_id *grant,
                              int *state, int *used);
    /* Exchanges old_hash: the rotation state machine, atomically (see top).
     * *outcome says what happened; new_hash is stored only when ROTATED, and
     * the grant's last_used_at is set to now. SH_ERR_NOT_FOUND if unknown. */
    sh_status (*refresh_use)(sh_store *st, const uint8_t old_hash[SH_STORE_HASH_LEN],
                             const uint8_t new_hash[SH_STORE_HASH_LEN], int64_t now, sh_id *grant,
                             int *outcome);

    /* The user's role on a device named by the grant, in the generation the
     * grant names, which must still be the device's current one; also
     * returns that generation. SH_ERR_NOT_FOUND otherwise. */
    sh_status (*granted_role)(sh_store *st, const sh_id *grant, const sh_id *device,
                              const sh_id *user, int *role, int64_t *generation);
    /* The devices of a grant still in their granted generation, on which
     * the user still has a role, with that role. */
    sh_status (*granted_list)(sh_store *st, const sh_id *grant, const sh_id *user,
                              sh_store_device_cb cb, void *ctx);
};

#endif
