/* test_api_auth.c - authentication and roles through a real migrationd and a real Keystone.
 *
 * The environment names the Keystone (KS_URL, KS_DIR, the service account
 * KS_SERVICE_USER/KS_SERVICE_PASSWORD/KS_SERVICE_PROJECT) and the passwords
 * of its users (KS_*_PASSWORD), as printed by `keystone.sh start`; without
 * KS_URL every test is skipped. MD_BINARY_DIR names the build directory
 * (migrationd) and MD_SOURCE_DIR the source tree (keystone.sh).
 *
 * The group setup gets real tokens (POST /v3/auth/tokens): alice (admin),
 * bob (reader), carol (member, which implies reader), dave (observer: no
 * access), and a second token of alice's that it revokes at once. It then
 * writes a configuration (hypervisor "simulator", host node-a, time_scale
 * 50, one guest that never converges and two idle ones, one migration at a
 * time, api.auth_strategy "keystone" with the service account), starts
 * $MD_BINARY_DIR/migrationd on a free loopback port and waits for
 * GET /healthcheck, which needs no token.
 *
 * That daemon's roles section makes demo the admin project and gives
 * roles.read "reader" too, so that the action classes are tested with a
 * reader. The tests run in order against it and check, over HTTP:
 * public routes without a token; 401 without a token, with a garbage one
 * and with the revoked one; everything allowed to alice; reads allowed and
 * every write refused (403) to bob, with nothing written; nothing at all
 * for dave; the same rules on the Nova routes under /v2.1. A second daemon
 * with the default roles (Nova's: an admin of the admin project "admin",
 * or a system admin) refuses (403) carol, a member of demo, and even
 * alice, an admin of demo, and serves the bootstrap admin's tokens scoped
 * to the admin project and to the system. Then Keystone is
 * stopped (keystone.sh stop $KS_DIR): a token the daemon has not cached
 * (carol's, never used before) gets 503 with Retry-After and a message
 * that names neither Keystone's URL nor the service user, and writes
 * nothing, while cached tokens keep working. Last, SIGTERM: the daemon
 * must exit 0 within 10 s, with no sanitizer report in its log.
 *
 * Every HTTP request is bounded (5 s), every wait is bounded, and the group
 * teardown kills the daemon if a failed test left it running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/check.h"
#include "tests/support/http.h"

#define IDLE1 "11111111-1111-4111-8111-111111111111"
#define IDLE2 "22222222-2222-4222-8222-222222222222"
#define BUSY1 "44444444-4444-4444-8444-444444444444"

#define NOVA_VERSION "OpenStack-API-Version: compute 2.80"
#define TOKEN_MAX 8192

static void write_keystone_sections(FILE *f);
static void write_keystone_only(FILE *f);

/* The simulator's domains. */
static const char domains[] =
    "        { name = \"vm-idle-1\"; uuid = \"" IDLE1 "\"; ram_mib = 1024; },\n"
    "        { name = \"vm-idle-2\"; uuid = \"" IDLE2 "\"; ram_mib = 1024; },\n"
    /* It dirties all its memory faster than the link copies it. */
    "        { name = \"vm-busy-1\"; uuid = \"" BUSY1 "\"; ram_mib = 4096;\n"
    "          working_set_mib = 4096; dirty_mibps = 8192; }\n";

static const md_test_daemon_config config = {
    .max_concurrent = 1,
    .api = "auth_strategy = \"keystone\";",
    .sections = write_keystone_sections,
    .domains = domains,
};

/* The second daemon: the default roles section. */
static const md_test_daemon_config nova_config = {
    .max_concurrent = 1,
    .api = "auth_strategy = \"keystone\";",
    .sections = write_keystone_only,
    .domains = domains,
};

static struct {
    bool on; /* KS_URL is set: the daemon runs */
    char *alice, *alice_revoked, *bob, *carol, *dave;
    char *admin_project, *admin_system; /* the bootstrap admin's tokens */
    md_test_daemon d;
    md_test_daemon nova; /* default roles */
    char m1[37];         /* BUSY1's migration: running (alice) */
    char m2[37];         /* IDLE2's migration: queued behind m1 */
} g;

