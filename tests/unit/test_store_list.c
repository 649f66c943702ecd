/* test_store_list.c - md_store_list(), its connections and kept statements (service/store_list.c).
 *
 * The list reads through read-only connections of its own and keeps one
 * prepared statement per set of filters on each. What that must not
 * change: a list sees every write the store returned from; every set of
 * filters selects what it says (each shape is checked against a plain C
 * filter over the same records, on its first use and on its kept
 * statement, also past the number of shapes kept); a kept statement binds
 * each call's own values, sees what other connections commit after it,
 * survives their schema changes and a failed call, and is never used by
 * two threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/store.h"
#include "tests/support/tmpstore.h"

typedef md_test_tmpstore fixture;

/* The records every test lists: each filter value matches some and not
 * others, two share a created_at (the order then goes by id), and the
 * states mix final ones with ones in progress. */
static const struct row {
    const char *uuid, *instance, *src, *dst, *type, *drain;
    md_mig_state state;
    int64_t created, updated;
} rows[] = {
    { "r1", "I1", "hostA", "hostB", "live-migration", "D1", MD_MIG_RUNNING, 10, 100 },
    { "r2", "I2", "hostB", "hostC", "live-migration", "", MD_MIG_COMPLETED, 20, 200 },
    { "r3", "I1", "hostC", "hostA", "evacuation", "D1", MD_MIG_POSTCOPY, 30, 300 },
    { "r4", "I3", "hostD", "hostE", "live-migration", "D2", MD_MIG_QUEUED, 40, 400 },
    { "r5", "I3", "hostA", "hostE", "live-migration", "", MD_MIG_FAILED, 50, 500 },
    { "r6", "I1", "hostA", "hostC", "live-migration", "D1", MD_MIG_COMPLETED, 30, 250 },
    { "r7", "I2", "hostE", "hostA", "evacuation", "", MD_MIG_CANCELLED, 60, 150 },
};
#define NROWS (sizeof rows / sizeof rows[0])

/* The filter bits of the shapes, in store_list.c's order. */
#define NTERMS 10
#define NSHAPES (1u << NTERMS)

static md_migration row_record(const struct row *r)
{
    md_migration m;

    md_migration_init(&m);
    strcpy(m.uuid, r->uuid);
    strcpy(m.instance_uuid, r->instance);
    strcpy(m.source_compute, r->src);
    strcpy(m.dest_compute, r->dst);
    strcpy(m.migration_type, r->type);
    strcpy(m.drain_uuid, r->drain);
    m.state = r->state;
    m.created_at = r->created;
    m.updated_at = r->updated;
    return m;
}

static void insert_rows(md_store *st)
{
    md_err err = { "" };

    for (size_t i = 0; i < NROWS; i++) {
        md_migration m = row_record(&rows[i]);
        if (md_store_insert(st, &m, &err) != MD_OK)
            fail_msg("md_store_insert %s: %s", m.uuid, err.msg);
    }
}

/* The filter of shape, with values picked by v (so that the same shape
 * is asked with different values). */
static md_store_filter shape_filter(unsigned shape, unsigned v)
{
    static const char *const hosts[] = { "hostA", "hostE", "nowhere" };
    static const char *const instances[] = { "I1", "I3" };
    static const char *const markers[] = { "r6", "r4", "r2" };
    md_store_filter f;

    memset(&f, 0, sizeof f);
    f.in_progress_only = shape & 1u;
    if (shape & 2u) {
        f.have_state = true;
        f.state = v % 2 ? MD_MIG_RUNNING : MD_MIG_COMPLETED;
    }
    if (shape & 4u)
        strcpy(f.instance_uuid, instances[v % 2]);
    if (shape & 8u)
        strcpy(f.host, hosts[v % 3]);
    if (shape & 16u)
        strcpy(f.migration_type, v % 2 ? "evacuation" : "live-migration");
    if (shape & 32u)
        strcpy(f.drain_uuid, v % 2 ? "D2" : "D1");
    if (shape & 64u)
        f.changes_since = v % 2 ? 250 : 150;
    if (shape & 128u)
        f.changes_before = v % 2 ? 500 : 300;
    if (shape & 256u)
        strcpy(f.marker, markers[v % 3]);
    if (shape & 512u)
        f.limit = 1 + v % 3;
    return f;
}

