/* engine_store.c - the engine's writes to the store: at once when it can, retried in order when not.
 *
 * DESIGN
 * ------
 * Every state change, event and finished command of the engine goes to
 * SQLite through the functions below, under e->lock. When the store
 * answers, the write is done there and then, as before: a state change is
 * durable before anyone can see it.
 *
 * When it does not (the database locked by another process past the
 * store's short busy wait, a full disk, an I/O error), what happens depends
 * on who asked:
 *
 *  - A request from the API (create, abort, force-complete, a setting) is
 *    refused with MD_ERR_UNAVAILABLE (503): the caller learns at once that
 *    nothing was accepted, rather than getting a 202 for a request that a
 *    crash would lose. While the engine is degraded, requests are refused
 *    without trying (eng_writable()).
 *  - The engine's own threads cannot refuse what has already happened in
 *    the hypervisor (a job that completed has completed). Their write is
 *    applied in memory and appended to a FIFO of pending writes, which the
 *    writer thread retries with a doubling backoff (100 ms to 5 s, cut
 *    short by each new write and by a stop) until the store takes it. Once one write is pending, every later one queues
 *    behind it, so the store sees them in the order they happened; a
 *    pending write leaves the queue only after SQLite has committed it.
 *
 * The engine is "degraded" from the first failed write until the queue is
 * empty and a write has succeeded again (the writer probes the store when
 * only a refused request failed). /healthcheck reports it with the reason.
 * The engine lock is never held through a long busy wait: the store waits
 * at most MD_STORE_BUSY_MS for a lock, and once degraded nothing under the
 * lock touches SQLite until the writer has caught up, so the monitor,
 * reads and the API go on meanwhile.
 *
 * Reads see what happened, not only what is written: md_engine_get() and
 * md_engine_list() lay the newest pending record of a migration over the
 * store's copy.
 *
 * If the daemon dies while writes are pending, they are lost from memory,
 * never the record itself: it stays in progress in the store and the
 * recovery at the next start settles it from where the domain runs (the
 * same path as a crash between a job's end and its record).
 *
 * A stop drains the queue for up to DRAIN_MS, then closes the gate
 * (e->store_off): from then on nothing writes, so that a worker left
 * blocked in libvirt by the stop cannot write to a closed store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/engine_priv.h"
#include "service/clock.h"
#include "service/log.h"

/* The writer's first wait after a failed write, and the longest: short
 * enough that a lock held for a moment costs little, long enough that a
 * full disk is not hammered. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
/* How long a stop keeps trying to write what is pending. */
#define DRAIN_MS 3000

typedef enum eng_write_kind {
    EW_UPDATE,         /* rec */
    EW_UPDATE_EVENT,   /* rec and ev, one transaction */
    EW_EVENT,          /* ev on rec.uuid */
    EW_FINISH_COMMAND, /* cmd_id */
} eng_write_kind;

struct eng_write {
    eng_write_kind kind;
    md_migration rec;
    md_event ev;
    int64_t cmd_id;
    struct eng_write *next;
};

/* Performs w against the store. Without the lock for the writer, under it
 * for a direct write. */
static md_status write_one(md_store *st, struct eng_write *w, md_err *err)
{
    switch (w->kind) {
    case EW_UPDATE: return md_store_update(st, &w->rec, err);
    case EW_UPDATE_EVENT: return md_store_update_with_event(st, &w->rec, &w->ev, err);
    case EW_EVENT: return md_store_add_event(st, w->rec.uuid, &w->ev, err);
    case EW_FINISH_COMMAND: return md_store_finish_command(st, w->cmd_id, err);
    }
    return md_err_set(err, MD_ERR_INTERNAL, "unknown write kind %d", (int)w->kind);
}

/* True for a failure that a later attempt may not have: the store is
 * locked, full or failing. The others (no such record, a value the store
 * does not know) would fail forever and are bugs to log, not to retry. */
static bool transient(md_status st)
{
    return st == MD_ERR_IO || st == MD_ERR_NOMEM;
}

void eng_store_failed(md_engine *e, const md_err *err)
{
    if (!e->degraded) {
        e->degraded = true;
        e->degraded_since = eng_wall_ms();
        md_error("store: cannot write (%s); migrations go on, their records are kept in memory "
                 "and written when the store takes them, requests are refused meanwhile",
                 err->msg);
    }
    md_strlcpy(e->degraded_reason, err->msg, sizeof e->degraded_reason);
    pthread_cond_signal(&e->wcond);
}

/* The store took a write: the engine is healthy again once nothing is
 * pending. Under the lock. */
