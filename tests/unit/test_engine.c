/* test_engine.c - the service's queue, workers, monitor, commands and recovery (service/engine.c).
 *
 * Every test runs the real engine, store and simulated hypervisor. The
 * simulator's clock is stopped and moved by hand (md_hv_sim_advance), so a
 * migration only progresses when a test says so; the test then waits, with
 * a generous bound, for the engine's threads to react.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/check.h"
#include "tests/support/fixture.h"

/* The engine's tests use the stack without the API. */
typedef md_test_stack fixture;

/* Every test's fixture: a new stack with these domains. */
static md_test_fixture_spec spec = {
    .tag = "engine",
    .vms = MD_TEST_VM_A | MD_TEST_VM_B | MD_TEST_VM_C | MD_TEST_VM_BUSY | MD_TEST_VM_BUSY2 |
           MD_TEST_VM_HOT,
};

static bool in_post_copy_or_done(const md_migration *m)
{
    return m->state == MD_MIG_POSTCOPY || md_test_ended(m);
}

static bool job_active(fixture *f, const char *domain)
{
    md_hv_job j;
    md_err err;
    return md_hv_job_stats(f->hv, domain, &j, &err) == MD_OK && j.active;
}

/* ---- queue and workers ------------------------------------------------------- */

static void queue_runs_migrations_one_at_a_time_in_fifo_order(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_migration b = md_test_create(f, "vm-b", MD_OK); /* by name */
    md_migration c = md_test_create(f, MD_TEST_IDLE_C, MD_OK);
    assert_int_equal(a.state, MD_MIG_QUEUED);

    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_test_migration(f, b.uuid).state, MD_MIG_QUEUED);
    assert_int_equal(md_test_migration(f, c.uuid).state, MD_MIG_QUEUED);

    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_test_expect_state(f, b.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_test_migration(f, c.uuid).state, MD_MIG_QUEUED);

    md_test_drive_until(f, b.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, b.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_test_drive_until(f, c.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, c.uuid, md_test_is_final, MD_MIG_COMPLETED);

    /* Completed migrations moved their domains away; names got resolved. */
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, MD_TEST_IDLE_A, &d, NULL), MD_ERR_NOT_FOUND);
    assert_string_equal(md_test_migration(f, b.uuid).instance_uuid, MD_TEST_IDLE_B);
    /* The downtime comes with the job's final statistics, a moment after
     * the end. */
    md_migration done = md_test_drive_until(f, a.uuid, 0, md_test_downtime_known);
    assert_int_equal(done.progress, 100);
    assert_true(done.downtime_ms > 0);
}

static void concurrency_cap_allows_that_many_at_once(void **state)
{
    fixture *f = *state;

    f->cfg->service.max_concurrent_live_migrations = 2;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_migration b = md_test_create(f, MD_TEST_BUSY2, MD_OK);
    md_migration c = md_test_create(f, MD_TEST_IDLE_C, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_expect_state(f, b.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_sleep_ms(200);
    assert_int_equal(md_test_migration(f, c.uuid).state, MD_MIG_QUEUED);
    size_t running, queued;
    md_engine_counts(f->eng, &running, &queued);
    assert_int_equal(running, 2);
    assert_int_equal(queued, 1);
}

static void create_refuses_bad_requests(void **state)
{
    fixture *f = *state;
    md_engine_request q;
    md_migration m;
    md_err err;

    md_test_fixture_start(f, false);
    memset(&q, 0, sizeof q);
    q.permit_post_copy = q.timeout_action = -1;
    q.max_downtime_ms = q.bandwidth_mibps = -1;
    snprintf(q.instance, sizeof q.instance, "vm-a");
    /* No destination, a destination that is this node, a URI-breaking one. */
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-a");
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "this node"));
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-b/../x");
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-b");
    q.max_downtime_ms = 99;
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    q.max_downtime_ms = -1;
    /* A second migration of the same instance while one is in progress. */
    md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_create(f, MD_TEST_BUSY, MD_ERR_CONFLICT);
}

