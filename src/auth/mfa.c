/* mfa.c - TOTP enrolment and second-factor checks. The secret never leaves
 * src/crypto in clear except as the base32 text shown once at enrolment. */
#include "auth/mfa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/accounts.h"
#include "auth/notify.h"
#include "auth/user_key.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store_mfa.h"

sh_status sh_mfa_enabled(const sh_auth *a, const sh_id *user, int *on)
{
    sh_account_state s;
    sh_status rc = sh_store_do(a->store, mfa, account_state, user, &s);

    *on = rc == SH_OK && s.mfa_confirmed_at != 0;
    return rc;
}

/* Percent-encodes s into out (RFC 3986 unreserved kept). -1 if too long. */
static int uri_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (n + 4 >= cap)
            return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

static sh_status make_uri(const char *email, const char *secret, char uri[SH_MFA_URI_MAX])
{
    char label[3 * 256];
    int n;

    if (uri_escape(email, label, sizeof(label)) != 0)
        return SH_ERR_INTERNAL;
    n = snprintf(uri, SH_MFA_URI_MAX,
                 "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
                 SH_MFA_ISSUER, label, secret, SH_MFA_ISSUER, SH_TOTP_DIGITS, SH_TOTP_STEP_S);
    sodium_memzero(label, sizeof(label));
    return (n < 0 || n >= SH_MFA_URI_MAX) ? SH_ERR_INTERNAL : SH_OK;
}

sh_status sh_mfa_enrol(const sh_auth *a, const sh_principal *p, sh_mfa_enrolment *out)
{
    sh_user_rec u;
    sh_datakey key;
    sh_totp_rec t;
    char *email = NULL;
    sh_status rc;

    memset(&t, 0, sizeof(t));
    memset(out, 0, sizeof(*out));
    if ((rc = sh_store_do(a->store, core, user_get, &p->user, &u)) != SH_OK)
        return rc;
    if ((rc = sh_user_key_open(a, &u, &key)) != SH_OK)
        goto out;
    rc = sh_open(&key, "users", "email", &u.id, u.email_ct, u.email_ct_len, &email, NULL);
    if (rc == SH_OK)
        rc = sh_totp_new(&key, &u.id, &t.secret_ct, &t.secret_ct_len, out->secret);
    sh_datakey_wipe(&key);
    if (rc != SH_OK)
        goto out;
    t.user_id = u.id;
    t.created_at = sh_clock_now_us();
    if ((rc = sh_store_do(a->store, mfa, totp_put_pending, &t)) != SH_OK)
        goto out;
    rc = make_uri(email, out->secret, out->uri);
out:
    if (rc != SH_OK)
        sodium_memzero(out, sizeof(*out));
    if (email != NULL) {
        sodium_memzero(email, strlen(email));
        free(email);
    }
    sh_totp_rec_clear(&t);
    sh_user_rec_clear(&u);
    return rc;
}

static void log_user(const char *event, const sh_id *user)
{
    sh_id_hex hex;

    sh_id_to_hex(user, &hex);
    sh_log_event(SH_LOG_INFO, event, "user_id", hex.s);
}

/* Checks a code against the TOTP row t at now, moving last_step forward.
 * SH_OK, SH_ERR_INVALID_CODE, or an error. */
static sh_status check_totp(const sh_auth *a, const sh_user_rec *u, const sh_totp_rec *t,
                            const char *code, int64_t *step)
{
    sh_datakey key;
    sh_status rc;

    if ((rc = sh_user_key_open(a, u, &key)) != SH_OK)
        return rc;
    rc = sh_totp_check(&key, &u->id, t->secret_ct, t->secret_ct_len, code,
                       sh_clock_now_us() / SH_USEC, t->last_step, step);
    sh_datakey_wipe(&key);
    return rc;
}

