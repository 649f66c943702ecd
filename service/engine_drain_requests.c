/* engine_drain_requests.c - the drain requests of the API, and the drain picked up at start.
 *
 * API threads call these. Like the migration requests (engine_commands.c)
 * they check the request under the engine lock, make it durable, wake the
 * drain thread and return; none calls the hypervisor: the guests come from
 * the monitor's list of the node's domains, refreshed once when a request
 * names a guest that the last list lacks, as md_engine_create does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/engine_drain.h"
#include "service/clock.h"
#include "service/limits.h"
#include "service/log.h"
#include "service/peers.h"

#define MIB 1048576.0
#define GIB (1024.0 * MIB)

/* The request's own checks, into the new record d (no guests yet). */
static md_status check_request(md_engine *e, const md_drain_request *r, md_drain *d, md_err *err)
{
    md_status st;

    if (r->ndests == 0 || r->ndests > MD_DRAIN_MAX_DESTS)
        return md_err_set(err, MD_ERR_INVALID, "destinations must list 1 to %d peers, got %zu",
                          MD_DRAIN_MAX_DESTS, r->ndests);
    for (size_t i = 0; i < r->ndests; i++) {
        if ((st = eng_check_destination(e, r->dests[i], "", err)) != MD_OK)
            return st;
        const md_config_peer *p = md_peers_find(e->cfg, r->dests[i]);
        md_strlcpy(d->dests[i], p ? p->name : r->dests[i], sizeof d->dests[i]);
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(d->dests[j], d->dests[i]) == 0)
                return md_err_set(err, MD_ERR_INVALID, "destination %s is listed twice",
                                  r->dests[i]);
        }
    }
    d->ndests = r->ndests;
    if (r->deadline_s <= 0 || r->deadline_s > MD_DRAIN_MAX_DEADLINE_S)
        return md_err_set(err, MD_ERR_INVALID, "deadline_s must be from 1 to %d seconds, got %lld",
                          MD_DRAIN_MAX_DEADLINE_S, (long long)r->deadline_s);
    if (r->permit_post_copy < -1 || r->permit_post_copy > 1)
        return md_err_set(err, MD_ERR_INVALID, "permit_post_copy must be true or false");
    if (r->max_parallel < 0 || r->max_parallel > PLAN_MAX_PARALLEL)
        return md_err_set(err, MD_ERR_INVALID, "max_parallel must be from 1 to %d, got %d",
                          PLAN_MAX_PARALLEL, r->max_parallel);
    if (r->ninstances > MD_DRAIN_MAX_GUESTS || r->nexclude > MD_DRAIN_MAX_GUESTS)
        return md_err_set(err, MD_ERR_INVALID, "instances and exclude may list at most %d guests",
                          MD_DRAIN_MAX_GUESTS);
    d->deadline_s = r->deadline_s;
    d->permit_post_copy = r->permit_post_copy == -1
                              ? e->cfg->libvirt.live_migration_permit_post_copy
                              : r->permit_post_copy == 1;
    d->max_parallel = r->max_parallel;
    d->strict = r->strict;
    d->abort_running = r->abort_running;
    d->block_migration = r->block_migration;
    md_strlcpy(d->source_compute, e->cfg->service.host, sizeof d->source_compute);
    return MD_OK;
}

static bool excluded(const md_drain_request *r, const md_hv_domain *dom)
{
    for (size_t i = 0; i < r->nexclude; i++) {
        if (strcasecmp(r->exclude[i], dom->uuid) == 0 || strcmp(r->exclude[i], dom->name) == 0)
            return true;
    }
    return false;
}

