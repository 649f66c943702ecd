/* engine_monitor.c - the monitor thread, the settler thread and the hypervisor's events.
 *
 * One monitor wakes every live_migration_monitor_interval_ms, or at once
 * when an event flags a migration or a command arrives. For each flagged or
 * due active it carries out pending commands, reads the job's statistics,
 * feeds the policy engine and applies its action, recording each action as
 * an event, and flushes progress to the store in one transaction per pass.
 * The hypervisor's event thread only sets flags and wakes it.
 *
 * Progress in the store. A pass writes only the records that changed, and
 * not every change at once. What a restart or an operator must know is
 * written at the pass's end (dirty): a new pre-copy pass (iteration), the
 * sizes once the job knows them, a real downtime, and whatever a policy
 * or a command did (max downtime, paused, post-copy, recovery attempts);
 * a state change is written before anyone can see it (eng_transition).
 * The byte counters, rates, elapsed time and progress, which move at every
 * sample, are written with those, or on their own at most every
 * MD_ENGINE_PROGRESS_WRITE_MS (5 s; dirty_counters). Rewriting every
 * active record at every pass was two thirds of the monitor's CPU with 1000 migrations
 * (README, "Benchmark: monitor load"), for counters that nobody reads from
 * the store while the daemon runs: md_engine_get() and md_engine_list()
 * lay the in-memory record of a migration in progress over the store's, so
 * the API shows each sample as it is taken, and the metrics read memory.
 * A daemon killed loses at most that much of the counters, never a state,
 * a pass or an action; its recovery re-reads them from the job. What a
 * list filters on is the store's, so a changes-since filter may find a
 * record up to that long after a sample moved it.
 *
 * The monitor calls only this node's libvirtd. A job that has ended with
 * no worker waiting for it (re-attached after a restart, or whose call was
 * lost) is settled from where the domain runs, which may mean asking the
 * destination: a destination that drops packets makes that question take
 * seconds (service/hv.h, "Other hosts"), and every other migration's
 * samples and policy would wait behind it. So the monitor hands such a job
 * to the settler thread, which asks and settles, one job at a time; the
 * engine's start hands it the jobs that recovery found ended, so that no
 * destination is asked before the daemon serves.
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

/* How often the monitor lists the node's domains for md_engine_domains(). */
#define DOMAIN_REFRESH_MS 5000

static void sample_from_job(const md_hv_job *j, policy_sample *x)
{
    memset(x, 0, sizeof *x);
    x->elapsed_s = (double)j->elapsed_ms / 1000.0;
    x->iteration = j->iteration;
    x->mem_total = j->mem_total;
    x->mem_processed = j->mem_processed;
    x->mem_remaining = j->mem_remaining;
    x->disk_total = j->disk_total;
    x->disk_processed = j->disk_processed;
    x->disk_remaining = j->disk_remaining;
    x->transfer_rate = (double)j->transfer_rate;
    x->dirty_rate = (double)j->dirty_rate;
    x->post_copy = j->post_copy;
}

/* Carries out one action (policy's or an operator's) on the hypervisor,
 * without the lock, and records it. by_policy: the policy decided it, and
 * it is counted (e->counters.policy_actions) once the hypervisor has
 * carried it out - an abort once it is recorded, before it is sent. */
