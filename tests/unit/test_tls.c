/*
 * test_tls.c - unit tests for src/crypto/tls.h: a pair of PEM files loads;
 * a reload gives new acquirers the new credential while a reference taken
 * before still holds the old one, usable until released; a reload from bad
 * files keeps the current credential; files that cannot be used fail open.
 * Certificates are made here with GnuTLS (ECDSA P-256, self-signed) in a
 * mkdtemp directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "core/status.h"
#include "crypto/tls.h"

struct fixture {
    char dir[64];
    char cert[128], key[128];     /* the files sh_tls is opened on */
    char cert_b[128], key_b[128]; /* a second pair */
    gnutls_datum_t der_a, der_b;  /* the two certificates, DER */
};

static void write_datum(const char *path, const gnutls_datum_t *d)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(d->data, 1, d->size, f), d->size);
    assert_int_equal(fclose(f), 0);
}

/* A self-signed certificate for cn and its key, as PEM files; the
 * certificate's DER into *der (caller frees with gnutls_free). */
static void make_pair(const char *cert_path, const char *key_path, const char *cn,
                      unsigned char serial, gnutls_datum_t *der)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    gnutls_datum_t d;
    time_t now = time(NULL);

    assert_int_equal(gnutls_x509_privkey_init(&key), 0);
    assert_int_equal(gnutls_x509_privkey_generate(
                         key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                     0);
    assert_int_equal(gnutls_x509_crt_init(&crt), 0);
    assert_int_equal(gnutls_x509_crt_set_version(crt, 3), 0);
    assert_int_equal(gnutls_x509_crt_set_serial(crt, &serial, 1), 0);
    assert_int_equal(gnutls_x509_crt_set_activation_time(crt, now - 60), 0);
    assert_int_equal(gnutls_x509_crt_set_expiration_time(crt, now + 3600), 0);
    assert_int_equal(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                                   (unsigned)strlen(cn)),
                     0);
    assert_int_equal(gnutls_x509_crt_set_key(crt, key), 0);
    assert_int_equal(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
    assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d), 0);
    write_datum(cert_path, &d);
    gnutls_free(d.data);
    assert_int_equal(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d), 0);
    write_datum(key_path, &d);
    gnutls_free(d.data);
    assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der), 0);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || sodium_init() < 0)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sh-tls-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
    snprintf(f->cert_b, sizeof(f->cert_b), "%s/cert_b.pem", f->dir);
    snprintf(f->key_b, sizeof(f->key_b), "%s/key_b.pem", f->dir);
    make_pair(f->cert, f->key, "a.test", 1, &f->der_a);
    make_pair(f->cert_b, f->key_b, "b.test", 2, &f->der_b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    const char *files[] = {f->cert, f->key, f->cert_b, f->key_b};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(f->dir);
    gnutls_free(f->der_a.data);
    gnutls_free(f->der_b.data);
    free(f);
    return 0;
}

/* 1 if c's leaf certificate is der, and its key can sign. */
static int serves(sh_tls_cred *c, const gnutls_datum_t *der)
{
    gnutls_pcert_st *chain = NULL;
    gnutls_privkey_t key = NULL;
    gnutls_datum_t data = {(unsigned char *)"hello", 5}, sig = {NULL, 0};
    unsigned n = 0;
    int ok;

    sh_tls_cred_parts(c, &chain, &n, &key);
    ok = n == 1 && chain[0].cert.size == der->size &&
         memcmp(chain[0].cert.data, der->data, der->size) == 0;
    ok = ok && gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0, &data, &sig) == 0 &&
         gnutls_pubkey_verify_data2(chain[0].pubkey, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig) >= 0;
    gnutls_free(sig.data);
    return ok;
}

static void replace(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    char buf[4096];
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void write_text(const char *path, const char *text)
{
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)text, (unsigned)strlen(text)};

    write_datum(path, &d);
}

/* A new acquirer of t gets the credential of der. */
static void assert_current(sh_tls *t, const gnutls_datum_t *der)
{
    sh_tls_cred *c = sh_tls_acquire(t);

    assert_true(serves(c, der));
    sh_tls_release(c);
}

static void test_open_serves_the_pair(void **state)
{
    struct fixture *f = *state;
    sh_tls *t = NULL;

    assert_int_equal(sh_tls_open(f->cert, f->key, &t), SH_OK);
    assert_current(t, &f->der_a);
    sh_tls_free(t);
}

static void test_reload_swaps_for_new_acquirers_only(void **state)
{
    struct fixture *f = *state;
    sh_tls *t = NULL;
    sh_tls_cred *before, *after;

    assert_int_equal(sh_tls_open(f->cert, f->key, &t), SH_OK);
    before = sh_tls_acquire(t); /* an open connection */
    replace(f->cert_b, f->cert);
    replace(f->key_b, f->key);
    assert_int_equal(sh_tls_reload(t), SH_OK);
    after = sh_tls_acquire(t);
    assert_true(serves(after, &f->der_b));
    /* the old one is still whole for its holder after the swap */
    assert_true(serves(before, &f->der_a));
    sh_tls_release(before); /* its last reference: freed here (ASan sees misuse) */
    assert_true(serves(after, &f->der_b));
    sh_tls_release(after);
    sh_tls_free(t);
}

static void test_bad_reload_keeps_the_current_credential(void **state)
{
    struct fixture *f = *state;
    sh_tls *t = NULL;

    assert_int_equal(sh_tls_open(f->cert, f->key, &t), SH_OK);
    /* garbage certificate */
    write_text(f->cert, "not a certificate\n");
    assert_int_equal(sh_tls_reload(t), SH_ERR_IO);
    assert_current(t, &f->der_a);
    /* a good certificate with another one's key */
    replace(f->cert_b, f->cert);
    assert_int_equal(sh_tls_reload(t), SH_ERR_IO);
    assert_current(t, &f->der_a);
    /* the key gone */
    unlink(f->key);
    assert_int_equal(sh_tls_reload(t), SH_ERR_IO);
    assert_current(t, &f->der_a);
    sh_tls_free(t);
}

static void test_unusable_files_fail_open(void **state)
{
    struct fixture *f = *state;
    sh_tls *t = NULL;

    assert_int_equal(sh_tls_open(f->cert_b, f->key, &t), SH_ERR_IO); /* key of a.test */
    assert_null(t);
    assert_int_equal(sh_tls_open(f->cert, "/nonexistent/key.pem", &t), SH_ERR_IO);
    assert_int_equal(sh_tls_open("/nonexistent/cert.pem", f->key, &t), SH_ERR_IO);
    assert_int_equal(sh_tls_open(f->dir, f->key, &t), SH_ERR_IO); /* a directory */
    write_text(f->key_b, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert_int_equal(sh_tls_open(f->cert_b, f->key_b, &t), SH_ERR_IO);
    write_text(f->cert_b, "");
    assert_int_equal(sh_tls_open(f->cert_b, f->key, &t), SH_ERR_IO);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_serves_the_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_swaps_for_new_acquirers_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_reload_keeps_the_current_credential, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unusable_files_fail_open, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
