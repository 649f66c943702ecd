/* engine.c - the migration service: queue, worker pool, monitor, commands, recovery.
 *
 * DESIGN
 * ------
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
 *  - The monitor wakes every live_migration_monitor_interval_ms, or at once
 *    when an event flags a migration (iteration end, post-copy, completion)
 *    or a command arrives. For each flagged or due active it carries out
 *    pending commands, reads the job's statistics, feeds the policy engine
 *    and applies its action, recording each action as an event. Progress is
 *    flushed to the store in one transaction per pass.
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
 * and a job that has ended is settled from where the domain runs now.
 */
#include "service/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "service/limits.h"
#include "service/clock.h"
#include "service/log.h"

/* How long a worker waits, after a successful migrate call, for the
 * JOB_COMPLETED event that carries the real downtime. */
#define FINAL_STATS_WAIT_MS 1000
/* How often the monitor lists the node's domains for md_engine_domains(). */
#define DOMAIN_REFRESH_MS 5000
/* How long md_engine_stop waits for each worker to return. */
#define WORKER_JOIN_MS 2000
/* How often a stop releases the hypervisor's waiters again while it joins. */
#define WORKER_RELEASE_MS 50

typedef struct active {
    int refs;
    md_migration rec;
    policy pol;
    char domain[MD_UUID_LEN]; /* the domain's UUID once resolved, else "" */
    char dest_uri[600];
    char migrate_uri[300];
    bool attached;        /* the monitor samples its job */
    bool recovered;       /* re-attached after a restart: no worker waits on it */
    bool abort_requested; /* an operator or the policy asked to abort */
    bool abort_recorded;  /* its "abort" event is written */
    bool cmd_abort, cmd_force, cmd_post_copy, cmd_speed;
    bool sample_now;
    bool note_postcopy_failed; /* an event to record (set by the event thread) */
    bool have_final;           /* JOB_COMPLETED statistics arrived */
    md_hv_job final;
    bool dirty; /* live fields not yet flushed to the store */
    bool done;  /* reached a final state and left the table */
    struct active *qnext;
} active;

struct md_engine {
    const md_config *cfg;
    md_store *store;
    md_hv *hv;
    pthread_mutex_t lock;
    pthread_cond_t work;    /* workers: the queue is not empty, or stop */
    pthread_cond_t wake;    /* monitor: something to do now, or stop */
    pthread_cond_t changed; /* a record changed state, final stats came */
    bool stopping;
    bool monitor_wake;
    active **act;
    size_t nact, cap;
    active *qhead, *qtail;
    size_t nqueued;
    pthread_t monitor;
    bool monitor_started;
    pthread_t *workers;
    size_t nworkers;
    size_t nstarted;       /* worker threads created */
    md_hv_domain *domains; /* the node's domains, as last listed */
    size_t ndomains;
    int64_t domains_at; /* when (monotonic ms), 0 = never */
    size_t workers_alive;
};

/* Wall-clock time, for what a record says (created_at, event times). */
static int64_t wall_ms(void)
{
    return md_clock_ms(CLOCK_REALTIME);
}

/* Monotonic time, for everything the engine schedules or waits for (see
 * service/clock.h). */
static int64_t mono_ms(void)
{
    return md_clock_ms(CLOCK_MONOTONIC);
}

/* ---- the table of actives (all under e->lock) ---------------------------- */

static active *active_new(const md_migration *rec)
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

static void active_put(active *a)
{
    if (a && --a->refs == 0)
        free(a);
}

static md_status table_add(md_engine *e, active *a, md_err *err)
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

static active *table_find(md_engine *e, const char *uuid)
{
    for (size_t i = 0; i < e->nact; i++) {
        if (strcasecmp(e->act[i]->rec.uuid, uuid) == 0)
            return e->act[i];
    }
    return NULL;
}

static active *table_find_domain(md_engine *e, const char *domain)
{
    for (size_t i = 0; i < e->nact; i++) {
        if (e->act[i]->domain[0] && strcasecmp(e->act[i]->domain, domain) == 0)
            return e->act[i];
    }
    return NULL;
}

/* Takes a from the table (it has reached a final state) and drops the
 * table's reference. */
static void table_remove(md_engine *e, active *a)
{
    for (size_t i = 0; i < e->nact; i++) {
        if (e->act[i] == a) {
            e->act[i] = e->act[--e->nact];
            a->done = true;
            active_put(a);
            return;
        }
    }
}

static void queue_push(md_engine *e, active *a)
{
    a->qnext = NULL;
    if (e->qtail)
        e->qtail->qnext = a;
    else
        e->qhead = a;
    e->qtail = a;
    e->nqueued++;
}

static active *queue_pop(md_engine *e)
{
    active *a = e->qhead;
    if (a) {
        e->qhead = a->qnext;
        if (!e->qhead)
            e->qtail = NULL;
        a->qnext = NULL;
        e->nqueued--;
    }
    return a;
}

static void queue_remove(md_engine *e, active *a)
{
    active **pp = &e->qhead, *prev = NULL;

    while (*pp && *pp != a) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = a->qnext;
    if (e->qtail == a)
        e->qtail = prev;
    a->qnext = NULL;
    e->nqueued--;
}

/* ---- records and events (under e->lock) ----------------------------------- */

