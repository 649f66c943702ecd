/* test_api_record_cache.c - the kept texts of migration records (api/record_cache.c).
 *
 * The reference for every text is json-c writing md_api_migration_json()
 * itself, with the flags of every body: a kept text must be that, byte for
 * byte, whatever the record holds, however often it is asked for, after
 * any change of any field, past the cache's number of slots, while another
 * thread replaces it, and after the cache itself is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

typedef struct fixture {
    md_config cfg;
    md_api_deps deps;
    md_api_record_cache *cache;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    snprintf(f->cfg.api.listen_host, sizeof f->cfg.api.listen_host, "%s", "127.0.0.1");
    f->cfg.api.listen_port = 8775;
    f->deps.cfg = &f->cfg;
    if (!(f->cache = md_api_record_cache_new())) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    md_api_record_cache_free(f->cache);
    free(f);
    return 0;
}

/* A record numbered i: every field set, and differing by i. */
static md_migration record(int i)
{
    md_migration m;

    md_migration_init(&m);
    snprintf(m.uuid, sizeof m.uuid, "00000000-0000-4000-8000-%012d", i);
    m.id = i + 1;
    m.state = i % 2 ? MD_MIG_COMPLETED : MD_MIG_RUNNING;
    snprintf(m.instance_uuid, sizeof m.instance_uuid, "11111111-0000-4000-8000-%012d", i);
    snprintf(m.instance_name, sizeof m.instance_name, "vm-%d", i);
    snprintf(m.source_compute, sizeof m.source_compute, "node-a");
    snprintf(m.dest_compute, sizeof m.dest_compute, "node-%d", i % 5);
    m.created_at = 1767225600000LL + i;
    m.updated_at = m.created_at + 1000;
    m.memory_total_bytes = (uint64_t)i << 20;
    m.memory_processed_bytes = (uint64_t)i << 19;
    m.progress = i % 101;
    m.downtime_ms = i % 3 ? i : -1;
    return m;
}

/* What json-c writes for o, as every body is written (malloc'd); puts o. */
static char *text_of(json_object *o)
{
    char *text;

    assert_non_null(o);
    text = strdup(json_object_to_json_string_ext(o, MD_API_JSON_FLAGS));
    json_object_put(o);
    assert_non_null(text);
    return text;
}

/* What json-c writes for m, rendered afresh. */
static char *reference(const fixture *f, const md_migration *m)
{
    return text_of(md_api_migration_json(&f->deps, m));
}

/* The cache's member for m, as a list of one record adds it (owned by the
 * caller); NULL when out of memory. */
static json_object *cache_json(md_api_record_cache *c, const md_api_deps *d, const md_migration *m)
{
    json_object *arr = json_object_new_array(), *o = NULL;

    if (arr && md_api_record_cache_add(c, d, m, 1, arr))
        o = json_object_get(json_object_array_get_idx(arr, 0));
    json_object_put(arr);
    return o;
}

/* The kept text of m, as json-c writes the cache's object for it. */
static char *kept_text(fixture *f, const md_migration *m)
{
    return text_of(cache_json(f->cache, &f->deps, m));
}

static void expect_text(fixture *f, const md_migration *m)
{
    char *want = reference(f, m), *got = kept_text(f, m);

    assert_string_equal(got, want);
    free(want);
    free(got);
}

/* First asked (rendered), then again (kept): json-c's text both times,
 * also for fields json-c must escape and the ones written as null. */
static void a_kept_text_is_what_json_c_writes_for_the_record(void **state)
{
    fixture *f = *state;

    for (int i = 0; i < 20; i++) {
        md_migration m = record(i);
        if (i == 7) {
            snprintf(m.error, sizeof m.error, "%s", "\"quoted\" \\ a/b \t \x01 \xc3\xa9");
            snprintf(m.instance_name, sizeof m.instance_name, "%s", "</script>");
        }
        if (i == 8) {
            m.instance_name[0] = '\0';
            m.instance_uuid[0] = '\0';
            m.recovery_started_at = 0;
        }
        expect_text(f, &m);
        expect_text(f, &m);
    }
}

/* A page through md_api_record_cache_add(), as a list adds it: first
 * rendered, then kept, also with a record twice on the page (a record may
 * come twice when the engine's view is laid over the store's). */
