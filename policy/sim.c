/* sim.c - a deterministic model of a QEMU live migration in virtual time.
 *
 * DESIGN
 * ------
 * The model is a fluid one (bytes are real numbers) stepped from event to
 * event rather than by a fixed tick, so a 64 GiB migration over hours of
 * virtual time costs no more than a short one:
 *
 *  - Within a pre-copy pass, data leaves at the link rate and the guest's
 *    distinct dirty bytes grow as random writes over a working set W do:
 *    dirtied(t + h) = W - (W - dirtied(t)) * exp(-rate * h / W).
 *  - The only event inside a pass is QEMU's switch-over test: once the data
 *    left in the pass falls under rate * max_downtime, QEMU syncs the dirty
 *    bitmap; pending = left-in-pass united with dirtied (random overlap over
 *    the universe the pages come from: all RAM in pass 1, the working set
 *    after); if pending fits, the guest stops and pending is sent in the
 *    downtime, else pending becomes the next pass. Dirty bytes are whole
 *    pages at a sync, so a converging guest really does reach zero.
 *  - Auto-converge is judged at syncs at least one second apart, as QEMU
 *    7.2's migration_trigger_throttle() does.
 *  - Post-copy hands over with a stop of SIM_SWITCHOVER_MS plus the bitmap
 *    of all RAM, then moves pending pages at link rate, working-set pages
 *    first (they are the ones the guest faults on). While working-set pages
 *    are missing, the guest runs slowed by the missing fraction.
 */
#include "policy/sim.h"

#include <math.h>
#include <string.h>

void sim_init(sim *s, const sim_params *p)
{
    memset(s, 0, sizeof *s);
    s->p = *p;
    if (s->p.working_set_bytes > s->p.ram_bytes)
        s->p.working_set_bytes = s->p.ram_bytes;
    s->downtime_ms = SIM_DEFAULT_DOWNTIME_MS;
    s->disk_remaining = p->disk_bytes;
    s->state = p->disk_bytes > 0 ? SIM_DISK : SIM_PRECOPY;
    if (s->state == SIM_PRECOPY) {
        s->iteration = 1;
        s->pass_remaining = p->ram_bytes;
    }
}

bool sim_active(const sim *s)
{
    return s->state == SIM_DISK || s->state == SIM_PRECOPY || s->state == SIM_POSTCOPY;
}

static double sim_rate(const sim *s)
{
    double r = s->p.link_rate;
    if (s->p.bandwidth_limit > 0 && s->p.bandwidth_limit < r)
        r = s->p.bandwidth_limit;
    return r;
}

/* Distinct bytes the guest writes per second now. */
static double sim_guest_dirty_rate(const sim *s)
{
    if (s->paused || s->p.working_set_bytes <= 0)
        return 0;
    return s->p.dirty_rate * (1.0 - s->throttle);
}

static void sim_dirty(sim *s, double h)
{
    double w = s->p.working_set_bytes;
    double d = sim_guest_dirty_rate(s);

    if (d <= 0 || w <= 0)
        return;
    s->dirtied = w - (w - s->dirtied) * exp(-d * h / w);
    /* A guest that is throttled loses the throttled share of its time. */
    s->guest_stall_s += s->throttle * h;
}

static void sim_finish(sim *s, sim_state end)
{
    /* A stop that happens while the guest is paused is part of the pause,
     * not a second outage on top of it. */
    s->stopped_while_paused = s->paused && end == SIM_COMPLETED;
    if (s->paused) {
        s->paused_total += s->now - s->paused_since;
        s->paused = false;
    }
    s->state = end;
    s->end = s->now;
}

/* QEMU 7.2 migration_trigger_throttle(): once a sync period of at least a
 * second has passed, compare what it dirtied with what it sent. */
static void sim_period_check(sim *s)
{
    double len = s->now - s->period_start;

    if (len < 1.0)
        return;
    s->dirty_rate_seen = s->period_dirtied / len;
    if (s->p.auto_converge && s->period_dirtied > 0.5 * s->period_sent &&
        ++s->dirty_high_count >= 2) {
        s->dirty_high_count = 0;
        s->throttle = s->throttle == 0 ? 0.20 : fmin(0.99, s->throttle + 0.10);
    }
    s->period_start = s->now;
    s->period_sent = 0;
    s->period_dirtied = 0;
}

/* Pending data after a sync: what is left of the pass united with what was
 * dirtied, pages drawn at random from the same universe. */
static double sim_pending(const sim *s)
{
    double universe = s->iteration <= 1 ? s->p.ram_bytes : s->p.working_set_bytes;
    double a = s->pass_remaining, b = floor(s->dirtied / SIM_PAGE_SIZE) * SIM_PAGE_SIZE;
    double u = a + b - (universe > 0 ? a * b / universe : 0);

    return fmax(a, fmin(u, s->p.ram_bytes));
}

/* The switch-over test at a bitmap sync: either the guest stops and the
 * migration completes, or pending data becomes the next pass (a boundary). */
