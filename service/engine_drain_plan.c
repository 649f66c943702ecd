/* engine_drain_plan.c - a drain's measurements and plans, on the drain thread.
 *
 * Planning needs what only the hypervisor can tell: each guest's dirty rate
 * (a calculation over DIRTY_WINDOW_S of the guest's life, all guests at
 * once) and each destination's free memory (a question to the
 * destination). Both block, so they run without the engine lock, on copies
 * of what they need; the results are applied only if the drain is still
 * the one that was measured, still planning, and the engine not stopping.
 * plan_make() runs without the lock too (it is pure, but not instant).
 *
 * What cannot be measured is said, never guessed silently: a dirty rate
 * that does not come within DIRTY_GIVE_UP_MS is taken as 0 (an idle guest)
 * and named in the "measure" event; a destination that does not answer is
 * left out of the plan ("dest_dropped"); a link without a configured
 * bandwidth is measured from this drain's completed migrations, or assumed
 * to be 1 Gbit/s, and the plan's event says which.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/engine_drain.h"
#include "service/clock.h"
#include "service/log.h"
#include "service/peers.h"

/* The dirty-rate window (seconds of the guest's life, as libvirt takes
 * it), how often its result is asked for, and when to stop waiting for
 * it: long enough for a loaded host, short beside any deadline. */
#define DIRTY_WINDOW_S 1
#define DIRTY_POLL_MS 200
#define DIRTY_GIVE_UP_MS 10000
/* The link assumed when nothing better is known: 1 Gbit/s, the slowest
 * link a migration network is likely to have, so that a plan errs on the
 * safe side. */
#define ASSUMED_LINK_BYTES_PER_S (1e9 / 8.0)
#define MIB 1048576.0
#define GIB (1024.0 * MIB)

typedef enum dp_result {
    DP_OK = 0, /* planned: the guests and the record say the new plan */
    DP_EMPTY,  /* nothing to plan: no guest waits or migrates to a destination of the drain */
    DP_NODEST, /* every destination is left out */
    DP_ERROR,  /* the planner refused its input (a bug: logged) */
    DP_GONE,   /* the drain ended or was replaced meanwhile, or the engine stops */
} dp_result;

/* The drain's migrations at once: its request's, else the service's, and
 * never more than the workers (a started migration must not queue) nor
 * the planner's limit. */
static unsigned max_parallel(const md_engine *e, const eng_drain *dr)
{
    size_t n = dr->d.max_parallel > 0 ? (size_t)dr->d.max_parallel
                                      : (size_t)e->cfg->service.max_concurrent_live_migrations;

    if (n > e->nworkers)
        n = e->nworkers;
    if (n > PLAN_MAX_PARALLEL)
        n = PLAN_MAX_PARALLEL;
    return n ? (unsigned)n : 1;
}

/* engine_drain.h says why drains scale the simulator's time. */
double eng_drain_time_scale(const md_engine *e)
{
    if (e->cfg->service.hypervisor == MD_HYPERVISOR_SIMULATOR && e->cfg->simulator.time_scale > 0)
        return e->cfg->simulator.time_scale;
    return 1.0;
}

/* Destination i's link in bytes/s, and where the number comes from. */
static double link_rate(const md_engine *e, const eng_drain *dr, size_t i, const char **src)
{
    const md_config_peer *p = md_peers_find(e->cfg, dr->d.dests[i]);

    if (p && p->bandwidth_mibps > 0) {
        *src = "configured";
        return p->bandwidth_mibps * MIB;
    }
    if (dr->moved_bytes[i] > 0 && dr->last_end[i] > dr->first_start[i]) {
        *src = "measured";
        return (double)dr->moved_bytes[i] * 1000.0 /
               ((double)(dr->last_end[i] - dr->first_start[i]) * eng_drain_time_scale(e));
    }
    *src = "assumed 1 Gbit/s";
    return ASSUMED_LINK_BYTES_PER_S;
}

/* "node-b 1024 MiB/s (configured), node-c 119 MiB/s (assumed 1 Gbit/s)". */
static void links_text(const md_engine *e, const eng_drain *dr, char *out, size_t outlen)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < dr->d.ndests && len + 1 < outlen; i++) {
        const char *src;
        double rate = link_rate(e, dr, i, &src);
        len += (size_t)snprintf(out + len, outlen - len, "%s%s %.0f MiB/s (%s%s)", i ? ", " : "",
                                dr->d.dests[i], rate / MIB, src,
                                dr->dest_down[i] ? ", left out" : "");
    }
}

