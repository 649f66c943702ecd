/* test_api_nova.c - the Nova-compatible routes under /v2.1 (api/nova.c).
 *
 * Every test runs the real request handler over the real engine, store and
 * simulated hypervisor, in process: requests are md_api_request values
 * handed to md_api_handle(), no sockets. The simulator's clock is stopped
 * and moved by hand, so a migration stays where a test put it.
 *
 * Expected values come from Nova's API reference and sources (api-ref
 * os-migrations.inc, server-migrations.inc, the api_samples, and the
 * microversion gates of migrations.py, server_migrations.py and
 * migrate_server.py), plus migrationd's documented differences (post-copy
 * is in progress; a state that forbids a command is a 409).
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
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/stack.h"
#include "service/log.h"

#define IDLE_A "11111111-1111-4111-8111-111111111111"
#define IDLE_B "22222222-2222-4222-8222-222222222222"
#define IDLE_C "33333333-3333-4333-8333-333333333333"
#define BUSY "44444444-4444-4444-8444-444444444444"
#define GHOST "66666666-6666-4666-8666-666666666666" /* known to no one */

#define WAIT_MS 10000

typedef md_test_stack fixture;

/* One answer, with its body parsed. */
typedef struct reply {
    md_api_response r;
    json_object *j;                   /* NULL without a body */
} reply;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    assert_int_equal(md_test_stack_init(f, "/tmp", "api-nova"), 0);
    md_test_stack_add_domain(f, "vm-a", IDLE_A, 1024, 0, 0);
    md_test_stack_add_domain(f, "vm-b", IDLE_B, 1024, 0, 0);
    md_test_stack_add_domain(f, "vm-c", IDLE_C, 1024, 0, 0);
    /* Writes 2 GiB/s over 512 MiB: never converges by itself. */
    md_test_stack_add_domain(f, "vm-busy", BUSY, 1024, 512, 2048);
    assert_int_equal(md_test_stack_open(f), 0);
    *state = f;
    return 0;
}

/* Starts the engine and the API (tests first adjust the configuration). */
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

/* ---- requests ----------------------------------------------------------------- */

/* Sends METHOD target (a path with an optional "?k=v&k2" query, given
 * decoded as the HTTP layer would hand it over) with the microversion
 * headers (either may be NULL) and a JSON body (or NULL). */
static reply call_v(fixture *f, const char *method, const char *target, const char *nova_ver,
                    const char *os_ver, const char *body)
{
    md_api_request q;
    reply out;
    char buf[2048];

    memset(&q, 0, sizeof q);
    memset(&out, 0, sizeof out);
    snprintf(buf, sizeof buf, "%s", target);
    q.method = method;
    char *qs = strchr(buf, '?');
    if (qs) {
        *qs++ = '\0';
        for (char *save = NULL, *kv = strtok_r(qs, "&", &save); kv;
             kv = strtok_r(NULL, "&", &save)) {
            assert_true(q.nquery < MD_API_MAX_QUERY);
            char *eq = strchr(kv, '=');
            if (eq)
                *eq++ = '\0';
            q.query[q.nquery].key = kv;
            q.query[q.nquery++].value = eq ? eq : "";
        }
    }
    q.path = buf;
    q.nova_version = nova_ver;
    q.openstack_version = os_ver;
    if (body) {
        q.content_type = "application/json";
        q.body = body;
        q.body_len = strlen(body);
    }
    md_api_handle(f->api, &q, &out.r);
    if (out.r.body)
        out.j = json_tokener_parse(out.r.body);
    if (out.r.body && !out.j)
        fail_msg("%s %s: the body is not JSON: %s", method, target, out.r.body);
    return out;
}

static reply call(fixture *f, const char *method, const char *target, const char *ver,
                  const char *body)
{
    return call_v(f, method, target, ver, NULL, body);
}

static void done(reply *r)
{
    json_object_put(r->j);
    md_api_response_clear(&r->r);
}

static void expect_status(reply *r, int status)
{
    if (r->r.status != status)
        fail_msg("status %d, want %d: %s", r->r.status, status, r->r.body ? r->r.body : "");
}

/* Checks the status and a Nova fault body of that kind. */
static void expect_fault(reply *r, int status, const char *name)
{
    json_object *inner, *code;

    expect_status(r, status);
    assert_non_null(r->j);
    if (!json_object_object_get_ex(r->j, name, &inner))
        fail_msg("want a %s fault: %s", name, r->r.body);
    assert_true(json_object_object_get_ex(inner, "code", &code));
    assert_int_equal(json_object_get_int(code), status);
}

static const char *fault_message(reply *r)
{
    json_object_object_foreach(r->j, name, inner) {
        (void)name;
        json_object *m;
        if (json_object_object_get_ex(inner, "message", &m))
            return json_object_get_string(m);
    }
    return "";
}