static void event_init(md_event *ev, const char *kind, int64_t value, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void event_init(md_event *ev, const char *kind, int64_t value, const char *fmt, va_list ap)
{
    memset(ev, 0, sizeof *ev);
    ev->at = wall_ms();
    md_strlcpy(ev->kind, kind, sizeof ev->kind);
    ev->value = value;
    vsnprintf(ev->message, sizeof ev->message, fmt, ap);
}

/* Records an event on a's timeline; a failure to store it is logged (the
 * action it describes has happened either way). */
static void add_event(md_engine *e, active *a, const char *kind, int64_t value, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

static void add_event(md_engine *e, active *a, const char *kind, int64_t value, const char *fmt,
                      ...)
{
    md_event ev;
    md_err err;
    va_list ap;

    va_start(ap, fmt);
    event_init(&ev, kind, value, fmt, ap);
    va_end(ap);
    md_info("migration %s: %s: %s", a->rec.uuid, kind, ev.message);
    if (md_store_add_event(e->store, a->rec.uuid, &ev, &err) != MD_OK)
        md_error("migration %s: cannot record event: %s", a->rec.uuid, err.msg);
}

/* Moves a to state `to`, writing record and event in one transaction before
 * anything else can see it. A final state takes a out of the table. On a
 * store failure the change is not made, the failure is logged, and its
 * status is returned with the store's message in *err (err may be NULL). */
static md_status vtransition(md_engine *e, active *a, md_mig_state to, md_err *err, const char *fmt,
                             va_list ap) __attribute__((format(printf, 5, 0)));

static md_status vtransition(md_engine *e, active *a, md_mig_state to, md_err *err, const char *fmt,
                             va_list ap)
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
    if (to == MD_MIG_POSTCOPY)
        next.post_copy = true;
    if (to == MD_MIG_FAILED || to == MD_MIG_ERROR)
        md_strlcpy(next.error, ev.message, sizeof next.error);
    if (to == MD_MIG_COMPLETED || to == MD_MIG_CANCELLED || to == MD_MIG_FAILED)
        next.paused = false;
    next.progress = md_migration_progress(&next);
    st = md_store_update_with_event(e->store, &next, &ev, err);
    if (st != MD_OK) {
        md_error("migration %s: cannot record %s -> %s: %s", a->rec.uuid,
                 md_mig_state_str(a->rec.state), md_mig_state_str(to), err->msg);
        return st;
    }
    md_info("migration %s: %s -> %s: %s", a->rec.uuid, md_mig_state_str(a->rec.state),
            md_mig_state_str(to), ev.message);
    a->rec = next;
    a->dirty = false;
    if (!md_mig_state_in_progress(to))
        table_remove(e, a);
    pthread_cond_broadcast(&e->changed);
    return MD_OK;
}

/* vtransition() for the engine's own threads, which log a failure and go on. */
static md_status transition(md_engine *e, active *a, md_mig_state to, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static md_status transition(md_engine *e, active *a, md_mig_state to, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    md_status st = vtransition(e, a, to, NULL, fmt, ap);
    va_end(ap);
    return st;
}

/* vtransition() for a request, whose caller passes the store's reason on. */
static md_status transition_err(md_engine *e, active *a, md_mig_state to, md_err *err,
                                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static md_status transition_err(md_engine *e, active *a, md_mig_state to, md_err *err,
                                const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    md_status st = vtransition(e, a, to, err, fmt, ap);
    va_end(ap);
    return st;
}

/* Copies a job's statistics into the record (live fields only). */
static void apply_stats(active *a, const md_hv_job *j)
{
    md_migration *r = &a->rec;

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
    r->updated_at = wall_ms();
    a->dirty = true;
}

/* ---- policy ----------------------------------------------------------------- */

/* Starts a's policy for a domain of the given size. */
static void policy_start(md_engine *e, active *a, const md_hv_domain *dom)
{
    policy_settings ps;
    double gib = policy_data_gib(dom->ram_bytes, a->rec.block_migration ? dom->disk_bytes : NULL,
                                 a->rec.block_migration ? dom->ndisks : 0);

    md_config_policy_settings(e->cfg, gib, &ps);
    ps.kind = a->rec.policy;
    ps.downtime_ms = a->rec.max_downtime_ms;
    ps.permit_post_copy = a->rec.permit_post_copy;
    ps.timeout_action = a->rec.timeout_action;
    policy_init(&a->pol, &ps);
}

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
 * without the lock, and records it. */
static void apply_action(md_engine *e, active *a, const policy_action *act, const char *who)
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
            add_event(e, a, "abort", 0, "%s: %s", who, act->reason);
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
        add_event(e, a, "error", 0, "%s %s failed: %s", who, policy_action_str(act->kind), err.msg);
    } else if (act->kind != POLICY_ACT_ABORT) {
        if (act->kind == POLICY_ACT_SET_DOWNTIME)
            a->rec.current_downtime_ms = act->downtime_ms;
        if (act->kind == POLICY_ACT_PAUSE)
            a->rec.paused = true;
        a->dirty = true;
        add_event(e, a, policy_action_str(act->kind),
                  act->kind == POLICY_ACT_SET_DOWNTIME ? act->downtime_ms : 0, "%s: %s", who,
                  act->reason);
    }
    pthread_mutex_unlock(&e->lock);
}

/* ---- settling the end of a job --------------------------------------------- */

/* Decides and records the final state of a whose job has ended. st is the
 * migrate call's result (MD_OK: libvirt said completed), msg its message,
 * loc where the domain runs now. Under e->lock. */
static void settle(md_engine *e, active *a, md_status st, const char *msg, md_hv_location loc)
{
    if (a->have_final)
        apply_stats(a, &a->final);
    if (st == MD_OK) {
        transition(e, a, MD_MIG_COMPLETED, "migration completed (downtime %lld ms)",
                   (long long)a->rec.downtime_ms);
    } else if (loc == MD_HV_LOC_DEST) {
        /* Nova learned this one the hard way: the call can fail after the
         * guest has already moved. Where it runs is the truth. */
        transition(e, a, MD_MIG_COMPLETED,
                   "the domain runs on %s: completed (the hypervisor reported: %s)",
                   a->rec.dest_compute, msg);
    } else if (loc == MD_HV_LOC_SOURCE && a->rec.state == MD_MIG_POSTCOPY) {
        transition(e, a, MD_MIG_ERROR,
                   "post-copy failed (%s); the guest is paused on the source and needs "
                   "post-copy recovery",
                   msg);
    } else if (loc == MD_HV_LOC_SOURCE && a->abort_requested) {
        transition(e, a, MD_MIG_CANCELLED, "aborted; the guest runs on the source (%s)", msg);
    } else if (loc == MD_HV_LOC_SOURCE) {
        transition(e, a, MD_MIG_FAILED, "%s", msg);
    } else if (loc == MD_HV_LOC_NOWHERE) {
        transition(e, a, MD_MIG_ERROR, "the domain is active on neither node (%s)", msg);
    } else {
        transition(e, a, MD_MIG_ERROR, "cannot tell where the domain runs (%s)", msg);
    }
}

/* Finds where a's domain is and, if it was paused by force-complete and is
 * still on the source, resumes it (as Nova does when the migration fails).
 * When the location cannot be told, appends why to msg (which holds what
 * ended the job). Without the lock. */
static md_hv_location locate_and_resume(md_engine *e, active *a, char *msg, size_t msglen)
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
    paused = a->rec.paused;
    pthread_mutex_unlock(&e->lock);
    if (loc == MD_HV_LOC_SOURCE && paused) {
        md_status st = md_hv_resume(e->hv, a->domain, &err);
        pthread_mutex_lock(&e->lock);
        if (st == MD_OK) {
            a->rec.paused = false;
            add_event(e, a, "resume", 0, "the migration did not complete: guest resumed");
        } else {
            add_event(e, a, "error", 0, "cannot resume the paused guest: %s", err.msg);
        }
        pthread_mutex_unlock(&e->lock);
    }
    return loc;
}

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
        transition(e, a, MD_MIG_FAILED, "cannot find domain %s on this node: %s", id, err.msg);
        goto unlock;
    }
    /* Requests name a domain by UUID or by name; only now are two names
     * for one domain known to be the same. */
    active *other = table_find_domain(e, dom.uuid);
    if (other && other != a) {
        transition(e, a, MD_MIG_FAILED, "domain %s is already being migrated by migration %s",
                   dom.name, other->rec.uuid);
        goto unlock;
    }
    md_strlcpy(a->domain, dom.uuid, sizeof a->domain);
    md_strlcpy(a->rec.instance_uuid, dom.uuid, sizeof a->rec.instance_uuid);
    md_strlcpy(a->rec.instance_name, dom.name, sizeof a->rec.instance_name);
    policy_start(e, a, &dom);
    if (a->abort_requested) {
        transition(e, a, MD_MIG_CANCELLED, "aborted before the migration started");
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
    if (transition(e, a, MD_MIG_RUNNING, "migrating %s to %s (%s, policy %s)", dom.name, dest_name,
                   dest_uri, policy_kind_str(a->rec.policy)) != MD_OK) {
        transition(e, a, MD_MIG_ERROR, "cannot record the start of the migration");
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
            add_event(e, a, "detached", 0, "lost the migrate call (%s); watching the job", err.msg);
        }
        goto unlock;
    } else {
        md_strlcpy(msg, err.msg, sizeof msg);
        loc = locate_and_resume(e, a, msg, sizeof msg);
    }

    pthread_mutex_lock(&e->lock);
    if (!e->stopping && !a->done)
        settle(e, a, st, msg, loc);
