/*
 * fuzz_second_factor.c - what a user types as a second factor: a TOTP code
 * (sh_totp_check against a sealed secret) or a recovery code
 * (sh_recovery_hash, which normalizes what was typed from paper). The first
 * byte picks one, the rest is the typed text. Properties: an accepted TOTP
 * code is exactly 6 digits; a typed recovery code that hashes hashes like
 * its normalized form (upper-case, no dashes or spaces, O->0, I/L->1), so
 * two spellings of one code can never name two rows.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "crypto/recovery.h"
#include "crypto/seal.h"
#include "crypto/totp.h"
#include "fuzz_util.h"

static sh_keyring *kr;
static sh_datakey key;
static sh_id user;
static uint8_t *sealed;
static size_t sealed_len;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The signature is libFuzzer's. */
int LLVMFuzzerInitialize(int *argc, char ***argv) // NOLINT(readability-non-const-parameter)
{
    uint8_t wrapped[SH_WRAPPED_KEY_LEN];
    char b32[SH_TOTP_B32_LEN + 1];

    (void)argc;
    (void)argv;
    kr = sh_fuzz_keyring();
    if (sh_totp_init() != SH_OK)
        abort();
    memset(user.b, 0x22, sizeof(user.b));
    sh_datakey_new(kr, &user, &key, wrapped);
    if (sh_totp_new(&key, &user, &sealed, &sealed_len, b32) != SH_OK)
        abort();
    return 0;
}

static void check_totp(const char *code)
{
    int64_t step = 0;

    if (sh_totp_check(&key, &user, sealed, sealed_len, code, sh_clock_now_us() / SH_USEC, -1,
                      &step) != SH_OK)
        return;
    if (strlen(code) != SH_TOTP_DIGITS || strspn(code, "0123456789") != SH_TOTP_DIGITS)
        abort(); /* accepted something that is not 6 digits */
}

static void check_recovery(const char *typed)
{
    uint8_t h1[SH_HASH_LEN], h2[SH_HASH_LEN];
    char norm[256];
    size_t n = 0;

    if (sh_recovery_hash(kr, &user, typed, h1) != SH_OK)
        return;
    for (const char *p = typed; *p != '\0' && n + 1 < sizeof(norm); p++) {
        char c = (char)toupper((unsigned char)*p);
        if (c == '-' || c == ' ')
            continue;
        if (c == 'O')
            c = '0';
        else if (c == 'I' || c == 'L')
            c = '1';
        norm[n++] = c;
    }
    norm[n] = '\0';
    if (sh_recovery_hash(kr, &user, norm, h2) != SH_OK || memcmp(h1, h2, sizeof(h1)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in;

    if (size < 1)
        return 0;
    in = sh_fuzz_cstr(data + 1, size - 1);
    if (data[0] & 1)
        check_recovery(in);
    else
        check_totp(in);
    free(in);
    return 0;
}
