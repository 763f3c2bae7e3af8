/* password_reset.c - reset tokens. */
#include "auth/password_reset.h"

#include <string.h>

#include <sodium.h>

#include "auth/credentials.h"
#include "auth/limits.h"
#include "auth/notify.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/password.h"
#include "crypto/token.h"
#include "store/store_mfa.h"

#define RESET_DOMAIN "password_reset"

sh_status sh_password_reset_request(const sh_auth *a, const char *email)
{
    char norm[SH_EMAIL_MAX + 1], text[SH_TOKEN_MAX];
    uint8_t secret[SH_TOKEN_SECRET_LEN];
    sh_user_token_rec t;
    sh_user_rec u;
    sh_status rc;

    memset(&t, 0, sizeof(t));
    if (sh_email_normalize(email, norm, sizeof(norm)) != SH_OK)
        return SH_OK;
    sh_hash_blind_index(a->kr, norm, t.bound_idx);
    sodium_memzero(norm, sizeof(norm));
    /* charged for known and unknown addresses alike */
    if (sh_limits_account_check(a->limits, SH_LIMIT_RESET, t.bound_idx, SH_HASH_LEN, NULL) !=
        SH_OK) {
        sh_log_event(SH_LOG_INFO, "password_reset_limited", NULL, NULL);
        return SH_OK;
    }
    sh_limits_account_charge(a->limits, SH_LIMIT_RESET, t.bound_idx, SH_HASH_LEN);
    rc = sh_store_do(a->store, core, user_get_by_email, t.bound_idx, &u);
    if (rc == SH_ERR_NOT_FOUND)
        return SH_OK;
    if (rc != SH_OK)
        return rc;
    sh_token_opaque_new(SH_TOKEN_RESET, secret, text);
    sh_hash_secret(a->kr, RESET_DOMAIN, secret, sizeof(secret), t.hash);
    sodium_memzero(secret, sizeof(secret));
    t.user_id = u.id;
    t.purpose = SH_UTOKEN_PASSWORD_RESET;
    t.created_at = sh_clock_now_us();
    t.expires_at = t.created_at + (int64_t)SH_PASSWORD_RESET_TTL_S * SH_USEC;
    rc = sh_store_do(a->store, mfa, utoken_insert, &t);
    if (rc == SH_OK)
        rc = sh_notify(a, &u, SH_MAIL_PASSWORD_RESET, NULL, text);
    if (rc == SH_OK) {
        sh_id_hex hex;
        sh_id_to_hex(&u.id, &hex);
        sh_log_event(SH_LOG_INFO, "password_reset_requested", "user_id", hex.s);
    }
    sodium_memzero(text, sizeof(text));
    sh_user_rec_clear(&u);
    return rc;
}

struct reset_args {
    const sh_auth *a;
    const uint8_t *hash;
    const char *pwhash;
    sh_user_token_rec t;
};

/* The token is used, the password set, other reset tokens dropped and
 * every session ended, in one transaction. */
static sh_status reset_fn(sh_store *tx, void *ctx)
{
    struct reset_args *r = ctx;
    int64_t now = sh_clock_now_us();
    sh_id_hex hex;
    sh_status rc;

    rc = sh_store_do(tx, mfa, utoken_consume, r->hash, SH_UTOKEN_PASSWORD_RESET, now, &r->t);
    if (rc == SH_OK)
        rc = sh_store_do(tx, core, user_set_password, &r->t.user_id, r->pwhash, now);
    if (rc == SH_OK)
        rc = sh_store_do(tx, mfa, utoken_drop_all, &r->t.user_id, SH_UTOKEN_PASSWORD_RESET);
    sh_id_to_hex(&r->t.user_id, &hex);
    if (rc == SH_OK)
        rc = sh_revocation_add(tx, r->a->rev, SH_RULE_USER, hex.s, now, NULL);
    return rc;
}

sh_status sh_password_reset_confirm(const sh_auth *a, const char *token, size_t len,
                                    const char *password, size_t password_len)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];
    char pwhash[SH_PASSWORD_HASH_MAX];
    struct reset_args r = {a, hash, pwhash, {{0}}};
    sh_id_hex hex;
    sh_status rc;

    if (sh_token_opaque_parse(SH_TOKEN_RESET, token, len, secret) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(a->kr, RESET_DOMAIN, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    /* policy and hash first: a weak password must not use the token up */
    if ((rc = sh_password_policy_check(password, password_len)) != SH_OK)
        return rc;
    if ((rc = sh_password_hash(password, password_len, pwhash)) != SH_OK)
        return rc;
    rc = sh_store_tx_run(a->store, reset_fn, &r);
    sh_id_to_hex(&r.t.user_id, &hex);
    sodium_memzero(pwhash, sizeof(pwhash));
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_TOKEN;
    if (rc != SH_OK)
        return rc;
    sh_log_event(SH_LOG_WARN, "password_reset_done", "user_id", hex.s);
    if (sh_notify_user(a, &r.t.user_id, SH_MAIL_PASSWORD_CHANGED, NULL) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_queue_failed", "kind", "password_changed");
    return SH_OK;
}
