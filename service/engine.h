/* engine.h - the migration service: queue, worker pool, monitor, commands, recovery.
 *
 * The engine owns every migration in progress. Requests come in through the
 * functions below (the REST layer calls them from its own threads); they
 * check the request against the migration's current state, record what was
 * asked, and return at once: they never wait for the hypervisor. The work
 * happens on the engine's threads:
 *
 *  - max_concurrent_live_migrations workers take queued migrations in FIFO
 *    order and run the blocking migrate call, then settle the end state;
 *  - one monitor samples every running job each monitor interval (and at
 *    once on an iteration or completion event), feeds the policy engine,
 *    applies its action and the operators' commands, and writes progress;
 *  - one settler settles the jobs that ended with no worker waiting for
 *    them, asking the destination where the domain runs when it must.
 *
 * Every state change is committed to the store before it is visible through
 * md_engine_get() or the store.
 *
 * Locks and blocking: the engine has one lock. A request function takes it,
 * and where it says "store under the lock" it also reads or writes SQLite
 * while holding it (a state change must be durable before another thread
 * can see it), so it blocks for as long as SQLite does - at most the
 * store's short busy wait (200 ms) for a lock another process holds - and,
 * meanwhile, so do the monitor and every other request. No function here
 * calls the hypervisor on the caller's thread.
 *
 * When the store cannot be written (locked past the busy wait, disk full),
 * the engine is degraded (md_engine_get_health()): requests that write are
 * refused with MD_ERR_UNAVAILABLE and create nothing, while migrations in
 * progress go on and their state changes are kept in memory and written,
 * in order, once the store takes them (service/engine_store.c).
 */
#ifndef MD_ENGINE_H
#define MD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/config.h"
#include "service/drain.h"
#include "service/hv.h"
#include "service/migration.h"
#include "service/status.h"
#include "service/store.h"

typedef struct md_engine md_engine;

/* How old, at most, the byte counters, rates and progress of a migration
 * in progress are in the store (ms): the monitor writes a pass, a state or
 * an action at once, and counters alone at most this often. md_engine_get()
 * and md_engine_list() show the in-memory record of a migration in
 * progress, so they are never this old; a daemon killed loses at most this
 * much of them (service/engine_monitor.c, "Progress in the store"). */
#define MD_ENGINE_PROGRESS_WRITE_MS 5000

/* A request to migrate (POST os-migrations). Optional fields use -1 (or
 * 0 / "") for "the configuration's default". */
typedef struct md_engine_request {
    char instance[MD_NAME_LEN]; /* the domain's UUID or name */
    /* The destination node. With peers configured it must be one of them
     * (compared ignoring case) and the URIs use the peer's addresses;
     * without, it is the libvirt URI's host. */
    char dest_compute[MD_NAME_LEN];
    /* Its migration address; "" = the peer's migrate_address or address
     * (with peers), or dest_compute (without). With peers, a non-empty one
     * must be one of the peer's two addresses. */
    char dest_host[MD_NAME_LEN];
    bool block_migration;
    int permit_post_copy;    /* -1, 0 or 1 */
    int64_t max_downtime_ms; /* -1, or >= POLICY_MIN_DOWNTIME_MS */
    int64_t bandwidth_mibps; /* -1, or >= 0 (0 = unlimited) */
    int timeout_action;      /* -1, or a policy_timeout_action */
    /* Set only by the engine's own drains (the API leaves them zero): the
     * drain the migration belongs to, and its planned mode. */
    char drain_uuid[MD_UUID_LEN];
    bool post_copy_after_first_pass; /* needs post-copy permitted */
} md_engine_request;

/* Settings an operator may change on a migration (PUT). -1 = unchanged. */
typedef struct md_engine_settings {
    int permit_post_copy; /* only while queued */
    int64_t max_downtime_ms;
    int64_t bandwidth_mibps;
} md_engine_settings;

/* Recovers every record left in progress (DESIGN.md section 7), then starts
 * the workers, the monitor and the settler. cfg, store and hv are borrowed
 * and must outlive the engine; the engine becomes hv's event handler. On
 * MD_OK *out must be stopped with md_engine_stop(). Blocks (store and this
 * node's hypervisor I/O), but never on another host: a record whose job
 * ended while the daemon was down stays in progress until the settler has
 * asked where its domain runs, just after the start. Logs a warning when
 * cfg has no peers (any destination is then allowed). Main thread. */
