/* test_api_v1.c - the /v1 REST API, version document and healthcheck, in-process (api/api.c, api/v1.c).
 *
 * Every test runs the real engine, store and simulated hypervisor (its
 * clock stopped and moved by hand, as in test_engine.c) behind the real
 * request handler, without sockets: a request is an md_api_request built
 * here, the answer is parsed with json-c. Expected values come from
 * DESIGN.md section 6 (routes, fields, status codes, Nova fault names).
 * Every error answer of every call is checked to be a Nova fault whose
 * code is the HTTP status, and no call may answer 500.
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
#include "service/engine.h"
#include "tests/support/check.h"
#include "service/hv_sim.h"
#include "tests/support/fixture.h"

/* The default api.listen, from which links are built (DESIGN.md section 4). */
#define BASE "http://127.0.0.1:8775"

typedef md_test_stack fixture;
typedef md_test_reply reply;
/* The shared checks of tests/support, by the short names the tests use. */
#define expect_fault md_test_expect_fault
#define expect_fault_call md_test_expect_fault_call
#define is_null md_test_json_is_null

/* ---- fixture ------------------------------------------------------------------- */

/* Every test's fixture: a new stack with these domains. */
static md_test_fixture_spec spec = {
    .tag = "api-v1",
    .vms = MD_TEST_VM_A | MD_TEST_VM_B | MD_TEST_VM_BUSY | MD_TEST_VM_BUSY2,
};

/* ---- requests ------------------------------------------------------------------ */

/* A request with an optional body and the given content type. */
static reply call_ct(fixture *f, const char *method, const char *target, const char *ctype,
                     const char *body)
{
    md_test_headers h = { .content_type = ctype };

    return md_test_call_h(f, method, target, &h, body);
}

/* ---- migrations ------------------------------------------------------------------- */

/* POSTs a migration of instance (a UUID or a name) to node-b with extra
 * fields (", ..." or ""), expects 202 and returns its uuid. */
static void create_ex(fixture *f, const char *instance, const char *extra, char uuid[37])
{
    char body[1024];
    const char *key = md_uuid_valid(instance) ? "instance_uuid" : "instance_name";

    snprintf(body, sizeof body, "{\"migration\": {\"%s\": \"%s\", \"dest_compute\": \"node-b\"%s}}",
             key, instance, extra);
    reply r = md_test_call(f, "POST", "/v1/os-migrations", body);
    if (r.status != 202)
        fail_msg("create %s: %d %s", instance, r.status, r.raw.body ? r.raw.body : "");
    json_object *m = md_test_json_get(r.json, "migration");
    snprintf(uuid, 37, "%s", md_test_json_str(m, "uuid"));
    md_test_reply_free(&r);
}

static void create(fixture *f, const char *instance, char uuid[37])
{
    create_ex(f, instance, "", uuid);
}

/* GET /v1/os-migrations/{uuid}: the record (owned by *r). */
static json_object *show(fixture *f, const char *uuid, reply *r)
{
    return md_test_show(f, "/v1/os-migrations", "migration", uuid, r);
}

static void expect_status(fixture *f, const char *uuid, const char *want)
{
    reply r;
    json_object *m = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(m, "status"), want);
    md_test_reply_free(&r);
}

/* PUT {"migration": {body}} on uuid. */
static reply put(fixture *f, const char *uuid, const char *inner)
{
    char path[128], body[512];

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    snprintf(body, sizeof body, "{\"migration\": %s}", inner);
    return md_test_call(f, "PUT", path, body);
}

/* ---- version document and healthcheck ------------------------------------------- */

static void check_version_document(json_object *o)
{
    json_object *versions = md_test_json_get(o, "versions");
    assert_true(json_object_is_type(versions, json_type_array));
    assert_int_equal(json_object_array_length(versions), 2);
    bool v1 = false, v21 = false;
    for (size_t i = 0; i < 2; i++) {
        json_object *v = json_object_array_get_idx(versions, i);
        json_object *link = json_object_array_get_idx(md_test_json_get(v, "links"), 0);
        assert_string_equal(md_test_json_str(link, "rel"), "self");
        if (strcmp(md_test_json_str(v, "id"), "v1") == 0) {
            v1 = true;
            assert_string_equal(md_test_json_str(v, "status"), "CURRENT");
            assert_string_equal(md_test_json_str(link, "href"), BASE "/v1/");
        } else if (strcmp(md_test_json_str(v, "id"), "v2.1") == 0) {
            v21 = true;
            /* Nova's compute API: microversions 2.1 to 2.80. */
            assert_string_equal(md_test_json_str(v, "min_version"), "2.1");
            assert_string_equal(md_test_json_str(v, "version"), "2.80");
            assert_string_equal(md_test_json_str(link, "href"), BASE "/v2.1/");
        }
    }
    assert_true(v1 && v21);
    json_object *me = md_test_json_get(o, "migrationd");
    assert_string_equal(md_test_json_str(me, "hypervisor"), "simulator");
    assert_true(md_test_json_bool(me, "simulated"));
    assert_string_equal(md_test_json_str(me, "host"), "node-a");
    assert_true(strlen(md_test_json_str(me, "version")) > 0);
}

static void root_is_the_version_document_naming_the_simulator(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, true);
    reply r = md_test_call(f, "GET", "/", NULL);
    assert_int_equal(r.status, 200);
    check_version_document(r.json);
    md_test_reply_free(&r);
    r = md_test_call(f, "GET", "/v1", NULL);
    assert_int_equal(r.status, 200);
    check_version_document(r.json);
    md_test_reply_free(&r);
}

static void healthcheck_reports_ok_and_the_engine_counts(void **state)
{
    fixture *f = *state;
    char a[37], b[37];

    md_test_fixture_start(f, true);
    reply r = md_test_call(f, "GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(md_test_json_str(r.json, "status"), "ok");
    assert_int_equal(md_test_json_int(r.json, "running"), 0);
    assert_int_equal(md_test_json_int(r.json, "queued"), 0);
    assert_string_equal(md_test_json_str(r.json, "hypervisor"), "simulator");
    md_test_reply_free(&r);

    create(f, MD_TEST_BUSY, a);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    create(f, MD_TEST_IDLE_A, b); /* one worker: waits behind the busy one */
    r = md_test_call(f, "GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(md_test_json_int(r.json, "running"), 1);
    assert_int_equal(md_test_json_int(r.json, "queued"), 1);
    md_test_reply_free(&r);

    expect_fault_call(f, "GET", "/healthcheck?verbose=1", NULL, 400, "verbose");
}

/* ---- create ------------------------------------------------------------------------ */

static void create_answers_202_with_the_record_and_its_location(void **state)
{
    fixture *f = *state;
    static const char *const fields[] = { "id",
                                          "uuid",
                                          "status",
                                          "migration_type",
                                          "instance_uuid",
                                          "instance_name",
                                          "source_compute",
                                          "dest_compute",
                                          "dest_host",
                                          "created_at",
                                          "updated_at",
                                          "memory_total_bytes",
                                          "memory_processed_bytes",
                                          "memory_remaining_bytes",
                                          "disk_total_bytes",
                                          "disk_processed_bytes",
                                          "disk_remaining_bytes",
                                          "progress",
                                          "memory_iteration",
                                          "transfer_rate",
                                          "dirty_rate",
                                          "max_downtime_ms",
                                          "downtime_ms",
                                          "post_copy",
                                          "paused",
                                          "error",
                                          "recovery_attempts",
                                          "recovery_started_at",
                                          "links",
                                          NULL };

    md_test_fixture_start(f, true);
    reply r = md_test_call(f, "POST", "/v1/os-migrations",
                           "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                           "\"dest_compute\": \"node-b\", \"dest_host\": \"node-b.migration\", "
                           "\"block_migration\": false, \"permit_post_copy\": true, "
                           "\"max_downtime_ms\": 300, \"bandwidth_mibps\": 100, "
                           "\"timeout_action\": \"force_complete\"}}");
    assert_int_equal(r.status, 202);
    json_object *m = md_test_json_get(r.json, "migration");
    for (size_t i = 0; fields[i]; i++)
        md_test_json_get(m, fields[i]);
    const char *uuid = md_test_json_str(m, "uuid");
    assert_true(md_uuid_valid(uuid));
    assert_true(md_test_json_int(m, "id") > 0);
    assert_string_equal(md_test_json_str(m, "status"), "queued");
    assert_string_equal(md_test_json_str(m, "migration_type"), "live-migration");
    assert_string_equal(md_test_json_str(m, "instance_uuid"), MD_TEST_BUSY);
    assert_string_equal(md_test_json_str(m, "source_compute"), "node-a");
    assert_string_equal(md_test_json_str(m, "dest_compute"), "node-b");
    assert_string_equal(md_test_json_str(m, "dest_host"), "node-b.migration");
    assert_int_equal(md_test_json_int(m, "progress"), 0);
    assert_int_equal(md_test_json_int(m, "max_downtime_ms"), 300);
    assert_false(md_test_json_bool(m, "post_copy"));
    assert_false(md_test_json_bool(m, "paused"));
    assert_true(is_null(m, "error"));
    assert_true(is_null(m, "downtime_ms"));
    assert_int_equal(md_test_json_int(m, "recovery_attempts"), 0);
    assert_true(is_null(m, "recovery_started_at"));
    /* Nova's time format: 2026-11-21T23:51:24.847000 */
    const char *t = md_test_json_str(m, "created_at");
    assert_int_equal(strlen(t), 26);
    assert_true(t[4] == '-' && t[10] == 'T' && t[19] == '.');

    char want[128];
    snprintf(want, sizeof want, BASE "/v1/os-migrations/%s", uuid);
    assert_non_null(md_test_reply_header(&r, "Location"));
    assert_string_equal(md_test_reply_header(&r, "Location"), want);
    json_object *link = json_object_array_get_idx(md_test_json_get(m, "links"), 0);
    assert_string_equal(md_test_json_str(link, "rel"), "self");
    assert_string_equal(md_test_json_str(link, "href"), want);
    md_test_reply_free(&r);
}

static void create_by_name_takes_the_configuration_defaults(void **state)
{
    fixture *f = *state;
    char uuid[37];
    reply r;

    md_test_fixture_start(f, true);
    create(f, "vm-a", uuid);
    json_object *m = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(m, "instance_name"), "vm-a");
    /* The defaults of DESIGN.md section 4. */
    assert_int_equal(md_test_json_int(m, "max_downtime_ms"), 500);
    assert_string_equal(md_test_json_str(m, "dest_host"), "node-b");
    assert_string_equal(md_test_json_str(m, "timeout_action"), "abort");
    assert_false(md_test_json_bool(m, "permit_post_copy"));
    md_test_reply_free(&r);
}

static void create_refuses_a_second_migration_of_the_same_instance(void **state)
{
    fixture *f = *state;
    char a[37];

    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, a);
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"dest_compute\": \"node-c\"}}",
                      409, a);
    /* By name, the same domain. */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_name\": \"vm-busy\", "
                      "\"dest_compute\": \"node-c\"}}",
                      409, NULL);
}

