/* hv_sim.c - the hypervisor boundary on the migration simulator, in scaled real time.
 *
 * DESIGN
 * ------
 * Each domain of the [simulator] section is a record here; a migration of
 * one is a policy/sim.h model run. A ticker thread wakes every TICK_MS,
 * advances every running job by the real time that passed times
 * time_scale, and turns what happened into the events libvirt would send:
 * one MIGRATION_ITERATION per pass, post-copy, JOB_COMPLETED with the final
 * statistics. migrate() waits on a condition variable until its job ends,
 * just as virDomainMigrateToURI3 blocks; release_waiters() wakes waiters
 * without ending their jobs, as a daemon stopping would leave libvirt's
 * jobs running.
 *
 * Like libvirt with VIR_MIGRATE_UNDEFINE_SOURCE, a completed migration
 * takes the domain off this node (lookup, list and job no longer find it)
 * and remembers it is at the destination (locate); a cancelled one leaves
 * it here.
 *
 * Each blocked migrate() call has a sim_wait on its own stack, which the
 * domain points to while the call owns the job. Whatever ends the wait (the
 * job's end, a post-copy break, a release) writes the call's outcome into
 * it and unhooks it, under the lock; the caller then returns that outcome
 * whenever its thread runs. So an outcome is never lost to a later call on
 * the same domain, and "a call owns the job" is exact when a resume asks.
 *
 * Post-copy faults (hv_sim.h) hold a job where it is: a broken (failed) or
 * stalled job, or any post-copy job while the destination is unreachable,
 * is not advanced; only its elapsed time grows (held_s). A broken job stays
 * a running job until a resume clears the failure and lets it move again.
 *
 * A black-holed destination (md_hv_sim_set_dest_blackholed) makes a
 * locate() that must ask it, or a first migrate() to it, wait as libvirt's
 * boundary waits for its reachability check (service/hv.h, "Other hosts"):
 * MD_HV_PEER_TIMEOUT_MS of real time, then it gives up; clearing the fault
 * or release_waiters() ends the wait sooner.
 *
 * Links. Each destination host has a link of its own: its peer's
 * bandwidth_mibps (the `peers` entry whose name or address is the host of
 * the destination URI) when the configuration gives one, else
 * simulator.link_mibps. Migrations running at once to one destination
 * share its link equally, as parallel TCP streams over one bottleneck
 * roughly do: before each step of the clock, each job that moves data to
 * it (running, not held by a fault) gets link / n of it as its sim's
 * link_rate, n the number of such jobs. A job's bandwidth cap still
 * applies to its share, and the share a capped job leaves unused is not
 * given to the others. Jobs to different
 * destinations do not meet: this node's own NIC is not modelled. The shares
 * are set anew at least every LINK_STEP_S simulated seconds, so that a job
 * that ends hands its share to the others within that step.
 *
 * Destinations also have free memory (md_hv_free_memory): simulator.free_mib,
 * or what a test set (md_hv_sim_set_free_memory), less the RAM of the
 * domains this simulator migrated there. A domain's dirty rate
 * (md_hv_dirty_rate_start/read) is what QEMU's page sampling would see
 * over the window: distinct pages written, min(dirty_mibps, working set /
 * window), known once the window has passed on the simulated clock. These
 * live in hv_sim_link.c, with locate() and the black-holed destinations;
 * hv_sim_priv.h holds the state both files share.
 *
 * One mutex guards everything. Events are collected while it is held and
 * delivered after it is released, so a handler may take its own locks
 * without ordering problems (it must still not call back into the boundary).
 */
#include "service/hv_sim.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "policy/sim.h"
#include "service/clock.h"
#include "service/hv_sim_priv.h"
#include "service/log.h"

#define TICK_MS 50

/* Jobs that share a link move in steps of at most this many simulated
 * seconds, each with the shares as they are at its start, so that a job
 * that ends gives its share back to the others within a step; at most
 * LINK_MAX_STEPS steps per clock step, which bounds the work of a fast
 * clock (a large time_scale) at the cost of coarser shares. */
