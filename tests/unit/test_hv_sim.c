/* test_hv_sim.c - the simulated hypervisor behind the hv.h boundary (service/hv_sim.c).
 *
 * Each test opens the simulator on its own configuration and stops its
 * clock (md_hv_sim_set_manual_clock), so a migration moves only when the
 * test calls md_hv_sim_advance(). md_hv_migrate() blocks like libvirt's
 * call, so it runs on a thread of the test; the test waits (bounded, only
 * reached on failure) until the job exists, and joins the thread when the
 * job has ended. Expected numbers come from the model of policy/sim.h:
 * over the 1 GiB/s link, with QEMU's default 300 ms downtime limit, an idle
 * 1 GiB guest sends 700 MiB in 0.7 s, then stops for the last 300 MiB
 * (300 ms) plus 5 ms of switch-over, and runs on the destination at
 * 1.005 s. A busy guest, writing 4 GiB/s over all of its 1 GiB, never
 * converges in pre-copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/hv.h"
#include "service/hv_sim.h"
#include "tests/support/check.h"

#define IDLE "11111111-1111-4111-8111-111111111111"
#define BUSY "22222222-2222-4222-8222-222222222222"
#define SPARE "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define GHOST "66666666-6666-4666-8666-666666666666" /* in no configuration */
/* Two more idle 1 GiB guests, and a guest writing 100 MiB/s over 1 GiB, in
 * setup_links' configuration only. */
#define TWIN1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa1"
#define TWIN2 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa2"
#define SLOW "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define HOST "node-a"
#define DEST "node-b"
#define OTHER "node-c" /* a second destination, with no peer entry */
#define PEER "node-d"  /* a peer with a 256 MiB/s link, at PEER_ADDR */
#define PEER_ADDR "10.0.0.14"
#define MIB (1024ULL * 1024ULL)
#define GIB (1024ULL * MIB)

/* Long enough for a thread to start on a loaded machine; reached only when
 * a test fails. */
#define WAIT_MS 10000
#define MAX_EVENTS 256
#define MAX_MIGRATIONS 4

typedef struct migration migration;

typedef struct fixture {
    md_config *cfg;
    md_hv *hv;
    pthread_t main_thread;
    pthread_mutex_t lock; /* guards the events */
    md_hv_event events[MAX_EVENTS];
    size_t nevents;
    size_t off_thread;                   /* events delivered on another thread than the test's */
    migration *unjoined[MAX_MIGRATIONS]; /* for teardown, when a test failed */
} fixture;

/* One md_hv_migrate() call on its own thread. */
struct migration {
    fixture *f;
    md_hv_migrate_args args;
    char dest_uri[128], migrate_uri[128]; /* args' strings */
    pthread_t thread;
    atomic_bool returned;
    md_status st;
    md_err err;
};

static void add_domain(md_config *c, const char *name, const char *uuid, int ram_mib, int ws_mib,
                       int dirty_mibps)
{
    md_config_sim_domain *d = &c->simulator.domains[c->simulator.ndomains++];
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->uuid, sizeof d->uuid, "%s", uuid);
    d->ram_mib = ram_mib;
    d->working_set_mib = ws_mib;
    d->dirty_mibps = dirty_mibps;
}

static void on_event(void *ctx, const md_hv_event *ev)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->lock);
    if (!pthread_equal(pthread_self(), f->main_thread))
        f->off_thread++;
    if (f->nevents < MAX_EVENTS)
        f->events[f->nevents++] = *ev;
    pthread_mutex_unlock(&f->lock);
}

/* Opens the simulator on the common configuration, after more (may be
 * NULL) has added to it. */
static int open_fixture(void **state, void (*more)(md_config *c))
{
    fixture *f = calloc(1, sizeof *f);
    md_err err;

    assert_non_null(f);
    f->cfg = calloc(1, sizeof *f->cfg);
    assert_non_null(f->cfg);
    md_config_defaults(f->cfg);
    f->cfg->service.hypervisor = MD_HYPERVISOR_SIMULATOR;
    snprintf(f->cfg->service.host, sizeof f->cfg->service.host, "%s", HOST);
    f->cfg->simulator.time_scale = 1.0;
    f->cfg->simulator.link_mibps = 1024;
    f->cfg->simulator.ndomains = 0;
    add_domain(f->cfg, "vm-idle", IDLE, 1024, 0, 0);
    add_domain(f->cfg, "vm-busy", BUSY, 1024, 1024, 4096);
    add_domain(f->cfg, "vm-spare", SPARE, 2048, 0, 0);
    if (more)
        more(f->cfg);
    pthread_mutex_init(&f->lock, NULL);
    f->main_thread = pthread_self();
    if (md_hv_sim_open(f->cfg, &f->hv, &err) != MD_OK)
        fail_msg("md_hv_sim_open: %s", err.msg);
    md_hv_sim_set_manual_clock(f->hv, true);
    md_hv_set_event_handler(f->hv, on_event, f);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return open_fixture(state, NULL);
}

static void add_peer(md_config *c, const char *name, const char *address, int bandwidth_mibps)
{
    md_config_peer *p = &c->peers.list[c->peers.count++];

    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->address, sizeof p->address, "%s", address);
    p->bandwidth_mibps = bandwidth_mibps;
}

static void more_for_links(md_config *c)
{
    add_domain(c, "vm-twin1", TWIN1, 1024, 0, 0);
    add_domain(c, "vm-twin2", TWIN2, 1024, 0, 0);
    add_domain(c, "vm-slow", SLOW, 1024, 1024, 100);
    c->peers.count = 0;
    add_peer(c, PEER, PEER_ADDR, 256);
    /* A peer without a bandwidth: its destination gets the default link. */
    add_peer(c, OTHER, "10.0.0.13", 0);
}

/* setup, with three more guests and the peers of more_for_links. */
static int setup_links(void **state)
{
    return open_fixture(state, more_for_links);
}

static int teardown(void **state)
{
    fixture *f = *state;

    /* A test that failed may have left a migrate() blocked: release it
     * before the simulator goes away under it. */
    md_hv_release_waiters(f->hv);
    for (size_t i = 0; i < MAX_MIGRATIONS; i++) {
        if (f->unjoined[i])
            pthread_join(f->unjoined[i]->thread, NULL);
    }
    md_hv_close(f->hv);
    pthread_mutex_destroy(&f->lock);
    free(f->cfg);
    free(f);
    return 0;
}

static void *migrate_main(void *arg)
{
    migration *m = arg;
    m->st = md_hv_migrate(m->f->hv, &m->args, &m->err);
    atomic_store(&m->returned, true);
    return NULL;
}

static md_hv_job job_of(fixture *f, const char *uuid)
{
    md_hv_job j;
    md_err err;
    if (md_hv_job_stats(f->hv, uuid, &j, &err) != MD_OK)
        fail_msg("job stats of %s: %s", uuid, err.msg);
    return j;
}

/* Starts md_hv_migrate() of uuid to DEST, at most bandwidth_mibps (0: the
 * link's speed), on a thread and returns once the simulator has its job. */
static void start_migration_to(fixture *f, migration *m, const char *uuid, const char *dest,
                               bool post_copy, uint32_t bandwidth_mibps)
{
    memset(m, 0, sizeof *m);
    m->f = f;
    snprintf(m->dest_uri, sizeof m->dest_uri, "qemu+tcp://%s/system", dest);
    snprintf(m->migrate_uri, sizeof m->migrate_uri, "tcp://%s", dest);
    m->args.uuid = uuid;
    m->args.dest_name = dest;
    m->args.dest_uri = m->dest_uri;
    m->args.migrate_uri = m->migrate_uri;
    m->args.parallel_connections = 1;
    m->args.post_copy = post_copy;
    m->args.bandwidth_mibps = bandwidth_mibps;
    atomic_init(&m->returned, false);
    assert_int_equal(pthread_create(&m->thread, NULL, migrate_main, m), 0);
    for (size_t i = 0; i < MAX_MIGRATIONS; i++) {
        if (!f->unjoined[i]) {
            f->unjoined[i] = m;
            break;
        }
    }
    for (int waited = 0; !job_of(f, uuid).active; waited++) {
        if (waited >= WAIT_MS || atomic_load(&m->returned))
            fail_msg("the migration of %s did not start: %s", uuid, m->err.msg);
        md_test_sleep_ms(1);
    }
}

