/* hv_libvirt.c - the hypervisor boundary on libvirt: this node's connection and its domains. */

/* DESIGN
 * ------
 *
 * The boundary implements md_hv_ops (service/hv.h) on libvirt's C API, in
 * two files, the only ones that include libvirt, sharing
 * hv_libvirt_priv.h: this one holds the connection to this node's
 * libvirtd, its supervisor and reconnect, the event loop and domain events,
 * and the operations on this node's domains (lookup, list, migrate, job
 * statistics, the controls, the dirty rate); hv_libvirt_peer.c holds the
 * questions to other hosts (the reachability probe, locate, free_memory),
 * each on a connection of its own with bounded waits. Every operation is a
 * short, blocking libvirt call made on the caller's thread, except
 * migrate(), which blocks in virDomainMigrateToURI3 for the whole
 * peer-to-peer job. Three kinds of threads meet here:
 *
 *  - Callers (workers, the monitor, the API's command handler) run the ops,
 *    any number at a time.
 *  - The event-loop thread runs libvirt's default event loop. libvirt needs
 *    it to deliver domain events, to send keepalive probes and to notice
 *    that libvirtd went away (the close callback).
 *  - One supervisor thread per boundary waits for the connection to be
 *    lost and then reconnects with exponential backoff (0.5 s doubling up
 *    to 30 s). It is a thread of its own, not an event-loop callback,
 *    because virConnectOpen blocks and the loop must keep running meanwhile.
 *
 * The connection. hv->conn is the current virConnectPtr, or NULL while
 * disconnected; hv->mu guards it. An op takes its own reference under the
 * mutex (virConnectRef) and drops it with virConnectClose when it is done,
 * so a reconnect can replace hv->conn at any time without pulling the
 * connection from under a call in flight: the old connection object lives
 * until its last user lets go, and that user simply sees its call fail. An
 * op called while disconnected returns MD_ERR_UNAVAILABLE at once.
 * migrate() makes its long call on a connection of its own, opened for it
 * and closed after it: on the shared one, libvirt 9.0's client held other
 * threads' requests back while the call blocked (see lv_migrate).
 *
 * Noticing loss. virConnectSetKeepAlive(conn, 5, 3) makes libvirt probe the
 * daemon every 5 s and give up after 3 missed answers; a dead socket or a
 * failed probe fires the close callback (on the event-loop thread), which
 * only flags the loss and wakes the supervisor. An op whose call failed on a
 * connection that libvirt reports as no longer alive flags it the same way,
 * for drivers without a close callback. The supervisor then drops the old
 * connection, emits MD_HV_EV_CONNECTION_LOST, reconnects, registers the
 * callbacks again on the new connection and emits MD_HV_EV_RECONNECTED so
 * that the engine reconciles whatever was in flight.
 *
 * Events. Domain events (migration iteration, job completed, lifecycle
 * changes into or out of post-copy) arrive on the event-loop thread and are
 * translated into md_hv_event. Connection events come from the supervisor.
 * Both go through md_hv_emit() (hv.c), which holds the boundary's event
 * lock around the handler so the engine never sees two events at once, and
 * never one after it has cleared its handler. libvirt may still be running one of
 * our callbacks after virConnectDomainEventDeregisterAny returns; it calls
 * the registration's free function only once no dispatch is in flight, so
 * hv->live_regs counts registrations not yet freed and close() waits for it
 * to reach zero before it frees hv.
 *
 * The one process-wide exception. libvirt's default event loop is
 * process-global: virEventRegisterDefaultImpl may be called once per
 * process, and every connection of the process is served by the same loop.
 * Two threads running virEventRunDefaultImpl at once take turns on the one
 * GLib main context, so a boundary could not stop "its" loop thread without
 * the other one stealing the wake-up. Hence the loop thread is shared too:
 * lv_once registers the implementation (and the quiet error handler) once,
 * and the static lv_loop counts the open boundaries, starts the thread with
 * the first and stops it with the last. This is the single mutable global
 * state of the file; everything else lives in the boundary's struct.
 *
 * Stopping the loop. virEventRunDefaultImpl blocks until something happens.
 * To stop it, the last boundary sets lv_loop.stop and adds a timeout of 0 ms
 * (virEventAddTimeout wakes the loop from any thread); the timeout's callback
 * removes itself, the iteration returns, the thread sees the flag and exits.
 *
 * Errors. libvirt keeps its last error per thread, so each failure is read
 * right after the failing call, on the same thread, and turned into an
 * md_status plus libvirt's own message. A no-op global error handler keeps
 * libvirt from printing every error to stderr; it logs at debug level
 * instead, since the caller decides whether an error is worth reporting.
 *
 * Measuring for drains. dirty_rate_start/read are virDomainStartDirtyRateCalc
 * in page-sampling mode and the "dirtyrate" group of the domain statistics
 * (virDomainListGetStats), on this node's connection like every other
 * domain op; free_memory (hv_libvirt_peer.c) is virNodeGetFreeMemory on a
 * connection to the destination opened for the question, as locate() opens
 * one (lv_peer_open: the reachability probe, then keepalive).
 *
 * Not possible with libvirt: interrupting virDomainMigrateToURI3. There is
 * no release_waiters; a graceful stop leaves workers blocked in libvirt and
 * the daemon exits without waiting for them (the jobs go on in libvirtd and
 * are re-attached on the next start).
 */
#include "service/hv.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "service/clock.h"
#include "service/hv_libvirt_priv.h"
#include "service/log.h"

/* Reconnect backoff, in milliseconds. */
#define LV_BACKOFF_FIRST_MS 500
#define LV_BACKOFF_MAX_MS 30000

/* libvirt's page size when job statistics do not report one. */
#define LV_DEFAULT_PAGE_SIZE 4096u

/* The value libvirt itself uses for "unlimited" migration bandwidth (the
 * QEMU driver's QEMU_DOMAIN_MIG_BANDWIDTH_MAX, reported by
 * virDomainMigrateGetMaxSpeed when no limit is set): QEMU's 64-bit bytes/s
 * limit expressed in MiB/s, or ULONG_MAX where a long has 32 bits. Passing
 * 0 would not mean "unlimited" to QEMU. */
#if ULONG_MAX == 4294967295UL
#define LV_BANDWIDTH_UNLIMITED ULONG_MAX
#else
#define LV_BANDWIDTH_UNLIMITED ((unsigned long)(INT64_MAX / (1024 * 1024)))
#endif

/* libvirt writes UUID strings into our fixed-size fields directly. */
_Static_assert(MD_UUID_LEN >= VIR_UUID_STRING_BUFLEN, "MD_UUID_LEN too small for libvirt UUIDs");

/* The domain events we register, in the order of md_hv_libvirt.cb_ids. */
enum { LV_CB_ITERATION = 0, LV_CB_JOB_COMPLETED, LV_CB_LIFECYCLE, LV_NCB };

