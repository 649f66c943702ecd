/* blackhole.h - a local TCP port that drops connection attempts, as a black-holed host does.
 *
 * A destination whose packets are dropped cannot be had without network
 * namespaces or a firewall, and an address outside the machine is no
 * better (in some sandboxes every address answers). What the kernel does
 * with a listening socket whose accept queue is full is the same thing
 * seen from the client: it drops the SYN, so connect() neither succeeds nor
 * fails until TCP gives up (minutes). md_test_blackhole_open() makes such a
 * socket on 127.0.0.1 and fills its queue. Plain POSIX; any thread.
 */
#ifndef MD_TEST_BLACKHOLE_H
#define MD_TEST_BLACKHOLE_H

#include <stdbool.h>

#define MD_TEST_BLACKHOLE_FILL 16

typedef struct md_test_blackhole {
    int port; /* on 127.0.0.1 */
    int listener;
    int fillers[MD_TEST_BLACKHOLE_FILL];
    int nfillers;
} md_test_blackhole;

/* Opens the port and fills its accept queue, then checks that one more
 * connection attempt gets no answer within 300 ms. Returns false (closing
 * everything) when it cannot, and then writes why to stderr. */
bool md_test_blackhole_open(md_test_blackhole *b);

/* Closes the port and the connections that filled it, and leaves b closed:
 * a second close (or one after a failed open) does nothing. */
void md_test_blackhole_close(md_test_blackhole *b);

#endif /* MD_TEST_BLACKHOLE_H */
