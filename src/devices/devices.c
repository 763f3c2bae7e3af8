/*
 * devices.c - the registry. Every sealed device field is sealed under the
 * owner's data key with the column named "<field>@<generation>" in the
 * additional data, so a ciphertext from an earlier generation (an earlier
 * owner) can never be opened as the current one's.
 */
#include "devices/devices.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/user_key.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/seal.h"
#include "devices/heartbeats.h"
#include "oauth/scopes.h"
#include "store/store_oauth.h"

#define DEVICE_TOKEN_DOMAIN "device"
#define CLAIM_DOMAIN "claim"
#define COLUMN_MAX 48

static const char *const type_names[SH_DEVICE__COUNT] = {
    [SH_DEVICE_CAMERA] = "camera", [SH_DEVICE_PLUG] = "plug",   [SH_DEVICE_BULB] = "bulb",
    [SH_DEVICE_SENSOR] = "sensor", [SH_DEVICE_SCALE] = "scale",
};

int sh_device_type_from_name(const char *name)
{
    for (int t = 1; name != NULL && t < SH_DEVICE__COUNT; t++) {
        if (strcmp(name, type_names[t]) == 0)
            return t;
    }
    return 0;
}

const char *sh_device_type_name(int type)
{
    return (type > 0 && type < SH_DEVICE__COUNT) ? type_names[type] : "unknown";
}

int sh_device_role_from_name(const char *name)
{
    if (name != NULL && strcmp(name, "controller") == 0)
        return SH_ROLE_CONTROLLER;
    if (name != NULL && strcmp(name, "viewer") == 0)
        return SH_ROLE_VIEWER;
    return SH_ROLE_NONE;
}

const char *sh_device_role_name(int role)
{
    switch (role) {
    case SH_ROLE_OWNER:
        return "owner";
    case SH_ROLE_CONTROLLER:
        return "controller";
    case SH_ROLE_VIEWER:
        return "viewer";
    default:
        return "none";
    }
}

void sh_device_view_clear(sh_device_view *v)
{
    free(v->name);
    json_decref(v->desired_state);
    json_decref(v->network);
    memset(v, 0, sizeof(*v));
}

void sh_device_list_clear(sh_device_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        sh_device_view_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---- keys and sealing ----------------------------------------------------- */

static void column(char out[COLUMN_MAX], const char *field, int64_t generation)
{
    snprintf(out, COLUMN_MAX, "%s@%lld", field, (long long)generation);
}

static sh_status owner_key(const sh_auth *a, const sh_id *owner, sh_datakey *key)
{
    sh_user_rec u;
    sh_status rc = sh_store_do(a->store, core, user_get, owner, &u);

    if (rc != SH_OK)
        return rc;
    rc = sh_user_key_open(a, &u, key);
    sh_user_rec_clear(&u);
    return rc;
}

static sh_status seal_field(const sh_datakey *key, const sh_id *device, const char *field,
                            int64_t generation, const char *plain, uint8_t **ct, size_t *len)
{
    char col[COLUMN_MAX];

    column(col, field, generation);
    return sh_seal(key, "devices", col, device, plain, strlen(plain), ct, len);
}

static sh_status open_field(const sh_datakey *key, const sh_device_rec *d, const char *field,
                            const uint8_t *ct, size_t len, char **out)
{
    char col[COLUMN_MAX];

    column(col, field, d->generation);
    return sh_open(key, "devices", col, &d->id, ct, len, out, NULL);
}

static void unreadable(const sh_device_rec *d)
{
    sh_id_hex hex;

    sh_id_to_hex(&d->id, &hex);
    sh_log_event(SH_LOG_ERROR, "device_field_unreadable", "device_id", hex.s);
}

/* Fills a view from a record; the network only for the owner. */
static sh_status make_view(const sh_device_rec *d, int role, const sh_datakey *key,
                           sh_device_view *v)
{
    char *net = NULL;
    sh_status rc = SH_OK;

    memset(v, 0, sizeof(*v));
    v->id = d->id;
    v->type = d->type;
    memcpy(v->model, d->model, sizeof(v->model));
    memcpy(v->firmware, d->firmware, sizeof(v->firmware));
    v->last_seen_at = d->last_seen_at;
    v->online =
        d->last_seen_at != 0 && sh_clock_now_us() - d->last_seen_at < SH_DEVICE_ONLINE_S * SH_USEC;
    v->role = role;
    v->desired_state = json_loads(d->desired_state, 0, NULL);
    if (v->desired_state == NULL)
        v->desired_state = json_object();
    /* A field that fails to open (a tampered or moved ciphertext) shows as
     * absent: one bad row must not hide every other device of the list. */
    if (key != NULL && d->name_ct != NULL &&
        open_field(key, d, "name", d->name_ct, d->name_ct_len, &v->name) != SH_OK)
        unreadable(d);
    if (key != NULL && role == SH_ROLE_OWNER) {
        v->has_network = 1;
        if (d->network_ct != NULL &&
            open_field(key, d, "network", d->network_ct, d->network_ct_len, &net) != SH_OK)
            unreadable(d);
        else if (net != NULL)
            v->network = json_loads(net, 0, NULL);
        free(net);
    }
    return rc;
}

/* ---- factory and device side ------------------------------------------------ */

static void hash_claim(const sh_auth *a, const char *canonical, uint8_t out[SH_HASH_LEN])
{
    sh_hash_secret(a->kr, CLAIM_DOMAIN, canonical, SH_CLAIM_CHARS, out);
}

/* Makes a device token and a claim code, with their hashes. */
static void new_device_token(const sh_auth *a, sh_device_secrets *out,
                             uint8_t token_hash[SH_HASH_LEN])
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];

    sh_token_opaque_new(SH_TOKEN_DEVICE, secret, out->device_token);
    sh_hash_secret(a->kr, DEVICE_TOKEN_DOMAIN, secret, sizeof(secret), token_hash);
    sodium_memzero(secret, sizeof(secret));
}

