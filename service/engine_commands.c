/* engine_commands.c - requests from the API: create, abort, force-complete, settings.
 *
 * API threads call these: each checks the request against the migration's
 * state under the engine's lock, records it, wakes the monitor or a worker
 * and returns; none waits for the hypervisor. A queued migration is
 * cancelled right here, without the hypervisor.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/engine_priv.h"
#include "service/clock.h"
#include "service/limits.h"
#include "service/log.h"
#include "service/peers.h"

/* ---- requests --------------------------------------------------------------- */

/* How long a request for a domain that the last listing lacks waits for
 * the monitor to list the node's domains again. */
#define DOMAIN_WAIT_MS 3000

/* Host names and addresses go into URIs: allow what they may contain. */
static bool host_ok(const char *h)
{
    return h[0] && h[strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789.-_:[]")] == '\0';
}

/* With peers, the URIs name the peer's addresses, so that nothing is
 * resolved and the destination is the one the configuration says; a record
 * whose destination is not (or no longer) a peer - one recovered after the
 * list changed - keeps the URIs it was created with. */
void eng_dest_uri(const md_engine *e, const char *dest, char *out, size_t outlen)
{
    const md_config_peer *p = md_peers_find(e->cfg, dest);
    char host[MD_NAME_LEN + 2];

    md_uri_host(p ? p->address : dest, host, sizeof host);
    snprintf(out, outlen, "qemu+%s://%s/system", e->cfg->libvirt.live_migration_scheme, host);
}

void eng_set_uris(md_engine *e, active *a)
{
    const md_migration *r = &a->rec;
    const md_config_peer *p = md_peers_find(e->cfg, r->dest_compute);
    char mhost[MD_NAME_LEN + 2];

    eng_dest_uri(e, r->dest_compute, a->dest_uri, sizeof a->dest_uri);
    md_uri_host(r->dest_host[0] ? r->dest_host
                : p             ? md_peer_migrate_address(p)
                                : r->dest_compute,
                mhost, sizeof mhost);
    snprintf(a->migrate_uri, sizeof a->migrate_uri, "tcp://%s", mhost);
}

/* With peers configured, the destination must be one of them and a given
 * dest_host one of its two addresses: the list is what a writer of the API
 * may send a guest's memory to. */
static md_status check_peer(const md_config *c, const char *dest, const char *dest_host,
                            md_err *err)
{
    char names[400];
    const md_config_peer *p;

    if (c->peers.count == 0)
        return MD_OK;
    p = md_peers_find(c, dest);
    if (!p) {
        md_peers_names(c, names, sizeof names);
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_compute %s is not a known destination of this node: the "
                          "configured peers are %s",
                          dest, names);
    }
    if (dest_host[0] && !md_peer_has_address(p, dest_host)) {
        if (p->migrate_address[0])
            return md_err_set(err, MD_ERR_INVALID,
                              "dest_host %s is not an address of %s: leave it out, or give %s "
                              "or %s",
                              dest_host, p->name, p->address, p->migrate_address);
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_host %s is not an address of %s: leave it out, or give %s",
                          dest_host, p->name, p->address);
    }
    return MD_OK;
}

md_status eng_check_destination(const md_engine *e, const char *dest, const char *dest_host,
                                md_err *err)
{
    if (!host_ok(dest))
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_compute must be a host name or address, got \"%s\"", dest);
    if (dest_host[0] && !host_ok(dest_host))
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_host must be a host name or address, "
                          "got \"%s\"",
                          dest_host);
    if (strcmp(dest, e->cfg->service.host) == 0)
        return md_err_set(err, MD_ERR_INVALID,
                          "dest_compute %s is this node: a migration "
                          "needs another node",
                          dest);
    return check_peer(e->cfg, dest, dest_host, err);
}

