/*
 * test_form.c - unit tests for src/http/form.h (urlencoded decoding,
 * limits, repeated names, UTF-8) and src/core/buf.h (bounded buffer, HTML
 * and URL escaping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "http/form.h"

static sh_form *parse_ok(const char *text)
{
    sh_form *f = sh_form_new();

    assert_non_null(f);
    assert_int_equal(sh_form_parse(f, text, strlen(text)), SH_OK);
    return f;
}

static void parse_bad(const char *text, size_t len)
{
    sh_form *f = sh_form_new();

    assert_int_equal(sh_form_parse(f, text, len), SH_ERR_INVALID_REQUEST);
    sh_form_free(f);
}

static void test_decoding(void **state)
{
    sh_form *f = parse_ok("a=1&b=x+y%21&c=&d&e=%C3%A9&%41=k");
    size_t len = 0;

    (void)state;
    assert_int_equal(sh_form_size(f), 6);
    assert_string_equal(sh_form_get(f, "a", 0, NULL), "1");
    assert_string_equal(sh_form_get(f, "b", 0, &len), "x y!");
    assert_int_equal(len, 4);
    assert_string_equal(sh_form_get(f, "c", 0, NULL), "");
    assert_string_equal(sh_form_get(f, "d", 0, NULL), "");
    assert_string_equal(sh_form_get(f, "e", 0, NULL), "\xc3\xa9");
    assert_string_equal(sh_form_get(f, "A", 0, NULL), "k");
    assert_null(sh_form_get(f, "zz", 0, NULL));
    sh_form_free(f);
}

static void test_repeated_and_empty_pieces(void **state)
{
    sh_form *f = parse_ok("&&device=1&&device=2&x=%2B&");

    (void)state;
    assert_int_equal(sh_form_count(f, "device"), 2);
    assert_string_equal(sh_form_get(f, "device", 1, NULL), "2");
    assert_null(sh_form_get(f, "device", 2, NULL));
    assert_string_equal(sh_form_get(f, "x", 0, NULL), "+");
    sh_form_free(f);
    f = parse_ok("");
    assert_int_equal(sh_form_size(f), 0);
    sh_form_free(f);
}

static void test_bad_input(void **state)
{
    char big[SH_FORM_VALUE_MAX + 16], name[SH_FORM_NAME_MAX + 8], many[64 * 8];
    size_t off = 0;

    (void)state;
    parse_bad("a=%zz", 5);
    parse_bad("a=%4", 4);
    parse_bad("a=%", 3);
    parse_bad("a=%00", 5);
    parse_bad("a=%ff", 5);
    parse_bad("a=%C0%80", 8);     /* overlong */
    parse_bad("a=%ED%A0%80", 11); /* surrogate */
    parse_bad("a=\xc3", 3);
    parse_bad("=1", 2);
    parse_bad("a\0b=1", 5);
    memset(big, 'v', sizeof(big));
    memcpy(big, "a=", 2);
    parse_bad(big, SH_FORM_VALUE_MAX + 3);
    memset(name, 'n', sizeof(name));
    name[SH_FORM_NAME_MAX + 1] = '=';
    parse_bad(name, SH_FORM_NAME_MAX + 2);
    for (int i = 0; i <= SH_FORM_FIELDS_MAX; i++)
        off += (size_t)snprintf(many + off, sizeof(many) - off, "f%d=1&", i);
    parse_bad(many, off);
}

static void test_limits_accepted_at_the_edge(void **state)
{
    char *big = malloc(SH_FORM_VALUE_MAX + 3);
    sh_form *f;

    (void)state;
    memset(big, 'v', SH_FORM_VALUE_MAX + 2);
    memcpy(big, "a=", 2);
    f = sh_form_new();
    assert_int_equal(sh_form_parse(f, big, SH_FORM_VALUE_MAX + 2), SH_OK);
    assert_int_equal(strlen(sh_form_get(f, "a", 0, NULL)), SH_FORM_VALUE_MAX);
    sh_form_free(f);
    free(big);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(sh_utf8_valid("plain", 5));
    assert_true(sh_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(sh_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(sh_utf8_valid("\xe0\x80\x80", 3));
    assert_false(sh_utf8_valid("\x80", 1));
}

static void test_buf(void **state)
{
    sh_buf b;
    size_t len = 0;
    char *s;

    (void)state;
    sh_buf_init(&b, 256);
    sh_buf_html(&b, "<a href=\"x\">&'</a>");
    sh_buf_puts(&b, "|");
    sh_buf_urlenc(&b, "a b/c?d=é~");
    s = sh_buf_take(&b, &len);
    assert_string_equal(s,
                        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;|a%20b%2Fc%3Fd%3D%C3%A9~");
    assert_int_equal(len, strlen(s));
    free(s);
    sh_buf_init(&b, 8);
    sh_buf_puts(&b, "123456789");
    assert_int_equal(sh_buf_status(&b), SH_ERR_TOO_LARGE);
    sh_buf_puts(&b, "1");
    assert_null(sh_buf_take(&b, NULL));
    sh_buf_init(&b, 8);
    s = sh_buf_take(&b, &len);
    assert_string_equal(s, "");
    free(s);
}

/* The URL unescaping libmicrohttpd is given: %00 stays as it came. */
static void test_url_unescape(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"/readyz", "/readyz"},
        {"/a%2Fb%20c", "/a/b c"},
        {"/readyz%00junk", "/readyz%00junk"},
        {"%41%4a%6b", "AJk"},
        {"%", "%"},
        {"%4", "%4"},
        {"%zz%4g", "%zz%4g"},
        {"a+b", "a+b"},
        {"", ""},
    };
    char buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        assert_int_equal(sh_url_unescape(buf), strlen(cases[i].out));
        assert_string_equal(buf, cases[i].out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoding),     cmocka_unit_test(test_repeated_and_empty_pieces),
        cmocka_unit_test(test_bad_input),    cmocka_unit_test(test_limits_accepted_at_the_edge),
        cmocka_unit_test(test_utf8),         cmocka_unit_test(test_buf),
        cmocka_unit_test(test_url_unescape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
