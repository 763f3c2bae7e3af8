/*
 * test_token.c - unit tests for src/crypto/token.h: access token encode /
 * verify (claims, prefix, tamper, wrong key, expiry, malformed input) and
 * opaque tokens (roundtrip, checksum, prefix).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/id.h"
#include "core/status.h"
#include "crypto/keyring.h"
#include "crypto/token.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100"
#define NOW 1700000000000000LL /* µs */
#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

struct fixture {
    sh_keyring *kr;
    sh_keyring *other;
};

static sh_keyring *open_keyring(const char *hex)
{
    sh_keyring *kr = NULL;
    int created = -1;

    assert_int_equal(setenv("SAFEHOUSE_MASTER_KEY", hex, 1), 0);
    assert_int_equal(sh_keyring_open("/nonexistent/safehouse-test.key", &kr, &created), SH_OK);
    assert_non_null(kr);
    assert_int_equal(created, 0);
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
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sh_keyring_free(f->kr);
    sh_keyring_free(f->other);
    free(f);
    return 0;
}

static void sample_claims(sh_access_claims *c)
{
    memset(c, 0, sizeof(*c));
    c->token_class = 3;
    sh_id_random(&c->session);
    sh_id_random(&c->principal);
    c->issued_at = NOW - 60 * 1000000LL;
    c->expires_at = NOW + 15 * 60 * 1000000LL;
}

static sh_status verify(const sh_keyring *kr, const char *text, size_t len, int64_t now)
{
    sh_access_claims out;

    return sh_token_access_verify(kr, text, len, now, &out);
}

static void test_access_roundtrip_keeps_claims(void **state)
{
    struct fixture *f = *state;
    sh_access_claims in, out;
    char tok[SH_TOKEN_MAX];

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    assert_true(strlen(tok) < SH_TOKEN_MAX);
    memset(&out, 0xAA, sizeof(out));
    assert_int_equal(sh_token_access_verify(f->kr, tok, strlen(tok), NOW, &out), SH_OK);
    assert_int_equal(out.version, 1);
    assert_int_equal(out.key_id, SH_KEY_TOKEN_MAC_VERSION);
    assert_int_equal(out.token_class, in.token_class);
    assert_memory_equal(out.session.b, in.session.b, SH_ID_LEN);
    assert_memory_equal(out.principal.b, in.principal.b, SH_ID_LEN);
    assert_true(out.issued_at == in.issued_at);
    assert_true(out.expires_at == in.expires_at);
}

static void test_access_roundtrip_extreme_values(void **state)
{
    struct fixture *f = *state;
    sh_access_claims in, out;
    char tok[SH_TOKEN_MAX];

    sample_claims(&in);
    in.token_class = 255;
    in.issued_at = INT64_MIN;
    in.expires_at = INT64_MAX;
    memset(in.session.b, 0xFF, SH_ID_LEN);
    memset(in.principal.b, 0x00, SH_ID_LEN);
    sh_token_access_encode(f->kr, &in, tok);
    assert_int_equal(sh_token_access_verify(f->kr, tok, strlen(tok), NOW, &out), SH_OK);
    assert_int_equal(out.token_class, 255);
    assert_true(out.issued_at == INT64_MIN);
    assert_true(out.expires_at == INT64_MAX);
    assert_memory_equal(out.session.b, in.session.b, SH_ID_LEN);
    assert_memory_equal(out.principal.b, in.principal.b, SH_ID_LEN);
}

static void test_access_prefix_and_charset(void **state)
{
    struct fixture *f = *state;
    sh_access_claims in;
    char tok[SH_TOKEN_MAX];

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    assert_int_equal(strncmp(tok, SH_TOKEN_ACCESS, 6), 0);
    assert_int_equal(strncmp(tok, "sh_at_", 6), 0);
    for (size_t i = 6; tok[i] != '\0'; i++)
        assert_non_null(strchr(B64_ALPHABET, tok[i]));
}

static void test_access_distinct_claims_give_distinct_tokens(void **state)
{
    struct fixture *f = *state;
    sh_access_claims a, b;
    char ta[SH_TOKEN_MAX], tb[SH_TOKEN_MAX];

    sample_claims(&a);
    b = a;
    b.expires_at++;
    sh_token_access_encode(f->kr, &a, ta);
    sh_token_access_encode(f->kr, &b, tb);
    assert_string_not_equal(ta, tb);
    /* encoding is deterministic for equal claims */
    sh_token_access_encode(f->kr, &a, tb);
    assert_string_equal(ta, tb);
}

