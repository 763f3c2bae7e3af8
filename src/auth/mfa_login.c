/* mfa_login.c - second-factor challenges. */
#include "auth/mfa_login.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/mfa.h"
#include "auth/notify.h"
#include "auth/token_class.h"
#include "auth/user_key.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/seal.h"
#include "store/store_mfa.h"

#define MFA_DOMAIN "mfa"
#define TABLE "mfa_challenges"

sh_status sh_mfa_challenge_new(const sh_auth *a, const sh_user_rec *u, int token_class,
                               const char *device_name, char token[SH_TOKEN_MAX],
                               int64_t *expires_in_s)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];
    sh_challenge_rec c;
    sh_datakey key;
    sh_status rc = SH_OK;

    memset(&c, 0, sizeof(c));
    sh_id_random(&c.id);
    c.user_id = u->id;
    c.token_class = token_class;
    c.created_at = sh_clock_now_us();
    c.expires_at = c.created_at + SH_MFA_CHALLENGE_TTL_S * SH_USEC;
    if (device_name != NULL) {
        if ((rc = sh_user_key_open(a, u, &key)) != SH_OK)
            return rc;
        rc = sh_seal(&key, TABLE, "device_name", &c.id, device_name, strlen(device_name),
                     &c.device_name_ct, &c.device_name_ct_len);
        sh_datakey_wipe(&key);
        if (rc != SH_OK)
            return rc;
    }
    sh_token_opaque_new(SH_TOKEN_MFA, secret, token);
    sh_hash_secret(a->kr, MFA_DOMAIN, secret, sizeof(secret), c.hash);
    sodium_memzero(secret, sizeof(secret));
    rc = sh_store_do(a->store, mfa, challenge_insert, &c);
    if (rc == SH_OK)
        *expires_in_s = SH_MFA_CHALLENGE_TTL_S;
    else
        sodium_memzero(token, SH_TOKEN_MAX);
    sh_challenge_rec_clear(&c);
    return rc;
}

static sh_status load(const sh_auth *a, const char *text, size_t len, sh_challenge_rec *c)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];
    sh_status rc;

    if (sh_token_opaque_parse(SH_TOKEN_MFA, text, len, secret) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(a->kr, MFA_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    rc = sh_store_do(a->store, mfa, challenge_get, hash, c);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_TOKEN;
    if (rc == SH_OK && (c->used_at != 0 || c->expires_at <= sh_clock_now_us() ||
                        c->failures >= SH_MFA_MAX_FAILURES)) {
        sh_challenge_rec_clear(c);
        return SH_ERR_INVALID_TOKEN;
    }
    return rc;
}

static sh_status open_session(const sh_auth *a, const sh_user_rec *u, const sh_challenge_rec *c,
                              sh_token_pair *out)
{
    char *device = NULL;
    sh_datakey key;
    sh_status rc;

    if (c->device_name_ct != NULL) {
        if ((rc = sh_user_key_open(a, u, &key)) != SH_OK)
            return rc;
        rc = sh_open(&key, TABLE, "device_name", &c->id, c->device_name_ct, c->device_name_ct_len,
                     &device, NULL);
        sh_datakey_wipe(&key);
        if (rc != SH_OK)
            return rc;
    }
    rc = sh_session_open(a, u, c->token_class, device, out);
    if (rc == SH_OK) {
        sh_session_log_created(&out->session);
        sh_notify_login(a, u, c->token_class, device);
    }
    free(device);
    return rc;
}

/* What a caller accepts of a challenge before any code is looked at. */
typedef struct challenge_want {
    int browser;       /* 1: only SH_MFA_BROWSER challenges; 0: only app ones */
    int token_class;   /* app: the claimed class, or SH_CLASS_NONE for any */
    const sh_id *user; /* browser: the user the challenge must be for */
} challenge_want;

static int challenge_fits(const sh_challenge_rec *c, const challenge_want *w)
{
    if (w->browser)
        return c->token_class == SH_MFA_BROWSER && sh_id_equal(&c->user_id, w->user);
    return c->token_class != SH_MFA_BROWSER &&
           (w->token_class == SH_CLASS_NONE || w->token_class == c->token_class);
}

/* Steps 1-3 of a second-factor login (docs/internals/mfa.md): the
 * challenge, the factor (wrong ones counted against both), and using the
 * challenge up. On SH_OK *c and *u are filled (the caller clears both). */
static sh_status pass(const sh_auth *a, const char *mfa_token, size_t len, const challenge_want *w,
                      const char *code, const char *recovery, sh_challenge_rec *c, sh_user_rec *u,
                      int *retry_after_s)
{
    int failures = 0;
    sh_status rc;

    memset(u, 0, sizeof(*u));
    if ((rc = load(a, mfa_token, len, c)) != SH_OK)
        return rc;
    if (!challenge_fits(c, w)) {
        rc = SH_ERR_INVALID_TOKEN;
        goto out;
    }
    if ((rc = sh_store_do(a->store, core, user_get, &c->user_id, u)) != SH_OK) {
        rc = rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
        goto out;
    }
    rc = sh_mfa_verify(a, u, code, recovery, retry_after_s);
    if (rc == SH_ERR_NOT_FOUND)
        rc = SH_ERR_INVALID_TOKEN; /* two-factor was turned off meanwhile: log in again */
    if (rc == SH_ERR_INVALID_CODE &&
        sh_store_do(a->store, mfa, challenge_fail, &c->id, &failures) == SH_OK &&
        failures >= SH_MFA_MAX_FAILURES)
        sh_log_event(SH_LOG_WARN, "mfa_token_dead", "failures", "5");
    if (rc != SH_OK)
        goto out;
    rc = sh_store_do(a->store, mfa, challenge_consume, &c->id, sh_clock_now_us(),
                     SH_MFA_MAX_FAILURES);
    if (rc == SH_ERR_NOT_FOUND)
        rc = SH_ERR_INVALID_TOKEN; /* used by a racing request */
out:
    if (rc != SH_OK) {
        sh_user_rec_clear(u);
        sh_challenge_rec_clear(c);
    }
    return rc;
}

sh_status sh_session_login_mfa(const sh_auth *a, const char *mfa_token, size_t len, int token_class,
                               const char *code, const char *recovery, sh_token_pair *out,
                               int *retry_after_s)
{
    challenge_want w = {.token_class = token_class};
    sh_challenge_rec c;
    sh_user_rec u;
    sh_status rc = pass(a, mfa_token, len, &w, code, recovery, &c, &u, retry_after_s);

    if (rc != SH_OK)
        return rc;
    rc = open_session(a, &u, &c, out);
    sh_user_rec_clear(&u);
    sh_challenge_rec_clear(&c);
    return rc;
}

sh_status sh_mfa_challenge_pass(const sh_auth *a, const char *mfa_token, size_t len,
                                const sh_id *user, const char *code, const char *recovery,
                                int *retry_after_s)
{
    challenge_want w = {.browser = 1, .user = user};
    sh_challenge_rec c;
    sh_user_rec u;
    sh_status rc = pass(a, mfa_token, len, &w, code, recovery, &c, &u, retry_after_s);

    if (rc != SH_OK)
        return rc;
    sh_user_rec_clear(&u);
    sh_challenge_rec_clear(&c);
    return SH_OK;
}
