/* test_policy.c - behaviour of the decision engine (policy/policy.c).
 *
 * Every expected value here was worked out by hand from Nova's formulas (see
 * ../shared/FACTS.md) or from the adaptive rules in DESIGN.md, and is written
 * down literally; none is read back from the engine's own output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "policy/policy.h"

#define MiB (1024ull * 1024ull)
#define GiB (1024ull * MiB)

/* Settings with Nova's defaults for a data size, timeouts off unless a test
 * turns them on, so each test sees only the rule it is about. */
static policy_settings settings(policy_kind kind, double data_gib)
{
    policy_settings s;
    policy_settings_default(&s, kind, data_gib);
    s.completion_timeout_s = 0;
    s.progress_timeout_s = 0;
    return s;
}

static policy_sample at(double t, uint32_t iteration, uint64_t mem_remaining)
{
    policy_sample s;
    memset(&s, 0, sizeof s);
    s.elapsed_s = t;
    s.iteration = iteration;
    s.mem_total = 2 * GiB;
    s.mem_remaining = mem_remaining;
    return s;
}

static policy_action feed(policy *p, double t, uint32_t iteration, uint64_t mem_remaining)
{
    policy_sample s = at(t, iteration, mem_remaining);
    return policy_step_sample(p, &s);
}

/* ---- data size ---------------------------------------------------------- */

static void data_size_counts_ram_below_2gib_as_2gib(void **state)
{
    (void)state;
    assert_true(policy_data_gib(512 * MiB, NULL, 0) == 2.0);
    assert_true(policy_data_gib(1 * GiB, NULL, 0) == 2.0);
    assert_true(policy_data_gib(3 * GiB, NULL, 0) == 3.0);
}

static void data_size_counts_each_disk_as_at_least_2gib(void **state)
{
    (void)state;
    const uint64_t disks[] = { 512 * MiB, 5 * GiB, 1 * GiB };
    /* RAM 3 + disks 2 + 5 + 2. */
    assert_true(policy_data_gib(3 * GiB, disks, 3) == 12.0);
    /* RAM 2 (minimum) + 4.5. */
    const uint64_t big[] = { 4 * GiB + 512 * MiB };
    assert_true(policy_data_gib(1 * GiB, big, 1) == 6.5);
}

/* ---- Nova's downtime ramp ------------------------------------------------ */

static void check_ramp(double gib, const double *after, const uint32_t *ms, size_t n)
{
    policy_settings s = settings(POLICY_NOVA, gib);
    policy_step steps[32];
    size_t got = policy_downtime_steps(&s, steps, 32);

    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(steps[i].after_s == after[i]);
        assert_int_equal(steps[i].downtime_ms, ms[i]);
    }
}

static void ramp_for_2gib_matches_nova(void **state)
{
    (void)state;
    const double after[] = { 0, 150, 300, 450, 600, 750, 900, 1050, 1200, 1350, 1500 };
    const uint32_t ms[] = { 50, 95, 140, 185, 230, 275, 320, 365, 410, 455, 500 };
    check_ramp(2.0, after, ms, 11);
}

static void ramp_for_8gib_matches_nova(void **state)
{
    (void)state;
    const double after[] = { 0, 600, 1200, 1800, 2400, 3000, 3600, 4200, 4800, 5400, 6000 };
    const uint32_t ms[] = { 50, 95, 140, 185, 230, 275, 320, 365, 410, 455, 500 };
    check_ramp(8.0, after, ms, 11);
}

static void ramp_truncates_scaled_delay_to_whole_seconds(void **state)
{
    (void)state;
    /* Nova: delay = int(75 * 4.5) = 337. */
    const double after[] = { 0, 337, 674, 1011, 1348, 1685, 2022, 2359, 2696, 3033, 3370 };
    const uint32_t ms[] = { 50, 95, 140, 185, 230, 275, 320, 365, 410, 455, 500 };
    check_ramp(4.5, after, ms, 11);
}

static void ramp_truncates_fractional_downtimes(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy_step steps[8];

    /* 1000 ms in 7 steps: base 142.857, offset 122.449. */
    s.downtime_ms = 1000;
    s.downtime_steps = 7;
    s.downtime_delay_s = 3;
    assert_int_equal(policy_downtime_steps(&s, steps, 8), 8);
    const uint32_t ms[] = { 142, 265, 387, 510, 632, 755, 877, 1000 };
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(steps[i].downtime_ms, ms[i]);
        assert_true(steps[i].after_s == 6.0 * (double)i);
    }
}

static void ramp_steps_apply_strictly_after_their_start(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;
    policy_action a;

    policy_init(&p, &s);
    /* Nova: a step applies when elapsed > its start, so nothing at 0. */
    assert_int_equal(feed(&p, 0.0, 1, GiB).kind, POLICY_ACT_NONE);
    a = feed(&p, 0.5, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 50);
    assert_int_equal(feed(&p, 1.0, 1, GiB).kind, POLICY_ACT_NONE);
    assert_int_equal(feed(&p, 150.0, 1, GiB).kind, POLICY_ACT_NONE);
    a = feed(&p, 150.5, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 95);
    /* A late sample jumps straight to the step in force, as Nova does. */
    a = feed(&p, 1400.0, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 455);
    a = feed(&p, 1600.0, 1, GiB);
    assert_int_equal(a.downtime_ms, 500);
    assert_int_equal(feed(&p, 5000.0, 1, GiB).kind, POLICY_ACT_NONE);
}