static const char *header(const reply *r, const char *name)
{
    for (size_t i = 0; i < r->r.nheaders; i++) {
        if (strcasecmp(r->r.headers[i].name, name) == 0)
            return r->r.headers[i].value;
    }
    return NULL;
}

/* The value at a path of object keys ("a", "b") or NULL. */
static json_object *at(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static bool has(json_object *o, const char *key)
{
    return o && json_object_object_get_ex(o, key, NULL);
}

static const char *str(json_object *o, const char *key)
{
    json_object *v = at(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void assert_null_field(json_object *o, const char *key)
{
    if (!has(o, key) || at(o, key) != NULL)
        fail_msg("%s must be present and null", key);
}

static size_t count(json_object *o, const char *key)
{
    json_object *a = at(o, key);
    assert_non_null(a);
    assert_true(json_object_is_type(a, json_type_array));
    return json_object_array_length(a);
}

static json_object *item(json_object *o, const char *key, size_t i)
{
    return json_object_array_get_idx(at(o, key), i);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- migrations through the API ---------------------------------------------------- */

static const char live_body[] = "{\"os-migrateLive\": {\"host\": \"node-b\", "
                                "\"block_migration\": \"auto\"}}";

/* Live-migrates server through os-migrateLive (2.30) and returns the new
 * record (the only one in progress for that server). */
static md_migration migrate(fixture *f, const char *server)
{
    char path[128];
    md_store_filter flt;
    md_migration *v = NULL, m;
    size_t n = 0;

    snprintf(path, sizeof path, "/v2.1/servers/%s/action", server);
    reply r = call(f, "POST", path, "2.30", live_body);
    expect_status(&r, 202);
    assert_null(r.r.body);
    done(&r);
    memset(&flt, 0, sizeof flt);
    flt.in_progress_only = true;
    snprintf(flt.instance_uuid, sizeof flt.instance_uuid, "%s", server);
    assert_int_equal(md_store_list(f->store, &flt, &v, &n, NULL), MD_OK);
    assert_int_equal(n, 1);
    m = v[0];
    free(v);
    return m;
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

static void expect_state(fixture *f, const char *uuid, bool (*pred)(md_mig_state),
                         md_mig_state want)
{
    md_mig_state s = md_engine_wait(f->eng, uuid, pred, WAIT_MS);
    if (s != want)
        fail_msg("migration %s is %s, want %s", uuid, md_mig_state_str(s),
                 md_mig_state_str(want));
}

/* Moves simulated time until the migration has ended. */
static void drive_to_end(fixture *f, const char *uuid)
{
    md_migration m;
    for (int waited = 0; waited < WAIT_MS; waited += 20) {
        assert_int_equal(md_engine_get(f->eng, uuid, &m, NULL), MD_OK);
        if (!md_mig_state_in_progress(m.state))
            return;
        md_hv_sim_advance(f->hv, 0.5);
        sleep_ms(20);
    }
    fail_msg("migration %s did not end", uuid);
}

/* ---- the version document and microversions ---------------------------------------- */

static void version_document_is_novas(void **state)
{
    fixture *f = *state;
    const char *paths[] = { "/v2.1", "/v2.1/" };

    up(f);
    for (int i = 0; i < 2; i++) {
        reply r = call(f, "GET", paths[i], NULL, NULL);
        expect_status(&r, 200);
        json_object *v = at(r.j, "version");
        assert_string_equal(str(v, "id"), "v2.1");
        assert_string_equal(str(v, "status"), "CURRENT");
        assert_string_equal(str(v, "version"), "2.80");
        assert_string_equal(str(v, "min_version"), "2.1");
        assert_string_equal(str(v, "updated"), "2013-07-23T11:33:21Z");
        json_object *self = item(v, "links", 0);
        assert_string_equal(str(self, "rel"), "self");
        assert_string_equal(str(self, "href"), "http://127.0.0.1:8775/v2.1/");
        assert_string_equal(str(item(v, "links", 1), "rel"), "describedby");
        json_object *mt = item(v, "media-types", 0);
        assert_string_equal(str(mt, "base"), "application/json");
        assert_string_equal(str(mt, "type"),
                            "application/vnd.openstack.compute+json;version=2.1");
        done(&r);
    }
}

static void microversion_headers_are_negotiated_and_echoed(void **state)
{
    fixture *f = *state;
    reply r;

    up(f);
    /* None asked: the minimum, 2.1, in both headers. */
    r = call(f, "GET", "/v2.1/os-migrations", NULL, NULL);
    expect_status(&r, 200);
    assert_string_equal(header(&r, "X-OpenStack-Nova-API-Version"), "2.1");
    assert_string_equal(header(&r, "OpenStack-API-Version"), "compute 2.1");
    assert_non_null(strstr(header(&r, "Vary"), "X-OpenStack-Nova-API-Version"));
    done(&r);

    r = call(f, "GET", "/v2.1/os-migrations", "2.59", NULL);
    expect_status(&r, 200);
    assert_string_equal(header(&r, "X-OpenStack-Nova-API-Version"), "2.59");
    assert_string_equal(header(&r, "OpenStack-API-Version"), "compute 2.59");
    done(&r);

    r = call(f, "GET", "/v2.1/os-migrations", "latest", NULL);
    expect_status(&r, 200);
    assert_string_equal(header(&r, "X-OpenStack-Nova-API-Version"), "2.80");
    done(&r);

    /* The newer header form wins. */
    r = call_v(f, "GET", "/v2.1/os-migrations", "2.3", "compute 2.66", NULL);
    expect_status(&r, 200);
    assert_string_equal(header(&r, "OpenStack-API-Version"), "compute 2.66");
    assert_string_equal(header(&r, "X-OpenStack-Nova-API-Version"), "2.66");
    done(&r);

    r = call(f, "GET", "/v2.1/os-migrations", "2.81", NULL);
    expect_fault(&r, 406, "notAcceptable");
    done(&r);
    /* Nova's APIVersionRequest: "X.Y" is well formed for any major, so
     * 3.0 is a 406 like 2.0 and 2.81; anything else is a 400. */
    const char *unacceptable[] = { "3.0", "2.0", "1.1" };
    for (size_t i = 0; i < 3; i++) {
        r = call(f, "GET", "/v2.1/os-migrations", unacceptable[i], NULL);
        expect_fault(&r, 406, "notAcceptable");
        done(&r);
    }
    const char *malformed[] = { "garbage", "2", "2.", "2.x", "v2.1", "02.1", "2.1.1" };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        r = call(f, "GET", "/v2.1/os-migrations", malformed[i], NULL);
        if (r.r.status != 400)
            fail_msg("version \"%s\": %d, want 400", malformed[i], r.r.status);
        expect_fault(&r, 400, "badRequest");
        done(&r);
    }
    r = call_v(f, "GET", "/v2.1/os-migrations", NULL, "compute 9.9", NULL);
    expect_fault(&r, 406, "notAcceptable");
    done(&r);
}

/* ---- servers ---------------------------------------------------------------------- */

static void servers_are_the_domains_of_this_node(void **state)
{
    fixture *f = *state;
    reply r;

    up(f);
    r = call(f, "GET", "/v2.1/servers/" IDLE_A, "2.80", NULL);
    expect_status(&r, 200);
    json_object *s = at(r.j, "server");
    assert_string_equal(str(s, "id"), IDLE_A);
    assert_string_equal(str(s, "name"), "vm-a");
    assert_string_equal(str(s, "status"), "ACTIVE");
    assert_string_equal(str(s, "OS-EXT-STS:vm_state"), "active");
    assert_null_field(s, "OS-EXT-STS:task_state");
    assert_string_equal(str(s, "OS-EXT-SRV-ATTR:host"), "node-a");
    assert_string_equal(str(s, "OS-EXT-SRV-ATTR:hypervisor_hostname"), "node-a");
    assert_string_equal(str(item(s, "links", 0), "href"),
                        "http://127.0.0.1:8775/v2.1/servers/" IDLE_A);
    assert_string_equal(str(item(s, "links", 1), "href"),
                        "http://127.0.0.1:8775/servers/" IDLE_A);
    assert_int_equal(json_object_get_int(at(at(s, "flavor"), "ram")), 1024);
    done(&r);

    /* Before 2.47 the flavor is a reference. */
    r = call(f, "GET", "/v2.1/servers/" IDLE_A, "2.46", NULL);
    expect_status(&r, 200);
    assert_true(has(at(at(r.j, "server"), "flavor"), "id"));
    done(&r);

    /* By name it is not found: clients then search the list. */
    r = call(f, "GET", "/v2.1/servers/vm-a", NULL, NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    r = call(f, "GET", "/v2.1/servers/" GHOST, NULL, NULL);
    expect_fault(&r, 404, "itemNotFound");
    assert_non_null(strstr(fault_message(&r), GHOST));
    done(&r);

    /* openstackclient's find: GET /servers?name=..., parameters it adds
     * ignored. */
    r = call(f, "GET", "/v2.1/servers?name=vm-c&all_tenants=True", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "servers"), 1);
    s = item(r.j, "servers", 0);
    assert_string_equal(str(s, "id"), IDLE_C);
    assert_string_equal(str(s, "name"), "vm-c");
    assert_true(has(s, "links"));
    assert_false(has(s, "status")); /* the short form */
    done(&r);

    r = call(f, "GET", "/v2.1/servers/detail?name=vm-", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "servers"), 4);
    assert_string_equal(str(item(r.j, "servers", 0), "status"), "ACTIVE");
    done(&r);

    r = call(f, "GET", "/v2.1/servers?name=nothing-like-it", NULL, NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "servers"), 0);
    done(&r);

    r = call(f, "GET", "/v2.1/servers", NULL, NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "servers"), 4);
    done(&r);

    /* Unknown parameters elsewhere are 400s; other methods 405. */
    r = call(f, "GET", "/v2.1/servers/" IDLE_A "?bogus=1", NULL, NULL);
    expect_fault(&r, 400, "badRequest");
    done(&r);
    r = call(f, "PUT", "/v2.1/servers/" IDLE_A, NULL, "{}");
    expect_status(&r, 405);
    done(&r);
}

/* ---- os-migrateLive ---------------------------------------------------------------- */

static void os_migrate_live_creates_a_migration_that_the_lists_show(void **state)
{
    fixture *f = *state;
    reply r;

    up(f);
    md_migration m = migrate(f, IDLE_A);
    assert_string_equal(m.dest_compute, "node-b");
    assert_false(m.block_migration);

    /* The server is migrating now. */
    r = call(f, "GET", "/v2.1/servers/" IDLE_A, NULL, NULL);
    expect_status(&r, 200);
    assert_string_equal(str(at(r.j, "server"), "status"), "MIGRATING");
    assert_string_equal(str(at(r.j, "server"), "OS-EXT-STS:task_state"), "migrating");
    done(&r);

    r = call(f, "GET", "/v2.1/servers/" IDLE_A "/migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 1);
    json_object *sm = item(r.j, "migrations", 0);
    assert_int_equal(json_object_get_int64(at(sm, "id")), m.id);
    assert_string_equal(str(sm, "uuid"), m.uuid);
    assert_string_equal(str(sm, "server_uuid"), IDLE_A);
    assert_string_equal(str(sm, "source_compute"), "node-a");
    assert_string_equal(str(sm, "source_node"), "node-a");
    assert_string_equal(str(sm, "dest_compute"), "node-b");
    assert_string_equal(str(sm, "dest_node"), "node-b");
    assert_string_equal(str(sm, "dest_host"), "node-b");
    const char *st = str(sm, "status");
    assert_true(strcmp(st, "queued") == 0 || strcmp(st, "preparing") == 0 ||
                strcmp(st, "running") == 0);
    const char *fields[] = { "memory_total_bytes", "memory_processed_bytes",
                             "memory_remaining_bytes", "disk_total_bytes",
                             "disk_processed_bytes", "disk_remaining_bytes", "created_at",
                             "updated_at" };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!has(sm, fields[i]))
            fail_msg("server migration has no %s", fields[i]);
    assert_null_field(sm, "user_id");
    assert_null_field(sm, "project_id");
    done(&r);

    r = call(f, "GET", "/v2.1/os-migrations?instance_uuid=" IDLE_A, "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 1);
    json_object *om = item(r.j, "migrations", 0);
    assert_int_equal(json_object_get_int64(at(om, "id")), m.id);
    assert_string_equal(str(om, "uuid"), m.uuid);
    assert_string_equal(str(om, "instance_uuid"), IDLE_A);
    assert_string_equal(str(om, "migration_type"), "live-migration");
    assert_true(has(om, "links"));
    done(&r);

    /* A second one of the same server while the first runs. */
    r = call(f, "POST", "/v2.1/servers/" IDLE_A "/action", "2.30", live_body);
    expect_fault(&r, 409, "conflictingRequest");
    done(&r);
}

static void os_migrate_live_follows_novas_schema_per_microversion(void **state)
{
    fixture *f = *state;
    const char *path = "/v2.1/servers/" IDLE_B "/action";
    reply r;

    up(f);
    struct { const char *ver; const char *body; int status; const char *text; } bad[] = {
        /* No host: this node cannot schedule. */
        { "2.30", "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}", 400,
          "host is required" },
        { "2.30", "{\"os-migrateLive\": {\"block_migration\": \"auto\"}}", 400, "host" },
        { "2.30", "{\"os-migrateLive\": {\"host\": \"node-b\"}}", 400, "block_migration" },
        /* "auto" from 2.25, disk_over_commit before 2.25, force 2.30-2.67. */
        { "2.24", "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\", "
                  "\"disk_over_commit\": false}}", 400, "block_migration" },
        { "2.25", "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
                  "\"disk_over_commit\": false}}", 400, "disk_over_commit" },
        { "2.29", "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
                  "\"force\": true}}", 400, "force" },
        { "2.68", "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
                  "\"force\": false}}", 400, "force" },
        { "2.30", "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": "
                  "\"maybe\"}}", 400, "block_migration" },
        { "2.30", "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
                  "\"bogus\": 1}}", 400, "bogus" },
        { "2.30", "{\"os-migrateLive\": \"node-b\"}", 400, "os-migrateLive" },
        /* The destination is this node. */
        { "2.30", "{\"os-migrateLive\": {\"host\": \"node-a\", \"block_migration\": false}}",
          400, "this node" },
        /* Other actions, and two at once. */
        { "2.30", "{\"pause\": null}", 400, "no such action" },
        { "2.30", "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false}, "
                  "\"pause\": null}", 400, "one key" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = call(f, "POST", path, bad[i].ver, bad[i].body);
        if (r.r.status != bad[i].status || !strstr(fault_message(&r), bad[i].text))
            fail_msg("case %zu: %d %s", i, r.r.status, r.r.body ? r.r.body : "");
        expect_fault(&r, bad[i].status, "badRequest");
        done(&r);
    }

    /* Unknown server. */
    r = call(f, "POST", "/v2.1/servers/" GHOST "/action", "2.30", live_body);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);

    /* Before 2.25 with disk_over_commit (what novaclient sends then), with
     * Nova's string booleans. */
    r = call(f, "POST", path, NULL, "{\"os-migrateLive\": {\"host\": \"node-b\", "
             "\"block_migration\": \"false\", \"disk_over_commit\": \"False\"}}");
    expect_status(&r, 202);
    assert_null(r.r.body);
    done(&r);

    /* With force (2.30-2.67) and a block migration. */
    r = call(f, "POST", "/v2.1/servers/" IDLE_C "/action", "2.67",
             "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": true, "
             "\"force\": true}}");
    expect_status(&r, 202);
    done(&r);
    md_store_filter flt;
    md_migration *v = NULL;
    size_t n = 0;
    memset(&flt, 0, sizeof flt);
    snprintf(flt.instance_uuid, sizeof flt.instance_uuid, "%s", IDLE_C);
    assert_int_equal(md_store_list(f->store, &flt, &v, &n, NULL), MD_OK);
    assert_int_equal(n, 1);
    assert_true(v[0].block_migration);
    free(v);
}

/* ---- os-migrations ----------------------------------------------------------------- */

static void os_migrations_fields_follow_the_microversion(void **state)
{
    fixture *f = *state;
    reply r;

    up(f);
    md_migration done_m = migrate(f, IDLE_A);
    drive_to_end(f, done_m.uuid);
    expect_state(f, done_m.uuid, is_final, MD_MIG_COMPLETED);
    md_migration m = migrate(f, BUSY);

    /* 2.1: the original fields only. */
    r = call(f, "GET", "/v2.1/os-migrations", NULL, NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 2);
    assert_false(has(r.j, "migrations_links"));
    json_object *o = item(r.j, "migrations", 0); /* newest first */
    assert_int_equal(json_object_get_int64(at(o, "id")), m.id);
    const char *fields[] = { "id", "status", "instance_uuid", "source_compute", "source_node",
                             "dest_compute", "dest_node", "dest_host", "old_instance_type_id",
                             "new_instance_type_id", "created_at", "updated_at" };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!has(o, fields[i]))
            fail_msg("os-migrations item has no %s", fields[i]);
    assert_null_field(o, "old_instance_type_id");
    assert_false(has(o, "migration_type"));
    assert_false(has(o, "links"));
    assert_false(has(o, "uuid"));
    assert_false(has(o, "user_id"));
    /* Nova's time format. */
    const char *t = str(o, "created_at");
    assert_int_equal(strlen(t), 26);
    assert_int_equal(t[10], 'T');
    assert_int_equal(t[19], '.');
    done(&r);

    /* 2.23: migration_type, and links only for a live migration in progress. */
    r = call(f, "GET", "/v2.1/os-migrations", "2.23", NULL);
    expect_status(&r, 200);
    o = item(r.j, "migrations", 0);
    assert_string_equal(str(o, "migration_type"), "live-migration");
    char href[256];
    snprintf(href, sizeof href, "http://127.0.0.1:8775/v2.1/servers/%s/migrations/%lld", BUSY,
             (long long)m.id);
    assert_string_equal(str(item(o, "links", 0), "rel"), "self");
    assert_string_equal(str(item(o, "links", 0), "href"), href);
    snprintf(href, sizeof href, "http://127.0.0.1:8775/servers/%s/migrations/%lld", BUSY,
             (long long)m.id);
    assert_string_equal(str(item(o, "links", 1), "rel"), "bookmark");
    assert_string_equal(str(item(o, "links", 1), "href"), href);
    assert_false(has(o, "uuid"));
    json_object *old = item(r.j, "migrations", 1);
    assert_string_equal(str(old, "status"), "completed");
    assert_false(has(old, "links"));
    done(&r);

    /* 2.59: uuid; 2.80: user_id and project_id (null: no users here). */
    r = call(f, "GET", "/v2.1/os-migrations", "2.59", NULL);
    expect_status(&r, 200);
    assert_string_equal(str(item(r.j, "migrations", 0), "uuid"), m.uuid);
    assert_false(has(item(r.j, "migrations", 0), "user_id"));
    assert_false(has(r.j, "migrations_links")); /* not a full page */
    done(&r);
    r = call(f, "GET", "/v2.1/os-migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_null_field(item(r.j, "migrations", 0), "user_id");
    assert_null_field(item(r.j, "migrations", 0), "project_id");
    done(&r);

    /* The server migrations API: no uuid before 2.59, nothing before 2.23. */
    r = call(f, "GET", "/v2.1/servers/" BUSY "/migrations", "2.23", NULL);
    expect_status(&r, 200);
    assert_false(has(item(r.j, "migrations", 0), "uuid"));
    assert_false(has(item(r.j, "migrations", 0), "user_id"));
    done(&r);
    r = call(f, "GET", "/v2.1/servers/" BUSY "/migrations", "2.22", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
}

static void os_migrations_pages_and_filters_from_2_59(void **state)
{
    fixture *f = *state;
    reply r;
    char q[512];

    up(f);
    md_migration a = migrate(f, BUSY);   /* runs: one at a time */
    md_migration b = migrate(f, IDLE_B); /* queued */
    md_migration c = migrate(f, IDLE_C); /* queued, newest */
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);

    /* A full page links to the next, with this request's parameters. */
    r = call(f, "GET", "/v2.1/os-migrations?limit=2&status=queued", "2.59", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 2);
    assert_string_equal(str(item(r.j, "migrations", 0), "uuid"), c.uuid);
    assert_string_equal(str(item(r.j, "migrations", 1), "uuid"), b.uuid);
    json_object *next = item(r.j, "migrations_links", 0);
    assert_string_equal(str(next, "rel"), "next");
    snprintf(q, sizeof q, "http://127.0.0.1:8775/v2.1/os-migrations?limit=2&marker=%s"
             "&status=queued", b.uuid);
    assert_string_equal(str(next, "href"), q);
    done(&r);

    snprintf(q, sizeof q, "/v2.1/os-migrations?limit=2&marker=%s", b.uuid);
    r = call(f, "GET", q, "2.59", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 1);
    assert_string_equal(str(item(r.j, "migrations", 0), "uuid"), a.uuid);
    assert_false(has(r.j, "migrations_links"));
    done(&r);

    struct { const char *ver; const char *query; int status; size_t n; } cases[] = {
        /* Paging and dates are 2.59's; before, they are ignored. */
        { "2.58", "limit=1", 200, 3 },
        { "2.58", "marker=nonsense&bogus=1&changes-since=garbage", 200, 3 },
        { "2.59", "limit=0", 200, 0 },
        { "2.59", "limit=-1", 400, 0 },
        { "2.59", "limit=abc", 400, 0 },
        { "2.59", "marker=" GHOST, 400, 0 },
        { "2.59", "bogus=1", 400, 0 },
        { "2.59", "changes-since=garbage", 400, 0 },
        { "2.59", "changes-since=2000-01-01T00:00:00Z", 200, 3 },
        { "2.59", "changes-since=2999-01-01T00:00:00Z", 200, 0 },
        { "2.65", "changes-before=2999-01-01T00:00:00Z", 400, 0 },
        { "2.66", "changes-before=2999-01-01T00:00:00Z", 200, 3 },
        { "2.66", "changes-before=2000-01-01T00:00:00Z", 200, 0 },
        { "2.66", "changes-since=2999-01-01T00:00:00Z&changes-before=2000-01-01T00:00:00Z",
          400, 0 },
        { "2.79", "user_id=u", 400, 0 },
        { "2.80", "user_id=u", 200, 0 },
        { "2.80", "project_id=p", 200, 0 },
        /* Filters of every version. */
        { "2.1", "status=running", 200, 1 },
        { "2.1", "status=queued", 200, 2 },
        { "2.1", "status=post-migrating", 200, 0 },
        { "2.1", "host=node-b", 200, 3 },
        { "2.1", "host=node-a", 200, 3 },
        { "2.1", "host=node-x", 200, 0 },
        { "2.1", "source_compute=node-a", 200, 3 },
        { "2.1", "source_compute=node-b", 200, 0 },
        { "2.1", "instance_uuid=" IDLE_B, 200, 1 },
        { "2.1", "instance_uuid=not-a-uuid", 200, 0 },
        { "2.1", "migration_type=live-migration", 200, 3 },
        { "2.1", "migration_type=resize", 200, 0 },
        { "2.1", "hidden=0", 200, 3 },
        { "2.1", "hidden=1", 200, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(q, sizeof q, "/v2.1/os-migrations?%s", cases[i].query);
        r = call(f, "GET", q, cases[i].ver, NULL);
        if (r.r.status != cases[i].status)
            fail_msg("%s at %s: %d, want %d: %s", cases[i].query, cases[i].ver, r.r.status,
                     cases[i].status, r.r.body);
        if (cases[i].status == 200 && count(r.j, "migrations") != cases[i].n)
            fail_msg("%s at %s: %zu migrations, want %zu", cases[i].query, cases[i].ver,
                     count(r.j, "migrations"), cases[i].n);
        if (cases[i].status == 400)
            expect_fault(&r, 400, "badRequest");
        done(&r);
    }
}

/* ---- migrations of a server --------------------------------------------------------- */

static void server_migration_show_finds_in_progress_ones_by_id_or_uuid(void **state)
{
    fixture *f = *state;
    reply r;
    char p[256];

    up(f);
    md_migration m = migrate(f, BUSY), live;
    expect_state(f, m.uuid, is_running, MD_MIG_RUNNING);
    /* Let the monitor sample the job once (it never converges). */
    for (int waited = 0; waited < WAIT_MS; waited += 20) {
        assert_int_equal(md_engine_get(f->eng, m.uuid, &live, NULL), MD_OK);
        if (live.memory_total_bytes > 0)
            break;
        md_hv_sim_advance(f->hv, 0.05);
        sleep_ms(20);
    }

    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", BUSY, (long long)m.id);
    r = call(f, "GET", p, "2.59", NULL);
    expect_status(&r, 200);
    json_object *o = at(r.j, "migration");
    assert_int_equal(json_object_get_int64(at(o, "id")), m.id);
    assert_string_equal(str(o, "uuid"), m.uuid);
    assert_string_equal(str(o, "status"), "running");
    assert_string_equal(str(o, "server_uuid"), BUSY);
    assert_true(json_object_get_int64(at(o, "memory_total_bytes")) > 0);
    done(&r);

    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%s", BUSY, m.uuid);
    r = call(f, "GET", p, "2.23", NULL);
    expect_status(&r, 200);
    assert_int_equal(json_object_get_int64(at(at(r.j, "migration"), "id")), m.id);
    assert_false(has(at(r.j, "migration"), "uuid"));
    done(&r);

    /* Below 2.23, of another server, unknown ids, an unknown server. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", BUSY, (long long)m.id);
    r = call(f, "GET", p, "2.22", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", IDLE_A, (long long)m.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    const char *ids[] = { "999999", "abc", GHOST, "-1" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%s", BUSY, ids[i]);
        r = call(f, "GET", p, "2.80", NULL);
        expect_fault(&r, 404, "itemNotFound");
        done(&r);
    }
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", GHOST, (long long)m.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    r = call(f, "GET", "/v2.1/servers/" GHOST "/migrations", "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);

    /* Once it has ended it is no longer shown (Nova: in progress only). */
    md_err err;
    assert_int_equal(md_engine_abort(f->eng, m.uuid, &err), MD_OK);
    expect_state(f, m.uuid, is_final, MD_MIG_CANCELLED);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", BUSY, (long long)m.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    assert_non_null(strstr(fault_message(&r), "not in progress"));
    done(&r);
    r = call(f, "GET", "/v2.1/servers/" BUSY "/migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 0);
    done(&r);
}

static void force_complete_needs_a_running_migration(void **state)
{
    fixture *f = *state;
    reply r;
    char p[256];
    const char *fc = "{\"force_complete\": null}";

    up(f);
    md_migration run = migrate(f, BUSY);
    md_migration q = migrate(f, IDLE_A);
    expect_state(f, run.uuid, is_running, MD_MIG_RUNNING);

    /* Queued: the state does not allow it. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", IDLE_A, (long long)q.id);
    r = call(f, "POST", p, "2.22", fc);
    expect_fault(&r, 409, "conflictingRequest");
    assert_non_null(strstr(fault_message(&r), "queued"));
    done(&r);

    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", BUSY, (long long)run.id);
    /* Below 2.22, other bodies. */
    r = call(f, "POST", p, "2.21", fc);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    const char *bodies[] = { "{\"force_complete\": 1}", "{\"force_complete\": {}}",
                             "{\"abort\": null}", "{\"force_complete\": null, \"x\": null}",
                             "{}" };
    for (size_t i = 0; i < 5; i++) {
        r = call(f, "POST", p, "2.22", bodies[i]);
        expect_fault(&r, 400, "badRequest");
        done(&r);
    }
    /* Unknown migration, unknown server. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/424242/action", BUSY);
    r = call(f, "POST", p, "2.22", fc);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", GHOST, (long long)run.id);
    r = call(f, "POST", p, "2.22", fc);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);

    /* Running: accepted, no body; the guest gets paused (no post-copy). */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", BUSY, (long long)run.id);
    r = call(f, "POST", p, "2.22", fc);
    expect_status(&r, 202);
    assert_null(r.r.body);
    done(&r);
    md_migration m;
    for (int i = 0; i < WAIT_MS / 20; i++) {
        assert_int_equal(md_engine_get(f->eng, run.uuid, &m, NULL), MD_OK);
        if (m.paused || !md_mig_state_in_progress(m.state))
            break;
        sleep_ms(20);
    }
    assert_true(m.paused || m.state == MD_MIG_COMPLETED);

    /* By UUID too (2.59 clients may give one). */
    drive_to_end(f, run.uuid);
    expect_state(f, q.uuid, is_running, MD_MIG_RUNNING);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%s/action", IDLE_A, q.uuid);
    r = call(f, "POST", p, "2.80", fc);
    expect_status(&r, 202);
    done(&r);
}

static void abort_is_accepted_while_running_and_refused_in_post_copy(void **state)
{
    fixture *f = *state;
    reply r;
    char p[256];

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    up(f);
    md_migration pc = migrate(f, BUSY);
    md_migration q1 = migrate(f, IDLE_A);
    md_migration q2 = migrate(f, IDLE_B);
    expect_state(f, pc.uuid, is_running, MD_MIG_RUNNING);

    /* Queued: only from 2.65. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", IDLE_A, (long long)q1.id);
    r = call(f, "DELETE", p, "2.64", NULL);
    expect_fault(&r, 409, "conflictingRequest");
    done(&r);
    r = call(f, "DELETE", p, "2.23", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    r = call(f, "DELETE", p, "2.65", NULL);
    expect_status(&r, 202);
    assert_null(r.r.body);
    done(&r);
    expect_state(f, q1.uuid, is_final, MD_MIG_CANCELLED);
    /* It has ended: a conflict now. */
    r = call(f, "DELETE", p, "2.65", NULL);
    expect_fault(&r, 409, "conflictingRequest");
    done(&r);

    /* Post-copy is in progress here: listed, shown, linked; abort refused. */
    md_err err;
    assert_int_equal(md_engine_post_copy(f->eng, pc.uuid, &err), MD_OK);
    expect_state(f, pc.uuid, is_post_copy, MD_MIG_POSTCOPY);
    r = call(f, "GET", "/v2.1/servers/" BUSY "/migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 1);
    assert_string_equal(str(item(r.j, "migrations", 0), "status"), "running (post-copy)");
    done(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", BUSY, (long long)pc.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_status(&r, 200);
    assert_string_equal(str(at(r.j, "migration"), "status"), "running (post-copy)");
    done(&r);
    r = call(f, "GET", "/v2.1/os-migrations?status=running (post-copy)", "2.23", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.j, "migrations"), 1);
    assert_true(has(item(r.j, "migrations", 0), "links"));
    done(&r);
    r = call(f, "DELETE", p, "2.80", NULL);
    expect_fault(&r, 409, "conflictingRequest");
    assert_non_null(strstr(fault_message(&r), "post-copy"));
    done(&r);
    r = call(f, "POST", "/v2.1/servers/" BUSY "/migrations/0/action", "2.80",
             "{\"force_complete\": null}");
    expect_fault(&r, 404, "itemNotFound");
    done(&r);

    /* Running (pre-copy): accepted, and the migration is cancelled. */
    drive_to_end(f, pc.uuid);
    expect_state(f, q2.uuid, is_running, MD_MIG_RUNNING);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", IDLE_B, (long long)q2.id);
    r = call(f, "DELETE", p, "2.24", NULL);
    expect_status(&r, 202);
    assert_null(r.r.body);
    done(&r);
    expect_state(f, q2.uuid, is_final, MD_MIG_CANCELLED);
    /* Unknown migration and server. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/424242", IDLE_B);
    r = call(f, "DELETE", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", GHOST, (long long)q2.id);
    r = call(f, "DELETE", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(version_document_is_novas, setup, teardown),
        cmocka_unit_test_setup_teardown(microversion_headers_are_negotiated_and_echoed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(servers_are_the_domains_of_this_node, setup, teardown),
        cmocka_unit_test_setup_teardown(os_migrate_live_creates_a_migration_that_the_lists_show,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(os_migrate_live_follows_novas_schema_per_microversion,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(os_migrations_fields_follow_the_microversion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(os_migrations_pages_and_filters_from_2_59, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            server_migration_show_finds_in_progress_ones_by_id_or_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(force_complete_needs_a_running_migration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            abort_is_accepted_while_running_and_refused_in_post_copy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