static md_status validate(const md_engine *e, const md_engine_request *q, md_err *err)
{
    if (!q->instance[0])
        return md_err_set(err, MD_ERR_INVALID, "instance_uuid or instance_name is required");
    md_status st = eng_check_destination(e, q->dest_compute, q->dest_host, err);
    if (st != MD_OK)
        return st;
    if (q->max_downtime_ms != -1 &&
        (q->max_downtime_ms < POLICY_MIN_DOWNTIME_MS || q->max_downtime_ms > MD_MAX_DOWNTIME_MS))
        return md_err_set(err, MD_ERR_INVALID,
                          "max_downtime_ms must be from %d to %d, got "
                          "%lld",
                          POLICY_MIN_DOWNTIME_MS, MD_MAX_DOWNTIME_MS,
                          (long long)q->max_downtime_ms);
    if (q->bandwidth_mibps != -1 &&
        (q->bandwidth_mibps < 0 || q->bandwidth_mibps > MD_MAX_BANDWIDTH_MIBPS))
        return md_err_set(err, MD_ERR_INVALID,
                          "bandwidth_mibps must be from 0 (unlimited) to "
                          "%d, got %lld",
                          MD_MAX_BANDWIDTH_MIBPS, (long long)q->bandwidth_mibps);
    if (q->timeout_action < -1 || q->timeout_action > POLICY_TIMEOUT_FORCE_COMPLETE)
        return md_err_set(err, MD_ERR_INVALID, "timeout_action must be abort or force_complete");
    if (q->permit_post_copy < -1 || q->permit_post_copy > 1)
        return md_err_set(err, MD_ERR_INVALID, "permit_post_copy must be true or false");
    return MD_OK;
}

bool eng_domains_refresh(md_engine *e)
{
    int64_t asked = eng_mono_ms();
    struct timespec until = md_deadline_in(CLOCK_MONOTONIC, DOMAIN_WAIT_MS);

    e->domains_wanted = true;
    eng_wake_monitor(e);
    while (!e->stopping && e->domains_at < asked &&
           pthread_cond_timedwait(&e->changed, &e->lock, &until) != ETIMEDOUT) {
    }
    return e->domains_at >= asked;
}

/* The entry of instance (a UUID, compared ignoring case, or a name) in the
 * last list, or NULL. Under the lock. */
static const md_hv_domain *domain_in_list(const md_engine *e, const char *instance)
{
    for (size_t i = 0; i < e->ndomains; i++) {
        if (strcasecmp(e->domains[i].uuid, instance) == 0 ||
            strcmp(e->domains[i].name, instance) == 0)
            return &e->domains[i];
    }
    return NULL;
}

const md_hv_domain *eng_find_domain(md_engine *e, const char *instance, bool *listed)
{
    const md_hv_domain *d = domain_in_list(e, instance);

    *listed = true;
    if (d)
        return d;
    *listed = eng_domains_refresh(e);
    return domain_in_list(e, instance);
}

/* The domain's other identifier in the node's domain list (its name for a
 * UUID, its UUID for a name), so that a request by name conflicts at once
 * with a queued one by UUID; NULL when the node has no such domain.
 *
 * The list is the monitor's, so no libvirt call runs on the API's thread.
 * A domain missing from it may have been defined since it was taken: the
 * monitor is asked for a fresh one and this waits up to DOMAIN_WAIT_MS for
 * it (eng_find_domain). Unknown after that is a 404 now, as Nova answers
 * os-migrateLive for an unknown server, rather than a record that fails a
 * moment later. When no list can be had (before the first, or libvirtd is
 * down) the request is taken and the worker looks the domain up ("" is
 * returned). Under the lock, which the wait releases. */
static const char *find_alias(md_engine *e, const char *instance)
{
    bool listed;
    const md_hv_domain *d = eng_find_domain(e, instance, &listed);

    if (d)
        return strcasecmp(d->uuid, instance) == 0 ? d->name : d->uuid;
    return listed ? NULL : "";
}

