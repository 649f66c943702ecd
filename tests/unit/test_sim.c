/* test_sim.c - behaviour of the migration simulator (policy/sim.c).
 *
 * Expected values are worked out by hand from the model described in
 * policy/sim.h (QEMU's switch-over test: complete when pending data fits in
 * rate * max downtime) and written down literally.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "policy/sim.h"

#define MiB (1024.0 * 1024.0)
#define GiB (1024.0 * MiB)

static void assert_near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.6f, want %.6f (+- %g)", got, want, tol);
}

static sim_params idle_guest(void)
{
    sim_params p;
    memset(&p, 0, sizeof p);
    p.ram_bytes = 1 * GiB;
    p.link_rate = 1 * GiB;
    return p;
}

/* Writes 2 GiB/s at random over 512 MiB of 1 GiB, over a 1 GiB/s link. */
static sim_params busy_guest(void)
{
    sim_params p = idle_guest();
    p.working_set_bytes = 512 * MiB;
    p.dirty_rate = 2 * GiB;
    return p;
}

static void idle_guest_completes_in_one_pass_within_qemus_default_downtime(void **state)
{
    (void)state;
    sim_params p = idle_guest();
    sim s;
    sim_result r;

    sim_init(&s, &p);
    /* QEMU's 300 ms default: the pass sends 1024 - 307.2 MiB in 0.7 s, then
     * 307.2 MiB go in a 300 ms stop (+5 ms hand-over). */
    sim_advance(&s, 10.0);
    sim_result_get(&s, &r);
    assert_true(r.completed);
    assert_int_equal(r.iterations, 1);
    assert_near(r.downtime_ms, 305.0, 1e-6);
    assert_near(r.total_s, 1.005, 1e-9);
    assert_near(r.bytes_sent, 1 * GiB, 1.0);
    assert_near(r.postcopy_s, 0, 0);
}

static void lower_downtime_sends_more_before_the_stop(void **state)
{
    (void)state;
    sim_params p = idle_guest();
    sim s;
    sim_result r;

    sim_init(&s, &p);
    assert_int_equal(sim_set_downtime(&s, 50), 0);
    sim_advance(&s, 10.0);
    sim_result_get(&s, &r);
    assert_true(r.completed);
    assert_near(r.downtime_ms, 55.0, 1e-6);
    assert_near(r.total_s, 0.95 + 0.055, 1e-9);
}

static void bandwidth_limit_slows_the_pass(void **state)
{
    (void)state;
    sim_params p = idle_guest();
    sim s;
    sim_result r;

    sim_init(&s, &p);
    assert_int_equal(sim_set_bandwidth(&s, 256 * MiB), 0);
    sim_advance(&s, 100.0);
    sim_result_get(&s, &r);
    /* (1024 - 0.3 * 256) / 256 = 3.7 s, then a 300 ms stop. */
    assert_true(r.completed);
    assert_near(r.total_s, 3.7 + 0.305, 1e-9);
}

static void busy_guest_never_converges_without_help(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;

    sim_init(&s, &p);
    sim_set_downtime(&s, 50);
    while (s.now < 600.0 && sim_active(&s))
        sim_advance(&s, 600.0 - s.now);
    assert_true(sim_active(&s));
    assert_int_equal(s.state, SIM_PRECOPY);
    assert_true(s.iteration > 100);
}

static void advance_stops_at_every_iteration_boundary(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;

    sim_init(&s, &p);
    sim_set_downtime(&s, 50);
    for (uint32_t i = 1; i < 50; i++) {
        assert_int_equal(s.iteration, i);
        assert_true(sim_advance(&s, 1000.0) < 1000.0);
    }
}

static void post_copy_finishes_a_busy_guest(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;
    sim_result r;

    p.permit_post_copy = true;
    sim_init(&s, &p);
    sim_set_downtime(&s, 50);
    sim_advance(&s, 5.0);
    sim_advance(&s, 5.0);
    assert_int_equal(sim_start_post_copy(&s), 0);
    assert_int_equal(s.state, SIM_POSTCOPY);
    double start = s.now;
    sim_advance(&s, 100.0);
    sim_result_get(&s, &r);
    assert_true(r.completed);
    /* The hand-over: 5 ms + a bitmap of 1 GiB / 4 KiB / 8 = 32 KiB at
     * 1 GiB/s. Then at most all of RAM at link speed. */
    assert_near(r.downtime_ms, 5.0 + 32768.0 / GiB * 1000.0, 1e-9);
    assert_true(r.postcopy_s > 0 && r.postcopy_s <= 1.0);
    assert_near(r.total_s - start, r.postcopy_s, 1e-9);
    /* Faults on the missing working set cost the guest some time. */
    assert_true(r.guest_stall_s > 0 && r.guest_stall_s < r.postcopy_s);
}

