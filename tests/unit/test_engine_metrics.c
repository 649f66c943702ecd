/* test_engine_metrics.c - the engine's counters and md_engine_metrics() (service/engine_metrics.c).
 *
 * Every test runs the real engine, store and simulated hypervisor (the
 * simulator's clock moved by hand, as in test_engine.c), drives migrations
 * to the ends and actions it counts, and checks the snapshot: each counter
 * moves where its event happens and nowhere else.
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
    .tag = "metrics",
    .vms = MD_TEST_VM_A | MD_TEST_VM_B | MD_TEST_VM_BUSY | MD_TEST_VM_BUSY2 | MD_TEST_VM_HOT,
};

/* The snapshot now; the test frees it with md_engine_snapshot_clear(). */
static md_engine_snapshot snapshot(fixture *f)
{
    md_engine_snapshot s;
    md_err err;

    assert_int_equal(md_engine_metrics(f->eng, &s, &err), MD_OK);
    return s;
}

static bool in_post_copy(const md_migration *m)
{
    return m->state == MD_MIG_POSTCOPY;
}

/* The sum of a histogram's buckets, which must be its count. */
static uint64_t bucket_total(const md_engine_histogram *h)
{
    uint64_t n = 0;

    for (size_t i = 0; i <= h->nbounds; i++)
        n += h->counts[i];
    return n;
}

/* ---- the counters ------------------------------------------------------------ */

static void a_fresh_engine_counts_nothing_and_says_when_it_started(void **state)
{
    fixture *f = *state;
    int64_t before = md_clock_ms(CLOCK_REALTIME);

    md_test_fixture_start(f, false);
    md_engine_snapshot s = snapshot(f);
    assert_true(s.counters.started_at >= before - 1000);
    assert_true(s.counters.started_at <= md_clock_ms(CLOCK_REALTIME) + 1000);
    assert_int_equal(s.counters.created, 0);
    for (int k = 0; k < MD_MIG_NSTATES; k++) {
        assert_int_equal(s.counters.ended[k], 0);
        assert_int_equal(s.counters.duration[k].count, 0);
    }
    assert_int_equal(s.counters.downtime.count, 0);
    assert_int_equal(s.nmigrations, 0);
    assert_null(s.migrations);
    assert_false(s.health.degraded);
    /* Every histogram has its buckets, ascending. */
    assert_true(s.counters.downtime.nbounds > 0);
    for (size_t i = 1; i < s.counters.downtime.nbounds; i++)
        assert_true(s.counters.downtime.bounds[i] > s.counters.downtime.bounds[i - 1]);
    assert_true(s.counters.duration[MD_MIG_COMPLETED].nbounds > 0);
    md_engine_snapshot_clear(&s);
}

static void completed_and_cancelled_migrations_are_counted_by_final_state(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    /* One completes; one is aborted while running, one while queued. */
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_test_drive_until(f, a.uuid, 0, md_test_downtime_known); /* a moment after the end */
    md_migration b = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_migration c = md_test_create(f, MD_TEST_BUSY2, MD_OK);
    md_test_expect_state(f, b.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_abort(f->eng, c.uuid, &err), MD_OK);
    assert_int_equal(md_engine_abort(f->eng, b.uuid, &err), MD_OK);
    md_test_expect_state(f, b.uuid, md_test_is_final, MD_MIG_CANCELLED);
    /* A refused abort (it has ended) is not counted. */
    assert_int_equal(md_engine_abort(f->eng, c.uuid, &err), MD_ERR_CONFLICT);

    md_engine_snapshot s = snapshot(f);
    const md_engine_counters *k = &s.counters;
    assert_int_equal(k->created, 3);
    assert_int_equal(k->ended[MD_MIG_COMPLETED], 1);
    assert_int_equal(k->ended[MD_MIG_CANCELLED], 2);
    assert_int_equal(k->ended[MD_MIG_FAILED], 0);
    assert_int_equal(k->ended[MD_MIG_ERROR], 0);
    for (int st = 0; st < MD_MIG_NSTATES; st++) {
        if (md_mig_state_in_progress((md_mig_state)st))
            assert_int_equal(k->ended[st], 0);
        assert_int_equal(k->duration[st].count, k->ended[st]);
        assert_int_equal(bucket_total(&k->duration[st]), k->duration[st].count);
    }
    assert_int_equal(k->commands[MD_ENGINE_OP_ABORT], 2);
    /* The completed migration's downtime, as its record has it. */
    md_migration done = md_test_migration(f, a.uuid);
    assert_true(done.downtime_ms > 0);
    assert_int_equal(k->downtime.count, 1);
    assert_true(k->downtime.sum > (double)done.downtime_ms / 1000.0 - 1e-9);
    assert_true(k->downtime.sum < (double)done.downtime_ms / 1000.0 + 1e-9);
    /* Its duration is its record's, creation to the end. */
    double secs = (double)(done.updated_at - done.created_at) / 1000.0;
    assert_true(k->duration[MD_MIG_COMPLETED].sum > secs - 1e-9);
    assert_true(k->duration[MD_MIG_COMPLETED].sum < secs + 1e-9);
    /* Nothing is in progress any more. */
    assert_int_equal(s.nmigrations, 0);
    assert_int_equal(s.running, 0);
    assert_int_equal(s.queued, 0);
    md_engine_snapshot_clear(&s);
}

