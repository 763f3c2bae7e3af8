/*
 * token.h - the text form of every token safehouse hands out.
 *
 * All tokens are `sh_<kind>_<base64url>`; the last 4 decoded bytes are a
 * CRC-32 of the prefix and the rest, so secret scanners (and we) can tell a
 * well-formed token from a typo without any key.
 *
 * Two families:
 * - self-contained access tokens (sh_at_): a payload and its keyed
 *   BLAKE2b MAC. Verifying one needs the MAC key and nothing else: no
 *   database round trip. Revocation is checked separately against the
 *   in-memory rule index.
 * - opaque tokens (sh_rt_, sh_ad_, ...): 256 random bits; the server keeps
 *   only their keyed hash.
 */
#ifndef SH_TOKEN_H
#define SH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"
#include "crypto/keyring.h"

#define SH_TOKEN_SECRET_LEN 32
#define SH_TOKEN_MAX 200 /* longest text form, with NUL */

/* Prefixes. */
#define SH_TOKEN_ACCESS "sh_at_"
#define SH_TOKEN_REFRESH "sh_rt_"
#define SH_TOKEN_ADMIN "sh_ad_"
#define SH_TOKEN_SCRAPE "sh_sc_"       /* Prometheus scrape credential: /metrics only */
#define SH_TOKEN_MFA "sh_mt_"          /* second-factor challenge, minutes */
#define SH_TOKEN_RESET "sh_pr_"        /* password reset, 30 minutes */
#define SH_TOKEN_EMAIL_VERIFY "sh_ev_" /* e-mail verification */
#define SH_TOKEN_DEVICE "sh_dt_"
#define SH_TOKEN_STREAM "sh_st_"
#define SH_TOKEN_RELAY "sh_rl_"
#define SH_TOKEN_OAUTH_ACCESS "sh_oa_"  /* OAuth partner access token, MAC'd */
#define SH_TOKEN_OAUTH_REFRESH "sh_or_" /* OAuth partner refresh token, opaque */
#define SH_TOKEN_CLIENT_SECRET "sh_cs_" /* OAuth client secret, opaque */
#define SH_TOKEN_OAUTH_CODE "sh_ac_"    /* OAuth authorization code, opaque */
#define SH_TOKEN_OAUTH_LOGIN "sh_ol_"   /* browser login on the authorize pages, MAC'd */
#define SH_TOKEN_MAC_PAYLOAD_MAX 100

/* What an access token asserts; all times in microseconds. */
typedef struct sh_access_claims {
    uint8_t version;
    uint8_t key_id;
    uint8_t token_class; /* enum sh_class */
    sh_id session;
    sh_id principal;
    int64_t issued_at; /* when the session (token family) was created */
    int64_t expires_at;
} sh_access_claims;

/* Encodes and MACs claims into text (NUL-terminated, < SH_TOKEN_MAX). */
void sh_token_access_encode(const sh_keyring *kr, const sh_access_claims *c,
                            char out[SH_TOKEN_MAX]);
/* Parses and verifies an access token of `len` bytes (not NUL-terminated
 * necessarily). Checks format, checksum, key id, MAC and expiry against
 * now_us. Returns SH_OK or SH_ERR_INVALID_TOKEN with no hint why. */
__attribute__((warn_unused_result)) sh_status sh_token_access_verify(const sh_keyring *kr,
                                                                     const char *text, size_t len,
                                                                     int64_t now_us,
                                                                     sh_access_claims *c);

/* What a camera stream ticket asserts: this user, through this session,
 * may watch this device in this generation until expires_at. */
typedef struct sh_stream_claims {
    uint8_t session_class;
    sh_id device;
    sh_id user;
    sh_id session;
    sh_id grant; /* the share it came through; zero for the owner */
    int64_t generation;
    int64_t session_created; /* for revocation rules */
    int64_t expires_at;
} sh_stream_claims;

void sh_token_stream_encode(const sh_keyring *kr, const sh_stream_claims *c,
                            char out[SH_TOKEN_MAX]);
/* Checks format, checksum, MAC and expiry only; the caller checks the
 * device generation, the user's access and the revocation rules. */
__attribute__((warn_unused_result)) sh_status sh_token_stream_verify(const sh_keyring *kr,
                                                                     const char *text, size_t len,
                                                                     int64_t now_us,
                                                                     sh_stream_claims *c);

/* Generic MAC'd frame for other self-contained tokens: bytes 0 and 1 of
 * payload are overwritten with the frame version and the MAC key id; the
 * rest is the caller's layout (len <= SH_TOKEN_MAC_PAYLOAD_MAX). */
void sh_token_mac_seal(const sh_keyring *kr, const char *prefix, uint8_t *payload, size_t len,
                       char out[SH_TOKEN_MAX]);
/* Checks prefix, length, checksum, version, key id and MAC of text and
 * copies the payload (payload_len bytes) out. SH_ERR_INVALID_TOKEN with no
 * hint why. The caller checks expiry. */
__attribute__((warn_unused_result)) sh_status
sh_token_mac_open(const sh_keyring *kr, const char *prefix, const char *text, size_t len,
                  uint8_t *payload, size_t payload_len);

/* Makes a random opaque token with `prefix`; secret receives its 32 bytes. */
void sh_token_opaque_new(const char *prefix, uint8_t secret[SH_TOKEN_SECRET_LEN],
                         char out[SH_TOKEN_MAX]);
/* Parses an opaque token with `prefix` (format and checksum only). */
__attribute__((warn_unused_result)) sh_status
sh_token_opaque_parse(const char *prefix, const char *text, size_t len,
                      uint8_t secret[SH_TOKEN_SECRET_LEN]);

#endif
