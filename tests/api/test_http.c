/* test_http.c - the REST API over HTTP (libcurl) against a real migrationd process on the simulator.
 *
 * The group setup writes a configuration (hypervisor "simulator", host
 * node-a, time_scale 50, idle domains that finish in well under a second
 * and busy ones that never converge), starts $MD_BINARY_DIR/migrationd
 * --config on a free loopback port and waits for GET /healthcheck. The
 * tests then run in order against that one daemon: routes, status codes and
 * headers on the wire, the body limit, a migration that completes, paging,
 * filters, the Nova aliases, many concurrent clients, a restart on the same
 * database, and a clean exit on SIGTERM. Expected values come from
 * DESIGN.md sections 3, 6 and 7 and Nova's API reference.
 *
 * Every request is bounded (5 s); every wait is bounded; the daemon is
 * killed by the group teardown if a test left it running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/check.h"
#include "tests/support/http.h"

#define IDLE1 "11111111-1111-4111-8111-111111111111"
#define IDLE2 "22222222-2222-4222-8222-222222222222"
#define BUSY1 "44444444-4444-4444-8444-444444444444"
#define BUSY2 "55555555-5555-4555-8555-555555555555"
#define BUSY3 "66666666-6666-4666-8666-666666666666"
#define GHOST "99999999-9999-4999-8999-999999999999" /* no such migration or domain */

#define MAX_BODY 8192 /* api.max_body_bytes of the test's configuration */
#define STR_(x) #x
#define STR(x) STR_(x)

/* The simulator's domains. */
static const char domains[] =
    /* 16 GiB and idle: one pass of 16 simulated s, about 0.3 s. */
    "        { name = \"vm-idle-1\"; uuid = \"" IDLE1 "\"; ram_mib = 16384; },\n"
    "        { name = \"vm-idle-2\"; uuid = \"" IDLE2 "\"; ram_mib = 1024; },\n"
    /* They dirty all their memory faster than the link copies it. */
    "        { name = \"vm-busy-1\"; uuid = \"" BUSY1 "\"; ram_mib = 4096;\n"
    "          working_set_mib = 4096; dirty_mibps = 8192; },\n"
    "        { name = \"vm-busy-2\"; uuid = \"" BUSY2 "\"; ram_mib = 4096;\n"
    "          working_set_mib = 4096; dirty_mibps = 8192; },\n"
    "        { name = \"vm-busy-3\"; uuid = \"" BUSY3 "\"; ram_mib = 4096;\n"
    "          working_set_mib = 4096; dirty_mibps = 8192; }\n";

static const md_test_daemon_config config = {
    .max_concurrent = 2,
    .api = "max_body_bytes = " STR(MAX_BODY) ";",
    .domains = domains,
};

/* The daemon, and what the tests learn about it on the way. */
static md_test_daemon d;
static char busy1[37]; /* the busy migration left running for the restart */

typedef md_test_http_resp resp;

/* ---- requests ------------------------------------------------------------------------ */

/* A checked request on the main thread's client, with optional headers;
 * a body is sent as application/json. */
static resp call_h(const char *method, const char *target, const char *const *headers,
                   const char *body)
{
    return md_test_daemon_call(&d, method, target, headers, body);
}

static resp call(const char *method, const char *target, const char *body)
{
    return md_test_daemon_call(&d, method, target, NULL, body);
}

static void expect(const char *method, const char *target, const char *body, long status)
{
    md_test_daemon_expect(&d, method, target, NULL, body, status);
}

static const char *fault_message(const resp *r)
{
    return md_test_fault_message(r->json, r->status);
}

/* ---- the daemon ---------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    md_test_http_global_init();
    if (md_test_daemon_init(&d, "http", &config) != 0 || md_test_daemon_start(&d) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    md_test_daemon_close(&d);
    md_test_http_global_cleanup();
    return 0;
}

/* ---- migrations ----------------------------------------------------------------------- */

/* POSTs a migration of instance to node-b; expects 202 and a Location that
 * names it; returns its uuid. */
