/*
 * fuzz_claim_code.c - the claim-code parser (sh_claim_code_canonical), which
 * reads what a buyer types from the box of a device. Properties: a code it
 * accepts is 25 characters of the Crockford alphabet, and canonicalizing it
 * again gives it back unchanged (the stored keyed hash is of that form, so
 * two spellings of one code must meet there).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/claim_code.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char once[SH_CLAIM_CHARS + 1], twice[SH_CLAIM_CHARS + 1];

    if (sh_claim_code_canonical((const char *)data, size, once) != SH_OK)
        return 0;
    if (strlen(once) != SH_CLAIM_CHARS ||
        strspn(once, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != SH_CLAIM_CHARS)
        abort();
    if (sh_claim_code_canonical(once, strlen(once), twice) != SH_OK || strcmp(once, twice) != 0)
        abort();
    return 0;
}