/* Destination i's free memory less what this drain has moved there since
 * it was measured; 0 = unknown (no limit). */
static double free_left(const eng_drain *dr, size_t i)
{
    double left = (double)dr->free_bytes[i];

    if (dr->free_bytes[i] == 0)
        return 0;
    for (size_t j = 0; j < dr->d.nguests; j++) {
        const md_drain_guest *g = &dr->d.guests[j];
        if (g->state == MD_DG_DONE && strcasecmp(g->dest_compute, dr->d.dests[i]) == 0)
            left -= (double)g->ram_bytes;
    }
    return left > 1 ? left : 1; /* full, but known: 0 would mean unknown */
}

/* Plans every waiting guest again, with the migrating ones pinned (see
 * dp_result). Under the lock, which it releases while plan_make() runs. */
static dp_result drain_plan(md_engine *e, eng_drain *dr, plan_result *res)
{
    md_drain *d = &dr->d;
    plan_dest pd[MD_DRAIN_MAX_DESTS];
    int dmap[MD_DRAIN_MAX_DESTS], pof[MD_DRAIN_MAX_DESTS];
    size_t nd = 0, ng = 0;
    int64_t now = eng_wall_ms();
    double scale = eng_drain_time_scale(e);
    char uuid[MD_UUID_LEN];
    dp_result r = DP_OK;
    int rc;

    for (size_t i = 0; i < d->ndests; i++) {
        const char *src;
        pof[i] = -1;
        if (dr->dest_down[i])
            continue;
        pd[nd].link_rate = link_rate(e, dr, i, &src);
        pd[nd].free_bytes = free_left(dr, i);
        dmap[nd] = (int)i;
        pof[i] = (int)nd++;
    }
    if (nd == 0)
        return DP_NODEST;
    plan_guest *pg = calloc(d->nguests ? d->nguests : 1, sizeof *pg);
    size_t *gi = calloc(d->nguests ? d->nguests : 1, sizeof *gi);
    int *forced = calloc(d->nguests ? d->nguests : 1, sizeof *forced);
    if (!pg || !gi || !forced) {
        md_error("drain %s: out of memory for a plan of %zu guests", d->uuid, d->nguests);
        r = DP_ERROR;
        goto cleanup;
    }
    for (size_t i = 0; i < d->nguests; i++) {
        const md_drain_guest *g = &d->guests[i];
        int k = eng_drain_dest_index(dr, g->dest_compute);
        plan_guest *p = &pg[ng];
        if (g->state != MD_DG_WAITING && g->state != MD_DG_MIGRATING)
            continue;
        if (g->state == MD_DG_MIGRATING && (k < 0 || pof[k] < 0))
            continue; /* not on a link this drain plans */
        p->ram_bytes = (double)g->ram_bytes;
        p->dirty_rate = (double)g->dirty_rate;
        p->disk_bytes = (double)g->disk_bytes;
        /* A retried guest goes where its retry was decided: not back to
         * the destination that failed it. */
        forced[ng] = g->state == MD_DG_WAITING && g->attempts > 0 && k >= 0 ? pof[k] : -1;
        if (g->state == MD_DG_MIGRATING) {
            p->pinned = true;
            p->pinned_dest = pof[k];
            p->pinned_mode = g->mode;
            p->pinned_start_s = g->started_at > 0 && g->started_at < now
                                    ? -(double)(now - g->started_at) / 1000.0 * scale
                                    : 0;
        }
        gi[ng++] = i;
    }
    if (ng == 0) {
        r = DP_EMPTY;
        goto cleanup;
    }

    plan_input in;
    memset(&in, 0, sizeof in);
    double left_s = (double)(d->deadline_at - now) / 1000.0;
    in.deadline_s = (left_s > 0.001 ? left_s : 0.001) * scale; /* passed: every plan misses it */
    in.permit_post_copy = d->permit_post_copy;
    in.max_parallel = max_parallel(e, dr);
    in.interval_s = e->cfg->libvirt.live_migration_monitor_interval_ms / 1000.0 * scale;
    md_config_policy_settings(e->cfg, 0, &in.policy);
    md_strlcpy(uuid, d->uuid, sizeof uuid);

    pthread_mutex_unlock(&e->lock);
    rc = plan_make(&in, pg, ng, pd, nd, res);
    bool moved = false;
    for (size_t j = 0; rc == 0 && j < ng; j++) {
        if (forced[j] >= 0 && !pg[j].pinned && pg[j].dest != forced[j]) {
            pg[j].dest = forced[j];
            moved = true;
        }
    }
    if (moved)
        rc = plan_simulate(&in, pg, ng, pd, nd, res->parallel, res);
    pthread_mutex_lock(&e->lock);

    if (e->stopping || eng_drain_current(e, uuid) != dr || !md_drain_state_in_progress(d->state)) {
        r = DP_GONE;
        goto cleanup;
    }
    if (rc != 0) {
        md_error("drain %s: the planner refused %zu guests on %zu destinations (a bug)", d->uuid,
                 ng, nd);
        r = DP_ERROR;
        goto cleanup;
    }
    for (size_t j = 0; j < ng; j++) {
        md_drain_guest *g = &d->guests[gi[j]];
        if (pg[j].pinned || g->state != MD_DG_WAITING)
            continue; /* a cancel may have skipped it meanwhile */
        if (pg[j].dest < 0) {
            g->state = MD_DG_FAILED;
            g->ended_at = now;
            snprintf(g->error, sizeof g->error,
                     "no destination has room for its %.1f GiB of RAM (free memory)",
                     (double)g->ram_bytes / GIB);
            eng_drain_event(e, dr, "guest", 0, "%s stays here: %s", g->instance_name, g->error);
            continue;
        }
        md_strlcpy(g->dest_compute, d->dests[dmap[pg[j].dest]], sizeof g->dest_compute);
        g->mode = pg[j].mode;
        g->order = pg[j].order;
        g->predicted_ms = (int64_t)(pg[j].duration_s * 1000.0 / scale);
    }
    /* From here on the plan speaks wall-clock seconds, as the drain's
     * deadline, its records and its events do. */
    if (scale != 1.0) {
        size_t len = strlen(res->summary);
        snprintf(res->summary + len, sizeof res->summary - len,
                 " (in the simulator's seconds, %g to a wall-clock second)", scale);
        res->makespan_s /= scale;
        res->lower_bound_s /= scale;
    }
    d->feasible = res->feasible;
    d->parallel = (int)res->parallel;
    d->predicted_end_at = now + (int64_t)(res->makespan_s * 1000.0);
cleanup:
    free(pg);
    free(gi);
    free(forced);
    return r;
}

