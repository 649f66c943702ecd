/* engine_purge.c - deleting the records of migrations that ended long ago.
 *
 * With service.keep_finished_days set, the monitor thread calls
 * eng_purge_tick() at each of its ticks, without the engine lock. It asks
 * the store to delete one batch of records that ended (completed, cancelled
 * or failed) more than that many days ago; md_store_purge_finished() keeps
 * whatever is in progress, in error or has a command pending, so nothing
 * here needs the engine's view. A full batch means there may be more: the
 * next batch goes at the next tick, so a backlog (a first start with the
 * key set on a node with years of history) drains at one batch per monitor
 * interval. Otherwise the next look is an hour later: records become old
 * enough one by one, and an hour more or less of age does not matter.
 *
 * Why the monitor's thread and not one of its own: a batch is one short
 * transaction (a hundred records and their events: milliseconds), and the
 * monitor already waits on the store for its progress flush at every pass.
 * What a batch costs the monitor is bounded by the batch, never by the
 * size of the backlog, and the engine lock is not held meanwhile, so
 * requests and workers go on. A thread of its own would add a start and a
 * stop to get the same.
 */
#include <stdint.h>

#include "service/engine_priv.h"
#include "service/log.h"

/* Records per transaction: small enough that the store's lock (which the
 * API's reads and the engine's writes wait for) is held for milliseconds. */
#define PURGE_BATCH 100

/* The next look after a batch that was not full, and after a failure. */
#define PURGE_IDLE_MS (60 * 60 * 1000)
#define PURGE_RETRY_MS (60 * 1000)

#define MS_PER_DAY (24 * 60 * 60 * 1000LL)

void eng_purge_tick(md_engine *e, eng_purge_state *ps)
{
    int days = e->cfg->service.keep_finished_days;
    int64_t now = eng_mono_ms();
    size_t n = 0;
    md_err err;

    if (days <= 0 || now < ps->next_at)
        return;
    if (md_store_purge_finished(e->store, eng_wall_ms() - days * MS_PER_DAY, PURGE_BATCH, &n,
                                &err) != MD_OK) {
        md_warn("cannot delete records older than service.keep_finished_days (%d days): %s; "
                "trying again in %d s",
                days, err.msg, PURGE_RETRY_MS / 1000);
        ps->next_at = now + PURGE_RETRY_MS;
        return;
    }
    ps->purged += n;
    if (n == PURGE_BATCH) {
        ps->next_at = now; /* the next tick */
        return;
    }
    /* One line per run through the backlog, not one per batch. */
    if (ps->purged > 0)
        md_info("deleted %llu records of migrations that ended more than %d days ago "
                "(service.keep_finished_days)",
                (unsigned long long)ps->purged, days);
    ps->purged = 0;
    ps->next_at = now + PURGE_IDLE_MS;
}
