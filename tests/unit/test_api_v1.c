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

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/stack.h"
#include "service/log.h"

#define IDLE_A "11111111-1111-4111-8111-111111111111"
#define IDLE_B "22222222-2222-4222-8222-222222222222"
#define BUSY "44444444-4444-4444-8444-444444444444"
#define BUSY2 "55555555-5555-4555-8555-555555555555"
#define GHOST "66666666-6666-4666-8666-666666666666" /* no such migration or domain */

/* The default api.listen, from which links are built (DESIGN.md section 4). */
#define BASE "http://127.0.0.1:8775"

#define WAIT_MS 10000

typedef md_test_stack fixture;

/* ---- fixture ------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    assert_int_equal(md_test_stack_init(f, "/tmp", "api-v1"), 0);
    /* Idle 1 GiB guests finish in about a simulated second; the busy ones
     * write 2 GiB/s over 512 MiB and do not finish while the clock stands. */
    md_test_stack_add_domain(f, "vm-a", IDLE_A, 1024, 0, 0);
    md_test_stack_add_domain(f, "vm-b", IDLE_B, 1024, 0, 0);
    md_test_stack_add_domain(f, "vm-busy", BUSY, 1024, 512, 2048);
    md_test_stack_add_domain(f, "vm-busy2", BUSY2, 1024, 512, 2048);
    assert_int_equal(md_test_stack_open(f), 0);
    *state = f;
    return 0;
}

/* Starts the engine and the API; tests change f->cfg before calling it. */
static void up(fixture *f)
{
    assert_int_equal(md_test_stack_start(f, true), 0);
}

static int teardown(void **state)
{
    fixture *f = *state;

    md_test_stack_close(f);
    free(f);
    return 0;
}

/* ---- requests ------------------------------------------------------------------ */

typedef struct reply {
    int status;
    json_object *json;          /* the parsed body, NULL when there is none */
    md_api_response raw;
} reply;

/* Decodes %XX and '+' of a query component, as the HTTP layer does. */
static void url_decode(const char *s, size_t n, char *out)
{
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            out[j++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[j++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[j] = '\0';
}

/* Storage for the decoded path and query of one request. */
typedef struct target_buf {
    char path[1024];
    char keys[MD_API_MAX_QUERY][256];
    char values[MD_API_MAX_QUERY][256];
} target_buf;

/* Splits "PATH?k=v&k2=v2" into r's path and decoded query. */
static void parse_target(const char *target, md_api_request *r, target_buf *b)
{
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);

    assert_true(plen < sizeof b->path);
    memcpy(b->path, target, plen);
    b->path[plen] = '\0';
    r->path = b->path;
    r->nquery = 0;
    while (q && *q) {
        q++;
        size_t len = strcspn(q, "&");
        if (len == 0)
            continue;
        assert_true(r->nquery < MD_API_MAX_QUERY);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        assert_true(klen < 256 && len - klen < 256);
        url_decode(q, klen, b->keys[r->nquery]);
        if (eq)
            url_decode(eq + 1, len - klen - 1, b->values[r->nquery]);
        else
            b->values[r->nquery][0] = '\0';
        r->query[r->nquery].key = b->keys[r->nquery];
        r->query[r->nquery].value = b->values[r->nquery];
        r->nquery++;
        q += len;
    }
}

/* Nova's fault name for each status this API may answer for bad input. */
static const char *fault_name(int status)
{
    switch (status) {
    case 400: return "badRequest";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 409: return "conflictingRequest";
    case 413: return "overLimit";
    case 415: return "badMediaType";
    }
    return NULL;
}

/* Asserts that an error answer is {"<name>": {"code": status, "message": "..."}}. */
static void assert_fault_shape(const reply *r)
{
    const char *name = fault_name(r->status);
    json_object *inner, *code, *msg;

    if (!name)
        fail_msg("unexpected error status %d: %s", r->status, r->raw.body ? r->raw.body : "");
    if (!r->json || !json_object_is_type(r->json, json_type_object) ||
        json_object_object_length(r->json) != 1 ||
        !json_object_object_get_ex(r->json, name, &inner))
        fail_msg("status %d: body is not a %s fault: %s", r->status, name,
                 r->raw.body ? r->raw.body : "(none)");
    assert_true(json_object_is_type(inner, json_type_object));
    assert_true(json_object_object_get_ex(inner, "code", &code));
    assert_true(json_object_is_type(code, json_type_int));
    assert_int_equal(json_object_get_int(code), r->status);
    assert_true(json_object_object_get_ex(inner, "message", &msg));
    assert_true(json_object_is_type(msg, json_type_string));
    assert_true(json_object_get_string_len(msg) > 0);
}

/* Handles r; parses the body; checks every error answer's fault shape. */
static reply handle(fixture *f, const md_api_request *r)
{
    reply out;

    memset(&out, 0, sizeof out);
    md_api_handle(f->api, r, &out.raw);
    out.status = out.raw.status;
    if (out.status >= 500)
        fail_msg("%s %s answered %d: %s", r->method, r->path, out.status,
                 out.raw.body ? out.raw.body : "");
    if (out.raw.body) {
        out.json = json_tokener_parse(out.raw.body);
        if (!out.json)
            fail_msg("%s %s: the body is not JSON: %s", r->method, r->path, out.raw.body);
    }
    if (out.status >= 400)
        assert_fault_shape(&out);
    return out;
}

/* A request with an optional body (sent as application/json). */
static reply call_ct(fixture *f, const char *method, const char *target, const char *ctype,
                     const char *body)
{
    md_api_request r;
    target_buf *b = calloc(1, sizeof *b);

    memset(&r, 0, sizeof r);
    r.method = method;
    parse_target(target, &r, b);
    r.content_type = ctype;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    reply out = handle(f, &r);
    free(b);
    return out;
}

static reply call(fixture *f, const char *method, const char *target, const char *body)
{
    return call_ct(f, method, target, body ? "application/json" : NULL, body);
}

static void reply_free(reply *r)
{
    json_object_put(r->json);
    md_api_response_clear(&r->raw);
    memset(r, 0, sizeof *r);
}

static const char *header(const reply *r, const char *name)
{
    for (size_t i = 0; i < r->raw.nheaders; i++) {
        if (strcasecmp(r->raw.headers[i].name, name) == 0)
            return r->raw.headers[i].value;
    }
    return NULL;
}

/* Asserts an error answer (its shape is checked by handle()) and that its
 * message contains text (when not NULL); consumes r. */
static void expect_fault(reply r, int status, const char *text)
{
    json_object *inner, *msg;

    if (r.status != status)
        fail_msg("answered %d, want %d: %s", r.status, status, r.raw.body ? r.raw.body : "");
    assert_true(json_object_object_get_ex(r.json, fault_name(status), &inner));
    assert_true(json_object_object_get_ex(inner, "message", &msg));
    if (text && !strstr(json_object_get_string(msg), text))
        fail_msg("fault message \"%s\" does not contain \"%s\"", json_object_get_string(msg),
                 text);
    reply_free(&r);
}

static void expect_fault_call(fixture *f, const char *method, const char *target,
                              const char *body, int status, const char *text)
{
    expect_fault(call(f, method, target, body), status, text);
}

/* ---- JSON access ------------------------------------------------------------------ */

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no key \"%s\" in %s", key, json_object_to_json_string(o));
    return v;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!json_object_is_type(v, json_type_string))
        fail_msg("\"%s\" is not a string in %s", key, json_object_to_json_string(o));
    return json_object_get_string(v);
}

