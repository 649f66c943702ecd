/* test_hv_libvirt.c - unit tests of service/hv_libvirt*.c against libvirt's test driver.
 *
 * libvirt's "test:///default" driver runs inside this process (no libvirtd)
 * and offers one running domain named "test". It supports looking domains
 * up, listing, suspending and resuming them, and registering events; it
 * does not support job statistics, migration tuning, post-copy, aborting
 * jobs or peer-to-peer migration. Those ops are checked for the status
 * they map libvirt's refusal to (MD_ERR_HYPERVISOR with libvirt's message),
 * and for MD_ERR_NOT_FOUND on a missing domain. Real migrations between two
 * libvirtds belong to the integration tests.
 *
 * The test driver's state is shared by every connection of the process, so
 * the tests leave the domain running, as they found it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "service/config.h"
#include "service/hv.h"
#include "tests/support/blackhole.h"
#include "tests/support/check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define TEST_URI "test:///default"
#define UNREACHABLE_URI "qemu+tcp://127.0.0.1:1/system"
#define MISSING_UUID "2f0d7a1c-9d0e-4b8f-8a61-3c4e5f6a7b8c"

typedef struct fixture {
    md_config cfg;
    md_hv *hv;
    char test_uuid[MD_UUID_LEN]; /* the UUID of the domain "test" */
    int events;                  /* events seen by count_events */
} fixture;

static void count_events(void *ctx, const md_hv_event *ev)
{
    fixture *f = ctx;

    (void)ev;
    f->events++;
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    md_hv_domain d;
    md_err err = { "" };

    if (!f)
        return -1;
    md_config_defaults(&f->cfg);
    snprintf(f->cfg.libvirt.uri, sizeof f->cfg.libvirt.uri, "%s", TEST_URI);
    if (md_hv_libvirt_open(&f->cfg, &f->hv, &err) != MD_OK) {
        fprintf(stderr, "cannot open %s: %s\n", TEST_URI, err.msg);
        free(f);
        return -1;
    }
    if (md_hv_lookup(f->hv, "test", &d, &err) != MD_OK) {
        fprintf(stderr, "no domain 'test': %s\n", err.msg);
        md_hv_close(f->hv);
        free(f);
        return -1;
    }
    memcpy(f->test_uuid, d.uuid, sizeof f->test_uuid);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;

    md_hv_close(f->hv);
    free(f);
    return 0;
}

static void test_ops_table_is_complete(void **state)
{
    fixture *f = *state;
    const md_hv_ops *ops = f->hv->ops;

    assert_string_equal(ops->name, "libvirt");
    assert_non_null(ops->close);
    assert_non_null(ops->lookup);
    assert_non_null(ops->list);
    assert_non_null(ops->migrate);
    assert_non_null(ops->job);
    assert_non_null(ops->set_max_downtime);
    assert_non_null(ops->set_max_speed);
    assert_non_null(ops->start_post_copy);
    assert_non_null(ops->suspend);
    assert_non_null(ops->resume);
    assert_non_null(ops->abort_job);
    assert_non_null(ops->locate);
    assert_non_null(ops->dirty_rate_start);
    assert_non_null(ops->dirty_rate_read);
    assert_non_null(ops->free_memory);
    /* libvirt cannot interrupt a migrate call: nothing to release. */
    assert_null(ops->release_waiters);
    md_hv_release_waiters(f->hv);
    /* Open means connected. */
    assert_non_null(ops->connected);
    assert_true(md_hv_connected(f->hv, NULL));
}

static void test_list_returns_the_test_domain(void **state)
{
    fixture *f = *state;
    md_hv_domain *doms = NULL;
    md_err err = { "" };
    size_t n = 0;
    size_t i;
    bool found = false;

    assert_int_equal(md_hv_list(f->hv, &doms, &n, &err), MD_OK);
    assert_true(n >= 1);
    assert_non_null(doms);
    for (i = 0; i < n; i++) {
        assert_int_equal(strlen(doms[i].uuid), 36);
        assert_true(doms[i].name[0] != '\0');
        if (strcmp(doms[i].name, "test") == 0) {
            found = true;
            assert_string_equal(doms[i].uuid, f->test_uuid);
            assert_true(doms[i].active);
            assert_true(doms[i].ram_bytes > 0);
        }
    }
    assert_true(found);
    free(doms);
}

