/* hv_sim_link.c - the simulated hypervisor's other hosts: links, free memory, reachability;
 * and the dirty-rate measurement.
 *
 * The second file of the simulator (hv_sim.c's DESIGN says what is
 * modelled; hv_sim_priv.h has the state). Every function here runs under
 * hv_sim.lock: the operations take it, the helpers are called with it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "service/clock.h"
#include "service/hv_sim.h"
#include "service/hv_sim_priv.h"
#include "service/log.h"
#include "service/net.h"
#include "service/peers.h"

/* Destinations one simulator tells apart: far more than `peers` allows,
 * and a bound on what destinations named by requests (without `peers`,
 * any name) can make it keep. */
#define SIM_MAX_DESTS 4096

/* A measurement's window may end this much early on the simulated clock:
 * the clock adds up floating-point steps (ten of 0.1 s make 0.999...). */
#define CLOCK_SLACK_S 1e-9

md_status hvs_dests_init(hv_sim *h, const md_config *cfg, md_err *err)
{
    h->link_rate = cfg->simulator.link_mibps * MIB;
    h->free_default = (double)cfg->simulator.free_mib * MIB;
    for (size_t i = 0; i < cfg->peers.count; i++) {
        if (cfg->peers.list[i].bandwidth_mibps > 0)
            h->npeers++;
    }
    if (h->npeers == 0)
        return MD_OK;
    h->peers = calloc(h->npeers, sizeof *h->peers);
    if (!h->peers) {
        h->npeers = 0;
        return md_err_set(err, MD_ERR_NOMEM, "simulator: out of memory");
    }
    for (size_t i = 0, k = 0; i < cfg->peers.count; i++) {
        if (cfg->peers.list[i].bandwidth_mibps > 0)
            h->peers[k++] = cfg->peers.list[i];
    }
    return MD_OK;
}

void hvs_dests_free(hv_sim *h)
{
    free(h->peers);
    h->peers = NULL;
    h->npeers = 0;
    free(h->dests);
    h->dests = NULL;
    h->ndests = h->capdests = 0;
}

/* The link to host: the bandwidth of the peer that host names (by its name
 * or one of its addresses, as the engine builds URIs from either), else
 * the simulator's default link. */
static double link_of(const hv_sim *h, const char *host)
{
    for (size_t i = 0; i < h->npeers; i++) {
        const md_config_peer *p = &h->peers[i];
        if (strcasecmp(p->name, host) == 0 || md_peer_has_address(p, host))
            return p->bandwidth_mibps * MIB;
    }
    return h->link_rate;
}

/* The index of host in h->dests, added if new; -1 when it cannot be. */
static int dest_by_host(hv_sim *h, const char *host, md_err *err)
{
    for (size_t i = 0; i < h->ndests; i++) {
        if (strcasecmp(h->dests[i].host, host) == 0)
            return (int)i;
    }
    if (h->ndests == SIM_MAX_DESTS) {
        md_err_set(err, MD_ERR_NOMEM, "simulator: more than %d destinations", SIM_MAX_DESTS);
        return -1;
    }
    if (h->ndests == h->capdests) {
        size_t cap = h->capdests ? h->capdests * 2 : 8;
        sim_dest *v = realloc(h->dests, cap * sizeof *v);
        if (!v) {
            md_err_set(err, MD_ERR_NOMEM, "simulator: out of memory adding destination %s", host);
            return -1;
        }
        h->dests = v;
        h->capdests = cap;
    }
    sim_dest *d = &h->dests[h->ndests];
    memset(d, 0, sizeof *d);
    md_strlcpy(d->host, host, sizeof d->host);
    d->link_rate = link_of(h, host);
    return (int)h->ndests++;
}

int hvs_dest_of(hv_sim *h, const char *dest_uri, md_err *err)
{
    char host[SIM_HOST_LEN];
    int port;

    if (!md_net_uri_endpoint(dest_uri, host, sizeof host, &port))
        md_strlcpy(host, dest_uri, sizeof host);
    return dest_by_host(h, host, err);
}

/* A job that puts data on its destination's link now. */
static bool moving(const hv_sim *h, const sim_domain *d)
{
    return job_running(d) && sim_active(&d->s) && !held(h, d) && d->dest >= 0;
}