/* rows[a] comes before rows[b] in the list: newest first, then by id
 * (the insertion order) descending. */
static bool before(size_t a, size_t b)
{
    if (rows[a].created != rows[b].created)
        return rows[a].created > rows[b].created;
    return a > b;
}

static bool selects(const md_store_filter *f, size_t i, size_t marker)
{
    const struct row *r = &rows[i];

    return (!f->in_progress_only || md_mig_state_in_progress(r->state)) &&
           (!f->have_state || r->state == f->state) &&
           (!f->instance_uuid[0] || strcmp(r->instance, f->instance_uuid) == 0) &&
           (!f->host[0] || strcmp(r->src, f->host) == 0 || strcmp(r->dst, f->host) == 0) &&
           (!f->migration_type[0] || strcmp(r->type, f->migration_type) == 0) &&
           (!f->drain_uuid[0] || strcmp(r->drain, f->drain_uuid) == 0) &&
           (!f->changes_since || r->updated >= f->changes_since) &&
           (!f->changes_before || r->updated <= f->changes_before) &&
           (!f->marker[0] || before(marker, i));
}

/* What f lists, by a plain filter and sort over rows[]: the uuids joined
 * by spaces into out. */
static void expected(const md_store_filter *f, char *out, size_t cap)
{
    size_t order[NROWS], n = 0, marker = 0, len = 0;

    for (size_t i = 0; i < NROWS; i++)
        if (f->marker[0] && strcmp(rows[i].uuid, f->marker) == 0)
            marker = i;
    for (size_t i = 0; i < NROWS; i++) {
        if (!selects(f, i, marker))
            continue;
        size_t k = n++;
        while (k > 0 && before(i, order[k - 1])) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    if (f->limit && n > f->limit)
        n = f->limit;
    out[0] = '\0';
    for (size_t k = 0; k < n; k++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? " " : "", rows[order[k]].uuid);
}

/* What the store lists for f, as expected() writes it: MD_OK or the
 * store's status. Asserts nothing, so that threads may call it. */
static md_status listed(md_store *st, const md_store_filter *f, char *out, size_t cap, md_err *err)
{
    md_migration *ms = NULL;
    size_t n = 0, len = 0;
    md_status s = md_store_list(st, f, &ms, &n, err);

    out[0] = '\0';
    for (size_t k = 0; s == MD_OK && k < n; k++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? " " : "", ms[k].uuid);
    free(ms);
    return s;
}

static void assert_lists(md_store *st, const md_store_filter *f, const char *want)
{
    char got[256];
    md_err err = { "" };

    if (listed(st, f, got, sizeof got, &err) != MD_OK)
        fail_msg("md_store_list: %s", err.msg);
    assert_string_equal(got, want);
}

static void assert_lists_expected(md_store *st, const md_store_filter *f)
{
    char want[256];

    expected(f, want, sizeof want);
    assert_lists(st, f, want);
}

static sqlite3 *outside_open(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

static void outside_run(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sqlite3_exec %s: %s", sql, msg ? msg : "?");
}

/* ---- shapes ------------------------------------------------------------- */

/* Every one of the 1024 shapes, with three sets of values each, twice: its
 * first use prepares it (kept for the first 32, prepared per call past
 * them), the second runs what was kept. */
static void every_shape_lists_what_its_filters_select(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);

    insert_rows(st);
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned shape = 0; shape < NSHAPES; shape++) {
            for (unsigned v = 0; v < 3; v++) {
                md_store_filter f = shape_filter(shape, v);
                assert_lists_expected(st, &f);
            }
        }
    }
}

