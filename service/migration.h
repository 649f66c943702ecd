/* migration.h - the migration record, its states and its events.
 *
 * A record is a plain value: fixed-size strings, no pointers, so it can be
 * copied, stored and returned by value without questions of ownership. The
 * states and their names are Nova's (DESIGN.md section 3); the transition
 * table here is the only place that says which changes are legal.
 * Everything here is pure and may be called from any thread.
 */
#ifndef MD_MIGRATION_H
#define MD_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

typedef enum md_mig_state {
    MD_MIG_QUEUED = 0,
    MD_MIG_PREPARING,
    MD_MIG_RUNNING,
    MD_MIG_POSTCOPY, /* "running (post-copy)" */
    /* "running (post-copy recovering)": post-copy broke or stalled; the
     * guest is paused on the source and stalled on the destination while
     * the migration is resumed. */
    MD_MIG_POSTCOPY_RECOVERING,
    MD_MIG_COMPLETED, /* the guest runs on the destination */
    MD_MIG_CANCELLED, /* aborted (request or policy); the guest runs on the source */
    MD_MIG_FAILED,    /* the migration failed; the guest runs on the source */
    MD_MIG_ERROR,     /* no safe state could be determined or reached: needs an operator */
} md_mig_state;

#define MD_MIG_NSTATES 9
#define MD_UUID_LEN 37 /* 36 characters and the NUL */
#define MD_NAME_LEN 256
#define MD_MESSAGE_LEN 512

typedef struct md_migration {
    int64_t id;             /* the store's row id, > 0 once stored */
    char uuid[MD_UUID_LEN]; /* the migration's own UUID */
    md_mig_state state;
    char migration_type[32]; /* "live-migration" */
    char instance_uuid[MD_UUID_LEN];
    char instance_name[MD_NAME_LEN];
    char source_compute[MD_NAME_LEN];
    char dest_compute[MD_NAME_LEN]; /* the destination node's name (libvirt URI host) */
    char dest_host[MD_NAME_LEN];    /* its migration address; "" = dest_compute */
    bool block_migration;
    bool permit_post_copy;
    bool auto_converge;
    uint32_t max_downtime_ms; /* the maximum the policy may allow */
    uint32_t bandwidth_mibps; /* 0 = unlimited */
    policy_timeout_action timeout_action;
    policy_kind policy;
    int64_t created_at; /* ms since the Unix epoch */
    /* ms since the Unix epoch, every change; an ended record's is when it
     * ended (its final statistics, added a moment later, keep it). */
    int64_t updated_at;
    uint64_t memory_total_bytes, memory_processed_bytes, memory_remaining_bytes;
    uint64_t disk_total_bytes, disk_processed_bytes, disk_remaining_bytes;
    int progress; /* 0..100, never goes down */
    uint32_t memory_iteration;
    uint64_t transfer_rate;       /* bytes/s */
    uint64_t dirty_rate;          /* bytes/s */
    uint32_t current_downtime_ms; /* max downtime now set on the job, 0 = none yet */
    int64_t downtime_ms;          /* the real downtime when known, -1 = unknown */
    int64_t elapsed_ms;           /* the job's own elapsed time, last seen */
    bool post_copy;
    bool paused;                     /* the guest is paused by force-complete */
    char error[MD_MESSAGE_LEN];      /* "" = no error */
    int recovery_attempts;           /* resumes of a broken post-copy tried so far */
    int64_t recovery_started_at;     /* ms since the epoch of the current break, 0 = none */
    char drain_uuid[MD_UUID_LEN];    /* the drain that started it; "" = none */
    bool post_copy_after_first_pass; /* the drain's plan: post-copy after the first pass */
} md_migration;

/* One entry of a migration's timeline. */
typedef struct md_event {
    int64_t id;                   /* the store's row id */
    int64_t at;                   /* ms since the Unix epoch */
    char kind[32];                /* "state", "set_downtime", "post_copy", "pause", ... */
    int64_t value;                /* the action's value (ms, MiB/s, ...), or 0 */
    char message[MD_MESSAGE_LEN]; /* why, in one English sentence */
} md_event;

/* Nova's names: "queued", "preparing", "running", "running (post-copy)",
 * "completed", "cancelled", "failed", "error", and migrationd's own
 * "running (post-copy recovering)". Static, never NULL ("unknown" for a
 * value out of range). */
const char *md_mig_state_str(md_mig_state s);

/* Parses a name above; returns 0, or -1 for an unknown name. */
int md_mig_state_parse(const char *name, md_mig_state *out);

/* True for queued, preparing, running, running (post-copy) and running
 * (post-copy recovering): the states in which a job may still run and
 * commands may apply. The one definition every list and filter uses. */
bool md_mig_state_in_progress(md_mig_state s);

/* True when a record may move from `from` to `to`. The only way out of a
 * final state is error -> running (post-copy recovering): an operator's
 * recover of a post-copy that libvirt still holds paused. */
bool md_mig_transition_allowed(md_mig_state from, md_mig_state to);

/* An operator's or the policy's command on a migration, kept in the store
 * until it has been carried out, so that one accepted before a crash is
 * carried out after the restart. */
typedef enum md_command_kind {
    MD_CMD_ABORT = 0,      /* "abort" */
    MD_CMD_FORCE_COMPLETE, /* "force_complete" */
    MD_CMD_POST_COPY,      /* "post_copy" */
    MD_CMD_RECOVER,        /* "recover": resume a broken post-copy now */
    MD_CMD_SPEED,          /* "speed": apply the record's settings (bandwidth) again */
} md_command_kind;

#define MD_CMD_NKINDS 5

typedef struct md_command {
    int64_t id;             /* the store's row id: the order of acceptance */
    char uuid[MD_UUID_LEN]; /* the migration it applies to */
    md_command_kind kind;
    int64_t created_at; /* ms since the Unix epoch */
} md_command;

/* The names above. Static, never NULL ("unknown" out of range). */
const char *md_command_kind_str(md_command_kind k);

/* Parses a name above; returns 0, or -1 for an unknown name. */
int md_command_kind_parse(const char *name, md_command_kind *out);

/* Fills *m with an empty queued record (ids and strings empty, downtime -1). */
void md_migration_init(md_migration *m);

/* Progress 0..100 from the totals and remaining bytes of m: the share of
 * memory + disk no longer remaining, capped at 99 until the migration is
 * completed (then 100). Never below m->progress: it never goes down. */
int md_migration_progress(const md_migration *m);

/* Writes a new random (version 4) UUID, 36 characters and the NUL, into
 * out. Returns false if the kernel's random source failed. Any thread. */
bool md_uuid_generate(char out[MD_UUID_LEN]);

/* True for the canonical 8-4-4-4-12 hexadecimal form. */
bool md_uuid_valid(const char *s);

/* Copies src into the fixed-size field dst (of size n) and always
 * terminates it; returns false when src did not fit (dst holds a prefix). */
bool md_strlcpy(char *dst, const char *src, size_t n);

#endif /* MD_MIGRATION_H */