static void controls_refuse_what_the_state_does_not_allow(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;

    sim_init(&s, &p);
    assert_int_equal(sim_start_post_copy(&s), -1); /* not permitted */
    assert_int_equal(sim_resume(&s), -1);          /* not paused */
    assert_int_equal(sim_pause(&s), 0);
    assert_int_equal(sim_pause(&s), -1);
    assert_int_equal(sim_resume(&s), 0);

    p.permit_post_copy = true;
    sim_init(&s, &p);
    sim_advance(&s, 1.0);
    assert_int_equal(sim_start_post_copy(&s), 0);
    assert_int_equal(sim_start_post_copy(&s), -1); /* already */
    assert_int_equal(sim_abort(&s), -1);           /* no abort in post-copy */
    assert_int_equal(sim_pause(&s), -1);
    sim_advance(&s, 100.0);
    assert_false(sim_active(&s));
    assert_int_equal(sim_set_downtime(&s, 100), -1); /* ended */
}

static void abort_leaves_the_guest_on_the_source(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;
    sim_result r;

    sim_init(&s, &p);
    sim_advance(&s, 3.0);
    assert_int_equal(sim_abort(&s), 0);
    sim_result_get(&s, &r);
    assert_false(r.completed);
    assert_true(r.cancelled);
    assert_int_equal(sim_advance(&s, 1.0), 0);
}

static void pausing_lets_pre_copy_finish_and_counts_as_downtime(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;
    sim_result r;

    sim_init(&s, &p);
    sim_set_downtime(&s, 50);
    while (s.now < 10.0)
        sim_advance(&s, 10.0 - s.now);
    double paused_at = s.now;
    assert_int_equal(sim_pause(&s), 0);
    sim_advance(&s, 100.0);
    sim_advance(&s, 100.0);
    sim_result_get(&s, &r);
    /* Paused, the guest dirties nothing: the pass in flight (at most its
     * 512 MiB working set, 0.5 s) ends, the next sync finds nothing new. */
    assert_true(r.completed);
    assert_true(r.total_s - paused_at <= 0.5 + 0.055 + 1e-9);
    /* Guest-visible downtime is all the time it spent paused. */
    assert_near(r.downtime_ms, (r.total_s - paused_at) * 1000.0, 1e-6);
}

static void auto_converge_throttles_in_qemu_steps_until_it_converges(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;
    double last = 0;
    int changes = 0;

    p.auto_converge = true;
    sim_init(&s, &p);
    sim_set_downtime(&s, 50);
    while (sim_active(&s) && s.now < 600.0) {
        sim_advance(&s, 600.0 - s.now);
        if (s.throttle != last) {
            /* 20 % first, then 10 points at a time, never above 99 %. */
            assert_near(s.throttle, last == 0 ? 0.20 : fmin(0.99, last + 0.10), 1e-9);
            last = s.throttle;
            changes++;
        }
    }
    assert_true(changes >= 1);
    assert_int_equal(s.state, SIM_COMPLETED);
    assert_true(s.guest_stall_s > 0);
}

static void block_migration_copies_disks_before_memory(void **state)
{
    (void)state;
    sim_params p = idle_guest();
    sim s;
    policy_sample x;

    p.disk_bytes = 2 * GiB;
    sim_init(&s, &p);
    sim_advance(&s, 1.0);
    sim_sample(&s, &x);
    assert_int_equal(x.iteration, 0);
    assert_near((double)x.disk_remaining, 1 * GiB, 1.0);
    assert_near((double)x.mem_remaining, 1 * GiB, 1.0);
    sim_advance(&s, 1.5); /* stops at the boundary: disks done at 2 s */
    sim_sample(&s, &x);
    assert_near(s.now, 2.0, 1e-9);
    assert_int_equal(x.iteration, 1);
    assert_int_equal(x.disk_remaining, 0);
}

static void run_with_nova_aborts_a_guest_that_cannot_converge(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    policy_settings ps;
    sim_result r;

    /* All of RAM is written at 4 GiB/s. Even at Nova's last step (500 ms =
     * 512 MiB) a sync at the switch-over test leaves 512 MiB of the 1 GiB
     * still to send; each short pass after it sends the excess while the
     * guest dirties 4x as much, half of it outside what is left, so the
     * excess grows (4 x 0.5 = 2 > 1) and pre-copy never fits. The
     * completion timeout (800 s x 2 GiB), or the progress timeout before
     * it, must abort the job. */
    p.working_set_bytes = 1 * GiB;
    p.dirty_rate = 4 * GiB;
    policy_settings_default(&ps, POLICY_NOVA, 2.0);
    sim_run(&p, &ps, 0.5, 10000.0, NULL, NULL, &r);
    assert_true(r.cancelled);
    assert_false(r.completed);
    assert_true(r.total_s > 150.0 && r.total_s <= 1600.5 + 1e-9);
}

static void run_with_adaptive_finishes_a_busy_guest_in_post_copy(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    policy_settings ps;
    sim_result r;

    p.permit_post_copy = true;
    policy_settings_default(&ps, POLICY_ADAPTIVE, 2.0);
    ps.permit_post_copy = true;
    sim_run(&p, &ps, 0.5, 10000.0, NULL, NULL, &r);
    assert_true(r.completed);
    assert_true(r.postcopy_s > 0);
    /* One full pass (1 s) at least, then at most a few short ones. */
    assert_true(r.total_s > 1.0 && r.total_s < 5.0);
}

