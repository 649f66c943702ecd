/* v1.c - the migrationd API under /v1, the version document and the healthcheck.
 *
 * DESIGN
 * ------
 * Handlers validate everything a request says before anything happens:
 * unknown fields, wrong JSON types, malformed UUIDs and dates are 400s that
 * name the field. They read records through the engine (live progress for
 * migrations in progress; lists and events as the store holds them), and steer
 * migrations through the engine's command functions, which check the state
 * and return at once. A fault for a failed engine call carries the engine's
 * own message (404, 409, a bad marker's 400), which says why.
 */
#include "api/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/limits.h"

/* ---- representations ------------------------------------------------------ */

json_object *md_api_migration_json(const md_api_deps *d, const md_migration *m)
{
    char href[512];
    json_object *o = json_object_new_object();

    if (!o)
        return NULL;
    md_api_put(o, "id", json_object_new_int64(m->id));
    md_api_put(o, "uuid", json_object_new_string(m->uuid));
    md_api_put(o, "status", json_object_new_string(md_mig_state_str(m->state)));
    md_api_put(o, "migration_type", json_object_new_string(m->migration_type));
    md_api_put_str_or_null(o, "instance_uuid", m->instance_uuid);
    md_api_put_str_or_null(o, "instance_name", m->instance_name);
    md_api_put(o, "source_compute", json_object_new_string(m->source_compute));
    md_api_put(o, "dest_compute", json_object_new_string(m->dest_compute));
    md_api_put(o, "dest_host",
               json_object_new_string(m->dest_host[0] ? m->dest_host : m->dest_compute));
    md_api_put_time(o, "created_at", m->created_at);
    md_api_put_time(o, "updated_at", m->updated_at);
    md_api_put_u64(o, "memory_total_bytes", m->memory_total_bytes);
    md_api_put_u64(o, "memory_processed_bytes", m->memory_processed_bytes);
    md_api_put_u64(o, "memory_remaining_bytes", m->memory_remaining_bytes);
    md_api_put_u64(o, "disk_total_bytes", m->disk_total_bytes);
    md_api_put_u64(o, "disk_processed_bytes", m->disk_processed_bytes);
    md_api_put_u64(o, "disk_remaining_bytes", m->disk_remaining_bytes);
    md_api_put(o, "progress", json_object_new_int(m->progress));
    md_api_put(o, "memory_iteration", json_object_new_int64(m->memory_iteration));
    md_api_put_u64(o, "transfer_rate", m->transfer_rate);
    md_api_put_u64(o, "dirty_rate", m->dirty_rate);
    md_api_put(o, "max_downtime_ms", json_object_new_int64(m->max_downtime_ms));
    md_api_put(o, "current_downtime_ms", json_object_new_int64(m->current_downtime_ms));
    md_api_put(o, "downtime_ms",
               m->downtime_ms >= 0 ? json_object_new_int64(m->downtime_ms) : NULL);
    md_api_put(o, "elapsed_ms", json_object_new_int64(m->elapsed_ms));
    md_api_put(o, "post_copy", json_object_new_boolean(m->post_copy));
    md_api_put(o, "paused", json_object_new_boolean(m->paused));
    md_api_put(o, "block_migration", json_object_new_boolean(m->block_migration));
    md_api_put(o, "permit_post_copy", json_object_new_boolean(m->permit_post_copy));
    md_api_put(o, "bandwidth_mibps", json_object_new_int64(m->bandwidth_mibps));
    md_api_put(o, "timeout_action",
               json_object_new_string(policy_timeout_action_str(m->timeout_action)));
    md_api_put(o, "policy", json_object_new_string(policy_kind_str(m->policy)));
    md_api_put_str_or_null(o, "error", m->error);
    /* When the post-copy being recovered broke, in the format of the
     * other times, or null when none is (the record's 0). */
    md_api_put(o, "recovery_attempts", json_object_new_int(m->recovery_attempts));
    md_api_put_time_or_null(o, "recovery_started_at", m->recovery_started_at);
    md_api_put_str_or_null(o, "drain_uuid", m->drain_uuid);
    md_api_record_href(d, "/v1/os-migrations", m->uuid, href);
    json_object *links = json_object_new_array();
    json_object_array_add(links, md_api_link("self", href));
    md_api_put(o, "links", links);
    return o;
}

