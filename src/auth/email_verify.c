/* email_verify.c - verification tokens and address changes. */
#include "auth/email_verify.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/accounts.h"
#include "auth/credentials.h"
#include "auth/notify.h"
#include "auth/user_key.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/seal.h"
#include "crypto/token.h"
#include "store/store_mfa.h"

#define VERIFY_DOMAIN "email_verify"

sh_status sh_email_verify_send(const sh_auth *a, const sh_user_rec *u, const char *norm_email)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN];
    char text[SH_TOKEN_MAX];
    sh_user_token_rec t;
    sh_status rc;

    memset(&t, 0, sizeof(t));
    sh_token_opaque_new(SH_TOKEN_EMAIL_VERIFY, secret, text);
    sh_hash_secret(a->kr, VERIFY_DOMAIN, secret, sizeof(secret), t.hash);
    sodium_memzero(secret, sizeof(secret));
    t.user_id = u->id;
    t.purpose = SH_UTOKEN_EMAIL_VERIFY;
    sh_hash_blind_index(a->kr, norm_email, t.bound_idx);
    t.created_at = sh_clock_now_us();
    t.expires_at = t.created_at + (int64_t)SH_EMAIL_VERIFY_TTL_S * SH_USEC;
    rc = sh_store_do(a->store, mfa, utoken_insert, &t);
    if (rc == SH_OK)
        rc = sh_notify(a, u, SH_MAIL_EMAIL_VERIFY, norm_email, text);
    sodium_memzero(text, sizeof(text));
    return rc;
}

sh_status sh_email_verify_confirm(const sh_auth *a, const char *token, size_t len)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];
    sh_user_token_rec t;
    sh_id_hex hex;
    sh_status rc;

    if (sh_token_opaque_parse(SH_TOKEN_EMAIL_VERIFY, token, len, secret) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(a->kr, VERIFY_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    rc = sh_store_do(a->store, mfa, utoken_consume, hash, SH_UTOKEN_EMAIL_VERIFY, sh_clock_now_us(),
                     &t);
    if (rc == SH_OK)
        rc = sh_store_do(a->store, mfa, email_verify, &t.user_id, t.bound_idx, sh_clock_now_us());
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_TOKEN;
    if (rc == SH_OK) {
        sh_account_changed(a, &t.user_id);
        sh_id_to_hex(&t.user_id, &hex);
        sh_log_event(SH_LOG_INFO, "email_verified", "user_id", hex.s);
    }
    return rc;
}

sh_status sh_email_change(const sh_auth *a, const sh_principal *p, const char *email)
{
    char norm[SH_EMAIL_MAX + 1];
    uint8_t idx[SH_HASH_LEN], *ct = NULL;
    size_t ct_len = 0;
    char *old = NULL;
    sh_user_rec u;
    sh_datakey key;
    sh_id_hex hex;
    sh_status rc;

    if ((rc = sh_email_normalize(email, norm, sizeof(norm))) != SH_OK)
        return rc;
    if ((rc = sh_store_do(a->store, core, user_get, &p->user, &u)) != SH_OK)
        goto wipe;
    if ((rc = sh_user_key_open(a, &u, &key)) != SH_OK)
        goto out;
    rc = sh_open(&key, "users", "email", &u.id, u.email_ct, u.email_ct_len, &old, NULL);
    if (rc == SH_OK)
        rc = sh_seal(&key, "users", "email", &u.id, norm, strlen(norm), &ct, &ct_len);
    sh_datakey_wipe(&key);
    if (rc != SH_OK)
        goto out;
    sh_hash_blind_index(a->kr, norm, idx);
    rc = sh_store_do(a->store, mfa, set_email, &u.id, idx, ct, ct_len, sh_clock_now_us());
    if (rc == SH_ERR_CONFLICT)
        rc = SH_ERR_EMAIL_TAKEN;
    if (rc != SH_OK)
        goto out;
    sh_account_changed(a, &u.id);
    sh_id_to_hex(&u.id, &hex);
    sh_log_event(SH_LOG_INFO, "email_changed", "user_id", hex.s);
    if (sh_notify(a, &u, SH_MAIL_EMAIL_CHANGED, old, NULL) != SH_OK ||
        sh_email_verify_send(a, &u, norm) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_queue_failed", "kind", "email_changed");
out:
    free(ct);
    if (old != NULL) {
        sodium_memzero(old, strlen(old));
        free(old);
    }
    sh_user_rec_clear(&u);
wipe:
    sodium_memzero(norm, sizeof(norm));
    return rc;
}