bool hvs_share_links(hv_sim *h)
{
    bool shared = false;

    for (size_t i = 0; i < h->ndests; i++)
        h->dests[i].moving = 0;
    for (size_t i = 0; i < h->ndoms; i++) {
        if (moving(h, &h->doms[i]))
            h->dests[h->doms[i].dest].moving++;
    }
    for (size_t i = 0; i < h->ndoms; i++) {
        sim_domain *d = &h->doms[i];
        if (!moving(h, d))
            continue;
        const sim_dest *to = &h->dests[d->dest];
        d->s.p.link_rate = to->link_rate / to->moving;
        shared |= to->moving > 1;
    }
    return shared;
}

/* ---- reachability ---- */

static bool blackholed(const hv_sim *h, const char *host)
{
    for (size_t i = 0; i < h->nblackholed; i++) {
        if (strcasecmp(h->blackholed[i], host) == 0)
            return true;
    }
    return false;
}

/* While the host of dest_uri is black-holed, waits up to
 * MD_HV_PEER_TIMEOUT_MS (or until the fault is cleared, the waiters
 * released or the simulator closed) and then fails as libvirt's boundary's
 * reachability check fails. */
md_status hvs_reach_dest(hv_sim *h, const char *dest_uri, md_err *err)
{
    char host[SIM_HOST_LEN];
    int port;
    struct timespec until = md_deadline_in(CLOCK_MONOTONIC, MD_HV_PEER_TIMEOUT_MS);
    unsigned releases = h->releases;

    if (!dest_uri || !md_net_uri_endpoint(dest_uri, host, sizeof host, &port))
        return MD_OK;
    while (blackholed(h, host) && !h->stopping && h->releases == releases) {
        if (pthread_cond_timedwait(&h->job_done, &h->lock, &until) == ETIMEDOUT)
            break;
    }
    if (!blackholed(h, host))
        return MD_OK;
    if (h->stopping || h->releases != releases)
        return md_err_set(err, MD_ERR_UNAVAILABLE, "%s", MSG_RELEASED);
    return md_err_set(err, MD_ERR_UNAVAILABLE,
                      "cannot connect to the destination %s: %s port %d does not answer: no TCP "
                      "handshake within %d ms (the host is down or its packets are dropped)",
                      dest_uri, host, port, MD_HV_PEER_TIMEOUT_MS);
}

void md_hv_sim_set_dest_blackholed(md_hv *hv, const char *host, bool blackholed_)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->nblackholed; i++) {
        if (strcasecmp(h->blackholed[i], host) == 0) {
            h->blackholed[i][0] = '\0';
            memmove(&h->blackholed[i], &h->blackholed[i + 1],
                    (h->nblackholed - i - 1) * sizeof h->blackholed[0]);
            h->nblackholed--;
            break;
        }
    }
    if (blackholed_ && h->nblackholed < SIM_MAX_BLACKHOLED)
        md_strlcpy(h->blackholed[h->nblackholed++], host, sizeof h->blackholed[0]);
    pthread_cond_broadcast(&h->job_done);
    pthread_mutex_unlock(&h->lock);
}

md_status hvs_locate(md_hv *hv, const char *uuid, const char *dest_uri, md_hv_location *out,
                     md_err *err)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    if (down(h, err)) {
        pthread_mutex_unlock(&h->lock);
        *out = MD_HV_LOC_UNKNOWN;
        return MD_ERR_UNAVAILABLE;
    }
    sim_domain *d = find(h, uuid);
    if (!d || !d->here) {
        /* Only then is the destination asked, as libvirt's boundary does. */
        md_status st = hvs_reach_dest(h, dest_uri, err);
        if (st != MD_OK) {
            *out = MD_HV_LOC_UNKNOWN;
            pthread_mutex_unlock(&h->lock);
            return st;
        }
        d = find(h, uuid); /* the wait let go of the lock */
    }
    *out = !d           ? MD_HV_LOC_NOWHERE
           : d->here    ? MD_HV_LOC_SOURCE
           : d->at_dest ? MD_HV_LOC_DEST
                        : MD_HV_LOC_NOWHERE;
    pthread_mutex_unlock(&h->lock);
    return MD_OK;
}

