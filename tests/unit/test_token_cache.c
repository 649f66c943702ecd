/* test_token_cache.c - the Keystone token cache on its own (api/token_cache.c), without Keystone.
 *
 * The cache reads no clock: every test passes the monotonic and wall-clock
 * times in by hand, so expiry is checked to the millisecond without
 * sleeping. A cache of one set makes every token compete for the same
 * ways, which makes the replacement order observable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/token_cache.h"

/* An arbitrary starting point: both clocks far from zero. */
#define T0_MONO 5000000
#define T0_REAL 1800000000000LL
#define HOUR_MS (3600 * 1000)

static md_token_time at(int64_t mono_after_ms, int64_t real_after_ms)
{
    md_token_time t = { .mono_ms = T0_MONO + mono_after_ms, .real_ms = T0_REAL + real_after_ms };
    return t;
}

static md_auth_result result(const char *user, int64_t expires_at)
{
    md_auth_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.user_id, sizeof r.user_id, "%s", user);
    snprintf(r.project_id, sizeof r.project_id, "project-of-%s", user);
    r.nroles = 1;
    snprintf(r.roles[0], sizeof r.roles[0], "member");
    r.expires_at = expires_at;
    return r;
}

static md_token_cache *new_cache(size_t sets, size_t ways, int64_t cache_ms)
{
    md_token_cache *c = NULL;
    md_err err = { "" };
    assert_int_equal(md_token_cache_new(sets, ways, cache_ms, &c, &err), MD_OK);
    assert_non_null(c);
    return c;
}

/* Stores token with a result naming it as the user, valid for an hour. */
static void put(md_token_cache *c, const char *token, md_token_time now)
{
    md_auth_result r = result(token, now.real_ms + HOUR_MS);
    md_token_cache_insert(c, token, strlen(token), &r, now);
}

static bool hits(md_token_cache *c, const char *token, md_token_time now)
{
    md_auth_result r;
    memset(&r, 0, sizeof r);
    if (!md_token_cache_lookup(c, token, strlen(token), now, &r)) {
        return false;
    }
    /* A hit must be the answer stored for this very token. */
    assert_string_equal(r.user_id, token);
    return true;
}

static void test_inserted_token_is_found_with_its_result(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(256, 4, 60000);
    md_auth_result stored = result("alice", T0_REAL + HOUR_MS);
    snprintf(stored.roles[1], sizeof stored.roles[1], "reader");
    stored.nroles = 2;
    md_token_cache_insert(c, "gAAAAA-alice", 12, &stored, at(0, 0));

    md_auth_result got;
    memset(&got, 0, sizeof got);
    assert_true(md_token_cache_lookup(c, "gAAAAA-alice", 12, at(10, 10), &got));
    assert_memory_equal(&got, &stored, sizeof got);

    md_token_cache_stats s;
    md_token_cache_get_stats(c, &s);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 0);
    md_token_cache_free(c);
}

static void test_unknown_token_misses_and_counts_a_miss(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(1, 4, 60000);
    assert_false(hits(c, "nobody", at(0, 0)));
    put(c, "abcdef", at(0, 0));
    /* Only the same bytes match: not a prefix, an extension or one byte off. */
    assert_false(hits(c, "abcde", at(0, 0)));
    assert_false(hits(c, "abcdefg", at(0, 0)));
    assert_false(hits(c, "abcdeg", at(0, 0)));
    assert_true(hits(c, "abcdef", at(0, 0)));

    md_token_cache_stats s;
    md_token_cache_get_stats(c, &s);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 4);
    md_token_cache_free(c);
}

static void test_entry_ends_cache_ms_after_insertion_when_that_is_first(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(256, 4, 5000);
    put(c, "tok", at(0, 0)); /* the token itself is valid for an hour */
    assert_true(hits(c, "tok", at(4999, 4999)));
    assert_false(hits(c, "tok", at(5000, 5000)));
    /* The expired entry's way was emptied by the lookup that found it. */
    assert_int_equal(md_token_cache_count(c), 0);
    assert_false(hits(c, "tok", at(0, 0)));
    md_token_cache_free(c);
}

static void test_cache_ms_counts_on_the_monotonic_clock(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(256, 4, 5000);
    put(c, "tok", at(0, 0));
    /* A wall clock that jumps ahead (but not past expires_at) ends nothing;
     * the monotonic clock does. */
    assert_true(hits(c, "tok", at(1000, 30 * 60 * 1000)));
    assert_false(hits(c, "tok", at(5000, 0)));
    md_token_cache_free(c);
}