typedef md_test_http_resp resp;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

/* ---- Keystone, called by the test itself --------------------------------------------- */

/* One request to Keystone on a connection of its own. */
static resp keystone(const char *method, const char *const *headers, const char *body)
{
    char url[1024];
    md_test_http *c = md_test_http_new(NULL);

    assert_non_null(c);
    snprintf(url, sizeof url, "%s/auth/tokens", env("KS_URL"));
    resp r = md_test_http_request(c, method, url, headers, body, body ? strlen(body) : 0);
    md_test_http_free(c);
    return r;
}

/* A new token of user (password from env var pw_var) with scope, the JSON
 * value of auth.scope. */
static char *get_scoped_token(const char *user, const char *pw_var, const char *scope)
{
    char body[1024], token[TOKEN_MAX];
    const char *h[] = { "Connection: close", "Content-Type: application/json", NULL };

    json_object *pw = json_object_new_string(env(pw_var));
    snprintf(body, sizeof body,
             "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": "
             "{\"user\": {\"name\": \"%s\", \"domain\": {\"name\": \"Default\"}, "
             "\"password\": %s}}}, \"scope\": %s}}",
             user, json_object_to_json_string(pw), scope);
    json_object_put(pw);
    resp r = keystone("POST", h, body);
    if (r.status != 201 || !md_test_http_header(&r, "X-Subject-Token", token, sizeof token))
        fail_msg("token for %s: %s, HTTP %ld %s", user, md_test_http_error(&r), r.status,
                 r.body.p ? r.body.p : "");
    md_test_http_resp_free(&r);
    if (strlen(token) == sizeof token - 1)
        fail_msg("token for %s: longer than %zu bytes", user, sizeof token - 2);
    return strdup(token);
}

/* A new token of user scoped to project (in Default). */
static char *get_project_token(const char *user, const char *pw_var, const char *project)
{
    char scope[256];

    snprintf(scope, sizeof scope,
             "{\"project\": {\"name\": \"%s\", \"domain\": {\"name\": \"Default\"}}}", project);
    return get_scoped_token(user, pw_var, scope);
}

/* A new token of user scoped to the demo project (KS_PROJECT). */
static char *get_token(const char *user, const char *pw_var)
{
    return get_project_token(user, pw_var, env("KS_PROJECT")[0] ? env("KS_PROJECT") : "demo");
}

/* Revokes token (DELETE /v3/auth/tokens, the token revoking itself). */
static void revoke_token(const char *token)
{
    char auth[TOKEN_MAX + 16], subject[TOKEN_MAX + 16];

    snprintf(auth, sizeof auth, "X-Auth-Token: %s", token);
    snprintf(subject, sizeof subject, "X-Subject-Token: %s", token);
    const char *h[] = { "Connection: close", auth, subject, NULL };
    resp r = keystone("DELETE", h, NULL);
    if (r.status != 204)
        fail_msg("revoking a token: %s, HTTP %ld", md_test_http_error(&r), r.status);
    md_test_http_resp_free(&r);
}

/* ---- the daemon ---------------------------------------------------------------------- */

/* A libconfig string: the value quoted, with " and \ escaped. */
static void put_string(FILE *f, const char *key, const char *value)
{
    fprintf(f, "    %s = \"", key);
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        fputc(*p, f);
    }
    fprintf(f, "\";\n");
}

/* The Keystone and the service account of the environment. */
static void write_keystone_only(FILE *f)
{
    fprintf(f, "keystone = {\n");
    put_string(f, "auth_url", env("KS_URL"));
    put_string(f, "username", env("KS_SERVICE_USER"));
    put_string(f, "password", env("KS_SERVICE_PASSWORD"));
    put_string(f, "project_name", env("KS_SERVICE_PROJECT"));
    put_string(f, "user_domain_name", "Default");
    put_string(f, "project_domain_name", "Default");
    fprintf(f, "    cache_seconds = 300;\n"
               "    timeout_ms = 3000;\n"
               "};\n");
}

/* write_keystone_only(), and roles that make demo the admin project:
 * alice's admin role writes, bob's reader role reads. */
