/* hash.c - keyed hashes; the domain string is length-prefixed so that
 * (domain, data) pairs cannot collide by shifting bytes between them. */
#include "crypto/hash.h"

#include <string.h>

#include <sodium.h>

static void keyed(const uint8_t *key, const char *domain, const void *data, size_t len,
                  uint8_t out[SH_HASH_LEN])
{
    crypto_generichash_state st;
    uint8_t dlen = (uint8_t)strlen(domain);

    crypto_generichash_init(&st, key, SH_KEY_LEN, SH_HASH_LEN);
    crypto_generichash_update(&st, &dlen, 1);
    crypto_generichash_update(&st, (const uint8_t *)domain, dlen);
    crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, out, SH_HASH_LEN);
    sodium_memzero(&st, sizeof(st));
}

void sh_hash_secret(const sh_keyring *kr, const char *domain, const void *data, size_t len,
                    uint8_t out[SH_HASH_LEN])
{
    keyed(sh_keyring_key(kr, SH_KEY_TOKEN_HASH), domain, data, len, out);
}

void sh_hash_blind_index(const sh_keyring *kr, const char *email, uint8_t out[SH_HASH_LEN])
{
    keyed(sh_keyring_key(kr, SH_KEY_BLIND_INDEX), "email", email, strlen(email), out);
}