/* Fails every guest still waiting, for why. */
static void fail_waiting(md_engine *e, eng_drain *dr, md_drain_guest_state to, const char *why)
{
    for (size_t i = 0; i < dr->d.nguests; i++) {
        md_drain_guest *g = &dr->d.guests[i];
        if (g->state == MD_DG_WAITING) {
            g->state = to;
            md_strlcpy(g->error, why, sizeof g->error);
        }
    }
    (void)e;
}

bool eng_drain_replan(md_engine *e, eng_drain *dr)
{
    char note[MD_MESSAGE_LEN];
    plan_result res;
    md_drain_counts c;

    md_strlcpy(note, dr->ended_note[0] ? dr->ended_note : "re-planned after a restart",
               sizeof note);
    dr->ended_note[0] = '\0';
    switch (drain_plan(e, dr, &res)) {
    case DP_GONE: return false;
    case DP_EMPTY: return true;
    case DP_ERROR:
        eng_drain_event(e, dr, "replan", 0,
                        "%s; the planner refused to plan again (a bug); the "
                        "last plan stands",
                        note);
        return true;
    case DP_NODEST:
        fail_waiting(e, dr, MD_DG_FAILED, "every destination of the drain is left out");
        eng_drain_event(e, dr, "replan", 0,
                        "%s; every destination is left out: the guests still waiting stay", note);
        return true;
    case DP_OK: break;
    }
    md_drain_count(&dr->d, &c);
    double left_s = (double)(dr->d.deadline_at - eng_wall_ms()) / 1000.0;
    eng_drain_event(e, dr, "replan", (int64_t)(res.makespan_s * 1000.0),
                    "%s; %zu to go: predicted end in %.0f s, deadline in %.0f s (%s); %s", note,
                    c.remaining, res.makespan_s, left_s, res.feasible ? "met" : "missed",
                    res.summary);
    return true;
}

/* ---- measuring (without the lock) ------------------------------------------------- */

/* Waits ms, then says whether drain uuid still wants its measurements: the
 * engine is not stopping and it is still planning. Takes the lock. */
