/* test_plan.c - behaviour of the drain planner (policy/plan.c).
 *
 * Every expected number is worked out by hand below from bytes / rate and
 * the model of sim.h, and written down literally; none is read back from the
 * planner's own output. The common units: a link of 1 GiB/s, guests of 1 to
 * 3 GiB, and the monitor's interval 1 s.
 *
 * Facts of the model the hand-work uses:
 *  - An idle guest of R GiB alone on a link of L GiB/s takes R / L seconds
 *    for its one pass, plus the 5 ms switch-over (SIM_SWITCHOVER_MS): what
 *    is left at the switch-over test goes in the final stop, so the pass and
 *    the stop together move exactly R.
 *  - The busy guest (2 GiB RAM, writing 2 GiB/s over a 512 MiB working set,
 *    twice its 1 GiB/s link) never converges in pre-copy: at Nova's 50 ms
 *    first step each pass leaves about 389 MiB where 50 ms allows 51 MiB.
 *    With a completion timeout of 10 s per GiB (20 s for 2 GiB) and the
 *    force-complete action without post-copy, the policy pauses it at the
 *    first sample past 20 s; the rest of that pass (at most 389 MiB, under
 *    0.4 s) then goes: pre-copy alone takes 20 to 21 s.
 *    In post-copy after the first pass: the pass sends RAM until 50 ms of
 *    link (51.2 MiB) is left, (2048 - 51.2) / 1024 = 1.950 s; by then the
 *    guest has dirtied its whole working set (512 MiB: 1 - e^-7.8 of it),
 *    so pending is 51.2 + 512 - 51.2 * 512 / 2048 = 550.4 MiB, sent after a
 *    5 ms hand-over in 550.4 / 1024 = 0.537 s: 1.950 + 0.005 + 0.537 =
 *    2.492 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <time.h>

#include "policy/plan.h"

#define MiB (1024.0 * 1024.0)
#define GiB (1024.0 * MiB)

/* Nova's defaults, but a completion timeout of 10 s per GiB that pauses
 * (force-complete without post-copy), so that a busy guest's pre-copy ends
 * at a time one can work out (the header's comment), and no progress
 * timeout. */
static plan_input input(double deadline_s, bool permit_post_copy, unsigned max_parallel)
{
    plan_input in;

    memset(&in, 0, sizeof in);
    policy_settings_default(&in.policy, POLICY_NOVA, 2.0);
    in.policy.completion_timeout_s = 10;
    in.policy.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    in.policy.progress_timeout_s = 0;
    in.deadline_s = deadline_s;
    in.permit_post_copy = permit_post_copy;
    in.max_parallel = max_parallel;
    in.interval_s = 1.0;
    return in;
}

static plan_guest idle(double ram_gib)
{
    plan_guest g;
    memset(&g, 0, sizeof g);
    g.ram_bytes = ram_gib * GiB;
    return g;
}

/* Writes twice what its 1 GiB/s link carries. */
static plan_guest busy(void)
{
    plan_guest g = idle(2);
    g.working_set_bytes = 512 * MiB;
    g.dirty_rate = 2 * GiB;
    return g;
}

/* Writes a quarter of its link: pre-copy converges in a few short passes
 * (2.39 s alone), and post-copy would save it under a tenth of a second. */
static plan_guest moderate(void)
{
    plan_guest g = busy();
    g.dirty_rate = 0.25 * GiB;
    return g;
}

static plan_dest link_gib(double gib_per_s, double free_gib)
{
    plan_dest d = { gib_per_s * GiB, free_gib * GiB };
    return d;
}

static void assert_near(double got, double want, double tolerance)
{
    if (fabs(got - want) > tolerance)
        fail_msg("got %.4f, want %.4f (within %.4f)", got, want, tolerance);
}

/* ---- the hand-worked cases ---------------------------------------- */