static void start_migration_at(fixture *f, migration *m, const char *uuid, bool post_copy,
                               uint32_t bandwidth_mibps)
{
    start_migration_to(f, m, uuid, DEST, post_copy, bandwidth_mibps);
}

static void start_migration(fixture *f, migration *m, const char *uuid, bool post_copy)
{
    start_migration_at(f, m, uuid, post_copy, 0);
}

/* The arguments of a resume: those of start_migration_at's post-copy call
 * plus the flag. */
static md_hv_migrate_args resume_args(const char *uuid)
{
    md_hv_migrate_args a = {
        .uuid = uuid,
        .dest_name = DEST,
        .dest_uri = "qemu+tcp://" DEST "/system",
        .migrate_uri = "tcp://" DEST,
        .parallel_connections = 1,
        .post_copy = true,
        .resume = true,
    };
    return a;
}

/* Starts md_hv_migrate() with resume of uuid's failed post-copy job on a
 * thread and returns once the resume has taken the job (it no longer reads
 * as failed), so that the clock moves the resumed job. */
static void start_resume(fixture *f, migration *m, const char *uuid)
{
    memset(m, 0, sizeof *m);
    m->f = f;
    m->args = resume_args(uuid);
    atomic_init(&m->returned, false);
    assert_int_equal(pthread_create(&m->thread, NULL, migrate_main, m), 0);
    for (size_t i = 0; i < MAX_MIGRATIONS; i++) {
        if (!f->unjoined[i]) {
            f->unjoined[i] = m;
            break;
        }
    }
    for (int waited = 0; job_of(f, uuid).post_copy_failed; waited++) {
        if (waited >= WAIT_MS || atomic_load(&m->returned))
            fail_msg("the resume of %s did not take the job: %s", uuid, m->err.msg);
        md_test_sleep_ms(1);
    }
}

/* Waits until md_hv_migrate() has returned (its job must have ended or
 * been released: a migrate() still blocked fails the test), joins its
 * thread and returns what it returned. */
static md_status finish_migration(migration *m)
{
    for (int waited = 0; !atomic_load(&m->returned); waited++) {
        if (waited >= WAIT_MS)
            fail_msg("md_hv_migrate(%s) has not returned", m->args.uuid);
        md_test_sleep_ms(1);
    }
    for (size_t i = 0; i < MAX_MIGRATIONS; i++) {
        if (m->f->unjoined[i] == m)
            m->f->unjoined[i] = NULL;
    }
    assert_int_equal(pthread_join(m->thread, NULL), 0);
    assert_true(atomic_load(&m->returned));
    return m->st;
}

static size_t count_events(fixture *f, md_hv_event_kind kind, const char *uuid, md_hv_event *last)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nevents; i++) {
        if (f->events[i].kind == kind && strcmp(f->events[i].uuid, uuid) == 0) {
            n++;
            if (last)
                *last = f->events[i];
        }
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

static md_hv_location locate(fixture *f, const char *uuid)
{
    md_hv_location loc = MD_HV_LOC_UNKNOWN;
    md_err err;
    assert_int_equal(md_hv_locate(f->hv, uuid, "qemu+tcp://" DEST "/system", &loc, &err), MD_OK);
    return loc;
}

/* Takes the busy guest through 2 s of pre-copy into post-copy and 0.25 s of
 * it: about 1 GiB is pending at the switch, sent at 1 GiB/s, so most of it
 * is still to come. */
static void start_post_copy_migration(fixture *f, migration *m)
{
    start_migration(f, m, BUSY, true);
    md_hv_sim_advance(f->hv, 2.0);
    assert_int_equal(md_hv_start_post_copy(f->hv, BUSY, NULL), MD_OK);
    md_hv_sim_advance(f->hv, 0.25);
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.post_copy);
    assert_false(j.post_copy_failed);
    assert_true(j.mem_remaining > 256 * MIB);
}

/* Breaks the busy guest's post-copy and checks what the first call and the
 * job say: the call fails "in post-copy phase", the job waits, failed. */
static void break_and_check(fixture *f, migration *m)
{
    assert_true(md_hv_sim_break_postcopy(f->hv, BUSY));
    assert_int_equal(finish_migration(m), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(m->err.msg, "failed in post-copy phase"));
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.post_copy);
    assert_true(j.post_copy_failed);
}

/* ---- lookup and list ---- */

static void test_lookup_finds_a_domain_by_name_and_by_uuid(void **state)
{
    fixture *f = *state;
    md_hv_domain d;
    md_err err;

    assert_int_equal(md_hv_lookup(f->hv, "vm-spare", &d, &err), MD_OK);
    assert_string_equal(d.uuid, SPARE);
    assert_string_equal(d.name, "vm-spare");
    assert_int_equal(d.ram_bytes, 2 * GIB);
    assert_true(d.active);
    assert_false(d.paused);

    memset(&d, 0, sizeof d);
    assert_int_equal(md_hv_lookup(f->hv, IDLE, &d, &err), MD_OK);
    assert_string_equal(d.name, "vm-idle");
    assert_int_equal(d.ram_bytes, 1 * GIB);
    /* UUIDs compare without regard to case, as libvirt parses them. */
    memset(&d, 0, sizeof d);
    assert_int_equal(md_hv_lookup(f->hv, "CCCCCCCC-CCCC-4CCC-8CCC-CCCCCCCCCCCC", &d, &err), MD_OK);
    assert_string_equal(d.name, "vm-spare");
    assert_string_equal(d.uuid, SPARE);
    assert_int_equal(md_hv_lookup(f->hv, "AAAA", &d, &err), MD_ERR_NOT_FOUND);
}

static void test_lookup_of_an_unknown_domain_is_not_found_with_its_name(void **state)
{
    fixture *f = *state;
    md_hv_domain d;
    md_err err = { "" };

    assert_int_equal(md_hv_lookup(f->hv, GHOST, &d, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, GHOST));
    /* A name is matched exactly. */
    assert_int_equal(md_hv_lookup(f->hv, "VM-IDLE", &d, &err), MD_ERR_NOT_FOUND);
}

static void test_list_returns_the_domains_on_this_node_in_order(void **state)
{
    fixture *f = *state;
    md_hv_domain *v = NULL;
    size_t n = 0;
    md_err err;

    assert_int_equal(md_hv_list(f->hv, &v, &n, &err), MD_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].uuid, IDLE);
    assert_string_equal(v[1].uuid, BUSY);
    assert_string_equal(v[2].uuid, SPARE);
    assert_string_equal(v[2].name, "vm-spare");
    assert_true(v[1].active);
    free(v);

    /* A domain taken away by someone else is no longer listed. */
    assert_true(md_hv_sim_set_here(f->hv, BUSY, false));
    assert_false(md_hv_sim_set_here(f->hv, GHOST, false));
    assert_int_equal(md_hv_list(f->hv, &v, &n, &err), MD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].uuid, IDLE);
    assert_string_equal(v[1].uuid, SPARE);
    free(v);
    md_hv_domain d;
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_DEST);

    assert_true(md_hv_sim_set_here(f->hv, BUSY, true));
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_SOURCE);
    assert_int_equal(md_hv_list(f->hv, &v, &n, &err), MD_OK);
    assert_int_equal(n, 3);
    free(v);
}

/* ---- a migration ---- */