static void snapshot_shows_each_migration_in_progress_with_its_live_progress(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_migration b = md_test_create(f, MD_TEST_BUSY2, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_migration live = md_test_drive_until(f, a.uuid, 0.2, md_test_downtime_set);
    assert_true(live.current_downtime_ms > 0);

    md_engine_snapshot s = snapshot(f);
    assert_int_equal(s.nmigrations, 2);
    assert_int_equal(s.running, 1);
    assert_int_equal(s.queued, 1);
    const md_migration *ma = NULL, *mb = NULL;
    for (size_t i = 0; i < s.nmigrations; i++) {
        if (strcmp(s.migrations[i].uuid, a.uuid) == 0)
            ma = &s.migrations[i];
        if (strcmp(s.migrations[i].uuid, b.uuid) == 0)
            mb = &s.migrations[i];
    }
    assert_non_null(ma);
    assert_non_null(mb);
    assert_int_equal(ma->state, MD_MIG_RUNNING);
    assert_int_equal(mb->state, MD_MIG_QUEUED);
    assert_string_equal(ma->instance_name, "vm-busy");
    assert_string_equal(ma->dest_compute, "node-b");
    assert_true(ma->memory_total_bytes > 0);
    assert_true(ma->memory_processed_bytes > 0);
    assert_true(ma->current_downtime_ms > 0);
    /* The policy set that downtime: counted once the hypervisor took it. */
    assert_true(s.counters.policy_actions[POLICY_ACT_SET_DOWNTIME] >= 1);
    assert_int_equal(s.counters.policy_actions[POLICY_ACT_ABORT], 0);
    md_engine_snapshot_clear(&s);
    assert_null(s.migrations);
    md_engine_snapshot_clear(NULL);
}

static void policy_abort_is_a_policy_action_not_a_command(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_policy = POLICY_NOVA;
    f->cfg->libvirt.live_migration_completion_timeout = 3; /* 3 s x 2 GiB = 6 s */
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.25, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);

    md_engine_snapshot s = snapshot(f);
    assert_int_equal(s.counters.policy_actions[POLICY_ACT_ABORT], 1);
    assert_int_equal(s.counters.commands[MD_ENGINE_OP_ABORT], 0);
    assert_int_equal(s.counters.ended[MD_MIG_CANCELLED], 1);
    assert_int_equal(s.counters.policy_actions[POLICY_ACT_NONE], 0);
    md_engine_snapshot_clear(&s);
}

