/* test_engine_drain.c - host drains on the simulated hypervisor (service/engine_drain*.c).
 *
 * Every test runs the real engine, store and drain thread on the
 * simulator, with two peers whose links the simulator shares among the
 * migrations to each. The simulator's clock is moved by a driver thread
 * (0.1 simulated seconds every 5 ms of real time) while a drain runs, so a
 * drain of thirty guests takes a second or two. Deadlines are wall-clock
 * times the engine keeps; the tests check what the drain did by them, and
 * that the plan it made meets them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/check.h"
#include "tests/support/fixture.h"

typedef md_test_stack fixture;

/* How long a test waits for a drain to end once its clock moves: far
 * more than any drain here needs; reached only when a test fails. */
#define DRAIN_WAIT_MS 60000

/* ---- guests, peers and requests ------------------------------------------------ */

static void guest_uuid(int i, char out[MD_UUID_LEN])
{
    snprintf(out, MD_UUID_LEN, "dddddddd-0000-4000-8000-%012d", i);
}

static void add_guest(md_test_stack *s, int i, int ram_mib, int ws_mib, int dirty_mibps)
{
    char name[32], uuid[MD_UUID_LEN];

    snprintf(name, sizeof name, "g-%02d", i);
    guest_uuid(i, uuid);
    md_test_stack_add_domain(s, name, uuid, ram_mib, ws_mib, dirty_mibps);
}

/* node-b and node-c, 1 GiB/s each; the workers allow four at once. */
static void add_peers(md_test_stack *s)
{
    md_test_stack_add_peer(s, "node-b", "10.0.0.2", "", 1024);
    md_test_stack_add_peer(s, "node-c", "10.0.0.3", "", 1024);
    s->cfg->service.max_concurrent_live_migrations = 4;
}

/* Thirty guests of 512 MiB to 2 GiB; every fifth one writes 100 MiB/s
 * over a quarter of its RAM, the others up to 40 MiB/s. */
static void prepare_thirty(md_test_stack *s)
{
    for (int i = 0; i < 30; i++)
        add_guest(s, i, 512 * (1 + i % 4), 128 * (1 + i % 4), i % 5 == 0 ? 100 : (i % 3) * 20);
    add_peers(s);
}

/* Eight idle guests of 1 GiB. */
static void prepare_eight(md_test_stack *s)
{
    for (int i = 0; i < 8; i++)
        add_guest(s, i, 1024, 64, 0);
    add_peers(s);
}

/* Four idle guests and two that write 4 GiB/s over all of their 2 GiB:
 * pre-copy can never finish them. */
static void prepare_hot(md_test_stack *s)
{
    for (int i = 0; i < 4; i++)
        add_guest(s, i, 1024, 64, 0);
    add_guest(s, 4, 2048, 2048, 4096);
    add_guest(s, 5, 2048, 2048, 4096);
    add_peers(s);
    s->cfg->libvirt.live_migration_permit_post_copy = false;
}

/* Two idle guests and two warm ones (2 GiB writing 400 MiB/s over 1 GiB):
 * pre-copy finishes the warm ones in a few passes, but after the first
 * what is left (about 550 ms of link) does not fit in 500 ms, where
 * adaptive would switch a guest it was free to switch. */
static void prepare_warm(md_test_stack *s)
{
    add_guest(s, 0, 1024, 64, 0);
    add_guest(s, 1, 1024, 64, 0);
    add_guest(s, 2, 2048, 1024, 400);
    add_guest(s, 3, 2048, 1024, 400);
    add_peers(s);
}

static md_test_fixture_spec thirty = { .tag = "drain", .prepare = prepare_thirty };
static md_test_fixture_spec eight = { .tag = "drain", .prepare = prepare_eight };
static md_test_fixture_spec hot = { .tag = "drain", .prepare = prepare_hot };
static md_test_fixture_spec warm = { .tag = "drain", .prepare = prepare_warm };

