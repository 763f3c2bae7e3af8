/* token_class.c - class names as clients and operators spell them. */
#include "auth/token_class.h"

#include <string.h>

static const char *const names[SH_CLASS__COUNT] = {
    [SH_CLASS_ANDROID] = "android",
    [SH_CLASS_IOS] = "ios",
    [SH_CLASS_WEB] = "web",
    [SH_CLASS_CLI] = "cli",
};

enum sh_class sh_class_from_name(const char *name)
{
    if (name == NULL)
        return SH_CLASS_NONE;
    for (int c = 1; c < SH_CLASS__COUNT; c++) {
        if (strcmp(name, names[c]) == 0)
            return (enum sh_class)c;
    }
    return SH_CLASS_NONE;
}

const char *sh_class_name(int cls)
{
    if (cls <= SH_CLASS_NONE || cls >= SH_CLASS__COUNT)
        return "unknown";
    return names[cls];
}