static void test_idle_migration_completes_as_the_clock_moves(void **state)
{
    fixture *f = *state;
    migration m;
    md_hv_domain d;
    md_err err;

    assert_int_equal(locate(f, IDLE), MD_HV_LOC_SOURCE);
    start_migration(f, &m, IDLE, false);

    md_hv_job j = job_of(f, IDLE);
    assert_true(j.active);
    assert_int_equal(j.elapsed_ms, 0);
    assert_int_equal(j.iteration, 1);
    assert_int_equal(j.mem_total, 1 * GIB);
    assert_int_equal(j.mem_processed, 0);
    assert_int_equal(j.mem_remaining, 1 * GIB);
    assert_int_equal(j.transfer_rate, 1 * GIB);
    assert_false(j.post_copy);
    assert_int_equal(j.downtime_ms, -1);

    /* A stopped clock moves nothing. */
    md_test_sleep_ms(120);
    assert_int_equal(job_of(f, IDLE).elapsed_ms, 0);

    md_hv_sim_advance(f->hv, 0.25);
    j = job_of(f, IDLE);
    assert_true(j.active);
    assert_int_equal(j.elapsed_ms, 250);
    assert_int_equal(j.mem_processed, 256 * MIB);
    assert_int_equal(j.mem_remaining, 768 * MIB);
    /* The other domains have no job. */
    assert_false(job_of(f, SPARE).active);
    assert_false(atomic_load(&m.returned));
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, IDLE, NULL), 0);

    md_hv_sim_advance(f->hv, 0.25);
    assert_int_equal(job_of(f, IDLE).elapsed_ms, 500);
    assert_int_equal(job_of(f, IDLE).mem_processed, 512 * MIB);

    /* 0.7 s of sending, then the 305 ms stop. */
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(finish_migration(&m), MD_OK);

    md_hv_event ev;
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, IDLE, &ev), 1);
    assert_false(ev.job.active);
    /* 1.005 s, truncated to ms after floating-point sums: 1004 or 1005. */
    assert_in_range(ev.job.elapsed_ms, 1004, 1005);
    assert_int_equal(ev.job.mem_processed, 1 * GIB);
    assert_int_equal(ev.job.mem_remaining, 0);
    assert_int_equal(ev.job.downtime_ms, 305);
    /* Converged in the first pass: no pass ended without completing. */
    assert_int_equal(count_events(f, MD_HV_EV_ITERATION, IDLE, NULL), 0);

    /* The domain now runs on the destination, as with UNDEFINE_SOURCE. */
    assert_int_equal(md_hv_lookup(f->hv, IDLE, &d, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_job_stats(f->hv, IDLE, &j, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(locate(f, IDLE), MD_HV_LOC_DEST);
    md_hv_domain *v = NULL;
    size_t n = 0;
    assert_int_equal(md_hv_list(f->hv, &v, &n, &err), MD_OK);
    assert_int_equal(n, 2);
    free(v);
    /* Moving the clock further delivers nothing more. */
    md_hv_sim_advance(f->hv, 5.0);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, IDLE, NULL), 1);
}

static void test_job_completed_events_can_be_held_and_dropped_while_jobs_end_as_ever(void **state)
{
    fixture *f = *state;
    migration m, n;
    md_hv_event ev;

    /* Held: the job ends and its call returns, the event waits. */
    md_hv_sim_set_completed_events(f->hv, MD_HV_SIM_COMPLETED_HOLD);
    start_migration(f, &m, IDLE, false);
    md_hv_sim_advance(f->hv, 5.0);
    assert_int_equal(finish_migration(&m), MD_OK);
    assert_int_equal(locate(f, IDLE), MD_HV_LOC_DEST);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, IDLE, NULL), 0);
    /* Delivered as it was, downtime included, once delivery is back. */
    md_hv_sim_set_completed_events(f->hv, MD_HV_SIM_COMPLETED_DELIVER);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, IDLE, &ev), 1);
    assert_int_equal(ev.job.downtime_ms, 305);

    /* Dropped: never delivered, not even once delivery is back. */
    md_hv_sim_set_completed_events(f->hv, MD_HV_SIM_COMPLETED_DROP);
    start_migration(f, &n, SPARE, false);
    md_hv_sim_advance(f->hv, 5.0);
    assert_int_equal(finish_migration(&n), MD_OK);
    md_hv_sim_set_completed_events(f->hv, MD_HV_SIM_COMPLETED_DELIVER);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, SPARE, NULL), 0);
}

static void test_events_arrive_on_the_thread_that_moves_the_clock(void **state)
{
    fixture *f = *state;
    migration m;
    md_hv_event ev;

    start_migration(f, &m, BUSY, false);
    md_hv_sim_advance(f->hv, 0.5);
    assert_int_equal(count_events(f, MD_HV_EV_ITERATION, BUSY, NULL), 0);
    /* Pass 1 ends at 0.7 s with far more than 300 ms of data pending. */
    md_hv_sim_advance(f->hv, 0.5);
    assert_int_equal(count_events(f, MD_HV_EV_ITERATION, BUSY, &ev), 1);
    assert_int_equal(ev.iteration, 2);
    assert_string_equal(ev.uuid, BUSY);
    assert_int_equal(job_of(f, BUSY).iteration, 2);

    /* One event per pass, numbered as QEMU counts, however big the step. */
    md_hv_sim_advance(f->hv, 10.0);
    size_t passes = count_events(f, MD_HV_EV_ITERATION, BUSY, &ev);
    assert_true(passes > 2);
    assert_int_equal(ev.iteration, passes + 1);
    assert_int_equal(job_of(f, BUSY).iteration, passes + 1);
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.dirty_rate > 0);
    assert_true(j.mem_processed > 1 * GIB);

    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, NULL), MD_OK);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
    pthread_mutex_lock(&f->lock);
    size_t off = f->off_thread;
    pthread_mutex_unlock(&f->lock);
    assert_int_equal(off, 0);
}

static void test_migration_is_refused_to_itself_nowhere_and_twice(void **state)
{
    fixture *f = *state;
    md_hv_migrate_args a;
    md_err err = { "" };
    migration m;

    memset(&a, 0, sizeof a);
    a.uuid = IDLE;
    a.dest_name = HOST;
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "same host"));
    a.dest_name = "";
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_INVALID);
    a.uuid = GHOST;
    a.dest_name = DEST;
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_NOT_FOUND);

    start_migration(f, &m, IDLE, false);
    a.uuid = IDLE;
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_CONFLICT);
    md_hv_sim_advance(f->hv, 2.0);
    assert_int_equal(finish_migration(&m), MD_OK);
}

static void test_speed_and_downtime_act_on_the_running_job(void **state)
{
    fixture *f = *state;
    migration m;

    /* Without a job there is nothing to set. */
    assert_int_equal(md_hv_set_max_speed(f->hv, IDLE, 100, NULL), MD_ERR_CONFLICT);
    assert_int_equal(md_hv_set_max_downtime(f->hv, IDLE, 500, NULL), MD_ERR_CONFLICT);

    start_migration(f, &m, IDLE, false);
    assert_int_equal(md_hv_set_max_speed(f->hv, IDLE, 256, NULL), MD_OK);
    assert_int_equal(job_of(f, IDLE).transfer_rate, 256 * MIB);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(job_of(f, IDLE).mem_processed, 256 * MIB);
    /* At 256 MiB/s, 1 s of downtime allows 256 MiB: with 768 MiB left of
     * pass 1, the next 2 s bring it to the switch-over test, which passes. */
    assert_int_equal(md_hv_set_max_downtime(f->hv, IDLE, 1000, NULL), MD_OK);
    md_hv_sim_advance(f->hv, 1.9);
    assert_true(job_of(f, IDLE).active);
    md_hv_sim_advance(f->hv, 0.2);
    assert_int_equal(finish_migration(&m), MD_OK);
    md_hv_event ev;
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, IDLE, &ev), 1);
    assert_int_equal(ev.job.downtime_ms, 1005);
}

static void test_migration_starts_at_the_bandwidth_it_is_given(void **state)
{
    fixture *f = *state;
    migration m;

    start_migration_at(f, &m, IDLE, false, 512);
    assert_int_equal(job_of(f, IDLE).transfer_rate, 512 * MIB);
    md_hv_sim_advance(f->hv, 0.5);
    assert_int_equal(job_of(f, IDLE).mem_processed, 256 * MIB);
    /* Unlimited from now on: the link's 1 GiB/s. */
    assert_int_equal(md_hv_set_max_speed(f->hv, IDLE, 0, NULL), MD_OK);
    assert_int_equal(job_of(f, IDLE).transfer_rate, 1 * GIB);
    md_hv_sim_advance(f->hv, 0.25);
    assert_int_equal(job_of(f, IDLE).mem_processed, 512 * MIB);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(finish_migration(&m), MD_OK);
}

/* ---- post-copy ---- */

