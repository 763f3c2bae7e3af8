/*
 * test_id.c - unit tests for src/core/id.h and the claim codes of
 * src/crypto/claim_code.h: ids drawn after sh_id_ascending_begin come in
 * strictly ascending byte order and still differ in their random halves;
 * past the expected count, and after sh_id_ascending_end, they are plainly
 * random again, and the supply is per thread. Claim codes use only their
 * alphabet and every symbol of it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/id.h"
#include "crypto/claim_code.h"

#define N 20000

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static int cmp_ids(const sh_id *a, const sh_id *b) { return memcmp(a->b, b->b, SH_ID_LEN); }

static void test_ascending_run_is_sorted_and_spread(void **state)
{
    sh_id *ids = calloc(N, sizeof(*ids));

    (void)state;
    assert_non_null(ids);
    sh_id_ascending_begin(N);
    for (int i = 0; i < N; i++)
        sh_id_random(&ids[i]);
    sh_id_ascending_end();
    for (int i = 1; i < N; i++)
        assert_true(cmp_ids(&ids[i - 1], &ids[i]) < 0);
    /* spread over the whole space: the first slice is near 0, the last
     * near the top, and the low halves are not a counter */
    assert_true(ids[0].b[0] == 0);
    assert_true(ids[N - 1].b[0] == 0xff);
    assert_memory_not_equal(ids[0].b + 8, ids[1].b + 8, 8);
    free(ids);
}

/* Ascending ids out of N random draws in a row: almost never more than a
 * handful by chance, so a supply left on would show. */
static int ascending_pairs(int n)
{
    sh_id prev, cur;
    int up = 0;

    sh_id_random(&prev);
    for (int i = 1; i < n; i++) {
        sh_id_random(&cur);
        up += cmp_ids(&prev, &cur) < 0;
        prev = cur;
    }
    return up;
}

static void test_random_again_after_the_run(void **state)
{
    (void)state;
    sh_id_ascending_begin(10);
    for (int i = 0; i < 10; i++) {
        sh_id id;
        sh_id_random(&id);
    }
    /* the expected count is used up: random, about half the pairs rise */
    int up = ascending_pairs(1000);
    assert_true(up > 400 && up < 600);
    sh_id_ascending_begin(1000);
    sh_id_ascending_end();
    up = ascending_pairs(1000);
    assert_true(up > 400 && up < 600);
}

static void *other_thread(void *arg)
{
    *(int *)arg = ascending_pairs(1000);
    return NULL;
}

static void test_supply_is_per_thread(void **state)
{
    pthread_t t;
    int up = 0;

    (void)state;
    sh_id_ascending_begin(1000000);
    assert_int_equal(pthread_create(&t, NULL, other_thread, &up), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(up > 400 && up < 600);
    assert_int_equal(ascending_pairs(1000), 999);
    sh_id_ascending_end();
}

static void test_claim_codes_use_the_whole_alphabet(void **state)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char code[SH_CLAIM_TEXT_MAX], canonical[SH_CLAIM_CHARS + 1];
    int seen[32] = {0};

    (void)state;
    for (int n = 0; n < 200; n++) {
        sh_claim_code_new(code);
        assert_int_equal(strlen(code), SH_CLAIM_CHARS + 4);
        assert_int_equal(sh_claim_code_canonical(code, strlen(code), canonical), 0);
        for (size_t i = 0; i < strlen(code); i++) {
            if (i % 6 == 5) {
                assert_int_equal(code[i], '-');
                continue;
            }
            const char *p = strchr(alphabet, code[i]);
            assert_non_null(p);
            seen[p - alphabet]++;
        }
    }
    /* 5,000 symbols: each of the 32 appears about 156 times */
    for (int k = 0; k < 32; k++)
        assert_true(seen[k] > 80 && seen[k] < 250);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascending_run_is_sorted_and_spread),
        cmocka_unit_test(test_random_again_after_the_run),
        cmocka_unit_test(test_supply_is_per_thread),
        cmocka_unit_test(test_claim_codes_use_the_whole_alphabet),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
