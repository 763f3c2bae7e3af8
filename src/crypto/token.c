/*
 * token.c - token codec. Access token payload (big-endian):
 *   version(1) key_id(1) class(1) reserved(1) session(16) principal(16)
 *   issued_at(8) expires_at(8)                                   = 52 bytes
 * then MAC(32) = keyed BLAKE2b over prefix and payload, then CRC-32(4).
 * Stream tickets (sh_st_) have the same frame with their own payload.
 */
#include "crypto/token.h"

#include <pthread.h>
#include <string.h>

#include <sodium.h>

#define PREFIX_LEN 6
#define PAYLOAD_LEN 52
#define MAC_LEN 32
#define CRC_LEN 4
#define ACCESS_BIN_LEN (PAYLOAD_LEN + MAC_LEN + CRC_LEN)
#define STREAM_PAYLOAD_LEN 92
#define STREAM_BIN_LEN (STREAM_PAYLOAD_LEN + MAC_LEN + CRC_LEN)
#define OPAQUE_BIN_LEN (SH_TOKEN_SECRET_LEN + CRC_LEN)
#define ACCESS_VERSION 1
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* CRC-32 (IEEE), table-driven: it runs on every authenticated request. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        crc_table[i] = c;
    }
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

static uint32_t checksum(const char *prefix, const uint8_t *bin, size_t n)
{
    return crc32_update(crc32_update(0, (const uint8_t *)prefix, PREFIX_LEN), bin, n);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_i64(uint8_t *p, int64_t v)
{
    put_u32(p, (uint32_t)((uint64_t)v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

static int64_t get_i64(const uint8_t *p)
{
    return (int64_t)((uint64_t)get_u32(p) << 32 | get_u32(p + 4));
}

static void encode(const char *prefix, const uint8_t *bin, size_t n, char out[SH_TOKEN_MAX])
{
    memcpy(out, prefix, PREFIX_LEN);
    sodium_bin2base64(out + PREFIX_LEN, SH_TOKEN_MAX - PREFIX_LEN, bin, n, B64);
}

/* Decodes text into exactly `want` bytes and checks prefix and CRC. */
static int decode(const char *prefix, const char *text, size_t len, uint8_t *bin, size_t want)
{
    size_t n = 0;
    const char *end = NULL;

    if (len <= PREFIX_LEN || len >= SH_TOKEN_MAX || strncmp(text, prefix, PREFIX_LEN) != 0)
        return -1;
    if (sodium_base642bin(bin, want, text + PREFIX_LEN, len - PREFIX_LEN, NULL, &n, &end, B64) !=
            0 ||
        n != want || end != text + len)
        return -1;
    if (get_u32(bin + want - CRC_LEN) != checksum(prefix, bin, want - CRC_LEN))
        return -1;
    return 0;
}

/* Keyed BLAKE2b over the prefix and the payload: the prefix is covered so
 * a MAC made for one kind of token never verifies as another kind. */
static void mac(const sh_keyring *kr, const char *prefix, const uint8_t *payload, size_t len,
                uint8_t out[MAC_LEN])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, sh_keyring_key(kr, SH_KEY_TOKEN_MAC), SH_KEY_LEN, MAC_LEN);
    crypto_generichash_update(&st, (const uint8_t *)prefix, PREFIX_LEN);
    crypto_generichash_update(&st, payload, len);
    crypto_generichash_final(&st, out, MAC_LEN);
}

/* Appends MAC and CRC to bin[0..len) and encodes it. */
static void seal_mac(const sh_keyring *kr, const char *prefix, uint8_t *bin, size_t len,
                     char out[SH_TOKEN_MAX])
{
    mac(kr, prefix, bin, len, bin + len);
    put_u32(bin + len + MAC_LEN, checksum(prefix, bin, len + MAC_LEN));
    encode(prefix, bin, len + MAC_LEN + CRC_LEN, out);
}

/* Decodes and checks version, key id and MAC of a MAC'd token. */
static int open_mac(const sh_keyring *kr, const char *prefix, const char *text, size_t len,
                    uint8_t *bin, size_t payload_len)
{
    uint8_t want[MAC_LEN];

    if (decode(prefix, text, len, bin, payload_len + MAC_LEN + CRC_LEN) != 0)
        return -1;
    if (bin[0] != ACCESS_VERSION || bin[1] != SH_KEY_TOKEN_MAC_VERSION)
        return -1;
    mac(kr, prefix, bin, payload_len, want);
    return crypto_verify_32(want, bin + payload_len);
}

void sh_token_access_encode(const sh_keyring *kr, const sh_access_claims *c, char out[SH_TOKEN_MAX])
{
    uint8_t bin[ACCESS_BIN_LEN] = {0};

    bin[0] = ACCESS_VERSION;
    bin[1] = SH_KEY_TOKEN_MAC_VERSION;
    bin[2] = c->token_class;
    memcpy(bin + 4, c->session.b, SH_ID_LEN);
    memcpy(bin + 20, c->principal.b, SH_ID_LEN);
    put_i64(bin + 36, c->issued_at);
    put_i64(bin + 44, c->expires_at);
    seal_mac(kr, SH_TOKEN_ACCESS, bin, PAYLOAD_LEN, out);
}

sh_status sh_token_access_verify(const sh_keyring *kr, const char *text, size_t len, int64_t now_us,
                                 sh_access_claims *c)
{
    uint8_t bin[ACCESS_BIN_LEN];

    if (open_mac(kr, SH_TOKEN_ACCESS, text, len, bin, PAYLOAD_LEN) != 0)
        return SH_ERR_INVALID_TOKEN;
    c->version = bin[0];
    c->key_id = bin[1];
    c->token_class = bin[2];
    memcpy(c->session.b, bin + 4, SH_ID_LEN);
    memcpy(c->principal.b, bin + 20, SH_ID_LEN);
    c->issued_at = get_i64(bin + 36);
    c->expires_at = get_i64(bin + 44);
    if (c->expires_at <= now_us)
        return SH_ERR_INVALID_TOKEN;
    return SH_OK;
}

/* Stream ticket payload: version(1) key_id(1) class(1) reserved(1)
 * device(16) user(16) session(16) generation(8) session_created(8)
 * expires_at(8) grant(16) = 92 bytes. */
void sh_token_stream_encode(const sh_keyring *kr, const sh_stream_claims *c, char out[SH_TOKEN_MAX])
{
    uint8_t bin[STREAM_BIN_LEN] = {0};

    bin[0] = ACCESS_VERSION;
    bin[1] = SH_KEY_TOKEN_MAC_VERSION;
    bin[2] = c->session_class;
    memcpy(bin + 4, c->device.b, SH_ID_LEN);
    memcpy(bin + 20, c->user.b, SH_ID_LEN);
    memcpy(bin + 36, c->session.b, SH_ID_LEN);
    put_i64(bin + 52, c->generation);
    put_i64(bin + 60, c->session_created);
    put_i64(bin + 68, c->expires_at);
    memcpy(bin + 76, c->grant.b, SH_ID_LEN);
    seal_mac(kr, SH_TOKEN_STREAM, bin, STREAM_PAYLOAD_LEN, out);
}

sh_status sh_token_stream_verify(const sh_keyring *kr, const char *text, size_t len, int64_t now_us,
                                 sh_stream_claims *c)
{
    uint8_t bin[STREAM_BIN_LEN];

    if (open_mac(kr, SH_TOKEN_STREAM, text, len, bin, STREAM_PAYLOAD_LEN) != 0)
        return SH_ERR_INVALID_TOKEN;
    c->session_class = bin[2];
    memcpy(c->device.b, bin + 4, SH_ID_LEN);
    memcpy(c->user.b, bin + 20, SH_ID_LEN);
    memcpy(c->session.b, bin + 36, SH_ID_LEN);
    c->generation = get_i64(bin + 52);
    c->session_created = get_i64(bin + 60);
    c->expires_at = get_i64(bin + 68);
    memcpy(c->grant.b, bin + 76, SH_ID_LEN);
    if (c->expires_at <= now_us)
        return SH_ERR_INVALID_TOKEN;
    return SH_OK;
}

void sh_token_opaque_new(const char *prefix, uint8_t secret[SH_TOKEN_SECRET_LEN],
                         char out[SH_TOKEN_MAX])
{
    uint8_t bin[OPAQUE_BIN_LEN];

    randombytes_buf(bin, SH_TOKEN_SECRET_LEN);
    put_u32(bin + SH_TOKEN_SECRET_LEN, checksum(prefix, bin, SH_TOKEN_SECRET_LEN));
    memcpy(secret, bin, SH_TOKEN_SECRET_LEN);
    encode(prefix, bin, sizeof(bin), out);
    sodium_memzero(bin, sizeof(bin));
}

sh_status sh_token_opaque_parse(const char *prefix, const char *text, size_t len,
                                uint8_t secret[SH_TOKEN_SECRET_LEN])
{
    uint8_t bin[OPAQUE_BIN_LEN];
    sh_status rc = SH_ERR_INVALID_TOKEN;

    if (decode(prefix, text, len, bin, sizeof(bin)) == 0) {
        memcpy(secret, bin, SH_TOKEN_SECRET_LEN);
        rc = SH_OK;
    }
    sodium_memzero(bin, sizeof(bin));
    return rc;
}

void sh_token_mac_seal(const sh_keyring *kr, const char *prefix, uint8_t *payload, size_t len,
                       char out[SH_TOKEN_MAX])
{
    uint8_t bin[SH_TOKEN_MAC_PAYLOAD_MAX + MAC_LEN + CRC_LEN] = {0};

    if (len > SH_TOKEN_MAC_PAYLOAD_MAX || len < 2) {
        out[0] = '\0';
        return;
    }
    payload[0] = ACCESS_VERSION;
    payload[1] = SH_KEY_TOKEN_MAC_VERSION;
    memcpy(bin, payload, len);
    seal_mac(kr, prefix, bin, len, out);
}

sh_status sh_token_mac_open(const sh_keyring *kr, const char *prefix, const char *text, size_t len,
                            uint8_t *payload, size_t payload_len)
{
    uint8_t bin[SH_TOKEN_MAC_PAYLOAD_MAX + MAC_LEN + CRC_LEN];

    if (payload_len > SH_TOKEN_MAC_PAYLOAD_MAX || payload_len < 2 ||
        open_mac(kr, prefix, text, len, bin, payload_len) != 0)
        return SH_ERR_INVALID_TOKEN;
    memcpy(payload, bin, payload_len);
    return SH_OK;
}
