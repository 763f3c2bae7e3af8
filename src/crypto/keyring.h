/*
 * keyring.h - the master key and the purpose keys derived from it.
 *
 * The master key lives outside the database: in a file created with mode
 * 0600 at first start, in SAFEHOUSE_MASTER_KEY (hex), or in a file the
 * operator made (--key-file, systemd's LoadCredential=). Every purpose
 * (token MAC, blind index, token hashes, key wrapping) gets its own key
 * derived with crypto_kdf, so a leak of one derived key exposes one purpose.
 * Keys sit in sodium_malloc'd memory (guarded, locked, wiped on free).
 * Only src/crypto includes this header's internals.
 */
#ifndef SH_KEYRING_H
#define SH_KEYRING_H

#include <stdint.h>

#include "core/status.h"

#define SH_KEY_LEN 32

enum sh_key_purpose {
    SH_KEY_TOKEN_MAC = 1, /* MAC of self-contained access tokens */
    SH_KEY_BLIND_INDEX,   /* look-up index of e-mail addresses */
    SH_KEY_TOKEN_HASH,    /* keyed hash of stored secrets (refresh tokens...) */
    SH_KEY_WRAP,          /* wraps per-user data keys */
    SH_KEY__COUNT
};

/* Current version of the token MAC key; carried in every access token. */
#define SH_KEY_TOKEN_MAC_VERSION 1

typedef struct sh_keyring sh_keyring;

/* Loads the master key: env SAFEHOUSE_MASTER_KEY if set, else key_path,
 * creating that file (0600, 32 random bytes as hex) if absent.
 * *created is set to 1 when a new key file was written. Caller frees with
 * sh_keyring_free. */
sh_status sh_keyring_open(const char *key_path, sh_keyring **out, int *created);
/* Loads the master key from an existing file only: never the environment,
 * never a new file (a mistyped path must not start a service on a fresh
 * key). The file is refused when group or others may read it. */
sh_status sh_keyring_open_file(const char *key_path, sh_keyring **out);
void sh_keyring_free(sh_keyring *kr);
/* The derived key for a purpose; valid until sh_keyring_free. */
const uint8_t *sh_keyring_key(const sh_keyring *kr, enum sh_key_purpose p);

#endif