/* Adds dom to d's guests unless it is there already or excluded. */
static void add_guest(md_drain *d, const md_drain_request *r, const md_hv_domain *dom)
{
    if (excluded(r, dom))
        return;
    for (size_t i = 0; i < d->nguests; i++) {
        if (strcasecmp(d->guests[i].instance_uuid, dom->uuid) == 0)
            return;
    }
    md_drain_guest *g = &d->guests[d->nguests];
    memset(g, 0, sizeof *g);
    md_strlcpy(g->instance_uuid, dom->uuid, sizeof g->instance_uuid);
    md_strlcpy(g->instance_name, dom->name, sizeof g->instance_name);
    g->state = MD_DG_WAITING;
    g->mode = PLAN_PRECOPY;
    g->order = (int)d->nguests;
    g->ram_bytes = dom->ram_bytes;
    /* With shared storage no disk is copied; with block migration every
     * disk's capacity is what the plan must count, since a copy of a sparse
     * or thin disk is not known to be smaller before it runs. */
    g->disk_bytes = 0;
    for (size_t i = 0; r->block_migration && i < dom->ndisks && i < MD_HV_MAX_DISKS; i++)
        g->disk_bytes += dom->disk_bytes[i];
    d->nguests++;
}

/* The guests of the request from the node's domain list: the listed ones,
 * which must be domains of this node and running, or every active domain;
 * less the excluded. Under the lock, which the waits for a fresh list
 * release. */
static md_status collect_guests(md_engine *e, const md_drain_request *r, md_drain *d, md_err *err)
{
    const char *host = e->cfg->service.host;
    bool listed;

    if (r->ninstances == 0) {
        /* A guest started a moment ago must not be left behind. */
        listed = eng_domains_refresh(e);
        if (!listed && e->domains_at == 0)
            return md_err_set(err, MD_ERR_UNAVAILABLE,
                              "the domains of %s cannot be listed now; try again later", host);
    }
    size_t cap = r->ninstances ? r->ninstances : e->ndomains;
    d->guests = calloc(cap ? cap : 1, sizeof *d->guests);
    if (!d->guests)
        return md_err_set(err, MD_ERR_NOMEM, "out of memory for %zu guests", cap);
    for (size_t i = 0; i < r->ninstances; i++) {
        const md_hv_domain *dom = eng_find_domain(e, r->instances[i], &listed);
        if (!dom && !listed)
            return md_err_set(err, MD_ERR_UNAVAILABLE,
                              "the domains of %s cannot be listed now; try again later", host);
        if (!dom)
            return md_err_set(err, MD_ERR_INVALID, "instance %s is not a domain of %s",
                              r->instances[i], host);
        if (!dom->active)
            return md_err_set(err, MD_ERR_INVALID,
                              "instance %s is not running on %s: only a running guest can be "
                              "live-migrated",
                              r->instances[i], host);
        add_guest(d, r, dom);
    }
    for (size_t i = 0; r->ninstances == 0 && i < e->ndomains && d->nguests < cap; i++) {
        if (e->domains[i].active)
            add_guest(d, r, &e->domains[i]);
    }
    if (d->nguests == 0)
        return md_err_set(err, MD_ERR_INVALID, "no guest to move: %s",
                          r->ninstances || r->nexclude ? "every listed guest "
                                                         "is excluded"
                                                       : "no guest runs here");
    if (d->nguests > MD_DRAIN_MAX_GUESTS)
        return md_err_set(err, MD_ERR_INVALID, "%zu guests: a drain moves at most %d", d->nguests,
                          MD_DRAIN_MAX_GUESTS);
    return MD_OK;
}

/* With strict, a deadline below what any schedule needs - every guest's
 * RAM once over all the links at once - is refused; only when every link
 * is known (configured), or the bound would be a guess. */
