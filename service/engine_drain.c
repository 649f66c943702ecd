/* engine_drain.c - host drains: the drain thread, and the requests that start and cancel drains.
 *
 * DESIGN
 * ------
 * A drain (service/drain.h) empties this node by a deadline. Its record is
 * the plan and the promise; the work is ordinary migrations, one per
 * guest, each a record that names the drain, run by the engine's workers
 * and monitor like any other. What the drain adds is a decision maker: one
 * thread, the drain thread, that measures, plans, starts each guest's
 * migration when the plan says, watches them end, and plans again.
 *
 * Why one thread, and why this thread rather than the monitor. Measuring
 * blocks on the hypervisor for seconds: a dirty-rate calculation runs for
 * its whole window, and asking a destination for its free memory opens a
 * connection to it, which a destination that drops packets holds for
 * MD_HV_PEER_TIMEOUT_MS (service/hv.h, "Other hosts"). The monitor must
 * never wait for another host - every running migration's policy depends
 * on its ticks - and an API thread must never call the hypervisor at all.
 * So the drain gets its own thread, which may block where the others may
 * not. Planning itself is pure (policy/plan.c) but not free: plan_make()
 * simulates the schedule many times, milliseconds for a hundred guests and
 * more for a thousand, so it runs on this thread without the engine lock
 * (drain_plan() plans a copy and applies it only if the drain is still the
 * one it copied). One thread is enough: there is at most one drain at a
 * time and it makes one decision at a time; the migrations themselves run
 * in parallel on the workers, which is where parallelism pays.
 *
 * Why one drain at a time. A drain assumes it owns this node's outgoing
 * links and the destinations' free memory it measured: two plans that each
 * believe the whole link is theirs would both miss their deadlines. A
 * second POST while one runs is refused (MD_ERR_CONFLICT) rather than
 * queued; an operator who wants more guests moved cancels and asks again.
 *
 * Starting migrations. The thread creates each guest's migration through
 * the engine's own create path (eng_create_locked, under the lock), so
 * every check of a request applies: a guest that already has a migration
 * in progress is adopted (the drain watches that one instead of starting a
 * second), and the record carries the drain's uuid and the plan's
 * post_copy_after_first_pass, from which the policy is built - also after a
 * restart (eng_policy_start reads the record). At most plan.parallel
 * guests of the drain migrate at once; plan.parallel never exceeds the
 * workers, so a started migration does not wait in the queue.
 *
 * Watching. The thread wakes when any record changes state (e->changed)
 * or every DRAIN_POLL_MS, and looks at each migrating guest: still in the
 * table of actives means in progress; otherwise its final state is read
 * (a pending write first, then the store). A completed migration makes the
 * guest done; a failed or cancelled one is retried once on another
 * destination (a record in error is not: its guest may be split between
 * the hosts and needs an operator); a destination to which two migrations
 * in a row failed is dropped from the plans. Each end makes the thread
 * plan again with the running guests pinned, and record the ended guest's
 * actual duration against the prediction.
 *
 * Restart. Drains are records like migrations: md_engine_start loads the
 * drain left in progress before it recovers the migrations (so the drain
 * sees the ends that recovery settles), and the thread picks it up. One
 * still planning plans again from the start (measurements are cheap and
 * old ones stale); one running plans again first, then goes on: its
 * migrating guests are watched through their records, which the engine's
 * recovery has re-attached or settled, and its waiting guests start as the
 * new plan says. A guest whose migration was created but not yet recorded
 * in the drain when the daemon died is found through the store's
 * drain_uuid filter and adopted.
 *
 * A degraded store (engine_store.c). Requests that would write - create,
 * cancel - are refused with MD_ERR_UNAVAILABLE, as every request is. The
 * thread cannot refuse what has happened (a guest's migration ended), so
 * it keeps the drain in memory, marks it unwritten, keeps the events it
 * could not write (up to DRAIN_PENDING_EVENTS), and starts nothing new:
 * a migration started now would be one more thing the store does not
 * know. Once the engine is healthy again it rewrites the drain whole, then
 * its pending events, and goes on. A crash meanwhile loses only what the
 * store had not taken; the restart above reconciles the rest from the
 * migration records.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/engine_drain.h"
#include "service/clock.h"
#include "service/log.h"
#include "service/peers.h"

/* How often the thread looks at a running drain when nothing wakes it:
 * short beside any migration, long beside a look. */
