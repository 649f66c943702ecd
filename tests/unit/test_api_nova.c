/* test_api_nova.c - the Nova-compatible routes under /v2.1 (api/nova.c, api/nova_migrations.c).
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

#include "api/api.h"
#include "service/engine.h"
#include "tests/support/check.h"
#include "tests/support/fixture.h"

typedef md_test_stack fixture;
typedef md_test_reply reply;

/* Every test's fixture: a new stack with these domains. */
static md_test_fixture_spec spec = {
    .tag = "api-nova",
    .vms = MD_TEST_VM_A | MD_TEST_VM_B | MD_TEST_VM_C | MD_TEST_VM_BUSY,
};

/* ---- requests ----------------------------------------------------------------- */

/* Sends METHOD target (a path with an optional "?k=v&k2" query) with the
 * microversion headers (either may be NULL) and a JSON body (or NULL). */
static reply call_v(fixture *f, const char *method, const char *target, const char *nova_ver,
                    const char *os_ver, const char *body)
{
    md_test_headers h = { .content_type = body ? "application/json" : NULL,
                          .nova_version = nova_ver,
                          .openstack_version = os_ver };

    return md_test_call_h(f, method, target, &h, body);
}

static reply call(fixture *f, const char *method, const char *target, const char *ver,
                  const char *body)
{
    return call_v(f, method, target, ver, NULL, body);
}

static void expect_status(reply *r, int status)
{
    if (r->status != status)
        fail_msg("status %d, want %d: %s", r->status, status, r->raw.body ? r->raw.body : "");
}

/* Checks the status and a Nova fault body of that kind. */
static void expect_fault(reply *r, int status, const char *name)
{
    json_object *inner, *code;

    expect_status(r, status);
    assert_non_null(r->json);
    if (!json_object_object_get_ex(r->json, name, &inner))
        fail_msg("want a %s fault: %s", name, r->raw.body);
    assert_true(json_object_object_get_ex(inner, "code", &code));
    assert_int_equal(json_object_get_int(code), status);
}

static const char *fault_message(reply *r)
{
    return md_test_fault_message(r->json, r->status);
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
    assert_null(r.raw.body);
    md_test_reply_free(&r);
    memset(&flt, 0, sizeof flt);
    flt.in_progress_only = true;
    snprintf(flt.instance_uuid, sizeof flt.instance_uuid, "%s", server);
    assert_int_equal(md_store_list(f->store, &flt, &v, &n, NULL), MD_OK);
    assert_int_equal(n, 1);
    m = v[0];
    free(v);
    return m;
}

/* Moves simulated time until the migration has ended. */
static void drive_to_end(fixture *f, const char *uuid)
{
    md_migration m = md_test_drive_until(f, uuid, 0.5, md_test_ended);

    if (!md_test_ended(&m))
        fail_msg("migration %s did not end", uuid);
}

/* The monitor has sampled the job at least once. */
static bool sampled(const md_migration *m)
{
    return m->memory_total_bytes > 0;
}

/* ---- the version document and microversions ---------------------------------------- */

static void version_document_is_novas(void **state)
{
    fixture *f = *state;
    const char *paths[] = { "/v2.1", "/v2.1/" };

    md_test_fixture_start(f, true);
    for (int i = 0; i < 2; i++) {
        reply r = call(f, "GET", paths[i], NULL, NULL);
        expect_status(&r, 200);
        json_object *v = at(r.json, "version");
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
        assert_string_equal(str(mt, "type"), "application/vnd.openstack.compute+json;version=2.1");
        md_test_reply_free(&r);
    }
}

static void microversion_headers_are_negotiated_and_echoed(void **state)
{
    fixture *f = *state;
    reply r;

    md_test_fixture_start(f, true);
    /* None asked: the minimum, 2.1, in both headers. */
    r = call(f, "GET", "/v2.1/os-migrations", NULL, NULL);
    expect_status(&r, 200);
    assert_string_equal(md_test_reply_header(&r, "X-OpenStack-Nova-API-Version"), "2.1");
    assert_string_equal(md_test_reply_header(&r, "OpenStack-API-Version"), "compute 2.1");
    assert_non_null(strstr(md_test_reply_header(&r, "Vary"), "X-OpenStack-Nova-API-Version"));
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/os-migrations", "2.59", NULL);
    expect_status(&r, 200);
    assert_string_equal(md_test_reply_header(&r, "X-OpenStack-Nova-API-Version"), "2.59");
    assert_string_equal(md_test_reply_header(&r, "OpenStack-API-Version"), "compute 2.59");
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/os-migrations", "latest", NULL);
    expect_status(&r, 200);
    assert_string_equal(md_test_reply_header(&r, "X-OpenStack-Nova-API-Version"), "2.80");
    md_test_reply_free(&r);

    /* The newer header form wins. */
    r = call_v(f, "GET", "/v2.1/os-migrations", "2.3", "compute 2.66", NULL);
    expect_status(&r, 200);
    assert_string_equal(md_test_reply_header(&r, "OpenStack-API-Version"), "compute 2.66");
    assert_string_equal(md_test_reply_header(&r, "X-OpenStack-Nova-API-Version"), "2.66");
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/os-migrations", "2.81", NULL);
    expect_fault(&r, 406, "notAcceptable");
    md_test_reply_free(&r);
    /* Nova's APIVersionRequest: "X.Y" is well formed for any major, so
     * 3.0 is a 406 like 2.0 and 2.81; anything else is a 400. */
    const char *unacceptable[] = { "3.0", "2.0", "1.1" };
    for (size_t i = 0; i < 3; i++) {
        r = call(f, "GET", "/v2.1/os-migrations", unacceptable[i], NULL);
        expect_fault(&r, 406, "notAcceptable");
        md_test_reply_free(&r);
    }
    const char *malformed[] = { "garbage", "2", "2.", "2.x", "v2.1", "02.1", "2.1.1" };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        r = call(f, "GET", "/v2.1/os-migrations", malformed[i], NULL);
        if (r.status != 400)
            fail_msg("version \"%s\": %d, want 400", malformed[i], r.status);
        expect_fault(&r, 400, "badRequest");
        md_test_reply_free(&r);
    }
    r = call_v(f, "GET", "/v2.1/os-migrations", NULL, "compute 9.9", NULL);
    expect_fault(&r, 406, "notAcceptable");
    md_test_reply_free(&r);
}

