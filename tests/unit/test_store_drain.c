/* test_store_drain.c - behaviour of the store's drains (service/store_drain.c).
 *
 * Every test gets a fresh database in a temporary directory
 * (tests/support/tmpstore.h). The test includes <sqlite3.h> only to act on
 * the file from outside, as another process would (an operator's sqlite3
 * shell holding the lock, a trigger that refuses a write, a hand-edited
 * row); the daemon's code never does anything like it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/store.h"
#include "tests/support/tmpstore.h"

typedef md_test_tmpstore fixture;

/* A second connection to the file, as another process would have. */
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

/* A guest whose every field differs from the other guests' (by i) and from
 * zero, so that a swapped, dropped or reordered column or row shows. */
static md_drain_guest guest(int i)
{
    md_drain_guest g;

    memset(&g, 0, sizeof g);
    snprintf(g.instance_uuid, sizeof g.instance_uuid, "0000000%d-1111-4222-8333-44444444444%d", i,
             i);
    snprintf(g.instance_name, sizeof g.instance_name, "instance-%d \"quoted\" ünïcode", i);
    g.state = (md_drain_guest_state)(i % MD_DG_NSTATES);
    snprintf(g.migration_uuid, sizeof g.migration_uuid, "mmmmmmm%d-1111-4222-8333-44444444444%d", i,
             i);
    snprintf(g.dest_compute, sizeof g.dest_compute, "peer-%d.example.org", i % 2);
    g.mode = i % 2 ? PLAN_POSTCOPY : PLAN_PRECOPY;
    g.order = 10 + i;
    g.attempts = 1 + i % 2;
    g.ram_bytes = (UINT64_C(1) << 32) + (uint64_t)i;
    g.dirty_rate = UINT64_MAX - (uint64_t)i; /* the full range survives */
    g.disk_bytes = 5000000000ull + (uint64_t)i;
    g.predicted_ms = 60000 + i;
    g.started_at = 1700000001000 + i;
    g.ended_at = 1700000002000 + i;
    snprintf(g.error, sizeof g.error, "guest %d: the destination refused", i);
    return g;
}

/* A drain of nguests guest()s (at most 8) and two destinations, every
 * scalar field set to a distinctive value. */
static md_drain drain(const char *uuid, int64_t created_at, md_drain_state state, size_t nguests)
{
    md_drain d;

    md_drain_init(&d);
    md_strlcpy(d.uuid, uuid, sizeof d.uuid);
    d.state = state;
    strcpy(d.source_compute, "compute-src.example.org");
    d.ndests = 2;
    strcpy(d.dests[0], "peer-0.example.org");
    strcpy(d.dests[1], "peer_1");
    d.deadline_s = 1800;
    d.permit_post_copy = true;
    d.max_parallel = 3;
    d.strict = true;
    d.abort_running = true;
    d.block_migration = true;
    d.created_at = created_at;
    d.updated_at = created_at + 7;
    d.deadline_at = created_at + 1800000;
    d.predicted_end_at = created_at + 1200000;
    d.ended_at = created_at + 1300000;
    d.feasible = true;
    d.parallel = 2;
    strcpy(d.error, "2 guests stay: no destination has room");
    d.nguests = nguests;
    d.guests = nguests ? calloc(nguests, sizeof *d.guests) : NULL;
    if (nguests)
        assert_non_null(d.guests);
    for (size_t i = 0; i < nguests; i++)
        d.guests[i] = guest((int)i);
    return d;
}

static void assert_guest_equal(const md_drain_guest *a, const md_drain_guest *b)
{
    assert_string_equal(a->instance_uuid, b->instance_uuid);
    assert_string_equal(a->instance_name, b->instance_name);
    assert_int_equal(a->state, b->state);
    assert_string_equal(a->migration_uuid, b->migration_uuid);
    assert_string_equal(a->dest_compute, b->dest_compute);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->order, b->order);
    assert_int_equal(a->attempts, b->attempts);
    assert_int_equal(a->ram_bytes, b->ram_bytes);
    assert_int_equal(a->dirty_rate, b->dirty_rate);
    assert_int_equal(a->disk_bytes, b->disk_bytes);
    assert_int_equal(a->predicted_ms, b->predicted_ms);
    assert_int_equal(a->started_at, b->started_at);
    assert_int_equal(a->ended_at, b->ended_at);
    assert_string_equal(a->error, b->error);
}