/* ---- free memory ---- */

/* Asks the destination as locate() does, so a black-holed one costs the
 * same bounded wait; this node's own simulated libvirtd is not involved
 * (libvirt's boundary opens a connection to the destination only), so a
 * test's md_hv_sim_set_connected(false) does not fail it. */
md_status hvs_free_memory(md_hv *hv, const char *dest_uri, uint64_t *bytes, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_status st;
    double free_b, arrived = 0;
    int i;

    *bytes = 0;
    if (!dest_uri || !dest_uri[0])
        return md_err_set(err, MD_ERR_INVALID, "simulator: no destination URI given");
    pthread_mutex_lock(&h->lock);
    st = hvs_reach_dest(h, dest_uri, err);
    if (st != MD_OK)
        goto cleanup;
    i = hvs_dest_of(h, dest_uri, err);
    if (i < 0) {
        st = MD_ERR_NOMEM;
        goto cleanup;
    }
    free_b = h->dests[i].free_set ? (double)h->dests[i].free_bytes : h->free_default;
    for (size_t k = 0; k < h->ndoms; k++) {
        if (h->doms[k].at_dest && h->doms[k].dest == i)
            arrived += h->doms[k].cfg.ram_mib * MIB;
    }
    *bytes = free_b > arrived ? (uint64_t)(free_b - arrived) : 0;

cleanup:
    pthread_mutex_unlock(&h->lock);
    return st;
}

bool md_hv_sim_set_free_memory(md_hv *hv, const char *host, uint64_t bytes)
{
    hv_sim *h = to_sim(hv);
    int i;

    pthread_mutex_lock(&h->lock);
    i = dest_by_host(h, host, NULL);
    if (i >= 0) {
        h->dests[i].free_set = true;
        h->dests[i].free_bytes = bytes;
    }
    pthread_mutex_unlock(&h->lock);
    return i >= 0;
}

/* ---- dirty rates ---- */

md_status hvs_dirty_rate_start(md_hv *hv, const char *uuid, int seconds, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_status st = MD_OK;

    if (seconds < 1 || seconds > 60)
        return md_err_set(err, MD_ERR_INVALID,
                          "simulator: a dirty-rate window of %d s is not within 1 to 60", seconds);
    pthread_mutex_lock(&h->lock);
    sim_domain *d = down(h, err) ? NULL : find_here(h, uuid, err);
    if (!d) {
        st = h->disconnected ? MD_ERR_UNAVAILABLE : MD_ERR_NOT_FOUND;
    } else if (d->rate_started && h->now - d->rate_start < d->rate_seconds - CLOCK_SLACK_S) {
        /* QEMU refuses a second calc-dirty-rate while one measures. */
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "simulator: the dirty rate of %s is already being measured", d->cfg.name);
    } else {
        /* Page sampling counts distinct pages written in the window: a
         * guest that writes faster than it can cover its working set in
         * that time is seen at working set / window; a paused guest
         * writes nothing. */
        double ws_rate = d->cfg.working_set_mib * MIB / seconds;
        double rate = d->cfg.dirty_mibps * MIB;
        d->rate_started = true;
        d->rate_start = h->now;
        d->rate_seconds = seconds;
        d->rate = d->paused ? 0 : rate < ws_rate ? rate : ws_rate;
    }
    pthread_mutex_unlock(&h->lock);
    return st;
}

md_status hvs_dirty_rate_read(md_hv *hv, const char *uuid, md_hv_dirty_rate *out, md_err *err)
{
    hv_sim *h = to_sim(hv);
    md_status st = MD_OK;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&h->lock);
    sim_domain *d = down(h, err) ? NULL : find_here(h, uuid, err);
    if (!d) {
        st = h->disconnected ? MD_ERR_UNAVAILABLE : MD_ERR_NOT_FOUND;
    } else if (!d->rate_started) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "simulator: no dirty-rate calculation was started for %s", d->cfg.name);
    } else if (h->now - d->rate_start >= d->rate_seconds - CLOCK_SLACK_S) {
        out->measured = true;
        out->bytes_per_s = (uint64_t)d->rate;
    }
    pthread_mutex_unlock(&h->lock);
    return st;
}