static void create_refuses_the_node_itself_as_destination(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, true);
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"dest_compute\": \"node-a\"}}",
                      400, "node-a");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"dest_compute\": \"node-b/../x\"}}",
                      400, "dest_compute");
}

/* With peers, a destination not listed is a bad request whose message
 * names the list, and it leaves no record; a listed one is accepted. */
static void create_refuses_a_destination_that_is_not_a_peer(void **state)
{
    fixture *f = *state;
    md_config_peer *p = &f->cfg->peers.list[0];
    md_store_filter flt;
    md_migration *v = NULL;
    size_t before = 0, after = 0;
    char uuid[37];

    snprintf(p->name, sizeof p->name, "node-b");
    snprintf(p->address, sizeof p->address, "10.0.0.2");
    f->cfg->peers.count = 1;
    md_test_fixture_start(f, true);
    memset(&flt, 0, sizeof flt);
    assert_int_equal(md_store_list(f->store, &flt, &v, &before, NULL), MD_OK);
    free(v);
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"dest_compute\": \"node-x\"}}",
                      400, "the configured peers are node-b");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"dest_compute\": \"node-b\", \"dest_host\": \"198.51.100.7\"}}",
                      400, "not an address of node-b");
    v = NULL;
    assert_int_equal(md_store_list(f->store, &flt, &v, &after, NULL), MD_OK);
    free(v);
    assert_int_equal(after, before);

    create(f, MD_TEST_BUSY, uuid);
    reply r;
    json_object *m = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(m, "dest_compute"), "node-b");
    assert_string_equal(md_test_json_str(m, "dest_host"), "10.0.0.2");
    md_test_reply_free(&r);
}

static void create_refuses_missing_ambiguous_and_unknown_fields(void **state)
{
    fixture *f = *state;
    char big[600];

    md_test_fixture_start(f, true);
    /* Both instance fields, neither, no destination. */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"instance_name\": \"vm-busy\", \"dest_compute\": \"node-b\"}}",
                      400, "instance");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"dest_compute\": \"node-b\"}}", 400, "instance");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\"}}", 400,
                      "dest_compute");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"not-a-uuid\", "
                      "\"dest_compute\": \"node-b\"}}",
                      400, "instance_uuid");
    /* Unknown field, inside and beside "migration". */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", \"dest_compute\": "
                      "\"node-b\", \"priority\": 1}}",
                      400, "priority");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", \"dest_compute\": "
                      "\"node-b\"}, \"extra\": true}",
                      400, NULL);
    expect_fault_call(f, "POST", "/v1/os-migrations", "{}", 400, NULL);
    expect_fault_call(f, "POST", "/v1/os-migrations", "{\"migration\": [1]}", 400, NULL);
    expect_fault_call(f, "POST", "/v1/os-migrations", "{\"migration\": \"x\"}", 400, NULL);
    /* Empty and over-long strings. */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"dest_compute\": \"\"}}",
                      400, "dest_compute");
    char longname[301];
    memset(longname, 'h', 300);
    longname[300] = '\0';
    snprintf(big, sizeof big,
             "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
             "\"dest_compute\": \"%s\"}}",
             longname);
    expect_fault_call(f, "POST", "/v1/os-migrations", big, 400, "dest_compute");
    /* Nothing was created. */
    reply r = md_test_call(f, "GET", "/v1/os-migrations", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 0);
    md_test_reply_free(&r);
}

static void create_refuses_wrong_types_for_every_field(void **state)
{
    fixture *f = *state;
    /* Each is one field of an otherwise valid request, with a value of the
     * wrong type or out of range (DESIGN.md section 6; Nova's limits). */
    static const struct {
        const char *field, *value;
    } bad[] = {
        { "instance_uuid", "5" },
        { "instance_name", "true" },
        { "dest_compute", "1" },
        { "dest_host", "[\"node-b\"]" },
        { "dest_host", "null" },
        { "block_migration", "\"true\"" }, /* string for bool */
        { "block_migration", "1" },        /* int for bool */
        { "permit_post_copy", "\"yes\"" },
        { "permit_post_copy", "0" },
        { "max_downtime_ms", "true" },  /* bool for int */
        { "max_downtime_ms", "500.5" }, /* float for int */
        { "max_downtime_ms", "500.0" },
        { "max_downtime_ms", "\"500\"" },
        { "max_downtime_ms", "99" }, /* below the minimum of 100 */
        { "max_downtime_ms", "600001" },
        { "max_downtime_ms", "-1" },
        { "max_downtime_ms", "9223372036854775807" },
        { "max_downtime_ms", "18446744073709551615" },
        { "max_downtime_ms", "1e3" },
        { "bandwidth_mibps", "false" },
        { "bandwidth_mibps", "-1" },
        { "bandwidth_mibps", "1048577" },
        { "bandwidth_mibps", "{}" },
        { "timeout_action", "\"sometimes\"" },
        { "timeout_action", "0" },
    };
    char body[512];

    md_test_fixture_start(f, true);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *inst = strcmp(bad[i].field, "instance_uuid") == 0 ||
                                   strcmp(bad[i].field, "instance_name") == 0
                               ? ""
                               : "\"instance_uuid\": \"" MD_TEST_BUSY "\", ";
        const char *dest =
            strcmp(bad[i].field, "dest_compute") == 0 ? "" : "\"dest_compute\": \"node-b\", ";
        snprintf(body, sizeof body, "{\"migration\": {%s%s\"%s\": %s}}", inst, dest, bad[i].field,
                 bad[i].value);
        reply r = md_test_call(f, "POST", "/v1/os-migrations", body);
        if (r.status != 400)
            fail_msg("%s: answered %d, want 400", body, r.status);
        json_object *inner = md_test_json_get(r.json, "badRequest");
        if (!strstr(md_test_json_str(inner, "message"), bad[i].field))
            fail_msg("%s: the message does not name %s: %s", body, bad[i].field,
                     md_test_json_str(inner, "message"));
        md_test_reply_free(&r);
    }
    /* The same fields with good values are accepted. */
    reply r = md_test_call(f, "POST", "/v1/os-migrations",
                           "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                           "\"dest_compute\": \"node-b\", \"block_migration\": true, "
                           "\"permit_post_copy\": false, \"max_downtime_ms\": 100, "
                           "\"bandwidth_mibps\": 0, \"timeout_action\": \"abort\"}}");
    assert_int_equal(r.status, 202);
    assert_true(md_test_json_bool(md_test_json_get(r.json, "migration"), "block_migration"));
    md_test_reply_free(&r);
}