/* ---- servers ---------------------------------------------------------------------- */

static void servers_are_the_domains_of_this_node(void **state)
{
    fixture *f = *state;
    reply r;

    md_test_fixture_start(f, true);
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_IDLE_A, "2.80", NULL);
    expect_status(&r, 200);
    json_object *s = at(r.json, "server");
    assert_string_equal(str(s, "id"), MD_TEST_IDLE_A);
    assert_string_equal(str(s, "name"), "vm-a");
    assert_string_equal(str(s, "status"), "ACTIVE");
    assert_string_equal(str(s, "OS-EXT-STS:vm_state"), "active");
    assert_null_field(s, "OS-EXT-STS:task_state");
    assert_string_equal(str(s, "OS-EXT-SRV-ATTR:host"), "node-a");
    assert_string_equal(str(s, "OS-EXT-SRV-ATTR:hypervisor_hostname"), "node-a");
    assert_string_equal(str(item(s, "links", 0), "href"),
                        "http://127.0.0.1:8775/v2.1/servers/" MD_TEST_IDLE_A);
    assert_string_equal(str(item(s, "links", 1), "href"),
                        "http://127.0.0.1:8775/servers/" MD_TEST_IDLE_A);
    assert_int_equal(json_object_get_int(at(at(s, "flavor"), "ram")), 1024);
    md_test_reply_free(&r);

    /* Before 2.47 the flavor is a reference. */
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_IDLE_A, "2.46", NULL);
    expect_status(&r, 200);
    assert_true(has(at(at(r.json, "server"), "flavor"), "id"));
    md_test_reply_free(&r);

    /* By name it is not found: clients then search the list. */
    r = call(f, "GET", "/v2.1/servers/vm-a", NULL, NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_GHOST, NULL, NULL);
    expect_fault(&r, 404, "itemNotFound");
    assert_non_null(strstr(fault_message(&r), MD_TEST_GHOST));
    md_test_reply_free(&r);

    /* openstackclient's find: GET /servers?name=..., parameters it adds
     * ignored. */
    r = call(f, "GET", "/v2.1/servers?name=vm-c&all_tenants=True", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "servers"), 1);
    s = item(r.json, "servers", 0);
    assert_string_equal(str(s, "id"), MD_TEST_IDLE_C);
    assert_string_equal(str(s, "name"), "vm-c");
    assert_true(has(s, "links"));
    assert_false(has(s, "status")); /* the short form */
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/servers/detail?name=vm-", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "servers"), 4);
    assert_string_equal(str(item(r.json, "servers", 0), "status"), "ACTIVE");
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/servers?name=nothing-like-it", NULL, NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "servers"), 0);
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/servers", NULL, NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "servers"), 4);
    md_test_reply_free(&r);

    /* Unknown parameters elsewhere are 400s; other methods 405. */
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_IDLE_A "?bogus=1", NULL, NULL);
    expect_fault(&r, 400, "badRequest");
    md_test_reply_free(&r);
    r = call(f, "PUT", "/v2.1/servers/" MD_TEST_IDLE_A, NULL, "{}");
    expect_status(&r, 405);
    md_test_reply_free(&r);
}

/* ---- os-migrateLive ---------------------------------------------------------------- */