static void test_post_copy_starts_when_permitted_and_completes(void **state)
{
    fixture *f = *state;
    migration m;
    md_err err = { "" };

    start_migration(f, &m, BUSY, true);
    md_hv_sim_advance(f->hv, 2.0);
    assert_false(job_of(f, BUSY).post_copy);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY, BUSY, NULL), 0);

    assert_int_equal(md_hv_start_post_copy(f->hv, BUSY, &err), MD_OK);
    md_hv_event ev;
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY, BUSY, &ev), 1);
    assert_true(job_of(f, BUSY).post_copy);
    assert_true(job_of(f, BUSY).active);
    /* Once in post-copy, neither a second switch nor an abort is possible. */
    assert_int_equal(md_hv_start_post_copy(f->hv, BUSY, &err), MD_ERR_CONFLICT);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_ERR_CONFLICT);

    /* At most 1 GiB is left, at 1 GiB/s. */
    md_hv_sim_advance(f->hv, 1.5);
    assert_int_equal(finish_migration(&m), MD_OK);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, &ev), 1);
    assert_false(ev.job.active);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY, BUSY, NULL), 1);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_DEST);
}

static void test_post_copy_is_refused_when_not_permitted(void **state)
{
    fixture *f = *state;
    migration m;
    md_err err = { "" };

    /* No job: nothing to switch. */
    assert_int_equal(md_hv_start_post_copy(f->hv, BUSY, &err), MD_ERR_CONFLICT);
    start_migration(f, &m, BUSY, false);
    assert_int_equal(md_hv_start_post_copy(f->hv, BUSY, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "post-copy"));
    md_hv_sim_advance(f->hv, 1.0);
    assert_false(job_of(f, BUSY).post_copy);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY, BUSY, NULL), 0);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_OK);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
}

/* ---- suspend and resume ---- */

static void test_suspend_and_resume_toggle_a_domain_without_a_job(void **state)
{
    fixture *f = *state;
    md_hv_domain d;
    md_err err = { "" };

    assert_int_equal(md_hv_resume(f->hv, SPARE, &err), MD_ERR_CONFLICT);
    assert_int_equal(md_hv_suspend(f->hv, SPARE, &err), MD_OK);
    assert_int_equal(md_hv_lookup(f->hv, SPARE, &d, NULL), MD_OK);
    assert_true(d.paused);
    assert_true(d.active);
    assert_int_equal(md_hv_suspend(f->hv, SPARE, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "already paused"));
    assert_int_equal(md_hv_resume(f->hv, SPARE, &err), MD_OK);
    assert_int_equal(md_hv_lookup(f->hv, SPARE, &d, NULL), MD_OK);
    assert_false(d.paused);
    assert_int_equal(md_hv_suspend(f->hv, GHOST, &err), MD_ERR_NOT_FOUND);
}

static void test_suspending_a_busy_guest_lets_its_migration_complete(void **state)
{
    fixture *f = *state;
    migration m;
    md_hv_domain d;

    start_migration(f, &m, BUSY, false);
    md_hv_sim_advance(f->hv, 5.0);
    assert_true(job_of(f, BUSY).active);

    /* A paused guest dirties nothing: the next passes shrink to nothing. */
    assert_int_equal(md_hv_suspend(f->hv, BUSY, NULL), MD_OK);
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, NULL), MD_OK);
    assert_true(d.paused);
    md_hv_sim_advance(f->hv, 5.0);
    assert_int_equal(finish_migration(&m), MD_OK);
    md_hv_event ev;
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, &ev), 1);
    /* The guest was stopped from the pause to the end: more than a stop's
     * 300 ms, less than the 5 s the clock moved. */
    assert_true(ev.job.downtime_ms > 300);
    assert_true(ev.job.downtime_ms < 5000);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_DEST);
}

static void test_resumed_guest_keeps_migrating_and_dirtying(void **state)
{
    fixture *f = *state;
    migration m;
    md_hv_domain d;

    start_migration(f, &m, BUSY, false);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(md_hv_suspend(f->hv, BUSY, NULL), MD_OK);
    assert_int_equal(md_hv_resume(f->hv, BUSY, NULL), MD_OK);
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, NULL), MD_OK);
    assert_false(d.paused);
    md_hv_sim_advance(f->hv, 5.0);
    assert_true(job_of(f, BUSY).active);
    assert_false(atomic_load(&m.returned));
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, NULL), MD_OK);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
}

/* ---- abort and release ---- */

static void test_abort_ends_the_job_and_leaves_the_domain_here(void **state)
{
    fixture *f = *state;
    migration m;
    md_hv_domain d;
    md_err err = { "" };

    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_ERR_CONFLICT);
    start_migration(f, &m, BUSY, false);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_SOURCE);

    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_OK);
    /* The abort's caller gets the completion event, on its own thread. */
    md_hv_event ev;
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, &ev), 1);
    assert_false(ev.job.active);
    assert_int_equal(ev.job.downtime_ms, -1);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(m.err.msg, "canceled"));

    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, &err), MD_OK);
    assert_true(d.active);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_SOURCE);
    assert_false(job_of(f, BUSY).active);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_ERR_CONFLICT);

    /* A new migration of the same domain starts from scratch. */
    start_migration(f, &m, BUSY, false);
    assert_int_equal(job_of(f, BUSY).elapsed_ms, 0);
    assert_int_equal(job_of(f, BUSY).iteration, 1);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_OK);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
}

static void test_release_waiters_returns_migrate_but_the_job_goes_on(void **state)
{
    fixture *f = *state;
    migration m;

    start_migration(f, &m, BUSY, false);
    md_hv_sim_advance(f->hv, 1.0);
    md_hv_release_waiters(f->hv);
    assert_int_equal(finish_migration(&m), MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(m.err.msg, "goes on"));

    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_int_equal(j.elapsed_ms, 1000);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(job_of(f, BUSY).elapsed_ms, 2000);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, NULL), 0);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, NULL), MD_OK);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, NULL), 1);
}

static void test_locate_follows_the_domain(void **state)
{
    fixture *f = *state;
    migration m;

    assert_int_equal(locate(f, IDLE), MD_HV_LOC_SOURCE);
    assert_int_equal(locate(f, GHOST), MD_HV_LOC_NOWHERE);
    start_migration(f, &m, IDLE, false);
    /* During the migration the guest still runs here. */
    md_hv_sim_advance(f->hv, 0.5);
    assert_int_equal(locate(f, IDLE), MD_HV_LOC_SOURCE);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(finish_migration(&m), MD_OK);
    assert_int_equal(locate(f, IDLE), MD_HV_LOC_DEST);
    assert_int_equal(locate(f, SPARE), MD_HV_LOC_SOURCE);
}