static void new_secrets(const sh_auth *a, sh_device_secrets *out, uint8_t token_hash[SH_HASH_LEN],
                        uint8_t claim_hash[SH_HASH_LEN])
{
    char canonical[SH_CLAIM_CHARS + 1];

    new_device_token(a, out, token_hash);
    sh_claim_code_new(out->claim_code);
    if (sh_claim_code_canonical(out->claim_code, strlen(out->claim_code), canonical) == SH_OK)
        hash_claim(a, canonical, claim_hash);
    sodium_memzero(canonical, sizeof(canonical));
}

sh_status sh_device_provision(const sh_auth *a, int type, const char *model, sh_device_secrets *out)
{
    uint8_t token_hash[SH_HASH_LEN], claim_hash[SH_HASH_LEN];
    sh_device_rec d;
    sh_status rc;

    if (type <= 0 || type >= SH_DEVICE__COUNT || model == NULL || model[0] == '\0' ||
        strlen(model) > SH_STORE_MODEL_MAX)
        return SH_ERR_INVALID_REQUEST;
    memset(&d, 0, sizeof(d));
    sh_id_random(&d.id);
    d.type = type;
    memcpy(d.model, model, strlen(model) + 1);
    d.generation = 1;
    d.created_at = sh_clock_now_us();
    d.claim_expires_at = d.created_at + SH_DEVICE_CLAIM_TTL_S * SH_USEC;
    new_secrets(a, out, token_hash, claim_hash);
    out->device_id = d.id;
    rc = sh_store_do(a->store, devices, insert, &d, token_hash, claim_hash);
    if (rc != SH_OK)
        sodium_memzero(out, sizeof(*out));
    return rc;
}

sh_status sh_device_create_owned(const sh_auth *a, const sh_user_rec *owner, int type,
                                 const char *model, const char *name, sh_id *out)
{
    uint8_t token_hash[SH_HASH_LEN];
    sh_device_secrets sec;
    sh_device_rec d;
    sh_datakey key;
    sh_status rc;

    memset(&d, 0, sizeof(d));
    sh_id_random(&d.id);
    d.type = type;
    snprintf(d.model, sizeof(d.model), "%s", model);
    d.generation = 1;
    d.created_at = sh_clock_now_us();
    d.has_owner = 1;
    d.owner = owner->id;
    if ((rc = sh_user_key_open(a, owner, &key)) != SH_OK)
        return rc;
    rc = seal_field(&key, &d.id, "name", d.generation, name, &d.name_ct, &d.name_ct_len);
    sh_datakey_wipe(&key);
    new_device_token(a, &sec, token_hash); /* owned already: no claim code */
    sodium_memzero(&sec, sizeof(sec));
    if (rc == SH_OK)
        rc = sh_store_do(a->store, devices, insert, &d, token_hash, NULL);
    if (rc == SH_OK)
        *out = d.id;
    sh_device_rec_clear(&d);
    return rc;
}