static void guest_impact_of_a_pre_copy_finish_is_its_downtime(void **state)
{
    (void)state;
    sim_params p = idle_guest();
    sim s;
    sim_result r;

    sim_init(&s, &p);
    sim_advance(&s, 10.0);
    sim_result_get(&s, &r);
    /* The 305 ms stop, at full depth; nothing else slowed the guest. */
    assert_near(r.guest_stall_s, 0.0, 1e-12);
    assert_near(r.guest_impact_s, 0.305, 1e-9);
}

static void guest_impact_integrates_the_throttle_share_over_time(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;
    sim_result r;

    sim_init(&s, &p);
    s.throttle = 0.5; /* as if auto-converge had reached 50 % */
    /* Pass 1 sends 1 GiB at 1 GiB/s: 0.3 s stay inside it. */
    sim_advance(&s, 0.3);
    sim_result_get(&s, &r);
    assert_true(sim_active(&s));
    assert_near(r.guest_impact_s, 0.5 * 0.3, 1e-9);
}

static void guest_impact_of_post_copy_is_the_missing_working_set_over_time(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim s;
    sim_result r;

    p.permit_post_copy = true;
    sim_init(&s, &p);
    sim_advance(&s, 10.0); /* to the end of pass 1 */
    assert_int_equal(sim_start_post_copy(&s), 0);
    double m0 = s.ws_missing, hand_over_ms = s.downtime_ms_real;
    sim_advance(&s, 100.0);
    sim_result_get(&s, &r);
    assert_true(r.completed);
    /* The missing share falls linearly from m0 / W to 0 in m0 / rate
     * seconds: its integral is m0 / W x m0 / rate / 2. */
    double w = p.working_set_bytes, rate = p.link_rate;
    assert_true(m0 > 0);
    assert_near(r.guest_stall_s, m0 / w * (m0 / rate) / 2.0, 1e-9);
    assert_near(r.guest_impact_s, r.guest_stall_s + hand_over_ms / 1000.0, 1e-9);
}

static policy_action abort_at_once(void *dctx, const policy_sample *x)
{
    policy_action a;
    int *calls = dctx;

    (*calls)++;
    memset(&a, 0, sizeof a);
    a.kind = POLICY_ACT_ABORT;
    assert_true(x->elapsed_s > 0);
    return a;
}

static void drive_applies_what_the_decision_function_returns(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    sim_result r;
    int calls = 0;

    /* The first sample is the 0.5 s tick, inside pass 1 (1 s). */
    sim_drive(&p, 0.5, 100.0, abort_at_once, &calls, NULL, NULL, &r);
    assert_int_equal(calls, 1);
    assert_true(r.cancelled);
    assert_near(r.total_s, 0.5, 1e-9);
}

static void runs_are_deterministic(void **state)
{
    (void)state;
    sim_params p = busy_guest();
    policy_settings ps;
    sim_result a, b;

    p.auto_converge = true;
    policy_settings_default(&ps, POLICY_ADAPTIVE, 2.0);
    sim_run(&p, &ps, 0.5, 10000.0, NULL, NULL, &a);
    sim_run(&p, &ps, 0.5, 10000.0, NULL, NULL, &b);
    assert_memory_equal(&a, &b, sizeof a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_guest_completes_in_one_pass_within_qemus_default_downtime),
        cmocka_unit_test(lower_downtime_sends_more_before_the_stop),
        cmocka_unit_test(bandwidth_limit_slows_the_pass),
        cmocka_unit_test(busy_guest_never_converges_without_help),
        cmocka_unit_test(advance_stops_at_every_iteration_boundary),
        cmocka_unit_test(post_copy_finishes_a_busy_guest),
        cmocka_unit_test(controls_refuse_what_the_state_does_not_allow),
        cmocka_unit_test(abort_leaves_the_guest_on_the_source),
        cmocka_unit_test(pausing_lets_pre_copy_finish_and_counts_as_downtime),
        cmocka_unit_test(auto_converge_throttles_in_qemu_steps_until_it_converges),
        cmocka_unit_test(block_migration_copies_disks_before_memory),
        cmocka_unit_test(run_with_nova_aborts_a_guest_that_cannot_converge),
        cmocka_unit_test(run_with_adaptive_finishes_a_busy_guest_in_post_copy),
        cmocka_unit_test(guest_impact_of_a_pre_copy_finish_is_its_downtime),
        cmocka_unit_test(guest_impact_integrates_the_throttle_share_over_time),
        cmocka_unit_test(guest_impact_of_post_copy_is_the_missing_working_set_over_time),
        cmocka_unit_test(drive_applies_what_the_decision_function_returns),
        cmocka_unit_test(runs_are_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