static void reply_migration(md_api_ctx *c, int status, const md_migration *m)
{
    md_api_reply_record(c, status, "migration", md_api_migration_json(c->deps, m));
}

/* ---- request fields ---------------------------------------------------------- */

/* The readers of fields.c, for the body's "migration" object. */
static bool get_string(md_api_ctx *c, json_object *m, const char *key, char *out, size_t max)
{
    return md_api_get_string(c, m, "migration", key, out, max);
}

static bool get_bool(md_api_ctx *c, json_object *m, const char *key, int *out)
{
    return md_api_get_bool(c, m, "migration", key, out);
}

static bool get_int(md_api_ctx *c, json_object *m, const char *key, int64_t lo, int64_t hi,
                    int64_t *out)
{
    return md_api_get_int(c, m, "migration", key, lo, hi, out);
}

static bool get_timeout_action(md_api_ctx *c, json_object *m, int *out)
{
    char name[32] = "";
    policy_timeout_action a;

    if (!get_string(c, m, "timeout_action", name, sizeof name))
        return false;
    if (!name[0])
        return true;
    if (policy_timeout_action_parse(name, &a) != 0) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "migration.timeout_action must be \"abort\" or "
                     "\"force_complete\"");
        return false;
    }
    *out = (int)a;
    return true;
}

/* ---- handlers ------------------------------------------------------------------ */

static void h_root(md_api_ctx *c)
{
    char url[320], href[400];
    json_object *o = json_object_new_object(), *versions = json_object_new_array();

    md_api_base_url(c->deps, url);
    const char *ids[] = { "v1", "v2.1" };
    for (int i = 0; i < 2; i++) {
        json_object *v = json_object_new_object(), *links = json_object_new_array(),
                    *self = json_object_new_object();
        json_object_object_add(v, "id", json_object_new_string(ids[i]));
        /* Both are current: v1 is migrationd's own, v2.1 Nova's, which
         * its own version document calls CURRENT too. */
        json_object_object_add(v, "status", json_object_new_string("CURRENT"));
        json_object_object_add(v, "version",
                               json_object_new_string(i ? MD_API_NOVA_MAX_VERSION : ""));
        json_object_object_add(v, "min_version",
                               json_object_new_string(i ? MD_API_NOVA_MIN_VERSION : ""));
        snprintf(href, sizeof href, "%s/%s/", url, ids[i]);
        json_object_object_add(self, "rel", json_object_new_string("self"));
        json_object_object_add(self, "href", json_object_new_string(href));
        json_object_array_add(links, self);
        json_object_object_add(v, "links", links);
        json_object_array_add(versions, v);
    }
    json_object_object_add(o, "versions", versions);
    json_object *me = json_object_new_object();
    json_object_object_add(me, "version", json_object_new_string(MD_VERSION));
    json_object_object_add(me, "host", json_object_new_string(c->deps->cfg->service.host));
    json_object_object_add(me, "hypervisor", json_object_new_string(c->deps->hypervisor_name));
    json_object_object_add(me, "simulated",
                           json_object_new_boolean(c->deps->cfg->service.hypervisor ==
                                                   MD_HYPERVISOR_SIMULATOR));
    json_object_object_add(o, "migrationd", me);
    md_api_reply(c->resp, 200, o);
}

