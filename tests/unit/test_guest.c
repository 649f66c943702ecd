/* test_guest.c - the pure parts of the test guest (tests/guest/guest_lib.h):
 * command-line parsing, 64-bit division without libgcc, TSC calibration
 * arithmetic, the write pacer and the "time to write 1 GiB" window.
 *
 * The same header is compiled into the freestanding guest; here it runs on
 * the host (and under ASan/UBSan in the sanitizer build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tests/guest/guest_lib.h"

static void parse_ok(const char *line, uint32_t ws, uint32_t rate, uint32_t report)
{
    struct guest_params p;
    const char *bad = NULL;
    size_t badlen = 0;
    guest_params_default(&p);
    assert_int_equal(guest_parse_cmdline(line, &p, &bad, &badlen), GUEST_PARSE_OK);
    assert_int_equal(p.ws_mib, ws);
    assert_int_equal(p.rate_mibps, rate);
    assert_int_equal(p.report_mib, report);
}

static void parse_bad(const char *line, enum guest_parse_result want, const char *word)
{
    struct guest_params p;
    const char *bad = NULL;
    size_t badlen = 0;
    guest_params_default(&p);
    assert_int_equal(guest_parse_cmdline(line, &p, &bad, &badlen), want);
    assert_non_null(bad);
    assert_int_equal(badlen, strlen(word));
    assert_memory_equal(bad, word, badlen);
}

static void cmdline_defaults_and_values(void **state)
{
    (void)state;
    parse_ok(NULL, 64, 0, 1024);
    parse_ok("", 64, 0, 1024);
    parse_ok("   ", 64, 0, 1024);
    /* QEMU passes the kernel's path first. */
    parse_ok("/var/lib/guest.elf ws_mib=192 rate_mibps=95 report_mib=1024", 192, 95, 1024);
    parse_ok("guest.elf\tws_mib=1  rate_mibps=0\nreport_mib=1", 1, 0, 1);
    parse_ok("ws_mib=3072 rate_mibps=1000000 report_mib=1048576", 3072, 1000000, 1048576);
    /* The last of repeated keys wins. */
    parse_ok("ws_mib=10 ws_mib=20", 20, 0, 1024);
}

static void cmdline_errors_name_the_word(void **state)
{
    (void)state;
    parse_bad("x ws_mb=1", GUEST_PARSE_UNKNOWN, "ws_mb=1");
    parse_bad("ws_mibx=1", GUEST_PARSE_UNKNOWN, "ws_mibx=1");
    parse_bad("ws_mi=1", GUEST_PARSE_UNKNOWN, "ws_mi=1");
    parse_bad("=5", GUEST_PARSE_UNKNOWN, "=5");
    parse_bad("ws_mib=", GUEST_PARSE_BAD_VALUE, "ws_mib=");
    parse_bad("ws_mib=12k rate_mibps=1", GUEST_PARSE_BAD_VALUE, "ws_mib=12k");
    parse_bad("rate_mibps=-1", GUEST_PARSE_BAD_VALUE, "rate_mibps=-1");
    parse_bad("rate_mibps=99999999999", GUEST_PARSE_BAD_VALUE, "rate_mibps=99999999999");
    parse_bad("ws_mib=0", GUEST_PARSE_RANGE, "ws_mib=0");
    parse_bad("ws_mib=3073", GUEST_PARSE_RANGE, "ws_mib=3073");
    parse_bad("report_mib=0", GUEST_PARSE_RANGE, "report_mib=0");
    parse_bad("rate_mibps=1000001", GUEST_PARSE_RANGE, "rate_mibps=1000001");
}

static void udivmod64_matches_the_compiler(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t n = x;
        uint64_t d = (i % 3 == 0)   ? (x >> 40) | 1u
                     : (i % 3 == 1) ? (x >> 3) | 1u
                                    : (uint64_t)(i + 1);
        uint64_t r;
        assert_true(guest_udivmod64(n, d, &r) == n / d);
        assert_true(r == n % d);
    }
    assert_true(guest_udiv64(UINT64_MAX, 1) == UINT64_MAX);
    assert_true(guest_udiv64(UINT64_MAX, UINT64_MAX) == 1);
    assert_true(guest_udiv64(5, 7) == 0);
}

static void tsc_hz_from_a_pit_window(void **state)
{
    (void)state;
    /* 59659 PIT periods = 49.99993 ms; a 2.6 GHz TSC ticks 129,999,818 times. */
    uint64_t hz = guest_tsc_hz(129999818u, 59659u);
    assert_true(hz == (uint64_t)129999818u * 3579545u / (3u * 59659u));
    assert_true(hz > 2599990000u && hz < 2600010000u);
    /* Exactly one second of PIT periods. */
    assert_true(guest_tsc_hz(1193182u, 1193182u / 2u) == 2386363u);
    assert_true(guest_ticks_to_ms(2600000000u, 2600000000u) == 1000u);
    assert_true(guest_ticks_to_ms(1299999u, 2600000u) == 500u); /* 499.9996 rounds up */
    assert_true(guest_ticks_to_ms(1298699u, 2600000u) == 499u); /* 499.4996 */
    assert_true(guest_ticks_to_ms(1298700u, 2600000u) == 500u); /* 499.5 */
}