#define DRAIN_POLL_MS 250

/* ---- the record, in memory and in the store (under the lock) ------------------ */

eng_drain *eng_drain_current(md_engine *e, const char *uuid)
{
    eng_drain *dr = e->drain;

    return dr && strcasecmp(dr->d.uuid, uuid) == 0 ? dr : NULL;
}

bool eng_drain_metrics(md_engine *e, md_engine_drain_metrics *out)
{
    const eng_drain *dr = e->drain;

    memset(out, 0, sizeof *out);
    if (!dr || !md_drain_state_in_progress(dr->d.state))
        return false;
    md_strlcpy(out->uuid, dr->d.uuid, sizeof out->uuid);
    out->state = dr->d.state;
    md_drain_count(&dr->d, &out->counts);
    out->deadline_at = dr->d.deadline_at;
    out->predicted_end_at = dr->d.predicted_end_at;
    return true;
}

static void drain_free_one(eng_drain *dr)
{
    if (dr) {
        md_drain_clear(&dr->d);
        free(dr);
    }
}

void eng_drain_free(md_engine *e)
{
    drain_free_one(e->drain);
    e->drain = NULL;
}

static bool transient(md_status st)
{
    return st == MD_ERR_IO || st == MD_ERR_NOMEM;
}

static void pend_event(eng_drain *dr, const md_event *ev)
{
    if (dr->npend == DRAIN_PENDING_EVENTS) {
        /* The oldest goes: the newest says where the drain is now. */
        memmove(&dr->pend[0], &dr->pend[1], (DRAIN_PENDING_EVENTS - 1) * sizeof dr->pend[0]);
        dr->npend--;
        dr->dropped_events++;
    }
    dr->pend[dr->npend++] = *ev;
}

/* Writes dr (with ev when not NULL) unless the store cannot take it now;
 * then keeps it for eng_drain_flush(). Wakes the waiters either way. */
static void drain_commit(md_engine *e, eng_drain *dr, md_event *ev)
{
    md_err err;

    dr->d.updated_at = eng_wall_ms();
    pthread_cond_broadcast(&e->changed);
    if (e->store_off)
        return; /* after a stop nothing writes; the next start reconciles */
    if (!dr->unwritten && !e->degraded) {
        md_status st = md_store_drain_update(e->store, &dr->d, ev, &err);
        if (st == MD_OK)
            return;
        if (!transient(st)) {
            md_error("drain %s: cannot record a change, dropped: %s", dr->d.uuid, err.msg);
            return;
        }
        eng_store_failed(e, &err);
    }
    if (!dr->unwritten)
        md_warn("drain %s: the store cannot take its changes now; kept in memory, no new "
                "migration starts until it does",
                dr->d.uuid);
    dr->unwritten = true;
    if (ev)
        pend_event(dr, ev);
}

void eng_drain_event(md_engine *e, eng_drain *dr, const char *kind, int64_t value, const char *fmt,
                     ...)
{
    md_event ev;
    va_list ap;

    memset(&ev, 0, sizeof ev);
    ev.at = eng_wall_ms();
    md_strlcpy(ev.kind, kind, sizeof ev.kind);
    ev.value = value;
    va_start(ap, fmt);
    vsnprintf(ev.message, sizeof ev.message, fmt, ap);
    va_end(ap);
    md_info("drain %s: %s: %s", dr->d.uuid, kind, ev.message);
    drain_commit(e, dr, &ev);
}

