/* id.c - random ids and their hex form. */
#include "core/id.h"

#include <string.h>

#include <sodium.h>

void sh_id_random(sh_id *id) { randombytes_buf(id->b, SH_ID_LEN); }

void sh_id_to_hex(const sh_id *id, sh_id_hex *out)
{
    sodium_bin2hex(out->s, sizeof(out->s), id->b, SH_ID_LEN);
}

int sh_id_from_hex(const char *text, sh_id *id)
{
    size_t n = 0;
    const char *end = NULL;

    if (text == NULL || strlen(text) != SH_ID_HEX_LEN)
        return -1;
    if (sodium_hex2bin(id->b, SH_ID_LEN, text, SH_ID_HEX_LEN, NULL, &n, &end) != 0 ||
        n != SH_ID_LEN || *end != '\0')
        return -1;
    return 0;
}

int sh_id_equal(const sh_id *a, const sh_id *b) { return memcmp(a->b, b->b, SH_ID_LEN) == 0; }

int sh_id_is_zero(const sh_id *id) { return sodium_is_zero(id->b, SH_ID_LEN); }