md_status md_engine_start(const md_config *cfg, md_store *store, md_hv *hv, md_engine **out,
                          md_err *err);

/* Stops taking work and stops the threads; migrations in flight keep
 * running in the hypervisor and stay "in progress" in the store, for
 * recovery at the next start. What the store could not take yet is
 * written first (for up to 3 s); after that nothing of the engine writes to
 * the store, which the caller may then close. A worker blocked in libvirt's
 * migrate call (or the settler, in a question to a destination that does
 * not answer) cannot be interrupted: it is left behind, writes nothing, and
 * the last such thread frees the engine's memory when it returns. Returns
 * false when a thread was left behind: the hypervisor boundary it is
 * blocked in must then stay open until the process exits. Accepts NULL
 * (returns true). Main thread. */
bool md_engine_stop(md_engine *e);

/* Queues a migration; *out is the new record (state queued). Returns
 * MD_ERR_INVALID for a bad request (err says which field), including a
 * destination that is not among the configured peers (err then lists
 * them). Writes the store
 * under the lock (the new record and its first event). Never calls the
 * hypervisor. Any thread. */
md_status md_engine_create(md_engine *e, const md_engine_request *req, md_migration *out,
                           md_err *err);

/* Aborts: a queued migration is cancelled at once without touching the
 * hypervisor; a preparing or running one is aborted by the monitor.
 * MD_ERR_CONFLICT in post-copy or when it has already ended,
 * MD_ERR_NOT_FOUND for an unknown uuid. Store under the lock: reads it for
 * a uuid that is not in progress, writes the cancellation or the request's
 * event. Any thread. */
md_status md_engine_abort(md_engine *e, const char *uuid, md_err *err);

/* Force-complete (Nova's): post-copy when the migration permits it, else
 * pause the guest. MD_ERR_CONFLICT unless running. Store under the lock
 * (the request's event; a read for a uuid not in progress). Any thread. */
md_status md_engine_force_complete(md_engine *e, const char *uuid, md_err *err);

/* Switch to post-copy now. MD_ERR_CONFLICT unless running with post-copy
 * permitted. Store under the lock, as md_engine_force_complete. Any
 * thread. */
md_status md_engine_post_copy(md_engine *e, const char *uuid, md_err *err);

/* Resumes a broken post-copy migration now (PUT action recover): in
 * "running (post-copy recovering)" the next attempt starts at once, and
 * from "error" after a post-copy recovery ran out of time the record goes
 * back to recovering and a worker looks at the job (resumes it if libvirt
 * still holds it paused, settles the record from where the domain runs
 * otherwise). MD_ERR_CONFLICT in any other state, MD_ERR_NOT_FOUND for an
 * unknown uuid. Store under the lock (the command and its event). Any
 * thread. */
md_status md_engine_recover(md_engine *e, const char *uuid, md_err *err);

/* Changes settings; MD_ERR_CONFLICT when the state does not allow one of
 * them (permit_post_copy once started; anything once ended). Store under
 * the lock (the updated record and its event). Any thread. */
md_status md_engine_update(md_engine *e, const char *uuid, const md_engine_settings *s,
                           md_err *err);

/* The record with live progress (in-memory for migrations in progress, the
 * store for the rest, read under the lock). MD_ERR_NOT_FOUND if unknown.
 * Any thread. */
md_status md_engine_get(md_engine *e, const char *uuid, md_migration *out, md_err *err);

/* The domains of this node as the monitor last listed them (it refreshes
 * the list every few seconds), in a new array the caller frees with
 * free(). In memory, under the lock; never calls the hypervisor. Any
 * thread. */
md_status md_engine_domains(md_engine *e, md_hv_domain **out, size_t *n, md_err *err);

/* The records f selects, newest first, as the store holds them (progress
 * of migrations in progress as of the monitor's last flush), in a new
 * array the caller frees with free(). MD_ERR_INVALID for a marker that
 * names no record. Reads the store without the engine lock: blocks on
 * SQLite, never on the hypervisor. Any thread. */
