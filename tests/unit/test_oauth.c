/*
 * test_oauth.c - unit tests for the pure parts of account linking: scopes
 * (src/oauth/scopes.h), PKCE S256 (src/crypto/pkce.h), partner access
 * tokens and login tickets (src/oauth/tokens.h), redirect URI rules
 * (src/oauth/clients.h) and the partner scopes of the revocation index.
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

#include "auth/revocation.h"
#include "crypto/pkce.h"
#include "oauth/clients.h"
#include "oauth/scopes.h"
#include "oauth/tokens.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100"
#define NOW 1700000000000000LL

static sh_keyring *keyring(const char *hex)
{
    sh_keyring *kr = NULL;
    int created = 0;

    assert_int_equal(setenv("SAFEHOUSE_MASTER_KEY", hex, 1), 0);
    assert_int_equal(sh_keyring_open("/nonexistent/k", &kr, &created), SH_OK);
    unsetenv("SAFEHOUSE_MASTER_KEY");
    return kr;
}

static void test_scopes(void **state)
{
    unsigned bits = 0;
    char out[SH_SCOPE_TEXT_MAX];

    (void)state;
    assert_int_equal(sh_scope_parse("devices:read camera:stream", &bits), 0);
    assert_int_equal(bits, SH_SCOPE_DEVICES_READ | SH_SCOPE_CAMERA_STREAM);
    sh_scope_format(bits, out, sizeof(out));
    assert_string_equal(out, "devices:read camera:stream");
    sh_scope_format(SH_SCOPE_ALL, out, sizeof(out));
    assert_string_equal(out, "devices:read devices:control camera:stream");
    assert_int_equal(sh_scope_parse("devices:read  camera:stream", &bits), -1);
    assert_int_equal(sh_scope_parse("devices:read ", &bits), -1);
    assert_int_equal(sh_scope_parse("", &bits), -1);
    assert_int_equal(sh_scope_parse("health:read", &bits), -1);
    assert_int_equal(sh_scope_parse("devices:rea", &bits), -1);
    assert_int_equal(sh_scope_parse("devices:reads", &bits), -1);
}

static void test_pkce(void **state)
{
    /* RFC 7636 appendix B */
    const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    (void)state;
    assert_true(sh_pkce_challenge_valid(challenge, strlen(challenge)));
    assert_false(sh_pkce_challenge_valid("short", 5));
    assert_false(sh_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=", 43));
    assert_true(sh_pkce_s256_check(challenge, verifier, strlen(verifier)));
    assert_false(sh_pkce_s256_check(challenge, verifier, strlen(verifier) - 1));
    assert_false(sh_pkce_s256_check(challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", 43));
    assert_false(sh_pkce_s256_check(challenge, "short", 5));
    assert_false(sh_pkce_s256_check(challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX!", 43));
}

static void test_partner_token(void **state)
{
    sh_keyring *kr = keyring(KEY_A), *other = keyring(KEY_B);
    sh_partner_claims c, got;
    char text[SH_TOKEN_MAX];

    (void)state;
    memset(&c, 0, sizeof(c));
    c.scopes = SH_SCOPE_DEVICES_READ | SH_SCOPE_CAMERA_STREAM;
    sh_id_random(&c.grant);
    sh_id_random(&c.user);
    sh_id_random(&c.client);
    c.grant_created = NOW - 1000;
    c.minted_at = NOW;
    c.expires_at = NOW + 3600000000LL;
    sh_partner_token_encode(kr, &c, text);
    assert_int_equal(strncmp(text, "sh_oa_", 6), 0);
    assert_int_equal(sh_partner_token_verify(kr, text, strlen(text), NOW, &got), SH_OK);
    assert_int_equal(got.scopes, c.scopes);
    assert_true(sh_id_equal(&got.grant, &c.grant) && sh_id_equal(&got.user, &c.user) &&
                sh_id_equal(&got.client, &c.client));
    assert_true(got.grant_created == c.grant_created && got.minted_at == c.minted_at &&
                got.expires_at == c.expires_at);
    assert_int_equal(sh_partner_token_verify(other, text, strlen(text), NOW, &got),
                     SH_ERR_INVALID_TOKEN);
    assert_int_equal(sh_partner_token_verify(kr, text, strlen(text), c.expires_at, &got),
                     SH_ERR_INVALID_TOKEN);
    for (size_t i = 6; i < strlen(text); i += 7) {
        char copy[SH_TOKEN_MAX];
        memcpy(copy, text, sizeof(copy));
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        assert_int_equal(sh_partner_token_verify(kr, copy, strlen(copy), NOW, &got),
                         SH_ERR_INVALID_TOKEN);
    }
    /* a MAC made for one kind never verifies as another */
    memcpy(text, "sh_at_", 6);
    assert_int_equal(sh_partner_token_verify(kr, text, strlen(text), NOW, &got),
                     SH_ERR_INVALID_TOKEN);
    sh_keyring_free(kr);
    sh_keyring_free(other);
}

static void test_login_ticket(void **state)
{
    sh_keyring *kr = keyring(KEY_A);
    sh_login_ticket t, got;
    char text[SH_TOKEN_MAX];

    (void)state;
    memset(&t, 0, sizeof(t));
    t.stage = SH_LOGIN_DONE;
    sh_id_random(&t.user);
    sh_id_random(&t.nonce);
    t.login_at = NOW;
    t.expires_at = NOW + 600000000LL;
    sh_login_ticket_encode(kr, &t, text);
    assert_int_equal(sh_login_ticket_verify(kr, text, strlen(text), NOW, &got), SH_OK);
    assert_true(sh_id_equal(&got.user, &t.user) && got.stage == SH_LOGIN_DONE);
    assert_int_equal(sh_login_ticket_verify(kr, text, strlen(text), t.expires_at, &got),
                     SH_ERR_INVALID_TOKEN);
    t.stage = 9;
    sh_login_ticket_encode(kr, &t, text);
    assert_int_equal(sh_login_ticket_verify(kr, text, strlen(text), NOW, &got),
                     SH_ERR_INVALID_TOKEN);
    sh_keyring_free(kr);
}

static void test_redirect_uris(void **state)
{
    static const char *const good[] = {
        "https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA",
        "https://oauth-redirect.googleusercontent.com/r/project?x=1",
        "https://ifttt.com/channels/x/authorize",
        "http://127.0.0.1:9/cb",
        "http://localhost/cb",
        "http://[::1]:8080/cb",
        "https://example.com",
    };
    static const char *const bad[] = {
        "",
        "http://example.com/cb",
        "https://ex ample.com/cb",
        "https://example.com/cb#f",
        "https://u@example.com/cb",
        "ftp://example.com/cb",
        "https:///cb",
        "//example.com/cb",
        "https://example.com/\"x",
        "https://example.com/a;b",
        "https://example.com/a,b",
        "http://localhost.evil.com/cb",
        "https://example.com/\x01",
    };
    char origin[SH_OAUTH_ORIGIN_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(sh_oauth_redirect_uri_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sh_oauth_redirect_uri_valid(bad[i]));
    assert_int_equal(sh_oauth_redirect_origin(good[0], origin, sizeof(origin)), 0);
    assert_string_equal(origin, "https://pitangui.amazon.com");
    assert_int_equal(sh_oauth_redirect_origin(good[3], origin, sizeof(origin)), 0);
    assert_string_equal(origin, "http://127.0.0.1:9");
}

static void test_redirect_exact_match(void **state)
{
    sh_oauth_client_rec c;

    (void)state;
    memset(&c, 0, sizeof(c));
    snprintf(c.redirect_uris, sizeof(c.redirect_uris), "%s",
             "https://a.example/cb\nhttps://b.example/x");
    assert_true(sh_oauth_redirect_registered(&c, "https://a.example/cb"));
    assert_true(sh_oauth_redirect_registered(&c, "https://b.example/x"));
    assert_false(sh_oauth_redirect_registered(&c, "https://a.example/cb/"));
    assert_false(sh_oauth_redirect_registered(&c, "https://a.example/c"));
    assert_false(sh_oauth_redirect_registered(&c, "https://A.example/cb"));
    assert_false(sh_oauth_redirect_registered(&c, "https://a.example/cb\nhttps://b.example/x"));
    assert_false(sh_oauth_redirect_registered(&c, ""));
}

static sh_rule_rec rule(int scope, const sh_id *id, int64_t nb)
{
    sh_rule_rec r;
    sh_id_hex hex;

    memset(&r, 0, sizeof(r));
    r.scope = scope;
    if (id != NULL) {
        sh_id_to_hex(id, &hex);
        memcpy(r.value, hex.s, sizeof(hex.s));
    }
    r.not_before = nb;
    return r;
}

static void test_partner_revocation_scopes(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id client, other_client, user, grant, session;
    sh_rule_rec r;

    (void)state;
    sh_id_random(&client);
    sh_id_random(&other_client);
    sh_id_random(&user);
    sh_id_random(&grant);
    sh_id_random(&session);
    assert_true(sh_revocation_allows_partner(rv, &client, &user, &grant, NOW));
    /* class and session rules never touch partners */
    r = rule(SH_RULE_CLASS, NULL, NOW + 10);
    snprintf(r.value, sizeof(r.value), "android");
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
    r = rule(SH_RULE_SESSION, &grant, NOW + 10);
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
    assert_true(sh_revocation_allows_partner(rv, &client, &user, &grant, NOW));
    /* client rule: that client only */
    r = rule(SH_RULE_CLIENT, &client, NOW + 10);
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
    assert_false(sh_revocation_allows_partner(rv, &client, &user, &grant, NOW));
    assert_true(sh_revocation_allows_partner(rv, &client, &user, &grant, NOW + 11));
    assert_true(sh_revocation_allows_partner(rv, &other_client, &user, &grant, NOW));
    /* integration: every partner, no app session */
    r = rule(SH_RULE_INTEGRATION, NULL, NOW + 20);
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
    assert_false(sh_revocation_allows_partner(rv, &other_client, &user, &grant, NOW + 15));
    assert_true(sh_revocation_allows(rv, 1, &user, &session, NOW + 15));
    /* grant: that grant only */
    r = rule(SH_RULE_GRANT, &grant, NOW + 30);
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
    assert_false(sh_revocation_allows_partner(rv, &other_client, &user, &grant, NOW + 25));
    assert_true(sh_revocation_allows_partner(rv, &other_client, &user, &session, NOW + 25));
    /* user and all cover partners too */
    r = rule(SH_RULE_USER, &user, NOW + 40);
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
    assert_false(sh_revocation_allows_partner(rv, &other_client, &user, &session, NOW + 35));
    r = rule(SH_RULE_ALL, NULL, NOW + 50);
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
    assert_false(sh_revocation_allows_partner(rv, &other_client, &session, &session, NOW + 45));
    assert_true(sh_revocation_allows_partner(rv, &other_client, &session, &session, NOW + 51));
    assert_int_equal(sh_revocation_scope_from_name("client"), SH_RULE_CLIENT);
    assert_int_equal(sh_revocation_scope_from_name("integration"), SH_RULE_INTEGRATION);
    assert_int_equal(sh_revocation_scope_from_name("grant"), SH_RULE_GRANT);
    assert_string_equal(sh_revocation_scope_name(SH_RULE_INTEGRATION), "integration");
    r = rule(SH_RULE_CLIENT, NULL, NOW);
    assert_int_equal(sh_revocation_apply(rv, &r), SH_ERR_INVALID_REQUEST);
    sh_revocation_free(rv);
}

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_pkce),
        cmocka_unit_test(test_partner_token),
        cmocka_unit_test(test_login_ticket),
        cmocka_unit_test(test_redirect_uris),
        cmocka_unit_test(test_redirect_exact_match),
        cmocka_unit_test(test_partner_revocation_scopes),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