static void create(const char *instance, char uuid[37])
{
    char body[256], loc[512], want[512];
    const char *key = strlen(instance) == 36 && instance[8] == '-' ? "instance_uuid"
                                                                   : "instance_name";

    snprintf(body, sizeof body, "{\"migration\": {\"%s\": \"%s\", \"dest_compute\": \"node-b\"}}",
             key, instance);
    resp r = call("POST", "/v1/os-migrations", body);
    if (r.status != 202)
        fail_msg("create %s: %ld %s", instance, r.status, r.body.p);
    json_object *m = md_test_json_get(r.json, "migration");
    snprintf(uuid, 37, "%s", md_test_json_str(m, "uuid"));
    assert_string_equal(md_test_json_str(m, "status"), "queued");
    assert_true(md_test_http_header(&r, "Location", loc, sizeof loc));
    snprintf(want, sizeof want, "%s/v1/os-migrations/%s", d.base, uuid);
    assert_string_equal(loc, want);
    md_test_http_resp_free(&r);
}

/* GET /v1/os-migrations/{uuid}; the record is r->json's "migration". */
static json_object *show(const char *uuid, resp *r)
{
    return md_test_daemon_show(&d, NULL, uuid, r);
}

static void expect_status_reached(const char *uuid, const char *want)
{
    md_test_daemon_wait_status(&d, NULL, uuid, want);
}

static size_t count_events(const char *uuid, json_object **copy)
{
    char path[128];

    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", uuid);
    resp r = call("GET", path, NULL);
    assert_int_equal(r.status, 200);
    json_object *ev = md_test_json_get(r.json, "events");
    size_t n = json_object_array_length(ev);
    if (copy)
        *copy = json_object_get(ev);
    md_test_http_resp_free(&r);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void version_document_and_healthcheck_answer_json(void **state)
{
    (void)state;
    resp r = call("GET", "/", NULL);
    assert_int_equal(r.status, 200);
    json_object *me = md_test_json_get(r.json, "migrationd");
    assert_string_equal(md_test_json_str(me, "hypervisor"), "simulator");
    assert_true(json_object_get_boolean(md_test_json_get(me, "simulated")));
    assert_string_equal(md_test_json_str(me, "host"), "node-a");
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "versions")), 2);
    md_test_http_resp_free(&r);

    r = call("GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(md_test_json_str(r.json, "status"), "ok");
    assert_int_equal(md_test_json_int(r.json, "running"), 0);
    assert_int_equal(md_test_json_int(r.json, "queued"), 0);
    md_test_http_resp_free(&r);
}

static void errors_on_the_wire_are_nova_faults_with_the_right_status(void **state)
{
    char allow[128];

    (void)state;
    expect("GET", "/v1/nothing", NULL, 404);
    expect("GET", "/v1/os-migrations/" GHOST, NULL, 404);
    expect("GET", "/v1/os-migrations/" GHOST "/events", NULL, 404);
    expect("DELETE", "/v1/os-migrations/" GHOST, NULL, 404);
    expect("GET", "/v1/os-migrations/not-a-uuid", NULL, 400);
    expect("GET", "/v1/os-migrations?foo=bar", NULL, 400);
    expect("GET", "/v1/os-migrations?limit=-3", NULL, 400);
    expect("GET", "/v1/os-migrations?marker=" GHOST, NULL, 400);
    expect("GET", "/v1/os-migrations?status=done", NULL, 400);
    expect("POST", "/v1/os-migrations", "{\"migration\": ", 400);
    expect("POST", "/v1/os-migrations", "{\"migration\": {}} trailing", 400);
    expect("POST", "/v1/os-migrations", "[]", 400);
    expect("POST", "/v1/os-migrations",
           "{\"migration\": {\"instance_uuid\": \"" IDLE2 "\", \"dest_compute\": \"node-b\", "
           "\"max_downtime_ms\": 1.5}}",
           400);
    expect("POST", "/v1/os-migrations",
           "{\"migration\": {\"instance_uuid\": \"" IDLE2 "\", \"dest_compute\": \"node-a\"}}",
           400);
    expect("PUT", "/v1/os-migrations/" GHOST, "{\"migration\": {\"action\": \"abort\"}}", 404);

    /* 405 names the methods the resource has. */
    resp r = call("PATCH", "/v1/os-migrations", NULL);
    assert_int_equal(r.status, 405);
    assert_true(md_test_http_header(&r, "Allow", allow, sizeof allow));
    assert_non_null(strstr(allow, "GET"));
    assert_non_null(strstr(allow, "POST"));
    md_test_http_resp_free(&r);
    r = call("POST", "/healthcheck", "{}");
    assert_int_equal(r.status, 405);
    assert_true(md_test_http_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "GET");
    md_test_http_resp_free(&r);

    /* 415: a body that is not JSON by its Content-Type. */
    const char *text[] = { "Content-Type: text/plain", NULL };
    const char *body = "{\"migration\": {\"instance_uuid\": \"" IDLE2 "\", "
                       "\"dest_compute\": \"node-b\"}}";
    r = md_test_http_request(d.http, "POST", "/v1/os-migrations", text, body, strlen(body));
    md_test_daemon_check(&d, "POST", "/v1/os-migrations (text/plain)", &r);
    assert_int_equal(r.status, 415);
    md_test_http_resp_free(&r);

    /* None of it created anything. */
    r = call("GET", "/v1/os-migrations", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 0);
    md_test_http_resp_free(&r);
}