static void accepted_commands_are_counted_by_kind_and_refused_ones_are_not(void **state)
{
    fixture *f = *state;
    md_engine_settings s = { .permit_post_copy = -1,
                             .max_downtime_ms = 300,
                             .bandwidth_mibps = -1 };
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.2, md_test_downtime_set);
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_OK);
    s.max_downtime_ms = 50; /* below Nova's minimum */
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_ERR_INVALID);
    /* Post-copy is not permitted: refused. */
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_OK);
    md_test_drive_until(f, a.uuid, 0.2, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);

    md_engine_snapshot snap = snapshot(f);
    const uint64_t *c = snap.counters.commands;
    assert_int_equal(c[MD_ENGINE_OP_SETTINGS], 1);
    assert_int_equal(c[MD_ENGINE_OP_FORCE_COMPLETE], 1);
    assert_int_equal(c[MD_ENGINE_OP_POST_COPY], 0);
    assert_int_equal(c[MD_ENGINE_OP_RECOVER], 0);
    assert_int_equal(c[MD_ENGINE_OP_ABORT], 0);
    /* Force-complete paused the guest through the policy: the operator's
     * action, not the policy's. */
    assert_int_equal(snap.counters.policy_actions[POLICY_ACT_PAUSE], 0);
    md_engine_snapshot_clear(&snap);
    assert_string_equal(md_engine_op_str(MD_ENGINE_OP_SETTINGS), "settings");
    assert_string_equal(md_engine_op_str((md_engine_op)MD_ENGINE_NOPS), "unknown");
}

/* ---- post-copy recovery ------------------------------------------------------- */

static void broken_post_copy_counts_one_recovery_started_and_its_outcome(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_HOT, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.1, in_post_copy);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_event(f, a.uuid, "state", "post-copy broke");
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);

    md_engine_snapshot s = snapshot(f);
    const md_engine_counters *k = &s.counters;
    assert_int_equal(k->policy_actions[POLICY_ACT_POST_COPY], 1);
    assert_int_equal(k->recoveries_started, 1);
    /* Resumed (back to post-copy, then completed) or completed straight
     * from recovery, depending on which the monitor saw first. */
    assert_int_equal(k->recoveries_ended[MD_ENGINE_RECOVERY_RESUMED] +
                         k->recoveries_ended[MD_ENGINE_RECOVERY_COMPLETED],
                     1);
    assert_int_equal(k->recoveries_ended[MD_ENGINE_RECOVERY_ERROR], 0);
    assert_int_equal(k->recoveries_ended[MD_ENGINE_RECOVERY_OTHER], 0);
    assert_int_equal(k->ended[MD_MIG_COMPLETED], 1);
    md_engine_snapshot_clear(&s);
}

static void recovery_out_of_time_is_an_error_outcome_and_recover_starts_another(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_postcopy_recovery_timeout = 2;
    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_HOT, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.1, in_post_copy);
    md_hv_sim_set_dest_reachable(f->hv, false);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_ERROR);

    md_engine_snapshot s = snapshot(f);
    assert_int_equal(s.counters.recoveries_started, 1);
    assert_int_equal(s.counters.recoveries_ended[MD_ENGINE_RECOVERY_ERROR], 1);
    assert_int_equal(s.counters.ended[MD_MIG_ERROR], 1);
    assert_int_equal(s.counters.duration[MD_MIG_ERROR].count, 1);
    md_engine_snapshot_clear(&s);

    /* The operator's recover takes it out of error into a second recovery,
     * which completes: the record ends twice, and counts twice. */
    md_hv_sim_set_dest_reachable(f->hv, true);
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_OK);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    s = snapshot(f);
    assert_int_equal(s.counters.commands[MD_ENGINE_OP_RECOVER], 1);
    assert_int_equal(s.counters.recoveries_started, 2);
    assert_int_equal(s.counters.recoveries_ended[MD_ENGINE_RECOVERY_RESUMED] +
                         s.counters.recoveries_ended[MD_ENGINE_RECOVERY_COMPLETED],
                     1);
    assert_int_equal(s.counters.ended[MD_MIG_ERROR], 1);
    assert_int_equal(s.counters.ended[MD_MIG_COMPLETED], 1);
    md_engine_snapshot_clear(&s);
    assert_string_equal(md_engine_recovery_outcome_str(MD_ENGINE_RECOVERY_ERROR), "error");
}

/* ---- restarts ------------------------------------------------------------------ */

