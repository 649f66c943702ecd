/* engine_recovery.c - reconciling the records an earlier run left in progress.
 *
 * At start, before any thread: a queued record is queued again, and so is
 * one left preparing whose guest runs here without a job (the stop came
 * before its migrate call). For one that was preparing, running or in
 * post-copy otherwise, a job that still runs is re-attached to the monitor
 * (libvirt's P2P jobs outlive us), and a job that has ended is handed to
 * the settler thread, which settles it from where the domain runs now once
 * the engine runs: finding that out may mean asking the destination, and a
 * destination that does not answer must not hold up the start
 * (service/hv.h, "Other hosts"). Only this node's libvirtd is called here.
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

/* Gives a the commands that were accepted for it and not carried out
 * before the restart. An abort decides how a job that has ended since is
 * settled (cancelled, not failed), so this comes first. Under the lock. */
static void take_commands(md_engine *e, active *a, const md_command *cmds, size_t ncmds)
{
    for (size_t i = 0; i < ncmds; i++) {
        if (strcasecmp(cmds[i].uuid, a->rec.uuid) != 0)
            continue;
        if (a->cmd_id[cmds[i].kind])
            eng_command_done(e, a, cmds[i].kind); /* an older duplicate */
        a->cmd_id[cmds[i].kind] = cmds[i].id;
        switch (cmds[i].kind) {
        case MD_CMD_ABORT: a->cmd_abort = a->abort_requested = true; break;
        case MD_CMD_FORCE_COMPLETE: a->cmd_force = true; break;
        case MD_CMD_POST_COPY: a->cmd_post_copy = true; break;
        case MD_CMD_RECOVER: a->cmd_recover = true; break;
        case MD_CMD_SPEED: a->cmd_speed = true; break;
        }
        eng_add_event(e, a, "recovered", 0,
                      "the %s command accepted before the restart is "
                      "carried out now",
                      md_command_kind_str(cmds[i].kind));
    }
}

/* Reconciles one record left in progress by an earlier run. Before any
 * thread starts, so without contention; the lock is taken for the helpers
 * that expect it. */
static void recover_one(md_engine *e, const md_migration *rec, const md_command *cmds, size_t ncmds)
{
    active *a = eng_active_new(rec);
    md_hv_domain dom;
    md_hv_job job;
    md_err err;

    if (!a || eng_table_add(e, a, NULL) != MD_OK) {
        md_error("migration %s: out of memory during recovery; left as it is", rec->uuid);
        eng_active_put(a);
        return;
    }
    eng_set_uris(e, a);
    take_commands(e, a, cmds, ncmds);
    if (rec->state == MD_MIG_QUEUED) {
        if (a->abort_requested) {
            eng_transition(e, a, MD_MIG_CANCELLED,
                           "aborted while queued (the abort was accepted "
                           "before a restart)");
            return;
        }
        eng_queue_push(&e->queue, a);
        eng_add_event(e, a, "recovered", 0, "queued again after a restart");
        return;
    }

    md_status st = MD_ERR_NOT_FOUND;
    const char *id = a->domain[0] ? a->domain : rec->instance_name;
    if (md_hv_lookup(e->hv, id, &dom, &err) == MD_OK) {
        md_strlcpy(a->domain, dom.uuid, sizeof a->domain);
        st = md_hv_job_stats(e->hv, a->domain, &job, &err);
    }
    if (rec->state == MD_MIG_PREPARING && st == MD_OK && job.active) {
        /* The record moves to running before its migrate call is made, so
         * a preparing record never started a job: this one is someone
         * else's (a hand-started virsh migrate, another manager), and
         * migrationd must neither watch nor steer it. */
        eng_transition(e, a, MD_MIG_FAILED,
                       "interrupted by a restart before its migration started; the guest stays "
                       "on the source, where a migration job that migrationd did not start is "
                       "running now (left alone)");
        return;
    }
    if (rec->state == MD_MIG_PREPARING && st == MD_OK && !job.active && dom.active) {
        /* No job, and the guest runs here: the stop came before the
         * migrate call. Nothing happened to the guest, so the request
         * is not lost to the restart: it is queued again in its order. */
        if (a->abort_requested) {
            eng_transition(e, a, MD_MIG_CANCELLED,
                           "aborted before the migration started (the abort was accepted "
                           "before a restart)");
            return;
        }
        if (eng_transition(e, a, MD_MIG_QUEUED,
                           "queued again after a restart: the stop came before its migrate "
                           "call, and the guest runs here") == MD_OK)
            eng_queue_push(&e->queue, a);
        return;
    }
    if (st == MD_OK && job.active) {
        eng_policy_start(e, a, &dom);
        a->attached = a->recovered = true;
        a->sample_now = true;
        eng_add_event(e, a, "recovered", 0,
                      "re-attached to the running job after a restart "
                      "(iteration %u, %lld ms elapsed)",
                      job.iteration, (long long)job.elapsed_ms);
        if (job.post_copy_failed) {
            if (eng_postcopy_enter(e, a, "found broken after a restart"))
                eng_postcopy_need_worker(e, a);
        } else if (a->rec.state == MD_MIG_POSTCOPY_RECOVERING) {
            eng_transition(e, a, MD_MIG_POSTCOPY,
                           "post-copy was found moving again after a "
                           "restart");
        } else if (job.post_copy && a->rec.state == MD_MIG_RUNNING) {
            eng_transition(e, a, MD_MIG_POSTCOPY, "the job was found in post-copy after a restart");
        }
        return;
    }
    if (!a->domain[0]) {
        eng_transition(e, a, rec->state == MD_MIG_PREPARING ? MD_MIG_FAILED : MD_MIG_ERROR,
                       "after a restart the domain %s cannot be found on this node",
                       rec->instance_name);
        return;
    }
    /* Where the domain runs may have to be asked of the destination, which
     * may not answer for seconds: the settler asks, once the engine runs. */
    eng_settle_later(e, a, true);
}

