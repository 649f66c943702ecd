/* store_list.c - the list of migration records: md_store_list(), its connections and statements.
 *
 * DESIGN: lists are read through connections of their own. A list of 50
 * records is the API's most frequent request and spends most of its time
 * stepping through rows; on the store's one connection it held st->lock
 * for all of that, so the API's threads queued behind each other (over
 * half of their waits under load, in perf) and behind the engine's
 * writes, and a thread preempted while holding the lock held them all. In
 * WAL mode readers neither block nor are blocked by the writer, so the
 * store opens STORE_READERS read-only connections, each with its own
 * mutex; a list takes the first that is free (from a rotating start),
 * or waits for one, and runs on it alone. A reader sees what was committed
 * when its statement started, as a read on the one connection did: every
 * write of the store commits before its call returns, so a list after a
 * write sees it, and it never sees half of a transaction.
 *
 * The list's WHERE clause depends on which filters are set, so its
 * statement has one shape per set of filters (enum list_term, one bit
 * each). Preparing it costs as much as reading a page of 50 records
 * (SQLite parses and plans the 40-column SELECT), so each reader prepares
 * each shape at its first use and keeps it, as store.c keeps the
 * statements it prepares at open. A kept statement is only used under its
 * reader's lock (one call at a time, so no two threads ever bind or step
 * it at once), and is reset with its bindings cleared at the end of every
 * call, which also ends its read transaction so that the WAL can be
 * checkpointed. A schema change by another connection is SQLite's to
 * handle: a statement of sqlite3_prepare_v3() is prepared again by its
 * next step.
 *
 * At most LIST_KEPT_MAX shapes are kept per reader. The 1024 possible ones
 * are only reached by a client that tries every combination of filters;
 * past the bound a statement is prepared for the call and finalized after
 * it, as every list was before, so the memory kept stays bounded whatever
 * the queries. The statement text is assembled from fixed fragments and
 * every value is bound.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/limits.h"
#include "service/store_priv.h"

/* How many shapes of the list's statement are kept; a handful are in use
 * (the API's plain list, with a marker, by status, by host, the engine's
 * in-progress read at start), each a few KiB of SQLite's memory. */
#define LIST_KEPT_MAX 32

/* The marker's place in the order. */
#define SQL_LOOKUP "SELECT id, created_at FROM migrations WHERE uuid = ?1"

/* store_fail() for a reader's connection: "store PATH: WHAT: sqlite's
 * message", MD_ERR_NOMEM for SQLite's out of memory, else MD_ERR_IO. */