static bool still_planning(md_engine *e, const char *uuid, int ms)
{
    bool ok;

    pthread_mutex_lock(&e->lock);
    if (ms > 0 && !e->stopping) {
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, ms);
        pthread_cond_timedwait(&e->changed, &e->lock, &until);
    }
    eng_drain *dr = eng_drain_current(e, uuid);
    ok = !e->stopping && dr && dr->d.state == MD_DRAIN_PLANNING;
    pthread_mutex_unlock(&e->lock);
    return ok;
}

/* What the measurements need and bring, copied out of the drain. */
typedef struct measure {
    char uuid[MD_UUID_LEN];
    size_t ng, nd;
    char (*guest)[MD_UUID_LEN]; /* "" = not measured (already migrating) */
    uint64_t *rate;
    bool *known;
    char (*why)[160]; /* why a rate is unknown */
    char uri[MD_DRAIN_MAX_DESTS][600];
    uint64_t free[MD_DRAIN_MAX_DESTS];
    bool reached[MD_DRAIN_MAX_DESTS];
    char unreached[MD_DRAIN_MAX_DESTS][200];
} measure;

static void measure_free_all(measure *m)
{
    free(m->guest);
    free(m->rate);
    free(m->known);
    free(m->why);
    free(m);
}

/* Every guest's dirty rate, all at once: start each calculation, then ask
 * until each is measured or DIRTY_GIVE_UP_MS have passed. False when the
 * drain no longer wants them. */
static bool measure_dirty(md_engine *e, measure *m)
{
    bool *asked = calloc(m->ng ? m->ng : 1, sizeof *asked);
    int64_t give_up = eng_mono_ms() + DIRTY_GIVE_UP_MS;
    md_hv_dirty_rate rd;
    md_err err;
    bool ok = true;

    if (!asked)
        return true; /* every rate unknown: said in the event */
    for (size_t i = 0; i < m->ng; i++) {
        if (!m->guest[i][0])
            continue;
        md_status st = md_hv_dirty_rate_start(e->hv, m->guest[i], DIRTY_WINDOW_S, &err);
        /* One already running (another tool's) gives a result all the same. */
        asked[i] = st == MD_OK || st == MD_ERR_CONFLICT;
        if (!asked[i])
            md_strlcpy(m->why[i], err.msg, sizeof m->why[i]);
    }
    for (;;) {
        bool waiting = false;
        for (size_t i = 0; i < m->ng; i++) {
            if (!asked[i] || m->known[i])
                continue;
            md_status st = md_hv_dirty_rate_read(e->hv, m->guest[i], &rd, &err);
            if (st == MD_OK && rd.measured) {
                m->known[i] = true;
                m->rate[i] = rd.bytes_per_s;
            } else if (st == MD_OK) {
                waiting = true;
            } else {
                asked[i] = false;
                md_strlcpy(m->why[i], err.msg, sizeof m->why[i]);
            }
        }
        if (!waiting)
            break;
        if (eng_mono_ms() >= give_up) {
            for (size_t i = 0; i < m->ng; i++) {
                if (asked[i] && !m->known[i])
                    snprintf(m->why[i], sizeof m->why[i], "no result within %d s",
                             DIRTY_GIVE_UP_MS / 1000);
            }
            break;
        }
        if (!(ok = still_planning(e, m->uuid, DIRTY_POLL_MS)))
            break;
    }
    free(asked);
    return ok;
}

/* Each destination's free memory. False when the drain no longer wants
 * them. */
static bool measure_dests(md_engine *e, measure *m)
{
    md_err err;

    for (size_t i = 0; i < m->nd; i++) {
        if (!still_planning(e, m->uuid, 0))
            return false;
        m->reached[i] = md_hv_free_memory(e->hv, m->uri[i], &m->free[i], &err) == MD_OK;
        if (!m->reached[i])
            md_strlcpy(m->unreached[i], err.msg, sizeof m->unreached[i]);
    }
    return true;
}

/* Copies what the measurements need out of dr. NULL when memory is
 * short. */