struct md_hv_libvirt {
    md_hv base;     /* must be first: md_hv * is cast to this */
    char uri[1024]; /* cfg->libvirt.uri, copied at open */

    pthread_mutex_t mu;  /* guards every field below */
    pthread_cond_t cond; /* loss, closing, live_regs changes */
    virConnectPtr conn;  /* the current connection; NULL = disconnected */
    int cb_ids[LV_NCB];  /* event registrations on conn; -1 = none */
    bool lost;           /* conn was found dead; the supervisor acts */
    bool closing;        /* close() has begun */
    unsigned live_regs;  /* registrations whose free callback is pending */

    pthread_t supervisor;
    bool supervisor_started;
};

/* ---------------------------------------------------------------------------
 * Process-wide libvirt set-up and the shared event-loop thread (see DESIGN).
 * ------------------------------------------------------------------------- */

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static int lv_once_rc = -1; /* written once, inside lv_once */

static struct {
    pthread_mutex_t mu; /* guards users, running and thread */
    unsigned users;     /* open boundaries */
    bool running;
    pthread_t thread;
    atomic_bool stop; /* read by the loop thread without the lock */
} lv_loop = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* libvirt calls this for every error it raises, on the thread that raised
 * it. Without a handler it prints each one to stderr, including the ones
 * we expect and handle (a missing domain, say); the op that failed reports
 * what matters, so only a debug line is written here. */
static void lv_quiet_error(void *userdata, virErrorPtr e)
{
    (void)userdata;
    if (e && e->message)
        md_debug("libvirt: %s (code %d, domain %d)", e->message, e->code, e->domain);
}

static void lv_global_init(void)
{
    if (virInitialize() < 0)
        return;
    virSetErrorFunc(NULL, lv_quiet_error);
    lv_once_rc = virEventRegisterDefaultImpl();
}

static void *lv_loop_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&lv_loop.stop)) {
        if (virEventRunDefaultImpl() < 0)
            md_warn("libvirt event loop: %s", virGetLastErrorMessage());
    }
    return NULL;
}

/* The wake-up timeout of lv_loop_release: its only job is to make the loop
 * iteration return, so it removes itself at once. */
static void lv_loop_wake(int timer, void *opaque)
{
    (void)opaque;
    virEventRemoveTimeout(timer);
}

/* Counts one more user of the event loop, starting its thread for the
 * first. */
static md_status lv_loop_acquire(md_err *err)
{
    md_status st = MD_OK;
    int rc;

    pthread_mutex_lock(&lv_loop.mu);
    if (lv_loop.users == 0 && !lv_loop.running) {
        atomic_store(&lv_loop.stop, false);
        rc = pthread_create(&lv_loop.thread, NULL, lv_loop_main, NULL);
        if (rc != 0) {
            st = md_err_set(err, MD_ERR_INTERNAL, "cannot start the libvirt event loop thread: %s",
                            strerror(rc));
            goto cleanup;
        }
        lv_loop.running = true;
    }
    lv_loop.users++;

cleanup:
    pthread_mutex_unlock(&lv_loop.mu);
    return st;
}

/* Counts one user less; the last one stops and joins the thread. */
static void lv_loop_release(void)
{
    int timer;

    pthread_mutex_lock(&lv_loop.mu);
    if (lv_loop.users == 0 || --lv_loop.users > 0 || !lv_loop.running)
        goto cleanup;
    atomic_store(&lv_loop.stop, true);
    timer = virEventAddTimeout(0, lv_loop_wake, NULL, NULL);
    if (timer < 0) {
        /* Cannot wake it (the GLib-based loop of libvirt 9 never fails
         * here): leave the thread to exit on the next event rather than
         * block here forever. */
        md_warn("cannot wake the libvirt event loop: %s", virGetLastErrorMessage());
        pthread_detach(lv_loop.thread);
    } else {
        pthread_join(lv_loop.thread, NULL);
    }
    lv_loop.running = false;

cleanup:
    pthread_mutex_unlock(&lv_loop.mu);
}

/* ---------------------------------------------------------------------------
 * Small helpers.
 * ------------------------------------------------------------------------- */

md_hv_libvirt *lv_of(md_hv *base)
{
    return (md_hv_libvirt *)base;
}

static void lv_emit(md_hv_libvirt *hv, const md_hv_event *ev)
{
    md_hv_emit(&hv->base, ev);
}

/* Flags the connection as lost (if it still is the current one) and wakes
 * the supervisor. Any thread, never with hv->mu held. */
static void lv_mark_lost(md_hv_libvirt *hv, virConnectPtr conn)
{
    pthread_mutex_lock(&hv->mu);
    if (conn && hv->conn == conn && !hv->lost) {
        hv->lost = true;
        pthread_cond_broadcast(&hv->cond);
    }
    pthread_mutex_unlock(&hv->mu);
}

/* Takes a reference on the current connection for one op. */
md_status lv_conn_get(md_hv_libvirt *hv, virConnectPtr *out, md_err *err)
{
    md_status st = MD_OK;

    *out = NULL;
    pthread_mutex_lock(&hv->mu);
    if (!hv->conn || hv->lost) {
        st = md_err_set(err, MD_ERR_UNAVAILABLE, "not connected to libvirt at %s (reconnecting)",
                        hv->uri);
        goto cleanup;
    }
    if (virConnectRef(hv->conn) < 0) {
        st = md_err_set(err, MD_ERR_INTERNAL, "cannot reference the libvirt connection: %s",
                        virGetLastErrorMessage());
        goto cleanup;
    }
    *out = hv->conn;

cleanup:
    pthread_mutex_unlock(&hv->mu);
    return st;
}

/* Drops an op's reference. virConnectClose(NULL) would raise an error. */
void lv_conn_put(virConnectPtr conn)
{
    if (conn)
        virConnectClose(conn);
}

void lv_domain_free(virDomainPtr dom)
{
    if (dom)
        virDomainFree(dom);
}

/* Turns the calling thread's last libvirt error into a status and writes
 * libvirt's message into err. Call it right after the failing call: the
 * error is per thread and the next libvirt call resets it. conflict: an
 * operation refused in the domain's current state (VIR_ERR_OPERATION_INVALID)
 * is MD_ERR_CONFLICT rather than MD_ERR_HYPERVISOR. */