static void unknown_domain_is_refused_at_create_and_leaves_no_record(void **state)
{
    fixture *f = *state;
    md_migration *v = NULL;
    size_t n = 99;
    md_err err;

    md_test_fixture_start(f, false);
    md_test_create(f, "no-such-vm", MD_ERR_NOT_FOUND);
    assert_int_equal(md_engine_list(f->eng, NULL, &v, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    free(v);
    /* A known domain by name is taken. */
    md_migration m = md_test_create(f, "vm-a", MD_OK);
    md_test_drive_until(f, m.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, m.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

/* ---- aborts ------------------------------------------------------------------- */

static void abort_of_a_queued_migration_never_touches_the_hypervisor(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_migration b = md_test_create(f, MD_TEST_BUSY2, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_abort(f->eng, b.uuid, &err), MD_OK);
    /* Final at once, before any simulated time has passed. */
    assert_int_equal(md_test_migration(f, b.uuid).state, MD_MIG_CANCELLED);
    assert_false(job_active(f, MD_TEST_BUSY2));
    assert_false(md_test_has_event(f, b.uuid, "state", "worker"));
    /* Aborting it again: it has ended. */
    assert_int_equal(md_engine_abort(f->eng, b.uuid, &err), MD_ERR_CONFLICT);
}

static void abort_of_a_running_migration_returns_the_guest_to_the_source(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.2, md_test_downtime_set);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, MD_TEST_BUSY, &d, NULL), MD_OK);
    assert_true(d.active);
    assert_true(md_test_has_event(f, a.uuid, "abort", NULL));
}

static void post_copy_failed_event_reaches_the_timeline_through_the_monitor(void **state)
{
    fixture *f = *state;
    md_hv_event ev = { .kind = MD_HV_EV_POSTCOPY_FAILED, .uuid = MD_TEST_BUSY };

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    /* Delivered as the boundary's event thread would: the handler only
     * flags it, and the monitor's next pass writes the event. */
    md_hv_emit(f->hv, &ev);
    md_test_expect_event(f, a.uuid, "post_copy_failed", "post-copy failed");
}

static void abort_is_refused_in_post_copy(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.2, md_test_downtime_set);
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_OK);
    /* No simulated time passes, so post-copy cannot finish meanwhile. */
    md_test_expect_state(f, a.uuid, md_test_is_post_copy, MD_MIG_POSTCOPY);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "post-copy"));
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    md_test_drive_until(f, a.uuid, 0.2, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

/* ---- policy and operator actions ---------------------------------------------- */

static void adaptive_policy_switches_a_hot_guest_to_post_copy(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_HOT, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_downtime_set);
    assert_int_equal(m.current_downtime_ms, 50); /* the downtime target */
    assert_true(md_test_has_event(f, a.uuid, "set_downtime", "downtime target 50 ms"));
    m = md_test_drive_until(f, a.uuid, 0.1, in_post_copy_or_done);
    md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    assert_true(md_test_has_event(f, a.uuid, "post_copy", "cannot finish in good time"));
    assert_true(md_test_has_event(f, a.uuid, "state", "post-copy"));
    assert_true(md_test_migration(f, a.uuid).post_copy);
}

static void adaptive_policy_finishes_a_busy_guest_in_pre_copy_by_raising_downtime(void **state)
{
    fixture *f = *state;

    /* Without post-copy: with it, adaptive would switch after pass 1, where
     * 527 MiB need 514 ms, more than the 500 ms maximum. */
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_migration m = md_test_drive_until(f, a.uuid, 0, md_test_downtime_known);
    /* Nova's ramp would still be at 50 ms (its next step is at 150 s);
     * adaptive stops the guest once a pass leaves more than 0.8 of the
     * last, with what it needs then (in the simulator: 430 ms x 1.1). */
    assert_false(m.post_copy);
    assert_true(m.current_downtime_ms > 50 && m.current_downtime_ms <= 500);
    assert_true(m.downtime_ms > 50 && m.downtime_ms <= 505);
    assert_true(md_test_has_event(f, a.uuid, "set_downtime", "passes stop paying"));
}