static void write_keystone_sections(FILE *f)
{
    write_keystone_only(f);
    fprintf(f, "roles = { read = [ \"reader\", \"admin\" ]; write = [ \"admin\" ];\n"
               "  admin_project_name = \"demo\"; admin_project_domain_name = \"Default\"; };\n");
}

static int group_setup(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    if (!getenv("KS_URL"))
        return 0;
    /* 503 is an answer here: Keystone is stopped on purpose. */
    if (md_test_daemon_init(&g.d, "api-auth", &config) != 0 ||
        md_test_daemon_init(&g.nova, "api-auth-nova", &nova_config) != 0)
        return -1;
    g.d.server_errors_ok = true;
    g.admin_project = get_project_token("admin", "KS_ADMIN_PASSWORD", "admin");
    g.admin_system =
        get_scoped_token("admin", "KS_ADMIN_PASSWORD", "{\"system\": {\"all\": true}}");
    g.alice = get_token("alice", "KS_ALICE_PASSWORD");
    g.alice_revoked = get_token("alice", "KS_ALICE_PASSWORD");
    g.bob = get_token("bob", "KS_BOB_PASSWORD");
    g.carol = get_token("carol", "KS_CAROL_PASSWORD");
    g.dave = get_token("dave", "KS_DAVE_PASSWORD");
    /* Revoked before the daemon ever sees it, so it is in no cache. */
    revoke_token(g.alice_revoked);
    if (md_test_daemon_start(&g.d) != 0 || md_test_daemon_start(&g.nova) != 0)
        return -1;
    g.on = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    md_test_daemon_close(&g.d);
    md_test_daemon_close(&g.nova);
    free(g.admin_project);
    free(g.admin_system);
    free(g.alice);
    free(g.alice_revoked);
    free(g.bob);
    free(g.carol);
    free(g.dave);
    return 0;
}

static void need_daemon(void)
{
    if (!g.on)
        skip();
}

/* ---- the daemon's API ---------------------------------------------------------------- */

/* Room for the headers of a request to the daemon. */
typedef struct headers {
    char auth[TOKEN_MAX + 16];
    const char *h[3];
} headers;

/* The headers of a request as the holder of token (NULL: no X-Auth-Token),
 * in hs; /v2.1 requests ask for microversion 2.80. */
static const char *const *as(headers *hs, const char *path, const char *token)
{
    size_t n = 0;

    memset(hs->h, 0, sizeof hs->h);
    if (token) {
        snprintf(hs->auth, sizeof hs->auth, "X-Auth-Token: %s", token);
        hs->h[n++] = hs->auth;
    }
    if (strncmp(path, "/v2.1", 5) == 0)
        hs->h[n++] = NOVA_VERSION;
    return hs->h;
}

/* A request to the daemon as the holder of token, checked as
 * md_test_daemon_call() does. */
static resp call(const char *method, const char *path, const char *token, const char *body)
{
    headers hs;

    return md_test_daemon_call(&g.d, method, path, as(&hs, path, token), body);
}

static void expect(const char *method, const char *path, const char *token, const char *body,
                   long status)
{
    headers hs;

    md_test_daemon_expect(&g.d, method, path, as(&hs, path, token), body, status);
}

static const char *fault_message(const resp *r)
{
    return md_test_fault_message(r->json, r->status);
}

/* The number of migration records, as token's holder lists them. */
static size_t count_as(const char *token)
{
    resp r = call("GET", "/v1/os-migrations", token, NULL);
    if (r.status != 200)
        fail_msg("list: %ld %s", r.status, r.body.p);
    size_t n = json_object_array_length(md_test_json_get(r.json, "migrations"));
    md_test_http_resp_free(&r);
    return n;
}

static size_t count(void)
{
    return count_as(g.alice);
}

/* The record of migration uuid as alice sees it, as a JSON string (malloc). */
static char *record(const char *uuid)
{
    headers hs;
    resp r;
    json_object *m = md_test_daemon_show(&g.d, as(&hs, "/v1", g.alice), uuid, &r);
    char *s = strdup(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));

    md_test_http_resp_free(&r);
    return s;
}