static void assert_drain_equal(const md_drain *a, const md_drain *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->uuid, b->uuid);
    assert_int_equal(a->state, b->state);
    assert_string_equal(a->source_compute, b->source_compute);
    assert_int_equal(a->ndests, b->ndests);
    for (size_t i = 0; i < a->ndests; i++)
        assert_string_equal(a->dests[i], b->dests[i]);
    assert_int_equal(a->deadline_s, b->deadline_s);
    assert_int_equal(a->permit_post_copy, b->permit_post_copy);
    assert_int_equal(a->max_parallel, b->max_parallel);
    assert_int_equal(a->strict, b->strict);
    assert_int_equal(a->abort_running, b->abort_running);
    assert_int_equal(a->block_migration, b->block_migration);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_int_equal(a->deadline_at, b->deadline_at);
    assert_int_equal(a->predicted_end_at, b->predicted_end_at);
    assert_int_equal(a->ended_at, b->ended_at);
    assert_int_equal(a->feasible, b->feasible);
    assert_int_equal(a->parallel, b->parallel);
    assert_string_equal(a->error, b->error);
    assert_int_equal(a->nguests, b->nguests);
    for (size_t i = 0; i < a->nguests; i++)
        assert_guest_equal(&a->guests[i], &b->guests[i]);
}

/* Asserts that a store call returned want (a failure) and that its
 * message, in err, contains text. */
static void assert_fails(md_status got, md_status want, const md_err *err, const char *text)
{
    assert_int_equal(got, want);
    if (!strstr(err->msg, text))
        fail_msg("message \"%s\" does not contain \"%s\"", err->msg, text);
}

static void insert_ok(md_store *st, md_drain *d, md_event *ev)
{
    md_err err = { "" };

    if (md_store_drain_insert(st, d, ev, &err) != MD_OK)
        fail_msg("md_store_drain_insert %s: %s", d->uuid, err.msg);
}

/* Asserts that drain uuid reads back equal to want. */
static void assert_stored(md_store *st, const md_drain *want)
{
    md_drain got;
    md_err err = { "" };

    if (md_store_drain_get(st, want->uuid, &got, &err) != MD_OK)
        fail_msg("md_store_drain_get %s: %s", want->uuid, err.msg);
    assert_drain_equal(&got, want);
    md_drain_clear(&got);
}

/* The messages of drain uuid's events, oldest first, joined by '|'. */
static void events_text(md_store *st, const char *uuid, char *buf, size_t cap)
{
    md_event *evs = NULL;
    size_t n = 0, len = 0;
    md_err err = { "" };

    if (md_store_drain_events_page(st, uuid, 0, 0, &evs, &n, &err) != MD_OK)
        fail_msg("md_store_drain_events_page %s: %s", uuid, err.msg);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "|" : "", evs[i].message);
    free(evs);
}

/* Asserts that a list gives exactly the drains want, in order, each with
 * its guests. */
static void assert_list(md_store *st, bool in_progress_only, const char *marker, size_t limit,
                        const char *const *want, size_t nwant)
{
    md_drain *ds = NULL;
    size_t n = 99;
    md_err err = { "" };

    if (md_store_drain_list(st, in_progress_only, marker, limit, &ds, &n, &err) != MD_OK)
        fail_msg("md_store_drain_list: %s", err.msg);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ds[i].uuid, want[i]);
        assert_int_equal(ds[i].nguests, 2);
        assert_string_equal(ds[i].guests[1].instance_name, guest(1).instance_name);
    }
    if (nwant == 0)
        assert_null(ds);
    md_drain_free_array(ds, n);
}

#define ASSERT_LIST(st, inprog, marker, limit, ...)                                          \
    do {                                                                                     \
        const char *const want_[] = { __VA_ARGS__ };                                         \
        assert_list((st), (inprog), (marker), (limit), want_, sizeof want_ / sizeof *want_); \
    } while (0)

/* ---- writes and reads --------------------------------------------------- */

static void insert_then_get_returns_every_field_guest_and_destination(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("d7a1e000-0000-4000-8000-000000000001", 1700000000000, MD_DRAIN_RUNNING, 3);
    md_event ev = md_test_event(1700000000001, "plan", 42, "The plan: 3 guests, 2 at once.");
    char text[256];

    d.id = 999; /* ignored: the store assigns the id */
    insert_ok(st, &d, &ev);
    assert_true(d.id > 0);
    assert_int_not_equal(d.id, 999);
    assert_true(ev.id > 0);
    assert_stored(st, &d);
    events_text(st, d.uuid, text, sizeof text);
    assert_string_equal(text, "The plan: 3 guests, 2 at once.");
    md_drain_clear(&d);
}

