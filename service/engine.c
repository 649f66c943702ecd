/* engine.c - the migration service's core: the table of actives, transitions, start and stop.
 *
 * DESIGN
 * ------
 * The engine is split by job (engine_priv.h lists the files): this file
 * holds the table and queue, events and state transitions, settling a job's
 * end, the queries, and start and stop; the workers, the monitor, the
 * requests and the recovery at start live in engine_*.c beside it.
 *
 * Every migration in progress is an `active` in one table, guarded by one
 * mutex (e->lock). The lock is held only to read or change actives and to
 * write the store (so that a state change is durable before anyone can see
 * it); it is never held across a call into the hypervisor, which may block.
 *
 * Threads:
 *  - Workers (max_concurrent_live_migrations of them) pop the FIFO queue,
 *    resolve the domain, move the record to preparing and then running, and
 *    block in md_hv_migrate(). When it returns they settle the end state
 *    from the call's result AND where the domain now runs: a failed call
 *    whose domain is active on the destination is a completed migration.
 *    The end is recorded at once; a downtime that comes after it is added
 *    to the ended record (engine_worker.c).
 *  - The monitor wakes every live_migration_monitor_interval_ms, or at once
 *    when an event flags a migration (iteration end, post-copy, completion)
 *    or a command arrives. For each flagged or due active it carries out
 *    pending commands, reads the job's statistics, feeds the policy engine
 *    and applies its action, recording each action as an event. What
 *    changed is flushed to the store in one transaction per pass, the byte
 *    counters alone at most every few seconds (engine_monitor.c).
 *  - The settler settles, one at a time, the jobs that ended with no worker
 *    waiting for them (engine_monitor.c): finding where the domain runs may
 *    mean asking the destination, which neither the monitor nor the start
 *    may wait for.
 *  - The hypervisor's event thread only sets flags and wakes the monitor.
 *  - API threads call md_engine_*: they check the request against the
 *    state under the lock, record it, wake the monitor and return. A queued
 *    migration is cancelled right there, without the hypervisor.
 *
 * An active is reference counted: the table holds one reference, and a
 * worker or a monitor pass that works on it without the lock holds another,
 * so that it outlives its removal from the table (at its final state) until
 * the last user lets go.
 *
 * Recovery (md_engine_start, before any thread): a queued record is queued
 * again; for one that was preparing, running or in post-copy, a job that
 * still runs is re-attached to the monitor (libvirt's P2P jobs outlive us),
 * and a job that has ended is handed to the settler, which settles it from
 * where the domain runs now.
 */
#include "service/engine.h"

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

/* How long md_engine_stop waits for each worker to return. */
#define WORKER_JOIN_MS 2000
/* How often a stop releases the hypervisor's waiters again while it joins. */
#define WORKER_RELEASE_MS 50

/* ---- the table of actives (all under e->lock) ---------------------------- */

active *eng_active_new(const md_migration *rec)
{
    active *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->refs = 1;
    a->rec = *rec;
    if (md_uuid_valid(rec->instance_uuid))
        md_strlcpy(a->domain, rec->instance_uuid, sizeof a->domain);
    return a;
}

void eng_active_put(active *a)
{
    if (a && --a->refs == 0)
        free(a);
}

md_status eng_table_add(md_engine *e, active *a, md_err *err)
{
    if (e->nact == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        active **v = realloc(e->act, cap * sizeof *v);
        if (!v)
            return md_err_set(err, MD_ERR_NOMEM, "out of memory for migration %s", a->rec.uuid);
        e->act = v;
        e->cap = cap;
    }
    e->act[e->nact++] = a;
    return MD_OK;
}

active *eng_table_find(md_engine *e, const char *uuid)
{
    for (size_t i = 0; i < e->nact; i++) {
        if (strcasecmp(e->act[i]->rec.uuid, uuid) == 0)
            return e->act[i];
    }
    return NULL;
}