/* A request to drain every guest to node-b and node-c by deadline_s. */
static md_drain_request request(int64_t deadline_s)
{
    static const char dests[2][MD_NAME_LEN] = { "node-b", "node-c" };
    md_drain_request r;

    memset(&r, 0, sizeof r);
    r.ndests = 2;
    memcpy(r.dests, dests, sizeof dests);
    r.deadline_s = deadline_s;
    r.permit_post_copy = -1;
    return r;
}

static md_drain create_ok(fixture *f, const md_drain_request *r)
{
    md_drain d;
    md_err err;

    md_status st = md_engine_drain_create(f->eng, r, &d, &err);
    if (st != MD_OK)
        fail_msg("drain create: %s", err.msg);
    assert_int_equal(d.state, MD_DRAIN_PLANNING);
    return d;
}

/* ---- the clock ----------------------------------------------------------------- */

typedef struct driver {
    md_hv *hv;
    atomic_bool stop;
    pthread_t t;
} driver;

static void *drive_main(void *arg)
{
    driver *d = arg;

    while (!atomic_load(&d->stop)) {
        md_hv_sim_advance(d->hv, 0.1);
        md_test_sleep_ms(5);
    }
    return NULL;
}

static driver *drive_start(fixture *f)
{
    driver *d = calloc(1, sizeof *d);

    assert_non_null(d);
    d->hv = f->hv;
    atomic_init(&d->stop, false);
    assert_int_equal(pthread_create(&d->t, NULL, drive_main, d), 0);
    return d;
}

static void drive_stop(driver *d)
{
    atomic_store(&d->stop, true);
    pthread_join(d->t, NULL);
    free(d);
}

/* Moves the clock until drain uuid ends; returns its state then. */
static md_drain_state drive_to_end(fixture *f, const char *uuid)
{
    driver *d = drive_start(f);
    md_drain_state s = md_engine_drain_wait(f->eng, uuid, DRAIN_WAIT_MS);
    drive_stop(d);
    return s;
}

static md_drain get(fixture *f, const char *uuid)
{
    md_drain d;
    md_err err;

    if (md_engine_drain_get(f->eng, uuid, &d, &err) != MD_OK)
        fail_msg("drain get: %s", err.msg);
    return d;
}

/* Replaces *d by the drain as it is now. */
static void refresh(fixture *f, md_drain *d)
{
    char uuid[MD_UUID_LEN];

    snprintf(uuid, sizeof uuid, "%s", d->uuid);
    md_drain_clear(d);
    *d = get(f, uuid);
}

static size_t count_guests(const md_drain *d, md_drain_guest_state s)
{
    size_t n = 0;

    for (size_t i = 0; i < d->nguests; i++)
        n += d->guests[i].state == s;
    return n;
}

/* Moves the clock (with drv NULL, real time only) until pred holds for
 * drain uuid; fails the test after MD_TEST_WAIT_MS. */
static void until(fixture *f, const char *uuid, bool (*pred)(const md_drain *), bool move)
{
    int64_t give_up = md_test_now_ms() + MD_TEST_WAIT_MS;

    for (;;) {
        md_drain d = get(f, uuid);
        bool ok = pred(&d);
        md_drain_clear(&d);
        if (ok)
            return;
        if (md_test_now_ms() > give_up)
            fail_msg("drain %s: the awaited state never came", uuid);
        if (move)
            md_hv_sim_advance(f->hv, 0.1);
        md_test_sleep_ms(5);
    }
}

static bool has_event(fixture *f, const char *uuid, const char *kind, const char *text)
{
    md_event *ev = NULL;
    size_t n = 0;
    md_err err;
    bool found = false;

    if (md_engine_drain_events(f->eng, uuid, 0, 0, &ev, &n, &err) != MD_OK)
        fail_msg("drain events: %s", err.msg);
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(ev[i].kind, kind) == 0 && (!text || strstr(ev[i].message, text));
    free(ev);
    return found;
}

