/* test_api_json.c - times as Nova writes them, the ISO 8601 parser and link URLs (api/json.c).
 *
 * Expected instants are written as epoch milliseconds worked out by hand
 * (and checked with `date -u -d @SECONDS`), not computed with the libc
 * calls json.c itself uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/internal.h"

#define T2026 1767225600000LL   /* 2026-01-01T00:00:00Z */
#define T_NOV21 1795305084000LL /* 2026-11-21T23:51:24Z */
#define HOUR 3600000LL
#define MINUTE 60000LL

static void time_str_writes_nova_format(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        { 0, "1970-01-01T00:00:00.000000" },
        { 999, "1970-01-01T00:00:00.999000" },
        { T2026, "2026-01-01T00:00:00.000000" },
        { T_NOV21 + 847, "2026-11-21T23:51:24.847000" },
        { T_NOV21 + 5, "2026-11-21T23:51:24.005000" },
        { 951782400000LL, "2000-02-29T00:00:00.000000" },
        { 253402300799999LL, "9999-12-31T23:59:59.999000" },
    };
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(out, 'x', sizeof out);
        md_api_time_str(cases[i].ms, out);
        assert_string_equal(out, cases[i].want);
    }
}

/* A time before the epoch does not occur (records are stamped with the
 * clock); it is written as the epoch rather than as something unreadable. */
static void time_str_writes_negative_times_as_the_epoch(void **state)
{
    char out[32];

    (void)state;
    md_api_time_str(-1, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000");
    md_api_time_str(-86400123LL, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000");
}

static void parse_reads_dates_times_fractions_and_zones(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } cases[] = {
        /* UTC with Z, z, or no zone at all. */
        { "2026-11-21T23:51:24Z", T_NOV21 },
        { "2026-11-21t23:51:24z", T_NOV21 },
        { "2026-11-21T23:51:24", T_NOV21 },
        { "2026-11-21 23:51:24", T_NOV21 },
        /* Without seconds, without a time. */
        { "2026-11-21T23:51", T_NOV21 - 24000 },
        { "2026-11-21T23:51Z", T_NOV21 - 24000 },
        { "2026-01-01", T2026 },
        { "1970-01-01T00:00:00Z", 0 },
        /* Fractions: milliseconds kept, finer digits dropped (not rounded). */
        { "2026-11-21T23:51:24.8Z", T_NOV21 + 800 },
        { "2026-11-21T23:51:24.84Z", T_NOV21 + 840 },
        { "2026-11-21T23:51:24.847", T_NOV21 + 847 },
        { "2026-11-21T23:51:24.847000", T_NOV21 + 847 },
        { "2026-11-21T23:51:24.847999999Z", T_NOV21 + 847 },
        { "2026-11-21T23:51:24.005+00:00", T_NOV21 + 5 },
        /* Offsets: local time minus the offset is UTC. */
        { "2026-11-22T00:51:24+01:00", T_NOV21 },
        { "2026-11-22T00:51:24+0100", T_NOV21 },
        { "2026-11-22T00:51:24+01", T_NOV21 },
        { "2026-11-21T18:21:24-05:30", T_NOV21 },
        { "2026-11-21T23:51:24-00:00", T_NOV21 },
        { "2026-11-21T23:51:24.500+23:59", T_NOV21 + 500 - 23 * HOUR - 59 * MINUTE },
        /* Calendar edges. */
        { "2028-02-29T12:00:00Z", 1835438400000LL },
        { "2026-12-31T23:59:59Z", 1798761599000LL },
    };
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms = -42;
        if (!md_api_time_parse(cases[i].in, &ms))
            fail_msg("\"%s\" was refused", cases[i].in);
        if (ms != cases[i].want)
            fail_msg("\"%s\" read as %lld, want %lld", cases[i].in, (long long)ms,
                     (long long)cases[i].want);
    }
}

static void parse_refuses_what_is_not_a_date_time(void **state)
{
    static const char *const bad[] = {
        "",
        "soon",
        "now",
        "1795305084",
        "2026",
        "2026-11",
        "26-11-21",
        "2026-1-21",
        "2026/11/21",
        "2026-11-21T",
        "2026-11-21T23",
        "2026-11-21T2351",
        "2026-11-21T23:5",
        "2026-11-21T23:51:2",
        "2026-11-21T23:51:24.",
        "2026-11-21T23:51:24.Z",
        "2026-11-21T23:51:24ZZ",
        "2026-11-21T23:51:24Z ",
        " 2026-11-21T23:51:24Z",
        "2026-11-21T23:51:24 UTC",
        "2026-11-21T23:51:24+1",
        "2026-11-21T23:51:24+01:0",
        "2026-11-21T23:51:24+",
        "2026-11-21T23:51:24+24:00",
        "2026-11-21T23:51:24+01:60",
        "2026-11-21Z",
        "2026-11-21+01:00",
        "x2026-11-21",
        /* Out of range, and dates that do not exist. */
        "2026-00-10",
        "2026-13-01",
        "2026-11-00",
        "2026-11-32",
        "2026-11-31",
        "2026-02-29",
        "2026-02-30T00:00:00Z",
        "2100-02-29",
        "2026-11-21T24:00:00Z",
        "2026-11-21T23:60:00Z",
        "2026-11-21T23:51:61Z",
        "1969-12-31T23:59:59Z",
        "0000-01-01",
        /* Signs and spaces that strtol would take. */
        "+2026-11-21",
        "-2026-11-21",
        "2026-+1-21",
        "2026-11- 1",
    };
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (md_api_time_parse(bad[i], &ms))
            fail_msg("\"%s\" was read as %lld", bad[i], (long long)ms);
    }
}

/* What md_api_time_str writes (the next links' changes-since) parses back
 * to the same instant. */
static void parse_reads_back_what_time_str_writes(void **state)
{
    const int64_t times[] = { 0, 1, T2026, T_NOV21 + 847, 1835438400999LL, 253402300799999LL };
    char text[32];
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        md_api_time_str(times[i], text);
        assert_true(md_api_time_parse(text, &ms));
        assert_int_equal(ms, times[i]);
    }
}

static void base_url_brackets_ipv6_hosts(void **state)
{
    md_config cfg;
    md_api_deps d = { .cfg = &cfg };
    char url[320];

    (void)state;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.api.listen_host, sizeof cfg.api.listen_host, "%s", "127.0.0.1");
    cfg.api.listen_port = 8775;
    md_api_base_url(&d, url);
    assert_string_equal(url, "http://127.0.0.1:8775");

    snprintf(cfg.api.listen_host, sizeof cfg.api.listen_host, "%s", "fd00::1");
    cfg.api.listen_port = 1;
    md_api_base_url(&d, url);
    assert_string_equal(url, "http://[fd00::1]:1");

    snprintf(cfg.api.listen_host, sizeof cfg.api.listen_host, "%s", "node-a.example.org");
    cfg.api.listen_port = 65535;
    md_api_base_url(&d, url);
    assert_string_equal(url, "http://node-a.example.org:65535");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_str_writes_nova_format),
        cmocka_unit_test(time_str_writes_negative_times_as_the_epoch),
        cmocka_unit_test(parse_reads_dates_times_fractions_and_zones),
        cmocka_unit_test(parse_refuses_what_is_not_a_date_time),
        cmocka_unit_test(parse_reads_back_what_time_str_writes),
        cmocka_unit_test(base_url_brackets_ipv6_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
