/* hv.h - the hypervisor boundary: libvirt, or the simulator, behind one interface.
 *
 * The engine (service/engine.c) talks to the hypervisor only through this
 * interface. Two implementations exist:
 *
 *  - hv_libvirt.c (the connection), hv_libvirt_domain.c (the operations
 *    on this node's domains) and hv_libvirt_peer.c (its questions to other
 *    hosts): the real one, and the only files of the project that include
 *    <libvirt/libvirt.h>. Peer-to-peer migrations with
 *    virDomainMigrateToURI3, job statistics, and libvirt's events delivered
 *    from its own event-loop thread; reconnects with backoff when libvirtd
 *    goes away.
 *  - hv_sim.c: the migration simulator of policy/sim.h in scaled real time,
 *    with domains from the [simulator] section of the configuration. Chosen
 *    only explicitly (service.hypervisor = "simulator"), so that the daemon,
 *    the API tests and the benchmarks run without libvirt.
 *
 * Threads: every operation may be called from any thread, concurrently with
 * others, including while another thread is blocked in migrate(). Domains
 * are named by UUID string. The event handler runs on the boundary's own
 * thread; it must not call back into the boundary and must return quickly.
 * Each operation below says whether it BLOCKS - a round trip to libvirtd
 * (milliseconds, or up to libvirt's keepalive timeout when libvirtd or a
 * peer does not answer) - and which of the engine's threads call it. No
 * HTTP thread ever calls a blocking operation: the API reads the engine's
 * view instead (md_engine_domains).
 *
 * Errors: each operation returns MD_OK or a status, and on failure writes
 * the hypervisor's own message into err (which may be NULL).
 *
 * Other hosts. Three operations reach the destination: locate() and
 * free_memory() open a connection to its libvirtd, and migrate() makes
 * this node's libvirtd open one. libvirt's remote driver has no connect timeout, and to a destination
 * that drops packets a connection waits until the kernel gives up on the TCP
 * handshake (about 2 minutes). So both first check that the destination's
 * libvirt port (of the URI's transport) accepts a TCP connection within
 * MD_HV_PEER_TIMEOUT_MS, and fail at once when not; locate() and
 * free_memory() then give their connection libvirt's keepalive (a probe every 5 s, dead after 3 missed,
 * so 15 to 20 s). What stays unbounded: a destination that accepts the
 * handshake and then never answers libvirt's first messages (a hung
 * libvirtd), for which libvirt's client waits without limit. Hence the
 * rule: none of them is ever called by the monitor or by the engine's
 * start; the workers and the engine's settler thread call locate() and
 * migrate() (service/engine.c), where a wait holds up only the one
 * migration, and the drain thread free_memory().
 */
#ifndef MD_HV_H
#define MD_HV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/config.h"
#include "service/migration.h"
#include "service/status.h"

#define MD_HV_MAX_DISKS 16

/* How long locate() and migrate() wait for the destination's libvirt port
 * to accept a TCP connection before they give up on it: long enough for
 * two lost SYNs on a loaded link (Linux resends after 1 s, then 3 s), short
 * enough that a migration to a dead host fails within seconds rather than
 * minutes. */
#define MD_HV_PEER_TIMEOUT_MS 5000

typedef struct md_hv md_hv;

typedef struct md_hv_domain {
    char uuid[MD_UUID_LEN];
    char name[MD_NAME_LEN];
    uint64_t ram_bytes; /* maximum memory */
    size_t ndisks;
    uint64_t disk_bytes[MD_HV_MAX_DISKS]; /* capacity of each disk */
    bool active;                          /* running or paused on this node */
    bool paused;
} md_hv_domain;

/* A migration job's statistics, as libvirt's job stats report them. */
typedef struct md_hv_job {
    bool active;                                         /* a migration job is running now */
    int64_t elapsed_ms;                                  /* since the job started */
    uint32_t iteration;                                  /* memory iteration (dirty syncs) */
    uint64_t mem_total, mem_processed, mem_remaining;    /* bytes */
    uint64_t disk_total, disk_processed, disk_remaining; /* bytes */
    uint64_t transfer_rate;                              /* bytes/s, 0 = unknown */
    uint64_t dirty_rate;                                 /* bytes/s, 0 = unknown */
    bool post_copy;                                      /* the job runs in post-copy */
    int64_t downtime_ms;   /* real downtime of a finished job, -1 = unknown */
    bool ending;           /* active, but its migration has ended (failed,
                                         cancelled, completed) and the hypervisor is
                                         winding the job up: no statistics */
    bool post_copy_failed; /* post-copy broke and the job waits, paused, for a
                              resume (md_hv_migrate_args.resume); active and
                              post_copy stay true, no memory moves. libvirt: the
                              source is PAUSED with reason POSTCOPY_FAILED */
} md_hv_job;

