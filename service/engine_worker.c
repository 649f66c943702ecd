/* engine_worker.c - the workers: a migration from the queue to its end.
 *
 * max_concurrent_live_migrations workers take queued migrations in FIFO
 * order, resolve the domain, move the record to preparing and then running,
 * and block in md_hv_migrate() for the whole migration. When the call
 * returns they settle the end state from its result AND where the domain
 * now runs (eng_settle in engine.c).
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

/* How long a worker waits, after a successful migrate call, for the
 * JOB_COMPLETED event that carries the real downtime. */
#define FINAL_STATS_WAIT_MS 1000

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

void eng_wait_final_stats(md_engine *e, active *a)
{
    /* The real downtime comes with the JOB_COMPLETED event. */
    struct timespec until = md_deadline_in(CLOCK_MONOTONIC, FINAL_STATS_WAIT_MS);

    pthread_mutex_lock(&e->lock);
    while (!a->have_final && !e->stopping &&
           pthread_cond_timedwait(&e->changed, &e->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&e->lock);
}

/* Runs one migration from preparing to its end. Called without the lock. */
static void run_migration(md_engine *e, active *a)
{
    md_hv_domain dom;
    eng_migrate_call call;
    char id[MD_NAME_LEN], msg[MD_MESSAGE_LEN];
    md_err err;
    md_status st;

    pthread_mutex_lock(&e->lock);
    md_strlcpy(id, a->domain[0] ? a->domain : a->rec.instance_name, sizeof id);
    pthread_mutex_unlock(&e->lock);

    st = md_hv_lookup(e->hv, id, &dom, &err);

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
        eng_wait_final_stats(e, a);
        msg[0] = '\0';
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
    pthread_mutex_unlock(&e->lock);
    return NULL;
}