/* Every guest done, each by a completed migration that names the drain. */
static void expect_all_moved(fixture *f, const md_drain *d)
{
    for (size_t i = 0; i < d->nguests; i++) {
        const md_drain_guest *g = &d->guests[i];
        if (g->state != MD_DG_DONE)
            fail_msg("%s is %s: %s", g->instance_name, md_drain_guest_state_str(g->state),
                     g->error);
        md_migration m = md_test_migration(f, g->migration_uuid);
        assert_int_equal(m.state, MD_MIG_COMPLETED);
        assert_string_equal(m.drain_uuid, d->uuid);
        assert_string_equal(m.dest_compute, g->dest_compute);
        assert_true(g->ended_at >= g->started_at && g->started_at > 0);
    }
}

/* ---- the drain's plan, carried out ---------------------------------------------- */

static void thirty_guests_leave_by_the_deadline(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    md_drain d = create_ok(f, &r);
    assert_int_equal(d.nguests, 30);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    assert_int_equal(d.state, MD_DRAIN_COMPLETED);
    assert_true(d.feasible);
    assert_true(d.parallel >= 1 && d.parallel <= 4);
    assert_true(d.predicted_end_at > 0 && d.predicted_end_at <= d.deadline_at);
    assert_true(d.ended_at > 0 && d.ended_at <= d.deadline_at);
    expect_all_moved(f, &d);
    /* Both links were used, and the plan and each end were told. */
    assert_true(has_event(f, d.uuid, "plan", "node-b 1024 MiB/s (configured)"));
    assert_true(has_event(f, d.uuid, "measure", "dirty rates"));
    assert_true(has_event(f, d.uuid, "replan", "predicted"));
    size_t to_b = 0;
    for (size_t i = 0; i < d.nguests; i++)
        to_b += strcmp(d.guests[i].dest_compute, "node-b") == 0;
    assert_true(to_b > 0 && to_b < 30);
    md_drain_clear(&d);
}

static void busy_guests_are_planned_for_post_copy_after_their_first_pass(void **state)
{
    fixture *f = *state;
    char hot4[MD_UUID_LEN], hot5[MD_UUID_LEN];

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    r.permit_post_copy = 1; /* the node's default does not permit it */
    md_drain d = create_ok(f, &r);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    expect_all_moved(f, &d);
    guest_uuid(4, hot4);
    guest_uuid(5, hot5);
    for (size_t i = 0; i < d.nguests; i++) {
        const md_drain_guest *g = &d.guests[i];
        bool is_hot = strcmp(g->instance_uuid, hot4) == 0 || strcmp(g->instance_uuid, hot5) == 0;
        md_migration m = md_test_migration(f, g->migration_uuid);
        /* The plan chose post-copy after the first pass for exactly the
         * guests pre-copy cannot finish; their records carry it and the
         * policy carried it out. */
        assert_int_equal(g->mode, is_hot ? PLAN_POSTCOPY : PLAN_PRECOPY);
        assert_int_equal(m.post_copy_after_first_pass, is_hot);
        assert_true(m.permit_post_copy);
        if (is_hot)
            assert_true(m.post_copy);
    }
    md_drain_clear(&d);
}

/* The plan keeps the warm guests in pre-copy (it does not need their
 * post-copy for the deadline), and with post-copy permitted the policy
 * leaves them there: they end as the plan predicted them. */
static void a_guest_planned_in_pre_copy_stays_there_though_post_copy_is_permitted(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    r.permit_post_copy = 1;
    md_drain d = create_ok(f, &r);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    expect_all_moved(f, &d);
    for (size_t i = 0; i < d.nguests; i++) {
        const md_drain_guest *g = &d.guests[i];
        md_migration m = md_test_migration(f, g->migration_uuid);
        assert_int_equal(g->mode, PLAN_PRECOPY);
        assert_true(m.permit_post_copy);
        if (m.post_copy)
            fail_msg("%s planned in pre-copy ended in post-copy", g->instance_name);
        assert_false(md_test_has_event(f, m.uuid, "post_copy", NULL));
    }
    md_drain_clear(&d);
}