md_status eng_create_locked(md_engine *e, const md_engine_request *q, const char *alias,
                            md_migration *out, md_err *err)
{
    const md_config *c = e->cfg;
    md_migration r;
    active *a = NULL;
    md_status st;

    if (e->queue.n >= (size_t)c->service.max_queued_migrations)
        return md_err_set(err, MD_ERR_OVER_LIMIT,
                          "%zu migrations are queued on %s, the most it takes "
                          "(service.max_queued_migrations); try again when some have started",
                          e->queue.n, c->service.host);
    for (size_t i = 0; i < e->nact; i++) {
        const md_migration *o = &e->act[i]->rec;
        if (strcasecmp(o->instance_uuid, q->instance) == 0 ||
            strcmp(o->instance_name, q->instance) == 0 ||
            (alias[0] &&
             (strcasecmp(o->instance_uuid, alias) == 0 || strcmp(o->instance_name, alias) == 0)))
            return md_err_set(err, MD_ERR_CONFLICT,
                              "instance %s already has migration %s in "
                              "progress (%s)",
                              q->instance, o->uuid, md_mig_state_str(o->state));
    }
    md_migration_init(&r);
    if (!md_uuid_generate(r.uuid))
        return md_err_set(err, MD_ERR_INTERNAL, "cannot generate a UUID: no randomness");
    if (md_uuid_valid(q->instance))
        md_strlcpy(r.instance_uuid, q->instance, sizeof r.instance_uuid);
    else
        md_strlcpy(r.instance_name, q->instance, sizeof r.instance_name);
    md_strlcpy(r.source_compute, c->service.host, sizeof r.source_compute);
    /* With peers, the record names the peer as configured and the address
     * its memory goes to, whatever the request's spelling. */
    const md_config_peer *peer = md_peers_find(c, q->dest_compute);
    md_strlcpy(r.dest_compute, peer ? peer->name : q->dest_compute, sizeof r.dest_compute);
    md_strlcpy(r.dest_host,
               q->dest_host[0] ? q->dest_host
               : peer          ? md_peer_migrate_address(peer)
                               : "",
               sizeof r.dest_host);
    r.block_migration = q->block_migration;
    r.permit_post_copy = q->permit_post_copy == -1 ? c->libvirt.live_migration_permit_post_copy
                                                   : q->permit_post_copy == 1;
    /* Nova: auto-converge only when permitted and post-copy is not. */
    r.auto_converge = c->libvirt.live_migration_permit_auto_converge && !r.permit_post_copy;
    r.max_downtime_ms = (uint32_t)(q->max_downtime_ms == -1 ? c->libvirt.live_migration_downtime
                                                            : q->max_downtime_ms);
    r.bandwidth_mibps = (uint32_t)(q->bandwidth_mibps == -1 ? c->libvirt.live_migration_bandwidth
                                                            : q->bandwidth_mibps);
    r.timeout_action = q->timeout_action == -1 ? c->libvirt.live_migration_timeout_action
                                               : (policy_timeout_action)q->timeout_action;
    r.policy = c->libvirt.live_migration_policy;
    md_strlcpy(r.drain_uuid, q->drain_uuid, sizeof r.drain_uuid);
    /* The plan's switch is a policy setting, which post-copy must permit. */
    r.post_copy_after_first_pass = q->post_copy_after_first_pass && r.permit_post_copy;
    r.created_at = r.updated_at = eng_wall_ms();

    a = eng_active_new(&r);
    if (!a)
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    eng_set_uris(e, a);
    st = md_store_insert(e->store, &a->rec, err);
    if (st == MD_ERR_IO) {
        /* Nothing was created: the caller is told so, not given a 202. */
        eng_store_failed(e, err);
        st = eng_writable(e, err);
        goto done;
    }
    if (st != MD_OK)
        goto done;
    st = eng_table_add(e, a, err);
    if (st != MD_OK)
        goto done;
    if (q->drain_uuid[0])
        eng_add_event(e, a, "state", 0, "queued: migrate %s to %s for drain %s%s", q->instance,
                      q->dest_compute, q->drain_uuid,
                      r.post_copy_after_first_pass ? " (post-copy after the first pass)" : "");
    else
        eng_add_event(e, a, "state", 0, "queued: migrate %s to %s", q->instance, q->dest_compute);
    eng_queue_push(&e->queue, a);
    e->counters.created++;
    *out = a->rec;
    a = NULL;
    pthread_cond_signal(&e->work);
done:
    eng_active_put(a);
    return st;
}

md_status md_engine_create(md_engine *e, const md_engine_request *q, md_migration *out, md_err *err)
{
    md_status st = validate(e, q, err);

    if (st != MD_OK)
        return st;
    pthread_mutex_lock(&e->lock);
    if ((st = eng_writable(e, err)) != MD_OK)
        goto unlock;
    const char *alias = find_alias(e, q->instance);
    /* The wait for a fresh domain list let go of the lock: look again. */
    if ((st = eng_writable(e, err)) != MD_OK)
        goto unlock;
    if (!alias) {
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Instance %s could not be found on %s.", q->instance,
                        e->cfg->service.host);
        goto unlock;
    }
    st = eng_create_locked(e, q, alias, out, err);