/* The same shape asked with other values right after: nothing of the
 * last call's bindings is left (a kept statement's are cleared). */
static void a_kept_statement_binds_each_calls_own_values(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f;

    insert_rows(st);
    memset(&f, 0, sizeof f);
    f.limit = 50;
    assert_lists(st, &f, "r7 r5 r4 r6 r3 r2 r1");
    strcpy(f.host, "hostA");
    assert_lists(st, &f, "r7 r5 r6 r3 r1");
    strcpy(f.host, "hostE");
    assert_lists(st, &f, "r7 r5 r4");
    f.limit = 2;
    assert_lists(st, &f, "r7 r5");
    strcpy(f.marker, "r5");
    assert_lists(st, &f, "r4");
    strcpy(f.host, "hostA");
    strcpy(f.marker, "r6");
    assert_lists(st, &f, "r3 r1");
    /* A marker that names no record is still the caller's error, and
     * leaves the shape's statement as it was. */
    strcpy(f.marker, "nothing");
    md_migration *ms = (md_migration *)&f;
    size_t n = 9;
    md_err err = { "" };
    assert_int_equal(md_store_list(st, &f, &ms, &n, &err), MD_ERR_NOT_FOUND);
    assert_null(ms);
    assert_int_equal(n, 0);
    strcpy(f.marker, "r7");
    assert_lists(st, &f, "r5 r6");
}

/* ---- other connections -------------------------------------------------- */

/* An operator's sqlite3 shell holds the write lock in the middle of a
 * change: lists go on (WAL) without the change, and the same kept
 * statement sees it once it is committed, because each call ends the
 * statement's read transaction rather than keeping its snapshot. */
static void a_kept_statement_sees_what_another_connection_commits(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    sqlite3 *db = outside_open(fx->path);
    md_store_filter f;

    insert_rows(st);
    memset(&f, 0, sizeof f);
    f.have_state = true;
    f.state = MD_MIG_FAILED;
    assert_lists(st, &f, "r5");
    outside_run(db, "BEGIN IMMEDIATE; UPDATE migrations SET state = 'failed' WHERE uuid = 'r1'");
    assert_lists(st, &f, "r5");
    outside_run(db, "COMMIT");
    assert_lists(st, &f, "r5 r1");
    sqlite3_close(db);
}

/* Another connection changes the schema under the kept statements (drops
 * the index the order uses, adds one): SQLite prepares them again and they
 * list as before; so does a store opened again on the file. */
static void kept_statements_survive_a_schema_change_and_a_reopen(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    sqlite3 *db = outside_open(fx->path);
    md_err err = { "" };

    insert_rows(st);
    for (unsigned shape = 0; shape < 64; shape++) {
        md_store_filter f = shape_filter(shape, shape);
        assert_lists_expected(st, &f);
    }
    outside_run(db,
                "DROP INDEX migrations_by_created; CREATE INDEX by_policy ON migrations(policy)");
    sqlite3_close(db);
    for (unsigned shape = 0; shape < 64; shape++) {
        md_store_filter f = shape_filter(shape, shape + 1);
        assert_lists_expected(st, &f);
    }
    md_store_close(fx->st);
    fx->st = NULL;
    assert_int_equal(md_store_open(fx->path, &fx->st, &err), MD_OK);
    for (unsigned shape = 0; shape < 64; shape++) {
        md_store_filter f = shape_filter(shape, shape + 2);
        assert_lists_expected(fx->st, &f);
    }
}

/* A list that fails half-way (a row this build cannot read) leaves its
 * kept statement ready: the next call starts from the first row. */