sh_status sh_mfa_confirm(const sh_auth *a, const sh_principal *p, const char *code,
                         sh_mfa_codes *out, int *retry_after_s)
{
    uint8_t hashes[SH_RECOVERY_COUNT][SH_HASH_LEN];
    sh_user_rec u;
    sh_totp_rec t;
    int64_t step = 0;
    sh_status rc;

    memset(&t, 0, sizeof(t));
    rc = sh_limits_account_check(a->limits, SH_LIMIT_CODE, p->user.b, SH_ID_LEN, retry_after_s);
    if (rc != SH_OK)
        return rc;
    if ((rc = sh_store_do(a->store, core, user_get, &p->user, &u)) != SH_OK)
        return rc;
    rc = sh_store_do(a->store, mfa, totp_get, &p->user, &t);
    if (rc == SH_OK && t.confirmed_at != 0)
        rc = SH_ERR_CONFLICT; /* already on */
    if (rc != SH_OK)
        goto out;
    rc = check_totp(a, &u, &t, code, &step);
    if (rc == SH_ERR_INVALID_CODE)
        sh_limits_account_charge(a->limits, SH_LIMIT_CODE, p->user.b, SH_ID_LEN);
    if (rc != SH_OK)
        goto out;
    sh_recovery_new(a->kr, &u.id, out->codes, hashes);
    rc = sh_store_do(a->store, mfa, totp_confirm, &u.id, step, sh_clock_now_us(),
                     (const uint8_t(*)[SH_STORE_HASH_LEN])hashes, SH_RECOVERY_COUNT);
    if (rc == SH_ERR_NOT_FOUND)
        rc = SH_ERR_INVALID_CODE; /* raced with another confirm or enrolment */
    if (rc != SH_OK) {
        sodium_memzero(out, sizeof(*out));
        goto out;
    }
    sh_account_changed(a, &u.id);
    log_user("mfa_enabled", &u.id);
    if (sh_notify(a, &u, SH_MAIL_MFA_ON, NULL, NULL) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_queue_failed", "kind", "mfa_on");
out:
    sodium_memzero(hashes, sizeof(hashes));
    sh_totp_rec_clear(&t);
    sh_user_rec_clear(&u);
    return rc;
}

sh_status sh_mfa_disable(const sh_auth *a, const sh_principal *p)
{
    sh_status rc = sh_store_do(a->store, mfa, totp_delete, &p->user);

    if (rc != SH_OK)
        return rc;
    sh_account_changed(a, &p->user);
    log_user("mfa_disabled", &p->user);
    if (sh_notify_user(a, &p->user, SH_MAIL_MFA_OFF, NULL) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_queue_failed", "kind", "mfa_off");
    return SH_OK;
}

static sh_status use_recovery(const sh_auth *a, const sh_user_rec *u, const char *typed)
{
    uint8_t hash[SH_HASH_LEN];
    sh_status rc = sh_recovery_hash(a->kr, &u->id, typed, hash);

    if (rc == SH_OK)
        rc = sh_store_do(a->store, mfa, recovery_use, &u->id, hash, sh_clock_now_us());
    sodium_memzero(hash, sizeof(hash));
    if (rc == SH_ERR_NOT_FOUND)
        return SH_ERR_INVALID_CODE;
    if (rc == SH_OK)
        log_user("recovery_code_used", &u->id);
    return rc;
}

sh_status sh_mfa_verify(const sh_auth *a, const sh_user_rec *u, const char *code,
                        const char *recovery, int *retry_after_s)
{
    sh_totp_rec t;
    int64_t step = 0;
    sh_status rc;

    if ((code == NULL) == (recovery == NULL))
        return SH_ERR_INVALID_CODE;
    rc = sh_limits_account_check(a->limits, SH_LIMIT_CODE, u->id.b, SH_ID_LEN, retry_after_s);
    if (rc != SH_OK)
        return rc;
    rc = sh_store_do(a->store, mfa, totp_get, &u->id, &t);
    if (rc == SH_OK && t.confirmed_at == 0)
        rc = SH_ERR_NOT_FOUND;
    if (rc != SH_OK)
        goto out;
    if (recovery != NULL) {
        rc = use_recovery(a, u, recovery);
    } else {
        rc = check_totp(a, u, &t, code, &step);
        if (rc == SH_OK && sh_store_do(a->store, mfa, totp_use_step, &u->id, step) != SH_OK)
            rc = SH_ERR_INVALID_CODE; /* the same code won a race elsewhere */
    }
    if (rc == SH_ERR_INVALID_CODE) {
        sh_limits_account_charge(a->limits, SH_LIMIT_CODE, u->id.b, SH_ID_LEN);
        log_user("mfa_code_rejected", &u->id);
    }
out:
    sh_totp_rec_clear(&t);
    return rc;
}
