/* engine_priv.h - what the engine's files share: the table of actives and its helpers.
 *
 * Private to service/engine*.c. The engine is one job split by task:
 *
 *   engine.c           the table of actives and the queue, events and state
 *                      transitions, settling a job's end, the queries, start
 *                      and stop;
 *   engine_worker.c    the workers (a migration from the queue to its end);
 *   engine_monitor.c   the monitor thread and the hypervisor's events, and the
 *                      settler thread that settles a job which ended with
 *                      no worker waiting (it may have to ask the
 *                      destination, which the monitor must never wait for);
 *   engine_commands.c  requests from the API (create, abort, ...);
 *   engine_recovery.c  reconciling what an earlier run left in progress;
 *   engine_postcopy.c  a broken or stalled post-copy, detected and resumed;
 *   engine_store.c     the writes to the store, and their retries when it
 *                      cannot take them;
 *   engine_purge.c     deleting the records of migrations that ended long ago;
 *   engine_drain.c     host drains: the drain thread, its plans and requests;
 *   engine_metrics.c   the counters and histograms behind md_engine_metrics().
 *
 * Locking: one mutex, e->lock, guards everything in md_engine and every
 * active's fields. A function below that says "under the lock" must be
 * called with e->lock held; "without the lock" must be called without it
 * (it may block in the hypervisor). Store writes happen under the lock, so
 * that a state change is durable before another thread can see it; when
 * the store cannot take them, engine_store.c queues the engine's own and
 * refuses the requests' (its DESIGN essay says why).
 */
#ifndef MD_ENGINE_PRIV_H
#define MD_ENGINE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"
#include "service/clock.h"
#include "service/engine.h"

/* An active is reference counted: the table holds one reference, and a
 * worker or a monitor pass that works on it without the lock holds another,
 * so that it outlives its removal from the table (at its final state) until
 * the last user lets go. */
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
    /* Operators' commands not yet carried out; each was written to the store
     * (cmd_id, 0 = none) before the request was answered. */
    bool cmd_abort, cmd_force, cmd_post_copy, cmd_speed, cmd_recover;
    int64_t cmd_id[MD_CMD_NKINDS];
    bool sample_now;
    bool note_postcopy_failed; /* an event to record (set by the event thread) */
    bool have_final;           /* JOB_COMPLETED statistics arrived */
    md_hv_job final;
    /* Completed before its JOB_COMPLETED event came: the record waits in
     * e->finals, until this monotonic ms, for the downtime (0 = not). */
    int64_t final_deadline;
    /* What the store has not seen yet (engine_monitor.c, "Progress in the
     * store"): dirty, a change written at the pass's end; dirty_counters,
     * byte counters and rates only, written at most every
     * MD_ENGINE_PROGRESS_WRITE_MS; written_at, the last write (monotonic ms). */
    bool dirty;
    bool dirty_counters;
    int64_t written_at;
    bool done; /* reached a final state and left the table */
    /* Post-copy recovery (engine_postcopy.c). */
    bool resume_queued;        /* in e->resumes, waiting for a worker */
    bool recovering_run;       /* a worker runs its recovery now */
    bool in_resume_call;       /* ... and is blocked in a resume migrate call */
    int64_t recovery_deadline; /* monotonic ms; 0 = not recovering in this run */
    int64_t next_attempt;      /* monotonic ms of the next resume attempt */
    int64_t backoff_ms;        /* the wait after the next failed attempt */
    int attempts_this_run;     /* attempts since this daemon took the recovery over */
    uint64_t pc_processed;     /* stall detection: post-copy bytes last seen ... */
    int64_t pc_progress_at;    /* ... and when they last moved (monotonic ms; 0 = not yet) */
    bool stall_forced;         /* the stalled job was forced into the paused state */
    /* Settling by the settler thread (engine_monitor.c). */
    bool settle_pending;       /* in e->settles or being settled: not again */
    bool settle_after_restart; /* recovery found its job ended (else: the monitor did) */
    struct active *qnext;
} active;

/* A FIFO of actives, linked through qnext; an active is in at most one. */
typedef struct eng_queue {
    active *head, *tail;
    size_t n;
} eng_queue;

