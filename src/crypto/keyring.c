/*
 * keyring.c - loading or creating the master key and deriving purpose keys.
 *
 * The key file holds 64 hex characters. It is created with O_EXCL so two
 * processes starting at once cannot both write a key; the loser reads the
 * winner's. A file readable by group or others is refused: a master key that
 * anyone on the machine can read protects nothing.
 */
#include "crypto/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/log.h"

#define KDF_CONTEXT "safehous"
#define HEX_LEN ((size_t)SH_KEY_LEN * 2)

struct sh_keyring {
    uint8_t master[SH_KEY_LEN];
    uint8_t keys[SH_KEY__COUNT][SH_KEY_LEN];
};

static int parse_hex_key(const char *hex, size_t len, uint8_t key[SH_KEY_LEN])
{
    size_t n = 0;

    while (len > 0 && (hex[len - 1] == '\n' || hex[len - 1] == '\r' || hex[len - 1] == ' '))
        len--;
    if (len != HEX_LEN)
        return -1;
    if (sodium_hex2bin(key, SH_KEY_LEN, hex, len, NULL, &n, NULL) != 0 || n != SH_KEY_LEN)
        return -1;
    return 0;
}

static sh_status create_key_file(const char *path, uint8_t key[SH_KEY_LEN])
{
    char hex[HEX_LEN + 2];
    sh_status rc = SH_ERR_IO;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0)
        return errno == EEXIST ? SH_ERR_CONFLICT : SH_ERR_IO;
    randombytes_buf(key, SH_KEY_LEN);
    sodium_bin2hex(hex, sizeof(hex), key, SH_KEY_LEN);
    hex[HEX_LEN] = '\n';
    if (write(fd, hex, HEX_LEN + 1) == HEX_LEN + 1 && fsync(fd) == 0)
        rc = SH_OK;
    sodium_memzero(hex, sizeof(hex));
    close(fd);
    if (rc != SH_OK)
        unlink(path);
    return rc;
}

static sh_status read_key_file(const char *path, uint8_t key[SH_KEY_LEN])
{
    char buf[HEX_LEN + 8];
    struct stat st;
    ssize_t n;
    sh_status rc = SH_ERR_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        sh_log_event(SH_LOG_ERROR, "master_key_file_unreadable", NULL, NULL);
        return SH_ERR_IO;
    }
    if (fstat(fd, &st) != 0)
        goto out;
    if ((st.st_mode & 077) != 0) {
        sh_log_event(SH_LOG_ERROR, "master_key_file_mode_too_open", NULL, NULL);
        goto out;
    }
    n = read(fd, buf, sizeof(buf));
    if (n > 0 && parse_hex_key(buf, (size_t)n, key) == 0)
        rc = SH_OK;
    else
        sh_log_event(SH_LOG_ERROR, "master_key_file_invalid", NULL, NULL);
out:
    sodium_memzero(buf, sizeof(buf));
    close(fd);
    return rc;
}

static sh_status load_master(const char *path, uint8_t key[SH_KEY_LEN], int *created)
{
    const char *env = getenv("SAFEHOUSE_MASTER_KEY");
    sh_status rc;

    *created = 0;
    if (env != NULL && *env != '\0') {
        if (parse_hex_key(env, strlen(env), key) != 0) {
            sh_log_event(SH_LOG_ERROR, "master_key_env_invalid", NULL, NULL);
            return SH_ERR_INVALID_REQUEST;
        }
        return SH_OK;
    }
    rc = create_key_file(path, key);
    if (rc == SH_OK) {
        *created = 1;
        return SH_OK;
    }
    if (rc != SH_ERR_CONFLICT)
        return rc;
    return read_key_file(path, key);
}

/* Loads the master key (from the file only, or as load_master does) and
 * derives the purpose keys. */
static sh_status open_keyring(const char *key_path, int file_only, sh_keyring **out, int *created)
{
    sh_keyring *kr = sodium_malloc(sizeof(*kr));
    sh_status rc;

    if (kr == NULL)
        return SH_ERR_NOMEM;
    *created = 0;
    rc = file_only ? read_key_file(key_path, kr->master)
                   : load_master(key_path, kr->master, created);
    if (rc != SH_OK) {
        sodium_free(kr);
        return rc;
    }
    for (int p = 1; p < SH_KEY__COUNT; p++)
        crypto_kdf_derive_from_key(kr->keys[p], SH_KEY_LEN, (uint64_t)p, KDF_CONTEXT, kr->master);
    sodium_mprotect_readonly(kr);
    *out = kr;
    return SH_OK;
}

sh_status sh_keyring_open(const char *key_path, sh_keyring **out, int *created)
{
    return open_keyring(key_path, 0, out, created);
}

sh_status sh_keyring_open_file(const char *key_path, sh_keyring **out)
{
    int created;

    return open_keyring(key_path, 1, out, &created);
}

void sh_keyring_free(sh_keyring *kr)
{
    if (kr != NULL)
        sodium_free(kr); /* wipes before releasing */
}

const uint8_t *sh_keyring_key(const sh_keyring *kr, enum sh_key_purpose p) { return kr->keys[p]; }
