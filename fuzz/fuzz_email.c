/*
 * fuzz_email.c - e-mail normalization (sh_email_normalize), which decides
 * which account an address names. Properties checked on every input that
 * normalizes: the result fits SH_EMAIL_MAX, and normalizing it again gives
 * it back unchanged (otherwise one person could hold two accounts, or lose
 * access to theirs, depending on how often an address went through it).
 */
#include <stdlib.h>
#include <string.h>

#include "auth/credentials.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = sh_fuzz_cstr(data, size);
    char once[SH_EMAIL_MAX + 1], twice[SH_EMAIL_MAX + 1];

    if (sh_email_normalize(in, once, sizeof(once)) == SH_OK) {
        if (strlen(once) > SH_EMAIL_MAX)
            abort();
        if (sh_email_normalize(once, twice, sizeof(twice)) != SH_OK || strcmp(once, twice) != 0)
            abort(); /* normalization must be idempotent */
    }
    free(in);
    return 0;
}