static void test_a_lost_connection_fails_every_call_until_it_is_back(void **state)
{
    fixture *f = *state;
    migration m;
    md_hv_domain d;
    md_hv_domain *v = NULL;
    size_t n = 0;
    md_hv_job j;
    md_hv_location loc;
    md_err err;

    assert_true(md_hv_connected(f->hv, &err));
    start_migration(f, &m, BUSY, false);
    md_hv_sim_advance(f->hv, 1.0);
    md_hv_sim_set_connected(f->hv, false);
    /* The blocked call lost its connection too; the job goes on. */
    assert_int_equal(finish_migration(&m), MD_ERR_UNAVAILABLE);
    assert_false(md_hv_connected(f->hv, &err));
    assert_non_null(strstr(err.msg, "does not answer"));
    assert_int_equal(md_hv_lookup(f->hv, IDLE, &d, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_hv_list(f->hv, &v, &n, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_hv_job_stats(f->hv, BUSY, &j, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_hv_set_max_downtime(f->hv, BUSY, 500, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_hv_suspend(f->hv, IDLE, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_hv_locate(f->hv, IDLE, "qemu+tcp://" DEST "/system", &loc, &err),
                     MD_ERR_UNAVAILABLE);
    md_hv_migrate_args a = { .uuid = IDLE, .dest_name = DEST, .dest_uri = "x" };
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(count_events(f, MD_HV_EV_CONNECTION_LOST, "", NULL), 1);
    /* Taking it down again changes nothing and tells nothing. */
    md_hv_sim_set_connected(f->hv, false);
    assert_int_equal(count_events(f, MD_HV_EV_CONNECTION_LOST, "", NULL), 1);

    md_hv_sim_set_connected(f->hv, true);
    assert_int_equal(count_events(f, MD_HV_EV_RECONNECTED, "", NULL), 1);
    assert_true(md_hv_connected(f->hv, &err));
    /* The job went on meanwhile, and can be seen and steered again. */
    assert_true(job_of(f, BUSY).active);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_OK);
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, &err), MD_OK);
}

/* ---- post-copy faults and recovery ---- */

/* Resumes uuid's failed post-copy job and lets it run to its end: the
 * resume returns MD_OK and the domain is on the destination. */
static void resume_to_the_destination(fixture *f, migration *r, const char *uuid)
{
    start_resume(f, r, uuid);
    md_hv_sim_advance(f->hv, 1.5);
    assert_int_equal(finish_migration(r), MD_OK);
    assert_int_equal(locate(f, uuid), MD_HV_LOC_DEST);
}

static void test_break_fails_the_call_but_keeps_the_job_where_it_stopped(void **state)
{
    fixture *f = *state;
    migration m;
    md_hv_domain d;
    md_hv_event ev;

    start_post_copy_migration(f, &m);
    md_hv_job before = job_of(f, BUSY);
    assert_true(md_hv_sim_break_postcopy(f->hv, BUSY));

    /* The event comes at once, on the thread that broke the link. */
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, &ev), 1);
    assert_true(ev.job.active);
    assert_true(ev.job.post_copy);
    assert_true(ev.job.post_copy_failed);
    pthread_mutex_lock(&f->lock);
    size_t off = f->off_thread;
    pthread_mutex_unlock(&f->lock);
    assert_int_equal(off, 0);

    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
    assert_string_equal(m.err.msg,
                        "operation failed: job 'migration out' failed in post-copy phase");

    /* The job stays, failed, and nothing moves however long it waits; only
     * its age grows. */
    md_hv_sim_advance(f->hv, 5.0);
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.post_copy);
    assert_true(j.post_copy_failed);
    assert_false(j.ending);
    assert_int_equal(j.transfer_rate, 0);
    assert_int_equal(j.mem_processed, before.mem_processed);
    assert_int_equal(j.mem_remaining, before.mem_remaining);
    assert_in_range(j.elapsed_ms, before.elapsed_ms + 4999, before.elapsed_ms + 5001);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, NULL), 0);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 1);

    /* Nothing moved: the domain is still here. */
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_SOURCE);
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, NULL), MD_OK);
    assert_true(d.active);

    /* A failed post-copy cannot fail again, nor be cancelled. */
    assert_false(md_hv_sim_break_postcopy(f->hv, BUSY));
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 1);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, NULL), MD_ERR_CONFLICT);
    assert_true(job_of(f, BUSY).post_copy_failed);
}

static void test_break_and_stall_need_a_job_in_post_copy(void **state)
{
    fixture *f = *state;
    migration m;

    /* No job, or no such domain. */
    assert_false(md_hv_sim_break_postcopy(f->hv, BUSY));
    assert_false(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    assert_false(md_hv_sim_break_postcopy(f->hv, GHOST));
    assert_false(md_hv_sim_stall_postcopy(f->hv, GHOST, true));

    /* Pre-copy, though post-copy is permitted: nothing happens to it. */
    start_migration(f, &m, BUSY, true);
    md_hv_sim_advance(f->hv, 1.0);
    assert_false(md_hv_sim_break_postcopy(f->hv, BUSY));
    assert_false(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    md_hv_job before = job_of(f, BUSY);
    md_hv_sim_advance(f->hv, 1.0);
    md_hv_job j = job_of(f, BUSY);
    assert_false(j.post_copy_failed);
    assert_true(j.mem_processed > before.mem_processed);
    assert_false(atomic_load(&m.returned));
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 0);

    /* Once in post-copy, both act; then the job is over and neither does. */
    assert_int_equal(md_hv_start_post_copy(f->hv, BUSY, NULL), MD_OK);
    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, false));
    md_hv_sim_advance(f->hv, 1.5);
    assert_int_equal(finish_migration(&m), MD_OK);
    assert_false(md_hv_sim_break_postcopy(f->hv, BUSY));
    assert_false(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 0);
}

static void test_resume_continues_post_copy_from_where_it_stopped_and_completes(void **state)
{
    fixture *f = *state;
    migration m, r;
    md_hv_domain d;
    md_hv_job j;
    md_err err;
    md_hv_event ev;

    start_post_copy_migration(f, &m);
    break_and_check(f, &m);
    md_hv_job at_break = job_of(f, BUSY);
    md_hv_sim_advance(f->hv, 3.0);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY, BUSY, NULL), 1);

    start_resume(f, &r, BUSY);
    j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.post_copy);
    assert_false(j.post_copy_failed);
    assert_int_equal(j.transfer_rate, 1 * GIB);

    /* 0.1 s more at 1 GiB/s: 102.4 MiB more, counted from the break, and
     * libvirt's SUSPENDED/POSTCOPY once more. */
    md_hv_sim_advance(f->hv, 0.1);
    j = job_of(f, BUSY);
    assert_in_range(j.mem_processed - at_break.mem_processed, 102 * MIB, 103 * MIB);
    assert_in_range(at_break.mem_remaining - j.mem_remaining, 102 * MIB, 103 * MIB);
    assert_in_range(j.elapsed_ms, at_break.elapsed_ms + 3099, at_break.elapsed_ms + 3101);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY, BUSY, &ev), 2);
    assert_false(atomic_load(&r.returned));

    /* It ends as any post-copy: the domain runs at the destination only. */
    md_hv_sim_advance(f->hv, 1.5);
    assert_int_equal(finish_migration(&r), MD_OK);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, &ev), 1);
    assert_false(ev.job.active);
    assert_false(ev.job.post_copy_failed);
    assert_int_equal(ev.job.mem_remaining, 0);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_DEST);
    assert_int_equal(md_hv_lookup(f->hv, BUSY, &d, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_job_stats(f->hv, BUSY, &j, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 1);
}

static void test_resume_while_the_destination_is_unreachable_fails_at_once(void **state)
{
    fixture *f = *state;
    migration m, r;
    md_hv_migrate_args a = resume_args(BUSY);
    md_err err = { "" };

    start_post_copy_migration(f, &m);
    break_and_check(f, &m);

    md_hv_sim_set_dest_reachable(f->hv, false);
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_HYPERVISOR);
    assert_string_equal(err.msg, "unable to connect to server at 'node-b:16509': No route to host");
    /* The job is as it was: failed, waiting, and can be tried again. */
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.post_copy_failed);
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_HYPERVISOR);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_SOURCE);

    md_hv_sim_set_dest_reachable(f->hv, true);
    resume_to_the_destination(f, &r, BUSY);
}

static void test_resume_of_a_job_that_has_not_failed_is_a_conflict(void **state)
{
    fixture *f = *state;
    migration m, r;
    md_hv_migrate_args a = resume_args(BUSY);
    md_err err = { "" };

    /* No job at all. */
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "is not being migrated"));

    /* The first call still owns the job. */
    start_migration(f, &m, BUSY, true);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "actively monitored by another thread"));

    /* Released (as by a daemon that stopped): still pre-copy. */
    md_hv_release_waiters(f->hv);
    assert_int_equal(finish_migration(&m), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "not in post-copy phase"));

    /* In post-copy, moving or stalled, but not failed. */
    assert_int_equal(md_hv_start_post_copy(f->hv, BUSY, NULL), MD_OK);
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "has not failed"));
    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "has not failed"));

    /* A resume without the post-copy flag is refused whatever the job. */
    a.post_copy = false;
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "requires post-copy"));

    /* None of this touched the job: it completes once resumed properly. */
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.post_copy);
    assert_false(j.post_copy_failed);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, true, &err), MD_OK);
    resume_to_the_destination(f, &r, BUSY);
}