/* ---- completion timeout and timeout action ------------------------------- */

static void completion_timeout_aborts_once_after_800s_per_gib(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    s.completion_timeout_s = 800; /* 1600 s for 2 GiB */
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(feed(&p, 1600.0, 1, GiB).kind, POLICY_ACT_SET_DOWNTIME); /* 500 ms */
    assert_int_equal(feed(&p, 1600.0, 1, GiB).kind, POLICY_ACT_NONE);
    policy_action a = feed(&p, 1600.5, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_ABORT);
    assert_non_null(strstr(a.reason, "1600"));
    /* Latched: never a second action after an abort. */
    assert_int_equal(feed(&p, 1601.0, 1, GiB).kind, POLICY_ACT_NONE);
    assert_int_equal(feed(&p, 9000.0, 2, GiB).kind, POLICY_ACT_NONE);
}

static void completion_timeout_scales_with_fractional_data_size(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.5);
    policy p;

    s.completion_timeout_s = 3; /* int(3 * 2.5) = 7 s */
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(feed(&p, 7.0, 1, GiB).kind, POLICY_ACT_NONE);
    assert_int_equal(feed(&p, 7.1, 1, GiB).kind, POLICY_ACT_ABORT);
}

static void completion_timeout_zero_never_fires(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    policy_init(&p, &s);
    for (double t = 0.5; t < 200000.0; t += 997.0) {
        policy_action a = feed(&p, t, 1, GiB);
        assert_true(a.kind == POLICY_ACT_NONE || a.kind == POLICY_ACT_SET_DOWNTIME);
    }
}

static void timeout_force_complete_starts_post_copy_once_when_permitted(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    s.completion_timeout_s = 10; /* 20 s */
    s.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    s.permit_post_copy = true;
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(feed(&p, 20.5, 1, GiB).kind, POLICY_ACT_POST_COPY);
    /* Until the job reports post-copy, and after, nothing more. */
    assert_int_equal(feed(&p, 21.0, 1, GiB).kind, POLICY_ACT_NONE);
    assert_int_equal(feed(&p, 500.0, 2, GiB).kind, POLICY_ACT_NONE);
}

static void timeout_force_complete_pauses_once_without_post_copy(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    s.completion_timeout_s = 10;
    s.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).kind, POLICY_ACT_SET_DOWNTIME);
    policy_action a = feed(&p, 20.5, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_PAUSE);
    assert_non_null(strstr(a.reason, "not permitted"));
    /* The guest stays paused; the ramp goes on (Nova keeps stepping). */
    for (double t = 21.0; t < 2000.0; t += 10.0) {
        a = feed(&p, t, 1, GiB);
        assert_true(a.kind == POLICY_ACT_NONE || a.kind == POLICY_ACT_SET_DOWNTIME);
    }
}

static void operator_force_complete_prefers_post_copy(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    s.permit_post_copy = true;
    policy_init(&p, &s);
    assert_int_equal(policy_force_complete(&p).kind, POLICY_ACT_POST_COPY);
    /* Asked again before the switch shows: nothing to do. */
    policy_action a = policy_force_complete(&p);
    assert_int_equal(a.kind, POLICY_ACT_NONE);
    assert_non_null(strstr(a.reason, "post-copy"));
}

static void operator_force_complete_pauses_without_post_copy(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;

    policy_init(&p, &s);
    assert_int_equal(policy_force_complete(&p).kind, POLICY_ACT_PAUSE);
    policy_action a = policy_force_complete(&p);
    assert_int_equal(a.kind, POLICY_ACT_NONE);
    assert_non_null(strstr(a.reason, "paused"));
}

/* ---- progress timeout ---------------------------------------------------- */

static policy_settings progress_settings(void)
{
    policy_settings s = settings(POLICY_NOVA, 2.0);
    s.progress_timeout_s = 150;
    return s;
}

static void progress_timeout_ignores_rises_within_one_iteration(void **state)
{
    (void)state;
    policy_settings s = progress_settings();
    policy p;

    policy_init(&p, &s);
    feed(&p, 10.0, 2, 1000 * MiB); /* boundary: the low */
    /* Inside iteration 2 remaining climbs for 400 s: never a timeout. */
    for (int i = 1; i <= 40; i++) {
        policy_action a = feed(&p, 10.0 + 10.0 * i, 2, (1000 + 75 * (uint64_t)i) * MiB);
        assert_true(a.kind == POLICY_ACT_NONE || a.kind == POLICY_ACT_SET_DOWNTIME);
    }
}

static void progress_timeout_ignores_lows_within_one_iteration(void **state)
{
    (void)state;
    policy_settings s = progress_settings();
    policy p;

    policy_init(&p, &s);
    feed(&p, 10.0, 2, 1000 * MiB);
    /* A dip inside the pass is not a new low ... */
    feed(&p, 50.0, 2, 400 * MiB);
    /* ... so 160 s after the boundary low, with no lower boundary, it fires
     * (had the dip counted, only 120 s would have passed). */
    assert_int_equal(feed(&p, 170.0, 3, 1100 * MiB).kind, POLICY_ACT_ABORT);
}