/* A field of migration uuid's record (as alice sees it), into out. */
static void field(const char *uuid, const char *key, char *out, size_t len)
{
    headers hs;
    resp r;
    json_object *m = md_test_daemon_show(&g.d, as(&hs, "/v1", g.alice), uuid, &r);

    snprintf(out, len, "%s", json_object_get_string(md_test_json_get(m, key)));
    md_test_http_resp_free(&r);
}

/* Waits until migration uuid's status is want (NULL: any final one). */
static void wait_status(const char *uuid, const char *want)
{
    headers hs;

    md_test_daemon_wait_status(&g.d, as(&hs, "/v1", g.alice), uuid, want);
}

/* POST /v1/os-migrations as alice: 202 with the record; its uuid. */
static void create(const char *instance_uuid, char uuid[37])
{
    char body[256];

    snprintf(body, sizeof body,
             "{\"migration\": {\"instance_uuid\": \"%s\", \"dest_compute\": \"node-b\"}}",
             instance_uuid);
    resp r = call("POST", "/v1/os-migrations", g.alice, body);
    if (r.status != 202)
        fail_msg("create %s as alice: %ld %s", instance_uuid, r.status, r.body.p);
    json_object *m = md_test_json_get(r.json, "migration");
    snprintf(uuid, 37, "%s", md_test_json_str(m, "uuid"));
    assert_string_equal(md_test_json_str(m, "instance_uuid"), instance_uuid);
    md_test_http_resp_free(&r);
}

/* ---- the tests ----------------------------------------------------------------------- */

static void public_routes_need_no_token(void **state)
{
    (void)state;
    need_daemon();
    expect("GET", "/healthcheck", NULL, NULL, 200);
    expect("GET", "/", NULL, NULL, 200);
    expect("GET", "/v1", NULL, NULL, 200);
    expect("GET", "/v2.1", NULL, NULL, 200);
    /* A bad token on a public route is not looked at. */
    expect("GET", "/healthcheck", "gAAAAABgarbage", NULL, 200);
}

static void missing_or_invalid_token_is_401(void **state)
{
    (void)state;
    need_daemon();
    const char *const bad[] = { NULL, "", "gAAAAABgarbage-not-a-token", g.alice_revoked };
    const char *const what[] = { "no token", "an empty token", "a garbage token",
                                 "a revoked token" };

    for (size_t i = 0; i < 4; i++) {
        resp r = call("GET", "/v1/os-migrations", bad[i], NULL);
        if (r.status != 401)
            fail_msg("GET /v1/os-migrations with %s: %ld, want 401: %s", what[i], r.status,
                     r.body.p);
        assert_non_null(md_test_json_get(r.json, "unauthorized"));
        assert_non_null(strstr(fault_message(&r), "Authentication required"));
        md_test_http_resp_free(&r);
        expect("GET", "/v2.1/os-migrations", bad[i], NULL, 401);
        expect("POST", "/v1/os-migrations", bad[i],
               "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}",
               401);
        expect("POST", "/v2.1/servers/" IDLE1 "/action", bad[i],
               "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 401);
    }
    /* Nothing was written by any of them. */
    assert_int_equal(count(), 0);
}

static void admin_reads_and_writes(void **state)
{
    char m0[37], path[128], got[64];

    (void)state;
    need_daemon();
    assert_int_equal(count_as(g.alice), 0);

    /* The busy guest's migration runs and never converges by itself. */
    create(BUSY1, g.m1);
    wait_status(g.m1, "running");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m1);
    expect("GET", path, g.alice, NULL, 200);
    /* Settings: 202 with the record showing them. */
    resp r = call("PUT", path, g.alice,
                  "{\"migration\": {\"max_downtime_ms\": 400, \"bandwidth_mibps\": 900}}");
    assert_int_equal(r.status, 202);
    json_object *m = md_test_json_get(r.json, "migration");
    assert_int_equal(json_object_get_int(md_test_json_get(m, "max_downtime_ms")), 400);
    assert_int_equal(json_object_get_int(md_test_json_get(m, "bandwidth_mibps")), 900);
    md_test_http_resp_free(&r);
    /* post_copy on a migration that does not permit it: the state says 409. */
    r = call("PUT", path, g.alice, "{\"migration\": {\"action\": \"post_copy\"}}");
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(fault_message(&r), "post-copy"));
    md_test_http_resp_free(&r);

    /* One migration at a time: the next ones wait. */
    create(IDLE1, m0);
    field(m0, "status", got, sizeof got);
    assert_string_equal(got, "queued");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", m0);
    /* force_complete of a queued migration: 409; settings: 202. */
    expect("PUT", path, g.alice, "{\"migration\": {\"action\": \"force_complete\"}}", 409);
    expect("PUT", path, g.alice, "{\"migration\": {\"max_downtime_ms\": 300}}", 202);
    expect("GET", "/v1/os-migrations/" IDLE1 "/events", g.alice, NULL, 404);
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", m0);
    expect("GET", path, g.alice, NULL, 200);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", m0);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(m0, "cancelled");
    /* Cancelled: a second abort is refused by the state, not by policy. */
    expect("DELETE", path, g.alice, NULL, 409);

    /* Left queued behind m1 for the reader's tests. */
    create(IDLE2, g.m2);
    field(g.m2, "status", got, sizeof got);
    assert_string_equal(got, "queued");
    assert_int_equal(count(), 3);
}

