/* policy.h - the decision engine that drives a live migration to an end.
 *
 * Pure C: no I/O, no clock, no threads, no allocation. The caller feeds the
 * migration's settings and then a stream of samples of its job statistics;
 * for each sample the engine returns at most one action (set the maximum
 * downtime, start post-copy, pause the guest, abort) with a reason in plain
 * English. Time is an input (the sample's elapsed seconds), so every decision
 * can be replayed from a written-down trace.
 *
 * A policy value is owned by one caller at a time; the functions are
 * reentrant (they touch nothing but their arguments) so different
 * migrations' policies may run on different threads.
 *
 * The two policies (DESIGN.md section 5):
 *
 *  - POLICY_NOVA reproduces the libvirt driver of OpenStack Nova: a linear
 *    downtime ramp (step i at delay * data_gib * i seconds to
 *    base + offset * i ms), a completion timeout of
 *    completion_timeout * data_gib seconds, and a timeout action (abort, or
 *    force-complete = post-copy if permitted, else pause) fired once.
 *  - POLICY_ADAPTIVE keeps Nova's timeouts as a backstop but not its ramp:
 *    from the first sample it sets the downtime target (downtime_target_ms,
 *    at most the maximum), and at each iteration boundary after the first
 *    full pass it weighs the passes still to come (policy.c's DESIGN). It
 *    raises the downtime, never beyond the maximum, only to what finishes
 *    in the time it allows itself; when pre-copy cannot finish at the
 *    maximum in that time it starts post-copy when permitted, else lets
 *    QEMU's auto-converge throttle when permitted, else aborts (or, with
 *    force_complete, pauses the guest at a boundary with the least to send)
 *    once two passes in a row show pre-copy cannot finish inside the
 *    completion timeout.
 *  - POLICY_NONE takes no action at all (the benchmark's baseline).
 *
 * Both real policies also apply the progress timeout: data remaining
 * (memory + disk) is compared only at iteration boundaries, and when no new
 * low has been seen for progress_timeout seconds the timeout action fires.
 * Once post-copy runs the engine takes no action at all.
 */
#ifndef MD_POLICY_H
#define MD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum policy_kind {
    POLICY_NONE = 0,
    POLICY_NOVA,
    POLICY_ADAPTIVE,
} policy_kind;

typedef enum policy_timeout_action {
    POLICY_TIMEOUT_ABORT = 0,
    POLICY_TIMEOUT_FORCE_COMPLETE,
} policy_timeout_action;

/* Nova's limits for the downtime options (also enforced by the config). */
#define POLICY_MIN_DOWNTIME_MS 100
#define POLICY_MIN_DOWNTIME_STEPS 3
#define POLICY_MIN_DOWNTIME_DELAY_S 3
/* Nova counts every RAM and disk size as at least this many GiB. */
#define POLICY_MIN_DATA_GIB 2.0
/* The largest allowed step count. */
#define POLICY_MAX_STEPS 1000
/* adaptive's downtime target when the settings give none (0): Nova's first
 * ramp step at its default 500 ms / 10 steps, so that adaptive never stops
 * a guest that converges there for longer than nova would
 * (etc/migrationd.conf, live_migration_downtime_target, says why). */
#define POLICY_DEFAULT_DOWNTIME_TARGET_MS 50
/* The lowest target the config accepts: below it the target is noise next
 * to the hand-over itself (device state, a few ms) and only adds passes. */
#define POLICY_MIN_DOWNTIME_TARGET_MS 10

typedef struct policy_settings {
    policy_kind kind;
    uint32_t downtime_ms; /* live_migration_downtime: the maximum */
    /* live_migration_downtime_target (adaptive only): the downtime adaptive
     * aims for; 0 = POLICY_DEFAULT_DOWNTIME_TARGET_MS; above downtime_ms it
     * is clamped to downtime_ms (also after policy_update()). */
    uint32_t downtime_target_ms;
    uint32_t downtime_steps;       /* live_migration_downtime_steps */
    uint32_t downtime_delay_s;     /* live_migration_downtime_delay, per GiB */
    uint32_t completion_timeout_s; /* per GiB of data; 0 = off */
    uint32_t progress_timeout_s;   /* seconds without a new low; 0 = off */
    policy_timeout_action timeout_action;
    bool permit_post_copy; /* the job was started with POSTCOPY */
    /* The job was started with AUTO_CONVERGE (adaptive then lets QEMU
     * throttle a guest that pre-copy cannot finish, instead of aborting). */
    bool permit_auto_converge;
    /* A drain's plan (plan.h): start post-copy at the first iteration
     * boundary after the first full pass (iteration >= 2), whatever the
     * estimates say. Needs permit_post_copy. */
    bool post_copy_after_first_pass;
    /* A drain's plan chose pre-copy for this guest: post-copy, though
     * permitted, only rescues a migration the policy would otherwise give
     * up on (its abort becomes post-copy, as does adaptive's pause), and
     * adaptive never switches to post-copy by itself, which the plan did
     * not predict. Meaningless without permit_post_copy. */
    bool post_copy_only_to_rescue;
    double data_gib; /* from policy_data_gib() */
} policy_settings;

typedef struct policy_sample {
    double elapsed_s;   /* seconds since the migration started */
    uint32_t iteration; /* QEMU's memory iteration (dirty sync count); 0 = not started */
    uint64_t mem_total, mem_processed, mem_remaining;    /* bytes */
    uint64_t disk_total, disk_processed, disk_remaining; /* bytes */
    double transfer_rate;                                /* bytes/s as reported; 0 = unknown */
    double dirty_rate; /* bytes/s as reported; 0 = unknown or idle */
    bool post_copy;    /* the job has switched to post-copy */
} policy_sample;

