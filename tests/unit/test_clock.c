/*
 * test_clock.c - unit tests for src/core/clock.h: strict RFC 3339 parsing
 * (Z, offsets, fractions, rejections) and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"

/* 2024-03-10T12:34:56Z */
#define REF_S 1710074096LL
#define REF_US (REF_S * SH_USEC)

static int64_t parse_ok(const char *text)
{
    int64_t us = -12345;

    if (sh_clock_parse(text, &us) != 0)
        fail_msg("valid date-time rejected: \"%s\"", text);
    return us;
}

static void expect_reject(const char *text)
{
    int64_t us = -12345;

    if (sh_clock_parse(text, &us) != -1)
        fail_msg("invalid date-time accepted: \"%s\" -> %lld", text, (long long)us);
    assert_true(us == -12345); /* untouched */
}

static void test_parse_z(void **state)
{
    (void)state;
    assert_true(parse_ok("1970-01-01T00:00:00Z") == 0);
    assert_true(parse_ok("2024-03-10T12:34:56Z") == REF_US);
    assert_true(parse_ok("2000-01-01T00:00:00Z") == 946684800LL * SH_USEC);
    assert_true(parse_ok("2024-02-29T00:00:00Z") == 1709164800LL * SH_USEC); /* leap day */
    assert_true(parse_ok("2038-01-19T03:14:08Z") == 2147483648LL * SH_USEC); /* past 2^31 */
    assert_true(parse_ok("9999-12-31T23:59:59Z") == 253402300799LL * SH_USEC);
    /* RFC 3339 allows lower-case t and z */
    assert_true(parse_ok("2024-03-10t12:34:56z") == REF_US);
}

static void test_parse_offsets(void **state)
{
    (void)state;
    assert_true(parse_ok("2024-03-10T12:34:56+00:00") == REF_US);
    assert_true(parse_ok("2024-03-10T12:34:56-00:00") == REF_US);
    assert_true(parse_ok("2024-03-10T14:34:56+02:00") == REF_US);
    assert_true(parse_ok("2024-03-10T07:04:56-05:30") == REF_US);
    assert_true(parse_ok("2024-03-11T01:34:56+13:00") == REF_US); /* crosses a day */
    assert_true(parse_ok("2024-03-09T23:34:56-13:00") == REF_US);
    assert_true(parse_ok("2024-03-10T12:34:56+23:59") == REF_US - (23 * 3600 + 59 * 60) * SH_USEC);
}

static void test_parse_fractions(void **state)
{
    (void)state;
    assert_true(parse_ok("2024-03-10T12:34:56.5Z") == REF_US + 500000);
    assert_true(parse_ok("2024-03-10T12:34:56.05Z") == REF_US + 50000);
    assert_true(parse_ok("2024-03-10T12:34:56.000001Z") == REF_US + 1);
    assert_true(parse_ok("2024-03-10T12:34:56.123456Z") == REF_US + 123456);
    assert_true(parse_ok("2024-03-10T12:34:56.999999Z") == REF_US + 999999);
    /* beyond microseconds: truncated, not rounded or overflowed */
    assert_true(parse_ok("2024-03-10T12:34:56.1234567Z") == REF_US + 123456);
    assert_true(parse_ok("2024-03-10T12:34:56.9999999999999999999999Z") == REF_US + 999999);
    assert_true(parse_ok("2024-03-10T12:34:56.000Z") == REF_US);
    /* fraction with an offset */
    assert_true(parse_ok("2024-03-10T14:34:56.25+02:00") == REF_US + 250000);
}

static void test_parse_leap_second(void **state)
{
    (void)state;
    /* :60 is allowed by RFC 3339 and read as :59 */
    assert_true(parse_ok("2016-12-31T23:59:60Z") == 1483228799LL * SH_USEC);
}

static void test_parse_rejects_garbage(void **state)
{
    (void)state;
    expect_reject("");
    expect_reject("garbage");
    expect_reject("now");
    expect_reject("1710074096");
    expect_reject("2024-03-10");
    expect_reject("2024-03-10T");
    expect_reject("2024-03-10T12:34Z");
    expect_reject("2024-03-10T12:34:5Z");
    expect_reject("2024-3-10T12:34:56Z");
    expect_reject("24-03-10T12:34:56Z");
    expect_reject("2024/03/10T12:34:56Z");
    expect_reject("2024-03-10X12:34:56Z");
    expect_reject("2024-03-10T12-34-56Z");
    expect_reject(" 2024-03-10T12:34:56Z");
    expect_reject("2024-03-10T12:34:56Z ");
    expect_reject("2024-03-10T12:34:56ZZ");
    expect_reject("2024-03-10T12:34:56Zjunk");
    expect_reject("2024-03-10T12:34:56.Z");
    expect_reject("2024-03-10T12:34:56.5.5Z");
    expect_reject("2024-03-10T12:34:56,5Z");
    expect_reject("+024-03-10T12:34:56Z");
    expect_reject("2024-03-10T12:34:56\0Z");
}

