/* test_api_metrics.c - the Prometheus text exposition and GET /metrics (api/metrics.c).
 *
 * The writer's functions are checked line by line against the text
 * format 0.0.4 (escaping, value forms, cumulative histogram buckets, _sum
 * and _count); the route runs in-process on the real engine and simulated
 * hypervisor (tests/support/fixture.h), behind a handler with a Keystone
 * validator that is never reached: a request without a token is refused
 * (or let in) before any question to Keystone, so these tests need none.
 * That Prometheus itself reads the page is tests/metrics/run.sh's part.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/metrics.h"
#include "service/engine.h"
#include "tests/support/check.h"
#include "tests/support/fixture.h"

typedef md_test_stack fixture;

static md_test_fixture_spec spec = {
    .tag = "api-metrics",
    .vms = MD_TEST_VM_A | MD_TEST_VM_BUSY,
};

/* What the buffer holds; fails the test after an allocation failure. */
static const char *text_of(const md_metrics_buf *b)
{
    assert_false(b->failed);
    assert_non_null(b->text);
    return b->text;
}

/* ---- the format ------------------------------------------------------------- */

static void label_values_escape_backslash_quote_and_line_feed(void **state)
{
    md_metrics_buf b = { 0 };
    const char *labels[] = { "instance_name", "a\\b\"c\nd", "destination", "node-b", NULL };

    (void)state;
    md_metrics_sample(&b, "m_bytes", labels, 3);
    assert_string_equal(text_of(&b),
                        "m_bytes{instance_name=\"a\\\\b\\\"c\\nd\",destination=\"node-b\"} 3\n");
    free(b.text);
}

static void label_values_that_are_not_utf8_are_made_valid(void **state)
{
    md_metrics_buf b = { 0 };
    /* A lone continuation byte and a cut two-byte sequence; é stays. */
    const char *labels[] = { "instance_name", "x\x80y\xc3\xa9z\xc3", NULL };

    (void)state;
    md_metrics_sample(&b, "m", labels, 1);
    assert_string_equal(text_of(&b), "m{instance_name=\"x?y\xc3\xa9z?\"} 1\n");
    free(b.text);
}

static void help_escapes_backslash_and_line_feed_but_not_quotes(void **state)
{
    md_metrics_buf b = { 0 };

    (void)state;
    md_metrics_family(&b, "m_total", "counter", "a \"b\" c\\d\ne");
    assert_string_equal(text_of(&b), "# HELP m_total a \"b\" c\\\\d\\ne\n"
                                     "# TYPE m_total counter\n");
    free(b.text);
}

static void values_are_written_as_prometheus_reads_them(void **state)
{
    md_metrics_buf b = { 0 };

    (void)state;
    md_metrics_sample(&b, "a", NULL, 1073741824.0);
    md_metrics_sample(&b, "b", NULL, 0.05);
    md_metrics_sample(&b, "c", NULL, NAN);
    md_metrics_sample(&b, "d", NULL, INFINITY);
    md_metrics_sample(&b, "e", NULL, -INFINITY);
    md_metrics_sample(&b, "f", NULL, 1e20);
    md_metrics_sample(&b, "g", NULL, 0.1 + 0.2); /* needs 17 digits to read back */
    md_metrics_sample(&b, "h", NULL, 0);
    assert_string_equal(text_of(&b), "a 1073741824\n"
                                     "b 0.05\n"
                                     "c NaN\n"
                                     "d +Inf\n"
                                     "e -Inf\n"
                                     "f 1e+20\n"
                                     "g 0.30000000000000004\n"
                                     "h 0\n");
    free(b.text);
}

static void histogram_buckets_are_cumulative_with_sum_and_count(void **state)
{
    static const double bounds[] = { 0.1, 0.5, 1 };
    md_engine_histogram h = { .bounds = bounds, .nbounds = 3 };
    md_metrics_buf b = { 0 };
    const char *labels[] = { "state", "completed", NULL };

    (void)state;
    /* 2 at or below 0.1, none in (0.1, 0.5], 1 in (0.5, 1], 3 above. */
    h.counts[0] = 2;
    h.counts[1] = 0;
    h.counts[2] = 1;
    h.counts[3] = 3;
    h.count = 6;
    h.sum = 12.25;
    md_metrics_histogram(&b, "d_seconds", labels, &h);
    assert_string_equal(text_of(&b), "d_seconds_bucket{state=\"completed\",le=\"0.1\"} 2\n"
                                     "d_seconds_bucket{state=\"completed\",le=\"0.5\"} 2\n"
                                     "d_seconds_bucket{state=\"completed\",le=\"1\"} 3\n"
                                     "d_seconds_bucket{state=\"completed\",le=\"+Inf\"} 6\n"
                                     "d_seconds_sum{state=\"completed\"} 12.25\n"
                                     "d_seconds_count{state=\"completed\"} 6\n");
    free(b.text);

    /* Without labels, le is the only one. */
    md_metrics_buf u = { 0 };
    md_engine_histogram empty = { .bounds = bounds, .nbounds = 1 };
    md_metrics_histogram(&u, "x_seconds", NULL, &empty);
    assert_string_equal(text_of(&u), "x_seconds_bucket{le=\"0.1\"} 0\n"
                                     "x_seconds_bucket{le=\"+Inf\"} 0\n"
                                     "x_seconds_sum 0\n"
                                     "x_seconds_count 0\n");
    free(u.text);
}