static void apply_action(md_engine *e, active *a, const policy_action *act, const char *who,
                         bool by_policy)
{
    md_err err;
    md_status st;

    if (act->kind == POLICY_ACT_NONE)
        return;
    if (act->kind == POLICY_ACT_ABORT) {
        /* The abort is recorded before it is sent: the job may end, and the
         * worker record "cancelled", before the call returns, and the
         * timeline must show the cause before the effect. */
        pthread_mutex_lock(&e->lock);
        a->abort_requested = true;
        if (!a->abort_recorded) {
            a->abort_recorded = true;
            /* Counted once, here: an abort the job refuses for now is sent
             * again at the next pass (below), and it is still this one. */
            if (by_policy)
                e->counters.policy_actions[POLICY_ACT_ABORT]++;
            eng_add_event(e, a, "abort", 0, "%s: %s", who, act->reason);
        }
        pthread_mutex_unlock(&e->lock);
    }
    switch (act->kind) {
    case POLICY_ACT_SET_DOWNTIME:
        st = md_hv_set_max_downtime(e->hv, a->domain, act->downtime_ms, &err);
        break;
    case POLICY_ACT_POST_COPY: st = md_hv_start_post_copy(e->hv, a->domain, &err); break;
    case POLICY_ACT_PAUSE: st = md_hv_suspend(e->hv, a->domain, &err); break;
    case POLICY_ACT_ABORT: st = md_hv_abort_job(e->hv, a->domain, false, &err); break;
    default: return;
    }
    pthread_mutex_lock(&e->lock);
    if (st == MD_ERR_CONFLICT && act->kind == POLICY_ACT_ABORT && !a->done) {
        /* The worker has marked the migration running but the job does
         * not exist yet: try again at the next pass rather than lose it. */
        a->cmd_abort = true;
    } else if (st != MD_OK) {
        eng_add_event(e, a, "error", 0, "%s %s failed: %s", who, policy_action_str(act->kind),
                      err.msg);
    } else if (act->kind != POLICY_ACT_ABORT) {
        if (by_policy)
            e->counters.policy_actions[act->kind]++;
        if (act->kind == POLICY_ACT_SET_DOWNTIME)
            a->rec.current_downtime_ms = act->downtime_ms;
        if (act->kind == POLICY_ACT_PAUSE) {
            /* Written now, not at the end of the pass: a daemon killed
             * before then must still know, at its restart, that it paused
             * the guest and has to resume it if the migration fails. */
            a->rec.paused = true;
            if (!a->done) /* a final record is not written again */
                eng_write_record(e, &a->rec, NULL, true, NULL);
        }
        a->dirty = true;
        eng_add_event(e, a, policy_action_str(act->kind),
                      act->kind == POLICY_ACT_SET_DOWNTIME ? act->downtime_ms : 0, "%s: %s", who,
                      act->reason);
    }
    pthread_mutex_unlock(&e->lock);
}

/* ---- monitor ------------------------------------------------------------------ */

/* Settles a re-attached migration whose job is gone. Without the lock: the
 * settler thread. */
static void settle_detached(md_engine *e, active *a)
{
    char msg[MD_MESSAGE_LEN] = "the job ended while no call was waiting for it";
    md_hv_location loc = eng_locate_and_resume(e, a, msg, sizeof msg);

    pthread_mutex_lock(&e->lock);
    if (!a->done && !e->stopping)
        eng_settle(e, a, MD_ERR_HYPERVISOR, msg, loc);
    pthread_mutex_unlock(&e->lock);
}

/* Marks an operator's command carried out. Not an abort: it stays pending
 * until the record is final (vtransition finishes it), because a daemon
 * killed between libvirt's abort and the record's end must still end the
 * record cancelled after its restart, not failed. Without the lock. */
static void command_done(md_engine *e, active *a, md_command_kind kind)
{
    if (kind == MD_CMD_ABORT)
        return;
    pthread_mutex_lock(&e->lock);
    eng_command_done(e, a, kind);
    pthread_mutex_unlock(&e->lock);
}