static md_status check_lower_bound(md_engine *e, const md_drain *d, md_err *err)
{
    double bytes = 0, rate = 0;

    if (!d->strict)
        return MD_OK;
    for (size_t i = 0; i < d->ndests; i++) {
        const md_config_peer *p = md_peers_find(e->cfg, d->dests[i]);
        if (!p || p->bandwidth_mibps <= 0)
            return MD_OK;
        rate += p->bandwidth_mibps * MIB;
    }
    for (size_t i = 0; i < d->nguests; i++) {
        if (d->guests[i].state == MD_DG_WAITING)
            bytes += (double)(d->guests[i].ram_bytes + d->guests[i].disk_bytes);
    }
    double bound = bytes / rate / eng_drain_time_scale(e); /* wall seconds */
    if ((double)d->deadline_s < bound)
        return md_err_set(err, MD_ERR_CONFLICT,
                          "strict: deadline_s %lld is below the lower bound of %.0f s: %zu guests "
                          "with %.1f GiB to move over %zu links of %.0f MiB/s in all",
                          (long long)d->deadline_s, bound, d->nguests, bytes / GIB, d->ndests,
                          rate / MIB);
    return MD_OK;
}

/* Guests that already migrate are adopted (watched, never started twice). */
static size_t adopt_running(md_engine *e, eng_drain *dr)
{
    size_t n = 0;

    for (size_t i = 0; i < dr->d.nguests; i++) {
        md_drain_guest *g = &dr->d.guests[i];
        for (size_t j = 0; j < e->nact; j++) {
            const active *a = e->act[j];
            if (strcasecmp(a->rec.instance_uuid, g->instance_uuid) == 0 ||
                strcmp(a->rec.instance_name, g->instance_name) == 0 ||
                (a->domain[0] && strcasecmp(a->domain, g->instance_uuid) == 0)) {
                eng_drain_adopt(dr, g, &a->rec);
                n++;
                break;
            }
        }
    }
    return n;
}

md_status md_engine_drain_create(md_engine *e, const md_drain_request *r, md_drain *out,
                                 md_err *err)
{
    eng_drain *dr = calloc(1, sizeof *dr);
    md_event ev;
    md_status st;

    md_drain_init(out);
    if (!dr)
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    md_drain_init(&dr->d);
    if ((st = check_request(e, r, &dr->d, err)) != MD_OK)
        goto done;
    if (!md_uuid_generate(dr->d.uuid)) {
        st = md_err_set(err, MD_ERR_INTERNAL, "cannot generate a UUID: no randomness");
        goto done;
    }
    pthread_mutex_lock(&e->lock);
    if ((st = eng_writable(e, err)) != MD_OK)
        goto unlock;
    if ((st = collect_guests(e, r, &dr->d, err)) != MD_OK)
        goto unlock;
    /* The waits for a fresh domain list let go of the lock: look again. */
    if ((st = eng_writable(e, err)) != MD_OK)
        goto unlock;
    if (e->drain && md_drain_state_in_progress(e->drain->d.state)) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "drain %s is in progress (%s): one drain at a time; cancel it first",
                        e->drain->d.uuid, md_drain_state_str(e->drain->d.state));
        goto unlock;
    }
    /* The last drain's end must be in the store before it is let go. */
    if (e->drain && !eng_drain_flush(e, e->drain)) {
        st = eng_writable(e, err);
        if (st == MD_OK)
            st = md_err_set(err, MD_ERR_UNAVAILABLE, "the last drain's end is not written yet");
        goto unlock;
    }
    size_t adopted = adopt_running(e, dr);
    if ((st = check_lower_bound(e, &dr->d, err)) != MD_OK)
        goto unlock;
    dr->d.state = MD_DRAIN_PLANNING;
    dr->d.created_at = dr->d.updated_at = eng_wall_ms();
    dr->d.deadline_at = dr->d.created_at + dr->d.deadline_s * 1000;

    uint64_t ram = 0;
    for (size_t i = 0; i < dr->d.nguests; i++)
        ram += dr->d.guests[i].ram_bytes;
    memset(&ev, 0, sizeof ev);
    ev.at = dr->d.created_at;
    md_strlcpy(ev.kind, "state", sizeof ev.kind);
    snprintf(ev.message, sizeof ev.message,
             "planning: %zu guests (%.1f GiB of RAM) to %zu destinations by %lld s%s; %zu "
             "already migrating, adopted",
             dr->d.nguests, (double)ram / GIB, dr->d.ndests, (long long)dr->d.deadline_s,
             dr->d.strict ? " (strict)" : "", adopted);
    st = md_store_drain_insert(e->store, &dr->d, &ev, err);
    if (st == MD_ERR_IO) {
        /* Nothing was created: the caller is told so, not given a 202. */
        eng_store_failed(e, err);
        st = eng_writable(e, err);
    }
    if (st != MD_OK)
        goto unlock;
    md_info("drain %s: %s", dr->d.uuid, ev.message);
    st = md_drain_copy(out, &dr->d, err);
    eng_drain_free(e);
    e->drain = dr;
    dr = NULL;
    pthread_cond_broadcast(&e->changed); /* the drain thread */