md_status lv_fail(md_hv_libvirt *hv, virConnectPtr conn, bool conflict, md_err *err)
{
    virErrorPtr e = virGetLastError();
    int code = e ? e->code : VIR_ERR_INTERNAL_ERROR;
    char msg[sizeof((md_err *)0)->msg];
    md_status st;

    md_strlcpy(msg, e && e->message ? e->message : "unknown libvirt error", sizeof msg);
    virResetLastError();

    /* A call that failed because the connection died says so in many ways
     * (an I/O error, an RPC error, the remote side's own message); the
     * reliable sign is that libvirt now reports the connection as closed. */
    if (code == VIR_ERR_NO_CONNECT || code == VIR_ERR_INVALID_CONN ||
        (conn && virConnectIsAlive(conn) == 0)) {
        virResetLastError();
        lv_mark_lost(hv, conn);
        return md_err_set(err, MD_ERR_UNAVAILABLE, "lost the connection to libvirt at %s: %s",
                          hv->uri, msg);
    }
    if (code == VIR_ERR_NO_DOMAIN)
        st = MD_ERR_NOT_FOUND;
    else if (code == VIR_ERR_OPERATION_INVALID && conflict)
        st = MD_ERR_CONFLICT;
    else if (code == VIR_ERR_NO_MEMORY)
        st = MD_ERR_NOMEM;
    else
        st = MD_ERR_HYPERVISOR;
    return md_err_set(err, st, "%s", msg);
}

/* True for the 36-character form 8-4-4-4-12 and for 32 bare hex digits,
 * the two forms virDomainLookupByUUIDString accepts. */
bool lv_looks_like_uuid(const char *s)
{
    size_t n = strlen(s);
    size_t i;

    if (n != 36 && n != 32)
        return false;
    for (i = 0; i < n; i++) {
        bool dash = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

        if (dash ? s[i] != '-'
                 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    }
    return true;
}

/* Finds a domain by UUID, else by name: a name may itself look like a UUID
 * (some tools name guests after their UUID), so a UUID that matches no
 * domain is tried as a name too. NULL with the libvirt error set when
 * neither matches. */
static virDomainPtr lv_find(virConnectPtr conn, const char *id)
{
    virDomainPtr dom = NULL;
    virErrorPtr e;

    if (lv_looks_like_uuid(id)) {
        dom = virDomainLookupByUUIDString(conn, id);
        if (dom)
            return dom;
        e = virGetLastError();
        if (!e || e->code != VIR_ERR_NO_DOMAIN)
            return NULL;
    }
    return virDomainLookupByName(conn, id);
}

/* Reads a ULLONG job field; absent fields leave *out alone. */
static bool lv_param_ull(virTypedParameterPtr p, int n, const char *name, unsigned long long *out)
{
    return virTypedParamsGetULLong(p, n, name, out) == 1;
}

/* Reads a ULLONG job field into a uint64_t; absent fields leave *out
 * alone. (uint64_t and unsigned long long are distinct types, so the value
 * goes through a local rather than a cast pointer.) */
static void lv_param_u64(virTypedParameterPtr p, int n, const char *name, uint64_t *out)
{
    unsigned long long v;

    if (lv_param_ull(p, n, name, &v))
        *out = v;
}

/* Fills the fields of *job from job statistics (virDomainGetJobStats or the
 * JOB_COMPLETED event). The dirty rate comes in pages per second. */
static void lv_job_from_params(virTypedParameterPtr p, int n, md_hv_job *job)
{
    unsigned long long v;
    unsigned long long page = LV_DEFAULT_PAGE_SIZE;

    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &v))
        job->elapsed_ms = v > INT64_MAX ? INT64_MAX : (int64_t)v;
    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION, &v))
        job->iteration = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL, &job->mem_total);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED, &job->mem_processed);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING, &job->mem_remaining);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_DISK_TOTAL, &job->disk_total);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED, &job->disk_processed);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_DISK_REMAINING, &job->disk_remaining);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_BPS, &job->transfer_rate);
    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, &v) && v > 0)
        page = v;
    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &v))
        job->dirty_rate = v > UINT64_MAX / page ? UINT64_MAX : v * page;
}

/* True when a job's statistics describe a migration, or do not say what
 * they describe (older daemons): a backup or a snapshot is not the job the
 * engine supervises. */
static bool lv_params_migration(virTypedParameterPtr p, int n, bool incoming_too)
{
    int op;

    if (virTypedParamsGetInt(p, n, VIR_DOMAIN_JOB_OPERATION, &op) != 1)
        return true;
    return op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT ||
           (incoming_too && op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN);
}

/* Fills *out from a domain handle. -1 with the libvirt error set when a
 * required call fails. The disks are optional: a driver without block
 * statistics yields a domain without disks and a warning. */
static int lv_fill_domain(virDomainPtr dom, md_hv_domain *out)
{
    virDomainPtr doms[2] = { dom, NULL };
    virDomainStatsRecordPtr *recs = NULL;
    virDomainInfo info;
    unsigned long kib;
    unsigned int count = 0;
    unsigned long long cap;
    char key[64];
    const char *name;
    int state = 0;
    int reason = 0;
    int active;
    int ret = -1;
    unsigned int i;

    memset(out, 0, sizeof *out);
    if (virDomainGetUUIDString(dom, out->uuid) < 0)
        goto cleanup;
    name = virDomainGetName(dom);
    if (!name)
        goto cleanup;
    md_strlcpy(out->name, name, sizeof out->name);

    kib = virDomainGetMaxMemory(dom);
    if (kib == 0) {
        if (virDomainGetInfo(dom, &info) < 0)
            goto cleanup;
        kib = info.maxMem;
    }
    out->ram_bytes = (uint64_t)kib * 1024u;

    active = virDomainIsActive(dom);
    if (active < 0 || virDomainGetState(dom, &state, &reason, 0) < 0)
        goto cleanup;
    out->active = active == 1;
    out->paused = state == VIR_DOMAIN_PAUSED;

    if (virDomainListGetStats(doms, VIR_DOMAIN_STATS_BLOCK, &recs, 0) < 0) {
        md_warn("cannot read the disks of domain %s: %s", out->name, virGetLastErrorMessage());
        virResetLastError();
    } else if (recs && recs[0]) {
        virTypedParamsGetUInt(recs[0]->params, recs[0]->nparams, "block.count", &count);
        for (i = 0; i < count && out->ndisks < MD_HV_MAX_DISKS; i++) {
            snprintf(key, sizeof key, "block.%u.capacity", i);
            if (virTypedParamsGetULLong(recs[0]->params, recs[0]->nparams, key, &cap) == 1 &&
                cap > 0)
                out->disk_bytes[out->ndisks++] = cap;
        }
        if (count > MD_HV_MAX_DISKS)
            md_warn("domain %s has %u disks; only the first %d are counted", out->name, count,
                    MD_HV_MAX_DISKS);
    }
    ret = 0;

cleanup:
    if (recs)
        virDomainStatsRecordListFree(recs);
    return ret;
}

/* ---------------------------------------------------------------------------
 * Events and the connection's life.
 * ------------------------------------------------------------------------- */

