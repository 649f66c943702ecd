/* test_engine_postcopy.c - broken and stalled post-copy, resumed; commands that survive a crash
 * (service/engine_postcopy.c, and the durable commands of engine_commands.c and
 * engine_recovery.c).
 *
 * Every test runs the real engine and store on the simulated hypervisor,
 * whose faults (a broken or stalled post-copy link, an unreachable
 * destination) are injected through service/hv_sim.h. The simulator's
 * clock moves only when a test moves it; the resume backoff runs on real
 * time, so a test that waits for failed attempts takes a few seconds.
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
    .tag = "postcopy",
    .vms = MD_TEST_VM_A | MD_TEST_VM_BUSY | MD_TEST_VM_HOT,
};

static bool in_post_copy(const md_migration *m)
{
    return m->state == MD_MIG_POSTCOPY;
}

/* The hot guest, post-copy permitted: the policy switches it to post-copy
 * after its first pass. Returns once the record says post-copy. */
static md_migration hot_guest_in_post_copy(fixture *f)
{
    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_HOT, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, in_post_copy);
    assert_int_equal(m.state, MD_MIG_POSTCOPY);
    return a;
}

static md_hv_job job(fixture *f, const char *uuid)
{
    md_hv_job j;
    assert_int_equal(md_hv_job_stats(f->hv, uuid, &j, NULL), MD_OK);
    return j;
}

static size_t count_events(fixture *f, const char *uuid, const char *kind, const char *text)
{
    md_event *ev = NULL;
    size_t n = 0, found = 0;

    assert_int_equal(md_store_events(f->store, uuid, &ev, &n, NULL), MD_OK);
    for (size_t i = 0; i < n; i++)
        found += strcmp(ev[i].kind, kind) == 0 && strstr(ev[i].message, text);
    free(ev);
    return found;
}

/* ---- a break --------------------------------------------------------------------- */

static void broken_post_copy_is_resumed_and_completes_on_the_destination(void **state)
{
    fixture *f = *state;
    md_migration a = hot_guest_in_post_copy(f);

    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_event(f, a.uuid, "state", "post-copy broke");
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_true(m.post_copy);
    assert_true(m.recovery_attempts >= 1);
    assert_true(md_test_has_event(f, a.uuid, "state", "post-copy broke"));
    assert_true(md_test_has_event(f, a.uuid, "recovery_attempt", "attempt 1"));
    assert_true(md_test_has_event(f, a.uuid, "recovered", NULL));
    /* Once resumed it was post-copy again until it completed. */
    assert_true(md_test_has_event(f, a.uuid, "state", "post-copy resumed (attempt 1)"));
    assert_int_equal(m.recovery_started_at, 0);
    /* The guest now lives on the destination only. */
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, MD_TEST_HOT, &d, NULL), MD_ERR_NOT_FOUND);
}

static void resumed_post_copy_that_breaks_again_is_recovered_again(void **state)
{
    fixture *f = *state;
    md_migration a = hot_guest_in_post_copy(f);

    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_event(f, a.uuid, "state", "post-copy resumed (attempt 1)");
    /* The resumed stream breaks too: the same worker goes on. */
    md_test_expect_state(f, a.uuid, md_test_is_post_copy, MD_MIG_POSTCOPY);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_true(m.recovery_attempts >= 2);
    /* Two breaks, each into recovery (named by whichever of the monitor
     * and the worker saw the second one first). */
    assert_int_equal(count_events(f, a.uuid, "state", "post-copy broke"), 2);
}

static void unreachable_destination_is_retried_with_backoff_until_it_answers(void **state)
{
    fixture *f = *state;
    md_migration a = hot_guest_in_post_copy(f);

    md_hv_sim_set_dest_reachable(f->hv, false);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_state(f, a.uuid, md_test_is_recovering, MD_MIG_POSTCOPY_RECOVERING);
    /* Attempts 1 and 2 (1 s apart) fail with the hypervisor's reason. */
    md_test_expect_event(f, a.uuid, "recovery_failed", "attempt 2 failed");
    assert_true(md_test_has_event(f, a.uuid, "recovery_failed", "unable to connect"));
    assert_true(md_test_has_event(f, a.uuid, "recovery_failed", "next in 1 s"));
    assert_true(md_test_has_event(f, a.uuid, "recovery_failed", "next in 2 s"));
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_POSTCOPY_RECOVERING);
    /* Both halves stay: the domain still here, its job broken, not gone. */
    assert_true(md_test_domain(f, MD_TEST_HOT).active);
    assert_true(job(f, MD_TEST_HOT).post_copy_failed);

    md_hv_sim_set_dest_reachable(f->hv, true);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_true(m.recovery_attempts >= 3);
}