static void body_over_max_body_bytes_is_413_and_at_the_limit_is_read(void **state)
{
    const char *h[] = { "Content-Type: application/json", NULL };
    char *body = malloc(MAX_BODY + 2);

    (void)state;
    /* max + 1 bytes: 413 overLimit, and the connection stays usable. */
    memset(body, ' ', MAX_BODY + 1);
    memcpy(body + MAX_BODY - 10, "{\"a\": 1}", 8);
    resp r = md_test_http_request(d.http, "POST", "/v1/os-migrations", h, body, MAX_BODY + 1);
    md_test_daemon_check(&d, "POST", "/v1/os-migrations (max+1 bytes)", &r);
    assert_int_equal(r.status, 413);
    md_test_http_resp_free(&r);
    /* Exactly max bytes (JSON after leading blanks) is read and judged on
     * its content: an unknown top-level key is a 400, not a 413. */
    memset(body, ' ', MAX_BODY);
    const char *json = "{\"unknown\": 1}";
    memcpy(body + MAX_BODY - strlen(json), json, strlen(json));
    r = md_test_http_request(d.http, "POST", "/v1/os-migrations", h, body, MAX_BODY);
    md_test_daemon_check(&d, "POST", "/v1/os-migrations (max bytes)", &r);
    assert_int_equal(r.status, 400);
    md_test_http_resp_free(&r);
    /* Far over the limit too. */
    char *big = malloc(16 * MAX_BODY);
    memset(big, '[', 16 * MAX_BODY);
    r = md_test_http_request(d.http, "PUT", "/v1/os-migrations/" GHOST, h, big, 16 * MAX_BODY);
    md_test_daemon_check(&d, "PUT", "/v1/os-migrations (16 x max bytes)", &r);
    assert_int_equal(r.status, 413);
    md_test_http_resp_free(&r);
    free(big);
    free(body);
    expect("GET", "/healthcheck", NULL, 200);
}