/* Every position, replaced by every other base64url character (and a few
 * characters outside the alphabet), must fail to verify. */
static void test_access_any_single_char_change_fails(void **state)
{
    struct fixture *f = *state;
    static const char extra[] = "=+/. ~";
    sh_access_claims in;
    char tok[SH_TOKEN_MAX], bad[SH_TOKEN_MAX];
    size_t len;
    int tried = 0;

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    len = strlen(tok);
    for (size_t i = 0; i < len; i++) {
        const char *alts[] = {B64_ALPHABET, extra};
        for (size_t a = 0; a < 2; a++) {
            for (const char *c = alts[a]; *c != '\0'; c++) {
                if (*c == tok[i])
                    continue;
                memcpy(bad, tok, len + 1);
                bad[i] = *c;
                if (verify(f->kr, bad, len, NOW) != SH_ERR_INVALID_TOKEN)
                    fail_msg("changed token still verifies: pos %zu '%c' -> '%c'", i, tok[i], *c);
                tried++;
            }
        }
    }
    assert_true(tried > (int)len * 60);
}

static void test_access_wrong_key_fails(void **state)
{
    struct fixture *f = *state;
    sh_access_claims in;
    char tok[SH_TOKEN_MAX];

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    assert_int_equal(verify(f->kr, tok, strlen(tok), NOW), SH_OK);
    assert_int_equal(verify(f->other, tok, strlen(tok), NOW), SH_ERR_INVALID_TOKEN);
    sh_token_access_encode(f->other, &in, tok);
    assert_int_equal(verify(f->other, tok, strlen(tok), NOW), SH_OK);
    assert_int_equal(verify(f->kr, tok, strlen(tok), NOW), SH_ERR_INVALID_TOKEN);
}

static void test_access_expiry(void **state)
{
    struct fixture *f = *state;
    sh_access_claims in;
    char tok[SH_TOKEN_MAX];
    size_t len;

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    len = strlen(tok);
    assert_int_equal(verify(f->kr, tok, len, in.expires_at - 1), SH_OK);
    assert_int_equal(verify(f->kr, tok, len, in.expires_at), SH_ERR_INVALID_TOKEN);
    assert_int_equal(verify(f->kr, tok, len, in.expires_at + 1), SH_ERR_INVALID_TOKEN);
    assert_int_equal(verify(f->kr, tok, len, INT64_MAX), SH_ERR_INVALID_TOKEN);
}

static void test_access_truncated_fails(void **state)
{
    struct fixture *f = *state;
    sh_access_claims in;
    char tok[SH_TOKEN_MAX];
    size_t len;

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    len = strlen(tok);
    for (size_t n = 0; n < len; n++) {
        char *copy = malloc(n + 1); /* exact size: ASan catches over-reads */
        assert_non_null(copy);
        memcpy(copy, tok, n);
        copy[n] = '\0';
        if (verify(f->kr, copy, n, NOW) != SH_ERR_INVALID_TOKEN)
            fail_msg("token truncated to %zu of %zu chars verifies", n, len);
        free(copy);
    }
}

static void test_access_len_is_honoured(void **state)
{
    struct fixture *f = *state;
    sh_access_claims in;
    char tok[SH_TOKEN_MAX + 8];
    char *exact;
    size_t len;

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    len = strlen(tok);
    /* Not NUL-terminated: only len bytes are the token. */
    exact = malloc(len);
    assert_non_null(exact);
    memcpy(exact, tok, len);
    assert_int_equal(verify(f->kr, exact, len, NOW), SH_OK);
    free(exact);
    /* Trailing bytes beyond len are ignored... */
    tok[len] = 'A';
    tok[len + 1] = '\0';
    assert_int_equal(verify(f->kr, tok, len, NOW), SH_OK);
    /* ...but counted when len includes them. */
    assert_int_equal(verify(f->kr, tok, len + 1, NOW), SH_ERR_INVALID_TOKEN);
}

static void test_access_extended_fails(void **state)
{
    struct fixture *f = *state;
    static const char *const tails[] = {"A", "AA", "AAAA", "=", "==", " ", "\n", ".", "x"};
    sh_access_claims in;
    char tok[SH_TOKEN_MAX], ext[SH_TOKEN_MAX + 16];
    size_t len;

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    len = strlen(tok);
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        snprintf(ext, sizeof(ext), "%s%s", tok, tails[i]);
        if (verify(f->kr, ext, strlen(ext), NOW) != SH_ERR_INVALID_TOKEN)
            fail_msg("token with suffix %zu still verifies", i);
    }
    /* a prefix doubled up front */
    snprintf(ext, sizeof(ext), "sh_at_%s", tok);
    assert_int_equal(verify(f->kr, ext, strlen(ext), NOW), SH_ERR_INVALID_TOKEN);
    /* the same token with an embedded NUL in the counted length */
    memcpy(ext, tok, len + 1);
    assert_int_equal(verify(f->kr, ext, len + 1, NOW), SH_ERR_INVALID_TOKEN);
}

