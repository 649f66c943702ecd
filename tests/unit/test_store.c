/* test_store.c - behaviour of the SQLite store (service/store.c).
 *
 * Every test gets a fresh directory under /tmp, removed afterwards, and a
 * database path inside it. The test includes <sqlite3.h> itself only to
 * make files the store must refuse (another application's database, a newer
 * schema) and to look at the file from outside; the daemon's code never
 * does anything like it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/store.h"
#include "tests/support/tmpstore.h"

/* store.c's constants, written down here rather than shared: a change to
 * either is a change of the file format, and this test should notice. */
#define APP_ID 0x4D494744
#define SCHEMA_VERSION 3

typedef md_test_tmpstore fixture;

/* A queued record with the given uuid (any string up to 36 characters) and
 * times; everything else at md_migration_init()'s values. */
static md_migration record(const char *uuid, int64_t created_at, int64_t updated_at)
{
    md_migration m;

    md_migration_init(&m);
    strcpy(m.uuid, uuid);
    strcpy(m.instance_uuid, "11111111-2222-3333-4444-555555555555");
    strcpy(m.source_compute, "node-a");
    strcpy(m.dest_compute, "node-b");
    m.created_at = created_at;
    m.updated_at = updated_at;
    return m;
}

static void insert_ok(md_store *st, md_migration *m)
{
    md_err err = { "" };

    if (md_store_insert(st, m, &err) != MD_OK)
        fail_msg("md_store_insert %s: %s", m->uuid, err.msg);
}

static void assert_migration_equal(const md_migration *a, const md_migration *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->uuid, b->uuid);
    assert_int_equal(a->state, b->state);
    assert_string_equal(a->migration_type, b->migration_type);
    assert_string_equal(a->instance_uuid, b->instance_uuid);
    assert_string_equal(a->instance_name, b->instance_name);
    assert_string_equal(a->source_compute, b->source_compute);
    assert_string_equal(a->dest_compute, b->dest_compute);
    assert_string_equal(a->dest_host, b->dest_host);
    assert_int_equal(a->block_migration, b->block_migration);
    assert_int_equal(a->permit_post_copy, b->permit_post_copy);
    assert_int_equal(a->auto_converge, b->auto_converge);
    assert_int_equal(a->max_downtime_ms, b->max_downtime_ms);
    assert_int_equal(a->bandwidth_mibps, b->bandwidth_mibps);
    assert_int_equal(a->timeout_action, b->timeout_action);
    assert_int_equal(a->policy, b->policy);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_int_equal(a->memory_total_bytes, b->memory_total_bytes);
    assert_int_equal(a->memory_processed_bytes, b->memory_processed_bytes);
    assert_int_equal(a->memory_remaining_bytes, b->memory_remaining_bytes);
    assert_int_equal(a->disk_total_bytes, b->disk_total_bytes);
    assert_int_equal(a->disk_processed_bytes, b->disk_processed_bytes);
    assert_int_equal(a->disk_remaining_bytes, b->disk_remaining_bytes);
    assert_int_equal(a->progress, b->progress);
    assert_int_equal(a->memory_iteration, b->memory_iteration);
    assert_int_equal(a->transfer_rate, b->transfer_rate);
    assert_int_equal(a->dirty_rate, b->dirty_rate);
    assert_int_equal(a->current_downtime_ms, b->current_downtime_ms);
    assert_int_equal(a->downtime_ms, b->downtime_ms);
    assert_int_equal(a->elapsed_ms, b->elapsed_ms);
    assert_int_equal(a->post_copy, b->post_copy);
    assert_int_equal(a->paused, b->paused);
    assert_string_equal(a->error, b->error);
    assert_int_equal(a->recovery_attempts, b->recovery_attempts);
    assert_int_equal(a->recovery_started_at, b->recovery_started_at);
    assert_string_equal(a->drain_uuid, b->drain_uuid);
    assert_int_equal(a->post_copy_after_first_pass, b->post_copy_after_first_pass);
}

/* Every field set, each to a value no other field has and none equal to
 * md_migration_init()'s, so a swapped or dropped column shows. */
static md_migration distinctive(void)
{
    md_migration m;

    md_migration_init(&m);
    strcpy(m.uuid, "6a1f0c5e-8d2b-4f4e-9c1a-0b7e3d2c1f00");
    m.state = MD_MIG_POSTCOPY_RECOVERING;
    strcpy(m.migration_type, "evacuation");
    strcpy(m.instance_uuid, "c0ffee00-1234-4abc-8def-0123456789ab");
    strcpy(m.instance_name, "instance-0000002a \"quoted\" 'and' ünïcode");
    strcpy(m.source_compute, "compute-src.example.org");
    strcpy(m.dest_compute, "compute-dst.example.org");
    strcpy(m.dest_host, "192.0.2.17");
    m.block_migration = true;
    m.permit_post_copy = true;
    m.auto_converge = true;
    m.max_downtime_ms = 4321;
    m.bandwidth_mibps = 777;
    m.timeout_action = POLICY_TIMEOUT_FORCE_COMPLETE;
    m.policy = POLICY_ADAPTIVE;
    m.created_at = 1700000000123;
    m.updated_at = 1700000999456;
    m.memory_total_bytes = 0x0123456789ABCDEFull;
    m.memory_processed_bytes = 3000000001ull;
    m.memory_remaining_bytes = 3000000002ull;
    m.disk_total_bytes = UINT64_MAX; /* the full range survives, not only int64's */
    m.disk_processed_bytes = 5000000003ull;
    m.disk_remaining_bytes = 5000000004ull;
    m.progress = 42;
    m.memory_iteration = 13;
    m.transfer_rate = 125000000ull;
    m.dirty_rate = 98765432ull;
    m.current_downtime_ms = 1234;
    m.downtime_ms = 321;
    m.elapsed_ms = 98765;
    m.post_copy = true;
    m.paused = true;
    strcpy(m.error, "the destination refused: no space left on device");
    m.recovery_attempts = 7;
    m.recovery_started_at = 1700000555789;
    strcpy(m.drain_uuid, "d7a1e000-0000-4000-8000-00000000d7a1");
    m.post_copy_after_first_pass = true;
    return m;
}

/* Asserts that the list for f is exactly the uuids in want, in order. */
static void assert_list(md_store *st, const md_store_filter *f, const char *const *want,
                        size_t nwant)
{
    md_err err = { "" };
    md_migration *ms = NULL;
    size_t n = 99;

    if (md_store_list(st, f, &ms, &n, &err) != MD_OK)
        fail_msg("md_store_list: %s", err.msg);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(ms[i].uuid, want[i]);
    free(ms);
}

#define ASSERT_LIST(st, f, ...)                                        \
    do {                                                               \
        const char *const want_[] = { __VA_ARGS__ };                   \
        assert_list((st), (f), want_, sizeof want_ / sizeof want_[0]); \
    } while (0)

/* Runs SQL on the file from outside the store (its own connection). */
static void outside_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sqlite3_exec %s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

static int64_t outside_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* The whole file, to show that a refused file is left as it was. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long len;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* ---- records ------------------------------------------------------------ */

static void insert_then_get_returns_every_field(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = distinctive(), got;
    md_err err = { "" };

    m.id = 999; /* ignored: the store assigns the id */
    assert_int_equal(md_store_insert(st, &m, &err), MD_OK);
    assert_true(m.id > 0);
    assert_int_not_equal(m.id, 999);
    /* Garbage first, so a field the store forgets to set shows. */
    memset(&got, 0x5a, sizeof got);
    assert_int_equal(md_store_get(st, m.uuid, &got, &err), MD_OK);
    assert_migration_equal(&got, &m);
}