static void idle_migration_completes_with_progress_that_never_goes_down(void **state)
{
    char uuid[37];
    int last = -1, polls = 0;
    char status[64] = "";

    (void)state;
    create(IDLE1, uuid);
    int64_t until = md_test_now_ms() + MD_TEST_DAEMON_WAIT_MS;
    while (md_test_now_ms() < until) {
        resp r;
        json_object *m = show(uuid, &r);
        int progress = (int)md_test_json_int(m, "progress");
        snprintf(status, sizeof status, "%s", md_test_json_str(m, "status"));
        if (progress < last)
            fail_msg("progress went down from %d to %d (%s)", last, progress, status);
        assert_true(progress >= 0 && progress <= 100);
        last = progress;
        polls++;
        md_test_http_resp_free(&r);
        if (!md_test_status_in_progress(status))
            break;
        md_test_sleep_ms(10);
    }
    assert_string_equal(status, "completed");
    assert_int_equal(last, 100);
    assert_true(polls > 1);

    resp r;
    json_object *m = show(uuid, &r);
    assert_string_equal(md_test_json_str(m, "instance_name"), "vm-idle-1");
    assert_true(md_test_json_int(m, "memory_total_bytes") >= 16384LL * 1024 * 1024);
    assert_int_equal(md_test_json_int(m, "memory_remaining_bytes"), 0);
    md_test_http_resp_free(&r);
    /* The downtime comes with the final statistics, a moment after the end. */
    assert_true(md_test_daemon_wait_downtime(&d, NULL, uuid) >= 0);
    /* Its timeline starts queued and ends completed. */
    json_object *ev;
    size_t n = count_events(uuid, &ev);
    assert_true(n >= 4);
    const char *first = md_test_json_str(json_object_array_get_idx(ev, 0), "message");
    assert_non_null(strstr(first, "queued"));
    json_object_put(ev);
}

static void busy_migrations_are_steered_over_http(void **state)
{
    char b2[37], b3[37], path[128];

    (void)state;
    create(BUSY1, busy1);
    create(BUSY2, b2);
    expect_status_reached(busy1, "running");
    expect_status_reached(b2, "running");

    /* A second migration of the same instance: 409, saying which. */
    resp r = call("POST", "/v1/os-migrations",
                  "{\"migration\": {\"instance_uuid\": \"" BUSY1 "\", "
                  "\"dest_compute\": \"node-c\"}}");
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(fault_message(&r), busy1));
    md_test_http_resp_free(&r);

    /* Post-copy was not permitted: 409 with the engine's reason. */
    snprintf(path, sizeof path, "/v1/os-migrations/%s", busy1);
    r = call("PUT", path, "{\"migration\": {\"action\": \"post_copy\"}}");
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(fault_message(&r), "post-copy"));
    md_test_http_resp_free(&r);
    r = call("PUT", path, "{\"migration\": {\"action\": \"jump\"}}");
    assert_int_equal(r.status, 400);
    md_test_http_resp_free(&r);
    r = call("PUT", path, "{\"migration\": {\"max_downtime_ms\": 400, \"bandwidth_mibps\": 900}}");
    assert_int_equal(r.status, 202);
    json_object *m = md_test_json_get(r.json, "migration");
    assert_int_equal(md_test_json_int(m, "max_downtime_ms"), 400);
    assert_int_equal(md_test_json_int(m, "bandwidth_mibps"), 900);
    md_test_http_resp_free(&r);

    /* Two run (max_concurrent_live_migrations = 2): the third waits, and
     * is cancelled at once when deleted. */
    create(BUSY3, b3);
    md_test_sleep_ms(300);
    assert_string_equal(md_test_json_str(show(b3, &r), "status"), "queued");
    md_test_http_resp_free(&r);
    r = call("GET", "/healthcheck", NULL);
    assert_int_equal(md_test_json_int(r.json, "running"), 2);
    assert_int_equal(md_test_json_int(r.json, "queued"), 1);
    md_test_http_resp_free(&r);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", b3);
    expect("DELETE", path, NULL, 202);
    expect_status_reached(b3, "cancelled");
    expect("DELETE", path, NULL, 409);
    r = call("PUT", path, "{\"migration\": {\"action\": \"force_complete\"}}");
    assert_int_equal(r.status, 409);
    md_test_http_resp_free(&r);
}