static void a_page_writes_out_as_its_records_would(void **state)
{
    fixture *f = *state;
    md_migration page[10];

    for (int i = 0; i < 10; i++)
        page[i] = record(i % 6);
    for (int round = 0; round < 2; round++) {
        json_object *kept = json_object_new_array(), *built = json_object_new_array();
        assert_true(md_api_record_cache_add(f->cache, &f->deps, page, 10, kept));
        for (int i = 0; i < 10; i++)
            json_object_array_add(built, md_api_migration_json(&f->deps, &page[i]));
        assert_string_equal(json_object_to_json_string_ext(kept, MD_API_JSON_FLAGS),
                            json_object_to_json_string_ext(built, MD_API_JSON_FLAGS));
        json_object_put(kept);
        json_object_put(built);
        page[3].downtime_ms = 900 + round;
    }
    json_object *empty = json_object_new_array();
    assert_true(md_api_record_cache_add(f->cache, &f->deps, page, 0, empty));
    assert_string_equal(json_object_to_json_string_ext(empty, MD_API_JSON_FLAGS), "[]");
    json_object_put(empty);
}

/* A change to any one field is a new text, also where updated_at stays as
 * it was; the old record asked again has its old text. */
static void any_changed_field_is_rendered_again(void **state)
{
    fixture *f = *state;
    md_migration m = record(4);

    expect_text(f, &m);
    m.downtime_ms = 312;
    expect_text(f, &m);
    snprintf(m.error, sizeof m.error, "%s", "The destination went away.");
    expect_text(f, &m);
    m.state = MD_MIG_FAILED;
    expect_text(f, &m);
    m.updated_at++;
    expect_text(f, &m);
    m.recovery_attempts = 2;
    expect_text(f, &m);
    m = record(4);
    expect_text(f, &m);
}

/* Far more records than slots, twice over: what is pushed out is rendered
 * again, and nothing is ever another record's text. */
static void more_records_than_slots_each_get_their_own_text(void **state)
{
    fixture *f = *state;

    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 5000; i++) {
            md_migration m = record(i);
            expect_text(f, &m);
        }
}

/* An object keeps its text when the record is rendered anew, and when the
 * cache is freed before the object is. */
static void a_shown_text_outlives_its_replacement_and_the_cache(void **state)
{
    fixture *f = *state;
    md_migration m = record(9), changed = record(9);

    changed.downtime_ms = 77;
    char *want_old = reference(f, &m), *want_new = reference(f, &changed);
    json_object *old = cache_json(f->cache, &f->deps, &m);
    json_object *cur = cache_json(f->cache, &f->deps, &changed);
    assert_non_null(old);
    assert_non_null(cur);
    md_api_record_cache_free(f->cache);
    f->cache = NULL;
    assert_string_equal(json_object_to_json_string_ext(old, MD_API_JSON_FLAGS), want_old);
    assert_string_equal(json_object_to_json_string_ext(cur, MD_API_JSON_FLAGS), want_new);
    json_object_put(old);
    json_object_put(cur);
    free(want_old);
    free(want_new);
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define RECORDS 64

typedef struct worker {
    fixture *f;
    char *const *want; /* [RECORDS][2]: each record's text, as it is and changed */
    int index;
    int failures;
} worker;

static md_migration version(int i, int v)
{
    md_migration m = record(i);

    if (v)
        m.downtime_ms = 1000 + i;
    return m;
}

/* cmocka's assertions must not run outside the main thread: a thread
 * counts what differs. */
static void *render_in_turn(void *arg)
{
    worker *w = arg;

    for (int k = 0; k < 2000; k++) {
        int i = (k * 7 + w->index) % RECORDS, v = (k / RECORDS + w->index) % 2;
        md_migration m = version(i, v);
        json_object *o = cache_json(w->f->cache, &w->f->deps, &m);
        const char *got = o ? json_object_to_json_string_ext(o, MD_API_JSON_FLAGS) : NULL;
        if (!got || strcmp(got, w->want[i * 2 + v]) != 0)
            w->failures++;
        json_object_put(o);
    }
    return NULL;
}

/* Four threads ask for the same records in two versions at once, so that
 * each replaces what the others are still showing. */
static void threads_replacing_each_others_texts_each_get_the_right_one(void **state)
{
    fixture *f = *state;
    char *want[RECORDS * 2];
    pthread_t th[THREADS];
    worker ws[THREADS];

    for (int i = 0; i < RECORDS; i++)
        for (int v = 0; v < 2; v++) {
            md_migration m = version(i, v);
            want[i * 2 + v] = reference(f, &m);
        }
    for (int i = 0; i < THREADS; i++) {
        ws[i] = (worker){ .f = f, .want = want, .index = i };
        assert_int_equal(pthread_create(&th[i], NULL, render_in_turn, &ws[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(ws[i].failures, 0);
    for (int i = 0; i < RECORDS * 2; i++)
        free(want[i]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_kept_text_is_what_json_c_writes_for_the_record),
        T(a_page_writes_out_as_its_records_would),
        T(any_changed_field_is_rendered_again),
        T(more_records_than_slots_each_get_their_own_text),
        T(a_shown_text_outlives_its_replacement_and_the_cache),
        T(threads_replacing_each_others_texts_each_get_the_right_one),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