static void h_healthcheck(md_api_ctx *c)
{
    size_t running, queued;

    if (!md_api_check_query(c, NULL))
        return;
    md_engine_health h;
    md_engine_counts(c->deps->engine, &running, &queued);
    md_engine_get_health(c->deps->engine, &h);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(h.degraded ? "degraded" : "ok"));
    json_object_object_add(o, "running", json_object_new_int64((int64_t)running));
    json_object_object_add(o, "queued", json_object_new_int64((int64_t)queued));
    json_object_object_add(o, "hypervisor", json_object_new_string(c->deps->hypervisor_name));
    if (h.degraded) {
        /* What an operator needs to act: why, since when, and how much is
         * waiting to be written. The reason names the database file, which
         * is no secret to whoever may read the health of the node. */
        json_object_object_add(o, "reason", json_object_new_string(h.reason));
        char since[32];
        md_api_time_str(h.degraded_since, since);
        json_object_object_add(o, "degraded_since", json_object_new_string(since));
        json_object_object_add(o, "pending_writes",
                               json_object_new_int64((int64_t)h.pending_writes));
    }
    /* 503 while degraded: new work is refused, so a controller's or load
     * balancer's health probe should send it elsewhere; the body says why. */
    md_api_reply(c->resp, h.degraded ? 503 : 200, o);
}

bool md_api_list_filter(md_api_ctx *c, md_store_filter *f, bool lenient, bool *nothing)
{
    static const char *const allowed[] = {
        "status",        "instance_uuid",  "host",  "migration_type", "drain_uuid",
        "changes-since", "changes-before", "limit", "marker",         NULL
    };
    const char *v;

    memset(f, 0, sizeof *f);
    *nothing = false;
    if (!md_api_check_query(c, allowed))
        return false;
    if ((v = md_api_query(c, "status")) != NULL) {
        if (md_mig_state_parse(v, &f->state) == 0) {
            f->have_state = true;
        } else if (lenient) {
            *nothing = true;
        } else {
            /* Named from the one list of states, so a new one is never
             * missing here. */
            char names[256] = "";
            size_t len = 0;
            for (int k = 0; k < MD_MIG_NSTATES && len < sizeof names; k++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", k ? ", " : "",
                                        md_mig_state_str((md_mig_state)k));
            md_api_fault(c->resp, MD_ERR_INVALID, "Invalid status '%.64s': expected one of %s", v,
                         names);
            return false;
        }
    }
    if (!md_api_query_uuid(c, "instance_uuid", &v))
        return false;
    if (v)
        snprintf(f->instance_uuid, sizeof f->instance_uuid, "%s", v);
    if (!md_api_query_uuid(c, "drain_uuid", &v))
        return false;
    if (v)
        snprintf(f->drain_uuid, sizeof f->drain_uuid, "%s", v);
    if ((v = md_api_query(c, "host")) != NULL) {
        if (!v[0] || strlen(v) >= sizeof f->host) {
            md_api_fault(c->resp, MD_ERR_INVALID, "Invalid host: 1 to %zu characters",
                         sizeof f->host - 1);
            return false;
        }
        snprintf(f->host, sizeof f->host, "%s", v);
    }
    if ((v = md_api_query(c, "migration_type")) != NULL) {
        if (strcmp(v, "live-migration") && strcmp(v, "migration") && strcmp(v, "resize") &&
            strcmp(v, "evacuation")) {
            md_api_fault(c->resp, MD_ERR_INVALID, "Invalid migration_type '%.64s'", v);
            return false;
        }
        snprintf(f->migration_type, sizeof f->migration_type, "%s", v);
    }
    const char *dates[2] = { "changes-since", "changes-before" };
    int64_t *dst[2] = { &f->changes_since, &f->changes_before };
    for (int i = 0; i < 2; i++) {
        if ((v = md_api_query(c, dates[i])) != NULL && !md_api_time_parse(v, dst[i])) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid %s '%.64s': expected an ISO 8601 date-time "
                         "such as 2026-11-21T23:51:24Z",
                         dates[i], v);
            return false;
        }
    }
    if (f->changes_since && f->changes_before && f->changes_before < f->changes_since) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "changes-before must not be earlier than changes-since");
        return false;
    }
    bool none;
    if (!md_api_query_limit(c, &f->limit, &none))
        return false;
    if (none)
        *nothing = true;
    if (!md_api_query_uuid(c, "marker", &v))
        return false;
    if (v)
        snprintf(f->marker, sizeof f->marker, "%s", v);
    return true;
}