static bool one_migrating(const md_drain *d);

/* A warm guest turns busy after the plan (4 GiB/s over its 1 GiB): its
 * pre-copy can no longer finish, and the plan's pre-copy would end in an
 * abort and a retry that fails alike. Post-copy, permitted, rescues it. */
static void a_guest_that_turns_busy_after_the_plan_is_rescued_by_post_copy(void **state)
{
    fixture *f = *state;
    char warm2[MD_UUID_LEN], warm3[MD_UUID_LEN], busy[MD_UUID_LEN] = "";

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    r.permit_post_copy = 1;
    r.max_parallel = 1;
    md_drain d = create_ok(f, &r);
    until(f, d.uuid, one_migrating, true);
    refresh(f, &d);
    guest_uuid(2, warm2);
    guest_uuid(3, warm3);
    /* Longest first: a warm guest is the first to go. */
    for (size_t i = 0; i < d.nguests; i++)
        if (d.guests[i].state == MD_DG_MIGRATING)
            md_strlcpy(busy, d.guests[i].instance_uuid, sizeof busy);
    assert_true(strcmp(busy, warm2) == 0 || strcmp(busy, warm3) == 0);
    assert_true(md_hv_sim_set_dirty_rate(f->hv, busy, 4096));

    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    expect_all_moved(f, &d);
    for (size_t i = 0; i < d.nguests; i++) {
        const md_drain_guest *g = &d.guests[i];
        md_migration m = md_test_migration(f, g->migration_uuid);
        assert_int_equal(g->mode, PLAN_PRECOPY);
        bool rescued = strcmp(g->instance_uuid, busy) == 0;
        assert_int_equal(m.post_copy, rescued);
        assert_int_equal(g->attempts, 1);
        if (rescued)
            assert_true(md_test_has_event(f, m.uuid, "post_copy",
                                          "the drain planned pre-copy, but post-copy rather "
                                          "than an abort"));
    }
    md_drain_clear(&d);
}

/* ---- cancel ----------------------------------------------------------------------- */

static bool one_migrating(const md_drain *d)
{
    return d->state == MD_DRAIN_RUNNING && count_guests(d, MD_DG_MIGRATING) == 1;
}

/* Starts a drain that migrates one guest at a time and cancels it (running
 * ones finish) once one migrates. */
static md_drain cancelled_while_one_migrates(fixture *f)
{
    md_err err;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    r.max_parallel = 1;
    md_drain d = create_ok(f, &r);
    until(f, d.uuid, one_migrating, true);
    assert_int_equal(md_engine_drain_cancel(f->eng, d.uuid, false, &err), MD_OK);
    return d;
}

static void cancel_skips_the_waiting_guests_and_ends_cancelled(void **state)
{
    fixture *f = *state;
    md_err err;

    md_drain d = cancelled_while_one_migrates(f);
    md_drain c = get(f, d.uuid);
    assert_int_equal(c.state, MD_DRAIN_RUNNING); /* one still migrates: it finishes */
    assert_int_equal(count_guests(&c, MD_DG_WAITING), 0);
    size_t skipped = count_guests(&c, MD_DG_SKIPPED);
    assert_true(skipped >= 6);
    md_drain_clear(&c);

    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_CANCELLED);
    c = get(f, d.uuid);
    assert_int_equal(count_guests(&c, MD_DG_SKIPPED), skipped);
    assert_int_equal(count_guests(&c, MD_DG_DONE), 8 - skipped);
    assert_true(c.ended_at > 0);
    for (size_t i = 0; i < c.nguests; i++) {
        if (c.guests[i].state == MD_DG_SKIPPED)
            assert_int_equal(c.guests[i].attempts, 0); /* never started */
    }
    assert_true(has_event(f, d.uuid, "cancel", "skipped"));
    /* An ended drain cannot be cancelled again. */
    assert_int_equal(md_engine_drain_cancel(f->eng, d.uuid, false, &err), MD_ERR_CONFLICT);
    md_drain_clear(&c);
    md_drain_clear(&d);
}