static void nova_policy_aborts_at_the_completion_timeout(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_policy = POLICY_NOVA;
    f->cfg->libvirt.live_migration_completion_timeout = 3; /* 3 s x 2 GiB = 6 s */
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.25, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);
    assert_true(md_test_has_event(f, a.uuid, "abort", "not completed after 6 s"));
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, MD_TEST_BUSY, &d, NULL), MD_OK);
}

static void force_complete_without_post_copy_pauses_the_guest(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.2, md_test_downtime_set);
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_OK);
    md_migration m = md_test_drive_until(f, a.uuid, 0.0, md_test_paused_or_ended);
    assert_true(m.paused);
    assert_true(md_test_has_event(f, a.uuid, "pause", "not permitted"));
    md_test_drive_until(f, a.uuid, 0.2, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    assert_false(md_test_migration(f, a.uuid).paused);
}

/* The worker marks the record running just before its migrate call starts
 * the job, so a command can come while the hypervisor has no job yet: it
 * must wait for the job, not be refused and dropped. */
static void post_copy_asked_as_soon_as_running_waits_for_the_job(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    for (int i = 0; i < 20; i++) {
        md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
        md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
        assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_OK);
        md_test_expect_state(f, a.uuid, md_test_is_post_copy, MD_MIG_POSTCOPY);
        assert_false(md_test_has_event(f, a.uuid, "error", "post_copy"));
        md_test_drive_until(f, a.uuid, 0.2, md_test_ended);
        md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
        /* Back to this node for the next round. */
        md_hv_sim_set_here(f->hv, MD_TEST_BUSY, true);
        md_test_sleep_ms(150);
    }
}

static void post_copy_request_needs_post_copy_permitted_and_a_running_job(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_migration b = md_test_create(f, MD_TEST_BUSY2, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "without post-copy"));
    assert_int_equal(md_engine_post_copy(f->eng, b.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "queued"));
    assert_int_equal(md_engine_post_copy(f->eng, MD_TEST_GHOST, &err), MD_ERR_NOT_FOUND);
}

static void settings_change_while_queued_and_running(void **state)
{
    fixture *f = *state;
    md_engine_settings s = { .permit_post_copy = 1,
                             .max_downtime_ms = 300,
                             .bandwidth_mibps = 100 };
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_migration b = md_test_create(f, MD_TEST_BUSY2, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    /* Queued: everything may change. */
    assert_int_equal(md_engine_update(f->eng, b.uuid, &s, &err), MD_OK);
    md_migration mb = md_test_migration(f, b.uuid);
    assert_true(mb.permit_post_copy);
    assert_int_equal(mb.max_downtime_ms, 300);
    assert_int_equal(mb.bandwidth_mibps, 100);
    /* Running: post-copy permission is fixed at start. */
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_ERR_CONFLICT);
    s.permit_post_copy = -1;
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_OK);
    assert_int_equal(md_test_migration(f, a.uuid).bandwidth_mibps, 100);
    for (int i = 0;
         i < MD_TEST_WAIT_MS / 20 && !md_test_has_event(f, a.uuid, "set_bandwidth", NULL); i++)
        md_test_sleep_ms(20);
    assert_true(md_test_has_event(f, a.uuid, "set_bandwidth", "100 MiB/s"));
    s.max_downtime_ms = 50;
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_ERR_INVALID);
}

/* ---- stop and recovery ----------------------------------------------------------- */

static void stop_leaves_the_job_running_and_the_record_in_progress(void **state)
{
    fixture *f = *state;
    md_migration r;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_stack_stop(f);
    assert_true(job_active(f, MD_TEST_BUSY));
    assert_int_equal(md_store_get(f->store, a.uuid, &r, NULL), MD_OK);
    assert_int_equal(r.state, MD_MIG_RUNNING);
}

/* A worker blocked in a migrate call that a stop cannot interrupt (as
 * libvirt's cannot be) is left behind; when its call returns afterwards,
 * it must write nothing: the store may be closed by then. Here the call
 * fails on a guest that force-complete paused, the path on which a worker
 * resumes the guest and records it - and must not record it now. */