/* Appends key=value (value percent-encoded but for RFC 3986's unreserved
 * characters) and a '&' to out. */
static void add_param(char *out, size_t len, const char *key, const char *value)
{
    size_t n = strlen(out);

    n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s=", key);
    for (const char *p = value; *p && n + 4 < len; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch) || strchr("-._~", ch))
            out[n++] = (char)ch;
        else
            n += (size_t)snprintf(out + n, len - n, "%%%02X", ch);
    }
    if (n + 1 < len)
        out[n++] = '&';
    out[n < len ? n : len - 1] = '\0';
}

/* A link to the next page when this one is full, in Nova's form: the same
 * filters (as parsed, so its length is bounded), the limit, and the page's
 * last record as the marker. */
static void add_next_link(md_api_ctx *c, json_object *o, const char *base_path,
                          const md_store_filter *f, size_t n, const md_migration *last)
{
    char url[320], href[2400], t[32], num[32];
    json_object *links = json_object_new_array();

    if (f->limit && n == f->limit && last) {
        md_api_base_url(c->deps, url);
        snprintf(href, sizeof href, "%s%s?", url, base_path);
        if (f->have_state)
            add_param(href, sizeof href, "status", md_mig_state_str(f->state));
        if (f->instance_uuid[0])
            add_param(href, sizeof href, "instance_uuid", f->instance_uuid);
        if (f->host[0])
            add_param(href, sizeof href, "host", f->host);
        if (f->migration_type[0])
            add_param(href, sizeof href, "migration_type", f->migration_type);
        if (f->drain_uuid[0])
            add_param(href, sizeof href, "drain_uuid", f->drain_uuid);
        if (f->changes_since) {
            md_api_time_str(f->changes_since, t);
            add_param(href, sizeof href, "changes-since", t);
        }
        if (f->changes_before) {
            md_api_time_str(f->changes_before, t);
            add_param(href, sizeof href, "changes-before", t);
        }
        snprintf(num, sizeof num, "%zu", f->limit);
        add_param(href, sizeof href, "limit", num);
        add_param(href, sizeof href, "marker", last->uuid);
        href[strlen(href) - 1] = '\0'; /* the last '&' */
        json_object *next = json_object_new_object();
        json_object_object_add(next, "rel", json_object_new_string("next"));
        json_object_object_add(next, "href", json_object_new_string(href));
        json_object_array_add(links, next);
    }
    json_object_object_add(o, "migrations_links", links);
}

bool md_api_list_records(md_api_ctx *c, const md_store_filter *f, bool nothing, md_migration **v,
                         size_t *n)
{
    md_err err;

    *v = NULL;
    *n = 0;
    if (nothing)
        return true;
    md_status st = md_engine_list(c->deps->engine, f, v, n, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return false;
    }
    return true;
}

static void h_list(md_api_ctx *c)
{
    md_store_filter f;
    md_migration *v = NULL;
    size_t n = 0;
    bool nothing;

    if (!md_api_list_filter(c, &f, false, &nothing) || !md_api_list_records(c, &f, nothing, &v, &n))
        return;
    json_object *o = json_object_new_object(), *arr = json_object_new_array_ext(n ? (int)n : 1);
    /* Each record as rendered before when it has not changed since
     * (record_cache.c): most of a page has ended and reads the same at
     * every request. */
    if (!o || !arr || !md_api_record_cache_add(c->records, c->deps, v, n, arr)) {
        json_object_put(o);
        json_object_put(arr);
        free(v);
        md_api_fault(c->resp, MD_ERR_NOMEM, "Out of memory");
        return;
    }
    json_object_object_add(o, "migrations", arr);
    add_next_link(c, o, "/v1/os-migrations", &f, n, n ? &v[n - 1] : NULL);
    free(v);
    md_api_reply(c->resp, 200, o);
}

