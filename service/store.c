/* store.c - the store's SQLite file: open, schema and upgrades, probe, close,
 * and the helpers that store_migrations.c and store_drain.c share.
 *
 * DESIGN: one connection per md_store, guarded by one pthread mutex that is
 * held for the whole of each call. SQLite's own FULLMUTEX mode would only
 * serialise single library calls, but a call here is a sequence of them
 * (bind, step, reset; BEGIN ... COMMIT) on shared prepared statements, and
 * two threads interleaving inside that sequence would corrupt each other's
 * bindings and transactions. So the connection is opened NOMUTEX and the
 * store's mutex does the serialising; the daemon writes a few records per
 * second, so one connection is plenty.
 *
 * The statements used on every request are prepared once at open and kept;
 * after each use they are reset (ending their read transaction, so the WAL
 * can be checkpointed) and their bindings cleared. Each file of the store
 * lists its own (store_migrations_prepared, store_drain_prepared); the
 * purge, which runs once an hour (or once a monitor pass while it works
 * through a backlog), prepares its own per call.
 *
 * The list of records, the API's most frequent request, is the exception
 * to the one connection: store_list.c reads it through read-only
 * connections of its own (its DESIGN says why), opened last at open and
 * closed first at close.
 *
 * Open checks the file before writing anything to it (not even the WAL
 * switch, which rewrites the header): a file that is not a database, is
 * corrupt, belongs to another application or has a newer schema is refused
 * and left exactly as it was, because the records in it may be the only
 * account of migrations that are still running.
 */
#include "service/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/store_priv.h"

/* PRAGMA application_id of our files: 'MIGD'. It lets open tell a
 * migrationd database from any other SQLite file. */
#define MD_STORE_APP_ID 0x4D494744

/* How long a call waits for a lock held by another connection (another
 * process on the same file, e.g. an operator's sqlite3 shell). The engine
 * calls the store under its lock, which stops the monitor and the API for
 * as long as the call waits: so the wait is short, a lock held for longer
 * is the engine's to retry (its pending writes, service/engine_store.c),
 * and the busy wait at open, before any thread, may be long. */
#define MD_STORE_BUSY_MS 200
#define MD_STORE_OPEN_BUSY_MS 5000

/* The schema upgrade steps, in order: upgrades[v] takes a database from
 * version v to v + 1. A new schema version is one more entry here; open
 * applies every missing step in one transaction. */
static const char *const upgrades[] = {
    /* v0 -> v1: the first schema. Every column is NOT NULL: "no value" has
     * an explicit encoding in md_migration (0, -1 or ""), and a NULL read
     * back would be a second, ambiguous spelling of it. */
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
    "CREATE INDEX events_by_migration ON events(migration_id, id);",
    /* v1 -> v2: post-copy recovery and durable commands. The new columns
     * get their "none" values for the records already there; a command is
     * pending until done is 1, and the partial index keeps the read of the
     * pending ones at start-up from scanning every command ever given. */
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
    "CREATE INDEX commands_by_migration ON commands(migration_id);",
    /* v2 -> v3: host drains (service/drain.h, store_drain.c). A migration
     * names the drain that started it ('' for every record already there:
     * none did) and whether the drain's plan wants post-copy after its
     * first pass. A drain's destinations are one column, the names joined
     * by newlines: a peer's name can hold no newline (md_peer_name_ok), and
     * the list is only ever read whole. Its guests are rows of their own,
     * numbered by their place in the list, and go with the drain, as its
     * events do. Enums are stored by name, as for migrations. */
    "ALTER TABLE migrations ADD COLUMN drain_uuid TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE migrations ADD COLUMN post_copy_after_first_pass INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX migrations_by_drain ON migrations(drain_uuid);"
    "CREATE TABLE drains ("
    " id INTEGER PRIMARY KEY,"
    " uuid TEXT NOT NULL UNIQUE,"
    " state TEXT NOT NULL,"
    " source_compute TEXT NOT NULL,"
    " dests TEXT NOT NULL,"
    " deadline_s INTEGER NOT NULL,"
    " permit_post_copy INTEGER NOT NULL,"
    " max_parallel INTEGER NOT NULL,"
    " strict INTEGER NOT NULL,"
    " abort_running INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " deadline_at INTEGER NOT NULL,"
    " predicted_end_at INTEGER NOT NULL,"
    " ended_at INTEGER NOT NULL,"
    " feasible INTEGER NOT NULL,"
    " parallel INTEGER NOT NULL,"
    " error TEXT NOT NULL,"
    " block_migration INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE drain_guests ("
    " drain_id INTEGER NOT NULL REFERENCES drains(id) ON DELETE CASCADE,"
    " position INTEGER NOT NULL,"
    " instance_uuid TEXT NOT NULL,"
    " instance_name TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " migration_uuid TEXT NOT NULL,"
    " dest_compute TEXT NOT NULL,"
    " mode TEXT NOT NULL,"
    " start_order INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " ram_bytes INTEGER NOT NULL,"
    " dirty_rate INTEGER NOT NULL,"
    " disk_bytes INTEGER NOT NULL,"
    " predicted_ms INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL,"
    " ended_at INTEGER NOT NULL,"
    " error TEXT NOT NULL,"
    " PRIMARY KEY (drain_id, position)"
    ");"
    "CREATE TABLE drain_events ("
    " id INTEGER PRIMARY KEY,"
    " drain_id INTEGER NOT NULL REFERENCES drains(id) ON DELETE CASCADE,"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " value INTEGER NOT NULL,"
    " message TEXT NOT NULL"
    ");"
    "CREATE INDEX drains_by_created ON drains(created_at DESC, id DESC);"
    "CREATE INDEX drains_by_state ON drains(state);"
    "CREATE INDEX drain_events_by_drain ON drain_events(drain_id, id);",
};

