/* test_auth_guard.c - the bound on Keystone validations and the circuit breaker (api/auth_guard.c).
 *
 * The guard reads no clock: every test passes the time in by hand, so the
 * breaker's periods are checked to the millisecond without sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "api/auth_guard.h"

#define T0 7000000 /* an arbitrary monotonic time, far from zero */
#define OPEN_MS 5000

static md_auth_guard *new_guard(int max_in_flight)
{
    md_auth_guard *g = NULL;
    md_err err = { "" };
    assert_int_equal(md_auth_guard_new(max_in_flight, OPEN_MS, &g, &err), MD_OK);
    return g;
}

/* Admits at now, expecting v; returns the retry-after seconds. */
static int admit(md_auth_guard *g, int64_t now, md_guard_ticket *t, md_guard_verdict v)
{
    int retry = -1;
    assert_int_equal(md_auth_guard_admit(g, now, t, &retry), v);
    assert_true(retry >= 1);
    return retry;
}

static void test_bad_sizes_are_refused(void **state)
{
    md_auth_guard *g = NULL;
    md_err err = { "" };

    (void)state;
    assert_int_equal(md_auth_guard_new(0, OPEN_MS, &g, &err), MD_ERR_INVALID);
    assert_null(g);
    assert_int_equal(md_auth_guard_new(1, 0, &g, &err), MD_ERR_INVALID);
    assert_null(g);
    md_auth_guard_free(NULL);
}

static void test_past_the_bound_is_busy_at_once(void **state)
{
    md_guard_ticket t[4];

    (void)state;
    md_auth_guard *g = new_guard(3);
    for (int i = 0; i < 3; i++)
        admit(g, T0, &t[i], MD_GUARD_ADMIT);
    assert_int_equal(md_auth_guard_in_flight(g), 3);
    assert_int_equal(admit(g, T0, &t[3], MD_GUARD_BUSY), 1);
    assert_int_equal(md_auth_guard_in_flight(g), 3);
    /* One ends (Keystone answered): room for one more. */
    assert_int_equal(md_auth_guard_release(g, &t[0], false, T0 + 10), MD_GUARD_SAME);
    admit(g, T0 + 10, &t[3], MD_GUARD_ADMIT);
    admit(g, T0 + 10, &t[0], MD_GUARD_BUSY);
    for (int i = 1; i < 4; i++)
        md_auth_guard_release(g, &t[i], false, T0 + 20);
    assert_int_equal(md_auth_guard_in_flight(g), 0);
    md_auth_guard_free(g);
}

static void test_failure_opens_the_breaker_for_its_period(void **state)
{
    md_guard_ticket t, u;

    (void)state;
    md_auth_guard *g = new_guard(4);
    admit(g, T0, &t, MD_GUARD_ADMIT);
    assert_false(t.probe);
    assert_int_equal(md_auth_guard_release(g, &t, true, T0 + 300), MD_GUARD_OPENED);
    /* Open: refused at once, with the time left rounded up. */
    assert_int_equal(admit(g, T0 + 300, &u, MD_GUARD_OPEN), 5);
    assert_int_equal(admit(g, T0 + 300 + 4001, &u, MD_GUARD_OPEN), 1);
    assert_int_equal(admit(g, T0 + 300 + OPEN_MS - 1, &u, MD_GUARD_OPEN), 1);
    assert_int_equal(md_auth_guard_in_flight(g), 0);
    md_auth_guard_free(g);
}

static void test_one_probe_after_the_period_then_closed_on_an_answer(void **state)
{
    md_guard_ticket t, probe, other;

    (void)state;
    md_auth_guard *g = new_guard(4);
    admit(g, T0, &t, MD_GUARD_ADMIT);
    md_auth_guard_release(g, &t, true, T0);
    admit(g, T0 + OPEN_MS, &probe, MD_GUARD_ADMIT);
    assert_true(probe.probe);
    /* While the probe runs, everyone else is still refused. */
    assert_int_equal(admit(g, T0 + OPEN_MS + 1000, &other, MD_GUARD_OPEN), 1);
    /* Keystone answered (even "invalid token" is an answer): closed. */
    assert_int_equal(md_auth_guard_release(g, &probe, false, T0 + OPEN_MS + 1500), MD_GUARD_CLOSED);
    admit(g, T0 + OPEN_MS + 1500, &other, MD_GUARD_ADMIT);
    assert_false(other.probe);
    assert_int_equal(md_auth_guard_release(g, &other, false, T0 + OPEN_MS + 1600), MD_GUARD_SAME);
    md_auth_guard_free(g);
}

