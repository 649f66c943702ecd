/* test_http_limits.c - the HTTP limits on the wire: refusals before the body, connections, deadline.
 *
 * Each test starts its own migrationd process on the simulator (as
 * test_http.c does) with the api settings it is about, and talks to it
 * through raw TCP sockets, because what is checked is what libcurl hides:
 * that an answer comes while the body has not been sent, that a
 * connection is closed without an answer, and which source address a
 * connection comes from (the whole of 127.0.0.0/8 is loopback, so a socket
 * bound to 127.0.0.2 is another client to the daemon on 127.0.0.1).
 *
 * Every read and every wait is bounded; the daemons are killed by the
 * group teardown if a test left one running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/check.h"
#include "tests/support/http.h"

#define IDLE1 "11111111-1111-4111-8111-111111111111"
#define GHOST "99999999-9999-4999-8999-999999999999"

#define MAX_BODY 8192 /* api.max_body_bytes of every daemon here */
#define PER_CLIENT 4  /* api.max_connections_per_client of the limits daemon */
#define DEADLINE_S 2  /* api.request_timeout_s of the limits daemon */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char domains[] = "        { name = \"vm-idle-1\"; uuid = \"" IDLE1
                              "\"; ram_mib = 1024; }\n";

/* No authentication; small limits and a short deadline. */
static const md_test_daemon_config limits_config = {
    .max_concurrent = 2,
    .api = "max_body_bytes = " STR(MAX_BODY) "; max_connections_per_client = " STR(
        PER_CLIENT) "; request_timeout_s = " STR(DEADLINE_S) ";",
    .domains = domains,
};

/* Keystone authentication against an address where nothing listens: a
 * request without a token is refused without asking Keystone, one with a
 * token finds it unreachable. The daemon starts without Keystone. */
static void keystone_section(FILE *f)
{
    fprintf(f, "keystone = { auth_url = \"http://127.0.0.1:1/v3\"; username = \"migrationd\";\n"
               "             password = \"secret\"; timeout_ms = 500; };\n");
}

static const md_test_daemon_config keystone_config = {
    .max_concurrent = 2,
    .api = "auth_strategy = \"keystone\"; max_body_bytes = " STR(MAX_BODY) ";",
    .domains = domains,
    .sections = keystone_section,
};

static const md_test_daemon_config default_config = {
    .max_concurrent = 2,
    .api = "max_body_bytes = " STR(MAX_BODY) ";",
    .domains = domains,
};

static md_test_daemon d;

static int group_setup(void **state)
{
    (void)state;
    md_test_http_global_init();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    md_test_daemon_close(&d);
    md_test_http_global_cleanup();
    return 0;
}

/* Starts d on cfg (each test has its own daemon). */
static void start(const char *tag, const md_test_daemon_config *cfg)
{
    md_test_daemon_close(&d);
    memset(&d, 0, sizeof d);
    if (md_test_daemon_init(&d, tag, cfg) != 0 || md_test_daemon_start(&d) != 0)
        fail_msg("cannot start the daemon for %s", tag);
}

static void stop(void)
{
    md_test_daemon_expect_clean_stop(&d);
    md_test_daemon_close(&d);
    memset(&d, 0, sizeof d);
}

/* ---- raw connections --------------------------------------------------------------- */

/* A connection from source address src to the daemon; fails the test when
 * the kernel refuses it (the daemon's limits act after the connection). */
static int raw_connect(const char *src)
{
    struct sockaddr_in me = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons((uint16_t)atoi(strrchr(d.base, ':') + 1));
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
        fail_msg("connect from %s to %s: %s", src, d.base, strerror(errno));
    return fd;
}

/* Sends n bytes; false when the daemon has closed the connection. */
static bool raw_send(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        s += k;
        n -= (size_t)k;
    }
    return true;
}

/* Reads one response within timeout_ms into buf (NUL-terminated: the
 * header lines and the body of its Content-Length). Returns its status; 0
 * when the daemon closed the connection before a whole response came; -1
 * when none came in time. */
static int raw_response(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t have = 0;
    int64_t until = md_test_now_ms() + timeout_ms;

    buf[0] = '\0';
    for (;;) {
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
            if (have >= (size_t)(end + 4 - buf) + body)
                return atoi(buf + 9);
        }
        int left = (int)(until - md_test_now_ms());
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, left) == 0)
            return -1;
        if (have + 1 >= len)
            fail_msg("response larger than %zu bytes", len);
        ssize_t k = recv(fd, buf + have, len - have - 1, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        have += (size_t)k;
        buf[have] = '\0';
    }
}

/* True when the daemon closes the connection (end of file or a reset)
 * within timeout_ms, reading and dropping whatever comes before. */
static bool raw_closed_within(int fd, int timeout_ms)
{
    char buf[512];
    int64_t until = md_test_now_ms() + timeout_ms;

    for (;;) {
        int left = (int)(until - md_test_now_ms());
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, left) == 0)
            return false;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k == 0 || (k < 0 && errno != EINTR))
            return true;
    }
}

