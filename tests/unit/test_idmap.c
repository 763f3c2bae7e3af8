/*
 * test_idmap.c - unit tests for src/core/idmap.h: insert and look-up,
 * put_max keeping the maximum, growth past many doublings, absent keys and
 * keys whose hashes collide.
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
#include "core/idmap.h"

#define BIG 100000

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

/* Deterministic, distinct ids: the counter in the first bytes (so hashes
 * differ) and a tag in the last. */
static void make_id(sh_id *id, uint32_t n, uint8_t tag)
{
    memset(id, 0, sizeof(*id));
    memcpy(id->b, &n, sizeof(n));
    id->b[SH_ID_LEN - 1] = tag;
}

static void test_empty_map(void **state)
{
    sh_idmap *m = sh_idmap_new(0);
    sh_id id;
    int64_t v = 42;

    (void)state;
    assert_non_null(m);
    assert_int_equal(sh_idmap_count(m), 0);
    sh_id_random(&id);
    assert_int_equal(sh_idmap_get(m, &id, &v), 0);
    assert_true(v == 42); /* untouched when absent */
    memset(&id, 0, sizeof(id));
    assert_int_equal(sh_idmap_get(m, &id, &v), 0); /* the all-zero id too */
    sh_idmap_free(m);
    sh_idmap_free(NULL);
}

static void test_put_get(void **state)
{
    sh_idmap *m = sh_idmap_new(4);
    sh_id a, b, zero;
    int64_t v = 0;

    (void)state;
    assert_non_null(m);
    sh_id_random(&a);
    sh_id_random(&b);
    memset(&zero, 0, sizeof(zero));
    assert_int_equal(sh_idmap_put_max(m, &a, 100), 0);
    assert_int_equal(sh_idmap_put_max(m, &b, -5), 0);
    assert_int_equal(sh_idmap_put_max(m, &zero, INT64_MAX), 0);
    assert_int_equal(sh_idmap_count(m), 3);
    assert_int_equal(sh_idmap_get(m, &a, &v), 1);
    assert_true(v == 100);
    assert_int_equal(sh_idmap_get(m, &b, &v), 1);
    assert_true(v == -5); /* a first value is stored even when negative */
    assert_int_equal(sh_idmap_get(m, &zero, &v), 1);
    assert_true(v == INT64_MAX);
    sh_idmap_free(m);
}

static void test_put_max_keeps_max(void **state)
{
    sh_idmap *m = sh_idmap_new(16);
    sh_id a;
    int64_t v = 0;

    (void)state;
    assert_non_null(m);
    sh_id_random(&a);
    assert_int_equal(sh_idmap_put_max(m, &a, 1000), 0);
    assert_int_equal(sh_idmap_put_max(m, &a, 999), 0); /* lower: ignored */
    assert_int_equal(sh_idmap_get(m, &a, &v), 1);
    assert_true(v == 1000);
    assert_int_equal(sh_idmap_put_max(m, &a, 1000), 0); /* equal: no change */
    assert_int_equal(sh_idmap_get(m, &a, &v), 1);
    assert_true(v == 1000);
    assert_int_equal(sh_idmap_put_max(m, &a, 5000), 0); /* higher: replaces */
    assert_int_equal(sh_idmap_get(m, &a, &v), 1);
    assert_true(v == 5000);
    assert_int_equal(sh_idmap_put_max(m, &a, INT64_MIN), 0);
    assert_int_equal(sh_idmap_get(m, &a, &v), 1);
    assert_true(v == 5000);
    assert_int_equal(sh_idmap_count(m), 1); /* one key, however many puts */
    sh_idmap_free(m);
}

static void test_growth_to_100k(void **state)
{
    sh_idmap *m = sh_idmap_new(1); /* forces many doublings */
    sh_id id;
    int64_t v;

    (void)state;
    assert_non_null(m);
    for (uint32_t i = 0; i < BIG; i++) {
        make_id(&id, i, 0xA5);
        assert_int_equal(sh_idmap_put_max(m, &id, (int64_t)i * 3), 0);
    }
    assert_int_equal(sh_idmap_count(m), BIG);
    for (uint32_t i = 0; i < BIG; i++) {
        make_id(&id, i, 0xA5);
        v = -1;
        if (sh_idmap_get(m, &id, &v) != 1 || v != (int64_t)i * 3)
            fail_msg("entry %u lost or wrong after growth (got %lld)", i, (long long)v);
    }
    /* same counters, different tag: absent */
    for (uint32_t i = 0; i < BIG; i += 7) {
        make_id(&id, i, 0x5A);
        assert_int_equal(sh_idmap_get(m, &id, &v), 0);
    }
    for (uint32_t i = BIG; i < BIG + 1000; i++) {
        make_id(&id, i, 0xA5);
        assert_int_equal(sh_idmap_get(m, &id, &v), 0);
    }
    /* updating after growth still keeps the max */
    make_id(&id, 12345, 0xA5);
    assert_int_equal(sh_idmap_put_max(m, &id, 1), 0);
    assert_int_equal(sh_idmap_get(m, &id, &v), 1);
    assert_true(v == 12345 * 3);
    assert_int_equal(sh_idmap_count(m), BIG);
    sh_idmap_free(m);
}

static void test_growth_random_ids(void **state)
{
    enum { N = 20000 };
    sh_idmap *m = sh_idmap_new(8);
    sh_id *ids = malloc(N * sizeof(*ids));
    int64_t v;

    (void)state;
    assert_non_null(m);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        sh_id_random(&ids[i]);
        assert_int_equal(sh_idmap_put_max(m, &ids[i], i), 0);
    }
    assert_int_equal(sh_idmap_count(m), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(sh_idmap_get(m, &ids[i], &v), 1);
        assert_true(v == i);
    }
    free(ids);
    sh_idmap_free(m);
}

/* Ids equal in the first 8 bytes hash alike: probing must still tell them
 * apart, across growth. */
static void test_colliding_hashes(void **state)
{
    enum { N = 500 };
    sh_idmap *m = sh_idmap_new(2);
    sh_id id;
    int64_t v;

    (void)state;
    assert_non_null(m);
    for (int i = 0; i < N; i++) {
        memset(&id, 0x11, sizeof(id));
        memcpy(id.b + 8, &i, sizeof(i));
        assert_int_equal(sh_idmap_put_max(m, &id, 1000 + i), 0);
    }
    assert_int_equal(sh_idmap_count(m), N);
    for (int i = 0; i < N; i++) {
        memset(&id, 0x11, sizeof(id));
        memcpy(id.b + 8, &i, sizeof(i));
        assert_int_equal(sh_idmap_get(m, &id, &v), 1);
        assert_true(v == 1000 + i);
    }
    memset(&id, 0x11, sizeof(id));
    id.b[15] = 0x22;
    assert_int_equal(sh_idmap_get(m, &id, &v), 0);
    sh_idmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_map),         cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_put_max_keeps_max), cmocka_unit_test(test_growth_to_100k),
        cmocka_unit_test(test_growth_random_ids), cmocka_unit_test(test_colliding_hashes),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