/* Starts an event for dom; false when its UUID cannot be read. */
static bool lv_event_init(md_hv_event *ev, md_hv_event_kind kind, virDomainPtr dom)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->job.downtime_ms = -1;
    if (virDomainGetUUIDString(dom, ev->uuid) < 0) {
        virResetLastError();
        return false;
    }
    return true;
}

static void lv_on_iteration(virConnectPtr conn, virDomainPtr dom, int iteration, void *opaque)
{
    md_hv_libvirt *hv = opaque;
    md_hv_event ev;

    (void)conn;
    if (!lv_event_init(&ev, MD_HV_EV_ITERATION, dom))
        return;
    ev.iteration = iteration < 0 ? 0 : (uint32_t)iteration;
    ev.job.iteration = ev.iteration;
    lv_emit(hv, &ev);
}

/* A job finished. Only an outgoing migration is the engine's job; with
 * UNDEFINE_SOURCE this event is the only place its final statistics are
 * ever seen on the source (FACTS.md). */
static void lv_on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params,
                                int nparams, void *opaque)
{
    md_hv_libvirt *hv = opaque;
    md_hv_event ev;
    unsigned long long v;

    (void)conn;
    if (!lv_params_migration(params, nparams, false))
        return;
    if (!lv_event_init(&ev, MD_HV_EV_JOB_COMPLETED, dom))
        return;
    lv_job_from_params(params, nparams, &ev.job);
    ev.job.active = false;
    ev.job.post_copy = false;
    /* In a completed job's statistics "downtime" is the real one. */
    if (lv_param_ull(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &v))
        ev.job.downtime_ms = v > INT64_MAX ? INT64_MAX : (int64_t)v;
    ev.iteration = ev.job.iteration;
    lv_emit(hv, &ev);
}

/* The source pauses when post-copy starts (SUSPENDED_POSTCOPY) and stays
 * paused when it fails (SUSPENDED_POSTCOPY_FAILED); a destination that was
 * already running reports a failed post-copy as RESUMED_POSTCOPY_FAILED.
 * When a resume reconnects (QEMU's postcopy-recover), libvirt corrects the
 * source's reason back to POSTCOPY with a new SUSPENDED_POSTCOPY
 * (qemuProcessHandleMigrationStatus), which arrives here as POSTCOPY. */
static int lv_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                           void *opaque)
{
    md_hv_libvirt *hv = opaque;
    md_hv_event ev;
    md_hv_event_kind kind;

    (void)conn;
    if (event == VIR_DOMAIN_EVENT_SUSPENDED && detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)
        kind = MD_HV_EV_POSTCOPY;
    else if ((event == VIR_DOMAIN_EVENT_SUSPENDED &&
              detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED) ||
             (event == VIR_DOMAIN_EVENT_RESUMED &&
              detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED))
        kind = MD_HV_EV_POSTCOPY_FAILED;
    else
        return 0;
    if (!lv_event_init(&ev, kind, dom))
        return 0;
    ev.job.post_copy = true;
    ev.job.post_copy_failed = kind == MD_HV_EV_POSTCOPY_FAILED;
    lv_emit(hv, &ev);
    return 0;
}

/* libvirt calls this once a registration is gone and none of its
 * callbacks runs any more; close() waits for all of them. */
static void lv_on_reg_freed(void *opaque)
{
    md_hv_libvirt *hv = opaque;

    pthread_mutex_lock(&hv->mu);
    if (hv->live_regs > 0)
        hv->live_regs--;
    pthread_cond_broadcast(&hv->cond);
    pthread_mutex_unlock(&hv->mu);
}

/* The connection closed under us (EOF, keepalive timeout, error). Runs on
 * the event-loop thread under libvirt's close-callback lock, so it only
 * flags the loss; the supervisor does the rest. */
static void lv_on_close(virConnectPtr conn, int reason, void *opaque)
{
    md_hv_libvirt *hv = opaque;

    md_debug("libvirt connection to %s closed (reason %d)", hv->uri, reason);
    lv_mark_lost(hv, conn);
}

/* The event callbacks have different signatures; libvirt takes them all as
 * virConnectDomainEventGenericCallback. The detour through void (*)(void)
 * is the documented way to tell GCC's -Wcast-function-type that the cast
 * is deliberate (libvirt calls each with its own signature). */
#define LV_CALLBACK(fn) ((virConnectDomainEventGenericCallback)(void (*)(void))(fn))

/* Registers the domain event callbacks on conn; ids[i] is -1 for one that
 * could not be registered (a warning: the engine still polls the job). */
static void lv_register_events(md_hv_libvirt *hv, virConnectPtr conn, int ids[LV_NCB])
{
    static const int event_ids[LV_NCB] = {
        [LV_CB_ITERATION] = VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
        [LV_CB_JOB_COMPLETED] = VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
        [LV_CB_LIFECYCLE] = VIR_DOMAIN_EVENT_ID_LIFECYCLE,
    };
    const virConnectDomainEventGenericCallback fns[LV_NCB] = {
        [LV_CB_ITERATION] = LV_CALLBACK(lv_on_iteration),
        [LV_CB_JOB_COMPLETED] = LV_CALLBACK(lv_on_job_completed),
        [LV_CB_LIFECYCLE] = LV_CALLBACK(lv_on_lifecycle),
    };
    int i;

    for (i = 0; i < LV_NCB; i++) {
        /* Counted before the call: libvirt may free a registration (and
         * call lv_on_reg_freed) as soon as it exists. It does not call the
         * free function when registering fails, so that is undone here. */
        pthread_mutex_lock(&hv->mu);
        hv->live_regs++;
        pthread_mutex_unlock(&hv->mu);
        ids[i] =
            virConnectDomainEventRegisterAny(conn, NULL, event_ids[i], fns[i], hv, lv_on_reg_freed);
        if (ids[i] < 0) {
            md_warn("cannot register libvirt domain event %d: %s", event_ids[i],
                    virGetLastErrorMessage());
            virResetLastError();
            lv_on_reg_freed(hv);
        }
    }
}

/* Undoes lv_connect: callbacks off, then our reference dropped. Never with
 * hv->mu held (libvirt calls back into lv_on_reg_freed and takes its
 * close-callback lock, under which lv_on_close takes hv->mu). */
static void lv_teardown(md_hv_libvirt *hv, virConnectPtr conn, const int ids[LV_NCB])
{
    int i;

    if (!conn)
        return;
    virConnectUnregisterCloseCallback(conn, lv_on_close);
    for (i = 0; i < LV_NCB; i++)
        if (ids[i] >= 0)
            virConnectDomainEventDeregisterAny(conn, ids[i]);
    /* On a dead connection the daemon-side deregistration fails; the local
     * one, which is what matters, has happened. */
    virResetLastError();
    virConnectClose(conn);
    virResetLastError();
}

/* Opens a connection with keepalive, the close callback and the domain
 * events, and makes it the current one. */
