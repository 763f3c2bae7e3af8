/*
 * test_jsonw.c - unit tests for src/core/jsonw.h: what it writes reads back
 * as the same value, byte for byte what jansson writes where jansson's
 * escapes agree, and every escape RFC 8259 requires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/jsonw.h"

static char *ours(json_t *v)
{
    size_t len = 0;
    char *t = sh_jw_dumps(v, 1 << 20, &len);

    assert_non_null(t);
    assert_int_equal(len, strlen(t));
    return t;
}

/* Ours and jansson's compact text are the same bytes, and read back equal. */
static void same_as_jansson(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    char *a, *b;
    json_t *back;

    if (v == NULL)
        fail_msg("bad test input %s: %s", text, err.text);
    a = ours(v);
    b = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(a, b);
    back = json_loads(a, JSON_DECODE_ANY, &err);
    assert_non_null(back);
    assert_true(json_equal(v, back));
    json_decref(back);
    json_decref(v);
    free(a);
    free(b);
}

static void test_values_match_jansson(void **state)
{
    (void)state;
    same_as_jansson("{}");
    same_as_jansson("[]");
    same_as_jansson("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}");
    same_as_jansson("{\"z\":1,\"a\":2,\"m\":3}"); /* insertion order kept */
    same_as_jansson("[-9223372036854775807,0,42]");
    same_as_jansson("[1.5,-0.25,1e+100,3.0,2.5e-7,0.1]");
    same_as_jansson("\"caf\\u00e9 \\u2603 \\ud83d\\ude00\"");
    same_as_jansson("\"quote \\\" backslash \\\\ slash /\"");
    same_as_jansson("\"tab\\t nl\\n cr\\r bs\\b ff\\f\"");
    same_as_jansson("[[[[{\"deep\":[{}]}]]]]");
}

static void test_control_characters_are_escaped(void **state)
{
    json_t *v = json_stringn("a\x01\x1f\x7f"
                             "b\0c",
                             7);
    char *t;
    json_t *back;

    (void)state;
    t = ours(v);
    assert_string_equal(t, "\"a\\u0001\\u001f\x7f"
                           "b\\u0000c\"");
    back = json_loads(t, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(back);
    assert_true(json_equal(v, back));
    json_decref(back);
    json_decref(v);
    free(t);
}

static void test_pieces(void **state)
{
    sh_buf b;
    char *t;

    (void)state;
    sh_buf_init(&b, 1024);
    sh_buf_add(&b, "{", 1);
    sh_jw_key(&b, "n", 1);
    sh_jw_int(&b, -7);
    sh_jw_key(&b, "ok", 0);
    sh_jw_bool(&b, 1);
    sh_jw_key(&b, "s\"", 0);
    sh_jw_str(&b, "x\ny");
    sh_jw_key(&b, "nothing", 0);
    sh_jw_value(&b, NULL);
    sh_buf_add(&b, "}", 1);
    t = sh_buf_take(&b, NULL);
    assert_string_equal(t, "{\"n\":-7,\"ok\":true,\"s\\\"\":\"x\\ny\",\"nothing\":null}");
    free(t);
}

static void test_limit(void **state)
{
    json_t *v = json_string("0123456789");

    (void)state;
    assert_null(sh_jw_dumps(v, 8, NULL)); /* past max: no text */
    assert_null(sh_jw_dumps(NULL, 8, NULL));
    json_decref(v);
}

static void test_depth(void **state)
{
    json_t *deep = json_array(), *ok = json_object(), *cur;
    char *t;

    (void)state;
    cur = deep;
    for (int i = 0; i < SH_JW_DEPTH_MAX + 1; i++) { /* one level too many */
        json_t *inner = json_array();
        json_array_append_new(cur, inner);
        cur = inner;
    }
    assert_null(sh_jw_dumps(deep, 1 << 20, NULL));
    cur = ok;
    for (int i = 0; i < SH_JW_DEPTH_MAX - 1; i++) {
        json_t *inner = json_object();
        json_object_set_new(cur, "k", inner);
        cur = inner;
    }
    t = sh_jw_dumps(ok, 1 << 20, NULL);
    assert_non_null(t);
    /* 32 levels: {"k": 31 times, then {} and 31 closing braces */
    assert_int_equal(strlen(t), (size_t)(2 * SH_JW_DEPTH_MAX + 4 * (SH_JW_DEPTH_MAX - 1)));
    free(t);
    json_decref(deep);
    json_decref(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_match_jansson),
        cmocka_unit_test(test_control_characters_are_escaped),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_depth),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
