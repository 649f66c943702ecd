/* test_api_drains.c - the drain resource /v1/drains in-process (api/drains.c, api/fields.c).
 *
 * Every test runs the real engine, store and simulated hypervisor (its
 * clock stopped and moved by hand) behind the real request handler, as
 * test_api_v1.c does, with two peers configured (node-b, node-c). Every
 * answer is checked by md_test_handle(): no 5xx, and every error a Nova
 * fault whose code is its status. Expected values come from issue 11's API
 * (the common brief's drain design) and DESIGN.md section 6 for the shapes
 * shared with migrations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"
#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/check.h"
#include "tests/support/fixture.h"

#define BASE "http://127.0.0.1:8775"

typedef md_test_stack fixture;
typedef md_test_reply reply;

static md_test_fixture_spec spec = {
    .tag = "api-drains",
    .vms = MD_TEST_VM_A | MD_TEST_VM_B,
};

static md_test_fixture_spec busy_spec = {
    .tag = "api-drains",
    .vms = MD_TEST_VM_A | MD_TEST_VM_BUSY,
};

/* A drain body to the peers with deadline_s 600 and extra fields (", ..."
 * or ""). */
#define DRAIN(extra) "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 600" extra "}}"

/* ---- fixture ------------------------------------------------------------------- */

/* Starts the stack with the peers and the API, and waits (bounded) until
 * the monitor has listed the node's domains, which a drain takes its
 * guests from. */
static fixture *start(void **state, int max_body)
{
    fixture *f = *state;
    md_hv_domain *v = NULL;
    size_t n = 0;
    md_err err;

    md_test_stack_add_peer(f, "node-b", "192.0.2.2", "", 0);
    md_test_stack_add_peer(f, "node-c", "192.0.2.3", "", 0);
    if (max_body)
        f->cfg->api.max_body_bytes = max_body;
    md_test_fixture_start(f, true);
    for (int waited = 0; waited < MD_TEST_WAIT_MS; waited += 20) {
        assert_int_equal(md_engine_domains(f->eng, &v, &n, &err), MD_OK);
        free(v);
        if (n > 0)
            return f;
        md_test_sleep_ms(20);
    }
    fail_msg("the monitor listed no domain within %d ms", MD_TEST_WAIT_MS);
    return f;
}

/* ---- requests ------------------------------------------------------------------ */

/* POSTs body, expects 202 with the record and a Location naming it;
 * returns its uuid. */
static void create(fixture *f, const char *body, char uuid[37])
{
    char want[128];
    reply r = md_test_call(f, "POST", "/v1/drains", body);

    if (r.status != 202)
        fail_msg("POST /v1/drains %s: %d %s", body, r.status, r.raw.body ? r.raw.body : "");
    json_object *d = md_test_json_get(r.json, "drain");
    snprintf(uuid, 37, "%s", md_test_json_str(d, "uuid"));
    assert_true(md_uuid_valid(uuid));
    snprintf(want, sizeof want, BASE "/v1/drains/%s", uuid);
    assert_non_null(md_test_reply_header(&r, "Location"));
    assert_string_equal(md_test_reply_header(&r, "Location"), want);
    md_test_reply_free(&r);
}

/* GET /v1/drains/{uuid}: the record (owned by *r). */
static json_object *show(fixture *f, const char *uuid, reply *r)
{
    return md_test_show(f, "/v1/drains", "drain", uuid, r);
}

/* Cancels drain uuid (abort_running=true) and waits for it to end
 * cancelled. */
static void cancel(fixture *f, const char *uuid)
{
    char path[160];

    snprintf(path, sizeof path, "/v1/drains/%s?abort_running=true", uuid);
    reply r = md_test_call(f, "DELETE", path, NULL);
    if (r.status != 202)
        fail_msg("DELETE %s: %d %s", path, r.status, r.raw.body ? r.raw.body : "");
    md_test_reply_free(&r);
    assert_int_equal(md_engine_drain_wait(f->eng, uuid, MD_TEST_WAIT_MS), MD_DRAIN_CANCELLED);
}