static void test_lookup_by_name_fills_the_domain(void **state)
{
    fixture *f = *state;
    md_hv_domain d;
    md_err err = { "" };

    assert_int_equal(md_hv_lookup(f->hv, "test", &d, &err), MD_OK);
    assert_string_equal(d.name, "test");
    assert_string_equal(d.uuid, f->test_uuid);
    /* The test driver's domain has 8 GiB of maximum memory, reported in KiB. */
    assert_true(d.ram_bytes > 0);
    assert_int_equal(d.ram_bytes % 1024, 0);
    assert_true(d.active);
    assert_false(d.paused);
    assert_true(d.ndisks <= MD_HV_MAX_DISKS);
}

static void test_lookup_by_uuid_finds_the_same_domain(void **state)
{
    fixture *f = *state;
    md_hv_domain d;
    md_err err = { "" };

    assert_int_equal(md_hv_lookup(f->hv, f->test_uuid, &d, &err), MD_OK);
    assert_string_equal(d.name, "test");
    assert_string_equal(d.uuid, f->test_uuid);
}

static void test_lookup_of_missing_domain_is_not_found(void **state)
{
    fixture *f = *state;
    md_hv_domain d;
    md_err err = { "" };

    assert_int_equal(md_hv_lookup(f->hv, "no-such-domain", &d, &err), MD_ERR_NOT_FOUND);
    assert_true(err.msg[0] != '\0');
    err.msg[0] = '\0';
    assert_int_equal(md_hv_lookup(f->hv, MISSING_UUID, &d, &err), MD_ERR_NOT_FOUND);
    assert_true(err.msg[0] != '\0');
    /* err may be NULL. */
    assert_int_equal(md_hv_lookup(f->hv, "no-such-domain", &d, NULL), MD_ERR_NOT_FOUND);
}

static void test_suspend_and_resume_show_in_lookup(void **state)
{
    fixture *f = *state;
    md_hv_domain d;
    md_err err = { "" };

    assert_int_equal(md_hv_suspend(f->hv, f->test_uuid, &err), MD_OK);
    assert_int_equal(md_hv_lookup(f->hv, f->test_uuid, &d, &err), MD_OK);
    assert_true(d.active);
    assert_true(d.paused);
    assert_int_equal(md_hv_resume(f->hv, f->test_uuid, &err), MD_OK);
    assert_int_equal(md_hv_lookup(f->hv, f->test_uuid, &d, &err), MD_OK);
    assert_true(d.active);
    assert_false(d.paused);
}

/* Plain pause and resume raise lifecycle events that are not post-copy:
 * they reach the boundary's callback on the event loop thread and must not
 * become md_hv events. */
static void test_plain_lifecycle_events_are_not_forwarded(void **state)
{
    fixture *f = *state;
    md_err err = { "" };

    f->events = 0;
    md_hv_set_event_handler(f->hv, count_events, f);
    assert_int_equal(md_hv_suspend(f->hv, "test", &err), MD_OK);
    assert_int_equal(md_hv_resume(f->hv, "test", &err), MD_OK);
    md_test_sleep_ms(300);
    md_hv_set_event_handler(f->hv, NULL, NULL);
    assert_int_equal(f->events, 0);
}

static void test_resume_of_running_domain_fails(void **state)
{
    fixture *f = *state;
    md_err err = { "" };
    md_status st = md_hv_resume(f->hv, "test", &err);

    /* The test driver refuses with VIR_ERR_INTERNAL_ERROR ("not paused"),
     * which is a plain hypervisor error; only VIR_ERR_OPERATION_INVALID
     * would be a conflict. */
    assert_int_equal(st, MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "not paused"));
}

