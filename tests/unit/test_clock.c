/* test_clock.c - clocks, deadlines and monotonic waits (service/clock.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "service/clock.h"

static int64_t ts_ms(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_is_ms_ahead_on_the_clock_asked_for(void **state)
{
    (void)state;
    clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME };
    for (size_t i = 0; i < 2; i++) {
        int64_t before = md_clock_ms(clocks[i]);
        struct timespec d = md_deadline_in(clocks[i], 1500);
        int64_t after = md_clock_ms(clocks[i]);
        assert_true(ts_ms(d) >= before + 1500);
        assert_true(ts_ms(d) <= after + 1500);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    }
}

static void deadline_normalises_nanoseconds_for_every_remainder(void **state)
{
    (void)state;
    /* Every remainder from -999 to 999 ms, whatever the current tv_nsec:
     * the result must always be a valid timespec. */
    for (int64_t ms = -2999; ms <= 2999; ms += 7) {
        struct timespec d = md_deadline_in(CLOCK_MONOTONIC, ms);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    }
}

static void past_deadline_is_behind_now(void **state)
{
    (void)state;
    struct timespec d = md_deadline_in(CLOCK_MONOTONIC, -250);
    assert_true(ts_ms(d) <= md_clock_ms(CLOCK_MONOTONIC) - 250);
}

static void monotonic_condition_times_out_at_a_monotonic_deadline(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;

    md_cond_init_monotonic(&cond);
    pthread_mutex_lock(&mu);
    int64_t start = md_clock_ms(CLOCK_MONOTONIC);
    struct timespec d = md_deadline_in(CLOCK_MONOTONIC, 50);
    int rc;
    do
        rc = pthread_cond_timedwait(&cond, &mu, &d);
    while (rc == 0); /* a spurious wake-up waits again */
    pthread_mutex_unlock(&mu);
    /* Waited on the clock it was given: not before the deadline. */
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(md_clock_ms(CLOCK_MONOTONIC) >= start + 50);
    pthread_cond_destroy(&cond);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_is_ms_ahead_on_the_clock_asked_for),
        cmocka_unit_test(deadline_normalises_nanoseconds_for_every_remainder),
        cmocka_unit_test(past_deadline_is_behind_now),
        cmocka_unit_test(monotonic_condition_times_out_at_a_monotonic_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
