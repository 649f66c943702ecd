/* net.c - bounded checks that another host answers, before a call that would wait for it. */
#include "service/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "service/clock.h"

bool md_net_uri_endpoint(const char *uri, char *host, size_t hostlen, int *port)
{
    const char *sep = strstr(uri, "://");
    const char *plus, *start, *end, *at, *colon = NULL;
    char transport[32] = "", h[256];
    int p = 0;

    if (!sep)
        return false;
    plus = memchr(uri, '+', (size_t)(sep - uri));
    if (plus) {
        size_t tlen = (size_t)(sep - plus - 1);
        if (tlen == 0 || tlen >= sizeof transport)
            return false;
        memcpy(transport, plus + 1, tlen);
        transport[tlen] = '\0';
    }
    start = sep + 3;
    end = start + strcspn(start, "/?");
    at = memchr(start, '@', (size_t)(end - start));
    if (at)
        start = at + 1;
    if (start == end)
        return false; /* qemu:///system: this node's own libvirtd */
    if (*start == '[') {
        const char *close = memchr(start, ']', (size_t)(end - start));
        if (!close || (close + 1 != end && close[1] != ':'))
            return false;
        if (close + 1 != end)
            colon = close + 1;
        start++;
        if ((size_t)(close - start) >= sizeof h || close == start)
            return false;
        memcpy(h, start, (size_t)(close - start));
        h[close - start] = '\0';
    } else {
        colon = memchr(start, ':', (size_t)(end - start));
        const char *hend = colon ? colon : end;
        if ((size_t)(hend - start) >= sizeof h || hend == start)
            return false;
        memcpy(h, start, (size_t)(hend - start));
        h[hend - start] = '\0';
    }
    if (colon) {
        for (const char *d = colon + 1; d < end; d++) {
            if (*d < '0' || *d > '9' || p > 65535)
                return false;
            p = p * 10 + (*d - '0');
        }
        if (p < 1 || p > 65535)
            return false;
    }
    if (strcmp(transport, "tcp") == 0)
        p = p ? p : 16509;
    else if (transport[0] == '\0' || strcmp(transport, "tls") == 0)
        p = p ? p : 16514;
    else if (strcmp(transport, "ssh") == 0 || strcmp(transport, "libssh") == 0 ||
             strcmp(transport, "libssh2") == 0)
        p = p ? p : 22;
    else
        return false; /* unix, ext: not a TCP connection to another host */
    if (strlen(h) >= hostlen)
        return false;
    memcpy(host, h, strlen(h) + 1);
    *port = p;
    return true;
}

/* One address: a non-blocking connect, then a wait for the handshake until
 * deadline (monotonic ms). 0 connected, ETIMEDOUT, or the connect's errno. */
static int try_connect(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int rc = 0;

    if (fd < 0)
        return errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = errno;
        while (rc == EINPROGRESS || rc == EINTR) {
            int64_t left = deadline - md_clock_ms(CLOCK_MONOTONIC);
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            if (left <= 0) {
                rc = ETIMEDOUT;
                break;
            }
            int n = poll(&pfd, 1, (int)left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = errno;
            } else if (n == 0) {
                rc = ETIMEDOUT;
            } else {
                socklen_t len = sizeof rc;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &len) != 0)
                    rc = errno;
            }
            break;
        }
    }
    close(fd);
    return rc;
}

md_status md_net_probe(const char *host, int port, int timeout_ms, md_err *err)
{
    struct addrinfo hints, *res = NULL;
    char service[16], buf[128];
    int64_t deadline = md_clock_ms(CLOCK_MONOTONIC) + timeout_ms;
    int rc = ETIMEDOUT;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof service, "%d", port);
    int g = getaddrinfo(host, service, &hints, &res);
    if (g != 0)
        return md_err_set(err, MD_ERR_INVALID, "cannot resolve %s: %s", host, gai_strerror(g));
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        rc = try_connect(ai, deadline);
        if (rc == 0 || md_clock_ms(CLOCK_MONOTONIC) >= deadline)
            break;
    }
    freeaddrinfo(res);
    if (rc == 0)
        return MD_OK;
    if (rc == ETIMEDOUT)
        return md_err_set(err, MD_ERR_UNAVAILABLE,
                          "%s port %d does not answer: no TCP handshake within %d ms (the host "
                          "is down or its packets are dropped)",
                          host, port, timeout_ms);
    return md_err_set(err, MD_ERR_UNAVAILABLE, "%s port %d: %s", host, port,
                      strerror_r(rc, buf, sizeof buf));
}
