/*
 * test_credentials.c - unit tests for src/auth/credentials.h: e-mail
 * normalization (trim, IDNA domain, local part kept) and password policy
 * (length in code points, common-password list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/credentials.h"
#include "core/status.h"

static void expect_email(const char *in, const char *want)
{
    char out[SH_EMAIL_MAX + 1];

    memset(out, 0, sizeof(out));
    if (sh_email_normalize(in, out, sizeof(out)) != SH_OK)
        fail_msg("e-mail rejected: \"%s\"", in);
    if (strcmp(out, want) != 0)
        fail_msg("\"%s\" normalized to \"%s\", want \"%s\"", in, out, want);
}

static void expect_bad_email(const char *in)
{
    char out[SH_EMAIL_MAX + 1];
    sh_status rc;

    memset(out, 0, sizeof(out));
    rc = sh_email_normalize(in, out, sizeof(out));
    if (rc != SH_ERR_INVALID_EMAIL)
        fail_msg("bad e-mail \"%s\" gave status %d, out \"%s\"", in, rc, out);
}

static void test_email_plain(void **state)
{
    (void)state;
    expect_email("bob@example.com", "bob@example.com");
    expect_email("b@x.io", "b@x.io");
    expect_email("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk");
    expect_email("o'brien_x-y@my-host.example", "o'brien_x-y@my-host.example");
}

static void test_email_trims_white_space(void **state)
{
    (void)state;
    expect_email("  bob@example.com", "bob@example.com");
    expect_email("bob@example.com  ", "bob@example.com");
    expect_email(" \t\r\n bob@example.com \t\r\n", "bob@example.com");
}

static void test_email_domain_lower_local_kept(void **state)
{
    (void)state;
    expect_email("Bob@Example.COM", "Bob@example.com");
    expect_email("BOB.SMITH@EXAMPLE.COM", "BOB.SMITH@example.com");
    expect_email("  MiXeD@ExAmPlE.OrG ", "MiXeD@example.org");
}

static void test_email_idna_domain(void **state)
{
    char a[SH_EMAIL_MAX + 1], b[SH_EMAIL_MAX + 1];

    (void)state;
    expect_email("Bob@BÜCHER.de", "Bob@xn--bcher-kva.de");
    expect_email("Bob@bücher.de", "Bob@xn--bcher-kva.de");
    expect_email("Bob@xn--bcher-kva.de", "Bob@xn--bcher-kva.de");
    expect_email("Bob@XN--BCHER-KVA.DE", "Bob@xn--bcher-kva.de");
    /* the two spellings are one account */
    assert_int_equal(sh_email_normalize("Bob@BÜCHER.de", a, sizeof(a)), SH_OK);
    assert_int_equal(sh_email_normalize(" Bob@xn--bcher-kva.de", b, sizeof(b)), SH_OK);
    assert_string_equal(a, b);
}

static void test_email_rejects_malformed(void **state)
{
    (void)state;
    expect_bad_email("");
    expect_bad_email("   ");
    expect_bad_email("bob");
    expect_bad_email("bob.example.com"); /* no @ */
    expect_bad_email("@example.com");    /* empty local part */
    expect_bad_email("  @example.com");
    expect_bad_email("bob@");        /* empty domain */
    expect_bad_email("bob@example"); /* no dot in domain */
    expect_bad_email("bob@@example.com");
    expect_bad_email("a@b@example.com");
    expect_bad_email("bob smith@example.com"); /* spaces */
    expect_bad_email("bob@exa mple.com");
    expect_bad_email("bob @example.com");
    expect_bad_email("bob\t@example.com");
    expect_bad_email("bob\x01@example.com");
    expect_bad_email("bob<x>@example.com");
    expect_bad_email("\"bob\"@example.com");
    expect_bad_email(".bob@example.com");
    expect_bad_email("bob.@example.com");
    expect_bad_email("bob@.example.com");
    expect_bad_email("bob@example.com.");
    expect_bad_email("bob@-example.com");
    expect_bad_email("bob@exam_ple.com");
}