unlock:
    pthread_mutex_unlock(&e->lock);
done:
    if (dr) {
        md_drain_clear(&dr->d);
        free(dr);
    }
    return st;
}

/* A drain that is not the one in progress: NOT_FOUND, or CONFLICT for one
 * that has ended, or the store's failure. Without the lock. */
static md_status not_in_progress(md_engine *e, const char *uuid, md_err *err)
{
    md_drain d;
    md_status st = md_store_drain_get(e->store, uuid, &d, err);

    if (st == MD_ERR_NOT_FOUND)
        return md_err_set(err, MD_ERR_NOT_FOUND, "Drain %s could not be found", uuid);
    if (st == MD_OK)
        st = md_err_set(err, MD_ERR_CONFLICT, "drain %s has already ended (%s)", uuid,
                        md_drain_state_str(d.state));
    md_drain_clear(&d);
    return st;
}

md_status md_engine_drain_cancel(md_engine *e, const char *uuid, bool abort_running, md_err *err)
{
    md_drain next;
    md_event ev;
    md_status st;
    size_t skipped = 0, migrating = 0;

    pthread_mutex_lock(&e->lock);
    eng_drain *dr = eng_drain_current(e, uuid);
    if (!dr || !md_drain_state_in_progress(dr->d.state)) {
        pthread_mutex_unlock(&e->lock);
        return not_in_progress(e, uuid, err);
    }
    if ((st = eng_writable(e, err)) != MD_OK)
        goto unlock;
    /* The cancel is durable before it is answered: the new record is
     * written first, and only then made the live one. */
    if ((st = md_drain_copy(&next, &dr->d, err)) != MD_OK)
        goto unlock;
    for (size_t i = 0; i < next.nguests; i++) {
        md_drain_guest *g = &next.guests[i];
        if (g->state == MD_DG_WAITING) {
            g->state = MD_DG_SKIPPED;
            md_strlcpy(g->error, "the drain was cancelled before it started", sizeof g->error);
            skipped++;
        }
        migrating += g->state == MD_DG_MIGRATING;
    }
    bool abort = abort_running || next.abort_running;
    /* Stored, so that a restart before the migrations end still aborts
     * them (eng_drain_load). */
    next.abort_running = abort;
    next.updated_at = eng_wall_ms();
    if (migrating == 0) {
        next.state = MD_DRAIN_CANCELLED;
        next.ended_at = next.updated_at;
    }
    memset(&ev, 0, sizeof ev);
    ev.at = next.updated_at;
    md_strlcpy(ev.kind, "cancel", sizeof ev.kind);
    snprintf(ev.message, sizeof ev.message,
             "cancelled: %zu waiting guests skipped, %zu migrating %s", skipped, migrating,
             migrating == 0 ? "(the drain ends)"
             : abort        ? "are aborted (those in post-copy finish)"
                            : "finish");
    st = md_store_drain_update(e->store, &next, &ev, err);
    if (st == MD_ERR_IO) {
        eng_store_failed(e, err);
        st = eng_writable(e, err);
    }
    if (st != MD_OK) {
        md_drain_clear(&next);
        goto unlock;
    }
    md_info("drain %s: %s", uuid, ev.message);
    md_drain_clear(&dr->d);
    dr->d = next;
    dr->cancel = true;
    dr->abort_running = abort;
    if (!md_drain_state_in_progress(dr->d.state))
        eng_metrics_drain_ended(e, dr->d.state);
    for (size_t i = 0; abort && i < dr->d.nguests; i++) {
        md_err aerr;
        active *a = dr->d.guests[i].state == MD_DG_MIGRATING
                        ? eng_table_find(e, dr->d.guests[i].migration_uuid)
                        : NULL;
        /* md_engine_abort()'s semantics: post-copy ones cannot be aborted
         * and finish; the drain thread tries again any it could not. */
        if (a && a->rec.state != MD_MIG_POSTCOPY && a->rec.state != MD_MIG_POSTCOPY_RECOVERING &&
            !a->abort_requested && eng_abort_active(e, a, &aerr) != MD_OK)
            md_warn("drain %s: cannot abort migration %s now: %s", uuid,
                    dr->d.guests[i].migration_uuid, aerr.msg);
    }
    pthread_cond_broadcast(&e->changed);
unlock:
    pthread_mutex_unlock(&e->lock);
    return st;
}