/* One monitor visit to a: commands first, then a sample and the policy. */
static void monitor_one(md_engine *e, active *a)
{
    bool abort_cmd, force, post_copy, speed, attached, recovered;
    uint32_t bandwidth;
    policy_action act;
    md_hv_job job;
    md_err err;
    md_status st;

    pthread_mutex_lock(&e->lock);
    if (a->rec.state == MD_MIG_POSTCOPY_RECOVERING) {
        /* A worker resumes it (or will: this makes sure one does); the
         * policy has nothing to say while the guest is split. While its
         * resume call runs, look whether the job moves again. */
        eng_postcopy_need_worker(e, a);
        eng_postcopy_overdue(e, a);
        bool resuming = a->in_resume_call;
        pthread_mutex_unlock(&e->lock);
        if (resuming && md_hv_job_stats(e->hv, a->domain, &job, &err) == MD_OK)
            eng_postcopy_resumed(e, a, &job);
        return;
    }
    abort_cmd = a->cmd_abort;
    force = a->cmd_force;
    post_copy = a->cmd_post_copy;
    speed = a->cmd_speed;
    a->cmd_abort = a->cmd_force = a->cmd_post_copy = a->cmd_speed = false;
    attached = a->attached;
    recovered = a->recovered;
    bandwidth = a->rec.bandwidth_mibps;
    pthread_mutex_unlock(&e->lock);

    if (!attached)
        return; /* preparing: its worker carries the commands over */
    /* The worker marks the record running just before its migrate call
     * starts the job, so a command may come while the hypervisor has no job
     * yet and would refuse it: it waits for the next pass instead. (An
     * abort has its own retry in apply_action.) */
    if (!recovered && (force || post_copy || speed)) {
        md_status js = md_hv_job_stats(e->hv, a->domain, &job, &err);
        if (js == MD_ERR_NOT_FOUND || (js == MD_OK && !job.active && !job.ending)) {
            pthread_mutex_lock(&e->lock);
            a->cmd_force |= force;
            a->cmd_post_copy |= post_copy;
            a->cmd_speed |= speed;
            pthread_mutex_unlock(&e->lock);
            force = post_copy = speed = false;
        }
    }
    if (force) {
        pthread_mutex_lock(&e->lock);
        act = policy_force_complete(&a->pol);
        pthread_mutex_unlock(&e->lock);
    }
    if (abort_cmd) {
        policy_action ab = { .kind = POLICY_ACT_ABORT };
        snprintf(ab.reason, sizeof ab.reason, "abort requested");
        apply_action(e, a, &ab, "operator", false);
        command_done(e, a, MD_CMD_ABORT);
    }
    if (force) {
        apply_action(e, a, &act, "operator force-complete", false);
        command_done(e, a, MD_CMD_FORCE_COMPLETE);
    }
    if (post_copy) {
        policy_action pc = { .kind = POLICY_ACT_POST_COPY };
        snprintf(pc.reason, sizeof pc.reason, "post-copy requested");
        apply_action(e, a, &pc, "operator", false);
        command_done(e, a, MD_CMD_POST_COPY);
    }
    if (speed) {
        st = md_hv_set_max_speed(e->hv, a->domain, bandwidth, &err);
        pthread_mutex_lock(&e->lock);
        if (st == MD_OK)
            eng_add_event(e, a, "set_bandwidth", bandwidth, "operator: bandwidth %u MiB/s%s",
                          bandwidth, bandwidth ? "" : " (unlimited)");
        else
            eng_add_event(e, a, "error", 0, "operator set bandwidth failed: %s", err.msg);
        eng_command_done(e, a, MD_CMD_SPEED);
        pthread_mutex_unlock(&e->lock);
    }

    st = md_hv_job_stats(e->hv, a->domain, &job, &err);
    if (st == MD_ERR_NOT_FOUND || (st == MD_OK && !job.active)) {
        /* The job is over. A worker waiting in migrate() settles it; with
         * none waiting (after a restart or a lost call) it is ours. */
        if (recovered) {
            pthread_mutex_lock(&e->lock);
            eng_settle_later(e, a, false);
            pthread_mutex_unlock(&e->lock);
        }
        return;
    }
    if (st != MD_OK) {
        md_warn("migration %s: cannot read job statistics: %s", a->rec.uuid, err.msg);
        return;
    }
    if (job.ending)
        return; /* no statistics; the record keeps the last ones seen */

    policy_sample x;
    sample_from_job(&job, &x);
    pthread_mutex_lock(&e->lock);
    if (a->done) {
        pthread_mutex_unlock(&e->lock);
        return;
    }
    eng_apply_stats(a, &job);
    if (job.post_copy && !job.post_copy_failed && a->rec.state == MD_MIG_RUNNING)
        eng_transition(e, a, MD_MIG_POSTCOPY, "the job switched to post-copy");
    act = policy_step_sample(&a->pol, &x);
    pthread_mutex_unlock(&e->lock);
    apply_action(e, a, &act, "policy", true);
    if (job.post_copy)
        eng_postcopy_watch(e, a, &job);
}

/* ---- progress in the store ------------------------------------------------------ */

/* Whether a's record is to be written now (see "Progress in the store"). */
static bool write_due(const active *a, int64_t now, bool all)
{
    return a->dirty ||
           (a->dirty_counters && (all || now - a->written_at >= MD_ENGINE_PROGRESS_WRITE_MS));
}

