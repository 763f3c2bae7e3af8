/*
 * spool.h - the development stand-in for SMTP: each message becomes a file
 * DIR/<message id>.eml (mode 0600, written to a temporary name and renamed,
 * so a reader never sees half a message). Used when no --smtp-url is given;
 * the directory is announced in the log at start. Spooled files hold
 * addresses and tokens in clear: this is for development machines only.
 */
#ifndef SH_MAIL_SPOOL_H
#define SH_MAIL_SPOOL_H

#include <stddef.h>

#include "core/id.h"
#include "core/status.h"

/* Creates dir (0700) if needed. */
sh_status sh_spool_open(const char *dir);
/* Writes one message. SH_OK or SH_ERR_IO. */
sh_status sh_spool_write(const char *dir, const sh_id *msg_id, const char *msg, size_t len);

#endif