sh_status sh_device_authenticate(const sh_auth *a, const char *token, size_t len, sh_principal *out)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];
    sh_device_rec d;
    sh_status rc;

    if (sh_token_opaque_parse(SH_TOKEN_DEVICE, token, len, secret) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(a->kr, DEVICE_TOKEN_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    rc = sh_store_do(a->store, devices, get_by_token, hash, &d);
    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    memset(out, 0, sizeof(*out));
    out->kind = SH_PRINCIPAL_DEVICE;
    out->device = d.id;
    out->generation = d.generation;
    sh_device_rec_clear(&d);
    return SH_OK;
}

static sh_status network_json(const char *ssid, const char *subnet, const char *ip, char **out)
{
    json_t *j =
        json_pack("{s:s?, s:s?, s:s?}", "wifi_ssid", ssid, "subnet", subnet, "local_ip", ip);

    *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return *out ? SH_OK : SH_ERR_NOMEM;
}

static int printable_ascii(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);

    if (n < min || n > max)
        return 0;
    for (; *s; s++) {
        if (*s < 0x21 || *s > 0x7e)
            return 0;
    }
    return 1;
}

static int ip_ok(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int subnet_ok(const char *s)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    char *end;
    long bits;
    size_t n;

    if (slash == NULL || (n = (size_t)(slash - s)) == 0 || n > INET6_ADDRSTRLEN)
        return 0;
    memcpy(addr, s, n);
    addr[n] = '\0';
    bits = strtol(slash + 1, &end, 10);
    if (*end != '\0' || slash[1] == '\0' || bits < 0)
        return 0;
    return ip_ok(addr) && bits <= (strchr(addr, ':') ? 128 : 32);
}

sh_status sh_device_heartbeat_check(const char *firmware, const char *ssid, const char *subnet,
                                    const char *local_ip, char *detail, size_t cap)
{
    const char *bad = NULL;

    if (!printable_ascii(firmware, 1, SH_STORE_FIRMWARE_MAX))
        bad = "field 'firmware_version' must be 1 to 64 printable ASCII characters";
    else if (ssid != NULL && (strlen(ssid) > 32 || !sh_display_name_valid(ssid)))
        bad = "field 'wifi_ssid' must be 1 to 32 bytes without control characters";
    else if (subnet != NULL && !subnet_ok(subnet))
        bad = "field 'subnet' must be an address with a prefix length, e.g. 192.168.1.0/24";
    else if (local_ip != NULL && !ip_ok(local_ip))
        bad = "field 'local_ip' must be an IPv4 or IPv6 address";
    if (bad == NULL)
        return SH_OK;
    snprintf(detail, cap, "%s", bad);
    return SH_ERR_INVALID_REQUEST;
}

sh_status sh_device_heartbeat(const sh_auth *a, const sh_principal *dev, const char *firmware,
                              const char *ssid, const char *subnet, const char *local_ip,
                              json_t **desired)
{
    sh_device_rec d;
    sh_datakey key;
    uint8_t *ct = NULL;
    size_t ct_len = 0;
    char *net = NULL;
    sh_status rc = sh_store_do(a->store, devices, get, &dev->device, &d);

    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    /* Network details are kept only for an owner, sealed under their key:
     * an unowned device's network is nobody's business. */
    if (d.has_owner && (ssid || subnet || local_ip)) {
        if ((rc = owner_key(a, &d.owner, &key)) != SH_OK)
            goto out;
        rc = network_json(ssid, subnet, local_ip, &net);
        if (rc == SH_OK)
            rc = seal_field(&key, &d.id, "network", d.generation, net, &ct, &ct_len);
        sh_datakey_wipe(&key);
        if (rc != SH_OK)
            goto out;
    }
    if (a->heartbeats != NULL)
        rc = sh_heartbeats_record(a->heartbeats, &d.id, d.generation, sh_clock_now_us(), firmware,
                                  ct, ct_len);
    else
        rc = sh_store_do(a->store, devices, heartbeat, &d.id, d.generation, sh_clock_now_us(),
                         firmware, ct, ct_len);
    if (rc == SH_OK) {
        *desired = json_loads(d.desired_state, 0, NULL);
        if (*desired == NULL)
            *desired = json_object();
    }
out:
    if (net != NULL)
        sodium_memzero(net, strlen(net));
    free(net);
    free(ct);
    sh_device_rec_clear(&d);
    return rc;
}