void eng_flush_progress(md_engine *e, bool all)
{
    const md_migration **v = NULL;
    active **who = NULL;
    int64_t now = eng_mono_ms();
    size_t n = 0;
    md_err err;

    /* Progress is written again at a later pass: while the store cannot
     * take writes it waits (the records stay dirty) rather than queue
     * behind the pending state changes or hold the lock in a busy wait. */
    if (e->wq_head || e->degraded)
        return;
    for (size_t i = 0; i < e->nact; i++)
        n += write_due(e->act[i], now, all);
    if (n == 0)
        return;
    v = malloc(n * sizeof *v);
    who = malloc(n * sizeof *who);
    if (!v || !who)
        goto cleanup; /* the next pass tries again */
    n = 0;
    for (size_t i = 0; i < e->nact; i++) {
        active *a = e->act[i];
        if (write_due(a, now, all)) {
            who[n] = a;
            v[n++] = &a->rec;
        }
    }
    md_status st = md_store_update_many(e->store, v, n, &err);
    if (st == MD_OK) {
        for (size_t i = 0; i < n; i++) {
            who[i]->dirty = who[i]->dirty_counters = false;
            who[i]->written_at = now;
        }
    } else if (st == MD_ERR_IO) {
        eng_store_failed(e, &err);
    } else {
        md_error("cannot record progress: %s", err.msg);
    }
cleanup:
    free(v);
    free(who);
}

void eng_overlay_active(md_engine *e, const md_store_filter *f, md_migration *v, size_t n)
{
    for (size_t i = 0; i < n && e->nact; i++) {
        if (!md_mig_state_in_progress(v[i].state))
            continue; /* an ended record is the store's: it has left the table */
        active *a = eng_table_find(e, v[i].uuid);
        /* A live copy that f no longer selects (its updated_at moved past a
         * changes-before) would contradict the list's own filter: the copy
         * that f selected is shown instead, a few seconds older. */
        if (a && eng_filter_selects(f, &a->rec))
            v[i] = a->rec;
    }
}

/* Lists the node's domains for the API, which must not call the
 * hypervisor itself. Without the lock; takes it to swap the list in. */
void eng_refresh_domains(md_engine *e)
{
    md_hv_domain *v = NULL, *old;
    size_t n = 0;
    md_err err;

    if (md_hv_list(e->hv, &v, &n, &err) != MD_OK) {
        md_warn("cannot list the node's domains: %s", err.msg);
        return;
    }
    pthread_mutex_lock(&e->lock);
    old = e->domains;
    e->domains = v;
    e->ndomains = n;
    e->domains_at = eng_mono_ms();
    pthread_cond_broadcast(&e->changed); /* a request waiting for a fresh list */
    pthread_mutex_unlock(&e->lock);
    free(old);
}

md_status md_engine_domains(md_engine *e, md_hv_domain **out, size_t *n, md_err *err)
{
    md_status st = MD_OK;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&e->lock);
    if (e->ndomains) {
        *out = malloc(e->ndomains * sizeof **out);
        if (*out) {
            memcpy(*out, e->domains, e->ndomains * sizeof **out);
            *n = e->ndomains;
        } else {
            st = md_err_set(err, MD_ERR_NOMEM, "out of memory");
        }
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

void *eng_monitor_main(void *arg)
{
    md_engine *e = arg;
    int64_t interval = e->cfg->libvirt.live_migration_monitor_interval_ms;
    int64_t next_tick = eng_mono_ms() + interval;
    active **snap = NULL;
    size_t snapcap = 0;
    eng_purge_state purge = { 0 };

    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, next_tick - eng_mono_ms());
        while (!e->stopping && !e->monitor_wake && eng_mono_ms() < next_tick)
            if (pthread_cond_timedwait(&e->wake, &e->lock, &until) == ETIMEDOUT)
                break;
        if (e->stopping)
            break;
        bool tick = eng_mono_ms() >= next_tick;
        if (tick) {
            next_tick += interval;
            if (next_tick < eng_mono_ms())
                next_tick = eng_mono_ms() + interval; /* fell behind: do not race to catch up */
        }
        e->monitor_wake = false;

        if (snapcap < e->nact) {
            active **v = realloc(snap, e->nact * sizeof *v);
            if (!v)
                continue;
            snap = v;
            snapcap = e->nact;
        }
        size_t n = 0;
        for (size_t i = 0; i < e->nact; i++) {
            active *a = e->act[i];
            if (a->note_postcopy_failed) {
                a->note_postcopy_failed = false;
                eng_add_event(e, a, "post_copy_failed", 0,
                              "the hypervisor reports post-copy failed");
            }
            bool cmd = a->cmd_abort || a->cmd_force || a->cmd_post_copy || a->cmd_speed;
            if (a->attached && (tick || a->sample_now || cmd)) {
                a->sample_now = false;
                a->refs++;
                snap[n++] = a;
            }
        }
        bool list_due = e->domains_wanted ||
                        (tick && eng_mono_ms() - e->domains_at >= DOMAIN_REFRESH_MS);
        e->domains_wanted = false;
        pthread_mutex_unlock(&e->lock);
        if (list_due)
            eng_refresh_domains(e);
        if (tick)
            eng_purge_tick(e, &purge);
        for (size_t i = 0; i < n; i++)
            monitor_one(e, snap[i]);
        pthread_mutex_lock(&e->lock);
        eng_flush_progress(e, false);
        eng_finals_tick(e, false);
        for (size_t i = 0; i < n; i++)
            eng_active_put(snap[i]);
    }
    pthread_mutex_unlock(&e->lock);
    free(snap);
    return NULL;
}