/* Predicates for md_test_drive_drain(). */
static bool drain_ended(const md_drain *d)
{
    return !md_drain_state_in_progress(d->state);
}

static bool one_guest_migrating(const md_drain *d)
{
    return d->nguests == 1 && d->guests[0].state == MD_DG_MIGRATING;
}

/* ---- the routes' role classes ---------------------------------------------------- */

/* Reads need roles.list, a start roles.create, a cancel (which may abort
 * migrations) roles.abort: api.c authorises each route by its class. */
static void routes_need_list_create_and_abort_roles(void **state)
{
    static const struct {
        const char *method, *pattern;
        md_api_role role;
        bool json_body;
    } want[] = {
        { "GET", "/v1/drains", MD_API_READ, false },
        { "POST", "/v1/drains", MD_API_CREATE, true },
        { "GET", "/v1/drains/{}", MD_API_READ, false },
        { "DELETE", "/v1/drains/{}", MD_API_ABORT, false },
        { "GET", "/v1/drains/{}/events", MD_API_READ, false },
    };

    (void)state;
    assert_int_equal(md_api_drain_nroutes, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        bool found = false;
        for (size_t k = 0; k < md_api_drain_nroutes; k++) {
            const md_api_route *r = &md_api_drain_routes[k];
            if (strcmp(r->method, want[i].method) || strcmp(r->pattern, want[i].pattern))
                continue;
            found = true;
            assert_int_equal(r->role, want[i].role);
            assert_int_equal(r->json_body, want[i].json_body);
        }
        if (!found)
            fail_msg("no route %s %s", want[i].method, want[i].pattern);
    }
}

/* ---- the happy path ------------------------------------------------------------------ */