unlock:
    pthread_mutex_unlock(&e->lock);
}

static void *worker_main(void *arg)
{
    md_engine *e = arg;

    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (!e->stopping && !e->qhead)
            pthread_cond_wait(&e->work, &e->lock);
        if (e->stopping)
            break;
        active *a = queue_pop(e);
        a->refs++;
        if (transition(e, a, MD_MIG_PREPARING, "a worker took the migration") == MD_OK) {
            pthread_mutex_unlock(&e->lock);
            run_migration(e, a);
            pthread_mutex_lock(&e->lock);
        }
        active_put(a);
    }
    e->workers_alive--;
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- monitor ------------------------------------------------------------------ */

/* Settles a re-attached migration whose job is gone. Without the lock. */
static void settle_detached(md_engine *e, active *a)
{
    char msg[MD_MESSAGE_LEN] = "the job ended while no call was waiting for it";
    md_hv_location loc = locate_and_resume(e, a, msg, sizeof msg);

    pthread_mutex_lock(&e->lock);
    if (!a->done && !e->stopping)
        settle(e, a, MD_ERR_HYPERVISOR, msg, loc);
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
    abort_cmd = a->cmd_abort;
    force = a->cmd_force;
    post_copy = a->cmd_post_copy;
    speed = a->cmd_speed;
    a->cmd_abort = a->cmd_force = a->cmd_post_copy = a->cmd_speed = false;
    attached = a->attached;
    recovered = a->recovered;
    bandwidth = a->rec.bandwidth_mibps;
    if (force)
        act = policy_force_complete(&a->pol);
    pthread_mutex_unlock(&e->lock);

    if (!attached)
        return; /* preparing: its worker carries the commands over */
    if (abort_cmd) {
        policy_action ab = { .kind = POLICY_ACT_ABORT };
        snprintf(ab.reason, sizeof ab.reason, "abort requested");
        apply_action(e, a, &ab, "operator");
    }
    if (force)
        apply_action(e, a, &act, "operator force-complete");
    if (post_copy) {
        policy_action pc = { .kind = POLICY_ACT_POST_COPY };
        snprintf(pc.reason, sizeof pc.reason, "post-copy requested");
        apply_action(e, a, &pc, "operator");
    }
    if (speed) {
        st = md_hv_set_max_speed(e->hv, a->domain, bandwidth, &err);
        pthread_mutex_lock(&e->lock);
        if (st == MD_OK)
            add_event(e, a, "set_bandwidth", bandwidth, "operator: bandwidth %u MiB/s%s", bandwidth,
                      bandwidth ? "" : " (unlimited)");
        else
            add_event(e, a, "error", 0, "operator set bandwidth failed: %s", err.msg);
        pthread_mutex_unlock(&e->lock);
    }

    st = md_hv_job_stats(e->hv, a->domain, &job, &err);
    if (st == MD_ERR_NOT_FOUND || (st == MD_OK && !job.active)) {
        /* The job is over. A worker waiting in migrate() settles it; with
         * none waiting (after a restart or a lost call) it is ours. */
        if (recovered)
            settle_detached(e, a);
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
    apply_stats(a, &job);
    if (job.post_copy && a->rec.state == MD_MIG_RUNNING)
        transition(e, a, MD_MIG_POSTCOPY, "the job switched to post-copy");
    act = policy_step_sample(&a->pol, &x);
    pthread_mutex_unlock(&e->lock);
    apply_action(e, a, &act, "policy");
}

/* Writes the live fields of every changed active in one transaction. */
static void flush_progress(md_engine *e)
{
    const md_migration **v = NULL;
    size_t n = 0;
    md_err err;

    for (size_t i = 0; i < e->nact; i++)
        n += e->act[i]->dirty;
    if (n == 0)
        return;
    v = malloc(n * sizeof *v);
    if (!v)
        return; /* the next pass tries again */
    n = 0;
    for (size_t i = 0; i < e->nact; i++) {
        if (e->act[i]->dirty)
            v[n++] = &e->act[i]->rec;
    }
    if (md_store_update_many(e->store, v, n, &err) == MD_OK) {
        for (size_t i = 0; i < e->nact; i++)
            e->act[i]->dirty = false;
    } else {
        md_error("cannot record progress: %s", err.msg);
    }
    free(v);
}

/* Lists the node's domains for the API, which must not call the
 * hypervisor itself. Without the lock; takes it to swap the list in. */
static void refresh_domains(md_engine *e)
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
    e->domains_at = mono_ms();
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

static void *monitor_main(void *arg)
{
    md_engine *e = arg;
    int64_t interval = e->cfg->libvirt.live_migration_monitor_interval_ms;
    int64_t next_tick = mono_ms() + interval;
    active **snap = NULL;
    size_t snapcap = 0;

    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, next_tick - mono_ms());
        while (!e->stopping && !e->monitor_wake && mono_ms() < next_tick)
            if (pthread_cond_timedwait(&e->wake, &e->lock, &until) == ETIMEDOUT)
                break;
        if (e->stopping)
            break;
        bool tick = mono_ms() >= next_tick;
        if (tick) {
            next_tick += interval;
            if (next_tick < mono_ms())
                next_tick = mono_ms() + interval; /* fell behind: do not race to catch up */
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
                add_event(e, a, "post_copy_failed", 0, "the hypervisor reports post-copy failed");
            }
            bool cmd = a->cmd_abort || a->cmd_force || a->cmd_post_copy || a->cmd_speed;
            if (a->attached && (tick || a->sample_now || cmd)) {
                a->sample_now = false;
                a->refs++;
                snap[n++] = a;
            }
        }
        bool list_due = tick && mono_ms() - e->domains_at >= DOMAIN_REFRESH_MS;
        pthread_mutex_unlock(&e->lock);
        if (list_due)
            refresh_domains(e);
        for (size_t i = 0; i < n; i++)
            monitor_one(e, snap[i]);
        pthread_mutex_lock(&e->lock);
        flush_progress(e);
        for (size_t i = 0; i < n; i++)
            active_put(snap[i]);
    }
    pthread_mutex_unlock(&e->lock);
    free(snap);
    return NULL;
}