static void sim_sync(sim *s)
{
    double rate = sim_rate(s);
    double threshold = rate * s->downtime_ms / 1000.0;
    double pending = sim_pending(s);

    s->period_dirtied += floor(s->dirtied / SIM_PAGE_SIZE) * SIM_PAGE_SIZE;
    s->dirtied = 0;
    if (pending <= threshold) {
        s->downtime_ms_real = pending / rate * 1000.0 + SIM_SWITCHOVER_MS;
        s->now += s->downtime_ms_real / 1000.0;
        s->mem_sent += pending;
        s->pass_remaining = 0;
        sim_finish(s, SIM_COMPLETED);
        return;
    }
    s->pass_remaining = pending;
    s->iteration++;
    sim_period_check(s);
}

/* Advances pre-copy by at most h, stopping at a sync. */
static void sim_precopy(sim *s, double h, bool *synced)
{
    double rate = sim_rate(s);
    double threshold = rate * s->downtime_ms / 1000.0;
    double to_test = (s->pass_remaining - threshold) / rate;

    if (to_test <= 0) {
        sim_sync(s);
        *synced = true;
        return;
    }
    double step = fmin(h, to_test);
    s->pass_remaining -= rate * step;
    s->mem_sent += rate * step;
    s->period_sent += rate * step;
    sim_dirty(s, step);
    s->now += step;
    if (step >= to_test) {
        s->pass_remaining = threshold;
        sim_sync(s);
        *synced = true;
    }
}

static void sim_postcopy(sim *s, double h)
{
    double rate = sim_rate(s);
    double left = s->pass_remaining / rate;
    double step = fmin(h, left);
    double w = s->p.working_set_bytes;

    /* Working-set pages go first; the guest's loss is the missing share of
     * its working set, integrated over the step (linear fall). */
    if (w > 0 && s->ws_missing > 0) {
        double ws_step = fmin(step, s->ws_missing / rate);
        double m0 = s->ws_missing, m1 = m0 - rate * ws_step;
        s->guest_stall_s += (m0 + m1) / 2.0 / w * ws_step;
        s->ws_missing = m1 > 0 ? m1 : 0;
    }
    s->pass_remaining -= rate * step;
    s->mem_sent += rate * step;
    s->now += step;
    if (step >= left) {
        s->pass_remaining = 0;
        sim_finish(s, SIM_COMPLETED);
    }
}

double sim_advance(sim *s, double dt)
{
    double t0 = s->now;

    while (sim_active(s) && s->now - t0 < dt) {
        double h = dt - (s->now - t0);
        double before = s->now;
        bool synced = false;

        if (s->state == SIM_DISK) {
            double rate = sim_rate(s);
            double step = fmin(h, s->disk_remaining / rate);
            s->disk_remaining -= rate * step;
            s->disk_sent += rate * step;
            s->now += step;
            if (s->disk_remaining <= 0) {
                /* Disks are in sync: memory starts, and that is a boundary. */
                s->disk_remaining = 0;
                s->state = SIM_PRECOPY;
                s->iteration = 1;
                s->pass_remaining = s->p.ram_bytes;
                s->period_start = s->now;
                break;
            }
        } else if (s->state == SIM_PRECOPY) {
            sim_precopy(s, h, &synced);
            if (synced)
                break;
        } else {
            sim_postcopy(s, h);
        }
        /* What is left of dt can be below the resolution of now: a step
         * that does not move the clock would repeat forever. */
        if (s->now <= before && sim_active(s))
            break;
    }
    return s->now - t0;
}

void sim_sample(const sim *s, policy_sample *out)
{
    memset(out, 0, sizeof *out);
    out->elapsed_s = s->now;
    out->iteration = s->iteration;
    out->mem_total = (uint64_t)s->p.ram_bytes;
    out->mem_processed = (uint64_t)s->mem_sent;
    out->mem_remaining = (uint64_t)(s->state == SIM_DISK ? s->p.ram_bytes : s->pass_remaining);
    out->disk_total = (uint64_t)s->p.disk_bytes;
    out->disk_processed = (uint64_t)s->disk_sent;
    out->disk_remaining = (uint64_t)s->disk_remaining;
    out->transfer_rate = sim_active(s) ? sim_rate(s) : 0;
    out->dirty_rate = s->dirty_rate_seen;
    out->post_copy = s->state == SIM_POSTCOPY;
}

int sim_set_downtime(sim *s, uint32_t ms)
{
    if (!sim_active(s))
        return -1;
    s->downtime_ms = ms;
    return 0;
}

int sim_set_bandwidth(sim *s, double bytes_per_s)
{
    if (!sim_active(s) || bytes_per_s < 0)
        return -1;
    s->p.bandwidth_limit = bytes_per_s;
    return 0;
}

int sim_set_link_rate(sim *s, double bytes_per_s)
{
    if (!sim_active(s) || !(bytes_per_s > 0))
        return -1;
    s->p.link_rate = bytes_per_s;
    return 0;
}

int sim_set_dirty_rate(sim *s, double bytes_per_s)
{
    if (!sim_active(s) || !(bytes_per_s >= 0) || !isfinite(bytes_per_s))
        return -1;
    s->p.dirty_rate = bytes_per_s;
    return 0;
}

