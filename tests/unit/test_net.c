/* test_net.c - unit tests of service/net.c: libvirt URIs' endpoints and the bounded TCP probe.
 *
 * The probe is what keeps a destination that drops packets from holding a
 * thread for minutes, so its tests are about time: the black-holed port
 * (tests/support/blackhole.h) must cost the bound and not much more, the
 * bounds being generous ones for a loaded machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service/net.h"
#include "tests/support/blackhole.h"
#include "tests/support/check.h"

static void expect_endpoint(const char *uri, const char *host, int port)
{
    char h[256] = "untouched";
    int p = -1;

    if (!md_net_uri_endpoint(uri, h, sizeof h, &p))
        fail_msg("%s: no endpoint, want %s:%d", uri, host, port);
    if (strcmp(h, host) != 0 || p != port)
        fail_msg("%s: %s:%d, want %s:%d", uri, h, p, host, port);
}

static void expect_no_endpoint(const char *uri)
{
    char h[256] = "untouched";
    int p = -1;

    if (md_net_uri_endpoint(uri, h, sizeof h, &p))
        fail_msg("%s: endpoint %s:%d, want none", uri, h, p);
    assert_string_equal(h, "untouched");
    assert_int_equal(p, -1);
}

static void uri_endpoint_is_the_transport_port_of_the_uri_host(void **state)
{
    (void)state;
    expect_endpoint("qemu+tcp://10.0.0.2/system", "10.0.0.2", 16509);
    expect_endpoint("qemu+tcp://node-b:1234/system", "node-b", 1234);
    expect_endpoint("qemu+tls://node-b/system", "node-b", 16514);
    expect_endpoint("qemu://node-b/system", "node-b", 16514);
    expect_endpoint("qemu+ssh://root@node-b/system?keyfile=/k", "node-b", 22);
    expect_endpoint("qemu+libssh2://node-b:2222/system", "node-b", 2222);
    expect_endpoint("qemu+tcp://[fd00::2]/system", "fd00::2", 16509);
    expect_endpoint("qemu+tcp://[fd00::2]:16000/system", "fd00::2", 16000);
    expect_endpoint("qemu+tcp://node-b", "node-b", 16509);
}

static void uri_without_a_remote_tcp_host_has_no_endpoint(void **state)
{
    (void)state;
    expect_no_endpoint("qemu:///system");
    expect_no_endpoint("test:///default");
    expect_no_endpoint("qemu+unix:///system");
    expect_no_endpoint("qemu+ext://node-b/system?command=/bin/x");
    expect_no_endpoint("qemu+tcp://node-b:0/system");
    expect_no_endpoint("qemu+tcp://node-b:99999/system");
    expect_no_endpoint("qemu+tcp://node-b:x/system");
    expect_no_endpoint("qemu+tcp://[fd00::2/system");
    expect_no_endpoint("not a uri");
}

static void probe_of_a_listening_port_succeeds(void **state)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    md_err err = { "" };

    (void)state;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(md_net_probe("127.0.0.1", ntohs(a.sin_port), 2000, &err), MD_OK);
    close(fd);
}

/* A port nobody listens on answers with a reset at once: no wait. */
static void probe_of_a_closed_port_fails_at_once(void **state)
{
    md_err err = { "" };
    int64_t t0 = md_test_now_ms();

    (void)state;
    assert_int_equal(md_net_probe("127.0.0.1", 1, 60000, &err), MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "127.0.0.1 port 1"));
    assert_non_null(strstr(err.msg, "refused"));
    /* Generous: the point is that it does not wait for the 60 s bound. */
    assert_true(md_test_now_ms() - t0 < 10000);
}

/* The fault itself: without the bound, connect() would wait minutes. */
static void probe_of_a_black_holed_port_gives_up_at_its_bound(void **state)
{
    md_test_blackhole b;
    md_err err = { "" };

    (void)state;
    if (!md_test_blackhole_open(&b))
        fail_msg("cannot make a black-holed port on this machine");
    int64_t t0 = md_test_now_ms();
    md_status st = md_net_probe("127.0.0.1", b.port, 500, &err);
    int64_t took = md_test_now_ms() - t0;
    md_test_blackhole_close(&b);

    assert_int_equal(st, MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "does not answer"));
    assert_non_null(strstr(err.msg, "500 ms"));
    /* It waited for the bound, and gave up soon after it (generously). */
    assert_true(took >= 450);
    assert_true(took < 5000);
}

static void probe_of_a_name_that_does_not_resolve_is_invalid(void **state)
{
    md_err err = { "" };

    (void)state;
    assert_int_equal(md_net_probe("no-such-host.invalid", 16509, 500, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no-such-host.invalid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uri_endpoint_is_the_transport_port_of_the_uri_host),
        cmocka_unit_test(uri_without_a_remote_tcp_host_has_no_endpoint),
        cmocka_unit_test(probe_of_a_listening_port_succeeds),
        cmocka_unit_test(probe_of_a_closed_port_fails_at_once),
        cmocka_unit_test(probe_of_a_black_holed_port_gives_up_at_its_bound),
        cmocka_unit_test(probe_of_a_name_that_does_not_resolve_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
