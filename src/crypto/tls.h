/*
 * tls.h - the certificate chain and private key the listeners serve TLS
 * with, loaded from PEM files and replaced while serving (SIGHUP).
 *
 * A credential (sh_tls_cred) never changes once loaded and is counted: a
 * connection takes a reference when it is accepted and hands it back when
 * it closes. A reload loads and checks the files into a new credential and
 * swaps it in for the connections accepted from then on; connections
 * already open finish on the one they started with, and the old credential
 * is freed (GnuTLS wipes its key) when the last of them closes. A reload
 * that fails keeps serving the current credential.
 *
 * What a load checks: both files readable and at most SH_TLS_FILE_MAX
 * bytes, the certificate file a PEM chain of at most SH_TLS_CHAIN_MAX
 * certificates with the server's own first, the key an unencrypted PEM
 * private key, and the key the one of the first certificate. The key file's
 * bytes are wiped as soon as GnuTLS has parsed them; logs name the file and
 * a GnuTLS error name, never contents.
 *
 * Thread safety: sh_tls_acquire and sh_tls_release from any thread (the
 * event threads), sh_tls_reload from one (the signal thread).
 */
#ifndef SH_TLS_H
#define SH_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "core/status.h"

#define SH_TLS_FILE_MAX ((size_t)256 * 1024)
#define SH_TLS_CHAIN_MAX 8

/* TLS 1.2 and 1.3 only; in 1.2 only forward-secret ECDHE key exchange with
 * AEAD ciphers (AES-GCM, ChaCha20-Poly1305): no CBC (padding oracles,
 * Lucky13), no RSA key exchange (no forward secrecy, ROBOT), no SHA-1 MACs
 * or signatures, no 3DES or RC4, no finite-field DHE (slow, weak groups in
 * the wild). The server's order wins. docs/security.md#tls says the same. */
#define SH_TLS_PRIORITIES                                                                          \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"         \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:"                \
    "+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:"             \
    "-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"

typedef struct sh_tls sh_tls;
typedef struct sh_tls_cred sh_tls_cred;

/* Loads and checks the two files (see above). Returns SH_OK and a new
 * sh_tls in *out (the caller frees it with sh_tls_free), or SH_ERR_IO /
 * SH_ERR_NOMEM after logging why. Paths are copied. */
sh_status sh_tls_open(const char *cert_path, const char *key_path, sh_tls **out);
/* Loads the same two files again and, if they pass every check, makes them
 * the credential of new connections. On failure logs why (and
 * tls_reload_failed) and keeps the current one. */
sh_status sh_tls_reload(sh_tls *t);
/* The current credential (never NULL), with a reference the caller hands
 * back with sh_tls_release. */
sh_tls_cred *sh_tls_acquire(sh_tls *t);
/* Hands back a reference of sh_tls_acquire; NULL is ignored. */
void sh_tls_release(sh_tls_cred *c);
/* What a GnuTLS certificate callback hands to the handshake: the chain and
 * the key, owned by c (GnuTLS must not free them) and valid while the
 * caller's reference is held. */
void sh_tls_cred_parts(sh_tls_cred *c, gnutls_pcert_st **chain, unsigned *nchain,
                       gnutls_privkey_t *key);
/* Frees t and its current credential. Every listener that acquired from it
 * must have stopped (all references handed back). NULL is ignored. */
void sh_tls_free(sh_tls *t);

#endif