typedef struct md_hv_migrate_args {
    const char *uuid;              /* the domain to migrate */
    const char *dest_name;         /* destination node (URI host) */
    const char *dest_uri;          /* qemu+SCHEME://dest_name/system */
    const char *migrate_uri;       /* tcp://dest address: where QEMU connects */
    uint32_t bandwidth_mibps;      /* 0 = unlimited */
    uint32_t parallel_connections; /* 1 = no parallel migration */
    bool native_tls;
    bool post_copy;       /* VIR_MIGRATE_POSTCOPY */
    bool auto_converge;   /* VIR_MIGRATE_AUTO_CONVERGE */
    bool block_migration; /* VIR_MIGRATE_NON_SHARED_INC */
    bool resume;          /* VIR_MIGRATE_POSTCOPY_RESUME: continue the domain's
                             failed post-copy job instead of starting one; every
                             other field must be what the first call was given */
} md_hv_migrate_args;

/* Where a domain runs now, judged from both ends. */
typedef enum md_hv_location {
    MD_HV_LOC_UNKNOWN = 0, /* could not be told (err says why) */
    MD_HV_LOC_SOURCE,      /* active on this node */
    MD_HV_LOC_DEST,        /* active on the destination, not here */
    MD_HV_LOC_NOWHERE,     /* active on neither */
} md_hv_location;

typedef enum md_hv_event_kind {
    MD_HV_EV_ITERATION = 0,   /* a pre-copy pass ended; .iteration */
    MD_HV_EV_POSTCOPY,        /* the job switched to post-copy, or a resume of
                                 its failed post-copy reconnected (libvirt:
                                 SUSPENDED/POSTCOPY again) */
    MD_HV_EV_POSTCOPY_FAILED, /* post-copy failed: the guest is paused until a
                                 resume (source SUSPENDED/POSTCOPY_FAILED,
                                 destination RESUMED/POSTCOPY_FAILED) */
    MD_HV_EV_JOB_COMPLETED,   /* the job finished; .job has its final stats */
    MD_HV_EV_CONNECTION_LOST, /* libvirtd went away; reconnecting */
    MD_HV_EV_RECONNECTED,     /* connected again: reconcile what is in flight */
} md_hv_event_kind;

typedef struct md_hv_event {
    md_hv_event_kind kind;
    char uuid[MD_UUID_LEN]; /* the domain; "" for connection events */
    uint32_t iteration;
    md_hv_job job;
} md_hv_event;

typedef void (*md_hv_event_fn)(void *ctx, const md_hv_event *ev);

/* A guest's dirty rate as the hypervisor measured it (libvirt's dirty-rate
 * calculation, virDomainStartDirtyRateCalc and the "dirtyrate" domain
 * statistics: distinct pages written per second over the window). */
typedef struct md_hv_dirty_rate {
    bool measured;        /* the calculation has ended; false: still measuring */
    uint64_t bytes_per_s; /* with measured */
} md_hv_dirty_rate;