static md_status lv_connect(md_hv_libvirt *hv, md_err *err)
{
    virConnectPtr conn;
    int ids[LV_NCB] = { -1, -1, -1 };
    bool closing;

    conn = virConnectOpen(hv->uri);
    if (!conn) {
        md_err_set(err, MD_ERR_UNAVAILABLE, "cannot connect to libvirt at %s: %s", hv->uri,
                   virGetLastErrorMessage());
        virResetLastError();
        return MD_ERR_UNAVAILABLE;
    }
    /* Drivers that run inside this process (test:///) have no keepalive;
     * that is not an error worth more than a debug line. */
    if (virConnectSetKeepAlive(conn, LV_KEEPALIVE_INTERVAL_S, LV_KEEPALIVE_COUNT) < 0) {
        md_debug("no keepalive on %s: %s", hv->uri, virGetLastErrorMessage());
        virResetLastError();
    }
    if (virConnectRegisterCloseCallback(conn, lv_on_close, hv, NULL) < 0) {
        md_warn("cannot watch the libvirt connection %s for loss: %s", hv->uri,
                virGetLastErrorMessage());
        virResetLastError();
    }
    lv_register_events(hv, conn, ids);

    pthread_mutex_lock(&hv->mu);
    closing = hv->closing;
    if (!closing) {
        hv->conn = conn;
        memcpy(hv->cb_ids, ids, sizeof ids);
        hv->lost = false;
    }
    pthread_mutex_unlock(&hv->mu);
    if (closing) {
        lv_teardown(hv, conn, ids);
        return md_err_set(err, MD_ERR_UNAVAILABLE, "the libvirt boundary is closing");
    }
    /* A close before the callback was registered, or before conn became
     * current, went unnoticed by lv_on_close: look once more. */
    if (virConnectIsAlive(conn) == 0)
        lv_mark_lost(hv, conn);
    virResetLastError();
    return MD_OK;
}

/* Waits ms milliseconds or until close() begins; true when closing. */
static bool lv_backoff_wait(md_hv_libvirt *hv, long ms)
{
    struct timespec deadline = md_deadline_in(CLOCK_MONOTONIC, ms);
    bool closing;

    pthread_mutex_lock(&hv->mu);
    while (!hv->closing) {
        if (pthread_cond_timedwait(&hv->cond, &hv->mu, &deadline) == ETIMEDOUT)
            break;
    }
    closing = hv->closing;
    pthread_mutex_unlock(&hv->mu);
    return closing;
}

/* Reconnects with backoff; returns once connected or closing. */
static void lv_reconnect(md_hv_libvirt *hv)
{
    md_hv_event ev;
    md_err err;
    long delay = LV_BACKOFF_FIRST_MS;

    for (;;) {
        if (lv_backoff_wait(hv, delay))
            return;
        if (lv_connect(hv, &err) == MD_OK)
            break;
        delay = delay * 2 > LV_BACKOFF_MAX_MS ? LV_BACKOFF_MAX_MS : delay * 2;
        md_warn("%s; retrying in %.1f s", err.msg, (double)delay / 1000.0);
    }
    md_info("reconnected to libvirt at %s", hv->uri);
    memset(&ev, 0, sizeof ev);
    ev.kind = MD_HV_EV_RECONNECTED;
    ev.job.downtime_ms = -1;
    lv_emit(hv, &ev);
}

