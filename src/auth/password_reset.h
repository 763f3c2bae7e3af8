/*
 * password_reset.h - "forgot my password" by e-mail.
 *
 * A request always succeeds from the caller's point of view (the API answers
 * 202 whatever the address), so it reveals nothing about which addresses
 * have accounts. For a known address, and within the per-account request
 * limit, a reset token (sh_pr_) is mailed: stored only as a keyed hash,
 * single use, valid SH_PASSWORD_RESET_TTL_S. Confirming sets the new
 * password, drops the user's other reset tokens and ends every session of
 * the user with one `user` revocation rule. Two-factor stays on: a reset
 * password still needs the second factor at the next login.
 */
#ifndef SH_PASSWORD_RESET_H
#define SH_PASSWORD_RESET_H

#include <stddef.h>

#include "auth/auth.h"
#include "core/status.h"

#define SH_PASSWORD_RESET_TTL_S (30 * 60)

/* Handles a reset request for email. Returns SH_OK whether or not the
 * address is known or limited; an error only when the store fails. */
sh_status sh_password_reset_request(const sh_auth *a, const char *email);
/* Uses a reset token. SH_ERR_INVALID_TOKEN (unknown, used, expired),
 * SH_ERR_WEAK_PASSWORD (token not used up). Slow: Argon2id. */
sh_status sh_password_reset_confirm(const sh_auth *a, const char *token, size_t len,
                                    const char *password, size_t password_len);

#endif