/* ---- faults ----------------------------------------------------------------------- */

/* Waits (real time) until drain uuid has an event of kind with text. */
static void until_event(fixture *f, const char *uuid, const char *kind, const char *text)
{
    int64_t give_up = md_test_now_ms() + MD_TEST_WAIT_MS;

    while (!has_event(f, uuid, kind, text)) {
        if (md_test_now_ms() > give_up)
            fail_msg("drain %s: no %s event with \"%s\"", uuid, kind, text);
        md_test_sleep_ms(5);
    }
}

/* A cancel is durable: after a restart the cancelled drain starts nothing,
 * not even a retry of a guest whose migration then ends without moving
 * it. */
static void a_cancel_survives_a_restart_and_nothing_is_retried_after_it(void **state)
{
    fixture *f = *state;
    md_err err;

    md_drain d = cancelled_while_one_migrates(f);
    assert_true(md_test_stack_stop(f));
    md_test_fixture_start(f, false);
    md_drain c = get(f, d.uuid);
    assert_int_equal(c.state, MD_DRAIN_RUNNING);
    size_t mi = c.nguests;
    for (size_t i = 0; i < c.nguests; i++) {
        if (c.guests[i].state == MD_DG_MIGRATING)
            mi = i;
    }
    assert_true(mi < c.nguests);
    /* The guest's migration ends without moving it (an operator aborts it). */
    assert_int_equal(md_engine_abort(f->eng, c.guests[mi].migration_uuid, &err), MD_OK);
    int64_t give_up = md_test_now_ms() + MD_TEST_WAIT_MS;
    while (md_mig_state_in_progress(md_test_migration(f, c.guests[mi].migration_uuid).state)) {
        assert_true(md_test_now_ms() < give_up);
        md_test_sleep_ms(5);
    }
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_CANCELLED);
    md_drain_clear(&c);
    c = get(f, d.uuid);
    assert_int_equal(c.guests[mi].state, MD_DG_FAILED);
    assert_int_equal(c.guests[mi].attempts, 1);
    assert_false(has_event(f, d.uuid, "retry", NULL));
    assert_int_equal(count_guests(&c, MD_DG_WAITING) + count_guests(&c, MD_DG_MIGRATING), 0);
    md_drain_clear(&c);
    md_drain_clear(&d);
}

/* guest 0 migrates to node-c before the drain, which adopts it. */
static md_migration operator_migrates_g00(fixture *f)
{
    md_engine_request q;
    md_migration m;
    md_err err;

    memset(&q, 0, sizeof q);
    q.permit_post_copy = q.timeout_action = -1;
    q.max_downtime_ms = q.bandwidth_mibps = -1;
    guest_uuid(0, q.instance);
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-c");
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_OK);
    return m;
}

/* A cancel that comes while the drain measures (its lock let go), with an
 * adopted guest still migrating: the drain does not go on to plan and
 * announce a schedule it will not run; it watches the adopted migration to
 * its end and ends cancelled. */
static void a_cancel_while_measuring_ends_cancelled_after_the_adopted_guest(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration m = operator_migrates_g00(f);
    md_drain_request r = request(600);
    md_drain d = create_ok(f, &r);
    /* The dirty rates wait for the simulated clock, which does not move. */
    until_event(f, d.uuid, "measure", "free memory");
    assert_int_equal(md_engine_drain_cancel(f->eng, d.uuid, false, &err), MD_OK);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_CANCELLED);
    md_drain c = get(f, d.uuid);
    assert_string_equal(c.guests[0].migration_uuid, m.uuid);
    assert_int_equal(c.guests[0].state, MD_DG_DONE);
    assert_int_equal(count_guests(&c, MD_DG_SKIPPED), 7);
    assert_false(has_event(f, d.uuid, "plan", NULL));
    assert_false(has_event(f, d.uuid, "state", "migrations at once"));
    assert_true(has_event(f, d.uuid, "state", "cancelled before planning"));
    md_drain_clear(&c);
    md_drain_clear(&d);
}