static void test_a_resumed_post_copy_can_break_and_be_resumed_again(void **state)
{
    fixture *f = *state;
    migration m, r;

    start_post_copy_migration(f, &m);
    break_and_check(f, &m);
    start_resume(f, &r, BUSY);
    md_hv_sim_advance(f->hv, 0.1);
    assert_true(md_hv_sim_break_postcopy(f->hv, BUSY));
    assert_int_equal(finish_migration(&r), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(r.err.msg, "failed in post-copy phase"));
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 2);
    assert_true(job_of(f, BUSY).post_copy_failed);

    start_resume(f, &r, BUSY);
    md_hv_sim_advance(f->hv, 1.5);
    assert_int_equal(finish_migration(&r), MD_OK);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY, BUSY, NULL), 3);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, NULL), 1);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_DEST);
}

static void test_stalled_post_copy_holds_until_unstalled(void **state)
{
    fixture *f = *state;
    migration m;

    start_post_copy_migration(f, &m);
    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    md_hv_job before = job_of(f, BUSY);
    md_hv_sim_advance(f->hv, 10.0);

    /* No progress and no failure: the call waits, the job runs on paper. */
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.post_copy);
    assert_false(j.post_copy_failed);
    assert_int_equal(j.transfer_rate, 0);
    assert_int_equal(j.mem_processed, before.mem_processed);
    assert_int_equal(j.mem_remaining, before.mem_remaining);
    assert_in_range(j.elapsed_ms, before.elapsed_ms + 9999, before.elapsed_ms + 10001);
    assert_false(atomic_load(&m.returned));
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 0);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, NULL), 0);

    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, false));
    md_hv_sim_advance(f->hv, 0.1);
    assert_in_range(job_of(f, BUSY).mem_processed - before.mem_processed, 102 * MIB, 103 * MIB);
    md_hv_sim_advance(f->hv, 1.5);
    assert_int_equal(finish_migration(&m), MD_OK);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_DEST);
}

static void test_abort_post_copy_turns_a_stalled_job_into_a_failed_one(void **state)
{
    fixture *f = *state;
    migration m, r;
    md_hv_event ev;
    md_err err = { "" };

    start_post_copy_migration(f, &m);
    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    md_hv_sim_advance(f->hv, 5.0);
    md_hv_job before = job_of(f, BUSY);

    assert_int_equal(md_hv_abort_job(f->hv, BUSY, true, &err), MD_OK);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, &ev), 1);
    assert_true(ev.job.post_copy_failed);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(m.err.msg, "failed in post-copy phase"));
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_true(j.post_copy_failed);
    assert_int_equal(j.mem_processed, before.mem_processed);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_SOURCE);

    /* Failed already: a second pause is refused, the job unchanged. */
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, true, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "migrate-pause"));
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 1);

    /* The pause ended the stall: the resumed stream moves. */
    start_resume(f, &r, BUSY);
    md_hv_sim_advance(f->hv, 0.1);
    assert_in_range(job_of(f, BUSY).mem_processed - before.mem_processed, 102 * MIB, 103 * MIB);
    md_hv_sim_advance(f->hv, 1.5);
    assert_int_equal(finish_migration(&r), MD_OK);
    assert_int_equal(locate(f, BUSY), MD_HV_LOC_DEST);
}

static void test_abort_post_copy_is_refused_outside_post_copy(void **state)
{
    fixture *f = *state;
    migration m;
    md_err err = { "" };

    assert_int_equal(md_hv_abort_job(f->hv, BUSY, true, &err), MD_ERR_CONFLICT);
    assert_int_equal(md_hv_abort_job(f->hv, GHOST, true, &err), MD_ERR_NOT_FOUND);

    /* A pre-copy job is neither paused nor cancelled by it. */
    start_migration(f, &m, BUSY, true);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, true, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "not outgoing migration in post-copy mode"));
    md_hv_job j = job_of(f, BUSY);
    assert_true(j.active);
    assert_false(j.post_copy_failed);
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, BUSY, NULL), 0);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 0);
    assert_false(atomic_load(&m.returned));
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, false, &err), MD_OK);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
}

static void test_unreachable_destination_holds_post_copy_and_the_failed_call(void **state)
{
    fixture *f = *state;
    migration m, r, idle;
    md_hv_migrate_args a = resume_args(BUSY);
    md_err err = { "" };

    start_post_copy_migration(f, &m);
    start_migration(f, &idle, IDLE, false);
    md_hv_sim_set_dest_reachable(f->hv, false);

    /* A new migration cannot start; a post-copy one stops moving, a
     * pre-copy one is not modelled as partitioned and goes on. */
    a.uuid = SPARE;
    a.resume = false;
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(err.msg, "unable to connect to server"));
    assert_false(job_of(f, SPARE).active);
    md_hv_job before = job_of(f, BUSY);
    md_hv_sim_advance(f->hv, 2.0);
    md_hv_job j = job_of(f, BUSY);
    assert_int_equal(j.mem_processed, before.mem_processed);
    assert_false(j.post_copy_failed);
    assert_int_equal(j.transfer_rate, 0);
    assert_int_equal(finish_migration(&idle), MD_OK);

    /* Forced into the failed state, as after a long partition: the event
     * and the job say so now, but the first call keeps the job until the
     * destination answers again, so a resume is refused until then. */
    assert_int_equal(md_hv_abort_job(f->hv, BUSY, true, &err), MD_OK);
    assert_int_equal(count_events(f, MD_HV_EV_POSTCOPY_FAILED, BUSY, NULL), 1);
    assert_true(job_of(f, BUSY).post_copy_failed);
    a = resume_args(BUSY);
    assert_int_equal(md_hv_migrate(f->hv, &a, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "actively monitored by another thread"));
    assert_false(atomic_load(&m.returned));

    md_hv_sim_set_dest_reachable(f->hv, true);
    assert_int_equal(finish_migration(&m), MD_ERR_HYPERVISOR);
    assert_non_null(strstr(m.err.msg, "failed in post-copy phase"));
    resume_to_the_destination(f, &r, BUSY);
}

/* ---- a black-holed destination ---- */

typedef struct locate_call {
    fixture *f;
    const char *uri;
    pthread_t thread;
    atomic_bool returned;
    md_status st;
    md_hv_location loc;
    md_err err;
} locate_call;

static void *locate_main(void *arg)
{
    locate_call *c = arg;

    c->st = md_hv_locate(c->f->hv, GHOST, c->uri, &c->loc, &c->err);
    atomic_store(&c->returned, true);
    return NULL;
}

/* A locate that must ask a black-holed destination waits, as libvirt's
 * reachability check does, and goes on as soon as the fault clears; a
 * release (the engine's stop) ends the wait; one that need not ask (the
 * domain is here) and one to another destination never wait. */
static void test_black_holed_destination_holds_locate_until_cleared_or_released(void **state)
{
    fixture *f = *state;
    md_hv_location loc;
    md_err err;
    locate_call c = { .f = f, .uri = "qemu+tcp://10.0.0.3/system" };

    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);
    assert_int_equal(md_hv_locate(f->hv, IDLE, c.uri, &loc, &err), MD_OK);
    assert_int_equal(loc, MD_HV_LOC_SOURCE);
    assert_int_equal(md_hv_locate(f->hv, GHOST, "qemu+tcp://10.0.0.2/system", &loc, &err), MD_OK);
    assert_int_equal(loc, MD_HV_LOC_NOWHERE);

    assert_int_equal(pthread_create(&c.thread, NULL, locate_main, &c), 0);
    md_test_sleep_ms(300);
    assert_false(atomic_load(&c.returned));
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", false);
    assert_int_equal(pthread_join(c.thread, NULL), 0);
    assert_int_equal(c.st, MD_OK);
    assert_int_equal(c.loc, MD_HV_LOC_NOWHERE);

    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);
    atomic_store(&c.returned, false);
    assert_int_equal(pthread_create(&c.thread, NULL, locate_main, &c), 0);
    md_test_sleep_ms(300);
    assert_false(atomic_load(&c.returned));
    md_hv_release_waiters(f->hv);
    assert_int_equal(pthread_join(c.thread, NULL), 0);
    assert_int_equal(c.st, MD_ERR_UNAVAILABLE);
    assert_int_equal(c.loc, MD_HV_LOC_UNKNOWN);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", false);
}