static void test_access_garbage_and_empty_fail(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {
        "",
        "s",
        "sh_at_",
        "sh_at",
        "Bearer sh_at_AAAA",
        "sh_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sh_at_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "\xff\xfe\xfd",
    };
    char huge[4096];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (verify(f->kr, bad[i], strlen(bad[i]), NOW) != SH_ERR_INVALID_TOKEN)
            fail_msg("garbage token %zu verifies", i);
    }
    /* len 0 with a non-empty buffer */
    assert_int_equal(verify(f->kr, "sh_at_AAAA", 0, NOW), SH_ERR_INVALID_TOKEN);
    /* far longer than any token */
    memset(huge, 'A', sizeof(huge));
    memcpy(huge, "sh_at_", 6);
    assert_int_equal(verify(f->kr, huge, sizeof(huge), NOW), SH_ERR_INVALID_TOKEN);
}

static void test_access_rejects_opaque_token(void **state)
{
    struct fixture *f = *state;
    uint8_t secret[SH_TOKEN_SECRET_LEN];
    char tok[SH_TOKEN_MAX];

    sh_token_opaque_new(SH_TOKEN_REFRESH, secret, tok);
    assert_int_equal(verify(f->kr, tok, strlen(tok), NOW), SH_ERR_INVALID_TOKEN);
    /* an opaque token forced into the access prefix is still refused */
    memcpy(tok, SH_TOKEN_ACCESS, 6);
    assert_int_equal(verify(f->kr, tok, strlen(tok), NOW), SH_ERR_INVALID_TOKEN);
}

static void test_access_wrong_prefix_fails(void **state)
{
    struct fixture *f = *state;
    static const char *const prefixes[] = {"sh_rt_", "sh_ad_", "SH_AT_", "sh-at_", "xx_at_"};
    sh_access_claims in;
    char tok[SH_TOKEN_MAX];

    sample_claims(&in);
    sh_token_access_encode(f->kr, &in, tok);
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        char copy[SH_TOKEN_MAX];
        memcpy(copy, tok, sizeof(copy));
        memcpy(copy, prefixes[i], 6);
        assert_int_equal(verify(f->kr, copy, strlen(copy), NOW), SH_ERR_INVALID_TOKEN);
    }
}

static void test_opaque_roundtrip(void **state)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], parsed[SH_TOKEN_SECRET_LEN];
    uint8_t zero[SH_TOKEN_SECRET_LEN] = {0};
    char tok[SH_TOKEN_MAX], tok2[SH_TOKEN_MAX];

    (void)state;
    sh_token_opaque_new(SH_TOKEN_REFRESH, secret, tok);
    assert_int_equal(strncmp(tok, "sh_rt_", 6), 0);
    assert_true(strlen(tok) < SH_TOKEN_MAX);
    for (size_t i = 6; tok[i] != '\0'; i++)
        assert_non_null(strchr(B64_ALPHABET, tok[i]));
    assert_memory_not_equal(secret, zero, sizeof(secret));
    memset(parsed, 0, sizeof(parsed));
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, tok, strlen(tok), parsed), SH_OK);
    assert_memory_equal(parsed, secret, sizeof(secret));
    /* two tokens are never equal */
    sh_token_opaque_new(SH_TOKEN_REFRESH, parsed, tok2);
    assert_string_not_equal(tok, tok2);
    assert_memory_not_equal(parsed, secret, sizeof(secret));
}

static void test_opaque_admin_prefix_roundtrip(void **state)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], parsed[SH_TOKEN_SECRET_LEN];
    char tok[SH_TOKEN_MAX];

    (void)state;
    sh_token_opaque_new(SH_TOKEN_ADMIN, secret, tok);
    assert_int_equal(strncmp(tok, "sh_ad_", 6), 0);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_ADMIN, tok, strlen(tok), parsed), SH_OK);
    assert_memory_equal(parsed, secret, sizeof(secret));
}

