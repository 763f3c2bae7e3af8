/* notify.c - composing, sealing and queueing user messages. Texts are fixed;
 * the only values in them are the user's own (address, token, device). */
#include "auth/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/token_class.h"
#include "auth/user_key.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/hash.h"

#define TEXT_MAX 2048
#define TABLE "mail_outbox"
#define LOGIN_DOMAIN "login"

struct kind_info {
    const char *name;
    const char *subject;
    const char *body; /* one %s: the extra value, or none */
};

static const struct kind_info kinds[] = {
    [SH_MAIL_EMAIL_VERIFY] = {"email_verify", "Confirm your e-mail address",
                              "Please confirm that this address belongs to your safehouse "
                              "account.\n\nIn the app, enter this code, or open the link:\n\n"
                              "token: %s\n\nIf you did not ask for this, ignore this message.\n"},
    [SH_MAIL_PASSWORD_RESET] = {"password_reset", "Reset your safehouse password",
                                "Someone (we hope you) asked to reset the password of your "
                                "safehouse account.\n\nThis token works once, for 30 minutes:\n\n"
                                "token: %s\n\nSetting a new password signs out every device. If "
                                "you did not ask for this, ignore this message: nothing "
                                "changes.\n"},
    [SH_MAIL_NEW_LOGIN] = {"new_login", "New sign-in to your safehouse account",
                           "Your safehouse account was just signed in to from a client we had "
                           "not seen before:\n\n%s\n\nIf this was not you, change your password "
                           "and sign out all sessions.\n"},
    [SH_MAIL_MFA_ON] = {"mfa_on", "Two-factor sign-in is on",
                        "Two-factor sign-in was turned on for your safehouse account. Keep "
                        "your recovery codes somewhere safe.\n"},
    [SH_MAIL_MFA_OFF] = {"mfa_off", "Two-factor sign-in is off",
                         "Two-factor sign-in was turned off for your safehouse account. If "
                         "this was not you, reset your password at once.\n"},
    [SH_MAIL_PASSWORD_CHANGED] = {"password_changed", "Your safehouse password was changed",
                                  "The password of your safehouse account was changed. If this "
                                  "was not you, reset your password at once.\n"},
    [SH_MAIL_EMAIL_CHANGED] = {"email_changed", "Your safehouse e-mail address was changed",
                               "The e-mail address of your safehouse account was changed to "
                               "another one. If this was not you, contact support.\n"},
};

#define KIND_COUNT (int)(sizeof(kinds) / sizeof(kinds[0]))

const char *sh_notify_kind_name(int kind)
{
    return (kind > 0 && kind < KIND_COUNT && kinds[kind].name) ? kinds[kind].name : "unknown";
}

static int compose(enum sh_mail_kind kind, const char *extra, char text[TEXT_MAX])
{
    const struct kind_info *k = &kinds[kind];
    char body[TEXT_MAX];
    int n;

    /* bodies are fixed format strings chosen by kind, never input */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    n = snprintf(body, sizeof(body), k->body, extra ? extra : "");
#pragma GCC diagnostic pop
    if (n < 0 || (size_t)n >= sizeof(body))
        return -1;
    n = snprintf(text, TEXT_MAX, "%s\n\n%s", k->subject, body);
    sodium_memzero(body, sizeof(body));
    return (n < 0 || n >= TEXT_MAX) ? -1 : n;
}

