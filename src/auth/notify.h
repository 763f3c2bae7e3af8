/*
 * notify.h - the messages safehouse sends a user, queued in the outbox.
 *
 * A message is composed here (subject and plain text), then its recipient
 * and its text are sealed under the user's data key (AAD
 * "sh1|mail_outbox|recipient|<message id>" and "...|body|...") before the
 * row reaches the store: the outbox holds reset and verification tokens and
 * addresses, so a copy of it must reveal nothing (P1). The sender thread
 * (src/mail/sender.c) opens a row with sh_notify_open, sends it and deletes
 * it. Deleting the account deletes its queued mail with it.
 */
#ifndef SH_NOTIFY_H
#define SH_NOTIFY_H

#include "auth/auth.h"
#include "store/store_mfa.h"

enum sh_mail_kind {
    SH_MAIL_EMAIL_VERIFY = 1, /* token: the sh_ev_ token */
    SH_MAIL_PASSWORD_RESET,   /* token: the sh_pr_ token */
    SH_MAIL_NEW_LOGIN,        /* detail: "client kind|device name" */
    SH_MAIL_MFA_ON,
    SH_MAIL_MFA_OFF,
    SH_MAIL_PASSWORD_CHANGED,
    SH_MAIL_EMAIL_CHANGED, /* to the old address */
};

/* Queues a message of kind for user u. to: the recipient, or NULL for the
 * user's current address. extra: the token or detail the kind needs, or
 * NULL. Returns SH_OK or a store / crypto error; never logs a value. */
sh_status sh_notify(const sh_auth *a, const sh_user_rec *u, enum sh_mail_kind kind, const char *to,
                    const char *extra);
/* Like sh_notify, loading the user record by id. */
sh_status sh_notify_user(const sh_auth *a, const sh_id *user, enum sh_mail_kind kind,
                         const char *extra);
/* Records that user logged in with (client kind, device name) and queues a
 * new-login alert when that pair was not seen before (and the user had
 * logged in before at all). Errors are logged and swallowed: an alert must
 * not fail a login. */
void sh_notify_login(const sh_auth *a, const sh_user_rec *u, int token_class,
                     const char *device_name);

/* Opens a queued message: *to and *text are malloc'd (caller wipes with
 * sodium_memzero and frees); text is "subject\n\nbody". SH_ERR_NOT_FOUND if
 * the user is gone, SH_ERR_INTERNAL if a blob does not open. */
sh_status sh_notify_open(const sh_auth *a, const sh_mail_rec *m, char **to, char **text);
/* Name of a kind for logs ("password_reset", ...). */
const char *sh_notify_kind_name(int kind);

#endif
