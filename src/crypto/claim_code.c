/* claim_code.c - generating and canonicalising claim codes. */
#include "crypto/claim_code.h"

#include <ctype.h>
#include <stdint.h>

#include <sodium.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The alphabet has 32 symbols, so the low 5 bits of a random byte pick one
 * without bias. One draw for the whole code: randombytes_uniform per symbol
 * was one getrandom() system call each, most of the cost of provisioning. */
void sh_claim_code_new(char out[SH_CLAIM_TEXT_MAX])
{
    uint8_t r[SH_CLAIM_CHARS];
    size_t o = 0;

    randombytes_buf(r, sizeof(r));
    for (int i = 0; i < SH_CLAIM_CHARS; i++) {
        if (i > 0 && i % 5 == 0)
            out[o++] = '-';
        out[o++] = alphabet[r[i] & 31];
    }
    out[o] = '\0';
    sodium_memzero(r, sizeof(r));
}

/* Maps a typed character to the alphabet, or 0 if it has no place there. */
static char canon(unsigned char c)
{
    c = (unsigned char)toupper(c);
    if (c == 'I' || c == 'L')
        return '1';
    if (c == 'O')
        return '0';
    for (const char *a = alphabet; *a; a++) {
        if (*a == (char)c)
            return (char)c;
    }
    return 0;
}

sh_status sh_claim_code_canonical(const char *text, size_t len, char out[SH_CLAIM_CHARS + 1])
{
    size_t n = 0;

    if (len > 64)
        return SH_ERR_INVALID_REQUEST;
    for (size_t i = 0; i < len; i++) {
        char c;
        if (text[i] == '-' || text[i] == ' ')
            continue;
        c = canon((unsigned char)text[i]);
        if (c == 0 || n == SH_CLAIM_CHARS)
            return SH_ERR_INVALID_REQUEST;
        out[n++] = c;
    }
    if (n != SH_CLAIM_CHARS)
        return SH_ERR_INVALID_REQUEST;
    out[n] = '\0';
    return SH_OK;
}
