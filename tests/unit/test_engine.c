/* test_engine.c - the service's queue, workers, monitor, commands and recovery (service/engine.c).
 *
 * Every test runs the real engine, store and simulated hypervisor. The
 * simulator's clock is stopped and moved by hand (md_hv_sim_advance), so a
 * migration only progresses when a test says so; the test then waits, with
 * a generous bound, for the engine's threads to react.
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
#include <unistd.h>

#include "service/engine.h"
#include "service/hv_sim.h"
#include "tests/support/stack.h"

#define IDLE_A "11111111-1111-4111-8111-111111111111"
#define IDLE_B "22222222-2222-4222-8222-222222222222"
#define IDLE_C "33333333-3333-4333-8333-333333333333"
#define BUSY "44444444-4444-4444-8444-444444444444"
#define BUSY2 "55555555-5555-4555-8555-555555555555"
#define HOT "77777777-7777-4777-8777-777777777777"
#define GHOST "66666666-6666-4666-8666-666666666666" /* known to no hypervisor */

/* Long enough for any reaction of the engine's threads on a loaded machine;
 * reached only when a test fails. */
#define WAIT_MS 10000

/* The engine's tests use the stack without the API. */
typedef md_test_stack fixture;

static void engine_up(fixture *f)
{
    assert_int_equal(md_test_stack_start(f, false), 0);
}

static void engine_down(fixture *f)
{
    md_test_stack_stop(f);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    assert_int_equal(md_test_stack_init(f, "/tmp", "engine"), 0);
    /* 1 GiB idle guests finish in about one simulated second; the busy
     * ones write 2 GiB/s over 512 MiB and never converge at 50 ms. */
    md_test_stack_add_domain(f, "vm-a", IDLE_A, 1024, 0, 0);
    md_test_stack_add_domain(f, "vm-b", IDLE_B, 1024, 0, 0);
    md_test_stack_add_domain(f, "vm-c", IDLE_C, 1024, 0, 0);
    md_test_stack_add_domain(f, "vm-busy", BUSY, 1024, 512, 2048);
    md_test_stack_add_domain(f, "vm-busy2", BUSY2, 1024, 512, 2048);
    /* Writes 4 GiB/s over all of its RAM: pre-copy cannot finish even at
     * the maximum downtime (adaptive would raise it and finish vm-busy). */
    md_test_stack_add_domain(f, "vm-hot", HOT, 1024, 1024, 4096);
    assert_int_equal(md_test_stack_open(f), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    md_test_stack_close(f);
    free(f);
    return 0;
}

static md_migration create(fixture *f, const char *instance, md_status want)
{
    md_engine_request q;
    md_migration m;
    md_err err;

    memset(&q, 0, sizeof q);
    memset(&m, 0, sizeof m);
    snprintf(q.instance, sizeof q.instance, "%s", instance);
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-b");
    q.permit_post_copy = -1;
    q.max_downtime_ms = -1;
    q.bandwidth_mibps = -1;
    q.timeout_action = -1;
    md_status st = md_engine_create(f->eng, &q, &m, &err);
    if (st != want)
        fail_msg("create %s: status %d (%s), want %d", instance, st, err.msg, want);
    return m;
}

static md_migration get(fixture *f, const char *uuid)
{
    md_migration m;
    md_err err;
    if (md_engine_get(f->eng, uuid, &m, &err) != MD_OK)
        fail_msg("get %s: %s", uuid, err.msg);
    return m;
}

static bool is_running(md_mig_state s)
{
    return s == MD_MIG_RUNNING;
}

static bool is_post_copy(md_mig_state s)
{
    return s == MD_MIG_POSTCOPY;
}

static bool is_final(md_mig_state s)
{
    return !md_mig_state_in_progress(s);
}

static void expect_state(fixture *f, const char *uuid, bool (*done)(md_mig_state),
                         md_mig_state want)
{
    md_mig_state s = md_engine_wait(f->eng, uuid, done, WAIT_MS);
    if (s != want)
        fail_msg("migration %s is %s, want %s", uuid, md_mig_state_str(s), md_mig_state_str(want));
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Moves simulated time in steps, giving the monitor time to sample, until
 * pred holds for the migration or WAIT_MS of real time have passed. */
static md_migration drive_until(fixture *f, const char *uuid, double step_s,
                                bool (*pred)(const md_migration *))
{
    md_migration m = get(f, uuid);
    for (int waited = 0; !pred(&m) && waited < WAIT_MS; waited += 20) {
        md_hv_sim_advance(f->hv, step_s);
        sleep_ms(20);
        m = get(f, uuid);
    }
    return m;
}

static bool ended(const md_migration *m)
{
    return !md_mig_state_in_progress(m->state);
}

static bool downtime_set(const md_migration *m)
{
    return m->current_downtime_ms != 0;
}

static bool in_post_copy_or_done(const md_migration *m)
{
    return m->state == MD_MIG_POSTCOPY || ended(m);
}

static bool paused_or_done(const md_migration *m)
{
    return m->paused || ended(m);
}

/* True if the migration's timeline has an event of kind whose message
 * contains text (text may be NULL). */
static bool has_event(fixture *f, const char *uuid, const char *kind, const char *text)
{
    md_event *ev = NULL;
    size_t n = 0;
    bool found = false;

    assert_int_equal(md_store_events(f->store, uuid, &ev, &n, NULL), MD_OK);
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(ev[i].kind, kind) == 0 && (!text || strstr(ev[i].message, text));
    free(ev);
    return found;
}

static bool job_active(fixture *f, const char *domain)
{
    md_hv_job j;
    md_err err;
    return md_hv_job_stats(f->hv, domain, &j, &err) == MD_OK && j.active;
}

/* ---- queue and workers ------------------------------------------------------- */

static void queue_runs_migrations_one_at_a_time_in_fifo_order(void **state)
{
    fixture *f = *state;

    engine_up(f);
    md_migration a = create(f, IDLE_A, MD_OK);
    md_migration b = create(f, "vm-b", MD_OK); /* by name */
    md_migration c = create(f, IDLE_C, MD_OK);
    assert_int_equal(a.state, MD_MIG_QUEUED);

    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    assert_int_equal(get(f, b.uuid).state, MD_MIG_QUEUED);
    assert_int_equal(get(f, c.uuid).state, MD_MIG_QUEUED);

    drive_until(f, a.uuid, 0.5, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_COMPLETED);
    expect_state(f, b.uuid, is_running, MD_MIG_RUNNING);
    assert_int_equal(get(f, c.uuid).state, MD_MIG_QUEUED);

    drive_until(f, b.uuid, 0.5, ended);
    expect_state(f, b.uuid, is_final, MD_MIG_COMPLETED);
    drive_until(f, c.uuid, 0.5, ended);
    expect_state(f, c.uuid, is_final, MD_MIG_COMPLETED);

    /* Completed migrations moved their domains away; names got resolved. */
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, IDLE_A, &d, NULL), MD_ERR_NOT_FOUND);
    assert_string_equal(get(f, b.uuid).instance_uuid, IDLE_B);
    md_migration done = get(f, a.uuid);
    assert_int_equal(done.progress, 100);
    assert_true(done.downtime_ms > 0);
}