static void test_control_ops_on_missing_domain_are_not_found(void **state)
{
    fixture *f = *state;
    md_hv_job job;
    md_err err;

    assert_int_equal(md_hv_job_stats(f->hv, MISSING_UUID, &job, &err), MD_ERR_NOT_FOUND);
    assert_false(job.active);
    assert_int_equal(job.downtime_ms, -1);
    assert_int_equal(md_hv_set_max_downtime(f->hv, MISSING_UUID, 500, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_set_max_speed(f->hv, MISSING_UUID, 0, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_start_post_copy(f->hv, MISSING_UUID, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_suspend(f->hv, MISSING_UUID, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_resume(f->hv, MISSING_UUID, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_abort_job(f->hv, MISSING_UUID, false, &err), MD_ERR_NOT_FOUND);
}

/* Job statistics: the test driver has none (VIR_ERR_NO_SUPPORT). A driver
 * that has them reports an idle domain as inactive. */
static void test_job_of_idle_domain(void **state)
{
    fixture *f = *state;
    md_hv_job job;
    md_err err = { "" };
    md_status st = md_hv_job_stats(f->hv, f->test_uuid, &job, &err);

    if (st == MD_OK) {
        assert_false(job.active);
    } else {
        assert_int_equal(st, MD_ERR_HYPERVISOR);
        assert_non_null(strstr(err.msg, "not supported"));
        assert_false(job.active);
        assert_int_equal(job.downtime_ms, -1);
    }
    /* A running domain with no job has no failed post-copy either. */
    assert_false(job.post_copy_failed);
    assert_false(job.post_copy);
}

/* Unsupported by the test driver: each is a hypervisor error carrying
 * libvirt's message, never a crash or a false success. */
static void test_unsupported_job_controls_are_hypervisor_errors(void **state)
{
    fixture *f = *state;
    md_err err;

    err.msg[0] = '\0';
    assert_int_equal(md_hv_set_max_downtime(f->hv, f->test_uuid, 300, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "virDomainMigrateSetMaxDowntime"));
    err.msg[0] = '\0';
    assert_int_equal(md_hv_set_max_speed(f->hv, f->test_uuid, 100, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "virDomainMigrateSetMaxSpeed"));
    err.msg[0] = '\0';
    assert_int_equal(md_hv_set_max_speed(f->hv, f->test_uuid, 0, &err), MD_ERR_HYPERVISOR);
    assert_true(err.msg[0] != '\0');
    err.msg[0] = '\0';
    assert_int_equal(md_hv_start_post_copy(f->hv, f->test_uuid, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "virDomainMigrateStartPostCopy"));
    err.msg[0] = '\0';
    assert_int_equal(md_hv_abort_job(f->hv, f->test_uuid, false, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "virDomainAbortJobFlags"));
    err.msg[0] = '\0';
    assert_int_equal(md_hv_abort_job(f->hv, f->test_uuid, true, &err), MD_ERR_HYPERVISOR);
    assert_true(err.msg[0] != '\0');
}

static void test_migrate_to_unreachable_host_fails(void **state)
{
    fixture *f = *state;
    md_hv_migrate_args a = {
        .uuid = f->test_uuid,
        .dest_name = "127.0.0.1",
        .dest_uri = UNREACHABLE_URI,
        .migrate_uri = "tcp://127.0.0.1",
        .bandwidth_mibps = 100,
        .parallel_connections = 2,
        .post_copy = true,
        .auto_converge = true,
    };
    md_hv_domain d;
    md_err err = { "" };

    /* The test driver refuses peer-to-peer migration; a real driver fails
     * to reach the port. Either way: a failed migration with a message. */
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_HYPERVISOR);
    assert_true(err.msg[0] != '\0');
    /* The domain is untouched. */
    assert_int_equal(md_hv_lookup(f->hv, f->test_uuid, &d, &err), MD_OK);
    assert_true(d.active);
    assert_false(d.paused);
}

static void test_migrate_argument_errors(void **state)
{
    fixture *f = *state;
    md_hv_migrate_args a = { .uuid = MISSING_UUID, .dest_uri = UNREACHABLE_URI };
    md_err err = { "" };

    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_NOT_FOUND);
    a.uuid = f->test_uuid;
    a.dest_uri = "";
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_INVALID);
    a.dest_uri = NULL;
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_INVALID);
}

/* A resume is the first call's arguments plus the flag. Without libvirtd
 * only its refusals can be seen: our own argument check, the missing
 * domain, and the test driver's refusal of peer-to-peer migration, which is
 * a failed resume that leaves the domain as it was. A real resume is for
 * the integration tests on two hosts. */
static void test_resume_without_post_copy_is_invalid(void **state)
{
    fixture *f = *state;
    md_hv_migrate_args a = {
        .uuid = f->test_uuid,
        .dest_name = "127.0.0.1",
        .dest_uri = UNREACHABLE_URI,
        .migrate_uri = "tcp://127.0.0.1",
        .resume = true,
    };
    md_err err = { "" };

    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "post-copy"));
}