static void progress_timeout_fires_after_window_without_new_low(void **state)
{
    (void)state;
    policy_settings s = progress_settings();
    policy p;
    policy_action a;

    policy_init(&p, &s);
    feed(&p, 10.0, 2, 1000 * MiB);
    a = feed(&p, 100.0, 3, 1050 * MiB);
    assert_true(a.kind != POLICY_ACT_ABORT);
    /* Equal is not lower; exactly 150 s is not more than 150 s. */
    a = feed(&p, 160.0, 4, 1000 * MiB);
    assert_true(a.kind != POLICY_ACT_ABORT);
    a = feed(&p, 160.5, 5, 1200 * MiB);
    assert_int_equal(a.kind, POLICY_ACT_ABORT);
    assert_non_null(strstr(a.reason, "no progress"));
}

static void progress_timeout_window_restarts_at_each_new_low(void **state)
{
    (void)state;
    policy_settings s = progress_settings();
    policy p;

    policy_init(&p, &s);
    feed(&p, 10.0, 2, 1000 * MiB);
    feed(&p, 100.0, 3, 900 * MiB); /* new low at 100 s */
    assert_true(feed(&p, 200.0, 4, 950 * MiB).kind != POLICY_ACT_ABORT);
    assert_true(feed(&p, 250.0, 5, 950 * MiB).kind != POLICY_ACT_ABORT);
    assert_int_equal(feed(&p, 251.0, 6, 950 * MiB).kind, POLICY_ACT_ABORT);
}

static void progress_timeout_counts_memory_plus_disk(void **state)
{
    (void)state;
    policy_settings s = progress_settings();
    policy p;
    policy_sample x;

    policy_init(&p, &s);
    x = at(10.0, 2, 1000 * MiB);
    x.disk_remaining = 500 * MiB; /* 1500 in all */
    policy_step_sample(&p, &x);
    /* Memory fell but disk rose more: 1600 is no new low. */
    x = at(161.0, 3, 900 * MiB);
    x.disk_remaining = 700 * MiB;
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_ABORT);
}

static void progress_timeout_zero_never_fires(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    policy_init(&p, &s);
    for (uint32_t i = 1; i < 100; i++) {
        policy_action a = feed(&p, 100.0 * i, i, 1000 * MiB);
        assert_true(a.kind == POLICY_ACT_NONE || a.kind == POLICY_ACT_SET_DOWNTIME);
    }
}

static void progress_timeout_force_complete_starts_post_copy(void **state)
{
    (void)state;
    policy_settings s = progress_settings();
    policy p;

    s.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    s.permit_post_copy = true;
    policy_init(&p, &s);
    feed(&p, 10.0, 2, 1000 * MiB);
    assert_int_equal(feed(&p, 161.0, 3, 1000 * MiB).kind, POLICY_ACT_POST_COPY);
}

/* ---- post-copy ------------------------------------------------------------ */

static void no_action_once_post_copy_runs(void **state)
{
    (void)state;
    policy_settings s = progress_settings();
    policy p;
    policy_sample x;

    s.completion_timeout_s = 1;
    s.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    s.permit_post_copy = true;
    policy_init(&p, &s);
    feed(&p, 1.0, 2, 1000 * MiB);
    x = at(1.5, 2, 900 * MiB);
    x.post_copy = true;
    /* Both timeouts and every ramp step are due: none may act. */
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    assert_int_equal(feed(&p, 5000.0, 3, 1000 * MiB).kind, POLICY_ACT_NONE);
    assert_int_equal(policy_force_complete(&p).kind, POLICY_ACT_NONE);
}

static void none_policy_never_acts(void **state)
{
    (void)state;
    policy_settings s;
    policy p;

    policy_settings_default(&s, POLICY_NONE, 2.0);
    policy_init(&p, &s);
    for (uint32_t i = 1; i < 50; i++)
        assert_int_equal(feed(&p, 97.0 * i, i, GiB).kind, POLICY_ACT_NONE);
}

/* ---- adaptive ------------------------------------------------------------- */

/* A 256 MiB guest dirtying 95 MiB/s over a 100 MiB/s link (FACTS.md). */
static policy_sample busy(double t, uint32_t iteration, uint64_t remaining, uint64_t processed)
{
    policy_sample x = at(t, iteration, remaining);
    x.mem_total = 256 * MiB;
    x.mem_processed = processed;
    x.transfer_rate = 100.0 * MiB;
    x.dirty_rate = iteration >= 2 ? 95.0 * MiB : 0;
    return x;
}

static void adaptive_starts_post_copy_at_second_iteration_when_not_converging(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    s.permit_post_copy = true;
    policy_init(&p, &s);
    x = busy(0.5, 1, 206 * MiB, 50 * MiB);
    policy_action a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 50); /* the target */
    x = busy(1.0, 1, 156 * MiB, 100 * MiB);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    /* Pass 1 ends: 190 MiB pending at 100 MiB/s is 1900 ms, more than the
     * 500 ms maximum, and pass 2 cannot show that it would shrink: post-copy
     * after the first pass. */
    x = busy(2.56, 2, 190 * MiB, 256 * MiB);
    a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_POST_COPY);
    assert_non_null(strstr(a.reason, "cannot finish in good time"));
    assert_non_null(strstr(a.reason, "190 MiB pending needs 1900 ms at 100 MiB/s (maximum 500 "
                                     "ms) and one pass cannot show that passes shrink it"));
    x = busy(3.0, 2, 150 * MiB, 300 * MiB);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
}