typedef struct worker {
    int index;
    int ok, bad;
    long first_bad_status;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    md_test_http *h = md_test_http_new(d.base);
    char path[128];

    for (int i = 0; h && i < 200; i++) {
        switch ((i + w->index) % 4) {
        case 0: snprintf(path, sizeof path, "/v1/os-migrations"); break;
        case 1: snprintf(path, sizeof path, "/v1/os-migrations/%s", busy1); break;
        case 2: snprintf(path, sizeof path, "/v1/os-migrations?status=running&limit=5"); break;
        default: snprintf(path, sizeof path, "/healthcheck"); break;
        }
        resp r = md_test_http_request(h, "GET", path, NULL, NULL, 0);
        if (r.rc == 0 && r.status == 200 && r.json) {
            w->ok++;
        } else {
            if (!w->bad)
                w->first_bad_status = r.rc == 0 ? r.status : -(long)r.rc;
            w->bad++;
        }
        md_test_http_resp_free(&r);
    }
    if (!h)
        w->bad = 200;
    md_test_http_free(h);
    return NULL;
}

static void concurrent_clients_are_all_answered_while_migrations_progress(void **state)
{
    pthread_t t[4];
    worker w[4];
    resp r;

    (void)state;
    int64_t before = md_test_json_int(show(busy1, &r), "memory_processed_bytes");
    md_test_http_resp_free(&r);
    int64_t start = md_test_now_ms();
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int64_t took = md_test_now_ms() - start;
    for (int i = 0; i < 4; i++) {
        if (w[i].bad)
            fail_msg("client %d: %d of 200 requests failed (first: %ld)", i, w[i].bad,
                     w[i].first_bad_status);
        assert_int_equal(w[i].ok, 200);
    }
    /* 800 small requests on loopback; bounded well above what they take. */
    if (took > 30000)
        fail_msg("800 requests took %lld ms", (long long)took);
    /* The migration is still running and still moving. */
    int64_t after = before, until = md_test_now_ms() + MD_TEST_DAEMON_WAIT_MS;
    while (after <= before && md_test_now_ms() < until) {
        json_object *m = show(busy1, &r);
        assert_string_equal(md_test_json_str(m, "status"), "running");
        after = md_test_json_int(m, "memory_processed_bytes");
        md_test_http_resp_free(&r);
        if (after <= before)
            md_test_sleep_ms(50);
    }
    assert_true(after > before);
}

static void abort_of_a_running_migration_ends_it_cancelled(void **state)
{
    char path[128];
    resp r;

    (void)state;
    /* The second busy one: the record of the API's list that is running. */
    r = call("GET", "/v1/os-migrations?instance_uuid=" BUSY2, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 1);
    json_object *m = json_object_array_get_idx(md_test_json_get(r.json, "migrations"), 0);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", md_test_json_str(m, "uuid"));
    md_test_http_resp_free(&r);
    r = call("PUT", path, "{\"migration\": {\"action\": \"abort\"}}");
    assert_int_equal(r.status, 202);
    md_test_http_resp_free(&r);
    expect_status_reached(path + strlen("/v1/os-migrations/"), "cancelled");
    expect("DELETE", path, NULL, 409);
}

