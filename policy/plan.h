/* plan.h - the drain planner: which guest goes where, when, and how, to empty a node by a deadline.
 *
 * A drain (POST /v1/drains) moves every guest of this node to a set of
 * peers. The planner turns what can be measured before a migration starts -
 * each guest's RAM, its dirty rate, its copied disks, each destination's
 * link and free memory - into a schedule: the order in which guests start,
 * the destination of each, how many migrate at once, and which of them must
 * switch to post-copy after their first pre-copy pass for the whole drain
 * to end by the deadline.
 *
 * Predictions come from the migration model of sim.h, run in virtual time
 * under the node's policy (policy.h), with the link shared: migrations
 * that run at once to the same destination split its link equally, as the
 * simulated hypervisor splits it (service/hv_sim.c). plan_simulate() runs a
 * whole schedule that way; plan_make() searches for the schedule.
 *
 * The search (plan.c's DESIGN says why):
 *   1. each guest alone on a link gets a pre-copy and a post-copy-after-
 *      the-first-pass prediction; a guest whose pre-copy would not complete
 *      (the policy would abort it, or it would still run at the cap) must
 *      use post-copy, and without post-copy permitted it is counted as
 *      failing;
 *   2. for each parallelism from 1 to max_parallel: longest predicted
 *      first, each started on the least loaded destination with room
 *      (free memory after what is already planned there), then while the
 *      makespan misses the deadline the pre-copy guest whose switch to
 *      post-copy saves the most is switched, and the schedule simulated
 *      again (the count of switches is found by bisection, which comes to
 *      the same when a switch never delays the drain); a pre-copy guest the
 *      shared-link simulation predicts will not complete is switched too;
 *   3. the schedule that meets the deadline with the fewest post-copy
 *      guests wins (then the shortest makespan); when none meets it, the
 *      one that loses the fewest guests (unplaced or predicted to fail),
 *      then the shortest makespan.
 *
 * Pure: no I/O, no clock, no allocation, no threads; reentrant. Guests and
 * destinations live in the caller's arrays.
 */
#ifndef MD_PLAN_H
#define MD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* The largest drain the planner takes (and the API accepts). */
#define PLAN_MAX_GUESTS 1000
/* The most destinations one drain may name. */
#define PLAN_MAX_DESTS 16
/* The most migrations a plan runs at once. */
#define PLAN_MAX_PARALLEL 16
/* A simulated migration that has not ended after this many virtual seconds
 * is counted as failing (it would not end by any sensible deadline). */
#define PLAN_MAX_SECONDS 86400.0

typedef enum plan_mode {
    PLAN_PRECOPY = 0, /* pre-copy under the node's policy */
    PLAN_POSTCOPY,    /* post-copy right after the first pre-copy pass */
} plan_mode;

/* One guest to move. The caller fills the inputs; plan_make() and
 * plan_simulate() fill the rest. */
typedef struct plan_guest {
    /* Inputs. */
    double ram_bytes;
    double working_set_bytes; /* the pages it writes; 0 = unknown (all of RAM) */
    double dirty_rate;        /* bytes/s, as measured; 0 = idle */
    double disk_bytes;        /* copied disk data; 0 = shared storage */
    bool pinned;              /* already running or done: keep dest and mode */
    int pinned_dest;          /* with pinned: its destination's index */
    plan_mode pinned_mode;    /* with pinned */
    double pinned_start_s;    /* with pinned: when it started, <= 0 (before "now"; > 0 = 0) */
    /* Outputs. */
    int dest; /* index into the destinations; -1 = no room anywhere */
    plan_mode mode;
    int order;               /* 0-based start order among the unpinned; -1 pinned, unplaced */
    double start_s;          /* predicted start, seconds from now */
    double duration_s;       /* predicted duration, with the link as shared */
    bool completes;          /* the prediction says it ends completed */
    double alone_precopy_s;  /* alone on its link: pre-copy (or PLAN_MAX_SECONDS) */
    double alone_postcopy_s; /* alone on its link: post-copy after the first pass */
    bool precopy_converges;  /* alone, pre-copy completes under the policy */
} plan_guest;

/* One destination (a peer). */
typedef struct plan_dest {
    double link_rate;  /* bytes/s its link carries; must be > 0 */
    double free_bytes; /* its free memory before the drain (every guest planned
                        * there, pinned ones too, counts its RAM); 0 = unknown,
                        * no limit */
} plan_dest;

typedef struct plan_input {
    double deadline_s;     /* from now; > 0 */
    bool permit_post_copy; /* the drain may switch guests to post-copy */
    unsigned max_parallel; /* 1..PLAN_MAX_PARALLEL, migrations at once in all */
    double interval_s;     /* the monitor's sampling interval (seconds) */
    /* The node's policy; data_gib is set per guest from its sizes, and
     * permit_post_copy per guest from its mode. */
    policy_settings policy;
} plan_input;

typedef struct plan_result {
    bool feasible;        /* every guest placed, completes, and ends by the deadline */
    double makespan_s;    /* predicted end of the last guest, from now */
    unsigned parallel;    /* migrations at once in the chosen schedule */
    size_t npostcopy;     /* guests planned for post-copy (pinned included) */
    size_t nunplaced;     /* guests no destination has room for */
    size_t nfailing;      /* guests predicted not to complete */
    double lower_bound_s; /* no schedule can end sooner (all post-copy, links full) */
    char summary[400];    /* the numbers behind it, one English sentence */
} plan_result;

/* Plans guests g[0..ng) onto destinations d[0..nd) for in (see the search
 * above): fills each guest's outputs and *out. Pinned guests keep their
 * destination and mode and occupy their link from pinned_start_s. Returns
 * 0, or -1 when the input is unusable (ng or nd 0 or over the limits, a
 * link rate <= 0, a deadline or interval <= 0, a guest's RAM <= 0, a size
 * or rate < 0, anything not finite, a pinned destination out of range):
 * then nothing is filled. Pure; about 60 KiB of stack; cost grows with
 * ng * max_parallel * log(ng) simulations' steps (milliseconds for 100
 * guests, under a second for 1000 at 16 at once). */
int plan_make(const plan_input *in, plan_guest *g, size_t ng, const plan_dest *d, size_t nd,
              plan_result *out);

/* Simulates the schedule the guests' dest, mode and order already say
 * (order ascending; ties by index), parallel at once, links shared, and
 * fills start_s, duration_s and completes of each guest and makespan_s,
 * nfailing and feasible of *out (the rest of *out is left as it is).
 * Guests with dest -1 are skipped; pinned guests use pinned_dest and
 * pinned_mode and start at pinned_start_s. Returns 0, or -1 as plan_make()
 * (also for parallel 0 or over PLAN_MAX_PARALLEL, or a dest or mode out of
 * range). Also
 * the baselines' model: FIFO order with a fixed parallelism and every
 * guest in pre-copy is how bench/drain predicts host-evacuate-live. */
int plan_simulate(const plan_input *in, plan_guest *g, size_t ng, const plan_dest *d, size_t nd,
                  unsigned parallel, plan_result *out);

/* "pre-copy", "post-copy"; static. */
const char *plan_mode_str(plan_mode m);

#endif /* MD_PLAN_H */