static void a_list_that_fails_half_way_leaves_its_statement_ready(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    sqlite3 *db = outside_open(fx->path);
    md_store_filter f;
    md_migration *ms = (md_migration *)&f;
    size_t n = 9;
    md_err err = { "" };

    insert_rows(st);
    memset(&f, 0, sizeof f);
    f.limit = 50;
    outside_run(db, "UPDATE migrations SET state = 'levitating' WHERE uuid = 'r3'");
    assert_int_equal(md_store_list(st, &f, &ms, &n, &err), MD_ERR_INVALID);
    assert_non_null(strstr(err.msg, "levitating"));
    assert_null(ms);
    assert_int_equal(n, 0);
    outside_run(db, "UPDATE migrations SET state = 'running (post-copy)' WHERE uuid = 'r3'");
    sqlite3_close(db);
    assert_lists(st, &f, "r7 r5 r4 r6 r3 r2 r1");
}

/* The lists read through connections of their own: each sees every write
 * the store has returned from, on whichever of them it runs. */
static void a_list_sees_every_write_the_store_returned_from(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_store_filter f;
    md_err err = { "" };
    char want[32];

    memset(&f, 0, sizeof f);
    f.limit = 1;
    for (int i = 0; i < 40; i++) {
        md_migration m = row_record(&rows[0]);
        snprintf(m.uuid, sizeof m.uuid, "w%d", i);
        m.created_at = 1000 + i;
        if (md_store_insert(st, &m, &err) != MD_OK)
            fail_msg("md_store_insert: %s", err.msg);
        assert_lists(st, &f, m.uuid);
        m.state = MD_MIG_FAILED;
        assert_int_equal(md_store_update(st, &m, &err), MD_OK);
        f.have_state = true;
        f.state = MD_MIG_FAILED;
        snprintf(want, sizeof want, "w%d", i);
        assert_lists(st, &f, want);
        f.have_state = false;
    }
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4

typedef struct lister {
    md_store *st;
    unsigned index;
    int failures;
    char last[800];
} lister;

/* cmocka's assertions must not run outside the main thread, so a thread
 * counts what differs and keeps the last difference. */
static void *list_every_shape(void *arg)
{
    lister *w = arg;

    for (unsigned shape = 0; shape < NSHAPES; shape++) {
        /* Each thread asks the shape with its own values, so that bindings
         * taken from another thread's call would show. */
        md_store_filter f = shape_filter(shape, w->index);
        char want[256], got[256];
        md_err err = { "" };

        expected(&f, want, sizeof want);
        if (listed(w->st, &f, got, sizeof got, &err) != MD_OK || strcmp(got, want) != 0) {
            w->failures++;
            snprintf(w->last, sizeof w->last, "shape %u: want \"%.200s\", got \"%.200s\" %.300s",
                     shape, want, got, err.msg);
        }
    }
    return NULL;
}

/* Four threads list every shape at once, with different values, while a
 * fifth writes (the same values back, so the answers stay known). */
static void lists_from_four_threads_at_once_each_get_their_own_answer(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    pthread_t th[THREADS];
    lister ws[THREADS];
    md_err err = { "" };

    insert_rows(st);
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].st = st;
        ws[i].index = i;
        assert_int_equal(pthread_create(&th[i], NULL, list_every_shape, &ws[i]), 0);
    }
    for (int k = 0; k < 200; k++) {
        md_migration m;
        assert_int_equal(md_store_get(st, rows[k % NROWS].uuid, &m, &err), MD_OK);
        assert_int_equal(md_store_update(st, &m, &err), MD_OK);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < THREADS; i++)
        if (ws[i].failures)
            fail_msg("thread %d: %d differences, last: %s", i, ws[i].failures, ws[i].last);
}

#define T(name) \
    cmocka_unit_test_setup_teardown(name, md_test_tmpstore_setup, md_test_tmpstore_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(every_shape_lists_what_its_filters_select),
        T(a_kept_statement_binds_each_calls_own_values),
        T(a_kept_statement_sees_what_another_connection_commits),
        T(kept_statements_survive_a_schema_change_and_a_reopen),
        T(a_list_that_fails_half_way_leaves_its_statement_ready),
        T(a_list_sees_every_write_the_store_returned_from),
        T(lists_from_four_threads_at_once_each_get_their_own_answer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
