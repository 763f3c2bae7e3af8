/* id.c - random ids and their hex form. */
#include "core/id.h"

#include <string.h>

#include <sodium.h>

struct ascending {
    uint64_t left;  /* ids still to come from the slices */
    uint64_t base;  /* first value of the next slice's high half */
    uint64_t slice; /* width of a slice of the high half */
};

static _Thread_local struct ascending asc;

void sh_id_ascending_begin(uint64_t expected)
{
    asc.left = expected;
    asc.base = 0;
    asc.slice = expected == 0 ? 0 : UINT64_MAX / expected;
}

void sh_id_ascending_end(void) { memset(&asc, 0, sizeof(asc)); }

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

void sh_id_random(sh_id *id)
{
    uint64_t r;

    randombytes_buf(id->b, SH_ID_LEN);
    if (asc.left == 0 || asc.slice == 0)
        return;
    /* the low half stays as drawn; the high half lands in the next slice
     * (the modulo's bias is below 2^-32 of a slice: harmless here) */
    memcpy(&r, id->b, sizeof(r));
    put_be64(id->b, asc.base + r % asc.slice);
    asc.base += asc.slice;
    asc.left--;
}

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
