/* clock.h - the clocks migrationd reads, and the one way to wait on them.
 *
 * Two clocks, for two purposes. CLOCK_REALTIME says what time it is: record
 * and event times, token expiry as Keystone writes it. CLOCK_MONOTONIC says
 * how long something took or how long to wait: intervals, timeouts,
 * backoff. A step of the wall clock (NTP, an operator) must neither shorten
 * nor stretch a wait, so every condition variable that a timed wait uses is
 * created on the monotonic clock (md_cond_init_monotonic) and its deadline
 * computed on the same clock (md_deadline_in).
 *
 * Everything here is thread-safe and never blocks.
 */
#ifndef MD_CLOCK_H
#define MD_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on clk (since the epoch for CLOCK_REALTIME). */
int64_t md_clock_ms(clockid_t clk);

/* The absolute time ms milliseconds from now on clk, as timed waits take
 * it: CLOCK_MONOTONIC for condition variables made by
 * md_cond_init_monotonic(), CLOCK_REALTIME for calls that know no other
 * clock (pthread_timedjoin_np). ms may be negative (a deadline passed). */
struct timespec md_deadline_in(clockid_t clk, int64_t ms);

/* pthread_cond_init() on the monotonic clock; destroy as usual. */
void md_cond_init_monotonic(pthread_cond_t *cond);

#endif /* MD_CLOCK_H */