#define LINK_STEP_S 0.1
#define LINK_MAX_STEPS 64

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Ends the wait of the migrate() call that owns d's job, if one does. */
void hvs_end_wait(hv_sim *h, sim_domain *d, md_status st, const char *msg)
{
    if (!d->wait)
        return;
    d->wait->done = true;
    d->wait->st = st;
    d->wait->msg = msg;
    d->wait = NULL;
    pthread_cond_broadcast(&h->job_done);
}

/* Adds an event for d; returns it, or NULL when it was dropped. */
static md_hv_event *push_event(event_buf *b, md_hv_event_kind kind, const sim_domain *d)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        md_hv_event *ev = realloc(b->ev, cap * sizeof *ev);
        if (!ev) {
            /* Losing an event only delays the engine to its next sample. */
            md_warn("simulator: out of memory, dropping an event");
            return NULL;
        }
        b->ev = ev;
        b->cap = cap;
    }
    md_hv_event *e = &b->ev[b->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    md_strlcpy(e->uuid, d->cfg.uuid, sizeof e->uuid);
    e->iteration = d->s.iteration;
    return e;
}

static void fill_job(const hv_sim *h, const sim_domain *d, md_hv_job *out)
{
    policy_sample x;
    sim_result r;

    memset(out, 0, sizeof *out);
    sim_sample(&d->s, &x);
    out->active = sim_active(&d->s);
    out->elapsed_ms = (int64_t)((d->s.now + d->held_s) * 1000.0);
    out->iteration = x.iteration;
    out->mem_total = x.mem_total;
    out->mem_processed = x.mem_processed;
    out->mem_remaining = x.mem_remaining;
    out->disk_total = x.disk_total;
    out->disk_processed = x.disk_processed;
    out->disk_remaining = x.disk_remaining;
    out->transfer_rate = (uint64_t)x.transfer_rate;
    out->dirty_rate = (uint64_t)x.dirty_rate;
    out->post_copy = x.post_copy;
    out->post_copy_failed = d->pc_failed;
    if (held(h, d))
        out->transfer_rate = 0;
    out->downtime_ms = -1;
    if (!out->active && d->s.state == SIM_COMPLETED) {
        sim_result_get(&d->s, &r);
        out->downtime_ms = (int64_t)(r.downtime_ms + 0.5);
    }
}

/* Notes what a job did since it was last looked at, as events. */
static void observe(sim_domain *d, event_buf *b)
{
    if (d->s.iteration != d->seen_iteration && sim_active(&d->s) && d->s.state == SIM_PRECOPY) {
        d->seen_iteration = d->s.iteration;
        push_event(b, MD_HV_EV_ITERATION, d);
    }
    if (d->s.state == SIM_POSTCOPY && !d->seen_post_copy) {
        d->seen_post_copy = true;
        push_event(b, MD_HV_EV_POSTCOPY, d);
    }
}

/* Ends a job that has finished: moves the domain if it completed. */
static void finish_if_ended(hv_sim *h, sim_domain *d, event_buf *b)
{
    if (sim_active(&d->s) || d->job_done)
        return;
    d->job_done = true;
    d->pc_failed = false;
    d->pc_stalled = false;
    if (d->s.state == SIM_COMPLETED) {
        d->here = false;
        d->at_dest = true;
        d->paused = false;
    }
    md_hv_event *e = push_event(b, MD_HV_EV_JOB_COMPLETED, d);
    if (e) {
        fill_job(h, d, &e->job);
        /* A test's late or lost event (md_hv_sim_set_completed_events). */
        if (h->completed_events != MD_HV_SIM_COMPLETED_DELIVER) {
            md_hv_event *kept = h->completed_events == MD_HV_SIM_COMPLETED_HOLD
                                    ? push_event(&h->held_completed, MD_HV_EV_JOB_COMPLETED, d)
                                    : NULL;
            if (kept)
                *kept = *e;
            b->n--;
        }
    }
    if (d->s.state == SIM_COMPLETED)
        hvs_end_wait(h, d, MD_OK, NULL);
    else
        hvs_end_wait(h, d, MD_ERR_HYPERVISOR, MSG_CANCELED);
    pthread_cond_broadcast(&h->job_done);
}