/* A port on 127.0.0.1 that accepts connections (and never talks), for a
 * destination that passes the boundary's reachability check; *port is set.
 * Returns the listening socket. */
static int listening_port(int *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_resume_refused_by_the_driver_leaves_the_domain(void **state)
{
    fixture *f = *state;
    char uri[64];
    int port;
    int lfd = listening_port(&port);
    md_hv_migrate_args a = {
        .uuid = MISSING_UUID,
        .dest_name = "127.0.0.1",
        .dest_uri = uri,
        .migrate_uri = "tcp://127.0.0.1",
        .post_copy = true,
        .resume = true,
    };
    md_hv_domain d;
    md_err err = { "" };

    /* The destination answers the boundary's check (a TCP handshake), so
     * that the call reaches the driver. */
    snprintf(uri, sizeof uri, "qemu+tcp://127.0.0.1:%d/system", port);
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_NOT_FOUND);
    a.uuid = f->test_uuid;
    err.msg[0] = '\0';
    /* "argument unsupported: p2p migration is not supported by the source
     * host": an error that is not about the job's state stays a failure,
     * although a resume maps state refusals to MD_ERR_CONFLICT. */
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "p2p"));
    assert_int_equal(md_hv_lookup(f->hv, f->test_uuid, &d, &err), MD_OK);
    assert_true(d.active);
    assert_false(d.paused);
    close(lfd);
}

/* A destination that drops packets: libvirt's connection would wait for
 * the kernel to give up on the handshake (about 2 minutes); the boundary
 * gives up after MD_HV_PEER_TIMEOUT_MS. The bounds are generous: the point
 * is seconds, not minutes. */
static void test_black_holed_destination_costs_at_most_the_peer_timeout(void **state)
{
    fixture *f = *state;
    md_test_blackhole b;
    md_hv_location loc = MD_HV_LOC_SOURCE;
    char uri[64];
    md_err err = { "" };
    md_hv_migrate_args a = { .uuid = NULL, .dest_name = "127.0.0.1", .dest_uri = uri };

    if (!md_test_blackhole_open(&b))
        fail_msg("cannot make a black-holed port on this machine");
    snprintf(uri, sizeof uri, "qemu+tcp://127.0.0.1:%d/system", b.port);

    /* Not here, so the destination is asked. */
    int64_t t0 = md_test_now_ms();
    md_status st = md_hv_locate(f->hv, MISSING_UUID, uri, &loc, &err);
    int64_t took = md_test_now_ms() - t0;
    assert_int_equal(st, MD_ERR_UNAVAILABLE);
    assert_int_equal(loc, MD_HV_LOC_UNKNOWN);
    assert_non_null(strstr(err.msg, "does not answer"));
    assert_true(took >= MD_HV_PEER_TIMEOUT_MS - 100);
    assert_true(took < MD_HV_PEER_TIMEOUT_MS + 10000);

    /* So does a question about its free memory. */
    uint64_t bytes = 1;
    t0 = md_test_now_ms();
    st = md_hv_free_memory(f->hv, uri, &bytes, &err);
    took = md_test_now_ms() - t0;
    assert_int_equal(st, MD_ERR_UNAVAILABLE);
    assert_int_equal(bytes, 0);
    assert_non_null(strstr(err.msg, "does not answer"));
    assert_true(took < MD_HV_PEER_TIMEOUT_MS + 10000);

    /* A migration to it fails as a migration (the guest stays). */
    a.uuid = f->test_uuid;
    err.msg[0] = '\0';
    t0 = md_test_now_ms();
    st = md_hv_migrate(f->hv, &a, &err);
    took = md_test_now_ms() - t0;
    md_test_blackhole_close(&b);
    assert_int_equal(st, MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "does not answer"));
    assert_true(took < MD_HV_PEER_TIMEOUT_MS + 10000);
}