static void test_parse_rejects_missing_zone(void **state)
{
    (void)state;
    expect_reject("2024-03-10T12:34:56");
    expect_reject("2024-03-10T12:34:56.123");
    expect_reject("2024-03-10T12:34:56+");
    expect_reject("2024-03-10T12:34:56+02");
    expect_reject("2024-03-10T12:34:56+0200");
    expect_reject("2024-03-10T12:34:56+2:00");
    expect_reject("2024-03-10T12:34:56+02:0");
    expect_reject("2024-03-10T12:34:56+02:00Z");
    expect_reject("2024-03-10T12:34:56 UTC");
    expect_reject("2024-03-10T12:34:56GMT");
}

static void test_parse_rejects_out_of_range_fields(void **state)
{
    (void)state;
    expect_reject("2024-00-10T12:34:56Z");
    expect_reject("2024-13-10T12:34:56Z");
    expect_reject("2024-99-10T12:34:56Z");
    expect_reject("2024-03-00T12:34:56Z");
    expect_reject("2024-03-32T12:34:56Z");
    expect_reject("2024-03-10T24:00:00Z");
    expect_reject("2024-03-10T12:60:00Z");
    expect_reject("2024-03-10T12:34:61Z");
    expect_reject("2024-03-10T12:34:56+24:00");
    expect_reject("2024-03-10T12:34:56+00:60");
}

/* RFC 3339 5.7: the day must exist in that month and year. A date that
 * timegm() would quietly roll into the next month must not be accepted. */
static void test_parse_rejects_day_not_in_month(void **state)
{
    (void)state;
    expect_reject("2023-02-29T00:00:00Z"); /* not a leap year */
    expect_reject("2024-02-30T00:00:00Z");
    expect_reject("2024-02-31T00:00:00Z");
    expect_reject("2024-04-31T00:00:00Z");
    expect_reject("2024-06-31T00:00:00Z");
    expect_reject("2024-09-31T00:00:00Z");
    expect_reject("2024-11-31T00:00:00Z");
    expect_reject("1900-02-29T00:00:00Z"); /* century, not a leap year */
    /* the last real days are fine */
    assert_true(parse_ok("2000-02-29T00:00:00Z") == 951782400LL * SH_USEC);
    parse_ok("2024-04-30T00:00:00Z");
    parse_ok("2024-12-31T23:59:59Z");
}

static void test_format(void **state)
{
    char buf[SH_RFC3339_MAX];

    (void)state;
    sh_clock_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    sh_clock_format(REF_US, buf, sizeof(buf));
    assert_string_equal(buf, "2024-03-10T12:34:56Z");
    sh_clock_format(REF_US + 999999, buf, sizeof(buf)); /* whole seconds, truncated */
    assert_string_equal(buf, "2024-03-10T12:34:56Z");
    sh_clock_format(253402300799LL * SH_USEC, buf, sizeof(buf));
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    assert_true(strlen(buf) < SH_RFC3339_MAX);
}

static void test_format_ms(void **state)
{
    char buf[SH_RFC3339_MAX];
    int64_t back;

    (void)state;
    sh_clock_format_ms(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    sh_clock_format_ms(REF_US + 7000, buf, sizeof(buf));
    assert_string_equal(buf, "2024-03-10T12:34:56.007Z");
    sh_clock_format_ms(REF_US + 999999, buf, sizeof(buf)); /* milliseconds, truncated */
    assert_string_equal(buf, "2024-03-10T12:34:56.999Z");
    sh_clock_format_ms(253402300799LL * SH_USEC + 123456, buf, sizeof(buf));
    assert_string_equal(buf, "9999-12-31T23:59:59.123Z");
    assert_true(strlen(buf) < SH_RFC3339_MAX);
    /* what the log writes, the RFC 3339 parser reads back */
    sh_clock_format_ms(REF_US + 250000, buf, sizeof(buf));
    assert_int_equal(sh_clock_parse(buf, &back), 0);
    assert_true(back == REF_US + 250000);
}

static void test_format_parse_roundtrip(void **state)
{
    static const int64_t secs[] = {0,          1,          59,         86399,      951782400,
                                   1709164800, 1710074096, 2147483647, 2147483648, 4102444800};
    char buf[SH_RFC3339_MAX];
    int64_t back, now, v;

    (void)state;
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        v = secs[i] * SH_USEC;
        sh_clock_format(v, buf, sizeof(buf));
        assert_int_equal(sh_clock_parse(buf, &back), 0);
        if (back != v)
            fail_msg("roundtrip of %lld s gave \"%s\" -> %lld", (long long)secs[i], buf,
                     (long long)back);
    }
    now = sh_clock_now_us();
    sh_clock_format(now, buf, sizeof(buf));
    assert_int_equal(sh_clock_parse(buf, &back), 0);
    assert_true(back == now - now % SH_USEC);
}

static void test_now_is_sane(void **state)
{
    int64_t a, b;

    (void)state;
    a = sh_clock_now_us();
    b = sh_clock_now_us();
    assert_true(a > REF_US); /* after 2024-03-10 */
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_z),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_fractions),
        cmocka_unit_test(test_parse_leap_second),
        cmocka_unit_test(test_parse_rejects_garbage),
        cmocka_unit_test(test_parse_rejects_missing_zone),
        cmocka_unit_test(test_parse_rejects_out_of_range_fields),
        cmocka_unit_test(test_parse_rejects_day_not_in_month),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_ms),
        cmocka_unit_test(test_format_parse_roundtrip),
        cmocka_unit_test(test_now_is_sane),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