static void os_migrate_live_creates_a_migration_that_the_lists_show(void **state)
{
    fixture *f = *state;
    reply r;

    md_test_fixture_start(f, true);
    md_migration m = migrate(f, MD_TEST_IDLE_A);
    assert_string_equal(m.dest_compute, "node-b");
    assert_false(m.block_migration);

    /* The server is migrating now. */
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_IDLE_A, NULL, NULL);
    expect_status(&r, 200);
    assert_string_equal(str(at(r.json, "server"), "status"), "MIGRATING");
    assert_string_equal(str(at(r.json, "server"), "OS-EXT-STS:task_state"), "migrating");
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/servers/" MD_TEST_IDLE_A "/migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1);
    json_object *sm = item(r.json, "migrations", 0);
    assert_int_equal(json_object_get_int64(at(sm, "id")), m.id);
    assert_string_equal(str(sm, "uuid"), m.uuid);
    assert_string_equal(str(sm, "server_uuid"), MD_TEST_IDLE_A);
    assert_string_equal(str(sm, "source_compute"), "node-a");
    assert_string_equal(str(sm, "source_node"), "node-a");
    assert_string_equal(str(sm, "dest_compute"), "node-b");
    assert_string_equal(str(sm, "dest_node"), "node-b");
    assert_string_equal(str(sm, "dest_host"), "node-b");
    const char *st = str(sm, "status");
    assert_true(strcmp(st, "queued") == 0 || strcmp(st, "preparing") == 0 ||
                strcmp(st, "running") == 0);
    const char *fields[] = { "memory_total_bytes",
                             "memory_processed_bytes",
                             "memory_remaining_bytes",
                             "disk_total_bytes",
                             "disk_processed_bytes",
                             "disk_remaining_bytes",
                             "created_at",
                             "updated_at" };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!has(sm, fields[i]))
            fail_msg("server migration has no %s", fields[i]);
    assert_null_field(sm, "user_id");
    assert_null_field(sm, "project_id");
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/os-migrations?instance_uuid=" MD_TEST_IDLE_A, "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1);
    json_object *om = item(r.json, "migrations", 0);
    assert_int_equal(json_object_get_int64(at(om, "id")), m.id);
    assert_string_equal(str(om, "uuid"), m.uuid);
    assert_string_equal(str(om, "instance_uuid"), MD_TEST_IDLE_A);
    assert_string_equal(str(om, "migration_type"), "live-migration");
    assert_true(has(om, "links"));
    md_test_reply_free(&r);

    /* A second one of the same server while the first runs. */
    r = call(f, "POST", "/v2.1/servers/" MD_TEST_IDLE_A "/action", "2.30", live_body);
    expect_fault(&r, 409, "conflictingRequest");
    md_test_reply_free(&r);
}

/* Nova's os-migrateLive names the destination in host: with peers, one
 * not listed is a badRequest naming the list, and no migration is made. */
static void os_migrate_live_to_a_host_that_is_not_a_peer_is_refused(void **state)
{
    fixture *f = *state;
    md_config_peer *p = &f->cfg->peers.list[0];
    md_store_filter flt;
    md_migration *v = NULL;
    size_t n = 0;
    reply r;

    snprintf(p->name, sizeof p->name, "node-b");
    snprintf(p->address, sizeof p->address, "10.0.0.2");
    f->cfg->peers.count = 1;
    md_test_fixture_start(f, true);
    r = call(f, "POST", "/v2.1/servers/" MD_TEST_IDLE_A "/action", "2.30",
             "{\"os-migrateLive\": {\"host\": \"node-x\", \"block_migration\": \"auto\"}}");
    expect_fault(&r, 400, "badRequest");
    assert_non_null(strstr(fault_message(&r), "node-x"));
    assert_non_null(strstr(fault_message(&r), "the configured peers are node-b"));
    md_test_reply_free(&r);
    memset(&flt, 0, sizeof flt);
    assert_int_equal(md_store_list(f->store, &flt, &v, &n, NULL), MD_OK);
    free(v);
    assert_int_equal(n, 0);

    md_migration m = migrate(f, MD_TEST_IDLE_A);
    assert_string_equal(m.dest_compute, "node-b");
    assert_string_equal(m.dest_host, "10.0.0.2");
}

