/* seal.c - AEAD seal/open of fields and data keys. */
#include "crypto/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SEAL_VERSION 1
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define AAD_MAX 128

/* "sh1|table|column|<row hex>" */
static size_t make_aad(char aad[AAD_MAX], const char *table, const char *column, const sh_id *row)
{
    sh_id_hex hex;
    int n;

    sh_id_to_hex(row, &hex);
    n = snprintf(aad, AAD_MAX, "sh1|%s|%s|%s", table, column, hex.s);
    return (n < 0 || n >= AAD_MAX) ? 0 : (size_t)n;
}

static void seal_raw(const uint8_t *key, const char *aad, size_t aad_len, const void *plain,
                     size_t plain_len, uint8_t *out)
{
    unsigned long long clen = 0;

    out[0] = SEAL_VERSION;
    randombytes_buf(out + 1, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_LEN, &clen, plain, plain_len,
                                               (const uint8_t *)aad, aad_len, NULL, out + 1, key);
}

static int open_raw(const uint8_t *key, const char *aad, size_t aad_len, const uint8_t *blob,
                    size_t blob_len, uint8_t *out)
{
    unsigned long long mlen = 0;

    if (blob_len < SH_SEAL_OVERHEAD || blob[0] != SEAL_VERSION)
        return -1;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, blob + 1 + NONCE_LEN,
                                                      blob_len - 1 - NONCE_LEN,
                                                      (const uint8_t *)aad, aad_len, blob + 1, key);
}

void sh_datakey_new(const sh_keyring *kr, const sh_id *user, sh_datakey *key,
                    uint8_t wrapped[SH_WRAPPED_KEY_LEN])
{
    char aad[AAD_MAX];
    size_t aad_len = make_aad(aad, "users", "data_key", user);

    crypto_aead_xchacha20poly1305_ietf_keygen(key->k);
    seal_raw(sh_keyring_key(kr, SH_KEY_WRAP), aad, aad_len, key->k, SH_KEY_LEN, wrapped);
}

sh_status sh_datakey_unwrap(const sh_keyring *kr, const sh_id *user, const uint8_t *wrapped,
                            size_t len, sh_datakey *key)
{
    char aad[AAD_MAX];
    size_t aad_len = make_aad(aad, "users", "data_key", user);

    if (len != SH_WRAPPED_KEY_LEN ||
        open_raw(sh_keyring_key(kr, SH_KEY_WRAP), aad, aad_len, wrapped, len, key->k) != 0) {
        sodium_memzero(key, sizeof(*key));
        return SH_ERR_INTERNAL;
    }
    return SH_OK;
}

void sh_datakey_wipe(sh_datakey *key) { sodium_memzero(key, sizeof(*key)); }

sh_status sh_seal(const sh_datakey *key, const char *table, const char *column, const sh_id *row,
                  const void *plain, size_t plain_len, uint8_t **out, size_t *out_len)
{
    char aad[AAD_MAX];
    size_t aad_len = make_aad(aad, table, column, row);
    uint8_t *blob;

    if (aad_len == 0)
        return SH_ERR_INTERNAL;
    blob = malloc(plain_len + SH_SEAL_OVERHEAD);
    if (blob == NULL)
        return SH_ERR_NOMEM;
    seal_raw(key->k, aad, aad_len, plain, plain_len, blob);
    *out = blob;
    *out_len = plain_len + SH_SEAL_OVERHEAD;
    return SH_OK;
}

sh_status sh_open(const sh_datakey *key, const char *table, const char *column, const sh_id *row,
                  const uint8_t *blob, size_t blob_len, char **out, size_t *out_len)
{
    char aad[AAD_MAX];
    size_t aad_len = make_aad(aad, table, column, row);
    char *plain;
    size_t plain_len;

    if (aad_len == 0 || blob_len < SH_SEAL_OVERHEAD)
        return SH_ERR_INTERNAL;
    plain_len = blob_len - SH_SEAL_OVERHEAD;
    plain = malloc(plain_len + 1);
    if (plain == NULL)
        return SH_ERR_NOMEM;
    if (open_raw(key->k, aad, aad_len, blob, blob_len, (uint8_t *)plain) != 0) {
        free(plain);
        return SH_ERR_INTERNAL;
    }
    plain[plain_len] = '\0';
    *out = plain;
    if (out_len != NULL)
        *out_len = plain_len;
    return SH_OK;
}
