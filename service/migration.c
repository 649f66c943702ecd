/* migration.c - migration states, legal transitions and record helpers. */
#include "service/migration.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char *const state_names[MD_MIG_NSTATES] = {
    "queued",
    "preparing",
    "running",
    "running (post-copy)",
    "running (post-copy recovering)",
    "completed",
    "cancelled",
    "failed",
    "error",
};

static const char *const command_names[MD_CMD_NKINDS] = {
    "abort", "force_complete", "post_copy", "recover", "speed",
};

const char *md_mig_state_str(md_mig_state s)
{
    return (unsigned)s < MD_MIG_NSTATES ? state_names[s] : "unknown";
}

int md_mig_state_parse(const char *name, md_mig_state *out)
{
    for (int i = 0; i < MD_MIG_NSTATES; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (md_mig_state)i;
            return 0;
        }
    }
    return -1;
}

bool md_mig_state_in_progress(md_mig_state s)
{
    return s == MD_MIG_QUEUED || s == MD_MIG_PREPARING || s == MD_MIG_RUNNING ||
           s == MD_MIG_POSTCOPY || s == MD_MIG_POSTCOPY_RECOVERING;
}

const char *md_command_kind_str(md_command_kind k)
{
    return (unsigned)k < MD_CMD_NKINDS ? command_names[k] : "unknown";
}

int md_command_kind_parse(const char *name, md_command_kind *out)
{
    for (int i = 0; i < MD_CMD_NKINDS; i++) {
        if (strcmp(name, command_names[i]) == 0) {
            *out = (md_command_kind)i;
            return 0;
        }
    }
    return -1;
}

/* Rows: from; columns: to. Post-copy can only complete, recover or need an
 * operator: once the guest runs on the destination, the source copy is
 * stale, so neither "cancelled" nor "failed" (both mean "runs on the
 * source") can describe it, and the same holds while it recovers. A
 * recovery that resumed goes back to post-copy (and may break again); one
 * that ran out of time is an error, from which only an operator's recover
 * of a job libvirt still holds paused leads back. Running -> recovering is
 * a break seen before the record saw the switch to post-copy (both within
 * one monitor interval). A job can finish before the first sample shows it
 * running, hence preparing -> completed. Preparing -> queued is recovery's
 * only: a stop that came between a worker taking the migration and its
 * migrate call leaves a record that never started, whose guest still runs
 * here; it waits its turn again rather than fail for the restart. */
static const bool allowed[MD_MIG_NSTATES][MD_MIG_NSTATES] = {
    /*                           Q  P  R  PC RC C  X  F  E */
    [MD_MIG_QUEUED] = { 0, 1, 0, 0, 0, 0, 1, 1, 1 },
    [MD_MIG_PREPARING] = { 1, 0, 1, 0, 0, 1, 1, 1, 1 },
    [MD_MIG_RUNNING] = { 0, 0, 0, 1, 1, 1, 1, 1, 1 },
    [MD_MIG_POSTCOPY] = { 0, 0, 0, 0, 1, 1, 0, 0, 1 },
    [MD_MIG_POSTCOPY_RECOVERING] = { 0, 0, 0, 1, 0, 1, 0, 0, 1 },
    [MD_MIG_ERROR] = { 0, 0, 0, 0, 1, 0, 0, 0, 0 },
};

bool md_mig_transition_allowed(md_mig_state from, md_mig_state to)
{
    if ((unsigned)from >= MD_MIG_NSTATES || (unsigned)to >= MD_MIG_NSTATES)
        return false;
    return allowed[from][to];
}

void md_migration_init(md_migration *m)
{
    memset(m, 0, sizeof *m);
    m->state = MD_MIG_QUEUED;
    strcpy(m->migration_type, "live-migration");
    m->downtime_ms = -1;
}

int md_migration_progress(const md_migration *m)
{
    uint64_t total = m->memory_total_bytes + m->disk_total_bytes;
    uint64_t remaining = m->memory_remaining_bytes + m->disk_remaining_bytes;
    int p;

    if (m->state == MD_MIG_COMPLETED)
        return 100;
    if (total == 0)
        return m->progress;
    if (remaining > total)
        remaining = total;
    p = (int)((total - remaining) * 100 / total);
    /* 100 means done, which only the completed state may say. */
    if (p > 99)
        p = 99;
    return p > m->progress ? p : m->progress;
}

bool md_strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);

    if (n == 0)
        return false;
    if (len >= n) {
        memcpy(dst, src, n - 1);
        dst[n - 1] = '\0';
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

bool md_uuid_generate(char out[MD_UUID_LEN])
{
    unsigned char b[16];

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return false;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, MD_UUID_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return true;
}

bool md_uuid_valid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}