/* Breaks d's post-copy: the job stays, failed, and nothing moves until a
 * resume. A broken stream (a reset, or libvirt's keepalive closing the
 * connection between the daemons) ends the owning call at once. A job
 * forced into the failed state by abort-postcopy while the destination is
 * unreachable (held) ends it only once the destination can be reached
 * again (set_dest_reachable ends the wait), as FACTS.md measured. */
void hvs_break_post_copy(hv_sim *h, sim_domain *d, bool held_call, event_buf *b)
{
    d->pc_failed = true;
    d->pc_stalled = false;
    if (!(held_call && h->dest_unreachable))
        hvs_end_wait(h, d, MD_ERR_HYPERVISOR, MSG_POSTCOPY_FAILED);
    md_hv_event *e = push_event(b, MD_HV_EV_POSTCOPY_FAILED, d);
    if (e)
        fill_job(h, d, &e->job);
}

/* Advances one job by dt simulated seconds, stopping at each boundary so
 * that every pass gets its event. */
static void advance_job(hv_sim *h, sim_domain *d, double dt, event_buf *b)
{
    double left = dt;

    if (held(h, d)) {
        d->held_s += dt;
        return;
    }
    /* What happened since the last step comes first: a resumed post-copy
     * reports itself before a step that may complete it. */
    observe(d, b);
    while (left > 1e-12 && sim_active(&d->s)) {
        double used = sim_advance(&d->s, left);
        observe(d, b);
        if (used <= 0 && sim_active(&d->s) && d->s.iteration == d->seen_iteration)
            break; /* nothing moved and nothing to report: avoid spinning */
        left -= used;
    }
    finish_if_ended(h, d, b);
}

/* Moves the simulated clock by dt: every running job, in steps short
 * enough for the shares of a link to follow the jobs that start and end
 * (LINK_STEP_S), and the clock that dirty-rate measurements read. */
void hvs_advance_all(hv_sim *h, double dt, event_buf *b)
{
    int steps = 1;

    if (hvs_share_links(h) && dt > LINK_STEP_S) {
        double n = ceil(dt / LINK_STEP_S);
        steps = n < LINK_MAX_STEPS ? (int)n : LINK_MAX_STEPS;
    }
    for (int k = 0; k < steps; k++) {
        if (k > 0)
            hvs_share_links(h);
        for (size_t i = 0; i < h->ndoms; i++) {
            if (job_running(&h->doms[i]))
                advance_job(h, &h->doms[i], dt / steps, b);
        }
    }
    h->now += dt;
}

void hvs_deliver(hv_sim *h, event_buf *b)
{
    for (size_t i = 0; i < b->n; i++)
        md_hv_emit(&h->base, &b->ev[i]);
    b->n = 0;
}

static void *ticker_main(void *arg)
{
    hv_sim *h = arg;
    event_buf b = { 0 };
    double last = now_s();

    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        struct timespec ts = md_deadline_in(CLOCK_MONOTONIC, TICK_MS);
        pthread_cond_timedwait(&h->job_done, &h->lock, &ts);
        if (h->stopping)
            break;
        double t = now_s();
        if (!h->manual)
            hvs_advance_all(h, (t - last) * h->time_scale, &b);
        last = t;
        if (b.n) {
            pthread_mutex_unlock(&h->lock);
            hvs_deliver(h, &b);
            pthread_mutex_lock(&h->lock);
        }
    }
    pthread_mutex_unlock(&h->lock);
    free(b.ev);
    return NULL;
}

static void fill_domain(const sim_domain *d, md_hv_domain *out)
{
    memset(out, 0, sizeof *out);
    md_strlcpy(out->uuid, d->cfg.uuid, sizeof out->uuid);
    md_strlcpy(out->name, d->cfg.name, sizeof out->name);
    out->ram_bytes = (uint64_t)d->cfg.ram_mib * 1024 * 1024;
    out->active = d->here;
    out->paused = d->paused;
}

static md_status sim_lookup(md_hv *hv, const char *id, md_hv_domain *out, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_status st = MD_OK;

    pthread_mutex_lock(&h->lock);
    sim_domain *d = down(h, err) ? NULL : find_here(h, id, err);
    if (d)
        fill_domain(d, out);
    else
        st = h->disconnected ? MD_ERR_UNAVAILABLE : MD_ERR_NOT_FOUND;
    pthread_mutex_unlock(&h->lock);
    return st;
}