/* QEMU reports the rate of its last 100 ms, which at a boundary is mostly
 * the dirty bitmap sync: 2 MiB/s on a 96 MiB/s link was seen (TCG). The
 * pass's own average decides instead, so the switch still comes at the end
 * of the first pass rather than a pass later. */
static void adaptive_takes_the_rate_from_the_pass_when_the_report_covers_the_sync(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    s.permit_post_copy = true;
    policy_init(&p, &s);
    x = busy(0.5, 1, 206 * MiB, 50 * MiB);
    policy_step_sample(&p, &x);
    /* 206 MiB in the 2.06 s since that sample: 100 MiB/s, whatever the
     * report says; 250 MiB/s dirtied over the reported 2 MiB/s would be an
     * f of 125, which no decision can rest on. */
    x = busy(2.56, 2, 190 * MiB, 256 * MiB);
    x.transfer_rate = 2.0 * MiB;
    x.dirty_rate = 250.0 * MiB;
    policy_action a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_POST_COPY);
    assert_non_null(strstr(a.reason, "at iteration 2 190 MiB pending needs 1900 ms at 100 MiB/s"));
}

/* The busy guest below fed to p (initialised with s) to the end of pass 4,
 * its passes no longer shrinking (190 -> 200 -> 205 MiB pending): returns
 * the action at that boundary. Before it p may only set the downtime: with
 * the maximum the passes of pass 2 would end in about 28 s, inside the
 * bound, and from pass 3 one boundary saying pre-copy cannot finish can be
 * a fluke. */
static policy_action busy_passes_stop_shrinking(policy *p, const policy_settings *s)
{
    static const struct {
        double t;
        uint32_t iteration;
        uint64_t pending_mib, processed_mib;
    } pass[] = { { 0.5, 1, 206, 50 }, { 2.56, 2, 190, 256 }, { 4.5, 3, 200, 450 } };
    policy_sample x;

    policy_init(p, s);
    for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++) {
        x = busy(pass[i].t, pass[i].iteration, pass[i].pending_mib * MiB,
                 pass[i].processed_mib * MiB);
        policy_action a = policy_step_sample(p, &x);
        assert_true(a.kind == POLICY_ACT_NONE || a.kind == POLICY_ACT_SET_DOWNTIME);
    }
    x = busy(6.5, 4, 205 * MiB, 650 * MiB);
    return policy_step_sample(p, &x);
}

/* A guest a drain planned in pre-copy, with post-copy permitted only to
 * rescue it (post_copy_only_to_rescue): the busy guest above, whom adaptive
 * would switch at the end of the first pass, stays in pre-copy while
 * passes may still finish it, and gets post-copy only where adaptive would
 * otherwise abort: after two boundaries that say pre-copy cannot finish. */
static void adaptive_rescues_a_drains_pre_copy_guest_only_where_it_would_abort(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;

    s.completion_timeout_s = 800;
    s.permit_post_copy = true;
    s.post_copy_only_to_rescue = true;
    policy_action a = busy_passes_stop_shrinking(&p, &s);
    assert_int_equal(a.kind, POLICY_ACT_POST_COPY);
    assert_non_null(strstr(a.reason, "pre-copy cannot finish"));
    assert_non_null(
        strstr(a.reason, "the drain planned pre-copy, but post-copy rather than an abort"));
    policy_sample x = busy(7.0, 4, 200 * MiB, 700 * MiB);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);

    /* Without post-copy permitted the same guest is aborted there. */
    s.permit_post_copy = false;
    assert_int_equal(busy_passes_stop_shrinking(&p, &s).kind, POLICY_ACT_ABORT);
}

/* Nova's completion timeout with the abort action: the same rescue. */
static void nova_timeout_rescues_a_drains_pre_copy_guest_with_post_copy(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    s.completion_timeout_s = 800; /* 1600 s for 2 GiB */
    s.permit_post_copy = true;
    s.post_copy_only_to_rescue = true;
    policy_init(&p, &s);
    feed(&p, 0.5, 1, GiB);
    feed(&p, 1600.0, 1, GiB);
    policy_action a = feed(&p, 1600.5, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_POST_COPY);
    assert_non_null(strstr(a.reason, "not completed after 1600 s"));
    assert_non_null(strstr(a.reason, "post-copy rather than an abort"));
    assert_int_equal(feed(&p, 1601.0, 1, GiB).kind, POLICY_ACT_NONE);
}

/* A boundary sample at 100 MiB/s with the given pending and dirty rate. */
static policy_sample bnd(double t, uint32_t iteration, uint64_t pending_mib, double dirty_mibps)
{
    policy_sample x = at(t, iteration, pending_mib * MiB);
    x.transfer_rate = 100.0 * MiB;
    x.dirty_rate = dirty_mibps * MiB;
    return x;
}

/* Starts p with settings s and feeds the first pass's boundary (1500 MiB
 * of a 2 GiB guest pending at 0.5 s): what every adaptive case below
 * begins with. */
static void start_first_pass(policy *p, const policy_settings *s)
{
    policy_init(p, s);
    policy_sample x = bnd(0.5, 1, 1500, 0);
    policy_step_sample(p, &x);
}

