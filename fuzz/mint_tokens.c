/*
 * mint_tokens.c - writes the token seeds of fuzz/corpus/token: access tokens
 * under the fixed fuzz key (one live until the year 9000, one expired, one
 * of a revoked class, one with a bad class), a stream ticket, a partner
 * access token, a browser login ticket, and a partner refresh, device,
 * relay, refresh and admin token.
 *   make build/asan/fuzz-mint && build/asan/fuzz-mint fuzz/corpus/token
 */
#include <stdio.h>
#include <string.h>

#include "auth/token_class.h"
#include "crypto/token.h"
#include "fuzz_util.h"
#include "oauth/tokens.h"

#define YEAR_9000_US (221845392000LL * 1000000LL)

static int put(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int main(int argc, char **argv)
{
    sh_keyring *kr;
    sh_access_claims c;
    sh_stream_claims st;
    sh_partner_claims pc;
    sh_login_ticket lt;
    char text[SH_TOKEN_MAX];
    uint8_t secret[SH_TOKEN_SECRET_LEN];
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-mint DIR\n");
        return 2;
    }
    kr = sh_fuzz_keyring();
    memset(&c, 0, sizeof(c));
    c.token_class = SH_CLASS_IOS;
    memset(c.session.b, 0x11, sizeof(c.session.b));
    memset(c.principal.b, 0x22, sizeof(c.principal.b));
    c.issued_at = 1700000000LL * 1000000;
    c.expires_at = YEAR_9000_US;
    sh_token_access_encode(kr, &c, text);
    rc |= put(argv[1], "access_live", text);
    c.expires_at = c.issued_at + 900LL * 1000000;
    sh_token_access_encode(kr, &c, text);
    rc |= put(argv[1], "access_expired", text);
    c.expires_at = YEAR_9000_US;
    c.token_class = SH_CLASS_ANDROID;
    c.issued_at = 1; /* before the driver's android rule */
    sh_token_access_encode(kr, &c, text);
    rc |= put(argv[1], "access_revoked_class", text);
    c.token_class = 200;
    sh_token_access_encode(kr, &c, text);
    rc |= put(argv[1], "access_bad_class", text);
    memset(&st, 0, sizeof(st));
    st.session_class = SH_CLASS_IOS;
    memset(st.device.b, 0x33, sizeof(st.device.b));
    memset(st.user.b, 0x22, sizeof(st.user.b));
    memset(st.session.b, 0x11, sizeof(st.session.b));
    st.generation = 3;
    st.session_created = 1700000000LL * 1000000;
    st.expires_at = YEAR_9000_US;
    sh_token_stream_encode(kr, &st, text);
    rc |= put(argv[1], "stream_live", text);
    memset(&pc, 0, sizeof(pc));
    pc.scopes = 7;
    memset(pc.grant.b, 0x44, sizeof(pc.grant.b));
    memset(pc.user.b, 0x22, sizeof(pc.user.b));
    memset(pc.client.b, 0x55, sizeof(pc.client.b));
    pc.grant_created = pc.minted_at = 1700000000LL * 1000000;
    pc.expires_at = YEAR_9000_US;
    sh_partner_token_encode(kr, &pc, text);
    rc |= put(argv[1], "partner_live", text);
    memset(&lt, 0, sizeof(lt));
    lt.stage = SH_LOGIN_DONE;
    memset(lt.user.b, 0x22, sizeof(lt.user.b));
    memset(lt.nonce.b, 0x66, sizeof(lt.nonce.b));
    lt.login_at = 1700000000LL * 1000000;
    lt.expires_at = YEAR_9000_US;
    sh_login_ticket_encode(kr, &lt, text);
    rc |= put(argv[1], "login_ticket_live", text);
    sh_token_opaque_new(SH_TOKEN_OAUTH_REFRESH, secret, text);
    rc |= put(argv[1], "partner_refresh", text);
    sh_token_opaque_new(SH_TOKEN_DEVICE, secret, text);
    rc |= put(argv[1], "device", text);
    sh_token_opaque_new(SH_TOKEN_RELAY, secret, text);
    rc |= put(argv[1], "relay", text);
    sh_token_opaque_new(SH_TOKEN_REFRESH, secret, text);
    rc |= put(argv[1], "refresh", text);
    sh_token_opaque_new(SH_TOKEN_ADMIN, secret, text);
    rc |= put(argv[1], "admin", text);
    sh_keyring_free(kr);
    return rc != 0;
}