static md_status sim_list(md_hv *hv, md_hv_domain **out, size_t *n, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_hv_domain *v = NULL;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&h->lock);
    if (down(h, err)) {
        pthread_mutex_unlock(&h->lock);
        return MD_ERR_UNAVAILABLE;
    }
    if (h->ndoms) {
        v = calloc(h->ndoms, sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&h->lock);
            return md_err_set(err, MD_ERR_NOMEM, "simulator: out of memory listing domains");
        }
    }
    for (size_t i = 0; i < h->ndoms; i++) {
        if (h->doms[i].here)
            fill_domain(&h->doms[i], &v[(*n)++]);
    }
    pthread_mutex_unlock(&h->lock);
    *out = v;
    return MD_OK;
}

/* Blocks until whatever ends the call's ownership of d's job writes its
 * outcome (see DESIGN); returns that outcome. Called and returns with
 * h->lock held. */
static md_status wait_for_job(hv_sim *h, sim_domain *d, md_err *err)
{
    sim_wait w = { .done = false };

    d->wait = &w;
    while (!w.done)
        pthread_cond_wait(&h->job_done, &h->lock);
    if (w.st != MD_OK)
        return md_err_set(err, w.st, "%s", w.msg);
    return MD_OK;
}

/* A resume of d's failed post-copy job, refused as libvirt 9.0 refuses it
 * (qemuMigrationAnyCanResume) in the order it checks, then continued. */
static md_status resume_job(hv_sim *h, sim_domain *d, const md_hv_migrate_args *a, md_err *err)
{
    if (!job_running(d))
        return md_err_set(err, MD_ERR_CONFLICT,
                          "Requested operation is not valid: domain '%s' is not being migrated",
                          d->cfg.name);
    if (d->wait)
        return md_err_set(err, MD_ERR_CONFLICT,
                          "Requested operation is not valid: migration of domain %s is being "
                          "actively monitored by another thread",
                          d->cfg.name);
    if (d->s.state != SIM_POSTCOPY)
        return md_err_set(err, MD_ERR_CONFLICT,
                          "Requested operation is not valid: migration of domain %s is not in "
                          "post-copy phase",
                          d->cfg.name);
    if (!d->pc_failed)
        return md_err_set(err, MD_ERR_CONFLICT,
                          "Requested operation is not valid: post-copy migration of domain %s "
                          "has not failed",
                          d->cfg.name);
    if (h->dest_unreachable)
        return md_err_set(err, MD_ERR_HYPERVISOR,
                          "unable to connect to server at '%s:16509': No route to host",
                          a->dest_name);
    if (h->dest_unaware)
        return md_err_set(err, MD_ERR_CONFLICT,
                          "Requested operation is not valid: QEMU reports migration is still "
                          "running");
    /* Post-copy goes on from where it stopped; libvirt reports the
     * reconnection as a new SUSPENDED/POSTCOPY, hence the event again. */
    d->pc_failed = false;
    d->seen_post_copy = false;
    return wait_for_job(h, d, err);
}

