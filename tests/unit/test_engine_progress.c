/* test_engine_progress.c - what the monitor writes of a migration in progress, and when.
 *
 * The monitor writes a new pass, a state or an action at once, and the byte
 * counters alone at most every MD_ENGINE_PROGRESS_WRITE_MS, while the
 * engine's reads show every sample (service/engine_monitor.c, "Progress in
 * the store"). Every test runs the real engine, store and simulated
 * hypervisor with the simulator's clock moved by hand, as in
 * test_engine.c. No test asserts a time: the one that checks that counters
 * wait for their period only checks it while the period has not passed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/clock.h"
#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/check.h"
#include "tests/support/fixture.h"

typedef md_test_stack fixture;

static md_test_fixture_spec spec = {
    .tag = "progress",
    .vms = MD_TEST_VM_BUSY,
};

/* vm-busy's migration, running, with its job sampled at least once. */
static md_migration start_busy(fixture *f)
{
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    return a;
}

static bool sampled(const md_migration *m)
{
    return m->memory_processed_bytes > 0;
}

static bool second_pass(const md_migration *m)
{
    return m->memory_iteration >= 2;
}

/* Waits (up to MD_TEST_WAIT_MS) until the store's copy of uuid has
 * reached pass iteration; returns it. */
static md_migration stored_pass(fixture *f, const char *uuid, uint32_t iteration)
{
    int64_t until = md_test_now_ms() + MD_TEST_WAIT_MS;
    md_migration s = md_test_stored(f, uuid);

    while (s.memory_iteration < iteration && md_test_now_ms() < until) {
        md_test_sleep_ms(10);
        s = md_test_stored(f, uuid);
    }
    return s;
}

static void a_new_pass_reaches_the_store_at_the_pass_that_saw_it(void **state)
{
    fixture *f = *state;
    md_migration a = start_busy(f);

    md_migration m = md_test_drive_until(f, a.uuid, 0.1, second_pass);
    assert_true(second_pass(&m));
    md_migration s = stored_pass(f, a.uuid, m.memory_iteration);
    assert_int_equal(s.memory_iteration, m.memory_iteration);
    assert_int_equal(s.state, MD_MIG_RUNNING);
}

static void
counters_alone_wait_for_their_period_in_the_store_while_reads_show_each_sample(void **state)
{
    fixture *f = *state;
    md_migration a = start_busy(f);
    int64_t until = md_test_now_ms() + MD_TEST_WAIT_MS;

    /* The first samples of the job are written at once: its sizes became
     * known, and the policy set its first max downtime (its next step is
     * a pass or a minute away). */
    md_migration s0 = md_test_stored(f, a.uuid);
    while ((s0.memory_total_bytes == 0 || s0.current_downtime_ms == 0) &&
           md_test_now_ms() < until) {
        /* The job starts just after the record runs: until then the
         * clock moves nothing. */
        if (!sampled(&s0))
            md_hv_sim_advance(f->hv, 0.01);
        md_test_sleep_ms(10);
        s0 = md_test_stored(f, a.uuid);
    }
    assert_true(s0.memory_total_bytes > 0);
    assert_true(s0.current_downtime_ms > 0);
    int64_t written = md_clock_ms(CLOCK_MONOTONIC);

    /* Within the pass, only the counters move. */
    md_migration later = md_test_migration(f, a.uuid);
    while (later.memory_processed_bytes <= s0.memory_processed_bytes && md_test_now_ms() < until) {
        md_hv_sim_advance(f->hv, 0.05);
        md_test_sleep_ms(20);
        later = md_test_migration(f, a.uuid);
    }
    /* md_engine_get shows the new sample, and so does a list. */
    assert_true(later.memory_processed_bytes > s0.memory_processed_bytes);
    md_store_filter flt = { .in_progress_only = true };
    md_migration *v = NULL;
    size_t n = 0;
    md_err err;
    assert_int_equal(md_engine_list(f->eng, &flt, &v, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_true(v[0].memory_processed_bytes >= later.memory_processed_bytes);
    free(v);
    /* The store keeps the older counters until their period has passed,
     * unless a new pass began: checked only while the period has not
     * passed (a slow machine may take longer to get here). */
    md_migration s1 = md_test_stored(f, a.uuid);
    if (md_clock_ms(CLOCK_MONOTONIC) - written < MD_ENGINE_PROGRESS_WRITE_MS / 2 &&
        s1.memory_iteration == s0.memory_iteration) {
        assert_int_equal(s1.memory_processed_bytes, s0.memory_processed_bytes);
        /* A page of changes up to the written copy's time keeps the record
         * whose live counters (and updated_at) have moved on since: the
         * store selected it, and a short page would read as the last. It
         * shows that written copy, which the filter selects, not the live
         * one, whose updated_at is past the page's bound. */
        if (later.updated_at > s1.updated_at) {
            md_store_filter cb = { .changes_before = s1.updated_at, .limit = 1 };
            assert_int_equal(md_engine_list(f->eng, &cb, &v, &n, &err), MD_OK);
            assert_int_equal(n, 1);
            assert_string_equal(v[0].uuid, a.uuid);
            assert_true(v[0].updated_at <= cb.changes_before);
            assert_int_equal(v[0].memory_processed_bytes, s1.memory_processed_bytes);
            free(v);
        }
    }
}

static void a_stop_writes_the_last_counters_seen(void **state)
{
    fixture *f = *state;
    md_migration a = start_busy(f);

    md_test_drive_until(f, a.uuid, 0.05, sampled);
    md_hv_sim_advance(f->hv, 0.05);
    md_test_sleep_ms(100); /* a few passes sample the moved job */
    /* The clock stands still: every sample from now on reads the same. */
    md_migration m = md_test_migration(f, a.uuid);
    assert_true(md_test_stack_stop(f));
    md_migration s = md_test_stored(f, a.uuid);
    assert_int_equal(s.state, MD_MIG_RUNNING);
    assert_int_equal(s.memory_processed_bytes, m.memory_processed_bytes);
    assert_int_equal(s.memory_iteration, m.memory_iteration);
}

static void an_action_of_the_policy_reaches_the_store_at_once(void **state)
{
    fixture *f = *state;
    md_migration a = start_busy(f);

    /* The policy's first max downtime, an action: written at the pass's
     * end like a new pass, not after the counters' period. */
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_downtime_set);
    assert_true(md_test_downtime_set(&m));
    int64_t until = md_test_now_ms() + MD_TEST_WAIT_MS;
    md_migration s = md_test_stored(f, a.uuid);
    while (s.current_downtime_ms == 0 && md_test_now_ms() < until) {
        md_test_sleep_ms(10);
        s = md_test_stored(f, a.uuid);
    }
    assert_true(s.current_downtime_ms > 0);
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_new_pass_reaches_the_store_at_the_pass_that_saw_it),
        T(counters_alone_wait_for_their_period_in_the_store_while_reads_show_each_sample),
        T(a_stop_writes_the_last_counters_seen),
        T(an_action_of_the_policy_reaches_the_store_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
