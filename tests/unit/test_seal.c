/*
 * test_seal.c - unit tests for src/crypto/seal.h: sealed fields open only
 * under the same data key and the same (table, column, row); wrapped data
 * keys unwrap only for the user and master key they were made for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/id.h"
#include "core/status.h"
#include "crypto/keyring.h"
#include "crypto/seal.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100"
#define PLAIN "alice@example.com"

struct fixture {
    sh_keyring *kr;
    sh_keyring *other;
    sh_id user, user2, row, row2;
    sh_datakey key, key2;
    uint8_t wrapped[SH_WRAPPED_KEY_LEN], wrapped2[SH_WRAPPED_KEY_LEN];
};

static sh_keyring *open_keyring(const char *hex)
{
    sh_keyring *kr = NULL;
    int created = -1;

    assert_int_equal(setenv("SAFEHOUSE_MASTER_KEY", hex, 1), 0);
    assert_int_equal(sh_keyring_open("/nonexistent/safehouse-test.key", &kr, &created), SH_OK);
    assert_non_null(kr);
    return kr;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || sodium_init() < 0)
        return -1;
    f->kr = open_keyring(KEY_A);
    f->other = open_keyring(KEY_B);
    unsetenv("SAFEHOUSE_MASTER_KEY");
    sh_id_random(&f->user);
    sh_id_random(&f->user2);
    sh_id_random(&f->row);
    sh_id_random(&f->row2);
    sh_datakey_new(f->kr, &f->user, &f->key, f->wrapped);
    sh_datakey_new(f->kr, &f->user2, &f->key2, f->wrapped2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sh_datakey_wipe(&f->key);
    sh_datakey_wipe(&f->key2);
    sh_keyring_free(f->kr);
    sh_keyring_free(f->other);
    free(f);
    return 0;
}

/* Seals PLAIN for (users, email, f->row) under f->key. */
static void seal_sample(struct fixture *f, uint8_t **blob, size_t *len)
{
    assert_int_equal(sh_seal(&f->key, "users", "email", &f->row, PLAIN, strlen(PLAIN), blob, len),
                     SH_OK);
    assert_non_null(*blob);
}

static void test_seal_open_roundtrip(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = NULL;
    size_t len = 0, out_len = 0;
    char *out = NULL;

    seal_sample(f, &blob, &len);
    assert_int_equal(len, strlen(PLAIN) + SH_SEAL_OVERHEAD);
    assert_null(memmem(blob, len, PLAIN, strlen(PLAIN))); /* not in clear */
    assert_int_equal(sh_open(&f->key, "users", "email", &f->row, blob, len, &out, &out_len), SH_OK);
    assert_non_null(out);
    assert_int_equal(out_len, strlen(PLAIN));
    assert_string_equal(out, PLAIN);
    free(out);
    /* out_len may be NULL */
    assert_int_equal(sh_open(&f->key, "users", "email", &f->row, blob, len, &out, NULL), SH_OK);
    assert_string_equal(out, PLAIN);
    free(out);
    free(blob);
}

static void test_seal_empty_and_binary(void **state)
{
    struct fixture *f = *state;
    static const uint8_t bin[] = {0x00, 0xff, 0x10, 0x00, 0x7f};
    uint8_t *blob = NULL;
    size_t len = 0, out_len = 99;
    char *out = NULL;

    assert_int_equal(sh_seal(&f->key, "users", "name", &f->row, "", 0, &blob, &len), SH_OK);
    assert_int_equal(len, SH_SEAL_OVERHEAD);
    assert_int_equal(sh_open(&f->key, "users", "name", &f->row, blob, len, &out, &out_len), SH_OK);
    assert_int_equal(out_len, 0);
    assert_string_equal(out, "");
    free(out);
    free(blob);

    assert_int_equal(sh_seal(&f->key, "t", "c", &f->row, bin, sizeof(bin), &blob, &len), SH_OK);
    assert_int_equal(sh_open(&f->key, "t", "c", &f->row, blob, len, &out, &out_len), SH_OK);
    assert_int_equal(out_len, sizeof(bin));
    assert_memory_equal(out, bin, sizeof(bin));
    assert_int_equal(out[out_len], '\0');
    free(out);
    free(blob);
}