static void deadline_met_only_with_post_copy_for_the_two_busiest(void **state)
{
    (void)state;
    /* One link, one at a time. Alone: idle 2 GiB 2.005 s; moderate 2.39 s
     * in pre-copy; busy 20..21 s in pre-copy, 2.492 s in post-copy.
     *   all pre-copy:        2.005 + 2.39 + 2 * 20.4  = about 45 s
     *   one busy switched:   2.005 + 2.39 + 2.492 + 20.4 = about 27 s
     *   both busy switched:  2.005 + 2.39 + 2 * 2.492 = 9.38 s
     * A deadline of 20 s lies between the last two: exactly the two busy
     * guests must switch, and the moderate one (saving 0.08 s) need not. */
    plan_input in = input(20, true, 1);
    plan_guest g[4] = { idle(2), busy(), moderate(), busy() };
    plan_dest d[1] = { link_gib(1, 0) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 4, d, 1, &r), 0);
    assert_true(r.feasible);
    assert_int_equal(r.npostcopy, 2);
    assert_int_equal(g[0].mode, PLAN_PRECOPY);
    assert_int_equal(g[1].mode, PLAN_POSTCOPY);
    assert_int_equal(g[2].mode, PLAN_PRECOPY);
    assert_int_equal(g[3].mode, PLAN_POSTCOPY);
    assert_near(r.makespan_s, 2.005 + 2.39 + 2 * 2.492, 0.05);
    assert_true(g[1].precopy_converges);
    assert_true(g[1].alone_precopy_s >= 20 && g[1].alone_precopy_s <= 21);
    assert_near(g[1].alone_postcopy_s, 2.492, 0.005);
    assert_near(g[0].alone_precopy_s, 2.005, 0.001);
    /* Longest first: the busy guests (2.492 s) lead, the idle one is last. */
    assert_int_equal(g[1].order, 0);
    assert_int_equal(g[3].order, 1);
    assert_int_equal(g[2].order, 2);
    assert_int_equal(g[0].order, 3);
    assert_non_null(strstr(r.summary, "2 in post-copy"));
    assert_non_null(strstr(r.summary, "within the deadline of 20 s"));

    /* Without post-copy the same drain cannot make it: about 45 s. */
    in.permit_post_copy = false;
    assert_int_equal(plan_make(&in, g, 4, d, 1, &r), 0);
    assert_false(r.feasible);
    assert_int_equal(r.npostcopy, 0);
    assert_true(r.makespan_s > 44 && r.makespan_s < 46);
}

static void deadline_met_by_parallelism_alone(void **state)
{
    (void)state;
    /* Four idle 2 GiB guests, two destinations of 1 GiB/s each.
     *   one at a time: 4 * 2.005 = 8.02 s, over the 6 s deadline;
     *   two at a time, one per destination: 2 * 2.005 = 4.01 s.
     * Post-copy is permitted but saves an idle guest nothing. */
    plan_input in = input(6, true, 1);
    plan_guest g[4] = { idle(2), idle(2), idle(2), idle(2) };
    plan_dest d[2] = { link_gib(1, 0), link_gib(1, 0) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 4, d, 2, &r), 0);
    assert_false(r.feasible);
    assert_near(r.makespan_s, 8.02, 0.01);

    in.max_parallel = 2;
    assert_int_equal(plan_make(&in, g, 4, d, 2, &r), 0);
    assert_true(r.feasible);
    assert_int_equal(r.parallel, 2);
    assert_int_equal(r.npostcopy, 0);
    assert_near(r.makespan_s, 4.01, 0.01);
    int on0 = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(g[i].mode, PLAN_PRECOPY);
        on0 += g[i].dest == 0;
    }
    assert_int_equal(on0, 2);
}

static void deadline_below_the_lower_bound_is_reported_impossible(void **state)
{
    (void)state;
    /* 4 * 2 GiB over 2 * 1 GiB/s: no schedule ends before 8 / 2 = 4 s, so a
     * 3 s deadline is impossible whatever the plan. */
    plan_input in = input(3, true, 4);
    plan_guest g[4] = { idle(2), idle(2), idle(2), idle(2) };
    plan_dest d[2] = { link_gib(1, 0), link_gib(1, 0) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 4, d, 2, &r), 0);
    assert_false(r.feasible);
    assert_true(r.lower_bound_s == 4.0);
    assert_true(r.makespan_s > 3.0);
    assert_true(r.makespan_s >= r.lower_bound_s);
    assert_non_null(strstr(r.summary, "missing the deadline of 3 s"));
    assert_non_null(strstr(r.summary, "before 4 s"));
}

/* A late drain: post-copy buys only time there, so it must buy enough. One
 * link, one at a time, a deadline of 1 s that nothing meets (the lower
 * bound is 6 s). Alone: idle 2.005 s, each moderate guest 2.39 s in
 * pre-copy and under 0.1 s less in post-copy.
 *   all pre-copy:  2.005 + 2 * 2.39 = 6.785 s, cost 6.785
 *   both switched: at least 6.585 s, cost at least 6.585 x (1 + 0.1 x 2/3)
 *                  = 7.02
 * so both stay in pre-copy, though switching them would end 0.2 s sooner. */