/* Each write bob tries: refused with 403 "forbidden", and then neither the
 * number of records nor m1's or m2's record has changed. */
static void refused_write(const char *method, const char *path, const char *body)
{
    size_t n = count();
    char *m2 = record(g.m2);
    char m1_status[64], m1_downtime[64];

    field(g.m1, "status", m1_status, sizeof m1_status);
    field(g.m1, "max_downtime_ms", m1_downtime, sizeof m1_downtime);
    resp r = call(method, path, g.bob, body);
    if (r.status != 403)
        fail_msg("%s %s as bob (reader): %ld, want 403: %s", method, path, r.status, r.body.p);
    assert_non_null(md_test_json_get(r.json, "forbidden"));
    assert_non_null(strstr(fault_message(&r), "write"));
    md_test_http_resp_free(&r);

    assert_int_equal(count(), n);
    char *m2_after = record(g.m2);
    assert_string_equal(m2_after, m2);
    char s[64];
    field(g.m1, "status", s, sizeof s);
    assert_string_equal(s, m1_status);
    field(g.m1, "max_downtime_ms", s, sizeof s);
    assert_string_equal(s, m1_downtime);
    free(m2);
    free(m2_after);
}

static void reader_reads_but_cannot_write(void **state)
{
    char path[128], path1[128];

    (void)state;
    need_daemon();
    /* Reads: the list, a record, its events; the same list alice sees. */
    assert_int_equal(count_as(g.bob), count_as(g.alice));
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    resp r = call("GET", path, g.bob, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(md_test_json_str(md_test_json_get(r.json, "migration"), "uuid"), g.m2);
    md_test_http_resp_free(&r);
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", g.m1);
    expect("GET", path, g.bob, NULL, 200);
    expect("GET", "/v1/os-migrations?status=queued", g.bob, NULL, 200);

    /* Writes: every one refused, nothing written. */
    refused_write("POST", "/v1/os-migrations",
                  "{\"migration\": {\"instance_uuid\": \"" IDLE1
                  "\", \"dest_compute\": \"node-b\"}}");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    snprintf(path1, sizeof path1, "/v1/os-migrations/%s", g.m1);
    refused_write("PUT", path, "{\"migration\": {\"max_downtime_ms\": 1000}}");
    refused_write("PUT", path, "{\"migration\": {\"action\": \"abort\"}}");
    refused_write("PUT", path1, "{\"migration\": {\"max_downtime_ms\": 1000}}");
    refused_write("PUT", path1, "{\"migration\": {\"action\": \"force_complete\"}}");
    refused_write("DELETE", path, NULL);
    refused_write("DELETE", path1, NULL);
    /* Authorisation comes before the body: a malformed body is still a 403. */
    refused_write("POST", "/v1/os-migrations", "{not json");

    /* Drains: reading is roles.list, starting roles.create, cancelling
     * roles.abort. The ghost is never looked up: 403 comes first. */
    expect("GET", "/v1/drains", g.bob, NULL, 200);
    refused_write("POST", "/v1/drains",
                  "{\"drain\": {\"destinations\": [\"node-b\"], \"deadline_s\": 600}}");
    refused_write("DELETE", "/v1/drains/99999999-9999-4999-8999-999999999999", NULL);
}

static void observer_gets_nothing(void **state)
{
    char path[128];

    (void)state;
    need_daemon();
    size_t n = count();
    resp r = call("GET", "/v1/os-migrations", g.dave, NULL);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(fault_message(&r), "read"));
    md_test_http_resp_free(&r);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    expect("GET", path, g.dave, NULL, 403);
    expect("GET", "/v2.1/os-migrations", g.dave, NULL, 403);
    expect("POST", "/v1/os-migrations", g.dave,
           "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}",
           403);
    expect("DELETE", path, g.dave, NULL, 403);
    expect("GET", "/v1/drains", g.dave, NULL, 403);
    assert_int_equal(count(), n);
    /* Public routes stay open to dave too. */
    expect("GET", "/healthcheck", g.dave, NULL, 200);
}

