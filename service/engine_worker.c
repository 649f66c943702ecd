/* engine_worker.c - the workers: a migration from the queue to its end.
 *
 * max_concurrent_live_migrations workers take queued migrations in FIFO
 * order, resolve the domain, move the record to preparing and then running,
 * and block in md_hv_migrate() for the whole migration. When the call
 * returns they settle the end state from its result AND where the domain
 * now runs (eng_settle in engine.c).
 *
 * A worker that takes a migration while the hypervisor is not connected
 * (libvirtd restarting) does not fail it for a domain it cannot look up:
 * it waits in preparing, up to libvirt.connection_wait_timeout, for the
 * boundary to reconnect (hv_libvirt.c does that by itself), and then goes
 * on; an abort meanwhile cancels it. The wait polls the boundary's flag
 * (md_hv_connected, which never blocks) on the engine's condition
 * variable, so an abort or a stop is seen within POLL_MS as well.
 *
 * The end's statistics. The real downtime (and the final byte counts) of a
 * migration come only with libvirt's JOB_COMPLETED event: with
 * VIR_MIGRATE_UNDEFINE_SOURCE the source forgets the domain at the end, so
 * virDomainGetJobStats(VIR_DOMAIN_JOB_STATS_COMPLETED) has nothing to ask
 * there (FACTS.md), and the destination's copy would cost a question to
 * another host. The event may come before the migrate call returns, or
 * after it, or (a daemon that reconnected meanwhile) never. The end is
 * what controllers and drains wait for, so it is recorded as soon as the
 * call returns, with the event's statistics when they are already here.
 * When they are not, the completed migration waits in e->finals, for up
 * to FINAL_STATS_WAIT_MS, holding a reference: the event handler finds it
 * there, and the monitor's next pass writes the statistics into the ended
 * record (once more, with a "final_stats" event in the same transaction;
 * updated_at stays the end's), and counts the downtime in the
 * metrics then, once. A store that cannot take the write queues it like any
 * of the engine's own (engine_store.c). A daemon stopped or killed before
 * the event leaves the record completed with downtime -1, "unknown": the
 * event is not sent again, and a restart does not look for it. A drain
 * that reads the end before the statistics come (engine_drain.c) takes the
 * bytes of the last sample for its link estimate, at most one monitor
 * interval behind the final count.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/engine_priv.h"
#include "service/clock.h"
#include "service/limits.h"
#include "service/log.h"

/* How long a completed migration waits for the JOB_COMPLETED event that
 * carries the real downtime (see the top of the file). libvirt sends it
 * as the job ends, so it is late by milliseconds when it comes at all;
 * keeping a few ended actives this long costs only their memory. */
#define FINAL_STATS_WAIT_MS 5000

/* How often a worker waiting for the hypervisor looks at the connection,
 * an abort and a stop: short beside the wait, long beside the look. */
#define POLL_MS 100

/* ---- workers ------------------------------------------------------------------ */

void eng_migrate_call_init(md_engine *e, const active *a, bool resume, eng_migrate_call *c)
{
    memset(c, 0, sizeof *c);
    md_strlcpy(c->domain, a->domain, sizeof c->domain);
    md_strlcpy(c->dest_name, a->rec.dest_compute, sizeof c->dest_name);
    md_strlcpy(c->dest_uri, a->dest_uri, sizeof c->dest_uri);
    md_strlcpy(c->migrate_uri, a->migrate_uri, sizeof c->migrate_uri);
    c->args.uuid = c->domain;
    c->args.dest_name = c->dest_name;
    c->args.dest_uri = c->dest_uri;
    c->args.migrate_uri = c->migrate_uri;
    c->args.bandwidth_mibps = a->rec.bandwidth_mibps;
    c->args.parallel_connections = (uint32_t)e->cfg->libvirt.live_migration_parallel_connections;
    c->args.native_tls = e->cfg->libvirt.live_migration_with_native_tls;
    c->args.post_copy = a->rec.permit_post_copy;
    c->args.auto_converge = a->rec.auto_converge;
    c->args.block_migration = a->rec.block_migration;
    c->args.resume = resume;
}

/* ---- the end's statistics ------------------------------------------------------- */

void eng_await_final(md_engine *e, active *a)
{
    if (a->have_final || a->final_deadline || a->rec.state != MD_MIG_COMPLETED)
        return;
    if (e->nfinals == e->capfinals) {
        size_t cap = e->capfinals ? e->capfinals * 2 : 8;
        active **v = realloc(e->finals, cap * sizeof *v);
        if (!v) {
            md_warn("migration %s: out of memory to wait for its final statistics; its "
                    "downtime stays unknown",
                    a->rec.uuid);
            return;
        }
        e->finals = v;
        e->capfinals = cap;
    }
    a->final_deadline = eng_mono_ms() + FINAL_STATS_WAIT_MS;
    a->refs++;
    e->finals[e->nfinals++] = a;
}