/* ---- body checks -------------------------------------------------------------------- */

static void body_checks_answer_413_415_and_400(void **state)
{
    fixture *f = *state;
    static const char *const bad_json[] = {
        "{\"migration\": {\"instance_uuid\": ",   /* incomplete */
        "{\"migration\": {}} x",                  /* trailing garbage */
        "{\"migration\": {}}{\"migration\": {}}", /* two values */
        "{'migration': {}}",                      /* not JSON */
        "[{\"migration\": {}}]",                  /* not an object */
        "\"migration\"",
        "null",
        "42 ",
        "", /* empty */
    };
    md_api_request r;

    md_test_fixture_start(f, true);
    /* 413: the HTTP layer kept none of the body. */
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.path = "/v1/os-migrations";
    r.content_type = "application/json";
    r.body_too_large = true;
    expect_fault(md_test_handle(f, &r), 413, "65536");
    r.method = "PUT";
    r.path = "/v1/os-migrations/" MD_TEST_GHOST;
    expect_fault(md_test_handle(f, &r), 413, NULL);

    /* 415: not JSON, or no content type at all. */
    const char *ok = "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                     "\"dest_compute\": \"node-b\"}}";
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", "text/plain", ok), 415, NULL);
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", "application/x-www-form-urlencoded", ok),
                 415, NULL);
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", "application/jsonp", ok), 415, NULL);
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", NULL, ok), 415, NULL);
    expect_fault(call_ct(f, "PUT", "/v1/os-migrations/" MD_TEST_GHOST, "text/plain",
                         "{\"migration\": {\"action\": \"abort\"}}"),
                 415, NULL);

    /* 400: everything that is not exactly one JSON object. */
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        reply rep = call_ct(f, "POST", "/v1/os-migrations", "application/json", bad_json[i]);
        if (rep.status != 400)
            fail_msg("body '%s': answered %d, want 400", bad_json[i], rep.status);
        md_test_reply_free(&rep);
    }
    /* A body with a NUL byte inside a string. */
    static const char nul_body[] = "{\"migration\": {\"instance_name\": \"vm\0a\", "
                                   "\"dest_compute\": \"node-b\"}}";
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.path = "/v1/os-migrations";
    r.content_type = "application/json";
    r.body = nul_body;
    r.body_len = sizeof nul_body - 1;
    expect_fault(md_test_handle(f, &r), 400, NULL);

    /* A charset parameter and whitespace around the value are fine. */
    reply rep = call_ct(f, "POST", "/v1/os-migrations", "application/json; charset=utf-8",
                        "\n  {\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                        "\"dest_compute\": \"node-b\"}}\r\n");
    assert_int_equal(rep.status, 202);
    md_test_reply_free(&rep);
}

/* ---- routing ------------------------------------------------------------------------ */

static void wrong_method_is_405_with_allow_and_unknown_path_404(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *method, *path, *allow[4];
    } cases[] = {
        { "PATCH", "/v1/os-migrations", { "GET", "POST" } },
        { "DELETE", "/v1/os-migrations", { "GET", "POST" } },
        { "POST", "/v1/os-migrations/" MD_TEST_GHOST, { "GET", "PUT", "DELETE" } },
        { "PATCH", "/v1/os-migrations/" MD_TEST_GHOST, { "GET", "PUT", "DELETE" } },
        { "DELETE", "/v1/os-migrations/" MD_TEST_GHOST "/events", { "GET" } },
        { "POST", "/healthcheck", { "GET" } },
        { "PUT", "/", { "GET" } },
    };

    md_test_fixture_start(f, true);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = md_test_call(f, cases[i].method, cases[i].path, NULL);
        if (r.status != 405)
            fail_msg("%s %s: answered %d, want 405", cases[i].method, cases[i].path, r.status);
        const char *allow = md_test_reply_header(&r, "Allow");
        assert_non_null(allow);
        size_t nallow = 0;
        for (size_t j = 0; cases[i].allow[j]; j++, nallow++) {
            if (!strstr(allow, cases[i].allow[j]))
                fail_msg("%s %s: Allow \"%s\" lacks %s", cases[i].method, cases[i].path, allow,
                         cases[i].allow[j]);
        }
        assert_null(strstr(allow, cases[i].method)); /* not the refused one */
        size_t commas = 0;
        for (const char *p = allow; *p; p++)
            commas += *p == ',';
        assert_int_equal(commas + 1, nallow);
        md_test_reply_free(&r);
    }
    expect_fault_call(f, "GET", "/v1/nothing", NULL, 404, NULL);
    expect_fault_call(f, "GET", "/v2/os-migrations", NULL, 404, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations/" MD_TEST_GHOST "/events/1", NULL, 404, NULL);
    expect_fault_call(f, "GET", "/v1//os-migrations", NULL, 404, NULL);
    expect_fault_call(f, "POST", "/nothing", "{}", 404, NULL);
    /* One trailing slash is the same resource. */
    reply r = md_test_call(f, "GET", "/v1/os-migrations/", NULL);
    assert_int_equal(r.status, 200);
    md_test_reply_free(&r);
}

/* ---- the precheck on the headers ----------------------------------------------------- */

/* md_api_precheck() on req's headers with a body of content_length bytes
 * announced. want 0: it lets the request go on and leaves the response
 * empty. Otherwise it refuses with status want, and with the very answer
 * (body and headers) that md_api_handle() gives the same request once its
 * body has been read (over the limit, when it was announced so). */
static void expect_precheck(fixture *f, const md_api_request *req, long long content_length,
                            int want)
{
    md_api_response pre;

    memset(&pre, 0, sizeof pre);
    bool ok = md_api_precheck(f->api, req, content_length, &pre);
    if (want == 0) {
        if (!ok)
            fail_msg("%s %s (%lld bytes): refused with %d %s", req->method, req->path,
                     content_length, pre.status, pre.body ? pre.body : "");
        assert_int_equal(pre.status, 0);
        assert_null(pre.body);
        assert_int_equal(pre.nheaders, 0);
        return;
    }
    if (ok || pre.status != want)
        fail_msg("%s %s (%lld bytes): precheck %s %d, want %d", req->method, req->path,
                 content_length, ok ? "let it go on," : "refused with", pre.status, want);
    md_api_request full = *req;
    full.body_too_large = content_length > 65536;
    md_test_reply r = md_test_handle(f, &full);
    assert_int_equal(r.status, pre.status);
    assert_string_equal(r.raw.body, pre.body);
    assert_int_equal(r.raw.nheaders, pre.nheaders);
    for (size_t i = 0; i < pre.nheaders; i++) {
        assert_string_equal(r.raw.headers[i].name, pre.headers[i].name);
        assert_string_equal(r.raw.headers[i].value, pre.headers[i].value);
    }
    md_test_reply_free(&r);
    md_api_response_clear(&pre);
}