static void a_destination_still_in_post_copy_is_asked_again_every_2_s_not_backed_off(void **state)
{
    fixture *f = *state;
    md_migration a = hot_guest_in_post_copy(f);

    /* The destination has not seen the break yet: libvirt refuses each
     * resume at once, and the waits between attempts stop doubling at 2 s. */
    md_hv_sim_set_dest_aware(f->hv, false);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_event(f, a.uuid, "recovery_failed", "attempt 3 failed");
    assert_true(md_test_has_event(f, a.uuid, "recovery_failed", "still running; next in 1 s"));
    assert_true(md_test_has_event(f, a.uuid, "recovery_failed",
                                  "attempt 3 failed: Requested "
                                  "operation is not valid: QEMU "
                                  "reports migration is still "
                                  "running; next in 2 s"));
    assert_false(md_test_has_event(f, a.uuid, "recovery_failed", "next in 4 s"));
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_POSTCOPY_RECOVERING);

    md_hv_sim_set_dest_aware(f->hv, true);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_true(m.recovery_attempts >= 4);
}

static void recovery_out_of_time_ends_in_error_with_both_halves_then_recover_completes(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_postcopy_recovery_timeout = 2;
    md_migration a = hot_guest_in_post_copy(f);
    md_hv_sim_set_dest_reachable(f->hv, false);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_ERROR);

    md_migration m = md_test_migration(f, a.uuid);
    assert_non_null(strstr(m.error, "destroyed neither half"));
    assert_non_null(strstr(m.error, "node-b"));                  /* where the vCPUs are */
    assert_non_null(strstr(m.error, "node-a"));                  /* where the rest is */
    assert_non_null(strstr(m.error, "\"action\": \"recover\"")); /* what to do */
    assert_true(md_test_domain(f, MD_TEST_HOT).active);
    assert_true(job(f, MD_TEST_HOT).post_copy_failed);

    /* The link is back: the operator's recover resumes it from error. */
    md_hv_sim_set_dest_reachable(f->hv, true);
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_OK);
    m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_string_equal(m.error, "");
    assert_true(md_test_has_event(f, a.uuid, "recover_requested", "from error"));
}

static void abort_and_settings_are_refused_while_recovering(void **state)
{
    fixture *f = *state;
    md_engine_settings s = { .permit_post_copy = -1,
                             .max_downtime_ms = 300,
                             .bandwidth_mibps = -1 };
    md_err err;
    md_migration a = hot_guest_in_post_copy(f);

    md_hv_sim_set_dest_reachable(f->hv, false);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_state(f, a.uuid, md_test_is_recovering, MD_MIG_POSTCOPY_RECOVERING);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "would lose it"));
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_ERR_CONFLICT);
    /* recover is what makes sense here: an attempt now. */
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_OK);
    md_test_expect_event(f, a.uuid, "recovery_attempt", "asked by an operator");
    md_hv_sim_set_dest_reachable(f->hv, true);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
}

static void recover_is_refused_where_there_is_nothing_to_recover(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "only a broken post-copy"));
    assert_int_equal(md_engine_recover(f->eng, MD_TEST_GHOST, &err), MD_ERR_NOT_FOUND);

    md_migration b = md_test_create(f, MD_TEST_IDLE_A, MD_OK); /* queued behind a */
    assert_int_equal(md_engine_recover(f->eng, b.uuid, &err), MD_ERR_CONFLICT);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);
    /* Ended without a post-copy behind it: nothing to recover. */
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
}

/* ---- a stall --------------------------------------------------------------------- */

