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
 *      pass): start post-copy when pre-copy cannot converge and post-copy is
 *      permitted, or raise the downtime floor to what the next pass needs.
 *   5. The downtime: the Nova ramp's current step, or adaptive's floor when
 *      that is higher, whenever it differs from what was last set.
 *
 * The ramp is computed step by step, exactly as Nova's downtime_steps(): the delay
 * per step is truncated to whole seconds after scaling by the data size, and
 * a step applies when elapsed is strictly greater than its start.
 */
#include "policy/policy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

/* adaptive's tuning. Each is a judgement, checked by bench/policy-matrix. */
/* Pre-copy is deemed not to converge when each pass leaves at least this
 * fraction of the previous pass's data to send again: at 0.8 pre-copy would
 * need five times as long as post-copy needs to move the same data. */
#define ADAPTIVE_NONCONVERGE_RATIO 0.8
/* QEMU sends device state on top of the memory it allows for downtime, so
 * the real pause exceeds the limit it was given; adaptive keeps this share of
 * the configured maximum and leaves the rest as headroom. */
#define ADAPTIVE_DOWNTIME_HEADROOM 0.9
/* The downtime adaptive asks for is what the estimate says the next pass
 * needs times this margin, since estimates of dirty rate are noisy. */
#define ADAPTIVE_DOWNTIME_MARGIN 1.5

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
    /* Nova: completion_timeout = int(completion_timeout * data_gb). */
    p->completion_timeout_s = trunc((double)p->set.completion_timeout_s * p->set.data_gib);
}

void policy_update(policy *p, uint32_t max_downtime_ms, bool permit_post_copy)
{
    if (max_downtime_ms != 0) {
        p->set.downtime_ms = max_downtime_ms < POLICY_MIN_DOWNTIME_MS ? POLICY_MIN_DOWNTIME_MS
                                                                      : max_downtime_ms;
        /* A lower maximum also lowers adaptive's floor. */
        uint32_t cap = (uint32_t)(p->set.downtime_ms * ADAPTIVE_DOWNTIME_HEADROOM);
        if (p->adaptive_floor_ms > cap)
            p->adaptive_floor_ms = cap;
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

static policy_action policy_timeout(policy *p, const char *why)
{
    p->timeout_fired = true;
    if (p->set.timeout_action == POLICY_TIMEOUT_ABORT) {
        p->aborted = true;
        return action_make(POLICY_ACT_ABORT, 0, "%s: aborting", why);
    }
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

/* adaptive's look at one boundary (iteration >= 2). Uses the previous
 * boundary still stored in p, so call it before that is overwritten.
 * Returns POST_COPY, or NONE after possibly raising p->adaptive_floor_ms. */
static policy_action adaptive_at_boundary(policy *p, const policy_sample *s)
{
    double pass_s = s->elapsed_s - p->boundary_at_s;
    double remaining = (double)sample_remaining(s);
    double rate = s->transfer_rate;
    double dirty = s->dirty_rate;

    if (!(pass_s > 0))
        return action_none();
    /* Estimates from the pass just ended when the job statistics lack them:
     * everything sent in the pass over its length, and everything the guest
     * dirtied in it (what is left to send now) over its length. */
    if (!(rate > 0)) {
        uint64_t done = sample_processed(s);
        rate = done > p->boundary_processed ? (double)(done - p->boundary_processed) / pass_s : 0;
    }
    if (!(dirty > 0))
        dirty = remaining / pass_s;
    if (!(rate > 0))
        return action_none();

    /* The next pass sends what remains now, taking remaining / rate seconds,
     * while the guest keeps dirtying: what it dirties then is what QEMU next
     * compares with rate * max downtime. Expect the dirty rate to hold; but a
     * guest's distinct dirty pages grow no faster than linearly in time, so
     * a pass no longer than the last cannot dirty more than the last did
     * (the pages remaining now), whatever rate the statistics report. */
    double ratio = dirty / rate;
    double next = remaining * ratio;
    if (remaining / rate <= pass_s)
        next = fmin(next, remaining);
    /* Pending data at a boundary is exactly what QEMU's switch-over test
     * weighs, so the lowest value seen is proof of what a downtime of
     * low / rate would have finished on; trust it over the estimate. */
    if (p->have_low && (double)p->low_remaining < next)
        next = (double)p->low_remaining;
    double needed_ms = next / rate * 1000.0;
    double cap_ms = floor(p->set.downtime_ms * ADAPTIVE_DOWNTIME_HEADROOM);

    /* If pre-copy can finish at the next pass, allow that downtime (with a
     * margin, within the cap) at once rather than wait for the ramp. */
    if (needed_ms <= cap_ms) {
        double want = fmin(cap_ms, ceil(needed_ms * ADAPTIVE_DOWNTIME_MARGIN));
        if (want > p->adaptive_floor_ms) {
            p->adaptive_floor_ms = (uint32_t)want;
            snprintf(p->adaptive_note, sizeof p->adaptive_note,
                     "pre-copy can finish at iteration %u: %.0f MiB remaining, dirtying "
                     "%.0f MiB/s over %.0f MiB/s needs about %.0f ms",
                     s->iteration + 1, remaining / MIB, dirty / MIB, rate / MIB, needed_ms);
        }
        return action_none();
    }
    if (ratio >= ADAPTIVE_NONCONVERGE_RATIO && p->set.permit_post_copy) {
        p->post_copy_requested = true;
        return action_make(POLICY_ACT_POST_COPY, 0,
                           "pre-copy will not converge: at iteration %u the guest dirties "
                           "%.0f MiB/s against %.0f MiB/s sent, leaving about %.0f MiB per "
                           "pass where %u ms allows %.0f MiB; switching to post-copy",
                           s->iteration, dirty / MIB, rate / MIB, next / MIB, p->set.downtime_ms,
                           rate * p->set.downtime_ms / 1000.0 / MIB);
    }
    return action_none();
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

    size_t step = 0;
    uint32_t want = ramp_downtime(p, s->elapsed_s, &step);
    bool from_adaptive = p->adaptive_floor_ms > want;
    if (from_adaptive)
        want = p->adaptive_floor_ms;
    if (want != 0 && want != p->current_downtime_ms) {
        p->current_downtime_ms = want;
        if (from_adaptive)
            return action_make(POLICY_ACT_SET_DOWNTIME, want, "%s", p->adaptive_note);
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