static void a_restart_starts_the_counters_again_from_zero(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_engine_snapshot s = snapshot(f);
    assert_int_equal(s.counters.ended[MD_MIG_COMPLETED], 1);
    int64_t first = s.counters.started_at;
    md_engine_snapshot_clear(&s);
    md_test_stack_stop(f);

    /* Counters count this run: the store's history is not read back. */
    md_test_sleep_ms(5);
    md_test_fixture_start(f, false);
    s = snapshot(f);
    assert_int_equal(s.counters.ended[MD_MIG_COMPLETED], 0);
    assert_int_equal(s.counters.created, 0);
    assert_int_equal(s.counters.duration[MD_MIG_COMPLETED].count, 0);
    assert_true(s.counters.started_at > first);
    md_engine_snapshot_clear(&s);
}

/* ---- drains ---------------------------------------------------------------------- */

/* Two idle guests of 1 GiB, and one that writes 4 GiB/s over all of its
 * 2 GiB with post-copy not permitted, which no plan can move; node-b and
 * node-c with 1 GiB/s links. */
static void prepare_drain(md_test_stack *s)
{
    md_test_stack_add_domain(s, "g-0", "dddddddd-0000-4000-8000-000000000000", 1024, 64, 0);
    md_test_stack_add_domain(s, "g-1", "dddddddd-0000-4000-8000-000000000001", 1024, 64, 0);
    md_test_stack_add_domain(s, "g-hot", "dddddddd-0000-4000-8000-000000000002", 2048, 2048, 4096);
    md_test_stack_add_peer(s, "node-b", "10.0.0.2", "", 1024);
    md_test_stack_add_peer(s, "node-c", "10.0.0.3", "", 1024);
    s->cfg->service.max_concurrent_live_migrations = 4;
    s->cfg->libvirt.live_migration_permit_post_copy = false;
}

static md_test_fixture_spec drain_spec = { .tag = "metrics-drain", .prepare = prepare_drain };

static const char idle_guests[2][MD_NAME_LEN] = { "g-0", "g-1" };
static const char hot_guest[1][MD_NAME_LEN] = { "g-hot" };

static md_drain start_drain(fixture *f, const char (*guests)[MD_NAME_LEN], size_t n, bool strict)
{
    md_drain_request r;
    md_drain d;
    md_err err;

    memset(&r, 0, sizeof r);
    r.ndests = 2;
    md_strlcpy(r.dests[0], "node-b", sizeof r.dests[0]);
    md_strlcpy(r.dests[1], "node-c", sizeof r.dests[1]);
    r.deadline_s = 600;
    r.permit_post_copy = -1;
    r.strict = strict;
    r.instances = guests;
    r.ninstances = n;
    if (md_engine_drain_create(f->eng, &r, &d, &err) != MD_OK)
        fail_msg("drain create: %s", err.msg);
    return d;
}

/* Moves the simulator's clock until the snapshot shows drain uuid running
 * with a prediction; fails the test after MD_TEST_WAIT_MS. */
static md_engine_snapshot until_planned(fixture *f, const char *uuid)
{
    int64_t give_up = md_test_now_ms() + MD_TEST_WAIT_MS;

    for (;;) {
        md_engine_snapshot s = snapshot(f);
        if (s.draining && strcmp(s.drain.uuid, uuid) == 0 && s.drain.state == MD_DRAIN_RUNNING &&
            s.drain.predicted_end_at > 0)
            return s;
        md_engine_snapshot_clear(&s);
        if (md_test_now_ms() > give_up)
            fail_msg("drain %s was never running with a prediction", uuid);
        md_hv_sim_advance(f->hv, 0.1);
        md_test_sleep_ms(5);
    }
}

/* Moves the clock until drain uuid ends; its state then. */
static md_drain_state drain_to_end(fixture *f, const char *uuid)
{
    int64_t give_up = md_test_now_ms() + MD_TEST_WAIT_MS;
    md_drain_state st;

    while ((st = md_engine_drain_wait(f->eng, uuid, 5)) == MD_DRAIN_PLANNING ||
           st == MD_DRAIN_RUNNING) {
        if (md_test_now_ms() > give_up)
            fail_msg("drain %s never ended", uuid);
        md_hv_sim_advance(f->hv, 0.1);
    }
    return st;
}