unlock:
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* Finds uuid among the actives or says why not: NOT_FOUND for a uuid the
 * store does not know either (the message the API shows), CONFLICT for a
 * record that has already ended, or the store's own failure. Under e->lock. */
static active *find_in_progress(md_engine *e, const char *uuid, const char *what, md_err *err,
                                md_status *st)
{
    md_migration r;
    active *a;

    /* Every caller goes on to write: refused at once while it cannot. */
    if ((*st = eng_writable(e, err)) != MD_OK)
        return NULL;
    if ((a = eng_table_find(e, uuid)) != NULL)
        return a;
    *st = md_store_get(e->store, uuid, &r, err);
    if (*st == MD_ERR_NOT_FOUND)
        *st = md_err_set(err, MD_ERR_NOT_FOUND, "Migration %s could not be found", uuid);
    else if (*st == MD_OK)
        *st = md_err_set(err, MD_ERR_CONFLICT,
                         "cannot %s migration %s: it has already ended "
                         "(%s)",
                         what, uuid, md_mig_state_str(r.state));
    return NULL;
}

md_status eng_abort_active(md_engine *e, active *a, md_err *err)
{
    const char *uuid = a->rec.uuid;
    md_status st = MD_OK;

    switch (a->rec.state) {
    case MD_MIG_QUEUED:
        /* Never started: nothing in the hypervisor to undo. */
        eng_queue_remove(&e->queue, a);
        /* A store that cannot record it says why: err carries its message. */
        st = eng_transition_err(e, a, MD_MIG_CANCELLED, err, "aborted while queued");
        if (st != MD_OK)
            eng_queue_push(&e->queue, a);
        break;
    case MD_MIG_POSTCOPY:
    case MD_MIG_POSTCOPY_RECOVERING:
        /* Aborting post-copy would leave the guest with no whole copy
         * anywhere: its running half is on the destination. */
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "cannot abort migration %s: it is %s, the guest already runs on the "
                        "destination and the rest of its memory is on the source; aborting now "
                        "would lose it",
                        uuid, md_mig_state_str(a->rec.state));
        break;
    default:
        if (a->abort_requested) {
            st = md_err_set(err, MD_ERR_CONFLICT, "migration %s is already being aborted", uuid);
            break;
        }
        st = eng_add_command(e, a, MD_CMD_ABORT, err, "abort_requested", "abort requested while %s",
                             md_mig_state_str(a->rec.state));
        if (st != MD_OK)
            break;
        a->abort_requested = true;
        a->cmd_abort = true;
        eng_wake_monitor(e);
        break;
    }
    if (st == MD_OK)
        e->counters.commands[MD_ENGINE_OP_ABORT]++;
    return st;
}