static int64_t get_int(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!json_object_is_type(v, json_type_int))
        fail_msg("\"%s\" is not an integer in %s", key, json_object_to_json_string(o));
    return json_object_get_int64(v);
}

static bool get_bool(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!json_object_is_type(v, json_type_boolean))
        fail_msg("\"%s\" is not a boolean in %s", key, json_object_to_json_string(o));
    return json_object_get_boolean(v);
}

static bool is_null(json_object *o, const char *key)
{
    return get(o, key) == NULL;
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
    reply r = call(f, "POST", "/v1/os-migrations", body);
    if (r.status != 202)
        fail_msg("create %s: %d %s", instance, r.status, r.raw.body ? r.raw.body : "");
    json_object *m = get(r.json, "migration");
    snprintf(uuid, 37, "%s", get_str(m, "uuid"));
    reply_free(&r);
}

static void create(fixture *f, const char *instance, char uuid[37])
{
    create_ex(f, instance, "", uuid);
}

static bool is_running(md_mig_state s)
{
    return s == MD_MIG_RUNNING;
}

static bool is_post_copy(md_mig_state s)
{
    return s == MD_MIG_POSTCOPY;
}

static bool is_final(md_mig_state s)
{
    return !md_mig_state_in_progress(s);
}

static void expect_state(fixture *f, const char *uuid, bool (*done)(md_mig_state),
                         md_mig_state want)
{
    md_mig_state s = md_engine_wait(f->eng, uuid, done, WAIT_MS);
    if (s != want)
        fail_msg("migration %s is %s, want %s", uuid, md_mig_state_str(s), md_mig_state_str(want));
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static md_migration engine_get(fixture *f, const char *uuid)
{
    md_migration m;
    md_err err;
    if (md_engine_get(f->eng, uuid, &m, &err) != MD_OK)
        fail_msg("get %s: %s", uuid, err.msg);
    return m;
}

/* Moves simulated time in steps until pred holds or WAIT_MS have passed. */
static void drive_until(fixture *f, const char *uuid, double step_s,
                        bool (*pred)(const md_migration *))
{
    md_migration m = engine_get(f, uuid);
    for (int waited = 0; !pred(&m) && waited < WAIT_MS; waited += 20) {
        md_hv_sim_advance(f->hv, step_s);
        sleep_ms(20);
        m = engine_get(f, uuid);
    }
}

static bool ended(const md_migration *m)
{
    return !md_mig_state_in_progress(m->state);
}

static bool downtime_set(const md_migration *m)
{
    return m->current_downtime_ms != 0;
}

/* GET /v1/os-migrations/{uuid}: the record (owned by *r). */
static json_object *show(fixture *f, const char *uuid, reply *r)
{
    char path[128];

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    *r = call(f, "GET", path, NULL);
    if (r->status != 200)
        fail_msg("show %s: %d %s", uuid, r->status, r->raw.body ? r->raw.body : "");
    return get(r->json, "migration");
}

static void expect_status(fixture *f, const char *uuid, const char *want)
{
    reply r;
    json_object *m = show(f, uuid, &r);
    assert_string_equal(get_str(m, "status"), want);
    reply_free(&r);
}

/* PUT {"migration": {body}} on uuid. */
static reply put(fixture *f, const char *uuid, const char *inner)
{
    char path[128], body[512];

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    snprintf(body, sizeof body, "{\"migration\": %s}", inner);
    return call(f, "PUT", path, body);
}

/* ---- version document and healthcheck ------------------------------------------- */

static void check_version_document(json_object *o)
{
    json_object *versions = get(o, "versions");
    assert_true(json_object_is_type(versions, json_type_array));
    assert_int_equal(json_object_array_length(versions), 2);
    bool v1 = false, v21 = false;
    for (size_t i = 0; i < 2; i++) {
        json_object *v = json_object_array_get_idx(versions, i);
        json_object *link = json_object_array_get_idx(get(v, "links"), 0);
        assert_string_equal(get_str(link, "rel"), "self");
        if (strcmp(get_str(v, "id"), "v1") == 0) {
            v1 = true;
            assert_string_equal(get_str(v, "status"), "CURRENT");
            assert_string_equal(get_str(link, "href"), BASE "/v1/");
        } else if (strcmp(get_str(v, "id"), "v2.1") == 0) {
            v21 = true;
            /* Nova's compute API: microversions 2.1 to 2.80. */
            assert_string_equal(get_str(v, "min_version"), "2.1");
            assert_string_equal(get_str(v, "version"), "2.80");
            assert_string_equal(get_str(link, "href"), BASE "/v2.1/");
        }
    }
    assert_true(v1 && v21);
    json_object *me = get(o, "migrationd");
    assert_string_equal(get_str(me, "hypervisor"), "simulator");
    assert_true(get_bool(me, "simulated"));
    assert_string_equal(get_str(me, "host"), "node-a");
    assert_true(strlen(get_str(me, "version")) > 0);
}

static void root_is_the_version_document_naming_the_simulator(void **state)
{
    fixture *f = *state;

    up(f);
    reply r = call(f, "GET", "/", NULL);
    assert_int_equal(r.status, 200);
    check_version_document(r.json);
    reply_free(&r);
    r = call(f, "GET", "/v1", NULL);
    assert_int_equal(r.status, 200);
    check_version_document(r.json);
    reply_free(&r);
}

static void healthcheck_reports_ok_and_the_engine_counts(void **state)
{
    fixture *f = *state;
    char a[37], b[37];

    up(f);
    reply r = call(f, "GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(get_str(r.json, "status"), "ok");
    assert_int_equal(get_int(r.json, "running"), 0);
    assert_int_equal(get_int(r.json, "queued"), 0);
    assert_string_equal(get_str(r.json, "hypervisor"), "simulator");
    reply_free(&r);

    create(f, BUSY, a);
    expect_state(f, a, is_running, MD_MIG_RUNNING);
    create(f, IDLE_A, b); /* one worker: waits behind the busy one */
    r = call(f, "GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(get_int(r.json, "running"), 1);
    assert_int_equal(get_int(r.json, "queued"), 1);
    reply_free(&r);

    expect_fault_call(f, "GET", "/healthcheck?verbose=1", NULL, 400, "verbose");
}

/* ---- create ------------------------------------------------------------------------ */

static void create_answers_202_with_the_record_and_its_location(void **state)
{
    fixture *f = *state;
    static const char *const fields[] = {
        "id", "uuid", "status", "migration_type", "instance_uuid", "instance_name",
        "source_compute", "dest_compute", "dest_host", "created_at", "updated_at",
        "memory_total_bytes", "memory_processed_bytes", "memory_remaining_bytes",
        "disk_total_bytes", "disk_processed_bytes", "disk_remaining_bytes", "progress",
        "memory_iteration", "transfer_rate", "dirty_rate", "max_downtime_ms", "downtime_ms",
        "post_copy", "paused", "error", "links", NULL };

    up(f);
    reply r = call(f, "POST", "/v1/os-migrations",
                   "{\"migration\": {\"instance_uuid\": \"" BUSY "\", \"dest_compute\": "
                   "\"node-b\", \"dest_host\": \"node-b.migration\", \"block_migration\": false, "
                   "\"permit_post_copy\": true, \"max_downtime_ms\": 300, "
                   "\"bandwidth_mibps\": 100, \"timeout_action\": \"force_complete\"}}");
    assert_int_equal(r.status, 202);
    json_object *m = get(r.json, "migration");
    for (size_t i = 0; fields[i]; i++)
        get(m, fields[i]);
    const char *uuid = get_str(m, "uuid");
    assert_true(md_uuid_valid(uuid));
    assert_true(get_int(m, "id") > 0);
    assert_string_equal(get_str(m, "status"), "queued");
    assert_string_equal(get_str(m, "migration_type"), "live-migration");
    assert_string_equal(get_str(m, "instance_uuid"), BUSY);
    assert_string_equal(get_str(m, "source_compute"), "node-a");
    assert_string_equal(get_str(m, "dest_compute"), "node-b");
    assert_string_equal(get_str(m, "dest_host"), "node-b.migration");
    assert_int_equal(get_int(m, "progress"), 0);
    assert_int_equal(get_int(m, "max_downtime_ms"), 300);
    assert_false(get_bool(m, "post_copy"));
    assert_false(get_bool(m, "paused"));
    assert_true(is_null(m, "error"));
    assert_true(is_null(m, "downtime_ms"));
    /* Nova's time format: 2026-11-21T23:51:24.847000 */
    const char *t = get_str(m, "created_at");
    assert_int_equal(strlen(t), 26);
    assert_true(t[4] == '-' && t[10] == 'T' && t[19] == '.');

    char want[128];
    snprintf(want, sizeof want, BASE "/v1/os-migrations/%s", uuid);
    assert_non_null(header(&r, "Location"));
    assert_string_equal(header(&r, "Location"), want);
    json_object *link = json_object_array_get_idx(get(m, "links"), 0);
    assert_string_equal(get_str(link, "rel"), "self");
    assert_string_equal(get_str(link, "href"), want);
    reply_free(&r);
}

static void create_by_name_takes_the_configuration_defaults(void **state)
{
    fixture *f = *state;
    char uuid[37];
    reply r;

    up(f);
    create(f, "vm-a", uuid);
    json_object *m = show(f, uuid, &r);
    assert_string_equal(get_str(m, "instance_name"), "vm-a");
    /* The defaults of DESIGN.md section 4. */
    assert_int_equal(get_int(m, "max_downtime_ms"), 500);
    assert_string_equal(get_str(m, "dest_host"), "node-b");
    assert_string_equal(get_str(m, "timeout_action"), "abort");
    assert_false(get_bool(m, "permit_post_copy"));
    reply_free(&r);
}

static void create_refuses_a_second_migration_of_the_same_instance(void **state)
{
    fixture *f = *state;
    char a[37];

    up(f);
    create(f, BUSY, a);
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", "
                      "\"dest_compute\": \"node-c\"}}", 409, a);
    /* By name, the same domain. */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_name\": \"vm-busy\", "
                      "\"dest_compute\": \"node-c\"}}", 409, NULL);
}

static void create_refuses_the_node_itself_as_destination(void **state)
{
    fixture *f = *state;

    up(f);
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", "
                      "\"dest_compute\": \"node-a\"}}", 400, "node-a");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", "
                      "\"dest_compute\": \"node-b/../x\"}}", 400, "dest_compute");
}