active *eng_finals_find_domain(md_engine *e, const char *domain)
{
    for (size_t i = 0; i < e->nfinals; i++) {
        if (strcasecmp(e->finals[i]->domain, domain) == 0)
            return e->finals[i];
    }
    return NULL;
}

/* Adds a's final statistics to its ended record, durably. */
static void write_final(md_engine *e, active *a)
{
    md_migration *r = &a->rec;
    md_event ev = { .at = eng_wall_ms(), .kind = "final_stats" };
    int64_t ended_at = r->updated_at;

    /* The record keeps its end's time: updated_at is when a migration
     * ended, for its duration (the metrics, a drain's link estimate). */
    eng_apply_stats(a, &a->final);
    r->updated_at = ended_at;
    ev.value = r->downtime_ms;
    if (r->downtime_ms >= 0)
        snprintf(ev.message, sizeof ev.message,
                 "the hypervisor's final statistics: downtime %lld ms, %llu MiB of memory sent",
                 (long long)r->downtime_ms,
                 (unsigned long long)(r->memory_processed_bytes / (1024 * 1024)));
    else
        snprintf(ev.message, sizeof ev.message,
                 "the hypervisor's final statistics, without a downtime: %llu MiB of memory sent",
                 (unsigned long long)(r->memory_processed_bytes / (1024 * 1024)));
    md_info("migration %s: final_stats: %s", r->uuid, ev.message);
    eng_write_record(e, r, &ev, true, NULL);
    eng_metrics_late_downtime(e, a);
    pthread_cond_broadcast(&e->changed);
}

void eng_finals_tick(md_engine *e, bool all)
{
    int64_t now = eng_mono_ms();
    size_t k = 0;

    for (size_t i = 0; i < e->nfinals; i++) {
        active *a = e->finals[i];
        if (a->have_final && !e->store_off) {
            write_final(e, a);
        } else if (!all && now < a->final_deadline) {
            e->finals[k++] = a;
            continue;
        } else {
            md_info("migration %s: no final statistics from the hypervisor; its downtime stays "
                    "unknown",
                    a->rec.uuid);
        }
        eng_active_put(a);
    }
    e->nfinals = k;
}

/* Waits until the hypervisor is connected (see the top of the file); *since
 * is when this migration's wait began (monotonic ms, 0 = not yet), so that
 * a connection lost again between the wait and the lookup does not start
 * the clock over. lost: a call has just failed for want of the connection
 * (its message), which counts even if the flag says connected again: the
 * worker then waits one poll before it tries again, rather than spin. True
 * when connected; false when the migration has ended (aborted, or out of
 * time: cancelled or failed, recorded) or the engine stops. Called and
 * returns without the lock. */
static bool wait_for_hypervisor(md_engine *e, active *a, int64_t *since, const md_err *lost)
{
    int limit_s = e->cfg->libvirt.connection_wait_timeout;
    bool up = false, ok = false, first = true;
    md_err err;

    if (lost)
        err = *lost;
    else if (md_hv_connected(e->hv, &err))
        return true;
    pthread_mutex_lock(&e->lock);
    if (*since == 0) {
        *since = eng_mono_ms();
        if (limit_s > 0)
            eng_add_event(e, a, "wait_hypervisor", (int64_t)limit_s * 1000,
                          "%s; waiting up to %d s for the connection before migrating", err.msg,
                          limit_s);
    }
    for (;;) {
        if (e->stopping || a->done)
            break;
        if (a->abort_requested) {
            eng_transition(e, a, MD_MIG_CANCELLED,
                           "aborted while waiting for the hypervisor; the migration never "
                           "started");
            break;
        }
        if (!(first && lost)) {
            pthread_mutex_unlock(&e->lock);
            up = md_hv_connected(e->hv, &err);
            pthread_mutex_lock(&e->lock);
        }
        first = false;
        if (up) {
            eng_add_event(e, a, "hypervisor_back", 0,
                          "the hypervisor answers again after %.1f s of waiting; migrating",
                          (double)(eng_mono_ms() - *since) / 1000.0);
            ok = true;
            break;
        }
        int64_t left = *since + (int64_t)limit_s * 1000 - eng_mono_ms();
        if (left <= 0) {
            eng_transition(e, a, MD_MIG_FAILED,
                           "%s: waited %d s for the connection to come back; the migration was "
                           "not started and the guest stays on this node",
                           err.msg, limit_s);
            break;
        }
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, left < POLL_MS ? left : POLL_MS);
        pthread_cond_timedwait(&e->changed, &e->lock, &until);
    }
    pthread_mutex_unlock(&e->lock);
    return ok;
}

