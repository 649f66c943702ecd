/* drain.h - the drain record: every guest off this node, to listed peers, by a deadline.
 *
 * A drain (POST /v1/drains, DESIGN.md section 6) is a durable record like a
 * migration: its state, the request's settings, the plan's prediction, and
 * one entry per guest. Each guest that starts migrating gets an ordinary
 * migration record that names the drain (md_migration.drain_uuid), so
 * everything that exists for migrations works on it; the entry remembers
 * that record's uuid and what the plan predicted for it.
 *
 * Unlike md_migration, an md_drain holds a pointer (its guests, malloc'd):
 * copy one with md_drain_copy(), release it with md_drain_clear(). The
 * functions here are pure and may be called from any thread.
 */
#ifndef MD_DRAIN_H
#define MD_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/plan.h"
#include "service/migration.h"
#include "service/status.h"

/* How many guests and destinations a drain may have (the planner's). */
#define MD_DRAIN_MAX_GUESTS PLAN_MAX_GUESTS
#define MD_DRAIN_MAX_DESTS PLAN_MAX_DESTS

typedef enum md_drain_state {
    MD_DRAIN_PLANNING = 0, /* measuring the guests and making the first plan */
    MD_DRAIN_RUNNING,      /* migrating by the plan */
    MD_DRAIN_COMPLETED,    /* every guest left the node */
    MD_DRAIN_PARTIAL,      /* ended, with some guests still here */
    MD_DRAIN_CANCELLED,    /* DELETE: no guest started after it */
    MD_DRAIN_FAILED,       /* ended before any guest moved (strict and impossible, no guests
                              to move, a destination unusable, ...): error says why */
} md_drain_state;

#define MD_DRAIN_NSTATES 6

/* One guest's part of a drain. */
typedef enum md_drain_guest_state {
    MD_DG_WAITING = 0, /* not started yet */
    MD_DG_MIGRATING,   /* its migration (migration_uuid) is in progress */
    MD_DG_DONE,        /* its migration completed: it runs on dest_compute */
    MD_DG_FAILED,      /* it stays here: both attempts failed, or it fits nowhere */
    MD_DG_SKIPPED,     /* never started: the drain was cancelled, or failed, first */
} md_drain_guest_state;

#define MD_DG_NSTATES 5

typedef struct md_drain_guest {
    char instance_uuid[MD_UUID_LEN];
    char instance_name[MD_NAME_LEN];
    md_drain_guest_state state;
    char migration_uuid[MD_UUID_LEN]; /* the current (or last) attempt's record, "" = none */
    char dest_compute[MD_NAME_LEN];   /* planned, then actual destination; "" = none */
    plan_mode mode;                   /* planned: pre-copy, or post-copy after the first pass */
    int order;                        /* planned start order, 0-based */
    int attempts;                     /* migrations started for it (at most 2) */
    uint64_t ram_bytes;               /* as measured when planned */
    uint64_t dirty_rate;              /* bytes/s, as measured when planned; 0 = idle */
    uint64_t disk_bytes;              /* copied disk data */
    int64_t predicted_ms;             /* planned duration, 0 = not planned */
    int64_t started_at, ended_at;     /* wall ms since the epoch, 0 = not yet */
    char error[MD_MESSAGE_LEN];       /* why it failed, "" = none */
} md_drain_guest;

typedef struct md_drain {
    int64_t id; /* the store's row id */
    char uuid[MD_UUID_LEN];
    md_drain_state state;
    char source_compute[MD_NAME_LEN]; /* this node */
    size_t ndests;
    char dests[MD_DRAIN_MAX_DESTS][MD_NAME_LEN]; /* peers' names, as the request listed them */
    int64_t deadline_s;                          /* as requested */
    bool permit_post_copy;
    int max_parallel;     /* as requested, 0 = the service's max_concurrent_live_migrations */
    bool strict;          /* refuse (409 / failed) a deadline the plan cannot meet */
    bool abort_running;   /* on cancel, abort migrations in progress (else they finish) */
    bool block_migration; /* copy the guests' disks (not shared storage); planned by size */
    int64_t created_at, updated_at; /* wall ms since the epoch */
    int64_t deadline_at;            /* created_at + deadline_s */
    int64_t predicted_end_at;       /* wall ms the plan predicts the last guest ends, 0 = none */
    int64_t ended_at;               /* wall ms, 0 = in progress */
    bool feasible;                  /* the last plan meets the deadline */
    int parallel;                   /* the last plan's migrations at once */
    char error[MD_MESSAGE_LEN];     /* why it failed or is partial, "" = none */
    size_t nguests;
    md_drain_guest *guests; /* malloc'd, nguests of them, in the order they were listed */
} md_drain;

/* Counts of a drain's guests, as the API reports them. */
typedef struct md_drain_counts {
    size_t total, done, failed, remaining; /* remaining: waiting or migrating */
} md_drain_counts;

/* "planning", "running", "completed", "partial", "cancelled", "failed";
 * static, "unknown" out of range. */
const char *md_drain_state_str(md_drain_state s);
int md_drain_state_parse(const char *name, md_drain_state *out); /* 0, or -1 */
/* True for planning and running. */
bool md_drain_state_in_progress(md_drain_state s);

/* "waiting", "migrating", "done", "failed", "skipped"; static. */
const char *md_drain_guest_state_str(md_drain_guest_state s);
int md_drain_guest_state_parse(const char *name, md_drain_guest_state *out); /* 0, or -1 */

/* Zeroes *d (no guests). */
void md_drain_init(md_drain *d);
/* Frees d's guests and zeroes *d. Accepts NULL. */
void md_drain_clear(md_drain *d);
/* Makes *dst a deep copy of src (dst is overwritten, not cleared first).
 * MD_ERR_NOMEM (dst zeroed) when the guests cannot be copied. */
md_status md_drain_copy(md_drain *dst, const md_drain *src, md_err *err);
/* Frees an array of n drains (from a list) and each one's guests. Accepts
 * NULL. */
void md_drain_free_array(md_drain *v, size_t n);

/* d's guests counted by state. */
void md_drain_count(const md_drain *d, md_drain_counts *out);

#endif /* MD_DRAIN_H */