static void a_late_drain_keeps_pre_copy_where_post_copy_saves_little(void **state)
{
    (void)state;
    plan_input in = input(1, true, 1);
    plan_guest g[3] = { idle(2), moderate(), moderate() };
    plan_dest d[1] = { link_gib(1, 0) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 3, d, 1, &r), 0);
    assert_false(r.feasible);
    double saving = g[1].alone_precopy_s - g[1].alone_postcopy_s;
    assert_true(saving > 0 && saving < 0.1);
    assert_int_equal(r.npostcopy, 0);
    assert_int_equal(g[1].mode, PLAN_PRECOPY);
    assert_int_equal(g[2].mode, PLAN_PRECOPY);
    assert_near(r.makespan_s, 2.005 + 2 * 2.39, 0.05);
    assert_non_null(strstr(r.summary, "missing the deadline of 1 s"));
}

/* ...and where it saves much, a late drain still switches. Alone: idle
 * 2.005 s; each busy guest 20..21 s in pre-copy, 2.492 s in post-copy.
 *   all pre-copy:  2.005 + 2 * 20.4 = about 42.8 s
 *   both switched: 2.005 + 2 * 2.492 = 6.989 s, cost 6.989 x (1 + 0.1 x
 *                  2/3) = 7.45
 * A deadline of 3 s is missed either way; both busy guests switch. */
static void a_late_drain_switches_where_post_copy_saves_much(void **state)
{
    (void)state;
    plan_input in = input(3, true, 1);
    plan_guest g[3] = { idle(2), busy(), busy() };
    plan_dest d[1] = { link_gib(1, 0) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 3, d, 1, &r), 0);
    assert_false(r.feasible);
    assert_int_equal(r.npostcopy, 2);
    assert_int_equal(g[0].mode, PLAN_PRECOPY);
    assert_int_equal(g[1].mode, PLAN_POSTCOPY);
    assert_int_equal(g[2].mode, PLAN_POSTCOPY);
    assert_near(r.makespan_s, 2.005 + 2 * 2.492, 0.05);
}

/* ---- placement ------------------------------------------------------------ */

static void free_memory_limits_a_destination_to_what_fits(void **state)
{
    (void)state;
    /* Destination 0 has 3 GiB free: one 2 GiB guest fits, a second does not
     * (1 GiB left). Destination 1's free memory is unknown: no limit. */
    plan_input in = input(100, false, 2);
    plan_guest g[3] = { idle(2), idle(2), idle(2) };
    plan_dest d[2] = { link_gib(1, 3), link_gib(1, 0) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 3, d, 2, &r), 0);
    assert_true(r.feasible);
    int on0 = 0;
    for (int i = 0; i < 3; i++)
        on0 += g[i].dest == 0;
    assert_int_equal(on0, 1);
    assert_int_equal(r.nunplaced, 0);
}

static void a_guest_that_fits_nowhere_is_unplaced(void **state)
{
    (void)state;
    /* 3 GiB free on each of two destinations: two 2 GiB guests fit, one per
     * destination, and the third has nowhere to go. */
    plan_input in = input(100, false, 2);
    plan_guest g[3] = { idle(2), idle(2), idle(2) };
    plan_dest d[2] = { link_gib(1, 3), link_gib(1, 3) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 3, d, 2, &r), 0);
    assert_false(r.feasible);
    assert_int_equal(r.nunplaced, 1);
    int unplaced = 0, on0 = 0;
    for (int i = 0; i < 3; i++) {
        unplaced += g[i].dest == -1;
        on0 += g[i].dest == 0;
    }
    assert_int_equal(unplaced, 1);
    assert_int_equal(on0, 1);
    assert_non_null(strstr(r.summary, "1 guest(s) fit on no destination"));
}