/* GET path on a new connection from src; returns the status as
 * raw_response() does, the response in buf. */
static int raw_get(const char *src, const char *path, char *buf, size_t len)
{
    char req[256];
    int fd = raw_connect(src);

    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    int status = raw_send(fd, req, strlen(req)) ? raw_response(fd, buf, len, 5000) : 0;
    close(fd);
    return status;
}

/* How many records the daemon lists. */
static size_t count_records(void)
{
    char buf[65536];

    assert_int_equal(raw_get("127.0.0.1", "/v1/os-migrations", buf, sizeof buf), 200);
    json_object *j = json_tokener_parse(strstr(buf, "\r\n\r\n") + 4);
    assert_non_null(j);
    size_t n = json_object_array_length(md_test_json_get(j, "migrations"));
    json_object_put(j);
    return n;
}

/* Sends the headers of a request with a body of length bytes announced
 * (and extra header lines, each ending in CRLF), but none of the body, on
 * a new connection from src, and returns the answer's status (the answer
 * in buf). The connection must then be closed by the daemon: it never
 * read the body. */
static int headers_only(const char *src, const char *method, const char *path, long length,
                        const char *extra, char *buf, size_t len)
{
    char req[1024];
    int fd = raw_connect(src);

    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %ld\r\n%s\r\n",
             method, path, length, extra ? extra : "");
    assert_true(raw_send(fd, req, strlen(req)));
    int status = raw_response(fd, buf, len, 5000);
    if (status > 0 && !raw_closed_within(fd, 5000))
        fail_msg("%s %s: answered %d but the connection stayed open", method, path, status);
    close(fd);
    return status;
}

static void expect_fault_named(const char *buf, const char *name)
{
    const char *body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    json_object *j = json_tokener_parse(body + 4);
    if (!j || !json_object_object_get_ex(j, name, NULL))
        fail_msg("expected a %s fault, got: %s", name, buf);
    json_object_put(j);
}

/* ---- refusals on the headers --------------------------------------------------------- */

static void a_body_over_the_limit_or_without_a_route_is_refused_before_it_is_sent(void **state)
{
    char buf[4096];

    (void)state;
    start("http-precheck", &default_config);
    /* 413 on the announced length: the daemon answers though not one byte
     * of the million was sent, and closes the connection. */
    assert_int_equal(headers_only("127.0.0.1", "POST", "/v1/os-migrations", 1000000, NULL, buf,
                                  sizeof buf),
                     413);
    expect_fault_named(buf, "overLimit");
    assert_non_null(strcasestr(buf, "\r\nConnection: close"));
    /* A client that waits for "100 Continue" gets the refusal instead. */
    assert_int_equal(headers_only("127.0.0.1", "PUT", "/v1/os-migrations/" GHOST, MAX_BODY + 1,
                                  "Expect: 100-continue\r\n", buf, sizeof buf),
                     413);
    assert_int_equal(strncmp(buf, "HTTP/1.1 413", 12), 0);
    /* No route, or not this method: 404 and 405 before the body. */
    assert_int_equal(headers_only("127.0.0.1", "POST", "/nothing", 500, NULL, buf, sizeof buf),
                     404);
    expect_fault_named(buf, "itemNotFound");
    assert_int_equal(headers_only("127.0.0.1", "POST", "/healthcheck", 500, NULL, buf, sizeof buf),
                     405);
    /* A body at the limit is waited for and judged on its content. */
    int fd = raw_connect("127.0.0.1");
    const char *body = "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", "
                       "\"dest_compute\": \"node-b\"}}";
    char req[1024];
    snprintf(req, sizeof req,
             "POST /v1/os-migrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Expect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
             strlen(body));
    assert_true(raw_send(fd, req, strlen(req)));
    assert_int_equal(raw_response(fd, buf, sizeof buf, 5000), 100);
    assert_true(raw_send(fd, body, strlen(body)));
    assert_int_equal(raw_response(fd, buf, sizeof buf, 5000), 202);
    close(fd);
    /* Nothing refused created anything. */
    assert_int_equal(count_records(), 1);
    stop();
}

static void a_write_without_a_token_is_refused_before_its_body_under_keystone(void **state)
{
    char buf[4096];

    (void)state;
    start("http-precheck-ks", &keystone_config);
    assert_int_equal(headers_only("127.0.0.1", "POST", "/v1/os-migrations", 4000, NULL, buf,
                                  sizeof buf),
                     401);
    expect_fault_named(buf, "unauthorized");
    assert_int_equal(headers_only("127.0.0.1", "POST", "/v2.1/servers/" IDLE1 "/action", 4000, NULL,
                                  buf, sizeof buf),
                     401);
    /* A token that cannot be validated (Keystone unreachable): 503, still
     * before the body. */
    assert_int_equal(headers_only("127.0.0.1", "PUT", "/v1/os-migrations/" GHOST, 4000,
                                  "X-Auth-Token: junk\r\n", buf, sizeof buf),
                     503);
    /* Size comes first, as in the ladder. */
    assert_int_equal(headers_only("127.0.0.1", "POST", "/v1/os-migrations", MAX_BODY + 1, NULL, buf,
                                  sizeof buf),
                     413);
    /* The public routes answer. */
    assert_int_equal(raw_get("127.0.0.1", "/healthcheck", buf, sizeof buf), 200);
    stop();
}