static void *lv_supervisor_main(void *arg)
{
    md_hv_libvirt *hv = arg;
    virConnectPtr old;
    int ids[LV_NCB];
    md_hv_event ev;

    pthread_mutex_lock(&hv->mu);
    while (!hv->closing) {
        if (!hv->lost) {
            pthread_cond_wait(&hv->cond, &hv->mu);
            continue;
        }
        old = hv->conn;
        memcpy(ids, hv->cb_ids, sizeof ids);
        hv->conn = NULL;
        hv->lost = false;
        memset(hv->cb_ids, -1, sizeof hv->cb_ids);
        pthread_mutex_unlock(&hv->mu);

        md_warn("lost the connection to libvirt at %s; reconnecting", hv->uri);
        lv_teardown(hv, old, ids);
        memset(&ev, 0, sizeof ev);
        ev.kind = MD_HV_EV_CONNECTION_LOST;
        ev.job.downtime_ms = -1;
        lv_emit(hv, &ev);
        lv_reconnect(hv);

        pthread_mutex_lock(&hv->mu);
    }
    pthread_mutex_unlock(&hv->mu);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * The operations.
 * ------------------------------------------------------------------------- */

static void lv_close(md_hv *base)
{
    md_hv_libvirt *hv = base ? lv_of(base) : NULL;
    virConnectPtr conn;
    int ids[LV_NCB];

    if (!hv)
        return;
    pthread_mutex_lock(&hv->mu);
    hv->closing = true;
    pthread_cond_broadcast(&hv->cond);
    pthread_mutex_unlock(&hv->mu);
    if (hv->supervisor_started)
        pthread_join(hv->supervisor, NULL);

    pthread_mutex_lock(&hv->mu);
    conn = hv->conn;
    memcpy(ids, hv->cb_ids, sizeof ids);
    hv->conn = NULL;
    pthread_mutex_unlock(&hv->mu);
    lv_teardown(hv, conn, ids);

    /* The event loop still runs, so a dispatch in flight ends and libvirt
     * frees the last registrations; only then is hv no longer reachable
     * from libvirt. */
    pthread_mutex_lock(&hv->mu);
    while (hv->live_regs > 0)
        pthread_cond_wait(&hv->cond, &hv->mu);
    pthread_mutex_unlock(&hv->mu);

    lv_loop_release();
    md_hv_base_fini(&hv->base);
    pthread_cond_destroy(&hv->cond);
    pthread_mutex_destroy(&hv->mu);
    free(hv);
}

static md_status lv_lookup(md_hv *base, const char *id, md_hv_domain *out, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    md_status st;

    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    dom = lv_find(conn, id);
    if (!dom || lv_fill_domain(dom, out) < 0) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }

cleanup:
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

static md_status lv_list(md_hv *base, md_hv_domain **out, size_t *n, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr *doms = NULL;
    md_hv_domain *arr = NULL;
    virErrorPtr e;
    size_t k = 0;
    md_status st;
    int nd = 0;
    int i;

    *out = NULL;
    *n = 0;
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    /* Flags 0: active and inactive, persistent and transient. */
    nd = virConnectListAllDomains(conn, &doms, 0);
    if (nd < 0) {
        nd = 0;
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    arr = calloc(nd > 0 ? (size_t)nd : 1, sizeof *arr);
    if (!arr) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory listing %d domains", nd);
        goto cleanup;
    }
    for (i = 0; i < nd; i++) {
        if (lv_fill_domain(doms[i], &arr[k]) == 0) {
            k++;
            continue;
        }
        /* A domain undefined between the listing and now is simply gone. */
        e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            virResetLastError();
            continue;
        }
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    *out = arr;
    *n = k;
    arr = NULL;

cleanup:
    for (i = 0; i < nd; i++)
        lv_domain_free(doms[i]);
    free(doms);
    free(arr);
    lv_conn_put(conn);
    return st;
}

static md_status lv_migrate(md_hv *base, const md_hv_migrate_args *a, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virConnectPtr mconn = NULL;
    virDomainPtr dom = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int maxparams = 0;
    unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
                         VIR_MIGRATE_UNDEFINE_SOURCE;
    md_err perr;
    md_status st;

    if (!a || !a->uuid || !a->dest_uri || !a->dest_uri[0])
        return md_err_set(err, MD_ERR_INVALID, "migrate needs a domain and a destination URI");
    /* libvirt would refuse it too (qemuMigrationAnyCanResume), but as an
     * argument error that reads like a failed migration. */
    if (a->resume && !a->post_copy)
        return md_err_set(err, MD_ERR_INVALID,
                          "resuming a failed post-copy migration needs the post-copy flag");
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    /* The call blocks for the whole migration on a connection of its own.
     * On a shared connection the thread blocked in it owns the connection's
     * socket I/O, and libvirt 9.0's client then sometimes leaves another
     * thread's request unsent until the next message arrives on the socket
     * (the server's keepalive probe, 5 s later): measured here, the
     * monitor's job-statistics and control calls stalled 2-20 s each during
     * every migration, so the policy acted late or not at all. */
    mconn = virConnectOpen(hv->uri);
    if (!mconn) {
        st = md_err_set(err, MD_ERR_HYPERVISOR,
                        "cannot open a connection to %s for the migration call: %s", hv->uri,
                        virGetLastErrorMessage());
        virResetLastError();
        goto cleanup;
    }
    if (virConnectSetKeepAlive(mconn, LV_KEEPALIVE_INTERVAL_S, LV_KEEPALIVE_COUNT) < 0)
        virResetLastError();
    dom = lv_find(mconn, a->uuid);
    if (!dom) {
        st = lv_fail(hv, mconn, false, err);
        goto cleanup;
    }
    /* libvirtd would connect to the destination itself and, to one that
     * drops packets, wait minutes for the handshake before failing. A
     * destination that does not answer us within the bound is a failed
     * attempt now (for a resume: one to retry later). */
    if (lv_probe_peer(a->dest_uri, &perr) != MD_OK) {
        st = md_err_set(err, MD_ERR_HYPERVISOR, "cannot %s to %s: %s",
                        a->resume ? "resume the migration" : "migrate", a->dest_uri, perr.msg);
        goto cleanup;
    }

    /* Nova's flags (FACTS.md): auto-converge only when post-copy is not
     * permitted, since throttling the guest is pointless once post-copy can
     * finish the job. */
    if (a->post_copy)
        flags |= VIR_MIGRATE_POSTCOPY;
    else if (a->auto_converge)
        flags |= VIR_MIGRATE_AUTO_CONVERGE;
    if (a->block_migration)
        flags |= VIR_MIGRATE_NON_SHARED_INC;
    if (a->native_tls)
        flags |= VIR_MIGRATE_TLS;

    /* The typed parameters fail only for lack of memory. */
    if ((a->migrate_uri && a->migrate_uri[0] &&
         virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_URI,
                                 a->migrate_uri) < 0) ||
        (a->bandwidth_mibps > 0 &&
         virTypedParamsAddULLong(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_BANDWIDTH,
                                 a->bandwidth_mibps) < 0) ||
        (a->parallel_connections > 1 &&
         virTypedParamsAddInt(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
                              a->parallel_connections > INT_MAX
                                  ? INT_MAX
                                  : (int)a->parallel_connections) < 0)) {
        st = lv_fail(hv, mconn, false, err);
        goto cleanup;
    }
    if (a->parallel_connections > 1)
        flags |= VIR_MIGRATE_PARALLEL;
    /* A resume is the same call with the same destination, parameters and
     * flags (VIR_MIGRATE_POSTCOPY included: libvirt 9.0 refuses a resume
     * without it), plus this flag. libvirt then neither starts a job nor
     * re-applies capabilities: it checks that the domain's outgoing job
     * failed in post-copy, asks the destination to prepare for the resume
     * (the migrate URI is passed on to it as in the first call), restarts
     * QEMU's stream with "resume" and waits in the destination's Finish for
     * the migration to complete, as a first post-copy call does. */
    if (a->resume)
        flags |= VIR_MIGRATE_POSTCOPY_RESUME;

    md_debug("%s %s to %s (migrate URI %s, flags 0x%x)", a->resume ? "resuming" : "migrating",
             a->uuid, a->dest_uri, a->migrate_uri && a->migrate_uri[0] ? a->migrate_uri : "-",
             flags);
    /* A refused request (a domain not running, say) is a failed migration
     * too, hence conflict is false for a first call. A resume refused in
     * the job's state (VIR_ERR_OPERATION_INVALID: no failed post-copy job,
     * one still owned by the first call, "QEMU reports migration is still
     * running") is a conflict the caller may retry. A lost migration
     * connection is MD_ERR_UNAVAILABLE (lv_fail): the job may go on without
     * the call. */
    if (virDomainMigrateToURI3(dom, a->dest_uri, params, (unsigned int)nparams, flags) < 0)
        st = lv_fail(hv, mconn, a->resume, err);

cleanup:
    virTypedParamsFree(params, nparams);
    lv_domain_free(dom);
    lv_conn_put(mconn);
    lv_conn_put(conn);
    return st;
}