static void concurrency_cap_allows_that_many_at_once(void **state)
{
    fixture *f = *state;

    f->cfg->service.max_concurrent_live_migrations = 2;
    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    md_migration b = create(f, BUSY2, MD_OK);
    md_migration c = create(f, IDLE_C, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    expect_state(f, b.uuid, is_running, MD_MIG_RUNNING);
    sleep_ms(200);
    assert_int_equal(get(f, c.uuid).state, MD_MIG_QUEUED);
    size_t running, queued;
    md_engine_counts(f->eng, &running, &queued);
    assert_int_equal(running, 2);
    assert_int_equal(queued, 1);
}

static void create_refuses_bad_requests(void **state)
{
    fixture *f = *state;
    md_engine_request q;
    md_migration m;
    md_err err;

    engine_up(f);
    memset(&q, 0, sizeof q);
    q.permit_post_copy = q.timeout_action = -1;
    q.max_downtime_ms = q.bandwidth_mibps = -1;
    snprintf(q.instance, sizeof q.instance, "vm-a");
    /* No destination, a destination that is this node, a URI-breaking one. */
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-a");
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "this node"));
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-b/../x");
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-b");
    q.max_downtime_ms = 99;
    assert_int_equal(md_engine_create(f->eng, &q, &m, &err), MD_ERR_INVALID);
    q.max_downtime_ms = -1;
    /* A second migration of the same instance while one is in progress. */
    create(f, BUSY, MD_OK);
    create(f, BUSY, MD_ERR_CONFLICT);
}

static void unknown_domain_ends_failed_with_the_reason(void **state)
{
    fixture *f = *state;

    engine_up(f);
    md_migration m = create(f, "no-such-vm", MD_OK);
    expect_state(f, m.uuid, is_final, MD_MIG_FAILED);
    assert_non_null(strstr(get(f, m.uuid).error, "no-such-vm"));
}