md_status md_engine_list(md_engine *e, const md_store_filter *f, md_migration **out, size_t *n,
                         md_err *err);

/* The timeline of migration uuid, oldest first, in a new array the caller
 * frees with free(): the events with an id above after_id (0 = from the
 * first), at most limit of them (0 = no limit; md_store_events_page()).
 * MD_ERR_NOT_FOUND for an unknown uuid. Reads the store without the engine
 * lock. Any thread. */
md_status md_engine_events(md_engine *e, const char *uuid, int64_t after_id, size_t limit,
                           md_event **out, size_t *n, md_err *err);

/* How many migrations are running (preparing, running, post-copy, post-copy
 * recovering) and
 * queued now. In memory, under the lock. Any thread. */
void md_engine_counts(md_engine *e, size_t *running, size_t *queued);

/* Whether the engine can write its database. */
typedef struct md_engine_health {
    bool degraded;          /* a write failed and the store has not caught up */
    int64_t degraded_since; /* wall ms since the epoch; 0 when not degraded */
    char reason[256];       /* the store's last failure, "" when not degraded */
    size_t pending_writes;  /* state changes and events waiting for the store */
} md_engine_health;

/* Fills *out. While degraded, requests that write (create, abort, steer)
 * are refused with MD_ERR_UNAVAILABLE; migrations in progress go on and
 * their records catch up when the store takes writes again. In memory,
 * under the lock. Any thread. */
void md_engine_get_health(md_engine *e, md_engine_health *out);

/* ---- drains (engine_drain.c) ----------------------------------------------
 *
 * A drain moves every guest of this node (or the listed ones) to the
 * listed peers by a deadline (service/drain.h, policy/plan.h). The engine's
 * drain thread measures the guests (dirty rate) and the destinations (free
 * memory), plans, starts each guest's migration as an ordinary record that
 * names the drain when the plan says, re-plans when one ends, retries a
 * failed guest once on another destination, and records the plan and every
 * re-plan as drain events with the numbers behind them. Drains are durable:
 * a restart picks up every drain in progress where it was. */

/* A request to drain (POST /v1/drains). */
typedef struct md_drain_request {
    size_t ndests; /* 1..MD_DRAIN_MAX_DESTS */
    char dests[MD_DRAIN_MAX_DESTS][MD_NAME_LEN];
    int64_t deadline_s;   /* > 0 */
    int permit_post_copy; /* -1 = the configuration's, 0 or 1 */
    int max_parallel;     /* 0 = max_concurrent_live_migrations; 1..PLAN_MAX_PARALLEL */
    bool strict;          /* refuse a deadline that cannot be met */
    bool abort_running;   /* a cancel aborts the migrations in progress */
    /* Copy each guest's disks (VIR_MIGRATE_NON_SHARED_INC), for a node
     * without shared storage: every disk's capacity counts in the plan. */
    bool block_migration;
    /* Guests to move (UUIDs or names): ninstances 0 = every active domain of
     * the node; exclude those listed in exclude. Each at most
     * MD_DRAIN_MAX_GUESTS. Caller-owned arrays of MD_NAME_LEN strings. */
    size_t ninstances;
    const char (*instances)[MD_NAME_LEN];
    size_t nexclude;
    const char (*exclude)[MD_NAME_LEN];
} md_drain_request;

/* Starts a drain; *out (released with md_drain_clear()) is the new record,
 * state planning, with its guests listed (waiting, not yet planned; a
 * guest that already has a migration in progress is adopted: migrating,
 * with that migration's uuid, never started twice). Without
 * r->block_migration shared storage is assumed and no disk is copied.
 * MD_ERR_INVALID for a bad
 * request (err says which field): no destination, one not among the peers
 * (or this node), a duplicate, a deadline <= 0 or over
 * MD_DRAIN_MAX_DEADLINE_S (service/limits.h), an instance that is not a
 * domain of this node or not running, a guest list that is empty after
 * exclusions. MD_ERR_CONFLICT when another drain is in progress, or with
 * strict when the deadline is below the lower bound (every guest's RAM
 * once over the destinations' links, when every destination's bandwidth
 * is configured): err names the numbers. MD_ERR_UNAVAILABLE while the
 * store cannot be written or the node's domains cannot be listed. Writes
 * the store under the lock (the drain and its first event). Never calls
 * the hypervisor: the domains are the monitor's list (md_engine_domains()),
 * which it asks to refresh and waits a few seconds for. Any thread. */