static void test_seal_is_randomized(void **state)
{
    struct fixture *f = *state;
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;

    seal_sample(f, &a, &alen);
    seal_sample(f, &b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_not_equal(a, b, alen);
    free(a);
    free(b);
}

static void expect_open_fails(const sh_datakey *key, const char *table, const char *column,
                              const sh_id *row, const uint8_t *blob, size_t len)
{
    char *out = (char *)0x1;

    assert_int_equal(sh_open(key, table, column, row, blob, len, &out, NULL), SH_ERR_INTERNAL);
    assert_ptr_equal(out, (char *)0x1); /* untouched on failure */
}

static void test_open_fails_other_table(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = NULL;
    size_t len = 0;

    seal_sample(f, &blob, &len);
    expect_open_fails(&f->key, "sessions", "email", &f->row, blob, len);
    expect_open_fails(&f->key, "user", "email", &f->row, blob, len);
    expect_open_fails(&f->key, "Users", "email", &f->row, blob, len);
    expect_open_fails(&f->key, "", "email", &f->row, blob, len);
    free(blob);
}

static void test_open_fails_other_column(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = NULL;
    size_t len = 0;

    seal_sample(f, &blob, &len);
    expect_open_fails(&f->key, "users", "name", &f->row, blob, len);
    expect_open_fails(&f->key, "users", "emails", &f->row, blob, len);
    expect_open_fails(&f->key, "users", "", &f->row, blob, len);
    free(blob);
}

static void test_open_fails_other_row(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = NULL;
    size_t len = 0;
    sh_id near = f->row;

    seal_sample(f, &blob, &len);
    expect_open_fails(&f->key, "users", "email", &f->row2, blob, len);
    near.b[SH_ID_LEN - 1] ^= 0x01; /* one bit off */
    expect_open_fails(&f->key, "users", "email", &near, blob, len);
    free(blob);
}

static void test_open_fails_on_any_flipped_byte(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = NULL;
    size_t len = 0;

    seal_sample(f, &blob, &len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            char *out = NULL;
            sh_status rc;

            blob[i] ^= (uint8_t)(1u << bit);
            rc = sh_open(&f->key, "users", "email", &f->row, blob, len, &out, NULL);
            if (rc != SH_ERR_INTERNAL)
                fail_msg("blob with byte %zu bit %d flipped still opens", i, bit);
            blob[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* restored blob still opens: the loop changed only one bit at a time */
    {
        char *out = NULL;
        assert_int_equal(sh_open(&f->key, "users", "email", &f->row, blob, len, &out, NULL), SH_OK);
        free(out);
    }
    free(blob);
}

static void test_open_fails_truncated_or_extended(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = NULL, *longer;
    size_t len = 0;

    seal_sample(f, &blob, &len);
    for (size_t n = 0; n < len; n++)
        expect_open_fails(&f->key, "users", "email", &f->row, blob, n);
    longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, blob, len);
    longer[len] = 0;
    expect_open_fails(&f->key, "users", "email", &f->row, longer, len + 1);
    free(longer);
    free(blob);
}

static void test_open_fails_with_other_users_key(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = NULL;
    size_t len = 0;

    assert_memory_not_equal(f->key.k, f->key2.k, SH_KEY_LEN);
    seal_sample(f, &blob, &len);
    expect_open_fails(&f->key2, "users", "email", &f->row, blob, len);
    free(blob);
}

static void test_datakey_wrap_unwrap_roundtrip(void **state)
{
    struct fixture *f = *state;
    sh_datakey got;
    uint8_t zero[SH_KEY_LEN] = {0};
    uint8_t *blob = NULL;
    size_t len = 0;
    char *out = NULL;

    assert_memory_not_equal(f->key.k, zero, SH_KEY_LEN);
    assert_null(memmem(f->wrapped, SH_WRAPPED_KEY_LEN, f->key.k, SH_KEY_LEN));
    assert_int_equal(sh_datakey_unwrap(f->kr, &f->user, f->wrapped, SH_WRAPPED_KEY_LEN, &got),
                     SH_OK);
    assert_memory_equal(got.k, f->key.k, SH_KEY_LEN);
    /* the unwrapped key opens what the original sealed */
    seal_sample(f, &blob, &len);
    assert_int_equal(sh_open(&got, "users", "email", &f->row, blob, len, &out, NULL), SH_OK);
    assert_string_equal(out, PLAIN);
    free(out);
    free(blob);
    sh_datakey_wipe(&got);
    assert_memory_equal(got.k, zero, SH_KEY_LEN);
}

static void test_datakey_unwrap_other_user_fails(void **state)
{
    struct fixture *f = *state;
    sh_datakey got;
    uint8_t zero[SH_KEY_LEN] = {0};

    memset(&got, 0x5a, sizeof(got));
    assert_int_equal(sh_datakey_unwrap(f->kr, &f->user2, f->wrapped, SH_WRAPPED_KEY_LEN, &got),
                     SH_ERR_INTERNAL);
    assert_memory_equal(got.k, zero, SH_KEY_LEN); /* wiped, not partial */
    assert_int_equal(sh_datakey_unwrap(f->kr, &f->user, f->wrapped2, SH_WRAPPED_KEY_LEN, &got),
                     SH_ERR_INTERNAL);
    /* each wrapped key still unwraps for its own user */
    assert_int_equal(sh_datakey_unwrap(f->kr, &f->user2, f->wrapped2, SH_WRAPPED_KEY_LEN, &got),
                     SH_OK);
    assert_memory_equal(got.k, f->key2.k, SH_KEY_LEN);
    sh_datakey_wipe(&got);
}

static void test_datakey_unwrap_other_master_fails(void **state)
{
    struct fixture *f = *state;
    sh_datakey got;

    assert_int_equal(sh_datakey_unwrap(f->other, &f->user, f->wrapped, SH_WRAPPED_KEY_LEN, &got),
                     SH_ERR_INTERNAL);
}

static void test_datakey_unwrap_tampered_fails(void **state)
{
    struct fixture *f = *state;
    uint8_t copy[SH_WRAPPED_KEY_LEN + 1];
    sh_datakey got;

    for (size_t i = 0; i < SH_WRAPPED_KEY_LEN; i++) {
        memcpy(copy, f->wrapped, SH_WRAPPED_KEY_LEN);
        copy[i] ^= 0x80;
        assert_int_equal(sh_datakey_unwrap(f->kr, &f->user, copy, SH_WRAPPED_KEY_LEN, &got),
                         SH_ERR_INTERNAL);
    }
    memcpy(copy, f->wrapped, SH_WRAPPED_KEY_LEN);
    copy[SH_WRAPPED_KEY_LEN] = 0;
    assert_int_equal(sh_datakey_unwrap(f->kr, &f->user, copy, SH_WRAPPED_KEY_LEN - 1, &got),
                     SH_ERR_INTERNAL);
    assert_int_equal(sh_datakey_unwrap(f->kr, &f->user, copy, SH_WRAPPED_KEY_LEN + 1, &got),
                     SH_ERR_INTERNAL);
    assert_int_equal(sh_datakey_unwrap(f->kr, &f->user, copy, 0, &got), SH_ERR_INTERNAL);
}

static void test_datakeys_are_fresh(void **state)
{
    struct fixture *f = *state;
    sh_datakey a, b;
    uint8_t wa[SH_WRAPPED_KEY_LEN], wb[SH_WRAPPED_KEY_LEN];

    sh_datakey_new(f->kr, &f->user, &a, wa);
    sh_datakey_new(f->kr, &f->user, &b, wb);
    assert_memory_not_equal(a.k, b.k, SH_KEY_LEN);
    assert_memory_not_equal(wa, wb, SH_WRAPPED_KEY_LEN);
    sh_datakey_wipe(&a);
    sh_datakey_wipe(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_open_roundtrip),
        cmocka_unit_test(test_seal_empty_and_binary),
        cmocka_unit_test(test_seal_is_randomized),
        cmocka_unit_test(test_open_fails_other_table),
        cmocka_unit_test(test_open_fails_other_column),
        cmocka_unit_test(test_open_fails_other_row),
        cmocka_unit_test(test_open_fails_on_any_flipped_byte),
        cmocka_unit_test(test_open_fails_truncated_or_extended),
        cmocka_unit_test(test_open_fails_with_other_users_key),
        cmocka_unit_test(test_datakey_wrap_unwrap_roundtrip),
        cmocka_unit_test(test_datakey_unwrap_other_user_fails),
        cmocka_unit_test(test_datakey_unwrap_other_master_fails),
        cmocka_unit_test(test_datakey_unwrap_tampered_fails),
        cmocka_unit_test(test_datakeys_are_fresh),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
