/* policy.c - the decision engine that drives a live migration to an end.
 *
 * DESIGN
 * ------
 * The engine is a small state machine fed one sample at a time. Each call to
 * policy_step_sample() runs the same fixed ladder and returns the first rung
 * that wants to act, so a sample yields at most one action:
 *
 *   1. Nothing once post-copy runs, once the engine has requested post-copy,
 *      or once it has aborted: from there on only recovery (the service's
 *      job) can help, and a second action could only do harm.
 *   1a. A drain's plan (plan.h) that chose post-copy after the first pass:
 *      at the first sample from iteration 2 on, whatever the estimates say.
 *      The plan met its deadline only by that switch, so the policy does not
 *      second-guess it; it needs permit_post_copy (the job's POSTCOPY flag)
 *      and applies to nova and adaptive alike (none takes no action at all).
 *      A guest the plan left in pre-copy (post_copy_only_to_rescue) keeps
 *      post-copy, when permitted, for where the policy would give up: an
 *      abort (a timeout's, or adaptive's below) becomes post-copy, and
 *      adaptive never switches by itself, which the plan did not predict.
 *   2. Iteration-boundary bookkeeping. A boundary is a sample whose
 *      iteration number differs from the previous sample's. Only there is
 *      "data remaining" comparable from one sample to the next: inside one
 *      pre-copy pass remaining falls as pages are sent, and at the next dirty
 *      bitmap sync it jumps up by everything the guest wrote meanwhile. Nova
 *      compared samples inside a pass and removed its progress timeout after
 *      the false failures that caused; we compare boundaries only.
 *   3. The timeout action, latched: completion timeout (elapsed beyond
 *      completion_timeout * data_gib) or progress timeout (no new low of
 *      memory + disk remaining at a boundary for progress_timeout seconds).
 *   4. adaptive only, at boundaries from iteration 2 on (after one full
 *      pass): weigh the passes to come (below) and either do nothing, raise
 *      its downtime, start post-copy, abort, or pause the guest.
 *   5. The downtime: for nova the Nova ramp's current step; for adaptive its
 *      target, or the downtime it raised to; set whenever it differs from
 *      what was last set.
 *
 * The ramp is computed step by step, exactly as Nova's downtime_steps(): the delay
 * per step is truncated to whole seconds after scaling by the data size, and
 * a step applies when elapsed is strictly greater than its start.
 *
 * ADAPTIVE
 * --------
 * What a guest suffers most is the stop at the end, then the time the
 * operator waits; so adaptive asks for the smallest downtime that still
 * finishes in good time, and decides within a few passes what to do with a
 * guest that pre-copy cannot finish.
 *
 * How pre-copy ends (QEMU, and policy/sim.c): a pass runs until what is left
 * of it fits in rate x limit; then QEMU syncs the dirty bitmap and stops the
 * guest if everything pending fits. A guest that dirties pages during the
 * pass almost never fits at that sync, so the passes shrink towards the
 * limit: with P the pending at a boundary and f the share of a pass that the
 * guest dirties again, each pass leaves about limit + f x (P - limit) (in
 * time units, bytes / rate), and the stop, when it comes, lasts about the
 * limit. So the limit is the downtime, and the time still to go at a limit
 * L is the sum of the passes, (P - L) / (1 - f) when f < 1. Raising the
 * limit to P itself stops the guest at once for P.
 *
 * At each boundary from iteration 2 adaptive computes P (pending / rate, in
 * ms) and f (the reported dirty rate over the transfer rate; from pass 3 no
 * less than what the last pass really left, (P - L) / (P_prev - L): passes
 * shorten as they shrink and see fewer rewrites of a page, so f grows), and:
 *
 *   - P fits in the limit already set: nothing; QEMU stops the guest.
 *   - P fits in the maximum: if each pass still leaves at most
 *     ADAPTIVE_USEFUL_SHRINK of the last and the passes to the target,
 *     (P - L) / (1 - f), end by the time bound, nothing: the passes still
 *     pay. Otherwise they stop paying, and adaptive switches over now: it
 *     sets the downtime to P x ADAPTIVE_STOP_MARGIN, what this guest needs
 *     to stop at once. (Raising to a level between L and P looks cheaper
 *     on paper, but f grows as passes shorten, so such a raise bought
 *     neither time nor downtime in bench/policy-matrix.)
 *   - P does not fit in the maximum, and the passes at the maximum would
 *     not end by the bound (f >= 1: never): pre-copy cannot finish in good
 *     time. With post-copy permitted, post-copy; at pass 2 already whenever
 *     P does not fit, since pass 2 cannot show f (it is shorter than pass 1,
 *     so it dirties no more than pass 1 did, and that is all one knows).
 *     Else, with auto-converge permitted, the maximum, and QEMU's throttle
 *     does the rest (bench/policy-matrix shows what that costs the guest);
 *     else the maximum when the passes at it end inside the completion
 *     timeout, or when there is no completion timeout (0: time alone ends
 *     nothing); else, when two boundaries in a row say pre-copy cannot
 *     finish inside the completion timeout, the timeout action at once: an
 *     abort naming those numbers, or with force_complete a pause.
 *
 * The time bound is (1 + ADAPTIVE_TIME_SLACK) x the fastest finish the
 * maximum allows, estimated at pass 2 (elapsed + P when P fits in the
 * maximum, else elapsed + (P - max) / (1 - f) + max) and once more at the
 * first boundary with an observed f. A policy that stops the guest sooner
 * needs a downtime above the maximum.
 *
 * A paused guest dirties nothing, so the pause lasts as long as sending what
 * is pending when it starts. For a guest that dirties faster than the link
 * (the only kind adaptive pauses) pending is least at a boundary: inside a
 * pass the remainder falls at the link rate while the newly dirty pages grow
 * faster. So adaptive pauses at a boundary whose pending is within
 * ADAPTIVE_PAUSE_TOLERANCE of the least seen at any boundary from pass 2,
 * waiting at most ADAPTIVE_PAUSE_PASSES boundaries for one.
 *
 * The rate at a boundary is never below what the pass just ended moved
 * over its length: QEMU's reported rate covers its last 100 ms, which at a
 * boundary is mostly the bitmap sync. Samples can be hostile (a rate that is
 * 0, negative, NaN or infinite): such a rate is replaced by what the pass
 * itself moved, and a boundary with no usable rate makes no decision; the
 * timeouts still apply.
 */