static void test_a_failed_probe_opens_another_period(void **state)
{
    md_guard_ticket t, probe;

    (void)state;
    md_auth_guard *g = new_guard(4);
    admit(g, T0, &t, MD_GUARD_ADMIT);
    md_auth_guard_release(g, &t, true, T0);
    admit(g, T0 + OPEN_MS, &probe, MD_GUARD_ADMIT);
    /* The probe waited its full timeout and failed: open from then on. */
    assert_int_equal(md_auth_guard_release(g, &probe, true, T0 + OPEN_MS + 3000), MD_GUARD_SAME);
    assert_int_equal(admit(g, T0 + OPEN_MS + 3000, &t, MD_GUARD_OPEN), 5);
    admit(g, T0 + 2 * OPEN_MS + 3000, &probe, MD_GUARD_ADMIT);
    assert_true(probe.probe);
    md_auth_guard_release(g, &probe, false, T0 + 2 * OPEN_MS + 3000);
    md_auth_guard_free(g);
}

/* A failure reported by a validation that started before the breaker
 * opened keeps it open for a full period after that failure. */
static void test_late_failure_extends_the_period(void **state)
{
    md_guard_ticket a, b, c;

    (void)state;
    md_auth_guard *g = new_guard(4);
    admit(g, T0, &a, MD_GUARD_ADMIT);
    admit(g, T0, &b, MD_GUARD_ADMIT);
    assert_int_equal(md_auth_guard_release(g, &a, true, T0 + 100), MD_GUARD_OPENED);
    assert_int_equal(md_auth_guard_release(g, &b, true, T0 + 2000), MD_GUARD_SAME);
    admit(g, T0 + 100 + OPEN_MS, &c, MD_GUARD_OPEN);
    admit(g, T0 + 2000 + OPEN_MS, &c, MD_GUARD_ADMIT);
    assert_true(c.probe);
    md_auth_guard_release(g, &c, false, T0 + 2000 + OPEN_MS);
    md_auth_guard_free(g);
}

/* A validation admitted before the breaker opened that then gets an
 * answer shows Keystone answers again: the breaker closes. */
static void test_an_answer_in_flight_closes_the_breaker(void **state)
{
    md_guard_ticket slow, fail, next;

    (void)state;
    md_auth_guard *g = new_guard(2);
    admit(g, T0, &slow, MD_GUARD_ADMIT);
    admit(g, T0, &fail, MD_GUARD_ADMIT);
    assert_int_equal(md_auth_guard_release(g, &fail, true, T0 + 100), MD_GUARD_OPENED);
    admit(g, T0 + 200, &next, MD_GUARD_OPEN);
    assert_int_equal(md_auth_guard_release(g, &slow, false, T0 + 300), MD_GUARD_CLOSED);
    admit(g, T0 + 300, &next, MD_GUARD_ADMIT);
    assert_false(next.probe);
    md_auth_guard_release(g, &next, false, T0 + 400);
    md_auth_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_sizes_are_refused),
        cmocka_unit_test(test_past_the_bound_is_busy_at_once),
        cmocka_unit_test(test_failure_opens_the_breaker_for_its_period),
        cmocka_unit_test(test_one_probe_after_the_period_then_closed_on_an_answer),
        cmocka_unit_test(test_a_failed_probe_opens_another_period),
        cmocka_unit_test(test_late_failure_extends_the_period),
        cmocka_unit_test(test_an_answer_in_flight_closes_the_breaker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
