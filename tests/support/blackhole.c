/* blackhole.c - a local TCP port that drops connection attempts, as a black-holed host does. */
#include "tests/support/blackhole.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A non-blocking connect to 127.0.0.1:port: the socket, and in *answered
 * whether the handshake completed within wait_ms. -1 on a socket error. */
static int knock(int port, int wait_ms, bool *answered)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct pollfd p;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    *answered = false;
    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        *answered = true;
        return fd;
    }
    if (errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    p = (struct pollfd){ .fd = fd, .events = POLLOUT };
    *answered = poll(&p, 1, wait_ms) == 1;
    return fd;
}

bool md_test_blackhole_open(md_test_blackhole *b)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    bool answered = true;

    memset(b, 0, sizeof *b);
    b->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Backlog 0: the kernel queues one connection, and drops the SYNs of
     * the ones after it while nobody accepts. */
    if (b->listener < 0 || bind(b->listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(b->listener, 0) != 0 || getsockname(b->listener, (struct sockaddr *)&a, &len) != 0) {
        perror("blackhole: cannot listen on 127.0.0.1");
        goto fail;
    }
    b->port = ntohs(a.sin_port);
    /* Fill the queue until an attempt goes unanswered; that one stays, its
     * SYN retried and dropped, as the test's own will be. */
    while (answered && b->nfillers < MD_TEST_BLACKHOLE_FILL) {
        int fd = knock(b->port, 100, &answered);
        if (fd < 0) {
            perror("blackhole: cannot connect to the port");
            goto fail;
        }
        b->fillers[b->nfillers++] = fd;
    }
    if (answered) {
        fprintf(stderr, "blackhole: %d connections to a port nobody accepts on all answered\n",
                b->nfillers);
        goto fail;
    }
    int fd = knock(b->port, 300, &answered);
    if (fd >= 0)
        close(fd);
    if (fd < 0 || answered) {
        fprintf(stderr, "blackhole: the port answers once its queue is full\n");
        goto fail;
    }
    return true;

fail:
    md_test_blackhole_close(b);
    return false;
}

void md_test_blackhole_close(md_test_blackhole *b)
{
    for (int i = 0; i < b->nfillers; i++)
        close(b->fillers[i]);
    if (b->listener >= 0)
        close(b->listener);
    memset(b, 0, sizeof *b);
    b->listener = -1;
}