static void create_refuses_missing_ambiguous_and_unknown_fields(void **state)
{
    fixture *f = *state;
    char big[600];

    up(f);
    /* Both instance fields, neither, no destination. */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", \"instance_name\": "
                      "\"vm-busy\", \"dest_compute\": \"node-b\"}}", 400, "instance");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"dest_compute\": \"node-b\"}}", 400, "instance");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\"}}", 400, "dest_compute");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"not-a-uuid\", "
                      "\"dest_compute\": \"node-b\"}}", 400, "instance_uuid");
    /* Unknown field, inside and beside "migration". */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", \"dest_compute\": "
                      "\"node-b\", \"priority\": 1}}", 400, "priority");
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", \"dest_compute\": "
                      "\"node-b\"}, \"extra\": true}", 400, NULL);
    expect_fault_call(f, "POST", "/v1/os-migrations", "{}", 400, NULL);
    expect_fault_call(f, "POST", "/v1/os-migrations", "{\"migration\": [1]}", 400, NULL);
    expect_fault_call(f, "POST", "/v1/os-migrations", "{\"migration\": \"x\"}", 400, NULL);
    /* Empty and over-long strings. */
    expect_fault_call(f, "POST", "/v1/os-migrations",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", "
                      "\"dest_compute\": \"\"}}", 400, "dest_compute");
    char longname[301];
    memset(longname, 'h', 300);
    longname[300] = '\0';
    snprintf(big, sizeof big, "{\"migration\": {\"instance_uuid\": \"" BUSY "\", "
             "\"dest_compute\": \"%s\"}}", longname);
    expect_fault_call(f, "POST", "/v1/os-migrations", big, 400, "dest_compute");
    /* Nothing was created. */
    reply r = call(f, "GET", "/v1/os-migrations", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 0);
    reply_free(&r);
}