static void the_drain_in_progress_is_in_the_snapshot_and_its_end_is_counted(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_engine_snapshot s = snapshot(f);
    assert_false(s.draining);
    for (int k = 0; k < MD_DRAIN_NSTATES; k++)
        assert_int_equal(s.counters.drains_ended[k], 0);
    md_engine_snapshot_clear(&s);

    /* Planning (the clock stands still, so its measurement does not end):
     * the drain's numbers, no prediction yet. A cancel with nothing
     * migrating ends it at once, and it is counted cancelled. */
    md_drain a = start_drain(f, idle_guests, 2, false);
    s = snapshot(f);
    assert_true(s.draining);
    assert_string_equal(s.drain.uuid, a.uuid);
    assert_int_equal(s.drain.state, MD_DRAIN_PLANNING);
    assert_int_equal(s.drain.deadline_at, a.deadline_at);
    assert_int_equal(s.drain.predicted_end_at, 0);
    assert_int_equal(s.drain.counts.total, 2);
    assert_int_equal(s.drain.counts.remaining, 2);
    md_engine_snapshot_clear(&s);
    assert_int_equal(md_engine_drain_cancel(f->eng, a.uuid, false, &err), MD_OK);
    s = snapshot(f);
    assert_false(s.draining);
    assert_int_equal(s.counters.drains_ended[MD_DRAIN_CANCELLED], 1);
    md_engine_snapshot_clear(&s);
    md_drain_clear(&a);

    /* Strict, and the plan cannot move the hot guest: failed. */
    md_drain b = start_drain(f, hot_guest, 1, true);
    assert_int_equal(drain_to_end(f, b.uuid), MD_DRAIN_FAILED);
    s = snapshot(f);
    assert_false(s.draining);
    assert_int_equal(s.counters.drains_ended[MD_DRAIN_FAILED], 1);
    md_engine_snapshot_clear(&s);
    md_drain_clear(&b);

    /* Running: the plan's prediction, by the deadline; then completed. */
    md_drain c = start_drain(f, idle_guests, 2, false);
    s = until_planned(f, c.uuid);
    assert_int_equal(s.drain.deadline_at, c.deadline_at);
    assert_true(s.drain.predicted_end_at >= c.created_at &&
                s.drain.predicted_end_at <= c.deadline_at);
    assert_int_equal(s.drain.counts.total, 2);
    assert_int_equal(s.drain.counts.done + s.drain.counts.remaining, 2);
    assert_int_equal(s.drain.counts.failed, 0);
    md_engine_snapshot_clear(&s);
    assert_int_equal(drain_to_end(f, c.uuid), MD_DRAIN_COMPLETED);
    s = snapshot(f);
    assert_false(s.draining);
    assert_int_equal(s.counters.drains_ended[MD_DRAIN_COMPLETED], 1);
    assert_int_equal(s.counters.drains_ended[MD_DRAIN_CANCELLED], 1);
    assert_int_equal(s.counters.drains_ended[MD_DRAIN_FAILED], 1);
    assert_int_equal(s.counters.drains_ended[MD_DRAIN_PARTIAL], 0);
    /* The drain's migrations are migrations like any other. */
    assert_int_equal(s.counters.ended[MD_MIG_COMPLETED], 2);
    md_engine_snapshot_clear(&s);
    md_drain_clear(&c);
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_fresh_engine_counts_nothing_and_says_when_it_started),
        T(completed_and_cancelled_migrations_are_counted_by_final_state),
        T(snapshot_shows_each_migration_in_progress_with_its_live_progress),
        T(policy_abort_is_a_policy_action_not_a_command),
        T(accepted_commands_are_counted_by_kind_and_refused_ones_are_not),
        T(broken_post_copy_counts_one_recovery_started_and_its_outcome),
        T(recovery_out_of_time_is_an_error_outcome_and_recover_starts_another),
        T(a_restart_starts_the_counters_again_from_zero),
        MD_TEST_FIXTURE(the_drain_in_progress_is_in_the_snapshot_and_its_end_is_counted,
                        &drain_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