struct md_engine {
    const md_config *cfg;
    md_store *store;
    md_hv *hv;
    pthread_mutex_t lock;
    pthread_cond_t work;    /* workers: a queue is not empty, or stop */
    pthread_cond_t wake;    /* monitor: something to do now, or stop */
    pthread_cond_t changed; /* a record changed state, final stats came */
    bool stopping;
    bool monitor_wake;
    active **act;
    size_t nact, cap;
    eng_queue queue;   /* queued migrations, in creation order */
    eng_queue resumes; /* broken post-copy migrations waiting for a worker to resume them */
    eng_queue settles; /* ended jobs with no worker, waiting for the settler */
    /* Completed migrations whose JOB_COMPLETED event has not come yet, each
     * with a reference (engine_worker.c, "The end's statistics"). */
    active **finals;
    size_t nfinals, capfinals;
    pthread_cond_t settle; /* the settler: e->settles is not empty, or stop */
    pthread_t settler;
    bool settler_started;
    pthread_t monitor;
    bool monitor_started;
    pthread_t *workers;
    size_t nworkers;
    size_t nstarted;       /* worker threads created */
    md_hv_domain *domains; /* the node's domains, as last listed */
    size_t ndomains;
    int64_t domains_at;  /* when (monotonic ms), 0 = never */
    bool domains_wanted; /* a request waits for a fresh list */
    size_t workers_alive;
    bool abandoned;     /* a stop left threads in the hypervisor: the last frees e */
    bool settler_alive; /* the settler thread has not returned */
    /* Writes the store could not take yet, oldest first (engine_store.c). */
    struct eng_write *wq_head, *wq_tail;
    size_t wq_n;
    uint64_t wq_caught_up; /* pending writes made since the engine degraded */
    pthread_cond_t wcond;  /* the writer: something to write, or stop */
    pthread_t writer;
    bool writer_started;
    bool writer_stop;
    bool store_off;              /* after a stop: nothing writes any more */
    bool degraded;               /* a write failed and the store has not caught up */
    int64_t degraded_since;      /* wall ms */
    char degraded_reason[256];   /* the store's last failure */
    md_engine_counters counters; /* engine_metrics.c; under the lock like the rest */
    /* Host drains (engine_drain.c): the one in progress, or the last one
     * until the store holds its end; NULL = none. */
    struct eng_drain *drain;
    pthread_t drainer;
    bool drainer_started;
    bool drainer_alive; /* the drain thread has not returned */
};

/* Wall-clock time, for what a record says (created_at, event times). */
static inline int64_t eng_wall_ms(void)
{
    return md_clock_ms(CLOCK_REALTIME);
}

/* Monotonic time, for everything the engine schedules or waits for. */
static inline int64_t eng_mono_ms(void)
{
    return md_clock_ms(CLOCK_MONOTONIC);
}

/* ---- the table of actives and the queue (engine.c; under the lock) ---- */

/* A new active for rec with one reference (the caller's); NULL when out of
 * memory. */
active *eng_active_new(const md_migration *rec);
/* Drops a reference; the last one frees a. Accepts NULL. */
void eng_active_put(active *a);
/* Adds a to the table (which takes over the caller's reference). */
md_status eng_table_add(md_engine *e, active *a, md_err *err);
active *eng_table_find(md_engine *e, const char *uuid);
active *eng_table_find_domain(md_engine *e, const char *domain);
/* Takes a out of the table (it has reached a final state) and drops the
 * table's reference. */
void eng_table_remove(md_engine *e, active *a);
void eng_queue_push(eng_queue *q, active *a);
active *eng_queue_pop(eng_queue *q);
void eng_queue_remove(eng_queue *q, active *a);

/* ---- records, events and transitions (engine.c; under the lock) ---- */

/* Records an event on a's timeline; a failure to store it is logged (the
 * action it describes has happened either way). */