static void wake_monitor(md_engine *e)
{
    e->monitor_wake = true;
    pthread_cond_signal(&e->wake);
}

/* The hypervisor's events: flags and wake-ups only (its thread, no calls
 * back, no store writes: the monitor records what the flags say). */
static void on_hv_event(void *ctx, const md_hv_event *ev)
{
    md_engine *e = ctx;

    pthread_mutex_lock(&e->lock);
    if (ev->kind == MD_HV_EV_CONNECTION_LOST) {
        md_warn("hypervisor connection lost; reconnecting");
    } else if (ev->kind == MD_HV_EV_RECONNECTED) {
        md_info("hypervisor connection back; checking every migration in flight");
        for (size_t i = 0; i < e->nact; i++)
            e->act[i]->sample_now = true;
        wake_monitor(e);
    } else {
        active *a = table_find_domain(e, ev->uuid);
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
            wake_monitor(e);
        }
    }
    pthread_mutex_unlock(&e->lock);
}

/* ---- requests --------------------------------------------------------------- */

/* Host names and addresses go into URIs: allow what they may contain. */
static bool host_ok(const char *h)
{
    return h[0] && h[strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789.-_:[]")] == '\0';
}

static void set_uris(md_engine *e, active *a)
{
    const md_migration *r = &a->rec;

    snprintf(a->dest_uri, sizeof a->dest_uri, "qemu+%s://%s/system",
             e->cfg->libvirt.live_migration_scheme, r->dest_compute);
    snprintf(a->migrate_uri, sizeof a->migrate_uri, "tcp://%s",
             r->dest_host[0] ? r->dest_host : r->dest_compute);
}

static md_status validate(const md_engine *e, const md_engine_request *q, md_err *err)
{
    if (!q->instance[0])
        return md_err_set(err, MD_ERR_INVALID, "instance_uuid or instance_name is required");
    if (!host_ok(q->dest_compute))
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_compute must be a host name or address, got \"%s\"",
                          q->dest_compute);
    if (q->dest_host[0] && !host_ok(q->dest_host))
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_host must be a host name or address, "
                          "got \"%s\"",
                          q->dest_host);
    if (strcmp(q->dest_compute, e->cfg->service.host) == 0)
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_compute %s is this node: a migration "
                          "needs another node",
                          q->dest_compute);
    if (q->max_downtime_ms != -1 &&
        (q->max_downtime_ms < POLICY_MIN_DOWNTIME_MS || q->max_downtime_ms > MD_MAX_DOWNTIME_MS))
        return md_err_set(err, MD_ERR_INVALID,
                          "max_downtime_ms must be from %d to %d, got "
                          "%lld",
                          POLICY_MIN_DOWNTIME_MS, MD_MAX_DOWNTIME_MS,
                          (long long)q->max_downtime_ms);
    if (q->bandwidth_mibps != -1 &&
        (q->bandwidth_mibps < 0 || q->bandwidth_mibps > MD_MAX_BANDWIDTH_MIBPS))
        return md_err_set(err, MD_ERR_INVALID,
                          "bandwidth_mibps must be from 0 (unlimited) to "
                          "%d, got %lld",
                          MD_MAX_BANDWIDTH_MIBPS, (long long)q->bandwidth_mibps);
    if (q->timeout_action < -1 || q->timeout_action > POLICY_TIMEOUT_FORCE_COMPLETE)
        return md_err_set(err, MD_ERR_INVALID, "timeout_action must be abort or force_complete");
    if (q->permit_post_copy < -1 || q->permit_post_copy > 1)
        return md_err_set(err, MD_ERR_INVALID, "permit_post_copy must be true or false");
    return MD_OK;
}