static void h_create(md_api_ctx *c)
{
    static const char *const allowed[] = { "instance_uuid",   "instance_name",
                                           "dest_compute",    "dest_host",
                                           "block_migration", "permit_post_copy",
                                           "max_downtime_ms", "bandwidth_mibps",
                                           "timeout_action",  NULL };
    md_engine_request q;
    char uuid[MD_UUID_LEN] = "", name[MD_NAME_LEN] = "";
    int block = 0;
    md_migration m;
    md_err err;

    if (!md_api_check_query(c, NULL))
        return;
    json_object *j = md_api_body_object(c, "migration", allowed);
    if (!j)
        return;
    memset(&q, 0, sizeof q);
    q.permit_post_copy = -1;
    q.max_downtime_ms = -1;
    q.bandwidth_mibps = -1;
    q.timeout_action = -1;
    if (!get_string(c, j, "instance_uuid", uuid, sizeof uuid) ||
        !get_string(c, j, "instance_name", name, sizeof name) ||
        !get_string(c, j, "dest_compute", q.dest_compute, sizeof q.dest_compute) ||
        !get_string(c, j, "dest_host", q.dest_host, sizeof q.dest_host) ||
        !get_bool(c, j, "block_migration", &block) ||
        !get_bool(c, j, "permit_post_copy", &q.permit_post_copy) ||
        !get_int(c, j, "max_downtime_ms", POLICY_MIN_DOWNTIME_MS, MD_MAX_DOWNTIME_MS,
                 &q.max_downtime_ms) ||
        !get_int(c, j, "bandwidth_mibps", 0, MD_MAX_BANDWIDTH_MIBPS, &q.bandwidth_mibps) ||
        !get_timeout_action(c, j, &q.timeout_action))
        return;
    if (!uuid[0] == !name[0]) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Give exactly one of migration.instance_uuid and "
                     "migration.instance_name");
        return;
    }
    if (uuid[0] && !md_uuid_valid(uuid)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "migration.instance_uuid '%.64s' is not a UUID",
                     uuid);
        return;
    }
    if (!q.dest_compute[0]) {
        md_api_fault(c->resp, MD_ERR_INVALID, "migration.dest_compute is required");
        return;
    }
    q.block_migration = block == 1;
    snprintf(q.instance, sizeof q.instance, "%s", uuid[0] ? uuid : name);
    md_status st = md_engine_create(c->deps->engine, &q, &m, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return;
    }
    char loc[512];
    md_api_record_href(c->deps, "/v1/os-migrations", m.uuid, loc);
    md_api_response_header(c->resp, "Location", loc);
    reply_migration(c, 202, &m);
}

static void h_show(md_api_ctx *c)
{
    md_migration m;
    md_err err;
    const char *id = md_api_path_uuid(c, "migration");

    if (!id || !md_api_check_query(c, NULL))
        return;
    md_status st = md_engine_get(c->deps->engine, id, &m, &err);
    if (st != MD_OK)
        md_api_fault_err(c->resp, st, &err);
    else
        reply_migration(c, 200, &m);
}

/* GET /v1/os-migrations/{id}/events[?limit=N&marker=EVENT_ID]: a page of
 * the timeline, oldest first, at most MD_MAX_LIST_LIMIT events whatever
 * limit says (a migration's timeline grows with every operator's settings
 * change, so its answer must be bounded like a list's). A full page links
 * to the next in events_links, with the page's last event id as the
 * marker; the next page holds the events after it. */
static void h_events(md_api_ctx *c)
{
    md_api_reply_events(c, "migration", "/v1/os-migrations", md_engine_events);
}

/* Answers 202 with the record after a successful command, or the fault. */
static void after_command(md_api_ctx *c, const char *id, md_status st, const md_err *err)
{
    md_migration m;
    md_err gerr;

    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, err);
        return;
    }
    if (md_engine_get(c->deps->engine, id, &m, &gerr) == MD_OK)
        reply_migration(c, 202, &m);
    else
        c->resp->status = 202;
}