static void precheck_refuses_on_the_headers_what_the_ladder_would(void **state)
{
    fixture *f = *state;
    const char *action = "/v2.1/servers/" MD_TEST_GHOST "/action";
    md_api_request r;

    md_test_fixture_start(f, true);
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.path = "/v1/os-migrations";
    r.content_type = "application/json";
    /* A body announced over api.max_body_bytes (65536), at it, and of an
     * unknown length (chunked: the HTTP layer counts it as it comes). */
    expect_precheck(f, &r, 65537, 413);
    expect_precheck(f, &r, 65536, 0);
    expect_precheck(f, &r, -1, 0);
    r.method = "PUT";
    r.path = "/v1/os-migrations/" MD_TEST_GHOST;
    expect_precheck(f, &r, 1LL << 40, 413);
    /* No route: 404, or 405 with Allow, whatever the body. */
    r.method = "POST";
    r.path = "/nothing";
    expect_precheck(f, &r, 100, 404);
    r.path = "/healthcheck";
    expect_precheck(f, &r, 100, 405);
    r.method = "PATCH";
    r.path = "/v1/os-migrations/";
    expect_precheck(f, &r, 0, 405);
    /* A microversion that cannot be served; the answer carries no version
     * headers, and a good one's are not left behind. */
    r.method = "POST";
    r.path = action;
    r.nova_version = "two";
    expect_precheck(f, &r, 100, 400);
    r.nova_version = "2.999";
    expect_precheck(f, &r, 100, 406);
    r.nova_version = "2.59";
    expect_precheck(f, &r, 100, 0);
    /* Requests without a body pass (noauth: nothing more to check). */
    r.method = "GET";
    r.path = "/v1/os-migrations";
    r.nova_version = NULL;
    expect_precheck(f, &r, 0, 0);
    /* None of it created anything. */
    md_test_reply list = md_test_call(f, "GET", "/v1/os-migrations", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(list.json, "migrations")), 0);
    md_test_reply_free(&list);
}

/* ---- show and events ------------------------------------------------------------------ */

static void show_returns_the_record_404_for_unknown_and_400_for_malformed_ids(void **state)
{
    fixture *f = *state;
    char uuid[37];
    reply r;

    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, uuid);
    md_test_expect_state(f, uuid, md_test_is_running, MD_MIG_RUNNING);
    json_object *m = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(m, "uuid"), uuid);
    assert_string_equal(md_test_json_str(m, "status"), "running");
    assert_string_equal(md_test_json_str(m, "instance_uuid"), MD_TEST_BUSY);
    assert_string_equal(md_test_json_str(m, "instance_name"), "vm-busy");
    md_test_reply_free(&r);

    expect_fault_call(f, "GET", "/v1/os-migrations/" MD_TEST_GHOST, NULL, 404, MD_TEST_GHOST);
    expect_fault_call(f, "GET", "/v1/os-migrations/not-a-uuid", NULL, 400, "not-a-uuid");
    expect_fault_call(f, "GET", "/v1/os-migrations/" MD_TEST_GHOST "0", NULL, 400, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations/%27%3B", NULL, 400, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations/" MD_TEST_GHOST "/events", NULL, 404,
                      MD_TEST_GHOST);
    expect_fault_call(f, "GET", "/v1/os-migrations/12/events", NULL, 400, NULL);
    char path[128];
    snprintf(path, sizeof path, "/v1/os-migrations/%s?fields=status", uuid);
    expect_fault_call(f, "GET", path, NULL, 400, "fields");
}

/* GETs target and returns its page of events as ids into ids (from *n on),
 * and the next link's target (from "/v1/") in next, "" when there is none. */
static void events_page(fixture *f, const char *target, int64_t *ids, size_t *n, size_t cap,
                        char *next, size_t nextlen)
{
    reply r = md_test_call(f, "GET", target, NULL);

    if (r.status != 200)
        fail_msg("GET %s: %d %s", target, r.status, r.raw.body ? r.raw.body : "");
    json_object *ev = md_test_json_get(r.json, "events");
    json_object *links = md_test_json_get(r.json, "events_links");
    for (size_t i = 0; i < json_object_array_length(ev); i++) {
        assert_true(*n < cap);
        ids[(*n)++] = md_test_json_int(json_object_array_get_idx(ev, i), "id");
    }
    next[0] = '\0';
    if (json_object_array_length(links) > 0) {
        json_object *l = json_object_array_get_idx(links, 0);
        assert_string_equal(md_test_json_str(l, "rel"), "next");
        const char *href = md_test_json_str(l, "href");
        assert_non_null(strstr(href, "/v1/"));
        snprintf(next, nextlen, "%s", strstr(href, "/v1/"));
    }
    md_test_reply_free(&r);
}

static void events_come_in_pages_of_at_most_1000_with_a_next_link(void **state)
{
    fixture *f = *state;
    enum { N = 2345 };
    static int64_t ids[N + 10];
    char path[256], next[256];
    size_t n = 0, pages = 0;
    md_migration m;
    md_err err;

    md_migration_init(&m);
    snprintf(m.uuid, sizeof m.uuid, "%s", "0e0e0e0e-0000-4000-8000-000000000001");
    snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", MD_TEST_IDLE_C);
    snprintf(m.source_compute, sizeof m.source_compute, "node-a");
    snprintf(m.dest_compute, sizeof m.dest_compute, "node-b");
    m.state = MD_MIG_COMPLETED;
    m.created_at = m.updated_at = 1700000000000LL;
    assert_int_equal(md_store_insert(f->store, &m, &err), MD_OK);
    for (int i = 0; i < N; i++) {
        md_event ev = { .at = 1700000000000LL + i, .value = i };
        snprintf(ev.kind, sizeof ev.kind, "settings");
        snprintf(ev.message, sizeof ev.message, "change %d", i);
        assert_int_equal(md_store_add_event(f->store, m.uuid, &ev, &err), MD_OK);
    }
    md_test_fixture_start(f, true);

    /* Without a limit: pages of 1000, oldest first, every event once. */
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", m.uuid);
    do {
        size_t before = n;
        events_page(f, path, ids, &n, N + 10, next, sizeof next);
        assert_true(n - before <= 1000);
        pages++;
        snprintf(path, sizeof path, "%s", next);
    } while (next[0] && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(n, N);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i] > ids[i - 1]);

    /* A limit, and a limit above the cap. */
    n = 0;
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events?limit=7", m.uuid);
    events_page(f, path, ids, &n, N + 10, next, sizeof next);
    assert_int_equal(n, 7);
    assert_non_null(strstr(next, "limit=7&marker="));
    events_page(f, next, ids, &n, N + 10, next, sizeof next);
    assert_int_equal(n, 14);
    assert_true(ids[7] > ids[6]);
    n = 0;
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events?limit=100000", m.uuid);
    events_page(f, path, ids, &n, N + 10, next, sizeof next);
    assert_int_equal(n, 1000);
    n = 0;
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events?limit=0", m.uuid);
    events_page(f, path, ids, &n, N + 10, next, sizeof next);
    assert_int_equal(n, 0);
    assert_string_equal(next, "");

    const char *bad[] = { "limit=-1", "limit=x", "marker=0", "marker=abc", "other=1" };
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/v1/os-migrations/%s/events?%s", m.uuid, bad[i]);
        expect_fault_call(f, "GET", path, NULL, 400, NULL);
    }
    expect_fault_call(f, "GET", "/v1/os-migrations/" MD_TEST_GHOST "/events?limit=0", NULL, 404,
                      NULL);
}

static void events_list_the_state_changes_oldest_first(void **state)
{
    fixture *f = *state;
    char uuid[37], path[128];
    reply r;

    md_test_fixture_start(f, true);
    create(f, MD_TEST_IDLE_A, uuid);
    md_test_expect_state(f, uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, uuid, 0.5, md_test_ended);
    md_test_expect_state(f, uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_test_drive_until(f, uuid, 0, md_test_downtime_known); /* a moment after the end */
    json_object *m = show(f, uuid, &r);
    assert_string_equal(md_test_json_str(m, "status"), "completed");
    assert_int_equal(md_test_json_int(m, "progress"), 100);
    assert_false(is_null(m, "downtime_ms"));
    md_test_reply_free(&r);

    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", uuid);
    r = md_test_call(f, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    json_object *ev = md_test_json_get(r.json, "events");
    size_t n = json_object_array_length(ev), nstate = 0;
    assert_true(n >= 4);
    int64_t last_id = 0;
    const char *last_at = "";
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(ev, i);
        int64_t id = md_test_json_int(e, "id");
        const char *at = md_test_json_str(e, "at");
        assert_true(id > last_id); /* oldest first */
        assert_true(strcmp(at, last_at) >= 0);
        last_id = id;
        last_at = at;
        md_test_json_int(e, "value");
        md_test_json_str(e, "message");
        if (strcmp(md_test_json_str(e, "kind"), "state") == 0)
            nstate++;
    }
    /* queued -> preparing -> running -> completed (DESIGN.md section 3). */
    assert_true(nstate >= 4);
    json_object *first = json_object_array_get_idx(ev, 0);
    assert_string_equal(md_test_json_str(first, "kind"), "state");
    assert_non_null(strstr(md_test_json_str(first, "message"), "queued"));
    json_object *last_state = NULL;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(ev, i);
        if (strcmp(md_test_json_str(e, "kind"), "state") == 0)
            last_state = e;
    }
    assert_non_null(strstr(md_test_json_str(last_state, "message"), "completed"));
    md_test_reply_free(&r);
}