md_status md_engine_create(md_engine *e, const md_engine_request *q, md_migration *out, md_err *err)
{
    const md_config *c = e->cfg;
    md_migration r;
    active *a = NULL;
    md_status st = validate(e, q, err);

    if (st != MD_OK)
        return st;
    md_migration_init(&r);
    if (!md_uuid_generate(r.uuid))
        return md_err_set(err, MD_ERR_INTERNAL, "cannot generate a UUID: no randomness");
    if (md_uuid_valid(q->instance))
        md_strlcpy(r.instance_uuid, q->instance, sizeof r.instance_uuid);
    else
        md_strlcpy(r.instance_name, q->instance, sizeof r.instance_name);
    md_strlcpy(r.source_compute, c->service.host, sizeof r.source_compute);
    md_strlcpy(r.dest_compute, q->dest_compute, sizeof r.dest_compute);
    md_strlcpy(r.dest_host, q->dest_host, sizeof r.dest_host);
    r.block_migration = q->block_migration;
    r.permit_post_copy = q->permit_post_copy == -1 ? c->libvirt.live_migration_permit_post_copy
                                                   : q->permit_post_copy == 1;
    /* Nova: auto-converge only when permitted and post-copy is not. */
    r.auto_converge = c->libvirt.live_migration_permit_auto_converge && !r.permit_post_copy;
    r.max_downtime_ms = (uint32_t)(q->max_downtime_ms == -1 ? c->libvirt.live_migration_downtime
                                                            : q->max_downtime_ms);
    r.bandwidth_mibps = (uint32_t)(q->bandwidth_mibps == -1 ? c->libvirt.live_migration_bandwidth
                                                            : q->bandwidth_mibps);
    r.timeout_action = q->timeout_action == -1 ? c->libvirt.live_migration_timeout_action
                                               : (policy_timeout_action)q->timeout_action;
    r.policy = c->libvirt.live_migration_policy;
    r.created_at = r.updated_at = wall_ms();

    pthread_mutex_lock(&e->lock);
    if (e->stopping) {
        st = md_err_set(err, MD_ERR_UNAVAILABLE, "migrationd is stopping");
        goto unlock;
    }
    /* The domain's other identifier (its name for a UUID, its UUID for a
     * name) from the node's domain list as last listed, so that a request
     * by name conflicts at once with a queued one by UUID (the worker
     * checks again once the domain is looked up). */
    const char *alias = "";
    for (size_t i = 0; i < e->ndomains; i++) {
        if (strcasecmp(e->domains[i].uuid, q->instance) == 0)
            alias = e->domains[i].name;
        else if (strcmp(e->domains[i].name, q->instance) == 0)
            alias = e->domains[i].uuid;
    }
    for (size_t i = 0; i < e->nact; i++) {
        const md_migration *o = &e->act[i]->rec;
        if (strcasecmp(o->instance_uuid, q->instance) == 0 ||
            strcmp(o->instance_name, q->instance) == 0 ||
            (alias[0] &&
             (strcasecmp(o->instance_uuid, alias) == 0 || strcmp(o->instance_name, alias) == 0))) {
            st = md_err_set(err, MD_ERR_CONFLICT,
                            "instance %s already has migration %s in "
                            "progress (%s)",
                            q->instance, o->uuid, md_mig_state_str(o->state));
            goto unlock;
        }
    }
    a = active_new(&r);
    if (!a) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory");
        goto unlock;
    }
    set_uris(e, a);
    st = md_store_insert(e->store, &a->rec, err);
    if (st != MD_OK)
        goto unlock;
    st = table_add(e, a, err);
    if (st != MD_OK)
        goto unlock;
    add_event(e, a, "state", 0, "queued: migrate %s to %s", q->instance, q->dest_compute);
    queue_push(e, a);
    *out = a->rec;
    a = NULL;
    pthread_cond_signal(&e->work);
