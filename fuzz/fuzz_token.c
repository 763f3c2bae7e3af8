/*
 * fuzz_token.c - the token codec and the whole per-request auth path.
 *
 * Every input is tried as:
 *   - an access token: sh_token_access_verify, then sh_session_authenticate
 *     (MAC, expiry, class, the revocation index);
 *   - a camera stream ticket: sh_token_stream_verify;
 *   - an OAuth partner access token and a browser login ticket
 *     (sh_partner_token_verify, sh_login_ticket_verify);
 *   - an opaque token with each prefix (refresh, admin, device, relay,
 *     partner refresh, client secret, authorization code): format + checksum.
 * And, as a property, the first 52 bytes are read as access claims and the
 * first 73 as stream claims, encoded and verified again: the round trip must
 * give back the same claims.
 * Seeds in fuzz/corpus/token are real tokens minted with the fixed fuzz key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/revocation.h"
#include "auth/sessions.h"
#include "core/clock.h"
#include "crypto/token.h"
#include "fuzz_util.h"
#include "oauth/tokens.h"

static sh_keyring *kr;
static sh_auth auth;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The signature is libFuzzer's. */
int LLVMFuzzerInitialize(int *argc, char ***argv) // NOLINT(readability-non-const-parameter)
{
    sh_rule_rec r;

    (void)argc;
    (void)argv;
    kr = sh_fuzz_keyring();
    memset(&auth, 0, sizeof(auth));
    auth.kr = kr;
    auth.rev = sh_revocation_new();
    if (auth.rev == NULL)
        abort();
    /* one rule of each shape so the index has something to match */
    memset(&r, 0, sizeof(r));
    r.scope = SH_RULE_CLASS;
    snprintf(r.value, sizeof(r.value), "%s", "android");
    r.not_before = 1000000;
    (void)sh_revocation_apply(auth.rev, &r);
    return 0;
}

static void stream_round_trip(const uint8_t *data, size_t size)
{
    sh_stream_claims in, out;
    char text[SH_TOKEN_MAX];

    if (size < 73)
        return;
    memset(&in, 0, sizeof(in));
    in.session_class = data[0];
    memcpy(in.device.b, data + 1, SH_ID_LEN);
    memcpy(in.user.b, data + 17, SH_ID_LEN);
    memcpy(in.session.b, data + 33, SH_ID_LEN);
    memcpy(&in.generation, data + 49, 8);
    memcpy(&in.session_created, data + 57, 8);
    memcpy(&in.expires_at, data + 65, 8);
    if (in.expires_at <= 0)
        return;
    sh_token_stream_encode(kr, &in, text);
    if (strlen(text) >= SH_TOKEN_MAX)
        abort();
    if (sh_token_stream_verify(kr, text, strlen(text), 0, &out) != SH_OK)
        abort(); /* a ticket we minted must verify */
    if (out.session_class != in.session_class || !sh_id_equal(&out.device, &in.device) ||
        !sh_id_equal(&out.user, &in.user) || !sh_id_equal(&out.session, &in.session) ||
        out.generation != in.generation || out.session_created != in.session_created ||
        out.expires_at != in.expires_at)
        abort();
}

static void round_trip(const uint8_t *data, size_t size)
{
    sh_access_claims in, out;
    char text[SH_TOKEN_MAX];

    if (size < 52)
        return;
    memset(&in, 0, sizeof(in));
    in.token_class = data[0];
    memcpy(in.session.b, data + 4, SH_ID_LEN);
    memcpy(in.principal.b, data + 20, SH_ID_LEN);
    memcpy(&in.issued_at, data + 36, 8);
    memcpy(&in.expires_at, data + 44, 8);
    if (in.expires_at <= 0)
        return;
    sh_token_access_encode(kr, &in, text);
    if (strlen(text) >= SH_TOKEN_MAX)
        abort();
    if (sh_token_access_verify(kr, text, strlen(text), 0, &out) != SH_OK)
        abort(); /* a token we minted must verify */
    if (out.token_class != in.token_class || !sh_id_equal(&out.session, &in.session) ||
        !sh_id_equal(&out.principal, &in.principal) || out.issued_at != in.issued_at ||
        out.expires_at != in.expires_at)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    uint8_t secret[SH_TOKEN_SECRET_LEN];
    sh_access_claims c;
    sh_principal p;
    static const char *const prefixes[] = {
        SH_TOKEN_REFRESH,       SH_TOKEN_ADMIN,         SH_TOKEN_ACCESS,
        SH_TOKEN_DEVICE,        SH_TOKEN_RELAY,         SH_TOKEN_STREAM,
        SH_TOKEN_OAUTH_REFRESH, SH_TOKEN_CLIENT_SECRET, SH_TOKEN_OAUTH_CODE};
    sh_stream_claims sc;
    sh_partner_claims pc;
    sh_login_ticket lt;
    int64_t now = sh_clock_now_us();

    if (sh_token_access_verify(kr, text, size, now, &c) == SH_OK && c.expires_at <= now)
        abort(); /* an expired token passed */
    (void)sh_session_authenticate(&auth, text, size, &p);
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (sh_token_opaque_parse(prefixes[i], text, size, secret) == SH_OK &&
            (size < 6 || memcmp(text, prefixes[i], 6) != 0))
            abort(); /* accepted under another prefix */
    }
    if (sh_token_stream_verify(kr, text, size, now, &sc) == SH_OK && sc.expires_at <= now)
        abort(); /* an expired ticket passed */
    if (sh_partner_token_verify(kr, text, size, now, &pc) == SH_OK && pc.expires_at <= now)
        abort();
    if (sh_login_ticket_verify(kr, text, size, now, &lt) == SH_OK && lt.expires_at <= now)
        abort();
    round_trip(data, size);
    stream_round_trip(data, size);
    return 0;
}
