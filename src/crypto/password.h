/*
 * password.h - Argon2id password hashing (libsodium).
 *
 * Default cost is OWASP's recommendation for Argon2id: m = 19 MiB, t = 2,
 * p = 1. A stored hash made with other parameters verifies as usual and is
 * reported as needing a re-hash, which the login path then does.
 */
#ifndef SH_PASSWORD_H
#define SH_PASSWORD_H

#include <stddef.h>

#include "core/status.h"

#define SH_PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES */
#define SH_PASSWORD_DEFAULT_OPS 2
#define SH_PASSWORD_DEFAULT_MEM_KIB (19 * 1024)

/* Sets the cost used for new hashes (process-wide, set once at start). */
void sh_password_set_cost(unsigned long long ops, size_t mem_kib);
/* Hashes a password. Returns SH_OK or SH_ERR_NOMEM. */
sh_status sh_password_hash(const char *pw, size_t len, char out[SH_PASSWORD_HASH_MAX]);
/* Returns SH_OK if pw matches, SH_ERR_INVALID_CREDENTIALS if not. */
__attribute__((warn_unused_result)) sh_status sh_password_verify(const char *hash, const char *pw,
                                                                 size_t len);
/* 1 if the stored hash uses other parameters than the current cost. */
int sh_password_needs_rehash(const char *hash);
/* Verifies pw against a fixed dummy hash, so an unknown e-mail costs the
 * same time as a wrong password. Always "fails". */
void sh_password_burn(const char *pw, size_t len);
/* Must be called once before threads start. */
sh_status sh_password_init(void);

#endif