/* The number of times needle occurs in hay. */
static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void page_has_each_family_once_and_every_migration_in_each_gauge(void **state)
{
    md_migration m[2];
    md_engine_snapshot s;

    (void)state;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 2; i++) {
        md_migration_init(&m[i]);
        snprintf(m[i].uuid, sizeof m[i].uuid, "0000000%d-0000-4000-8000-000000000000", i);
        snprintf(m[i].instance_name, sizeof m[i].instance_name, "vm \"%d\"", i);
        snprintf(m[i].dest_compute, sizeof m[i].dest_compute, "node-b");
        m[i].memory_total_bytes = 1000;
        m[i].memory_remaining_bytes = 400;
        m[i].disk_remaining_bytes = 100;
        m[i].progress = 50;
        m[i].current_downtime_ms = 250;
    }
    m[1].state = MD_MIG_POSTCOPY_RECOVERING;
    s.migrations = m;
    s.nmigrations = 2;
    s.counters.ended[MD_MIG_COMPLETED] = 7;
    s.counters.policy_actions[POLICY_ACT_POST_COPY] = 2;
    s.health.degraded = true;

    char *page = md_metrics_render(&s, "9.8.7");
    assert_non_null(page);
    /* Every family is described once, first. */
    assert_int_equal(occurrences(page, "# TYPE migrationd_migration_data_remaining_bytes gauge\n"),
                     1);
    assert_int_equal(occurrences(page, "# TYPE migrationd_migrations_ended_total counter\n"), 1);
    assert_int_equal(occurrences(page, "# TYPE migrationd_migration_duration_seconds histogram\n"),
                     1);
    assert_non_null(strstr(page, "migrationd_build_info{version=\"9.8.7\"} 1\n"));
    assert_non_null(strstr(page, "migrationd_store_degraded 1\n"));
    assert_non_null(strstr(page, "migrationd_migrations_ended_total{state=\"completed\"} 7\n"));
    /* Zero counters are there from the start, for rate(). */
    assert_non_null(strstr(page, "migrationd_migrations_ended_total{state=\"error\"} 0\n"));
    assert_non_null(strstr(page, "migrationd_policy_actions_total{action=\"post_copy\"} 2\n"));
    assert_non_null(strstr(page, "migrationd_commands_total{command=\"recover\"} 0\n"));
    /* Memory and disk together; the migration's labels, escaped. */
    assert_non_null(strstr(page, "migrationd_migration_data_remaining_bytes{uuid=\"00000001-0000-"
                                 "4000-8000-000000000000\",instance_uuid=\"\",instance_name=\"vm "
                                 "\\\"1\\\"\",destination=\"node-b\",state=\"running (post-copy "
                                 "recovering)\"} 500\n"));
    assert_int_equal(occurrences(page, "migrationd_migration_progress_ratio{"), 2);
    assert_non_null(strstr(page, "\"} 0.5\n"));
    assert_int_equal(occurrences(page, "migrationd_migration_downtime_limit_seconds{"), 2);
    assert_non_null(strstr(page, "\"} 0.25\n"));
    /* No "instance" label: Prometheus owns that name. */
    assert_null(strstr(page, "{instance="));
    assert_null(strstr(page, ",instance="));
    free(page);
}