static void drain_is_started_shown_listed_and_cancelled(void **state)
{
    char uuid[37], path[160];
    reply r;
    fixture *f = start(state, 0);

    create(f,
           "{\"drain\": {\"destinations\": [\"node-b\", \"node-c\"], \"deadline_s\": 900, "
           "\"permit_post_copy\": true, \"max_parallel\": 2, \"strict\": false, "
           "\"abort_running\": true, \"block_migration\": true}}",
           uuid);
    json_object *d = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(d, "uuid"), uuid);
    assert_string_equal(md_test_json_str(d, "source_compute"), "node-a");
    json_object *dests = md_test_json_get(d, "destinations");
    assert_int_equal(json_object_array_length(dests), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(dests, 0)), "node-b");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(dests, 1)), "node-c");
    assert_int_equal(md_test_json_int(d, "deadline_s"), 900);
    int64_t created, deadline;
    assert_true(md_api_time_parse(md_test_json_str(d, "created_at"), &created));
    assert_true(md_api_time_parse(md_test_json_str(d, "deadline_at"), &deadline));
    assert_int_equal(deadline - created, 900 * 1000);
    assert_true(json_object_get_boolean(md_test_json_get(d, "permit_post_copy")));
    assert_int_equal(md_test_json_int(d, "max_parallel"), 2);
    assert_false(json_object_get_boolean(md_test_json_get(d, "strict")));
    assert_true(json_object_get_boolean(md_test_json_get(d, "abort_running")));
    assert_true(json_object_get_boolean(md_test_json_get(d, "block_migration")));
    assert_true(md_test_json_is_null(d, "ended_at"));
    assert_true(md_test_json_is_null(d, "error"));
    assert_int_equal(md_test_json_int(d, "guests_total"), 2);
    assert_int_equal(md_test_json_int(d, "guests_done") + md_test_json_int(d, "guests_failed") +
                         md_test_json_int(d, "guests_remaining"),
                     2);
    json_object *guests = md_test_json_get(d, "guests");
    assert_int_equal(json_object_array_length(guests), 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *g = json_object_array_get_idx(guests, i);
        const char *name = md_test_json_str(g, "instance_name");
        assert_true(strcmp(name, "vm-a") == 0 || strcmp(name, "vm-b") == 0);
        assert_true(md_uuid_valid(md_test_json_str(g, "instance_uuid")));
        const char *mode = md_test_json_str(g, "mode");
        assert_true(strcmp(mode, "pre-copy") == 0 || strcmp(mode, "post-copy") == 0);
        assert_int_equal(md_test_json_int(g, "ram_bytes"), 1024LL * 1024 * 1024);
        assert_true(json_object_object_get_ex(g, "predicted_duration_s", NULL));
        assert_true(json_object_object_get_ex(g, "actual_duration_s", NULL));
    }
    json_object *links = md_test_json_get(d, "links");
    json_object *self = json_object_array_get_idx(links, 0);
    snprintf(path, sizeof path, BASE "/v1/drains/%s", uuid);
    assert_string_equal(md_test_json_str(self, "rel"), "self");
    assert_string_equal(md_test_json_str(self, "href"), path);
    md_test_reply_free(&r);

    /* The list holds it; one page, no next link. */
    r = md_test_call(f, "GET", "/v1/drains", NULL);
    assert_int_equal(r.status, 200);
    json_object *list = md_test_json_get(r.json, "drains");
    assert_int_equal(json_object_array_length(list), 1);
    assert_string_equal(md_test_json_str(json_object_array_get_idx(list, 0), "uuid"), uuid);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "drains_links")), 0);
    md_test_reply_free(&r);

    /* Its timeline has at least the start. */
    snprintf(path, sizeof path, "/v1/drains/%s/events", uuid);
    r = md_test_call(f, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    json_object *ev = md_test_json_get(r.json, "events");
    assert_true(json_object_array_length(ev) >= 1);
    json_object *first = json_object_array_get_idx(ev, 0);
    assert_true(md_test_json_int(first, "id") > 0);
    assert_true(md_test_json_str(first, "kind")[0] != '\0');
    md_test_reply_free(&r);
    snprintf(path, sizeof path, "/v1/drains/%s/events?limit=0", uuid);
    r = md_test_call(f, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "events")), 0);
    md_test_reply_free(&r);

    /* One drain at a time. */
    md_test_expect_fault_call(f, "POST", "/v1/drains", DRAIN(""), 409, NULL);

    /* Cancelled: the record says so, a second cancel is a conflict. */
    cancel(f, uuid);
    d = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(d, "state"), "cancelled");
    assert_false(md_test_json_is_null(d, "ended_at"));
    md_test_reply_free(&r);
    snprintf(path, sizeof path, "/v1/drains/%s", uuid);
    md_test_expect_fault_call(f, "DELETE", path, NULL, 409, NULL);

    /* With none in progress, another may start. */
    create(f, DRAIN(", \"instances\": [\"vm-a\"]"), uuid);
    d = show(f, uuid, &r);
    assert_int_equal(md_test_json_int(d, "guests_total"), 1);
    md_test_reply_free(&r);
    cancel(f, uuid);
}

/* Guests that finish: the drain completes, each guest names its migration,
 * which names the drain, and the migrations' list filters on it. */
