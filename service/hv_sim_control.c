/* hv_sim_control.c - what tests and benchmarks do to the simulator: its
 * clock, where a domain runs, post-copy breaks and stalls, the destination's
 * reachability, libvirtd's connection, held calls and late JOB_COMPLETED
 * events (hv_sim.h). The simulation itself is hv_sim.c; what the two share
 * is hv_sim_priv.h. Each control takes the simulator's lock and delivers
 * the events it causes after releasing it, as the ticker does.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "service/hv_sim.h"
#include "service/hv_sim_priv.h"

void md_hv_sim_set_manual_clock(md_hv *hv, bool manual)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    h->manual = manual;
    pthread_mutex_unlock(&h->lock);
}

void md_hv_sim_advance(md_hv *hv, double seconds)
{
    hv_sim *h = to_sim(hv);
    event_buf b = { 0 };

    pthread_mutex_lock(&h->lock);
    hvs_advance_all(h, seconds, &b);
    pthread_mutex_unlock(&h->lock);
    hvs_deliver(h, &b);
    free(b.ev);
}

bool md_hv_sim_set_here(md_hv *hv, const char *uuid, bool here)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    sim_domain *d = find(h, uuid);
    if (d) {
        d->here = here;
        d->at_dest = !here;
    }
    pthread_mutex_unlock(&h->lock);
    return d != NULL;
}

bool md_hv_sim_set_dirty_rate(md_hv *hv, const char *uuid, int mibps)
{
    hv_sim *h = to_sim(hv);

    if (mibps < 0)
        return false;
    pthread_mutex_lock(&h->lock);
    sim_domain *d = find(h, uuid);
    if (d) {
        d->cfg.dirty_mibps = mibps;
        if (d->job)
            sim_set_dirty_rate(&d->s, mibps * MIB);
    }
    pthread_mutex_unlock(&h->lock);
    return d != NULL;
}

bool md_hv_sim_break_postcopy(md_hv *hv, const char *uuid)
{
    hv_sim *h = to_sim(hv);
    event_buf b = { 0 };
    bool ok;

    pthread_mutex_lock(&h->lock);
    sim_domain *d = find(h, uuid);
    ok = d && d->here && in_post_copy(d) && !d->pc_failed;
    if (ok)
        hvs_break_post_copy(h, d, false, &b);
    pthread_mutex_unlock(&h->lock);
    hvs_deliver(h, &b);
    free(b.ev);
    return ok;
}

bool md_hv_sim_stall_postcopy(md_hv *hv, const char *uuid, bool stalled)
{
    hv_sim *h = to_sim(hv);
    bool ok;

    pthread_mutex_lock(&h->lock);
    sim_domain *d = find(h, uuid);
    ok = d && d->here && in_post_copy(d) && !d->pc_failed;
    if (ok)
        d->pc_stalled = stalled;
    pthread_mutex_unlock(&h->lock);
    return ok;
}

void md_hv_sim_set_dest_reachable(md_hv *hv, bool reachable)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    h->dest_unreachable = !reachable;
    /* A call that owns a broken job hears of the break once the
     * destination answers again, as libvirt's does. */
    for (size_t i = 0; reachable && i < h->ndoms; i++) {
        if (h->doms[i].pc_failed)
            hvs_end_wait(h, &h->doms[i], MD_ERR_HYPERVISOR, MSG_POSTCOPY_FAILED);
    }
    pthread_mutex_unlock(&h->lock);
}

void md_hv_sim_set_dest_aware(md_hv *hv, bool aware)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    h->dest_unaware = !aware;
    pthread_mutex_unlock(&h->lock);
}

void md_hv_sim_set_completed_events(md_hv *hv, md_hv_sim_completed mode)
{
    hv_sim *h = to_sim(hv);
    event_buf held;

    pthread_mutex_lock(&h->lock);
    h->completed_events = mode;
    held = h->held_completed;
    memset(&h->held_completed, 0, sizeof h->held_completed);
    if (mode == MD_HV_SIM_COMPLETED_HOLD) {
        h->held_completed = held; /* still held */
        memset(&held, 0, sizeof held);
    }
    pthread_mutex_unlock(&h->lock);
    if (mode == MD_HV_SIM_COMPLETED_DELIVER)
        hvs_deliver(h, &held);
    free(held.ev);
}

void md_hv_sim_hold_calls(md_hv *hv, bool hold)
{
    hv_sim *h = to_sim(hv);

    pthread_mutex_lock(&h->lock);
    h->hold_calls = hold;
    pthread_mutex_unlock(&h->lock);
}

void md_hv_sim_set_connected(md_hv *hv, bool connected)
{
    hv_sim *h = to_sim(hv);
    md_hv_event ev;
    bool changed;

    pthread_mutex_lock(&h->lock);
    changed = h->disconnected == connected;
    h->disconnected = !connected;
    /* libvirtd going away takes the migrate calls' connections with it:
     * they return as libvirt's do, while the jobs go on. */
    for (size_t i = 0; changed && !connected && i < h->ndoms; i++)
        hvs_end_wait(h, &h->doms[i], MD_ERR_UNAVAILABLE, MSG_LOST);
    pthread_mutex_unlock(&h->lock);
    if (!changed)
        return;
    /* As libvirt's supervisor tells the engine, on the calling thread. */
    memset(&ev, 0, sizeof ev);
    ev.kind = connected ? MD_HV_EV_RECONNECTED : MD_HV_EV_CONNECTION_LOST;
    ev.job.downtime_ms = -1;
    md_hv_emit(&h->base, &ev);
}
