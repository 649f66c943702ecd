/* hv_libvirt.c - the hypervisor boundary on libvirt: this node's connection, events, ops table. */

/* DESIGN
 * ------
 *
 * The boundary implements md_hv_ops (service/hv.h) on libvirt's C API, in
 * three files, the only ones that include libvirt, sharing
 * hv_libvirt_priv.h: this one holds the connection to this node's
 * libvirtd (open and close, the event loop, the supervisor and reconnect,
 * the domain events, the error helper lv_fail) and the md_hv_ops table;
 * hv_libvirt_domain.c holds the operations on this node's domains
 * (lookup, list, migrate, job statistics, the controls, the dirty rate),
 * which borrow that connection; hv_libvirt_peer.c holds the questions to
 * other hosts (the reachability probe, locate, free_memory), each on a
 * connection of its own with bounded waits. Every operation is a
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
 * threads' requests back while the call blocked (see lv_migrate, in
 * hv_libvirt_domain.c).
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
 * domain op (hv_libvirt_domain.c); free_memory (hv_libvirt_peer.c) is
 * virNodeGetFreeMemory on a connection to the destination opened for the
 * question, as locate() opens one (lv_peer_open: the reachability probe,
 * then keepalive).
 *
 * Not possible with libvirt: interrupting virDomainMigrateToURI3. There is
 * no release_waiters; a graceful stop leaves workers blocked in libvirt and
 * the daemon exits without waiting for them (the jobs go on in libvirtd and
 * are re-attached on the next start).
 */
#include "service/hv.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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

/* libvirt writes UUID strings into our fixed-size fields directly. */
_Static_assert(MD_UUID_LEN >= VIR_UUID_STRING_BUFLEN, "MD_UUID_LEN too small for libvirt UUIDs");

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
 * The connection, lent to the operations.
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
 * The boundary's own operations (close, connected), its table and open.
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