static void os_migrate_live_follows_novas_schema_per_microversion(void **state)
{
    fixture *f = *state;
    const char *path = "/v2.1/servers/" MD_TEST_IDLE_B "/action";
    reply r;

    md_test_fixture_start(f, true);
    struct {
        const char *ver;
        const char *body;
        int status;
        const char *text;
    } bad[] = {
        /* No host: this node cannot schedule. */
        { "2.30", "{\"os-migrateLive\": {\"host\": null, \"block_migration\": \"auto\"}}", 400,
          "host is required" },
        { "2.30", "{\"os-migrateLive\": {\"block_migration\": \"auto\"}}", 400, "host" },
        { "2.30", "{\"os-migrateLive\": {\"host\": \"node-b\"}}", 400, "block_migration" },
        /* "auto" from 2.25, disk_over_commit before 2.25, force 2.30-2.67. */
        { "2.24",
          "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\", "
          "\"disk_over_commit\": false}}",
          400, "block_migration" },
        { "2.25",
          "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
          "\"disk_over_commit\": false}}",
          400, "disk_over_commit" },
        { "2.29",
          "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
          "\"force\": true}}",
          400, "force" },
        { "2.68",
          "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
          "\"force\": false}}",
          400, "force" },
        { "2.30",
          "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": "
          "\"maybe\"}}",
          400, "block_migration" },
        { "2.30",
          "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false, "
          "\"bogus\": 1}}",
          400, "bogus" },
        { "2.30", "{\"os-migrateLive\": \"node-b\"}", 400, "os-migrateLive" },
        /* The destination is this node. */
        { "2.30", "{\"os-migrateLive\": {\"host\": \"node-a\", \"block_migration\": false}}", 400,
          "this node" },
        /* Other actions, and two at once. */
        { "2.30", "{\"pause\": null}", 400, "no such action" },
        { "2.30",
          "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": false}, "
          "\"pause\": null}",
          400, "one key" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = call(f, "POST", path, bad[i].ver, bad[i].body);
        if (r.status != bad[i].status || !strstr(fault_message(&r), bad[i].text))
            fail_msg("case %zu: %d %s", i, r.status, r.raw.body ? r.raw.body : "");
        expect_fault(&r, bad[i].status, "badRequest");
        md_test_reply_free(&r);
    }

    /* Unknown server. */
    r = call(f, "POST", "/v2.1/servers/" MD_TEST_GHOST "/action", "2.30", live_body);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);

    /* Before 2.25 with disk_over_commit (what novaclient sends then), with
     * Nova's string booleans. */
    r = call(f, "POST", path, NULL,
             "{\"os-migrateLive\": {\"host\": \"node-b\", "
             "\"block_migration\": \"false\", \"disk_over_commit\": \"False\"}}");
    expect_status(&r, 202);
    assert_null(r.raw.body);
    md_test_reply_free(&r);

    /* With force (2.30-2.67) and a block migration. */
    r = call(f, "POST", "/v2.1/servers/" MD_TEST_IDLE_C "/action", "2.67",
             "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": true, "
             "\"force\": true}}");
    expect_status(&r, 202);
    md_test_reply_free(&r);
    md_store_filter flt;
    md_migration *v = NULL;
    size_t n = 0;
    memset(&flt, 0, sizeof flt);
    snprintf(flt.instance_uuid, sizeof flt.instance_uuid, "%s", MD_TEST_IDLE_C);
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

    md_test_fixture_start(f, true);
    md_migration done_m = migrate(f, MD_TEST_IDLE_A);
    drive_to_end(f, done_m.uuid);
    md_test_expect_state(f, done_m.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_migration m = migrate(f, MD_TEST_BUSY);

    /* 2.1: the original fields only. */
    r = call(f, "GET", "/v2.1/os-migrations", NULL, NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 2);
    assert_false(has(r.json, "migrations_links"));
    json_object *o = item(r.json, "migrations", 0); /* newest first */
    assert_int_equal(json_object_get_int64(at(o, "id")), m.id);
    const char *fields[] = { "id",
                             "status",
                             "instance_uuid",
                             "source_compute",
                             "source_node",
                             "dest_compute",
                             "dest_node",
                             "dest_host",
                             "old_instance_type_id",
                             "new_instance_type_id",
                             "created_at",
                             "updated_at" };
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
    md_test_reply_free(&r);

    /* 2.23: migration_type, and links only for a live migration in progress. */
    r = call(f, "GET", "/v2.1/os-migrations", "2.23", NULL);
    expect_status(&r, 200);
    o = item(r.json, "migrations", 0);
    assert_string_equal(str(o, "migration_type"), "live-migration");
    char href[256];
    snprintf(href, sizeof href, "http://127.0.0.1:8775/v2.1/servers/%s/migrations/%lld",
             MD_TEST_BUSY, (long long)m.id);
    assert_string_equal(str(item(o, "links", 0), "rel"), "self");
    assert_string_equal(str(item(o, "links", 0), "href"), href);
    snprintf(href, sizeof href, "http://127.0.0.1:8775/servers/%s/migrations/%lld", MD_TEST_BUSY,
             (long long)m.id);
    assert_string_equal(str(item(o, "links", 1), "rel"), "bookmark");
    assert_string_equal(str(item(o, "links", 1), "href"), href);
    assert_false(has(o, "uuid"));
    json_object *old = item(r.json, "migrations", 1);
    assert_string_equal(str(old, "status"), "completed");
    assert_false(has(old, "links"));
    md_test_reply_free(&r);

    /* 2.59: uuid; 2.80: user_id and project_id (null: no users here). */
    r = call(f, "GET", "/v2.1/os-migrations", "2.59", NULL);
    expect_status(&r, 200);
    assert_string_equal(str(item(r.json, "migrations", 0), "uuid"), m.uuid);
    assert_false(has(item(r.json, "migrations", 0), "user_id"));
    assert_false(has(r.json, "migrations_links")); /* not a full page */
    md_test_reply_free(&r);
    r = call(f, "GET", "/v2.1/os-migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_null_field(item(r.json, "migrations", 0), "user_id");
    assert_null_field(item(r.json, "migrations", 0), "project_id");
    md_test_reply_free(&r);

    /* The server migrations API: no uuid before 2.59, nothing before 2.23. */
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_BUSY "/migrations", "2.23", NULL);
    expect_status(&r, 200);
    assert_false(has(item(r.json, "migrations", 0), "uuid"));
    assert_false(has(item(r.json, "migrations", 0), "user_id"));
    md_test_reply_free(&r);
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_BUSY "/migrations", "2.22", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
}

