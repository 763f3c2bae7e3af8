/* pkce.c - S256 code challenge check. */
#include "crypto/pkce.h"

#include <string.h>

#include <sodium.h>

static int unreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int sh_pkce_challenge_valid(const char *s, size_t len)
{
    if (len != SH_PKCE_CHALLENGE_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!unreserved(s[i]) || s[i] == '.' || s[i] == '~')
            return 0;
    }
    return 1;
}

int sh_pkce_s256_check(const char *challenge, const char *verifier, size_t len)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char enc[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

    if (len < SH_PKCE_VERIFIER_MIN || len > SH_PKCE_VERIFIER_MAX ||
        strlen(challenge) != SH_PKCE_CHALLENGE_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!unreserved(verifier[i]))
            return 0;
    }
    crypto_hash_sha256(h, (const unsigned char *)verifier, len);
    sodium_bin2base64(enc, sizeof(enc), h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return sodium_memcmp(enc, challenge, SH_PKCE_CHALLENGE_LEN) == 0;
}
