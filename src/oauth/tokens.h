/*
 * tokens.h - the self-contained tokens of account linking.
 *
 * Partner access token (sh_oa_): MAC'd like sh_at_, verified from memory.
 * Payload (76 bytes, big-endian):
 *   version(1) key_id(1) scopes(1) reserved(1) grant(16) user(16)
 *   client(16) grant_created(8) minted_at(8) expires_at(8)
 * grant_created is what revocation rules compare with, so a rule ends the
 * whole grant; minted_at is the token's own iat.
 *
 * Browser login ticket (sh_ol_, a cookie on the authorize pages, 52 bytes):
 *   version(1) key_id(1) stage(1) reserved(1) user(16) nonce(16)
 *   login_at(8) expires_at(8)
 * stage 1: logged in; stage 2: password checked, second factor pending.
 */
#ifndef SH_OAUTH_TOKENS_H
#define SH_OAUTH_TOKENS_H

#include "crypto/token.h"
#include "oauth/oauth.h"

typedef struct sh_partner_claims {
    unsigned scopes;
    sh_id grant;
    sh_id user;
    sh_id client;
    int64_t grant_created;
    int64_t minted_at;
    int64_t expires_at;
} sh_partner_claims;

enum sh_login_stage { SH_LOGIN_DONE = 1, SH_LOGIN_MFA_PENDING = 2 };

typedef struct sh_login_ticket {
    int stage;
    sh_id user;
    sh_id nonce;
    int64_t login_at;
    int64_t expires_at;
} sh_login_ticket;

void sh_partner_token_encode(const sh_keyring *kr, const sh_partner_claims *c,
                             char out[SH_TOKEN_MAX]);
/* Format, MAC and expiry (against now_us); no revocation check. */
__attribute__((warn_unused_result)) sh_status sh_partner_token_verify(const sh_keyring *kr,
                                                                      const char *text, size_t len,
                                                                      int64_t now_us,
                                                                      sh_partner_claims *c);

void sh_login_ticket_encode(const sh_keyring *kr, const sh_login_ticket *t, char out[SH_TOKEN_MAX]);
__attribute__((warn_unused_result)) sh_status sh_login_ticket_verify(const sh_keyring *kr,
                                                                     const char *text, size_t len,
                                                                     int64_t now_us,
                                                                     sh_login_ticket *t);

#endif