#include "policy/policy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

/* adaptive's tuning. Each is a judgement, checked by bench/policy-matrix. */
/* The share of the fastest finish adaptive may spend on passes that lower
 * the downtime (the DESIGN above): the 10 %. bench/policy-matrix
 * measured 0.05 too: it met the time goal on no more converging guests
 * (134 of 168 either way) and lost the downtime goal on 13 more. */
#define ADAPTIVE_TIME_SLACK 0.1
/* A pass that leaves more than this share of the last no longer pays even
 * inside the bound: at 0.8 a pass takes five times as long as the data it
 * removes would take to send in the stop. */
#define ADAPTIVE_USEFUL_SHRINK 0.8
/* Stopping the guest at once needs the pending data plus what the guest
 * dirties before QEMU sees the new limit. */
#define ADAPTIVE_STOP_MARGIN 1.1
/* Boundaries in a row that must say "cannot finish inside the completion
 * timeout" before adaptive aborts or pauses: one pass can be a fluke. */
#define ADAPTIVE_CANNOT_FINISH_PASSES 2
/* A boundary within this share of the least pending seen is as good a
 * moment to pause as any; and adaptive waits at most this many boundaries
 * for one. */
#define ADAPTIVE_PAUSE_TOLERANCE 0.05
#define ADAPTIVE_PAUSE_PASSES 3
/* f above this is treated as unusable (a rate that is nearly 0). */
#define ADAPTIVE_MAX_F 100.0