static void stalled_post_copy_is_paused_then_resumed(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_postcopy_stall_timeout = 1;
    md_migration a = hot_guest_in_post_copy(f);
    /* Nothing moves, nothing breaks: only the missing progress tells. */
    md_hv_sim_stall_postcopy(f->hv, MD_TEST_HOT, true);
    md_hv_sim_advance(f->hv, 0.5);
    md_test_expect_event(f, a.uuid, "post_copy_stalled", "no post-copy progress for 1 s");
    md_test_expect_event(f, a.uuid, "state", "post-copy broke");
    md_hv_sim_stall_postcopy(f->hv, MD_TEST_HOT, false);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    /* Which of the two saw the pause first names the break: the monitor
     * that forced it, or the worker whose migrate call it ended. */
    assert_true(md_test_has_event(f, a.uuid, "state", "stalled, paused by migrationd") ||
                md_test_has_event(f, a.uuid, "state", "the migrate call failed in post-copy"));
}

/* A partition with a 1 s stall timeout and a 2 s window: nothing moves; the
 * job is forced into the failed state while the destination does not
 * answer, so libvirt's first call returns only when it answers again and
 * no resume can start meanwhile. Returns once the stall was seen. */
static md_migration stalled_behind_a_partition(fixture *f)
{
    f->cfg->libvirt.live_migration_postcopy_stall_timeout = 1;
    f->cfg->libvirt.live_migration_postcopy_recovery_timeout = 2;
    md_migration a = hot_guest_in_post_copy(f);
    md_hv_sim_set_dest_reachable(f->hv, false);
    md_test_expect_event(f, a.uuid, "post_copy_stalled", NULL);
    return a;
}

static void window_ends_even_while_the_owning_call_waits_for_the_destination(void **state)
{
    fixture *f = *state;
    md_err err;

    md_migration a = stalled_behind_a_partition(f);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_ERROR);
    md_migration m = md_test_migration(f, a.uuid);
    assert_non_null(strstr(m.error, "none could start"));
    assert_non_null(strstr(m.error, "destroyed neither half"));
    assert_true(job(f, MD_TEST_HOT).post_copy_failed);

    md_hv_sim_set_dest_reachable(f->hv, true);
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_OK);
    m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
}

static void recover_asked_while_the_owning_call_waits_is_carried_out_not_given_up(void **state)
{
    fixture *f = *state;
    md_err err;

    md_migration a = stalled_behind_a_partition(f);
    md_test_expect_state(f, a.uuid, md_test_is_recovering, MD_MIG_POSTCOPY_RECOVERING);
    /* Accepted (202) while the first call still owns the job... */
    assert_int_equal(md_engine_recover(f->eng, a.uuid, &err), MD_OK);
    /* ...so the window's end does not drop it in error: the record waits
     * for that call, and the attempt follows once the destination answers. */
    md_test_sleep_ms(3500);
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_POSTCOPY_RECOVERING);
    md_hv_sim_set_dest_reachable(f->hv, true);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_true(md_test_has_event(f, a.uuid, "recovery_attempt", "asked by an operator"));
}

/* ---- restarts -------------------------------------------------------------------- */

static void restart_while_recovering_picks_the_recovery_up(void **state)
{
    fixture *f = *state;
    md_migration a = hot_guest_in_post_copy(f);

    md_hv_sim_set_dest_reachable(f->hv, false);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_expect_event(f, a.uuid, "recovery_failed", "attempt 1 failed");
    md_test_stack_stop(f); /* the worker's backoff wait ends with the stop */
    md_migration r;
    assert_int_equal(md_store_get(f->store, a.uuid, &r, NULL), MD_OK);
    assert_int_equal(r.state, MD_MIG_POSTCOPY_RECOVERING);
    assert_true(r.recovery_attempts >= 1);

    md_hv_sim_set_dest_reachable(f->hv, true);
    md_test_fixture_start(f, false);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_true(m.recovery_attempts >= 2);
}

static void restart_finds_a_post_copy_broken_while_it_was_down(void **state)
{
    fixture *f = *state;
    md_migration a = hot_guest_in_post_copy(f);

    md_test_stack_stop(f);
    /* The stream breaks while no daemon runs. */
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_HOT));
    md_test_fixture_start(f, false);
    md_migration m = md_test_drive_until(f, a.uuid, 0.1, md_test_ended);
    assert_int_equal(m.state, MD_MIG_COMPLETED);
    assert_true(md_test_has_event(f, a.uuid, "state", "found broken after a restart"));
}

