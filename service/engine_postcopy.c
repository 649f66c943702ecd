/* engine_postcopy.c - a broken or stalled post-copy migration, detected and resumed.
 *
 * DESIGN
 * ------
 * Once post-copy has started, the guest runs on the destination and part of
 * its memory is still on the source: neither half can live without the
 * other, so an aborted or destroyed half is a lost guest. When the stream
 * between them breaks (a reset, a partition that outlasts libvirt's
 * keepalive, a libvirtd restart), libvirt 8.5+ leaves the source paused
 * (POSTCOPY_FAILED) and the destination's vCPUs stalled on missing pages,
 * and can resume the same migration: the migrate call repeated with the
 * same destination, parameters and flags plus VIR_MIGRATE_POSTCOPY_RESUME.
 * This file drives that, and nothing here ever destroys either half.
 *
 * Detection comes from four places, whichever is first: the worker's
 * migrate call failing in post-copy (it then asks the job whether it is a
 * broken post-copy), the POSTCOPY_FAILED lifecycle event, the job's
 * statistics saying post_copy_failed (both seen by the monitor), and a
 * stall: no post-copy progress for live_migration_postcopy_stall_timeout
 * seconds, on a link where TCP neither breaks nor moves. A stall is turned
 * into a break with VIR_DOMAIN_ABORT_JOB_POSTCOPY, so that it can be
 * resumed like one instead of waiting for the keepalive.
 *
 * Every detection ends in eng_postcopy_enter(): the record moves to
 * "running (post-copy recovering)" with the reason, and the recovery window
 * (live_migration_postcopy_recovery_timeout) starts. The resume attempts
 * run on a worker, because each one blocks like a migration: the worker that
 * ran the migration goes straight on to eng_postcopy_recover(); a migration
 * without one (recovered after a restart, or detached) is put on
 * e->resumes, which workers serve before new migrations. Attempts back off
 * from 1 s, doubling, to 30 s; each is an event with libvirt's answer. An
 * attempt refused in the job's state is asked again within 2 s instead
 * (REFUSED_RETRY_MS): after a partition the destination's end of the old
 * stream learns of the break only when a TCP retransmission crosses the
 * healed link, libvirt refuses every resume until then, and libvirt 9.0
 * offers no call that pauses the destination's side sooner. An operator's
 * recover command attempts at once, even after the window.
 *
 * While a resume call runs and the job moves again, the monitor moves the
 * record back to "running (post-copy)"; if the resumed post-copy breaks
 * again, the call fails and the same worker goes on with a new window.
 *
 * Before each attempt the worker looks at the job again, since a break
 * can heal by itself (TCP resumes after a short partition): a job that
 * moves again goes back to "running (post-copy)" under the monitor's eye,
 * and a job that has ended is settled from where the domain runs. When the
 * window closes the record ends in `error` with a message that says where
 * each half of the guest is and what to do; `recover` still works from
 * there while libvirt holds the paused post-copy.
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
#include "service/log.h"

/* The resume attempts' backoff: the first wait, and the longest. */
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
/* The longest wait after an attempt libvirt refused in the job's state
 * (MD_ERR_CONFLICT): the destination has not seen the break yet ("QEMU
 * reports migration is still running": its end of the old stream waits for
 * TCP), or the first call still owns the job. Such an attempt costs one
 * round trip to each libvirtd and moves no data, and the moment it would be
 * taken comes from the far side's TCP, not from us: asking every 2 s resumes
 * the guest within 2 s of that moment, where the doubling would wait up to
 * 30 s more while the guest stalls. */
#define REFUSED_RETRY_MS 2000

/* eng_postcopy_enter() and eng_postcopy_enter_request(): req_err NULL for
 * the engine's own move (written later if the store cannot take it now), a
 * request's error otherwise (refused while the store cannot take it). */
