/*
 * email_verify.h - proving an e-mail address, and changing it.
 *
 * A verification token (sh_ev_) is mailed at registration and after an
 * address change. It is stored only as a keyed hash, bound to the blind
 * index of the address it was sent to, single use, valid
 * SH_EMAIL_VERIFY_TTL_S. It verifies the account only while the account
 * still has that address, so a token sent to an old address cannot verify
 * a new one.
 */
#ifndef SH_EMAIL_VERIFY_H
#define SH_EMAIL_VERIFY_H

#include "auth/auth.h"
#include "core/status.h"

#define SH_EMAIL_VERIFY_TTL_S (7 * 24 * 3600)

/* Makes a verification token for u's current address (norm_email, in
 * clear, already normalized) and queues the message. */
sh_status sh_email_verify_send(const sh_auth *a, const sh_user_rec *u, const char *norm_email);
/* Uses a verification token. SH_ERR_INVALID_TOKEN if unknown, used,
 * expired or for another address. */
sh_status sh_email_verify_confirm(const sh_auth *a, const char *token, size_t len);
/* Changes the caller's address (the caller has done the step-up): stores it
 * sealed and indexed, unverified; mails a token to the new address and a
 * notice to the old one. SH_ERR_INVALID_EMAIL, SH_ERR_EMAIL_TAKEN. */
sh_status sh_email_change(const sh_auth *a, const sh_principal *p, const char *email);

#endif