static measure *measure_new(md_engine *e, eng_drain *dr)
{
    size_t n = dr->d.nguests ? dr->d.nguests : 1;
    measure *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    m->guest = calloc(n, sizeof *m->guest);
    m->rate = calloc(n, sizeof *m->rate);
    m->known = calloc(n, sizeof *m->known);
    m->why = calloc(n, sizeof *m->why);
    if (!m->guest || !m->rate || !m->known || !m->why) {
        measure_free_all(m);
        return NULL;
    }
    md_strlcpy(m->uuid, dr->d.uuid, sizeof m->uuid);
    m->ng = dr->d.nguests;
    m->nd = dr->d.ndests;
    for (size_t i = 0; i < m->ng; i++) {
        if (dr->d.guests[i].state == MD_DG_WAITING)
            md_strlcpy(m->guest[i], dr->d.guests[i].instance_uuid, sizeof m->guest[i]);
    }
    for (size_t i = 0; i < m->nd; i++)
        eng_dest_uri(e, dr->d.dests[i], m->uri[i], sizeof m->uri[i]);
    return m;
}

/* Takes the destinations' free memory into dr and tells it. False when
 * no destination answered. */
static bool apply_dests(md_engine *e, eng_drain *dr, const measure *m)
{
    char text[400];
    size_t reached = 0, len = 0;

    text[0] = '\0';
    for (size_t i = 0; i < m->nd; i++) {
        dr->free_bytes[i] = m->reached[i] ? m->free[i] : 0;
        dr->dest_down[i] = !m->reached[i];
        reached += m->reached[i];
        if (!m->reached[i])
            eng_drain_event(e, dr, "dest_dropped", 0,
                            "%s does not answer (%s): left out of the plan", dr->d.dests[i],
                            m->unreached[i]);
        else if (len + 1 < sizeof text)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s %.1f GiB", len ? ", " : "",
                                    dr->d.dests[i], (double)m->free[i] / GIB);
    }
    if (reached)
        eng_drain_event(e, dr, "measure", (int64_t)reached, "free memory: %s", text);
    return reached > 0;
}

/* Takes the guests' dirty rates into dr and tells them. */
static void apply_rates(md_engine *e, eng_drain *dr, const measure *m)
{
    char unknown[300] = "";
    size_t nknown = 0, nasked = 0, len = 0;
    const md_drain_guest *busiest = NULL;

    for (size_t i = 0; i < m->ng; i++) {
        md_drain_guest *g = &dr->d.guests[i];
        if (!m->guest[i][0] || g->state != MD_DG_WAITING)
            continue;
        nasked++;
        g->dirty_rate = m->known[i] ? m->rate[i] : 0;
        if (m->known[i]) {
            nknown++;
            if (!busiest || g->dirty_rate > busiest->dirty_rate)
                busiest = g;
        } else if (len + 1 < sizeof unknown) {
            len += (size_t)snprintf(unknown + len, sizeof unknown - len, "%s%s (%s)",
                                    len ? ", " : "", g->instance_name, m->why[i]);
        }
    }
    eng_drain_event(e, dr, "measure", (int64_t)nknown,
                    "dirty rates over %d s: %zu of %zu guests measured, the busiest %s at %.0f "
                    "MiB/s%s%s",
                    DIRTY_WINDOW_S, nknown, nasked, busiest ? busiest->instance_name : "none",
                    busiest ? (double)busiest->dirty_rate / MIB : 0.0,
                    nknown < nasked ? "; unknown, taken as 0 (idle): " : "", unknown);
}

/* Ends a drain that never started a guest of its own. */
static void fail_drain(md_engine *e, eng_drain *dr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_drain(md_engine *e, eng_drain *dr, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dr->d.error, sizeof dr->d.error, fmt, ap);
    va_end(ap);
    fail_waiting(e, dr, MD_DG_SKIPPED, "the drain failed before it started");
    /* A guest adopted with a migration someone else started is not the
     * drain's to end: the migration goes on, and its own record tells how
     * it ends. The ended drain no longer watches it, so it must not count
     * it as remaining for ever. */
    for (size_t i = 0; i < dr->d.nguests; i++) {
        md_drain_guest *g = &dr->d.guests[i];
        if (g->state == MD_DG_MIGRATING) {
            g->state = MD_DG_SKIPPED;
            snprintf(g->error, sizeof g->error,
                     "the drain failed while its migration %s was in progress; that migration "
                     "goes on, its record tells how it ends",
                     g->migration_uuid);
        }
    }
    dr->d.state = MD_DRAIN_FAILED;
    dr->d.ended_at = eng_wall_ms();
    eng_metrics_drain_ended(e, MD_DRAIN_FAILED);
    eng_drain_event(e, dr, "state", 0, "failed: %s", dr->d.error);
}