static void h_update(md_api_ctx *c)
{
    static const char *const allowed[] = { "action", "permit_post_copy", "max_downtime_ms",
                                           "bandwidth_mibps", NULL };
    char action[32] = "";
    md_engine_settings s = { .permit_post_copy = -1, .max_downtime_ms = -1, .bandwidth_mibps = -1 };
    md_err err;
    md_status st;
    const char *id = md_api_path_uuid(c, "migration");

    if (!id || !md_api_check_query(c, NULL))
        return;
    json_object *j = md_api_body_object(c, "migration", allowed);
    if (!j)
        return;
    if (!get_string(c, j, "action", action, sizeof action) ||
        !get_bool(c, j, "permit_post_copy", &s.permit_post_copy) ||
        !get_int(c, j, "max_downtime_ms", POLICY_MIN_DOWNTIME_MS, MD_MAX_DOWNTIME_MS,
                 &s.max_downtime_ms) ||
        !get_int(c, j, "bandwidth_mibps", 0, MD_MAX_BANDWIDTH_MIBPS, &s.bandwidth_mibps))
        return;
    bool settings = s.permit_post_copy != -1 || s.max_downtime_ms != -1 || s.bandwidth_mibps != -1;
    if (action[0] && settings) {
        md_api_fault(c->resp, MD_ERR_INVALID, "migration.action cannot be combined with settings");
        return;
    }
    if (!action[0] && !settings) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Give migration.action (force_complete, post_copy, abort, recover) "
                     "or settings (permit_post_copy, max_downtime_ms, bandwidth_mibps)");
        return;
    }
    if (!action[0])
        st = md_engine_update(c->deps->engine, id, &s, &err);
    else if (strcmp(action, "force_complete") == 0)
        st = md_engine_force_complete(c->deps->engine, id, &err);
    else if (strcmp(action, "post_copy") == 0)
        st = md_engine_post_copy(c->deps->engine, id, &err);
    else if (strcmp(action, "abort") == 0) {
        /* An abort is an abort however it is asked for: roles.abort. */
        if (!md_api_authorise(c, MD_API_ABORT))
            return;
        st = md_engine_abort(c->deps->engine, id, &err);
    } else if (strcmp(action, "recover") == 0)
        st = md_engine_recover(c->deps->engine, id, &err);
    else {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Unknown migration.action '%s': expected force_complete, "
                     "post_copy, abort or recover",
                     action);
        return;
    }
    after_command(c, id, st, &err);
}

static void h_delete(md_api_ctx *c)
{
    md_err err;
    const char *id = md_api_path_uuid(c, "migration");

    if (!id || !md_api_check_query(c, NULL))
        return;
    md_status st = md_engine_abort(c->deps->engine, id, &err);
    if (st != MD_OK)
        md_api_fault_err(c->resp, st, &err);
    else
        c->resp->status = 202;
}

const md_api_route md_api_v1_routes[] = {
    { "GET", "/", MD_API_PUBLIC, false, h_root },
    { "GET", "/healthcheck", MD_API_PUBLIC, false, h_healthcheck },
    { "GET", "/metrics", MD_API_METRICS, false, md_api_metrics_handler },
    { "GET", "/v1", MD_API_PUBLIC, false, h_root },
    { "GET", "/v1/os-migrations", MD_API_READ, false, h_list },
    { "POST", "/v1/os-migrations", MD_API_CREATE, true, h_create },
    { "GET", "/v1/os-migrations/{}", MD_API_READ, false, h_show },
    { "PUT", "/v1/os-migrations/{}", MD_API_UPDATE, true, h_update },
    { "DELETE", "/v1/os-migrations/{}", MD_API_ABORT, false, h_delete },
    { "GET", "/v1/os-migrations/{}/events", MD_API_READ, false, h_events },
};
const size_t md_api_v1_nroutes = sizeof md_api_v1_routes / sizeof md_api_v1_routes[0];