bool eng_drain_flush(md_engine *e, eng_drain *dr)
{
    md_err err;
    md_status st;

    if (!dr->unwritten)
        return true;
    /* Nothing under the lock touches SQLite while degraded (engine_store.c):
     * the writer says when it takes writes again. */
    if (e->degraded || e->store_off)
        return false;
    st = md_store_drain_update(e->store, &dr->d, NULL, &err);
    while (st == MD_OK && dr->npend > 0) {
        st = md_store_drain_add_event(e->store, dr->d.uuid, &dr->pend[0], &err);
        if (st == MD_OK)
            memmove(&dr->pend[0], &dr->pend[1], --dr->npend * sizeof dr->pend[0]);
    }
    if (st != MD_OK && transient(st)) {
        eng_store_failed(e, &err);
        return false;
    }
    if (st != MD_OK)
        md_error("drain %s: cannot rewrite it, dropped: %s", dr->d.uuid, err.msg);
    else
        md_info("drain %s: written again%s", dr->d.uuid,
                dr->dropped_events ? " (some events were lost while the store was unwritable)"
                                   : "");
    dr->unwritten = false;
    dr->npend = 0;
    dr->dropped_events = 0;
    return true;
}

int eng_drain_dest_index(const eng_drain *dr, const char *dest)
{
    for (size_t i = 0; i < dr->d.ndests; i++) {
        if (strcasecmp(dr->d.dests[i], dest) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- the running drain (the drain thread; under the lock) --------------------- */

/* The migration in progress of guest g, whoever started it, or NULL. */
static active *migration_of(md_engine *e, const md_drain_guest *g)
{
    for (size_t i = 0; i < e->nact; i++) {
        const md_migration *m = &e->act[i]->rec;
        if ((m->instance_uuid[0] && strcasecmp(m->instance_uuid, g->instance_uuid) == 0) ||
            (m->instance_name[0] && strcmp(m->instance_name, g->instance_name) == 0) ||
            (e->act[i]->domain[0] && strcasecmp(e->act[i]->domain, g->instance_uuid) == 0))
            return e->act[i];
    }
    return NULL;
}

void eng_drain_adopt(eng_drain *dr, md_drain_guest *g, const md_migration *m)
{
    int k = eng_drain_dest_index(dr, m->dest_compute);

    g->state = MD_DG_MIGRATING;
    md_strlcpy(g->migration_uuid, m->uuid, sizeof g->migration_uuid);
    md_strlcpy(g->dest_compute, k >= 0 ? dr->d.dests[k] : m->dest_compute, sizeof g->dest_compute);
    g->mode = m->post_copy_after_first_pass ? PLAN_POSTCOPY : PLAN_PRECOPY;
    g->started_at = m->created_at;
    g->ended_at = 0;
    g->attempts++;
}

/* A usable destination other than index avoid (-1: any), or -1. */
static int other_dest(const eng_drain *dr, int avoid)
{
    for (size_t i = 0; i < dr->d.ndests; i++) {
        if ((int)i != avoid && !dr->dest_down[i])
            return (int)i;
    }
    return -1;
}

static void note_end(eng_drain *dr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends one ended guest to what the next re-plan event tells. */
static void note_end(eng_drain *dr, const char *fmt, ...)
{
    size_t len = strlen(dr->ended_note);
    va_list ap;

    if (len + 4 >= sizeof dr->ended_note)
        return;
    if (len)
        len += (size_t)snprintf(dr->ended_note + len, sizeof dr->ended_note - len, "; ");
    va_start(ap, fmt);
    vsnprintf(dr->ended_note + len, sizeof dr->ended_note - len, fmt, ap);
    va_end(ap);
}

/* Guest g's migration m has ended: done, retried once elsewhere, or
 * failed. */
static void guest_ended(md_engine *e, eng_drain *dr, md_drain_guest *g, const md_migration *m)
{
    int k = eng_drain_dest_index(dr, g->dest_compute);
    int64_t now = eng_wall_ms();
    int64_t ended = m->updated_at > 0 ? m->updated_at : now;
    double actual_s = g->started_at > 0 ? (double)(ended - g->started_at) / 1000.0 : 0;
    double predicted_s = (double)g->predicted_ms / 1000.0;

    g->ended_at = ended;
    dr->replan_due = true;
    if (m->state == MD_MIG_COMPLETED) {
        g->state = MD_DG_DONE;
        g->error[0] = '\0';
        if (k >= 0) {
            uint64_t moved = m->memory_processed_bytes + m->disk_processed_bytes;
            dr->dest_failures[k] = 0;
            dr->moved_bytes[k] += moved ? moved : g->ram_bytes + g->disk_bytes;
            if (!dr->first_start[k] || g->started_at < dr->first_start[k])
                dr->first_start[k] = g->started_at;
            if (ended > dr->last_end[k])
                dr->last_end[k] = ended;
        }
        note_end(dr, "%s done on %s in %.1f s (predicted %.1f s)", g->instance_name,
                 g->dest_compute, actual_s, predicted_s);
        eng_drain_event(e, dr, "guest", (int64_t)(actual_s * 1000),
                        "%s is on %s: migration %s completed in %.1f s (predicted %.1f s)",
                        g->instance_name, g->dest_compute, m->uuid, actual_s, predicted_s);
        return;
    }
    if (m->state == MD_MIG_ERROR) {
        g->state = MD_DG_FAILED;
        snprintf(g->error, sizeof g->error,
                 "migration %s ended in error (%.300s); not retried: an operator must look at it",
                 m->uuid, m->error);
        note_end(dr, "%s failed (error) after %.1f s", g->instance_name, actual_s);
        eng_drain_event(e, dr, "guest", 0, "%s: %s", g->instance_name, g->error);
        return;
    }
    /* Failed or cancelled: the guest runs here still. */
    if (k >= 0 && ++dr->dest_failures[k] >= DRAIN_DEST_FAILURES && !dr->dest_down[k] &&
        !dr->cancel) {
        dr->dest_down[k] = true;
        eng_drain_event(e, dr, "dest_dropped", 0,
                        "%d migrations in a row to %s failed (the last: %s); it is left out of "
                        "the plans from now on",
                        dr->dest_failures[k], dr->d.dests[k], m->error);
    }
    int other = dr->cancel || g->attempts >= 2 ? -1 : other_dest(dr, k);
    if (other >= 0) {
        g->state = MD_DG_WAITING;
        snprintf(g->error, sizeof g->error, "attempt %d to %.100s: %s (%.300s)", g->attempts,
                 g->dest_compute, md_mig_state_str(m->state), m->error);
        md_strlcpy(g->dest_compute, dr->d.dests[other], sizeof g->dest_compute);
        g->started_at = g->ended_at = 0;
        note_end(dr, "%s %s after %.1f s, to be retried on %s", g->instance_name,
                 md_mig_state_str(m->state), actual_s, g->dest_compute);
        eng_drain_event(e, dr, "retry", g->attempts,
                        "%s: migration %s %s (%s); retrying once on %s", g->instance_name, m->uuid,
                        md_mig_state_str(m->state), m->error, g->dest_compute);
        return;
    }
    g->state = MD_DG_FAILED;
    snprintf(g->error, sizeof g->error, "migration %s %s (%.300s)%s", m->uuid,
             md_mig_state_str(m->state), m->error,
             dr->cancel         ? "; the drain was cancelled"
             : g->attempts >= 2 ? "; both attempts failed"
                                : "; no other destination to retry on");
    note_end(dr, "%s %s after %.1f s", g->instance_name, md_mig_state_str(m->state), actual_s);
    eng_drain_event(e, dr, "guest", 0, "%s stays here: %s", g->instance_name, g->error);
}

/* Looks at each migrating guest's migration; settles those that ended.
 * A cancel with abort_running aborts those still running. */
static void watch_guests(md_engine *e, eng_drain *dr)
{
    md_migration m;
    md_err err;

    for (size_t i = 0; i < dr->d.nguests; i++) {
        md_drain_guest *g = &dr->d.guests[i];
        if (g->state != MD_DG_MIGRATING)
            continue;
        active *a = eng_table_find(e, g->migration_uuid);
        if (a) {
            if (dr->cancel && dr->abort_running && !a->abort_requested &&
                a->rec.state != MD_MIG_POSTCOPY && a->rec.state != MD_MIG_POSTCOPY_RECOVERING &&
                eng_writable(e, &err) == MD_OK && eng_abort_active(e, a, &err) != MD_OK)
                md_warn("drain %s: cannot abort migration %s: %s", dr->d.uuid, g->migration_uuid,
                        err.msg);
            continue;
        }
        if (!eng_pending_record(e, g->migration_uuid, &m)) {
            md_status st = md_store_get(e->store, g->migration_uuid, &m, &err);
            if (st == MD_ERR_NOT_FOUND) {
                g->state = MD_DG_FAILED;
                g->ended_at = eng_wall_ms();
                snprintf(g->error, sizeof g->error, "its migration %s is gone from the store",
                         g->migration_uuid);
                dr->replan_due = true;
                eng_drain_event(e, dr, "guest", 0, "%s: %s", g->instance_name, g->error);
            }
            if (st != MD_OK)
                continue; /* the store answers later */
        }
        if (!md_mig_state_in_progress(m.state))
            guest_ended(e, dr, g, &m);
    }
}

/* Starts the next waiting guest of the plan on its destination, while
 * fewer than the plan's parallelism migrate. Nothing starts while the
 * store cannot record it. */
static void start_guests(md_engine *e, eng_drain *dr)
{
    size_t migrating = 0;

    if (dr->cancel || e->degraded || dr->unwritten || e->stopping)
        return;
    for (size_t i = 0; i < dr->d.nguests; i++)
        migrating += dr->d.guests[i].state == MD_DG_MIGRATING;
    while (migrating < (size_t)(dr->d.parallel > 0 ? dr->d.parallel : 1)) {
        md_drain_guest *g = NULL;
        for (size_t i = 0; i < dr->d.nguests; i++) {
            md_drain_guest *c = &dr->d.guests[i];
            int k = eng_drain_dest_index(dr, c->dest_compute);
            if (c->state == MD_DG_WAITING && k >= 0 && !dr->dest_down[k] &&
                (!g || c->order < g->order))
                g = c;
        }
        if (!g)
            return;

        md_engine_request q;
        md_migration m;
        md_err err;
        memset(&q, 0, sizeof q);
        md_strlcpy(q.instance, g->instance_uuid, sizeof q.instance);
        md_strlcpy(q.dest_compute, g->dest_compute, sizeof q.dest_compute);
        md_strlcpy(q.drain_uuid, dr->d.uuid, sizeof q.drain_uuid);
        q.permit_post_copy = dr->d.permit_post_copy || g->mode == PLAN_POSTCOPY ? 1 : 0;
        q.post_copy_after_first_pass = g->mode == PLAN_POSTCOPY;
        q.block_migration = dr->d.block_migration;
        q.max_downtime_ms = q.bandwidth_mibps = -1;
        q.timeout_action = -1;
        md_status st = eng_create_locked(e, &q, g->instance_name, &m, &err);
        if (st == MD_OK) {
            g->state = MD_DG_MIGRATING;
            md_strlcpy(g->migration_uuid, m.uuid, sizeof g->migration_uuid);
            g->started_at = m.created_at;
            g->ended_at = 0;
            g->attempts++;
            migrating++;
            eng_drain_event(e, dr, "start", g->order,
                            "%s to %s (%s, order %d, predicted %.1f s): migration %s",
                            g->instance_name, g->dest_compute, plan_mode_str(g->mode), g->order,
                            (double)g->predicted_ms / 1000.0, m.uuid);
            continue;
        }
        if (st == MD_ERR_CONFLICT) {
            active *a = migration_of(e, g);
            if (a) {
                eng_drain_adopt(dr, g, &a->rec);
                migrating++;
                eng_drain_event(e, dr, "adopt", 0,
                                "%s already has migration %s in progress (to %s): watched "
                                "instead of starting another",
                                g->instance_name, a->rec.uuid, a->rec.dest_compute);
                continue;
            }
        }
        if (st == MD_ERR_UNAVAILABLE || st == MD_ERR_OVER_LIMIT || st == MD_ERR_NOMEM ||
            st == MD_ERR_CONFLICT) {
            md_warn("drain %s: %s not started yet: %s", dr->d.uuid, g->instance_name, err.msg);
            return; /* later: the thread comes back */
        }
        g->state = MD_DG_FAILED;
        g->ended_at = eng_wall_ms();
        snprintf(g->error, sizeof g->error, "cannot start its migration: %.400s", err.msg);
        dr->replan_due = true;
        eng_drain_event(e, dr, "guest", 0, "%s stays here: %s", g->instance_name, g->error);
    }
}

/* Ends the drain once no guest waits or migrates. */
static void finish_if_done(md_engine *e, eng_drain *dr)
{
    md_drain_counts c;
    size_t skipped = 0;
    const md_drain_guest *first_failed = NULL;

    md_drain_count(&dr->d, &c);
    if (c.remaining > 0)
        return;
    for (size_t i = 0; i < dr->d.nguests; i++) {
        skipped += dr->d.guests[i].state == MD_DG_SKIPPED;
        if (!first_failed && dr->d.guests[i].state == MD_DG_FAILED)
            first_failed = &dr->d.guests[i];
    }
    dr->d.ended_at = eng_wall_ms();
    if (c.done == c.total) {
        dr->d.state = MD_DRAIN_COMPLETED;
    } else if (dr->cancel || skipped > 0) {
        dr->d.state = MD_DRAIN_CANCELLED;
    } else {
        dr->d.state = MD_DRAIN_PARTIAL;
        snprintf(dr->d.error, sizeof dr->d.error,
                 "%zu of %zu guests stay on %.100s (%.100s: %.250s)", c.failed, c.total,
                 dr->d.source_compute, first_failed ? first_failed->instance_name : "?",
                 first_failed ? first_failed->error : "");
    }
    eng_metrics_drain_ended(e, dr->d.state);
    eng_drain_event(e, dr, "state", 0,
                    "%s: %zu of %zu guests moved, %zu failed, %zu skipped, in %.1f s (deadline "
                    "%lld s, %s)",
                    md_drain_state_str(dr->d.state), c.done, c.total, c.failed, skipped,
                    (double)(dr->d.ended_at - dr->d.created_at) / 1000.0,
                    (long long)dr->d.deadline_s,
                    dr->d.ended_at <= dr->d.deadline_at ? "met" : "missed");
}

/* One look at a running drain: ends, a re-plan, the deadline, starts, the
 * end. False when the drain was replaced meanwhile (dr is then not to be
 * touched). */
static bool drain_running(md_engine *e, eng_drain *dr)
{
    watch_guests(e, dr);
    if (dr->replan_due && !dr->cancel) {
        dr->replan_due = false;
        if (!eng_drain_replan(e, dr))
            return false;
    }
    md_drain_counts c;
    md_drain_count(&dr->d, &c);
    /* Said only while guests remain: a drain whose last guest ended in the
     * same look has met its deadline's purpose, and says so by ending. */
    if (!dr->told_deadline && c.remaining > 0 && eng_wall_ms() > dr->d.deadline_at) {
        dr->told_deadline = true;
        eng_drain_event(e, dr, "deadline", dr->d.deadline_s * 1000,
                        "the deadline (%lld s) has passed with %zu of %zu guests still to move; "
                        "going on",
                        (long long)dr->d.deadline_s, c.remaining, c.total);
    }
    start_guests(e, dr);
    finish_if_done(e, dr);
    return true;
}

void *eng_drain_main(void *arg)
{
    md_engine *e = arg;

    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        eng_drain *dr = e->drain;
        bool again = false;
        if (dr && eng_drain_flush(e, dr)) {
            if (dr->d.state == MD_DRAIN_PLANNING)
                again = eng_drain_planning(e, dr);
            else if (dr->d.state == MD_DRAIN_RUNNING)
                drain_running(e, dr);
            else if (e->drain == dr && !dr->unwritten)
                eng_drain_free(e); /* ended and stored: the store has it */
        }
        if (again || e->stopping)
            continue;
        struct timespec until = md_deadline_in(CLOCK_MONOTONIC, DRAIN_POLL_MS);
        pthread_cond_timedwait(&e->changed, &e->lock, &until);
    }
    e->drainer_alive = false;
    /* A stop that could not wait for this thread left the engine to it. */
    bool last = eng_last_out(e);
    pthread_mutex_unlock(&e->lock);
    if (last)
        eng_free(e);
    return NULL;
}