/* ---- actions and settings ---------------------------------------------------------------- */

static void force_complete_is_accepted_while_running_and_409_while_queued(void **state)
{
    fixture *f = *state;
    char a[37], b[37];

    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, a);
    create(f, MD_TEST_IDLE_A, b);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    reply r = put(f, a, "{\"action\": \"force_complete\"}");
    assert_int_equal(r.status, 202);
    assert_string_equal(md_test_json_str(md_test_json_get(r.json, "migration"), "uuid"), a);
    md_test_reply_free(&r);
    /* The engine says why: the other one is queued. */
    expect_fault(put(f, b, "{\"action\": \"force_complete\"}"), 409, "queued");
    expect_fault(put(f, MD_TEST_GHOST, "{\"action\": \"force_complete\"}"), 404, NULL);
    expect_fault_call(f, "PUT", "/v1/os-migrations/xyz",
                      "{\"migration\": {\"action\": \"force_complete\"}}", 400, NULL);
}

static void post_copy_needs_it_permitted_and_then_blocks_abort(void **state)
{
    fixture *f = *state;
    char a[37], b[37];

    f->cfg->service.max_concurrent_live_migrations = 2;
    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, a);
    create_ex(f, MD_TEST_BUSY2, ", \"permit_post_copy\": true", b);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    md_test_expect_state(f, b, md_test_is_running, MD_MIG_RUNNING);
    expect_fault(put(f, a, "{\"action\": \"post_copy\"}"), 409, "without post-copy");

    md_test_drive_until(f, b, 0.1, md_test_downtime_set);
    reply r = put(f, b, "{\"action\": \"post_copy\"}");
    assert_int_equal(r.status, 202);
    md_test_reply_free(&r);
    md_test_expect_state(f, b, md_test_is_post_copy, MD_MIG_POSTCOPY);
    expect_status(f, b, "running (post-copy)");
    /* In post-copy the guest already runs on the destination. */
    expect_fault(put(f, b, "{\"action\": \"abort\"}"), 409, "post-copy");
    char path[128];
    snprintf(path, sizeof path, "/v1/os-migrations/%s", b);
    expect_fault_call(f, "DELETE", path, NULL, 409, "post-copy");
    expect_fault(put(f, b, "{\"action\": \"force_complete\"}"), 409, "post-copy");
    expect_fault(put(f, b, "{\"action\": \"post_copy\"}"), 409, "post-copy");
    expect_fault(put(f, b, "{\"max_downtime_ms\": 200}"), 409, "post-copy");
}

static void recover_action_resumes_a_broken_post_copy_and_is_409_elsewhere(void **state)
{
    fixture *f = *state;
    char a[37];

    md_test_fixture_start(f, true);
    create_ex(f, MD_TEST_BUSY, ", \"permit_post_copy\": true", a);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    expect_fault(put(f, a, "{\"action\": \"recover\"}"), 409, "only a broken post-copy");
    expect_fault(put(f, MD_TEST_GHOST, "{\"action\": \"recover\"}"), 404, NULL);

    md_test_drive_until(f, a, 0.1, md_test_downtime_set);
    reply r = put(f, a, "{\"action\": \"post_copy\"}");
    assert_int_equal(r.status, 202);
    md_test_reply_free(&r);
    md_test_expect_state(f, a, md_test_is_post_copy, MD_MIG_POSTCOPY);
    expect_fault(put(f, a, "{\"action\": \"recover\"}"), 409, "running (post-copy)");

    /* The stream breaks while the destination cannot be reached. */
    md_hv_sim_set_dest_reachable(f->hv, false);
    assert_true(md_hv_sim_break_postcopy(f->hv, MD_TEST_BUSY));
    md_test_expect_state(f, a, md_test_is_recovering, MD_MIG_POSTCOPY_RECOVERING);
    expect_status(f, a, "running (post-copy recovering)");
    expect_fault(put(f, a, "{\"action\": \"abort\"}"), 409, "would lose it");
    /* Still in progress for every list and filter. */
    reply l =
        md_test_call(f, "GET", "/v1/os-migrations?status=running%20(post-copy%20recovering)", NULL);
    assert_int_equal(l.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(l.json, "migrations")), 1);
    md_test_reply_free(&l);

    md_hv_sim_set_dest_reachable(f->hv, true);
    r = put(f, a, "{\"action\": \"recover\"}");
    assert_int_equal(r.status, 202);
    json_object *m = md_test_json_get(r.json, "migration");
    assert_true(md_test_json_int(m, "recovery_attempts") >= 0);
    md_test_reply_free(&r);
    md_test_drive_until(f, a, 0.1, md_test_ended);
    md_test_expect_state(f, a, md_test_is_final, MD_MIG_COMPLETED);
    expect_status(f, a, "completed");
}

static void abort_action_cancels_a_running_migration(void **state)
{
    fixture *f = *state;
    char a[37];

    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, a);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    reply r = put(f, a, "{\"action\": \"abort\"}");
    assert_int_equal(r.status, 202);
    md_test_reply_free(&r);
    /* The monitor aborts the job; nothing needs simulated time for that. */
    md_test_drive_until(f, a, 0.1, md_test_ended);
    md_test_expect_state(f, a, md_test_is_final, MD_MIG_CANCELLED);
    expect_status(f, a, "cancelled");
    expect_fault(put(f, a, "{\"action\": \"abort\"}"), 409, "ended");
    expect_fault(put(f, a, "{\"action\": \"force_complete\"}"), 409, "ended");
}

static void unknown_action_and_action_with_settings_are_400(void **state)
{
    fixture *f = *state;
    char a[37];

    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, a);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    expect_fault(put(f, a, "{\"action\": \"migrate\"}"), 400, "migrate");
    expect_fault(put(f, a, "{\"action\": \"\"}"), 400, NULL);
    expect_fault(put(f, a, "{\"action\": \"abort\", \"max_downtime_ms\": 300}"), 400, NULL);
    expect_fault(put(f, a, "{\"action\": \"abort\", \"permit_post_copy\": false}"), 400, NULL);
    expect_fault(put(f, a, "{}"), 400, NULL);
    expect_fault(put(f, a, "{\"dest_compute\": \"node-c\"}"), 400, "dest_compute");
    /* Wrong types for each field. */
    expect_fault(put(f, a, "{\"action\": 1}"), 400, "action");
    expect_fault(put(f, a, "{\"action\": null}"), 400, "action");
    expect_fault(put(f, a, "{\"permit_post_copy\": \"true\"}"), 400, "permit_post_copy");
    expect_fault(put(f, a, "{\"max_downtime_ms\": true}"), 400, "max_downtime_ms");
    expect_fault(put(f, a, "{\"max_downtime_ms\": 300.5}"), 400, "max_downtime_ms");
    expect_fault(put(f, a, "{\"max_downtime_ms\": 50}"), 400, "max_downtime_ms");
    expect_fault(put(f, a, "{\"bandwidth_mibps\": false}"), 400, "bandwidth_mibps");
    expect_fault(put(f, a, "{\"bandwidth_mibps\": 1e2}"), 400, "bandwidth_mibps");
    expect_fault(put(f, a, "{\"bandwidth_mibps\": 99999999999}"), 400, "bandwidth_mibps");
    /* Nothing of it reached the migration. */
    expect_status(f, a, "running");
}

static void settings_change_answers_202_and_409_when_the_state_forbids(void **state)
{
    fixture *f = *state;
    char a[37], b[37];

    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, a);
    create(f, MD_TEST_IDLE_A, b);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    reply r = put(f, a, "{\"max_downtime_ms\": 300, \"bandwidth_mibps\": 100}");
    assert_int_equal(r.status, 202);
    json_object *m = md_test_json_get(r.json, "migration");
    assert_int_equal(md_test_json_int(m, "max_downtime_ms"), 300);
    assert_int_equal(md_test_json_int(m, "bandwidth_mibps"), 100);
    md_test_reply_free(&r);
    /* Post-copy permission is fixed once a migration has started... */
    expect_fault(put(f, a, "{\"permit_post_copy\": true}"), 409, "started");
    /* ...and free while it waits. */
    r = put(f, b, "{\"permit_post_copy\": true}");
    assert_int_equal(r.status, 202);
    assert_true(md_test_json_bool(md_test_json_get(r.json, "migration"), "permit_post_copy"));
    md_test_reply_free(&r);
    expect_fault(put(f, MD_TEST_GHOST, "{\"max_downtime_ms\": 300}"), 404, NULL);
    /* Nothing to change on one that has ended. */
    char path[128];
    snprintf(path, sizeof path, "/v1/os-migrations/%s", b);
    r = md_test_call(f, "DELETE", path, NULL);
    assert_int_equal(r.status, 202);
    md_test_reply_free(&r);
    expect_fault(put(f, b, "{\"bandwidth_mibps\": 10}"), 409, "ended");
}

