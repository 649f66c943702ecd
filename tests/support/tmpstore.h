/* tmpstore.h - a store in a fresh temporary directory, for the store's unit tests.
 *
 * tests/unit/test_store.c (migrations) and test_store_drain.c (drains)
 * each open a new database per test in a directory under /tmp that the
 * teardown removes with everything the store left in it (the database and
 * its -wal and -shm files). Functions that fail the test do so with
 * cmocka's fail_msg(), on the test's thread only.
 */
#ifndef MD_TEST_TMPSTORE_H
#define MD_TEST_TMPSTORE_H

#include <stdint.h>

#include "service/store.h"

typedef struct md_test_tmpstore {
    char dir[64];
    char path[128]; /* the database, dir/migrationd.db (not created by the setup) */
    md_store *st;   /* NULL until md_test_tmpstore_open(); closed by the teardown */
} md_test_tmpstore;

/* cmocka setup and teardown: *state becomes (and then stops being) a new
 * md_test_tmpstore with an empty directory. Return 0, or -1 when the
 * directory cannot be made. */
int md_test_tmpstore_setup(void **state);
int md_test_tmpstore_teardown(void **state);

/* Opens fx->path into fx->st and returns it; fails the test on an error. */
md_store *md_test_tmpstore_open(md_test_tmpstore *fx);

/* An event with these values (kind and message copied, cut to fit). */
md_event md_test_event(int64_t at, const char *kind, int64_t value, const char *message);

#endif /* MD_TEST_TMPSTORE_H */