static md_status enter(md_engine *e, active *a, const char *why, md_err *req_err)
{
    md_mig_state s = a->rec.state;
    int64_t timeout_ms = (int64_t)e->cfg->libvirt.live_migration_postcopy_recovery_timeout * 1000;

    if (a->done)
        return md_err_set(req_err, MD_ERR_CONFLICT, "migration %s has ended", a->rec.uuid);
    if (s != MD_MIG_POSTCOPY_RECOVERING) {
        if (s != MD_MIG_RUNNING && s != MD_MIG_POSTCOPY && s != MD_MIG_ERROR)
            return md_err_set(req_err, MD_ERR_CONFLICT, "migration %s is %s", a->rec.uuid,
                              md_mig_state_str(s));
        int64_t started = a->rec.recovery_started_at;
        a->rec.recovery_started_at = eng_wall_ms();
        /* From error the break is old news: an operator asked again. */
        char msg[1024]; /* the event keeps what fits in its message */
        snprintf(msg, sizeof msg,
                 "%s (%s): the guest is paused on %s and stalled on %s; recovering: "
                 "resuming the migration for up to %d s",
                 s == MD_MIG_ERROR ? "post-copy recovery again" : "post-copy broke", why,
                 e->cfg->service.host, a->rec.dest_compute,
                 e->cfg->libvirt.live_migration_postcopy_recovery_timeout);
        md_status st =
            req_err ? eng_transition_err(e, a, MD_MIG_POSTCOPY_RECOVERING, req_err, "%s", msg)
                    : eng_transition(e, a, MD_MIG_POSTCOPY_RECOVERING, "%s", msg);
        if (st != MD_OK) {
            a->rec.recovery_started_at = started;
            return st;
        }
        a->recovery_deadline = 0;
    }
    if (a->recovery_deadline == 0) {
        /* The window counts from the break as the record says, so that a
         * restart does not extend it; each daemon still makes at least one
         * attempt (eng_postcopy_recover). */
        int64_t left = a->rec.recovery_started_at + timeout_ms - eng_wall_ms();
        a->recovery_deadline = eng_mono_ms() + (left > 0 ? left : 0);
        a->next_attempt = eng_mono_ms();
        a->backoff_ms = BACKOFF_FIRST_MS;
        a->attempts_this_run = 0;
    }
    a->stall_forced = false;
    a->pc_progress_at = 0;
    return MD_OK;
}

bool eng_postcopy_enter(md_engine *e, active *a, const char *why)
{
    return enter(e, a, why, NULL) == MD_OK;
}

md_status eng_postcopy_enter_request(md_engine *e, active *a, const char *why, md_err *err)
{
    return enter(e, a, why, err);
}

void eng_postcopy_need_worker(md_engine *e, active *a)
{
    if (a->recovering_run || a->resume_queued || a->done || !a->recovered)
        return;
    a->resume_queued = true;
    a->refs++; /* the queue's reference, dropped by the worker that pops it */
    eng_queue_push(&e->resumes, a);
    pthread_cond_signal(&e->work);
}

/* Ends a recovery that ran out of time: error, both halves intact. Under
 * the lock. */
static void give_up(md_engine *e, active *a, const char *last)
{
    eng_transition(e, a, MD_MIG_ERROR,
                   "post-copy could not be resumed within %d s (%d attempts; last: %s). The guest "
                   "is split: its vCPUs are on %s (stalled on missing pages) and the rest of its "
                   "memory is on %s (paused). migrationd destroyed neither half. Restore the link "
                   "between the two hosts and PUT {\"migration\": {\"action\": \"recover\"}}; if "
                   "%s is lost for good, the guest cannot be recovered",
                   e->cfg->libvirt.live_migration_postcopy_recovery_timeout,
                   a->rec.recovery_attempts, last[0] ? last : "none", a->rec.dest_compute,
                   e->cfg->service.host, e->cfg->service.host);
}

/* What the job says before an attempt. Without the lock. */
typedef enum job_view { JOB_BROKEN, JOB_MOVING, JOB_GONE, JOB_UNKNOWN } job_view;