static void pinned_guests_keep_their_destination_and_mode(void **state)
{
    (void)state;
    /* Guest 0 has run for 1 s to destination 1 in post-copy: an idle 2 GiB
     * guest there takes 2.005 s, so it has 1.005 s left. Guests 1 and 2
     * (idle, 2 GiB) are planned around it: guest 1 to the idle destination
     * 0, guest 2 to destination 1 (1.005 + 2.005 = 3.01 s of work there
     * against 4.01 s on destination 0), where it starts when guest 0 ends
     * at 1.005 s and ends at 3.01 s. */
    plan_input in = input(100, true, 2);
    plan_guest g[3] = { idle(2), idle(2), idle(2) };
    plan_dest d[2] = { link_gib(1, 0), link_gib(1, 0) };
    plan_result r;

    g[0].pinned = true;
    g[0].pinned_dest = 1;
    g[0].pinned_mode = PLAN_POSTCOPY;
    g[0].pinned_start_s = -1.0;
    assert_int_equal(plan_make(&in, g, 3, d, 2, &r), 0);
    assert_int_equal(g[0].dest, 1);
    assert_int_equal(g[0].mode, PLAN_POSTCOPY);
    assert_int_equal(g[0].order, -1);
    assert_true(g[0].start_s == -1.0);
    assert_near(g[0].start_s + g[0].duration_s, 1.005, 0.001);
    assert_int_equal(r.npostcopy, 1);
    assert_int_equal(g[1].dest, 0);
    assert_int_equal(g[2].dest, 1);
    assert_near(g[2].start_s, 1.005, 0.001);
    assert_near(r.makespan_s, 3.01, 0.01);
    assert_true(r.feasible);
}

static void a_guest_that_cannot_converge_must_use_post_copy(void **state)
{
    (void)state;
    /* The busy guest with the completion timeout aborting instead of
     * pausing: its pre-copy never completes (aborted at 20 s). With
     * post-copy permitted it is planned in post-copy (2.492 s); without,
     * it is predicted to fail, and goes after the idle guest (2.005 s). */
    plan_input in = input(100, true, 1);
    plan_guest g[2] = { busy(), idle(2) };
    plan_dest d[1] = { link_gib(1, 0) };
    plan_result r;

    in.policy.timeout_action = POLICY_TIMEOUT_ABORT;
    assert_int_equal(plan_make(&in, g, 2, d, 1, &r), 0);
    assert_false(g[0].precopy_converges);
    assert_true(g[0].alone_precopy_s == PLAN_MAX_SECONDS);
    assert_int_equal(g[0].mode, PLAN_POSTCOPY);
    assert_true(r.feasible);
    assert_near(r.makespan_s, 2.492 + 2.005, 0.01);

    in.permit_post_copy = false;
    assert_int_equal(plan_make(&in, g, 2, d, 1, &r), 0);
    assert_false(r.feasible);
    assert_int_equal(r.nfailing, 1);
    assert_false(g[0].completes);
    assert_true(g[1].completes);
    assert_int_equal(g[1].order, 0);
    assert_int_equal(g[0].order, 1);
    assert_non_null(strstr(r.summary, "1 guest(s) predicted not to complete"));
}

/* ---- the shared-link simulation ------------------------------------------- */

static void fifo_one_at_a_time_takes_the_sum_of_alone_durations(void **state)
{
    (void)state;
    /* Idle 1, 2 and 3 GiB on one 1 GiB/s link, in that order, one at a
     * time: 1.005 + 2.005 + 3.005 = 6.015 s, starting at 0, 1.005, 3.01. */
    plan_input in = input(100, false, 1);
    plan_guest g[3] = { idle(1), idle(2), idle(3) };
    plan_dest d[1] = { link_gib(1, 0) };
    plan_result r;

    memset(&r, 0, sizeof r);
    for (int i = 0; i < 3; i++) {
        g[i].dest = 0;
        g[i].mode = PLAN_PRECOPY;
        g[i].order = i;
    }
    assert_int_equal(plan_simulate(&in, g, 3, d, 1, 1, &r), 0);
    assert_near(r.makespan_s, 6.015, 0.001);
    assert_near(g[0].start_s, 0, 1e-9);
    assert_near(g[1].start_s, 1.005, 0.001);
    assert_near(g[2].start_s, 3.010, 0.001);
    assert_near(g[2].duration_s, 3.005, 0.001);
    assert_true(r.feasible);
    assert_int_equal(r.nfailing, 0);

    /* The same as plan_make's alone predictions add up to. */
    plan_guest alone[3] = { idle(1), idle(2), idle(3) };
    plan_result ra;
    assert_int_equal(plan_make(&in, alone, 3, d, 1, &ra), 0);
    assert_near(r.makespan_s,
                alone[0].alone_precopy_s + alone[1].alone_precopy_s + alone[2].alone_precopy_s,
                0.001);
}

