/* spool.c - .eml files in a directory. */
#include "mail/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_MAX_LEN 1024

sh_status sh_spool_open(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return SH_ERR_IO;
    return SH_OK;
}

sh_status sh_spool_write(const char *dir, const sh_id *msg_id, const char *msg, size_t len)
{
    char tmp[PATH_MAX_LEN], path[PATH_MAX_LEN];
    sh_id_hex hex;
    sh_status rc = SH_ERR_IO;
    int fd, n1, n2;

    sh_id_to_hex(msg_id, &hex);
    n1 = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, hex.s);
    n2 = snprintf(path, sizeof(path), "%s/%s.eml", dir, hex.s);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(tmp) || (size_t)n2 >= sizeof(path))
        return SH_ERR_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return SH_ERR_IO;
    if (write(fd, msg, len) == (ssize_t)len && fsync(fd) == 0)
        rc = SH_OK;
    close(fd);
    if (rc == SH_OK && rename(tmp, path) != 0)
        rc = SH_ERR_IO;
    if (rc != SH_OK)
        unlink(tmp);
    return rc;
}