/* ---- connection limits --------------------------------------------------------------- */

/* A keep-alive connection from src that has had one answer (so the daemon
 * has accepted and counted it). A connection closed without an answer is
 * retried for a while: a client's previous connection may still be
 * counted until the daemon has seen its end. */
static int held_connection(const char *src)
{
    const char *req = "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[4096];
    int64_t until = md_test_now_ms() + 5000;

    for (;;) {
        int fd = raw_connect(src);
        int status = raw_send(fd, req, strlen(req)) ? raw_response(fd, buf, sizeof buf, 5000) : 0;
        if (status == 200)
            return fd;
        close(fd);
        if (status != 0 || md_test_now_ms() > until)
            fail_msg("a connection from %s: %d, want 200", src, status);
        md_test_sleep_ms(50);
    }
}

static void
connections_past_the_per_client_limit_are_refused_and_another_client_is_served(void **state)
{
    int held[PER_CLIENT];
    char buf[4096];

    (void)state;
    start("http-limits", &limits_config);
    /* From 127.0.0.4, which nothing else here uses (the test's libcurl
     * client keeps a connection from 127.0.0.1). */
    for (int i = 0; i < PER_CLIENT; i++)
        held[i] = held_connection("127.0.0.4");
    /* One more from the same address is closed without an answer... */
    assert_int_equal(raw_get("127.0.0.4", "/healthcheck", buf, sizeof buf), 0);
    assert_int_equal(raw_get("127.0.0.4", "/healthcheck", buf, sizeof buf), 0);
    /* ...while other clients are served. */
    assert_int_equal(raw_get("127.0.0.2", "/healthcheck", buf, sizeof buf), 200);
    assert_int_equal(raw_get("127.0.0.1", "/healthcheck", buf, sizeof buf), 200);
    /* A connection that ends frees its place. */
    close(held[0]);
    held[0] = held_connection("127.0.0.4");
    for (int i = 0; i < PER_CLIENT; i++)
        close(held[i]);
    stop();
}

static void a_body_trickled_past_the_request_deadline_is_cut_off(void **state)
{
    char req[512], body[128], buf[4096];

    (void)state;
    start("http-deadline", &limits_config);
    /* A request that would create a migration, padded to 100 bytes sent
     * one a second: 100 s to arrive, against a deadline of 2 s (and an idle
     * timeout of 60 s that a byte a second never trips). */
    snprintf(body, sizeof body, "%-100s",
             "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}");
    size_t n = strlen(body);
    int64_t t0 = md_test_now_ms();
    int fd = raw_connect("127.0.0.3");
    snprintf(req, sizeof req,
             "POST /v1/os-migrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             n);
    assert_true(raw_send(fd, req, strlen(req)));
    size_t sent = 0;
    bool closed = false;
    while (sent < n && !closed) {
        closed = !raw_send(fd, body + sent, 1) || raw_closed_within(fd, 1000);
        sent++;
    }
    int64_t took = md_test_now_ms() - t0;
    close(fd);
    if (!closed)
        fail_msg("the whole body was accepted in %lld ms", (long long)took);
    /* Cut off after the deadline (not before: the clock started before the
     * request line) and long before the body could have arrived; the upper
     * bound is generous, as the behaviour is about not holding on. */
    print_message("cut off after %lld ms, %zu of %zu body bytes sent\n", (long long)took, sent, n);
    assert_true(took >= DEADLINE_S * 1000);
    assert_true(took < 20000);
    assert_true(sent < n);
    /* Nothing it sent was acted on, the daemon says why, and others are
     * served. */
    assert_int_equal(count_records(), 0);
    assert_int_equal(raw_get("127.0.0.3", "/healthcheck", buf, sizeof buf), 200);
    FILE *f = fopen(d.log, "r");
    assert_non_null(f);
    char line[1024];
    bool logged = false;
    while (fgets(line, sizeof line, f))
        logged = logged || (strstr(line, "closed the connection of 127.0.0.3") &&
                            strstr(line, "api.request_timeout_s"));
    fclose(f);
    assert_true(logged);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_body_over_the_limit_or_without_a_route_is_refused_before_it_is_sent),
        cmocka_unit_test(a_write_without_a_token_is_refused_before_its_body_under_keystone),
        cmocka_unit_test(
            connections_past_the_per_client_limit_are_refused_and_another_client_is_served),
        cmocka_unit_test(a_body_trickled_past_the_request_deadline_is_cut_off),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