md_status md_engine_abort(md_engine *e, const char *uuid, md_err *err)
{
    md_status st = MD_OK;

    pthread_mutex_lock(&e->lock);
    active *a = find_in_progress(e, uuid, "abort", err, &st);
    if (a)
        st = eng_abort_active(e, a, err);
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* The shared checks of force-complete and post-copy. Under e->lock. */
static active *find_running(md_engine *e, const char *uuid, const char *what, md_err *err,
                            md_status *st)
{
    active *a = find_in_progress(e, uuid, what, err, st);

    if (!a)
        return NULL;
    if (a->rec.state == MD_MIG_POSTCOPY) {
        *st = md_err_set(err, MD_ERR_CONFLICT,
                         "cannot %s migration %s: it is already in "
                         "post-copy",
                         what, uuid);
        return NULL;
    }
    if (a->rec.state != MD_MIG_RUNNING) {
        *st = md_err_set(err, MD_ERR_CONFLICT, "cannot %s migration %s: it is %s, not running",
                         what, uuid, md_mig_state_str(a->rec.state));
        return NULL;
    }
    if (a->abort_requested) {
        *st = md_err_set(err, MD_ERR_CONFLICT, "cannot %s migration %s: it is being aborted", what,
                         uuid);
        return NULL;
    }
    return a;
}

md_status md_engine_force_complete(md_engine *e, const char *uuid, md_err *err)
{
    md_status st = MD_OK;

    pthread_mutex_lock(&e->lock);
    active *a = find_running(e, uuid, "force-complete", err, &st);
    if (a)
        st = eng_add_command(e, a, MD_CMD_FORCE_COMPLETE, err, "force_complete_requested",
                             "force-complete requested (%s)",
                             a->rec.permit_post_copy ? "post-copy"
                                                     : "post-copy not permitted: pause");
    if (a && st == MD_OK) {
        a->cmd_force = true;
        e->counters.commands[MD_ENGINE_OP_FORCE_COMPLETE]++;
        eng_wake_monitor(e);
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

md_status md_engine_post_copy(md_engine *e, const char *uuid, md_err *err)
{
    md_status st = MD_OK;

    pthread_mutex_lock(&e->lock);
    active *a = find_running(e, uuid, "switch to post-copy", err, &st);
    if (a && !a->rec.permit_post_copy) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "cannot switch migration %s to post-copy: it was "
                        "started without post-copy permitted",
                        uuid);
    } else if (a) {
        st = eng_add_command(e, a, MD_CMD_POST_COPY, err, "post_copy_requested",
                             "post-copy requested");
        if (st == MD_OK) {
            a->cmd_post_copy = true;
            e->counters.commands[MD_ENGINE_OP_POST_COPY]++;
            eng_wake_monitor(e);
        }
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

md_status md_engine_update(md_engine *e, const char *uuid, const md_engine_settings *s, md_err *err)
{
    md_status st = MD_OK;

    if (s->max_downtime_ms != -1 &&
        (s->max_downtime_ms < POLICY_MIN_DOWNTIME_MS || s->max_downtime_ms > MD_MAX_DOWNTIME_MS))
        return md_err_set(err, MD_ERR_INVALID, "max_downtime_ms must be from %d to %d",
                          POLICY_MIN_DOWNTIME_MS, MD_MAX_DOWNTIME_MS);
    if (s->bandwidth_mibps != -1 &&
        (s->bandwidth_mibps < 0 || s->bandwidth_mibps > MD_MAX_BANDWIDTH_MIBPS))
        return md_err_set(err, MD_ERR_INVALID, "bandwidth_mibps must be from 0 to %d",
                          MD_MAX_BANDWIDTH_MIBPS);

    pthread_mutex_lock(&e->lock);
    active *a = find_in_progress(e, uuid, "change", err, &st);
    if (!a)
        goto unlock;
    if (s->permit_post_copy != -1 && a->rec.state != MD_MIG_QUEUED &&
        (s->permit_post_copy == 1) != a->rec.permit_post_copy) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "permit_post_copy of migration %s cannot change "
                        "once it has started (%s)",
                        uuid, md_mig_state_str(a->rec.state));
        goto unlock;
    }
    if (a->rec.state == MD_MIG_POSTCOPY || a->rec.state == MD_MIG_POSTCOPY_RECOVERING) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "migration %s is in post-copy: its settings no "
                        "longer matter",
                        uuid);
        goto unlock;
    }
    /* The bandwidth reaches a running job through the monitor: the command
     * is written first, so that a crash between the two writes re-applies
     * a bandwidth rather than loses one. */
    bool speed = a->attached && s->bandwidth_mibps != -1;
    if (speed && (st = eng_add_command(e, a, MD_CMD_SPEED, err, NULL, "%s", "")) != MD_OK)
        goto unlock;
    md_migration next = a->rec;
    if (s->permit_post_copy != -1) {
        next.permit_post_copy = s->permit_post_copy == 1;
        next.auto_converge = e->cfg->libvirt.live_migration_permit_auto_converge &&
                             !next.permit_post_copy;
    }
    if (s->max_downtime_ms != -1)
        next.max_downtime_ms = (uint32_t)s->max_downtime_ms;
    if (s->bandwidth_mibps != -1)
        next.bandwidth_mibps = (uint32_t)s->bandwidth_mibps;
    next.updated_at = eng_wall_ms();
    st = eng_write_record(e, &next, NULL, false, err);
    if (st != MD_OK)
        goto unlock;
    a->rec = next;
    if (a->attached) {
        policy_update(&a->pol, next.max_downtime_ms, next.permit_post_copy);
        if (speed) {
            a->cmd_speed = true;
            eng_wake_monitor(e);
        }
    }
    eng_add_event(e, a, "settings", 0,
                  "settings: permit_post_copy %s, max_downtime_ms %u, "
                  "bandwidth_mibps %u",
                  next.permit_post_copy ? "true" : "false", next.max_downtime_ms,
                  next.bandwidth_mibps);
    e->counters.commands[MD_ENGINE_OP_SETTINGS]++;