/* ---- settler ------------------------------------------------------------------ */

void eng_settle_later(md_engine *e, active *a, bool after_restart)
{
    if (a->settle_pending || a->done)
        return;
    a->settle_pending = true;
    a->settle_after_restart = after_restart;
    a->attached = false; /* nothing left to sample: the job has ended */
    a->refs++;           /* the queue's */
    eng_queue_push(&e->settles, a);
    pthread_cond_signal(&e->settle);
}

void *eng_settler_main(void *arg)
{
    md_engine *e = arg;

    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (!e->stopping && !e->settles.head)
            pthread_cond_wait(&e->settle, &e->lock);
        if (e->stopping)
            break;
        active *a = eng_queue_pop(&e->settles); /* the queue's reference is now ours */
        bool after_restart = a->settle_after_restart;
        pthread_mutex_unlock(&e->lock);
        if (after_restart)
            eng_settle_recovered(e, a);
        else
            settle_detached(e, a);
        pthread_mutex_lock(&e->lock);
        a->settle_pending = false;
        eng_active_put(a);
    }
    e->settler_alive = false;
    bool last = eng_last_out(e); /* see eng_worker_main */
    pthread_mutex_unlock(&e->lock);
    if (last)
        eng_free(e);
    return NULL;
}

void eng_wake_monitor(md_engine *e)
{
    e->monitor_wake = true;
    pthread_cond_signal(&e->wake);
}

/* The hypervisor's events: flags and wake-ups only (its thread, no calls
 * back, no store writes: the monitor records what the flags say). */
void eng_on_hv_event(void *ctx, const md_hv_event *ev)
{
    md_engine *e = ctx;

    pthread_mutex_lock(&e->lock);
    if (ev->kind == MD_HV_EV_CONNECTION_LOST) {
        md_warn("hypervisor connection lost; reconnecting");
    } else if (ev->kind == MD_HV_EV_RECONNECTED) {
        md_info("hypervisor connection back; checking every migration in flight");
        for (size_t i = 0; i < e->nact; i++)
            e->act[i]->sample_now = true;
        eng_wake_monitor(e);
    } else {
        active *a = eng_table_find_domain(e, ev->uuid);
        /* A migration recorded completed before its event came waits for
         * it beside the table (engine_worker.c, "The end's statistics"). */
        if (!a && ev->kind == MD_HV_EV_JOB_COMPLETED)
            a = eng_finals_find_domain(e, ev->uuid);
        if (a) {
            if (ev->kind == MD_HV_EV_JOB_COMPLETED) {
                a->have_final = true;
                a->final = ev->job;
                pthread_cond_broadcast(&e->changed);
            }
            /* Recorded by the monitor: this thread never waits on SQLite. */
            if (ev->kind == MD_HV_EV_POSTCOPY_FAILED)
                a->note_postcopy_failed = true;
            a->sample_now = true;
            eng_wake_monitor(e);
        }
    }
    pthread_mutex_unlock(&e->lock);
}
