/* drains.c - the drain resource under /v1/drains: start, list, show, events, cancel.
 *
 * DESIGN
 * ------
 * A drain moves every guest of this node (or the listed ones) to the
 * listed peers by a deadline (service/drain.h; the engine plans and runs
 * it). These handlers only read and check what a request says and show
 * what the engine holds, as v1.c does for migrations, with the same
 * readers (fields.c) and representations' pieces (json.c):
 *
 *  - POST /v1/drains {"drain": {...}}: every field is checked here for its
 *    JSON type and range, and an unknown one is refused, so that a typo
 *    ("dealine_s") is a 400 rather than a drain with a default; what only
 *    the engine can judge (a destination that is not a peer, an instance
 *    that is not here, another drain in progress, a strict deadline below
 *    the lower bound) is its 400 or 409 with its message. 202 with the
 *    record (state planning) and its Location.
 *  - GET /v1/drains[?limit=N&marker=UUID]: newest first, pages of at most
 *    MD_MAX_LIST_LIMIT, a full page links to the next in drains_links.
 *  - GET /v1/drains/{uuid} and /events (limit, marker = event id), as a
 *    migration's.
 *  - DELETE /v1/drains/{uuid}[?abort_running=true|false]: 202 with the
 *    record; waiting guests are never started, running ones are aborted
 *    when asked (here or in the drain's own abort_running), else finish.
 *
 * Faults carry the engine's message (404, 409, 503 while the store cannot
 * be written). Bad input of any shape is a 400 that names the field, never
 * a 500: the arrays are bounded (16 destinations, 1000 guests) before
 * anything is copied, and the body itself by api.max_body_bytes (413).
 */
#include "api/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/limits.h"

/* ---- representation --------------------------------------------------------- */

/* ms as seconds (a JSON number with a fraction), or null for 0. */
static void put_seconds_or_null(json_object *o, const char *key, int64_t ms)
{
    md_api_put(o, key, ms > 0 ? json_object_new_double((double)ms / 1000.0) : NULL);
}

static json_object *guest_json(const md_drain_guest *g)
{
    json_object *o = json_object_new_object();

    if (!o)
        return NULL;
    md_api_put(o, "instance_uuid", json_object_new_string(g->instance_uuid));
    md_api_put(o, "instance_name", json_object_new_string(g->instance_name));
    md_api_put(o, "state", json_object_new_string(md_drain_guest_state_str(g->state)));
    md_api_put_str_or_null(o, "migration_uuid", g->migration_uuid);
    md_api_put_str_or_null(o, "dest_compute", g->dest_compute);
    md_api_put(o, "mode", json_object_new_string(plan_mode_str(g->mode)));
    md_api_put(o, "order", json_object_new_int(g->order));
    md_api_put(o, "attempts", json_object_new_int(g->attempts));
    md_api_put_u64(o, "ram_bytes", g->ram_bytes);
    md_api_put_u64(o, "dirty_rate", g->dirty_rate);
    md_api_put_u64(o, "disk_bytes", g->disk_bytes);
    put_seconds_or_null(o, "predicted_duration_s", g->predicted_ms);
    /* The actual duration once it ended, of the attempt that ended it. */
    put_seconds_or_null(o, "actual_duration_s",
                        g->ended_at > 0 && g->started_at > 0 ? g->ended_at - g->started_at : 0);
    md_api_put_time_or_null(o, "started_at", g->started_at);
    md_api_put_time_or_null(o, "ended_at", g->ended_at);
    md_api_put_str_or_null(o, "error", g->error);
    return o;
}

/* The v1 representation of a drain: its settings, the plan's prediction,
 * the counts and every guest. NULL when out of memory. */
static json_object *drain_json(const md_api_deps *d, const md_drain *r)
{
    char href[512];
    md_drain_counts n;
    json_object *o = json_object_new_object(), *dests = json_object_new_array(),
                *guests = json_object_new_array(), *links = json_object_new_array();

    if (!o || !dests || !guests || !links) {
        json_object_put(o);
        json_object_put(dests);
        json_object_put(guests);
        json_object_put(links);
        return NULL;
    }
    md_drain_count(r, &n);
    md_api_put(o, "uuid", json_object_new_string(r->uuid));
    md_api_put(o, "state", json_object_new_string(md_drain_state_str(r->state)));
    md_api_put(o, "source_compute", json_object_new_string(r->source_compute));
    for (size_t i = 0; i < r->ndests && i < MD_DRAIN_MAX_DESTS; i++)
        json_object_array_add(dests, json_object_new_string(r->dests[i]));
    md_api_put(o, "destinations", dests);
    md_api_put(o, "deadline_s", json_object_new_int64(r->deadline_s));
    md_api_put_time(o, "deadline_at", r->deadline_at);
    md_api_put(o, "permit_post_copy", json_object_new_boolean(r->permit_post_copy));
    md_api_put(o, "max_parallel", json_object_new_int(r->max_parallel));
    md_api_put(o, "strict", json_object_new_boolean(r->strict));
    md_api_put(o, "abort_running", json_object_new_boolean(r->abort_running));
    md_api_put(o, "block_migration", json_object_new_boolean(r->block_migration));
    md_api_put_time(o, "created_at", r->created_at);
    md_api_put_time(o, "updated_at", r->updated_at);
    md_api_put_time_or_null(o, "predicted_end_at", r->predicted_end_at);
    md_api_put_time_or_null(o, "ended_at", r->ended_at);
    md_api_put(o, "feasible", json_object_new_boolean(r->feasible));
    md_api_put(o, "parallel", json_object_new_int(r->parallel));
    md_api_put_str_or_null(o, "error", r->error);
    md_api_put_u64(o, "guests_total", n.total);
    md_api_put_u64(o, "guests_done", n.done);
    md_api_put_u64(o, "guests_failed", n.failed);
    md_api_put_u64(o, "guests_remaining", n.remaining);
    for (size_t i = 0; i < r->nguests; i++)
        json_object_array_add(guests, guest_json(&r->guests[i]));
    md_api_put(o, "guests", guests);
    md_api_record_href(d, "/v1/drains", r->uuid, href);
    json_object_array_add(links, md_api_link("self", href));
    md_api_put(o, "links", links);
    return o;
}

