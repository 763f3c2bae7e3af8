/*
 * store_devices.h - the device registry's part of the store: devices,
 * shares and media-relay credentials. Same rules as store.h: sealed blobs
 * and keyed hashes only; records filled by the store own their blobs.
 */
#ifndef SH_STORE_DEVICES_H
#define SH_STORE_DEVICES_H

#include "store/store.h"

#define SH_STORE_MODEL_MAX 64
#define SH_STORE_FIRMWARE_MAX 64
#define SH_STORE_STATE_MAX 512

typedef struct sh_device_rec {
    sh_id id;
    int type;
    char model[SH_STORE_MODEL_MAX + 1];
    int has_owner;
    sh_id owner;
    int64_t generation;
    uint8_t *name_ct; /* sealed, may be NULL */
    size_t name_ct_len;
    uint8_t *network_ct; /* sealed, may be NULL */
    size_t network_ct_len;
    char firmware[SH_STORE_FIRMWARE_MAX + 1];
    int64_t last_seen_at; /* 0 = never */
    char desired_state[SH_STORE_STATE_MAX + 1];
    int64_t claim_expires_at;
    int64_t created_at;
} sh_device_rec;

typedef struct sh_share_rec {
    sh_id id;
    sh_id device_id;
    int64_t generation;
    sh_id user_id;
    int role;
    int64_t created_at;
} sh_share_rec;

/* A device as one user sees it: the device, and that user's role. */
typedef void (*sh_store_device_cb)(void *ctx, const sh_device_rec *d, int role);
typedef void (*sh_store_share_cb)(void *ctx, const sh_share_rec *s);

struct sh_store_device_ops {
    /* New device with its token and claim-code hashes (claim_hash NULL for
     * a device created already owned, with d->owner and d->name_ct). */
    sh_status (*insert)(sh_store *st, const sh_device_rec *d,
                        const uint8_t token_hash[SH_STORE_HASH_LEN],
                        const uint8_t claim_hash[SH_STORE_HASH_LEN]);
    sh_status (*get)(sh_store *st, const sh_id *id, sh_device_rec *out);
    sh_status (*get_by_token)(sh_store *st, const uint8_t token_hash[SH_STORE_HASH_LEN],
                              sh_device_rec *out);
    /* Claims the unowned device holding this unexpired claim code for
     * owner, setting its sealed name (made for the generation it returns).
     * SH_ERR_NOT_FOUND when no such claimable device. *out is filled. */
    sh_status (*claim)(sh_store *st, const uint8_t claim_hash[SH_STORE_HASH_LEN], int64_t now,
                       const sh_id *owner, sh_device_rec *out);
    /* Sets the sealed name, if generation still matches. */
    sh_status (*set_name)(sh_store *st, const sh_id *id, int64_t generation, const uint8_t *ct,
                          size_t len);
    sh_status (*set_state)(sh_store *st, const sh_id *id, int64_t generation, const char *json);
    /* Records a heartbeat; network_ct only if generation still matches. */
    sh_status (*heartbeat)(sh_store *st, const sh_id *id, int64_t generation, int64_t now,
                           const char *firmware, const uint8_t *network_ct, size_t network_len);
    /* Moves the device to generation+1 with no owner, no name, no network,
     * no shares and, when new_claim_hash is set, a new claim code (and,
     * when new_token_hash is set, a new device token). Only if the
     * current generation is `generation`. */
    sh_status (*release)(sh_store *st, const sh_id *id, int64_t generation, int64_t now,
                         const uint8_t *new_token_hash, const uint8_t *new_claim_hash,
                         int64_t claim_expires_at);
    /* Devices a user owns or has a current-generation share of. */
    sh_status (*list_for_user)(sh_store *st, const sh_id *user, sh_store_device_cb cb, void *ctx);
    /* The user's role on the device in its current generation: 1 owner,
     * 2 controller, 3 viewer; SH_ERR_NOT_FOUND if none. */
    sh_status (*role_of)(sh_store *st, const sh_id *device, const sh_id *user, int *role,
                         int64_t *generation);
    sh_status (*share_insert)(sh_store *st, const sh_share_rec *s);
    sh_status (*share_list)(sh_store *st, const sh_id *device, int64_t generation,
                            sh_store_share_cb cb, void *ctx);
    sh_status (*share_delete)(sh_store *st, const sh_id *device, const sh_id *share);
    sh_status (*relay_insert)(sh_store *st, const sh_id *id,
                              const uint8_t token_hash[SH_STORE_HASH_LEN], int64_t now);
    sh_status (*relay_find)(sh_store *st, const uint8_t token_hash[SH_STORE_HASH_LEN], sh_id *id);
    /* The user's share of the device in its current generation, or
     * SH_ERR_NOT_FOUND. */
    sh_status (*share_of)(sh_store *st, const sh_id *device, const sh_id *user, sh_share_rec *out);
};

void sh_device_rec_clear(sh_device_rec *d);

#endif