/* The schema version this build writes: the number of upgrade steps. */
#define MD_STORE_SCHEMA_VERSION ((int)(sizeof upgrades / sizeof upgrades[0]))

/* The statements prepared at open, with where each one is kept: the
 * transaction's own here, the records' in store_migrations.c and
 * store_drain.c. */
static const store_stmt_def prepared[] = {
    { offsetof(md_store, begin), "BEGIN IMMEDIATE" },
    { offsetof(md_store, commit), "COMMIT" },
    { offsetof(md_store, rollback), "ROLLBACK" },
};

/* Formats "store PATH: WHAT: sqlite's message" into err and returns the
 * status for the sqlite result code rc (an extended code). */
__attribute__((format(printf, 4, 5))) md_status store_fail(md_store *st, md_err *err, int rc,
                                                           const char *what, ...)
{
    char buf[256];
    va_list ap;
    md_status status = MD_ERR_IO;

    va_start(ap, what);
    vsnprintf(buf, sizeof buf, what, ap);
    va_end(ap);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        status = MD_ERR_CONFLICT;
    else if ((rc & 0xff) == SQLITE_NOMEM)
        status = MD_ERR_NOMEM;
    return md_err_set(err, status, "store %s: %s: %s", st->path, buf,
                      st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
}

/* Makes a cached statement ready for its next use. Its return value only
 * repeats the error the last step already reported. */
void store_stmt_done(sqlite3_stmt *s)
{
    if (!s)
        return;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Ends a failed call's transaction, if one is still open. COMMIT leaves
 * the transaction open when it fails (e.g. busy), so the test is the
 * connection's own state rather than a flag of ours. */
void store_rollback_if_open(md_store *st)
{
    if (sqlite3_get_autocommit(st->db))
        return;
    sqlite3_step(st->rollback);
    store_stmt_done(st->rollback);
}

/* Runs a cached statement that returns no rows (BEGIN, COMMIT). */
int store_run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- binding and reading records ------------------------------------------ */

/* The bind helpers do nothing once *rc holds an error, so that a binder
 * is a flat list of calls with one check at the end. */
void store_bind_str(sqlite3_stmt *s, int i, const char *v, size_t cap, int *rc)
{
    /* strnlen: a field that lost its terminator is bound cut at its size
     * rather than read past its end. */
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_text(s, i, v, (int)strnlen(v, cap), SQLITE_STATIC);
}

void store_bind_int(sqlite3_stmt *s, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(s, i, v);
}

/* uint64 values are stored as their int64 bit pattern: every value we
 * store fits in int64 anyway, and the cast back in store_col_u64() restores any
 * other exactly. */
void store_bind_u64(sqlite3_stmt *s, int i, uint64_t v, int *rc)
{
    store_bind_int(s, i, (int64_t)v, rc);
}

/* A NULL text (only possible for the NULL events of the LEFT JOIN) reads
 * as "". */
void store_col_str(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(s, i);

    md_strlcpy(dst, v ? (const char *)v : "", cap);
}

uint64_t store_col_u64(sqlite3_stmt *s, int i)
{
    return (uint64_t)sqlite3_column_int64(s, i);
}

/* Makes room for one more element in a growing array. */
md_status store_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return MD_OK;
    ncap = *cap ? *cap * 2 : 16;
    if (ncap < *cap || ncap > SIZE_MAX / elem)
        return MD_ERR_NOMEM;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return MD_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return MD_OK;
}

/* ---- open and schema ------------------------------------------------------ */

/* Runs a statement that yields one integer (an integer PRAGMA, a count). */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    if (rc != SQLITE_OK)
        goto cleanup;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }

