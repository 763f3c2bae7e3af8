/* recovery.c - recovery code text, normalization and keyed hashes. */
#include "crypto/recovery.h"

#include <string.h>

#include <sodium.h>

#define DOMAIN "recovery"
#define TYPED_MAX 64

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford */

static void hash_code(const sh_keyring *kr, const sh_id *user, const char code[SH_RECOVERY_CHARS],
                      uint8_t out[SH_HASH_LEN])
{
    uint8_t buf[SH_ID_LEN + SH_RECOVERY_CHARS];

    memcpy(buf, user->b, SH_ID_LEN);
    memcpy(buf + SH_ID_LEN, code, SH_RECOVERY_CHARS);
    sh_hash_secret(kr, DOMAIN, buf, sizeof(buf), out);
    sodium_memzero(buf, sizeof(buf));
}

void sh_recovery_new(const sh_keyring *kr, const sh_id *user,
                     char text[SH_RECOVERY_COUNT][SH_RECOVERY_TEXT_LEN + 1],
                     uint8_t hashes[SH_RECOVERY_COUNT][SH_HASH_LEN])
{
    char code[SH_RECOVERY_CHARS];

    for (int i = 0; i < SH_RECOVERY_COUNT; i++) {
        for (int j = 0; j < SH_RECOVERY_CHARS; j++)
            code[j] = alphabet[randombytes_uniform(32)];
        hash_code(kr, user, code, hashes[i]);
        memcpy(text[i], code, 5);
        text[i][5] = '-';
        memcpy(text[i] + 6, code + 5, 5);
        text[i][SH_RECOVERY_TEXT_LEN] = '\0';
    }
    sodium_memzero(code, sizeof(code));
}

static int normalize(const char *typed, char code[SH_RECOVERY_CHARS])
{
    size_t n = 0;

    if (strlen(typed) > TYPED_MAX)
        return -1;
    for (const char *p = typed; *p; p++) {
        char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == 'O')
            c = '0';
        if (c == 'I' || c == 'L')
            c = '1';
        if (strchr(alphabet, c) == NULL || c == '\0' || n >= SH_RECOVERY_CHARS)
            return -1;
        code[n++] = c;
    }
    return n == SH_RECOVERY_CHARS ? 0 : -1;
}

sh_status sh_recovery_hash(const sh_keyring *kr, const sh_id *user, const char *typed,
                           uint8_t out[SH_HASH_LEN])
{
    char code[SH_RECOVERY_CHARS];
    sh_status rc = SH_ERR_INVALID_CODE;

    if (normalize(typed, code) == 0) {
        hash_code(kr, user, code, out);
        rc = SH_OK;
    }
    sodium_memzero(code, sizeof(code));
    return rc;
}