/* ---- delete --------------------------------------------------------------------------- */

static void delete_cancels_queued_and_running_migrations_and_409_once_ended(void **state)
{
    fixture *f = *state;
    char a[37], b[37], path[128];

    md_test_fixture_start(f, true);
    create(f, MD_TEST_BUSY, a);
    create(f, MD_TEST_IDLE_A, b);
    md_test_expect_state(f, a, md_test_is_running, MD_MIG_RUNNING);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", b);
    reply r = md_test_call(f, "DELETE", path, NULL);
    assert_int_equal(r.status, 202);
    md_test_reply_free(&r);
    /* A queued migration is cancelled at once, without simulated time. */
    expect_status(f, b, "cancelled");
    expect_fault_call(f, "DELETE", path, NULL, 409, "ended");

    snprintf(path, sizeof path, "/v1/os-migrations/%s", a);
    r = md_test_call(f, "DELETE", path, NULL);
    assert_int_equal(r.status, 202);
    md_test_reply_free(&r);
    md_test_drive_until(f, a, 0.1, md_test_ended);
    md_test_expect_state(f, a, md_test_is_final, MD_MIG_CANCELLED);
    expect_fault_call(f, "DELETE", path, NULL, 409, NULL);

    expect_fault_call(f, "DELETE", "/v1/os-migrations/" MD_TEST_GHOST, NULL, 404, MD_TEST_GHOST);
    expect_fault_call(f, "DELETE", "/v1/os-migrations/not-a-uuid", NULL, 400, NULL);
    snprintf(path, sizeof path, "/v1/os-migrations/%s?force=1", a);
    expect_fault_call(f, "DELETE", path, NULL, 400, "force");
}

/* ---- list --------------------------------------------------------------------------------- */

#define NSEED 21
#define T0_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define INST_X "aaaaaaaa-0000-4000-8000-00000000000a"
#define INST_Y "bbbbbbbb-0000-4000-8000-00000000000b"

/* Seed record i: created and updated at T0 + i minutes, so record 20 is the
 * newest. The rules below are the only truth the list tests compare with. */
static md_mig_state seed_state(int i)
{
    static const md_mig_state cycle[] = { MD_MIG_COMPLETED, MD_MIG_CANCELLED, MD_MIG_FAILED,
                                          MD_MIG_ERROR };
    if (i == 5 || i == 16)
        return MD_MIG_POSTCOPY;
    return cycle[i % 4];
}

static const char *seed_instance(int i)
{
    return i % 3 == 0 ? INST_X : INST_Y;
}

static const char *seed_dest(int i)
{
    return i < 10 ? "node-b" : "node-c";
}

static const char *seed_type(int i)
{
    return i % 7 == 0 ? "migration" : "live-migration";
}

static void seed_uuid(int i, char out[37])
{
    snprintf(out, 37, "00000000-0000-4000-8000-0000000000%02d", i);
}

static void seed(fixture *f)
{
    md_err err;

    for (int i = 0; i < NSEED; i++) {
        md_migration m;
        md_migration_init(&m);
        seed_uuid(i, m.uuid);
        m.state = seed_state(i);
        m.post_copy = m.state == MD_MIG_POSTCOPY;
        snprintf(m.migration_type, sizeof m.migration_type, "%s", seed_type(i));
        snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", seed_instance(i));
        snprintf(m.source_compute, sizeof m.source_compute, "node-a");
        snprintf(m.dest_compute, sizeof m.dest_compute, "%s", seed_dest(i));
        m.max_downtime_ms = 500;
        m.policy = POLICY_ADAPTIVE;
        m.created_at = m.updated_at = T0_MS + (int64_t)i * 60000;
        assert_int_equal(md_store_insert(f->store, &m, &err), MD_OK);
    }
}

/* GETs target and checks that it lists exactly the seeds for which
 * want(i, arg) holds, newest first. Returns the reply (for links). */
static reply expect_list(fixture *f, const char *target, bool (*want)(int, const void *),
                         const void *arg)
{
    char uuid[37];
    reply r = md_test_call(f, "GET", target, NULL);

    if (r.status != 200)
        fail_msg("GET %s: %d %s", target, r.status, r.raw.body ? r.raw.body : "");
    json_object *arr = md_test_json_get(r.json, "migrations");
    size_t k = 0, n = json_object_array_length(arr);
    for (int i = NSEED - 1; i >= 0; i--) {
        if (!want(i, arg))
            continue;
        seed_uuid(i, uuid);
        if (k >= n)
            fail_msg("GET %s: %zu records, seed %d missing", target, n, i);
        const char *got = md_test_json_str(json_object_array_get_idx(arr, k), "uuid");
        if (strcmp(got, uuid) != 0)
            fail_msg("GET %s: record %zu is %s, want seed %d (%s)", target, k, got, i, uuid);
        k++;
    }
    if (k != n)
        fail_msg("GET %s: %zu records, want %zu", target, n, k);
    assert_true(json_object_is_type(md_test_json_get(r.json, "migrations_links"), json_type_array));
    return r;
}

static void expect_list_only(fixture *f, const char *target, bool (*want)(int, const void *),
                             const void *arg)
{
    reply r = expect_list(f, target, want, arg);
    md_test_reply_free(&r);
}

static bool all(int i, const void *arg)
{
    (void)i;
    (void)arg;
    return true;
}

static bool none(int i, const void *arg)
{
    (void)i;
    (void)arg;
    return false;
}

static bool state_is(int i, const void *arg)
{
    return seed_state(i) == *(const md_mig_state *)arg;
}

static bool instance_is(int i, const void *arg)
{
    return strcmp(seed_instance(i), arg) == 0;
}

static bool dest_is(int i, const void *arg)
{
    return strcmp(seed_dest(i), arg) == 0;
}

static bool type_is(int i, const void *arg)
{
    return strcmp(seed_type(i), arg) == 0;
}

/* arg: { lo, hi } minutes, inclusive. */
static bool minute_in(int i, const void *arg)
{
    const int *r = arg;
    return i >= r[0] && i <= r[1];
}

static bool completed_on_node_c(int i, const void *arg)
{
    (void)arg;
    return seed_state(i) == MD_MIG_COMPLETED && strcmp(seed_dest(i), "node-c") == 0;
}

static void list_without_filters_returns_every_record_newest_first(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, true);
    seed(f);
    reply r = expect_list(f, "/v1/os-migrations", all, NULL);
    /* Not a full page (the default limit is larger): no next link. */
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations_links")), 0);
    json_object *m = json_object_array_get_idx(md_test_json_get(r.json, "migrations"), 0);
    assert_string_equal(md_test_json_str(m, "created_at"), "2026-01-01T00:20:00.000000");
    assert_string_equal(md_test_json_str(m, "updated_at"), "2026-01-01T00:20:00.000000");
    md_test_reply_free(&r);
}

/* The show body's record, as its text: {"migration":REC} -> REC (owned by r). */
static const char *show_text(fixture *f, const char *uuid, reply *r)
{
    static const char head[] = "{\"migration\":";

    show(f, uuid, r);
    char *b = r->raw.body;
    size_t len = strlen(b);
    if (strncmp(b, head, sizeof head - 1) != 0 || len < sizeof head || b[len - 1] != '}')
        fail_msg("show %s: %s", uuid, b);
    b[len - 1] = '\0';
    return b + sizeof head - 1;
}

/* The body of a list of every seed must be, byte for byte, the records as
 * their show bodies write them, newest first (a list keeps each record's
 * text while it stays the same: api/record_cache.c). */