static void calibration_picks_the_tightest_run(void **state)
{
    (void)state;
    struct guest_cal_run runs[3] = {
        { 1000, 1100, 131001000, 131001300 }, /* err 200 */
        { 5000, 5010, 130005010, 130005030 }, /* err 15 */
        { 9000, 9400, 130009000, 130009000 }, /* err 200 */
    };
    assert_true(guest_cal_err(&runs[0]) == 200);
    assert_true(guest_cal_ticks(&runs[0]) == 131000100u);
    assert_true(guest_cal_ticks(&runs[1]) == 130000015u);
    assert_true(guest_cal_err(&runs[1]) == 15);
    assert_int_equal(guest_cal_best(runs, 3), 1);
    assert_int_equal(guest_cal_best(runs, 1), 0);
}

static void pacer_is_exact_over_the_long_run(void **state)
{
    (void)state;
    const uint64_t hz = 2600000000u;
    const uint32_t rate = 95, batch = 16;
    struct guest_pace pc;
    guest_pace_init(&pc, hz, rate, batch, 1000, hz / 10);
    /* rate * 256 batches of 16 pages are 16 s of writes at rate MiB/s. */
    uint64_t d = 0;
    for (uint32_t i = 0; i < rate * 256u; i++)
        d = guest_pace_next(&pc, 0);
    assert_true(d == 1000u + 16u * hz);
    /* One batch: 16 pages / (95 * 256 pages/s) at 2.6 GHz = 1,710,526.3 ticks. */
    guest_pace_init(&pc, hz, rate, batch, 0, hz / 10);
    assert_true(guest_pace_next(&pc, 0) == 1710526u);
}

static void pacer_does_not_burst_more_than_max_lag(void **state)
{
    (void)state;
    struct guest_pace pc;
    guest_pace_init(&pc, 1000000000u, 100, 16, 0, 100000000u); /* 100 ms of lag at most */
    assert_true(guest_pace_next(&pc, 0) == 625000u);
    /* Paused for 5 s: the schedule slides to 100 ms behind now. */
    assert_true(guest_pace_next(&pc, 5000000000u) == 4900000000u);
    /* Within the allowed lag it keeps the schedule. */
    assert_true(guest_pace_next(&pc, 4950000000u) == 4900625000u);
}

static void monotonic_tsc_counts_a_jump_back_as_no_time(void **state)
{
    (void)state;
    struct guest_mono m = { 0, 0 };
    uint64_t back = 7;
    assert_true(guest_mono_read(&m, 1000, &back) == 1000u);
    assert_true(back == 0);
    assert_true(guest_mono_read(&m, 5000, &back) == 5000u);
    assert_true(back == 0);
    /* The raw TSC restarts 4800 ticks behind: time stands still... */
    assert_true(guest_mono_read(&m, 200, &back) == 5000u);
    assert_true(back == 4800u);
    /* ...and then moves on from where it was, at the raw pace. */
    assert_true(guest_mono_read(&m, 300, &back) == 5100u);
    assert_true(back == 0);
    /* A second jump adds up with the first. */
    assert_true(guest_mono_read(&m, 100, &back) == 5100u);
    assert_true(back == 200u);
    assert_true(guest_mono_read(&m, 150, &back) == 5150u);
}

static void gib_window_extrapolates_then_slides(void **state)
{
    (void)state;
    static struct guest_gib g;
    guest_gib_init(&g, 1000);
    assert_true(guest_gib_ticks(&g) == 0);
    /* 256 MiB at 10 ticks per MiB: a GiB would take 10240 ticks. */
    for (uint32_t m = 1; m <= 256; m++)
        guest_gib_mib_done(&g, 1000 + 10u * m);
    assert_true(guest_gib_ticks(&g) == 10240u);
    for (uint32_t m = 257; m <= 1024; m++)
        guest_gib_mib_done(&g, 1000 + 10u * m);
    assert_true(guest_gib_ticks(&g) == 10240u);
    /* Then 512 MiB at 30 ticks per MiB: the last GiB is 512 * 10 + 512 * 30. */
    uint64_t t = 1000 + 10u * 1024u;
    for (uint32_t m = 0; m < 512; m++)
        guest_gib_mib_done(&g, t += 30);
    assert_true(guest_gib_ticks(&g) == 512u * 10u + 512u * 30u);
    /* Far past the ring's size, only the last GiB counts. */
    for (uint32_t m = 0; m < 5000; m++)
        guest_gib_mib_done(&g, t += 7);
    assert_true(guest_gib_ticks(&g) == 1024u * 7u);
    assert_int_equal(g.total_mib, 1024 + 512 + 5000);
}

static void formats_decimal(void **state)
{
    (void)state;
    char buf[21];
    assert_int_equal(guest_fmt_u64(buf, 0), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(guest_fmt_u64(buf, 2600512), 7);
    assert_string_equal(buf, "2600512");
    assert_int_equal(guest_fmt_u64(buf, UINT64_MAX), 20);
    assert_string_equal(buf, "18446744073709551615");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cmdline_defaults_and_values),
        cmocka_unit_test(cmdline_errors_name_the_word),
        cmocka_unit_test(udivmod64_matches_the_compiler),
        cmocka_unit_test(tsc_hz_from_a_pit_window),
        cmocka_unit_test(calibration_picks_the_tightest_run),
        cmocka_unit_test(pacer_is_exact_over_the_long_run),
        cmocka_unit_test(pacer_does_not_burst_more_than_max_lag),
        cmocka_unit_test(monotonic_tsc_counts_a_jump_back_as_no_time),
        cmocka_unit_test(gib_window_extrapolates_then_slides),
        cmocka_unit_test(formats_decimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