/* A drain without guests or destinations (one that failed at once) and
 * without an event reads back as empty, not as one empty entry. */
static void a_drain_without_guests_or_destinations_reads_back_empty(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("empty", 5, MD_DRAIN_FAILED, 0), got;
    md_err err = { "" };
    char text[16];

    d.ndests = 0;
    insert_ok(st, &d, NULL);
    memset(&got, 0x5a, sizeof got);
    assert_int_equal(md_store_drain_get(st, "empty", &got, &err), MD_OK);
    assert_int_equal(got.ndests, 0);
    assert_int_equal(got.nguests, 0);
    assert_null(got.guests);
    assert_drain_equal(&got, &d);
    md_drain_clear(&got);
    events_text(st, "empty", text, sizeof text);
    assert_string_equal(text, "");
}

static void insert_of_an_existing_uuid_is_a_conflict_and_changes_nothing(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("dup", 10, MD_DRAIN_RUNNING, 3),
             again = drain("dup", 20, MD_DRAIN_PLANNING, 1);
    md_event ev = md_test_event(21, "plan", 0, "Second.");
    md_err err = { "" };
    char text[64];

    insert_ok(st, &d, NULL);
    assert_fails(md_store_drain_insert(st, &again, &ev, &err), MD_ERR_CONFLICT, &err, "dup");
    assert_int_equal(again.id, 0);
    assert_stored(st, &d);
    events_text(st, "dup", text, sizeof text);
    assert_string_equal(text, "");
    md_drain_clear(&d);
    md_drain_clear(&again);
}

static void update_replaces_the_guests_as_the_list_grows_and_shrinks(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("grow", 10, MD_DRAIN_PLANNING, 3),
             more = drain("grow", 10, MD_DRAIN_RUNNING, 5),
             fewer = drain("grow", 10, MD_DRAIN_PARTIAL, 1),
             none = drain("grow", 10, MD_DRAIN_CANCELLED, 0);
    md_drain other = drain("other", 11, MD_DRAIN_RUNNING, 2);
    md_event ev = md_test_event(12, "replan", 1, "Re-planned.");
    md_err err = { "" };
    char text[64];

    insert_ok(st, &d, NULL);
    insert_ok(st, &other, NULL);
    more.id = fewer.id = none.id = d.id;
    more.guests[4].state = MD_DG_SKIPPED;
    strcpy(more.dests[1], "peer-new");
    more.ndests = 1;
    assert_int_equal(md_store_drain_update(st, &more, &ev, &err), MD_OK);
    assert_true(ev.id > 0);
    assert_stored(st, &more);
    assert_int_equal(md_store_drain_update(st, &fewer, NULL, &err), MD_OK);
    assert_stored(st, &fewer);
    assert_int_equal(md_store_drain_update(st, &none, NULL, &err), MD_OK);
    assert_stored(st, &none);
    /* The other drain's guests are its own. */
    assert_stored(st, &other);
    events_text(st, "grow", text, sizeof text);
    assert_string_equal(text, "Re-planned.");
    md_drain_clear(&d);
    md_drain_clear(&more);
    md_drain_clear(&fewer);
    md_drain_clear(&none);
    md_drain_clear(&other);
}

