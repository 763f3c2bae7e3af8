/*
 * test_password.c - unit tests for src/crypto/password.h: Argon2id hash and
 * verify, and re-hash detection when the configured cost changes. Costs are
 * kept small so the sanitizer build stays fast; defaults are restored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/status.h"
#include "crypto/password.h"

#define FAST_OPS 1
#define FAST_MEM_KIB 8192
#define PW "correct horse battery staple"

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    sh_password_set_cost(FAST_OPS, FAST_MEM_KIB);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh_password_set_cost(SH_PASSWORD_DEFAULT_OPS, SH_PASSWORD_DEFAULT_MEM_KIB);
    return 0;
}

static void hash_ok(const char *pw, size_t len, char out[SH_PASSWORD_HASH_MAX])
{
    memset(out, 0, SH_PASSWORD_HASH_MAX);
    assert_int_equal(sh_password_hash(pw, len, out), SH_OK);
    assert_true(strlen(out) < SH_PASSWORD_HASH_MAX);
}

static void test_hash_format(void **state)
{
    char h[SH_PASSWORD_HASH_MAX];

    (void)state;
    hash_ok(PW, strlen(PW), h);
    assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
    assert_non_null(strstr(h, "m=8192,t=1,p=1"));
    assert_null(strstr(h, PW));
}

static void test_hash_verify(void **state)
{
    char h[SH_PASSWORD_HASH_MAX];

    (void)state;
    hash_ok(PW, strlen(PW), h);
    assert_int_equal(sh_password_verify(h, PW, strlen(PW)), SH_OK);
    assert_int_equal(sh_password_verify(h, PW, strlen(PW)), SH_OK); /* repeatable */
}

static void test_wrong_password_fails(void **state)
{
    char h[SH_PASSWORD_HASH_MAX];

    (void)state;
    hash_ok(PW, strlen(PW), h);
    assert_int_equal(sh_password_verify(h, "correct horse battery stapler", 29),
                     SH_ERR_INVALID_CREDENTIALS);
    assert_int_equal(sh_password_verify(h, "Correct horse battery staple", strlen(PW)),
                     SH_ERR_INVALID_CREDENTIALS);
    assert_int_equal(sh_password_verify(h, "", 0), SH_ERR_INVALID_CREDENTIALS);
    /* a prefix of the right password (len honoured) */
    assert_int_equal(sh_password_verify(h, PW, strlen(PW) - 1), SH_ERR_INVALID_CREDENTIALS);
}

static void test_len_is_honoured(void **state)
{
    const char buf[] = "secret-pw-1234IGNORED";
    char h[SH_PASSWORD_HASH_MAX];

    (void)state;
    hash_ok(buf, 14, h);
    assert_int_equal(sh_password_verify(h, "secret-pw-1234", 14), SH_OK);
    assert_int_equal(sh_password_verify(h, buf, sizeof(buf) - 1), SH_ERR_INVALID_CREDENTIALS);
}

static void test_hashes_are_salted(void **state)
{
    char a[SH_PASSWORD_HASH_MAX], b[SH_PASSWORD_HASH_MAX];

    (void)state;
    hash_ok(PW, strlen(PW), a);
    hash_ok(PW, strlen(PW), b);
    assert_string_not_equal(a, b);
    assert_int_equal(sh_password_verify(a, PW, strlen(PW)), SH_OK);
    assert_int_equal(sh_password_verify(b, PW, strlen(PW)), SH_OK);
}

static void test_garbage_hash_fails(void **state)
{
    (void)state;
    assert_int_equal(sh_password_verify("", PW, strlen(PW)), SH_ERR_INVALID_CREDENTIALS);
    assert_int_equal(sh_password_verify("$argon2id$garbage", PW, strlen(PW)),
                     SH_ERR_INVALID_CREDENTIALS);
    assert_int_equal(sh_password_verify("plaintext", "plaintext", 9), SH_ERR_INVALID_CREDENTIALS);
}

static void test_needs_rehash_follows_cost(void **state)
{
    char h[SH_PASSWORD_HASH_MAX];

    (void)state;
    sh_password_set_cost(FAST_OPS, FAST_MEM_KIB);
    hash_ok(PW, strlen(PW), h);
    assert_int_equal(sh_password_needs_rehash(h), 0); /* same cost */

    sh_password_set_cost(FAST_OPS + 1, FAST_MEM_KIB); /* more passes */
    assert_int_equal(sh_password_needs_rehash(h), 1);
    sh_password_set_cost(FAST_OPS, FAST_MEM_KIB * 2); /* more memory */
    assert_int_equal(sh_password_needs_rehash(h), 1);
    sh_password_set_cost(SH_PASSWORD_DEFAULT_OPS, SH_PASSWORD_DEFAULT_MEM_KIB);
    assert_int_equal(sh_password_needs_rehash(h), 1);

    /* the old hash still verifies whatever the current cost */
    assert_int_equal(sh_password_verify(h, PW, strlen(PW)), SH_OK);

    sh_password_set_cost(FAST_OPS, FAST_MEM_KIB); /* back: no re-hash */
    assert_int_equal(sh_password_needs_rehash(h), 0);
}

static void test_needs_rehash_garbage(void **state)
{
    (void)state;
    assert_int_equal(sh_password_needs_rehash("not a hash"), 1);
    assert_int_equal(sh_password_needs_rehash(""), 1);
}

static void test_init_and_burn(void **state)
{
    (void)state;
    sh_password_set_cost(FAST_OPS, FAST_MEM_KIB);
    assert_int_equal(sh_password_init(), SH_OK);
    sh_password_burn(PW, strlen(PW)); /* must return, and not crash */
    sh_password_burn("", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_format),
        cmocka_unit_test(test_hash_verify),
        cmocka_unit_test(test_wrong_password_fails),
        cmocka_unit_test(test_len_is_honoured),
        cmocka_unit_test(test_hashes_are_salted),
        cmocka_unit_test(test_garbage_hash_fails),
        cmocka_unit_test(test_needs_rehash_follows_cost),
        cmocka_unit_test(test_needs_rehash_garbage),
        cmocka_unit_test(test_init_and_burn),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