sh_status sh_notify(const sh_auth *a, const sh_user_rec *u, enum sh_mail_kind kind, const char *to,
                    const char *extra)
{
    char text[TEXT_MAX];
    char *addr = NULL;
    sh_datakey key;
    sh_mail_rec m;
    sh_id_hex hex;
    int n;
    sh_status rc;

    if ((int)kind <= 0 || (int)kind >= KIND_COUNT)
        return SH_ERR_INTERNAL;
    memset(&m, 0, sizeof(m));
    if ((rc = sh_user_key_open(a, u, &key)) != SH_OK)
        return rc;
    if (to == NULL) {
        rc = sh_open(&key, "users", "email", &u->id, u->email_ct, u->email_ct_len, &addr, NULL);
        if (rc != SH_OK)
            goto out;
        to = addr;
    }
    if ((n = compose(kind, extra, text)) < 0) {
        rc = SH_ERR_INTERNAL;
        goto out;
    }
    sh_id_random(&m.id);
    m.user_id = u->id;
    m.kind = kind;
    m.created_at = m.next_attempt_at = sh_clock_now_us();
    rc = sh_seal(&key, TABLE, "recipient", &m.id, to, strlen(to), &m.recipient_ct,
                 &m.recipient_ct_len);
    if (rc == SH_OK)
        rc = sh_seal(&key, TABLE, "body", &m.id, text, (size_t)n, &m.body_ct, &m.body_ct_len);
    if (rc == SH_OK)
        rc = sh_store_do(a->store, mfa, mail_insert, &m);
    if (rc == SH_OK) {
        sh_id_to_hex(&m.id, &hex);
        sh_log_event(SH_LOG_INFO, "mail_queued", "mail_id", hex.s);
    }
out:
    sodium_memzero(text, sizeof(text));
    if (addr != NULL) {
        sodium_memzero(addr, strlen(addr));
        free(addr);
    }
    sh_datakey_wipe(&key);
    sh_mail_rec_clear(&m);
    return rc;
}

sh_status sh_notify_user(const sh_auth *a, const sh_id *user, enum sh_mail_kind kind,
                         const char *extra)
{
    sh_user_rec u;
    sh_status rc = sh_store_do(a->store, core, user_get, user, &u);

    if (rc != SH_OK)
        return rc;
    rc = sh_notify(a, &u, kind, NULL, extra);
    sh_user_rec_clear(&u);
    return rc;
}

void sh_notify_login(const sh_auth *a, const sh_user_rec *u, int token_class,
                     const char *device_name)
{
    uint8_t buf[SH_ID_LEN + 1 + 512], fp[SH_HASH_LEN];
    char detail[256];
    size_t dlen = device_name ? strlen(device_name) : 0, n;
    int is_new = 0, known = 0;
    sh_status rc;

    if (dlen > 512 - 1)
        dlen = 512 - 1;
    memcpy(buf, u->id.b, SH_ID_LEN);
    buf[SH_ID_LEN] = (uint8_t)token_class;
    /* hash input, not a string: no terminator wanted */
    if (dlen > 0)
        // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
        memcpy(buf + SH_ID_LEN + 1, device_name, dlen);
    n = SH_ID_LEN + 1 + dlen;
    sh_hash_secret(a->kr, LOGIN_DOMAIN, buf, n, fp);
    sodium_memzero(buf, sizeof(buf));
    rc = sh_store_do(a->store, mfa, login_seen, &u->id, fp, sh_clock_now_us(), &is_new, &known);
    if (rc == SH_OK && is_new && known > 0) {
        snprintf(detail, sizeof(detail), "client: %s\ndevice: %s", sh_class_name(token_class),
                 device_name ? device_name : "(no name given)");
        rc = sh_notify(a, u, SH_MAIL_NEW_LOGIN, NULL, detail);
        sodium_memzero(detail, sizeof(detail));
    }
    if (rc != SH_OK)
        sh_log_event(SH_LOG_WARN, "new_login_alert_failed", "code", sh_status_code(rc));
}

sh_status sh_notify_open(const sh_auth *a, const sh_mail_rec *m, char **to, char **text)
{
    sh_user_rec u;
    sh_datakey key;
    sh_status rc;

    *to = *text = NULL;
    if ((rc = sh_store_do(a->store, core, user_get, &m->user_id, &u)) != SH_OK)
        return rc;
    if ((rc = sh_user_key_open(a, &u, &key)) != SH_OK)
        goto out;
    rc = sh_open(&key, TABLE, "recipient", &m->id, m->recipient_ct, m->recipient_ct_len, to, NULL);
    if (rc == SH_OK)
        rc = sh_open(&key, TABLE, "body", &m->id, m->body_ct, m->body_ct_len, text, NULL);
    if (rc != SH_OK) {
        free(*to);
        free(*text);
        *to = *text = NULL;
    }
    sh_datakey_wipe(&key);
out:
    sh_user_rec_clear(&u);
    return rc;
}
