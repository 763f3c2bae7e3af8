/*
 * tls.c - loading, checking and swapping the listeners' TLS credential
 * (see tls.h). One mutex guards the current pointer and every credential's
 * reference count: it is taken once per accepted connection and once per
 * close, never during a handshake.
 */
#include "crypto/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/x509.h>
#include <sodium.h>

#include "core/log.h"

#define PATH_MAX_LEN 512
#define KEY_ID_MAX 64

struct sh_tls_cred {
    gnutls_pcert_st chain[SH_TLS_CHAIN_MAX];
    unsigned nchain;
    gnutls_privkey_t key;
    unsigned refs; /* guarded by owner->lock */
    sh_tls *owner;
};

struct sh_tls {
    pthread_mutex_t lock;
    sh_tls_cred *current; /* holds one reference */
    char cert_path[PATH_MAX_LEN];
    char key_path[PATH_MAX_LEN];
};

/* What the log says about one of the two files. */
struct file_events {
    const char *unreadable; /* with the errno name */
    const char *bad_size;   /* empty, too large, or not a regular file */
};
static const struct file_events CERT_EVENTS = {"tls_cert_unreadable", "tls_cert_size_invalid"};
static const struct file_events KEY_EVENTS = {"tls_key_unreadable", "tls_key_size_invalid"};

static void wipe_free(uint8_t *buf)
{
    if (buf == NULL)
        return;
    sodium_memzero(buf, SH_TLS_FILE_MAX);
    free(buf);
}

/* A whole file of fewer than SH_TLS_FILE_MAX bytes into *out, a malloc'd
 * buffer of SH_TLS_FILE_MAX bytes that the caller frees with wipe_free. */
static sh_status read_file(const char *path, const struct file_events *ev, uint8_t **out,
                           size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t n = 0;
    ssize_t got;
    sh_status rc = SH_ERR_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        const char *name = strerrorname_np(errno);
        sh_log_event(SH_LOG_ERROR, ev->unreadable, "errno", name ? name : "unknown");
        return SH_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (size_t)st.st_size >= SH_TLS_FILE_MAX) {
        sh_log_event(SH_LOG_ERROR, ev->bad_size, NULL, NULL);
        goto out;
    }
    if ((buf = malloc(SH_TLS_FILE_MAX)) == NULL) {
        rc = SH_ERR_NOMEM;
        goto out;
    }
    while (n < SH_TLS_FILE_MAX && (got = read(fd, buf + n, SH_TLS_FILE_MAX - n)) > 0)
        n += (size_t)got;
    if (n == 0 || n >= SH_TLS_FILE_MAX) { /* it changed under us */
        sh_log_event(SH_LOG_ERROR, ev->bad_size, NULL, NULL);
        goto out;
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = SH_OK;
out:
    wipe_free(buf);
    close(fd);
    return rc;
}

static void cred_free(sh_tls_cred *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->nchain; i++)
        gnutls_pcert_deinit(&c->chain[i]);
    if (c->key != NULL)
        gnutls_privkey_deinit(c->key); /* GnuTLS clears the key's numbers */
    free(c);
}

/* 1 when key is the private key of the leaf certificate's public key. */
static int key_matches(const sh_tls_cred *c)
{
    unsigned char a[KEY_ID_MAX], b[KEY_ID_MAX];
    size_t alen = sizeof(a), blen = sizeof(b);
    gnutls_pubkey_t pub = NULL;
    int ok = 0;

    if (gnutls_pubkey_init(&pub) < 0)
        return 0;
    if (gnutls_pubkey_import_privkey(pub, c->key, 0, 0) >= 0 &&
        gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) >= 0 &&
        gnutls_pubkey_get_key_id(c->chain[0].pubkey, GNUTLS_KEYID_USE_SHA256, b, &blen) >= 0)
        ok = alen == blen && sodium_memcmp(a, b, alen) == 0; /* public ids */
    gnutls_pubkey_deinit(pub);
    return ok;
}

static sh_status parse_chain(sh_tls_cred *c, const gnutls_datum_t *pem)
{
    unsigned n = SH_TLS_CHAIN_MAX;
    int ret = gnutls_pcert_list_import_x509_raw(c->chain, &n, pem, GNUTLS_X509_FMT_PEM,
                                                GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);

    if (ret < 0 || n == 0) {
        sh_log_event(SH_LOG_ERROR, "tls_cert_invalid", "error",
                     ret < 0 ? gnutls_strerror_name(ret) : "GNUTLS_E_NO_CERTIFICATE_FOUND");
        return SH_ERR_IO;
    }
    c->nchain = n;
    return SH_OK;
}

