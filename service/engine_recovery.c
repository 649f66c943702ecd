/* engine_recovery.c - reconciling the records an earlier run left in progress.
 *
 * At start, before any thread: a queued record is queued again; for one that
 * was preparing, running or in post-copy, a job that still runs is
 * re-attached to the monitor (libvirt's P2P jobs outlive us), and a job that
 * has ended is settled from where the domain runs now.
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

/* ---- start, recovery, stop --------------------------------------------------- */

/* Reconciles one record left in progress by an earlier run. Before any
 * thread starts, so without contention; the lock is taken for the helpers
 * that expect it. */
static void recover_one(md_engine *e, const md_migration *rec)
{
    active *a = eng_active_new(rec);
    md_hv_domain dom;
    md_hv_job job;
    md_hv_location loc;
    md_err err;
    char msg[MD_MESSAGE_LEN];

    if (!a || eng_table_add(e, a, NULL) != MD_OK) {
        md_error("migration %s: out of memory during recovery; left as it is", rec->uuid);
        eng_active_put(a);
        return;
    }
    eng_set_uris(e, a);
    if (rec->state == MD_MIG_QUEUED) {
        eng_queue_push(e, a);
        eng_add_event(e, a, "recovered", 0, "queued again after a restart");
        return;
    }

    md_status st = MD_ERR_NOT_FOUND;
    const char *id = a->domain[0] ? a->domain : rec->instance_name;
    if (md_hv_lookup(e->hv, id, &dom, &err) == MD_OK) {
        md_strlcpy(a->domain, dom.uuid, sizeof a->domain);
        st = md_hv_job_stats(e->hv, a->domain, &job, &err);
    }
    if (st == MD_OK && job.active) {
        eng_policy_start(e, a, &dom);
        a->attached = a->recovered = true;
        a->sample_now = true;
        eng_add_event(e, a, "recovered", 0,
                  "re-attached to the running job after a restart "
                  "(iteration %u, %lld ms elapsed)",
                  job.iteration, (long long)job.elapsed_ms);
        if (a->rec.state == MD_MIG_PREPARING)
            eng_transition(e, a, MD_MIG_RUNNING, "the job was found running after a restart");
        if (job.post_copy && a->rec.state == MD_MIG_RUNNING)
            eng_transition(e, a, MD_MIG_POSTCOPY, "the job was found in post-copy after a restart");
        return;
    }
    if (!a->domain[0]) {
        eng_transition(e, a, rec->state == MD_MIG_PREPARING ? MD_MIG_FAILED : MD_MIG_ERROR,
                   "after a restart the domain %s cannot be found on this node",
                   rec->instance_name);
        return;
    }
    snprintf(msg, sizeof msg, "the job ended while migrationd was not running");
    pthread_mutex_unlock(&e->lock);
    loc = eng_locate_and_resume(e, a, msg, sizeof msg);
    pthread_mutex_lock(&e->lock);
    if (loc == MD_HV_LOC_SOURCE && rec->state == MD_MIG_PREPARING)
        snprintf(msg, sizeof msg,
                 "interrupted by a restart before the migration started; the "
                 "guest runs on the source");
    else if (loc == MD_HV_LOC_SOURCE && rec->state == MD_MIG_RUNNING)
        snprintf(msg, sizeof msg,
                 "the migration ended while migrationd was not running and "
                 "the guest runs on the source");
    eng_settle(e, a, MD_ERR_HYPERVISOR, msg, loc);
}

md_status eng_recover(md_engine *e, md_err *err)
{
    md_store_filter f;
    md_migration *v = NULL;
    size_t n = 0;

    memset(&f, 0, sizeof f);
    f.in_progress_only = true;
    md_status st = md_store_list(e->store, &f, &v, &n, err);
    if (st != MD_OK)
        return st;
    if (n)
        md_info("recovery: %zu migrations were in progress", n);
    /* The list is newest first; the queue must keep creation order. */
    pthread_mutex_lock(&e->lock);
    for (size_t i = n; i-- > 0;)
        recover_one(e, &v[i]);
    pthread_mutex_unlock(&e->lock);
    free(v);
    return MD_OK;
}