typedef struct md_hv_ops {
    const char *name; /* "libvirt" or "simulator" */
    void (*close)(md_hv *hv);
    md_status (*lookup)(md_hv *hv, const char *uuid_or_name, md_hv_domain *out, md_err *err);
    md_status (*list)(md_hv *hv, md_hv_domain **out, size_t *n, md_err *err);
    md_status (*migrate)(md_hv *hv, const md_hv_migrate_args *a, md_err *err);
    md_status (*job)(md_hv *hv, const char *uuid, md_hv_job *out, md_err *err);
    md_status (*set_max_downtime)(md_hv *hv, const char *uuid, uint32_t ms, md_err *err);
    md_status (*set_max_speed)(md_hv *hv, const char *uuid, uint32_t mibps, md_err *err);
    md_status (*start_post_copy)(md_hv *hv, const char *uuid, md_err *err);
    md_status (*suspend)(md_hv *hv, const char *uuid, md_err *err);
    md_status (*resume)(md_hv *hv, const char *uuid, md_err *err);
    md_status (*abort_job)(md_hv *hv, const char *uuid, bool post_copy, md_err *err);
    md_status (*locate)(md_hv *hv, const char *uuid, const char *dest_uri, md_hv_location *out,
                        md_err *err);
    void (*release_waiters)(md_hv *hv);
    bool (*connected)(md_hv *hv, md_err *err);
    md_status (*dirty_rate_start)(md_hv *hv, const char *uuid, int seconds, md_err *err);
    md_status (*dirty_rate_read)(md_hv *hv, const char *uuid, md_hv_dirty_rate *out, md_err *err);
    md_status (*free_memory)(md_hv *hv, const char *dest_uri, uint64_t *bytes, md_err *err);
} md_hv_ops;

/* The common head of every implementation's struct. */
struct md_hv {
    const md_hv_ops *ops;
    pthread_mutex_t event_lock; /* one handler call at a time; guards the two below */
    md_hv_event_fn on_event;
    void *event_ctx;
};

/* For implementations: md_hv_base_init() at construction (sets ops, no
 * handler), md_hv_base_fini() when freeing, and md_hv_emit() to deliver an
 * event from the boundary's own thread. md_hv_emit() holds event_lock
 * around the handler, so that once md_hv_set_event_handler() has returned
 * no call of the old handler is running or will start. */
void md_hv_base_init(md_hv *hv, const md_hv_ops *ops);
void md_hv_base_fini(md_hv *hv);
void md_hv_emit(md_hv *hv, const md_hv_event *ev);

/* Opens the boundary that cfg->service.hypervisor names. On MD_OK *out must
 * be closed with md_hv_close(). BLOCKS (connects to libvirtd; the simulator
 * starts its clock thread). Main thread, before the engine starts. */
md_status md_hv_open(const md_config *cfg, md_hv **out, md_err *err);

/* The two implementations' constructors (md_hv_open picks one); as
 * md_hv_open. */
md_status md_hv_libvirt_open(const md_config *cfg, md_hv **out, md_err *err);
md_status md_hv_sim_open(const md_config *cfg, md_hv **out, md_err *err);

/* Sets the event handler; call before the first migrate(), and with NULL
 * before the handler's context goes away: it waits for a handler call in
 * progress to return, and no call of the old handler starts after it. Does
 * not block on libvirtd. Main thread (engine start and stop). fn may be
 * NULL. */
void md_hv_set_event_handler(md_hv *hv, md_hv_event_fn fn, void *ctx);

/* Closes the boundary (jobs in libvirtd keep running): stops its event
 * thread and closes its connections. Must not be called while a thread is
 * blocked in an operation (see md_engine_stop). Main thread. Accepts
 * NULL. */
void md_hv_close(md_hv *hv);

/* Finds a domain of this node by UUID or name. MD_ERR_NOT_FOUND if none.
 * BLOCKS. Workers (before a migration starts) and recovery at start. */
static inline md_status md_hv_lookup(md_hv *hv, const char *id, md_hv_domain *out, md_err *err)
{
    return hv->ops->lookup(hv, id, out, err);
}

/* Every domain of this node (active or defined), in a new array the caller
 * frees with free(). BLOCKS. The monitor (its periodic refresh) and the
 * engine's start. */
static inline md_status md_hv_list(md_hv *hv, md_hv_domain **out, size_t *n, md_err *err)
{
    return hv->ops->list(hv, out, n, err);
}