static void os_migrations_pages_and_filters_from_2_59(void **state)
{
    fixture *f = *state;
    reply r;
    char q[512];

    md_test_fixture_start(f, true);
    md_migration a = migrate(f, MD_TEST_BUSY);   /* runs: one at a time */
    md_migration b = migrate(f, MD_TEST_IDLE_B); /* queued */
    md_migration c = migrate(f, MD_TEST_IDLE_C); /* queued, newest */
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);

    /* A full page links to the next, with this request's parameters. */
    r = call(f, "GET", "/v2.1/os-migrations?limit=2&status=queued", "2.59", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 2);
    assert_string_equal(str(item(r.json, "migrations", 0), "uuid"), c.uuid);
    assert_string_equal(str(item(r.json, "migrations", 1), "uuid"), b.uuid);
    json_object *next = item(r.json, "migrations_links", 0);
    assert_string_equal(str(next, "rel"), "next");
    snprintf(q, sizeof q,
             "http://127.0.0.1:8775/v2.1/os-migrations?limit=2&marker=%s"
             "&status=queued",
             b.uuid);
    assert_string_equal(str(next, "href"), q);
    md_test_reply_free(&r);

    snprintf(q, sizeof q, "/v2.1/os-migrations?limit=2&marker=%s", b.uuid);
    r = call(f, "GET", q, "2.59", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1);
    assert_string_equal(str(item(r.json, "migrations", 0), "uuid"), a.uuid);
    assert_false(has(r.json, "migrations_links"));
    md_test_reply_free(&r);

    struct {
        const char *ver;
        const char *query;
        int status;
        size_t n;
    } cases[] = {
        /* Paging and dates are 2.59's; before, they are ignored. */
        { "2.58", "limit=1", 200, 3 },
        { "2.58", "marker=nonsense&bogus=1&changes-since=garbage", 200, 3 },
        { "2.59", "limit=0", 200, 0 },
        { "2.59", "limit=-1", 400, 0 },
        { "2.59", "limit=abc", 400, 0 },
        { "2.59", "marker=" MD_TEST_GHOST, 400, 0 },
        { "2.59", "bogus=1", 400, 0 },
        { "2.59", "changes-since=garbage", 400, 0 },
        { "2.59", "changes-since=2000-01-01T00:00:00Z", 200, 3 },
        { "2.59", "changes-since=2999-01-01T00:00:00Z", 200, 0 },
        { "2.65", "changes-before=2999-01-01T00:00:00Z", 400, 0 },
        { "2.66", "changes-before=2999-01-01T00:00:00Z", 200, 3 },
        { "2.66", "changes-before=2000-01-01T00:00:00Z", 200, 0 },
        { "2.66", "changes-since=2999-01-01T00:00:00Z&changes-before=2000-01-01T00:00:00Z", 400,
          0 },
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
        { "2.1", "instance_uuid=" MD_TEST_IDLE_B, 200, 1 },
        { "2.1", "instance_uuid=not-a-uuid", 200, 0 },
        { "2.1", "migration_type=live-migration", 200, 3 },
        { "2.1", "migration_type=resize", 200, 0 },
        { "2.1", "hidden=0", 200, 3 },
        { "2.1", "hidden=1", 200, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(q, sizeof q, "/v2.1/os-migrations?%s", cases[i].query);
        r = call(f, "GET", q, cases[i].ver, NULL);
        if (r.status != cases[i].status)
            fail_msg("%s at %s: %d, want %d: %s", cases[i].query, cases[i].ver, r.status,
                     cases[i].status, r.raw.body);
        if (cases[i].status == 200 && count(r.json, "migrations") != cases[i].n)
            fail_msg("%s at %s: %zu migrations, want %zu", cases[i].query, cases[i].ver,
                     count(r.json, "migrations"), cases[i].n);
        if (cases[i].status == 400)
            expect_fault(&r, 400, "badRequest");
        md_test_reply_free(&r);
    }
}

/* Writes n completed migrations of instance, oldest first, one a second
 * going back from 2023-11-14; returns the id of the oldest. */
static int64_t put_history(fixture *f, const char *instance, int n)
{
    int64_t oldest = 0;
    md_err err;

    for (int i = 0; i < n; i++) {
        md_migration m;
        md_migration_init(&m);
        snprintf(m.uuid, sizeof m.uuid, "00000000-0000-4000-8000-%012d", i);
        snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", instance);
        snprintf(m.source_compute, sizeof m.source_compute, "node-a");
        snprintf(m.dest_compute, sizeof m.dest_compute, "node-b");
        m.state = MD_MIG_COMPLETED;
        m.created_at = m.updated_at = 1700000000000LL - (int64_t)(n - i) * 1000;
        if (md_store_insert(f->store, &m, &err) != MD_OK)
            fail_msg("insert %d: %s", i, err.msg);
        if (i == 0)
            oldest = m.id;
    }
    return oldest;
}