static void test_opaque_checksum_catches_single_char_change(void **state)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], parsed[SH_TOKEN_SECRET_LEN];
    char tok[SH_TOKEN_MAX], bad[SH_TOKEN_MAX];
    size_t len;

    (void)state;
    for (int round = 0; round < 8; round++) {
        sh_token_opaque_new(SH_TOKEN_REFRESH, secret, tok);
        len = strlen(tok);
        for (size_t i = 0; i < len; i++) {
            for (const char *c = B64_ALPHABET; *c != '\0'; c++) {
                if (*c == tok[i])
                    continue;
                memcpy(bad, tok, len + 1);
                bad[i] = *c;
                if (sh_token_opaque_parse(SH_TOKEN_REFRESH, bad, len, parsed) !=
                    SH_ERR_INVALID_TOKEN)
                    fail_msg("checksum missed change at pos %zu '%c' -> '%c'", i, tok[i], *c);
            }
        }
    }
}

static void test_opaque_two_swapped_chars_caught(void **state)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], parsed[SH_TOKEN_SECRET_LEN];
    char tok[SH_TOKEN_MAX], bad[SH_TOKEN_MAX];
    size_t len;

    (void)state;
    sh_token_opaque_new(SH_TOKEN_REFRESH, secret, tok);
    len = strlen(tok);
    for (size_t i = 6; i + 1 < len; i++) {
        if (tok[i] == tok[i + 1])
            continue;
        memcpy(bad, tok, len + 1);
        bad[i] = tok[i + 1];
        bad[i + 1] = tok[i];
        assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, bad, len, parsed),
                         SH_ERR_INVALID_TOKEN);
    }
}

static void test_opaque_wrong_prefix_rejected(void **state)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], parsed[SH_TOKEN_SECRET_LEN];
    char tok[SH_TOKEN_MAX];
    size_t len;

    (void)state;
    sh_token_opaque_new(SH_TOKEN_REFRESH, secret, tok);
    len = strlen(tok);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_ADMIN, tok, len, parsed), SH_ERR_INVALID_TOKEN);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_ACCESS, tok, len, parsed),
                     SH_ERR_INVALID_TOKEN);
    /* relabelled: prefix is covered by the checksum */
    memcpy(tok, SH_TOKEN_ADMIN, 6);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_ADMIN, tok, len, parsed), SH_ERR_INVALID_TOKEN);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, tok, len, parsed),
                     SH_ERR_INVALID_TOKEN);
}

static void test_opaque_malformed_rejected(void **state)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], parsed[SH_TOKEN_SECRET_LEN];
    char tok[SH_TOKEN_MAX], ext[SH_TOKEN_MAX + 8];
    size_t len;

    (void)state;
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, "", 0, parsed), SH_ERR_INVALID_TOKEN);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, "sh_rt_", 6, parsed),
                     SH_ERR_INVALID_TOKEN);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, "sh_rt_garbage", 13, parsed),
                     SH_ERR_INVALID_TOKEN);
    sh_token_opaque_new(SH_TOKEN_REFRESH, secret, tok);
    len = strlen(tok);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, tok, n, parsed),
                         SH_ERR_INVALID_TOKEN);
    snprintf(ext, sizeof(ext), "%sA", tok);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, ext, len + 1, parsed),
                     SH_ERR_INVALID_TOKEN);
    snprintf(ext, sizeof(ext), "%sAAAA", tok);
    assert_int_equal(sh_token_opaque_parse(SH_TOKEN_REFRESH, ext, len + 4, parsed),
                     SH_ERR_INVALID_TOKEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_roundtrip_keeps_claims),
        cmocka_unit_test(test_access_roundtrip_extreme_values),
        cmocka_unit_test(test_access_prefix_and_charset),
        cmocka_unit_test(test_access_distinct_claims_give_distinct_tokens),
        cmocka_unit_test(test_access_any_single_char_change_fails),
        cmocka_unit_test(test_access_wrong_key_fails),
        cmocka_unit_test(test_access_expiry),
        cmocka_unit_test(test_access_truncated_fails),
        cmocka_unit_test(test_access_len_is_honoured),
        cmocka_unit_test(test_access_extended_fails),
        cmocka_unit_test(test_access_garbage_and_empty_fail),
        cmocka_unit_test(test_access_rejects_opaque_token),
        cmocka_unit_test(test_access_wrong_prefix_fails),
        cmocka_unit_test(test_opaque_roundtrip),
        cmocka_unit_test(test_opaque_admin_prefix_roundtrip),
        cmocka_unit_test(test_opaque_checksum_catches_single_char_change),
        cmocka_unit_test(test_opaque_two_swapped_chars_caught),
        cmocka_unit_test(test_opaque_wrong_prefix_rejected),
        cmocka_unit_test(test_opaque_malformed_rejected),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