static void a_worker_left_behind_by_a_stop_writes_nothing_after_it(void **state)
{
    fixture *f = *state;
    md_hv_domain dom;
    md_migration r;
    md_event *ev = NULL;
    size_t nev = 0;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_OK);
    assert_true(md_test_drive_until(f, a.uuid, 0.0, md_test_paused_or_ended).paused);
    md_hv_sim_hold_calls(f->hv, true);
    assert_false(md_test_stack_stop(f)); /* the worker stays in its call */

    /* The job fails now: the call returns, and the worker finds the guest
     * paused on this node and resumes it. */
    assert_int_equal(md_hv_abort_job(f->hv, MD_TEST_BUSY, false, &err), MD_OK);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(md_hv_lookup(f->hv, MD_TEST_BUSY, &dom, &err), MD_OK);
        if (!dom.paused)
            break;
        md_test_sleep_ms(10);
    }
    assert_false(dom.paused);
    md_test_sleep_ms(200); /* the worker's last steps, had they written */
    assert_int_equal(md_store_get(f->store, a.uuid, &r, &err), MD_OK);
    assert_int_equal(r.state, MD_MIG_RUNNING);
    assert_true(r.paused);
    assert_int_equal(md_store_events(f->store, a.uuid, &ev, &nev, &err), MD_OK);
    for (size_t i = 0; i < nev; i++)
        assert_string_not_equal(ev[i].kind, "resume");
    free(ev);
}

/* Another process (the sqlite3 shell) holds the database's write lock
 * while a migration ends: the end is kept in memory, health says degraded,
 * and a stop right after the lock goes writes it - even when the writer
 * was in its longest backoff. */
static void a_stop_after_a_long_lock_writes_what_was_pending(void **state)
{
    fixture *f = *state;
    md_engine_health h;
    md_migration r;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, "vm-a", MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    FILE *locker = md_test_lock_db(f);
    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_engine_get_health(f->eng, &h);
    assert_true(h.degraded);
    assert_true(h.pending_writes > 0);
    assert_non_null(strstr(h.reason, "locked"));
    /* A request that writes is refused, and creates nothing. */
    md_test_create(f, "vm-b", MD_ERR_UNAVAILABLE);
    /* After about 7.5 s of failures the writer waits 5 s between tries,
     * longer than the stop's 3 s drain. */
    md_test_sleep_ms(8000);
    md_test_unlock_db(locker);
    assert_true(md_test_stack_stop(f));
    assert_int_equal(md_store_get(f->store, a.uuid, &r, &err), MD_OK);
    assert_int_equal(r.state, MD_MIG_COMPLETED);
}