static void os_migrations_answers_at_most_1000_and_pages_the_rest_from_2_59(void **state)
{
    fixture *f = *state;
    enum { N = 2500 };
    static bool seen[N];
    char q[512], p[256];
    size_t total = 0, pages = 0;
    reply r;

    memset(seen, 0, sizeof seen);
    int64_t oldest = put_history(f, MD_TEST_IDLE_C, N);
    md_test_fixture_start(f, true);

    /* Below 2.59 there is no paging: the newest 1000, and no link. */
    r = call(f, "GET", "/v2.1/os-migrations", NULL, NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1000);
    assert_int_equal(json_object_get_int64(at(item(r.json, "migrations", 0), "id")),
                     oldest + N - 1);
    assert_int_equal(json_object_get_int64(at(item(r.json, "migrations", 999), "id")),
                     oldest + N - 1000);
    assert_false(has(r.json, "migrations_links"));
    md_test_reply_free(&r);

    /* From 2.59 without a limit: pages of 1000 with a next link, which
     * together hold every record once. */
    snprintf(q, sizeof q, "/v2.1/os-migrations");
    for (;;) {
        r = call(f, "GET", q, "2.59", NULL);
        expect_status(&r, 200);
        size_t n = count(r.json, "migrations");
        assert_true(n <= 1000);
        for (size_t i = 0; i < n; i++) {
            const char *u = str(item(r.json, "migrations", i), "uuid");
            int k = atoi(u + 24);
            assert_true(k >= 0 && k < N);
            assert_false(seen[k]);
            seen[k] = true;
        }
        total += n;
        pages++;
        json_object *next = has(r.json, "migrations_links") ? item(r.json, "migrations_links", 0)
                                                            : NULL;
        if (!next) {
            md_test_reply_free(&r);
            break;
        }
        assert_int_equal(n, 1000);
        const char *href = str(next, "href");
        assert_non_null(href);
        assert_non_null(strstr(href, "/v2.1/os-migrations?"));
        snprintf(q, sizeof q, "%s", strstr(href, "/v2.1/"));
        md_test_reply_free(&r);
        assert_true(pages < 10);
    }
    assert_int_equal(total, N);
    assert_int_equal(pages, 3);

    /* A migration of the server found by its integer id beyond the first
     * page of its history: found (409, it has ended), not 404. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", MD_TEST_IDLE_C,
             (long long)oldest);
    r = call(f, "POST", p, "2.22", "{\"force_complete\": null}");
    expect_fault(&r, 409, "conflictingRequest");
    md_test_reply_free(&r);
}

/* ---- migrations of a server --------------------------------------------------------- */

static void server_migration_show_finds_in_progress_ones_by_id_or_uuid(void **state)
{
    fixture *f = *state;
    reply r;
    char p[256];

    md_test_fixture_start(f, true);
    md_migration m = migrate(f, MD_TEST_BUSY);
    md_test_expect_state(f, m.uuid, md_test_is_running, MD_MIG_RUNNING);
    /* Let the monitor sample the job once (it never converges). */
    md_test_drive_until(f, m.uuid, 0.05, sampled);

    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_BUSY, (long long)m.id);
    r = call(f, "GET", p, "2.59", NULL);
    expect_status(&r, 200);
    json_object *o = at(r.json, "migration");
    assert_int_equal(json_object_get_int64(at(o, "id")), m.id);
    assert_string_equal(str(o, "uuid"), m.uuid);
    assert_string_equal(str(o, "status"), "running");
    assert_string_equal(str(o, "server_uuid"), MD_TEST_BUSY);
    assert_true(json_object_get_int64(at(o, "memory_total_bytes")) > 0);
    md_test_reply_free(&r);

    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%s", MD_TEST_BUSY, m.uuid);
    r = call(f, "GET", p, "2.23", NULL);
    expect_status(&r, 200);
    assert_int_equal(json_object_get_int64(at(at(r.json, "migration"), "id")), m.id);
    assert_false(has(at(r.json, "migration"), "uuid"));
    md_test_reply_free(&r);

    /* Below 2.23, of another server, unknown ids, an unknown server. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_BUSY, (long long)m.id);
    r = call(f, "GET", p, "2.22", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_IDLE_A, (long long)m.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    const char *ids[] = { "999999", "abc", MD_TEST_GHOST, "-1" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%s", MD_TEST_BUSY, ids[i]);
        r = call(f, "GET", p, "2.80", NULL);
        expect_fault(&r, 404, "itemNotFound");
        md_test_reply_free(&r);
    }
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_GHOST, (long long)m.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_GHOST "/migrations", "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);

    /* Once it has ended it is no longer shown (Nova: in progress only). */
    md_err err;
    assert_int_equal(md_engine_abort(f->eng, m.uuid, &err), MD_OK);
    md_test_expect_state(f, m.uuid, md_test_is_final, MD_MIG_CANCELLED);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_BUSY, (long long)m.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    assert_non_null(strstr(fault_message(&r), "not in progress"));
    md_test_reply_free(&r);
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_BUSY "/migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 0);
    md_test_reply_free(&r);
}

