/*
 * pkce.h - Proof Key for Code Exchange (RFC 7636), S256 only: the client
 * sends BASE64URL(SHA-256(code_verifier)) with the authorization request
 * and the verifier with the code, so a stolen code is useless alone.
 */
#ifndef SH_PKCE_H
#define SH_PKCE_H

#include <stddef.h>

#define SH_PKCE_VERIFIER_MIN 43
#define SH_PKCE_VERIFIER_MAX 128
#define SH_PKCE_CHALLENGE_LEN 43

/* 1 if s[0..len) is a well-formed S256 code_challenge (43 base64url
 * characters), else 0. */
int sh_pkce_challenge_valid(const char *s, size_t len);
/* 1 if verifier (43..128 unreserved characters, RFC 7636 4.1) hashes to
 * challenge; compared in constant time. */
__attribute__((warn_unused_result)) int sh_pkce_s256_check(const char *challenge,
                                                           const char *verifier, size_t len);

#endif