unlock:
    pthread_mutex_unlock(&e->lock);
    active_put(a);
    return st;
}

/* Finds uuid among the actives or says why not: NOT_FOUND for a uuid the
 * store does not know either (the message the API shows), CONFLICT for a
 * record that has already ended, or the store's own failure. Under e->lock. */
static active *find_in_progress(md_engine *e, const char *uuid, const char *what, md_err *err,
                                md_status *st)
{
    md_migration r;
    active *a = table_find(e, uuid);

    if (a)
        return a;
    *st = md_store_get(e->store, uuid, &r, err);
    if (*st == MD_ERR_NOT_FOUND)
        *st = md_err_set(err, MD_ERR_NOT_FOUND, "Migration %s could not be found", uuid);
    else if (*st == MD_OK)
        *st = md_err_set(err, MD_ERR_CONFLICT,
                         "cannot %s migration %s: it has already ended "
                         "(%s)",
                         what, uuid, md_mig_state_str(r.state));
    return NULL;
}

md_status md_engine_abort(md_engine *e, const char *uuid, md_err *err)
{
    md_status st = MD_OK;

    pthread_mutex_lock(&e->lock);
    active *a = find_in_progress(e, uuid, "abort", err, &st);
    if (!a)
        goto unlock;
    switch (a->rec.state) {
    case MD_MIG_QUEUED:
        /* Never started: nothing in the hypervisor to undo. */
        queue_remove(e, a);
        /* A store that cannot record it says why: err carries its message. */
        st = transition_err(e, a, MD_MIG_CANCELLED, err, "aborted while queued");
        if (st != MD_OK)
            queue_push(e, a);
        break;
    case MD_MIG_POSTCOPY:
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "cannot abort migration %s: it is in post-copy, "
                        "the guest already runs on the destination",
                        uuid);
        break;
    default:
        if (a->abort_requested) {
            st = md_err_set(err, MD_ERR_CONFLICT, "migration %s is already being aborted", uuid);
            break;
        }
        a->abort_requested = true;
        a->cmd_abort = true;
        add_event(e, a, "abort_requested", 0, "abort requested while %s",
                  md_mig_state_str(a->rec.state));
        wake_monitor(e);
        break;
    }
unlock:
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* The shared checks of force-complete and post-copy. Under e->lock. */
static active *find_running(md_engine *e, const char *uuid, const char *what, md_err *err,
                            md_status *st)
{
    active *a = find_in_progress(e, uuid, what, err, st);

    if (!a)
        return NULL;
    if (a->rec.state == MD_MIG_POSTCOPY) {
        *st = md_err_set(err, MD_ERR_CONFLICT,
                         "cannot %s migration %s: it is already in "
                         "post-copy",
                         what, uuid);
        return NULL;
    }
    if (a->rec.state != MD_MIG_RUNNING) {
        *st = md_err_set(err, MD_ERR_CONFLICT, "cannot %s migration %s: it is %s, not running",
                         what, uuid, md_mig_state_str(a->rec.state));
        return NULL;
    }
    if (a->abort_requested) {
        *st = md_err_set(err, MD_ERR_CONFLICT, "cannot %s migration %s: it is being aborted", what,
                         uuid);
        return NULL;
    }
    return a;
}