static void force_complete_needs_a_running_migration(void **state)
{
    fixture *f = *state;
    reply r;
    char p[256];
    const char *fc = "{\"force_complete\": null}";

    md_test_fixture_start(f, true);
    md_migration run = migrate(f, MD_TEST_BUSY);
    md_migration q = migrate(f, MD_TEST_IDLE_A);
    md_test_expect_state(f, run.uuid, md_test_is_running, MD_MIG_RUNNING);

    /* Queued: the state does not allow it. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", MD_TEST_IDLE_A,
             (long long)q.id);
    r = call(f, "POST", p, "2.22", fc);
    expect_fault(&r, 409, "conflictingRequest");
    assert_non_null(strstr(fault_message(&r), "queued"));
    md_test_reply_free(&r);

    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", MD_TEST_BUSY,
             (long long)run.id);
    /* Below 2.22, other bodies. */
    r = call(f, "POST", p, "2.21", fc);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    const char *bodies[] = { "{\"force_complete\": 1}", "{\"force_complete\": {}}",
                             "{\"abort\": null}", "{\"force_complete\": null, \"x\": null}", "{}" };
    for (size_t i = 0; i < 5; i++) {
        r = call(f, "POST", p, "2.22", bodies[i]);
        expect_fault(&r, 400, "badRequest");
        md_test_reply_free(&r);
    }
    /* Unknown migration, unknown server. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/424242/action", MD_TEST_BUSY);
    r = call(f, "POST", p, "2.22", fc);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", MD_TEST_GHOST,
             (long long)run.id);
    r = call(f, "POST", p, "2.22", fc);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);

    /* Running: accepted, no body; the guest gets paused (no post-copy). */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld/action", MD_TEST_BUSY,
             (long long)run.id);
    r = call(f, "POST", p, "2.22", fc);
    expect_status(&r, 202);
    assert_null(r.raw.body);
    md_test_reply_free(&r);
    md_migration m = md_test_drive_until(f, run.uuid, 0.0, md_test_paused_or_ended);
    assert_true(m.paused || m.state == MD_MIG_COMPLETED);

    /* By UUID too (2.59 clients may give one). */
    drive_to_end(f, run.uuid);
    md_test_expect_state(f, q.uuid, md_test_is_running, MD_MIG_RUNNING);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%s/action", MD_TEST_IDLE_A, q.uuid);
    r = call(f, "POST", p, "2.80", fc);
    expect_status(&r, 202);
    md_test_reply_free(&r);
}

static void abort_is_accepted_while_running_and_refused_in_post_copy(void **state)
{
    fixture *f = *state;
    reply r;
    char p[256];

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    md_test_fixture_start(f, true);
    md_migration pc = migrate(f, MD_TEST_BUSY);
    md_migration q1 = migrate(f, MD_TEST_IDLE_A);
    md_migration q2 = migrate(f, MD_TEST_IDLE_B);
    md_test_expect_state(f, pc.uuid, md_test_is_running, MD_MIG_RUNNING);

    /* Queued: only from 2.65. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_IDLE_A, (long long)q1.id);
    r = call(f, "DELETE", p, "2.64", NULL);
    expect_fault(&r, 409, "conflictingRequest");
    md_test_reply_free(&r);
    r = call(f, "DELETE", p, "2.23", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    r = call(f, "DELETE", p, "2.65", NULL);
    expect_status(&r, 202);
    assert_null(r.raw.body);
    md_test_reply_free(&r);
    md_test_expect_state(f, q1.uuid, md_test_is_final, MD_MIG_CANCELLED);
    /* It has ended: a conflict now. */
    r = call(f, "DELETE", p, "2.65", NULL);
    expect_fault(&r, 409, "conflictingRequest");
    md_test_reply_free(&r);

    /* Post-copy is in progress here: listed, shown, linked; abort refused. */
    md_err err;
    assert_int_equal(md_engine_post_copy(f->eng, pc.uuid, &err), MD_OK);
    md_test_expect_state(f, pc.uuid, md_test_is_post_copy, MD_MIG_POSTCOPY);
    r = call(f, "GET", "/v2.1/servers/" MD_TEST_BUSY "/migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1);
    assert_string_equal(str(item(r.json, "migrations", 0), "status"), "running (post-copy)");
    md_test_reply_free(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_BUSY, (long long)pc.id);
    r = call(f, "GET", p, "2.80", NULL);
    expect_status(&r, 200);
    assert_string_equal(str(at(r.json, "migration"), "status"), "running (post-copy)");
    md_test_reply_free(&r);
    r = call(f, "GET", "/v2.1/os-migrations?status=running (post-copy)", "2.23", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1);
    assert_true(has(item(r.json, "migrations", 0), "links"));
    md_test_reply_free(&r);
    r = call(f, "DELETE", p, "2.80", NULL);
    expect_fault(&r, 409, "conflictingRequest");
    assert_non_null(strstr(fault_message(&r), "post-copy"));
    md_test_reply_free(&r);
    r = call(f, "POST", "/v2.1/servers/" MD_TEST_BUSY "/migrations/0/action", "2.80",
             "{\"force_complete\": null}");
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);

    /* Running (pre-copy): accepted, and the migration is cancelled. */
    drive_to_end(f, pc.uuid);
    md_test_expect_state(f, q2.uuid, md_test_is_running, MD_MIG_RUNNING);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_IDLE_B, (long long)q2.id);
    r = call(f, "DELETE", p, "2.24", NULL);
    expect_status(&r, 202);
    assert_null(r.raw.body);
    md_test_reply_free(&r);
    md_test_expect_state(f, q2.uuid, md_test_is_final, MD_MIG_CANCELLED);
    /* Unknown migration and server. */
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/424242", MD_TEST_IDLE_B);
    r = call(f, "DELETE", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
    snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%lld", MD_TEST_GHOST, (long long)q2.id);
    r = call(f, "DELETE", p, "2.80", NULL);
    expect_fault(&r, 404, "itemNotFound");
    md_test_reply_free(&r);
}