/* Every destination drops packets, so the drain fails before it plans;
 * the guest it adopted keeps its own migration, which the ended drain no
 * longer follows: it is not left counted as remaining for ever. */
static void a_failed_drain_leaves_no_adopted_guest_remaining(void **state)
{
    fixture *f = *state;
    md_drain_counts c;

    md_test_fixture_start(f, false);
    md_migration m = operator_migrates_g00(f);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.2", true);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);
    md_drain_request r = request(600);
    md_drain d = create_ok(f, &r);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_FAILED);
    md_drain g = get(f, d.uuid);
    assert_non_null(strstr(g.error, "no destination answers"));
    assert_int_equal(g.guests[0].state, MD_DG_SKIPPED);
    assert_string_equal(g.guests[0].migration_uuid, m.uuid);
    assert_non_null(strstr(g.guests[0].error, "goes on"));
    md_drain_count(&g, &c);
    assert_int_equal(c.remaining, 0);
    assert_int_equal(count_guests(&g, MD_DG_SKIPPED), 8);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.2", false);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", false);
    md_drain_clear(&g);
    md_drain_clear(&d);
}

/* node-c drops packets once the drain has measured it: each migration to
 * it fails after the reachability check's wait, and its guest is retried
 * on node-b; after two failures in a row node-c is left out of the plans. */
static void a_black_holed_destination_sends_its_guests_to_the_other(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    md_drain d = create_ok(f, &r);
    /* The free memory is asked first; the dirty rates then wait for the
     * simulated clock, which does not move yet. */
    until_event(f, d.uuid, "measure", "free memory");
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    expect_all_moved(f, &d);
    size_t retried = 0;
    for (size_t i = 0; i < d.nguests; i++) {
        assert_string_equal(d.guests[i].dest_compute, "node-b");
        retried += d.guests[i].attempts == 2;
    }
    assert_true(retried >= 1);
    assert_true(has_event(f, d.uuid, "retry", "retrying once on node-b"));
    md_drain_clear(&d);
}

static bool some_done(const md_drain *d)
{
    return count_guests(d, MD_DG_DONE) >= 2 && count_guests(d, MD_DG_WAITING) > 0;
}

/* The daemon stops mid-drain and starts again on the same store and
 * hypervisor: the drain goes on where it was and completes. */
static void a_restart_mid_drain_picks_it_up_and_completes_it(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    r.max_parallel = 2;
    md_drain d = create_ok(f, &r);
    until(f, d.uuid, some_done, true);
    assert_true(md_test_stack_stop(f));
    md_test_fixture_start(f, false);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    expect_all_moved(f, &d);
    assert_true(has_event(f, d.uuid, "recovered", "after a restart"));
    for (size_t i = 0; i < d.nguests; i++)
        assert_int_equal(d.guests[i].attempts, 1); /* none started twice */
    md_drain_clear(&d);
}

static bool one_done(const md_drain *d)
{
    return count_guests(d, MD_DG_DONE) >= 1 && count_guests(d, MD_DG_WAITING) > 0;
}

static bool none_migrating(const md_drain *d)
{
    return count_guests(d, MD_DG_MIGRATING) == 0;
}

static size_t started(const md_drain *d)
{
    size_t n = 0;

    for (size_t i = 0; i < d->nguests; i++)
        n += (size_t)d->guests[i].attempts;
    return n;
}

/* Another process holds the database's write lock: the engine degrades,
 * drain requests are refused, the drain starts nothing new; once the lock
 * goes the drain goes on and completes. */