typedef enum policy_action_kind {
    POLICY_ACT_NONE = 0,
    POLICY_ACT_SET_DOWNTIME, /* set max downtime to action.downtime_ms */
    POLICY_ACT_POST_COPY,    /* start post-copy */
    POLICY_ACT_PAUSE,        /* suspend the guest so pre-copy can finish */
    POLICY_ACT_ABORT,        /* abort the job; the guest stays on the source */
} policy_action_kind;

typedef struct policy_action {
    policy_action_kind kind;
    uint32_t downtime_ms; /* for POLICY_ACT_SET_DOWNTIME */
    /* One English sentence, no trailing period. Room for adaptive's
     * reasons, which name every number behind a decision. */
    char reason[320];
} policy_action;

/* One downtime step of the Nova ramp: at more than after_s seconds elapsed
 * the maximum downtime becomes downtime_ms. */
typedef struct policy_step {
    double after_s;
    uint32_t downtime_ms;
} policy_step;

/* The state of one migration's policy. Treat as opaque; it is public only
 * so that callers can embed it without allocation. */
typedef struct policy {
    policy_settings set;
    double completion_timeout_s;  /* absolute, 0 = off */
    uint32_t current_downtime_ms; /* last value this engine set, 0 = none yet */
    bool timeout_fired;           /* the timeout action is latched */
    bool paused;                  /* the engine paused the guest */
    bool post_copy_requested;     /* the engine started post-copy */
    bool post_copy;               /* a sample showed post-copy running */
    bool aborted;                 /* the engine aborted the job */
    uint32_t adaptive_floor_ms;   /* adaptive's downtime, 0 = none */
    char adaptive_note[320];      /* why adaptive chose that floor */
    uint32_t target_ms;           /* adaptive's target, clamped to the maximum */
    double finish_by_s;           /* adaptive's time bound, 0 = not yet known */
    bool finish_by_seen;          /* the bound uses a pass's observed shrink */
    double prev_pending;          /* pending at the previous boundary (bytes) */
    double pause_low;             /* least pending at a boundary from pass 2 on */
    uint32_t cannot_finish;       /* boundaries in a row that said so */
    uint32_t pause_waited;        /* boundaries waited for a low one to pause at */
    bool throttling;              /* adaptive left the guest to auto-converge */
    /* Iteration-boundary bookkeeping (progress timeout and estimates). */
    uint32_t last_iteration;
    bool have_low;
    uint64_t low_remaining;
    double low_at_s;
    bool have_boundary;
    double boundary_at_s;        /* elapsed at the previous boundary */
    uint64_t boundary_processed; /* processed at the previous boundary */
} policy;

/* Nova's data size in GiB: RAM plus every copied disk, each at least
 * POLICY_MIN_DATA_GIB. disk_bytes may be NULL when ndisks is 0. Pure. */
double policy_data_gib(uint64_t ram_bytes, const uint64_t *disk_bytes, size_t ndisks);

/* Fills *out with Nova's default settings (500 ms, 10 steps, 75 s/GiB,
 * 800 s/GiB, 150 s, abort, no post-copy, no auto-converge) and adaptive's
 * default target (POLICY_DEFAULT_DOWNTIME_TARGET_MS) for the given kind and
 * data size. */
void policy_settings_default(policy_settings *out, policy_kind kind, double data_gib);

/* Computes Nova's downtime ramp for s into steps[0..max) and returns the
 * number of steps (downtime_steps + 1, or max if smaller). Pure. */
size_t policy_downtime_steps(const policy_settings *s, policy_step *steps, size_t max);

/* Resets p for a new migration with settings s (copied). Never fails: the
 * settings are clamped to Nova's minimums, which the config already enforces. */
void policy_init(policy *p, const policy_settings *s);

/* Feeds one sample; returns the one action to apply now (kind NONE if none).
 * Samples must come in order of elapsed time. Once a sample says post_copy,
 * and after an abort, no further action is ever returned. */
policy_action policy_step_sample(policy *p, const policy_sample *s);

/* An operator's force-complete: post-copy when permitted, else pause the
 * guest. Returns NONE (with the reason) when it has nothing left to do:
 * already in post-copy, already paused, or aborted. */
policy_action policy_force_complete(policy *p);

/* Changes settings of a running migration (an operator's PUT): the maximum
 * downtime (0 = keep) and whether post-copy is permitted. The ramp is
 * recomputed; elapsed time and the timeout latch are kept. A maximum below
 * adaptive's target (or its raised downtime) lowers them to the maximum:
 * the operator's limit wins, and the next sample sets it. */
void policy_update(policy *p, uint32_t max_downtime_ms, bool permit_post_copy);

/* Static names: "none", "nova", "adaptive"; "abort", "force_complete";
 * "none", "set_downtime", "post_copy", "pause", "abort". */
const char *policy_kind_str(policy_kind k);
const char *policy_timeout_action_str(policy_timeout_action a);
const char *policy_action_str(policy_action_kind k);

/* Parse the names above; return 0, or -1 for an unknown name. */
int policy_kind_parse(const char *name, policy_kind *out);
int policy_timeout_action_parse(const char *name, policy_timeout_action *out);

#endif /* MD_POLICY_H */
