/* tokens.c - layouts of the partner access token and the login ticket,
 * sealed and opened with the generic MAC'd frame of crypto/token.c. */
#include "oauth/tokens.h"

#include <string.h>

#define PARTNER_PAYLOAD_LEN 76
#define LOGIN_PAYLOAD_LEN 52

static void put_i64(uint8_t *p, int64_t v)
{
    for (int i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8))
        p[i] = (uint8_t)v;
}

static int64_t get_i64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

void sh_partner_token_encode(const sh_keyring *kr, const sh_partner_claims *c,
                             char out[SH_TOKEN_MAX])
{
    uint8_t p[PARTNER_PAYLOAD_LEN] = {0};

    p[2] = (uint8_t)c->scopes;
    memcpy(p + 4, c->grant.b, SH_ID_LEN);
    memcpy(p + 20, c->user.b, SH_ID_LEN);
    memcpy(p + 36, c->client.b, SH_ID_LEN);
    put_i64(p + 52, c->grant_created);
    put_i64(p + 60, c->minted_at);
    put_i64(p + 68, c->expires_at);
    sh_token_mac_seal(kr, SH_TOKEN_OAUTH_ACCESS, p, sizeof(p), out);
}

sh_status sh_partner_token_verify(const sh_keyring *kr, const char *text, size_t len,
                                  int64_t now_us, sh_partner_claims *c)
{
    uint8_t p[PARTNER_PAYLOAD_LEN];

    if (sh_token_mac_open(kr, SH_TOKEN_OAUTH_ACCESS, text, len, p, sizeof(p)) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    memset(c, 0, sizeof(*c));
    c->scopes = p[2];
    memcpy(c->grant.b, p + 4, SH_ID_LEN);
    memcpy(c->user.b, p + 20, SH_ID_LEN);
    memcpy(c->client.b, p + 36, SH_ID_LEN);
    c->grant_created = get_i64(p + 52);
    c->minted_at = get_i64(p + 60);
    c->expires_at = get_i64(p + 68);
    if (c->expires_at <= now_us || c->scopes == 0)
        return SH_ERR_INVALID_TOKEN;
    return SH_OK;
}

void sh_login_ticket_encode(const sh_keyring *kr, const sh_login_ticket *t, char out[SH_TOKEN_MAX])
{
    uint8_t p[LOGIN_PAYLOAD_LEN] = {0};

    p[2] = (uint8_t)t->stage;
    memcpy(p + 4, t->user.b, SH_ID_LEN);
    memcpy(p + 20, t->nonce.b, SH_ID_LEN);
    put_i64(p + 36, t->login_at);
    put_i64(p + 44, t->expires_at);
    sh_token_mac_seal(kr, SH_TOKEN_OAUTH_LOGIN, p, sizeof(p), out);
}

sh_status sh_login_ticket_verify(const sh_keyring *kr, const char *text, size_t len, int64_t now_us,
                                 sh_login_ticket *t)
{
    uint8_t p[LOGIN_PAYLOAD_LEN];

    if (sh_token_mac_open(kr, SH_TOKEN_OAUTH_LOGIN, text, len, p, sizeof(p)) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    memset(t, 0, sizeof(*t));
    t->stage = p[2];
    memcpy(t->user.b, p + 4, SH_ID_LEN);
    memcpy(t->nonce.b, p + 20, SH_ID_LEN);
    t->login_at = get_i64(p + 36);
    t->expires_at = get_i64(p + 44);
    if (t->expires_at <= now_us || (t->stage != SH_LOGIN_DONE && t->stage != SH_LOGIN_MFA_PENDING))
        return SH_ERR_INVALID_TOKEN;
    return SH_OK;
}
