/*
 * fuzz_rfc3339.c - the strict RFC 3339 parser (sh_clock_parse), which reads
 * the `not_before` of revocation rules from the admin API and the CLI.
 * Property: a time it accepts between 1970 and 9000 formats (sh_clock_format)
 * and parses back to the same second.
 */
#include <stdlib.h>

#include "core/clock.h"
#include "fuzz_util.h"

#define YEAR_9000_US (221845392000LL * SH_USEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = sh_fuzz_cstr(data, size);
    char text[SH_RFC3339_MAX];
    int64_t us = 0, back = 0;

    if (sh_clock_parse(in, &us) == 0 && us >= 0 && us < YEAR_9000_US) {
        sh_clock_format(us, text, sizeof(text));
        if (sh_clock_parse(text, &back) != 0 || back != us - us % SH_USEC)
            abort(); /* what we print, we must read back */
    }
    free(in);
    return 0;
}