/* Starts a peer-to-peer live migration and blocks until the job ends.
 * MD_OK: completed. MD_ERR_HYPERVISOR: it failed or was aborted (err has the
 * hypervisor's message; the caller decides the end state from where the
 * domain runs), or never started because the destination's libvirt port
 * did not accept a connection within MD_HV_PEER_TIMEOUT_MS (err says the
 * host "does not answer", or why it refused). MD_ERR_UNAVAILABLE: the wait was released by
 * md_hv_release_waiters() or the connection was lost; the job may still run.
 * BLOCKS for the whole migration (seconds to hours). Worker threads only.
 *
 * A job that breaks in post-copy makes the call return MD_ERR_HYPERVISOR
 * with a message saying it "failed in post-copy phase"; the job itself stays
 * (md_hv_job_stats: active, post_copy_failed). libvirt returns only once
 * the two libvirtds can talk again, which after a partition can be long
 * after the break: the POSTCOPY_FAILED event and the job statistics are the
 * signs to act on, not this return.
 *
 * a->resume: repeats the call with VIR_MIGRATE_POSTCOPY_RESUME to continue a
 * failed post-copy job from where it stopped; a->post_copy must be set (the
 * same flags and parameters as the first call). Blocks like a first call
 * until the job ends: MD_OK completed (the domain runs at the destination
 * only); MD_ERR_HYPERVISOR the resume failed (e.g. "unable to connect to
 * server ..." while the destination is unreachable, within seconds) or the
 * resumed post-copy broke again - either way the job is still there, failed,
 * and can be resumed again; MD_ERR_CONFLICT the job is in no state to be
 * resumed (libvirt's VIR_ERR_OPERATION_INVALID: no migration job, not in
 * post-copy, post-copy has not failed, a resume already under way, the
 * first call still owns the job, "QEMU reports migration is still
 * running"), which may change, so it is worth retrying;
 * MD_ERR_INVALID without a->post_copy; MD_ERR_UNAVAILABLE as above. */
static inline md_status md_hv_migrate(md_hv *hv, const md_hv_migrate_args *a, md_err *err)
{
    return hv->ops->migrate(hv, a, err);
}

/* The running job's statistics; out->active is false when no migration job
 * runs for the domain. A failed post-copy job is still active, with
 * post_copy and post_copy_failed set. MD_ERR_NOT_FOUND if the domain is not
 * on this node. BLOCKS. The monitor (every pass) and recovery at start. */
static inline md_status md_hv_job_stats(md_hv *hv, const char *uuid, md_hv_job *out, md_err *err)
{
    return hv->ops->job(hv, uuid, out, err);
}

/* The job's allowed downtime (QEMU's downtime-limit). BLOCKS. The monitor
 * (policy actions and operators' settings). */
static inline md_status md_hv_set_max_downtime(md_hv *hv, const char *uuid, uint32_t ms,
                                               md_err *err)
{
    return hv->ops->set_max_downtime(hv, uuid, ms, err);
}

/* The job's bandwidth cap, 0 = unlimited. BLOCKS. The monitor. */
static inline md_status md_hv_set_max_speed(md_hv *hv, const char *uuid, uint32_t mibps,
                                            md_err *err)
{
    return hv->ops->set_max_speed(hv, uuid, mibps, err);
}

/* Switches the job to post-copy. MD_ERR_CONFLICT when the job was not
 * started with post-copy permitted. BLOCKS. The monitor. */
static inline md_status md_hv_start_post_copy(md_hv *hv, const char *uuid, md_err *err)
{
    return hv->ops->start_post_copy(hv, uuid, err);
}

/* Pauses / resumes the guest (force-complete without post-copy, and
 * resuming a guest that stayed on the source). BLOCKS. The monitor
 * (suspend) and the workers or recovery (resume, when settling). */
static inline md_status md_hv_suspend(md_hv *hv, const char *uuid, md_err *err)
{
    return hv->ops->suspend(hv, uuid, err);
}

static inline md_status md_hv_resume(md_hv *hv, const char *uuid, md_err *err)
{
    return hv->ops->resume(hv, uuid, err);
}

/* Aborts the migration job. MD_ERR_CONFLICT when there is none, or when it
 * runs in post-copy (a post-copy job cannot be cancelled: neither host has
 * the whole guest).
 *
 * post_copy: VIR_DOMAIN_ABORT_JOB_POSTCOPY instead: forces a job in
 * post-copy - typically one that stalled - into the failed, paused state
 * that a resume continues (md_hv_job.post_copy_failed, a POSTCOPY_FAILED
 * event); nothing is cancelled. MD_ERR_CONFLICT when the job is not in
 * post-copy (libvirt refuses it for pre-copy) or its post-copy has already
 * failed (the simulator; libvirt passes on QEMU's refusal of migrate-pause,
 * which may come as MD_ERR_HYPERVISOR).
 *
 * BLOCKS. The monitor. */