static void two_at_once_on_one_link_take_twice_as_long_each(void **state)
{
    (void)state;
    /* Two idle 2 GiB guests at once on one 1 GiB/s link: each gets
     * 0.5 GiB/s, 2 / 0.5 = 4 s, + 5 ms = 4.005 s, against 2.005 s alone. */
    plan_input in = input(100, false, 2);
    plan_guest g[2] = { idle(2), idle(2) };
    plan_dest d[1] = { link_gib(1, 0) };
    plan_result r;

    for (int i = 0; i < 2; i++) {
        g[i].dest = 0;
        g[i].order = i;
    }
    assert_int_equal(plan_simulate(&in, g, 2, d, 1, 2, &r), 0);
    for (int i = 0; i < 2; i++) {
        assert_near(g[i].start_s, 0, 1e-9);
        assert_near(g[i].duration_s, 4.005, 0.001);
    }
    assert_near(r.makespan_s, 4.005, 0.001);
}

static void the_link_is_shared_anew_when_one_ends(void **state)
{
    (void)state;
    /* Idle 1 GiB and 3 GiB at once on one 1 GiB/s link. At 0.5 GiB/s each,
     * the small one ends at 2 s + 5 ms; the big one has sent 1.0025 GiB by
     * then and sends the other 1.9975 GiB at the whole 1 GiB/s: it ends at
     * 2.005 + 1.9975 + 0.005 = 4.0075 s. Had the link not been re-shared,
     * it would end at 6 s. */
    plan_input in = input(100, false, 2);
    plan_guest g[2] = { idle(1), idle(3) };
    plan_dest d[1] = { link_gib(1, 0) };
    plan_result r;

    for (int i = 0; i < 2; i++) {
        g[i].dest = 0;
        g[i].order = i;
    }
    assert_int_equal(plan_simulate(&in, g, 2, d, 1, 2, &r), 0);
    assert_near(g[0].duration_s, 2.005, 0.001);
    assert_near(g[1].duration_s, 4.0075, 0.002);
}

/* ---- a drain of a hundred ------------------------------------------------- */

static void a_hundred_mixed_guests_are_all_placed_in_one_order(void **state)
{
    (void)state;
    /* 100 guests of 1 to 8 GiB, some busy, a quarter with a 4 GiB disk, to
     * two 1.25 GiB/s links, up to 4 at once. RAM: 1 + (7i mod 8) runs
     * through 1..8 in every 8 guests, 12 rounds of 36 GiB, and guests 96 to
     * 99 have 1, 8, 7 and 6: 454 GiB; disks 25 * 4 = 100 GiB. The lower
     * bound is 554 GiB / 2.5 GiB/s = 221.6 s. The planner's cost is printed
     * (the claim in plan.h), not asserted. */
    static plan_guest g[100];
    plan_input in = input(600, true, 4);
    plan_dest d[2] = { link_gib(1.25, 0), link_gib(1.25, 0) };
    plan_result r;
    bool seen[100] = { false };

    in.policy.kind = POLICY_ADAPTIVE;
    in.policy.completion_timeout_s = 800;
    in.interval_s = 5;
    for (int i = 0; i < 100; i++) {
        g[i] = idle(1 + (i * 7) % 8);
        g[i].working_set_bytes = ((i * 3) % 5 + 1) * 256 * MiB;
        g[i].dirty_rate = ((i * 5) % 9) * 96 * MiB;
        g[i].disk_bytes = i % 4 == 0 ? 4 * GiB : 0;
    }
    clock_t c0 = clock();
    assert_int_equal(plan_make(&in, g, 100, d, 2, &r), 0);
    print_message("planned 100 guests in %.3f s of CPU: %s\n",
                  (double)(clock() - c0) / CLOCKS_PER_SEC, r.summary);
    assert_near(r.lower_bound_s, 221.6, 1e-9);
    assert_true(r.makespan_s >= r.lower_bound_s);
    assert_int_equal(r.nunplaced, 0);
    assert_int_equal(r.nfailing, 0);
    assert_true(r.feasible);
    for (int i = 0; i < 100; i++) {
        assert_true(g[i].dest == 0 || g[i].dest == 1);
        assert_true(g[i].order >= 0 && g[i].order < 100);
        assert_false(seen[g[i].order]);
        seen[g[i].order] = true;
        assert_true(g[i].completes);
        assert_true(g[i].duration_s > 0);
        assert_true(g[i].start_s + g[i].duration_s <= r.makespan_s + 1e-9);
    }
}

