/* auth_guard.h - admission of Keystone validations: a concurrency bound and a circuit breaker.
 *
 * api/auth.c asks the guard before each validation that would send a
 * request to Keystone, and tells it the outcome after. The guard keeps the
 * HTTP threads from all waiting on Keystone at once:
 *
 *   - at most max_in_flight validations run at a time; one more is refused
 *     at once (MD_GUARD_BUSY), so that the API's other threads stay free
 *     for requests that need no validation (GET /healthcheck, cached
 *     tokens); http.c runs at least max_in_flight + 2 threads;
 *   - a circuit breaker: after a validation ended with Keystone failing to
 *     answer (md_auth_guard_release() with failed = true) every admission
 *     is refused (MD_GUARD_OPEN) for open_ms, instead of each request
 *     waiting timeout_ms again; after that one admission is let through as
 *     a probe (the others are still refused until it ends); an answer
 *     closes the breaker, a failure opens it for another open_ms.
 *
 * It knows nothing of Keystone or HTTP. Time: the guard reads no clock;
 * every call takes now_ms (CLOCK_MONOTONIC, from the caller), so that
 * tests move time by hand.
 *
 * Threads: any number of threads may call every function but _free() at
 * once; one mutex, held for a few comparisons, guards the state. Nothing
 * blocks but on that mutex; no I/O.
 */
#ifndef MD_API_AUTH_GUARD_H
#define MD_API_AUTH_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "service/status.h"

typedef struct md_auth_guard md_auth_guard;

typedef enum md_guard_verdict {
    MD_GUARD_ADMIT = 0, /* go ahead; call md_auth_guard_release() after */
    MD_GUARD_BUSY,      /* max_in_flight validations are running */
    MD_GUARD_OPEN,      /* the breaker is open, or a probe is running */
} md_guard_verdict;

/* What md_auth_guard_release() changed, for the caller to log. */
typedef enum md_guard_change {
    MD_GUARD_SAME = 0,
    MD_GUARD_OPENED, /* closed before, open now */
    MD_GUARD_CLOSED, /* open (or probing) before, closed now */
} md_guard_change;

/* A ticket of one admission, filled by md_auth_guard_admit(). */
typedef struct md_guard_ticket {
    bool probe; /* this admission is the breaker's probe */
} md_guard_ticket;

/* Creates a guard (closed, nothing in flight). max_in_flight >= 1,
 * open_ms >= 1; MD_ERR_INVALID otherwise, MD_ERR_NOMEM. On MD_OK *out is
 * freed with md_auth_guard_free(). */
md_status md_auth_guard_new(int max_in_flight, int64_t open_ms, md_auth_guard **out, md_err *err);

/* Accepts NULL. No other thread may be using the guard. */
void md_auth_guard_free(md_auth_guard *g);

/* Asks to start a validation at now_ms. On MD_GUARD_ADMIT the validation
 * counts as in flight until md_auth_guard_release() with the same ticket;
 * on a refusal nothing is to be released and *retry_after_s (when not
 * NULL) says in how many seconds (>= 1) to try again. */
md_guard_verdict md_auth_guard_admit(md_auth_guard *g, int64_t now_ms, md_guard_ticket *t,
                                     int *retry_after_s);

/* Ends an admitted validation at now_ms: failed when Keystone did not give
 * a usable answer (no connection, timeout, error status, own credentials
 * refused), which opens the breaker; otherwise (valid or invalid token)
 * the breaker closes. Returns what changed. */
md_guard_change md_auth_guard_release(md_auth_guard *g, const md_guard_ticket *t, bool failed,
                                      int64_t now_ms);

/* Validations in flight now. For tests. */
int md_auth_guard_in_flight(md_auth_guard *g);

#endif /* MD_API_AUTH_GUARD_H */