double policy_data_gib(uint64_t ram_bytes, const uint64_t *disk_bytes, size_t ndisks)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    double total = fmax((double)ram_bytes / gib, POLICY_MIN_DATA_GIB);

    for (size_t i = 0; i < ndisks; i++)
        total += fmax((double)disk_bytes[i] / gib, POLICY_MIN_DATA_GIB);
    return total;
}

void policy_settings_default(policy_settings *out, policy_kind kind, double data_gib)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->downtime_ms = 500;
    out->downtime_steps = 10;
    out->downtime_delay_s = 75;
    out->completion_timeout_s = 800;
    out->progress_timeout_s = 150;
    out->timeout_action = POLICY_TIMEOUT_ABORT;
    out->permit_post_copy = false;
    out->downtime_target_ms = POLICY_DEFAULT_DOWNTIME_TARGET_MS;
    out->data_gib = data_gib;
}

/* Step i of Nova's ramp for s: delay = int(delay * data_gb);
 * base = downtime / steps; offset = (downtime - base) / steps;
 * step i = (delay * i, int(base + offset * i)). */
static policy_step ramp_step(const policy_settings *s, uint32_t i)
{
    double delay = trunc((double)s->downtime_delay_s * s->data_gib);
    double base = (double)s->downtime_ms / s->downtime_steps;
    double offset = ((double)s->downtime_ms - base) / s->downtime_steps;
    policy_step st = { delay * i, (uint32_t)(base + offset * i) };
    return st;
}

size_t policy_downtime_steps(const policy_settings *s, policy_step *steps, size_t max)
{
    size_t n = 0;

    for (uint32_t i = 0; i <= s->downtime_steps && n < max; i++)
        steps[n++] = ramp_step(s, i);
    return n;
}

/* adaptive's target: as configured, but never above the maximum. */
static uint32_t target_within(const policy_settings *s)
{
    return s->downtime_target_ms < s->downtime_ms ? s->downtime_target_ms : s->downtime_ms;
}

void policy_init(policy *p, const policy_settings *s)
{
    memset(p, 0, sizeof *p);
    p->set = *s;
    /* The config enforces Nova's minimums; clamping here keeps the engine
     * total for any caller (a per-migration override, a test). */
    if (p->set.downtime_ms < POLICY_MIN_DOWNTIME_MS)
        p->set.downtime_ms = POLICY_MIN_DOWNTIME_MS;
    if (p->set.downtime_steps < POLICY_MIN_DOWNTIME_STEPS)
        p->set.downtime_steps = POLICY_MIN_DOWNTIME_STEPS;
    if (p->set.downtime_steps > POLICY_MAX_STEPS)
        p->set.downtime_steps = POLICY_MAX_STEPS;
    if (p->set.downtime_delay_s < POLICY_MIN_DOWNTIME_DELAY_S)
        p->set.downtime_delay_s = POLICY_MIN_DOWNTIME_DELAY_S;
    if (!(p->set.data_gib >= POLICY_MIN_DATA_GIB))
        p->set.data_gib = POLICY_MIN_DATA_GIB;
    /* adaptive weighs pass 1 against the migration's start. */
    p->have_boundary = p->set.kind == POLICY_ADAPTIVE;
    /* Nova: completion_timeout = int(completion_timeout * data_gb). */
    p->completion_timeout_s = trunc((double)p->set.completion_timeout_s * p->set.data_gib);
    if (p->set.downtime_target_ms == 0)
        p->set.downtime_target_ms = POLICY_DEFAULT_DOWNTIME_TARGET_MS;
    p->target_ms = target_within(&p->set);
}

void policy_update(policy *p, uint32_t max_downtime_ms, bool permit_post_copy)
{
    if (max_downtime_ms != 0) {
        p->set.downtime_ms = max_downtime_ms < POLICY_MIN_DOWNTIME_MS ? POLICY_MIN_DOWNTIME_MS
                                                                      : max_downtime_ms;
        /* A lower maximum also lowers adaptive's target and floor. */
        if (p->adaptive_floor_ms > p->set.downtime_ms)
            p->adaptive_floor_ms = p->set.downtime_ms;
        p->target_ms = target_within(&p->set);
    }
    p->set.permit_post_copy = permit_post_copy;
}