static void create_refuses_wrong_types_for_every_field(void **state)
{
    fixture *f = *state;
    /* Each is one field of an otherwise valid request, with a value of the
     * wrong type or out of range (DESIGN.md section 6; Nova's limits). */
    static const struct { const char *field, *value; } bad[] = {
        { "instance_uuid", "5" },
        { "instance_name", "true" },
        { "dest_compute", "1" },
        { "dest_host", "[\"node-b\"]" },
        { "dest_host", "null" },
        { "block_migration", "\"true\"" },        /* string for bool */
        { "block_migration", "1" },               /* int for bool */
        { "permit_post_copy", "\"yes\"" },
        { "permit_post_copy", "0" },
        { "max_downtime_ms", "true" },            /* bool for int */
        { "max_downtime_ms", "500.5" },           /* float for int */
        { "max_downtime_ms", "500.0" },
        { "max_downtime_ms", "\"500\"" },
        { "max_downtime_ms", "99" },              /* below the minimum of 100 */
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

    up(f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *inst = strcmp(bad[i].field, "instance_uuid") == 0 ||
                                   strcmp(bad[i].field, "instance_name") == 0
                               ? ""
                               : "\"instance_uuid\": \"" BUSY "\", ";
        const char *dest = strcmp(bad[i].field, "dest_compute") == 0
                               ? ""
                               : "\"dest_compute\": \"node-b\", ";
        snprintf(body, sizeof body, "{\"migration\": {%s%s\"%s\": %s}}", inst, dest,
                 bad[i].field, bad[i].value);
        reply r = call(f, "POST", "/v1/os-migrations", body);
        if (r.status != 400)
            fail_msg("%s: answered %d, want 400", body, r.status);
        json_object *inner = get(r.json, "badRequest");
        if (!strstr(get_str(inner, "message"), bad[i].field))
            fail_msg("%s: the message does not name %s: %s", body, bad[i].field,
                     get_str(inner, "message"));
        reply_free(&r);
    }
    /* The same fields with good values are accepted. */
    reply r = call(f, "POST", "/v1/os-migrations",
                   "{\"migration\": {\"instance_uuid\": \"" BUSY "\", \"dest_compute\": "
                   "\"node-b\", \"block_migration\": true, \"permit_post_copy\": false, "
                   "\"max_downtime_ms\": 100, \"bandwidth_mibps\": 0, "
                   "\"timeout_action\": \"abort\"}}");
    assert_int_equal(r.status, 202);
    assert_true(get_bool(get(r.json, "migration"), "block_migration"));
    reply_free(&r);
}

/* ---- body checks -------------------------------------------------------------------- */

static void body_checks_answer_413_415_and_400(void **state)
{
    fixture *f = *state;
    static const char *const bad_json[] = {
        "{\"migration\": {\"instance_uuid\": ",                      /* incomplete */
        "{\"migration\": {}} x",                                     /* trailing garbage */
        "{\"migration\": {}}{\"migration\": {}}",                    /* two values */
        "{'migration': {}}",                                         /* not JSON */
        "[{\"migration\": {}}]",                                     /* not an object */
        "\"migration\"",
        "null",
        "42 ",
        "",                                                          /* empty */
    };
    md_api_request r;

    up(f);
    /* 413: the HTTP layer kept none of the body. */
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.path = "/v1/os-migrations";
    r.content_type = "application/json";
    r.body_too_large = true;
    expect_fault(handle(f, &r), 413, "65536");
    r.method = "PUT";
    r.path = "/v1/os-migrations/" GHOST;
    expect_fault(handle(f, &r), 413, NULL);

    /* 415: not JSON, or no content type at all. */
    const char *ok = "{\"migration\": {\"instance_uuid\": \"" BUSY "\", "
                     "\"dest_compute\": \"node-b\"}}";
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", "text/plain", ok), 415, NULL);
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", "application/x-www-form-urlencoded",
                         ok), 415, NULL);
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", "application/jsonp", ok), 415, NULL);
    expect_fault(call_ct(f, "POST", "/v1/os-migrations", NULL, ok), 415, NULL);
    expect_fault(call_ct(f, "PUT", "/v1/os-migrations/" GHOST, "text/plain",
                         "{\"migration\": {\"action\": \"abort\"}}"), 415, NULL);

    /* 400: everything that is not exactly one JSON object. */
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        reply rep = call_ct(f, "POST", "/v1/os-migrations", "application/json", bad_json[i]);
        if (rep.status != 400)
            fail_msg("body '%s': answered %d, want 400", bad_json[i], rep.status);
        reply_free(&rep);
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
    expect_fault(handle(f, &r), 400, NULL);

    /* A charset parameter and whitespace around the value are fine. */
    reply rep = call_ct(f, "POST", "/v1/os-migrations", "application/json; charset=utf-8",
                        "\n  {\"migration\": {\"instance_uuid\": \"" BUSY "\", "
                        "\"dest_compute\": \"node-b\"}}\r\n");
    assert_int_equal(rep.status, 202);
    reply_free(&rep);
}

