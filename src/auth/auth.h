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

typedef struct sh_auth {
    sh_store *store;
    const sh_keyring *kr;
    sh_revocation *rev;
    int64_t access_ttl_us;
    sh_limits *limits;        /* abuse limits; NULL (CLI, seed): none */
    int64_t stepup_window_us; /* a login this recent passes step-up; 0: default */
} sh_auth;

/* Who is calling, as established from a verified access token. */
typedef struct sh_principal {
    sh_id user;
    sh_id session;
    int token_class;
    int64_t issued_at;
} sh_principal;

#endif