static md_status sim_migrate(md_hv *hv, const md_hv_migrate_args *a, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_status st = MD_OK;
    sim_params p;
    int dest;

    pthread_mutex_lock(&h->lock);
    if (down(h, err)) {
        st = MD_ERR_UNAVAILABLE;
        goto cleanup;
    }
    sim_domain *d = find_here(h, a->uuid, err);
    if (!d) {
        st = MD_ERR_NOT_FOUND;
        goto cleanup;
    }
    if (!a->dest_name || !a->dest_name[0]) {
        st = md_err_set(err, MD_ERR_INVALID, "simulator: no destination given");
        goto cleanup;
    }
    /* libvirt's own refusal, worded as libvirt words it. */
    if (strcmp(a->dest_name, h->host) == 0) {
        st = md_err_set(err, MD_ERR_HYPERVISOR,
                        "internal error: Attempt to migrate guest to the same host %s", h->host);
        goto cleanup;
    }
    if (a->resume) {
        if (!a->post_copy)
            st = md_err_set(err, MD_ERR_INVALID,
                            "resuming failed post-copy migration requires post-copy to be enabled");
        else
            st = resume_job(h, d, a, err);
        goto cleanup;
    }
    if (job_running(d)) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "Timed out during operation: cannot acquire state change lock "
                        "(held by migration job)");
        goto cleanup;
    }
    if (h->dest_unreachable) {
        st = md_err_set(err, MD_ERR_HYPERVISOR,
                        "unable to connect to server at '%s:16509': No route to host",
                        a->dest_name);
        goto cleanup;
    }
    if (hvs_reach_dest(h, a->dest_uri, err) != MD_OK) {
        st = MD_ERR_HYPERVISOR; /* a failed migration, as libvirt's boundary says */
        goto cleanup;
    }
    /* The wait let go of the lock: the domain may have changed meanwhile. */
    if (!d->here || job_running(d)) {
        st = md_err_set(err, MD_ERR_CONFLICT, "simulator: domain %s changed while connecting",
                        d->cfg.name);
        goto cleanup;
    }
    dest = hvs_dest_of(h, a->dest_uri ? a->dest_uri : a->dest_name, err);
    if (dest < 0) {
        st = MD_ERR_NOMEM;
        goto cleanup;
    }
    memset(&p, 0, sizeof p);
    p.ram_bytes = d->cfg.ram_mib * MIB;
    p.working_set_bytes = d->cfg.working_set_mib * MIB;
    p.dirty_rate = d->cfg.dirty_mibps * MIB;
    /* The whole link for now; the clock's next step shares it with the
     * other jobs to the same destination (hvs_share_links). */
    p.link_rate = h->dests[dest].link_rate;
    p.bandwidth_limit = a->bandwidth_mibps * MIB;
    p.permit_post_copy = a->post_copy;
    p.auto_converge = a->auto_converge && !a->post_copy;
    sim_init(&d->s, &p);
    if (d->paused)
        sim_pause(&d->s);
    d->dest = dest;
    d->job = true;
    d->job_done = false;
    d->pc_failed = false;
    d->pc_stalled = false;
    d->held_s = 0;
    d->seen_iteration = d->s.iteration;
    d->seen_post_copy = false;
    st = wait_for_job(h, d, err);

cleanup:
    pthread_mutex_unlock(&h->lock);
    return st;
}

static md_status sim_job(md_hv *hv, const char *uuid, md_hv_job *out, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_status st = MD_OK;

    pthread_mutex_lock(&h->lock);
    sim_domain *d = down(h, err) ? NULL : find_here(h, uuid, err);
    if (!d)
        st = h->disconnected ? MD_ERR_UNAVAILABLE : MD_ERR_NOT_FOUND;
    else if (job_running(d))
        fill_job(h, d, out);
    else {
        memset(out, 0, sizeof *out);
        out->downtime_ms = -1;
    }
    pthread_mutex_unlock(&h->lock);
    return st;
}

/* Runs fn on a running job of uuid; the shared shape of every control. */
typedef int (*job_fn)(sim_domain *d, uint32_t arg);

static md_status with_job(md_hv *hv, const char *uuid, job_fn fn, uint32_t arg, const char *what,
                          md_err *err)
{
    hv_sim *h = to_sim(hv);
    event_buf b = { 0 };
    md_status st = MD_OK;

    pthread_mutex_lock(&h->lock);
    sim_domain *d = down(h, err) ? NULL : find_here(h, uuid, err);
    if (!d) {
        st = h->disconnected ? MD_ERR_UNAVAILABLE : MD_ERR_NOT_FOUND;
    } else if (!job_running(d)) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "Requested operation is not valid: %s: "
                        "domain has no migration job",
                        what);
    } else if (fn(d, arg) != 0) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "Requested operation is not valid: %s is not "
                        "possible in the job's current state",
                        what);
    } else {
        observe(d, &b);
        finish_if_ended(h, d, &b);
    }
    pthread_mutex_unlock(&h->lock);
    hvs_deliver(h, &b);
    free(b.ev);
    return st;
}

static int do_downtime(sim_domain *d, uint32_t ms)
{
    return sim_set_downtime(&d->s, ms);
}

