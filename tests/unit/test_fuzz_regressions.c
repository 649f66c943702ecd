/* test_fuzz_regressions.c - replays the request fuzzer's inputs through the API (api/).
 *
 * Every file in tests/fuzz/regressions/ (inputs that once crashed the
 * fuzzer or broke one of its rules; the name says what was wrong) and in
 * tests/fuzz/corpus/ (its seeds) is one request in the fuzzer's framing
 * (tests/fuzz/harness.h). Each runs through md_api_handle() of the same
 * in-process stack the fuzzer builds, with the same checks: a known status,
 * never a 5xx, a well-formed Nova fault for every 4xx, valid UTF-8 JSON
 * everywhere. Regressions run twice, before and after the seeds have
 * created records, so that inputs naming "the last migration" meet one.
 * A directory that is missing, unreadable or holds no input fails the
 * test: replaying nothing would pass while checking nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/harness.h"

static fz_stack *stack;

static int setup(void **state)
{
    (void)state;
    stack = fz_stack_new();
    return stack ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fz_stack_free(stack);
    stack = NULL;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replays every file of tests/fuzz/<sub>; returns how many (fails the
 * test when there are none). */
static int replay_dir(const char *sub)
{
    const char *src = getenv("MD_SOURCE_DIR");
    char dir[1024], path[2048];
    struct dirent **names;
    int count = 0;

    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", src ? src : ".", sub);
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0)
        fail_msg("cannot read %s (is MD_SOURCE_DIR set?)", dir);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] == '.' || strcmp(name, "README") == 0) {
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, name);
        free(names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("cannot open %s", path);
        uint8_t data[65536];
        size_t len = fread(data, 1, sizeof data, f);
        fclose(f);
        char why[1024];
        int status;
        if (!fz_run(stack, data, len, &status, why, sizeof why))
            fail_msg("%s: status %d: %s", path, status, why);
        count++;
    }
    free(names);
    if (count == 0)
        fail_msg("%s holds no input to replay (is MD_SOURCE_DIR right?)", dir);
    return count;
}

static void test_regressions_fresh(void **state)
{
    (void)state;
    assert_true(replay_dir("regressions") > 0);
}

static void test_corpus(void **state)
{
    (void)state;
    assert_true(replay_dir("corpus") > 0);
}

static void test_regressions_after_corpus(void **state)
{
    (void)state;
    assert_true(replay_dir("regressions") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regressions_fresh),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_regressions_after_corpus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
