/* scopes.c - scope names, bits and descriptions. */
#include "oauth/scopes.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
    const char *description;
} scopes[] = {
    {"devices:read", SH_SCOPE_DEVICES_READ, "See the devices you choose below and their state"},
    {"devices:control", SH_SCOPE_DEVICES_CONTROL,
     "Switch those devices on and off and change their brightness"},
    {"camera:stream", SH_SCOPE_CAMERA_STREAM, "Watch the live video of those cameras"},
};

#define NSCOPES (sizeof(scopes) / sizeof(scopes[0]))

size_t sh_scope_count(void) { return NSCOPES; }
const char *sh_scope_name(size_t i) { return i < NSCOPES ? scopes[i].name : ""; }
unsigned sh_scope_bit(size_t i) { return i < NSCOPES ? scopes[i].bit : 0; }
const char *sh_scope_description(size_t i) { return i < NSCOPES ? scopes[i].description : ""; }

int sh_scope_parse(const char *text, unsigned *bits)
{
    const char *p = text;

    *bits = 0;
    if (text == NULL || *text == '\0')
        return -1;
    for (;;) {
        size_t n = strcspn(p, " ");
        size_t i;
        for (i = 0; i < NSCOPES; i++) {
            if (strlen(scopes[i].name) == n && strncmp(p, scopes[i].name, n) == 0)
                break;
        }
        if (i == NSCOPES)
            return -1;
        *bits |= scopes[i].bit;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

void sh_scope_format(unsigned bits, char *out, size_t cap)
{
    size_t off = 0;

    if (cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < NSCOPES; i++) {
        int n;
        if (!(bits & scopes[i].bit))
            continue;
        n = snprintf(out + off, cap - off, "%s%s", off ? " " : "", scopes[i].name);
        if (n < 0 || (size_t)n >= cap - off)
            return;
        off += (size_t)n;
    }
}
