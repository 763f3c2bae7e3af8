/*
 * test_hash.c - unit tests for src/crypto/hash.h: keyed hashes are
 * deterministic, separated by domain and by purpose key, and change with
 * the master key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/status.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1e"

struct fixture {
    sh_keyring *kr;
    sh_keyring *kr_same; /* same master key, opened again */
    sh_keyring *other;   /* master key differing in its last bit */
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
    f->kr_same = open_keyring(KEY_A);
    f->other = open_keyring(KEY_B);
    unsetenv("SAFEHOUSE_MASTER_KEY");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sh_keyring_free(f->kr);
    sh_keyring_free(f->kr_same);
    sh_keyring_free(f->other);
    free(f);
    return 0;
}

static void test_secret_hash_deterministic(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SH_HASH_LEN], b[SH_HASH_LEN], c[SH_HASH_LEN], zero[SH_HASH_LEN] = {0};
    const char secret[] = "0123456789abcdef0123456789abcdef";

    sh_hash_secret(f->kr, "refresh", secret, sizeof(secret) - 1, a);
    sh_hash_secret(f->kr, "refresh", secret, sizeof(secret) - 1, b);
    sh_hash_secret(f->kr_same, "refresh", secret, sizeof(secret) - 1, c);
    assert_memory_equal(a, b, SH_HASH_LEN);
    assert_memory_equal(a, c, SH_HASH_LEN);
    assert_memory_not_equal(a, zero, SH_HASH_LEN);
}

static void test_secret_hash_depends_on_data(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SH_HASH_LEN], b[SH_HASH_LEN], e[SH_HASH_LEN];
    uint8_t data[32] = {0};

    sh_hash_secret(f->kr, "refresh", data, sizeof(data), a);
    data[31] = 1;
    sh_hash_secret(f->kr, "refresh", data, sizeof(data), b);
    assert_memory_not_equal(a, b, SH_HASH_LEN);
    sh_hash_secret(f->kr, "refresh", data, 31, b); /* shorter input */
    assert_memory_not_equal(a, b, SH_HASH_LEN);
    sh_hash_secret(f->kr, "refresh", data, 0, e);
    assert_memory_not_equal(a, e, SH_HASH_LEN);
}

static void test_secret_hash_differs_per_domain(void **state)
{
    struct fixture *f = *state;
    static const char *const domains[] = {"refresh", "admin", "device", "Refresh", "", "refresh "};
    enum { N = sizeof(domains) / sizeof(domains[0]) };
    uint8_t h[N][SH_HASH_LEN];
    const char secret[] = "same secret bytes";

    for (size_t i = 0; i < N; i++)
        sh_hash_secret(f->kr, domains[i], secret, sizeof(secret) - 1, h[i]);
    for (size_t i = 0; i < N; i++) {
        for (size_t j = i + 1; j < N; j++) {
            if (memcmp(h[i], h[j], SH_HASH_LEN) == 0)
                fail_msg("domains \"%s\" and \"%s\" collide", domains[i], domains[j]);
        }
    }
}

/* The domain is length-prefixed: moving bytes across the boundary changes
 * the hash. */
static void test_secret_hash_domain_boundary(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SH_HASH_LEN], b[SH_HASH_LEN], c[SH_HASH_LEN];

    sh_hash_secret(f->kr, "ab", "cd", 2, a);
    sh_hash_secret(f->kr, "abc", "d", 1, b);
    sh_hash_secret(f->kr, "a", "bcd", 3, c);
    assert_memory_not_equal(a, b, SH_HASH_LEN);
    assert_memory_not_equal(a, c, SH_HASH_LEN);
    assert_memory_not_equal(b, c, SH_HASH_LEN);
}

static void test_secret_hash_differs_with_master_key(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SH_HASH_LEN], b[SH_HASH_LEN];
    const char secret[] = "token secret";

    sh_hash_secret(f->kr, "refresh", secret, sizeof(secret) - 1, a);
    sh_hash_secret(f->other, "refresh", secret, sizeof(secret) - 1, b);
    assert_memory_not_equal(a, b, SH_HASH_LEN);
}

static void test_secret_hash_is_keyed(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SH_HASH_LEN], plain[SH_HASH_LEN];
    const char secret[] = "token secret";

    sh_hash_secret(f->kr, "refresh", secret, sizeof(secret) - 1, a);
    crypto_generichash(plain, SH_HASH_LEN, (const uint8_t *)secret, sizeof(secret) - 1, NULL, 0);
    assert_memory_not_equal(a, plain, SH_HASH_LEN);
}

static void test_blind_index_deterministic(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SH_HASH_LEN], b[SH_HASH_LEN], c[SH_HASH_LEN];

    sh_hash_blind_index(f->kr, "bob@example.com", a);
    sh_hash_blind_index(f->kr, "bob@example.com", b);
    sh_hash_blind_index(f->kr_same, "bob@example.com", c);
    assert_memory_equal(a, b, SH_HASH_LEN);
    assert_memory_equal(a, c, SH_HASH_LEN);
    sh_hash_blind_index(f->kr, "Bob@example.com", b);
    assert_memory_not_equal(a, b, SH_HASH_LEN);
    sh_hash_blind_index(f->kr, "bob@example.co", b);
    assert_memory_not_equal(a, b, SH_HASH_LEN);
}

static void test_blind_index_differs_with_master_key(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SH_HASH_LEN], b[SH_HASH_LEN];

    sh_hash_blind_index(f->kr, "bob@example.com", a);
    sh_hash_blind_index(f->other, "bob@example.com", b);
    assert_memory_not_equal(a, b, SH_HASH_LEN);
}

/* The blind index uses its own purpose key: it is not the secret hash of
 * the same text, even under the domain the blind index uses internally. */
static void test_blind_index_separate_from_secret_hash(void **state)
{
    struct fixture *f = *state;
    const char email[] = "bob@example.com";
    uint8_t a[SH_HASH_LEN], b[SH_HASH_LEN];

    sh_hash_blind_index(f->kr, email, a);
    sh_hash_secret(f->kr, "email", email, sizeof(email) - 1, b);
    assert_memory_not_equal(a, b, SH_HASH_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_hash_deterministic),
        cmocka_unit_test(test_secret_hash_depends_on_data),
        cmocka_unit_test(test_secret_hash_differs_per_domain),
        cmocka_unit_test(test_secret_hash_domain_boundary),
        cmocka_unit_test(test_secret_hash_differs_with_master_key),
        cmocka_unit_test(test_secret_hash_is_keyed),
        cmocka_unit_test(test_blind_index_deterministic),
        cmocka_unit_test(test_blind_index_differs_with_master_key),
        cmocka_unit_test(test_blind_index_separate_from_secret_hash),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
