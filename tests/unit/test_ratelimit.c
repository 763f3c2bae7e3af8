/*
 * test_ratelimit.c - unit tests for src/core/ratelimit.h: burst, refill,
 * growing back-off, check/charge, forget, independent keys, bounded table;
 * and the pure bucket functions: the same answers as the table, the
 * attempt bound, rounding against the client, idle_at, policy checks.
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

/* ---- the pure bucket functions ------------------------------------------- */

static const struct sh_ratelimit_policy code_policy = {"code", 5, 360, 3600};

static void test_bucket_burst_block_and_retry(void **state)
{
    sh_ratelimit_bucket b;
    int64_t t = S(1000);
    int retry = 0;

    (void)state;
    sh_ratelimit_bucket_init(&b, &code_policy, t);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sh_ratelimit_bucket_check(&b, &code_policy, t, &retry), SH_OK);
        sh_ratelimit_bucket_charge(&b, &code_policy, t);
    }
    assert_int_equal(sh_ratelimit_bucket_check(&b, &code_policy, t, &retry), SH_ERR_RATE_LIMITED);
    assert_int_equal(retry, 360);
    assert_int_equal(b.strikes, 1);
    assert_true(b.blocked_until == t + S(360));
    /* a block ends with exactly one attempt */
    assert_int_equal(sh_ratelimit_bucket_check(&b, &code_policy, t + S(360) - 1, NULL),
                     SH_ERR_RATE_LIMITED);
    assert_int_equal(sh_ratelimit_bucket_check(&b, &code_policy, t + S(360), NULL), SH_OK);
    sh_ratelimit_bucket_charge(&b, &code_policy, t + S(360));
    assert_int_equal(sh_ratelimit_bucket_check(&b, &code_policy, t + S(360), &retry),
                     SH_ERR_RATE_LIMITED);
    assert_int_equal(retry, 720); /* second strike: twice as long */
}

/* The table and a bucket kept by the caller answer alike, step by step. */
static void test_bucket_matches_table(void **state)
{
    struct sh_ratelimit_policy p = {"t", 3, 2.5, 40};
    sh_ratelimit *rl = NULL;
    sh_ratelimit_bucket b;
    int64_t t = S(5000);
    int r1 = 0, r2 = 0;

    (void)state;
    assert_int_equal(sh_ratelimit_new(&p, 64, &rl), SH_OK);
    sh_ratelimit_bucket_init(&b, &p, t);
    for (int i = 0; i < 2000; i++) {
        uint32_t op = randombytes_uniform(3);
        sh_status a, c;

        t += randombytes_uniform(4000000); /* up to 4 s */
        a = sh_ratelimit_check(rl, "k", 1, t, &r1);
        c = sh_ratelimit_bucket_check(&b, &p, t, &r2);
        if (a != c || (a != SH_OK && r1 != r2))
            fail_msg("step %d: table %d/%d, bucket %d/%d", i, a, r1, c, r2);
        if (op == 0 || (op == 1 && c == SH_OK)) { /* charge, or take */
            sh_ratelimit_charge(rl, "k", 1, t);
            sh_ratelimit_bucket_charge(&b, &p, t);
        }
    }
    sh_ratelimit_free(rl);
}

/* Whatever the timing, a key never gets more than burst + elapsed /
 * interval attempts: rounding goes against the client. */
static void test_bucket_attempt_bound(void **state)
{
    struct sh_ratelimit_policy p = {"t", 4, 0.7, 30};
    sh_ratelimit_bucket b;
    int64_t t0 = S(100), t = t0;
    int allowed = 0;

    (void)state;
    sh_ratelimit_bucket_init(&b, &p, t);
    for (int i = 0; i < 20000; i++) {
        t += 1 + randombytes_uniform(300000);
        if (sh_ratelimit_bucket_check(&b, &p, t, NULL) == SH_OK) {
            sh_ratelimit_bucket_charge(&b, &p, t);
            allowed++;
        }
        if ((double)allowed > 4 + (double)(t - t0) / (0.7 * (double)SH_USEC))
            fail_msg("%d attempts in %lld us", allowed, (long long)(t - t0));
    }
    assert_true(allowed > 4);
}

/* The state is integer, so a copy (a stored row) answers like the
 * original, and idle_at is the first moment it answers like a fresh one. */
static void test_bucket_idle_at(void **state)
{
    sh_ratelimit_bucket b, fresh, copy;
    int64_t t = S(1000), idle;

    (void)state;
    sh_ratelimit_bucket_init(&b, &code_policy, t);
    assert_true(sh_ratelimit_bucket_idle_at(&b, &code_policy) == t);
    for (int i = 0; i < 6; i++)
        sh_ratelimit_bucket_charge(&b, &code_policy, t + S(i));
    idle = sh_ratelimit_bucket_idle_at(&b, &code_policy);
    assert_true(idle > b.blocked_until);
    memcpy(&copy, &b, sizeof(copy));
    /* just before idle_at the strikes still count; from idle_at they do not */
    sh_ratelimit_bucket_charge(&copy, &code_policy, idle - 1);
    for (int i = 0; i < 4; i++)
        sh_ratelimit_bucket_charge(&copy, &code_policy, idle - 1);
    assert_true(copy.strikes >= 2);
    for (int i = 0; i < 5; i++) {
        sh_ratelimit_bucket_init(&fresh, &code_policy, idle);
        memcpy(&copy, &b, sizeof(copy));
        for (int j = 0; j <= i; j++) {
            sh_ratelimit_bucket_charge(&fresh, &code_policy, idle);
            sh_ratelimit_bucket_charge(&copy, &code_policy, idle);
        }
        int r1 = 0, r2 = 0;
        assert_int_equal(copy.strikes, fresh.strikes);
        assert_true(copy.tokens == fresh.tokens);
        assert_int_equal(sh_ratelimit_bucket_check(&copy, &code_policy, idle, &r1),
                         sh_ratelimit_bucket_check(&fresh, &code_policy, idle, &r2));
        assert_int_equal(r1, r2);
    }
}

static void test_policy_valid(void **state)
{
    struct sh_ratelimit_policy ok = {"p", 1, 0.001, 0};
    struct sh_ratelimit_policy bad[] = {
        {"p", 0.5, 1, 10}, {"p", 5, 0, 10},   {"p", 5, -1, 10},
        {"p", 2e6, 1, 10}, {"p", 5, 2e6, 10}, {"p", 5, 1, -1},
    };
    sh_ratelimit *rl = NULL;

    (void)state;
    assert_true(sh_ratelimit_policy_valid(&ok));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sh_ratelimit_policy_valid(&bad[i]))
            fail_msg("policy %zu accepted", i);
        assert_int_equal(sh_ratelimit_new(&bad[i], 64, &rl), SH_ERR_INTERNAL);
    }
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
        cmocka_unit_test(test_bucket_burst_block_and_retry),
        cmocka_unit_test(test_bucket_matches_table),
        cmocka_unit_test(test_bucket_attempt_bound),
        cmocka_unit_test(test_bucket_idle_at),
        cmocka_unit_test(test_policy_valid),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