static md_status lv_job(md_hv *base, const char *uuid, md_hv_job *out, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    virTypedParameterPtr params = NULL;
    unsigned long long reqs = 0;
    int nparams = 0;
    int type = VIR_DOMAIN_JOB_NONE;
    int state = 0;
    int reason = 0;
    bool running;
    md_status st;

    memset(out, 0, sizeof *out);
    out->downtime_ms = -1;
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    dom = lv_find(conn, uuid);
    if (!dom) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    if (virDomainGetJobStats(dom, &type, &params, &nparams, 0) < 0) {
        /* A domain that is no longer running (the source of a completed
         * migration, between its stop and its undefinition) has no job. */
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_OPERATION_INVALID && virDomainIsActive(dom) == 0) {
            virResetLastError();
            goto cleanup;
        }
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    if (type == VIR_DOMAIN_JOB_NONE || !lv_params_migration(params, nparams, true))
        goto cleanup;

    out->active = true;
    /* The source of a post-copy migration is paused with reason
     * PAUSED_POSTCOPY, and PAUSED_POSTCOPY_FAILED once it failed; the
     * destination runs with RUNNING_POSTCOPY(_FAILED). A failed post-copy
     * keeps its job (libvirt >= 8.5, so that it can be resumed) and the job
     * statistics do not say it failed: libvirt maps QEMU's postcopy-paused
     * to an UNBOUNDED job like a running one (virDomainJobStatusToType), so
     * the state's reason is the one sign. A job that is ending does not
     * need it: a state that cannot be read then leaves it ending. */
    running = type == VIR_DOMAIN_JOB_BOUNDED || type == VIR_DOMAIN_JOB_UNBOUNDED;
    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        if (running) {
            st = lv_fail(hv, conn, false, err);
            goto cleanup;
        }
        virResetLastError();
        state = VIR_DOMAIN_NOSTATE;
    }
    out->post_copy_failed =
        (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED) ||
        (state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED);
    /* After an abort (or a failure) libvirt keeps the job for a second or
     * more while it cleans up, reporting type FAILED or CANCELLED with every
     * counter at 0: still a job, but nothing to sample. A failed post-copy
     * job is not ending, whatever its type says: it waits for a resume. */
    if (!running) {
        out->ending = !out->post_copy_failed;
        out->post_copy = out->post_copy_failed;
        goto cleanup;
    }
    lv_job_from_params(params, nparams, out);
    /* While a job runs, "downtime" is QEMU's expected downtime, not a
     * measured one; downtime_ms stays -1 until JOB_COMPLETED. */

    /* Page requests from the destination are a second sign of post-copy. */
    lv_param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, &reqs);
    out->post_copy = reqs > 0 || out->post_copy_failed ||
                     (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY) ||
                     (state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_POSTCOPY);

cleanup:
    if (st != MD_OK) {
        memset(out, 0, sizeof *out);
        out->downtime_ms = -1;
    }
    virTypedParamsFree(params, nparams);
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

/* The steering operations: one libvirt call on one domain each. */
typedef enum lv_control_op {
    LV_SET_MAX_DOWNTIME,
    LV_SET_MAX_SPEED,
    LV_START_POST_COPY,
    LV_SUSPEND,
    LV_RESUME,
    LV_ABORT,
} lv_control_op;

