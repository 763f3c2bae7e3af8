/* sdnotify.c - READY/STOPPING/WATCHDOG datagrams to $NOTIFY_SOCKET (see sdnotify.h). */
#include "core/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills addr from $NOTIFY_SOCKET; its length, or 0 without a usable name. */
static socklen_t notify_addr(struct sockaddr_un *addr)
{
    const char *name = getenv("NOTIFY_SOCKET");
    size_t len;

    if (name == NULL || (name[0] != '/' && name[0] != '@'))
        return 0;
    len = strlen(name);
    if (len < 2 || len >= sizeof(addr->sun_path))
        return 0;
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, name, len);
    /* an abstract socket's name starts with a NUL byte and has no terminator */
    if (name[0] == '@')
        addr->sun_path[0] = '\0';
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
}

int sh_sdnotify(const char *state)
{
    struct sockaddr_un addr;
    socklen_t alen = notify_addr(&addr);
    size_t len = strlen(state);
    ssize_t n;
    int fd;

    if (alen == 0)
        return 0;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    do
        n = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, alen);
    while (n < 0 && errno == EINTR);
    close(fd);
    return n == (ssize_t)len ? 1 : -1;
}

/* Parses a decimal number > 0 that fits in int64_t; 0 if not one. */
static int64_t positive(const char *text)
{
    char *end;
    long long v;

    if (text == NULL || *text < '0' || *text > '9')
        return 0;
    errno = 0;
    v = strtoll(text, &end, 10);
    return errno != 0 || *end != '\0' || v <= 0 ? 0 : (int64_t)v;
}

int64_t sh_sdnotify_watchdog_usec(void)
{
    const char *pid = getenv("WATCHDOG_PID");

    /* the variables may have been inherited from a parent the watchdog is for */
    if (pid != NULL && positive(pid) != (int64_t)getpid())
        return 0;
    return positive(getenv("WATCHDOG_USEC"));
}