cleanup:
    sqlite3_finalize(s);
    return rc;
}

/* Runs a statement that yields one text value into buf. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    buf[0] = '\0';
    if (rc != SQLITE_OK)
        goto cleanup;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        store_col_str(s, 0, buf, cap);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }

cleanup:
    sqlite3_finalize(s);
    return rc;
}

/* A failure of the first reads of the file: a damaged header or page is a
 * refusal to touch the file, anything else is an I/O error. */
static md_status open_read_fail(md_store *st, md_err *err, int rc, const char *what)
{
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return md_err_set(err, MD_ERR_INVALID,
                          "store %s: the file is not a SQLite database or is corrupt (%s); "
                          "it will not be replaced",
                          st->path, sqlite3_errmsg(st->db));
    return store_fail(st, err, rc, "%s", what);
}

/* A schema this build can use: any version up to its own. A newer one
 * has columns or meanings this build would silently drop on update. */
static md_status check_version(md_store *st, int64_t version, md_err *err)
{
    if (version > MD_STORE_SCHEMA_VERSION)
        return md_err_set(err, MD_ERR_INVALID,
                          "store %s: schema version %lld is newer than version %d of this "
                          "build; run a newer migrationd",
                          st->path, (long long)version, MD_STORE_SCHEMA_VERSION);
    if (version < 0)
        return md_err_set(err, MD_ERR_INVALID,
                          "store %s: schema version %lld is not a version of migrationd; "
                          "the file will not be replaced",
                          st->path, (long long)version);
    return MD_OK;
}

/* Reads the file and decides whether we may use it, before anything is
 * written to it. Sets *version to its schema version. */
static md_status check_file(md_store *st, int64_t *version, md_err *err)
{
    md_status status = MD_OK;
    int64_t app_id = 0, objects = 0;
    char result[256];
    int rc;

    /* The first read of the header: a file that is not a database fails
     * here with SQLITE_NOTADB. */
    rc = query_int(st->db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK)
        rc = query_int(st->db, "PRAGMA user_version", version);
    if (rc == SQLITE_OK)
        rc = query_int(st->db, "SELECT count(*) FROM sqlite_master", &objects);
    if (rc != SQLITE_OK) {
        status = open_read_fail(st, err, rc, "read the header");
        goto cleanup;
    }
    /* quick_check reads every page but skips the index-to-table cross
     * checks of integrity_check: O(size), acceptable once per start for
     * a file of migration records. */
    rc = query_text(st->db, "PRAGMA quick_check", result, sizeof result);
    if (rc != SQLITE_OK) {
        status = open_read_fail(st, err, rc, "check integrity");
        goto cleanup;
    }
    if (strcmp(result, "ok") != 0) {
        status = md_err_set(err, MD_ERR_INVALID,
                            "store %s: the file is corrupt (integrity check: %s); "
                            "it will not be replaced",
                            st->path, result);
        goto cleanup;
    }
    /* An empty file (or one with nothing in it yet) is ours to set up;
     * anything else must carry our application_id. */
    if (app_id != MD_STORE_APP_ID && (app_id != 0 || objects > 0 || *version != 0)) {
        status = md_err_set(err, MD_ERR_INVALID,
                            "store %s: not a migrationd database (application_id 0x%08llx, "
                            "%lld schema objects); it will not be replaced",
                            st->path, (unsigned long long)(uint32_t)app_id, (long long)objects);
        goto cleanup;
    }
    status = check_version(st, *version, err);

cleanup:
    return status;
}

/* Sets the connection up: WAL, synchronous=NORMAL, foreign keys. Only
 * called once check_file() has accepted the file. */
static md_status configure(md_store *st, md_err *err)
{
    md_status status = MD_OK;
    char mode[32];
    int rc;

    /* WAL lets readers go on while a writer commits, and with
     * synchronous=NORMAL a commit is durable against a crash of the
     * process (not of the machine) without an fsync per commit. Some file
     * systems can not do WAL; SQLite then keeps the old mode silently, so
     * the answer is checked. */
    rc = query_text(st->db, "PRAGMA journal_mode=WAL", mode, sizeof mode);
    if (rc != SQLITE_OK) {
        status = store_fail(st, err, rc, "set journal_mode=WAL");
        goto cleanup;
    }
    if (strcmp(mode, "wal") != 0) {
        status = md_err_set(err, MD_ERR_IO,
                            "store %s: journal_mode=WAL not possible here (mode is '%s')", st->path,
                            mode);
        goto cleanup;
    }
    rc =
        sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = store_fail(st, err, rc, "set synchronous and foreign_keys");
        goto cleanup;
    }