static void test_email_rejects_two_dots_in_domain(void **state)
{
    (void)state;
    expect_bad_email("bob@example..com");
    expect_bad_email("bob@sub..example.com");
}

/* RFC 5321 Dot-string = Atom *("." Atom): an unquoted local part has no
 * empty atom, so two dots in a row are not an address. */
static void test_email_rejects_two_dots_in_local_part(void **state)
{
    (void)state;
    expect_bad_email("bob..smith@example.com");
    expect_bad_email("a...b@example.com");
}

static void test_email_length_limits(void **state)
{
    char local[80], domain[260], in[400], out[SH_EMAIL_MAX + 1];

    (void)state;
    /* local part: 64 ok, 65 not */
    memset(local, 'a', 64);
    local[64] = '\0';
    snprintf(in, sizeof(in), "%s@example.com", local);
    expect_email(in, in);
    memset(local, 'a', 65);
    local[65] = '\0';
    snprintf(in, sizeof(in), "%s@example.com", local);
    expect_bad_email(in);

    /* whole address: 254 ok, 255 not (64 + 1 + 189 / 190) */
    memset(local, 'l', 64);
    local[64] = '\0';
    memset(domain, 'b', 63);
    domain[63] = '.';
    memset(domain + 64, 'c', 63);
    domain[127] = '.';
    memset(domain + 128, 'd', 61);
    domain[189] = '\0';
    snprintf(in, sizeof(in), "%s@%s", local, domain);
    assert_int_equal(strlen(in), SH_EMAIL_MAX);
    expect_email(in, in);
    domain[189] = 'd';
    domain[190] = '\0';
    snprintf(in, sizeof(in), "%s@%s", local, domain);
    assert_int_equal(strlen(in), SH_EMAIL_MAX + 1);
    expect_bad_email(in);

    /* far too long input with padding white space */
    {
        char *huge = malloc(4096);
        assert_non_null(huge);
        memset(huge, 'x', 4095);
        huge[4095] = '\0';
        huge[10] = '@';
        huge[20] = '.';
        assert_int_equal(sh_email_normalize(huge, out, sizeof(out)), SH_ERR_INVALID_EMAIL);
        free(huge);
    }
}

static void test_email_small_output_buffer(void **state)
{
    char out[8];

    (void)state;
    memset(out, 'Z', sizeof(out));
    assert_int_not_equal(sh_email_normalize("bob@example.com", out, sizeof(out)), SH_OK);
    assert_int_equal(sh_email_normalize("a@b.co", out, sizeof(out)), SH_OK);
    assert_string_equal(out, "a@b.co");
}

/* ---- password policy --------------------------------------------------- */

static sh_status policy(const char *pw) { return sh_password_policy_check(pw, strlen(pw)); }

/* n repetitions of one UTF-8 encoded code point (malloc'd). */
static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* n ASCII characters from a mixed cycle, never on the common list. */
static char *ascii_pw(size_t n)
{
    static const char alpha[] = "Zq8#mPx2Lr7&kWv5";
    char *s = malloc(n + 1);

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = alpha[i % (sizeof(alpha) - 1)];
    s[n] = '\0';
    return s;
}

static void test_password_length_ascii(void **state)
{
    static const struct {
        size_t n;
        sh_status want;
    } cases[] = {
        {0, SH_ERR_WEAK_PASSWORD},
        {1, SH_ERR_WEAK_PASSWORD},
        {9, SH_ERR_WEAK_PASSWORD},
        {10, SH_OK},
        {11, SH_OK},
        {128, SH_OK},
        {255, SH_OK},
        {256, SH_OK},
        {257, SH_ERR_WEAK_PASSWORD},
        {300, SH_ERR_WEAK_PASSWORD},
        {5000, SH_ERR_WEAK_PASSWORD},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *pw = ascii_pw(cases[i].n);
        if (policy(pw) != cases[i].want)
            fail_msg("password of %zu chars: got %d want %d", cases[i].n, policy(pw),
                     cases[i].want);
        free(pw);
    }
}