static void insert_of_an_existing_uuid_is_a_conflict(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration a = record("dup", 1, 1), b = record("dup", 2, 2), got;
    md_err err = { "" };

    insert_ok(st, &a);
    strcpy(b.instance_name, "other");
    assert_int_equal(md_store_insert(st, &b, &err), MD_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, fx->path));
    assert_non_null(strstr(err.msg, "insert migration dup"));
    assert_non_null(strstr(err.msg, "UNIQUE"));
    /* The first record is untouched. */
    assert_int_equal(md_store_get(st, "dup", &got, &err), MD_OK);
    assert_string_equal(got.instance_name, "");
    assert_int_equal(got.created_at, 1);
}

static void unknown_uuid_is_not_found_for_get_update_events_and_add_event(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("nobody", 1, 1), got;
    md_event ev = md_test_event(5, "state", 0, "never written");
    md_event *evs = (md_event *)&ev;
    size_t n = 7;
    md_err err = { "" };

    assert_int_equal(md_store_get(st, "nobody", &got, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "nobody"));
    assert_int_equal(md_store_update(st, &m, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "nobody"));
    assert_int_equal(md_store_add_event(st, "nobody", &ev, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(ev.id, 0);
    assert_int_equal(md_store_events(st, "nobody", &evs, &n, &err), MD_ERR_NOT_FOUND);
    assert_null(evs);
    assert_int_equal(n, 0);
}

static void update_overwrites_every_field_but_id(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record(distinctive().uuid, 1, 1), want = distinctive(), got;
    md_err err = { "" };

    insert_ok(st, &m);
    want.id = 12345; /* the record is named by uuid; id is not rewritten */
    assert_int_equal(md_store_update(st, &want, &err), MD_OK);
    assert_int_equal(md_store_get(st, want.uuid, &got, &err), MD_OK);
    want.id = m.id;
    assert_migration_equal(&got, &want);
}

static void update_many_updates_all_in_one_go(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration ms[3] = { record("u1", 1, 1), record("u2", 2, 2), record("u3", 3, 3) };
    const md_migration *ptrs[3] = { &ms[0], &ms[1], &ms[2] };
    md_migration got;
    md_err err = { "" };

    for (int i = 0; i < 3; i++) {
        insert_ok(st, &ms[i]);
        ms[i].state = MD_MIG_RUNNING;
        ms[i].memory_iteration = (uint32_t)(10 + i);
        ms[i].updated_at = 100 + i;
    }
    assert_int_equal(md_store_update_many(st, ptrs, 3, &err), MD_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(md_store_get(st, ms[i].uuid, &got, &err), MD_OK);
        assert_migration_equal(&got, &ms[i]);
    }
    assert_int_equal(md_store_update_many(st, ptrs, 0, &err), MD_OK);
}

static void update_many_writes_nothing_when_one_record_is_missing(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration a = record("a", 1, 1), ghost = record("ghost", 2, 2), got;
    const md_migration *ptrs[2] = { &a, &ghost };
    md_err err = { "" };

    insert_ok(st, &a);
    a.progress = 50;
    assert_int_equal(md_store_update_many(st, ptrs, 2, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "ghost"));
    assert_int_equal(md_store_get(st, "a", &got, &err), MD_OK);
    assert_int_equal(got.progress, 0);
}

/* ---- events ------------------------------------------------------------- */

static void events_come_back_oldest_first_with_their_ids(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("e", 1, 1), other = record("other", 2, 2);
    md_event in[3] = {
        md_test_event(1000, "state", 0, "The migration was queued."),
        md_test_event(2000, "set_downtime", 150, "Step 2 of the downtime ramp."),
        md_test_event(3000, "post_copy", 0, "Pre-copy will not converge; switching to post-copy."),
    };
    md_event noise = md_test_event(1500, "state", 0, "Another record's event.");
    md_event *out = NULL;
    size_t n = 0;
    md_err err = { "" };

    insert_ok(st, &m);
    insert_ok(st, &other);
    assert_int_equal(md_store_events(st, "e", &out, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    assert_null(out);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(md_store_add_event(st, "e", &in[i], &err), MD_OK);
        assert_true(in[i].id > 0);
        if (i == 0)
            assert_int_equal(md_store_add_event(st, "other", &noise, &err), MD_OK);
    }
    assert_int_equal(md_store_events(st, "e", &out, &n, &err), MD_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].id, in[i].id);
        assert_int_equal(out[i].at, in[i].at);
        assert_string_equal(out[i].kind, in[i].kind);
        assert_int_equal(out[i].value, in[i].value);
        assert_string_equal(out[i].message, in[i].message);
        if (i > 0)
            assert_true(out[i].id > out[i - 1].id);
    }
    free(out);
}

static void update_with_event_writes_the_record_and_the_event(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("w", 1, 1), got;
    md_event ev = md_test_event(7000, "state", 0, "The job is running.");
    md_event *out = NULL;
    size_t n = 0;
    md_err err = { "" };

    insert_ok(st, &m);
    m.state = MD_MIG_RUNNING;
    m.updated_at = 7000;
    assert_int_equal(md_store_update_with_event(st, &m, &ev, &err), MD_OK);
    assert_true(ev.id > 0);
    assert_int_equal(md_store_get(st, "w", &got, &err), MD_OK);
    assert_int_equal(got.state, MD_MIG_RUNNING);
    assert_int_equal(got.updated_at, 7000);
    assert_int_equal(md_store_events(st, "w", &out, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, ev.id);
    assert_string_equal(out[0].message, "The job is running.");
    free(out);
}

static void update_with_event_of_unknown_uuid_writes_nothing(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("real", 1, 1), ghost = record("ghost", 1, 1);
    md_event ev = md_test_event(1, "state", 0, "Should not be stored.");
    md_err err = { "" };

    insert_ok(st, &m);
    assert_int_equal(md_store_update_with_event(st, &ghost, &ev, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "ghost"));
    assert_int_equal(ev.id, 0);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM events"), 0);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM migrations"), 1);
}

/* The event insert is made to fail after the update succeeded (a trigger
 * added from outside); the update must be rolled back with it. */