static policy_action action_make(policy_action_kind kind, uint32_t downtime_ms, const char *fmt,
                                 ...) __attribute__((format(printf, 3, 4)));

static policy_action action_make(policy_action_kind kind, uint32_t downtime_ms, const char *fmt,
                                 ...)
{
    policy_action a;
    va_list ap;

    memset(&a, 0, sizeof a);
    a.kind = kind;
    a.downtime_ms = downtime_ms;
    va_start(ap, fmt);
    vsnprintf(a.reason, sizeof a.reason, fmt, ap);
    va_end(ap);
    return a;
}

static policy_action action_none(void)
{
    policy_action a;
    memset(&a, 0, sizeof a);
    return a;
}

/* What force-complete does, whoever asks: post-copy when permitted, else
 * pause. why is the first half of the reason sentence. */
static policy_action policy_complete_now(policy *p, const char *why)
{
    if (p->set.permit_post_copy) {
        p->post_copy_requested = true;
        return action_make(POLICY_ACT_POST_COPY, 0, "%s: switching to post-copy", why);
    }
    if (p->paused)
        return action_make(POLICY_ACT_NONE, 0, "%s: the guest is already paused", why);
    p->paused = true;
    return action_make(POLICY_ACT_PAUSE, 0,
                       "%s: post-copy is not permitted, pausing the guest so pre-copy can finish",
                       why);
}

policy_action policy_force_complete(policy *p)
{
    if (p->aborted)
        return action_make(POLICY_ACT_NONE, 0, "the migration is being aborted");
    if (p->post_copy || p->post_copy_requested)
        return action_make(POLICY_ACT_NONE, 0, "the migration is already in post-copy");
    return policy_complete_now(p, "force-complete requested");
}

/* Whether adaptive may start post-copy by itself, and whether post-copy
 * is kept to rescue a migration the policy would give up on (see
 * policy_settings.post_copy_only_to_rescue). */
static bool post_copy_free(const policy *p)
{
    return p->set.permit_post_copy && !p->set.post_copy_only_to_rescue;
}

static bool post_copy_rescues(const policy *p)
{
    return p->set.permit_post_copy && p->set.post_copy_only_to_rescue;
}

/* The end a policy gives up with: an abort, or post-copy where that
 * rescues the migration. */
static policy_action policy_give_up(policy *p, const char *why)
{
    if (post_copy_rescues(p)) {
        p->post_copy_requested = true;
        return action_make(POLICY_ACT_POST_COPY, 0,
                           "%s: the drain planned pre-copy, but post-copy rather than an abort",
                           why);
    }
    p->aborted = true;
    return action_make(POLICY_ACT_ABORT, 0, "%s: aborting", why);
}

static policy_action policy_timeout(policy *p, const char *why)
{
    p->timeout_fired = true;
    if (p->set.timeout_action == POLICY_TIMEOUT_ABORT)
        return policy_give_up(p, why);
    return policy_complete_now(p, why);
}

static uint64_t sample_remaining(const policy_sample *s)
{
    return s->mem_remaining + s->disk_remaining;
}

static uint64_t sample_processed(const policy_sample *s)
{
    return s->mem_processed + s->disk_processed;
}

/* Raises adaptive's downtime to want_ms (no higher than the maximum) with
 * the reason why; never lowers it. */
