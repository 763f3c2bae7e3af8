/* password.c - Argon2id via crypto_pwhash_str_alg. */
#include "crypto/password.h"

#include <string.h>

#include <sodium.h>

static unsigned long long cost_ops = SH_PASSWORD_DEFAULT_OPS;
static size_t cost_mem = (size_t)SH_PASSWORD_DEFAULT_MEM_KIB * 1024;
static char dummy_hash[SH_PASSWORD_HASH_MAX];

void sh_password_set_cost(unsigned long long ops, size_t mem_kib)
{
    cost_ops = ops;
    cost_mem = mem_kib * 1024;
}

sh_status sh_password_hash(const char *pw, size_t len, char out[SH_PASSWORD_HASH_MAX])
{
    if (crypto_pwhash_str_alg(out, pw, len, cost_ops, cost_mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return SH_ERR_NOMEM;
    return SH_OK;
}

sh_status sh_password_verify(const char *hash, const char *pw, size_t len)
{
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? SH_OK : SH_ERR_INVALID_CREDENTIALS;
}

int sh_password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, cost_ops, cost_mem) != 0;
}

void sh_password_burn(const char *pw, size_t len)
{
    if (crypto_pwhash_str_verify(dummy_hash, pw, len) == 0)
        return; /* cannot happen: the dummy password is random */
}

sh_status sh_password_init(void)
{
    uint8_t random_pw[32];
    sh_status rc;

    randombytes_buf(random_pw, sizeof(random_pw));
    rc = sh_password_hash((const char *)random_pw, sizeof(random_pw), dummy_hash);
    sodium_memzero(random_pw, sizeof(random_pw));
    return rc;
}