static int do_speed(sim_domain *d, uint32_t mibps)
{
    return sim_set_bandwidth(&d->s, mibps * MIB);
}

static int do_post_copy(sim_domain *d, uint32_t unused)
{
    return sim_start_post_copy(&d->s);
}

static int do_abort(sim_domain *d, uint32_t unused)
{
    return sim_abort(&d->s);
}

static md_status sim_set_max_downtime(md_hv *hv, const char *uuid, uint32_t ms, md_err *err)
{
    return with_job(hv, uuid, do_downtime, ms, "set max downtime", err);
}

static md_status sim_set_max_speed(md_hv *hv, const char *uuid, uint32_t mibps, md_err *err)
{
    return with_job(hv, uuid, do_speed, mibps, "set max speed", err);
}

static md_status sim_start_post_copy_op(md_hv *hv, const char *uuid, md_err *err)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    sim_domain *d = find(h, uuid);
    bool refused = d && job_running(d) && !d->s.p.permit_post_copy;
    pthread_mutex_unlock(&h->lock);
    if (refused)
        return md_err_set(err, MD_ERR_CONFLICT,
                          "Requested operation is not valid: "
                          "post-copy migration was not enabled for this job");
    return with_job(hv, uuid, do_post_copy, 0, "start post-copy", err);
}

/* VIR_DOMAIN_ABORT_JOB_POSTCOPY: pauses a post-copy job that has not
 * failed, as QEMU's migrate-pause does; libvirt refuses it for any other
 * job. */
static md_status abort_post_copy(md_hv *hv, const char *uuid, md_err *err)
{
    hv_sim *h = to_sim(hv);
    event_buf b = { 0 };
    md_status st = MD_OK;

    pthread_mutex_lock(&h->lock);
    sim_domain *d = down(h, err) ? NULL : find_here(h, uuid, err);
    if (!d) {
        st = h->disconnected ? MD_ERR_UNAVAILABLE : MD_ERR_NOT_FOUND;
    } else if (!in_post_copy(d)) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "Requested operation is not valid: current job is not outgoing "
                        "migration in post-copy mode");
    } else if (d->pc_failed) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "Requested operation is not valid: migrate-pause is currently only "
                        "supported during postcopy-active or postcopy-recover state");
    } else {
        hvs_break_post_copy(h, d, true, &b);
    }
    pthread_mutex_unlock(&h->lock);
    hvs_deliver(h, &b);
    free(b.ev);
    return st;
}

static md_status sim_abort_job(md_hv *hv, const char *uuid, bool post_copy, md_err *err)
{
    if (post_copy)
        return abort_post_copy(hv, uuid, err);
    return with_job(hv, uuid, do_abort, 0, "abort the job", err);
}

/* Suspend and resume work with or without a job. */
static md_status set_paused(md_hv *hv, const char *uuid, bool pause, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_status st = MD_OK;

    pthread_mutex_lock(&h->lock);
    sim_domain *d = down(h, err) ? NULL : find_here(h, uuid, err);
    if (!d) {
        st = h->disconnected ? MD_ERR_UNAVAILABLE : MD_ERR_NOT_FOUND;
    } else if (d->paused == pause) {
        st = md_err_set(err, MD_ERR_CONFLICT, "Requested operation is not valid: domain is %s",
                        pause ? "already paused" : "not paused");
    } else {
        d->paused = pause;
        if (job_running(d))
            pause ? sim_pause(&d->s) : sim_resume(&d->s);
    }
    pthread_mutex_unlock(&h->lock);
    return st;
}

static md_status sim_suspend(md_hv *hv, const char *uuid, md_err *err)
{
    return set_paused(hv, uuid, true, err);
}

static md_status sim_resume_op(md_hv *hv, const char *uuid, md_err *err)
{
    return set_paused(hv, uuid, false, err);
}

static bool sim_connected(md_hv *hv, md_err *err)
{
    hv_sim *h = to_sim(hv);
    bool up;

    pthread_mutex_lock(&h->lock);
    up = !down(h, err);
    pthread_mutex_unlock(&h->lock);
    return up;
}