/* Moves a device to its next generation, optionally with new secrets. */
static sh_status next_generation(const sh_auth *a, const sh_id *id, int64_t generation,
                                 sh_device_secrets *secrets)
{
    uint8_t token_hash[SH_HASH_LEN], claim_hash[SH_HASH_LEN];
    int64_t now = sh_clock_now_us();
    sh_id_hex hex;
    sh_status rc;

    if (secrets != NULL) {
        new_secrets(a, secrets, token_hash, claim_hash);
        secrets->device_id = *id;
    }
    rc = sh_store_do(a->store, devices, release, id, generation, now, secrets ? token_hash : NULL,
                     secrets ? claim_hash : NULL, now + SH_DEVICE_CLAIM_TTL_S * SH_USEC);
    sh_id_to_hex(id, &hex);
    if (rc == SH_OK)
        sh_log_event(SH_LOG_INFO, "device_generation_changed", "device_id", hex.s);
    else if (secrets != NULL)
        sodium_memzero(secrets, sizeof(*secrets));
    return rc;
}

sh_status sh_device_reset(const sh_auth *a, const sh_principal *dev, sh_device_secrets *out)
{
    sh_status rc = next_generation(a, &dev->device, dev->generation, out);

    /* A concurrent reset or release won the race: the token used here is
     * no longer valid either way. */
    return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
}

/* ---- user side ----------------------------------------------------------------- */

/* A partner never holds more than its scopes allow, and never more than
 * the user it acts for: devices:control makes it at most a controller,
 * otherwise at most a viewer; owner-only actions are never open to it. */
static int partner_role(int user_role, unsigned scopes)
{
    int cap = (scopes & SH_SCOPE_DEVICES_CONTROL) ? SH_ROLE_CONTROLLER : SH_ROLE_VIEWER;

    return user_role > cap ? user_role : cap;
}

sh_status sh_device_role(const sh_auth *a, const sh_principal *user, const sh_id *id, int *role,
                         int64_t *generation)
{
    sh_status rc;

    if (user->kind != SH_PRINCIPAL_PARTNER)
        return sh_store_do(a->store, devices, role_of, id, &user->user, role, generation);
    /* only devices of the grant, in the generation it names */
    rc = sh_store_do(a->store, oauth, granted_role, &user->session, id, &user->user, role,
                     generation);
    if (rc == SH_OK)
        *role = partner_role(*role, user->scopes);
    return rc;
}