static void an_unknown_drain_is_not_found_and_nothing_is_written(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("ghost", 10, MD_DRAIN_RUNNING, 2), got;
    md_event ev = md_test_event(11, "state", 0, "Lost.");
    md_event *evs = NULL;
    md_drain *ds = NULL;
    size_t n = 99;
    md_err err = { "" };

    assert_fails(md_store_drain_update(st, &d, &ev, &err), MD_ERR_NOT_FOUND, &err, "ghost");
    assert_int_equal(md_store_drain_get(st, "ghost", &got, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(got.nguests, 0);
    assert_null(got.guests);
    assert_int_equal(md_store_drain_add_event(st, "ghost", &ev, &err), MD_ERR_NOT_FOUND);
    assert_int_equal(md_store_drain_events_page(st, "ghost", 0, 0, &evs, &n, &err),
                     MD_ERR_NOT_FOUND);
    assert_null(evs);
    assert_int_equal(n, 0);
    assert_int_equal(md_store_drain_list(st, false, NULL, 0, &ds, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    md_drain_clear(&d);
}

/* What the record could not give back as it was given is refused before
 * anything is written: a destination that would split in two at its
 * newline, or vanish; a state or mode without a name. */
static void a_drain_that_would_not_read_back_is_invalid_and_not_written(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("bad", 10, MD_DRAIN_RUNNING, 2), got;
    md_err err = { "" };

    strcpy(d.dests[1], "peer\ninjected");
    assert_int_equal(md_store_drain_insert(st, &d, NULL, &err), MD_ERR_INVALID);
    d.dests[1][0] = '\0';
    assert_int_equal(md_store_drain_insert(st, &d, NULL, &err), MD_ERR_INVALID);
    strcpy(d.dests[1], "peer-1");
    d.guests[1].mode = (plan_mode)7;
    assert_int_equal(md_store_drain_insert(st, &d, NULL, &err), MD_ERR_INVALID);
    d.guests[1].mode = PLAN_POSTCOPY;
    d.guests[0].state = (md_drain_guest_state)MD_DG_NSTATES;
    assert_int_equal(md_store_drain_insert(st, &d, NULL, &err), MD_ERR_INVALID);
    d.guests[0].state = MD_DG_DONE;
    d.state = (md_drain_state)MD_DRAIN_NSTATES;
    assert_int_equal(md_store_drain_insert(st, &d, NULL, &err), MD_ERR_INVALID);
    assert_int_equal(md_store_drain_get(st, "bad", &got, &err), MD_ERR_NOT_FOUND);
    d.state = MD_DRAIN_RUNNING;
    insert_ok(st, &d, NULL);
    strcpy(d.dests[0], "a\nb");
    assert_int_equal(md_store_drain_update(st, &d, NULL, &err), MD_ERR_INVALID);
    strcpy(d.dests[0], "peer-0.example.org");
    assert_stored(st, &d);
    md_drain_clear(&d);
}

/* ---- lists and events --------------------------------------------------- */

/* Five drains of two guests, created in the order a..e, two of them in
 * progress; c and d at the same time (the id breaks the tie). */
static void insert_list_set(md_store *st)
{
    static const struct {
        const char *uuid;
        int64_t created;
        md_drain_state state;
    } rows[] = {
        { "a", 10, MD_DRAIN_COMPLETED }, { "b", 20, MD_DRAIN_RUNNING },
        { "c", 30, MD_DRAIN_PARTIAL },   { "d", 30, MD_DRAIN_PLANNING },
        { "e", 40, MD_DRAIN_FAILED },
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        md_drain d = drain(rows[i].uuid, rows[i].created, rows[i].state, 2);

        insert_ok(st, &d, NULL);
        md_drain_clear(&d);
    }
}

static void list_is_newest_first_and_filters_those_in_progress(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);

    insert_list_set(st);
    ASSERT_LIST(st, false, NULL, 0, "e", "d", "c", "b", "a");
    ASSERT_LIST(st, false, "", 0, "e", "d", "c", "b", "a");
    ASSERT_LIST(st, true, NULL, 0, "d", "b");
    ASSERT_LIST(st, true, "d", 0, "b");
}

static void list_pages_with_limit_and_marker_without_gaps_or_duplicates(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain *ds = NULL;
    size_t n = 99;
    md_err err = { "" };

    insert_list_set(st);
    ASSERT_LIST(st, false, NULL, 2, "e", "d");
    ASSERT_LIST(st, false, "d", 2, "c", "b");
    ASSERT_LIST(st, false, "b", 2, "a");
    assert_list(st, false, "a", 2, NULL, 0);
    assert_fails(md_store_drain_list(st, false, "nope", 2, &ds, &n, &err), MD_ERR_NOT_FOUND, &err,
                 "nope");
    assert_null(ds);
    assert_int_equal(n, 0);
}

static void events_page_after_an_id_up_to_a_limit_apart_from_other_drains(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("paged", 10, MD_DRAIN_RUNNING, 1),
             quiet = drain("quiet", 11, MD_DRAIN_RUNNING, 1);
    md_event *out = NULL;
    md_err err = { "" };
    int64_t after = 0;
    size_t n = 0, seen = 0;

    insert_ok(st, &d, NULL);
    insert_ok(st, &quiet, NULL);
    for (int i = 0; i < 7; i++) {
        char msg[32];
        md_event ev, noise = md_test_event(100 + i, "noise", i, "Not paged's.");

        snprintf(msg, sizeof msg, "event %d", i);
        ev = md_test_event(100 + i, "replan", i, msg);
        assert_int_equal(md_store_drain_add_event(st, "paged", &ev, &err), MD_OK);
        assert_int_equal(md_store_drain_add_event(st, "quiet", &noise, &err), MD_OK);
        assert_true(noise.id > ev.id);
    }
    /* Pages of 3: 3, 3, then 1, in order, every event once. */
    do {
        assert_int_equal(md_store_drain_events_page(st, "paged", after, 3, &out, &n, &err), MD_OK);
        for (size_t i = 0; i < n; i++) {
            char msg[32];

            snprintf(msg, sizeof msg, "event %zu", seen + i);
            assert_string_equal(out[i].message, msg);
            assert_string_equal(out[i].kind, "replan");
            assert_int_equal(out[i].value, (int64_t)(seen + i));
            assert_int_equal(out[i].at, 100 + (int64_t)(seen + i));
            assert_true(out[i].id > after);
        }
        seen += n;
        if (n)
            after = out[n - 1].id;
        free(out);
    } while (n == 3);
    assert_int_equal(seen, 7);
    /* Past the last: an empty page, no error. */
    assert_int_equal(md_store_drain_events_page(st, "paged", after, 3, &out, &n, &err), MD_OK);
    assert_int_equal(n, 0);
    assert_null(out);
    md_drain_clear(&d);
    md_drain_clear(&quiet);
}

/* ---- durability and faults ---------------------------------------------- */

static void drains_survive_close_and_reopen(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("durable", 10, MD_DRAIN_RUNNING, 3);
    md_event ev = md_test_event(11, "plan", 0, "Planned.");
    char text[64];

    insert_ok(st, &d, &ev);
    md_store_close(st);
    fx->st = NULL;
    st = md_test_tmpstore_open(fx);
    assert_stored(st, &d);
    events_text(st, "durable", text, sizeof text);
    assert_string_equal(text, "Planned.");
    md_drain_clear(&d);
}

/* A state or mode this build does not know (a newer daemon's, a hand
 * edit) is an error on read, not a guess. */
static void an_unknown_state_or_mode_in_the_file_is_invalid_on_read(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("odd", 10, MD_DRAIN_RUNNING, 2), got;
    md_drain *ds = NULL;
    size_t n = 99;
    sqlite3 *db = outside_open(fx->path);
    md_err err = { "" };

    insert_ok(st, &d, NULL);
    outside_run(db, "UPDATE drains SET state = 'levitating'");
    assert_fails(md_store_drain_get(st, "odd", &got, &err), MD_ERR_INVALID, &err, "levitating");
    assert_int_equal(md_store_drain_list(st, false, NULL, 0, &ds, &n, &err), MD_ERR_INVALID);
    assert_null(ds);
    assert_int_equal(n, 0);
    outside_run(db, "UPDATE drains SET state = 'running';"
                    "UPDATE drain_guests SET mode = 'teleport' WHERE position = 1");
    assert_fails(md_store_drain_get(st, "odd", &got, &err), MD_ERR_INVALID, &err, "teleport");
    assert_null(got.guests);
    sqlite3_close(db);
    md_drain_clear(&d);
}

/* The guests and the event are in the drain's transaction: an event that
 * cannot be written takes the drain (or its update) with it. */
static void a_failed_event_rolls_back_the_drain_and_its_guests(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("atomic", 10, MD_DRAIN_PLANNING, 2),
             more = drain("atomic", 10, MD_DRAIN_RUNNING, 3);
    md_event boom = md_test_event(11, "boom", 0, "Refused by the trigger.");
    md_event ok = md_test_event(12, "plan", 0, "Accepted.");
    sqlite3 *db = outside_open(fx->path);
    md_drain got;
    md_err err = { "" };

    outside_run(db, "CREATE TRIGGER refuse BEFORE INSERT ON drain_events WHEN NEW.kind = 'boom'"
                    " BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
    sqlite3_close(db);
    assert_fails(md_store_drain_insert(st, &d, &boom, &err), MD_ERR_IO, &err, "boom refused");
    assert_int_equal(d.id, 0);
    assert_int_equal(md_store_drain_get(st, "atomic", &got, &err), MD_ERR_NOT_FOUND);
    insert_ok(st, &d, &ok);
    more.id = d.id;
    assert_int_equal(md_store_drain_update(st, &more, &boom, &err), MD_ERR_IO);
    assert_stored(st, &d);
    assert_int_equal(md_store_drain_update(st, &more, &ok, &err), MD_OK);
    assert_stored(st, &more);
    md_drain_clear(&d);
    md_drain_clear(&more);
}

/* Another process holds the write lock (an operator's sqlite3 shell in a
 * transaction): every drain write fails with MD_ERR_IO naming the lock
 * after the store's busy wait, writes nothing, and succeeds once the lock
 * is gone. Reads go on (WAL). */
static void drain_writes_under_another_connections_lock_are_io_errors(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("held", 10, MD_DRAIN_RUNNING, 2),
             late = drain("late", 20, MD_DRAIN_PLANNING, 2);
    md_event ev = md_test_event(11, "replan", 0, "Re-planned.");
    sqlite3 *db = outside_open(fx->path);
    md_drain got;
    md_err err = { "" };
    char text[64];

    insert_ok(st, &d, NULL);
    outside_run(db, "BEGIN IMMEDIATE; UPDATE drains SET error = error");
    assert_fails(md_store_drain_insert(st, &late, &ev, &err), MD_ERR_IO, &err, "locked");
    d.state = MD_DRAIN_COMPLETED;
    assert_fails(md_store_drain_update(st, &d, &ev, &err), MD_ERR_IO, &err, "locked");
    assert_fails(md_store_drain_add_event(st, "held", &ev, &err), MD_ERR_IO, &err, "locked");
    assert_int_equal(md_store_drain_get(st, "held", &got, &err), MD_OK);
    assert_int_equal(got.state, MD_DRAIN_RUNNING);
    md_drain_clear(&got);
    outside_run(db, "COMMIT");
    sqlite3_close(db);

    assert_int_equal(md_store_drain_get(st, "late", &got, &err), MD_ERR_NOT_FOUND);
    events_text(st, "held", text, sizeof text);
    assert_string_equal(text, "");
    assert_int_equal(md_store_drain_update(st, &d, &ev, &err), MD_OK);
    assert_stored(st, &d);
    insert_ok(st, &late, NULL);
    md_drain_clear(&d);
    md_drain_clear(&late);
}

/* The purge deletes old migrations, never drains: a drain's guest may
 * then name a migration that is gone, and keeps its own outcome. */
static void purge_leaves_drains_alone(void **state)
{
    fixture *fx = *state;
    md_store *st = md_test_tmpstore_open(fx);
    md_drain d = drain("kept", 10, MD_DRAIN_COMPLETED, 1);
    md_migration m, newest, got;
    size_t purged = 0;
    md_err err = { "" };

    md_migration_init(&m);
    strcpy(m.uuid, d.guests[0].migration_uuid);
    strcpy(m.drain_uuid, d.uuid);
    m.state = MD_MIG_COMPLETED;
    m.created_at = m.updated_at = 10;
    assert_int_equal(md_store_insert(st, &m, &err), MD_OK);
    newest = m; /* the purge keeps the newest record whatever its age */
    strcpy(newest.uuid, "newest");
    assert_int_equal(md_store_insert(st, &newest, &err), MD_OK);
    insert_ok(st, &d, NULL);
    assert_int_equal(md_store_purge_finished(st, 1000, 100, &purged, &err), MD_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(md_store_get(st, m.uuid, &got, &err), MD_ERR_NOT_FOUND);
    assert_stored(st, &d);
    md_drain_clear(&d);
}

#define T(name) \
    cmocka_unit_test_setup_teardown(name, md_test_tmpstore_setup, md_test_tmpstore_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(insert_then_get_returns_every_field_guest_and_destination),
        T(a_drain_without_guests_or_destinations_reads_back_empty),
        T(insert_of_an_existing_uuid_is_a_conflict_and_changes_nothing),
        T(update_replaces_the_guests_as_the_list_grows_and_shrinks),
        T(an_unknown_drain_is_not_found_and_nothing_is_written),
        T(a_drain_that_would_not_read_back_is_invalid_and_not_written),
        T(list_is_newest_first_and_filters_those_in_progress),
        T(list_pages_with_limit_and_marker_without_gaps_or_duplicates),
        T(events_page_after_an_id_up_to_a_limit_apart_from_other_drains),
        T(drains_survive_close_and_reopen),
        T(an_unknown_state_or_mode_in_the_file_is_invalid_on_read),
        T(a_failed_event_rolls_back_the_drain_and_its_guests),
        T(drain_writes_under_another_connections_lock_are_io_errors),
        T(purge_leaves_drains_alone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