void eng_add_event(md_engine *e, active *a, const char *kind, int64_t value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Moves a to state `to`, writing record and event in one transaction before
 * anything else can see it. A final state takes a out of the table. On a
 * store failure the change is not made, the failure is logged, and its
 * status is returned. */
md_status eng_transition(md_engine *e, active *a, md_mig_state to, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* eng_transition() for a request, whose caller passes the store's reason
 * on: the message is in *err. */
md_status eng_transition_err(md_engine *e, active *a, md_mig_state to, md_err *err, const char *fmt,
                             ...) __attribute__((format(printf, 5, 6)));
/* Copies a job's statistics into the record (live fields only). */
void eng_apply_stats(active *a, const md_hv_job *j);
/* Starts a's policy for a domain of the given size. */
void eng_policy_start(md_engine *e, active *a, const md_hv_domain *dom);
/* Decides and records the final state of a whose job has ended: st is the
 * migrate call's result, msg its message, loc where the domain runs now. */
void eng_settle(md_engine *e, active *a, md_status st, const char *msg, md_hv_location loc);
/* Wakes the monitor for a pass now. */
void eng_wake_monitor(md_engine *e);
/* Sets a's libvirt and migration URIs from its destination. */
void eng_set_uris(md_engine *e, active *a);

/* The libvirt URI of destination dest (a peer's name, or a host without
 * peers) into out, as a migration to it uses. engine_commands.c */
void eng_dest_uri(const md_engine *e, const char *dest, char *out, size_t outlen);

/* ---- requests, shared with the drains (engine_commands.c; under the lock) ---- */

/* Whether dest (with dest_host, "" for none) may be a migration's
 * destination: a host name or address, not this node, and with peers one
 * of them (dest_host one of its addresses). MD_ERR_INVALID with why in
 * err. Pure: no lock needed. */
md_status eng_check_destination(const md_engine *e, const char *dest, const char *dest_host,
                                md_err *err);
/* Asks the monitor for a fresh list of the node's domains and waits up to
 * a few seconds for it; true when one taken after the call came. Under the
 * lock, which the wait releases. */
bool eng_domains_refresh(md_engine *e);
/* The entry of instance (UUID or name) in the node's domain list, asking
 * for a fresh list once when the last one lacks it (eng_domains_refresh);
 * NULL when unknown, with *listed false when no fresh list could be had.
 * The entry is borrowed from e->domains until the lock is released. Under
 * the lock, which the wait releases. */
const md_hv_domain *eng_find_domain(md_engine *e, const char *instance, bool *listed);
/* md_engine_create() after its checks: queues q (already validated) as a
 * new migration; alias is the instance's other identifier ("" = unknown).
 * MD_ERR_OVER_LIMIT for a full queue, MD_ERR_CONFLICT when the instance
 * has a migration in progress, MD_ERR_UNAVAILABLE when the store cannot
 * take the record (nothing created). Writes the store. Under the lock. */
md_status eng_create_locked(md_engine *e, const md_engine_request *q, const char *alias,
                            md_migration *out, md_err *err);
/* md_engine_abort() of a, which is in progress: a queued one is cancelled
 * at once, a started one gets an abort command; MD_ERR_CONFLICT in
 * post-copy or when an abort is already under way. Under the lock. */
md_status eng_abort_active(md_engine *e, active *a, md_err *err);

/* ---- drains (engine_drain.c) ---- */

/* Loads the drain left in progress by an earlier run, for the drain thread
 * to pick up; before recovery, so that the drain sees its guests'
 * migrations end. The store's failure is returned. Main thread, before any
 * thread starts. */
md_status eng_drain_load(md_engine *e, md_err *err);
/* The drain thread (engine_drain.c's DESIGN). */
void *eng_drain_main(void *arg);
/* Fills *out with the drain in progress (planning or running) and returns
 * true, or zeroes it and returns false when there is none - also while an
 * ended one waits to be written or freed. Under the lock; copies no
 * guest. */
bool eng_drain_metrics(md_engine *e, md_engine_drain_metrics *out);
/* Frees e->drain. eng_free only. */
void eng_drain_free(md_engine *e);

/* ---- without the lock ---- */

/* Finds where a's domain is and, if it was paused by force-complete and is
 * still on the source, resumes it. When the location cannot be told,
 * appends why to msg. Blocks in the hypervisor. */
md_hv_location eng_locate_and_resume(md_engine *e, active *a, char *msg, size_t msglen);
/* Lists the node's domains for md_engine_domains(). Blocks in the
 * hypervisor; takes the lock to swap the list in. */
void eng_refresh_domains(md_engine *e);

/* ---- the migrate call (engine_worker.c) ---- */

/* A migrate call's arguments with the strings they point to, copied from
 * an active so that the call can run without the lock. */
typedef struct eng_migrate_call {
    md_hv_migrate_args args;
    char domain[MD_UUID_LEN];
    char dest_name[MD_NAME_LEN];
    char dest_uri[600];
    char migrate_uri[300];
} eng_migrate_call;

/* Fills c for a's migration; resume: the same call plus
 * VIR_MIGRATE_POSTCOPY_RESUME. Under the lock. */
void eng_migrate_call_init(md_engine *e, const active *a, bool resume, eng_migrate_call *c);
/* a has just been recorded completed without its JOB_COMPLETED event:
 * keeps it (a reference) in e->finals for a while, so that the downtime
 * the event carries is added to the record when it comes. Nothing when
 * out of memory (the downtime then stays unknown). Under the lock. */
void eng_await_final(md_engine *e, active *a);
/* The ended active in e->finals whose domain is domain, or NULL. Under
 * the lock. */
active *eng_finals_find_domain(md_engine *e, const char *domain);
/* Writes the final statistics of each active in e->finals whose event has
 * come (record and event in one transaction; the downtime histogram), and
 * lets go of those whose wait is over, or of all when all is true (a
 * stop). The monitor after each pass, and md_engine_stop; under the
 * lock. */
void eng_finals_tick(md_engine *e, bool all);
/* Writes an operator's command on a to the store, with its event
 * (event_kind, NULL for none), before the request is answered: one accepted
 * before a crash is carried out after the restart. Remembers its id in
 * a->cmd_id; the caller sets the matching cmd_ flag. The store's status and
 * message on failure (then nothing is remembered). Under the lock. engine.c */
md_status eng_add_command(md_engine *e, active *a, md_command_kind kind, md_err *err,
                          const char *event_kind, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Marks command kind of a carried out: clears its flag and finishes it in
 * the store. Under the lock. engine.c */
void eng_command_done(md_engine *e, active *a, md_command_kind kind);

/* ---- post-copy recovery (engine_postcopy.c) ---- */

/* Moves a into "running (post-copy recovering)" for reason why (or, when
 * it is there already, e.g. after a restart, starts this daemon's window
 * from the record's recovery_started_at). False when a's state does not
 * allow it or the store refused. Under the lock. */
bool eng_postcopy_enter(md_engine *e, active *a, const char *why);
/* eng_postcopy_enter() for an operator's request (recover from error): the
 * move is durable when it returns MD_OK; MD_ERR_UNAVAILABLE while the store
 * cannot be written, MD_ERR_CONFLICT when the state does not allow it, with
 * *err set. Under the lock. */
md_status eng_postcopy_enter_request(md_engine *e, active *a, const char *why, md_err *err);
/* Puts a recovering a without a worker on e->resumes. Under the lock. */
void eng_postcopy_need_worker(md_engine *e, active *a);
/* The resume attempts, until completed, healed, ended or out of time.
 * Blocks in the hypervisor. A worker thread, without the lock. */
void eng_postcopy_recover(md_engine *e, active *a);
/* After a's migrate call failed: when the job is a broken post-copy, enters
 * recovery and runs it (eng_postcopy_recover) and returns true; false for
 * an ordinary failure, which the caller settles. A worker, without the
 * lock. */
bool eng_postcopy_after_failed_call(md_engine *e, active *a);
/* Ends a recovery whose window has passed while its worker is still
 * blocked in the original migrate call: error, both halves intact. The
 * monitor, under the lock. */
void eng_postcopy_overdue(md_engine *e, active *a);
/* The monitor's look at a recovering a whose resume call runs: once the
 * job moves again, the record goes back to "running (post-copy)". Takes
 * the lock. */
void eng_postcopy_resumed(md_engine *e, active *a, const md_hv_job *job);
/* The monitor's look at a's post-copy: a failed job enters recovery, a
 * stalled one is forced into the paused state first. Blocks in the
 * hypervisor (abort job). The monitor, without the lock. */
void eng_postcopy_watch(md_engine *e, active *a, const md_hv_job *job);

/* Frees e and everything it holds; its threads have all gone (or the last
 * of the threads a stop left behind calls it). engine.c */
void eng_free(md_engine *e);
/* True for a worker or the settler about to return (it has cleared its
 * alive count or flag) when it is the last of the threads a stop left
 * behind: it must then call eng_free(e) once it has let go of the lock.
 * Under the lock. engine.c */
bool eng_last_out(md_engine *e);

/* ---- writing the store (engine_store.c; under the lock) ---- */

/* Writes record m (with event ev in the same transaction when not NULL).
 * may_defer: the engine's own change, which is queued and retried when the
 * store cannot take it now (MD_OK either way); otherwise a request's,
 * refused with MD_ERR_UNAVAILABLE while the store cannot be written.
 * Other failures (no such record) are returned as the store gave them. */
md_status eng_write_record(md_engine *e, const md_migration *m, md_event *ev, bool may_defer,
                           md_err *err);
/* Appends ev to migration uuid's events, now or later; logs what cannot
 * ever be written. */
void eng_write_event(md_engine *e, const char *uuid, const md_event *ev);
/* Marks command id (of migration uuid) finished, now or later. */
void eng_write_finish_command(md_engine *e, const char *uuid, int64_t id);
/* MD_OK when a request may write the store now; MD_ERR_UNAVAILABLE (with
 * why in err) while the engine is degraded or stopping. */
md_status eng_writable(md_engine *e, md_err *err);
/* A write of the store failed with err: the engine is degraded until the
 * store takes writes again. */
void eng_store_failed(md_engine *e, const md_err *err);
/* The newest record of uuid among the pending writes, into *out; false
 * when none is pending. */
bool eng_pending_record(md_engine *e, const char *uuid, md_migration *out);
/* Replaces each of v[0..n) that has a pending record at least as new with
 * it. */
void eng_overlay_pending(md_engine *e, md_migration *v, size_t n);
/* The pending records, oldest first, in a new array (free()); NULL with *n
 * 0 when none is pending or memory is short. */
md_migration *eng_pending_snapshot(md_engine *e, size_t *n);
/* eng_overlay_pending() from a snapshot: any thread, no lock needed. */
void eng_overlay_from(md_migration *v, size_t n, const md_migration *snap, size_t nsnap);
/* The writer thread (started first, stopped last). */
void *eng_writer_main(void *arg);
/* Lets the writer drain what is pending (a few seconds at most), stops it
 * and closes the gate: no write reaches the store after this returns.
 * Without the lock; md_engine_stop only. */
void eng_writer_finish(md_engine *e);
/* ---- deleting old records (engine_purge.c) ---- */

/* The monitor's purge schedule; starts all zero (a look at the first
 * tick). */
typedef struct eng_purge_state {
    int64_t next_at; /* monotonic ms of the next look */
    uint64_t purged; /* records deleted since the last look that found none left */
} eng_purge_state;

/* Deletes one batch of records that ended more than
 * service.keep_finished_days ago, when a look is due (nothing with 0).
 * The monitor at each tick, without the lock; blocks on the store. */
void eng_purge_tick(md_engine *e, eng_purge_state *ps);

/* ---- metrics (engine_metrics.c) ---- */

/* Starts the counters at zero with their histograms' buckets. Before any
 * thread starts. */
void eng_metrics_init(md_engine *e);
/* Counts a's move from state `from` to its state now (a->rec.state): the
 * end of a migration, with its duration and downtime, and the start or end
 * of a post-copy recovery. vtransition() calls it once the move is made.
 * Under the lock. */
void eng_metrics_transition(md_engine *e, const active *a, md_mig_state from);
/* Counts the downtime of a completed migration that became known after its
 * end (its record said -1 when eng_metrics_transition counted the end):
 * once per migration, where the late statistics are applied. Under the
 * lock. */
void eng_metrics_late_downtime(md_engine *e, const active *a);
/* Counts a drain's end in state `to` (a final one). Called once per drain,
 * where its state becomes final (engine_drain*.c). Under the lock. */
void eng_metrics_drain_ended(md_engine *e, md_drain_state to);

/* ---- threads and start (each file's entry points) ---- */

void *eng_worker_main(void *arg);  /* engine_worker.c */
void *eng_monitor_main(void *arg); /* engine_monitor.c */
void *eng_settler_main(void *arg); /* engine_monitor.c */
/* Hands a, whose job has ended with no worker waiting for it, to the
 * settler thread, which finds where the domain runs (possibly asking the
 * destination, which may take seconds: MD_HV_PEER_TIMEOUT_MS) and settles
 * it; after_restart: recovery found it so (the settler words the end for a
 * restart). Stops the monitor's visits meanwhile. Does nothing when a is
 * already on its way or has ended. Under the lock. engine_monitor.c */
void eng_settle_later(md_engine *e, active *a, bool after_restart);
/* The settler's part of recovery: settles a, found ended by recovery, from
 * where its domain runs. Without the lock. engine_recovery.c */
void eng_settle_recovered(md_engine *e, active *a);
void eng_on_hv_event(void *ctx, const md_hv_event *ev); /* engine_monitor.c */
/* Writes the live fields of the actives that changed in one transaction:
 * those with a change that is written at once (dirty), and those whose
 * counters alone moved when their last write is MD_ENGINE_PROGRESS_WRITE_MS old, or
 * all of them when all is true (a stop). Under the lock.
 * engine_monitor.c */
void eng_flush_progress(md_engine *e, bool all);
/* Lays the in-memory record of each migration in progress over its copy
 * in v[0..n) (read from the store, whose counters may be a few seconds
 * old), where list filter f (NULL: none) still selects the in-memory one.
 * Under the lock. engine_monitor.c */
void eng_overlay_active(md_engine *e, const md_store_filter *f, md_migration *v, size_t n);
/* Whether list filter f (NULL: none) selects m by its state and times, as
 * the store's query does. Any thread. engine.c */
bool eng_filter_selects(const md_store_filter *f, const md_migration *m);
/* Recovers every record left in progress; before any thread starts.
 * engine_recovery.c */
md_status eng_recover(md_engine *e, md_err *err);

#endif /* MD_ENGINE_PRIV_H */