static void recovery_reattaches_a_running_job_and_sees_it_finish(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_stack_stop(f);

    md_test_fixture_start(f, false);
    assert_true(md_test_has_event(f, a.uuid, "recovered", "re-attached"));
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_RUNNING);
    /* The re-attached job is steered like any other. */
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_OK);
    md_test_drive_until(f, a.uuid, 0.2, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

static void recovery_requeues_queued_migrations_in_order(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_migration b = md_test_create(f, MD_TEST_IDLE_B, MD_OK);
    md_migration c = md_test_create(f, MD_TEST_IDLE_C, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_stack_stop(f);
    md_err err;
    md_hv_job j;
    assert_int_equal(md_hv_job_stats(f->hv, MD_TEST_BUSY, &j, &err), MD_OK);

    md_test_fixture_start(f, false);
    assert_true(md_test_has_event(f, b.uuid, "recovered", "queued again"));
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_OK);
    md_test_drive_until(f, a.uuid, 0.2, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);
    /* b was queued first, so it runs first. */
    md_test_expect_state(f, b.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_test_migration(f, c.uuid).state, MD_MIG_QUEUED);
}

/* Writes a record in `state` as a daemon that died would have left it. */
static md_migration left_behind(fixture *f, const char *domain, md_mig_state state)
{
    md_migration m;
    md_err err;

    md_migration_init(&m);
    assert_true(md_uuid_generate(m.uuid));
    m.state = state;
    m.post_copy = state == MD_MIG_POSTCOPY;
    snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", domain);
    snprintf(m.source_compute, sizeof m.source_compute, "node-a");
    snprintf(m.dest_compute, sizeof m.dest_compute, "node-b");
    m.max_downtime_ms = 500;
    m.policy = POLICY_ADAPTIVE;
    m.created_at = m.updated_at = 1;
    assert_int_equal(md_store_insert(f->store, &m, &err), MD_OK);
    return m;
}

typedef enum where { AT_SOURCE, AT_DEST, NOWHERE } where;

/* One row of the recovery table: a record left in `state` while the job
 * has ended with the domain `w`; the engine must settle it to `want`. */
static void recovery_case(fixture *f, md_mig_state state, where w, md_mig_state want)
{
    const char *dom = w == NOWHERE ? MD_TEST_GHOST : MD_TEST_BUSY;
    if (w == AT_DEST)
        assert_true(md_hv_sim_set_here(f->hv, MD_TEST_BUSY, false));
    md_migration m = left_behind(f, dom, state);
    md_test_fixture_start(f, false);
    md_migration r;
    /* The settler settles it once the engine runs (the destination may
     * have to be asked, which the start never waits for). */
    md_engine_wait(f->eng, m.uuid, md_test_is_final, MD_TEST_WAIT_MS);
    assert_int_equal(md_store_get(f->store, m.uuid, &r, NULL), MD_OK);
    if (r.state != want)
        fail_msg("%s with the domain %s: settled %s, want %s", md_mig_state_str(state),
                 w == AT_SOURCE ? "at the source"
                 : w == AT_DEST ? "at the destination"
                                : "nowhere",
                 md_mig_state_str(r.state), md_mig_state_str(want));
    md_test_stack_stop(f);
    md_hv_sim_set_here(f->hv, MD_TEST_BUSY, true);
}

static void recovery_settles_ended_jobs_from_where_the_domain_runs(void **state)
{
    fixture *f = *state;

    recovery_case(f, MD_MIG_PREPARING, AT_DEST, MD_MIG_COMPLETED);
    recovery_case(f, MD_MIG_PREPARING, NOWHERE, MD_MIG_ERROR);
    recovery_case(f, MD_MIG_RUNNING, AT_SOURCE, MD_MIG_FAILED);
    recovery_case(f, MD_MIG_RUNNING, AT_DEST, MD_MIG_COMPLETED);
    recovery_case(f, MD_MIG_RUNNING, NOWHERE, MD_MIG_ERROR);
    recovery_case(f, MD_MIG_POSTCOPY, AT_SOURCE, MD_MIG_ERROR);
    recovery_case(f, MD_MIG_POSTCOPY, AT_DEST, MD_MIG_COMPLETED);
    recovery_case(f, MD_MIG_POSTCOPY, NOWHERE, MD_MIG_ERROR);
}

/* A stop between a worker taking a migration and its migrate call leaves
 * the record preparing, with no job and the guest here: it is queued again
 * and migrates, rather than fail for the restart; an abort accepted before
 * the restart cancels it instead. */
static void recovery_queues_again_a_record_stopped_before_its_migrate_call(void **state)
{
    fixture *f = *state;
    md_command c = { .kind = MD_CMD_ABORT };
    md_event ev = { .kind = "abort_requested" };

    md_migration m = left_behind(f, MD_TEST_BUSY, MD_MIG_PREPARING);
    md_test_fixture_start(f, false);
    md_test_drive_until(f, m.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, m.uuid, md_test_is_final, MD_MIG_COMPLETED);
    assert_true(md_test_has_event(f, m.uuid, "state", "queued again after a restart"));
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, MD_TEST_BUSY, &d, NULL), MD_ERR_NOT_FOUND); /* moved */
    md_test_stack_stop(f);
    md_hv_sim_set_here(f->hv, MD_TEST_BUSY, true);

    m = left_behind(f, MD_TEST_BUSY, MD_MIG_PREPARING);
    snprintf(c.uuid, sizeof c.uuid, "%s", m.uuid);
    snprintf(ev.message, sizeof ev.message, "abort requested while preparing");
    assert_int_equal(md_store_add_command(f->store, &c, &ev, NULL, NULL), MD_OK);
    md_test_fixture_start(f, false);
    md_test_expect_state(f, m.uuid, md_test_is_final, MD_MIG_CANCELLED);
    assert_true(md_test_domain(f, MD_TEST_BUSY).active); /* never left */
    assert_false(md_test_has_event(f, m.uuid, "state", "queued again"));
}

