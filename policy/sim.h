/* sim.h - a deterministic model of a QEMU live migration in virtual time.
 *
 * The simulator stands in for a real migration wherever one cannot or need
 * not run: the policy tests, bench/policy-matrix, and the daemon's simulated
 * hypervisor. It models what decides whether a migration finishes:
 *
 *  - block migration: copied disks go first, at link speed;
 *  - pre-copy passes over RAM with QEMU's switch-over test (when the data
 *    left in a pass falls under rate * max downtime, sync the dirty bitmap
 *    and stop the guest if what is pending now fits; else start a new pass);
 *  - a guest that writes at random over a working set (distinct dirty pages
 *    saturate at the working set), dirtying nothing while paused;
 *  - auto-converge with QEMU 7.2's defaults (throttle 20 %, +10 %, max 99 %,
 *    triggered when a >= 1 s sync period dirtied more than half of what it
 *    sent, twice in a row);
 *  - post-copy: a short stop to hand over, then the rest at link speed while
 *    the guest runs on the destination, slowed as it faults on missing pages.
 *
 * Time is virtual: nothing here reads a clock or sleeps. A sim value belongs
 * to one caller at a time; functions are reentrant. No allocation.
 */
#ifndef MD_SIM_H
#define MD_SIM_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stdint.h>

#define SIM_PAGE_SIZE 4096.0
/* QEMU 7.2's default downtime limit, in force until someone sets one. */
#define SIM_DEFAULT_DOWNTIME_MS 300
/* Device state and the hand-over itself, on top of the memory QEMU allows
 * for the final stop: QEMU's limit does not count this, so a real downtime
 * can exceed the limit by about this much. */
#define SIM_SWITCHOVER_MS 5.0

typedef struct sim_params {
    double ram_bytes;
    double working_set_bytes; /* the pages the guest writes, <= RAM */
    double dirty_rate;        /* bytes/s the guest writes (random pages in the working set) */
    double link_rate;         /* bytes/s the link carries */
    double disk_bytes;        /* copied disk data (block migration); 0 = shared storage */
    double bandwidth_limit;   /* bytes/s cap set on the job; 0 = none */
    bool permit_post_copy;    /* started with VIR_MIGRATE_POSTCOPY */
    bool auto_converge;       /* started with VIR_MIGRATE_AUTO_CONVERGE */
} sim_params;

typedef enum sim_state {
    SIM_DISK = 0,  /* copying disks */
    SIM_PRECOPY,   /* pre-copy passes over RAM */
    SIM_POSTCOPY,  /* guest runs on the destination, pages follow */
    SIM_COMPLETED, /* guest runs on the destination */
    SIM_CANCELLED, /* aborted; guest runs on the source */
} sim_state;

typedef struct sim {
    sim_params p;
    sim_state state;
    double now;           /* virtual seconds since the start */
    uint32_t iteration;   /* dirty bitmap syncs so far (QEMU's count) */
    uint32_t downtime_ms; /* current max downtime */
    double disk_remaining;
    double disk_sent;
    double pass_remaining; /* bytes still to send in this pass */
    double dirtied;        /* distinct bytes dirtied since the last sync */
    double mem_sent;       /* memory bytes put on the wire */
    bool paused;
    double paused_since;
    double paused_total; /* seconds the guest spent paused */
    double throttle;     /* auto-converge CPU throttle, 0..0.99 */
    int dirty_high_count;
    double period_start, period_sent, period_dirtied;
    double dirty_rate_seen; /* bytes/s in the last >= 1 s sync period */
    double postcopy_start;
    double ws_missing;         /* working-set bytes not yet on the destination */
    double guest_stall_s;      /* guest time lost to throttle and faults */
    double downtime_ms_real;   /* the final stop, or the post-copy hand-over */
    bool stopped_while_paused; /* the final stop fell inside a pause */
    double end;
} sim;