/* ---- routing ------------------------------------------------------------------------ */

static void wrong_method_is_405_with_allow_and_unknown_path_404(void **state)
{
    fixture *f = *state;
    static const struct { const char *method, *path, *allow[4]; } cases[] = {
        { "PATCH", "/v1/os-migrations", { "GET", "POST" } },
        { "DELETE", "/v1/os-migrations", { "GET", "POST" } },
        { "POST", "/v1/os-migrations/" GHOST, { "GET", "PUT", "DELETE" } },
        { "PATCH", "/v1/os-migrations/" GHOST, { "GET", "PUT", "DELETE" } },
        { "DELETE", "/v1/os-migrations/" GHOST "/events", { "GET" } },
        { "POST", "/healthcheck", { "GET" } },
        { "PUT", "/", { "GET" } },
    };

    up(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = call(f, cases[i].method, cases[i].path, NULL);
        if (r.status != 405)
            fail_msg("%s %s: answered %d, want 405", cases[i].method, cases[i].path, r.status);
        const char *allow = header(&r, "Allow");
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
        reply_free(&r);
    }
    expect_fault_call(f, "GET", "/v1/nothing", NULL, 404, NULL);
    expect_fault_call(f, "GET", "/v2/os-migrations", NULL, 404, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations/" GHOST "/events/1", NULL, 404, NULL);
    expect_fault_call(f, "GET", "/v1//os-migrations", NULL, 404, NULL);
    expect_fault_call(f, "POST", "/nothing", "{}", 404, NULL);
    /* One trailing slash is the same resource. */
    reply r = call(f, "GET", "/v1/os-migrations/", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* ---- show and events ------------------------------------------------------------------ */

static void show_returns_the_record_404_for_unknown_and_400_for_malformed_ids(void **state)
{
    fixture *f = *state;
    char uuid[37];
    reply r;

    up(f);
    create(f, BUSY, uuid);
    expect_state(f, uuid, is_running, MD_MIG_RUNNING);
    json_object *m = show(f, uuid, &r);
    assert_string_equal(get_str(m, "uuid"), uuid);
    assert_string_equal(get_str(m, "status"), "running");
    assert_string_equal(get_str(m, "instance_uuid"), BUSY);
    assert_string_equal(get_str(m, "instance_name"), "vm-busy");
    reply_free(&r);

    expect_fault_call(f, "GET", "/v1/os-migrations/" GHOST, NULL, 404, GHOST);
    expect_fault_call(f, "GET", "/v1/os-migrations/not-a-uuid", NULL, 400, "not-a-uuid");
    expect_fault_call(f, "GET", "/v1/os-migrations/" GHOST "0", NULL, 400, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations/%27%3B", NULL, 400, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations/" GHOST "/events", NULL, 404, GHOST);
    expect_fault_call(f, "GET", "/v1/os-migrations/12/events", NULL, 400, NULL);
    char path[128];
    snprintf(path, sizeof path, "/v1/os-migrations/%s?fields=status", uuid);
    expect_fault_call(f, "GET", path, NULL, 400, "fields");
}

static void events_list_the_state_changes_oldest_first(void **state)
{
    fixture *f = *state;
    char uuid[37], path[128];
    reply r;

    up(f);
    create(f, IDLE_A, uuid);
    expect_state(f, uuid, is_running, MD_MIG_RUNNING);
    drive_until(f, uuid, 0.5, ended);
    expect_state(f, uuid, is_final, MD_MIG_COMPLETED);
    json_object *m = show(f, uuid, &r);
    assert_string_equal(get_str(m, "status"), "completed");
    assert_int_equal(get_int(m, "progress"), 100);
    assert_false(is_null(m, "downtime_ms"));
    reply_free(&r);

    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", uuid);
    r = call(f, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    json_object *ev = get(r.json, "events");
    size_t n = json_object_array_length(ev), nstate = 0;
    assert_true(n >= 4);
    int64_t last_id = 0;
    const char *last_at = "";
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(ev, i);
        int64_t id = get_int(e, "id");
        const char *at = get_str(e, "at");
        assert_true(id > last_id);          /* oldest first */
        assert_true(strcmp(at, last_at) >= 0);
        last_id = id;
        last_at = at;
        get_int(e, "value");
        get_str(e, "message");
        if (strcmp(get_str(e, "kind"), "state") == 0)
            nstate++;
    }
    /* queued -> preparing -> running -> completed (DESIGN.md section 3). */
    assert_true(nstate >= 4);
    json_object *first = json_object_array_get_idx(ev, 0);
    assert_string_equal(get_str(first, "kind"), "state");
    assert_non_null(strstr(get_str(first, "message"), "queued"));
    json_object *last_state = NULL;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(ev, i);
        if (strcmp(get_str(e, "kind"), "state") == 0)
            last_state = e;
    }
    assert_non_null(strstr(get_str(last_state, "message"), "completed"));
    reply_free(&r);
}

/* ---- actions and settings ---------------------------------------------------------------- */

static void force_complete_is_accepted_while_running_and_409_while_queued(void **state)
{
    fixture *f = *state;
    char a[37], b[37];

    up(f);
    create(f, BUSY, a);
    create(f, IDLE_A, b);
    expect_state(f, a, is_running, MD_MIG_RUNNING);
    reply r = put(f, a, "{\"action\": \"force_complete\"}");
    assert_int_equal(r.status, 202);
    assert_string_equal(get_str(get(r.json, "migration"), "uuid"), a);
    reply_free(&r);
    /* The engine says why: the other one is queued. */
    expect_fault(put(f, b, "{\"action\": \"force_complete\"}"), 409, "queued");
    expect_fault(put(f, GHOST, "{\"action\": \"force_complete\"}"), 404, NULL);
    expect_fault_call(f, "PUT", "/v1/os-migrations/xyz",
                      "{\"migration\": {\"action\": \"force_complete\"}}", 400, NULL);
}

static void post_copy_needs_it_permitted_and_then_blocks_abort(void **state)
{
    fixture *f = *state;
    char a[37], b[37];

    f->cfg->service.max_concurrent_live_migrations = 2;
    up(f);
    create(f, BUSY, a);
    create_ex(f, BUSY2, ", \"permit_post_copy\": true", b);
    expect_state(f, a, is_running, MD_MIG_RUNNING);
    expect_state(f, b, is_running, MD_MIG_RUNNING);
    expect_fault(put(f, a, "{\"action\": \"post_copy\"}"), 409, "without post-copy");

    drive_until(f, b, 0.1, downtime_set);
    reply r = put(f, b, "{\"action\": \"post_copy\"}");
    assert_int_equal(r.status, 202);
    reply_free(&r);
    expect_state(f, b, is_post_copy, MD_MIG_POSTCOPY);
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

static void abort_action_cancels_a_running_migration(void **state)
{
    fixture *f = *state;
    char a[37];

    up(f);
    create(f, BUSY, a);
    expect_state(f, a, is_running, MD_MIG_RUNNING);
    reply r = put(f, a, "{\"action\": \"abort\"}");
    assert_int_equal(r.status, 202);
    reply_free(&r);
    /* The monitor aborts the job; nothing needs simulated time for that. */
    drive_until(f, a, 0.1, ended);
    expect_state(f, a, is_final, MD_MIG_CANCELLED);
    expect_status(f, a, "cancelled");
    expect_fault(put(f, a, "{\"action\": \"abort\"}"), 409, "ended");
    expect_fault(put(f, a, "{\"action\": \"force_complete\"}"), 409, "ended");
}

static void unknown_action_and_action_with_settings_are_400(void **state)
{
    fixture *f = *state;
    char a[37];

    up(f);
    create(f, BUSY, a);
    expect_state(f, a, is_running, MD_MIG_RUNNING);
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

    up(f);
    create(f, BUSY, a);
    create(f, IDLE_A, b);
    expect_state(f, a, is_running, MD_MIG_RUNNING);
    reply r = put(f, a, "{\"max_downtime_ms\": 300, \"bandwidth_mibps\": 100}");
    assert_int_equal(r.status, 202);
    json_object *m = get(r.json, "migration");
    assert_int_equal(get_int(m, "max_downtime_ms"), 300);
    assert_int_equal(get_int(m, "bandwidth_mibps"), 100);
    reply_free(&r);
    /* Post-copy permission is fixed once a migration has started... */
    expect_fault(put(f, a, "{\"permit_post_copy\": true}"), 409, "started");
    /* ...and free while it waits. */
    r = put(f, b, "{\"permit_post_copy\": true}");
    assert_int_equal(r.status, 202);
    assert_true(get_bool(get(r.json, "migration"), "permit_post_copy"));
    reply_free(&r);
    expect_fault(put(f, GHOST, "{\"max_downtime_ms\": 300}"), 404, NULL);
    /* Nothing to change on one that has ended. */
    char path[128];
    snprintf(path, sizeof path, "/v1/os-migrations/%s", b);
    r = call(f, "DELETE", path, NULL);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    expect_fault(put(f, b, "{\"bandwidth_mibps\": 10}"), 409, "ended");
}

/* ---- delete --------------------------------------------------------------------------- */

static void delete_cancels_queued_and_running_migrations_and_409_once_ended(void **state)
{
    fixture *f = *state;
    char a[37], b[37], path[128];

    up(f);
    create(f, BUSY, a);
    create(f, IDLE_A, b);
    expect_state(f, a, is_running, MD_MIG_RUNNING);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", b);
    reply r = call(f, "DELETE", path, NULL);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    /* A queued migration is cancelled at once, without simulated time. */
    expect_status(f, b, "cancelled");
    expect_fault_call(f, "DELETE", path, NULL, 409, "ended");

    snprintf(path, sizeof path, "/v1/os-migrations/%s", a);
    r = call(f, "DELETE", path, NULL);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    drive_until(f, a, 0.1, ended);
    expect_state(f, a, is_final, MD_MIG_CANCELLED);
    expect_fault_call(f, "DELETE", path, NULL, 409, NULL);

    expect_fault_call(f, "DELETE", "/v1/os-migrations/" GHOST, NULL, 404, GHOST);
    expect_fault_call(f, "DELETE", "/v1/os-migrations/not-a-uuid", NULL, 400, NULL);
    snprintf(path, sizeof path, "/v1/os-migrations/%s?force=1", a);
    expect_fault_call(f, "DELETE", path, NULL, 400, "force");
}

/* ---- list --------------------------------------------------------------------------------- */

#define NSEED 21
#define T0_MS 1767225600000LL      /* 2026-01-01T00:00:00Z */
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
    reply r = call(f, "GET", target, NULL);

    if (r.status != 200)
        fail_msg("GET %s: %d %s", target, r.status, r.raw.body ? r.raw.body : "");
    json_object *arr = get(r.json, "migrations");
    size_t k = 0, n = json_object_array_length(arr);
    for (int i = NSEED - 1; i >= 0; i--) {
        if (!want(i, arg))
            continue;
        seed_uuid(i, uuid);
        if (k >= n)
            fail_msg("GET %s: %zu records, seed %d missing", target, n, i);
        const char *got = get_str(json_object_array_get_idx(arr, k), "uuid");
        if (strcmp(got, uuid) != 0)
            fail_msg("GET %s: record %zu is %s, want seed %d (%s)", target, k, got, i, uuid);
        k++;
    }
    if (k != n)
        fail_msg("GET %s: %zu records, want %zu", target, n, k);
    assert_true(json_object_is_type(get(r.json, "migrations_links"), json_type_array));
    return r;
}

static void expect_list_only(fixture *f, const char *target, bool (*want)(int, const void *),
                             const void *arg)
{
    reply r = expect_list(f, target, want, arg);
    reply_free(&r);
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

    up(f);
    seed(f);
    reply r = expect_list(f, "/v1/os-migrations", all, NULL);
    /* Not a full page (the default limit is larger): no next link. */
    assert_int_equal(json_object_array_length(get(r.json, "migrations_links")), 0);
    json_object *m = json_object_array_get_idx(get(r.json, "migrations"), 0);
    assert_string_equal(get_str(m, "created_at"), "2026-01-01T00:20:00.000000");
    assert_string_equal(get_str(m, "updated_at"), "2026-01-01T00:20:00.000000");
    reply_free(&r);
}

static void list_filters_by_status_including_post_copy(void **state)
{
    fixture *f = *state;
    static const struct { const char *query; md_mig_state s; } cases[] = {
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

    up(f);
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

static void list_filters_by_instance_host_and_type(void **state)
{
    fixture *f = *state;

    up(f);
    seed(f);
    expect_list_only(f, "/v1/os-migrations?instance_uuid=" INST_X, instance_is, INST_X);
    expect_list_only(f, "/v1/os-migrations?instance_uuid=" INST_Y, instance_is, INST_Y);
    expect_list_only(f, "/v1/os-migrations?instance_uuid=" GHOST, none, NULL);
    expect_fault_call(f, "GET", "/v1/os-migrations?instance_uuid=vm-a", NULL, 400,
                      "instance_uuid");
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
    expect_fault_call(f, "GET", "/v1/os-migrations?migration_type=teleport", NULL, 400,
                      "teleport");
}

static void list_filters_by_changes_since_and_before(void **state)
{
    fixture *f = *state;
    static const int from10[] = { 10, NSEED }, to5[] = { 0, 5 }, mid[] = { 5, 10 },
                     just12[] = { 12, 12 };

    up(f);
    seed(f);
    /* updated_at >= changes-since, <= changes-before; every ISO 8601 form. */
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:10:00Z", minute_in,
                     from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:10:00", minute_in,
                     from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:10:00.000000",
                     minute_in, from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T01:10:00%2B01:00",
                     minute_in, from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2025-12-31T23:10:00-01:00",
                     minute_in, from10);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:09:59.999Z",
                     minute_in, from10);
    expect_list_only(f, "/v1/os-migrations?changes-before=2026-01-01T00:05:00Z", minute_in,
                     to5);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:05:00Z"
                        "&changes-before=2026-01-01T00:10:00Z", minute_in, mid);
    expect_list_only(f, "/v1/os-migrations?changes-since=2026-01-01T00:12:00Z"
                        "&changes-before=2026-01-01T00:12:00Z", minute_in, just12);
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
        reply r = call(f, "GET", target, NULL);
        if (r.status != 400)
            fail_msg("GET %s: answered %d, want 400", target, r.status);
        reply_free(&r);
    }
}

