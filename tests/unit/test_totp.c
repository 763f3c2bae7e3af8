/*
 * test_totp.c - unit tests for src/crypto/totp.h and src/crypto/recovery.h:
 * RFC 6238 test vector, the +-1 step window, single use through after_step,
 * sealing bound to the user, recovery code normalization and hashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <liboath/oath.h>
#include <sodium.h>

#include "crypto/keyring.h"
#include "crypto/recovery.h"
#include "crypto/seal.h"
#include "crypto/totp.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* The code of a base32 secret at time t, computed with liboath directly. */
static void code_at(const char *b32, int64_t t, char out[7])
{
    char *raw = NULL;
    size_t len = 0;

    assert_int_equal(oath_base32_decode(b32, strlen(b32), &raw, &len), OATH_OK);
    assert_int_equal(oath_totp_generate2(raw, len, (time_t)t, 30, 0, 6, 0, out), OATH_OK);
    free(raw);
}

static void test_rfc6238_vector(void **state)
{
    /* RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T=59 -> 94287082 */
    char out[9];

    (void)state;
    assert_int_equal(oath_totp_generate2("12345678901234567890", 20, 59, 30, 0, 8, 0, out),
                     OATH_OK);
    assert_string_equal(out, "94287082");
}

static void test_window_and_single_use(void **state)
{
    sh_datakey key;
    sh_id user, other;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char b32[SH_TOTP_B32_LEN + 1], code[7];
    int64_t now = 1700000000, step = 0;

    (void)state;
    randombytes_buf(key.k, sizeof(key.k));
    sh_id_random(&user);
    sh_id_random(&other);
    assert_int_equal(sh_totp_new(&key, &user, &sealed, &sealed_len, b32), SH_OK);
    assert_int_equal(strlen(b32), SH_TOTP_B32_LEN);

    for (int off = -1; off <= 1; off++) {
        code_at(b32, now + off * 30, code);
        assert_int_equal(sh_totp_check(&key, &user, sealed, sealed_len, code, now, 0, &step),
                         SH_OK);
        assert_int_equal(step, now / 30 + off);
    }
    code_at(b32, now + 60, code);
    assert_int_equal(sh_totp_check(&key, &user, sealed, sealed_len, code, now, 0, &step),
                     SH_ERR_INVALID_CODE);
    code_at(b32, now - 60, code);
    assert_int_equal(sh_totp_check(&key, &user, sealed, sealed_len, code, now, 0, &step),
                     SH_ERR_INVALID_CODE);
    /* a step at or before after_step is a replay */
    code_at(b32, now, code);
    assert_int_equal(sh_totp_check(&key, &user, sealed, sealed_len, code, now, now / 30, &step),
                     SH_ERR_INVALID_CODE);
    /* the sealed secret is bound to its user */
    assert_int_equal(sh_totp_check(&key, &other, sealed, sealed_len, code, now, 0, &step),
                     SH_ERR_INTERNAL);
    /* malformed codes */
    assert_int_equal(sh_totp_check(&key, &user, sealed, sealed_len, "12345", now, 0, &step),
                     SH_ERR_INVALID_CODE);
    assert_int_equal(sh_totp_check(&key, &user, sealed, sealed_len, "12a456", now, 0, &step),
                     SH_ERR_INVALID_CODE);
    free(sealed);
}

static void test_recovery_codes(void **state)
{
    char text[SH_RECOVERY_COUNT][SH_RECOVERY_TEXT_LEN + 1];
    uint8_t hashes[SH_RECOVERY_COUNT][SH_HASH_LEN], h[SH_HASH_LEN];
    char typed[32];
    sh_keyring *kr = NULL;
    sh_id user, other;
    int created = 0;

    (void)state;
    assert_int_equal(setenv("SAFEHOUSE_MASTER_KEY", KEY_A, 1), 0);
    assert_int_equal(sh_keyring_open("/nonexistent/k", &kr, &created), SH_OK);
    unsetenv("SAFEHOUSE_MASTER_KEY");
    sh_id_random(&user);
    sh_id_random(&other);
    sh_recovery_new(kr, &user, text, hashes);
    for (int i = 0; i < SH_RECOVERY_COUNT; i++) {
        assert_int_equal(strlen(text[i]), SH_RECOVERY_TEXT_LEN);
        assert_int_equal(text[i][5], '-');
        assert_int_equal(sh_recovery_hash(kr, &user, text[i], h), SH_OK);
        assert_memory_equal(h, hashes[i], SH_HASH_LEN);
        /* typed in lower case, without the dash, with spaces */
        for (size_t j = 0, k = 0; j <= strlen(text[i]); j++) {
            char c = text[i][j];
            if (c == '-')
                continue;
            typed[k++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            if (k == 3)
                typed[k++] = ' ';
        }
        assert_int_equal(sh_recovery_hash(kr, &user, typed, h), SH_OK);
        assert_memory_equal(h, hashes[i], SH_HASH_LEN);
        /* another user's row never matches */
        assert_int_equal(sh_recovery_hash(kr, &other, text[i], h), SH_OK);
        assert_memory_not_equal(h, hashes[i], SH_HASH_LEN);
    }
    assert_int_equal(sh_recovery_hash(kr, &user, "AAAA-AAAAA", h), SH_ERR_INVALID_CODE);
    assert_int_equal(sh_recovery_hash(kr, &user, "AAAAA-AAAAA-A", h), SH_ERR_INVALID_CODE);
    assert_int_equal(sh_recovery_hash(kr, &user, "AAAAA-AAAA!", h), SH_ERR_INVALID_CODE);
    sh_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vector),
        cmocka_unit_test(test_window_and_single_use),
        cmocka_unit_test(test_recovery_codes),
    };

    if (sodium_init() < 0 || sh_totp_init() != SH_OK)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sh_totp_cleanup();
    return rc;
}
