/* test_engine_bounds.c - the engine's bounded history.
 *
 * service.keep_finished_days deletes old finished records (engine_purge.c).
 * Each test runs the real engine, store and simulator (its clock moved by
 * hand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/check.h"
#include "tests/support/fixture.h"

typedef md_test_stack fixture;

static md_test_fixture_spec spec = {
    .tag = "engine-bounds",
    .vms = MD_TEST_VM_A | MD_TEST_VM_B | MD_TEST_VM_BUSY,
};

/* ---- service.keep_finished_days ------------------------------------------------ */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes a record that ended in state s age_ms ago, with one event. */
static void put_ended(fixture *f, const char *uuid, md_mig_state s, int64_t age_ms)
{
    md_migration m;
    md_event ev;
    md_err err;

    md_migration_init(&m);
    snprintf(m.uuid, sizeof m.uuid, "%s", uuid);
    snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", MD_TEST_IDLE_C);
    snprintf(m.source_compute, sizeof m.source_compute, "node-a");
    snprintf(m.dest_compute, sizeof m.dest_compute, "node-b");
    m.state = s;
    m.updated_at = wall_ms() - age_ms;
    m.created_at = m.updated_at - 60000;
    if (md_store_insert(f->store, &m, &err) != MD_OK)
        fail_msg("insert %s: %s", uuid, err.msg);
    memset(&ev, 0, sizeof ev);
    ev.at = m.updated_at;
    snprintf(ev.kind, sizeof ev.kind, "state");
    snprintf(ev.message, sizeof ev.message, "ended");
    if (md_store_add_event(f->store, uuid, &ev, &err) != MD_OK)
        fail_msg("event %s: %s", uuid, err.msg);
}

static bool present(fixture *f, const char *uuid)
{
    md_migration m;
    md_err err;
    return md_store_get(f->store, uuid, &m, &err) == MD_OK;
}

#define DAY_MS (24LL * 60 * 60 * 1000)

static void the_monitor_purges_records_that_ended_more_than_keep_finished_days_ago(void **state)
{
    fixture *f = *state;
    char uuid[MD_UUID_LEN];

    /* 250 old ones: more than two of the purge's batches. */
    for (int i = 0; i < 250; i++) {
        snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        put_ended(f, uuid, i % 3 ? MD_MIG_COMPLETED : MD_MIG_FAILED, 3 * DAY_MS + i);
    }
    put_ended(f, "old-error", MD_MIG_ERROR, 3 * DAY_MS);
    put_ended(f, "young", MD_MIG_CANCELLED, DAY_MS / 2);
    put_ended(f, "newest", MD_MIG_COMPLETED, 3 * DAY_MS);
    f->cfg->service.keep_finished_days = 2;
    md_test_fixture_start(f, false);

    /* Bounded wait: the purge goes one batch per monitor tick (50 ms),
     * oldest first, so the youngest of the old ones goes last. */
    for (int t = 0; t < MD_TEST_WAIT_MS / 50; t++) {
        if (!present(f, "00000000-0000-4000-8000-000000000000"))
            break;
        md_test_sleep_ms(50);
    }
    for (int i = 0; i < 250; i++) {
        snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        assert_false(present(f, uuid));
    }
    /* In error, younger than the setting, the newest: kept. */
    assert_true(present(f, "old-error"));
    assert_true(present(f, "young"));
    assert_true(present(f, "newest"));
    /* New migrations go on as usual meanwhile. */
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
}

static void with_keep_finished_days_0_nothing_is_ever_purged(void **state)
{
    fixture *f = *state;

    put_ended(f, "ancient", MD_MIG_COMPLETED, 3650 * DAY_MS);
    put_ended(f, "newest", MD_MIG_COMPLETED, 0);
    md_test_fixture_start(f, false);
    md_test_sleep_ms(300); /* several monitor ticks */
    assert_true(present(f, "ancient"));
}

#define T(fn) MD_TEST_FIXTURE(fn, &spec)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(the_monitor_purges_records_that_ended_more_than_keep_finished_days_ago),
        T(with_keep_finished_days_0_nothing_is_ever_purged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