static void drain_completes_and_its_migrations_name_it(void **state)
{
    char uuid[37], path[160];
    reply r;
    md_drain dr;
    fixture *f = start(state, 0);

    create(f, DRAIN(""), uuid);
    md_test_drive_drain(f, uuid, 0.5, drain_ended, &dr);
    md_drain_clear(&dr);
    json_object *d = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(d, "state"), "completed");
    assert_int_equal(md_test_json_int(d, "guests_done"), 2);
    assert_int_equal(md_test_json_int(d, "guests_remaining"), 0);
    assert_false(md_test_json_is_null(d, "ended_at"));
    json_object *guests = md_test_json_get(d, "guests");
    char mig[2][37];
    for (size_t i = 0; i < 2; i++) {
        json_object *g = json_object_array_get_idx(guests, i);
        assert_string_equal(md_test_json_str(g, "state"), "done");
        assert_string_equal(md_test_json_str(g, "dest_compute"), "node-b");
        assert_true(md_uuid_valid(md_test_json_str(g, "migration_uuid")));
        snprintf(mig[i], sizeof mig[i], "%s", md_test_json_str(g, "migration_uuid"));
        assert_false(md_test_json_is_null(g, "actual_duration_s"));
        assert_false(md_test_json_is_null(g, "started_at"));
        assert_false(md_test_json_is_null(g, "ended_at"));
        assert_true(json_object_get_double(md_test_json_get(g, "actual_duration_s")) >= 0.0);
    }
    md_test_reply_free(&r);

    snprintf(path, sizeof path, "/v1/os-migrations?drain_uuid=%s", uuid);
    r = md_test_call(f, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    json_object *list = md_test_json_get(r.json, "migrations");
    assert_int_equal(json_object_array_length(list), 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *m = json_object_array_get_idx(list, i);
        assert_string_equal(md_test_json_str(m, "drain_uuid"), uuid);
        const char *u = md_test_json_str(m, "uuid");
        assert_true(strcmp(u, mig[0]) == 0 || strcmp(u, mig[1]) == 0);
    }
    md_test_reply_free(&r);
    /* Another drain's filter selects none of them. */
    r = md_test_call(f, "GET", "/v1/os-migrations?drain_uuid=" MD_TEST_GHOST, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 0);
    md_test_reply_free(&r);
}

/* A cancel with abort_running ends the busy guest's migration cancelled;
 * the drain ends cancelled with it. */
static void cancel_with_abort_running_aborts_the_running_migration(void **state)
{
    char uuid[37];
    reply r;
    md_drain dr;
    fixture *f = start(state, 0);

    create(f, DRAIN(", \"instances\": [\"vm-busy\"]"), uuid);
    /* Until its migration runs. */
    md_test_drive_drain(f, uuid, 0.2, one_guest_migrating, &dr);
    assert_int_equal(dr.guests[0].state, MD_DG_MIGRATING);
    char mig[37];
    snprintf(mig, sizeof mig, "%s", dr.guests[0].migration_uuid);
    md_drain_clear(&dr);
    cancel(f, uuid);
    md_test_expect_state(f, mig, md_test_is_final, MD_MIG_CANCELLED);
    json_object *d = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(d, "state"), "cancelled");
    md_test_reply_free(&r);
}

/* ---- paging ----------------------------------------------------------------------- */

static void list_pages_by_limit_and_marker(void **state)
{
    char u[3][37], want[256];
    fixture *f = start(state, 0);

    for (int i = 0; i < 3; i++) {
        create(f, DRAIN(""), u[i]);
        cancel(f, u[i]);
    }
    reply r = md_test_call(f, "GET", "/v1/drains?limit=2", NULL);
    assert_int_equal(r.status, 200);
    json_object *list = md_test_json_get(r.json, "drains");
    assert_int_equal(json_object_array_length(list), 2);
    /* Newest first. */
    assert_string_equal(md_test_json_str(json_object_array_get_idx(list, 0), "uuid"), u[2]);
    assert_string_equal(md_test_json_str(json_object_array_get_idx(list, 1), "uuid"), u[1]);
    json_object *links = md_test_json_get(r.json, "drains_links");
    assert_int_equal(json_object_array_length(links), 1);
    json_object *next = json_object_array_get_idx(links, 0);
    assert_string_equal(md_test_json_str(next, "rel"), "next");
    snprintf(want, sizeof want, BASE "/v1/drains?limit=2&marker=%s", u[1]);
    assert_string_equal(md_test_json_str(next, "href"), want);
    md_test_reply_free(&r);

    snprintf(want, sizeof want, "/v1/drains?limit=2&marker=%s", u[1]);
    r = md_test_call(f, "GET", want, NULL);
    assert_int_equal(r.status, 200);
    list = md_test_json_get(r.json, "drains");
    assert_int_equal(json_object_array_length(list), 1);
    assert_string_equal(md_test_json_str(json_object_array_get_idx(list, 0), "uuid"), u[0]);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "drains_links")), 0);
    md_test_reply_free(&r);

    r = md_test_call(f, "GET", "/v1/drains?limit=0", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "drains")), 0);
    md_test_reply_free(&r);
}