static void adaptive_sets_the_target_from_the_first_sample(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;

    s.downtime_target_ms = 30;
    policy_init(&p, &s);
    policy_sample x = bnd(0.5, 1, 1500, 0);
    policy_action a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 30);
    assert_non_null(strstr(a.reason, "downtime target 30 ms (maximum 500 ms)"));
    /* No ramp: Nova's step 1 (95 ms after 150 s) never comes. */
    x = bnd(151.0, 1, 100, 0);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
}

static void adaptive_keeps_the_target_while_passes_pay(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    policy_init(&p, &s);
    x = bnd(0.5, 1, 1500, 0);
    assert_int_equal(policy_step_sample(&p, &x).downtime_ms, 50);
    /* Pass 2: 200 MiB = 2000 ms > 500, f = 20/100 = 0.2. The passes at the
     * maximum take (2000 - 500) / 0.8 = 1.875 s; the bound is (10 + 1.875 +
     * 0.5) x 1.1 = 13.61 s, so 3.61 s are left: wait. */
    x = bnd(10.0, 2, 200, 20);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    /* Pass 3: 40 MiB = 400 ms fits the maximum; f seen = (40 - 5) / (200 -
     * 5) = 0.18, so 0.2 stands; the passes to 50 ms take 0.35 / 0.8 =
     * 0.44 s, within the new bound ((11.5 + 0.4) x 1.1 - 11.5 = 1.59 s). */
    x = bnd(11.5, 3, 40, 20);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    x = bnd(11.85, 4, 12, 20);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
}

static void adaptive_switches_over_when_a_pass_stops_shrinking_what_is_left(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    start_first_pass(&p, &s);
    /* 40 MiB = 400 ms, f = 0.2: (400 - 50) / 0.8 = 0.44 s within the bound
     * ((10 + 0.4) x 1.1 - 10 = 1.44 s): wait. */
    x = bnd(10.0, 2, 40, 20);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    /* The pass left 36 MiB: (36 - 5) / (40 - 5) = 0.89 of the last, more
     * than 0.8: stop now, with what 36 MiB needs: 360 ms x 1.1 = 396 ms. */
    x = bnd(10.35, 3, 36, 20);
    policy_action a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 396);
    assert_non_null(strstr(a.reason, "passes stop paying at iteration 3"));
    assert_non_null(strstr(a.reason, "36 MiB pending is 360 ms at 100 MiB/s"));
    assert_non_null(strstr(a.reason, "leaves 0.89 of the last"));
}

static void adaptive_switches_over_when_the_target_would_take_too_long(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    start_first_pass(&p, &s);
    /* A fast migration: 40 MiB = 400 ms at 1 s, f = 0.6. Reaching 50 ms
     * takes (400 - 50) / 0.4 = 0.875 s; the bound allows (1 + 0.4) x 1.1 -
     * 1 = 0.54 s. Stop now at 400 x 1.1 = 440 ms. */
    x = bnd(1.0, 2, 40, 60);
    policy_action a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 440);
    assert_non_null(strstr(a.reason, "50 ms would take 0.9 s more, 0.5 s allowed"));
}

static void adaptive_caps_its_downtime_at_the_maximum(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    start_first_pass(&p, &s);
    /* 47 MiB = 470 ms fits 500; x 1.1 = 517 is cut to the maximum. */
    x = bnd(1.0, 2, 47, 60);
    policy_action a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 500);
}

/* A guest that dirties 150 MiB/s over 100 MiB/s: each pass leaves 1.5 of
 * the last by the reported rate, so pre-copy never finishes. */
static void feed_not_converging(policy *p, double t, uint32_t iteration, uint64_t pending_mib,
                                policy_action *out)
{
    policy_sample x = bnd(t, iteration, pending_mib, 150);
    *out = policy_step_sample(p, &x);
}

static void adaptive_aborts_two_passes_after_pre_copy_shows_it_cannot_finish(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_action a;

    s.completion_timeout_s = 800; /* 1600 s for 2 GiB */
    policy_init(&p, &s);
    feed_not_converging(&p, 0.5, 1, 1500, &a);
    /* 250 MiB = 2500 ms > 500 and f = 1.5: cannot finish, once. */
    feed_not_converging(&p, 20.0, 2, 250, &a);
    assert_int_equal(a.kind, POLICY_ACT_NONE);
    /* Twice in a row: abort now, at 22.5 s rather than 1600 s. */
    feed_not_converging(&p, 22.5, 3, 250, &a);
    assert_int_equal(a.kind, POLICY_ACT_ABORT);
    assert_non_null(strstr(a.reason, "pre-copy cannot finish: at iteration 3 250 MiB pending "
                                     "is 2500 ms at 100 MiB/s (maximum 500 ms) and each pass "
                                     "leaves 1.50 of the last: aborting"));
    feed_not_converging(&p, 25.0, 4, 250, &a);
    assert_int_equal(a.kind, POLICY_ACT_NONE);
}

static void adaptive_aborts_when_the_passes_outlast_the_completion_timeout(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    s.completion_timeout_s = 10; /* 20 s for 2 GiB */
    start_first_pass(&p, &s);
    /* 300 MiB = 3000 ms, f = 0.9: the passes at 500 ms take (3000 - 500) /
     * 0.1 = 25 s, beyond the 5 s left of 20 s: cannot finish, once. */
    x = bnd(15.0, 2, 300, 90);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    /* The pass left (256 - 5) / (300 - 5) = 0.85 of the last, below the
     * reported 0.9, so f stays 0.9: 256 MiB = 2560 ms needs (2560 - 500) /
     * 0.1 = 20.6 s, beyond the 2 s left. Twice in a row: abort. */
    x = bnd(18.0, 3, 256, 90);
    policy_action a = policy_step_sample(&p, &x);
    assert_int_equal(a.kind, POLICY_ACT_ABORT);
    assert_non_null(strstr(a.reason, "inside the completion timeout (2 s left)"));
    assert_non_null(strstr(a.reason, "256 MiB pending is 2560 ms at 100 MiB/s"));
    assert_non_null(strstr(a.reason, "passes at 500 ms need 21 s more"));
}