static job_view look_at_job(md_engine *e, const char *domain, md_err *err)
{
    md_hv_job job;
    md_status st = md_hv_job_stats(e->hv, domain, &job, err);

    if (st == MD_ERR_NOT_FOUND || (st == MD_OK && !job.active))
        return JOB_GONE;
    if (st != MD_OK)
        return JOB_UNKNOWN;
    /* A job that is not in post-copy is not the one that broke (a new
     * migration of the same domain): ours has ended. */
    if (!job.post_copy)
        return JOB_GONE;
    return job.post_copy_failed ? JOB_BROKEN : JOB_MOVING;
}

void eng_postcopy_recover(md_engine *e, active *a)
{
    eng_migrate_call call;
    char last[MD_MESSAGE_LEN] = "";
    md_err err;
    md_status st;

    pthread_mutex_lock(&e->lock);
    a->recovering_run = true;
    while (!e->stopping && !a->done && a->rec.state == MD_MIG_POSTCOPY_RECOVERING) {
        /* (The monitor moves the record back to post-copy while a resume
         * call runs and the job moves; a failure of that call brings it
         * back here, below.) */
        /* Until the next attempt is due, or an operator asks for one now. */
        while (!e->stopping && !a->done && !a->cmd_recover && eng_mono_ms() < a->next_attempt) {
            struct timespec until =
                md_deadline_in(CLOCK_MONOTONIC, a->next_attempt - eng_mono_ms());
            pthread_cond_timedwait(&e->changed, &e->lock, &until);
        }
        if (e->stopping || a->done)
            break;
        bool asked = a->cmd_recover;
        if (asked)
            eng_command_done(e, a, MD_CMD_RECOVER);
        if (!asked && a->attempts_this_run > 0 && eng_mono_ms() >= a->recovery_deadline) {
            give_up(e, a, last);
            break;
        }
        char domain[MD_UUID_LEN];
        md_strlcpy(domain, a->domain, sizeof domain);
        pthread_mutex_unlock(&e->lock);

        job_view v = look_at_job(e, domain, &err);

        pthread_mutex_lock(&e->lock);
        if (e->stopping || a->done)
            break;
        if (v == JOB_MOVING) {
            /* Healed by itself (TCP came back): the monitor watches it from
             * here, and no call of ours waits for its end. */
            eng_transition(e, a, MD_MIG_POSTCOPY, "post-copy is moving again without a resume");
            a->recovered = true;
            a->sample_now = true;
            eng_wake_monitor(e);
            break;
        }
        if (v == JOB_GONE) {
            char msg[MD_MESSAGE_LEN] = "the migration job ended during post-copy recovery";
            pthread_mutex_unlock(&e->lock);
            md_hv_location loc = eng_locate_and_resume(e, a, msg, sizeof msg);
            pthread_mutex_lock(&e->lock);
            if (!e->stopping && !a->done)
                eng_settle(e, a, MD_ERR_HYPERVISOR, msg, loc);
            break;
        }
        /* Broken, or unknown (libvirtd unreachable: the attempt will say). */
        a->attempts_this_run++;
        a->rec.recovery_attempts++;
        a->dirty = true;
        eng_add_event(e, a, "recovery_attempt", a->rec.recovery_attempts,
                      "post-copy recovery: attempt %d, resuming the migration to %s%s",
                      a->rec.recovery_attempts, a->rec.dest_compute,
                      asked ? " (asked by an operator)" : "");
        eng_flush_progress(e, false); /* the attempt count is durable before the call */
        eng_migrate_call_init(e, a, true, &call);
        a->in_resume_call = true;
        pthread_mutex_unlock(&e->lock);

        st = md_hv_migrate(e->hv, &call.args, &err);

        pthread_mutex_lock(&e->lock);
        a->in_resume_call = false;
        pthread_mutex_unlock(&e->lock);

        if (st == MD_OK) {
            /* Recorded at once; the downtime may come later (engine_worker.c). */
            pthread_mutex_lock(&e->lock);
            if (!e->stopping && !a->done) {
                eng_add_event(e, a, "recovered", a->rec.recovery_attempts,
                              "post-copy resumed after %d attempt%s", a->rec.recovery_attempts,
                              a->rec.recovery_attempts == 1 ? "" : "s");
                eng_settle(e, a, MD_OK, "", MD_HV_LOC_DEST);
            }
            break;
        }
        pthread_mutex_lock(&e->lock);
        if (e->stopping || a->done)
            break;
        if (st == MD_ERR_UNAVAILABLE) {
            /* The call was released or the connection lost: the resumed job
             * may run on. The monitor watches; a worker comes back if it
             * breaks again. */
            eng_add_event(e, a, "detached", 0, "lost the resume call (%s); watching the job",
                          err.msg);
            a->recovered = true;
            a->sample_now = true;
            eng_wake_monitor(e);
            break;
        }
        md_strlcpy(last, err.msg, sizeof last);
        if (a->rec.state == MD_MIG_POSTCOPY &&
            !eng_postcopy_enter(e, a, "the resumed post-copy broke again"))
            break;
        int64_t wait_ms = a->backoff_ms;
        if (st == MD_ERR_CONFLICT && wait_ms > REFUSED_RETRY_MS)
            wait_ms = REFUSED_RETRY_MS;
        a->next_attempt = eng_mono_ms() + wait_ms;
        eng_add_event(e, a, "recovery_failed", a->rec.recovery_attempts,
                      "post-copy recovery: attempt %d failed: %s; next in %lld s",
                      a->rec.recovery_attempts, err.msg, (long long)(wait_ms / 1000));
        a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
    }
    a->recovering_run = false;
    if (!e->stopping && !a->done && !a->recovered) {
        /* Left without an end (a store write failed): the monitor takes it
         * over, queues a worker again while it is recovering and settles it
         * once its job has ended, so that no record stays in progress with
         * nobody to end it. */
        a->recovered = true;
        a->sample_now = true;
        eng_wake_monitor(e);
    }
    /* An operator's recover that came while an attempt ran was answered by
     * that attempt; once the record is out of recovery it has nothing left
     * to ask for (a final record's commands were finished with it). */
    if (a->cmd_recover && a->rec.state != MD_MIG_POSTCOPY_RECOVERING)
        eng_command_done(e, a, MD_CMD_RECOVER);
    pthread_mutex_unlock(&e->lock);
}