/* After a window without the lock: true when drain uuid (dr) is still the
 * one planning but a cancel came meanwhile. The caller then returns at
 * once, and the next look takes the cancel's way (eng_drain_planning's
 * start) rather than measuring, planning and announcing a schedule that
 * will never run - or failing a strict drain whose adopted guests still
 * migrate. */
static bool dr_cancelled_meanwhile(md_engine *e, eng_drain *dr, const char *uuid)
{
    return !e->stopping && eng_drain_current(e, uuid) == dr && dr->d.state == MD_DRAIN_PLANNING &&
           dr->cancel;
}

bool eng_drain_planning(md_engine *e, eng_drain *dr)
{
    char uuid[MD_UUID_LEN], links[300];
    plan_result res;
    bool ok;

    if (dr->cancel) {
        /* Cancelled while adopted guests migrate: nothing to plan, they
         * are watched until they end. */
        dr->d.state = MD_DRAIN_RUNNING;
        eng_drain_event(e, dr, "state", 0,
                        "running: cancelled before planning; watching the "
                        "migrations it adopted until they end");
        return true;
    }
    measure *m = measure_new(e, dr);
    if (!m) {
        md_error("drain %s: out of memory to measure its guests; trying again", dr->d.uuid);
        return false;
    }
    md_strlcpy(uuid, dr->d.uuid, sizeof uuid);
    /* The destinations first: one that does not answer is left out before
     * anything is planned on it. Then every guest at once. */
    pthread_mutex_unlock(&e->lock);
    ok = measure_dests(e, m);
    pthread_mutex_lock(&e->lock);
    if (!ok || e->stopping || eng_drain_current(e, uuid) != dr ||
        dr->d.state != MD_DRAIN_PLANNING || dr->cancel) {
        measure_free_all(m);
        return dr_cancelled_meanwhile(e, dr, uuid);
    }
    if (!apply_dests(e, dr, m)) {
        measure_free_all(m);
        fail_drain(e, dr, "no destination answers: %zu were asked for their free memory",
                   dr->d.ndests);
        return false;
    }
    pthread_mutex_unlock(&e->lock);
    ok = measure_dirty(e, m);
    pthread_mutex_lock(&e->lock);
    if (!ok || e->stopping || eng_drain_current(e, uuid) != dr ||
        dr->d.state != MD_DRAIN_PLANNING || dr->cancel) {
        measure_free_all(m);
        return dr_cancelled_meanwhile(e, dr, uuid);
    }
    apply_rates(e, dr, m);
    measure_free_all(m);
    dp_result planned = drain_plan(e, dr, &res);
    if (planned != DP_GONE && dr->cancel)
        return true; /* cancelled while it planned: see dr_cancelled_meanwhile */
    switch (planned) {
    case DP_GONE: return false;
    case DP_NODEST: fail_drain(e, dr, "no destination is left to plan on"); return false;
    case DP_ERROR: fail_drain(e, dr, "the planner refused the drain's input (a bug)"); return false;
    case DP_EMPTY:
        /* Every guest was adopted with a migration elsewhere: watch them. */
        dr->d.parallel = 1;
        res.feasible = true;
        res.makespan_s = 0;
        snprintf(res.summary, sizeof res.summary, "nothing to plan: every guest is migrating");
        break;
    case DP_OK: break;
    }
    links_text(e, dr, links, sizeof links);
    eng_drain_event(e, dr, "plan", (int64_t)(res.makespan_s * 1000.0), "%s; links: %s", res.summary,
                    links);
    double left_s = (double)(dr->d.deadline_at - eng_wall_ms()) / 1000.0;
    if (!res.feasible && dr->d.strict) {
        fail_drain(e, dr,
                   "strict: the plan misses the deadline (predicted end in %.0f s, deadline in "
                   "%.0f s): %s",
                   res.makespan_s, left_s, res.summary);
        return false;
    }
    if (!res.feasible)
        eng_drain_event(e, dr, "deadline", (int64_t)(res.makespan_s * 1000.0),
                        "the plan misses the deadline: predicted end in %.0f s, deadline in %.0f "
                        "s; going on (the drain is not strict)",
                        res.makespan_s, left_s);
    dr->d.state = MD_DRAIN_RUNNING;
    eng_drain_event(e, dr, "state", 0,
                    "running: %d migrations at once, predicted end in %.0f s, deadline in %.0f s",
                    dr->d.parallel, res.makespan_s, left_s);
    return true;
}