md_status md_engine_drain_get(md_engine *e, const char *uuid, md_drain *out, md_err *err)
{
    md_status st;

    md_drain_init(out);
    pthread_mutex_lock(&e->lock);
    eng_drain *dr = eng_drain_current(e, uuid);
    if (dr) {
        st = md_drain_copy(out, &dr->d, err);
        pthread_mutex_unlock(&e->lock);
        return st;
    }
    pthread_mutex_unlock(&e->lock);
    st = md_store_drain_get(e->store, uuid, out, err);
    if (st == MD_ERR_NOT_FOUND)
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Drain %s could not be found", uuid);
    return st;
}

md_status md_engine_drain_list(md_engine *e, const char *marker, size_t limit, md_drain **out,
                               size_t *n, md_err *err)
{
    md_status st = md_store_drain_list(e->store, false, marker, limit, out, n, err);

    if (st == MD_ERR_NOT_FOUND && marker && marker[0])
        return md_err_set(err, MD_ERR_INVALID, "Marker %s could not be found.", marker);
    if (st != MD_OK)
        return st;
    /* The drain in progress as it is now, not as last written. */
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; e->drain && i < *n; i++) {
        md_drain live;
        if (strcasecmp((*out)[i].uuid, e->drain->d.uuid) == 0 &&
            md_drain_copy(&live, &e->drain->d, NULL) == MD_OK) {
            live.id = (*out)[i].id;
            md_drain_clear(&(*out)[i]);
            (*out)[i] = live;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return MD_OK;
}

md_status md_engine_drain_events(md_engine *e, const char *uuid, int64_t after_id, size_t limit,
                                 md_event **out, size_t *n, md_err *err)
{
    md_status st = md_store_drain_events_page(e->store, uuid, after_id, limit, out, n, err);

    if (st == MD_ERR_NOT_FOUND)
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Drain %s could not be found", uuid);
    return st;
}

md_drain_state md_engine_drain_wait(md_engine *e, const char *uuid, int timeout_ms)
{
    struct timespec until = md_deadline_in(CLOCK_MONOTONIC, timeout_ms);
    md_drain_state s = MD_DRAIN_FAILED;
    md_drain d;

    pthread_mutex_lock(&e->lock);
    for (;;) {
        eng_drain *dr = eng_drain_current(e, uuid);
        if (dr) {
            s = dr->d.state;
        } else if (md_store_drain_get(e->store, uuid, &d, NULL) == MD_OK) {
            s = d.state;
            md_drain_clear(&d);
        }
        if (!md_drain_state_in_progress(s) ||
            pthread_cond_timedwait(&e->changed, &e->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&e->lock);
    return s;
}

/* A waiting guest whose migration the store holds but the drain does not
 * name (the daemon died between the two writes) is adopted: that
 * migration is its attempt. */
static void adopt_unrecorded(md_engine *e, eng_drain *dr)
{
    md_store_filter f;
    md_migration *v = NULL;
    size_t n = 0;
    md_err err;

    memset(&f, 0, sizeof f);
    md_strlcpy(f.drain_uuid, dr->d.uuid, sizeof f.drain_uuid);
    if (md_store_list(e->store, &f, &v, &n, &err) != MD_OK) {
        md_warn("drain %s: cannot list its migrations: %s", dr->d.uuid, err.msg);
        return;
    }
    for (size_t i = 0; i < dr->d.nguests; i++) {
        md_drain_guest *g = &dr->d.guests[i];
        if (g->state != MD_DG_WAITING)
            continue;
        /* Newest first: the first of the guest's is its last attempt. */
        for (size_t j = 0; j < n; j++) {
            if (strcasecmp(v[j].drain_uuid, dr->d.uuid) != 0 ||
                (strcasecmp(v[j].instance_uuid, g->instance_uuid) != 0 &&
                 strcmp(v[j].instance_name, g->instance_name) != 0))
                continue;
            if (strcasecmp(v[j].uuid, g->migration_uuid) != 0 &&
                (!g->started_at || v[j].created_at > g->started_at)) {
                eng_drain_adopt(dr, g, &v[j]);
                md_info("drain %s: %s has migration %s that the drain had not recorded", dr->d.uuid,
                        g->instance_name, v[j].uuid);
            }
            break;
        }
    }
    free(v);
}

md_status eng_drain_load(md_engine *e, md_err *err)
{
    md_drain *v = NULL;
    size_t n = 0;
    md_status st = md_store_drain_list(e->store, true, NULL, 0, &v, &n, err);

    if (st != MD_OK || n == 0)
        return st;
    eng_drain *dr = calloc(1, sizeof *dr);
    if (!dr) {
        md_drain_free_array(v, n);
        return md_err_set(err, MD_ERR_NOMEM, "out of memory for drain %s", v[0].uuid);
    }
    /* One drain at a time: more in progress can only come from a store
     * written by hand; the newest is the one that goes on. */
    for (size_t i = 1; i < n; i++)
        md_warn("drain %s is in progress in the store beside the newer %s: left as it is",
                v[i].uuid, v[0].uuid);
    dr->d = v[0];
    v[0].guests = NULL;
    md_drain_free_array(v, n);

    /* The links as this drain's completed migrations measured them. */
    for (size_t i = 0; i < dr->d.nguests; i++) {
        const md_drain_guest *g = &dr->d.guests[i];
        int k = eng_drain_dest_index(dr, g->dest_compute);
        if (g->state != MD_DG_DONE || k < 0 || !g->started_at)
            continue;
        dr->moved_bytes[k] += g->ram_bytes + g->disk_bytes;
        if (!dr->first_start[k] || g->started_at < dr->first_start[k])
            dr->first_start[k] = g->started_at;
        if (g->ended_at > dr->last_end[k])
            dr->last_end[k] = g->ended_at;
    }
    pthread_mutex_lock(&e->lock);
    e->drain = dr;
    adopt_unrecorded(e, dr);
    dr->replan_due = dr->d.state == MD_DRAIN_RUNNING;
    /* A cancel has no column of its own: it is the skipped guests of a
     * drain still in progress (a drain that fails before it starts skips
     * its guests too, but ends at once). Without this, a drain cancelled
     * before a restart would go on after it: retry a guest whose migration
     * then fails, and start it. The cancel's abort_running is the record's
     * (md_engine_drain_cancel writes it there). */
    for (size_t i = 0; i < dr->d.nguests; i++) {
        if (dr->d.guests[i].state == MD_DG_SKIPPED) {
            dr->cancel = true;
            dr->abort_running = dr->d.abort_running;
        }
    }
    md_drain_counts c;
    md_drain_count(&dr->d, &c);
    eng_drain_event(e, dr, "recovered", 0,
                    "picked up after a restart (%s): %zu guests done, %zu failed, %zu to go",
                    md_drain_state_str(dr->d.state), c.done, c.failed, c.remaining);
    pthread_mutex_unlock(&e->lock);
    return MD_OK;
}