sh_status sh_device_claim(const sh_auth *a, const sh_principal *user, const char *code,
                          size_t code_len, const char *name, sh_device_view *out, int *retry)
{
    char canonical[SH_CLAIM_CHARS + 1];
    uint8_t claim_hash[SH_HASH_LEN];
    uint8_t *ct = NULL;
    size_t ct_len = 0;
    sh_device_rec d;
    sh_datakey key;
    sh_status rc;

    if (!sh_display_name_valid(name))
        return SH_ERR_INVALID_REQUEST;
    /* Failed claims cost the account (the address is charged per request
     * by the route's limit column): guessing codes stays hopeless. */
    rc = sh_limits_account_check(a->limits, SH_LIMIT_CLAIM, user->user.b, SH_ID_LEN, retry);
    if (rc != SH_OK)
        return rc == SH_ERR_STORE ? rc : SH_ERR_RATE_LIMITED;
    if (sh_claim_code_canonical(code, code_len, canonical) != SH_OK) {
        sh_limits_account_charge(a->limits, SH_LIMIT_CLAIM, user->user.b, SH_ID_LEN);
        return SH_ERR_NOT_FOUND; /* not a code: cannot match any device */
    }
    hash_claim(a, canonical, claim_hash);
    sodium_memzero(canonical, sizeof(canonical));
    if ((rc = owner_key(a, &user->user, &key)) != SH_OK)
        return rc;
    rc = sh_store_do(a->store, devices, claim, claim_hash, sh_clock_now_us(), &user->user, &d);
    if (rc == SH_ERR_NOT_FOUND)
        sh_limits_account_charge(a->limits, SH_LIMIT_CLAIM, user->user.b, SH_ID_LEN);
    if (rc != SH_OK)
        goto out;
    rc = seal_field(&key, &d.id, "name", d.generation, name, &ct, &ct_len);
    if (rc == SH_OK)
        rc = sh_store_do(a->store, devices, set_name, &d.id, d.generation, ct, ct_len);
    if (rc == SH_OK) {
        free(d.name_ct);
        d.name_ct = ct;
        d.name_ct_len = ct_len;
        ct = NULL;
        rc = make_view(&d, SH_ROLE_OWNER, &key, out);
    }
    sh_device_rec_clear(&d);
out:
    free(ct);
    sh_datakey_wipe(&key);
    return rc;
}

struct list_ctx {
    const sh_auth *a;
    sh_device_list *out;
    sh_id key_owner; /* one-entry key cache: most devices share an owner */
    sh_datakey key;
    int have_key;
    int partner; /* roles capped by scopes */
    unsigned scopes;
    sh_status rc;
};

static void list_one(void *arg, const sh_device_rec *d, int role)
{
    struct list_ctx *ctx = arg;
    sh_device_list *l = ctx->out;

    if (ctx->partner)
        role = partner_role(role, ctx->scopes);

    if (ctx->rc != SH_OK || !d->has_owner)
        return;
    if (!ctx->have_key || !sh_id_equal(&ctx->key_owner, &d->owner)) {
        sh_datakey_wipe(&ctx->key);
        ctx->have_key = 0;
        if ((ctx->rc = owner_key(ctx->a, &d->owner, &ctx->key)) != SH_OK)
            return;
        ctx->key_owner = d->owner;
        ctx->have_key = 1;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        sh_device_view *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            ctx->rc = SH_ERR_NOMEM;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    ctx->rc = make_view(d, role, &ctx->key, &l->items[l->count]);
    if (ctx->rc == SH_OK) {
        /* the list never carries network details, not even for the owner */
        l->items[l->count].has_network = 0;
        json_decref(l->items[l->count].network);
        l->items[l->count].network = NULL;
        l->count++;
    }
}

sh_status sh_device_list_for(const sh_auth *a, const sh_principal *user, sh_device_list *out)
{
    struct list_ctx ctx;
    sh_status rc;

    memset(&ctx, 0, sizeof(ctx));
    memset(out, 0, sizeof(*out));
    ctx.a = a;
    ctx.out = out;
    if (user->kind == SH_PRINCIPAL_PARTNER) {
        ctx.partner = 1;
        ctx.scopes = user->scopes;
        rc =
            sh_store_do(a->store, oauth, granted_list, &user->session, &user->user, list_one, &ctx);
    } else {
        rc = sh_store_do(a->store, devices, list_for_user, &user->user, list_one, &ctx);
    }
    if (rc == SH_OK)
        rc = ctx.rc;
    sh_datakey_wipe(&ctx.key);
    if (rc != SH_OK)
        sh_device_list_clear(out);
    return rc;
}

/* Loads a device the caller has a role on, with the owner's key. */
static sh_status load_for(const sh_auth *a, const sh_principal *user, const sh_id *id, int min_role,
                          sh_device_rec *d, int *role, sh_datakey *key)
{
    int64_t generation = 0;
    sh_status rc = sh_device_role(a, user, id, role, &generation);

    if (rc != SH_OK)
        return rc;
    if (*role > min_role)
        return SH_ERR_FORBIDDEN;
    if ((rc = sh_store_do(a->store, devices, get, id, d)) != SH_OK)
        return rc;
    if (d->generation != generation || !d->has_owner) {
        sh_device_rec_clear(d);
        return SH_ERR_NOT_FOUND; /* changed hands in between */
    }
    if (key != NULL && (rc = owner_key(a, &d->owner, key)) != SH_OK)
        sh_device_rec_clear(d);
    return rc;
}

sh_status sh_device_get(const sh_auth *a, const sh_principal *user, const sh_id *id,
                        sh_device_view *out)
{
    sh_device_rec d;
    sh_datakey key;
    int role = 0;
    sh_status rc = load_for(a, user, id, SH_ROLE_VIEWER, &d, &role, &key);

    if (rc != SH_OK)
        return rc;
    rc = make_view(&d, role, &key, out);
    sh_datakey_wipe(&key);
    sh_device_rec_clear(&d);
    return rc;
}

sh_status sh_device_rename(const sh_auth *a, const sh_principal *user, const sh_id *id,
                           const char *name)
{
    sh_device_rec d;
    sh_datakey key;
    uint8_t *ct = NULL;
    size_t len = 0;
    int role = 0;
    sh_status rc;

    if (!sh_display_name_valid(name))
        return SH_ERR_INVALID_REQUEST;
    if ((rc = load_for(a, user, id, SH_ROLE_OWNER, &d, &role, &key)) != SH_OK)
        return rc;
    rc = seal_field(&key, &d.id, "name", d.generation, name, &ct, &len);
    if (rc == SH_OK)
        rc = sh_store_do(a->store, devices, set_name, &d.id, d.generation, ct, len);
    free(ct);
    sh_datakey_wipe(&key);
    sh_device_rec_clear(&d);
    return rc;
}

/* Checks one desired-state key; returns 0 if acceptable. */
static int state_value_ok(const char *k, json_t *v, char *detail, size_t cap)
{
    if (strcmp(k, "power") == 0) {
        const char *s = json_string_value(v);
        if (s != NULL && (strcmp(s, "on") == 0 || strcmp(s, "off") == 0))
            return 0;
        snprintf(detail, cap, "field 'power' must be \"on\" or \"off\"");
        return -1;
    }
    if (strcmp(k, "brightness") == 0) {
        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 100)
            return 0;
        snprintf(detail, cap, "field 'brightness' must be an integer from 0 to 100");
        return -1;
    }
    snprintf(detail, cap, "unknown state field (known: power, brightness)");
    return -1;
}

