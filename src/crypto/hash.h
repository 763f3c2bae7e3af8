/*
 * hash.h - keyed BLAKE2b hashes of secrets and look-up values.
 *
 * A stored secret (refresh token, admin token, device token...) is kept only
 * as keyed_hash(purpose key, secret): a copy of the database without the key
 * file cannot be used to test guesses or to replay a token (P1, P2).
 */
#ifndef SH_HASH_H
#define SH_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keyring.h"

#define SH_HASH_LEN 32

/* out = BLAKE2b-256 keyed with the token-hash key, over (domain, data). The
 * domain separates kinds of secret ("refresh", "admin", ...). */
void sh_hash_secret(const sh_keyring *kr, const char *domain, const void *data, size_t len,
                    uint8_t out[SH_HASH_LEN]);
/* Blind index of a normalized e-mail address. */
void sh_hash_blind_index(const sh_keyring *kr, const char *email, uint8_t out[SH_HASH_LEN]);

#endif