static void list_pages_follow_next_links_and_filters_apply(void **state)
{
    char uuids[64][37], target[2048], path[128];
    size_t total = 0;

    (void)state;
    /* A busy guest's migration started and aborted, six times: six more
     * records make ten in all. */
    for (int i = 0; i < 6; i++) {
        char u[37];
        create(BUSY3, u);
        snprintf(path, sizeof path, "/v1/os-migrations/%s", u);
        expect("DELETE", path, NULL, 202);
        expect_status_reached(u, "cancelled");
    }
    resp r = call("GET", "/v1/os-migrations", NULL);
    json_object *all = json_object_get(md_test_json_get(r.json, "migrations"));
    md_test_http_resp_free(&r);
    total = json_object_array_length(all);
    assert_int_equal(total, 10);
    for (size_t i = 0; i < total; i++)
        snprintf(uuids[i], 37, "%s", md_test_json_str(json_object_array_get_idx(all, i), "uuid"));

    /* limit=4: pages of 4, 4 and 2, in the same order, through next links. */
    snprintf(target, sizeof target, "/v1/os-migrations?limit=4");
    size_t seen = 0;
    int pages = 0;
    while (target[0]) {
        r = call("GET", target, NULL);
        assert_int_equal(r.status, 200);
        json_object *page = md_test_json_get(r.json, "migrations");
        size_t n = json_object_array_length(page);
        assert_true(n <= 4);
        for (size_t k = 0; k < n; k++, seen++) {
            assert_true(seen < total);
            assert_string_equal(md_test_json_str(json_object_array_get_idx(page, k), "uuid"),
                                uuids[seen]);
        }
        json_object *links = md_test_json_get(r.json, "migrations_links");
        target[0] = '\0';
        for (size_t k = 0; k < json_object_array_length(links); k++) {
            json_object *l = json_object_array_get_idx(links, k);
            if (strcmp(md_test_json_str(l, "rel"), "next") == 0)
                snprintf(target, sizeof target, "%s", md_test_json_str(l, "href"));
        }
        if (n == 4)
            assert_true(target[0] != '\0'); /* a full page links on */
        else
            assert_true(target[0] == '\0');
        /* An absolute link back to this daemon. */
        if (target[0])
            assert_int_equal(strncmp(target, d.base, strlen(d.base)), 0);
        md_test_http_resp_free(&r);
        pages++;
        assert_true(pages <= 4);
    }
    assert_int_equal(seen, total);
    assert_int_equal(pages, 3);

    /* changes-since / changes-before: by the records' own updated_at (one
     * fixed format, so it compares as text), from the updated_at of an
     * ended record in the older half. */
    char since[64], url[512];
    const char *mid = NULL;
    for (size_t i = total / 2; i < total && !mid; i++) {
        json_object *m = json_object_array_get_idx(all, i);
        if (!md_test_status_in_progress(md_test_json_str(m, "status")))
            mid = md_test_json_str(m, "updated_at");
    }
    assert_non_null(mid);
    snprintf(since, sizeof since, "%s", mid);
    snprintf(url, sizeof url, "/v1/os-migrations?changes-since=%sZ", since);
    r = call("GET", url, NULL);
    assert_int_equal(r.status, 200);
    json_object *list = md_test_json_get(r.json, "migrations");
    /* Every listed record matches; every ended one that matches is listed
     * (a running one's updated_at moves with each progress flush). */
    for (size_t i = 0; i < json_object_array_length(list); i++)
        assert_true(
            strcmp(md_test_json_str(json_object_array_get_idx(list, i), "updated_at"), since) >= 0);
    size_t want = 0;
    for (size_t i = 0; i < total; i++) {
        json_object *m = json_object_array_get_idx(all, i);
        if (md_test_status_in_progress(md_test_json_str(m, "status")))
            continue;
        bool match = strcmp(md_test_json_str(m, "updated_at"), since) >= 0, listed = false;
        want += match;
        for (size_t k = 0; k < json_object_array_length(list); k++)
            listed = listed || strcmp(md_test_json_str(json_object_array_get_idx(list, k), "uuid"),
                                      md_test_json_str(m, "uuid")) == 0;
        if (match != listed)
            fail_msg("changes-since=%s: record %s (updated %s) %s", since,
                     md_test_json_str(m, "uuid"), md_test_json_str(m, "updated_at"),
                     listed ? "listed" : "not listed");
    }
    assert_true(want < total);
    md_test_http_resp_free(&r);
    snprintf(url, sizeof url, "/v1/os-migrations?changes-before=%s%%2B00:00", since);
    r = call("GET", url, NULL);
    assert_int_equal(r.status, 200);
    list = md_test_json_get(r.json, "migrations");
    assert_true(json_object_array_length(list) >= 1);
    for (size_t i = 0; i < json_object_array_length(list); i++)
        assert_true(
            strcmp(md_test_json_str(json_object_array_get_idx(list, i), "updated_at"), since) <= 0);
    md_test_http_resp_free(&r);
    expect("GET", "/v1/os-migrations?changes-since=2026-02-30T00:00:00Z", NULL, 400);
    expect("GET", "/v1/os-migrations?changes-since=soon", NULL, 400);

    /* Filters on the wire, values URL-encoded. */
    /* The six above and the two the abort tests before this one ended. */
    r = call("GET", "/v1/os-migrations?status=cancelled", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 8);
    md_test_http_resp_free(&r);
    r = call("GET", "/v1/os-migrations?status=running%20%28post-copy%29", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 0);
    md_test_http_resp_free(&r);
    /* As form encoding (Python's urlencode, used by novaclient) writes it. */
    r = call("GET", "/v1/os-migrations?status=running+%28post-copy%29", NULL);
    assert_int_equal(r.status, 200);
    md_test_http_resp_free(&r);
    r = call("GET", "/v1/os-migrations?host=node-b&migration_type=live-migration", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), total);
    md_test_http_resp_free(&r);
    r = call("GET", "/v1/os-migrations?limit=0", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 0);
    md_test_http_resp_free(&r);
    json_object_put(all);
}