static void recovery_never_attaches_a_preparing_record_to_a_job_it_did_not_start(void **state)
{
    fixture *f = *state;
    md_migration r;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_stack_stop(f);
    /* A record still preparing had not made its migrate call (it moves to
     * running first), so the job now running is someone else's. */
    assert_int_equal(md_store_get(f->store, a.uuid, &r, NULL), MD_OK);
    r.state = MD_MIG_PREPARING;
    assert_int_equal(md_store_update(f->store, &r, NULL), MD_OK);

    md_test_fixture_start(f, false);
    md_migration m = md_test_migration(f, a.uuid);
    assert_int_equal(m.state, MD_MIG_FAILED);
    assert_non_null(strstr(m.error, "did not start"));
    /* Left alone: not watched, not steered, still running. */
    assert_true(job_active(f, MD_TEST_BUSY));
    assert_false(md_test_has_event(f, a.uuid, "recovered", "re-attached"));
}

static void recovery_keeps_a_post_copy_job_in_post_copy(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.1, md_test_downtime_set);
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_post_copy, MD_MIG_POSTCOPY);
    md_test_stack_stop(f);

    md_test_fixture_start(f, false);
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_POSTCOPY);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    md_test_drive_until(f, a.uuid, 0.2, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

/* ---- peers: known destinations only -------------------------------------------- */

static void add_peer(fixture *f, const char *name, const char *address, const char *migrate)
{
    md_test_stack_add_peer(f, name, address, migrate, 0);
}

static size_t count_records(fixture *f)
{
    md_store_filter flt;
    md_migration *v = NULL;
    size_t n = 0;
    md_err err;

    memset(&flt, 0, sizeof flt);
    assert_int_equal(md_store_list(f->store, &flt, &v, &n, &err), MD_OK);
    free(v);
    return n;
}

static md_status create_to(fixture *f, const char *instance, const char *dest, const char *host,
                           md_migration *m, md_err *err)
{
    md_engine_request q;

    memset(&q, 0, sizeof q);
    q.permit_post_copy = q.timeout_action = -1;
    q.max_downtime_ms = q.bandwidth_mibps = -1;
    snprintf(q.instance, sizeof q.instance, "%s", instance);
    snprintf(q.dest_compute, sizeof q.dest_compute, "%s", dest);
    snprintf(q.dest_host, sizeof q.dest_host, "%s", host);
    return md_engine_create(f->eng, &q, m, err);
}

static void with_peers_an_unlisted_destination_is_refused_naming_the_list(void **state)
{
    fixture *f = *state;
    md_migration m;
    md_err err;

    add_peer(f, "node-b", "10.0.0.2", "");
    add_peer(f, "node-c", "10.0.0.3", "192.168.0.3");
    md_test_fixture_start(f, false);
    size_t before = count_records(f);

    assert_int_equal(create_to(f, "vm-a", "node-x", "", &m, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "node-x"));
    assert_non_null(strstr(err.msg, "node-b, node-c"));
    /* An address of a peer is not its name: names are what Nova sends. */
    assert_int_equal(create_to(f, "vm-a", "10.0.0.2", "", &m, &err), MD_ERR_INVALID);
    /* A listed destination with a migration address that is not its own. */
    assert_int_equal(create_to(f, "vm-a", "node-c", "203.0.113.9", &m, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "203.0.113.9"));
    assert_non_null(strstr(err.msg, "10.0.0.3"));
    assert_non_null(strstr(err.msg, "192.168.0.3"));
    /* Nothing refused left a record behind. */
    assert_int_equal(count_records(f), before);
}

static void with_peers_the_uris_use_the_peer_addresses(void **state)
{
    fixture *f = *state;
    md_migration b, c, c2;
    md_err err;

    add_peer(f, "node-b", "10.0.0.2", "");
    add_peer(f, "node-c", "fd00::3", "192.168.0.3");
    f->cfg->service.max_concurrent_live_migrations = 3;
    md_test_fixture_start(f, false);

    /* Names compare ignoring case; the record names the peer as listed. */
    assert_int_equal(create_to(f, MD_TEST_IDLE_A, "NODE-B", "", &b, &err), MD_OK);
    assert_string_equal(b.dest_compute, "node-b");
    assert_string_equal(b.dest_host, "10.0.0.2");
    assert_int_equal(create_to(f, MD_TEST_IDLE_B, "node-c", "", &c, &err), MD_OK);
    assert_string_equal(c.dest_host, "192.168.0.3");
    /* dest_host may name either of the peer's addresses. */
    assert_int_equal(create_to(f, MD_TEST_IDLE_C, "node-c", "fd00::3", &c2, &err), MD_OK);
    assert_string_equal(c2.dest_host, "fd00::3");

    /* The worker's "migrating" event names the URIs it called libvirt with. */
    md_test_expect_event(f, b.uuid, "state", "(qemu+tcp://10.0.0.2/system,");
    md_test_expect_event(f, c.uuid, "state", "(qemu+tcp://[fd00::3]/system,");
    md_test_expect_event(f, c2.uuid, "state", "(qemu+tcp://[fd00::3]/system,");
    md_test_drive_until(f, b.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, b.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

static void without_peers_any_destination_is_allowed(void **state)
{
    fixture *f = *state;
    md_migration m;
    md_err err;

    md_test_fixture_start(f, false);
    assert_int_equal(f->cfg->peers.count, 0);
    assert_int_equal(create_to(f, MD_TEST_IDLE_A, "anywhere.example", "", &m, &err), MD_OK);
    assert_string_equal(m.dest_host, "");
    md_test_expect_event(f, m.uuid, "state", "(qemu+tcp://anywhere.example/system,");
}

/* ---- a destination that does not answer ---------------------------------------- */

/* A job that ended while the daemon was down, with its domain gone from
 * this node: where it runs must be asked of node-c, which drops packets.
 * The start must not wait for that, nor must the monitor of another
 * migration: both go on while the question is pending, and the record is
 * settled once node-c answers. */
static void a_black_holed_destination_stalls_neither_the_start_nor_the_monitor(void **state)
{
    fixture *f = *state;

    add_peer(f, "node-b", "10.0.0.2", "");
    add_peer(f, "node-c", "10.0.0.3", "");
    assert_true(md_hv_sim_set_here(f->hv, MD_TEST_IDLE_C, false));
    md_migration r = left_behind(f, MD_TEST_IDLE_C, MD_MIG_RUNNING);
    snprintf(r.dest_compute, sizeof r.dest_compute, "node-c");
    assert_int_equal(md_store_update(f->store, &r, NULL), MD_OK);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);

    int64_t t0 = md_test_now_ms();
    md_test_fixture_start(f, false);
    /* Generous, and still well below the MD_HV_PEER_TIMEOUT_MS that a
     * start asking node-c would take: this test is about not stalling. */
    assert_true(md_test_now_ms() - t0 < MD_HV_PEER_TIMEOUT_MS / 2);
    assert_int_equal(md_test_migration(f, r.uuid).state, MD_MIG_RUNNING);

    /* Another migration is watched and steered meanwhile. */
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_migration seen = md_test_drive_until(f, a.uuid, 0.1, md_test_downtime_set);
    assert_true(seen.current_downtime_ms > 0);
    /* ... all while the question to node-c was still pending. */
    assert_true(md_test_now_ms() - t0 < MD_HV_PEER_TIMEOUT_MS);
    assert_int_equal(md_test_migration(f, r.uuid).state, MD_MIG_RUNNING);

    /* node-c answers: the guest is there, the migration completed. */
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", false);
    md_test_expect_state(f, r.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

/* The same question when the job ends under the monitor's eyes (a job
 * re-attached after a restart, with no worker waiting for it): the monitor
 * hands it over and goes on sampling the other migration. */
static void the_monitor_hands_an_ended_job_to_the_settler(void **state)
{
    fixture *f = *state;
    md_err err;
    md_migration r;

    add_peer(f, "node-b", "10.0.0.2", "");
    add_peer(f, "node-c", "10.0.0.3", "");
    f->cfg->service.max_concurrent_live_migrations = 2;
    md_test_fixture_start(f, false);
    assert_int_equal(create_to(f, MD_TEST_IDLE_C, "node-c", "", &r, &err), MD_OK);
    md_test_expect_state(f, r.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_stack_stop(f);
    md_test_fixture_start(f, false);
    md_test_expect_event(f, r.uuid, "recovered", "re-attached");

    /* The job ends while node-c drops packets: completed, the domain gone
     * from here, the question "where is it now?" pending. */
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);
    int64_t t0 = md_test_now_ms();
    while (job_active(f, MD_TEST_IDLE_C) && md_test_now_ms() - t0 < MD_TEST_WAIT_MS)
        md_hv_sim_advance(f->hv, 0.5);
    assert_false(job_active(f, MD_TEST_IDLE_C));
    /* The job's end wakes the monitor at once; give it a moment to take it
     * (and, were it to ask node-c itself, to be stuck in that question). */
    md_test_sleep_ms(200);

    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_migration seen = md_test_drive_until(f, a.uuid, 0.1, md_test_downtime_set);
    assert_true(seen.current_downtime_ms > 0);
    assert_true(md_test_now_ms() - t0 < MD_HV_PEER_TIMEOUT_MS);
    assert_int_equal(md_test_migration(f, r.uuid).state, MD_MIG_RUNNING);

    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", false);
    md_test_expect_state(f, r.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(queue_runs_migrations_one_at_a_time_in_fifo_order),
        T(concurrency_cap_allows_that_many_at_once),
        T(create_refuses_bad_requests),
        T(unknown_domain_is_refused_at_create_and_leaves_no_record),
        T(abort_of_a_queued_migration_never_touches_the_hypervisor),
        T(abort_of_a_running_migration_returns_the_guest_to_the_source),
        T(post_copy_failed_event_reaches_the_timeline_through_the_monitor),
        T(abort_is_refused_in_post_copy),
        T(adaptive_policy_switches_a_hot_guest_to_post_copy),
        T(adaptive_policy_finishes_a_busy_guest_in_pre_copy_by_raising_downtime),
        T(nova_policy_aborts_at_the_completion_timeout),
        T(force_complete_without_post_copy_pauses_the_guest),
        T(post_copy_request_needs_post_copy_permitted_and_a_running_job),
        T(post_copy_asked_as_soon_as_running_waits_for_the_job),
        T(settings_change_while_queued_and_running),
        T(stop_leaves_the_job_running_and_the_record_in_progress),
        T(a_worker_left_behind_by_a_stop_writes_nothing_after_it),
        T(a_stop_after_a_long_lock_writes_what_was_pending),
        T(recovery_reattaches_a_running_job_and_sees_it_finish),
        T(recovery_requeues_queued_migrations_in_order),
        T(recovery_settles_ended_jobs_from_where_the_domain_runs),
        T(recovery_queues_again_a_record_stopped_before_its_migrate_call),
        T(recovery_never_attaches_a_preparing_record_to_a_job_it_did_not_start),
        T(recovery_keeps_a_post_copy_job_in_post_copy),
        T(with_peers_an_unlisted_destination_is_refused_naming_the_list),
        T(with_peers_the_uris_use_the_peer_addresses),
        T(without_peers_any_destination_is_allowed),
        T(a_black_holed_destination_stalls_neither_the_start_nor_the_monitor),
        T(the_monitor_hands_an_ended_job_to_the_settler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
