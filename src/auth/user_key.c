/* user_key.c - data-key opening and name validation. */
#include "auth/user_key.h"

#include <string.h>

#include "core/log.h"

sh_status sh_user_key_open(const sh_auth *a, const sh_user_rec *u, sh_datakey *key)
{
    sh_status rc = sh_datakey_unwrap(a->kr, &u->id, u->wrapped_key, u->wrapped_key_len, key);

    if (rc != SH_OK) {
        sh_id_hex hex;
        sh_id_to_hex(&u->id, &hex);
        sh_log_event(SH_LOG_ERROR, "user_key_unwrap_failed", "user_id", hex.s);
    }
    return rc;
}

int sh_display_name_valid(const char *s)
{
    size_t chars = 0;

    if (s == NULL || *s == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        if ((*p & 0xC0) != 0x80)
            chars++;
    }
    return chars <= SH_DISPLAY_NAME_MAX;
}