static void expect_list_text(fixture *f)
{
    char uuid[37], *want = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&want, &len);

    assert_non_null(w);
    fputs("{\"migrations\":[", w);
    for (int i = NSEED - 1; i >= 0; i--) {
        reply r;
        seed_uuid(i, uuid);
        fprintf(w, "%s%s", i == NSEED - 1 ? "" : ",", show_text(f, uuid, &r));
        md_test_reply_free(&r);
    }
    fputs("],\"migrations_links\":[]}", w);
    fclose(w);
    reply r = md_test_call(f, "GET", "/v1/os-migrations", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.raw.body, want);
    md_test_reply_free(&r);
    free(want);
}

/* A list writes each record exactly as show does, the first time and from
 * what it kept, and any change to a record shows at the next list, also one
 * that leaves updated_at as it was (a downtime recorded after the end, an
 * error text put right by hand). */
static void list_writes_each_record_as_show_does_and_every_change(void **state)
{
    fixture *f = *state;
    md_migration m;
    md_err err;
    char uuid[37];

    md_test_fixture_start(f, true);
    seed(f);
    expect_list_text(f);
    expect_list_text(f);
    seed_uuid(3, uuid);
    assert_int_equal(md_store_get(f->store, uuid, &m, &err), MD_OK);
    m.downtime_ms = 417;
    assert_int_equal(md_store_update(f->store, &m, &err), MD_OK);
    expect_list_text(f);
    reply r = md_test_call(f, "GET", "/v1/os-migrations?limit=50", NULL);
    json_object *rec =
        json_object_array_get_idx(md_test_json_get(r.json, "migrations"), NSEED - 1 - 3);
    assert_string_equal(md_test_json_str(rec, "uuid"), uuid);
    assert_int_equal(json_object_get_int64(md_test_json_get(rec, "downtime_ms")), 417);
    md_test_reply_free(&r);
    /* Text that json-c must escape: quotes, a backslash, a slash, a control
     * character and a character outside ASCII. */
    snprintf(m.error, sizeof m.error, "%s", "\"quoted\" \\ a/b \t \xc3\xa9");
    assert_int_equal(md_store_update(f->store, &m, &err), MD_OK);
    expect_list_text(f);
    r = md_test_call(f, "GET", "/v1/os-migrations", NULL);
    rec = json_object_array_get_idx(md_test_json_get(r.json, "migrations"), NSEED - 1 - 3);
    assert_string_equal(md_test_json_str(rec, "error"), "\"quoted\" \\ a/b \t \xc3\xa9");
    md_test_reply_free(&r);
}

static void list_filters_by_status_including_post_copy(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *query;
        md_mig_state s;
    } cases[] = {
        { "completed", MD_MIG_COMPLETED },
        { "cancelled", MD_MIG_CANCELLED },
        { "failed", MD_MIG_FAILED },
        { "error", MD_MIG_ERROR },
        { "running%20(post-copy)", MD_MIG_POSTCOPY },
        { "running+%28post-copy%29", MD_MIG_POSTCOPY },
        { "running", MD_MIG_RUNNING },
        { "queued", MD_MIG_QUEUED },
    };
    char target[128];

    md_test_fixture_start(f, true);
    seed(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(target, sizeof target, "/v1/os-migrations?status=%s", cases[i].query);
        expect_list_only(f, target, state_is, &cases[i].s);
    }
    expect_fault_call(f, "GET", "/v1/os-migrations?status=done", NULL, 400, "done");
    expect_fault_call(f, "GET", "/v1/os-migrations?status=", NULL, 400, NULL);
    /* Filters combine. */
    expect_list_only(f, "/v1/os-migrations?status=completed&host=node-c", completed_on_node_c,
                     NULL);
}

/* A post-copy being recovered: shown with its attempts and the time of
 * its break, found by its status and among the migrations in progress.
 * The record is written to the store directly, after the engine started,
 * so the engine leaves it alone. */
static void a_recovering_migration_is_shown_and_filtered_in_progress(void **state)
{
    fixture *f = *state;
    md_migration m;
    md_err err;

    md_test_fixture_start(f, true);
    seed(f);
    md_migration_init(&m);
    snprintf(m.uuid, sizeof m.uuid, "%s", "00000000-0000-4000-8000-000000000099");
    m.state = MD_MIG_POSTCOPY_RECOVERING;
    m.post_copy = true;
    snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", INST_X);
    snprintf(m.source_compute, sizeof m.source_compute, "node-a");
    snprintf(m.dest_compute, sizeof m.dest_compute, "node-b");
    m.created_at = m.updated_at = T0_MS + 30 * 60000;
    m.recovery_attempts = 3;
    m.recovery_started_at = T0_MS + 30 * 60000 + 1500;
    assert_int_equal(md_store_insert(f->store, &m, &err), MD_OK);

    reply r;
    json_object *o = show(f, m.uuid, &r);
    assert_string_equal(md_test_json_str(o, "status"), "running (post-copy recovering)");
    assert_int_equal(md_test_json_int(o, "recovery_attempts"), 3);
    assert_string_equal(md_test_json_str(o, "recovery_started_at"), "2026-01-01T00:30:01.500000");
    md_test_reply_free(&r);

    const char *targets[] = {
        "/v1/os-migrations?status=running%20(post-copy%20recovering)",
        "/v1/os-migrations?status=running+%28post-copy+recovering%29",
    };
    for (size_t i = 0; i < 2; i++) {
        r = md_test_call(f, "GET", targets[i], NULL);
        assert_int_equal(r.status, 200);
        json_object *arr = md_test_json_get(r.json, "migrations");
        assert_int_equal(json_object_array_length(arr), 1);
        assert_string_equal(md_test_json_str(json_object_array_get_idx(arr, 0), "uuid"), m.uuid);
        md_test_reply_free(&r);
    }
    /* Among the migrations in progress (the engine's own lists read the
     * store's in-progress filter). */
    md_store_filter flt;
    md_migration *v = NULL;
    size_t n = 0;
    memset(&flt, 0, sizeof flt);
    flt.in_progress_only = true;
    assert_int_equal(md_engine_list(f->eng, &flt, &v, &n, &err), MD_OK);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found = found || strcmp(v[i].uuid, m.uuid) == 0;
    free(v);
    assert_true(found);
    /* A wrong status names every state, the new one too. */
    expect_fault_call(f, "GET", "/v1/os-migrations?status=recovering", NULL, 400,
                      "running (post-copy recovering)");
}

static void list_filters_by_instance_host_and_type(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, true);
    seed(f);
    expect_list_only(f, "/v1/os-migrations?instance_uuid=" INST_X, instance_is, INST_X);
    expect_list_only(f, "/v1/os-migrations?instance_uuid=" INST_Y, instance_is, INST_Y);
    expect_list_only(f, "/v1/os-migrations?instance_uuid=" MD_TEST_GHOST, none, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations?instance_uuid=vm-a", NULL, 400, "instance_uuid");
    /* host matches the source or the destination. */
    expect_list_only(f, "/v1/os-migrations?host=node-c", dest_is, "node-c");
    expect_list_only(f, "/v1/os-migrations?host=node-b", dest_is, "node-b");
    expect_list_only(f, "/v1/os-migrations?host=node-a", all, NULL);
    expect_list_only(f, "/v1/os-migrations?host=node-z", none, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations?host=", NULL, 400, "host");
    expect_list_only(f, "/v1/os-migrations?migration_type=migration", type_is, "migration");
    expect_list_only(f, "/v1/os-migrations?migration_type=live-migration", type_is,
                     "live-migration");
    expect_list_only(f, "/v1/os-migrations?migration_type=resize", none, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations?migration_type=teleport", NULL, 400, "teleport");
}

static void list_filters_by_changes_since_and_before(void **state)
{
    fixture *f = *state;
    static const int from10[] = { 10, NSEED }, to5[] = { 0, 5 }, mid[] = { 5, 10 },
                     just12[] = { 12, 12 };

    md_test_fixture_start(f, true);
    seed(f);
    /* updated_at >= changes-since, <= changes-before; every ISO 8601 form. */
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:10:00Z", minute_in, from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:10:00", minute_in, from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:10:00.000000", minute_in,
                     from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T01:10:00%2B01:00", minute_in,
                     from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2025-12-31T23:10:00-01:00", minute_in,
                     from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:09:59.999Z", minute_in,
                     from10);
    expect_list_only(f, "/v1/os-migrations?changes-before=2026-01-01T00:05:00Z", minute_in, to5);
    expect_list_only(f,
                     "/v1/os-migrations?changes-since=2026-01-01T00:05:00Z"
                     "&changes-before=2026-01-01T00:10:00Z",
                     minute_in, mid);
    expect_list_only(f,
                     "/v1/os-migrations?changes-since=2026-01-01T00:12:00Z"
                     "&changes-before=2026-01-01T00:12:00Z",
                     minute_in, just12);
    expect_list_only(f, "/v1/os-migrations?changes-since=2027-01-01T00:00:00Z", none, NULL);
    expect_list_only(f, "/v1/os-migrations?changes-before=2025-01-01", none, NULL);

    static const char *const bad[] = {
        "changes-since=yesterday",
        "changes-since=2026-02-30T00:00:00Z",
        "changes-since=2026-01-01T24:00:00Z",
        "changes-since=2026-13-01T00:00:00Z",
        "changes-since=2026-01-01T00:10:00%2B25:00",
        "changes-since=2026-01-01T00:10:00Zjunk",
        "changes-since=",
        "changes-before=1767225600",
        "changes-before=2026-01-01T00:10:00.Z",
        /* before earlier than since */
        "changes-since=2026-01-01T00:10:00Z&changes-before=2026-01-01T00:05:00Z",
    };
    char target[160];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(target, sizeof target, "/v1/os-migrations?%s", bad[i]);
        reply r = md_test_call(f, "GET", target, NULL);
        if (r.status != 400)
            fail_msg("GET %s: answered %d, want 400", target, r.status);
        md_test_reply_free(&r);
    }
}

