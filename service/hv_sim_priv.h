/* hv_sim_priv.h - the simulated hypervisor's state, shared by its files.
 *
 * One module in four files: hv_sim.c has the domains, their jobs, the clock
 * and the operations on this node; hv_sim_link.c has the other hosts (their
 * links and how running jobs share them, their free memory, black-holed
 * destinations, locate) and the dirty-rate measurement; hv_sim_index.c
 * finds a domain by UUID or name; hv_sim_control.c has the controls that
 * tests and benchmarks use. Nothing outside those files includes this
 * header. Everything here is used under
 * hv_sim.lock unless it says otherwise.
 */
#ifndef MD_HV_SIM_PRIV_H
#define MD_HV_SIM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "policy/sim.h"
#include "service/config.h"
#include "service/hv.h"
#include "service/hv_sim.h"
#include "service/status.h"

#define MIB (1024.0 * 1024.0)

#define MSG_CANCELED "operation aborted: migration out job: canceled by client"
#define MSG_POSTCOPY_FAILED "operation failed: job 'migration out' failed in post-copy phase"
#define MSG_RELEASED "simulator: stopped waiting; the migration job goes on"
#define MSG_DOWN "simulated libvirtd does not answer (reconnecting)"
#define MSG_LOST "lost the connection to simulated libvirtd; the migration job goes on"

#define SIM_MAX_BLACKHOLED 8
#define SIM_HOST_LEN 256

typedef struct sim_domain {
    md_config_sim_domain cfg;
    bool here;    /* defined and active on this node */
    bool at_dest; /* migrated away by a job of ours */
    bool paused;
    bool job;              /* a migration job exists (running or just ended) */
    bool job_done;         /* it ended: completed or cancelled */
    bool pc_failed;        /* its post-copy broke; it waits for a resume */
    bool pc_stalled;       /* its post-copy stream does not move (a test's fault) */
    double held_s;         /* simulated seconds the job was held by a fault */
    struct sim_wait *wait; /* the migrate() call that owns the job, if any */
    sim s;
    uint32_t seen_iteration;
    bool seen_post_copy;
    int dest; /* index in hv_sim.dests of its last migration's destination; -1 none */
    /* Its last dirty-rate measurement (md_hv_dirty_rate_start): started at
     * rate_start on the simulated clock, for rate_seconds, reading rate. */
    bool rate_started;
    double rate_start, rate_seconds, rate;
} sim_domain;

/* What one blocked migrate() call returns, written by whatever ends it. */
typedef struct sim_wait {
    bool done;
    md_status st;
    const char *msg; /* a static string; NULL with MD_OK */
} sim_wait;

/* A destination host, as the host of the URIs that name it (hv_sim_link.c),
 * added when a migration, a free-memory question or a test first names it. */
typedef struct sim_dest {
    char host[SIM_HOST_LEN]; /* compared ignoring case */
    double link_rate;        /* bytes/s: its peer's bandwidth_mibps, else simulator.link_mibps */
    bool free_set;           /* md_hv_sim_set_free_memory gave its free memory */
    uint64_t free_bytes;     /* with free_set */
    unsigned moving;         /* jobs moving data to it now (hvs_share_links' count) */
} sim_dest;

/* Events gathered under the lock, delivered after it. */
typedef struct event_buf {
    md_hv_event *ev;
    size_t n, cap;
} event_buf;

typedef struct hv_sim {
    md_hv base;
    pthread_mutex_t lock;
    pthread_cond_t job_done;
    pthread_t ticker;
    bool ticker_running;
    bool stopping;
    bool manual;
    bool dest_unreachable; /* md_hv_sim_set_dest_reachable(false) */
    bool dest_unaware;     /* md_hv_sim_set_dest_aware(false) */
    bool disconnected;     /* md_hv_sim_set_connected(false) */
    bool hold_calls;       /* md_hv_sim_hold_calls(true) */
    /* md_hv_sim_set_completed_events: what becomes of JOB_COMPLETED events,
     * and those held meanwhile, oldest first. */
    md_hv_sim_completed completed_events;
    event_buf held_completed;
    /* md_hv_sim_set_dest_blackholed: the hosts (of destination URIs) that
     * drop packets, and a count of release_waiters() calls, which end the
     * waits for them. */
    char blackholed[SIM_MAX_BLACKHOLED][SIM_HOST_LEN];
    size_t nblackholed;
    unsigned releases;
    double time_scale;
    double now;          /* simulated seconds since open: the clock jobs move by */
    double link_rate;    /* bytes/s of a destination that no peer's bandwidth_mibps gives */
    double free_default; /* bytes free on a destination no test set: simulator.free_mib */
    char host[SIM_HOST_LEN];
    size_t ndoms;
    sim_domain *doms;
    uint32_t *index; /* hv_sim_index.c: the domains by UUID and name */
    size_t index_cap;
    size_t ndests, capdests;
    sim_dest *dests;
    size_t npeers; /* the peers with a bandwidth_mibps, copied at open */
    md_config_peer *peers;
} hv_sim;