/* Asserts that a call to a black-holed destination, begun at t0 (ms of
 * md_test_now_ms), waited for the boundary's bound and said why in err. */
static void assert_gave_up_at_the_peer_timeout(int64_t t0, const md_err *err)
{
    int64_t took = md_test_now_ms() - t0;

    assert_non_null(strstr(err->msg, "does not answer"));
    assert_true(took >= MD_HV_PEER_TIMEOUT_MS - 100);
    assert_true(took < MD_HV_PEER_TIMEOUT_MS + 10000);
}

/* Left alone, the wait ends at the boundary's bound, with its message. */
static void test_black_holed_destination_gives_up_at_the_peer_timeout(void **state)
{
    fixture *f = *state;
    md_hv_location loc;
    md_err err;

    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);
    int64_t t0 = md_test_now_ms();
    assert_int_equal(md_hv_locate(f->hv, GHOST, "qemu+tcp://10.0.0.3/system", &loc, &err),
                     MD_ERR_UNAVAILABLE);
    assert_gave_up_at_the_peer_timeout(t0, &err);
    assert_int_equal(loc, MD_HV_LOC_UNKNOWN);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", false);
}

/* ---- links shared by the migrations running at once ---- */

/* Moves the clock in 0.1 s steps until each of the n migrations has
 * returned (bounded: a migration that never ends fails the test), and
 * returns what each returned. */
static void run_until_done(fixture *f, migration *m, size_t n)
{
    for (int step = 0; step < 1000; step++) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all &= count_events(f, MD_HV_EV_JOB_COMPLETED, m[i].args.uuid, NULL) > 0;
        if (all)
            break;
        md_hv_sim_advance(f->hv, 0.1);
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(finish_migration(&m[i]), MD_OK);
}

/* How long uuid's completed job took, in simulated ms. */
static int64_t took_ms(fixture *f, const char *uuid)
{
    md_hv_event ev;
    assert_int_equal(count_events(f, MD_HV_EV_JOB_COMPLETED, uuid, &ev), 1);
    return ev.job.elapsed_ms;
}

/* One migration of a run_together() batch: uuid to dest, which must take
 * lo..hi simulated ms. */
typedef struct timed {
    const char *uuid, *dest;
    int64_t lo, hi;
} timed;

/* Starts the n migrations of want at once, in order, runs them to their
 * end and asserts how long each took. */
static void run_together(fixture *f, const timed *want, size_t n)
{
    migration m[MAX_MIGRATIONS];

    assert_true(n <= MAX_MIGRATIONS);
    for (size_t i = 0; i < n; i++)
        start_migration_to(f, &m[i], want[i].uuid, want[i].dest, false, 0);
    run_until_done(f, m, n);
    for (size_t i = 0; i < n; i++)
        assert_in_range(took_ms(f, want[i].uuid), want[i].lo, want[i].hi);
}

#define RUN_TOGETHER(f, ...)                                    \
    do {                                                        \
        const timed want_[] = { __VA_ARGS__ };                  \
        run_together((f), want_, sizeof want_ / sizeof *want_); \
    } while (0)

/* Alone, an idle 1 GiB guest takes 1.005 s over the 1 GiB/s link (the
 * header's numbers). Two at once to one destination each get 512 MiB/s:
 * 870.4 MiB sent in 1.7 s, then the last 153.6 MiB in the 300 ms stop, plus
 * the 5 ms switch-over: 2.005 s each, twice as long. */
static void test_two_migrations_to_one_destination_share_its_link(void **state)
{
    fixture *f = *state;
    migration m[2];

    RUN_TOGETHER(f, { TWIN1, DEST, 1004, 1005 });

    start_migration(f, &m[0], TWIN2, false);
    start_migration(f, &m[1], IDLE, false);
    /* Each job reads its share from the first step on. */
    md_hv_sim_advance(f->hv, 0.1);
    assert_int_equal(job_of(f, TWIN2).transfer_rate, 512 * MIB);
    assert_int_equal(job_of(f, IDLE).transfer_rate, 512 * MIB);
    run_until_done(f, m, 2);
    assert_in_range(took_ms(f, TWIN2), 2004, 2006);
    assert_in_range(took_ms(f, IDLE), 2004, 2006);
}

/* Links of different destinations do not meet. */
static void test_migrations_to_two_destinations_do_not_share(void **state)
{
    RUN_TOGETHER(*state, { TWIN1, DEST, 1004, 1005 }, { TWIN2, OTHER, 1004, 1005 });
}

/* A job that ends hands its share back: the 2 GiB guest sends at 512 MiB/s
 * while the 1 GiB one runs (about 2 s, when it has sent about 1 GiB), then
 * at the whole 1 GiB/s: about 3 s in all, where it would take 4 s at half
 * the link all the way. (The other's final stop falls inside one clock
 * step of the simulator, whose shares change only between steps: hence
 * "about".) */
static void test_a_job_that_ends_gives_its_share_back(void **state)
{
    RUN_TOGETHER(*state, { IDLE, DEST, 2004, 2006 }, { SPARE, DEST, 2700, 3200 });
}

/* A peer's bandwidth_mibps is its destination's link, whether the URI names
 * the peer by its address (as the engine builds it) or by its name: at
 * 256 MiB/s the idle guest sends 947.2 MiB in 3.7 s and stops for the last
 * 76.8 MiB: 4.005 s. A peer without one gets simulator.link_mibps. */
static void test_a_peers_bandwidth_is_its_destinations_link(void **state)
{
    fixture *f = *state;
    migration m;

    start_migration_to(f, &m, TWIN1, PEER_ADDR, false, 0);
    assert_int_equal(job_of(f, TWIN1).transfer_rate, 256 * MIB);
    run_until_done(f, &m, 1);
    assert_in_range(took_ms(f, TWIN1), 4004, 4006);

    RUN_TOGETHER(f, { TWIN2, PEER, 4004, 4006 }, { IDLE, "10.0.0.13", 1004, 1005 });
}

/* A post-copy job held by a fault moves nothing, so it takes no share: the
 * other job to the same destination gets the whole link meanwhile. */
static void test_a_held_job_leaves_the_link_to_the_others(void **state)
{
    fixture *f = *state;
    migration m[2];

    start_post_copy_migration(f, &m[0]);
    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, true));
    start_migration(f, &m[1], IDLE, false);
    md_hv_sim_advance(f->hv, 0.1);
    assert_int_equal(job_of(f, IDLE).transfer_rate, 1 * GIB);
    run_until_done(f, &m[1], 1);
    assert_in_range(took_ms(f, IDLE), 1004, 1005);
    assert_true(md_hv_sim_stall_postcopy(f->hv, BUSY, false));
    run_until_done(f, &m[0], 1);
}

/* ---- dirty rates ---- */

static md_hv_dirty_rate rate_of(fixture *f, const char *uuid)
{
    md_hv_dirty_rate r = { .measured = true, .bytes_per_s = 1 };
    md_err err;
    if (md_hv_dirty_rate_read(f->hv, uuid, &r, &err) != MD_OK)
        fail_msg("dirty rate of %s: %s", uuid, err.msg);
    return r;
}

/* Asserts that uuid's dirty rate is measured, at bytes_per_s. */
static void assert_rate(fixture *f, const char *uuid, uint64_t bytes_per_s)
{
    md_hv_dirty_rate r = rate_of(f, uuid);

    assert_true(r.measured);
    assert_int_equal(r.bytes_per_s, bytes_per_s);
}

/* Known once the window has passed on the simulated clock, as QEMU's page
 * sampling would see it: distinct pages, so a guest writing 4 GiB/s over
 * 1 GiB reads 1 GiB/s over 1 s and 512 MiB/s over 2 s; one writing
 * 100 MiB/s reads that; an idle one 0. */