static void test_entry_ends_at_expires_at_when_that_is_first(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(256, 4, 300000);
    md_auth_result r = result("tok", T0_REAL + 2000);
    md_token_cache_insert(c, "tok", 3, &r, at(0, 0));
    md_auth_result got;
    assert_true(md_token_cache_lookup(c, "tok", 3, at(1999, 1999), &got));
    assert_false(md_token_cache_lookup(c, "tok", 3, at(2000, 2000), &got));
    assert_int_equal(md_token_cache_count(c), 0);
    md_token_cache_free(c);
}

static void test_already_expired_token_is_never_a_hit(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(256, 4, 300000);
    md_auth_result r = result("tok", T0_REAL);
    md_token_cache_insert(c, "tok", 3, &r, at(0, 0));
    md_auth_result got;
    assert_false(md_token_cache_lookup(c, "tok", 3, at(0, 0), &got));
    md_token_cache_free(c);
}

static void test_cache_holds_at_most_sets_times_ways_tokens(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(4, 2, 60000);
    char token[32];
    for (int i = 0; i < 200; i++) {
        snprintf(token, sizeof token, "token-%03d", i);
        put(c, token, at(i, i));
        assert_true(md_token_cache_count(c) <= 8);
        /* The newest one is always there. */
        assert_true(hits(c, token, at(i, i)));
    }
    /* 200 tokens spread over 4 sets fill every way. */
    assert_int_equal(md_token_cache_count(c), 8);
    int found = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(token, sizeof token, "token-%03d", i);
        found += hits(c, token, at(200, 200));
    }
    assert_int_equal(found, 8);
    md_token_cache_free(c);
}

static void test_full_set_replaces_least_recently_used_token(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(1, 4, 60000);
    put(c, "A", at(0, 0));
    put(c, "B", at(1, 1));
    put(c, "C", at(2, 2));
    put(c, "D", at(3, 3));
    /* A hit is a use: A is now more recent than B. */
    assert_true(hits(c, "A", at(4, 4)));
    put(c, "E", at(5, 5));
    assert_false(hits(c, "B", at(6, 6)));
    assert_int_equal(md_token_cache_count(c), 4);

    /* Use order now C < D < E < A (a miss uses nothing). */
    assert_true(hits(c, "C", at(7, 7)));
    assert_true(hits(c, "D", at(8, 8)));
    assert_true(hits(c, "E", at(9, 9)));
    assert_true(hits(c, "A", at(10, 10)));
    put(c, "F", at(11, 11));
    assert_false(hits(c, "C", at(12, 12)));
    assert_true(hits(c, "D", at(12, 12)));
    assert_true(hits(c, "E", at(12, 12)));
    assert_true(hits(c, "A", at(12, 12)));
    assert_true(hits(c, "F", at(12, 12)));
    md_token_cache_free(c);
}

static void test_expired_way_is_reused_before_least_recently_used(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(1, 2, 60000);
    put(c, "old", at(0, 0)); /* least recently used, valid for an hour */
    md_auth_result r = result("short", T0_REAL + 1000);
    md_token_cache_insert(c, "short", 5, &r, at(1, 1)); /* most recent, ends at +1 s */
    put(c, "new", at(1000, 1000));
    assert_true(hits(c, "old", at(1001, 1001)));
    assert_true(hits(c, "new", at(1001, 1001)));
    assert_false(hits(c, "short", at(1001, 1001)));
    assert_int_equal(md_token_cache_count(c), 2);
    md_token_cache_free(c);
}

static void test_inserting_a_cached_token_again_replaces_its_entry(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(1, 2, 5000);
    md_auth_result first = result("tok", T0_REAL + HOUR_MS);
    snprintf(first.project_id, sizeof first.project_id, "first");
    md_auth_result second = result("tok", T0_REAL + HOUR_MS);
    snprintf(second.project_id, sizeof second.project_id, "second");
    put(c, "other", at(0, 0));
    md_token_cache_insert(c, "tok", 3, &first, at(0, 0));
    md_token_cache_insert(c, "tok", 3, &second, at(3000, 3000));

    /* One entry for the token, the other token kept, the newer result. */
    assert_int_equal(md_token_cache_count(c), 2);
    assert_true(hits(c, "other", at(4000, 4000)));
    md_auth_result got;
    assert_true(md_token_cache_lookup(c, "tok", 3, at(4000, 4000), &got));
    assert_string_equal(got.project_id, "second");
    /* Its validity counts from the second insertion: it outlives the
     * first's end (5000) up to 3000 + 5000. */
    assert_true(md_token_cache_lookup(c, "tok", 3, at(7999, 7999), &got));
    assert_false(md_token_cache_lookup(c, "tok", 3, at(8000, 8000), &got));
    md_token_cache_free(c);
}