static void a_degraded_store_refuses_drains_and_the_running_one_resumes_after(void **state)
{
    fixture *f = *state;
    md_engine_health h;
    md_drain other;
    md_err err;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    r.max_parallel = 1;
    md_drain d = create_ok(f, &r);
    until(f, d.uuid, one_done, true);
    FILE *locker = md_test_lock_db(f);
    /* The migration in progress ends; its record cannot be written. */
    until(f, d.uuid, none_migrating, true);
    md_engine_get_health(f->eng, &h);
    assert_true(h.degraded);
    md_drain before = get(f, d.uuid);
    assert_int_equal(md_engine_drain_create(f->eng, &r, &other, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_engine_drain_cancel(f->eng, d.uuid, false, &err), MD_ERR_UNAVAILABLE);
    /* Nothing new starts while the store cannot record it. */
    for (int i = 0; i < 50; i++) {
        md_hv_sim_advance(f->hv, 0.1);
        md_test_sleep_ms(10);
    }
    md_drain now = get(f, d.uuid);
    assert_int_equal(started(&now), started(&before));
    assert_true(count_guests(&now, MD_DG_WAITING) > 0);
    md_drain_clear(&now);
    md_drain_clear(&before);

    md_test_unlock_db(locker);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    expect_all_moved(f, &d);
    md_drain_clear(&d);
    md_engine_get_health(f->eng, &h);
    assert_false(h.degraded);
}

/* ---- requests refused --------------------------------------------------------------- */

static void strict_below_the_lower_bound_is_a_conflict_naming_the_numbers(void **state)
{
    fixture *f = *state;
    md_drain d;
    md_err err;

    /* The bound is in wall-clock seconds: at the simulator's default
     * time_scale (20) the guests' 18 s would be 0.9 s of the deadline. */
    f->cfg->simulator.time_scale = 1.0;
    md_test_fixture_start(f, false);
    /* 36.5 GiB over 2 GiB/s: at least 18 s whatever the plan. */
    md_drain_request r = request(10);
    r.strict = true;
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "lower bound of 18 s"));
    assert_non_null(strstr(err.msg, "36.5 GiB"));
    assert_non_null(strstr(err.msg, "2048 MiB/s"));
    /* Not strict: taken, with a warning once planned. */
    r.strict = false;
    d = create_ok(f, &r);
    md_drain_clear(&d);
}