static void reply_drain(md_api_ctx *c, int status, const md_drain *r)
{
    md_api_reply_record(c, status, "drain", drain_json(c->deps, r));
}

/* ---- the request ------------------------------------------------------------ */

/* The string array drain.key: absent leaves *n 0 and *out NULL; else an
 * array of min..max strings of 1..MD_NAME_LEN-1 bytes each, copied into a
 * new *out (free()). Answers 400 naming the field (and the element) and
 * returns false otherwise. */
static bool get_names(md_api_ctx *c, json_object *m, const char *key, size_t min, size_t max,
                      char (**out)[MD_NAME_LEN], size_t *n)
{
    json_object *v;

    *out = NULL;
    *n = 0;
    if (!json_object_object_get_ex(m, key, &v))
        return true;
    if (!json_object_is_type(v, json_type_array)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "drain.%s must be an array of strings", key);
        return false;
    }
    size_t len = json_object_array_length(v);
    if (len < min || len > max) {
        md_api_fault(c->resp, MD_ERR_INVALID, "drain.%s must list %zu to %zu names, not %zu", key,
                     min, max, len);
        return false;
    }
    if (len == 0)
        return true;
    char(*names)[MD_NAME_LEN] = calloc(len, sizeof *names);
    if (!names) {
        md_api_fault(c->resp, MD_ERR_NOMEM, "out of memory");
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        json_object *s = json_object_array_get_idx(v, i);
        size_t slen = s ? (size_t)json_object_get_string_len(s) : 0;
        if (!json_object_is_type(s, json_type_string) || slen == 0 || slen >= MD_NAME_LEN ||
            strlen(json_object_get_string(s)) != slen) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "drain.%s[%zu] must be a string of 1 to %d characters", key, i,
                         MD_NAME_LEN - 1);
            free(names);
            return false;
        }
        memcpy(names[i], json_object_get_string(s), slen + 1);
    }
    *out = names;
    *n = len;
    return true;
}

/* Reads the body into *q (its instances and exclude arrays are new:
 * free() them, also on failure). Answers 400 and returns false for a bad
 * body. */
static bool read_request(md_api_ctx *c, md_drain_request *q, char (**inst)[MD_NAME_LEN],
                         char (**excl)[MD_NAME_LEN])
{
    static const char *const allowed[] = {
        "destinations", "deadline_s", "permit_post_copy", "max_parallel",    "instances",
        "exclude",      "strict",     "abort_running",    "block_migration", NULL
    };
    char(*dests)[MD_NAME_LEN] = NULL;
    size_t ndests = 0;
    int64_t deadline = 0, parallel = 0;
    int strict = 0, abort_running = 0, block = 0;
    bool ok = false;

    *inst = *excl = NULL;
    memset(q, 0, sizeof *q);
    q->permit_post_copy = -1;
    json_object *j = md_api_body_object(c, "drain", allowed);
    if (!j)
        return false;
    if (!get_names(c, j, "destinations", 1, MD_DRAIN_MAX_DESTS, &dests, &ndests) ||
        !md_api_get_int(c, j, "drain", "deadline_s", 1, MD_DRAIN_MAX_DEADLINE_S, &deadline) ||
        !md_api_get_bool(c, j, "drain", "permit_post_copy", &q->permit_post_copy) ||
        !md_api_get_int(c, j, "drain", "max_parallel", 1, PLAN_MAX_PARALLEL, &parallel) ||
        !get_names(c, j, "instances", 1, MD_DRAIN_MAX_GUESTS, inst, &q->ninstances) ||
        !get_names(c, j, "exclude", 0, MD_DRAIN_MAX_GUESTS, excl, &q->nexclude) ||
        !md_api_get_bool(c, j, "drain", "strict", &strict) ||
        !md_api_get_bool(c, j, "drain", "abort_running", &abort_running) ||
        !md_api_get_bool(c, j, "drain", "block_migration", &block))
        goto cleanup;
    /* Required fields are said to be missing by name, after the types of
     * those given are checked. */
    if (!ndests) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "drain.destinations is required: the peers to move the guests to");
        goto cleanup;
    }
    if (!deadline) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "drain.deadline_s is required: seconds from now by which every guest "
                     "should be gone");
        goto cleanup;
    }
    q->ndests = ndests;
    memcpy(q->dests, dests, ndests * sizeof dests[0]);
    q->deadline_s = deadline;
    q->max_parallel = (int)parallel;
    q->strict = strict == 1;
    q->abort_running = abort_running == 1;
    q->block_migration = block == 1;
    q->instances = (const char(*)[MD_NAME_LEN]) * inst;
    q->exclude = (const char(*)[MD_NAME_LEN]) * excl;
    ok = true;