static void test_locate_running_domain_is_source(void **state)
{
    fixture *f = *state;
    md_hv_location loc = MD_HV_LOC_NOWHERE;
    md_err err = { "" };

    /* Active here: the destination is never asked. */
    assert_int_equal(md_hv_locate(f->hv, f->test_uuid, UNREACHABLE_URI, &loc, &err), MD_OK);
    assert_int_equal(loc, MD_HV_LOC_SOURCE);
}

static void test_locate_with_unreachable_destination_is_unknown(void **state)
{
    fixture *f = *state;
    md_hv_location loc = MD_HV_LOC_SOURCE;
    md_err err = { "" };

    assert_int_equal(md_hv_locate(f->hv, MISSING_UUID, UNREACHABLE_URI, &loc, &err),
                     MD_ERR_UNAVAILABLE);
    assert_int_equal(loc, MD_HV_LOC_UNKNOWN);
    assert_non_null(strstr(err.msg, UNREACHABLE_URI));
}

/* The test driver as the destination: it is reachable, and the domain is
 * not there either. */
static void test_locate_nowhere(void **state)
{
    fixture *f = *state;
    md_hv_location loc = MD_HV_LOC_UNKNOWN;
    md_err err = { "" };

    assert_int_equal(md_hv_locate(f->hv, MISSING_UUID, TEST_URI, &loc, &err), MD_OK);
    assert_int_equal(loc, MD_HV_LOC_NOWHERE);
}

static void test_locate_argument_errors(void **state)
{
    fixture *f = *state;
    md_hv_location loc = MD_HV_LOC_SOURCE;
    md_err err = { "" };

    assert_int_equal(md_hv_locate(f->hv, "test", TEST_URI, &loc, &err), MD_ERR_INVALID);
    assert_int_equal(loc, MD_HV_LOC_UNKNOWN);
    assert_int_equal(md_hv_locate(f->hv, MISSING_UUID, "", &loc, &err), MD_ERR_INVALID);
    assert_int_equal(loc, MD_HV_LOC_UNKNOWN);
}

/* The test driver as the destination answers virNodeGetFreeMemory with
 * its fixed 3 MiB, on a connection opened for the question. */
static void test_free_memory_of_a_reachable_destination(void **state)
{
    fixture *f = *state;
    uint64_t bytes = 0;
    md_err err = { "" };

    assert_int_equal(md_hv_free_memory(f->hv, TEST_URI, &bytes, &err), MD_OK);
    assert_int_equal(bytes, 3 * 1024 * 1024);
}