static void adaptive_force_complete_pauses_at_the_boundary_with_least_to_send(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_action a;

    s.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    s.completion_timeout_s = 800;
    policy_init(&p, &s);
    feed_not_converging(&p, 0.5, 1, 1500, &a);
    feed_not_converging(&p, 20.0, 2, 250, &a);
    assert_int_equal(a.kind, POLICY_ACT_NONE);
    /* Decided, but 280 MiB is more than 5 % above the least seen (250):
     * wait for a better boundary. */
    feed_not_converging(&p, 22.5, 3, 280, &a);
    assert_int_equal(a.kind, POLICY_ACT_NONE);
    /* 251 MiB is within 5 % of 250: pause here, for 251 / 100 = 2.5 s. */
    feed_not_converging(&p, 25.3, 4, 251, &a);
    assert_int_equal(a.kind, POLICY_ACT_PAUSE);
    assert_non_null(strstr(a.reason, "pausing the guest at iteration 4 with 251 MiB to send "
                                     "(least at a boundary: 250 MiB), a pause of about 2.5 s"));
    feed_not_converging(&p, 28.0, 5, 100, &a);
    assert_int_equal(a.kind, POLICY_ACT_NONE);
}

static void adaptive_force_complete_waits_at_most_three_boundaries_to_pause(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_action a;

    s.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    s.completion_timeout_s = 800;
    policy_init(&p, &s);
    feed_not_converging(&p, 0.5, 1, 1500, &a);
    feed_not_converging(&p, 20.0, 2, 250, &a);
    for (uint32_t i = 3; i <= 5; i++) {
        feed_not_converging(&p, 20.0 + 3 * i, i, 300, &a);
        assert_int_equal(a.kind, POLICY_ACT_NONE);
    }
    feed_not_converging(&p, 38.0, 6, 300, &a);
    assert_int_equal(a.kind, POLICY_ACT_PAUSE);
}

static void adaptive_without_a_completion_timeout_never_gives_up_early(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0); /* timeouts off */
    policy p;
    policy_action a;

    policy_init(&p, &s);
    feed_not_converging(&p, 0.5, 1, 1500, &a);
    /* f = 1.5, but with no completion timeout time alone ends nothing:
     * the maximum, once, and then no abort however long it runs. */
    feed_not_converging(&p, 20.0, 2, 250, &a);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 500);
    assert_non_null(strstr(a.reason, "no completion timeout to end it"));
    for (uint32_t i = 3; i < 100; i++) {
        feed_not_converging(&p, 20.0 + 3 * i, i, 250, &a);
        assert_int_equal(a.kind, POLICY_ACT_NONE);
    }
}

static void adaptive_lets_auto_converge_throttle_at_the_maximum(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_action a;

    s.permit_auto_converge = true;
    s.completion_timeout_s = 800;
    policy_init(&p, &s);
    feed_not_converging(&p, 0.5, 1, 1500, &a);
    feed_not_converging(&p, 20.0, 2, 250, &a);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 500);
    assert_non_null(strstr(a.reason, "auto-converge throttles the guest"));
    for (uint32_t i = 3; i < 10; i++) {
        feed_not_converging(&p, 20.0 + 3 * i, i, 250, &a);
        assert_int_equal(a.kind, POLICY_ACT_NONE);
    }
}

static void adaptive_target_above_the_maximum_is_cut_to_it(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;

    s.downtime_ms = 200;
    s.downtime_target_ms = 300;
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).downtime_ms, 200);
}

static void adaptive_target_0_means_the_default(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;

    s.downtime_target_ms = 0;
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).downtime_ms, POLICY_DEFAULT_DOWNTIME_TARGET_MS);
}

static void adaptive_operator_maximum_below_the_target_lowers_it(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;

    s.downtime_ms = 1000;
    s.downtime_target_ms = 400;
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).downtime_ms, 400);
    /* max_downtime_ms 150 from an operator's PUT: the next sample sets it. */
    policy_update(&p, 150, false);
    policy_action a = feed(&p, 1.0, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 150);
    /* A later raise of the maximum restores the target, not more. */
    policy_update(&p, 1000, false);
    assert_int_equal(feed(&p, 1.5, 1, GiB).downtime_ms, 400);
}

static void adaptive_makes_no_decision_on_unusable_rates(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    s.permit_post_copy = true;
    start_first_pass(&p, &s);
    /* NaN and infinite rates, and no bytes processed to estimate from:
     * nothing to decide on, whatever the pending data. */
    const double bad[] = { NAN, INFINITY, -INFINITY, -5.0, 0.0 };
    for (uint32_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        x = bnd(10.0 + i, 2 + i, 400, 0);
        x.transfer_rate = bad[i];
        x.dirty_rate = bad[(i + 1) % 5];
        assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    }
    /* A NaN elapsed time is no boundary to weigh either. */
    x = bnd(NAN, 20, 400, 150);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
}