void eng_postcopy_watch(md_engine *e, active *a, const md_hv_job *job)
{
    int stall_s = e->cfg->libvirt.live_migration_postcopy_stall_timeout;
    bool force = false;
    md_err err;

    pthread_mutex_lock(&e->lock);
    if (a->done || a->rec.state == MD_MIG_POSTCOPY_RECOVERING) {
        pthread_mutex_unlock(&e->lock);
        return;
    }
    if (job->post_copy_failed) {
        if (eng_postcopy_enter(e, a, "the hypervisor reports post-copy failed"))
            eng_postcopy_need_worker(e, a);
        pthread_mutex_unlock(&e->lock);
        return;
    }
    if (a->rec.state == MD_MIG_POSTCOPY && stall_s > 0) {
        uint64_t moved = job->mem_processed + job->disk_processed;
        if (a->pc_progress_at == 0 || moved != a->pc_processed) {
            a->pc_processed = moved;
            a->pc_progress_at = eng_mono_ms();
        } else if (!a->stall_forced && eng_mono_ms() - a->pc_progress_at >= stall_s * 1000LL) {
            a->stall_forced = force = true;
            eng_add_event(e, a, "post_copy_stalled", stall_s,
                          "no post-copy progress for %d s: forcing the job into the paused state "
                          "(abort job post-copy) to resume it",
                          stall_s);
        }
    }
    char domain[MD_UUID_LEN];
    md_strlcpy(domain, a->domain, sizeof domain);
    pthread_mutex_unlock(&e->lock);
    if (!force)
        return;

    md_status st = md_hv_abort_job(e->hv, domain, true, &err);

    pthread_mutex_lock(&e->lock);
    if (st != MD_OK) {
        /* It may have broken or moved meanwhile: watch again from now. */
        eng_add_event(e, a, "error", 0, "cannot pause the stalled post-copy: %s", err.msg);
        a->stall_forced = false;
        a->pc_progress_at = 0;
    } else if (eng_postcopy_enter(e, a, "stalled, paused by migrationd")) {
        eng_postcopy_need_worker(e, a);
    }
    pthread_mutex_unlock(&e->lock);
}