static void sim_release_waiters(md_hv *hv)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; !h->hold_calls && i < h->ndoms; i++)
        hvs_end_wait(h, &h->doms[i], MD_ERR_UNAVAILABLE, MSG_RELEASED);
    h->releases++; /* and the waits for black-holed destinations */
    pthread_cond_broadcast(&h->job_done);
    pthread_mutex_unlock(&h->lock);
}

static void sim_close(md_hv *hv)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    for (size_t i = 0; i < h->ndoms; i++)
        hvs_end_wait(h, &h->doms[i], MD_ERR_UNAVAILABLE, MSG_RELEASED);
    pthread_cond_broadcast(&h->job_done);
    pthread_mutex_unlock(&h->lock);
    if (h->ticker_running)
        pthread_join(h->ticker, NULL);
    pthread_cond_destroy(&h->job_done);
    pthread_mutex_destroy(&h->lock);
    md_hv_base_fini(&h->base);
    hvs_dests_free(h);
    hvs_index_free(h);
    free(h->held_completed.ev);
    free(h->doms);
    free(h);
}

static const md_hv_ops sim_ops = {
    .name = "simulator",
    .close = sim_close,
    .lookup = sim_lookup,
    .list = sim_list,
    .migrate = sim_migrate,
    .job = sim_job,
    .set_max_downtime = sim_set_max_downtime,
    .set_max_speed = sim_set_max_speed,
    .start_post_copy = sim_start_post_copy_op,
    .suspend = sim_suspend,
    .resume = sim_resume_op,
    .abort_job = sim_abort_job,
    .locate = hvs_locate,
    .release_waiters = sim_release_waiters,
    .connected = sim_connected,
    .dirty_rate_start = hvs_dirty_rate_start,
    .dirty_rate_read = hvs_dirty_rate_read,
    .free_memory = hvs_free_memory,
};

md_status md_hv_sim_open(const md_config *cfg, md_hv **out, md_err *err)
{
    hv_sim *h = calloc(1, sizeof *h);
    int rc;

    *out = NULL;
    if (!h)
        return md_err_set(err, MD_ERR_NOMEM, "simulator: out of memory");
    md_hv_base_init(&h->base, &sim_ops);
    h->time_scale = cfg->simulator.time_scale;
    md_strlcpy(h->host, cfg->service.host, sizeof h->host);
    h->ndoms = cfg->simulator.ndomains;
    h->doms = calloc(h->ndoms ? h->ndoms : 1, sizeof *h->doms);
    if (h->doms) {
        for (size_t i = 0; i < h->ndoms; i++) {
            h->doms[i].cfg = cfg->simulator.domains[i];
            h->doms[i].here = true;
            h->doms[i].dest = -1;
        }
    }
    if (!h->doms || hvs_dests_init(h, cfg, err) != MD_OK || hvs_index_build(h, err) != MD_OK) {
        hvs_index_free(h);
        hvs_dests_free(h);
        md_hv_base_fini(&h->base);
        free(h->doms);
        free(h);
        return md_err_set(err, MD_ERR_NOMEM, "simulator: out of memory");
    }
    pthread_mutex_init(&h->lock, NULL);
    md_cond_init_monotonic(&h->job_done);
    rc = pthread_create(&h->ticker, NULL, ticker_main, h);
    if (rc != 0) {
        sim_close(&h->base);
        return md_err_set(err, MD_ERR_INTERNAL, "simulator: cannot start its clock: %s",
                          strerror(rc));
    }
    h->ticker_running = true;
    /* Destinations that drop packets from the start: the fault suite's way
     * to black-hole one in a live daemon. */
    char hosts[sizeof cfg->simulator.blackholed_hosts], *save = NULL;
    md_strlcpy(hosts, cfg->simulator.blackholed_hosts, sizeof hosts);
    for (char *t = strtok_r(hosts, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        md_hv_sim_set_dest_blackholed(&h->base, t, true);
        md_warn("simulator: destination %s drops packets (simulator.blackholed_hosts)", t);
    }
    md_info("simulator: %zu domains, link %d MiB/s, %.1f simulated seconds per second", h->ndoms,
            cfg->simulator.link_mibps, h->time_scale);
    *out = &h->base;
    return MD_OK;
}