/* ---- aborts ------------------------------------------------------------------- */

static void abort_of_a_queued_migration_never_touches_the_hypervisor(void **state)
{
    fixture *f = *state;
    md_err err;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    md_migration b = create(f, BUSY2, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_abort(f->eng, b.uuid, &err), MD_OK);
    /* Final at once, before any simulated time has passed. */
    assert_int_equal(get(f, b.uuid).state, MD_MIG_CANCELLED);
    assert_false(job_active(f, BUSY2));
    assert_false(has_event(f, b.uuid, "state", "worker"));
    /* Aborting it again: it has ended. */
    assert_int_equal(md_engine_abort(f->eng, b.uuid, &err), MD_ERR_CONFLICT);
}

static void abort_of_a_running_migration_returns_the_guest_to_the_source(void **state)
{
    fixture *f = *state;
    md_err err;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    drive_until(f, a.uuid, 0.2, downtime_set);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_OK);
    expect_state(f, a.uuid, is_final, MD_MIG_CANCELLED);
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, NULL), MD_OK);
    assert_true(d.active);
    assert_true(has_event(f, a.uuid, "abort", NULL));
}

static void abort_is_refused_in_post_copy(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    drive_until(f, a.uuid, 0.2, downtime_set);
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_OK);
    /* No simulated time passes, so post-copy cannot finish meanwhile. */
    expect_state(f, a.uuid, is_post_copy, MD_MIG_POSTCOPY);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "post-copy"));
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    drive_until(f, a.uuid, 0.2, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_COMPLETED);
}

/* ---- policy and operator actions ---------------------------------------------- */

static void adaptive_policy_switches_a_hot_guest_to_post_copy(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    engine_up(f);
    md_migration a = create(f, HOT, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    md_migration m = drive_until(f, a.uuid, 0.1, downtime_set);
    assert_int_equal(m.current_downtime_ms, 50); /* Nova's step 0 */
    assert_true(has_event(f, a.uuid, "set_downtime", "downtime step 0"));
    m = drive_until(f, a.uuid, 0.1, in_post_copy_or_done);
    drive_until(f, a.uuid, 0.1, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_COMPLETED);
    assert_true(has_event(f, a.uuid, "post_copy", "will not converge"));
    assert_true(has_event(f, a.uuid, "state", "post-copy"));
    assert_true(get(f, a.uuid).post_copy);
}

static void adaptive_policy_finishes_a_busy_guest_in_pre_copy_by_raising_downtime(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    drive_until(f, a.uuid, 0.1, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_COMPLETED);
    md_migration m = get(f, a.uuid);
    /* Nova's ramp would still be at 50 ms (its next step is at 150 s). */
    assert_false(m.post_copy);
    assert_true(m.current_downtime_ms > 50 && m.current_downtime_ms <= 450);
    assert_true(m.downtime_ms > 50 && m.downtime_ms <= 500);
    assert_true(has_event(f, a.uuid, "set_downtime", "can finish"));
}

static void nova_policy_aborts_at_the_completion_timeout(void **state)
{
    fixture *f = *state;

    f->cfg->libvirt.live_migration_policy = POLICY_NOVA;
    f->cfg->libvirt.live_migration_completion_timeout = 3; /* 3 s x 2 GiB = 6 s */
    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    drive_until(f, a.uuid, 0.25, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_CANCELLED);
    assert_true(has_event(f, a.uuid, "abort", "not completed after 6 s"));
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, NULL), MD_OK);
}

static void force_complete_without_post_copy_pauses_the_guest(void **state)
{
    fixture *f = *state;
    md_err err;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    drive_until(f, a.uuid, 0.2, downtime_set);
    assert_int_equal(md_engine_force_complete(f->eng, a.uuid, &err), MD_OK);
    md_migration m = drive_until(f, a.uuid, 0.0, paused_or_done);
    assert_true(m.paused);
    assert_true(has_event(f, a.uuid, "pause", "not permitted"));
    drive_until(f, a.uuid, 0.2, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_COMPLETED);
    assert_false(get(f, a.uuid).paused);
}

static void post_copy_request_needs_post_copy_permitted_and_a_running_job(void **state)
{
    fixture *f = *state;
    md_err err;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    md_migration b = create(f, BUSY2, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "without post-copy"));
    assert_int_equal(md_engine_post_copy(f->eng, b.uuid, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "queued"));
    assert_int_equal(md_engine_post_copy(f->eng, GHOST, &err), MD_ERR_NOT_FOUND);
}

