/* streams.c - stream tickets and relay credentials. */
#include "devices/streams.h"

#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "crypto/hash.h"
#include "store/store_oauth.h"

#define RELAY_DOMAIN "relay"

/* The share a non-owner's access comes through: a ticket names it, so that
 * deleting the share ends the ticket even if the device is shared again. */
static sh_status grant_of(const sh_auth *a, const sh_id *device, const sh_id *user, sh_id *grant)
{
    sh_share_rec s;
    sh_status rc = sh_store_do(a->store, devices, share_of, device, user, &s);

    if (rc == SH_OK)
        *grant = s.id;
    return rc;
}

/* The user's own role, uncapped: a partner's role is capped by its scopes,
 * but which share (if any) the access comes through is the user's. */
static sh_status user_role(const sh_auth *a, const sh_principal *p, const sh_id *device, int capped,
                           int *role)
{
    int64_t generation = 0;

    if (p->kind != SH_PRINCIPAL_PARTNER) {
        *role = capped;
        return SH_OK;
    }
    return sh_store_do(a->store, devices, role_of, device, &p->user, role, &generation);
}

sh_status sh_stream_ticket(const sh_auth *a, const sh_principal *user, const sh_id *device,
                           char ticket[SH_TOKEN_MAX], int64_t *expires_in_s)
{
    sh_stream_claims c;
    sh_device_rec d;
    int role = 0;
    int64_t generation = 0;
    sh_status rc = sh_device_role(a, user, device, &role, &generation);

    if (rc != SH_OK)
        return rc;
    if ((rc = sh_store_do(a->store, devices, get, device, &d)) != SH_OK)
        return rc;
    if (d.type != SH_DEVICE_CAMERA)
        rc = SH_ERR_INVALID_REQUEST;
    else if (d.generation != generation)
        rc = SH_ERR_NOT_FOUND;
    sh_device_rec_clear(&d);
    if (rc != SH_OK)
        return rc;
    memset(&c, 0, sizeof(c));
    if ((rc = user_role(a, user, device, role, &role)) != SH_OK)
        return rc;
    if (role != SH_ROLE_OWNER && (rc = grant_of(a, device, &user->user, &c.grant)) != SH_OK)
        return rc;
    c.session_class =
        user->kind == SH_PRINCIPAL_PARTNER ? SH_STREAM_CLASS_PARTNER : (uint8_t)user->token_class;
    c.device = *device;
    c.user = user->user;
    c.session = user->session;
    c.generation = generation;
    c.session_created = user->issued_at;
    c.expires_at = sh_clock_now_us() + SH_STREAM_TTL_S * SH_USEC;
    sh_token_stream_encode(a->kr, &c, ticket);
    *expires_in_s = SH_STREAM_TTL_S;
    return SH_OK;
}

sh_status sh_stream_verify(const sh_auth *a, const char *ticket, size_t len, sh_stream_status *out)
{
    sh_stream_claims c;
    sh_principal p;
    sh_id grant;
    int role = 0;
    int64_t generation = 0;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if (sh_token_stream_verify(a->kr, ticket, len, sh_clock_now_us(), &c) != SH_OK)
        return SH_OK;
    memset(&p, 0, sizeof(p));
    p.user = c.user;
    if (c.session_class == SH_STREAM_CLASS_PARTNER) {
        /* a partner's ticket: its grant must still be alive and still name
         * the device in this generation (checked by sh_device_role) */
        sh_oauth_grant_rec g;
        rc = sh_store_do(a->store, oauth, grant_get, &c.session, &g);
        if (rc == SH_ERR_NOT_FOUND)
            return SH_OK;
        if (rc != SH_OK)
            return rc;
        if (g.revoked_at != 0 || !sh_id_equal(&g.user, &c.user) ||
            !sh_revocation_allows_partner(a->rev, &g.client, &g.user, &g.id, g.created_at))
            return SH_OK;
        p.kind = SH_PRINCIPAL_PARTNER;
        p.session = g.id;
        p.scopes = g.scopes;
    } else if (!sh_revocation_allows(a->rev, c.session_class, &c.user, &c.session,
                                     c.session_created)) {
        return SH_OK;
    }
    rc = sh_device_role(a, &p, &c.device, &role, &generation);
    if (rc == SH_OK && generation == c.generation)
        rc = user_role(a, &p, &c.device, role, &role);
    if (rc == SH_ERR_NOT_FOUND || (rc == SH_OK && generation != c.generation))
        return SH_OK;
    if (rc != SH_OK)
        return rc;
    if (sh_id_is_zero(&c.grant)
            ? role != SH_ROLE_OWNER
            : (grant_of(a, &c.device, &c.user, &grant) != SH_OK || !sh_id_equal(&grant, &c.grant)))
        return SH_OK;
    out->active = 1;
    out->device = c.device;
    out->user = c.user;
    out->expires_at = c.expires_at;
    return SH_OK;
}

sh_status sh_relay_create(const sh_auth *a, sh_id *id, char token[SH_TOKEN_MAX])
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];

    sh_id_random(id);
    sh_token_opaque_new(SH_TOKEN_RELAY, secret, token);
    sh_hash_secret(a->kr, RELAY_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    return sh_store_do(a->store, devices, relay_insert, id, hash, sh_clock_now_us());
}

sh_status sh_relay_authenticate(const sh_auth *a, const char *token, size_t len, sh_principal *out)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];
    sh_status rc;

    if (sh_token_opaque_parse(SH_TOKEN_RELAY, token, len, secret) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(a->kr, RELAY_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    memset(out, 0, sizeof(*out));
    out->kind = SH_PRINCIPAL_RELAY;
    rc = sh_store_do(a->store, devices, relay_find, hash, &out->device);
    return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
}
