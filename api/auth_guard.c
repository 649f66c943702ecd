/* auth_guard.c - the concurrency bound and circuit breaker of auth_guard.h.
 *
 * DESIGN: one mutex over four fields. The breaker is "closed" while
 * open_until is 0; "open" while now < open_until; after that the first
 * admission becomes the probe (probing) and every other one is refused
 * until the probe is released. A failed release always (re)opens it from
 * the time of that release, so that a validation that was already in
 * flight when another failed still keeps the breaker open for a full
 * period after Keystone's last failure.
 */
#include "api/auth_guard.h"

#include <pthread.h>
#include <stdlib.h>

struct md_auth_guard {
    int max_in_flight;
    int64_t open_ms;
    pthread_mutex_t lock; /* guards the fields below */
    int in_flight;
    int64_t open_until; /* monotonic ms; 0 = closed */
    bool probing;       /* the probe of a half-open breaker is in flight */
};

md_status md_auth_guard_new(int max_in_flight, int64_t open_ms, md_auth_guard **out, md_err *err)
{
    *out = NULL;
    if (max_in_flight < 1 || open_ms < 1)
        return md_err_set(err, MD_ERR_INVALID, "auth guard: max_in_flight and open_ms must be > 0");
    md_auth_guard *g = calloc(1, sizeof *g);
    if (!g)
        return md_err_set(err, MD_ERR_NOMEM, "out of memory creating the auth guard");
    g->max_in_flight = max_in_flight;
    g->open_ms = open_ms;
    pthread_mutex_init(&g->lock, NULL);
    *out = g;
    return MD_OK;
}

void md_auth_guard_free(md_auth_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static int ceil_seconds(int64_t ms)
{
    int64_t s = (ms + 999) / 1000;
    return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}

md_guard_verdict md_auth_guard_admit(md_auth_guard *g, int64_t now_ms, md_guard_ticket *t,
                                     int *retry_after_s)
{
    md_guard_verdict v = MD_GUARD_ADMIT;
    int retry = 1;

    t->probe = false;
    pthread_mutex_lock(&g->lock);
    if (g->open_until != 0) {
        if (now_ms < g->open_until) {
            v = MD_GUARD_OPEN;
            retry = ceil_seconds(g->open_until - now_ms);
        } else if (g->probing) {
            /* The probe decides; it takes at most timeout_ms. */
            v = MD_GUARD_OPEN;
        } else {
            t->probe = true;
        }
    }
    if (v == MD_GUARD_ADMIT && g->in_flight >= g->max_in_flight) {
        v = MD_GUARD_BUSY;
        t->probe = false;
    }
    if (v == MD_GUARD_ADMIT) {
        g->in_flight++;
        if (t->probe)
            g->probing = true;
    }
    pthread_mutex_unlock(&g->lock);
    if (retry_after_s)
        *retry_after_s = retry;
    return v;
}

md_guard_change md_auth_guard_release(md_auth_guard *g, const md_guard_ticket *t, bool failed,
                                      int64_t now_ms)
{
    md_guard_change change = MD_GUARD_SAME;

    pthread_mutex_lock(&g->lock);
    if (g->in_flight > 0)
        g->in_flight--;
    if (t->probe)
        g->probing = false;
    if (failed) {
        if (g->open_until == 0)
            change = MD_GUARD_OPENED;
        /* 0 means closed: a clock at 0 must still open it. */
        g->open_until = now_ms + g->open_ms > 0 ? now_ms + g->open_ms : 1;
    } else if (g->open_until != 0) {
        g->open_until = 0;
        change = MD_GUARD_CLOSED;
    }
    pthread_mutex_unlock(&g->lock);
    return change;
}

int md_auth_guard_in_flight(md_auth_guard *g)
{
    pthread_mutex_lock(&g->lock);
    int n = g->in_flight;
    pthread_mutex_unlock(&g->lock);
    return n;
}
