/* totp.c - TOTP through liboath; secrets live only in wiped stack buffers. */
#include "crypto/totp.h"

#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#define TABLE "mfa_totp"
#define COLUMN "secret"

sh_status sh_totp_init(void) { return oath_init() == OATH_OK ? SH_OK : SH_ERR_INTERNAL; }
void sh_totp_cleanup(void) { oath_done(); }

sh_status sh_totp_new(const sh_datakey *key, const sh_id *user, uint8_t **sealed,
                      size_t *sealed_len, char b32[SH_TOTP_B32_LEN + 1])
{
    uint8_t secret[SH_TOTP_SECRET_LEN];
    char *text = NULL;
    size_t text_len = 0;
    sh_status rc = SH_ERR_INTERNAL;

    randombytes_buf(secret, sizeof(secret));
    if (oath_base32_encode((const char *)secret, sizeof(secret), &text, &text_len) != OATH_OK ||
        text_len != SH_TOTP_B32_LEN)
        goto out;
    memcpy(b32, text, SH_TOTP_B32_LEN);
    b32[SH_TOTP_B32_LEN] = '\0';
    rc = sh_seal(key, TABLE, COLUMN, user, secret, sizeof(secret), sealed, sealed_len);
out:
    if (text != NULL) {
        sodium_memzero(text, text_len);
        free(text);
    }
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

static int six_digits(const char *code)
{
    if (code == NULL || strlen(code) != SH_TOTP_DIGITS)
        return 0;
    for (int i = 0; i < SH_TOTP_DIGITS; i++) {
        if (code[i] < '0' || code[i] > '9')
            return 0;
    }
    return 1;
}

sh_status sh_totp_check(const sh_datakey *key, const sh_id *user, const uint8_t *sealed,
                        size_t sealed_len, const char *code, int64_t now_s, int64_t after_step,
                        int64_t *step)
{
    char *secret = NULL, want[SH_TOTP_DIGITS + 1];
    size_t secret_len = 0;
    int64_t now_step = now_s / SH_TOTP_STEP_S;
    int64_t found = -1;
    sh_status rc;

    if (!six_digits(code))
        return SH_ERR_INVALID_CODE;
    rc = sh_open(key, TABLE, COLUMN, user, sealed, sealed_len, &secret, &secret_len);
    if (rc != SH_OK)
        return rc;
    /* every candidate step is computed and compared, match or not */
    for (int64_t s = now_step - SH_TOTP_WINDOW; s <= now_step + SH_TOTP_WINDOW; s++) {
        if (oath_totp_generate2(secret, secret_len, (time_t)(s * SH_TOTP_STEP_S), SH_TOTP_STEP_S, 0,
                                SH_TOTP_DIGITS, 0, want) != OATH_OK) {
            rc = SH_ERR_INTERNAL;
            break;
        }
        if (sodium_memcmp(want, code, SH_TOTP_DIGITS) == 0 && s > after_step && found < 0)
            found = s;
    }
    sodium_memzero(want, sizeof(want));
    sodium_memzero(secret, secret_len);
    free(secret);
    if (rc != SH_OK)
        return rc;
    if (found < 0)
        return SH_ERR_INVALID_CODE;
    *step = found;
    return SH_OK;
}