static void abort_accepted_before_a_crash_is_carried_out_after_the_restart(void **state)
{
    fixture *f = *state;
    md_command c = { .kind = MD_CMD_ABORT };
    md_event ev = { .kind = "abort_requested" };

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_stack_stop(f);
    /* What md_engine_abort() writes before it answers 202, with the daemon
     * killed before its monitor carried it out. */
    snprintf(c.uuid, sizeof c.uuid, "%s", a.uuid);
    snprintf(ev.message, sizeof ev.message, "abort requested while running");
    assert_int_equal(md_store_add_command(f->store, &c, &ev, NULL, NULL), MD_OK);

    md_test_fixture_start(f, false);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);
    assert_true(md_test_domain(f, MD_TEST_BUSY).active); /* back on the source */
    assert_true(md_test_has_event(f, a.uuid, "recovered", "abort command"));
    md_command *left = NULL;
    size_t n = 9;
    assert_int_equal(md_store_pending_commands(f->store, &left, &n, NULL), MD_OK);
    free(left);
    assert_int_equal(n, 0);
}

static void accepted_commands_are_in_the_store_before_the_answer(void **state)
{
    fixture *f = *state;
    md_command *v = NULL;
    size_t n = 0;
    md_err err;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    /* The engine stops right after the request, as a crash would stop it.
     * The monitor may have carried the command out in between (then it is
     * finished and the abort event is there); otherwise it is pending.
     * Either way it is not lost. */
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_OK);
    md_test_stack_stop(f);
    assert_int_equal(md_store_pending_commands(f->store, &v, &n, NULL), MD_OK);
    bool pending = n == 1 && v[0].kind == MD_CMD_ABORT && strcmp(v[0].uuid, a.uuid) == 0;
    free(v);
    assert_true(pending || md_test_has_event(f, a.uuid, "abort", "operator"));
    assert_true(md_test_has_event(f, a.uuid, "abort_requested", NULL));
    /* Restarted, the abort ends it cancelled either way. */
    md_test_fixture_start(f, false);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);
}

static void paused_guest_is_written_at_once_and_resumed_after_a_restart(void **state)
{
    fixture *f = *state;
    md_migration r;
    md_err err;

    md_test_fixture_start(f, false); /* post-copy not permitted: force-complete pauses */
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_OK);
    md_test_expect_event(f, a.uuid, "pause", NULL);
    /* In the store as soon as the event is, not at the end of a pass. */
    assert_int_equal(md_store_get(f->store, a.uuid, &r, NULL), MD_OK);
    assert_true(r.paused);
    assert_true(md_test_domain(f, MD_TEST_BUSY).paused);

    /* Killed; meanwhile the migration fails (here: its job is aborted). */
    md_test_stack_stop(f);
    assert_int_equal(md_hv_abort_job(f->hv, MD_TEST_BUSY, false, NULL), MD_OK);
    md_hv_sim_advance(f->hv, 0.1);
    md_test_fixture_start(f, false);
    md_migration m = md_test_drive_until(f, a.uuid, 0.0, md_test_ended);
    assert_true(m.state == MD_MIG_FAILED || m.state == MD_MIG_CANCELLED);
    assert_false(m.paused);
    assert_false(md_test_domain(f, MD_TEST_BUSY).paused); /* resumed, on the source */
    assert_true(md_test_has_event(f, a.uuid, "resume", NULL));
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(broken_post_copy_is_resumed_and_completes_on_the_destination),
        T(resumed_post_copy_that_breaks_again_is_recovered_again),
        T(unreachable_destination_is_retried_with_backoff_until_it_answers),
        T(a_destination_still_in_post_copy_is_asked_again_every_2_s_not_backed_off),
        T(recovery_out_of_time_ends_in_error_with_both_halves_then_recover_completes),
        T(abort_and_settings_are_refused_while_recovering),
        T(recover_is_refused_where_there_is_nothing_to_recover),
        T(stalled_post_copy_is_paused_then_resumed),
        T(window_ends_even_while_the_owning_call_waits_for_the_destination),
        T(recover_asked_while_the_owning_call_waits_is_carried_out_not_given_up),
        T(restart_while_recovering_picks_the_recovery_up),
        T(restart_finds_a_post_copy_broken_while_it_was_down),
        T(abort_accepted_before_a_crash_is_carried_out_after_the_restart),
        T(accepted_commands_are_in_the_store_before_the_answer),
        T(paused_guest_is_written_at_once_and_resumed_after_a_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