static void adaptive_does_not_act_on_the_first_pass(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_ADAPTIVE, 2.0);
    policy p;
    policy_sample x;

    s.permit_post_copy = true;
    policy_init(&p, &s);
    x = busy(0.5, 1, 206 * MiB, 50 * MiB);
    policy_step_sample(&p, &x);
    /* Even reported rates that cannot converge prove nothing before one
     * full pass: iteration 1 samples never start post-copy. */
    for (double t = 1.0; t < 100.0; t += 0.5) {
        x = busy(t, 1, 200 * MiB, (uint64_t)(t * 100) * MiB);
        x.dirty_rate = 500.0 * MiB;
        assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    }
}

static void nova_ignores_what_adaptive_would_act_on(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;
    policy_sample x;

    s.permit_post_copy = true;
    policy_init(&p, &s);
    x = busy(0.5, 1, 206 * MiB, 50 * MiB);
    policy_step_sample(&p, &x);
    x = busy(2.56, 2, 190 * MiB, 256 * MiB);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
    x = bnd(3.0, 3, 400, 500);
    assert_int_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_NONE);
}

/* ---- a drain's plan: post-copy after the first pass ----------------------- */

/* The plan's switch for one policy kind: nothing during pass 1, post-copy at
 * the first sample of iteration 2 naming the plan and the numbers, then
 * nothing more. */
static void check_plan_switch(policy_kind kind)
{
    policy_settings s = settings(kind, 2.0);
    policy p;

    s.permit_post_copy = true;
    s.post_copy_after_first_pass = true;
    policy_init(&p, &s);
    /* Pass 1: only the ramp's first step (50 ms), never post-copy. */
    assert_int_equal(feed(&p, 0.5, 1, 1500 * MiB).kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(feed(&p, 1.0, 1, 1000 * MiB).kind, POLICY_ACT_NONE);
    /* Pass 1 ends with 190 MiB dirtied: the plan's switch, at once. */
    policy_action a = feed(&p, 2.0, 2, 190 * MiB);
    assert_int_equal(a.kind, POLICY_ACT_POST_COPY);
    assert_non_null(strstr(a.reason, "drain's plan"));
    assert_non_null(strstr(a.reason, "190 MiB remaining"));
    assert_non_null(strstr(a.reason, "iteration 2"));
    assert_int_equal(feed(&p, 2.5, 3, 100 * MiB).kind, POLICY_ACT_NONE);
}

static void nova_follows_the_plans_post_copy_after_the_first_pass(void **state)
{
    (void)state;
    check_plan_switch(POLICY_NOVA);
}

static void adaptive_follows_the_plans_post_copy_after_the_first_pass(void **state)
{
    (void)state;
    check_plan_switch(POLICY_ADAPTIVE);
}

static void plans_post_copy_waits_for_the_disks_and_the_first_pass(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 4.0);
    policy p;
    policy_sample x;

    s.permit_post_copy = true;
    s.post_copy_after_first_pass = true;
    policy_init(&p, &s);
    /* Disks are copied first (iteration 0), then pass 1: no switch yet. */
    x = at(1.0, 0, 2 * GiB);
    x.disk_total = 2 * GiB;
    x.disk_remaining = 1 * GiB;
    assert_int_not_equal(policy_step_sample(&p, &x).kind, POLICY_ACT_POST_COPY);
    assert_int_not_equal(feed(&p, 3.0, 1, GiB).kind, POLICY_ACT_POST_COPY);
    /* A sample of iteration 3 after a missed boundary still switches: the
     * first sample past pass 1 is what counts, not the boundary itself.
     * 300 MiB + 0 disk remaining. */
    policy_action a = feed(&p, 4.0, 3, 300 * MiB);
    assert_int_equal(a.kind, POLICY_ACT_POST_COPY);
    assert_non_null(strstr(a.reason, "300 MiB remaining at iteration 3"));
}

static void plans_post_copy_needs_post_copy_permitted(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    /* Without the job's POSTCOPY flag the switch would fail in libvirt:
     * the policy does not ask for it. */
    s.post_copy_after_first_pass = true;
    policy_init(&p, &s);
    feed(&p, 0.5, 1, 1500 * MiB);
    for (uint32_t i = 2; i < 10; i++)
        assert_int_not_equal(feed(&p, 1.0 + i, i, 190 * MiB).kind, POLICY_ACT_POST_COPY);
}

static void none_policy_ignores_the_plans_post_copy(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NONE, 2.0);
    policy p;

    s.permit_post_copy = true;
    s.post_copy_after_first_pass = true;
    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, 1500 * MiB).kind, POLICY_ACT_NONE);
    assert_int_equal(feed(&p, 2.0, 2, 190 * MiB).kind, POLICY_ACT_NONE);
}

/* ---- settings and names --------------------------------------------------- */

static void update_lowers_the_maximum_and_the_ramp(void **state)
{
    (void)state;
    policy_settings s = settings(POLICY_NOVA, 2.0);
    policy p;

    policy_init(&p, &s);
    assert_int_equal(feed(&p, 0.5, 1, GiB).downtime_ms, 50);
    /* 200 ms in 10 steps: base 20, offset 18; step 1 = 38 ms. */
    policy_update(&p, 200, false);
    policy_action a = feed(&p, 151.0, 1, GiB);
    assert_int_equal(a.kind, POLICY_ACT_SET_DOWNTIME);
    assert_int_equal(a.downtime_ms, 38);
}