md_status md_engine_drain_create(md_engine *e, const md_drain_request *r, md_drain *out,
                                 md_err *err);

/* Cancels drain uuid: waiting guests are never started (skipped); with
 * abort_running (or the drain's own abort_running) the migrations in
 * progress are aborted as md_engine_abort() would (post-copy ones finish),
 * else they finish; the record's abort_running then says which, and a
 * restart keeps the cancel (its skipped guests say it) and the abort. The
 * drain ends cancelled once none is in progress.
 * MD_ERR_NOT_FOUND, MD_ERR_CONFLICT when it has already ended,
 * MD_ERR_UNAVAILABLE while the store cannot be written. Any thread. */
md_status md_engine_drain_cancel(md_engine *e, const char *uuid, bool abort_running, md_err *err);

/* Drain uuid with its guests (live while in progress) into *out (release
 * with md_drain_clear()). MD_ERR_NOT_FOUND if unknown. Any thread. */
md_status md_engine_drain_get(md_engine *e, const char *uuid, md_drain *out, md_err *err);

/* Drains, newest first, as md_store_drain_list() (in-progress ones live),
 * except that a marker naming no drain is MD_ERR_INVALID ("Marker ...
 * could not be found.", as md_engine_list()). Free with
 * md_drain_free_array(). Any thread. */
md_status md_engine_drain_list(md_engine *e, const char *marker, size_t limit, md_drain **out,
                               size_t *n, md_err *err);

/* Drain uuid's events, as md_engine_events() for a migration. Any
 * thread. */
md_status md_engine_drain_events(md_engine *e, const char *uuid, int64_t after_id, size_t limit,
                                 md_event **out, size_t *n, md_err *err);

/* Waits up to timeout_ms for drain uuid to end; returns its state then
 * (MD_DRAIN_FAILED for an unknown uuid). For tests and tools. Any
 * thread. */
md_drain_state md_engine_drain_wait(md_engine *e, const char *uuid, int timeout_ms);

/* ---- metrics --------------------------------------------------------------- */

/* The operators' requests the engine counts, by kind: each accepted
 * md_engine_abort, md_engine_force_complete, md_engine_post_copy,
 * md_engine_recover and md_engine_update (a refused one is not counted). */
typedef enum md_engine_op {
    MD_ENGINE_OP_ABORT = 0,
    MD_ENGINE_OP_FORCE_COMPLETE,
    MD_ENGINE_OP_POST_COPY,
    MD_ENGINE_OP_RECOVER,
    MD_ENGINE_OP_SETTINGS,
} md_engine_op;

#define MD_ENGINE_NOPS 5

/* "abort", "force_complete", "post_copy", "recover", "settings"; static,
 * never NULL ("unknown" out of range). */
const char *md_engine_op_str(md_engine_op op);

/* How a post-copy recovery ("running (post-copy recovering)") ended: the
 * job moved again (back to "running (post-copy)"), the migration completed
 * straight from recovery, it ended in error (the window passed: both
 * halves kept for an operator), or anything else (the job was found gone
 * and the guest on the source). */
typedef enum md_engine_recovery_outcome {
    MD_ENGINE_RECOVERY_RESUMED = 0,
    MD_ENGINE_RECOVERY_COMPLETED,
    MD_ENGINE_RECOVERY_ERROR,
    MD_ENGINE_RECOVERY_OTHER,
} md_engine_recovery_outcome;

#define MD_ENGINE_NRECOVERY_OUTCOMES 4

/* "resumed", "completed", "error", "other"; static, never NULL. */
const char *md_engine_recovery_outcome_str(md_engine_recovery_outcome o);

/* A histogram as the engine keeps it: counts[i] is the number of
 * observations in (bounds[i-1], bounds[i]] - not cumulative - and
 * counts[nbounds] those above the last bound. bounds points to static,
 * ascending upper bounds (seconds) that live as long as the program. */