static inline hv_sim *to_sim(md_hv *hv)
{
    return (hv_sim *)hv;
}

/* ---- hv_sim.c, for hv_sim_control.c ---- */

/* Ends the wait of the migrate() call that owns d's job, if one does,
 * with st and msg (a static string). */
void hvs_end_wait(hv_sim *h, sim_domain *d, md_status st, const char *msg);
/* Breaks d's post-copy (the job stays, failed, until a resume); held_call:
 * abort-postcopy forced it while the destination is unreachable, so the
 * owning call ends only once it can be reached again. Events go to b. */
void hvs_break_post_copy(hv_sim *h, sim_domain *d, bool held_call, event_buf *b);
/* Moves the simulated clock by dt seconds: every running job, and the
 * clock dirty-rate measurements read. Events go to b. */
void hvs_advance_all(hv_sim *h, double dt, event_buf *b);
/* Emits b's events to the engine and empties b (not its array). Without
 * the lock: the engine's handler takes its own. */
void hvs_deliver(hv_sim *h, event_buf *b);

/* ---- hv_sim_index.c ---- */

/* Builds the index of h->doms (fixed from now on) by UUID and by name.
 * MD_ERR_NOMEM. At open, before the ticker starts. hvs_index_free()
 * releases it (accepts one never built). */
md_status hvs_index_build(hv_sim *h, md_err *err);
void hvs_index_free(hv_sim *h);
/* The domain whose UUID (any case) or name is id, the first in the
 * configuration's order if several; NULL if none. Constant time. */
sim_domain *hvs_find(hv_sim *h, const char *id);

/* Finds a domain by UUID (any case) or name; NULL if none. */
static inline sim_domain *find(hv_sim *h, const char *id)
{
    return hvs_find(h, id);
}

/* A domain this node has, or a NOT_FOUND error worded as libvirt's. */
static inline sim_domain *find_here(hv_sim *h, const char *id, md_err *err)
{
    sim_domain *d = find(h, id);

    if (!d || !d->here) {
        md_err_set(err, MD_ERR_NOT_FOUND, "Domain not found: no domain with matching uuid '%s'",
                   id);
        return NULL;
    }
    return d;
}

/* True, with libvirt's boundary's status and a message in err, while a
 * test has the simulated connection down (md_hv_sim_set_connected). */
static inline bool down(const hv_sim *h, md_err *err)
{
    if (h->disconnected)
        md_err_set(err, MD_ERR_UNAVAILABLE, "%s", MSG_DOWN);
    return h->disconnected;
}

static inline bool job_running(const sim_domain *d)
{
    return d->job && !d->job_done;
}

static inline bool in_post_copy(const sim_domain *d)
{
    return job_running(d) && d->s.state == SIM_POSTCOPY;
}

/* A post-copy job that a fault keeps from moving. */
static inline bool held(const hv_sim *h, const sim_domain *d)
{
    return in_post_copy(d) && (d->pc_failed || d->pc_stalled || h->dest_unreachable);
}

/* ---- hv_sim_link.c ---- */

/* Copies what the destinations need from cfg (the peers' links, the
 * default link and free memory). MD_ERR_NOMEM. At open, before the ticker
 * starts. hvs_dests_free() releases it (accepts a half-made one). */
md_status hvs_dests_init(hv_sim *h, const md_config *cfg, md_err *err);
void hvs_dests_free(hv_sim *h);

/* The index in h->dests of the destination that dest_uri names (its host;
 * a URI without one is named by the whole string), added if new; -1 with
 * MD_ERR_NOMEM in err when it cannot be added. */
int hvs_dest_of(hv_sim *h, const char *dest_uri, md_err *err);

/* Gives every job that moves data now its share of its destination's link
 * (sim.p.link_rate = link / jobs moving to that destination). Returns true
 * when some link is shared by more than one job. Before each step of the
 * clock. */
bool hvs_share_links(hv_sim *h);

/* Asking the destination of dest_uri as libvirt's boundary does (waits
 * while its host is black-holed; see hv_sim.c's DESIGN). Releases and
 * retakes h->lock while it waits. */
md_status hvs_reach_dest(hv_sim *h, const char *dest_uri, md_err *err);

/* The operations of md_hv_ops that hv_sim_link.c implements. */
md_status hvs_locate(md_hv *hv, const char *uuid, const char *dest_uri, md_hv_location *out,
                     md_err *err);
md_status hvs_free_memory(md_hv *hv, const char *dest_uri, uint64_t *bytes, md_err *err);
md_status hvs_dirty_rate_start(md_hv *hv, const char *uuid, int seconds, md_err *err);
md_status hvs_dirty_rate_read(md_hv *hv, const char *uuid, md_hv_dirty_rate *out, md_err *err);

#endif /* MD_HV_SIM_PRIV_H */