static void a_drain_in_progress_has_its_guests_deadline_and_prediction(void **state)
{
    md_engine_snapshot s;
    const char *uuid = "dddddddd-0000-4000-8000-000000000000";

    (void)state;
    memset(&s, 0, sizeof s);
    s.draining = true;
    snprintf(s.drain.uuid, sizeof s.drain.uuid, "%s", uuid);
    s.drain.state = MD_DRAIN_RUNNING;
    s.drain.counts = (md_drain_counts){ .total = 7, .done = 3, .failed = 1, .remaining = 2 };
    s.drain.deadline_at = 1700000600000;
    s.drain.predicted_end_at = 1700000700500;
    s.counters.drains_ended[MD_DRAIN_PARTIAL] = 2;

    char *page = md_metrics_render(&s, "1");
    assert_non_null(page);
    assert_non_null(strstr(page, "migrationd_drain_info{uuid=\"dddddddd-0000-4000-8000-"
                                 "000000000000\",state=\"running\"} 1\n"));
    assert_non_null(strstr(page, "migrationd_drain_guests{uuid=\"dddddddd-0000-4000-8000-"
                                 "000000000000\",state=\"done\"} 3\n"));
    assert_non_null(strstr(page, "migrationd_drain_guests{uuid=\"dddddddd-0000-4000-8000-"
                                 "000000000000\",state=\"failed\"} 1\n"));
    assert_non_null(strstr(page, "migrationd_drain_guests{uuid=\"dddddddd-0000-4000-8000-"
                                 "000000000000\",state=\"remaining\"} 2\n"));
    assert_int_equal(occurrences(page, "migrationd_drain_guests{"), 3);
    assert_non_null(strstr(page, "migrationd_drain_deadline_timestamp_seconds{uuid=\"dddddddd-"
                                 "0000-4000-8000-000000000000\"} 1700000600\n"));
    assert_non_null(strstr(page, "migrationd_drain_predicted_end_timestamp_seconds{uuid=\""
                                 "dddddddd-0000-4000-8000-000000000000\"} 1700000700.5\n"));
    /* Every final state from the start, for rate() and increase(). */
    assert_non_null(strstr(page, "migrationd_drains_ended_total{state=\"partial\"} 2\n"));
    assert_non_null(strstr(page, "migrationd_drains_ended_total{state=\"completed\"} 0\n"));
    assert_non_null(strstr(page, "migrationd_drains_ended_total{state=\"cancelled\"} 0\n"));
    assert_non_null(strstr(page, "migrationd_drains_ended_total{state=\"failed\"} 0\n"));
    assert_int_equal(occurrences(page, "migrationd_drains_ended_total{"), 4);
    free(page);

    /* Planning: no prediction yet, so no sample rather than a 0 (1970). */
    s.drain.state = MD_DRAIN_PLANNING;
    s.drain.predicted_end_at = 0;
    page = md_metrics_render(&s, "1");
    assert_non_null(page);
    assert_non_null(strstr(page, "state=\"planning\"} 1\n"));
    assert_non_null(strstr(page, "# TYPE migrationd_drain_predicted_end_timestamp_seconds "
                                 "gauge\n"));
    assert_null(strstr(page, "migrationd_drain_predicted_end_timestamp_seconds{"));
    assert_int_equal(occurrences(page, "migrationd_drain_deadline_timestamp_seconds{"), 1);
    free(page);
}

static void without_a_drain_its_families_are_described_with_no_sample(void **state)
{
    md_engine_snapshot s;
    static const char *const families[] = {
        "migrationd_drain_info",
        "migrationd_drain_guests",
        "migrationd_drain_deadline_timestamp_seconds",
        "migrationd_drain_predicted_end_timestamp_seconds",
    };
    char line[160];

    (void)state;
    memset(&s, 0, sizeof s);
    char *page = md_metrics_render(&s, "1");
    assert_non_null(page);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        snprintf(line, sizeof line, "# TYPE %s gauge\n", families[i]);
        assert_int_equal(occurrences(page, line), 1);
        snprintf(line, sizeof line, "\n%s{", families[i]);
        assert_null(strstr(page, line));
    }
    assert_int_equal(occurrences(page, "# TYPE migrationd_drains_ended_total counter\n"), 1);
    assert_non_null(strstr(page, "migrationd_drains_ended_total{state=\"completed\"} 0\n"));
    free(page);
}

/* ---- the route ------------------------------------------------------------------- */

/* A handler like the daemon's with Keystone authentication on, its
 * validator pointing at a port where nothing listens (never reached). */
typedef struct keystone_api {
    md_auth *auth;
    md_api *api;
} keystone_api;

static keystone_api start_with_keystone(fixture *f, md_metrics_auth mode)
{
    keystone_api k = { 0 };
    md_err err;

    f->cfg->api.auth_strategy = MD_AUTH_KEYSTONE;
    f->cfg->api.metrics_auth = mode;
    snprintf(f->cfg->keystone.auth_url, sizeof f->cfg->keystone.auth_url, "http://127.0.0.1:1/v3");
    md_test_fixture_start(f, false);
    assert_int_equal(md_auth_new(f->cfg, &k.auth, &err), MD_OK);
    md_api_deps deps = {
        .cfg = f->cfg, .engine = f->eng, .hypervisor_name = "simulator", .auth = k.auth
    };
    assert_int_equal(md_api_new(&deps, &k.api, &err), MD_OK);
    return k;
}

static void stop_keystone_api(keystone_api *k)
{
    md_api_free(k->api);
    md_auth_free(k->auth);
}