md_status md_engine_force_complete(md_engine *e, const char *uuid, md_err *err)
{
    md_status st = MD_OK;

    pthread_mutex_lock(&e->lock);
    active *a = find_running(e, uuid, "force-complete", err, &st);
    if (a) {
        a->cmd_force = true;
        add_event(e, a, "force_complete_requested", 0, "force-complete requested (%s)",
                  a->rec.permit_post_copy ? "post-copy" : "post-copy not permitted: pause");
        wake_monitor(e);
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

md_status md_engine_post_copy(md_engine *e, const char *uuid, md_err *err)
{
    md_status st = MD_OK;

    pthread_mutex_lock(&e->lock);
    active *a = find_running(e, uuid, "switch to post-copy", err, &st);
    if (a && !a->rec.permit_post_copy) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "cannot switch migration %s to post-copy: it was "
                        "started without post-copy permitted",
                        uuid);
    } else if (a) {
        a->cmd_post_copy = true;
        add_event(e, a, "post_copy_requested", 0, "post-copy requested");
        wake_monitor(e);
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

md_status md_engine_update(md_engine *e, const char *uuid, const md_engine_settings *s, md_err *err)
{
    md_status st = MD_OK;

    if (s->max_downtime_ms != -1 &&
        (s->max_downtime_ms < POLICY_MIN_DOWNTIME_MS || s->max_downtime_ms > MD_MAX_DOWNTIME_MS))
        return md_err_set(err, MD_ERR_INVALID, "max_downtime_ms must be from %d to %d",
                          POLICY_MIN_DOWNTIME_MS, MD_MAX_DOWNTIME_MS);
    if (s->bandwidth_mibps != -1 &&
        (s->bandwidth_mibps < 0 || s->bandwidth_mibps > MD_MAX_BANDWIDTH_MIBPS))
        return md_err_set(err, MD_ERR_INVALID, "bandwidth_mibps must be from 0 to %d",
                          MD_MAX_BANDWIDTH_MIBPS);

    pthread_mutex_lock(&e->lock);
    active *a = find_in_progress(e, uuid, "change", err, &st);
    if (!a)
        goto unlock;
    if (s->permit_post_copy != -1 && a->rec.state != MD_MIG_QUEUED &&
        (s->permit_post_copy == 1) != a->rec.permit_post_copy) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "permit_post_copy of migration %s cannot change "
                        "once it has started (%s)",
                        uuid, md_mig_state_str(a->rec.state));
        goto unlock;
    }
    if (a->rec.state == MD_MIG_POSTCOPY) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "migration %s is in post-copy: its settings no "
                        "longer matter",
                        uuid);
        goto unlock;
    }
    md_migration next = a->rec;
    if (s->permit_post_copy != -1) {
        next.permit_post_copy = s->permit_post_copy == 1;
        next.auto_converge = e->cfg->libvirt.live_migration_permit_auto_converge &&
                             !next.permit_post_copy;
    }
    if (s->max_downtime_ms != -1)
        next.max_downtime_ms = (uint32_t)s->max_downtime_ms;
    if (s->bandwidth_mibps != -1)
        next.bandwidth_mibps = (uint32_t)s->bandwidth_mibps;
    next.updated_at = wall_ms();
    st = md_store_update(e->store, &next, err);
    if (st != MD_OK)
        goto unlock;
    a->rec = next;
    if (a->attached) {
        policy_update(&a->pol, next.max_downtime_ms, next.permit_post_copy);
        if (s->bandwidth_mibps != -1) {
            a->cmd_speed = true;
            wake_monitor(e);
        }
    }
    add_event(e, a, "settings", 0,
              "settings: permit_post_copy %s, max_downtime_ms %u, "
              "bandwidth_mibps %u",
              next.permit_post_copy ? "true" : "false", next.max_downtime_ms, next.bandwidth_mibps);
unlock:
    pthread_mutex_unlock(&e->lock);
    return st;
}

md_status md_engine_get(md_engine *e, const char *uuid, md_migration *out, md_err *err)
{
    md_status st = MD_OK;

    pthread_mutex_lock(&e->lock);
    active *a = table_find(e, uuid);
    if (a)
        *out = a->rec;
    else
        st = md_store_get(e->store, uuid, out, err);
    pthread_mutex_unlock(&e->lock);
    /* The store's "no such record" names its file: a client gets the fact. */
    if (st == MD_ERR_NOT_FOUND)
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Migration %s could not be found", uuid);
    return st;
}

md_status md_engine_list(md_engine *e, const md_store_filter *f, md_migration **out, size_t *n,
                         md_err *err)
{
    md_status st = md_store_list(e->store, f, out, n, err);

    /* The only record a list looks up is the marker: one that names none
     * is a bad request, as in Nova, not a missing resource. */
    if (st == MD_ERR_NOT_FOUND && f && f->marker[0])
        st = md_err_set(err, MD_ERR_INVALID, "Marker %s could not be found.", f->marker);
    return st;
}

md_status md_engine_events(md_engine *e, const char *uuid, md_event **out, size_t *n, md_err *err)
{
    md_status st = md_store_events(e->store, uuid, out, n, err);

    if (st == MD_ERR_NOT_FOUND)
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Migration %s could not be found", uuid);
    return st;
}