static void test_password_length_counts_code_points(void **state)
{
    static const struct {
        const char *unit; /* one code point */
        size_t n;
        sh_status want;
    } cases[] = {
        {"é", 9, SH_ERR_WEAK_PASSWORD}, /* 18 bytes */
        {"é", 10, SH_OK},
        {"€", 9, SH_ERR_WEAK_PASSWORD}, /* 27 bytes */
        {"€", 10, SH_OK},
        {"😀", 9, SH_ERR_WEAK_PASSWORD}, /* 36 bytes */
        {"😀", 10, SH_OK},
        {"é", 256, SH_OK}, /* 512 bytes */
        {"é", 257, SH_ERR_WEAK_PASSWORD},
        {"€", 256, SH_OK}, /* 768 bytes */
        {"€", 257, SH_ERR_WEAK_PASSWORD},
        {"😀", 256, SH_OK}, /* 1024 bytes */
        {"😀", 257, SH_ERR_WEAK_PASSWORD},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *pw = repeat(cases[i].unit, cases[i].n);
        if (policy(pw) != cases[i].want)
            fail_msg("%zu x \"%s\": got %d want %d", cases[i].n, cases[i].unit, policy(pw),
                     cases[i].want);
        free(pw);
    }
}

static void test_password_common_rejected_case_insensitively(void **state)
{
    (void)state;
    assert_int_equal(policy("password1234"), SH_ERR_WEAK_PASSWORD);
    assert_int_equal(policy("Password1234"), SH_ERR_WEAK_PASSWORD);
    assert_int_equal(policy("PASSWORD1234"), SH_ERR_WEAK_PASSWORD);
    assert_int_equal(policy("pAsSwOrD1234"), SH_ERR_WEAK_PASSWORD);
    assert_int_equal(policy("1234567890"), SH_ERR_WEAK_PASSWORD);
    assert_int_equal(policy("1q2w3e4r5t"), SH_ERR_WEAK_PASSWORD);
    assert_int_equal(policy("1Q2W3E4R5T"), SH_ERR_WEAK_PASSWORD);
    /* close but not on the list */
    assert_int_equal(policy("Password1234!x"), SH_OK);
    assert_int_equal(policy("password1234 "), SH_OK);
}

static void test_password_len_is_honoured(void **state)
{
    const char buf[] = "Zq8#mPx2Lr-and-more";

    (void)state;
    /* only len bytes count */
    assert_int_equal(sh_password_policy_check(buf, 9), SH_ERR_WEAK_PASSWORD);
    assert_int_equal(sh_password_policy_check(buf, 10), SH_OK);
    /* a common password followed by bytes outside len is still common */
    assert_int_equal(sh_password_policy_check("Password1234XYZ", 12), SH_ERR_WEAK_PASSWORD);
}

static void test_password_embedded_nul_rejected(void **state)
{
    const char pw[] = "Zq8#mP\0x2Lr7&k";

    (void)state;
    assert_int_equal(sh_password_policy_check(pw, sizeof(pw) - 1), SH_ERR_WEAK_PASSWORD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_plain),
        cmocka_unit_test(test_email_trims_white_space),
        cmocka_unit_test(test_email_domain_lower_local_kept),
        cmocka_unit_test(test_email_idna_domain),
        cmocka_unit_test(test_email_rejects_malformed),
        cmocka_unit_test(test_email_rejects_two_dots_in_domain),
        cmocka_unit_test(test_email_rejects_two_dots_in_local_part),
        cmocka_unit_test(test_email_length_limits),
        cmocka_unit_test(test_email_small_output_buffer),
        cmocka_unit_test(test_password_length_ascii),
        cmocka_unit_test(test_password_length_counts_code_points),
        cmocka_unit_test(test_password_common_rejected_case_insensitively),
        cmocka_unit_test(test_password_len_is_honoured),
        cmocka_unit_test(test_password_embedded_nul_rejected),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
