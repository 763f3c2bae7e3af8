/*
 * test_ratelimit.c - unit tests for src/core/ratelimit.h: burst, refill,
 * growing back-off, check/charge, forget, independent keys, bounded table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/ratelimit.h"

#define S(x) ((int64_t)(x)*SH_USEC)

static sh_ratelimit *make(double burst, double interval, double max_backoff)
{
    struct sh_ratelimit_policy p = {"test", burst, interval, max_backoff};
    sh_ratelimit *rl = NULL;

    assert_int_equal(sh_ratelimit_new(&p, 64, &rl), SH_OK);
    return rl;
}

static void test_burst_then_refused_with_retry(void **state)
{
    sh_ratelimit *rl = make(5, 10, 3600);
    int retry = 0;
    int64_t t = S(1000);

    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(sh_ratelimit_take(rl, "k", 1, t, &retry), SH_OK);
    assert_int_equal(sh_ratelimit_take(rl, "k", 1, t, &retry), SH_ERR_RATE_LIMITED);
    assert_int_equal(retry, 10);
    /* one token back after the interval */
    assert_int_equal(sh_ratelimit_take(rl, "k", 1, t + S(10), &retry), SH_OK);
    sh_ratelimit_free(rl);
}

static void test_back_off_doubles_and_is_capped(void **state)
{
    sh_ratelimit *rl = make(1, 10, 60);
    int64_t t = S(1000);
    int retry = 0, expect[] = {10, 20, 40, 60, 60};

    (void)state;
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        assert_int_equal(sh_ratelimit_take(rl, "k", 1, t, &retry), SH_OK);
        assert_int_equal(sh_ratelimit_check(rl, "k", 1, t, &retry), SH_ERR_RATE_LIMITED);
        if (retry != expect[i])
            fail_msg("strike %zu: retry %d, expected %d", i + 1, retry, expect[i]);
        t += S(retry);
    }
    sh_ratelimit_free(rl);
}

static void test_strikes_forgotten_after_full_refill(void **state)
{
    sh_ratelimit *rl = make(2, 10, 3600);
    int64_t t = S(1000);
    int retry = 0;

    (void)state;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(sh_ratelimit_take(rl, "k", 1, t, &retry), SH_OK);
        assert_int_equal(sh_ratelimit_take(rl, "k", 1, t, &retry), SH_OK);
        assert_int_equal(sh_ratelimit_check(rl, "k", 1, t, &retry), SH_ERR_RATE_LIMITED);
        assert_int_equal(retry, 10); /* first strike each time */
        t += S(100);                 /* quiet long enough to refill completely */
    }
    sh_ratelimit_free(rl);
}

static void test_check_takes_nothing_charge_does(void **state)
{
    sh_ratelimit *rl = make(3, 60, 3600);
    int64_t t = S(1000);

    (void)state;
    for (int i = 0; i < 100; i++)
        assert_int_equal(sh_ratelimit_check(rl, "acct", 4, t, NULL), SH_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sh_ratelimit_check(rl, "acct", 4, t, NULL), SH_OK);
        sh_ratelimit_charge(rl, "acct", 4, t);
    }
    assert_int_equal(sh_ratelimit_check(rl, "acct", 4, t, NULL), SH_ERR_RATE_LIMITED);
    sh_ratelimit_forget(rl, "acct", 4);
    assert_int_equal(sh_ratelimit_check(rl, "acct", 4, t, NULL), SH_OK);
    sh_ratelimit_free(rl);
}

static void test_keys_are_independent(void **state)
{
    sh_ratelimit *rl = make(1, 60, 3600);
    int64_t t = S(1000);
    char key[16];

    (void)state;
    assert_int_equal(sh_ratelimit_take(rl, "a", 1, t, NULL), SH_OK);
    assert_int_equal(sh_ratelimit_take(rl, "a", 1, t, NULL), SH_ERR_RATE_LIMITED);
    assert_int_equal(sh_ratelimit_take(rl, "b", 1, t, NULL), SH_OK);
    assert_int_equal(sh_ratelimit_take(rl, "ab", 2, t, NULL), SH_OK);
    /* many more keys than slots: the table stays bounded and keeps working */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(sh_ratelimit_take(rl, key, strlen(key), t + i, NULL), SH_OK);
    }
    sh_ratelimit_free(rl);
}

static void test_fractional_interval(void **state)
{
    sh_ratelimit *rl = make(20, 0.5, 300);
    int64_t t = S(1000);
    int ok = 0, retry = 0;

    (void)state;
    /* 10 s of one request per 100 ms: 20 at once plus one per 500 ms */
    for (int i = 0; i < 100; i++)
        ok += sh_ratelimit_take(rl, "ip", 2, t + i * 100000, &retry) == SH_OK;
    if (ok < 20 || ok > 40)
        fail_msg("%d of 100 allowed", ok);
    sh_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refused_with_retry),
        cmocka_unit_test(test_back_off_doubles_and_is_capped),
        cmocka_unit_test(test_strikes_forgotten_after_full_refill),
        cmocka_unit_test(test_check_takes_nothing_charge_does),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_fractional_interval),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