cleanup:
    return status;
}

/* Brings the schema from its version to MD_STORE_SCHEMA_VERSION in one
 * transaction: a crash in the middle leaves the old version, never half
 * of a new one. */
static md_status upgrade(md_store *st, md_err *err)
{
    md_status status = MD_OK;
    int64_t version = 0;
    char sql[96];
    int rc;

    rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = store_fail(st, err, rc, "begin schema upgrade");
        goto cleanup;
    }
    /* Read again under the write lock: another process may have upgraded
     * the file since check_file() looked. */
    rc = query_int(st->db, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK) {
        status = store_fail(st, err, rc, "read schema version");
        goto cleanup;
    }
    if ((status = check_version(st, version, err)) != MD_OK)
        goto cleanup;
    for (int64_t v = version; v < MD_STORE_SCHEMA_VERSION; v++) {
        rc = sqlite3_exec(st->db, upgrades[v], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            status = store_fail(st, err, rc, "upgrade schema from version %lld", (long long)v);
            goto cleanup;
        }
    }
    /* PRAGMA takes no bound parameters; both numbers are our own
     * compile-time constants, not values from outside. */
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
             MD_STORE_SCHEMA_VERSION, MD_STORE_APP_ID);
    rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        status = store_fail(st, err, rc, "commit schema version %d", MD_STORE_SCHEMA_VERSION);
        goto cleanup;
    }

cleanup:
    if (status != MD_OK && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

/* Prepares the n statements of defs into their places in st. */
static md_status prepare_all(md_store *st, const store_stmt_def *defs, size_t n, md_err *err)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)st + defs[i].offset);
        int rc = sqlite3_prepare_v3(st->db, defs[i].sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);

        if (rc != SQLITE_OK)
            return store_fail(st, err, rc, "prepare \"%.40s\"", defs[i].sql);
    }
    return MD_OK;
}

/* Finalizes the statements of defs; those never prepared are NULL, which
 * sqlite3_finalize() accepts. */
static void finalize_all(md_store *st, const store_stmt_def *defs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sqlite3_finalize(*(sqlite3_stmt **)((char *)st + defs[i].offset));
}

md_status md_store_open(const char *path, md_store **out, md_err *err)
{
    md_status status = MD_OK;
    md_store *st = NULL;
    int64_t version = 0;
    int rc;

    *out = NULL;
    /* The connection is used without SQLite's mutex (see DESIGN above),
     * which is only allowed when the library is built thread-safe. */
    if (!sqlite3_threadsafe()) {
        status = md_err_set(err, MD_ERR_INTERNAL,
                            "store %s: the SQLite library is built without thread support", path);
        goto cleanup;
    }
    st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        st = NULL;
        status = md_err_set(err, MD_ERR_NOMEM, "store %s: out of memory", path);
        goto cleanup;
    }
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st->path);
        free(st);
        st = NULL;
        status = md_err_set(err, MD_ERR_NOMEM, "store %s: cannot create a mutex", path);
        goto cleanup;
    }
    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        status = md_err_set(err, MD_ERR_IO, "store %s: cannot open: %s", path,
                            st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto cleanup;
    }
    /* READWRITE silently falls back to read-only on a write-protected
     * file; the daemon would then fail at its first write instead. */
    if (sqlite3_db_readonly(st->db, "main") == 1) {
        status = md_err_set(err, MD_ERR_IO, "store %s: the file is read-only", path);
        goto cleanup;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, MD_STORE_OPEN_BUSY_MS);

    if ((status = check_file(st, &version, err)) != MD_OK)
        goto cleanup;
    if ((status = configure(st, err)) != MD_OK)
        goto cleanup;
    /* An up-to-date file needs no write lock at every start. */
    if (version < MD_STORE_SCHEMA_VERSION && (status = upgrade(st, err)) != MD_OK)
        goto cleanup;

    if ((status = prepare_all(st, prepared, sizeof prepared / sizeof prepared[0], err)) != MD_OK ||
        (status = prepare_all(st, store_migrations_prepared, store_migrations_nprepared, err)) !=
            MD_OK ||
        (status = prepare_all(st, store_drain_prepared, store_drain_nprepared, err)) != MD_OK ||
        (status = store_list_open(st, MD_STORE_BUSY_MS, err)) != MD_OK)
        goto cleanup;
    sqlite3_busy_timeout(st->db, MD_STORE_BUSY_MS);
    *out = st;
    st = NULL;

