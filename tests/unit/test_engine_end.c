/* test_engine_end.c - a migration's end recorded at once, its downtime added when it comes.
 *
 * The real downtime comes with the hypervisor's JOB_COMPLETED event, which
 * may come after the migrate call has returned, or never
 * (service/engine_worker.c, "The end's statistics"). These tests hold or
 * drop that event in the simulator (md_hv_sim_set_completed_events) and
 * check what the record, its timeline and the metrics say before and after
 * it comes. Every test runs the real engine, store and simulated hypervisor
 * with the simulator's clock moved by hand, as in test_engine.c.
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

typedef md_test_stack fixture;

static md_test_fixture_spec spec = {
    .tag = "end",
    .vms = MD_TEST_VM_A | MD_TEST_VM_B,
};

/* The engine's counters now. */
static md_engine_counters counters(fixture *f)
{
    md_engine_snapshot s;
    md_engine_counters c;
    md_err err;

    assert_int_equal(md_engine_metrics(f->eng, &s, &err), MD_OK);
    c = s.counters;
    md_engine_snapshot_clear(&s);
    return c;
}

/* Runs vm-a's migration to its end with the JOB_COMPLETED event treated
 * as mode says; returns the record as the engine shows it at the end. */
static md_migration complete_with_events(fixture *f, md_hv_sim_completed mode)
{
    md_hv_sim_set_completed_events(f->hv, mode);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    return md_test_migration(f, a.uuid);
}

static void
the_end_is_recorded_before_a_late_final_event_and_the_downtime_added_when_it_comes(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration end = complete_with_events(f, MD_HV_SIM_COMPLETED_HOLD);
    /* Completed, in the engine and in the store, while the event is held. */
    assert_int_equal(end.downtime_ms, -1);
    assert_int_equal(end.progress, 100);
    md_migration s = md_test_stored(f, end.uuid);
    assert_int_equal(s.state, MD_MIG_COMPLETED);
    assert_int_equal(s.downtime_ms, -1);
    assert_true(md_test_has_event(f, end.uuid, "state", "downtime not known yet"));
    assert_false(md_test_has_event(f, end.uuid, "final_stats", NULL));

    md_hv_sim_set_completed_events(f->hv, MD_HV_SIM_COMPLETED_DELIVER);
    md_migration late = md_test_drive_until(f, end.uuid, 0, md_test_downtime_known);
    assert_true(md_test_downtime_known(&late));
    assert_true(late.downtime_ms > 0);
    md_test_expect_event(f, end.uuid, "final_stats", "downtime");
    s = md_test_stored(f, end.uuid);
    assert_int_equal(s.state, MD_MIG_COMPLETED);
    assert_int_equal(s.downtime_ms, late.downtime_ms);
    assert_true(s.memory_processed_bytes >= end.memory_processed_bytes);
    /* Still ended when it ended: the statistics do not move its end. */
    assert_int_equal(s.updated_at, end.updated_at);
}

static void an_event_in_time_gives_the_end_its_downtime_counted_once(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration end = complete_with_events(f, MD_HV_SIM_COMPLETED_DELIVER);
    /* The simulator delivers the event as the call returns: the worker may
     * record the end before it or with it, and either way the record gets
     * the downtime, once. */
    md_migration m = md_test_drive_until(f, end.uuid, 0, md_test_downtime_known);
    assert_true(md_test_downtime_known(&m));
    md_engine_counters c = counters(f);
    assert_int_equal(c.ended[MD_MIG_COMPLETED], 1);
    assert_int_equal(c.downtime.count, 1);
}

static void
a_final_event_that_never_comes_leaves_the_record_completed_with_downtime_unknown(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration end = complete_with_events(f, MD_HV_SIM_COMPLETED_DROP);
    assert_int_equal(end.downtime_ms, -1);
    /* A daemon restarted before the event (which is not sent again): the
     * record stays completed, its downtime unknown, and nothing recovers
     * it. */
    assert_true(md_test_stack_stop(f));
    md_test_fixture_start(f, false);
    md_migration m = md_test_migration(f, end.uuid);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_int_equal(m.downtime_ms, -1);
    assert_false(md_test_has_event(f, end.uuid, "final_stats", NULL));
    md_engine_counters c = counters(f);
    assert_int_equal(c.ended[MD_MIG_COMPLETED], 0); /* counted by the run that ended it */
    assert_int_equal(c.downtime.count, 0);
}

static void the_end_and_a_late_downtime_are_each_counted_once(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration end = complete_with_events(f, MD_HV_SIM_COMPLETED_HOLD);
    md_engine_counters c = counters(f);
    assert_int_equal(c.ended[MD_MIG_COMPLETED], 1);
    assert_int_equal(c.duration[MD_MIG_COMPLETED].count, 1);
    assert_int_equal(c.downtime.count, 0); /* not known yet */

    md_hv_sim_set_completed_events(f->hv, MD_HV_SIM_COMPLETED_DELIVER);
    md_migration m = md_test_drive_until(f, end.uuid, 0, md_test_downtime_known);
    assert_true(md_test_downtime_known(&m));
    md_test_expect_event(f, end.uuid, "final_stats", NULL);
    c = counters(f);
    assert_int_equal(c.ended[MD_MIG_COMPLETED], 1);
    assert_int_equal(c.duration[MD_MIG_COMPLETED].count, 1);
    assert_int_equal(c.downtime.count, 1);
    assert_true(c.downtime.sum > (double)m.downtime_ms / 1000.0 - 1e-9);
    assert_true(c.downtime.sum < (double)m.downtime_ms / 1000.0 + 1e-9);

    /* A second migration whose event comes in time counts its own, once. */
    md_migration b = md_test_create(f, MD_TEST_IDLE_B, MD_OK);
    md_test_expect_state(f, b.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, b.uuid, 0.5, md_test_ended);
    md_test_drive_until(f, b.uuid, 0, md_test_downtime_known);
    c = counters(f);
    assert_int_equal(c.ended[MD_MIG_COMPLETED], 2);
    assert_int_equal(c.downtime.count, 2);
}

static void a_late_downtime_waits_for_a_locked_store_and_is_written_when_it_is_free(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration end = complete_with_events(f, MD_HV_SIM_COMPLETED_HOLD);
    FILE *locker = md_test_lock_db(f);
    md_hv_sim_set_completed_events(f->hv, MD_HV_SIM_COMPLETED_DELIVER);
    /* The engine shows it from its pending writes while the store is
     * locked... */
    md_migration m = md_test_drive_until(f, end.uuid, 0, md_test_downtime_known);
    assert_true(md_test_downtime_known(&m));
    assert_int_equal(md_test_stored(f, end.uuid).downtime_ms, -1);
    /* ... and the store has it once it takes writes again. */
    md_test_unlock_db(locker);
    md_test_expect_event(f, end.uuid, "final_stats", NULL);
    assert_int_equal(md_test_stored(f, end.uuid).downtime_ms, m.downtime_ms);
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(the_end_is_recorded_before_a_late_final_event_and_the_downtime_added_when_it_comes),
        T(an_event_in_time_gives_the_end_its_downtime_counted_once),
        T(a_final_event_that_never_comes_leaves_the_record_completed_with_downtime_unknown),
        T(the_end_and_a_late_downtime_are_each_counted_once),
        T(a_late_downtime_waits_for_a_locked_store_and_is_written_when_it_is_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