bool eng_postcopy_after_failed_call(md_engine *e, active *a)
{
    md_mig_state s;
    char domain[MD_UUID_LEN];
    md_hv_job job;
    md_err err;

    pthread_mutex_lock(&e->lock);
    s = a->rec.state;
    md_strlcpy(domain, a->domain, sizeof domain);
    pthread_mutex_unlock(&e->lock);
    /* Before post-copy started, a failed call is an ordinary failure: the
     * guest is whole on the source. The job may have switched between two
     * monitor passes, so RUNNING asks too. */
    if (s != MD_MIG_RUNNING && s != MD_MIG_POSTCOPY && s != MD_MIG_POSTCOPY_RECOVERING)
        return false;
    md_status st = md_hv_job_stats(e->hv, domain, &job, &err);
    const char *why = "the migrate call failed in post-copy";
    bool unread = st != MD_OK && st != MD_ERR_NOT_FOUND && s != MD_MIG_RUNNING;
    /* In post-copy, a job that cannot be read now (libvirtd away for a
     * moment) is still half of the guest: recover it, and let the attempts
     * find out what it is. Settling it from a guess could end it in error
     * while libvirt holds the paused post-copy. */
    if (unread)
        why = "the migrate call failed in post-copy and the job cannot be read now";
    else if (st != MD_OK || !job.active || !job.post_copy)
        return false;
    pthread_mutex_lock(&e->lock);
    if (!unread && !job.post_copy_failed) {
        /* The call ended but the post-copy job goes on: the monitor watches
         * it to its end, as for a job recovered after a restart. */
        a->recovered = true;
        a->sample_now = true;
        eng_add_event(e, a, "detached", 0, "the migrate call ended but post-copy goes on");
        eng_wake_monitor(e);
        pthread_mutex_unlock(&e->lock);
        return true;
    }
    bool broken = eng_postcopy_enter(e, a, why);
    pthread_mutex_unlock(&e->lock);
    if (broken)
        eng_postcopy_recover(e, a);
    return broken;
}

void eng_postcopy_resumed(md_engine *e, active *a, const md_hv_job *job)
{
    pthread_mutex_lock(&e->lock);
    if (!a->done && a->in_resume_call && a->rec.state == MD_MIG_POSTCOPY_RECOVERING &&
        job->active && job->post_copy && !job->post_copy_failed) {
        eng_apply_stats(a, job);
        eng_transition(e, a, MD_MIG_POSTCOPY, "post-copy resumed (attempt %d): moving again",
                       a->rec.recovery_attempts);
        a->pc_progress_at = 0;
        a->stall_forced = false;
    }
    pthread_mutex_unlock(&e->lock);
}

void eng_postcopy_overdue(md_engine *e, active *a)
{
    /* Only for a record whose worker is still blocked in the migrate call
     * that owns the job (libvirt returns it when the daemons can talk
     * again, or when its keepalive gives up): the worker's own loop keeps
     * the window otherwise, with at least one attempt per daemon. */
    /* An operator's recover accepted meanwhile is carried out by that
     * worker once its call returns (libvirt's keepalive bounds the wait),
     * so the record waits for it rather than ending in error. */
    if (a->done || a->recovered || a->recovering_run || a->cmd_recover ||
        a->rec.state != MD_MIG_POSTCOPY_RECOVERING || a->recovery_deadline == 0 ||
        eng_mono_ms() < a->recovery_deadline)
        return;
    give_up(e, a,
            "none could start: the migrate call that owns the job has not returned, the "
            "destination does not answer");
}