static inline md_status md_hv_abort_job(md_hv *hv, const char *uuid, bool post_copy, md_err *err)
{
    return hv->ops->abort_job(hv, uuid, post_copy, err);
}

/* Where the domain is active now: here, at dest_uri, or nowhere. Asks this
 * node first; only a domain not active here makes it ask the destination,
 * on a connection opened for the question. MD_ERR_UNAVAILABLE when the
 * destination does not accept a connection within MD_HV_PEER_TIMEOUT_MS or
 * refuses it (see "Other hosts" above). BLOCKS, up to MD_HV_PEER_TIMEOUT_MS
 * plus libvirt's keepalive for a destination that stops answering. Workers
 * and the engine's settler thread (settling a migration's end); never the
 * monitor, never the engine's start. */
static inline md_status md_hv_locate(md_hv *hv, const char *uuid, const char *dest_uri,
                                     md_hv_location *out, md_err *err)
{
    return hv->ops->locate(hv, uuid, dest_uri, out, err);
}

/* True when the boundary is connected to its hypervisor now, so that an
 * operation can reach it; false while it is not (libvirtd went away and the
 * boundary is reconnecting, see hv_libvirt.c), and then err (which may be
 * NULL) names the hypervisor and says it does not answer, e.g. "libvirtd at
 * qemu:///system does not answer (reconnecting)". An operation called
 * while disconnected fails with MD_ERR_UNAVAILABLE; this tells the state
 * without trying one. The answer may change at once (true is no promise
 * that the next call reaches libvirtd). An implementation without the op
 * is always connected. Does NOT block: the boundary's own flag. Workers
 * (before they start a migration). */
static inline bool md_hv_connected(md_hv *hv, md_err *err)
{
    return !hv->ops->connected || hv->ops->connected(hv, err);
}

/* Makes every blocked migrate() return MD_ERR_UNAVAILABLE without touching
 * the jobs (graceful stop). libvirt cannot interrupt its migrate call; its
 * implementation does nothing and the caller stops without waiting. Does
 * not block. Main thread (engine stop). */
static inline void md_hv_release_waiters(md_hv *hv)
{
    if (hv->ops->release_waiters)
        hv->ops->release_waiters(hv);
}

/* Starts measuring uuid's dirty rate over `seconds` (1..60) of the guest's
 * life; md_hv_dirty_rate_read() tells the result once that time has
 * passed. Many guests may be measured at once. MD_ERR_NOT_FOUND when the
 * domain is not here or not running, MD_ERR_CONFLICT when a calculation
 * already runs for it, MD_ERR_HYPERVISOR when the hypervisor cannot
 * measure (QEMU without calc-dirty-rate). BLOCKS (one round trip). The
 * engine's drain thread. */
static inline md_status md_hv_dirty_rate_start(md_hv *hv, const char *uuid, int seconds,
                                               md_err *err)
{
    return hv->ops->dirty_rate_start(hv, uuid, seconds, err);
}

/* The result of the last md_hv_dirty_rate_start() of uuid: out->measured
 * false while it still runs (ask again later). MD_ERR_NOT_FOUND when the
 * domain is not here; MD_ERR_CONFLICT when no calculation was started.
 * BLOCKS (one round trip). The engine's drain thread. */
static inline md_status md_hv_dirty_rate_read(md_hv *hv, const char *uuid, md_hv_dirty_rate *out,
                                              md_err *err)
{
    return hv->ops->dirty_rate_read(hv, uuid, out, err);
}

/* The free memory of the destination at dest_uri (virNodeGetFreeMemory on
 * a connection opened for the question, as locate() opens one), in bytes.
 * MD_ERR_UNAVAILABLE when the destination does not accept a connection
 * within MD_HV_PEER_TIMEOUT_MS or refuses it. BLOCKS, bounded as
 * locate(). The engine's drain thread; never the monitor. */
static inline md_status md_hv_free_memory(md_hv *hv, const char *dest_uri, uint64_t *bytes,
                                          md_err *err)
{
    return hv->ops->free_memory(hv, dest_uri, bytes, err);
}

#endif /* MD_HV_H */