static void test_tokens_longer_than_the_maximum_are_not_stored(void **state)
{
    (void)state;
    md_token_cache *c = new_cache(256, 4, 60000);
    char *token = malloc(MD_TOKEN_MAX_LEN + 1);
    assert_non_null(token);
    memset(token, 'x', MD_TOKEN_MAX_LEN + 1);
    md_auth_result r = result("long", T0_REAL + HOUR_MS);
    md_auth_result got;

    md_token_cache_insert(c, token, MD_TOKEN_MAX_LEN + 1, &r, at(0, 0));
    assert_int_equal(md_token_cache_count(c), 0);
    assert_false(md_token_cache_lookup(c, token, MD_TOKEN_MAX_LEN + 1, at(0, 0), &got));

    md_token_cache_insert(c, token, MD_TOKEN_MAX_LEN, &r, at(0, 0));
    assert_int_equal(md_token_cache_count(c), 1);
    assert_true(md_token_cache_lookup(c, token, MD_TOKEN_MAX_LEN, at(0, 0), &got));
    assert_string_equal(got.user_id, "long");
    free(token);
    md_token_cache_free(c);
}

static void test_new_refuses_an_empty_geometry_or_negative_cache_ms(void **state)
{
    (void)state;
    md_token_cache *c = NULL;
    md_err err = { "" };
    assert_int_equal(md_token_cache_new(0, 4, 1000, &c, &err), MD_ERR_INVALID);
    assert_null(c);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(md_token_cache_new(4, 0, 1000, &c, &err), MD_ERR_INVALID);
    assert_int_equal(md_token_cache_new(4, 4, -1, &c, &err), MD_ERR_INVALID);
    assert_null(c);
    md_token_cache_free(NULL);
}

/* ---- several threads at once ---- */

#define THREADS 4
#define ROUNDS 5000
#define TOKENS_PER_THREAD 16

typedef struct worker {
    md_token_cache *c;
    int id;
    int wrong; /* hits that returned another token's result */
    int lookups;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char token[32];
    unsigned seed = (unsigned)w->id * 7919u + 1u;
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        /* Half the lookups are of another thread's tokens. */
        int owner = (seed >> 16) % 2 ? w->id : (int)((seed >> 8) % THREADS);
        snprintf(token, sizeof token, "t%d-%u", owner, (seed >> 20) % TOKENS_PER_THREAD);
        md_token_time now = at(i, i);
        md_auth_result r;
        w->lookups++;
        if (md_token_cache_lookup(w->c, token, strlen(token), now, &r)) {
            w->wrong += strcmp(r.user_id, token) != 0;
        } else {
            r = result(token, now.real_ms + HOUR_MS);
            md_token_cache_insert(w->c, token, strlen(token), &r, now);
        }
    }
    return NULL;
}

static void test_concurrent_use_never_mixes_up_tokens(void **state)
{
    (void)state;
    /* 64 tokens for 8 ways: constant replacement under contention. */
    md_token_cache *c = new_cache(2, 4, 60000);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){ .c = c, .id = i };
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    int lookups = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].wrong, 0);
        lookups += w[i].lookups;
    }
    md_token_cache_stats s;
    md_token_cache_get_stats(c, &s);
    assert_int_equal(s.hits + s.misses, (uint64_t)lookups);
    assert_true(s.hits > 0);
    assert_true(s.misses > 0);
    assert_true(md_token_cache_count(c) <= 8);
    md_token_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inserted_token_is_found_with_its_result),
        cmocka_unit_test(test_unknown_token_misses_and_counts_a_miss),
        cmocka_unit_test(test_entry_ends_cache_ms_after_insertion_when_that_is_first),
        cmocka_unit_test(test_cache_ms_counts_on_the_monotonic_clock),
        cmocka_unit_test(test_entry_ends_at_expires_at_when_that_is_first),
        cmocka_unit_test(test_already_expired_token_is_never_a_hit),
        cmocka_unit_test(test_cache_holds_at_most_sets_times_ways_tokens),
        cmocka_unit_test(test_full_set_replaces_least_recently_used_token),
        cmocka_unit_test(test_expired_way_is_reused_before_least_recently_used),
        cmocka_unit_test(test_inserting_a_cached_token_again_replaces_its_entry),
        cmocka_unit_test(test_tokens_longer_than_the_maximum_are_not_stored),
        cmocka_unit_test(test_new_refuses_an_empty_geometry_or_negative_cache_ms),
        cmocka_unit_test(test_concurrent_use_never_mixes_up_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
