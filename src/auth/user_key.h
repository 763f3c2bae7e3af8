/*
 * user_key.h - small helpers shared by the account and session code: opening
 * a user's data key from their record, and the display-name rule.
 */
#ifndef SH_USER_KEY_H
#define SH_USER_KEY_H

#include "auth/auth.h"
#include "crypto/seal.h"

/* Unwraps u's data key into *key (wipe it after use). */
__attribute__((warn_unused_result)) sh_status
sh_user_key_open(const sh_auth *a, const sh_user_rec *u, sh_datakey *key);
/* 1 if s is an acceptable display or device name: 1..128 characters, no
 * control characters. */
int sh_display_name_valid(const char *s);

#endif