/* ---- bad input ------------------------------------------------------------ */

static void unusable_input_is_refused(void **state)
{
    (void)state;
    plan_input in = input(100, true, 2);
    plan_guest g[2] = { idle(2), idle(2) };
    plan_dest d[2] = { link_gib(1, 0), link_gib(1, 0) };
    plan_result r;

    assert_int_equal(plan_make(&in, g, 0, d, 2, &r), -1);
    assert_int_equal(plan_make(&in, g, 2, d, 0, &r), -1);
    assert_int_equal(plan_make(&in, g, PLAN_MAX_GUESTS + 1, d, 2, &r), -1);
    assert_int_equal(plan_make(&in, g, 2, d, PLAN_MAX_DESTS + 1, &r), -1);
    assert_int_equal(plan_make(NULL, g, 2, d, 2, &r), -1);
    assert_int_equal(plan_make(&in, g, 2, d, 2, NULL), -1);

    plan_input bad = in;
    bad.deadline_s = 0;
    assert_int_equal(plan_make(&bad, g, 2, d, 2, &r), -1);
    bad.deadline_s = NAN;
    assert_int_equal(plan_make(&bad, g, 2, d, 2, &r), -1);
    bad = in;
    bad.max_parallel = 0;
    assert_int_equal(plan_make(&bad, g, 2, d, 2, &r), -1);
    bad.max_parallel = PLAN_MAX_PARALLEL + 1;
    assert_int_equal(plan_make(&bad, g, 2, d, 2, &r), -1);
    bad = in;
    bad.interval_s = 0;
    assert_int_equal(plan_make(&bad, g, 2, d, 2, &r), -1);

    d[1].link_rate = 0;
    assert_int_equal(plan_make(&in, g, 2, d, 2, &r), -1);
    d[1].link_rate = -GiB;
    assert_int_equal(plan_make(&in, g, 2, d, 2, &r), -1);
    d[1] = link_gib(1, 0);

    g[1].ram_bytes = 0;
    assert_int_equal(plan_make(&in, g, 2, d, 2, &r), -1);
    g[1] = idle(2);
    g[1].dirty_rate = -1;
    assert_int_equal(plan_make(&in, g, 2, d, 2, &r), -1);
    g[1] = idle(2);
    g[1].pinned = true;
    g[1].pinned_dest = 2;
    assert_int_equal(plan_make(&in, g, 2, d, 2, &r), -1);
    g[1] = idle(2);

    /* plan_simulate: a destination out of range, no parallelism. */
    g[0].dest = 2;
    assert_int_equal(plan_simulate(&in, g, 2, d, 2, 1, &r), -1);
    g[0].dest = 0;
    assert_int_equal(plan_simulate(&in, g, 2, d, 2, 0, &r), -1);
    assert_int_equal(plan_simulate(&in, g, 2, d, 2, 1, &r), 0);
}

static void mode_names(void **state)
{
    (void)state;
    assert_string_equal(plan_mode_str(PLAN_PRECOPY), "pre-copy");
    assert_string_equal(plan_mode_str(PLAN_POSTCOPY), "post-copy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_met_only_with_post_copy_for_the_two_busiest),
        cmocka_unit_test(deadline_met_by_parallelism_alone),
        cmocka_unit_test(deadline_below_the_lower_bound_is_reported_impossible),
        cmocka_unit_test(a_late_drain_keeps_pre_copy_where_post_copy_saves_little),
        cmocka_unit_test(a_late_drain_switches_where_post_copy_saves_much),
        cmocka_unit_test(free_memory_limits_a_destination_to_what_fits),
        cmocka_unit_test(a_guest_that_fits_nowhere_is_unplaced),
        cmocka_unit_test(pinned_guests_keep_their_destination_and_mode),
        cmocka_unit_test(a_guest_that_cannot_converge_must_use_post_copy),
        cmocka_unit_test(fifo_one_at_a_time_takes_the_sum_of_alone_durations),
        cmocka_unit_test(two_at_once_on_one_link_take_twice_as_long_each),
        cmocka_unit_test(the_link_is_shared_anew_when_one_ends),
        cmocka_unit_test(a_hundred_mixed_guests_are_all_placed_in_one_order),
        cmocka_unit_test(unusable_input_is_refused),
        cmocka_unit_test(mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
