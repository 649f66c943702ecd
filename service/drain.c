/* drain.c - drain and drain-guest states, and the record's copy and release. */
#include "service/drain.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[MD_DRAIN_NSTATES] = {
    "planning", "running", "completed", "partial", "cancelled", "failed",
};

static const char *const guest_state_names[MD_DG_NSTATES] = {
    "waiting", "migrating", "done", "failed", "skipped",
};

static int parse_name(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(name, names[i]) == 0)
            return i;
    }
    return -1;
}

const char *md_drain_state_str(md_drain_state s)
{
    return (unsigned)s < MD_DRAIN_NSTATES ? state_names[s] : "unknown";
}

int md_drain_state_parse(const char *name, md_drain_state *out)
{
    int i = parse_name(state_names, MD_DRAIN_NSTATES, name);
    if (i < 0)
        return -1;
    *out = (md_drain_state)i;
    return 0;
}

bool md_drain_state_in_progress(md_drain_state s)
{
    return s == MD_DRAIN_PLANNING || s == MD_DRAIN_RUNNING;
}

const char *md_drain_guest_state_str(md_drain_guest_state s)
{
    return (unsigned)s < MD_DG_NSTATES ? guest_state_names[s] : "unknown";
}

int md_drain_guest_state_parse(const char *name, md_drain_guest_state *out)
{
    int i = parse_name(guest_state_names, MD_DG_NSTATES, name);
    if (i < 0)
        return -1;
    *out = (md_drain_guest_state)i;
    return 0;
}

void md_drain_init(md_drain *d)
{
    memset(d, 0, sizeof *d);
}

void md_drain_clear(md_drain *d)
{
    if (d == NULL)
        return;
    free(d->guests);
    memset(d, 0, sizeof *d);
}

md_status md_drain_copy(md_drain *dst, const md_drain *src, md_err *err)
{
    md_drain_guest *g = NULL;
    if (src->nguests > 0) {
        g = malloc(src->nguests * sizeof *g);
        if (g == NULL) {
            memset(dst, 0, sizeof *dst);
            return md_err_set(err, MD_ERR_NOMEM, "out of memory copying a drain of %zu guests",
                              src->nguests);
        }
        memcpy(g, src->guests, src->nguests * sizeof *g);
    }
    *dst = *src;
    dst->guests = g;
    return MD_OK;
}

void md_drain_free_array(md_drain *v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].guests);
    free(v);
}

void md_drain_count(const md_drain *d, md_drain_counts *out)
{
    memset(out, 0, sizeof *out);
    out->total = d->nguests;
    for (size_t i = 0; i < d->nguests; i++) {
        switch (d->guests[i].state) {
        case MD_DG_DONE: out->done++; break;
        case MD_DG_FAILED: out->failed++; break;
        case MD_DG_WAITING:
        case MD_DG_MIGRATING: out->remaining++; break;
        case MD_DG_SKIPPED: break;
        }
    }
}