static void nova_routes_obey_the_same_rules(void **state)
{
    char path[256], m3[37] = "";

    (void)state;
    need_daemon();
    /* Reads: bob and alice yes, dave no, nobody without a token. */
    expect("GET", "/v2.1/os-migrations", g.bob, NULL, 200);
    expect("GET", "/v2.1/os-migrations", g.alice, NULL, 200);
    expect("GET", "/v2.1/os-migrations", NULL, NULL, 401);
    expect("GET", "/v2.1/servers", g.bob, NULL, 200);
    expect("GET", "/v2.1/servers/" BUSY1, g.bob, NULL, 200);
    expect("GET", "/v2.1/servers/" BUSY1, g.dave, NULL, 403);
    expect("GET", "/v2.1/servers/" BUSY1 "/migrations", g.bob, NULL, 200);
    snprintf(path, sizeof path, "/v2.1/servers/" BUSY1 "/migrations/%s", g.m1);
    expect("GET", path, g.bob, NULL, 200);

    /* Writes as bob: 403, nothing written. */
    refused_write("POST", "/v2.1/servers/" IDLE1 "/action",
                  "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}");
    snprintf(path, sizeof path, "/v2.1/servers/" BUSY1 "/migrations/%s/action", g.m1);
    refused_write("POST", path, "{\"force_complete\": null}");
    snprintf(path, sizeof path, "/v2.1/servers/" BUSY1 "/migrations/%s", g.m1);
    refused_write("DELETE", path, NULL);
    snprintf(path, sizeof path, "/v2.1/servers/" IDLE2 "/migrations/%s", g.m2);
    refused_write("DELETE", path, NULL);
    expect("POST", "/v2.1/servers/" IDLE1 "/action", g.dave,
           "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 403);

    /* Writes as alice: os-migrateLive queues a migration (202, no body in
     * Nova), which she then aborts (2.65 allows queued ones). */
    size_t n = count();
    expect("POST", "/v2.1/servers/" IDLE1 "/action", g.alice,
           "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 202);
    assert_int_equal(count(), n + 1);
    resp r = call("GET", "/v1/os-migrations?instance_uuid=" IDLE1 "&status=queued", g.alice, NULL);
    assert_int_equal(r.status, 200);
    json_object *list = md_test_json_get(r.json, "migrations");
    assert_int_equal(json_object_array_length(list), 1);
    snprintf(m3, sizeof m3, "%s", md_test_json_str(json_object_array_get_idx(list, 0), "uuid"));
    md_test_http_resp_free(&r);
    snprintf(path, sizeof path, "/v2.1/servers/" IDLE1 "/migrations/%s", m3);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(m3, "cancelled");
}

/* A request to the default-roles daemon as the holder of token. */
static resp nova_call(const char *method, const char *path, const char *token, const char *body)
{
    headers hs;

    return md_test_daemon_call(&g.nova, method, path, as(&hs, path, token), body);
}

static void nova_expect(const char *method, const char *path, const char *token, const char *body,
                        long status)
{
    headers hs;

    md_test_daemon_expect(&g.nova, method, path, as(&hs, path, token), body, status);
}

/* token's holder is refused (403, for its scope) every read and write on
 * the default-roles daemon, and nothing is written. */
static void nova_refused_everything(const char *who, const char *token)
{
    resp r = nova_call("GET", "/v1/os-migrations", token, NULL);
    if (r.status != 403)
        fail_msg("GET /v1/os-migrations as %s: %ld, want 403: %s", who, r.status, r.body.p);
    assert_non_null(md_test_json_get(r.json, "forbidden"));
    assert_non_null(strstr(fault_message(&r), "admin project"));
    md_test_http_resp_free(&r);
    nova_expect("GET", "/v2.1/os-migrations", token, NULL, 403);
    nova_expect("GET", "/v2.1/servers/" BUSY1, token, NULL, 403);
    nova_expect("POST", "/v1/os-migrations", token,
                "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}",
                403);
    nova_expect("POST", "/v2.1/servers/" IDLE1 "/action", token,
                "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 403);
}

/* The number of records as the admin on the admin project lists them. */
static size_t nova_count(void)
{
    resp r = nova_call("GET", "/v1/os-migrations", g.admin_project, NULL);
    if (r.status != 200)
        fail_msg("list as admin: %ld %s", r.status, r.body.p);
    size_t n = json_object_array_length(md_test_json_get(r.json, "migrations"));
    md_test_http_resp_free(&r);
    return n;
}

/* Nova's defaults: a member, a reader, even an admin of an ordinary
 * project get 403; the admin on the admin project and a system-scoped
 * admin may read and write. */
static void default_roles_need_an_admin_token(void **state)
{
    char path[128];
    headers hs;

    (void)state;
    need_daemon();
    nova_expect("GET", "/healthcheck", NULL, NULL, 200);
    nova_refused_everything("carol (member of demo)", g.carol);
    nova_refused_everything("bob (reader of demo)", g.bob);
    nova_refused_everything("alice (admin of demo)", g.alice);
    assert_int_equal(nova_count(), 0);

    /* The admin on the admin project: reads and writes. */
    nova_expect("GET", "/v2.1/os-migrations", g.admin_project, NULL, 200);
    nova_expect("GET", "/v2.1/servers/" IDLE1, g.admin_project, NULL, 200);
    resp r = nova_call("POST", "/v1/os-migrations", g.admin_project,
                       "{\"migration\": {\"instance_uuid\": \"" BUSY1
                       "\", \"dest_compute\": \"node-b\"}}");
    if (r.status != 202)
        fail_msg("create as the admin project's admin: %ld %s", r.status, r.body.p);
    char m[37];
    snprintf(m, sizeof m, "%s", md_test_json_str(md_test_json_get(r.json, "migration"), "uuid"));
    md_test_http_resp_free(&r);
    assert_int_equal(nova_count(), 1);

    /* A system-scoped admin: reads, and may steer and abort it. */
    nova_expect("GET", "/v1/os-migrations", g.admin_system, NULL, 200);
    nova_expect("GET", "/v2.1/os-migrations", g.admin_system, NULL, 200);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", m);
    nova_expect("GET", path, g.admin_system, NULL, 200);
    nova_expect("PUT", path, g.admin_system, "{\"migration\": {\"max_downtime_ms\": 300}}", 202);
    /* The member still may not abort it, by DELETE or by PUT. */
    nova_expect("DELETE", path, g.carol, NULL, 403);
    nova_expect("PUT", path, g.carol, "{\"migration\": {\"action\": \"abort\"}}", 403);
    nova_expect("DELETE", path, g.admin_system, NULL, 202);
    md_test_daemon_wait_status(&g.nova, as(&hs, "/v1", g.admin_system), m, NULL);
    assert_int_equal(nova_count(), 1);
    md_test_daemon_expect_clean_stop(&g.nova);
}

/* Must stay the last test before the daemon's stop: it stops Keystone. */
static void keystone_down_is_503_and_cache_still_answers(void **state)
{
    char cmd[2048], path[128];

    (void)state;
    need_daemon();
    size_t n = count();
    /* alice's and bob's tokens are cached now (cache_seconds 300). */
    expect("GET", "/v1/os-migrations", g.bob, NULL, 200);

    snprintf(cmd, sizeof cmd, "bash '%s/tests/keystone/keystone.sh' stop '%s'",
             env("MD_SOURCE_DIR"), env("KS_DIR"));
    assert_int_equal(system(cmd), 0);

    /* carol's token has never been shown to the daemon: it cannot be
     * validated now. */
    resp r = call("GET", "/v1/os-migrations", g.carol, NULL);
    if (r.status != 503)
        fail_msg("GET with an uncached token, Keystone down: %ld, want 503: %s", r.status,
                 r.body.p);
    const char *msg = fault_message(&r);
    print_message("503: %s\n", msg);
    assert_non_null(md_test_json_get(r.json, "serviceUnavailable"));
    assert_non_null(strstr(msg, "Keystone"));
    /* A caller without a valid token learns nothing of the deployment:
     * the daemon's log has the detail. */
    assert_null(strstr(r.body.p, env("KS_URL")));
    assert_null(strstr(r.body.p, "127.0.0.1"));
    assert_null(strstr(r.body.p, env("KS_SERVICE_USER")));
    assert_null(strstr(r.body.p, env("KS_SERVICE_PASSWORD")));
    char retry[16];
    assert_true(md_test_http_header(&r, "Retry-After", retry, sizeof retry));
    assert_true(atoi(retry) >= 1);
    md_test_http_resp_free(&r);

    /* A write with it: 503, nothing written. */
    expect("POST", "/v1/os-migrations", g.carol,
           "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}",
           503);
    expect("POST", "/v2.1/servers/" IDLE1 "/action", g.carol,
           "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 503);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    expect("DELETE", path, g.carol, NULL, 503);
    /* An unknown token can be told neither valid nor invalid now (one
     * the daemon refused before would still be in its cache of refused
     * tokens for a few seconds: this one it never saw). */
    expect("GET", "/v1/os-migrations", "gAAAAABgarbage-never-seen", NULL, 503);
    /* Without one it is still a 401: that needs no Keystone. */
    expect("GET", "/v1/os-migrations", NULL, NULL, 401);

    /* Cached tokens keep working, reads and writes; the roles still count. */
    assert_int_equal(count_as(g.alice), n);
    assert_int_equal(count_as(g.bob), n);
    char status[64];
    field(g.m2, "status", status, sizeof status);
    assert_string_equal(status, "queued");
    expect("DELETE", path, g.bob, NULL, 403);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(g.m2, "cancelled");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m1);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(g.m1, NULL);
    expect("GET", "/healthcheck", NULL, NULL, 200);
}

/* Last: SIGTERM; the daemon exits 0 within MD_TEST_DAEMON_STOP_MS, and its
 * log holds no sanitizer report. */
static void sigterm_exits_zero(void **state)
{
    (void)state;
    need_daemon();
    int64_t t0 = md_test_now_ms();
    md_test_daemon_expect_clean_stop(&g.d);
    print_message("migrationd exited %lld ms after SIGTERM\n", (long long)(md_test_now_ms() - t0));
}

int main(void)
{
    md_test_http_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(public_routes_need_no_token),
        cmocka_unit_test(missing_or_invalid_token_is_401),
        cmocka_unit_test(admin_reads_and_writes),
        cmocka_unit_test(reader_reads_but_cannot_write),
        cmocka_unit_test(observer_gets_nothing),
        cmocka_unit_test(nova_routes_obey_the_same_rules),
        cmocka_unit_test(default_roles_need_an_admin_token),
        /* These two must stay last, in this order. */
        cmocka_unit_test(keystone_down_is_503_and_cache_still_answers),
        cmocka_unit_test(sigterm_exits_zero),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    md_test_http_global_cleanup();
    return failed;
}
