/*
 * sender.h - the thread that empties the mail outbox.
 *
 * Every SH_MAIL_POLL_MS it reads up to a batch of due rows, opens each
 * (auth/notify.h: recipient and text are sealed under the user's key),
 * formats it (message.h) and hands it to SMTP (smtp.h, when an SMTP URL is
 * configured) or to the spool directory (spool.h). A sent message's row is
 * deleted; a failed one is retried with exponential back-off (1 s, 2 s, 4 s
 * ... up to an hour) and dropped after SH_MAIL_MAX_ATTEMPTS, with a log line
 * that names the message id, never an address. Once a minute it also prunes
 * expired challenges and one-time tokens.
 *
 * Delivery is at least once: a crash between sending and deleting the row
 * sends that message again at the next start.
 */
#ifndef SH_MAIL_SENDER_H
#define SH_MAIL_SENDER_H

#include "auth/auth.h"
#include "core/status.h"

#define SH_MAIL_POLL_MS 100
#define SH_MAIL_MAX_ATTEMPTS 12

typedef struct sh_mail_sender sh_mail_sender;

struct sh_mail_cfg {
    const char *smtp_url;  /* NULL or "": use the spool */
    const char *from;      /* envelope and header sender */
    const char *spool_dir; /* used without smtp_url */
};

/* Starts the thread. Strings are copied. */
sh_status sh_mail_sender_start(const sh_auth *a, const struct sh_mail_cfg *cfg,
                               sh_mail_sender **out);
/* Stops the thread after the message in hand (if any) and frees it. */
void sh_mail_sender_stop(sh_mail_sender *s);

#endif