/* A broken post-copy being recovered is in progress like post-copy: the
 * server is migrating, and the migration is listed, shown and linked. The
 * record is written to the store directly, after the engine started, so
 * the engine leaves it alone (what a command on it does is the engine's
 * answer, tested with the engine). */
static void a_recovering_migration_is_in_progress_for_every_route(void **state)
{
    fixture *f = *state;
    md_migration m;
    md_err err;
    reply r;
    char p[256];

    md_test_fixture_start(f, true);
    md_migration_init(&m);
    snprintf(m.uuid, sizeof m.uuid, "%s", "00000000-0000-4000-8000-0000000000aa");
    m.state = MD_MIG_POSTCOPY_RECOVERING;
    m.post_copy = true;
    snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", MD_TEST_IDLE_C);
    snprintf(m.instance_name, sizeof m.instance_name, "vm-c");
    snprintf(m.source_compute, sizeof m.source_compute, "node-a");
    snprintf(m.dest_compute, sizeof m.dest_compute, "node-b");
    m.created_at = m.updated_at = 1767225600000LL;
    m.recovery_attempts = 2;
    m.recovery_started_at = 1767225601000LL;
    assert_int_equal(md_store_insert(f->store, &m, &err), MD_OK);

    r = call(f, "GET", "/v2.1/servers/" MD_TEST_IDLE_C, "2.80", NULL);
    expect_status(&r, 200);
    assert_string_equal(str(at(r.json, "server"), "status"), "MIGRATING");
    assert_string_equal(str(at(r.json, "server"), "OS-EXT-STS:task_state"), "migrating");
    md_test_reply_free(&r);

    r = call(f, "GET", "/v2.1/servers/" MD_TEST_IDLE_C "/migrations", "2.80", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1);
    assert_string_equal(str(item(r.json, "migrations", 0), "status"),
                        "running (post-copy recovering)");
    md_test_reply_free(&r);

    const char *ids[2] = { NULL, m.uuid };
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)m.id);
    ids[0] = num;
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "/v2.1/servers/%s/migrations/%s", MD_TEST_IDLE_C, ids[i]);
        r = call(f, "GET", p, "2.80", NULL);
        expect_status(&r, 200);
        assert_string_equal(str(at(r.json, "migration"), "uuid"), m.uuid);
        assert_string_equal(str(at(r.json, "migration"), "status"),
                            "running (post-copy recovering)");
        md_test_reply_free(&r);
    }

    r = call(f, "GET", "/v2.1/os-migrations?status=running (post-copy recovering)", "2.23", NULL);
    expect_status(&r, 200);
    assert_int_equal(count(r.json, "migrations"), 1);
    assert_true(has(item(r.json, "migrations", 0), "links"));
    md_test_reply_free(&r);
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(version_document_is_novas),
        T(microversion_headers_are_negotiated_and_echoed),
        T(servers_are_the_domains_of_this_node),
        T(os_migrate_live_creates_a_migration_that_the_lists_show),
        T(os_migrate_live_follows_novas_schema_per_microversion),
        T(os_migrate_live_to_a_host_that_is_not_a_peer_is_refused),
        T(os_migrations_fields_follow_the_microversion),
        T(os_migrations_pages_and_filters_from_2_59),
        T(os_migrations_answers_at_most_1000_and_pages_the_rest_from_2_59),
        T(server_migration_show_finds_in_progress_ones_by_id_or_uuid),
        T(force_complete_needs_a_running_migration),
        T(abort_is_accepted_while_running_and_refused_in_post_copy),
        T(a_recovering_migration_is_in_progress_for_every_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