/* The next link of a page, as a request target ("/v1/...?..."), or "" for none. */
static void next_target(const reply *r, char *out, size_t len)
{
    json_object *links = get(r->json, "migrations_links");
    out[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(links); i++) {
        json_object *l = json_object_array_get_idx(links, i);
        if (strcmp(get_str(l, "rel"), "next") != 0)
            continue;
        const char *href = get_str(l, "href");
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

    up(f);
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
        reply_free(&r);
    }
    /* Past the last record: an empty page without a next link. */
    reply r = expect_list(f, target, none, NULL);
    assert_int_equal(json_object_array_length(get(r.json, "migrations_links")), 0);
    reply_free(&r);

    /* The marker alone starts after that record. */
    static const int after10[] = { 0, 9 };
    char uuid[37];
    seed_uuid(10, uuid);
    snprintf(target, sizeof target, "/v1/os-migrations?marker=%s", uuid);
    expect_list_only(f, target, page_of, after10);

    /* limit=0 is an empty page; bad limits and unknown markers are 400s. */
    r = expect_list(f, "/v1/os-migrations?limit=0", none, NULL);
    assert_int_equal(json_object_array_length(get(r.json, "migrations_links")), 0);
    reply_free(&r);
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=-1", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=seven", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=7x", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=", NULL, 400, "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=99999999999999999999999", NULL, 400,
                      "limit");
    expect_fault_call(f, "GET", "/v1/os-migrations?marker=" GHOST, NULL, 400, GHOST);
    expect_fault_call(f, "GET", "/v1/os-migrations?marker=14", NULL, 400, "marker");
    /* A limit above the maximum is capped, not refused. */
    expect_list_only(f, "/v1/os-migrations?limit=100000", all, NULL);
}