static void test_free_memory_of_an_unreachable_destination_is_unavailable(void **state)
{
    fixture *f = *state;
    uint64_t bytes = 1;
    md_err err = { "" };

    assert_int_equal(md_hv_free_memory(f->hv, UNREACHABLE_URI, &bytes, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(bytes, 0);
    assert_non_null(strstr(err.msg, UNREACHABLE_URI));
    bytes = 1;
    assert_int_equal(md_hv_free_memory(f->hv, "", &bytes, &err), MD_ERR_INVALID);
    assert_int_equal(bytes, 0);
}

/* The test driver cannot measure a dirty rate (QEMU only): starting is the
 * hypervisor's refusal, and its statistics have no "dirtyrate" group, which
 * reads as no calculation started. A missing domain is not found either
 * way. Real measurements belong to the integration tests. */
static void test_dirty_rate_on_the_test_driver(void **state)
{
    fixture *f = *state;
    md_hv_dirty_rate r = { .measured = true, .bytes_per_s = 1 };
    md_err err = { "" };

    assert_int_equal(md_hv_dirty_rate_start(f->hv, f->test_uuid, 1, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "virDomainStartDirtyRateCalc"));
    assert_int_equal(md_hv_dirty_rate_read(f->hv, f->test_uuid, &r, &err), MD_ERR_CONFLICT);
    assert_false(r.measured);
    assert_int_equal(r.bytes_per_s, 0);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, MISSING_UUID, 1, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_dirty_rate_read(f->hv, MISSING_UUID, &r, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, f->test_uuid, 0, &err), MD_ERR_INVALID);
}

static void test_open_of_unreachable_libvirt_is_unavailable(void **state)
{
    md_config cfg;
    md_hv *hv = (md_hv *)state; /* any non-NULL value: open must reset it */
    md_err err = { "" };

    md_config_defaults(&cfg);
    snprintf(cfg.libvirt.uri, sizeof cfg.libvirt.uri, "%s", UNREACHABLE_URI);
    assert_int_equal(md_hv_libvirt_open(&cfg, &hv, &err), MD_ERR_UNAVAILABLE);
    assert_null(hv);
    assert_non_null(strstr(err.msg, UNREACHABLE_URI));
}

/* A second boundary shares the process-wide event loop with the first;
 * closing it must leave the first one working. */
static void test_two_boundaries_share_the_event_loop(void **state)
{
    fixture *f = *state;
    md_hv *second = NULL;
    md_hv_domain d;
    md_err err = { "" };
    int i;

    for (i = 0; i < 3; i++) {
        assert_int_equal(md_hv_libvirt_open(&f->cfg, &second, &err), MD_OK);
        assert_int_equal(md_hv_lookup(second, "test", &d, &err), MD_OK);
        assert_int_equal(md_hv_suspend(second, "test", &err), MD_OK);
        assert_int_equal(md_hv_resume(second, "test", &err), MD_OK);
        md_hv_close(second);
        second = NULL;
    }
    assert_int_equal(md_hv_lookup(f->hv, "test", &d, &err), MD_OK);
    assert_false(d.paused);
}

/* The last boundary to close stops the event loop; a new one starts it. */
static void test_reopen_after_last_close(void **state)
{
    fixture *f = *state;
    md_hv *hv = NULL;
    md_hv_domain d;
    md_err err = { "" };

    md_hv_close(f->hv);
    f->hv = NULL;
    assert_int_equal(md_hv_libvirt_open(&f->cfg, &hv, &err), MD_OK);
    assert_int_equal(md_hv_lookup(hv, f->test_uuid, &d, &err), MD_OK);
    f->hv = hv;
}

static void test_close_accepts_null(void **state)
{
    fixture *f = *state;

    f->hv->ops->close(NULL);
    md_hv_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_table_is_complete),
        cmocka_unit_test(test_list_returns_the_test_domain),
        cmocka_unit_test(test_lookup_by_name_fills_the_domain),
        cmocka_unit_test(test_lookup_by_uuid_finds_the_same_domain),
        cmocka_unit_test(test_lookup_of_missing_domain_is_not_found),
        cmocka_unit_test(test_suspend_and_resume_show_in_lookup),
        cmocka_unit_test(test_plain_lifecycle_events_are_not_forwarded),
        cmocka_unit_test(test_resume_of_running_domain_fails),
        cmocka_unit_test(test_control_ops_on_missing_domain_are_not_found),
        cmocka_unit_test(test_job_of_idle_domain),
        cmocka_unit_test(test_unsupported_job_controls_are_hypervisor_errors),
        cmocka_unit_test(test_migrate_to_unreachable_host_fails),
        cmocka_unit_test(test_migrate_argument_errors),
        cmocka_unit_test(test_resume_without_post_copy_is_invalid),
        cmocka_unit_test(test_resume_refused_by_the_driver_leaves_the_domain),
        cmocka_unit_test(test_locate_running_domain_is_source),
        cmocka_unit_test(test_locate_with_unreachable_destination_is_unknown),
        cmocka_unit_test(test_black_holed_destination_costs_at_most_the_peer_timeout),
        cmocka_unit_test(test_locate_nowhere),
        cmocka_unit_test(test_locate_argument_errors),
        cmocka_unit_test(test_free_memory_of_a_reachable_destination),
        cmocka_unit_test(test_free_memory_of_an_unreachable_destination_is_unavailable),
        cmocka_unit_test(test_dirty_rate_on_the_test_driver),
        cmocka_unit_test(test_open_of_unreachable_libvirt_is_unavailable),
        cmocka_unit_test(test_two_boundaries_share_the_event_loop),
        cmocka_unit_test(test_reopen_after_last_close),
        cmocka_unit_test(test_close_accepts_null),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