active *eng_table_find_domain(md_engine *e, const char *domain)
{
    for (size_t i = 0; i < e->nact; i++) {
        if (e->act[i]->domain[0] && strcasecmp(e->act[i]->domain, domain) == 0)
            return e->act[i];
    }
    return NULL;
}

/* Takes a from the table (it has reached a final state) and drops the
 * table's reference. */
void eng_table_remove(md_engine *e, active *a)
{
    for (size_t i = 0; i < e->nact; i++) {
        if (e->act[i] == a) {
            e->act[i] = e->act[--e->nact];
            a->done = true;
            eng_active_put(a);
            return;
        }
    }
}

void eng_queue_push(eng_queue *q, active *a)
{
    a->qnext = NULL;
    if (q->tail)
        q->tail->qnext = a;
    else
        q->head = a;
    q->tail = a;
    q->n++;
}

active *eng_queue_pop(eng_queue *q)
{
    active *a = q->head;
    if (a) {
        q->head = a->qnext;
        if (!q->head)
            q->tail = NULL;
        a->qnext = NULL;
        q->n--;
    }
    return a;
}

void eng_queue_remove(eng_queue *q, active *a)
{
    active **pp = &q->head, *prev = NULL;

    while (*pp && *pp != a) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = a->qnext;
    if (q->tail == a)
        q->tail = prev;
    a->qnext = NULL;
    q->n--;
}

/* ---- records and events (under e->lock) ----------------------------------- */