/* Runs one migration from preparing to its end. Called without the lock. */
static void run_migration(md_engine *e, active *a)
{
    md_hv_domain dom;
    eng_migrate_call call;
    char id[MD_NAME_LEN], msg[MD_MESSAGE_LEN];
    int64_t waiting_since = 0;
    md_err err;
    md_status st;

    pthread_mutex_lock(&e->lock);
    md_strlcpy(id, a->domain[0] ? a->domain : a->rec.instance_name, sizeof id);
    pthread_mutex_unlock(&e->lock);

    /* A lookup that finds the connection gone (lost after the wait said it
     * was there) waits again, within the same bound. */
    st = MD_OK;
    do {
        if (!wait_for_hypervisor(e, a, &waiting_since, st == MD_ERR_UNAVAILABLE ? &err : NULL))
            return;
        st = md_hv_lookup(e->hv, id, &dom, &err);
    } while (st == MD_ERR_UNAVAILABLE);

    pthread_mutex_lock(&e->lock);
    if (e->stopping)
        goto unlock;
    if (st != MD_OK) {
        eng_transition(e, a, MD_MIG_FAILED, "cannot find domain %s on this node: %s", id, err.msg);
        goto unlock;
    }
    /* Requests name a domain by UUID or by name; only now are two names
     * for one domain known to be the same. */
    active *other = eng_table_find_domain(e, dom.uuid);
    if (other && other != a) {
        eng_transition(e, a, MD_MIG_FAILED, "domain %s is already being migrated by migration %s",
                       dom.name, other->rec.uuid);
        goto unlock;
    }
    md_strlcpy(a->domain, dom.uuid, sizeof a->domain);
    md_strlcpy(a->rec.instance_uuid, dom.uuid, sizeof a->rec.instance_uuid);
    md_strlcpy(a->rec.instance_name, dom.name, sizeof a->rec.instance_name);
    eng_policy_start(e, a, &dom);
    if (a->abort_requested) {
        eng_transition(e, a, MD_MIG_CANCELLED, "aborted before the migration started");
        goto unlock;
    }
    eng_migrate_call_init(e, a, false, &call);
    /* Running before the call: the call blocks for the whole migration, and
     * the monitor must watch it from the start. */
    if (eng_transition(e, a, MD_MIG_RUNNING, "migrating %s to %s (%s, policy %s)", dom.name,
                       call.dest_name, call.dest_uri, policy_kind_str(a->rec.policy)) != MD_OK) {
        eng_transition(e, a, MD_MIG_ERROR, "cannot record the start of the migration");
        goto unlock;
    }
    a->attached = true;
    pthread_mutex_unlock(&e->lock);

    st = md_hv_migrate(e->hv, &call.args, &err);

    md_hv_location loc = MD_HV_LOC_UNKNOWN;
    if (st == MD_OK) {
        msg[0] = '\0'; /* recorded at once; the downtime may come later */
    } else if (st == MD_ERR_UNAVAILABLE) {
        /* Released by a stop, or the connection went away: the job may well
         * go on. Leave it to the monitor (or to recovery after a restart). */
        pthread_mutex_lock(&e->lock);
        if (!e->stopping && !a->done) {
            a->recovered = true;
            a->sample_now = true;
            e->monitor_wake = true;
            pthread_cond_signal(&e->wake);
            eng_add_event(e, a, "detached", 0, "lost the migrate call (%s); watching the job",
                          err.msg);
        }
        goto unlock;
    } else {
        /* A break in post-copy is recovered, never settled: the guest is
         * split between the two hosts. */
        if (eng_postcopy_after_failed_call(e, a))
            return;
        md_strlcpy(msg, err.msg, sizeof msg);
        loc = eng_locate_and_resume(e, a, msg, sizeof msg);
    }

    pthread_mutex_lock(&e->lock);
    if (!e->stopping && !a->done)
        eng_settle(e, a, st, msg, loc);
unlock:
    pthread_mutex_unlock(&e->lock);
}

void *eng_worker_main(void *arg)
{
    md_engine *e = arg;

    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (!e->stopping && !e->resumes.head && !e->queue.head)
            pthread_cond_wait(&e->work, &e->lock);
        if (e->stopping)
            break;
        /* A broken post-copy first: its guest is stalled until resumed,
         * while a queued migration's guest runs on. */
        active *a = eng_queue_pop(&e->resumes);
        if (a) {
            a->resume_queued = false; /* the queue's reference is now ours */
            a->recovered = false;     /* a worker owns it again, */
            a->recovering_run = true; /* and the monitor must not give up meanwhile */
            pthread_mutex_unlock(&e->lock);
            eng_postcopy_recover(e, a);
            pthread_mutex_lock(&e->lock);
            eng_active_put(a);
            continue;
        }
        a = eng_queue_pop(&e->queue);
        a->refs++;
        if (eng_transition(e, a, MD_MIG_PREPARING, "a worker took the migration") == MD_OK) {
            pthread_mutex_unlock(&e->lock);
            run_migration(e, a);
            pthread_mutex_lock(&e->lock);
        }
        eng_active_put(a);
    }
    e->workers_alive--;
    /* A stop that could not wait for this worker left the engine to it:
     * the last one out frees it (md_engine_stop). */
    bool last = eng_last_out(e);
    pthread_mutex_unlock(&e->lock);
    if (last)
        eng_free(e);
    return NULL;
}