__attribute__((format(printf, 5, 6))) static md_status
reader_fail(md_store *st, sqlite3 *db, md_err *err, int rc, const char *what, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, what);
    vsnprintf(buf, sizeof buf, what, ap);
    va_end(ap);
    return md_err_set(err, (rc & 0xff) == SQLITE_NOMEM ? MD_ERR_NOMEM : MD_ERR_IO,
                      "store %s: %s: %s", st->path, buf,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* The filters that add a term to the statement, as bits of its shape, in
 * the order their terms (and their bound values) come. */
enum list_term {
    T_IN_PROGRESS,
    T_STATE,
    T_INSTANCE,
    T_HOST,
    T_TYPE,
    T_DRAIN,
    T_SINCE,
    T_BEFORE,
    T_MARKER,
    T_LIMIT,
};
_Static_assert(T_LIMIT + 1 == STORE_LIST_TERMS, "store_priv.h's STORE_LIST_TERMS counts the terms");

/* The shape of f's statement. */
static unsigned list_shape(const md_store_filter *f)
{
    return (unsigned)f->in_progress_only << T_IN_PROGRESS | (unsigned)f->have_state << T_STATE |
           (unsigned)(f->instance_uuid[0] != '\0') << T_INSTANCE |
           (unsigned)(f->host[0] != '\0') << T_HOST |
           (unsigned)(f->migration_type[0] != '\0') << T_TYPE |
           (unsigned)(f->drain_uuid[0] != '\0') << T_DRAIN |
           (unsigned)(f->changes_since != 0) << T_SINCE |
           (unsigned)(f->changes_before != 0) << T_BEFORE |
           (unsigned)(f->marker[0] != '\0') << T_MARKER | (unsigned)(f->limit != 0) << T_LIMIT;
}

/* Prepares the statement of shape on r into *out: persistent when it is
 * to be kept. Under r's lock. */
static md_status list_prepare(md_store *st, store_reader *r, unsigned shape, bool keep,
                              sqlite3_stmt **out, md_err *err)
{
    char sql[1024];
    size_t len = 0;
    bool ok;
    int rc;

#define HAS(t) ((shape >> (t)) & 1u)
    ok = store_sql_append(sql, sizeof sql, &len, store_sql_select_migration) &&
         store_sql_append(sql, sizeof sql, &len, " WHERE 1");
    if (HAS(T_IN_PROGRESS)) {
        /* One placeholder per state in progress, bound from the same
         * definition. */
        const char *sep = " AND state IN (";
        for (int k = 0; k < MD_MIG_NSTATES; k++) {
            if (md_mig_state_in_progress((md_mig_state)k)) {
                ok = ok && store_sql_append(sql, sizeof sql, &len, sep) &&
                     store_sql_append(sql, sizeof sql, &len, "?");
                sep = ", ";
            }
        }
        ok = ok && store_sql_append(sql, sizeof sql, &len, ")");
    }
    if (HAS(T_STATE))
        ok = ok && store_sql_append(sql, sizeof sql, &len, " AND state = ?");
    if (HAS(T_INSTANCE))
        ok = ok && store_sql_append(sql, sizeof sql, &len, " AND instance_uuid = ?");
    if (HAS(T_HOST))
        ok = ok && store_sql_append(sql, sizeof sql, &len,
                                    " AND (source_compute = ? OR dest_compute = ?)");
    if (HAS(T_TYPE))
        ok = ok && store_sql_append(sql, sizeof sql, &len, " AND migration_type = ?");
    if (HAS(T_DRAIN))
        ok = ok && store_sql_append(sql, sizeof sql, &len, " AND drain_uuid = ?");
    if (HAS(T_SINCE))
        ok = ok && store_sql_append(sql, sizeof sql, &len, " AND updated_at >= ?");
    if (HAS(T_BEFORE))
        ok = ok && store_sql_append(sql, sizeof sql, &len, " AND updated_at <= ?");
    if (HAS(T_MARKER))
        ok = ok && store_sql_append(sql, sizeof sql, &len,
                                    " AND (created_at < ? OR (created_at = ? AND id < ?))");
    ok = ok && store_sql_append(sql, sizeof sql, &len, " ORDER BY created_at DESC, id DESC");
    if (HAS(T_LIMIT))
        ok = ok && store_sql_append(sql, sizeof sql, &len, " LIMIT ?");
#undef HAS
    if (!ok)
        return md_err_set(err, MD_ERR_INTERNAL, "store %s: list migrations: query too long",
                          st->path);
    rc = sqlite3_prepare_v3(r->db, sql, (int)len + 1, keep ? SQLITE_PREPARE_PERSISTENT : 0, out,
                            NULL);
    if (rc != SQLITE_OK)
        return reader_fail(st, r->db, err, rc, "list migrations: prepare");
    return MD_OK;
}

/* Binds f's values to s, a statement of f's shape: SQLite's result code. */
static int list_bind(sqlite3_stmt *s, const md_store_filter *f, int64_t marker_id,
                     int64_t marker_created, int *nbound)
{
    int rc = SQLITE_OK, i = 1;

    if (f->in_progress_only) {
        /* The states are named from the one definition of "in progress". */
        for (int k = 0; k < MD_MIG_NSTATES; k++)
            if (md_mig_state_in_progress((md_mig_state)k))
                BIND_NAME(s, i++, md_mig_state_str((md_mig_state)k), &rc);
    }
    if (f->have_state)
        BIND_NAME(s, i++, md_mig_state_str(f->state), &rc);
    if (f->instance_uuid[0])
        BIND_STR(s, i++, f->instance_uuid, &rc);
    if (f->host[0]) {
        BIND_STR(s, i++, f->host, &rc);
        BIND_STR(s, i++, f->host, &rc);
    }
    if (f->migration_type[0])
        BIND_STR(s, i++, f->migration_type, &rc);
    if (f->drain_uuid[0])
        BIND_STR(s, i++, f->drain_uuid, &rc);
    if (f->changes_since)
        store_bind_int(s, i++, f->changes_since, &rc);
    if (f->changes_before)
        store_bind_int(s, i++, f->changes_before, &rc);
    if (f->marker[0]) {
        store_bind_int(s, i++, marker_created, &rc);
        store_bind_int(s, i++, marker_created, &rc);
        store_bind_int(s, i++, marker_id, &rc);
    }
    if (f->limit)
        store_bind_int(s, i++, f->limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)f->limit, &rc);
    *nbound = i - 1;
    return rc;
}

/* The marker's place in the order: MD_OK with its id and created_at, or
 * MD_ERR_NOT_FOUND when it names no record. Under r's lock. */
static md_status list_marker(md_store *st, store_reader *r, const char *marker, int64_t *id,
                             int64_t *created, md_err *err)
{
    md_status status = MD_OK;
    int rc = SQLITE_OK;

    store_bind_str(r->lookup, 1, marker, MD_UUID_LEN, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(r->lookup);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(r->lookup, 0);
        *created = sqlite3_column_int64(r->lookup, 1);
    } else if (rc == SQLITE_DONE) {
        /* An empty page would read as "no more records": a marker that
         * names no record is the caller's error. */
        status = md_err_set(err, MD_ERR_NOT_FOUND,
                            "store %s: list migrations: marker %.36s names no migration", st->path,
                            marker);
    } else {
        status = reader_fail(st, r->db, err, rc, "list migrations: look up marker %.36s", marker);
    }
    store_stmt_done(r->lookup);
    return status;
}

/* A reader for one list, its lock taken: the first free one from a
 * rotating start, so that the threads spread over them, else (all busy)
 * the start's, waiting for it. */
