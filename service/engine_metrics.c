/* engine_metrics.c - the counters and histograms behind md_engine_metrics().
 *
 * DESIGN
 * ------
 * The counters live in the engine (e->counters) and change under its lock,
 * at the places where what they count happens: vtransition() (engine.c), the
 * one place a state changes, calls eng_metrics_transition() for the ends of
 * migrations and of post-copy recoveries; the monitor counts the policy's
 * actions once the hypervisor has carried them out; the request functions
 * count the commands they accept; the drain files count each drain's end
 * where they set its final state. So a counter can never disagree with the
 * state changes the store records, and reading them is a copy under the
 * lock (md_engine_metrics), never a query of the store.
 *
 * They count from the engine's start, not from the store's history:
 * Prometheus's rate() and increase() expect a counter to reset when a
 * process restarts, while a count rebuilt from records at start would go
 * down whenever service.keep_finished_days purges old ones (a reset all the
 * same, at a time nobody can tell), and would make every start read the
 * whole history.
 *
 * The histograms' buckets are fixed here, where the numbers' meaning is
 * known; each bound list says why it is what it is.
 */
#include <stdlib.h>
#include <string.h>

#include "service/engine_priv.h"

/* Migration durations, seconds, from creation to the final state. A small
 * or idle guest (and the simulator's) finishes in seconds, and a migration
 * cancelled while queued in well under one; a guest of a few GiB on a
 * 10 Gb/s link takes tens of seconds to minutes; Nova's completion timeout
 * (800 s per GiB by default) lets a large, busy guest run for hours, so the
 * buckets go on doubling up to 4 h, and what is longer is +Inf. */
static const double duration_bounds[] = { 1,   5,    10,   30,   60,   120,  300,
                                          600, 1200, 1800, 3600, 7200, 14400 };

/* Guest downtime, seconds. The policy's target is live_migration_downtime
 * (500 ms by default, at least 100 ms), reached in steps: the buckets are
 * finest from 100 ms to 1 s, so that "within the target" and "missed it"
 * fall in different buckets for any target an operator sets there. A
 * post-copy switch-over pauses the guest for tens of milliseconds (the
 * lowest buckets); a force-complete that pauses the guest, or a slow
 * destination, gives seconds (the highest). */
static const double downtime_bounds[] = { 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5,
                                          0.75, 1,     2,    5,   10,  30 };

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(NELEMS(duration_bounds) <= MD_ENGINE_MAX_BUCKETS, "too many duration buckets");
_Static_assert(NELEMS(downtime_bounds) <= MD_ENGINE_MAX_BUCKETS, "too many downtime buckets");

static const char *const op_names[MD_ENGINE_NOPS] = {
    "abort", "force_complete", "post_copy", "recover", "settings",
};

static const char *const outcome_names[MD_ENGINE_NRECOVERY_OUTCOMES] = {
    "resumed",
    "completed",
    "error",
    "other",
};

const char *md_engine_op_str(md_engine_op op)
{
    return (unsigned)op < MD_ENGINE_NOPS ? op_names[op] : "unknown";
}

const char *md_engine_recovery_outcome_str(md_engine_recovery_outcome o)
{
    return (unsigned)o < MD_ENGINE_NRECOVERY_OUTCOMES ? outcome_names[o] : "unknown";
}

static void histogram_init(md_engine_histogram *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = n;
}

/* Adds one observation (seconds; a negative one, from a wall clock set
 * back, counts as 0). */
static void histogram_observe(md_engine_histogram *h, double v)
{
    size_t i = 0;

    if (v < 0)
        v = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void eng_metrics_init(md_engine *e)
{
    md_engine_counters *c = &e->counters;

    memset(c, 0, sizeof *c);
    c->started_at = eng_wall_ms();
    for (int s = 0; s < MD_MIG_NSTATES; s++)
        histogram_init(&c->duration[s], duration_bounds, NELEMS(duration_bounds));
    histogram_init(&c->downtime, downtime_bounds, NELEMS(downtime_bounds));
}

void eng_metrics_transition(md_engine *e, const active *a, md_mig_state from)
{
    md_engine_counters *c = &e->counters;
    const md_migration *r = &a->rec;
    md_mig_state to = r->state;

    if (to == MD_MIG_POSTCOPY_RECOVERING && from != MD_MIG_POSTCOPY_RECOVERING)
        c->recoveries_started++;
    if (from == MD_MIG_POSTCOPY_RECOVERING && to != MD_MIG_POSTCOPY_RECOVERING) {
        md_engine_recovery_outcome o = to == MD_MIG_POSTCOPY    ? MD_ENGINE_RECOVERY_RESUMED
                                       : to == MD_MIG_COMPLETED ? MD_ENGINE_RECOVERY_COMPLETED
                                       : to == MD_MIG_ERROR     ? MD_ENGINE_RECOVERY_ERROR
                                                                : MD_ENGINE_RECOVERY_OTHER;
        c->recoveries_ended[o]++;
    }
    if (md_mig_state_in_progress(to))
        return;
    c->ended[to]++;
    /* Wall time, as the record keeps it: a migration that an earlier run
     * started and this one ended is measured from its real creation. */
    histogram_observe(&c->duration[to], (double)(r->updated_at - r->created_at) / 1000.0);
    /* A downtime not known at the end is counted when it comes
     * (eng_metrics_late_downtime), so that each migration counts once. */
    if (to == MD_MIG_COMPLETED && r->downtime_ms >= 0)
        histogram_observe(&c->downtime, (double)r->downtime_ms / 1000.0);
}

void eng_metrics_late_downtime(md_engine *e, const active *a)
{
    if (a->rec.state == MD_MIG_COMPLETED && a->rec.downtime_ms >= 0)
        histogram_observe(&e->counters.downtime, (double)a->rec.downtime_ms / 1000.0);
}

void eng_metrics_drain_ended(md_engine *e, md_drain_state to)
{
    if ((unsigned)to < MD_DRAIN_NSTATES && !md_drain_state_in_progress(to))
        e->counters.drains_ended[to]++;
}

md_status md_engine_metrics(md_engine *e, md_engine_snapshot *out, md_err *err)
{
    memset(out, 0, sizeof *out);
    md_engine_get_health(e, &out->health);

    pthread_mutex_lock(&e->lock);
    /* Allocated under the lock, where the count is known; a few KiB per
     * migration in progress, and the lock is held for the copy alone. */
    if (e->nact) {
        out->migrations = malloc(e->nact * sizeof *out->migrations);
        if (!out->migrations) {
            pthread_mutex_unlock(&e->lock);
            return md_err_set(err, MD_ERR_NOMEM, "out of memory for the metrics' snapshot");
        }
        for (size_t i = 0; i < e->nact; i++)
            out->migrations[i] = e->act[i]->rec;
        out->nmigrations = e->nact;
    }
    out->counters = e->counters;
    out->queued = e->queue.n;
    out->running = e->nact - e->queue.n;
    out->draining = eng_drain_metrics(e, &out->drain);
    pthread_mutex_unlock(&e->lock);
    return MD_OK;
}

void md_engine_snapshot_clear(md_engine_snapshot *m)
{
    if (!m)
        return;
    free(m->migrations);
    memset(m, 0, sizeof *m);
}
