/* stepup.c - recent-login test and in-request proof (password, code). */
#include "auth/stepup.h"

#include <string.h>

#include "auth/mfa.h"
#include "core/clock.h"
#include "crypto/password.h"
#include "store/store_mfa.h"

#define FIELD_MAX 1024

/* The string field name of body, or NULL if absent or not a short string. */
static const char *field(const json_t *body, const char *name, size_t *len)
{
    const json_t *v = json_is_object(body) ? json_object_get(body, name) : NULL; /* NULL-safe */

    if (!json_is_string(v) || json_string_length(v) > FIELD_MAX)
        return NULL;
    if (len != NULL)
        *len = json_string_length(v);
    return json_string_value(v);
}

static sh_status check_password(const sh_auth *a, const sh_user_rec *u, const char *pw, size_t len,
                                int *retry)
{
    sh_status rc =
        sh_limits_account_check(a->limits, SH_LIMIT_LOGIN, u->email_idx, SH_STORE_HASH_LEN, retry);

    if (rc != SH_OK)
        return rc;
    if (sh_password_verify(u->password_hash, pw, len) != SH_OK) {
        sh_limits_account_charge(a->limits, SH_LIMIT_LOGIN, u->email_idx, SH_STORE_HASH_LEN);
        return SH_ERR_REAUTH;
    }
    return SH_OK;
}

int sh_stepup_recent(const sh_auth *a, const sh_principal *p)
{
    int64_t window = a->stepup_window_us > 0 ? a->stepup_window_us : SH_STEPUP_FRESH_S * SH_USEC;

    return sh_clock_now_us() - p->issued_at < window;
}

static sh_status stepup(const sh_auth *a, const sh_principal *p, const json_t *body, int always,
                        int *retry)
{
    const char *pw, *code, *recovery;
    size_t pw_len = 0;
    sh_user_rec u;
    int mfa_on = 0, dummy = 0;
    sh_status rc;

    if (retry == NULL)
        retry = &dummy;
    if (!always && sh_stepup_recent(a, p))
        return SH_OK;
    pw = field(body, "password", &pw_len);
    code = field(body, "code", NULL);
    recovery = field(body, "recovery_code", NULL);
    if (pw == NULL)
        return SH_ERR_REAUTH;
    if ((rc = sh_mfa_enabled(a, &p->user, &mfa_on)) != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    if (mfa_on && code == NULL && recovery == NULL)
        return SH_ERR_REAUTH;
    if ((rc = sh_store_do(a->store, core, user_get, &p->user, &u)) != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    rc = check_password(a, &u, pw, pw_len, retry);
    if (rc == SH_OK && mfa_on) {
        rc = sh_mfa_verify(a, &u, recovery ? NULL : code, recovery, retry);
        if (rc == SH_ERR_INVALID_CODE || rc == SH_ERR_NOT_FOUND)
            rc = SH_ERR_REAUTH;
    }
    sh_user_rec_clear(&u);
    return rc;
}

sh_status sh_stepup_check(const sh_auth *a, const sh_principal *p, const json_t *body,
                          int *retry_after_s)
{
    return stepup(a, p, body, 0, retry_after_s);
}

sh_status sh_stepup_require_proof(const sh_auth *a, const sh_principal *p, const json_t *body,
                                  int *retry_after_s)
{
    return stepup(a, p, body, 1, retry_after_s);
}