cleanup:
    md_store_close(st);
    return status;
}

md_status md_store_probe(md_store *st, md_err *err)
{
    md_status status = MD_OK;
    int rc;

    char sql[64];

    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", MD_STORE_SCHEMA_VERSION);
    pthread_mutex_lock(&st->lock);
    /* A write of one page (the header's user_version, set to what it is):
     * an empty transaction would pass on a full disk too. */
    if ((rc = store_run(st->begin)) != SQLITE_OK)
        status = store_fail(st, err, rc, "take the write lock");
    else if ((rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
        status = store_fail(st, err, rc, "write the header");
    else if ((rc = store_run(st->commit)) != SQLITE_OK)
        status = store_fail(st, err, rc, "commit");
    store_rollback_if_open(st);
    pthread_mutex_unlock(&st->lock);
    return status;
}

void md_store_close(md_store *st)
{
    if (!st)
        return;
    finalize_all(st, prepared, sizeof prepared / sizeof prepared[0]);
    finalize_all(st, store_migrations_prepared, store_migrations_nprepared);
    finalize_all(st, store_drain_prepared, store_drain_nprepared);
    store_list_close(st);
    /* The last connection to close checkpoints the WAL into the file. With
     * every statement finalized, close can not fail for being busy. */
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st);
}

/* ---- events, for store_migrations.c and store_drain.c --------------------- */

md_status store_add_event_locked(md_store *st, sqlite3_stmt *s, const char *what, const char *uuid,
                                 md_event *ev, md_err *err)
{
    md_status status = MD_OK;
    int rc = SQLITE_OK;

    store_bind_str(s, 1, uuid, MD_UUID_LEN, &rc);
    store_bind_int(s, 2, ev->at, &rc);
    BIND_STR(s, 3, ev->kind, &rc);
    store_bind_int(s, 4, ev->value, &rc);
    BIND_STR(s, 5, ev->message, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "add event to %s %.36s", what, uuid);
        goto cleanup;
    }
    if (sqlite3_changes(st->db) == 0) {
        status = md_err_set(err, MD_ERR_NOT_FOUND,
                            "store %s: add event to %s %.36s: no such record", st->path, what,
                            uuid);
        goto cleanup;
    }
    ev->id = sqlite3_last_insert_rowid(st->db);

cleanup:
    store_stmt_done(s);
    return status;
}

md_status store_events_page_locked(md_store *st, sqlite3_stmt *s, const char *what,
                                   const char *uuid, int64_t after_id, size_t limit, md_event **out,
                                   size_t *n, md_err *err)
{
    md_status status = MD_OK;
    md_event *evs = NULL;
    size_t count = 0, cap = 0;
    bool found = false;
    int rc = SQLITE_OK;

    *out = NULL;
    *n = 0;
    store_bind_str(s, 1, uuid, MD_UUID_LEN, &rc);
    store_bind_int(s, 2, after_id, &rc);
    /* SQLite reads a negative LIMIT as none. */
    store_bind_int(s, 3, limit == 0 || limit > (size_t)INT64_MAX ? -1 : (int64_t)limit, &rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        found = true;
        rc = SQLITE_OK;
        /* The LEFT JOIN's single row for a record without events. */
        if (sqlite3_column_type(s, 1) == SQLITE_NULL)
            continue;
        if ((status = store_grow((void **)&evs, &cap, count, sizeof *evs)) != MD_OK) {
            md_err_set(err, status, "store %s: events of %s %.36s: out of memory", st->path, what,
                       uuid);
            goto cleanup;
        }
        md_event *ev = &evs[count++];
        memset(ev, 0, sizeof *ev);
        ev->id = sqlite3_column_int64(s, 1);
        ev->at = sqlite3_column_int64(s, 2);
        COL_STR(s, 3, ev->kind);
        ev->value = sqlite3_column_int64(s, 4);
        COL_STR(s, 5, ev->message);
    }
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "read events of %s %.36s", what, uuid);
        goto cleanup;
    }
    if (!found) {
        status = md_err_set(err, MD_ERR_NOT_FOUND, "store %s: events of %s %.36s: no such record",
                            st->path, what, uuid);
        goto cleanup;
    }
    *out = evs;
    *n = count;
    evs = NULL;

cleanup:
    store_stmt_done(s);
    free(evs);
    return status;
}

/* Appends a fixed fragment to the statement text being built. */
bool store_sql_append(char *buf, size_t cap, size_t *len, const char *frag)
{
    size_t fl = strlen(frag);

    if (*len + fl >= cap)
        return false;
    memcpy(buf + *len, frag, fl + 1);
    *len += fl;
    return true;
}