static void store_ok(md_engine *e)
{
    if (e->degraded && !e->wq_head) {
        md_info("store: writable again after %lld ms; %llu pending writes caught up",
                (long long)(eng_wall_ms() - e->degraded_since),
                (unsigned long long)e->wq_caught_up);
        e->degraded = false;
        e->degraded_reason[0] = '\0';
        e->wq_caught_up = 0;
    }
}

md_status eng_writable(md_engine *e, md_err *err)
{
    if (e->stopping || e->store_off)
        return md_err_set(err, MD_ERR_UNAVAILABLE, "migrationd is stopping");
    if (e->degraded)
        return md_err_set(err, MD_ERR_UNAVAILABLE,
                          "migrationd cannot write its database now (%s); nothing was changed, "
                          "try again later",
                          e->degraded_reason);
    return MD_OK;
}

/* Either writes w now or queues it; takes ownership of w. may_defer: the
 * engine's own write, queued on a failure; otherwise the failure is
 * returned and w dropped. */
static md_status submit(md_engine *e, struct eng_write *w, bool may_defer, md_err *err)
{
    md_err own;
    md_status st = MD_OK;

    if (!err)
        err = &own;
    if (e->store_off) {
        /* After a stop: the store may be closed already. */
        st = md_err_set(err, MD_ERR_UNAVAILABLE, "migrationd is stopping");
        goto drop;
    }
    if (e->wq_head) {
        if (!may_defer) {
            st = eng_writable(e, err);
            if (st == MD_OK)
                st = md_err_set(err, MD_ERR_UNAVAILABLE, "earlier writes are still pending");
            goto drop;
        }
        goto queue;
    }
    st = write_one(e->store, w, err);
    if (st == MD_OK) {
        store_ok(e);
        goto drop;
    }
    if (!transient(st))
        goto drop;
    eng_store_failed(e, err);
    if (!may_defer) {
        md_err_set(err, MD_ERR_UNAVAILABLE,
                   "migrationd cannot write its database now (%s); nothing was changed, try "
                   "again later",
                   e->degraded_reason);
        st = MD_ERR_UNAVAILABLE;
        goto drop;
    }
queue:
    w->next = NULL;
    if (e->wq_tail)
        e->wq_tail->next = w;
    else
        e->wq_head = w;
    e->wq_tail = w;
    e->wq_n++;
    pthread_cond_signal(&e->wcond);
    return MD_OK;
drop:
    free(w);
    return st;
}

static struct eng_write *new_write(eng_write_kind kind)
{
    struct eng_write *w = calloc(1, sizeof *w);
    if (w)
        w->kind = kind;
    else
        md_error("store: out of memory for a write");
    return w;
}

md_status eng_write_record(md_engine *e, const md_migration *m, md_event *ev, bool may_defer,
                           md_err *err)
{
    struct eng_write *w = new_write(ev ? EW_UPDATE_EVENT : EW_UPDATE);

    if (!w)
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    w->rec = *m;
    if (ev)
        w->ev = *ev;
    return submit(e, w, may_defer, err);
}

void eng_write_event(md_engine *e, const char *uuid, const md_event *ev)
{
    struct eng_write *w = new_write(EW_EVENT);
    md_err err;

    if (!w)
        return;
    md_strlcpy(w->rec.uuid, uuid, sizeof w->rec.uuid);
    w->ev = *ev;
    if (submit(e, w, true, &err) != MD_OK && !e->store_off)
        md_error("migration %s: cannot record event: %s", uuid, err.msg);
}

void eng_write_finish_command(md_engine *e, const char *uuid, int64_t id)
{
    struct eng_write *w = new_write(EW_FINISH_COMMAND);
    md_err err;

    if (!w)
        return;
    md_strlcpy(w->rec.uuid, uuid, sizeof w->rec.uuid);
    w->cmd_id = id;
    if (submit(e, w, true, &err) != MD_OK && !e->store_off)
        md_error("migration %s: cannot mark a command done (it will be carried out again after "
                 "a restart): %s",
                 uuid, err.msg);
}

bool eng_pending_record(md_engine *e, const char *uuid, md_migration *out)
{
    bool found = false;

    /* The last record queued for uuid is its newest state. */
    for (struct eng_write *w = e->wq_head; w; w = w->next) {
        if ((w->kind == EW_UPDATE || w->kind == EW_UPDATE_EVENT) &&
            strcasecmp(w->rec.uuid, uuid) == 0) {
            *out = w->rec;
            found = true;
        }
    }
    return found;
}

void eng_overlay_pending(md_engine *e, md_migration *v, size_t n)
{
    md_migration p;

    if (!e->wq_head)
        return;
    /* Only over an older copy: the writer may have committed a pending
     * record, and a newer one after it, since the store was read. */
    for (size_t i = 0; i < n; i++) {
        if (eng_pending_record(e, v[i].uuid, &p) && p.updated_at >= v[i].updated_at)
            v[i] = p;
    }
}