static void names_round_trip(void **state)
{
    (void)state;
    policy_kind k;
    policy_timeout_action t;

    assert_int_equal(policy_kind_parse("nova", &k), 0);
    assert_int_equal(k, POLICY_NOVA);
    assert_int_equal(policy_kind_parse("adaptive", &k), 0);
    assert_int_equal(k, POLICY_ADAPTIVE);
    assert_int_equal(policy_kind_parse("Nova", &k), -1);
    assert_int_equal(policy_timeout_action_parse("force_complete", &t), 0);
    assert_int_equal(t, POLICY_TIMEOUT_FORCE_COMPLETE);
    assert_int_equal(policy_timeout_action_parse("pause", &t), -1);
    assert_string_equal(policy_action_str(POLICY_ACT_POST_COPY), "post_copy");
    assert_string_equal(policy_timeout_action_str(POLICY_TIMEOUT_ABORT), "abort");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(data_size_counts_ram_below_2gib_as_2gib),
        cmocka_unit_test(data_size_counts_each_disk_as_at_least_2gib),
        cmocka_unit_test(ramp_for_2gib_matches_nova),
        cmocka_unit_test(ramp_for_8gib_matches_nova),
        cmocka_unit_test(ramp_truncates_scaled_delay_to_whole_seconds),
        cmocka_unit_test(ramp_truncates_fractional_downtimes),
        cmocka_unit_test(ramp_steps_apply_strictly_after_their_start),
        cmocka_unit_test(completion_timeout_aborts_once_after_800s_per_gib),
        cmocka_unit_test(completion_timeout_scales_with_fractional_data_size),
        cmocka_unit_test(completion_timeout_zero_never_fires),
        cmocka_unit_test(timeout_force_complete_starts_post_copy_once_when_permitted),
        cmocka_unit_test(timeout_force_complete_pauses_once_without_post_copy),
        cmocka_unit_test(operator_force_complete_prefers_post_copy),
        cmocka_unit_test(operator_force_complete_pauses_without_post_copy),
        cmocka_unit_test(progress_timeout_ignores_rises_within_one_iteration),
        cmocka_unit_test(progress_timeout_ignores_lows_within_one_iteration),
        cmocka_unit_test(progress_timeout_fires_after_window_without_new_low),
        cmocka_unit_test(progress_timeout_window_restarts_at_each_new_low),
        cmocka_unit_test(progress_timeout_counts_memory_plus_disk),
        cmocka_unit_test(progress_timeout_zero_never_fires),
        cmocka_unit_test(progress_timeout_force_complete_starts_post_copy),
        cmocka_unit_test(no_action_once_post_copy_runs),
        cmocka_unit_test(none_policy_never_acts),
        cmocka_unit_test(adaptive_starts_post_copy_at_second_iteration_when_not_converging),
        cmocka_unit_test(adaptive_takes_the_rate_from_the_pass_when_the_report_covers_the_sync),
        cmocka_unit_test(adaptive_rescues_a_drains_pre_copy_guest_only_where_it_would_abort),
        cmocka_unit_test(nova_timeout_rescues_a_drains_pre_copy_guest_with_post_copy),
        cmocka_unit_test(adaptive_sets_the_target_from_the_first_sample),
        cmocka_unit_test(adaptive_keeps_the_target_while_passes_pay),
        cmocka_unit_test(adaptive_switches_over_when_a_pass_stops_shrinking_what_is_left),
        cmocka_unit_test(adaptive_switches_over_when_the_target_would_take_too_long),
        cmocka_unit_test(adaptive_caps_its_downtime_at_the_maximum),
        cmocka_unit_test(adaptive_aborts_two_passes_after_pre_copy_shows_it_cannot_finish),
        cmocka_unit_test(adaptive_aborts_when_the_passes_outlast_the_completion_timeout),
        cmocka_unit_test(adaptive_force_complete_pauses_at_the_boundary_with_least_to_send),
        cmocka_unit_test(adaptive_force_complete_waits_at_most_three_boundaries_to_pause),
        cmocka_unit_test(adaptive_without_a_completion_timeout_never_gives_up_early),
        cmocka_unit_test(adaptive_lets_auto_converge_throttle_at_the_maximum),
        cmocka_unit_test(adaptive_target_above_the_maximum_is_cut_to_it),
        cmocka_unit_test(adaptive_target_0_means_the_default),
        cmocka_unit_test(adaptive_operator_maximum_below_the_target_lowers_it),
        cmocka_unit_test(adaptive_makes_no_decision_on_unusable_rates),
        cmocka_unit_test(adaptive_does_not_act_on_the_first_pass),
        cmocka_unit_test(nova_ignores_what_adaptive_would_act_on),
        cmocka_unit_test(nova_follows_the_plans_post_copy_after_the_first_pass),
        cmocka_unit_test(adaptive_follows_the_plans_post_copy_after_the_first_pass),
        cmocka_unit_test(plans_post_copy_waits_for_the_disks_and_the_first_pass),
        cmocka_unit_test(plans_post_copy_needs_post_copy_permitted),
        cmocka_unit_test(none_policy_ignores_the_plans_post_copy),
        cmocka_unit_test(update_lowers_the_maximum_and_the_ramp),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
