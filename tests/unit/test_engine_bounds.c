/* test_engine_bounds.c - the engine's bounded waits and bounded history.
 *
 * A migration that a worker takes while libvirtd does not answer waits for
 * the connection, up to libvirt.connection_wait_timeout, instead of
 * failing for a domain it cannot look up (engine_worker.c); a lost
 * connection under a running migration is reconciled once it is back; and
 * service.keep_finished_days deletes old finished records
 * (engine_purge.c). Each test runs the real engine, store and simulator
 * (its clock moved by hand, its connection taken down with
 * md_hv_sim_set_connected); the simulator's connection can only be taken
 * down from inside the process, so these tests, not a fault case, are the
 * proof for the wait.
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

static bool past_queued(md_mig_state s)
{
    return s != MD_MIG_QUEUED;
}

static bool job_active(fixture *f, const char *domain)
{
    md_hv_job j;
    md_err err;
    return md_hv_job_stats(f->hv, domain, &j, &err) == MD_OK && j.active;
}

/* ---- a migration submitted while libvirtd is down ----------------------------- */

static void a_migration_taken_while_libvirtd_is_down_waits_for_it_and_then_migrates(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_hv_sim_set_connected(f->hv, false);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_expect_event(f, a.uuid, "wait_hypervisor", "does not answer");
    /* It waits in preparing, not failed for a domain it cannot look up;
     * the next migration waits behind it in the queue. */
    md_migration b = md_test_create(f, MD_TEST_IDLE_B, MD_OK);
    md_test_sleep_ms(300);
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_PREPARING);
    assert_int_equal(md_test_migration(f, b.uuid).state, MD_MIG_QUEUED);

    md_hv_sim_set_connected(f->hv, true);
    md_test_expect_event(f, a.uuid, "hypervisor_back", "migrating");
    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    md_test_drive_until(f, b.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, b.uuid, md_test_is_final, MD_MIG_COMPLETED);
    /* b found the connection up: it never waited. */
    assert_false(md_test_has_event(f, b.uuid, "wait_hypervisor", NULL));
}

static void past_the_bound_it_fails_saying_libvirtd_does_not_answer(void **state)
{
    fixture *f = *state;
    md_hv_domain d;

    f->cfg->libvirt.connection_wait_timeout = 1;
    md_test_fixture_start(f, false);
    md_hv_sim_set_connected(f->hv, false);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_FAILED);
    md_migration m = md_test_migration(f, a.uuid);
    assert_non_null(strstr(m.error, "simulated libvirtd does not answer"));
    assert_non_null(strstr(m.error, "waited 1 s"));
    assert_null(strstr(m.error, "cannot find domain"));
    /* Nothing was started: the guest is where it was. */
    md_hv_sim_set_connected(f->hv, true);
    assert_int_equal(md_hv_lookup(f->hv, MD_TEST_IDLE_A, &d, NULL), MD_OK);
    assert_true(d.active);
    assert_false(job_active(f, MD_TEST_IDLE_A));
}

static void with_no_wait_configured_it_fails_at_once_with_the_same_reason(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.connection_wait_timeout = 0;
    md_test_fixture_start(f, false);
    md_hv_sim_set_connected(f->hv, false);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_FAILED);
    assert_non_null(strstr(md_test_migration(f, a.uuid).error, "does not answer"));
    assert_false(md_test_has_event(f, a.uuid, "wait_hypervisor", NULL));
}

static void an_abort_while_waiting_for_libvirtd_cancels_without_touching_it(void **state)
{
    fixture *f = *state;
    md_err err;

    md_test_fixture_start(f, false);
    md_hv_sim_set_connected(f->hv, false);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_expect_event(f, a.uuid, "wait_hypervisor", NULL);
    md_test_expect_state(f, a.uuid, past_queued, MD_MIG_PREPARING);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_CANCELLED);
    assert_true(md_test_has_event(f, a.uuid, "state", "waiting for the hypervisor"));
    /* Back up, nothing happens to the guest: no job was ever started. */
    md_hv_sim_set_connected(f->hv, true);
    md_test_sleep_ms(200);
    assert_false(job_active(f, MD_TEST_IDLE_A));
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_CANCELLED);
}

static void libvirtd_lost_under_a_running_migration_is_reconciled_when_back(void **state)
{
    fixture *f = *state;

    md_test_fixture_start(f, false);
    md_migration a = md_test_create(f, MD_TEST_IDLE_A, MD_OK);
    md_test_expect_state(f, a.uuid, md_test_is_running, MD_MIG_RUNNING);
    /* The record is running just before the call is made: wait for the
     * job itself. */
    for (int t = 0; t < MD_TEST_WAIT_MS / 10 && !job_active(f, MD_TEST_IDLE_A); t++)
        md_test_sleep_ms(10);
    assert_true(job_active(f, MD_TEST_IDLE_A));
    /* The migrate call loses its connection; the job goes on. */
    md_hv_sim_set_connected(f->hv, false);
    md_test_expect_event(f, a.uuid, "detached", NULL);
    assert_int_equal(md_test_migration(f, a.uuid).state, MD_MIG_RUNNING);
    md_hv_sim_set_connected(f->hv, true);
    md_test_drive_until(f, a.uuid, 0.5, md_test_ended);
    md_test_expect_state(f, a.uuid, md_test_is_final, MD_MIG_COMPLETED);
    assert_true(md_test_has_event(f, a.uuid, "state", "runs on node-b"));
}

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
        T(a_migration_taken_while_libvirtd_is_down_waits_for_it_and_then_migrates),
        T(past_the_bound_it_fails_saying_libvirtd_does_not_answer),
        T(with_no_wait_configured_it_fails_at_once_with_the_same_reason),
        T(an_abort_while_waiting_for_libvirtd_cancels_without_touching_it),
        T(libvirtd_lost_under_a_running_migration_is_reconciled_when_back),
        T(the_monitor_purges_records_that_ended_more_than_keep_finished_days_ago),
        T(with_keep_finished_days_0_nothing_is_ever_purged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