typedef struct sim_result {
    bool completed;
    bool cancelled;     /* aborted (by policy or caller) */
    double total_s;     /* until completed, cancelled, or the time cap */
    double downtime_ms; /* guest-visible: final stop + time paused */
    double bytes_sent;
    double postcopy_s;    /* time in post-copy, 0 if never */
    double guest_stall_s; /* throttle share x time + missing working-set share x time */
    /* The guest's loss in seconds of its own time, slowdown x depth
     * integrated: guest_stall_s plus downtime_ms / 1000 (a paused or stopped
     * guest loses all of its time). 1 s means the guest did 1 s less work
     * than it would have done without the migration. */
    double guest_impact_s;
    uint32_t iterations;
    double max_throttle;
} sim_result;

/* Starts a migration described by p (copied) at virtual time 0. */
void sim_init(sim *s, const sim_params *p);

/* Advances virtual time by at most dt seconds; stops early at the end of the
 * migration and right after each dirty bitmap sync (an iteration boundary,
 * as libvirt's MIGRATION_ITERATION event reports it). Returns the virtual
 * seconds that passed, which include a final stop's downtime (0 once the
 * migration has ended). */
double sim_advance(sim *s, double dt);

/* True while the migration has not ended (disk, pre-copy or post-copy). */
bool sim_active(const sim *s);

/* The job statistics a caller would read from libvirt, as a policy sample. */
void sim_sample(const sim *s, policy_sample *out);

/* Controls, as libvirt offers them. Each returns 0, or -1 when the state
 * does not allow it (not active; post-copy not permitted or already on;
 * abort during post-copy; pause while paused). */
int sim_set_downtime(sim *s, uint32_t ms);
int sim_set_bandwidth(sim *s, double bytes_per_s);
/* The link itself changes speed: the drain planner (plan.c) shares one
 * destination's link among the migrations running to it, and re-shares it
 * whenever one starts or ends. Unlike sim_set_bandwidth() this is not a cap
 * on the job but what the wire carries; it applies from the next step.
 * Returns 0, or -1 when the rate is not > 0 or the migration has ended. */
int sim_set_link_rate(sim *s, double bytes_per_s);
/* The guest starts writing at another rate: a workload that turns busy
 * mid-migration, which no measurement before the start could see (the
 * simulated hypervisor's test control md_hv_sim_set_dirty_rate). It applies
 * from the next step. Returns 0, or -1 when the rate is negative or not a
 * number, or the migration has ended. */
int sim_set_dirty_rate(sim *s, double bytes_per_s);
int sim_start_post_copy(sim *s);
int sim_pause(sim *s);
int sim_resume(sim *s);
int sim_abort(sim *s);

/* Applies a policy action; returns as the control it maps to (0 for NONE). */
int sim_apply(sim *s, const policy_action *a);

/* Fills *r from s (at any time; final once !sim_active(s)). */
void sim_result_get(const sim *s, sim_result *r);

/* Called for every action the policy takes in sim_run(). */
typedef void (*sim_action_cb)(void *ctx, const sim *s, const policy_action *a);

/* Decides what to do on one sample: the daemon's policy, or a benchmark's
 * model of another tool (bench/policy-matrix's peers). dctx is the caller's. */
typedef policy_action (*sim_decide_fn)(void *dctx, const policy_sample *s);

/* Runs one migration: samples every interval_s seconds and at every
 * iteration boundary, as the daemon's monitor does, asks decide, applies each
 * action, and stops at the end or at max_s virtual seconds (then aborts the
 * job, as a caller with a wall-clock cap would). cb may be NULL. */
void sim_drive(const sim_params *p, double interval_s, double max_s, sim_decide_fn decide,
               void *dctx, sim_action_cb cb, void *ctx, sim_result *r);

/* sim_drive() under a policy with settings ps. */
void sim_run(const sim_params *p, const policy_settings *ps, double interval_s, double max_s,
             sim_action_cb cb, void *ctx, sim_result *r);

#endif /* MD_SIM_H */