/* The next link of a page, as a request target ("/v1/...?..."), or "" for none. */
static void next_target(const reply *r, char *out, size_t len)
{
    json_object *links = md_test_json_get(r->json, "migrations_links");
    out[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(links); i++) {
        json_object *l = json_object_array_get_idx(links, i);
        if (strcmp(md_test_json_str(l, "rel"), "next") != 0)
            continue;
        const char *href = md_test_json_str(l, "href");
        assert_true(strncmp(href, BASE "/v1/os-migrations?", strlen(BASE "/v1/os-migrations?")) ==
                    0);
        snprintf(out, len, "%s", href + strlen(BASE));
    }
}

static bool page_of(int i, const void *arg)
{
    const int *r = arg; /* { lo, hi } */
    return i >= r[0] && i <= r[1];
}

static void list_pages_with_limit_and_marker_through_next_links(void **state)
{
    fixture *f = *state;
    static const int p1[] = { 14, 20 }, p2[] = { 7, 13 }, p3[] = { 0, 6 };
    const int *pages[] = { p1, p2, p3 };
    char target[512], marker[37], want[256];

    md_test_fixture_start(f, true);
    seed(f);
    snprintf(target, sizeof target, "/v1/os-migrations?limit=7");
    for (int p = 0; p < 3; p++) {
        reply r = expect_list(f, target, page_of, pages[p]);
        /* A full page links to the next, with the last record as marker. */
        seed_uuid(pages[p][0], marker);
        next_target(&r, target, sizeof target);
        snprintf(want, sizeof want, "marker=%s", marker);
        if (!strstr(target, want) || !strstr(target, "limit=7"))
            fail_msg("page %d: next link %s, want limit=7 and %s", p + 1, target, want);
        md_test_reply_free(&r);
    }
    /* Past the last record: an empty page without a next link. */
    reply r = expect_list(f, target, none, NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations_links")), 0);
    md_test_reply_free(&r);

    /* The marker alone starts after that record. */
    static const int after10[] = { 0, 9 };
    char uuid[37];
    seed_uuid(10, uuid);
    snprintf(target, sizeof target, "/v1/os-migrations?marker=%s", uuid);
    expect_list_only(f, target, page_of, after10);

    /* limit=0 is an empty page; bad limits and unknown markers are 400s. */
    r = expect_list(f, "/v1/os-migrations?limit=0", none, NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations_links")), 0);
    md_test_reply_free(&r);
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=-1", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=seven", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=7x", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=99999999999999999999999", NULL, 400,
                      "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?marker=" MD_TEST_GHOST, NULL, 400,
                      MD_TEST_GHOST);
    expect_fault_call(f, "GET", "/v1/os-migrations?marker=14", NULL, 400, "marker");
    /* A limit above the maximum is capped, not refused. */
    expect_list_only(f, "/v1/os-migrations?limit=100000", all, NULL);
}

static void list_next_links_keep_the_filters(void **state)
{
    fixture *f = *state;
    char target[512];
    const md_mig_state completed = MD_MIG_COMPLETED;

    md_test_fixture_start(f, true);
    seed(f);
    /* The completed seeds, two to a page. */
    int ncompleted = 0;
    for (int i = 0; i < NSEED; i++)
        ncompleted += seed_state(i) == completed;
    int seen = 0, pages = 0;
    snprintf(target, sizeof target, "/v1/os-migrations?status=completed&limit=2");
    while (target[0] && pages < 20) {
        reply r = md_test_call(f, "GET", target, NULL);
        assert_int_equal(r.status, 200);
        json_object *arr = md_test_json_get(r.json, "migrations");
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            const char *st = md_test_json_str(json_object_array_get_idx(arr, k), "status");
            if (strcmp(st, "completed") != 0)
                fail_msg("GET %s listed a %s record: the next link lost the filter", target, st);
            seen++;
        }
        next_target(&r, target, sizeof target);
        md_test_reply_free(&r);
        pages++;
    }
    assert_int_equal(seen, ncompleted);
}

static void unknown_query_parameters_are_400(void **state)
{
    fixture *f = *state;
    md_api_request r;

    md_test_fixture_start(f, true);
    expect_fault_call(f, "GET", "/v1/os-migrations?foo=bar", NULL, 400, "foo");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=5&sort_dir=asc", NULL, 400, "sort_dir");
    expect_fault_call(f, "GET", "/v1/os-migrations?Status=completed", NULL, 400, "Status");
    expect_fault_call(f, "POST", "/v1/os-migrations?dry_run=1",
                      "{\"migration\": {\"instance_uuid\": \"" MD_TEST_BUSY "\", "
                      "\"dest_compute\": \"node-b\"}}",
                      400, "dry_run");
    /* More parameters than the HTTP layer keeps. */
    memset(&r, 0, sizeof r);
    r.method = "GET";
    r.path = "/v1/os-migrations";
    r.nquery = MD_API_MAX_QUERY;
    for (size_t i = 0; i < MD_API_MAX_QUERY; i++) {
        r.query[i].key = "limit";
        r.query[i].value = "5";
    }
    r.too_many_params = true;
    expect_fault(md_test_handle(f, &r), 400, NULL);
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(root_is_the_version_document_naming_the_simulator),
        T(healthcheck_reports_ok_and_the_engine_counts),
        T(create_answers_202_with_the_record_and_its_location),
        T(create_by_name_takes_the_configuration_defaults),
        T(create_refuses_a_second_migration_of_the_same_instance),
        T(create_refuses_the_node_itself_as_destination),
        T(create_refuses_a_destination_that_is_not_a_peer),
        T(create_refuses_missing_ambiguous_and_unknown_fields),
        T(create_refuses_wrong_types_for_every_field),
        T(body_checks_answer_413_415_and_400),
        T(wrong_method_is_405_with_allow_and_unknown_path_404),
        T(precheck_refuses_on_the_headers_what_the_ladder_would),
        T(show_returns_the_record_404_for_unknown_and_400_for_malformed_ids),
        T(events_list_the_state_changes_oldest_first),
        T(events_come_in_pages_of_at_most_1000_with_a_next_link),
        T(force_complete_is_accepted_while_running_and_409_while_queued),
        T(post_copy_needs_it_permitted_and_then_blocks_abort),
        T(recover_action_resumes_a_broken_post_copy_and_is_409_elsewhere),
        T(abort_action_cancels_a_running_migration),
        T(unknown_action_and_action_with_settings_are_400),
        T(settings_change_answers_202_and_409_when_the_state_forbids),
        T(delete_cancels_queued_and_running_migrations_and_409_once_ended),
        T(list_without_filters_returns_every_record_newest_first),
        T(list_writes_each_record_as_show_does_and_every_change),
        T(list_filters_by_status_including_post_copy),
        T(a_recovering_migration_is_shown_and_filtered_in_progress),
        T(list_filters_by_instance_host_and_type),
        T(list_filters_by_changes_since_and_before),
        T(list_pages_with_limit_and_marker_through_next_links),
        T(list_next_links_keep_the_filters),
        T(unknown_query_parameters_are_400),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