static sh_status parse_key(sh_tls_cred *c, const gnutls_datum_t *pem)
{
    int ret = gnutls_privkey_init(&c->key);

    if (ret >= 0)
        ret = gnutls_privkey_import_x509_raw(c->key, pem, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (ret < 0) {
        sh_log_event(SH_LOG_ERROR, "tls_key_invalid", "error", gnutls_strerror_name(ret));
        return SH_ERR_IO;
    }
    return SH_OK;
}

/* Logs the leaf certificate's SHA-256 fingerprint (what `openssl x509
 * -fingerprint -sha256` prints, without colons) and warns when it is out of
 * its validity period: a reload that an operator can check. */
static void log_loaded(const sh_tls_cred *c, const char *event)
{
    unsigned char fp[32];
    char hex[2 * sizeof(fp) + 1];
    size_t fplen = sizeof(fp);
    gnutls_x509_crt_t crt = NULL;
    time_t now = time(NULL);

    if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &c->chain[0].cert, fp, &fplen) < 0 ||
        fplen != sizeof(fp))
        snprintf(hex, sizeof(hex), "unknown");
    else
        sodium_bin2hex(hex, sizeof(hex), fp, fplen);
    sh_log_event(SH_LOG_INFO, event, "sha256", hex);
    if (gnutls_x509_crt_init(&crt) < 0)
        return;
    if (gnutls_x509_crt_import(crt, &c->chain[0].cert, GNUTLS_X509_FMT_DER) >= 0 &&
        (gnutls_x509_crt_get_expiration_time(crt) < now ||
         gnutls_x509_crt_get_activation_time(crt) > now))
        sh_log_event(SH_LOG_WARN, "tls_cert_not_valid_now", "sha256", hex);
    gnutls_x509_crt_deinit(crt);
}

/* Reads, parses and checks both files into a new credential (refs 1). */
static sh_status cred_load(sh_tls *t, sh_tls_cred **out)
{
    uint8_t *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    sh_tls_cred *c = calloc(1, sizeof(*c));
    sh_status rc;

    if (c == NULL)
        return SH_ERR_NOMEM;
    c->refs = 1;
    c->owner = t;
    if ((rc = read_file(t->cert_path, &CERT_EVENTS, &cert, &cert_len)) != SH_OK ||
        (rc = read_file(t->key_path, &KEY_EVENTS, &key, &key_len)) != SH_OK)
        goto out;
    if ((rc = parse_chain(c, &(gnutls_datum_t){cert, (unsigned)cert_len})) != SH_OK ||
        (rc = parse_key(c, &(gnutls_datum_t){key, (unsigned)key_len})) != SH_OK)
        goto out;
    if (!key_matches(c)) {
        sh_log_event(SH_LOG_ERROR, "tls_key_does_not_match_cert", NULL, NULL);
        rc = SH_ERR_IO;
        goto out;
    }
    *out = c;
    c = NULL;
out:
    wipe_free(key);
    wipe_free(cert);
    cred_free(c);
    return rc;
}

static int copy_path(char *dst, const char *src)
{
    int n = snprintf(dst, PATH_MAX_LEN, "%s", src);

    return n > 0 && n < PATH_MAX_LEN ? 0 : -1;
}

sh_status sh_tls_open(const char *cert_path, const char *key_path, sh_tls **out)
{
    sh_tls *t = calloc(1, sizeof(*t));
    sh_status rc;

    if (t == NULL)
        return SH_ERR_NOMEM;
    if (copy_path(t->cert_path, cert_path) != 0 || copy_path(t->key_path, key_path) != 0) {
        sh_log_event(SH_LOG_ERROR, "tls_path_too_long", NULL, NULL);
        free(t);
        return SH_ERR_IO;
    }
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return SH_ERR_NOMEM;
    }
    if ((rc = cred_load(t, &t->current)) != SH_OK) {
        sh_tls_free(t);
        return rc;
    }
    log_loaded(t->current, "tls_cert_loaded");
    *out = t;
    return SH_OK;
}

sh_status sh_tls_reload(sh_tls *t)
{
    sh_tls_cred *fresh = NULL, *old;
    sh_status rc = cred_load(t, &fresh);

    if (rc != SH_OK) {
        sh_log_event(SH_LOG_ERROR, "tls_reload_failed", NULL, NULL);
        return rc;
    }
    pthread_mutex_lock(&t->lock);
    old = t->current;
    t->current = fresh;
    pthread_mutex_unlock(&t->lock);
    sh_tls_release(old); /* freed now, or when its last connection closes */
    log_loaded(fresh, "tls_reloaded");
    return SH_OK;
}

sh_tls_cred *sh_tls_acquire(sh_tls *t)
{
    sh_tls_cred *c;

    pthread_mutex_lock(&t->lock);
    c = t->current;
    c->refs++;
    pthread_mutex_unlock(&t->lock);
    return c;
}

void sh_tls_release(sh_tls_cred *c)
{
    unsigned left;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->owner->lock);
    left = --c->refs;
    pthread_mutex_unlock(&c->owner->lock);
    if (left == 0)
        cred_free(c);
}

void sh_tls_cred_parts(sh_tls_cred *c, gnutls_pcert_st **chain, unsigned *nchain,
                       gnutls_privkey_t *key)
{
    *chain = c->chain;
    *nchain = c->nchain;
    *key = c->key;
}

void sh_tls_free(sh_tls *t)
{
    if (t == NULL)
        return;
    sh_tls_release(t->current);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