void md_engine_counts(md_engine *e, size_t *running, size_t *queued)
{
    pthread_mutex_lock(&e->lock);
    *queued = e->nqueued;
    *running = e->nact - e->nqueued;
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
        active *a = table_find(e, uuid);
        if (a)
            s = a->rec.state;
        else if (md_store_get(e->store, uuid, &r, NULL) == MD_OK)
            s = r.state;
        if (done(s) || pthread_cond_timedwait(&e->changed, &e->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&e->lock);
    return s;
}

/* ---- start, recovery, stop --------------------------------------------------- */

/* Reconciles one record left in progress by an earlier run. Before any
 * thread starts, so without contention; the lock is taken for the helpers
 * that expect it. */
static void recover_one(md_engine *e, const md_migration *rec)
{
    active *a = active_new(rec);
    md_hv_domain dom;
    md_hv_job job;
    md_hv_location loc;
    md_err err;
    char msg[MD_MESSAGE_LEN];

    if (!a || table_add(e, a, NULL) != MD_OK) {
        md_error("migration %s: out of memory during recovery; left as it is", rec->uuid);
        active_put(a);
        return;
    }
    set_uris(e, a);
    if (rec->state == MD_MIG_QUEUED) {
        queue_push(e, a);
        add_event(e, a, "recovered", 0, "queued again after a restart");
        return;
    }

    md_status st = MD_ERR_NOT_FOUND;
    const char *id = a->domain[0] ? a->domain : rec->instance_name;
    if (md_hv_lookup(e->hv, id, &dom, &err) == MD_OK) {
        md_strlcpy(a->domain, dom.uuid, sizeof a->domain);
        st = md_hv_job_stats(e->hv, a->domain, &job, &err);
    }
    if (st == MD_OK && job.active) {
        policy_start(e, a, &dom);
        a->attached = a->recovered = true;
        a->sample_now = true;
        add_event(e, a, "recovered", 0,
                  "re-attached to the running job after a restart "
                  "(iteration %u, %lld ms elapsed)",
                  job.iteration, (long long)job.elapsed_ms);
        if (a->rec.state == MD_MIG_PREPARING)
            transition(e, a, MD_MIG_RUNNING, "the job was found running after a restart");
        if (job.post_copy && a->rec.state == MD_MIG_RUNNING)
            transition(e, a, MD_MIG_POSTCOPY, "the job was found in post-copy after a restart");
        return;
    }
    if (!a->domain[0]) {
        transition(e, a, rec->state == MD_MIG_PREPARING ? MD_MIG_FAILED : MD_MIG_ERROR,
                   "after a restart the domain %s cannot be found on this node",
                   rec->instance_name);
        return;
    }
    snprintf(msg, sizeof msg, "the job ended while migrationd was not running");
    pthread_mutex_unlock(&e->lock);
    loc = locate_and_resume(e, a, msg, sizeof msg);
    pthread_mutex_lock(&e->lock);
    if (loc == MD_HV_LOC_SOURCE && rec->state == MD_MIG_PREPARING)
        snprintf(msg, sizeof msg,
                 "interrupted by a restart before the migration started; the "
                 "guest runs on the source");
    else if (loc == MD_HV_LOC_SOURCE && rec->state == MD_MIG_RUNNING)
        snprintf(msg, sizeof msg,
                 "the migration ended while migrationd was not running and "
                 "the guest runs on the source");
    settle(e, a, MD_ERR_HYPERVISOR, msg, loc);
}

static md_status recover(md_engine *e, md_err *err)
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

static void engine_free(md_engine *e)
{
    for (size_t i = 0; i < e->nact; i++)
        active_put(e->act[i]);
    free(e->act);
    free(e->workers);
    free(e->domains);
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->changed);
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
    e->nworkers = (size_t)cfg->service.max_concurrent_live_migrations;
    e->workers = calloc(e->nworkers, sizeof *e->workers);
    if (!e->workers) {
        engine_free(e);
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    }
    md_hv_set_event_handler(hv, on_hv_event, e);

    st = recover(e, err);
    if (st != MD_OK)
        goto fail;
    refresh_domains(e);

    rc = pthread_create(&e->monitor, NULL, monitor_main, e);
    if (rc != 0) {
        st = md_err_set(err, MD_ERR_INTERNAL, "cannot start the monitor: %s", strerror(rc));
        goto fail;
    }
    e->monitor_started = true;
    for (size_t i = 0; i < e->nworkers; i++) {
        rc = pthread_create(&e->workers[i], NULL, worker_main, e);
        if (rc != 0) {
            st = md_err_set(err, MD_ERR_INTERNAL, "cannot start worker %zu: %s", i, strerror(rc));
            goto fail;
        }
        pthread_mutex_lock(&e->lock);
        e->workers_alive++;
        e->nstarted++;
        pthread_mutex_unlock(&e->lock);
    }
    md_info("engine: %zu workers, monitor every %d ms, policy %s", e->nworkers,
            cfg->libvirt.live_migration_monitor_interval_ms,
            policy_kind_str(cfg->libvirt.live_migration_policy));
    *out = e;
    return MD_OK;

fail:
    md_engine_stop(e);
    return st;
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
    size_t started = e->nstarted;
    pthread_mutex_unlock(&e->lock);

    if (e->monitor_started)
        pthread_join(e->monitor, NULL);
    /* The last progress seen goes to the store, so that the records the
     * next start recovers are as fresh as they can be. */
    pthread_mutex_lock(&e->lock);
    flush_progress(e);
    pthread_mutex_unlock(&e->lock);
    md_hv_release_waiters(e->hv);
    md_hv_set_event_handler(e->hv, NULL, NULL);
    for (size_t i = 0; i < started; i++) {
        int64_t give_up = mono_ms() + WORKER_JOIN_MS;
        for (;;) {
            struct timespec until = md_deadline_in(CLOCK_REALTIME, WORKER_RELEASE_MS);
            if (pthread_timedjoin_np(e->workers[i], NULL, &until) == 0)
                break;
            if (mono_ms() >= give_up) {
                /* Blocked in libvirt's migrate call, which cannot be
                 * interrupted. It will find e->stopping and write nothing. */
                pthread_detach(e->workers[i]);
                left++;
                break;
            }
            /* A worker that was on its way into the migrate call when the
             * waiters were released is waiting in it now: release again. */
            md_hv_release_waiters(e->hv);
        }
    }
    if (left) {
        md_warn("engine: %zu workers still wait in the hypervisor; their migrations go on "
                "and will be recovered at the next start",
                left);
        return false; /* e stays allocated for them */
    }
    engine_free(e);
    return true;
}