static void nova_aliases_answer_with_the_negotiated_microversion(void **state)
{
    const char *v259[] = { "X-OpenStack-Nova-API-Version: 2.59", NULL };
    char h[128], path[256];

    (void)state;
    resp r = call_h("GET", "/v2.1/os-migrations", v259, NULL);
    assert_int_equal(r.status, 200);
    assert_true(md_test_http_header(&r, "X-OpenStack-Nova-API-Version", h, sizeof h));
    assert_string_equal(h, "2.59");
    assert_true(md_test_http_header(&r, "OpenStack-API-Version", h, sizeof h));
    assert_string_equal(h, "compute 2.59");
    json_object *list = md_test_json_get(r.json, "migrations");
    assert_int_equal(json_object_array_length(list), 10);
    /* Nova's os-migrations fields (2.23 migration_type, 2.59 uuid). */
    static const char *const fields[] = { "id",
                                          "uuid",
                                          "status",
                                          "instance_uuid",
                                          "source_compute",
                                          "dest_compute",
                                          "dest_host",
                                          "migration_type",
                                          "created_at",
                                          "updated_at",
                                          NULL };
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *m = json_object_array_get_idx(list, i);
        for (size_t k = 0; fields[k]; k++)
            md_test_json_get(m, fields[k]);
        assert_string_equal(md_test_json_str(m, "migration_type"), "live-migration");
    }
    md_test_http_resp_free(&r);
    /* 2.59 pages with limit and links. */
    r = call_h("GET", "/v2.1/os-migrations?limit=3", v259, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 3);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations_links")), 1);
    md_test_http_resp_free(&r);

    /* The in-progress live migrations of one server. */
    snprintf(path, sizeof path, "/v2.1/servers/%s/migrations", BUSY1);
    r = call_h("GET", path, v259, NULL);
    assert_int_equal(r.status, 200);
    assert_true(md_test_http_header(&r, "X-OpenStack-Nova-API-Version", h, sizeof h));
    assert_string_equal(h, "2.59");
    list = md_test_json_get(r.json, "migrations");
    assert_int_equal(json_object_array_length(list), 1);
    json_object *m = json_object_array_get_idx(list, 0);
    assert_string_equal(md_test_json_str(m, "server_uuid"), BUSY1);
    assert_string_equal(md_test_json_str(m, "uuid"), busy1);
    assert_string_equal(md_test_json_str(m, "status"), "running");
    md_test_json_int(m, "memory_total_bytes");
    md_test_json_int(m, "memory_processed_bytes");
    md_test_json_int(m, "memory_remaining_bytes");
    int64_t id = md_test_json_int(m, "id");
    md_test_http_resp_free(&r);
    snprintf(path, sizeof path, "/v2.1/servers/%s/migrations/%lld", BUSY1, (long long)id);
    r = call_h("GET", path, v259, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(md_test_json_str(md_test_json_get(r.json, "migration"), "uuid"), busy1);
    md_test_http_resp_free(&r);

    /* Below 2.23 the server migrations resource does not exist (Nova). */
    snprintf(path, sizeof path, "/v2.1/servers/%s/migrations", BUSY1);
    r = call("GET", path, NULL);
    assert_int_equal(r.status, 404);
    assert_true(md_test_http_header(&r, "X-OpenStack-Nova-API-Version", h, sizeof h));
    assert_string_equal(h, "2.1");
    md_test_http_resp_free(&r);
    /* The OpenStack-API-Version form, and versions out of range. */
    const char *v266[] = { "OpenStack-API-Version: compute 2.66", NULL };
    r = call_h("GET", "/v2.1/os-migrations", v266, NULL);
    assert_int_equal(r.status, 200);
    assert_true(md_test_http_header(&r, "OpenStack-API-Version", h, sizeof h));
    assert_string_equal(h, "compute 2.66");
    md_test_http_resp_free(&r);
    const char *bad[] = { "X-OpenStack-Nova-API-Version: two", NULL };
    r = call_h("GET", "/v2.1/os-migrations", bad, NULL);
    assert_int_equal(r.status, 400);
    md_test_http_resp_free(&r);
    const char *future[] = { "X-OpenStack-Nova-API-Version: 2.999", NULL };
    r = call_h("GET", "/v2.1/os-migrations", future, NULL);
    assert_int_equal(r.status, 406);
    md_test_http_resp_free(&r);
}

