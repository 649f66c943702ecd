/* tmpstore.c - a store in a fresh temporary directory, for the store's unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/tmpstore.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int md_test_tmpstore_setup(void **state)
{
    md_test_tmpstore *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    strcpy(fx->dir, "/tmp/md-test-store-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/migrationd.db", fx->dir);
    *state = fx;
    return 0;
}

int md_test_tmpstore_teardown(void **state)
{
    md_test_tmpstore *fx = *state;
    DIR *d;
    struct dirent *de;
    char p[PATH_MAX];

    md_store_close(fx->st);
    d = opendir(fx->dir);
    if (d) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", fx->dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

md_store *md_test_tmpstore_open(md_test_tmpstore *fx)
{
    md_err err = { "" };

    if (md_store_open(fx->path, &fx->st, &err) != MD_OK)
        fail_msg("md_store_open: %s", err.msg);
    return fx->st;
}

md_event md_test_event(int64_t at, const char *kind, int64_t value, const char *message)
{
    md_event ev;

    memset(&ev, 0, sizeof ev);
    ev.at = at;
    md_strlcpy(ev.kind, kind, sizeof ev.kind);
    ev.value = value;
    md_strlcpy(ev.message, message, sizeof ev.message);
    return ev;
}