static void settings_change_while_queued_and_running(void **state)
{
    fixture *f = *state;
    md_engine_settings s = { .permit_post_copy = 1, .max_downtime_ms = 300,
                             .bandwidth_mibps = 100 };
    md_err err;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    md_migration b = create(f, BUSY2, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    /* Queued: everything may change. */
    assert_int_equal(md_engine_update(f->eng, b.uuid, &s, &err), MD_OK);
    md_migration mb = get(f, b.uuid);
    assert_true(mb.permit_post_copy);
    assert_int_equal(mb.max_downtime_ms, 300);
    assert_int_equal(mb.bandwidth_mibps, 100);
    /* Running: post-copy permission is fixed at start. */
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_ERR_CONFLICT);
    s.permit_post_copy = -1;
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_OK);
    assert_int_equal(get(f, a.uuid).bandwidth_mibps, 100);
    for (int i = 0; i < WAIT_MS / 20 && !has_event(f, a.uuid, "set_bandwidth", NULL); i++)
        sleep_ms(20);
    assert_true(has_event(f, a.uuid, "set_bandwidth", "100 MiB/s"));
    s.max_downtime_ms = 50;
    assert_int_equal(md_engine_update(f->eng, a.uuid, &s, &err), MD_ERR_INVALID);
}

/* ---- stop and recovery ----------------------------------------------------------- */

static void stop_leaves_the_job_running_and_the_record_in_progress(void **state)
{
    fixture *f = *state;
    md_migration r;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    engine_down(f);
    assert_true(job_active(f, BUSY));
    assert_int_equal(md_store_get(f->store, a.uuid, &r, NULL), MD_OK);
    assert_int_equal(r.state, MD_MIG_RUNNING);
}

static void recovery_reattaches_a_running_job_and_sees_it_finish(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    engine_down(f);

    engine_up(f);
    assert_true(has_event(f, a.uuid, "recovered", "re-attached"));
    assert_int_equal(get(f, a.uuid).state, MD_MIG_RUNNING);
    /* The re-attached job is steered like any other. */
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_OK);
    drive_until(f, a.uuid, 0.2, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_COMPLETED);
}

static void recovery_requeues_queued_migrations_in_order(void **state)
{
    fixture *f = *state;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    md_migration b = create(f, IDLE_B, MD_OK);
    md_migration c = create(f, IDLE_C, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    engine_down(f);
    md_err err;
    md_hv_job j;
    assert_int_equal(md_hv_job_stats(f->hv, BUSY, &j, &err), MD_OK);

    engine_up(f);
    assert_true(has_event(f, b.uuid, "recovered", "queued again"));
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_OK);
    drive_until(f, a.uuid, 0.2, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_CANCELLED);
    /* b was queued first, so it runs first. */
    expect_state(f, b.uuid, is_running, MD_MIG_RUNNING);
    assert_int_equal(get(f, c.uuid).state, MD_MIG_QUEUED);
}

/* Writes a record in `state` as a daemon that died would have left it. */
static md_migration left_behind(fixture *f, const char *domain, md_mig_state state)
{
    md_migration m;
    md_err err;

    md_migration_init(&m);
    assert_true(md_uuid_generate(m.uuid));
    m.state = state;
    m.post_copy = state == MD_MIG_POSTCOPY;
    snprintf(m.instance_uuid, sizeof m.instance_uuid, "%s", domain);
    snprintf(m.source_compute, sizeof m.source_compute, "node-a");
    snprintf(m.dest_compute, sizeof m.dest_compute, "node-b");
    m.max_downtime_ms = 500;
    m.policy = POLICY_ADAPTIVE;
    m.created_at = m.updated_at = 1;
    assert_int_equal(md_store_insert(f->store, &m, &err), MD_OK);
    return m;
}

typedef enum where { AT_SOURCE, AT_DEST, NOWHERE } where;

/* One row of the recovery table: a record left in `state` while the job
 * has ended with the domain `w`; the engine must settle it to `want`. */
