/*
 * auth.h - what the account and session code needs from the rest of the
 * process, passed explicitly: the store, the keyring, the revocation index
 * and the token lifetimes. Built once at start by the server (or the CLI);
 * read-only afterwards.
 */
#ifndef SH_AUTH_H
#define SH_AUTH_H

#include <stdint.h>

#include "auth/limits.h"
#include "auth/revocation.h"
#include "core/id.h"
#include "crypto/keyring.h"
#include "store/store.h"

#define SH_ACCESS_TTL_DEFAULT_S 900
#define SH_DEVICE_NAME_MAX 128
#define SH_DISPLAY_NAME_MAX 128

struct sh_heartbeats;
struct sh_group_commit;

typedef struct sh_auth {
    sh_store *store;
    const sh_keyring *kr;
    sh_revocation *rev;
    int64_t access_ttl_us;
    sh_limits *limits;                 /* abuse limits; NULL (CLI, seed): none */
    int64_t stepup_window_us;          /* a login this recent passes step-up; 0: default */
    struct sh_heartbeats *heartbeats;  /* group commit; NULL: write directly */
    struct sh_group_commit *rotations; /* refresh rotations; NULL: one commit each */
    struct sh_profile_cache *profiles; /* GET /v1/me views; NULL: none (CLI, seed) */
} sh_auth;

enum sh_principal_kind {
    SH_PRINCIPAL_USER = 0, /* an app session (access token) */
    SH_PRINCIPAL_DEVICE,   /* a device (device token) */
    SH_PRINCIPAL_RELAY,    /* a media relay (relay credential) */
    SH_PRINCIPAL_PARTNER,  /* an OAuth partner acting for a user (sh_oa_ token) */
    SH_PRINCIPAL_ADMIN,    /* an admin credential (admin listener) */
};

/* Who is calling, as established from a verified credential. For a user:
 * user, session, class and the session's creation time; for a device: its
 * id and current generation; for a relay: its id (in device); for a
 * partner: the user it acts for, its grant (in session), the grant's
 * creation time (issued_at), the client and the granted scopes. */
typedef struct sh_principal {
    int kind;
    sh_id user;
    sh_id session;
    int token_class;
    int64_t issued_at;
    sh_id device;
    int64_t generation;
    sh_id client;    /* partner */
    unsigned scopes; /* partner: SH_SCOPE_* bits (oauth/scopes.h) */
    unsigned roles;  /* admin: SH_ADMIN_* bits (http/request.h) */
} sh_principal;

#endif