/* ---- refusals --------------------------------------------------------------------- */

/* Each bad field is a 400 that names it, and nothing is started. */
static void bad_bodies_are_400_naming_the_field(void **state)
{
    static const struct {
        const char *body, *text;
    } cases[] = {
        { "{}", "The body must be {\"drain\": {...}}" },
        { "{\"drain\": {}, \"x\": 1}", "The body must be {\"drain\"" },
        { "{\"migration\": {}}", "The body must be {\"drain\"" },
        { "{\"drain\": []}", "\"drain\" must be an object" },
        { "{\"drain\": null}", "\"drain\" must be an object" },
        { DRAIN(", \"dealine_s\": 5"), "Unknown field drain.dealine_s" },
        { "{\"drain\": {\"deadline_s\": 600}}", "drain.destinations is required" },
        { "{\"drain\": {\"destinations\": \"node-b\", \"deadline_s\": 600}}",
          "drain.destinations must be an array" },
        { "{\"drain\": {\"destinations\": [], \"deadline_s\": 600}}",
          "drain.destinations must list 1 to 16 names, not 0" },
        { "{\"drain\": {\"destinations\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\","
          "\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"], \"deadline_s\": 600}}",
          "drain.destinations must list 1 to 16 names, not 17" },
        { "{\"drain\": {\"destinations\": [1], \"deadline_s\": 600}}",
          "drain.destinations[0] must be a string" },
        { "{\"drain\": {\"destinations\": [\"node-b\", null], \"deadline_s\": 600}}",
          "drain.destinations[1] must be a string" },
        { "{\"drain\": {\"destinations\": [\"\"], \"deadline_s\": 600}}",
          "drain.destinations[0] must be a string of 1 to 255" },
        { "{\"drain\": {\"destinations\": [\"node\\u0000b\"], \"deadline_s\": 600}}",
          "drain.destinations[0]" },
        { "{\"drain\": {\"destinations\": [{\"name\": \"node-b\"}], \"deadline_s\": 600}}",
          "drain.destinations[0]" },
        { "{\"drain\": {\"destinations\": [\"node-b\"]}}", "drain.deadline_s is required" },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 0}}",
          "drain.deadline_s must be an integer from 1 to 604800" },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": -60}}",
          "drain.deadline_s must be an integer" },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 604801}}",
          "drain.deadline_s must be an integer" },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 99999999999999999999999}}",
          "drain.deadline_s must be an integer" },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 60.5}}",
          "drain.deadline_s must be an integer" },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": \"600\"}}",
          "drain.deadline_s must be an integer" },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": true}}",
          "drain.deadline_s must be an integer" },
        { DRAIN(", \"permit_post_copy\": \"yes\""),
          "drain.permit_post_copy must be true or false" },
        { DRAIN(", \"permit_post_copy\": 1"), "drain.permit_post_copy must be true or false" },
        { DRAIN(", \"max_parallel\": 0"), "drain.max_parallel must be an integer from 1 to 16" },
        { DRAIN(", \"max_parallel\": 17"), "drain.max_parallel must be an integer from 1 to 16" },
        { DRAIN(", \"max_parallel\": [2]"), "drain.max_parallel must be an integer" },
        { DRAIN(", \"instances\": []"), "drain.instances must list 1 to 1000 names, not 0" },
        { DRAIN(", \"instances\": \"vm-a\""), "drain.instances must be an array" },
        { DRAIN(", \"instances\": {\"vm-a\": 1}"), "drain.instances must be an array" },
        { DRAIN(", \"instances\": [[\"vm-a\"]]"), "drain.instances[0] must be a string" },
        { DRAIN(", \"instances\": [\"vm-a\", 7]"), "drain.instances[1] must be a string" },
        { DRAIN(", \"exclude\": \"vm-a\""), "drain.exclude must be an array" },
        { DRAIN(", \"exclude\": [false]"), "drain.exclude[0] must be a string" },
        { DRAIN(", \"strict\": null"), "drain.strict must be true or false" },
        { DRAIN(", \"strict\": \"true\""), "drain.strict must be true or false" },
        { DRAIN(", \"abort_running\": 0"), "drain.abort_running must be true or false" },
        /* json-c refuses what is nested deeper than it parses. */
        { "{\"drain\": {\"destinations\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
          "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], \"deadline_s\": 600}}",
          NULL },
        { "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 600}", "Malformed" },
        /* Not UTF-8: refused by the parser, never echoed into a record. */
        { "{\"drain\": {\"destinations\": [\"node-\xff\xfe\"], \"deadline_s\": 600}}",
          "Malformed" },
    };
    fixture *f = start(state, 0);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = md_test_call(f, "POST", "/v1/drains", cases[i].body);
        if (r.status != 400)
            fail_msg("case %zu %s: %d, want 400: %s", i, cases[i].body, r.status,
                     r.raw.body ? r.raw.body : "");
        md_test_expect_fault(r, 400, cases[i].text);
    }
    md_test_expect_fault_call(f, "POST", "/v1/drains?strict=true", DRAIN(""), 400,
                              "unknown parameter");
    /* Nothing was started by any of them. */
    reply r = md_test_call(f, "GET", "/v1/drains", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "drains")), 0);
    md_test_reply_free(&r);
}