static void adaptive_raise(policy *p, double want_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void adaptive_raise(policy *p, double want_ms, const char *fmt, ...)
{
    va_list ap;
    /* Whole ms, rounding up what is not a float's error away from whole. */
    double want = fmin(ceil(want_ms - 1e-6), (double)p->set.downtime_ms);

    if (!(want > p->adaptive_floor_ms))
        return;
    p->adaptive_floor_ms = (uint32_t)want;
    va_start(ap, fmt);
    vsnprintf(p->adaptive_note, sizeof p->adaptive_note, fmt, ap);
    va_end(ap);
}

/* Pre-copy cannot finish inside the completion timeout: the timeout action
 * now, once ADAPTIVE_CANNOT_FINISH_PASSES boundaries in a row said so; a
 * pause waits for a boundary with little pending (the DESIGN above). */
static policy_action adaptive_cannot_finish(policy *p, const policy_sample *s, double pending,
                                            double rate, const char *why)
{
    if (++p->cannot_finish < ADAPTIVE_CANNOT_FINISH_PASSES)
        return action_none();
    if (p->set.timeout_action == POLICY_TIMEOUT_ABORT || post_copy_rescues(p)) {
        p->timeout_fired = true;
        return policy_give_up(p, why);
    }
    if (pending > p->pause_low * (1 + ADAPTIVE_PAUSE_TOLERANCE) &&
        p->pause_waited++ < ADAPTIVE_PAUSE_PASSES)
        return action_none();
    p->timeout_fired = true;
    p->paused = true;
    return action_make(POLICY_ACT_PAUSE, 0,
                       "%s: pausing the guest at iteration %u with %.0f MiB to send (least at a "
                       "boundary: %.0f MiB), a pause of about %.1f s",
                       why, s->iteration, pending / MIB, p->pause_low / MIB, pending / rate);
}

/* adaptive's look at one boundary (iteration >= 2): the DESIGN above. Uses
 * the previous boundary still stored in p, so call it before that is
 * overwritten. Returns POST_COPY, ABORT, PAUSE, or NONE after possibly
 * raising p->adaptive_floor_ms. */
static policy_action adaptive_at_boundary(policy *p, const policy_sample *s)
{
    double pass_s = s->elapsed_s - p->boundary_at_s;
    double pending = (double)sample_remaining(s);
    double prev = p->prev_pending;
    double rate = s->transfer_rate;
    double dirty = s->dirty_rate;

    p->prev_pending = pending;
    if (!(pass_s > 0) || !isfinite(pass_s))
        return action_none();
    /* The rate: the larger of the reported one and what the pass just ended
     * moved over its length. QEMU reports the rate of its last 100 ms
     * window, and at a boundary that window holds the dirty bitmap sync
     * rather than sending: 2 MiB/s on a 96 MiB/s link at iteration 2 of the
     * integration tests' busy guest (TCG), which made f look above 100 and
     * put the switch off by a whole pass. The pass's own average is what the
     * link did at least; it stands alone when the report is unusable. */
    if (!(rate > 0) || !isfinite(rate))
        rate = 0;
    uint64_t done = sample_processed(s);
    if (done > p->boundary_processed)
        rate = fmax(rate, (double)(done - p->boundary_processed) / pass_s);
    if (!(dirty > 0) || !isfinite(dirty))
        dirty = 0;
    if (!(rate > 0) || !isfinite(rate))
        return action_none();

    /* Times in ms: P to stop now, L the limit the last pass ran under. */
    double now_ms = pending / rate * 1000.0;
    double limit_ms = p->current_downtime_ms;
    double max_ms = p->set.downtime_ms;
    double target_ms = fmax(p->target_ms, limit_ms);
    /* f: what the last pass really left, once there was a pass after pass
     * 1; for pass 2 only the reported dirty rate, which pass 1 understates
     * (a long pass sees the guest rewrite the same pages, so its distinct
     * pages per second are fewer than a short pass's). */
    double f = dirty / rate;
    bool f_seen = false;
    if (s->iteration >= 3 && prev > 0) {
        double lim_bytes = rate * limit_ms / 1000.0;
        if (prev > lim_bytes) {
            /* Passes shorten as they shrink, and a short pass sees fewer
             * rewrites of the same page, so f only grows: never below the
             * reported rate. */
            f = fmax(f, (pending - lim_bytes) / (prev - lim_bytes));
            f_seen = true;
        }
    }
    if (!(f >= 0))
        f = 0;
    if (!(f <= ADAPTIVE_MAX_F))
        return action_none();
    /* Without a reported dirty rate pass 2 has no f at all: wait for one. */
    if (!f_seen && !(dirty > 0) && !post_copy_free(p))
        return action_none();
    /* The bound: the fastest finish that the maximum allows from here, the
     * first time with the estimate and once more with the first f seen. */
    if (p->finish_by_s == 0 || (f_seen && !p->finish_by_seen)) {
        double fastest_s = now_ms <= max_ms ? now_ms / 1000.0
                           : f < 1          ? ((now_ms - max_ms) / (1 - f) + max_ms) / 1000.0
                                            : now_ms / 1000.0;
        p->finish_by_s = (s->elapsed_s + fastest_s) * (1 + ADAPTIVE_TIME_SLACK);
        p->finish_by_seen = f_seen;
    }
    if (!(pending > p->pause_low) || p->pause_low == 0)
        p->pause_low = pending;
    double left_s = fmax(0, p->finish_by_s - s->elapsed_s);

    if (now_ms <= limit_ms) {
        p->cannot_finish = 0;
        return action_none();
    }
    if (now_ms <= max_ms) {
        p->cannot_finish = 0;
        double to_target_s = f < 1 ? (now_ms - target_ms) / 1000.0 / (1 - f) : INFINITY;
        if (to_target_s <= left_s && f <= ADAPTIVE_USEFUL_SHRINK)
            return action_none();
        adaptive_raise(p, now_ms * ADAPTIVE_STOP_MARGIN,
                       "passes stop paying at iteration %u: %.0f MiB pending is %.0f ms at "
                       "%.0f MiB/s, each pass leaves %.2f of the last; %u ms would take %.1f s "
                       "more, %.1f s allowed",
                       s->iteration, pending / MIB, now_ms, rate / MIB, f, p->target_ms,
                       to_target_s, left_s);
        return action_none();
    }

    /* Pending does not fit in the maximum: can the passes get there? With
     * post-copy permitted, pass 2 cannot show it: pass 2 is shorter than
     * pass 1, so it dirties no more than pass 1 did, and that is all one
     * can say (f <= 1). Post-copy now costs the guest less time than a pass
     * that may not help, and is what virsh --postcopy-after-precopy does. */
    double to_max_s = f < 1 ? (now_ms - max_ms) / 1000.0 / (1 - f) : INFINITY;
    if (post_copy_free(p) && !f_seen)
        to_max_s = INFINITY;
    bool alone = !post_copy_free(p) && !p->set.permit_auto_converge;
    double timeout_left_s = p->completion_timeout_s > 0 ? p->completion_timeout_s - s->elapsed_s
                                                        : INFINITY;
    /* Pre-copy is all there is: the only question is whether it finishes
     * inside the completion timeout (never, when f >= 1). Without one the
     * operator has said that time alone ends nothing, so adaptive does not
     * either. */
    bool never = alone && p->completion_timeout_s > 0 &&
                 (!isfinite(to_max_s) || to_max_s > timeout_left_s);
    if (to_max_s <= left_s && !never) {
        p->cannot_finish = 0;
        return action_none();
    }
    char why[240], shrink[64];
    if (post_copy_free(p) && !f_seen)
        snprintf(shrink, sizeof shrink, "one pass cannot show that passes shrink it");
    else if (f_seen || dirty > 0)
        snprintf(shrink, sizeof shrink, "each pass leaves %.2f of the last", f);
    else
        snprintf(shrink, sizeof shrink, "no dirty rate is known yet");
    snprintf(why, sizeof why,
             "pre-copy cannot finish in good time: at iteration %u %.0f MiB pending needs "
             "%.0f ms at %.0f MiB/s (maximum %u ms) and %s",
             s->iteration, pending / MIB, now_ms, rate / MIB, p->set.downtime_ms, shrink);
    if (post_copy_free(p)) {
        p->post_copy_requested = true;
        return action_make(POLICY_ACT_POST_COPY, 0, "%s; switching to post-copy", why);
    }
    if (p->set.permit_auto_converge) {
        p->cannot_finish = 0;
        if (!p->throttling) {
            p->throttling = true;
            adaptive_raise(p, max_ms,
                           "%s; the maximum downtime, and QEMU's auto-converge throttles the "
                           "guest",
                           why);
        }
        return action_none();
    }
    if (!never) {
        p->cannot_finish = 0;
        if (isfinite(to_max_s))
            adaptive_raise(p, max_ms,
                           "%s; at the maximum the passes end in about %.0f s, inside the "
                           "completion timeout",
                           why, to_max_s);
        else
            adaptive_raise(p, max_ms,
                           "%s; the maximum downtime, with no completion timeout to end it", why);
        return action_none();
    }
    char why2[240];
    if (isfinite(to_max_s))
        snprintf(why2, sizeof why2,
                 "pre-copy cannot finish inside the completion timeout (%.0f s left): at "
                 "iteration %u %.0f MiB pending is %.0f ms at %.0f MiB/s and passes at %u ms "
                 "need %.0f s more",
                 timeout_left_s, s->iteration, pending / MIB, now_ms, rate / MIB,
                 p->set.downtime_ms, to_max_s);
    else
        snprintf(why2, sizeof why2,
                 "pre-copy cannot finish: at iteration %u %.0f MiB pending is %.0f ms at "
                 "%.0f MiB/s (maximum %u ms) and each pass leaves %.2f of the last",
                 s->iteration, pending / MIB, now_ms, rate / MIB, p->set.downtime_ms, f);
    return adaptive_cannot_finish(p, s, pending, rate, why2);
}

/* Records a boundary; returns the progress-timeout action if it is due. */
static policy_action progress_at_boundary(policy *p, const policy_sample *s)
{
    uint64_t remaining = sample_remaining(s);

    if (!p->have_low || remaining < p->low_remaining) {
        p->have_low = true;
        p->low_remaining = remaining;
        p->low_at_s = s->elapsed_s;
        return action_none();
    }
    if (p->set.progress_timeout_s > 0 && !p->timeout_fired &&
        s->elapsed_s - p->low_at_s > p->set.progress_timeout_s) {
        char why[160];
        snprintf(why, sizeof why,
                 "no progress for %.0f s: data remaining has not fallen below %.0f MiB "
                 "(lowest, at %.0f s) in %u s",
                 s->elapsed_s - p->low_at_s, (double)p->low_remaining / MIB, p->low_at_s,
                 p->set.progress_timeout_s);
        return policy_timeout(p, why);
    }
    return action_none();
}

/* The downtime the ramp asks for at this time, 0 before its first step.
 * Steps are computed when needed rather than stored: a stored ramp of the
 * largest allowed length made every policy 16 KiB, which is most of the
 * daemon's memory with a thousand migrations. */
static uint32_t ramp_downtime(const policy *p, double elapsed_s, size_t *step)
{
    uint32_t dt = 0;

    for (uint32_t i = 0; i <= p->set.downtime_steps; i++) {
        policy_step st = ramp_step(&p->set, i);
        if (!(elapsed_s > st.after_s))
            break; /* the steps' start times only grow */
        dt = st.downtime_ms;
        *step = i;
    }
    return dt;
}

policy_action policy_step_sample(policy *p, const policy_sample *s)
{
    policy_action act = action_none();
    bool boundary = false;

    if (s->post_copy)
        p->post_copy = true;
    if (p->set.kind == POLICY_NONE || p->post_copy || p->post_copy_requested || p->aborted)
        return act;

    if (p->set.post_copy_after_first_pass && p->set.permit_post_copy && s->iteration >= 2) {
        p->post_copy_requested = true;
        return action_make(POLICY_ACT_POST_COPY, 0,
                           "the drain's plan switches to post-copy after the first pass: "
                           "%.0f MiB remaining at iteration %u",
                           (double)sample_remaining(s) / MIB, s->iteration);
    }

    if (s->iteration != p->last_iteration && s->iteration > 0) {
        boundary = true;
        p->last_iteration = s->iteration;
    }

    if (boundary) {
        act = progress_at_boundary(p, s);
        if (act.kind == POLICY_ACT_NONE && p->set.kind == POLICY_ADAPTIVE && s->iteration >= 2 &&
            p->have_boundary && !p->paused)
            act = adaptive_at_boundary(p, s);
        p->have_boundary = true;
        p->boundary_at_s = s->elapsed_s;
        p->boundary_processed = sample_processed(s);
        if (act.kind != POLICY_ACT_NONE || p->aborted || p->post_copy_requested)
            return act;
    }

    /* Nova: should_trigger_timeout_action() - strictly past the timeout,
     * never in post-copy, 0 = off. */
    if (!p->timeout_fired && p->completion_timeout_s > 0 &&
        s->elapsed_s > p->completion_timeout_s) {
        char why[160];
        snprintf(why, sizeof why, "not completed after %.0f s (%u s per GiB of %.2f GiB)",
                 p->completion_timeout_s, p->set.completion_timeout_s, p->set.data_gib);
        act = policy_timeout(p, why);
        if (act.kind != POLICY_ACT_NONE)
            return act;
    }

    if (p->set.kind == POLICY_ADAPTIVE) {
        /* From the first sample, as Nova's step 0 (strictly after 0 s). */
        if (!(s->elapsed_s > 0))
            return act;
        bool raised = p->adaptive_floor_ms > p->target_ms;
        uint32_t want = raised ? p->adaptive_floor_ms : p->target_ms;
        if (want == p->current_downtime_ms)
            return act;
        p->current_downtime_ms = want;
        if (raised)
            return action_make(POLICY_ACT_SET_DOWNTIME, want, "%s", p->adaptive_note);
        return action_make(POLICY_ACT_SET_DOWNTIME, want,
                           "downtime target %u ms (maximum %u ms): the guest stops once what "
                           "is left fits in it",
                           p->target_ms, p->set.downtime_ms);
    }

    size_t step = 0;
    uint32_t want = ramp_downtime(p, s->elapsed_s, &step);
    if (want != 0 && want != p->current_downtime_ms) {
        p->current_downtime_ms = want;
        return action_make(POLICY_ACT_SET_DOWNTIME, want,
                           "downtime step %zu of %u after %.0f s elapsed", step,
                           p->set.downtime_steps, s->elapsed_s);
    }
    return act;
}

const char *policy_kind_str(policy_kind k)
{
    switch (k) {
    case POLICY_NONE: return "none";
    case POLICY_NOVA: return "nova";
    case POLICY_ADAPTIVE: return "adaptive";
    }
    return "unknown";
}

const char *policy_timeout_action_str(policy_timeout_action a)
{
    return a == POLICY_TIMEOUT_FORCE_COMPLETE ? "force_complete" : "abort";
}

const char *policy_action_str(policy_action_kind k)
{
    switch (k) {
    case POLICY_ACT_NONE: return "none";
    case POLICY_ACT_SET_DOWNTIME: return "set_downtime";
    case POLICY_ACT_POST_COPY: return "post_copy";
    case POLICY_ACT_PAUSE: return "pause";
    case POLICY_ACT_ABORT: return "abort";
    }
    return "unknown";
}

int policy_kind_parse(const char *name, policy_kind *out)
{
    for (int k = POLICY_NONE; k <= POLICY_ADAPTIVE; k++) {
        if (strcmp(name, policy_kind_str((policy_kind)k)) == 0) {
            *out = (policy_kind)k;
            return 0;
        }
    }
    return -1;
}

int policy_timeout_action_parse(const char *name, policy_timeout_action *out)
{
    if (strcmp(name, "abort") == 0)
        *out = POLICY_TIMEOUT_ABORT;
    else if (strcmp(name, "force_complete") == 0)
        *out = POLICY_TIMEOUT_FORCE_COMPLETE;
    else
        return -1;
    return 0;
}
