/*
 * seal.h - personal fields sealed with XChaCha20-Poly1305 under a per-user
 * data key, and those data keys wrapped under the master wrapping key.
 *
 * The additional data binds every ciphertext to (table, column, row id), so a
 * sealed value copied into another row, column or user fails to open (P2).
 * Destroying a user's wrapped key makes all their sealed data unreadable,
 * also in old backups (P9).
 *
 * Blob layout: version(1) || nonce(24) || ciphertext || tag(16).
 */
#ifndef SH_SEAL_H
#define SH_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"
#include "crypto/keyring.h"

#define SH_SEAL_OVERHEAD (1 + 24 + 16)
#define SH_WRAPPED_KEY_LEN (SH_KEY_LEN + SH_SEAL_OVERHEAD)

/* A user's data key. Treat as opaque; wipe with sh_datakey_wipe. */
typedef struct sh_datakey {
    uint8_t k[SH_KEY_LEN];
} sh_datakey;

/* Makes a fresh data key for user `id` and its wrapped form. */
void sh_datakey_new(const sh_keyring *kr, const sh_id *user, sh_datakey *key,
                    uint8_t wrapped[SH_WRAPPED_KEY_LEN]);
/* Unwraps a stored data key. Returns SH_OK, or SH_ERR_INTERNAL if the blob was
 * not made for this user with this master key. */
__attribute__((warn_unused_result)) sh_status sh_datakey_unwrap(const sh_keyring *kr,
                                                                const sh_id *user,
                                                                const uint8_t *wrapped, size_t len,
                                                                sh_datakey *key);
void sh_datakey_wipe(sh_datakey *key);

/* Seals plaintext for (table, column, row). *out is malloc'd, caller frees. */
sh_status sh_seal(const sh_datakey *key, const char *table, const char *column, const sh_id *row,
                  const void *plain, size_t plain_len, uint8_t **out, size_t *out_len);
/* Opens a sealed blob into a malloc'd NUL-terminated string (*out, caller
 * frees). Returns SH_ERR_INTERNAL if it fails to authenticate. */
__attribute__((warn_unused_result)) sh_status sh_open(const sh_datakey *key, const char *table,
                                                      const char *column, const sh_id *row,
                                                      const uint8_t *blob, size_t blob_len,
                                                      char **out, size_t *out_len);

#endif