static void bad_requests_are_invalid_and_create_nothing(void **state)
{
    fixture *f = *state;
    static const char ghost[1][MD_NAME_LEN] = { MD_TEST_GHOST };
    static const char g00[1][MD_NAME_LEN] = { "g-00" };
    md_drain d;
    md_err err;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    snprintf(r.dests[1], sizeof r.dests[1], "node-x");
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "node-x"));
    snprintf(r.dests[1], sizeof r.dests[1], "node-a"); /* this node */
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_INVALID);
    snprintf(r.dests[1], sizeof r.dests[1], "NODE-B");
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "twice"));
    r = request(0);
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_INVALID);
    /* A deadline whose milliseconds would overflow the record's deadline_at. */
    r = request(INT64_MAX / 1000 + 1);
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "deadline_s"));
    r = request(600);
    r.ninstances = 1;
    r.instances = ghost;
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, MD_TEST_GHOST));
    r.instances = g00;
    r.nexclude = 1;
    r.exclude = g00;
    assert_int_equal(md_engine_drain_create(f->eng, &r, &d, &err), MD_ERR_INVALID);
    /* Nothing was stored. */
    md_drain *v = NULL;
    size_t n = 0;
    assert_int_equal(md_engine_drain_list(f->eng, NULL, 0, &v, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    md_drain_free_array(v, n);
    /* An unknown drain. */
    assert_int_equal(md_engine_drain_get(f->eng, MD_TEST_GHOST, &d, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_engine_drain_cancel(f->eng, MD_TEST_GHOST, false, &err), MD_ERR_NOT_FOUND);
}

static void a_second_drain_while_one_runs_is_a_conflict(void **state)
{
    fixture *f = *state;
    md_drain other;
    md_err err;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    md_drain d = create_ok(f, &r);
    assert_int_equal(md_engine_drain_create(f->eng, &r, &other, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, d.uuid));
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    /* Once it has ended another may start (here with nothing left). */
    assert_int_equal(md_engine_drain_create(f->eng, &r, &other, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no guest"));
    md_drain_clear(&d);
}

/* A guest that an operator is migrating already is watched, not started
 * a second time. */
static void a_guest_already_migrating_is_adopted(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration m = operator_migrates_g00(f);
    md_drain_request r = request(600);
    md_drain d = create_ok(f, &r);
    assert_int_equal(d.guests[0].state, MD_DG_MIGRATING);
    assert_string_equal(d.guests[0].migration_uuid, m.uuid);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    refresh(f, &d);
    assert_string_equal(d.guests[0].migration_uuid, m.uuid);
    assert_string_equal(d.guests[0].dest_compute, "node-c");
    assert_int_equal(d.guests[0].state, MD_DG_DONE);
    md_drain_clear(&d);
}

/* A node without shared storage: the drain's migrations copy the disks
 * (block migration), and every guest still leaves. */
static void a_block_migration_drain_copies_the_disks(void **state)
{
    fixture *f = *state;
    md_store_filter q;
    md_migration *v = NULL;
    size_t n = 0;
    md_err err;

    md_test_fixture_start(f, false);
    md_drain_request r = request(600);
    r.block_migration = true;
    md_drain d = create_ok(f, &r);
    assert_true(d.block_migration);
    assert_int_equal(drive_to_end(f, d.uuid), MD_DRAIN_COMPLETED);
    memset(&q, 0, sizeof q);
    md_strlcpy(q.drain_uuid, d.uuid, sizeof q.drain_uuid);
    assert_int_equal(md_engine_list(f->eng, &q, &v, &n, &err), MD_OK);
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++)
        assert_true(v[i].block_migration);
    free(v);
    md_drain g = get(f, d.uuid);
    assert_true(g.block_migration);
    md_drain_clear(&g);
    md_drain_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MD_TEST_FIXTURE(thirty_guests_leave_by_the_deadline, &thirty),
        MD_TEST_FIXTURE(busy_guests_are_planned_for_post_copy_after_their_first_pass, &hot),
        MD_TEST_FIXTURE(a_guest_planned_in_pre_copy_stays_there_though_post_copy_is_permitted,
                        &warm),
        MD_TEST_FIXTURE(a_guest_that_turns_busy_after_the_plan_is_rescued_by_post_copy, &warm),
        MD_TEST_FIXTURE(cancel_skips_the_waiting_guests_and_ends_cancelled, &eight),
        MD_TEST_FIXTURE(a_cancel_survives_a_restart_and_nothing_is_retried_after_it, &eight),
        MD_TEST_FIXTURE(a_cancel_while_measuring_ends_cancelled_after_the_adopted_guest, &eight),
        MD_TEST_FIXTURE(a_black_holed_destination_sends_its_guests_to_the_other, &eight),
        MD_TEST_FIXTURE(a_restart_mid_drain_picks_it_up_and_completes_it, &eight),
        MD_TEST_FIXTURE(a_degraded_store_refuses_drains_and_the_running_one_resumes_after, &eight),
        MD_TEST_FIXTURE(strict_below_the_lower_bound_is_a_conflict_naming_the_numbers, &thirty),
        MD_TEST_FIXTURE(bad_requests_are_invalid_and_create_nothing, &eight),
        MD_TEST_FIXTURE(a_second_drain_while_one_runs_is_a_conflict, &eight),
        MD_TEST_FIXTURE(a_guest_already_migrating_is_adopted, &eight),
        MD_TEST_FIXTURE(a_failed_drain_leaves_no_adopted_guest_remaining, &eight),
        MD_TEST_FIXTURE(a_block_migration_drain_copies_the_disks, &eight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
