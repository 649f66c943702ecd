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

/* Runs one migration from preparing to its end. Called without the lock. */
static void run_migration(md_engine *e, active *a)
{
    md_hv_domain dom;
    md_hv_migrate_args args;
    char dest_name[MD_NAME_LEN], dest_uri[sizeof a->dest_uri], migrate_uri[sizeof a->migrate_uri];
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
    memset(&args, 0, sizeof args);
    md_strlcpy(dest_name, a->rec.dest_compute, sizeof dest_name);
    md_strlcpy(dest_uri, a->dest_uri, sizeof dest_uri);
    md_strlcpy(migrate_uri, a->migrate_uri, sizeof migrate_uri);
    args.uuid = a->domain;
    args.dest_name = dest_name;
    args.dest_uri = dest_uri;
    args.migrate_uri = migrate_uri;
    args.bandwidth_mibps = a->rec.bandwidth_mibps;
    args.parallel_connections = (uint32_t)e->cfg->libvirt.live_migration_parallel_connections;
    args.native_tls = e->cfg->libvirt.live_migration_with_native_tls;
    args.post_copy = a->rec.permit_post_copy;
    args.auto_converge = a->rec.auto_converge;
    args.block_migration = a->rec.block_migration;
    /* Running before the call: the call blocks for the whole migration, and
     * the monitor must watch it from the start. */
    if (eng_transition(e, a, MD_MIG_RUNNING, "migrating %s to %s (%s, policy %s)", dom.name, dest_name,
                   dest_uri, policy_kind_str(a->rec.policy)) != MD_OK) {
        eng_transition(e, a, MD_MIG_ERROR, "cannot record the start of the migration");
        goto unlock;
    }
    a->attached = true;
    pthread_mutex_unlock(&e->lock);

    st = md_hv_migrate(e->hv, &args, &err);

    md_hv_location loc = MD_HV_LOC_UNKNOWN;
    if (st == MD_OK) {
        /* The real downtime comes with the JOB_COMPLETED event. */
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, FINAL_STATS_WAIT_MS);
        pthread_mutex_lock(&e->lock);
        while (!a->have_final && !e->stopping &&
               pthread_cond_timedwait(&e->changed, &e->lock, &until) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&e->lock);
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
            eng_add_event(e, a, "detached", 0, "lost the migrate call (%s); watching the job", err.msg);
        }
        goto unlock;
    } else {
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
        while (!e->stopping && !e->qhead)
            pthread_cond_wait(&e->work, &e->lock);
        if (e->stopping)
            break;
        active *a = eng_queue_pop(e);
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