/* What only the engine can judge: a destination that is not a peer, an
 * instance that is not here, a guest list empty after exclusions. */
static void requests_the_engine_refuses_are_400(void **state)
{
    fixture *f = start(state, 0);

    md_test_expect_fault_call(f, "POST", "/v1/drains",
                              "{\"drain\": {\"destinations\": [\"node-z\"], \"deadline_s\": 600}}",
                              400, "node-z");
    md_test_expect_fault_call(f, "POST", "/v1/drains", DRAIN(", \"instances\": [\"vm-nowhere\"]"),
                              400, "vm-nowhere");
    md_test_expect_fault_call(f, "POST", "/v1/drains", DRAIN(", \"exclude\": [\"vm-a\", \"vm-b\"]"),
                              400, NULL);
    reply r = md_test_call(f, "GET", "/v1/drains", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "drains")), 0);
    md_test_reply_free(&r);
}

/* 1001 instances: a 400 that says how many, before anything is copied. */
static void a_thousand_and_one_instances_are_400(void **state)
{
    size_t cap = 1001 * 16 + 256, len = 0;
    char *body = malloc(cap);
    fixture *f = start(state, (int)cap);

    assert_non_null(body);
    len += (size_t)snprintf(body + len, cap - len,
                            "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 600, "
                            "\"instances\": [");
    for (int i = 0; i < 1001; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s\"vm-%d\"", i ? "," : "", i);
    snprintf(body + len, cap - len, "]}}");
    md_test_expect_fault_call(f, "POST", "/v1/drains", body, 400,
                              "drain.instances must list 1 to 1000 names, not 1001");
    free(body);
}