static void restart_keeps_the_record_of_a_running_migration(void **state)
{
    resp r;
    char status[64];

    (void)state;
    assert_string_equal(md_test_json_str(show(busy1, &r), "status"), "running");
    md_test_http_resp_free(&r);
    size_t before = count_events(busy1, NULL);

    md_test_daemon_expect_clean_stop(&d);
    assert_int_equal(md_test_daemon_start(&d), 0);

    /* The record is there; the simulator's job did not survive the
     * process, so recovery settles it to a final state (DESIGN.md 7) -
     * or it is still running if a job was found. */
    json_object *m = show(busy1, &r);
    snprintf(status, sizeof status, "%s", md_test_json_str(m, "status"));
    assert_string_equal(md_test_json_str(m, "instance_uuid"), BUSY1);
    md_test_http_resp_free(&r);
    if (md_test_status_in_progress(status)) {
        assert_string_equal(status, "running");
    } else {
        assert_true(strcmp(status, "failed") == 0 || strcmp(status, "error") == 0 ||
                    strcmp(status, "completed") == 0 || strcmp(status, "cancelled") == 0);
    }
    /* Recovery left its trace in the timeline. */
    json_object *ev;
    size_t after = count_events(busy1, &ev);
    assert_true(after > before);
    bool traced = false;
    for (size_t i = before; i < after; i++) {
        const char *kind = md_test_json_str(json_object_array_get_idx(ev, i), "kind");
        traced = traced || strcmp(kind, "recovered") == 0 || strcmp(kind, "state") == 0;
    }
    json_object_put(ev);
    assert_true(traced);
    /* Every other record survived too. */
    r = call("GET", "/v1/os-migrations", NULL);
    assert_int_equal(json_object_array_length(md_test_json_get(r.json, "migrations")), 10);
    md_test_http_resp_free(&r);
    r = call("GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    md_test_http_resp_free(&r);
}

static void daemon_exits_cleanly_on_sigterm(void **state)
{
    (void)state;
    md_test_daemon_expect_clean_stop(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_document_and_healthcheck_answer_json),
        cmocka_unit_test(errors_on_the_wire_are_nova_faults_with_the_right_status),
        cmocka_unit_test(body_over_max_body_bytes_is_413_and_at_the_limit_is_read),
        cmocka_unit_test(idle_migration_completes_with_progress_that_never_goes_down),
        cmocka_unit_test(busy_migrations_are_steered_over_http),
        cmocka_unit_test(concurrent_clients_are_all_answered_while_migrations_progress),
        cmocka_unit_test(abort_of_a_running_migration_ends_it_cancelled),
        cmocka_unit_test(list_pages_follow_next_links_and_filters_apply),
        cmocka_unit_test(nova_aliases_answer_with_the_negotiated_microversion),
        cmocka_unit_test(restart_keeps_the_record_of_a_running_migration),
        cmocka_unit_test(daemon_exits_cleanly_on_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
