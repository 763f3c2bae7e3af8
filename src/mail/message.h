/*
 * message.h - an RFC 5322 message from a queued text ("subject\n\nbody").
 *
 * Plain text, UTF-8, 8bit, CRLF line ends. Header values come from
 * configuration (From), a normalized address (To) and fixed subjects; any
 * CR or LF in them would allow header injection, so a message with one is
 * refused.
 */
#ifndef SH_MAIL_MESSAGE_H
#define SH_MAIL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "core/status.h"

/* Formats the message into *out (malloc'd, NUL-terminated; caller wipes and
 * frees), *len its length. SH_ERR_INVALID_REQUEST on a header with CR/LF. */
sh_status sh_mail_format(const char *from, const char *to, const char *text, const sh_id *msg_id,
                         int64_t now_us, char **out, size_t *len);

#endif