void eng_settle_recovered(md_engine *e, active *a)
{
    char msg[MD_MESSAGE_LEN] = "the job ended while migrationd was not running";
    md_hv_location loc = eng_locate_and_resume(e, a, msg, sizeof msg);

    pthread_mutex_lock(&e->lock);
    if (loc == MD_HV_LOC_SOURCE && a->rec.state == MD_MIG_PREPARING)
        snprintf(msg, sizeof msg,
                 "interrupted by a restart before the migration started; the "
                 "guest runs on the source");
    else if (loc == MD_HV_LOC_SOURCE && a->rec.state == MD_MIG_RUNNING)
        snprintf(msg, sizeof msg,
                 "the migration ended while migrationd was not running and "
                 "the guest runs on the source");
    if (!a->done && !e->stopping)
        eng_settle(e, a, MD_ERR_HYPERVISOR, msg, loc);
    pthread_mutex_unlock(&e->lock);
}

md_status eng_recover(md_engine *e, md_err *err)
{
    md_store_filter f;
    md_migration *v = NULL;
    md_command *cmds = NULL;
    size_t n = 0, ncmds = 0;
    md_err cerr;

    memset(&f, 0, sizeof f);
    f.in_progress_only = true;
    md_status st = md_store_list(e->store, &f, &v, &n, err);
    if (st != MD_OK)
        return st;
    st = md_store_pending_commands(e->store, &cmds, &ncmds, err);
    if (st != MD_OK) {
        free(v);
        return st;
    }
    if (n)
        md_info("recovery: %zu migrations were in progress, %zu commands pending", n, ncmds);
    /* The list is newest first; the queue must keep creation order. */
    pthread_mutex_lock(&e->lock);
    for (size_t i = n; i-- > 0;)
        recover_one(e, &v[i], cmds, ncmds);
    /* A command for a migration that had already ended can never be
     * carried out: finish it rather than offer it at every start. */
    for (size_t i = 0; i < ncmds; i++) {
        bool taken = false;
        for (size_t j = 0; j < n && !taken; j++)
            taken = strcasecmp(cmds[i].uuid, v[j].uuid) == 0;
        if (!taken && md_store_finish_command(e->store, cmds[i].id, &cerr) != MD_OK)
            md_warn("cannot finish the stale command %lld: %s", (long long)cmds[i].id, cerr.msg);
    }
    pthread_mutex_unlock(&e->lock);
    free(cmds);
    free(v);
    return MD_OK;
}