static store_reader *reader_take(md_store *st)
{
    unsigned start = atomic_fetch_add(&st->next_reader, 1u);

    for (unsigned i = 0; i < STORE_READERS; i++) {
        store_reader *r = &st->readers[(start + i) % STORE_READERS];
        if (pthread_mutex_trylock(&r->lock) == 0)
            return r;
    }
    store_reader *r = &st->readers[start % STORE_READERS];
    pthread_mutex_lock(&r->lock);
    return r;
}

md_status md_store_list(md_store *st, const md_store_filter *f, md_migration **out, size_t *n,
                        md_err *err)
{
    static const md_store_filter none;
    md_status status = MD_OK;
    sqlite3_stmt *s = NULL;
    bool kept = false;
    md_migration *ms = NULL;
    size_t count = 0, cap = 0;
    int64_t marker_id = 0, marker_created = 0;
    int rc, nbound = 0;

    *out = NULL;
    *n = 0;
    if (!f)
        f = &none;
    unsigned shape = list_shape(f);

    /* A page of at most MD_MAX_LIST_LIMIT records (the API's pages) gets
     * its array at once: growing it by doubling would copy the records
     * (1.8 KiB each) four times over for a page of 50. */
    if (f->limit && f->limit <= MD_MAX_LIST_LIMIT) {
        if (!(ms = malloc(f->limit * sizeof *ms)))
            return md_err_set(err, MD_ERR_NOMEM, "store %s: list migrations: out of memory",
                              st->path);
        cap = f->limit;
    }

    store_reader *r = reader_take(st);
    if (f->marker[0] &&
        (status = list_marker(st, r, f->marker, &marker_id, &marker_created, err)) != MD_OK)
        goto cleanup;
    s = r->list[shape];
    kept = s != NULL;
    if (!s) {
        bool keep = r->nlist < LIST_KEPT_MAX;
        if ((status = list_prepare(st, r, shape, keep, &s, err)) != MD_OK)
            goto cleanup;
        if (keep) {
            r->list[shape] = s;
            r->nlist++;
            kept = true;
        }
    }

    rc = list_bind(s, f, marker_id, marker_created, &nbound);
    /* A count mismatch would be a bug in list_prepare() or list_bind(). */
    if (rc == SQLITE_OK && nbound != sqlite3_bind_parameter_count(s)) {
        status = md_err_set(err, MD_ERR_INTERNAL,
                            "store %s: list migrations: bound %d of %d parameters", st->path,
                            nbound, sqlite3_bind_parameter_count(s));
        goto cleanup;
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if ((status = store_grow((void **)&ms, &cap, count, sizeof *ms)) != MD_OK) {
            md_err_set(err, status, "store %s: list migrations: out of memory", st->path);
            goto cleanup;
        }
        if ((status = store_read_migration(st, s, &ms[count], err)) != MD_OK)
            goto cleanup;
        count++;
    }
    if (rc != SQLITE_DONE) {
        status = reader_fail(st, r->db, err, rc, "list migrations");
        goto cleanup;
    }
    if (count == 0) {
        /* As before: no records, no array. */
        free(ms);
        ms = NULL;
    }
    *out = ms;
    *n = count;
    ms = NULL;

cleanup:
    if (kept)
        store_stmt_done(s);
    else
        sqlite3_finalize(s);
    pthread_mutex_unlock(&r->lock);
    free(ms);
    return status;
}

md_status store_list_open(md_store *st, int busy_ms, md_err *err)
{
    for (size_t i = 0; i < STORE_READERS; i++) {
        store_reader *r = &st->readers[i];
        int rc;

        if (pthread_mutex_init(&r->lock, NULL) != 0)
            return md_err_set(err, MD_ERR_NOMEM, "store %s: cannot create a mutex", st->path);
        r->lock_made = true;
        /* Read-only: a bug here can not write to the records. NOMUTEX as
         * the store's own connection: r->lock serialises its use. */
        rc = sqlite3_open_v2(st->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
            return reader_fail(st, r->db, err, rc, "open a connection for lists");
        sqlite3_extended_result_codes(r->db, 1);
        sqlite3_busy_timeout(r->db, busy_ms);
        rc = sqlite3_prepare_v3(r->db, SQL_LOOKUP, -1, SQLITE_PREPARE_PERSISTENT, &r->lookup, NULL);
        if (rc != SQLITE_OK)
            return reader_fail(st, r->db, err, rc, "prepare \"%.40s\"", SQL_LOOKUP);
    }
    return MD_OK;
}

void store_list_close(md_store *st)
{
    for (size_t i = 0; i < STORE_READERS; i++) {
        store_reader *r = &st->readers[i];

        for (size_t k = 0; k < STORE_LIST_SHAPES; k++) {
            sqlite3_finalize(r->list[k]);
            r->list[k] = NULL;
        }
        r->nlist = 0;
        sqlite3_finalize(r->lookup);
        r->lookup = NULL;
        /* With its statements finalized, close can not fail for being
         * busy; a NULL connection (never opened) is accepted. */
        sqlite3_close(r->db);
        r->db = NULL;
        if (r->lock_made)
            pthread_mutex_destroy(&r->lock);
        r->lock_made = false;
    }
}