md_migration *eng_pending_snapshot(md_engine *e, size_t *n)
{
    md_migration *v;
    size_t k = 0;

    *n = 0;
    if (!e->wq_head)
        return NULL;
    v = malloc(e->wq_n * sizeof *v);
    if (!v)
        return NULL; /* the overlay after the read still applies */
    for (struct eng_write *w = e->wq_head; w; w = w->next) {
        if (w->kind == EW_UPDATE || w->kind == EW_UPDATE_EVENT)
            v[k++] = w->rec; /* oldest first: a later copy of a uuid is newer */
    }
    *n = k;
    return v;
}

void eng_overlay_from(md_migration *v, size_t n, const md_migration *snap, size_t nsnap)
{
    for (size_t j = 0; j < nsnap; j++) {
        for (size_t i = 0; i < n; i++) {
            if (strcasecmp(v[i].uuid, snap[j].uuid) == 0 && snap[j].updated_at >= v[i].updated_at)
                v[i] = snap[j];
        }
    }
}

void *eng_writer_main(void *arg)
{
    md_engine *e = arg;
    int64_t backoff = BACKOFF_FIRST_MS;
    md_err err;

    pthread_mutex_lock(&e->lock);
    while (!e->writer_stop) {
        if (!e->wq_head && !e->degraded) {
            pthread_cond_wait(&e->wcond, &e->lock);
            continue;
        }
        md_status st;
        if (e->wq_head) {
            /* The head stays queued while it is written, so that every
             * other write keeps queuing behind it: the order holds. */
            struct eng_write *w = e->wq_head;
            pthread_mutex_unlock(&e->lock);
            st = write_one(e->store, w, &err);
            pthread_mutex_lock(&e->lock);
            if (st == MD_OK || !transient(st)) {
                if (st != MD_OK)
                    md_error("migration %s: a pending write cannot ever be made, dropped: %s",
                             w->rec.uuid, err.msg);
                e->wq_head = w->next;
                if (!e->wq_head)
                    e->wq_tail = NULL;
                e->wq_n--;
                e->wq_caught_up++;
                free(w);
            }
        } else {
            /* Only a refused request failed: look whether the store takes
             * a write again, so that requests are accepted again. */
            pthread_mutex_unlock(&e->lock);
            st = md_store_probe(e->store, &err);
            pthread_mutex_lock(&e->lock);
        }
        if (st == MD_OK || !transient(st)) {
            backoff = BACKOFF_FIRST_MS;
            store_ok(e);
            pthread_cond_broadcast(&e->changed);
            continue;
        }
        md_strlcpy(e->degraded_reason, err.msg, sizeof e->degraded_reason);
        /* One wait: a new write or a stop's drain (which signals every
         * 50 ms) cuts it short, so that a store free again is written at
         * once rather than after a 5 s backoff that outlasts the drain. */
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, (int)backoff);
        if (!e->writer_stop)
            pthread_cond_timedwait(&e->wcond, &e->lock, &until);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

void eng_writer_finish(md_engine *e)
{
    int64_t give_up = eng_mono_ms() + DRAIN_MS;

    pthread_mutex_lock(&e->lock);
    /* The writer keeps going while it drains; a stop only waits for it. */
    while (e->wq_head && e->writer_started && eng_mono_ms() < give_up) {
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, 50);
        pthread_cond_signal(&e->wcond);
        pthread_cond_timedwait(&e->changed, &e->lock, &until);
    }
    e->writer_stop = true;
    pthread_cond_broadcast(&e->wcond);
    pthread_mutex_unlock(&e->lock);
    if (e->writer_started)
        pthread_join(e->writer, NULL);
    e->writer_started = false;

    pthread_mutex_lock(&e->lock);
    if (e->wq_n)
        md_error("store: %zu writes could not be made before the stop; the migrations they "
                 "concern stay in progress in the store and are settled at the next start",
                 e->wq_n);
    while (e->wq_head) {
        struct eng_write *w = e->wq_head;
        e->wq_head = w->next;
        free(w);
    }
    e->wq_tail = NULL;
    e->wq_n = 0;
    e->store_off = true;
    pthread_mutex_unlock(&e->lock);
}

void md_engine_get_health(md_engine *e, md_engine_health *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->lock);
    out->degraded = e->degraded;
    out->degraded_since = e->degraded ? e->degraded_since : 0;
    md_strlcpy(out->reason, e->degraded_reason, sizeof out->reason);
    out->pending_writes = e->wq_n;
    pthread_mutex_unlock(&e->lock);
}