static void unknown_and_malformed_ids_and_queries_are_refused(void **state)
{
    fixture *f = start(state, 0);
    char uuid[37], path[160];

    md_test_expect_fault_call(f, "GET", "/v1/drains/" MD_TEST_GHOST, NULL, 404, NULL);
    md_test_expect_fault_call(f, "GET", "/v1/drains/" MD_TEST_GHOST "/events", NULL, 404, NULL);
    md_test_expect_fault_call(f, "DELETE", "/v1/drains/" MD_TEST_GHOST, NULL, 404, NULL);
    md_test_expect_fault_call(f, "GET", "/v1/drains/not-a-uuid", NULL, 400,
                              "Invalid drain id not-a-uuid");
    md_test_expect_fault_call(f, "GET", "/v1/drains/not-a-uuid/events", NULL, 400,
                              "Invalid drain id");
    md_test_expect_fault_call(f, "DELETE", "/v1/drains/not-a-uuid", NULL, 400, "Invalid drain id");
    md_test_expect_fault_call(f, "GET", "/v1/drains?marker=nope", NULL, 400,
                              "Invalid marker 'nope'");
    md_test_expect_fault_call(f, "GET", "/v1/drains?marker=" MD_TEST_GHOST, NULL, 400,
                              "could not be found");
    md_test_expect_fault_call(f, "GET", "/v1/drains?limit=-1", NULL, 400, "Invalid limit '-1'");
    md_test_expect_fault_call(f, "GET", "/v1/drains?limit=ten", NULL, 400, "Invalid limit");
    md_test_expect_fault_call(f, "GET", "/v1/drains?status=running", NULL, 400,
                              "unknown parameter 'status'");
    md_test_expect_fault_call(f, "GET", "/v1/os-migrations?drain_uuid=nope", NULL, 400,
                              "Invalid drain_uuid 'nope'");
    md_test_expect_fault(md_test_call(f, "PUT", "/v1/drains/" MD_TEST_GHOST, DRAIN("")), 405, NULL);

    create(f, DRAIN(""), uuid);
    snprintf(path, sizeof path, "/v1/drains/%s?verbose=1", uuid);
    md_test_expect_fault_call(f, "GET", path, NULL, 400, "unknown parameter 'verbose'");
    snprintf(path, sizeof path, "/v1/drains/%s/events?marker=0", uuid);
    md_test_expect_fault_call(f, "GET", path, NULL, 400, "Invalid marker '0'");
    snprintf(path, sizeof path, "/v1/drains/%s/events?after=1", uuid);
    md_test_expect_fault_call(f, "GET", path, NULL, 400, "unknown parameter 'after'");
    snprintf(path, sizeof path, "/v1/drains/%s?abort_running=yes", uuid);
    md_test_expect_fault_call(f, "DELETE", path, NULL, 400, "Invalid abort_running 'yes'");
    snprintf(path, sizeof path, "/v1/drains/%s?force=true", uuid);
    md_test_expect_fault_call(f, "DELETE", path, NULL, 400, "unknown parameter 'force'");
    /* None of those cancelled it. */
    reply r;
    json_object *d = show(f, uuid, &r);
    assert_true(strcmp(md_test_json_str(d, "state"), "planning") == 0 ||
                strcmp(md_test_json_str(d, "state"), "running") == 0);
    md_test_reply_free(&r);
    cancel(f, uuid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_need_list_create_and_abort_roles),
        MD_TEST_FIXTURE(drain_is_started_shown_listed_and_cancelled, &spec),
        MD_TEST_FIXTURE(drain_completes_and_its_migrations_name_it, &spec),
        MD_TEST_FIXTURE(cancel_with_abort_running_aborts_the_running_migration, &busy_spec),
        MD_TEST_FIXTURE(list_pages_by_limit_and_marker, &spec),
        MD_TEST_FIXTURE(bad_bodies_are_400_naming_the_field, &spec),
        MD_TEST_FIXTURE(requests_the_engine_refuses_are_400, &spec),
        MD_TEST_FIXTURE(a_thousand_and_one_instances_are_400, &spec),
        MD_TEST_FIXTURE(unknown_and_malformed_ids_and_queries_are_refused, &spec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