static void event_init(md_event *ev, const char *kind, int64_t value, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void event_init(md_event *ev, const char *kind, int64_t value, const char *fmt, va_list ap)
{
    memset(ev, 0, sizeof *ev);
    ev->at = eng_wall_ms();
    md_strlcpy(ev->kind, kind, sizeof ev->kind);
    ev->value = value;
    vsnprintf(ev->message, sizeof ev->message, fmt, ap);
}

/* Records an event on a's timeline; a failure to store it is logged (the
 * action it describes has happened either way). */
void eng_add_event(md_engine *e, active *a, const char *kind, int64_t value, const char *fmt, ...)
{
    md_event ev;
    va_list ap;

    va_start(ap, fmt);
    event_init(&ev, kind, value, fmt, ap);
    va_end(ap);
    md_info("migration %s: %s: %s", a->rec.uuid, kind, ev.message);
    eng_write_event(e, a->rec.uuid, &ev);
}

md_status eng_add_command(md_engine *e, active *a, md_command_kind kind, md_err *err,
                          const char *event_kind, const char *fmt, ...)
{
    md_command c = { .kind = kind, .created_at = eng_wall_ms() };
    md_event ev;
    int64_t id = 0;
    va_list ap;

    md_strlcpy(c.uuid, a->rec.uuid, sizeof c.uuid);
    /* A command is a request's: accepted only once it is durable, and never
     * written ahead of pending writes (engine_store.c). */
    md_status st = eng_writable(e, err);
    if (st != MD_OK)
        return st;
    if (event_kind) {
        va_start(ap, fmt);
        event_init(&ev, event_kind, 0, fmt, ap);
        va_end(ap);
        md_info("migration %s: %s: %s", a->rec.uuid, event_kind, ev.message);
    }
    st = md_store_add_command(e->store, &c, event_kind ? &ev : NULL, &id, err);
    if (st == MD_ERR_IO) {
        eng_store_failed(e, err);
        return eng_writable(e, err);
    }
    if (st != MD_OK)
        return st;
    /* A repeated command (a second recover) replaces the first: both are
     * satisfied by carrying it out once. */
    if (a->cmd_id[kind])
        eng_command_done(e, a, kind);
    a->cmd_id[kind] = id;
    return MD_OK;
}

void eng_command_done(md_engine *e, active *a, md_command_kind kind)
{
    switch (kind) {
    case MD_CMD_ABORT: a->cmd_abort = false; break;
    case MD_CMD_FORCE_COMPLETE: a->cmd_force = false; break;
    case MD_CMD_POST_COPY: a->cmd_post_copy = false; break;
    case MD_CMD_RECOVER: a->cmd_recover = false; break;
    case MD_CMD_SPEED: a->cmd_speed = false; break;
    }
    if (a->cmd_id[kind])
        eng_write_finish_command(e, a->rec.uuid, a->cmd_id[kind]);
    a->cmd_id[kind] = 0;
}

/* Moves a to state `to`, writing record and event in one transaction before
 * anything else can see it. A final state takes a out of the table. For a
 * request (may_defer false), a store that cannot take the change refuses
 * it: the change is not made, and the status and message are in *err. The
 * engine's own changes (may_defer true) are made whatever the store says:
 * what it cannot take now is written later, in order (engine_store.c). */
static md_status vtransition(md_engine *e, active *a, md_mig_state to, bool may_defer, md_err *err,
                             const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

static md_status vtransition(md_engine *e, active *a, md_mig_state to, bool may_defer, md_err *err,
                             const char *fmt, va_list ap)
{
    md_migration next = a->rec;
    md_event ev;
    md_err own;
    md_status st;

    if (!err)
        err = &own;
    if (!md_mig_transition_allowed(a->rec.state, to)) {
        st = md_err_set(err, MD_ERR_INTERNAL, "migration %s: refused transition %s -> %s (a bug)",
                        a->rec.uuid, md_mig_state_str(a->rec.state), md_mig_state_str(to));
        md_error("%s", err->msg);
        return st;
    }
    event_init(&ev, "state", 0, fmt, ap);
    next.state = to;
    next.updated_at = ev.at;
    if (to == MD_MIG_POSTCOPY || to == MD_MIG_POSTCOPY_RECOVERING)
        next.post_copy = true;
    /* recovery_started_at dates the current break: none once post-copy
     * moves again or completes. An error keeps it, which is what lets an
     * operator's recover take the record back. */
    if (a->rec.state == MD_MIG_POSTCOPY_RECOVERING &&
        (to == MD_MIG_POSTCOPY || to == MD_MIG_COMPLETED))
        next.recovery_started_at = 0;
    if (to == MD_MIG_FAILED || to == MD_MIG_ERROR)
        md_strlcpy(next.error, ev.message, sizeof next.error);
    else if (md_mig_state_in_progress(to))
        next.error[0] = '\0'; /* an operator's recover takes a record out of error */
    if (to == MD_MIG_COMPLETED || to == MD_MIG_CANCELLED || to == MD_MIG_FAILED)
        next.paused = false;
    next.progress = md_migration_progress(&next);
    st = eng_write_record(e, &next, &ev, may_defer, err);
    if (st != MD_OK) {
        md_error("migration %s: cannot record %s -> %s: %s", a->rec.uuid,
                 md_mig_state_str(a->rec.state), md_mig_state_str(to), err->msg);
        return st;
    }
    md_info("migration %s: %s -> %s: %s", a->rec.uuid, md_mig_state_str(a->rec.state),
            md_mig_state_str(to), ev.message);
    md_mig_state from = a->rec.state;
    a->rec = next;
    a->dirty = a->dirty_counters = false;
    a->written_at = eng_mono_ms();
    eng_metrics_transition(e, a, from);
    if (!md_mig_state_in_progress(to)) {
        /* What is still pending (an abort until now) has had its effect. */
        for (int k = 0; k < MD_CMD_NKINDS; k++) {
            if (a->cmd_id[k])
                eng_command_done(e, a, (md_command_kind)k);
        }
        eng_table_remove(e, a);
    }
    pthread_cond_broadcast(&e->changed);
    return MD_OK;
}

/* vtransition() for the engine's own threads, which log a failure and go on. */
md_status eng_transition(md_engine *e, active *a, md_mig_state to, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    md_status st = vtransition(e, a, to, true, NULL, fmt, ap);
    va_end(ap);
    return st;
}

/* vtransition() for a request, whose caller passes the store's reason on. */
md_status eng_transition_err(md_engine *e, active *a, md_mig_state to, md_err *err, const char *fmt,
                             ...)
{
    va_list ap;

    va_start(ap, fmt);
    md_status st = vtransition(e, a, to, false, err, fmt, ap);
    va_end(ap);
    return st;
}

/* Copies a job's statistics into the record (live fields only). */
void eng_apply_stats(active *a, const md_hv_job *j)
{
    md_migration *r = &a->rec;
    /* A new pass, the sizes once known and a real downtime are written at
     * the pass's end; the rest is counters (engine_monitor.c). */
    bool marks = r->memory_iteration != j->iteration || r->memory_total_bytes != j->mem_total ||
                 r->disk_total_bytes != j->disk_total ||
                 (j->downtime_ms >= 0 && r->downtime_ms != j->downtime_ms);

    r->memory_total_bytes = j->mem_total;
    r->memory_processed_bytes = j->mem_processed;
    r->memory_remaining_bytes = j->mem_remaining;
    r->disk_total_bytes = j->disk_total;
    r->disk_processed_bytes = j->disk_processed;
    r->disk_remaining_bytes = j->disk_remaining;
    r->memory_iteration = j->iteration;
    r->transfer_rate = j->transfer_rate;
    r->dirty_rate = j->dirty_rate;
    r->elapsed_ms = j->elapsed_ms;
    if (j->downtime_ms >= 0)
        r->downtime_ms = j->downtime_ms;
    r->progress = md_migration_progress(r);
    r->updated_at = eng_wall_ms();
    if (marks)
        a->dirty = true;
    else
        a->dirty_counters = true;
}

/* ---- policy ----------------------------------------------------------------- */

/* Starts a's policy for a domain of the given size. */
void eng_policy_start(md_engine *e, active *a, const md_hv_domain *dom)
{
    policy_settings ps;
    double gib = policy_data_gib(dom->ram_bytes, a->rec.block_migration ? dom->disk_bytes : NULL,
                                 a->rec.block_migration ? dom->ndisks : 0);

    md_config_policy_settings(e->cfg, gib, &ps);
    ps.kind = a->rec.policy;
    ps.downtime_ms = a->rec.max_downtime_ms;
    ps.permit_post_copy = a->rec.permit_post_copy;
    /* A drain's plan, from the record: a restart keeps it. */
    ps.post_copy_after_first_pass = a->rec.post_copy_after_first_pass && a->rec.permit_post_copy;
    /* The drain planned any other guest of its own in pre-copy. */
    ps.post_copy_only_to_rescue = a->rec.drain_uuid[0] != '\0' &&
                                  !a->rec.post_copy_after_first_pass;
    ps.timeout_action = a->rec.timeout_action;
    policy_init(&a->pol, &ps);
}

/* ---- settling the end of a job --------------------------------------------- */

/* Decides and records the final state of a whose job has ended. st is the
 * migrate call's result (MD_OK: libvirt said completed), msg its message,
 * loc where the domain runs now. Under e->lock. */
void eng_settle(md_engine *e, active *a, md_status st, const char *msg, md_hv_location loc)
{
    /* The JOB_COMPLETED event's statistics when they are here already;
     * otherwise the end is recorded now and they are added when they come
     * (eng_await_final, below). */
    if (a->have_final)
        eng_apply_stats(a, &a->final);
    if (st == MD_OK && a->rec.downtime_ms >= 0) {
        eng_transition(e, a, MD_MIG_COMPLETED, "migration completed (downtime %lld ms)",
                       (long long)a->rec.downtime_ms);
    } else if (st == MD_OK) {
        eng_transition(e, a, MD_MIG_COMPLETED,
                       "migration completed (downtime not known yet: it comes with the "
                       "hypervisor's final statistics)");
    } else if (loc == MD_HV_LOC_DEST) {
        /* Nova learned this one the hard way: the call can fail after the
         * guest has already moved. Where it runs is the truth. */
        eng_transition(e, a, MD_MIG_COMPLETED,
                       "the domain runs on %s: completed (the hypervisor reported: %s)",
                       a->rec.dest_compute, msg);
    } else if (loc == MD_HV_LOC_SOURCE &&
               (a->rec.state == MD_MIG_POSTCOPY || a->rec.state == MD_MIG_POSTCOPY_RECOVERING)) {
        eng_transition(e, a, MD_MIG_ERROR,
                       "post-copy failed (%s); the guest is paused on the source and needs "
                       "post-copy recovery",
                       msg);
    } else if (loc == MD_HV_LOC_SOURCE && a->abort_requested) {
        eng_transition(e, a, MD_MIG_CANCELLED, "aborted; the guest runs on the source (%s)", msg);
    } else if (loc == MD_HV_LOC_SOURCE) {
        eng_transition(e, a, MD_MIG_FAILED, "%s", msg);
    } else if (loc == MD_HV_LOC_NOWHERE) {
        eng_transition(e, a, MD_MIG_ERROR, "the domain is active on neither node (%s)", msg);
    } else {
        eng_transition(e, a, MD_MIG_ERROR, "cannot tell where the domain runs (%s)", msg);
    }
    eng_await_final(e, a);
}

/* Finds where a's domain is and, if it was paused by force-complete and is
 * still on the source, resumes it (as Nova does when the migration fails).
 * When the location cannot be told, appends why to msg (which holds what
 * ended the job). Without the lock. */
md_hv_location eng_locate_and_resume(md_engine *e, active *a, char *msg, size_t msglen)
{
    md_hv_location loc = MD_HV_LOC_UNKNOWN;
    md_err err;
    bool paused;

    if (md_hv_locate(e->hv, a->domain, a->dest_uri, &loc, &err) != MD_OK) {
        size_t len = strlen(msg);
        snprintf(msg + len, msglen - len, "%swhere the domain runs: %s", len ? "; " : "", err.msg);
        return MD_HV_LOC_UNKNOWN;
    }
    pthread_mutex_lock(&e->lock);
    /* The source's copy of a post-copy guest is stale (its vCPUs run on the
     * destination): it must never be resumed, whatever the record says. */
    paused = a->rec.paused && a->rec.state != MD_MIG_POSTCOPY &&
             a->rec.state != MD_MIG_POSTCOPY_RECOVERING;
    pthread_mutex_unlock(&e->lock);
    if (loc == MD_HV_LOC_SOURCE && paused) {
        md_status st = md_hv_resume(e->hv, a->domain, &err);
        pthread_mutex_lock(&e->lock);
        if (st == MD_OK) {
            a->rec.paused = false;
            eng_add_event(e, a, "resume", 0, "the migration did not complete: guest resumed");
        } else {
            eng_add_event(e, a, "error", 0, "cannot resume the paused guest: %s", err.msg);
        }
        pthread_mutex_unlock(&e->lock);
    }
    return loc;
}

md_status md_engine_get(md_engine *e, const char *uuid, md_migration *out, md_err *err)
{
    md_status st = MD_OK;

    bool stored = false;

    pthread_mutex_lock(&e->lock);
    active *a = eng_table_find(e, uuid);
    if (a)
        *out = a->rec;
    else
        stored = !eng_pending_record(e, uuid, out);
    pthread_mutex_unlock(&e->lock);
    /* Neither in progress nor pending: ended and in the store, read without
     * the engine lock, which must not wait on the store's busy wait. */
    if (stored)
        st = md_store_get(e->store, uuid, out, err);
    /* The store's "no such record" names its file: a client gets the fact. */
    if (st == MD_ERR_NOT_FOUND)
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Migration %s could not be found", uuid);
    return st;
}

bool eng_filter_selects(const md_store_filter *f, const md_migration *m)
{
    return !f || ((!f->in_progress_only || md_mig_state_in_progress(m->state)) &&
                  (!f->have_state || m->state == f->state) &&
                  (!f->changes_since || m->updated_at >= f->changes_since) &&
                  (!f->changes_before || m->updated_at <= f->changes_before));
}

/* Keeps the records of v[0..n) that f selects (in order); returns how
 * many. The store applied f already: this is for the records a pending
 * write has made newer. */
static size_t keep_matching(const md_store_filter *f, md_migration *v, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (eng_filter_selects(f, &v[i]))
            v[k++] = v[i];
    return k;
}

md_status md_engine_list(md_engine *e, const md_store_filter *f, md_migration **out, size_t *n,
                         md_err *err)
{
    md_migration *snap;
    size_t nsnap;

    /* What the store has not taken yet has happened all the same: the
     * pending records are laid over the store's, those copied before the
     * store is read (the writer may commit and let go of one meanwhile)
     * and those pending after. */
    pthread_mutex_lock(&e->lock);
    snap = eng_pending_snapshot(e, &nsnap);
    pthread_mutex_unlock(&e->lock);
    md_status st = md_store_list(e->store, f, out, n, err);
    if (st == MD_OK) {
        eng_overlay_from(*out, *n, snap, nsnap);
        pthread_mutex_lock(&e->lock);
        eng_overlay_pending(e, *out, *n);
        /* A newer state may no longer match what was asked for. The live
         * progress laid over next does not decide that: a running record's
         * counters (and so its updated_at) reach the store only every
         * MD_ENGINE_PROGRESS_WRITE_MS, so the store selected it by its
         * written copy, and dropping it for its live updated_at would cut
         * a changes-before page short, which a client reads as the last. */
        *n = keep_matching(f, *out, *n);
        eng_overlay_active(e, f, *out, *n); /* live progress, as md_engine_get shows it */
        pthread_mutex_unlock(&e->lock);
    }
    free(snap);
    /* The only record a list looks up is the marker: one that names none
     * is a bad request, as in Nova, not a missing resource. */
    if (st == MD_ERR_NOT_FOUND && f && f->marker[0])
        st = md_err_set(err, MD_ERR_INVALID, "Marker %s could not be found.", f->marker);
    return st;
}

md_status md_engine_events(md_engine *e, const char *uuid, int64_t after_id, size_t limit,
                           md_event **out, size_t *n, md_err *err)
{
    md_status st = md_store_events_page(e->store, uuid, after_id, limit, out, n, err);

    if (st == MD_ERR_NOT_FOUND)
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Migration %s could not be found", uuid);
    return st;
}

void md_engine_counts(md_engine *e, size_t *running, size_t *queued)
{
    pthread_mutex_lock(&e->lock);
    *queued = e->queue.n;
    *running = e->nact - e->queue.n;
    pthread_mutex_unlock(&e->lock);
}

md_mig_state md_engine_wait(md_engine *e, const char *uuid, bool (*done)(md_mig_state),
                            int timeout_ms)
{
    struct timespec until = md_deadline_in(CLOCK_MONOTONIC, timeout_ms);
    md_migration r;
    md_mig_state s = MD_MIG_ERROR;

    pthread_mutex_lock(&e->lock);
    for (;;) {
        active *a = eng_table_find(e, uuid);
        if (a)
            s = a->rec.state;
        else if (eng_pending_record(e, uuid, &r) || md_store_get(e->store, uuid, &r, NULL) == MD_OK)
            s = r.state;
        if (done(s) || pthread_cond_timedwait(&e->changed, &e->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&e->lock);
    return s;
}

bool eng_last_out(md_engine *e)
{
    return e->abandoned && e->workers_alive == 0 && !e->settler_alive && !e->drainer_alive;
}

void eng_free(md_engine *e)
{
    active *q;

    while ((q = eng_queue_pop(&e->resumes)))
        eng_active_put(q); /* the resume queue's reference */
    while ((q = eng_queue_pop(&e->settles)))
        eng_active_put(q); /* the settle queue's reference */
    for (size_t i = 0; i < e->nact; i++)
        eng_active_put(e->act[i]);
    free(e->act);
    for (size_t i = 0; i < e->nfinals; i++)
        eng_active_put(e->finals[i]);
    free(e->finals);
    eng_drain_free(e);
    free(e->workers);
    free(e->domains);
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->changed);
    pthread_cond_destroy(&e->wcond);
    pthread_cond_destroy(&e->settle);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

md_status md_engine_start(const md_config *cfg, md_store *store, md_hv *hv, md_engine **out,
                          md_err *err)
{
    md_engine *e = calloc(1, sizeof *e);
    md_status st;
    int rc;

    *out = NULL;
    if (!e)
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    e->cfg = cfg;
    e->store = store;
    e->hv = hv;
    pthread_mutex_init(&e->lock, NULL);
    md_cond_init_monotonic(&e->work);
    md_cond_init_monotonic(&e->wake);
    md_cond_init_monotonic(&e->changed);
    md_cond_init_monotonic(&e->wcond);
    md_cond_init_monotonic(&e->settle);
    e->nworkers = (size_t)cfg->service.max_concurrent_live_migrations;
    e->workers = calloc(e->nworkers, sizeof *e->workers);
    if (!e->workers) {
        eng_free(e);
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    }
    eng_metrics_init(e);
    md_hv_set_event_handler(hv, eng_on_hv_event, e);

    /* The writer first: recovery's writes may already need it. */
    rc = pthread_create(&e->writer, NULL, eng_writer_main, e);
    if (rc != 0) {
        md_hv_set_event_handler(hv, NULL, NULL);
        eng_free(e);
        return md_err_set(err, MD_ERR_INTERNAL, "cannot start the store writer: %s", strerror(rc));
    }
    e->writer_started = true;
    /* The drain first, so that it sees the ends that recovery settles. */
    st = eng_drain_load(e, err);
    if (st != MD_OK)
        goto fail;
    st = eng_recover(e, err);
    if (st != MD_OK)
        goto fail;
    eng_refresh_domains(e);

    rc = pthread_create(&e->monitor, NULL, eng_monitor_main, e);
    if (rc != 0) {
        st = md_err_set(err, MD_ERR_INTERNAL, "cannot start the monitor: %s", strerror(rc));
        goto fail;
    }
    e->monitor_started = true;
    rc = pthread_create(&e->settler, NULL, eng_settler_main, e);
    if (rc != 0) {
        st = md_err_set(err, MD_ERR_INTERNAL, "cannot start the settler: %s", strerror(rc));
        goto fail;
    }
    e->settler_started = true;
    pthread_mutex_lock(&e->lock);
    e->settler_alive = true;
    pthread_mutex_unlock(&e->lock);
    for (size_t i = 0; i < e->nworkers; i++) {
        rc = pthread_create(&e->workers[i], NULL, eng_worker_main, e);
        if (rc != 0) {
            st = md_err_set(err, MD_ERR_INTERNAL, "cannot start worker %zu: %s", i, strerror(rc));
            goto fail;
        }
        pthread_mutex_lock(&e->lock);
        e->workers_alive++;
        e->nstarted++;
        pthread_mutex_unlock(&e->lock);
    }
    /* The drain thread last: it starts migrations, which need the rest. */
    rc = pthread_create(&e->drainer, NULL, eng_drain_main, e);
    if (rc != 0) {
        st = md_err_set(err, MD_ERR_INTERNAL, "cannot start the drain thread: %s", strerror(rc));
        goto fail;
    }
    e->drainer_started = true;
    pthread_mutex_lock(&e->lock);
    e->drainer_alive = true;
    pthread_mutex_unlock(&e->lock);
    md_info("engine: %zu workers, monitor every %d ms, policy %s", e->nworkers,
            cfg->libvirt.live_migration_monitor_interval_ms,
            policy_kind_str(cfg->libvirt.live_migration_policy));
    /* Said at every start, because it is a choice an operator should make
     * knowingly: without peers a writer of the API chooses where a guest's
     * memory goes. */
    if (cfg->peers.count == 0)
        md_warn("no peers are configured: migrations may go to any destination a writer of the "
                "API names; list this node's destinations in peers (etc/migrationd.conf)");
    else
        md_info("engine: %zu peers; migrations to other destinations are refused",
                cfg->peers.count);
    *out = e;
    return MD_OK;

fail:
    md_engine_stop(e);
    return st;
}

/* Joins thread t (a worker or the settler) within WORKER_JOIN_MS, or
 * detaches it and returns false: it is blocked in a hypervisor call that
 * cannot be interrupted (libvirt's migrate call, or a question to a
 * destination that does not answer), and will find e->stopping and write
 * nothing when it returns. */
static bool join_or_detach(md_engine *e, pthread_t t)
{
    int64_t give_up = eng_mono_ms() + WORKER_JOIN_MS;

    for (;;) {
        struct timespec until = md_deadline_in(CLOCK_REALTIME, WORKER_RELEASE_MS);
        if (pthread_timedjoin_np(t, NULL, &until) == 0)
            return true;
        if (eng_mono_ms() >= give_up) {
            pthread_detach(t);
            return false;
        }
        /* A worker that was on its way into the migrate call when the
         * waiters were released is waiting in it now: release again. */
        md_hv_release_waiters(e->hv);
    }
}

bool md_engine_stop(md_engine *e)
{
    size_t left = 0;

    if (!e)
        return true;
    pthread_mutex_lock(&e->lock);
    e->stopping = true;
    pthread_cond_broadcast(&e->work);
    pthread_cond_broadcast(&e->wake);
    pthread_cond_broadcast(&e->changed);
    pthread_cond_broadcast(&e->settle);
    size_t started = e->nstarted;
    pthread_mutex_unlock(&e->lock);

    /* The drain thread first, so that it starts nothing more. It may be
     * blocked asking a destination for its free memory (bounded like
     * locate()); then it is left behind like a worker, and writes nothing
     * when it returns. */
    if (e->drainer_started)
        left += !join_or_detach(e, e->drainer);
    if (e->monitor_started)
        pthread_join(e->monitor, NULL);
    /* The last progress seen goes to the store, so that the records the
     * next start recovers are as fresh as they can be. */
    pthread_mutex_lock(&e->lock);
    eng_flush_progress(e, true);
    eng_finals_tick(e, true); /* what came is written; what did not stays unknown */
    pthread_mutex_unlock(&e->lock);
    md_hv_release_waiters(e->hv);
    md_hv_set_event_handler(e->hv, NULL, NULL);
    for (size_t i = 0; i < started; i++)
        left += !join_or_detach(e, e->workers[i]);
    if (e->settler_started)
        left += !join_or_detach(e, e->settler);
    /* What is pending is written now or never: after this nothing writes,
     * so a thread left in libvirt cannot touch the store once it closes. */
    eng_writer_finish(e);
    if (left) {
        md_warn("engine: %zu threads still wait in the hypervisor; their migrations go on "
                "and will be recovered at the next start",
                left);
        /* e stays allocated for them, and the last to return frees it. One
         * that returned since its join gave up has already gone by without
         * freeing: then e is left for the process's exit. */
        pthread_mutex_lock(&e->lock);
        e->abandoned = e->workers_alive > 0 || e->settler_alive || e->drainer_alive;
        pthread_mutex_unlock(&e->lock);
        return false;
    }
    eng_free(e);
    return true;
}