unlock:
    pthread_mutex_unlock(&e->lock);
    return st;
}

md_status md_engine_recover(md_engine *e, const char *uuid, md_err *err)
{
    md_status st = MD_OK;
    md_migration r;
    active *a;

    pthread_mutex_lock(&e->lock);
    if ((st = eng_writable(e, err)) != MD_OK)
        goto unlock;
    a = eng_table_find(e, uuid);
    if (a && a->rec.state == MD_MIG_POSTCOPY_RECOVERING) {
        st = eng_add_command(e, a, MD_CMD_RECOVER, err, "recover_requested",
                             "recover requested: resuming the post-copy migration now");
        if (st == MD_OK) {
            a->cmd_recover = true;
            e->counters.commands[MD_ENGINE_OP_RECOVER]++;
            eng_postcopy_need_worker(e, a);
            pthread_cond_broadcast(&e->changed); /* a worker waiting out its backoff */
        }
        goto unlock;
    }
    if (a) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "cannot recover migration %s: it is %s; only a broken post-copy "
                        "(running (post-copy recovering), or error after one) can be recovered",
                        uuid, md_mig_state_str(a->rec.state));
        goto unlock;
    }
    st = md_store_get(e->store, uuid, &r, err);
    if (st == MD_ERR_NOT_FOUND)
        st = md_err_set(err, MD_ERR_NOT_FOUND, "Migration %s could not be found", uuid);
    if (st != MD_OK)
        goto unlock;
    if (r.state != MD_MIG_ERROR || !r.post_copy || r.recovery_started_at == 0) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "cannot recover migration %s: it is %s%s; only a broken post-copy "
                        "(running (post-copy recovering), or error after one) can be recovered",
                        uuid, md_mig_state_str(r.state),
                        r.state == MD_MIG_ERROR ? " without a post-copy recovery behind it" : "");
        goto unlock;
    }
    /* A newer migration of the same guest owns its job now: resuming or
     * settling from that job would end the wrong record. */
    a = eng_table_find_domain(e, r.instance_uuid);
    if (a) {
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "cannot recover migration %s: migration %s of the same instance is %s",
                        uuid, a->rec.uuid, md_mig_state_str(a->rec.state));
        goto unlock;
    }
    /* Out of time, or given up: the record is in error, but libvirt may
     * still hold the paused post-copy. A worker looks and resumes it; if the
     * job is gone, it settles the record from where the domain runs. */
    a = eng_active_new(&r);
    if (!a) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory");
        goto unlock;
    }
    md_strlcpy(a->domain, r.instance_uuid, sizeof a->domain);
    eng_set_uris(e, a);
    st = eng_table_add(e, a, err);
    if (st != MD_OK) {
        eng_active_put(a);
        goto unlock;
    }
    st = eng_add_command(e, a, MD_CMD_RECOVER, err, "recover_requested",
                         "recover requested from error: resuming the post-copy migration");
    /* A request's move: durable before the 202, or refused (a queued one
     * would be lost with the command to a crash: recovery at start leaves
     * a record in error alone). */
    if (st == MD_OK &&
        (st = eng_postcopy_enter_request(e, a, "an operator asked to recover it", err)) != MD_OK)
        eng_command_done(e, a, MD_CMD_RECOVER); /* refused: no pending row is left */
    if (st != MD_OK) {
        eng_table_remove(e, a);
        goto unlock;
    }
    a->attached = a->recovered = true;
    a->cmd_recover = true;
    e->counters.commands[MD_ENGINE_OP_RECOVER]++;
    eng_postcopy_need_worker(e, a);
unlock:
    pthread_mutex_unlock(&e->lock);
    return st;
}