int sim_start_post_copy(sim *s)
{
    if (s->state != SIM_PRECOPY || !s->p.permit_post_copy)
        return -1;
    double rate = sim_rate(s);
    double pending = sim_pending(s);
    double bitmap = s->p.ram_bytes / SIM_PAGE_SIZE / 8.0;

    /* The source stops, sends the final bitmap and device state, and the
     * guest resumes on the destination: that stop is post-copy's downtime. */
    s->downtime_ms_real = SIM_SWITCHOVER_MS + bitmap / rate * 1000.0;
    s->now += s->downtime_ms_real / 1000.0;
    s->mem_sent += bitmap;
    s->pass_remaining = pending;
    s->dirtied = 0;
    /* After pass 1 pending pages are working-set pages; during it they are
     * spread over RAM like the working set. */
    double w = s->p.working_set_bytes;
    s->ws_missing = s->iteration <= 1 ? pending * (w / s->p.ram_bytes) : fmin(w, pending);
    if (s->paused) {
        s->paused_total += s->now - s->paused_since;
        s->paused = false;
    }
    s->throttle = 0;
    s->state = SIM_POSTCOPY;
    s->postcopy_start = s->now;
    return 0;
}

int sim_pause(sim *s)
{
    if (!sim_active(s) || s->state == SIM_POSTCOPY || s->paused)
        return -1;
    s->paused = true;
    s->paused_since = s->now;
    return 0;
}

int sim_resume(sim *s)
{
    if (!s->paused)
        return -1;
    s->paused_total += s->now - s->paused_since;
    s->paused = false;
    return 0;
}

int sim_abort(sim *s)
{
    if (s->state != SIM_DISK && s->state != SIM_PRECOPY)
        return -1;
    sim_finish(s, SIM_CANCELLED);
    return 0;
}

int sim_apply(sim *s, const policy_action *a)
{
    switch (a->kind) {
    case POLICY_ACT_NONE: return 0;
    case POLICY_ACT_SET_DOWNTIME: return sim_set_downtime(s, a->downtime_ms);
    case POLICY_ACT_POST_COPY: return sim_start_post_copy(s);
    case POLICY_ACT_PAUSE: return sim_pause(s);
    case POLICY_ACT_ABORT: return sim_abort(s);
    }
    return -1;
}

void sim_result_get(const sim *s, sim_result *r)
{
    memset(r, 0, sizeof *r);
    r->completed = s->state == SIM_COMPLETED;
    r->cancelled = s->state == SIM_CANCELLED;
    r->total_s = sim_active(s) ? s->now : s->end;
    double paused = s->paused_total + (s->paused ? s->now - s->paused_since : 0);
    r->downtime_ms = paused * 1000.0;
    if (r->completed && !s->stopped_while_paused)
        r->downtime_ms += s->downtime_ms_real;
    r->bytes_sent = s->mem_sent + s->disk_sent;
    if (s->state == SIM_POSTCOPY || (r->completed && s->postcopy_start > 0))
        r->postcopy_s = r->total_s - s->postcopy_start;
    r->guest_stall_s = s->guest_stall_s;
    r->guest_impact_s = s->guest_stall_s + r->downtime_ms / 1000.0;
    r->iterations = s->iteration;
    r->max_throttle = s->throttle;
}

void sim_drive(const sim_params *p, double interval_s, double max_s, sim_decide_fn decide,
               void *dctx, sim_action_cb cb, void *ctx, sim_result *r)
{
    sim s;
    double next_tick = interval_s;
    uint32_t seen_iteration;

    sim_init(&s, p);
    seen_iteration = s.iteration;
    while (sim_active(&s) && s.now < max_s) {
        sim_advance(&s, fmin(next_tick, max_s) - s.now);
        if (!sim_active(&s))
            break;
        /* Sample on the timer and at each iteration boundary, like the
         * daemon's monitor reacting to MIGRATION_ITERATION events. */
        bool tick = s.now >= next_tick - 1e-9;
        if (tick)
            next_tick += interval_s;
        if (!tick && s.iteration == seen_iteration)
            continue;
        seen_iteration = s.iteration;

        policy_sample sample;
        sim_sample(&s, &sample);
        policy_action a = decide(dctx, &sample);
        if (a.kind != POLICY_ACT_NONE) {
            sim_apply(&s, &a);
            if (cb)
                cb(ctx, &s, &a);
        }
    }
    if (sim_active(&s) && s.state != SIM_POSTCOPY)
        sim_abort(&s);
    sim_result_get(&s, r);
}

static policy_action sim_policy_decide(void *dctx, const policy_sample *s)
{
    return policy_step_sample(dctx, s);
}

void sim_run(const sim_params *p, const policy_settings *ps, double interval_s, double max_s,
             sim_action_cb cb, void *ctx, sim_result *r)
{
    policy pol;

    policy_init(&pol, ps);
    sim_drive(p, interval_s, max_s, sim_policy_decide, &pol, cb, ctx, r);
}