static void list_next_links_keep_the_filters(void **state)
{
    fixture *f = *state;
    char target[512];
    const md_mig_state completed = MD_MIG_COMPLETED;

    up(f);
    seed(f);
    /* The completed seeds, two to a page. */
    int ncompleted = 0;
    for (int i = 0; i < NSEED; i++)
        ncompleted += seed_state(i) == completed;
    int seen = 0, pages = 0;
    snprintf(target, sizeof target, "/v1/os-migrations?status=completed&limit=2");
    while (target[0] && pages < 20) {
        reply r = call(f, "GET", target, NULL);
        assert_int_equal(r.status, 200);
        json_object *arr = get(r.json, "migrations");
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            const char *st = get_str(json_object_array_get_idx(arr, k), "status");
            if (strcmp(st, "completed") != 0)
                fail_msg("GET %s listed a %s record: the next link lost the filter", target,
                         st);
            seen++;
        }
        next_target(&r, target, sizeof target);
        reply_free(&r);
        pages++;
    }
    assert_int_equal(seen, ncompleted);
}

static void unknown_query_parameters_are_400(void **state)
{
    fixture *f = *state;
    md_api_request r;

    up(f);
    expect_fault_call(f, "GET", "/v1/os-migrations?foo=bar", NULL, 400, "foo");
    expect_fault_call(f, "GET", "/v1/os-migrations?limit=5&sort_dir=asc", NULL, 400,
                      "sort_dir");
    expect_fault_call(f, "GET", "/v1/os-migrations?Status=completed", NULL, 400, "Status");
    expect_fault_call(f, "POST", "/v1/os-migrations?dry_run=1",
                      "{\"migration\": {\"instance_uuid\": \"" BUSY "\", "
                      "\"dest_compute\": \"node-b\"}}", 400, "dry_run");
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
    expect_fault(handle(f, &r), 400, NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(root_is_the_version_document_naming_the_simulator),
        T(healthcheck_reports_ok_and_the_engine_counts),
        T(create_answers_202_with_the_record_and_its_location),
        T(create_by_name_takes_the_configuration_defaults),
        T(create_refuses_a_second_migration_of_the_same_instance),
        T(create_refuses_the_node_itself_as_destination),
        T(create_refuses_missing_ambiguous_and_unknown_fields),
        T(create_refuses_wrong_types_for_every_field),
        T(body_checks_answer_413_415_and_400),
        T(wrong_method_is_405_with_allow_and_unknown_path_404),
        T(show_returns_the_record_404_for_unknown_and_400_for_malformed_ids),
        T(events_list_the_state_changes_oldest_first),
        T(force_complete_is_accepted_while_running_and_409_while_queued),
        T(post_copy_needs_it_permitted_and_then_blocks_abort),
        T(abort_action_cancels_a_running_migration),
        T(unknown_action_and_action_with_settings_are_400),
        T(settings_change_answers_202_and_409_when_the_state_forbids),
        T(delete_cancels_queued_and_running_migrations_and_409_once_ended),
        T(list_without_filters_returns_every_record_newest_first),
        T(list_filters_by_status_including_post_copy),
        T(list_filters_by_instance_host_and_type),
        T(list_filters_by_changes_since_and_before),
        T(list_pages_with_limit_and_marker_through_next_links),
        T(list_next_links_keep_the_filters),
        T(unknown_query_parameters_are_400),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