/* GET target (no token) from a loopback or another address: the status,
 * and the response in *out (cleared by the caller). */
static int get(md_api *api, const char *path, bool loopback, md_api_response *out)
{
    md_api_request req;

    memset(&req, 0, sizeof req);
    memset(out, 0, sizeof *out);
    req.method = "GET";
    req.path = path;
    req.client_loopback = loopback;
    snprintf(req.client_addr, sizeof req.client_addr, "%s", loopback ? "127.0.0.1" : "192.0.2.7");
    md_api_handle(api, &req, out);
    return out->status;
}

static void metrics_answer_text_with_the_live_migrations(void **state)
{
    fixture *f = *state;
    md_api_response r;

    md_test_fixture_start(f, true);
    md_migration a = md_test_create(f, MD_TEST_BUSY, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    md_test_drive_until(f, a.uuid, 0.2, md_test_downtime_set);

    assert_int_equal(get(f->api, "/metrics", false, &r), 200);
    assert_string_equal(r.content_type, MD_METRICS_CONTENT_TYPE);
    assert_non_null(strstr(r.body, "migrationd_migrations_running 1\n"));
    assert_non_null(strstr(r.body, "migrationd_migrations_created_total 1\n"));
    char want[128];
    snprintf(want, sizeof want, "migrationd_migration_memory_total_bytes{uuid=\"%s\"", a.uuid);
    assert_non_null(strstr(r.body, want));
    assert_non_null(strstr(r.body, "instance_name=\"vm-busy\",destination=\"node-b\","
                                   "state=\"running\"} 1073741824\n"));
    md_api_response_clear(&r);

    /* JSON answers keep their default type; a query is refused. */
    assert_int_equal(get(f->api, "/healthcheck", false, &r), 200);
    assert_null(r.content_type);
    md_api_response_clear(&r);
    md_api_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/metrics";
    req.nquery = 1;
    req.query[0].key = "name[]";
    req.query[0].value = "x";
    memset(&r, 0, sizeof r);
    md_api_handle(f->api, &req, &r);
    assert_int_equal(r.status, 400);
    assert_null(r.content_type);
    md_api_response_clear(&r);
}

static void loopback_open_lets_loopback_in_and_wants_a_token_elsewhere(void **state)
{
    fixture *f = *state;
    keystone_api k = start_with_keystone(f, MD_METRICS_AUTH_LOOPBACK_OPEN);
    md_api_response r;

    assert_int_equal(get(k.api, "/metrics", true, &r), 200);
    md_api_response_clear(&r);
    assert_int_equal(get(k.api, "/metrics", false, &r), 401);
    md_api_response_clear(&r);
    /* Loopback opens /metrics only, not the records. */
    assert_int_equal(get(k.api, "/v1/os-migrations", true, &r), 401);
    md_api_response_clear(&r);
    stop_keystone_api(&k);
}

static void always_wants_a_token_even_from_loopback(void **state)
{
    fixture *f = *state;
    keystone_api k = start_with_keystone(f, MD_METRICS_AUTH_ALWAYS);
    md_api_response r;

    assert_int_equal(get(k.api, "/metrics", true, &r), 401);
    md_api_response_clear(&r);
    assert_int_equal(get(k.api, "/metrics", false, &r), 401);
    md_api_response_clear(&r);
    stop_keystone_api(&k);
}

static void never_lets_everyone_in(void **state)
{
    fixture *f = *state;
    keystone_api k = start_with_keystone(f, MD_METRICS_AUTH_NEVER);
    md_api_response r;

    assert_int_equal(get(k.api, "/metrics", false, &r), 200);
    assert_string_equal(r.content_type, MD_METRICS_CONTENT_TYPE);
    md_api_response_clear(&r);
    assert_int_equal(get(k.api, "/v1/os-migrations", false, &r), 401);
    md_api_response_clear(&r);
    stop_keystone_api(&k);
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(label_values_escape_backslash_quote_and_line_feed),
        cmocka_unit_test(label_values_that_are_not_utf8_are_made_valid),
        cmocka_unit_test(help_escapes_backslash_and_line_feed_but_not_quotes),
        cmocka_unit_test(values_are_written_as_prometheus_reads_them),
        cmocka_unit_test(histogram_buckets_are_cumulative_with_sum_and_count),
        cmocka_unit_test(page_has_each_family_once_and_every_migration_in_each_gauge),
        cmocka_unit_test(a_drain_in_progress_has_its_guests_deadline_and_prediction),
        cmocka_unit_test(without_a_drain_its_families_are_described_with_no_sample),
        T(metrics_answer_text_with_the_live_migrations),
        T(loopback_open_lets_loopback_in_and_wants_a_token_elsewhere),
        T(always_wants_a_token_even_from_loopback),
        T(never_lets_everyone_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