cleanup:
    free(dests);
    return ok;
}

/* ---- handlers ------------------------------------------------------------- */

static void h_create(md_api_ctx *c)
{
    md_drain_request q;
    char(*inst)[MD_NAME_LEN] = NULL, (*excl)[MD_NAME_LEN] = NULL;
    md_drain r;
    md_err err;

    md_drain_init(&r);
    if (!md_api_check_query(c, NULL) || !read_request(c, &q, &inst, &excl))
        goto cleanup;
    md_status st = md_engine_drain_create(c->deps->engine, &q, &r, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        goto cleanup;
    }
    char loc[512];
    md_api_record_href(c->deps, "/v1/drains", r.uuid, loc);
    reply_drain(c, 202, &r);
    md_api_response_header(c->resp, "Location", loc);

cleanup:
    md_drain_clear(&r);
    free(inst);
    free(excl);
}

static void h_list(md_api_ctx *c)
{
    static const char *const allowed[] = { "limit", "marker", NULL };
    md_drain *v = NULL;
    size_t n = 0, limit;
    bool none;
    const char *marker;
    md_err err;

    if (!md_api_check_query(c, allowed) || !md_api_query_limit(c, &limit, &none) ||
        !md_api_query_uuid(c, "marker", &marker))
        return;
    if (!none) {
        md_status st = md_engine_drain_list(c->deps->engine, marker, limit, &v, &n, &err);
        /* A marker that names no drain is the request's mistake, as for
         * migrations (and Nova's lists): the engine says MD_ERR_INVALID, 400. */
        if (st != MD_OK) {
            md_api_fault_err(c->resp, st, &err);
            return;
        }
    }
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, drain_json(c->deps, &v[i]));
    md_api_put(o, "drains", arr);
    md_api_put(o, "drains_links",
               md_api_next_links(c->deps, "/v1/drains", limit, n, n ? v[n - 1].uuid : ""));
    md_drain_free_array(v, n);
    md_api_reply(c->resp, 200, o);
}

static void h_show(md_api_ctx *c)
{
    md_drain r;
    md_err err;
    const char *id = md_api_path_uuid(c, "drain");

    if (!id || !md_api_check_query(c, NULL))
        return;
    md_drain_init(&r);
    md_status st = md_engine_drain_get(c->deps->engine, id, &r, &err);
    if (st != MD_OK)
        md_api_fault_err(c->resp, st, &err);
    else
        reply_drain(c, 200, &r);
    md_drain_clear(&r);
}

/* As a migration's: limit 0 still checks that the drain exists. */
static void h_events(md_api_ctx *c)
{
    md_api_reply_events(c, "drain", "/v1/drains", md_engine_drain_events);
}

static void h_delete(md_api_ctx *c)
{
    static const char *const allowed[] = { "abort_running", NULL };
    bool abort_running = false;
    md_drain r;
    md_err err;
    const char *id = md_api_path_uuid(c, "drain"), *v;

    if (!id || !md_api_check_query(c, allowed))
        return;
    if ((v = md_api_query(c, "abort_running")) != NULL) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid abort_running '%.64s': expected true or false", v);
            return;
        }
        abort_running = strcmp(v, "true") == 0;
    }
    md_status st = md_engine_drain_cancel(c->deps->engine, id, abort_running, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return;
    }
    /* The record as the cancel left it; the cancel itself is done even if
     * it cannot be read now. */
    md_drain_init(&r);
    if (md_engine_drain_get(c->deps->engine, id, &r, &err) == MD_OK)
        reply_drain(c, 202, &r);
    else
        c->resp->status = 202;
    md_drain_clear(&r);
}

const md_api_route md_api_drain_routes[] = {
    { "GET", "/v1/drains", MD_API_READ, false, h_list },
    { "POST", "/v1/drains", MD_API_CREATE, true, h_create },
    { "GET", "/v1/drains/{}", MD_API_READ, false, h_show },
    { "DELETE", "/v1/drains/{}", MD_API_ABORT, false, h_delete },
    { "GET", "/v1/drains/{}/events", MD_API_READ, false, h_events },
};
const size_t md_api_drain_nroutes = sizeof md_api_drain_routes / sizeof md_api_drain_routes[0];