static void update_with_event_rolls_back_the_update_when_the_event_fails(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("atomic", 1, 1), got;
    md_event ev = md_test_event(2, "boom", 0, "Refused by the trigger.");
    md_event ok = md_test_event(3, "state", 0, "Accepted.");
    md_err err = { "" };

    insert_ok(st, &m);
    outside_exec(fx->path, "CREATE TRIGGER refuse BEFORE INSERT ON events "
                           "WHEN NEW.kind = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
    m.state = MD_MIG_FAILED;
    assert_int_equal(md_store_update_with_event(st, &m, &ev, &err), MD_ERR_IO);
    assert_non_null(strstr(err.msg, "boom refused"));
    assert_int_equal(md_store_get(st, "atomic", &got, &err), MD_OK);
    assert_int_equal(got.state, MD_MIG_QUEUED);
    /* The store is usable after the rollback. */
    assert_int_equal(md_store_update_with_event(st, &m, &ok, &err), MD_OK);
    assert_int_equal(md_store_get(st, "atomic", &got, &err), MD_OK);
    assert_int_equal(got.state, MD_MIG_FAILED);
}

/* ---- list --------------------------------------------------------------- */

/* Five records, each differing from the others in what one filter tests. */
static void insert_filter_set(md_store *st)
{
    struct {
        const char *uuid, *instance, *src, *dst, *type;
        md_mig_state state;
        int64_t created, updated;
        const char *drain;
    } rows[] = {
        { "a", "I1", "hostA", "hostB", "live-migration", MD_MIG_RUNNING, 10, 100, "D1" },
        { "b", "I2", "hostB", "hostC", "live-migration", MD_MIG_COMPLETED, 20, 200, "" },
        { "c", "I1", "hostC", "hostA", "evacuation", MD_MIG_POSTCOPY, 30, 300, "D1" },
        { "d", "I3", "hostD", "hostE", "live-migration", MD_MIG_QUEUED, 40, 400, "D2" },
        { "e", "I3", "hostA", "hostE", "live-migration", MD_MIG_FAILED, 50, 500, "" },
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        md_migration m = record(rows[i].uuid, rows[i].created, rows[i].updated);
        strcpy(m.instance_uuid, rows[i].instance);
        strcpy(m.source_compute, rows[i].src);
        strcpy(m.dest_compute, rows[i].dst);
        strcpy(m.migration_type, rows[i].type);
        strcpy(m.drain_uuid, rows[i].drain);
        m.state = rows[i].state;
        insert_ok(st, &m);
    }
}

static void list_returns_newest_first_without_filters(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f;

    memset(&f, 0, sizeof f);
    insert_filter_set(st);
    ASSERT_LIST(st, &f, "e", "d", "c", "b", "a");
    ASSERT_LIST(st, NULL, "e", "d", "c", "b", "a");
}

static void list_filters_by_state_and_in_progress(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f;

    insert_filter_set(st);
    memset(&f, 0, sizeof f);
    f.have_state = true;
    f.state = MD_MIG_RUNNING;
    ASSERT_LIST(st, &f, "a");
    f.state = MD_MIG_POSTCOPY;
    ASSERT_LIST(st, &f, "c");
    /* MD_MIG_QUEUED is 0: have_state, not the value, says the filter is on. */
    f.state = MD_MIG_QUEUED;
    ASSERT_LIST(st, &f, "d");
    memset(&f, 0, sizeof f);
    f.in_progress_only = true;
    ASSERT_LIST(st, &f, "d", "c", "a");
}

static void list_in_progress_and_state_filters_include_recovering(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration r = record("r", 60, 600);
    md_store_filter f;

    insert_filter_set(st);
    r.state = MD_MIG_POSTCOPY_RECOVERING;
    insert_ok(st, &r);
    memset(&f, 0, sizeof f);
    f.in_progress_only = true;
    ASSERT_LIST(st, &f, "r", "d", "c", "a");
    memset(&f, 0, sizeof f);
    f.have_state = true;
    f.state = MD_MIG_POSTCOPY_RECOVERING;
    ASSERT_LIST(st, &f, "r");
    f.state = MD_MIG_POSTCOPY;
    ASSERT_LIST(st, &f, "c");
}

static void list_filters_by_instance_and_migration_type(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f = { .instance_uuid = "I1" };

    insert_filter_set(st);
    ASSERT_LIST(st, &f, "c", "a");
    f = (md_store_filter){ .migration_type = "evacuation" };
    ASSERT_LIST(st, &f, "c");
    f = (md_store_filter){ .instance_uuid = "nope" };
    assert_list(st, &f, NULL, 0);
}

/* The records a drain started, and only those: with the other filters
 * too, and none for a drain that started nothing. */
static void list_filters_by_drain(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f = { .drain_uuid = "D1" };

    insert_filter_set(st);
    ASSERT_LIST(st, &f, "c", "a");
    f.have_state = true;
    f.state = MD_MIG_RUNNING;
    ASSERT_LIST(st, &f, "a");
    f = (md_store_filter){ .drain_uuid = "D2", .in_progress_only = true };
    ASSERT_LIST(st, &f, "d");
    f = (md_store_filter){ .drain_uuid = "D3" };
    assert_list(st, &f, NULL, 0);
}

static void list_host_matches_source_or_destination(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f;

    insert_filter_set(st);
    memset(&f, 0, sizeof f);
    strcpy(f.host, "hostA"); /* a: source, c: destination, e: source */
    ASSERT_LIST(st, &f, "e", "c", "a");
    strcpy(f.host, "hostB"); /* a: destination, b: source */
    ASSERT_LIST(st, &f, "b", "a");
    /* Filters combine with AND. */
    f.have_state = true;
    f.state = MD_MIG_COMPLETED;
    ASSERT_LIST(st, &f, "b");
}

static void list_changes_since_and_before_are_inclusive(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f;

    insert_filter_set(st);
    memset(&f, 0, sizeof f);
    f.changes_since = 300;
    ASSERT_LIST(st, &f, "e", "d", "c");
    memset(&f, 0, sizeof f);
    f.changes_before = 200;
    ASSERT_LIST(st, &f, "b", "a");
    f.changes_since = 200;
    f.changes_before = 400;
    ASSERT_LIST(st, &f, "d", "c", "b");
}

/* Seven records whose creation times are not in id order, three of them
 * created in the same millisecond, so that both halves of the order
 * (created_at, then id) and a tie across a page boundary are exercised. */
static void list_pages_with_limit_and_marker_without_gaps_or_duplicates(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    static const int64_t created[7] = { 3000, 1000, 5000, 3000, 2000, 3000, 4000 };
    static const char *const names[7] = { "p1", "p2", "p3", "p4", "p5", "p6", "p7" };
    md_store_filter f;
    md_migration *ms = NULL;
    size_t n = 0;
    md_err err = { "" };

    for (int i = 0; i < 7; i++) {
        md_migration m = record(names[i], created[i], created[i]);
        insert_ok(st, &m);
    }
    /* Order: p3 (5000), p7 (4000), p6, p4, p1 (3000, id descending), p5, p2. */
    memset(&f, 0, sizeof f);
    f.limit = 3;
    ASSERT_LIST(st, &f, "p3", "p7", "p6");
    strcpy(f.marker, "p6");
    ASSERT_LIST(st, &f, "p4", "p1", "p5");
    strcpy(f.marker, "p5");
    ASSERT_LIST(st, &f, "p2");
    strcpy(f.marker, "p2");
    assert_int_equal(md_store_list(st, &f, &ms, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    assert_null(ms);
    /* limit 0 is no limit, also after a marker. */
    f.limit = 0;
    strcpy(f.marker, "p7");
    ASSERT_LIST(st, &f, "p6", "p4", "p1", "p5", "p2");
}

static void list_with_unknown_marker_is_not_found(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("known", 1, 1);
    md_store_filter f;
    md_migration *ms = (md_migration *)&f;
    size_t n = 5;
    md_err err = { "" };

    insert_ok(st, &m);
    memset(&f, 0, sizeof f);
    strcpy(f.marker, "unknown-marker");
    assert_int_equal(md_store_list(st, &f, &ms, &n, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "unknown-marker"));
    assert_null(ms);
    assert_int_equal(n, 0);
}

static void an_unknown_state_in_the_file_is_invalid_on_read(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("odd", 1, 1), got;
    md_migration *ms = NULL;
    size_t n = 0;
    md_err err = { "" };

    insert_ok(st, &m);
    outside_exec(fx->path, "UPDATE migrations SET state = 'teleporting' WHERE uuid = 'odd'");
    assert_int_equal(md_store_get(st, "odd", &got, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "teleporting"));
    assert_int_equal(md_store_list(st, NULL, &ms, &n, &err), MD_ERR_INVALID);
    assert_null(ms);
}

/* ---- the file ----------------------------------------------------------- */

static void records_and_events_survive_close_and_reopen(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = distinctive(), got;
    md_event ev = md_test_event(42, "pause", 0, "Paused to let the migration finish.");
    md_event *out = NULL;
    size_t n = 0;
    md_err err = { "" };

    insert_ok(st, &m);
    assert_int_equal(md_store_add_event(st, m.uuid, &ev, &err), MD_OK);
    md_store_close(st);
    fx->st = NULL;
    assert_int_equal(outside_int(fx->path, "PRAGMA user_version"), SCHEMA_VERSION);
    assert_int_equal(outside_int(fx->path, "PRAGMA application_id"), APP_ID);

    st = md_test_tmpstore_open(fx);
    assert_int_equal(md_store_get(st, m.uuid, &got, &err), MD_OK);
    assert_migration_equal(&got, &m);
    assert_int_equal(md_store_events(st, m.uuid, &out, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, ev.id);
    assert_string_equal(out[0].message, ev.message);
    free(out);
    md_store_close(st);
    fx->st = NULL;
    assert_int_equal(outside_int(fx->path, "PRAGMA user_version"), SCHEMA_VERSION);
}

static void the_file_is_in_wal_mode(void **state)
{
    fixture *fx = *state;
    char wal[160];

    md_test_tmpstore_open(fx);
    snprintf(wal, sizeof wal, "%s-wal", fx->path);
    assert_int_equal(access(wal, F_OK), 0);
}

static void a_file_of_garbage_is_refused_and_left_alone(void **state)
{
    fixture *fx = *state;
    unsigned char garbage[4096], *after;
    size_t n = 0;
    md_store *st = (md_store *)&n;
    md_err err = { "" };
    FILE *f;

    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (unsigned char)(i * 131 + 7);
    f = fopen(fx->path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(garbage, 1, sizeof garbage, f), sizeof garbage);
    fclose(f);

    assert_int_equal(md_store_open(fx->path, &st, &err), MD_ERR_INVALID);
    assert_null(st);
    assert_non_null(strstr(err.msg, fx->path));
    assert_non_null(strstr(err.msg, "corrupt"));
    assert_non_null(strstr(err.msg, "not be replaced"));
    after = slurp(fx->path, &n);
    assert_int_equal(n, sizeof garbage);
    assert_memory_equal(after, garbage, sizeof garbage);
    free(after);
}

static void another_applications_database_is_refused_and_left_alone(void **state)
{
    fixture *fx = *state;
    unsigned char *before, *after;
    size_t nb = 0, na = 0;
    md_store *st = NULL;
    md_err err = { "" };

    outside_exec(fx->path, "PRAGMA application_id = 42; CREATE TABLE notes(text TEXT);"
                           "INSERT INTO notes VALUES ('mine')");
    before = slurp(fx->path, &nb);
    assert_int_equal(md_store_open(fx->path, &st, &err), MD_ERR_INVALID);
    assert_null(st);
    assert_non_null(strstr(err.msg, fx->path));
    assert_non_null(strstr(err.msg, "not a migrationd database"));
    after = slurp(fx->path, &na);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    free(before);
    free(after);

    /* Without any application_id, tables alone make it someone else's. */
    unlink(fx->path);
    outside_exec(fx->path, "CREATE TABLE notes(text TEXT)");
    assert_int_equal(md_store_open(fx->path, &st, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "not a migrationd database"));
}

static void a_newer_schema_is_refused_naming_both_versions(void **state)
{
    fixture *fx = *state;
    md_store *st = NULL;
    md_err err = { "" };
    char ours[64];

    md_test_tmpstore_open(fx);
    md_store_close(fx->st);
    fx->st = NULL;
    outside_exec(fx->path, "PRAGMA user_version = 99");
    snprintf(ours, sizeof ours, "version %d of this build", SCHEMA_VERSION);
    assert_int_equal(md_store_open(fx->path, &st, &err), MD_ERR_INVALID);
    assert_null(st);
    assert_non_null(strstr(err.msg, fx->path));
    assert_non_null(strstr(err.msg, "schema version 99"));
    assert_non_null(strstr(err.msg, ours));
    assert_int_equal(outside_int(fx->path, "PRAGMA user_version"), 99);
}

static void an_unopenable_path_is_an_io_error(void **state)
{
    fixture *fx = *state;
    char path[192];
    md_store *st = NULL;
    md_err err = { "" };

    snprintf(path, sizeof path, "%s/no/such/dir/migrationd.db", fx->dir);
    assert_int_equal(md_store_open(path, &st, &err), MD_ERR_IO);
    assert_null(st);
    assert_non_null(strstr(err.msg, path));
    md_store_close(NULL);
}

/* ---- commands ----------------------------------------------------------- */

static md_command command(const char *uuid, md_command_kind kind, int64_t at)
{
    md_command c;

    memset(&c, 0, sizeof c);
    strcpy(c.uuid, uuid);
    c.kind = kind;
    c.created_at = at;
    return c;
}

/* Asserts that the pending commands are exactly want (ids, uuids, kinds,
 * times), in order. */
static void assert_pending(md_store *st, const md_command *want, size_t nwant)
{
    md_err err = { "" };
    md_command *cs = NULL;
    size_t n = 99;

    if (md_store_pending_commands(st, &cs, &n, &err) != MD_OK)
        fail_msg("md_store_pending_commands: %s", err.msg);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cs[i].id, want[i].id);
        assert_string_equal(cs[i].uuid, want[i].uuid);
        assert_int_equal(cs[i].kind, want[i].kind);
        assert_int_equal(cs[i].created_at, want[i].created_at);
    }
    if (nwant == 0)
        assert_null(cs);
    free(cs);
}

static void add_command_ok(md_store *st, md_command *c, const md_event *ev)
{
    md_err err = { "" };

    c->id = 0;
    if (md_store_add_command(st, c, ev, &c->id, &err) != MD_OK)
        fail_msg("md_store_add_command %s: %s", c->uuid, err.msg);
    assert_true(c->id > 0);
}

static void added_commands_are_pending_oldest_first_with_their_events(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration a = record("cmd-a", 1, 1), b = record("cmd-b", 2, 2);
    md_command cs[4] = {
        command("cmd-a", MD_CMD_FORCE_COMPLETE, 300),
        command("cmd-b", MD_CMD_SPEED, 100), /* older by its time, newer by acceptance */
        command("cmd-a", MD_CMD_ABORT, 300),
        command("cmd-b", MD_CMD_RECOVER, 400),
    };
    md_event ev = md_test_event(300, "force_complete", 0, "An operator asked to force completion.");
    md_event *out = NULL;
    size_t n = 0;
    md_err err = { "" };

    insert_ok(st, &a);
    insert_ok(st, &b);
    assert_pending(st, NULL, 0);
    add_command_ok(st, &cs[0], &ev);
    add_command_ok(st, &cs[1], NULL);
    add_command_ok(st, &cs[2], NULL);
    add_command_ok(st, &cs[3], NULL);
    /* Oldest is the order of acceptance, whatever the callers' clocks say. */
    assert_pending(st, cs, 4);
    /* The event went in with the first command, and only there. */
    assert_int_equal(md_store_events(st, "cmd-a", &out, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].kind, "force_complete");
    assert_string_equal(out[0].message, ev.message);
    assert_int_equal(out[0].at, 300);
    free(out);
    assert_int_equal(md_store_events(st, "cmd-b", &out, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    /* id_out may be NULL. */
    md_command post = command("cmd-b", MD_CMD_POST_COPY, 500);
    assert_int_equal(md_store_add_command(st, &post, NULL, NULL, &err), MD_OK);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM commands WHERE done = 0"), 5);
}

static void add_command_of_unknown_migration_or_kind_writes_nothing(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("real", 1, 1);
    md_command ghost = command("ghost", MD_CMD_ABORT, 1);
    md_command odd = command("real", (md_command_kind)MD_CMD_NKINDS, 1);
    md_event ev = md_test_event(1, "abort", 0, "Should not be stored.");
    int64_t id = -5;
    md_err err = { "" };

    insert_ok(st, &m);
    assert_int_equal(md_store_add_command(st, &ghost, &ev, &id, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "ghost"));
    assert_int_equal(id, -5);
    assert_int_equal(md_store_add_command(st, &odd, &ev, &id, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "real"));
    assert_int_equal(id, -5);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM commands"), 0);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM events"), 0);
}

/* The event insert is made to fail (a trigger added from outside): the
 * command must not be stored without it. */
static void add_command_rolls_back_the_command_when_the_event_fails(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("atomic", 1, 1);
    md_command c = command("atomic", MD_CMD_ABORT, 2);
    md_event ev = md_test_event(2, "boom", 0, "Refused by the trigger.");
    md_err err = { "" };

    insert_ok(st, &m);
    outside_exec(fx->path, "CREATE TRIGGER refuse BEFORE INSERT ON events "
                           "WHEN NEW.kind = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
    assert_int_equal(md_store_add_command(st, &c, &ev, NULL, &err), MD_ERR_IO);
    assert_non_null(strstr(err.msg, "boom refused"));
    assert_pending(st, NULL, 0);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM commands"), 0);
    /* The store is usable after the rollback. */
    add_command_ok(st, &c, NULL);
    assert_pending(st, &c, 1);
}

static void pending_commands_survive_close_and_reopen(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("durable", 1, 1);
    md_command cs[3] = {
        command("durable", MD_CMD_FORCE_COMPLETE, 10),
        command("durable", MD_CMD_ABORT, 20),
        command("durable", MD_CMD_SPEED, 30),
    };
    md_err err = { "" };

    insert_ok(st, &m);
    for (int i = 0; i < 3; i++)
        add_command_ok(st, &cs[i], NULL);
    assert_int_equal(md_store_finish_command(st, cs[0].id, &err), MD_OK);
    md_store_close(st);
    fx->st = NULL;

    st = md_test_tmpstore_open(fx);
    assert_pending(st, &cs[1], 2);
}

static void finishing_a_command_is_idempotent_and_an_unknown_id_is_not_found(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("fin", 1, 1);
    md_command a = command("fin", MD_CMD_POST_COPY, 1), b = command("fin", MD_CMD_RECOVER, 2);
    md_err err = { "" };

    insert_ok(st, &m);
    add_command_ok(st, &a, NULL);
    add_command_ok(st, &b, NULL);
    assert_int_equal(md_store_finish_command(st, a.id, &err), MD_OK);
    assert_pending(st, &b, 1);
    assert_int_equal(md_store_finish_command(st, a.id, &err), MD_OK);
    assert_pending(st, &b, 1);
    assert_int_equal(md_store_finish_command(st, b.id + 1000, &err), MD_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no such command"));
    assert_pending(st, &b, 1);
    assert_int_equal(md_store_finish_command(st, b.id, &err), MD_OK);
    assert_pending(st, NULL, 0);
}

/* Every final state finishes the migration's pending commands with the
 * state change; a state in progress, a plain update and another
 * migration's end leave them pending. */
static void a_final_state_finishes_the_migrations_pending_commands(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    const md_mig_state finals[] = { MD_MIG_COMPLETED, MD_MIG_CANCELLED, MD_MIG_FAILED,
                                    MD_MIG_ERROR };
    md_err err = { "" };

    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        char uuid[MD_UUID_LEN], bystander[MD_UUID_LEN];
        snprintf(uuid, sizeof uuid, "ends-%zu", i);
        snprintf(bystander, sizeof bystander, "stays-%zu", i);
        md_migration m = record(uuid, 1, 1), other = record(bystander, 1, 1);
        md_command mine = command(uuid, MD_CMD_ABORT, 5),
                   theirs = command(bystander, MD_CMD_FORCE_COMPLETE, 6);
        md_event running = md_test_event(7, "state", 0, "Running.");
        md_event recovering = md_test_event(8, "state", 0, "Post-copy broke; recovering.");
        md_event end = md_test_event(9, "state", 0, "The end.");

        insert_ok(st, &m);
        insert_ok(st, &other);
        add_command_ok(st, &mine, NULL);
        add_command_ok(st, &theirs, NULL);
        m.state = MD_MIG_RUNNING;
        assert_int_equal(md_store_update_with_event(st, &m, &running, &err), MD_OK);
        m.state = MD_MIG_POSTCOPY_RECOVERING;
        assert_int_equal(md_store_update_with_event(st, &m, &recovering, &err), MD_OK);
        m.state = finals[i];
        assert_int_equal(md_store_update(st, &m, &err), MD_OK);
        md_command both[2] = { mine, theirs };
        assert_pending(st, both, 2);

        assert_int_equal(md_store_update_with_event(st, &m, &end, &err), MD_OK);
        assert_pending(st, &theirs, 1);
        assert_int_equal(md_store_finish_command(st, theirs.id, &err), MD_OK);
    }
}

static void an_unknown_command_kind_in_the_file_is_invalid_on_read(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("odd", 1, 1);
    md_command c = command("odd", MD_CMD_ABORT, 1);
    md_command *cs = NULL;
    size_t n = 0;
    md_err err = { "" };

    insert_ok(st, &m);
    add_command_ok(st, &c, NULL);
    outside_exec(fx->path, "UPDATE commands SET kind = 'teleport'");
    assert_int_equal(md_store_pending_commands(st, &cs, &n, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "teleport"));
    assert_null(cs);
    assert_int_equal(n, 0);
}

/* ---- the schema upgrade ------------------------------------------------- */

/* Schema version 1 exactly as migrationd wrote it before issue 9: a file
 * of that version, with its records, is what an upgraded node starts on. */
static const char v1_schema[] =
    "CREATE TABLE migrations ("
    " id INTEGER PRIMARY KEY,"
    " uuid TEXT NOT NULL UNIQUE,"
    " state TEXT NOT NULL,"
    " migration_type TEXT NOT NULL,"
    " instance_uuid TEXT NOT NULL,"
    " instance_name TEXT NOT NULL,"
    " source_compute TEXT NOT NULL,"
    " dest_compute TEXT NOT NULL,"
    " dest_host TEXT NOT NULL,"
    " block_migration INTEGER NOT NULL,"
    " permit_post_copy INTEGER NOT NULL,"
    " auto_converge INTEGER NOT NULL,"
    " max_downtime_ms INTEGER NOT NULL,"
    " bandwidth_mibps INTEGER NOT NULL,"
    " timeout_action TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " memory_total_bytes INTEGER NOT NULL,"
    " memory_processed_bytes INTEGER NOT NULL,"
    " memory_remaining_bytes INTEGER NOT NULL,"
    " disk_total_bytes INTEGER NOT NULL,"
    " disk_processed_bytes INTEGER NOT NULL,"
    " disk_remaining_bytes INTEGER NOT NULL,"
    " progress INTEGER NOT NULL,"
    " memory_iteration INTEGER NOT NULL,"
    " transfer_rate INTEGER NOT NULL,"
    " dirty_rate INTEGER NOT NULL,"
    " current_downtime_ms INTEGER NOT NULL,"
    " downtime_ms INTEGER NOT NULL,"
    " elapsed_ms INTEGER NOT NULL,"
    " post_copy INTEGER NOT NULL,"
    " paused INTEGER NOT NULL,"
    " error TEXT NOT NULL"
    ");"
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY,"
    " migration_id INTEGER NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " value INTEGER NOT NULL,"
    " message TEXT NOT NULL"
    ");"
    "CREATE INDEX migrations_by_created ON migrations(created_at DESC, id DESC);"
    "CREATE INDEX migrations_by_state ON migrations(state);"
    "CREATE INDEX migrations_by_instance ON migrations(instance_uuid);"
    "CREATE INDEX migrations_by_updated ON migrations(updated_at);"
    "CREATE INDEX events_by_migration ON events(migration_id, id);";

/* Writes m as version 1 wrote a record (its 33 columns, uint64 as the
 * int64 bit pattern, enums by name), from outside the store. */
static void v1_insert(sqlite3 *db, const md_migration *m)
{
    sqlite3_stmt *s = NULL;
    int i = 1;

    assert_int_equal(
        sqlite3_prepare_v2(
            db,
            "INSERT INTO migrations (uuid, state, migration_type, instance_uuid, instance_name,"
            " source_compute, dest_compute, dest_host, block_migration, permit_post_copy,"
            " auto_converge, max_downtime_ms, bandwidth_mibps, timeout_action, policy,"
            " created_at, updated_at, memory_total_bytes, memory_processed_bytes,"
            " memory_remaining_bytes, disk_total_bytes, disk_processed_bytes,"
            " disk_remaining_bytes, progress, memory_iteration, transfer_rate, dirty_rate,"
            " current_downtime_ms, downtime_ms, elapsed_ms, post_copy, paused, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            -1, &s, NULL),
        SQLITE_OK);
#define TXT(v) sqlite3_bind_text(s, i++, (v), -1, SQLITE_TRANSIENT)
#define INT(v) sqlite3_bind_int64(s, i++, (int64_t)(v))
    TXT(m->uuid);
    TXT(md_mig_state_str(m->state));
    TXT(m->migration_type);
    TXT(m->instance_uuid);
    TXT(m->instance_name);
    TXT(m->source_compute);
    TXT(m->dest_compute);
    TXT(m->dest_host);
    INT(m->block_migration);
    INT(m->permit_post_copy);
    INT(m->auto_converge);
    INT(m->max_downtime_ms);
    INT(m->bandwidth_mibps);
    TXT(policy_timeout_action_str(m->timeout_action));
    TXT(policy_kind_str(m->policy));
    INT(m->created_at);
    INT(m->updated_at);
    INT(m->memory_total_bytes);
    INT(m->memory_processed_bytes);
    INT(m->memory_remaining_bytes);
    INT(m->disk_total_bytes);
    INT(m->disk_processed_bytes);
    INT(m->disk_remaining_bytes);
    INT(m->progress);
    INT(m->memory_iteration);
    INT(m->transfer_rate);
    INT(m->dirty_rate);
    INT(m->current_downtime_ms);
    INT(m->downtime_ms);
    INT(m->elapsed_ms);
    INT(m->post_copy);
    INT(m->paused);
    TXT(m->error);
#undef TXT
#undef INT
    assert_int_equal(i - 1, 33);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static void a_version_1_database_is_upgraded_keeping_every_record_and_event(void **state)
{
    fixture *fx = *state;
    md_migration old = distinctive(), done = record("done-before", 5, 6), got;
    md_event *evs = NULL;
    md_migration *ms = NULL;
    size_t n = 0;
    sqlite3 *db = NULL;
    char pragmas[128];
    md_err err = { "" };

    /* Version 1 knew neither recovering nor the recovery fields, nor
     * drains. */
    old.state = MD_MIG_POSTCOPY;
    old.recovery_attempts = 0;
    old.recovery_started_at = 0;
    old.drain_uuid[0] = '\0';
    old.post_copy_after_first_pass = false;
    done.state = MD_MIG_COMPLETED;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    v1_insert(db, &old);
    v1_insert(db, &done);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO events (migration_id, at, kind, value, message)"
                                  " VALUES (1, 42, 'post_copy', 0, 'Switched to post-copy.'),"
                                  " (2, 43, 'state', 0, 'Completed.')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    snprintf(pragmas, sizeof pragmas, "PRAGMA user_version = 1; PRAGMA application_id = %d",
             APP_ID);
    assert_int_equal(sqlite3_exec(db, pragmas, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    md_store *st = md_test_tmpstore_open(fx);
    assert_int_equal(outside_int(fx->path, "PRAGMA user_version"), SCHEMA_VERSION);
    old.id = 1;
    done.id = 2;
    assert_int_equal(md_store_get(st, old.uuid, &got, &err), MD_OK);
    assert_migration_equal(&got, &old);
    assert_int_equal(md_store_get(st, done.uuid, &got, &err), MD_OK);
    assert_migration_equal(&got, &done);
    assert_int_equal(md_store_list(st, NULL, &ms, &n, &err), MD_OK);
    assert_int_equal(n, 2);
    free(ms);
    assert_int_equal(md_store_events(st, old.uuid, &evs, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(evs[0].message, "Switched to post-copy.");
    free(evs);
    assert_int_equal(md_store_events(st, done.uuid, &evs, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(evs[0].message, "Completed.");
    free(evs);

    /* The old record takes the new state, fields and commands. */
    md_command c = command(old.uuid, MD_CMD_RECOVER, 50);
    add_command_ok(st, &c, NULL);
    old.state = MD_MIG_POSTCOPY_RECOVERING;
    old.recovery_attempts = 3;
    old.recovery_started_at = 1700000001000;
    assert_int_equal(md_store_update(st, &old, &err), MD_OK);
    md_store_close(st);
    fx->st = NULL;

    /* Opening it again finds it up to date and everything in place. */
    st = md_test_tmpstore_open(fx);
    assert_int_equal(md_store_get(st, old.uuid, &got, &err), MD_OK);
    assert_migration_equal(&got, &old);
    assert_pending(st, &c, 1);
    assert_int_equal(outside_int(fx->path, "PRAGMA user_version"), SCHEMA_VERSION);
}

/* The step from version 1 to 2 exactly as migrationd wrote it before
 * issue 11 (drains): v1_schema then this is a file of version 2. */
static const char v2_step[] =
    "ALTER TABLE migrations ADD COLUMN recovery_attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE migrations ADD COLUMN recovery_started_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE commands ("
    " id INTEGER PRIMARY KEY,"
    " migration_id INTEGER NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " done INTEGER NOT NULL"
    ");"
    "CREATE INDEX commands_pending ON commands(id) WHERE done = 0;"
    "CREATE INDEX commands_by_migration ON commands(migration_id);";

static void a_version_2_database_is_upgraded_keeping_records_events_and_commands(void **state)
{
    fixture *fx = *state;
    md_migration old = distinctive(), got;
    md_event *evs = NULL;
    md_drain *ds = NULL;
    md_drain d;
    md_migration *ms = NULL;
    md_store_filter f;
    size_t n = 0;
    sqlite3 *db = NULL;
    char sql[512];
    md_err err = { "" };

    /* Version 2 had every field but the drain's. */
    old.drain_uuid[0] = '\0';
    old.post_copy_after_first_pass = false;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v2_step, NULL, NULL, NULL), SQLITE_OK);
    v1_insert(db, &old);
    snprintf(sql, sizeof sql,
             "UPDATE migrations SET recovery_attempts = %d, recovery_started_at = %lld;"
             "INSERT INTO events (migration_id, at, kind, value, message)"
             " VALUES (1, 42, 'state', 0, 'Recovering.');"
             "INSERT INTO commands (migration_id, kind, created_at, done)"
             " VALUES (1, 'recover', 77, 0)",
             old.recovery_attempts, (long long)old.recovery_started_at);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "PRAGMA user_version = 2; PRAGMA application_id = %d", APP_ID);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    md_store *st = md_test_tmpstore_open(fx);
    assert_int_equal(outside_int(fx->path, "PRAGMA user_version"), SCHEMA_VERSION);
    old.id = 1;
    assert_int_equal(md_store_get(st, old.uuid, &got, &err), MD_OK);
    assert_migration_equal(&got, &old); /* drain_uuid "", no post-copy after the first pass */
    assert_int_equal(md_store_events(st, old.uuid, &evs, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(evs[0].message, "Recovering.");
    free(evs);
    md_command c = command(old.uuid, MD_CMD_RECOVER, 77);
    c.id = 1;
    assert_pending(st, &c, 1);
    /* No drains yet, and the new tables take one. */
    assert_int_equal(md_store_drain_list(st, false, NULL, 0, &ds, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    assert_null(ds);
    md_drain_init(&d);
    strcpy(d.uuid, "d7a1e000-0000-4000-8000-00000000d7a1");
    assert_int_equal(md_store_drain_insert(st, &d, NULL, &err), MD_OK);
    /* The old record takes the drain's fields, and the filter finds it. */
    strcpy(old.drain_uuid, d.uuid);
    old.post_copy_after_first_pass = true;
    assert_int_equal(md_store_update(st, &old, &err), MD_OK);
    md_store_close(st);
    fx->st = NULL;

    st = md_test_tmpstore_open(fx);
    assert_int_equal(md_store_get(st, old.uuid, &got, &err), MD_OK);
    assert_migration_equal(&got, &old);
    memset(&f, 0, sizeof f);
    strcpy(f.drain_uuid, d.uuid);
    assert_int_equal(md_store_list(st, &f, &ms, &n, &err), MD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ms[0].uuid, old.uuid);
    free(ms);
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define PER_THREAD 200

typedef struct worker {
    md_store *st;
    int index;
    int failures;
    md_err err;
} worker;

/* cmocka's assertions must not run outside the main thread (they longjmp
 * into it), so a worker only counts its failures. */
static void *work(void *arg)
{
    worker *w = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        md_migration m, got;
        char uuid[MD_UUID_LEN];

        snprintf(uuid, sizeof uuid, "t%d-%04d", w->index, i);
        m = record(uuid, w->index * 1000 + i, i);
        m.memory_iteration = (uint32_t)i;
        if (md_store_insert(w->st, &m, &w->err) != MD_OK ||
            md_store_get(w->st, uuid, &got, &w->err) != MD_OK || got.id != m.id ||
            got.memory_iteration != (uint32_t)i)
            w->failures++;
    }
    return NULL;
}

static void concurrent_inserts_and_reads_from_four_threads_all_succeed(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    pthread_t th[THREADS];
    worker ws[THREADS];
    md_migration *ms = NULL;
    size_t n = 0;
    md_err err = { "" };

    for (int i = 0; i < THREADS; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].st = st;
        ws[i].index = i;
        assert_int_equal(pthread_create(&th[i], NULL, work, &ws[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        if (ws[i].failures)
            fail_msg("thread %d: %d failures, last: %s", i, ws[i].failures, ws[i].err.msg);
    }
    assert_int_equal(md_store_list(st, NULL, &ms, &n, &err), MD_OK);
    assert_int_equal(n, THREADS * PER_THREAD);
    free(ms);
}

#define T(name) \
    cmocka_unit_test_setup_teardown(name, md_test_tmpstore_setup, md_test_tmpstore_teardown)

/* ---- bounded reads and the purge --------------------------------------------- */

static void events_page_after_an_id_up_to_a_limit_without_gaps_or_duplicates(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration m = record("paged", 1000, 1000), quiet = record("quiet", 900, 900);
    md_event *out = NULL;
    size_t n = 99;
    int64_t after = 0, seen = 0;
    md_err err = { "" };

    insert_ok(st, &m);
    insert_ok(st, &quiet);
    for (int i = 0; i < 7; i++) {
        md_event ev = md_test_event(2000 + i, "state", i, "step");
        assert_int_equal(md_store_add_event(st, "paged", &ev, &err), MD_OK);
        /* Events of another record in between: a page is one record's. */
        ev = md_test_event(2000 + i, "other", i, "not paged's");
        assert_int_equal(md_store_add_event(st, "quiet", &ev, &err), MD_OK);
    }
    /* Pages of 3: 3, 3, 1, each starting after the last id of the one
     * before, in order, and together every event once. */
    size_t sizes[3] = { 3, 3, 1 };
    for (int p = 0; p < 3; p++) {
        assert_int_equal(md_store_events_page(st, "paged", after, 3, &out, &n, &err), MD_OK);
        assert_int_equal(n, sizes[p]);
        for (size_t i = 0; i < n; i++) {
            assert_true(out[i].id > after);
            assert_string_equal(out[i].kind, "state");
            assert_int_equal(out[i].value, seen++);
            after = out[i].id;
        }
        free(out);
    }
    assert_int_equal(seen, 7);
    /* After the last one: an empty page of a record that exists. */
    assert_int_equal(md_store_events_page(st, "paged", after, 3, &out, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    assert_null(out);
    /* No limit: all of them, as md_store_events(). */
    assert_int_equal(md_store_events_page(st, "paged", 0, 0, &out, &n, &err), MD_OK);
    assert_int_equal(n, 7);
    free(out);
    assert_int_equal(md_store_events_page(st, "nobody", 0, 3, &out, &n, &err), MD_ERR_NOT_FOUND);
}

/* A record in state s that ended (was last updated) at updated_at. */
static void insert_ended(md_store *st, const char *uuid, md_mig_state s, int64_t updated_at)
{
    md_migration m = record(uuid, updated_at - 100, updated_at);
    md_event ev = md_test_event(updated_at, "state", 0, "the end");
    md_err err = { "" };

    m.state = s;
    insert_ok(st, &m);
    assert_int_equal(md_store_add_event(st, uuid, &ev, &err), MD_OK);
}

static void purge_deletes_old_finished_records_with_their_events_and_nothing_else(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration got;
    md_command c = { .kind = MD_CMD_RECOVER, .created_at = 50 };
    size_t purged = 99;
    md_err err = { "" };

    /* Old, and completed, cancelled or failed: purged. */
    insert_ended(st, "old-completed", MD_MIG_COMPLETED, 100);
    insert_ended(st, "old-cancelled", MD_MIG_CANCELLED, 110);
    insert_ended(st, "old-failed", MD_MIG_FAILED, 120);
    /* Old but kept: in progress in every such state; in error, which waits
     * for an operator; with a command accepted and not carried out yet. */
    insert_ended(st, "old-queued", MD_MIG_QUEUED, 100);
    insert_ended(st, "old-preparing", MD_MIG_PREPARING, 100);
    insert_ended(st, "old-running", MD_MIG_RUNNING, 100);
    insert_ended(st, "old-postcopy", MD_MIG_POSTCOPY, 100);
    insert_ended(st, "old-recovering", MD_MIG_POSTCOPY_RECOVERING, 100);
    insert_ended(st, "old-error", MD_MIG_ERROR, 100);
    insert_ended(st, "old-pending", MD_MIG_FAILED, 100);
    strcpy(c.uuid, "old-pending");
    assert_int_equal(md_store_add_command(st, &c, NULL, NULL, &err), MD_OK);
    /* Final but ended at the cutoff or after: kept. */
    insert_ended(st, "at-cutoff", MD_MIG_COMPLETED, 1000);
    insert_ended(st, "young", MD_MIG_COMPLETED, 5000);

    assert_int_equal(md_store_purge_finished(st, 1000, 100, &purged, &err), MD_OK);
    assert_int_equal(purged, 3);
    const char *gone[] = { "old-completed", "old-cancelled", "old-failed" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(md_store_get(st, gone[i], &got, &err), MD_ERR_NOT_FOUND);
    }
    ASSERT_LIST(st, NULL, "young", "at-cutoff", "old-pending", "old-error", "old-recovering",
                "old-postcopy", "old-running", "old-preparing", "old-queued");
    /* Their events went with them (the cascade), the others' stayed. */
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM events"), 9);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM events WHERE migration_id NOT IN"
                                           " (SELECT id FROM migrations)"),
                     0);
    /* Nothing more to purge: a second pass deletes none. */
    assert_int_equal(md_store_purge_finished(st, 1000, 100, &purged, &err), MD_OK);
    assert_int_equal(purged, 0);
    /* Once its command is carried out, the record is purged like any
     * other. */
    md_command *pend = NULL;
    size_t np = 0;
    assert_int_equal(md_store_pending_commands(st, &pend, &np, &err), MD_OK);
    assert_int_equal(np, 1);
    assert_int_equal(md_store_finish_command(st, pend[0].id, &err), MD_OK);
    free(pend);
    assert_int_equal(md_store_purge_finished(st, 1000, 100, &purged, &err), MD_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(md_store_get(st, "old-pending", &got, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(outside_int(fx->path, "SELECT count(*) FROM commands"), 0);
}

static void purge_goes_in_batches_oldest_first(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration got;
    size_t purged = 0;
    char uuid[16];
    md_err err = { "" };

    for (int i = 0; i < 10; i++) {
        snprintf(uuid, sizeof uuid, "r%02d", i);
        insert_ended(st, uuid, MD_MIG_COMPLETED, 100 + i);
    }
    insert_ended(st, "newest", MD_MIG_COMPLETED, 9000);
    assert_int_equal(md_store_purge_finished(st, 5000, 4, &purged, &err), MD_OK);
    assert_int_equal(purged, 4); /* a full batch: there may be more */
    assert_int_equal(md_store_get(st, "r03", &got, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_store_get(st, "r04", &got, &err), MD_OK);
    assert_int_equal(md_store_purge_finished(st, 5000, 4, &purged, &err), MD_OK);
    assert_int_equal(purged, 4);
    assert_int_equal(md_store_purge_finished(st, 5000, 4, &purged, &err), MD_OK);
    assert_int_equal(purged, 2); /* short: none left */
    ASSERT_LIST(st, NULL, "newest");
    assert_int_equal(md_store_purge_finished(st, 5000, 0, &purged, &err), MD_ERR_INVALID);
}

static void purge_keeps_the_newest_record_so_that_ids_are_never_given_twice(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_migration later = record("later", 9000, 9000);
    md_event *evs = NULL;
    size_t purged = 0, n = 0;
    md_err err = { "" };

    insert_ended(st, "first", MD_MIG_COMPLETED, 100);
    insert_ended(st, "last", MD_MIG_COMPLETED, 200);
    int64_t last_id = outside_int(fx->path, "SELECT max(id) FROM migrations");
    /* Both are old, but the one with the largest id stays. */
    assert_int_equal(md_store_purge_finished(st, 5000, 100, &purged, &err), MD_OK);
    assert_int_equal(purged, 1);
    ASSERT_LIST(st, NULL, "last");
    /* The next record gets a new id, and no events but its own. */
    insert_ok(st, &later);
    assert_true(later.id > last_id);
    assert_int_equal(md_store_events(st, "later", &evs, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    free(evs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(insert_then_get_returns_every_field),
        T(insert_of_an_existing_uuid_is_a_conflict),
        T(unknown_uuid_is_not_found_for_get_update_events_and_add_event),
        T(update_overwrites_every_field_but_id),
        T(update_many_updates_all_in_one_go),
        T(update_many_writes_nothing_when_one_record_is_missing),
        T(events_come_back_oldest_first_with_their_ids),
        T(update_with_event_writes_the_record_and_the_event),
        T(update_with_event_of_unknown_uuid_writes_nothing),
        T(update_with_event_rolls_back_the_update_when_the_event_fails),
        T(list_returns_newest_first_without_filters),
        T(list_filters_by_state_and_in_progress),
        T(list_in_progress_and_state_filters_include_recovering),
        T(list_filters_by_instance_and_migration_type),
        T(list_filters_by_drain),
        T(list_host_matches_source_or_destination),
        T(list_changes_since_and_before_are_inclusive),
        T(list_pages_with_limit_and_marker_without_gaps_or_duplicates),
        T(list_with_unknown_marker_is_not_found),
        T(an_unknown_state_in_the_file_is_invalid_on_read),
        T(records_and_events_survive_close_and_reopen),
        T(the_file_is_in_wal_mode),
        T(a_file_of_garbage_is_refused_and_left_alone),
        T(another_applications_database_is_refused_and_left_alone),
        T(a_newer_schema_is_refused_naming_both_versions),
        T(an_unopenable_path_is_an_io_error),
        T(added_commands_are_pending_oldest_first_with_their_events),
        T(add_command_of_unknown_migration_or_kind_writes_nothing),
        T(add_command_rolls_back_the_command_when_the_event_fails),
        T(pending_commands_survive_close_and_reopen),
        T(finishing_a_command_is_idempotent_and_an_unknown_id_is_not_found),
        T(a_final_state_finishes_the_migrations_pending_commands),
        T(an_unknown_command_kind_in_the_file_is_invalid_on_read),
        T(a_version_1_database_is_upgraded_keeping_every_record_and_event),
        T(a_version_2_database_is_upgraded_keeping_records_events_and_commands),
        T(concurrent_inserts_and_reads_from_four_threads_all_succeed),
        T(events_page_after_an_id_up_to_a_limit_without_gaps_or_duplicates),
        T(purge_deletes_old_finished_records_with_their_events_and_nothing_else),
        T(purge_goes_in_batches_oldest_first),
        T(purge_keeps_the_newest_record_so_that_ids_are_never_given_twice),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