static void test_dirty_rate_is_measured_over_the_window(void **state)
{
    fixture *f = *state;
    md_err err;

    assert_int_equal(md_hv_dirty_rate_start(f->hv, BUSY, 1, &err), MD_OK);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, SLOW, 2, &err), MD_OK);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, IDLE, 1, &err), MD_OK);
    md_hv_dirty_rate r = rate_of(f, BUSY);
    assert_false(r.measured);
    assert_int_equal(r.bytes_per_s, 0);
    md_hv_sim_advance(f->hv, 0.5);
    assert_false(rate_of(f, BUSY).measured);
    md_hv_sim_advance(f->hv, 0.5);
    assert_rate(f, BUSY, 1 * GIB);
    assert_rate(f, IDLE, 0);
    assert_false(rate_of(f, SLOW).measured);
    md_hv_sim_advance(f->hv, 1.0);
    assert_rate(f, SLOW, 100 * MIB);

    /* A new window replaces the result. */
    assert_int_equal(md_hv_dirty_rate_start(f->hv, BUSY, 2, &err), MD_OK);
    assert_false(rate_of(f, BUSY).measured);
    md_hv_sim_advance(f->hv, 2.0);
    assert_rate(f, BUSY, 512 * MIB);
}

/* The errors hv.h promises, and a domain that left. */
static void test_dirty_rate_refusals(void **state)
{
    fixture *f = *state;
    md_hv_dirty_rate r;
    md_err err;
    migration m;

    assert_int_equal(md_hv_dirty_rate_read(f->hv, BUSY, &r, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "no dirty-rate calculation"));
    assert_int_equal(md_hv_dirty_rate_start(f->hv, GHOST, 1, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_dirty_rate_read(f->hv, GHOST, &r, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, BUSY, 0, &err), MD_ERR_INVALID);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, BUSY, 61, &err), MD_ERR_INVALID);

    assert_int_equal(md_hv_dirty_rate_start(f->hv, BUSY, 5, &err), MD_OK);
    md_hv_sim_advance(f->hv, 1.0);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, BUSY, 1, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "already being measured"));

    md_hv_sim_set_connected(f->hv, false);
    assert_int_equal(md_hv_dirty_rate_read(f->hv, BUSY, &r, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, IDLE, 1, &err), MD_ERR_UNAVAILABLE);
    md_hv_sim_set_connected(f->hv, true);

    /* Migrated away: no longer here to measure. */
    start_migration(f, &m, IDLE, false);
    run_until_done(f, &m, 1);
    assert_int_equal(md_hv_dirty_rate_start(f->hv, IDLE, 1, &err), MD_ERR_NOT_FOUND);
}

/* ---- free memory of the destinations ---- */

static uint64_t free_of(fixture *f, const char *host)
{
    char uri[128];
    uint64_t bytes = 1;
    md_err err;

    snprintf(uri, sizeof uri, "qemu+tcp://%s/system", host);
    if (md_hv_free_memory(f->hv, uri, &bytes, &err) != MD_OK)
        fail_msg("free memory of %s: %s", host, err.msg);
    return bytes;
}

/* simulator.free_mib (1 TiB by default: "unknown, plenty") unless a test
 * sets it; each guest migrated there takes its RAM from it, on that host
 * only, down to 0. */
static void test_free_memory_falls_as_guests_arrive(void **state)
{
    fixture *f = *state;
    migration m[2];

    assert_int_equal(f->cfg->simulator.free_mib, 1048576);
    assert_int_equal(free_of(f, DEST), 1024 * GIB);
    assert_true(md_hv_sim_set_free_memory(f->hv, "NODE-B", 8 * GIB));
    assert_int_equal(free_of(f, DEST), 8 * GIB);

    start_migration(f, &m[0], TWIN1, false);
    /* A migration under way takes nothing yet (libvirt's free memory
     * counts the destination's QEMU as it fills; the plan needs it before). */
    assert_int_equal(free_of(f, DEST), 8 * GIB);
    run_until_done(f, m, 1);
    assert_int_equal(free_of(f, DEST), 7 * GIB);
    assert_int_equal(free_of(f, OTHER), 1024 * GIB);

    /* An aborted migration leaves the guest here. */
    start_migration(f, &m[0], TWIN2, false);
    assert_int_equal(md_hv_abort_job(f->hv, TWIN2, false, NULL), MD_OK);
    assert_int_equal(finish_migration(&m[0]), MD_ERR_HYPERVISOR);
    assert_int_equal(free_of(f, DEST), 7 * GIB);

    /* Fuller than the guests that come: 0, not a wrapped number. */
    assert_true(md_hv_sim_set_free_memory(f->hv, DEST, 512 * MIB));
    assert_int_equal(free_of(f, DEST), 0);
}

/* Asked of a black-holed destination, it waits for the boundary's bound
 * and fails as locate() does; this node's simulated libvirtd being down
 * does not matter (the question goes to the destination). */
static void test_free_memory_of_a_black_holed_destination_is_unavailable(void **state)
{
    fixture *f = *state;
    uint64_t bytes = 1;
    md_err err;

    md_hv_sim_set_connected(f->hv, false);
    assert_int_equal(free_of(f, DEST), 1024 * GIB);
    md_hv_sim_set_connected(f->hv, true);
    assert_int_equal(md_hv_free_memory(f->hv, "", &bytes, &err), MD_ERR_INVALID);

    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", true);
    int64_t t0 = md_test_now_ms();
    assert_int_equal(md_hv_free_memory(f->hv, "qemu+tcp://10.0.0.3/system", &bytes, &err),
                     MD_ERR_UNAVAILABLE);
    assert_gave_up_at_the_peer_timeout(t0, &err);
    assert_int_equal(bytes, 0);
    /* Others answer at once. */
    assert_int_equal(free_of(f, DEST), 1024 * GIB);
    md_hv_sim_set_dest_blackholed(f->hv, "10.0.0.3", false);
    assert_int_equal(free_of(f, "10.0.0.3"), 1024 * GIB);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
#define TL(t) cmocka_unit_test_setup_teardown(t, setup_links, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_black_holed_destination_holds_locate_until_cleared_or_released),
        T(test_black_holed_destination_gives_up_at_the_peer_timeout),
        cmocka_unit_test_setup_teardown(test_lookup_finds_a_domain_by_name_and_by_uuid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lookup_of_an_unknown_domain_is_not_found_with_its_name,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_returns_the_domains_on_this_node_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_job_completed_events_can_be_held_and_dropped_while_jobs_end_as_ever, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_idle_migration_completes_as_the_clock_moves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_events_arrive_on_the_thread_that_moves_the_clock,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_is_refused_to_itself_nowhere_and_twice,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_speed_and_downtime_act_on_the_running_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_starts_at_the_bandwidth_it_is_given, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_post_copy_starts_when_permitted_and_completes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_post_copy_is_refused_when_not_permitted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_suspend_and_resume_toggle_a_domain_without_a_job,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspending_a_busy_guest_lets_its_migration_complete,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumed_guest_keeps_migrating_and_dirtying, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_abort_ends_the_job_and_leaves_the_domain_here, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_release_waiters_returns_migrate_but_the_job_goes_on,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_locate_follows_the_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_lost_connection_fails_every_call_until_it_is_back,
                                        setup, teardown),
        T(test_break_fails_the_call_but_keeps_the_job_where_it_stopped),
        T(test_break_and_stall_need_a_job_in_post_copy),
        T(test_resume_continues_post_copy_from_where_it_stopped_and_completes),
        T(test_resume_while_the_destination_is_unreachable_fails_at_once),
        T(test_resume_of_a_job_that_has_not_failed_is_a_conflict),
        T(test_a_resumed_post_copy_can_break_and_be_resumed_again),
        T(test_stalled_post_copy_holds_until_unstalled),
        T(test_abort_post_copy_turns_a_stalled_job_into_a_failed_one),
        T(test_abort_post_copy_is_refused_outside_post_copy),
        T(test_unreachable_destination_holds_post_copy_and_the_failed_call),
        TL(test_two_migrations_to_one_destination_share_its_link),
        TL(test_migrations_to_two_destinations_do_not_share),
        TL(test_a_job_that_ends_gives_its_share_back),
        TL(test_a_peers_bandwidth_is_its_destinations_link),
        TL(test_a_held_job_leaves_the_link_to_the_others),
        TL(test_dirty_rate_is_measured_over_the_window),
        TL(test_dirty_rate_refusals),
        TL(test_free_memory_falls_as_guests_arrive),
        TL(test_free_memory_of_a_black_holed_destination_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