static md_status lv_control(md_hv *base, const char *uuid, lv_control_op op, uint32_t value,
                            md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    md_status st;
    int rc = -1;

    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    dom = lv_find(conn, uuid);
    if (!dom) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    switch (op) {
    case LV_SET_MAX_DOWNTIME: rc = virDomainMigrateSetMaxDowntime(dom, value, 0); break;
    case LV_SET_MAX_SPEED:
        rc = virDomainMigrateSetMaxSpeed(dom, value ? value : LV_BANDWIDTH_UNLIMITED, 0);
        break;
    case LV_START_POST_COPY: rc = virDomainMigrateStartPostCopy(dom, 0); break;
    case LV_SUSPEND: rc = virDomainSuspend(dom); break;
    case LV_RESUME: rc = virDomainResume(dom); break;
    case LV_ABORT:
        rc = virDomainAbortJobFlags(dom, value ? VIR_DOMAIN_ABORT_JOB_POSTCOPY : 0);
        break;
    }
    /* VIR_ERR_OPERATION_INVALID here means "not in this state": no job to
     * abort, a job started without post-copy, a domain not paused. */
    if (rc < 0)
        st = lv_fail(hv, conn, true, err);

cleanup:
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

static md_status lv_set_max_downtime(md_hv *hv, const char *uuid, uint32_t ms, md_err *err)
{
    return lv_control(hv, uuid, LV_SET_MAX_DOWNTIME, ms, err);
}

static md_status lv_set_max_speed(md_hv *hv, const char *uuid, uint32_t mibps, md_err *err)
{
    return lv_control(hv, uuid, LV_SET_MAX_SPEED, mibps, err);
}

static md_status lv_start_post_copy(md_hv *hv, const char *uuid, md_err *err)
{
    return lv_control(hv, uuid, LV_START_POST_COPY, 0, err);
}

static md_status lv_suspend(md_hv *hv, const char *uuid, md_err *err)
{
    return lv_control(hv, uuid, LV_SUSPEND, 0, err);
}

static md_status lv_resume(md_hv *hv, const char *uuid, md_err *err)
{
    return lv_control(hv, uuid, LV_RESUME, 0, err);
}

static md_status lv_abort_job(md_hv *hv, const char *uuid, bool post_copy, md_err *err)
{
    return lv_control(hv, uuid, LV_ABORT, post_copy ? 1 : 0, err);
}

/* The running domain uuid on this node's connection, for the dirty-rate
 * operations: MD_ERR_NOT_FOUND when it is not here or not running. */
static md_status lv_running_domain(md_hv_libvirt *hv, virConnectPtr conn, const char *uuid,
                                   virDomainPtr *out, md_err *err)
{
    virDomainPtr dom = lv_find(conn, uuid);
    int active;

    *out = NULL;
    if (!dom)
        return lv_fail(hv, conn, false, err);
    active = virDomainIsActive(dom);
    if (active < 0) {
        md_status st = lv_fail(hv, conn, false, err);
        virDomainFree(dom);
        return st;
    }
    if (active == 0) {
        virDomainFree(dom);
        return md_err_set(err, MD_ERR_NOT_FOUND, "domain %s is not running", uuid);
    }
    *out = dom;
    return MD_OK;
}

/* The domain's "dirtyrate" statistics: *status one of
 * virDomainDirtyRateStatus (UNSTARTED also when libvirt reports none),
 * *started whether a calculation was ever started and, once MEASURED, the
 * rate in bytes/s ("dirtyrate.megabytes_per_second", MiB/s by virsh's
 * documentation of domstats --dirtyrate).
 *
 * QEMU's calc-dirty-rate sets its state to "unstarted" and the new start
 * time, and only its measuring thread, moments later, to "measuring"; so
 * UNSTARTED with a start time (dirtyrate.calc_start_time, 0 until the
 * first calculation) is a calculation about to measure, not none. */
static md_status lv_dirty_stats(md_hv_libvirt *hv, virConnectPtr conn, virDomainPtr dom,
                                int *status, bool *started, uint64_t *bytes_per_s, md_err *err)
{
    virDomainPtr doms[2] = { dom, NULL };
    virDomainStatsRecordPtr *recs = NULL;
    long long mibps = -1, start = 0;
    unsigned long long umibps;
    md_status st = MD_OK;
    int n;

    *status = VIR_DOMAIN_DIRTYRATE_UNSTARTED;
    *started = false;
    *bytes_per_s = 0;
    n = virDomainListGetStats(doms, VIR_DOMAIN_STATS_DIRTYRATE, &recs, 0);
    if (n < 0) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    if (n == 0 || virTypedParamsGetInt(recs[0]->params, recs[0]->nparams, "dirtyrate.calc_status",
                                       status) != 1) {
        virResetLastError();
        *status = VIR_DOMAIN_DIRTYRATE_UNSTARTED;
        goto cleanup;
    }
    if (virTypedParamsGetLLong(recs[0]->params, recs[0]->nparams, "dirtyrate.calc_start_time",
                               &start) != 1)
        start = 0;
    virResetLastError();
    *started = *status != VIR_DOMAIN_DIRTYRATE_UNSTARTED || start > 0;
    if (*status != VIR_DOMAIN_DIRTYRATE_MEASURED)
        goto cleanup;
    if (virTypedParamsGetLLong(recs[0]->params, recs[0]->nparams, "dirtyrate.megabytes_per_second",
                               &mibps) != 1 &&
        virTypedParamsGetULLong(recs[0]->params, recs[0]->nparams, "dirtyrate.megabytes_per_second",
                                &umibps) == 1)
        mibps = umibps > (unsigned long long)INT64_MAX ? INT64_MAX : (long long)umibps;
    virResetLastError();
    if (mibps < 0) {
        st = md_err_set(err, MD_ERR_HYPERVISOR,
                        "the dirty rate was measured but libvirt reports no "
                        "dirtyrate.megabytes_per_second");
        goto cleanup;
    }
    *bytes_per_s = mibps > (long long)(UINT64_MAX >> 20) ? UINT64_MAX : (uint64_t)mibps << 20;

cleanup:
    if (recs)
        virDomainStatsRecordListFree(recs);
    return st;
}

/* virDomainStartDirtyRateCalc in QEMU's page-sampling mode (QEMU 7.2's
 * default, and the one that needs no dirty ring or bitmap in the guest's
 * memory). QEMU refuses a second calculation while one runs with a plain
 * error, which libvirt passes on as an internal error; the status is read
 * first so that it is MD_ERR_CONFLICT here, as hv.h promises. */
static md_status lv_dirty_rate_start(md_hv *base, const char *uuid, int seconds, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    uint64_t unused;
    bool started;
    int status;
    md_status st;

    if (seconds < 1 || seconds > 60)
        return md_err_set(err, MD_ERR_INVALID, "a dirty-rate window of %d s is not within 1 to 60",
                          seconds);
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_running_domain(hv, conn, uuid, &dom, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_dirty_stats(hv, conn, dom, &status, &started, &unused, err);
    if (st != MD_OK)
        goto cleanup;
    if (status == VIR_DOMAIN_DIRTYRATE_MEASURING) {
        st = md_err_set(err, MD_ERR_CONFLICT, "the dirty rate of %s is already being measured",
                        uuid);
        goto cleanup;
    }
    if (virDomainStartDirtyRateCalc(dom, seconds, VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING) < 0)
        st = lv_fail(hv, conn, true, err);

cleanup:
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

static md_status lv_dirty_rate_read(md_hv *base, const char *uuid, md_hv_dirty_rate *out,
                                    md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    bool started;
    int status;
    md_status st;

    memset(out, 0, sizeof *out);
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_running_domain(hv, conn, uuid, &dom, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_dirty_stats(hv, conn, dom, &status, &started, &out->bytes_per_s, err);
    if (st != MD_OK)
        goto cleanup;
    if (!started)
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "no dirty-rate calculation was started for %s (libvirt reports none)",
                        uuid);
    else
        out->measured = status == VIR_DOMAIN_DIRTYRATE_MEASURED;

cleanup:
    if (st != MD_OK)
        memset(out, 0, sizeof *out);
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

/* Connected: a current connection that no call or callback has found dead.
 * Only the flags, under the mutex: never a round trip to libvirtd. */
static bool lv_connected(md_hv *base, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    bool up;

    pthread_mutex_lock(&hv->mu);
    up = hv->conn && !hv->lost && !hv->closing;
    pthread_mutex_unlock(&hv->mu);
    if (!up)
        md_err_set(err, MD_ERR_UNAVAILABLE, "libvirtd at %s does not answer (reconnecting)",
                   hv->uri);
    return up;
}

/* release_waiters is NULL: libvirt cannot interrupt virDomainMigrateToURI3,
 * and md_hv_release_waiters() treats a NULL op as "nothing to release". */
static const md_hv_ops lv_ops = {
    .name = "libvirt",
    .close = lv_close,
    .lookup = lv_lookup,
    .list = lv_list,
    .migrate = lv_migrate,
    .job = lv_job,
    .set_max_downtime = lv_set_max_downtime,
    .set_max_speed = lv_set_max_speed,
    .start_post_copy = lv_start_post_copy,
    .suspend = lv_suspend,
    .resume = lv_resume,
    .abort_job = lv_abort_job,
    .locate = lv_locate,
    .release_waiters = NULL,
    .connected = lv_connected,
    .dirty_rate_start = lv_dirty_rate_start,
    .dirty_rate_read = lv_dirty_rate_read,
    .free_memory = lv_free_memory,
};

md_status md_hv_libvirt_open(const md_config *cfg, md_hv **out, md_err *err)
{
    md_hv_libvirt *hv = NULL;
    bool loop_held = false;
    md_status st;
    int rc;

    *out = NULL;
    pthread_once(&lv_once, lv_global_init);
    if (lv_once_rc < 0)
        return md_err_set(err, MD_ERR_INTERNAL, "cannot initialise libvirt's event loop");
    st = lv_loop_acquire(err);
    if (st != MD_OK)
        return st;
    loop_held = true;

    hv = calloc(1, sizeof *hv);
    if (!hv) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory opening libvirt");
        goto cleanup;
    }
    md_hv_base_init(&hv->base, &lv_ops);
    md_strlcpy(hv->uri, cfg->libvirt.uri[0] ? cfg->libvirt.uri : "qemu:///system", sizeof hv->uri);
    memset(hv->cb_ids, -1, sizeof hv->cb_ids);
    pthread_mutex_init(&hv->mu, NULL);
    /* The backoff waits on a monotonic clock: a wall-clock jump must not
     * stretch or skip a retry. */
    md_cond_init_monotonic(&hv->cond);

    st = lv_connect(hv, err);
    if (st != MD_OK)
        goto cleanup;
    rc = pthread_create(&hv->supervisor, NULL, lv_supervisor_main, hv);
    if (rc != 0) {
        st = md_err_set(err, MD_ERR_INTERNAL, "cannot start the libvirt supervisor thread: %s",
                        strerror(rc));
        goto cleanup;
    }
    hv->supervisor_started = true;
    md_info("connected to libvirt at %s", hv->uri);
    *out = &hv->base;
    hv = NULL;
    loop_held = false;

cleanup:
    if (hv) {
        /* lv_close releases the loop itself. */
        lv_close(&hv->base);
        loop_held = false;
    }
    if (loop_held)
        lv_loop_release();
    return st;
}