static void recovery_case(fixture *f, md_mig_state state, where w, md_mig_state want)
{
    const char *dom = w == NOWHERE ? GHOST : BUSY;
    if (w == AT_DEST)
        assert_true(md_hv_sim_set_here(f->hv, BUSY, false));
    md_migration m = left_behind(f, dom, state);
    engine_up(f);
    md_migration r;
    assert_int_equal(md_store_get(f->store, m.uuid, &r, NULL), MD_OK);
    if (r.state != want)
        fail_msg("%s with the domain %s: settled %s, want %s", md_mig_state_str(state),
                 w == AT_SOURCE ? "at the source" : w == AT_DEST ? "at the destination"
                                                               : "nowhere",
                 md_mig_state_str(r.state), md_mig_state_str(want));
    engine_down(f);
    md_hv_sim_set_here(f->hv, BUSY, true);
}

static void recovery_settles_ended_jobs_from_where_the_domain_runs(void **state)
{
    fixture *f = *state;

    recovery_case(f, MD_MIG_PREPARING, AT_SOURCE, MD_MIG_FAILED);
    recovery_case(f, MD_MIG_PREPARING, AT_DEST, MD_MIG_COMPLETED);
    recovery_case(f, MD_MIG_PREPARING, NOWHERE, MD_MIG_ERROR);
    recovery_case(f, MD_MIG_RUNNING, AT_SOURCE, MD_MIG_FAILED);
    recovery_case(f, MD_MIG_RUNNING, AT_DEST, MD_MIG_COMPLETED);
    recovery_case(f, MD_MIG_RUNNING, NOWHERE, MD_MIG_ERROR);
    recovery_case(f, MD_MIG_POSTCOPY, AT_SOURCE, MD_MIG_ERROR);
    recovery_case(f, MD_MIG_POSTCOPY, AT_DEST, MD_MIG_COMPLETED);
    recovery_case(f, MD_MIG_POSTCOPY, NOWHERE, MD_MIG_ERROR);
}

static void recovery_moves_a_preparing_record_with_a_live_job_to_running(void **state)
{
    fixture *f = *state;
    md_migration r;

    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    engine_down(f);
    /* The daemon died between starting the job and recording "running". */
    assert_int_equal(md_store_get(f->store, a.uuid, &r, NULL), MD_OK);
    r.state = MD_MIG_PREPARING;
    assert_int_equal(md_store_update(f->store, &r, NULL), MD_OK);

    engine_up(f);
    assert_int_equal(get(f, a.uuid).state, MD_MIG_RUNNING);
    assert_true(has_event(f, a.uuid, "recovered", NULL));
}

static void recovery_keeps_a_post_copy_job_in_post_copy(void **state)
{
    fixture *f = *state;
    md_err err;

    f->cfg->libvirt.live_migration_permit_post_copy = true;
    engine_up(f);
    md_migration a = create(f, BUSY, MD_OK);
    expect_state(f, a.uuid, is_running, MD_MIG_RUNNING);
    drive_until(f, a.uuid, 0.1, downtime_set);
    assert_int_equal(md_engine_post_copy(f->eng, a.uuid, &err), MD_OK);
    expect_state(f, a.uuid, is_post_copy, MD_MIG_POSTCOPY);
    engine_down(f);

    engine_up(f);
    assert_int_equal(get(f, a.uuid).state, MD_MIG_POSTCOPY);
    assert_int_equal(md_engine_abort(f->eng, a.uuid, &err), MD_ERR_CONFLICT);
    drive_until(f, a.uuid, 0.2, ended);
    expect_state(f, a.uuid, is_final, MD_MIG_COMPLETED);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(queue_runs_migrations_one_at_a_time_in_fifo_order),
        T(concurrency_cap_allows_that_many_at_once),
        T(create_refuses_bad_requests),
        T(unknown_domain_ends_failed_with_the_reason),
        T(abort_of_a_queued_migration_never_touches_the_hypervisor),
        T(abort_of_a_running_migration_returns_the_guest_to_the_source),
        T(abort_is_refused_in_post_copy),
        T(adaptive_policy_switches_a_hot_guest_to_post_copy),
        T(adaptive_policy_finishes_a_busy_guest_in_pre_copy_by_raising_downtime),
        T(nova_policy_aborts_at_the_completion_timeout),
        T(force_complete_without_post_copy_pauses_the_guest),
        T(post_copy_request_needs_post_copy_permitted_and_a_running_job),
        T(settings_change_while_queued_and_running),
        T(stop_leaves_the_job_running_and_the_record_in_progress),
        T(recovery_reattaches_a_running_job_and_sees_it_finish),
        T(recovery_requeues_queued_migrations_in_order),
        T(recovery_settles_ended_jobs_from_where_the_domain_runs),
        T(recovery_moves_a_preparing_record_with_a_live_job_to_running),
        T(recovery_keeps_a_post_copy_job_in_post_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
