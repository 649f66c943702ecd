/* engine_drain.h - what the drain files of the engine share (private to service/engine_drain*.c).
 *
 *   engine_drain.c           the DESIGN, the drain thread and the running drain;
 *   engine_drain_plan.c      measuring the guests and destinations, and planning;
 *   engine_drain_requests.c  the md_engine_drain_* requests and the load at start.
 *
 * Everything here is under the engine lock unless it says otherwise.
 */
#ifndef MD_ENGINE_DRAIN_H
#define MD_ENGINE_DRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "service/engine_priv.h"

/* How many events a drain keeps while the store cannot take them; beyond,
 * the oldest go (the newest say where the drain is). */
#define DRAIN_PENDING_EVENTS 64
/* Migrations in a row to one destination that fail before it is left out
 * of the plans. */
#define DRAIN_DEST_FAILURES 2

/* The drain in progress (e->drain): its record, live, and what the thread
 * knows beside it. Only the record is stored; the rest is measured again
 * or rebuilt after a restart. */
typedef struct eng_drain {
    md_drain d;
    /* Measured when planning: each destination's free memory (0 =
     * unknown), whether it is left out of the plans, and its migrations
     * that failed in a row. Indexed like d.dests. */
    uint64_t free_bytes[MD_DRAIN_MAX_DESTS];
    bool dest_down[MD_DRAIN_MAX_DESTS];
    int dest_failures[MD_DRAIN_MAX_DESTS];
    /* Each link as this drain's completed migrations measured it: bytes
     * moved between the first start and the last end (wall ms). */
    uint64_t moved_bytes[MD_DRAIN_MAX_DESTS];
    int64_t first_start[MD_DRAIN_MAX_DESTS], last_end[MD_DRAIN_MAX_DESTS];
    bool cancel;                     /* a cancel was accepted: nothing more starts */
    bool abort_running;              /* ... and the migrations in progress are aborted */
    bool replan_due;                 /* a guest ended (or a restart): plan again before starting */
    char ended_note[MD_MESSAGE_LEN]; /* the ends since the last plan, for its event */
    bool told_deadline;              /* the "deadline passed" event is written */
    /* The store could not take the last changes: d is rewritten whole, then
     * these events, once it can (eng_drain_flush). */
    bool unwritten;
    md_event pend[DRAIN_PENDING_EVENTS];
    size_t npend;
    size_t dropped_events;
} eng_drain;

/* e->drain when it is drain uuid, else NULL. */
eng_drain *eng_drain_current(md_engine *e, const char *uuid);
/* Index of dest in dr's destinations (ignoring case), or -1. Pure. */
int eng_drain_dest_index(const eng_drain *dr, const char *dest);
/* Records a change of dr with an event of kind: written now, or kept for
 * eng_drain_flush() while the store cannot take it. Wakes the waiters. */
void eng_drain_event(md_engine *e, eng_drain *dr, const char *kind, int64_t value, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
/* Writes what the store could not take of dr, once the engine is healthy
 * again. True when nothing is left unwritten. */
bool eng_drain_flush(md_engine *e, eng_drain *dr);
/* Makes g watch migration m (in progress, started by anyone). */
void eng_drain_adopt(eng_drain *dr, md_drain_guest *g, const md_migration *m);

/* The drain thread's planning state: measures (without the lock, which it
 * releases and takes again), plans, and moves dr to running or failed.
 * True when the thread should look again at once. engine_drain_plan.c */
bool eng_drain_planning(md_engine *e, eng_drain *dr);
/* Plans the guests still waiting again, the migrating ones pinned, and
 * records a "replan" event with dr->ended_note. Releases the lock while
 * it plans. False when dr is no longer the drain in progress afterwards
 * (then it must not be touched). engine_drain_plan.c */
bool eng_drain_replan(md_engine *e, eng_drain *dr);
/* How many of the hypervisor's seconds pass in one wall-clock second: 1 for
 * libvirt, simulator.time_scale for the simulator, whose guests live in
 * scaled time. The planner predicts in the guests' seconds; the drain's
 * deadline, records and events are wall-clock, and every number crossing
 * between the two is scaled by this. Pure; any thread.
 * engine_drain_plan.c */
double eng_drain_time_scale(const md_engine *e);

#endif /* MD_ENGINE_DRAIN_H */