#define MD_ENGINE_MAX_BUCKETS 16
typedef struct md_engine_histogram {
    const double *bounds;
    size_t nbounds; /* at most MD_ENGINE_MAX_BUCKETS */
    uint64_t counts[MD_ENGINE_MAX_BUCKETS + 1];
    double sum;     /* of every observation, seconds */
    uint64_t count; /* observations */
} md_engine_histogram;

/* What the engine has counted since it started (md_engine_start): nothing
 * is read back from the store, so a restart starts every counter at 0 (a
 * counter reset, which Prometheus's rate() and increase() expect). Each
 * changes under the engine lock, where the event it counts happens. */
typedef struct md_engine_counters {
    int64_t started_at; /* wall ms since the epoch: when the counting began */
    uint64_t created;   /* migrations accepted by md_engine_create */
    /* Migrations that reached each final state (indexed by md_mig_state;
     * the in-progress states stay 0). One that an operator's recover takes
     * out of error and that ends again counts again. */
    uint64_t ended[MD_MIG_NSTATES];
    /* The policy's actions (indexed by policy_action_kind; NONE stays 0)
     * that the hypervisor carried out; an operator's force-complete, which
     * runs through the policy, is counted as a command instead. */
    uint64_t policy_actions[POLICY_ACT_ABORT + 1];
    uint64_t commands[MD_ENGINE_NOPS]; /* operators' requests accepted, by kind */
    uint64_t recoveries_started;       /* moves into post-copy recovering */
    uint64_t recoveries_ended[MD_ENGINE_NRECOVERY_OUTCOMES]; /* moves out of it */
    /* Seconds from a record's creation (so including its time queued) to
     * its final state, by that state (indexed by md_mig_state). */
    md_engine_histogram duration[MD_MIG_NSTATES];
    /* The guest's real downtime, seconds, of each completed migration for
     * which the hypervisor reported one. */
    md_engine_histogram downtime;
    /* Drains that ended, by their final state (indexed by md_drain_state;
     * planning and running stay 0), counted where the state is set. */
    uint64_t drains_ended[MD_DRAIN_NSTATES];
} md_engine_counters;

/* The drain in progress as a metrics page shows it: a copy of the few
 * numbers, not of the guests. */
typedef struct md_engine_drain_metrics {
    char uuid[MD_UUID_LEN];
    md_drain_state state;     /* planning or running */
    md_drain_counts counts;   /* its guests by state, as md_drain_count() */
    int64_t deadline_at;      /* wall ms since the epoch */
    int64_t predicted_end_at; /* wall ms; 0 until the first plan */
} md_engine_drain_metrics;

/* A snapshot for a metrics page: the counters, the queue, the health,
 * every migration in progress with its live progress, and the drain in
 * progress (at most one). */
typedef struct md_engine_snapshot {
    md_engine_counters counters;
    size_t queued, running; /* as md_engine_counts() */
    md_engine_health health;
    md_migration *migrations; /* in progress (malloc), in no particular order */
    size_t nmigrations;
    bool draining;                 /* a drain is planning or running: drain is it */
    md_engine_drain_metrics drain; /* zero when not draining */
} md_engine_snapshot;

/* Fills *out (which the caller releases with md_engine_snapshot_clear()).
 * All of it is in memory: it never reads the store or calls the
 * hypervisor, so it answers while the store is degraded. The counters,
 * counts, migrations and drain are one consistent view (taken under the lock,
 * held only to copy them); the health is read just before. MD_ERR_NOMEM
 * when the copy of the migrations cannot be allocated. Any thread. */
md_status md_engine_metrics(md_engine *e, md_engine_snapshot *out, md_err *err);

/* Frees what m holds and zeroes it. Accepts NULL. */
void md_engine_snapshot_clear(md_engine_snapshot *m);

/* Waits up to timeout_ms (on the monotonic clock) for uuid to reach a
 * state for which done(state) is true, and returns the state it has then
 * (MD_MIG_ERROR for an unknown uuid). Reads the store under the lock once
 * the migration has ended. For tests and tools. Any thread. */
md_mig_state md_engine_wait(md_engine *e, const char *uuid, bool (*done)(md_mig_state),
                            int timeout_ms);

#endif /* MD_ENGINE_H */
