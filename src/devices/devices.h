/*
 * devices.h - the device registry: provisioning, the device's own API
 * (heartbeat, factory reset), claiming, reading, control and release.
 *
 * Promise P5: every access to a device that came through its previous owner
 * ends when it is released or reset. The device's generation moves on, and
 * shares, stream tickets (and later integration grants) name the generation
 * they were made for. Names and network details of the old generation are
 * erased in the same transaction.
 *
 * Access rule for callers: a user who has no role on a device gets
 * SH_ERR_NOT_FOUND (its existence is not revealed); a user whose role is too
 * weak gets SH_ERR_FORBIDDEN.
 */
#ifndef SH_DEVICES_H
#define SH_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/auth.h"
#include "crypto/claim_code.h"
#include "crypto/token.h"
#include "store/store_devices.h"

enum sh_device_type {
    SH_DEVICE_CAMERA = 1,
    SH_DEVICE_PLUG,
    SH_DEVICE_BULB,
    SH_DEVICE_SENSOR,
    SH_DEVICE_SCALE,
    SH_DEVICE__COUNT
};

enum sh_device_role {
    SH_ROLE_NONE = 0,
    SH_ROLE_OWNER = 1,
    SH_ROLE_CONTROLLER = 2,
    SH_ROLE_VIEWER = 3,
};

#define SH_DEVICE_CLAIM_TTL_S 3600
#define SH_DEVICE_ONLINE_S 120
#define SH_DEVICE_NAME_MAX 128

int sh_device_type_from_name(const char *name);
const char *sh_device_type_name(int type);
int sh_device_role_from_name(const char *name); /* "controller", "viewer" only */
const char *sh_device_role_name(int role);

/* What provisioning and reset hand to the device (once). */
typedef struct sh_device_secrets {
    sh_id device_id;
    char device_token[SH_TOKEN_MAX];
    char claim_code[SH_CLAIM_TEXT_MAX];
} sh_device_secrets;

/* A device as one user sees it. Strings malloc'd, owned by the view. */
typedef struct sh_device_view {
    sh_id id;
    int type;
    char model[SH_STORE_MODEL_MAX + 1];
    char firmware[SH_STORE_FIRMWARE_MAX + 1];
    char *name; /* may be NULL */
    int64_t last_seen_at;
    int online;
    int role;
    json_t *desired_state; /* owned reference */
    int has_network;       /* owner only */
    json_t *network;       /* owned reference: {wifi_ssid, subnet, local_ip} */
} sh_device_view;

typedef struct sh_device_list {
    sh_device_view *items;
    size_t count, cap;
} sh_device_list;

void sh_device_view_clear(sh_device_view *v);
void sh_device_list_clear(sh_device_list *l);

/* Factory side: a new device with its own token and a claim code. */
sh_status sh_device_provision(const sh_auth *a, int type, const char *model,
                              sh_device_secrets *out);
/* Bulk seeding: a device already owned by `owner` (record with its data
 * key) and named, without claim code. */
sh_status sh_device_create_owned(const sh_auth *a, const sh_user_rec *owner, int type,
                                 const char *model, const char *name, sh_id *out);
/* Device side: authenticates a device token (one store look-up). */
sh_status sh_device_authenticate(const sh_auth *a, const char *token, size_t len,
                                 sh_principal *out);
/* Validates heartbeat fields; SH_ERR_INVALID_REQUEST with a detail. */
sh_status sh_device_heartbeat_check(const char *firmware, const char *ssid, const char *subnet,
                                    const char *local_ip, char *detail, size_t cap);
/* Device side: records firmware and network details (sealed for the
 * owner); *desired receives the desired state (owned reference). */
sh_status sh_device_heartbeat(const sh_auth *a, const sh_principal *dev, const char *firmware,
                              const char *ssid, const char *subnet, const char *local_ip,
                              json_t **desired);
/* Device side: factory reset. New generation, new token, new claim code. */
sh_status sh_device_reset(const sh_auth *a, const sh_principal *dev, sh_device_secrets *out);

/* User side. `user` is the authenticated principal. */
/* Claims the device holding an unexpired code. Failures are counted per
 * account: SH_ERR_RATE_LIMITED with *retry (seconds) once they run out. */
sh_status sh_device_claim(const sh_auth *a, const sh_principal *user, const char *code,
                          size_t code_len, const char *name, sh_device_view *out, int *retry);
/* The caller's devices; for a partner, the granted ones still valid. */
sh_status sh_device_list_for(const sh_auth *a, const sh_principal *user, sh_device_list *out);
sh_status sh_device_get(const sh_auth *a, const sh_principal *user, const sh_id *id,
                        sh_device_view *out);
sh_status sh_device_rename(const sh_auth *a, const sh_principal *user, const sh_id *id,
                           const char *name);
/* Merges a validated state object into the desired state (owner or
 * controller); *result receives the new desired state. */
sh_status sh_device_set_state(const sh_auth *a, const sh_principal *user, const sh_id *id,
                              json_t *state, json_t **result, char *detail, size_t detail_cap);
/* Owner gives the device up: new generation, no owner, nothing kept. */
sh_status sh_device_release(const sh_auth *a, const sh_principal *user, const sh_id *id);

/* The caller's role on a device in its current generation (SH_ERR_NOT_FOUND
 * if none); also returns the generation. For an OAuth partner principal:
 * only devices its grant names in their current generation, on which the
 * user still has a role, with the role capped by the granted scopes
 * (devices:control: controller at most; otherwise viewer). */
sh_status sh_device_role(const sh_auth *a, const sh_principal *user, const sh_id *id, int *role,
                         int64_t *generation);

#endif
