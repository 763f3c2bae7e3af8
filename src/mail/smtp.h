/*
 * smtp.h - sending one message over SMTP with libcurl.
 *
 * url is what --smtp-url gives: smtp://host:port, or smtps:// for implicit
 * TLS (STARTTLS is used when the server offers it, and required for smtps).
 * libcurl does the SMTP dialogue and the dot-stuffing. Blocking, with
 * connect and total time-outs; called from the sender thread only.
 */
#ifndef SH_MAIL_SMTP_H
#define SH_MAIL_SMTP_H

#include <stddef.h>

#include "core/status.h"

/* Must be called once before threads start; sh_smtp_cleanup at exit. */
sh_status sh_smtp_init(void);
void sh_smtp_cleanup(void);
/* Sends msg (len bytes) from `from` to `to`. SH_OK, or SH_ERR_IO on any
 * failure (logged with libcurl's code, never an address). */
sh_status sh_smtp_send(const char *url, const char *from, const char *to, const char *msg,
                       size_t len);

#endif
