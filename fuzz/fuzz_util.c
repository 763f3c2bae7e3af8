/* fuzz_util.c - helpers shared by the fuzz drivers (see fuzz_util.h). */
#include "fuzz_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/log.h"

static char temp_dir[256];

void sh_fuzz_env(void)
{
    if (sodium_init() < 0)
        abort();
    sh_log_set_level(SH_LOG_ERROR);
    sh_log_set_access(0);
    setenv("SAFEHOUSE_MASTER_KEY", SH_FUZZ_MASTER_KEY_HEX, 1);
}

sh_keyring *sh_fuzz_keyring(void)
{
    sh_keyring *kr = NULL;
    int created = 0;

    sh_fuzz_env();
    if (sh_keyring_open("/nonexistent/master.key", &kr, &created) != SH_OK)
        abort();
    return kr;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_temp_dir(void)
{
    if (temp_dir[0] != '\0')
        nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *sh_fuzz_temp_dir(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    if (temp_dir[0] != '\0')
        return temp_dir;
    snprintf(temp_dir, sizeof(temp_dir), "%s/safehouse-fuzz.XXXXXX", base);
    if (mkdtemp(temp_dir) == NULL)
        abort();
    atexit(remove_temp_dir);
    return temp_dir;
}

char *sh_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