sh_status sh_device_set_state(const sh_auth *a, const sh_principal *user, const sh_id *id,
                              json_t *state, json_t **result, char *detail, size_t cap)
{
    sh_device_rec d;
    json_t *merged = NULL, *v;
    const char *k;
    char *text = NULL;
    int role = 0;
    sh_status rc;

    if (json_object_size(state) == 0) {
        snprintf(detail, cap, "give at least one state field (power, brightness)");
        return SH_ERR_INVALID_REQUEST;
    }
    json_object_foreach(state, k, v)
    {
        if (state_value_ok(k, v, detail, cap) != 0)
            return SH_ERR_INVALID_REQUEST;
    }
    if ((rc = load_for(a, user, id, SH_ROLE_CONTROLLER, &d, &role, NULL)) != SH_OK)
        return rc;
    merged = json_loads(d.desired_state, 0, NULL);
    if (merged == NULL)
        merged = json_object();
    json_object_update(merged, state);
    text = json_dumps(merged, JSON_COMPACT);
    if (text == NULL || strlen(text) > SH_STORE_STATE_MAX)
        rc = SH_ERR_INVALID_REQUEST;
    else
        rc = sh_store_do(a->store, devices, set_state, &d.id, d.generation, text);
    if (rc == SH_OK) {
        *result = merged;
        merged = NULL;
    }
    free(text);
    json_decref(merged);
    sh_device_rec_clear(&d);
    return rc;
}

sh_status sh_device_release(const sh_auth *a, const sh_principal *user, const sh_id *id)
{
    sh_device_rec d;
    int role = 0;
    sh_status rc = load_for(a, user, id, SH_ROLE_OWNER, &d, &role, NULL);

    if (rc != SH_OK)
        return rc;
    rc = next_generation(a, &d.id, d.generation, NULL);
    sh_device_rec_clear(&d);
    return rc;
}
