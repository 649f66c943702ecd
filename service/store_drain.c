/* store_drain.c - durable drains: the drain, its guests and its events.
 *
 * DESIGN: a drain is three tables (schema version 3, store.c): one row of
 * drains, one row of drain_guests per guest, numbered by its place in the
 * list, and its timeline in drain_events. A drain is small (at most
 * MD_DRAIN_MAX_GUESTS guests) and is written when something happens to
 * it (a plan, a guest's start or end), a few times a minute at most, so
 * an update simply replaces every guest row: the guest list may change
 * size between two writes, and one rule for every write is simpler to
 * trust than a diff. Each write is one transaction, so a reader never sees
 * a drain with half of its guests.
 *
 * As in store_migrations.c, the column order of each table is an enum below: the
 * same index is the bind parameter ?N of the INSERT and UPDATE and the
 * result column N of the SELECT, so the three can not drift apart. Enums
 * are stored by name, and a name this build does not know is
 * MD_ERR_INVALID on read rather than a guess.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/store_priv.h"

/* The columns of drains after id (bind parameter = result column). */
enum drain_col {
    D_UUID = 1,
    D_STATE,
    D_SOURCE_COMPUTE,
    D_DESTS,
    D_DEADLINE_S,
    D_PERMIT_POST_COPY,
    D_MAX_PARALLEL,
    D_STRICT,
    D_ABORT_RUNNING,
    D_CREATED_AT,
    D_UPDATED_AT,
    D_DEADLINE_AT,
    D_PREDICTED_END_AT,
    D_ENDED_AT,
    D_FEASIBLE,
    D_PARALLEL,
    D_ERROR,
    D_BLOCK_MIGRATION,
};

#define DRAIN_COLUMNS                                                                  \
    "uuid, state, source_compute, dests, deadline_s, permit_post_copy, max_parallel, " \
    "strict, abort_running, created_at, updated_at, deadline_at, predicted_end_at, "   \
    "ended_at, feasible, parallel, error, block_migration"
#define DRAIN_PARAMS \
    "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18"
_Static_assert(D_BLOCK_MIGRATION == 18, "DRAIN_COLUMNS and DRAIN_PARAMS list 18 columns");

#define SQL_SELECT_DRAIN "SELECT id, " DRAIN_COLUMNS " FROM drains"

/* The columns of drain_guests (bind parameter = result column after the
 * rowid). */
enum guest_col {
    G_DRAIN_ID = 1,
    G_POSITION,
    G_INSTANCE_UUID,
    G_INSTANCE_NAME,
    G_STATE,
    G_MIGRATION_UUID,
    G_DEST_COMPUTE,
    G_MODE,
    G_START_ORDER,
    G_ATTEMPTS,
    G_RAM_BYTES,
    G_DIRTY_RATE,
    G_DISK_BYTES,
    G_PREDICTED_MS,
    G_STARTED_AT,
    G_ENDED_AT,
    G_ERROR,
};

#define GUEST_COLUMNS                                                                \
    "drain_id, position, instance_uuid, instance_name, state, migration_uuid, "      \
    "dest_compute, mode, start_order, attempts, ram_bytes, dirty_rate, disk_bytes, " \
    "predicted_ms, started_at, ended_at, error"
#define GUEST_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17"
_Static_assert(G_ERROR == 17, "GUEST_COLUMNS and GUEST_PARAMS list 17 columns");

const store_stmt_def store_drain_prepared[] = {
    { offsetof(md_store, drain_insert),
      "INSERT INTO drains (" DRAIN_COLUMNS ") VALUES (" DRAIN_PARAMS ")" },
    /* As for migrations: uuid = ?1 where uuid = ?1 lets the UPDATE share
     * the INSERT's numbering and binder. */
    { offsetof(md_store, drain_update),
      "UPDATE drains SET (" DRAIN_COLUMNS ") = (" DRAIN_PARAMS ") WHERE uuid = ?1" },
    { offsetof(md_store, drain_get), SQL_SELECT_DRAIN " WHERE uuid = ?1" },
    { offsetof(md_store, drain_lookup), "SELECT id, created_at FROM drains WHERE uuid = ?1" },
    { offsetof(md_store, drain_guests),
      "SELECT rowid, " GUEST_COLUMNS " FROM drain_guests WHERE drain_id = ?1 ORDER BY position" },
    { offsetof(md_store, drain_guest_insert),
      "INSERT INTO drain_guests (" GUEST_COLUMNS ") VALUES (" GUEST_PARAMS ")" },
    { offsetof(md_store, drain_guests_delete), "DELETE FROM drain_guests WHERE drain_id = ?1" },
    /* As for a migration's events: the drain's id comes from the SELECT,
     * so an unknown uuid is a zero-row insert, and the page is one
     * statement with one row of NULL events for a drain without any. */
    { offsetof(md_store, drain_add_event),
      "INSERT INTO drain_events (drain_id, at, kind, value, message)"
      " SELECT id, ?2, ?3, ?4, ?5 FROM drains WHERE uuid = ?1" },
    { offsetof(md_store, drain_events),
      "SELECT d.id, e.id, e.at, e.kind, e.value, e.message"
      " FROM drains AS d LEFT JOIN drain_events AS e ON e.drain_id = d.id AND e.id > ?2"
      " WHERE d.uuid = ?1 ORDER BY e.id LIMIT ?3" },
};

const size_t store_drain_nprepared = sizeof store_drain_prepared / sizeof store_drain_prepared[0];

/* The stored names of plan_mode. They are the file's format, so they are
 * written here rather than taken from plan_mode_str(), whose strings are
 * the API's and may change with it. */
static const char *const mode_names[] = { "pre-copy", "post-copy" };
_Static_assert(PLAN_PRECOPY == 0 && PLAN_POSTCOPY == 1, "mode_names follows plan_mode");

static bool mode_ok(plan_mode m)
{
    return (unsigned)m < sizeof mode_names / sizeof mode_names[0];
}

static int mode_parse(const char *name, plan_mode *out)
{
    for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++) {
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (plan_mode)i;
            return 0;
        }
    }
    return -1;
}

/* The destinations as they are stored: the names joined by newlines. */
typedef struct dests_text {
    char s[MD_DRAIN_MAX_DESTS * MD_NAME_LEN];
} dests_text;

/* Refuses a drain that could not be read back as it was given: an enum
 * without a name, more destinations than the record holds, or a
 * destination that would split in two (a newline) or vanish (empty). */
static md_status check_drain(md_store *st, const md_drain *d, const char *doing, md_err *err)
{
    if ((unsigned)d->state >= MD_DRAIN_NSTATES)
        return md_err_set(err, MD_ERR_INVALID, "store %s: %s drain %.36s: state %d out of range",
                          st->path, doing, d->uuid, (int)d->state);
    if (d->ndests > MD_DRAIN_MAX_DESTS)
        return md_err_set(err, MD_ERR_INVALID,
                          "store %s: %s drain %.36s: %zu destinations, at most %d", st->path, doing,
                          d->uuid, d->ndests, MD_DRAIN_MAX_DESTS);
    for (size_t i = 0; i < d->ndests; i++) {
        if (d->dests[i][0] == '\0' || memchr(d->dests[i], '\n', sizeof d->dests[i]))
            return md_err_set(err, MD_ERR_INVALID,
                              "store %s: %s drain %.36s: destination %zu is empty or holds a "
                              "newline",
                              st->path, doing, d->uuid, i);
    }
    if (d->nguests > 0 && !d->guests)
        return md_err_set(err, MD_ERR_INVALID, "store %s: %s drain %.36s: %zu guests, no array",
                          st->path, doing, d->uuid, d->nguests);
    for (size_t i = 0; i < d->nguests; i++) {
        const md_drain_guest *g = &d->guests[i];

        if ((unsigned)g->state >= MD_DG_NSTATES || !mode_ok(g->mode))
            return md_err_set(err, MD_ERR_INVALID,
                              "store %s: %s drain %.36s: guest %zu: state or mode out of range",
                              st->path, doing, d->uuid, i);
    }
    return MD_OK;
}

static void join_dests(const md_drain *d, dests_text *t)
{
    size_t len = 0;

    t->s[0] = '\0';
    for (size_t i = 0; i < d->ndests; i++) {
        size_t n = strnlen(d->dests[i], sizeof d->dests[i] - 1);

        /* Fits: MD_DRAIN_MAX_DESTS names of at most MD_NAME_LEN - 1
         * characters, each with one separator or the terminator. */
        if (i > 0)
            t->s[len++] = '\n';
        memcpy(t->s + len, d->dests[i], n);
        len += n;
        t->s[len] = '\0';
    }
}

/* Splits the stored destinations into d. MD_ERR_INVALID for more than the
 * record holds (a hand-edited row; this build's writes never make one). */
static md_status split_dests(md_store *st, const char *text, md_drain *d, md_err *err)
{
    const char *p = text;

    d->ndests = 0;
    while (*p) {
        size_t n = strcspn(p, "\n");

        if (d->ndests == MD_DRAIN_MAX_DESTS)
            return md_err_set(err, MD_ERR_INVALID, "store %s: drain %s: more than %d destinations",
                              st->path, d->uuid, MD_DRAIN_MAX_DESTS);
        if (n >= sizeof d->dests[0])
            n = sizeof d->dests[0] - 1;
        memcpy(d->dests[d->ndests], p, n);
        d->dests[d->ndests][n] = '\0';
        d->ndests++;
        p += strcspn(p, "\n");
        if (*p == '\n')
            p++;
    }
    return MD_OK;
}

/* Binds every field of d but id, its guests and its destinations (the
 * caller binds t, which must outlive the step) as enum drain_col. */
static int bind_drain(sqlite3_stmt *s, const md_drain *d, const dests_text *t)
{
    int rc = SQLITE_OK;

    BIND_STR(s, D_UUID, d->uuid, &rc);
    BIND_NAME(s, D_STATE, md_drain_state_str(d->state), &rc);
    BIND_STR(s, D_SOURCE_COMPUTE, d->source_compute, &rc);
    BIND_STR(s, D_DESTS, t->s, &rc);
    store_bind_int(s, D_DEADLINE_S, d->deadline_s, &rc);
    store_bind_int(s, D_PERMIT_POST_COPY, d->permit_post_copy, &rc);
    store_bind_int(s, D_MAX_PARALLEL, d->max_parallel, &rc);
    store_bind_int(s, D_STRICT, d->strict, &rc);
    store_bind_int(s, D_ABORT_RUNNING, d->abort_running, &rc);
    store_bind_int(s, D_BLOCK_MIGRATION, d->block_migration, &rc);
    store_bind_int(s, D_CREATED_AT, d->created_at, &rc);
    store_bind_int(s, D_UPDATED_AT, d->updated_at, &rc);
    store_bind_int(s, D_DEADLINE_AT, d->deadline_at, &rc);
    store_bind_int(s, D_PREDICTED_END_AT, d->predicted_end_at, &rc);
    store_bind_int(s, D_ENDED_AT, d->ended_at, &rc);
    store_bind_int(s, D_FEASIBLE, d->feasible, &rc);
    store_bind_int(s, D_PARALLEL, d->parallel, &rc);
    BIND_STR(s, D_ERROR, d->error, &rc);
    return rc;
}

static int bind_guest(sqlite3_stmt *s, int64_t drain_id, size_t pos, const md_drain_guest *g)
{
    int rc = SQLITE_OK;

    store_bind_int(s, G_DRAIN_ID, drain_id, &rc);
    store_bind_int(s, G_POSITION, (int64_t)pos, &rc);
    BIND_STR(s, G_INSTANCE_UUID, g->instance_uuid, &rc);
    BIND_STR(s, G_INSTANCE_NAME, g->instance_name, &rc);
    BIND_NAME(s, G_STATE, md_drain_guest_state_str(g->state), &rc);
    BIND_STR(s, G_MIGRATION_UUID, g->migration_uuid, &rc);
    BIND_STR(s, G_DEST_COMPUTE, g->dest_compute, &rc);
    BIND_NAME(s, G_MODE, mode_names[g->mode], &rc);
    store_bind_int(s, G_START_ORDER, g->order, &rc);
    store_bind_int(s, G_ATTEMPTS, g->attempts, &rc);
    store_bind_u64(s, G_RAM_BYTES, g->ram_bytes, &rc);
    store_bind_u64(s, G_DIRTY_RATE, g->dirty_rate, &rc);
    store_bind_u64(s, G_DISK_BYTES, g->disk_bytes, &rc);
    store_bind_int(s, G_PREDICTED_MS, g->predicted_ms, &rc);
    store_bind_int(s, G_STARTED_AT, g->started_at, &rc);
    store_bind_int(s, G_ENDED_AT, g->ended_at, &rc);
    BIND_STR(s, G_ERROR, g->error, &rc);
    return rc;
}

/* Writes d's guests as the guests of drain_id (which has none now).
 * Under the lock, in the caller's transaction. */
static md_status insert_guests_locked(md_store *st, int64_t drain_id, const md_drain *d,
                                      md_err *err)
{
    sqlite3_stmt *s = st->drain_guest_insert;

    for (size_t i = 0; i < d->nguests; i++) {
        int rc = bind_guest(s, drain_id, i, &d->guests[i]);

        if (rc == SQLITE_OK)
            rc = sqlite3_step(s);
        store_stmt_done(s);
        if (rc != SQLITE_DONE)
            return store_fail(st, err, rc, "write guest %zu of drain %.36s", i, d->uuid);
    }
    return MD_OK;
}

/* Reads the guests of drain_id into d->guests (d->nguests of them; NULL
 * and 0 when none). Under the lock. On failure d has no guests. */
static md_status read_guests_locked(md_store *st, int64_t drain_id, md_drain *d, md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = st->drain_guests;
    md_drain_guest *gs = NULL;
    size_t count = 0, cap = 0;
    int rc = SQLITE_OK;

    d->guests = NULL;
    d->nguests = 0;
    store_bind_int(s, 1, drain_id, &rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(s, G_STATE);
        const char *mode = (const char *)sqlite3_column_text(s, G_MODE);

        rc = SQLITE_OK;
        if ((status = store_grow((void **)&gs, &cap, count, sizeof *gs)) != MD_OK) {
            md_err_set(err, status, "store %s: guests of drain %s: out of memory", st->path,
                       d->uuid);
            goto cleanup;
        }
        md_drain_guest *g = &gs[count];
        memset(g, 0, sizeof *g);
        if (!state || md_drain_guest_state_parse(state, &g->state) != 0 || !mode ||
            mode_parse(mode, &g->mode) != 0) {
            status = md_err_set(err, MD_ERR_INVALID,
                                "store %s: drain %s: guest %zu: unknown state '%s' or mode '%s'",
                                st->path, d->uuid, count, state ? state : "", mode ? mode : "");
            goto cleanup;
        }
        COL_STR(s, G_INSTANCE_UUID, g->instance_uuid);
        COL_STR(s, G_INSTANCE_NAME, g->instance_name);
        COL_STR(s, G_MIGRATION_UUID, g->migration_uuid);
        COL_STR(s, G_DEST_COMPUTE, g->dest_compute);
        g->order = (int)sqlite3_column_int64(s, G_START_ORDER);
        g->attempts = (int)sqlite3_column_int64(s, G_ATTEMPTS);
        g->ram_bytes = store_col_u64(s, G_RAM_BYTES);
        g->dirty_rate = store_col_u64(s, G_DIRTY_RATE);
        g->disk_bytes = store_col_u64(s, G_DISK_BYTES);
        g->predicted_ms = sqlite3_column_int64(s, G_PREDICTED_MS);
        g->started_at = sqlite3_column_int64(s, G_STARTED_AT);
        g->ended_at = sqlite3_column_int64(s, G_ENDED_AT);
        COL_STR(s, G_ERROR, g->error);
        count++;
    }
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "read guests of drain %s", d->uuid);
        goto cleanup;
    }
    d->guests = gs;
    d->nguests = count;
    gs = NULL;

cleanup:
    store_stmt_done(s);
    free(gs);
    return status;
}

/* Reads the current row of a SQL_SELECT_DRAIN statement, and the drain's
 * guests, into *d (zeroed first). Under the lock. On failure d has no
 * guests. */
static md_status read_drain_locked(md_store *st, sqlite3_stmt *s, md_drain *d, md_err *err)
{
    const char *state = (const char *)sqlite3_column_text(s, D_STATE);
    md_status status;

    md_drain_init(d);
    d->id = sqlite3_column_int64(s, 0);
    COL_STR(s, D_UUID, d->uuid);
    /* As for migrations: a state this build does not know is not
     * guessed at; the engine would steer a drain on a guess. */
    if (!state || md_drain_state_parse(state, &d->state) != 0)
        return md_err_set(err, MD_ERR_INVALID, "store %s: drain %s: unknown state '%s'", st->path,
                          d->uuid, state ? state : "");
    COL_STR(s, D_SOURCE_COMPUTE, d->source_compute);
    const char *dests = (const char *)sqlite3_column_text(s, D_DESTS);
    if ((status = split_dests(st, dests ? dests : "", d, err)) != MD_OK)
        return status;
    d->deadline_s = sqlite3_column_int64(s, D_DEADLINE_S);
    d->permit_post_copy = sqlite3_column_int64(s, D_PERMIT_POST_COPY) != 0;
    d->max_parallel = (int)sqlite3_column_int64(s, D_MAX_PARALLEL);
    d->strict = sqlite3_column_int64(s, D_STRICT) != 0;
    d->abort_running = sqlite3_column_int64(s, D_ABORT_RUNNING) != 0;
    d->block_migration = sqlite3_column_int64(s, D_BLOCK_MIGRATION) != 0;
    d->created_at = sqlite3_column_int64(s, D_CREATED_AT);
    d->updated_at = sqlite3_column_int64(s, D_UPDATED_AT);
    d->deadline_at = sqlite3_column_int64(s, D_DEADLINE_AT);
    d->predicted_end_at = sqlite3_column_int64(s, D_PREDICTED_END_AT);
    d->ended_at = sqlite3_column_int64(s, D_ENDED_AT);
    d->feasible = sqlite3_column_int64(s, D_FEASIBLE) != 0;
    d->parallel = (int)sqlite3_column_int64(s, D_PARALLEL);
    COL_STR(s, D_ERROR, d->error);
    /* The guests are read while s still holds its read transaction: the
     * drain and its guests come from one snapshot. */
    return read_guests_locked(st, d->id, d, err);
}

/* ---- writes --------------------------------------------------------------- */

md_status md_store_drain_insert(md_store *st, md_drain *d, md_event *ev, md_err *err)
{
    md_status status;
    sqlite3_stmt *s = st->drain_insert;
    dests_text t;
    int64_t id = 0;
    int rc;

    if ((status = check_drain(st, d, "insert", err)) != MD_OK)
        return status;
    join_dests(d, &t);
    pthread_mutex_lock(&st->lock);
    if ((rc = store_run(st->begin)) != SQLITE_OK) {
        status = store_fail(st, err, rc, "begin insert of drain %.36s", d->uuid);
        goto cleanup;
    }
    rc = bind_drain(s, d, &t);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        /* A duplicate uuid is SQLITE_CONSTRAINT_UNIQUE: MD_ERR_CONFLICT. */
        status = store_fail(st, err, rc, "insert drain %.36s", d->uuid);
        goto cleanup;
    }
    id = sqlite3_last_insert_rowid(st->db);
    store_stmt_done(s);
    if ((status = insert_guests_locked(st, id, d, err)) != MD_OK)
        goto cleanup;
    if (ev && (status = store_add_event_locked(st, st->drain_add_event, "drain", d->uuid, ev,
                                               err)) != MD_OK)
        goto cleanup;
    if ((rc = store_run(st->commit)) != SQLITE_OK) {
        status = store_fail(st, err, rc, "commit insert of drain %.36s", d->uuid);
        goto cleanup;
    }
    d->id = id;

cleanup:
    store_stmt_done(s);
    store_rollback_if_open(st);
    pthread_mutex_unlock(&st->lock);
    return status;
}

md_status md_store_drain_update(md_store *st, const md_drain *d, md_event *ev, md_err *err)
{
    md_status status;
    sqlite3_stmt *s = st->drain_update;
    dests_text t;
    int64_t id = 0;
    int rc = SQLITE_OK;

    if ((status = check_drain(st, d, "update", err)) != MD_OK)
        return status;
    join_dests(d, &t);
    pthread_mutex_lock(&st->lock);
    if ((rc = store_run(st->begin)) != SQLITE_OK) {
        status = store_fail(st, err, rc, "begin update of drain %.36s", d->uuid);
        goto cleanup;
    }
    rc = bind_drain(s, d, &t);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "update drain %.36s", d->uuid);
        goto cleanup;
    }
    if (sqlite3_changes(st->db) == 0) {
        status = md_err_set(err, MD_ERR_NOT_FOUND, "store %s: update drain %.36s: no such drain",
                            st->path, d->uuid);
        goto cleanup;
    }
    store_stmt_done(s);

    /* The row's id, which d->id need not hold (the caller's copy may be
     * older than the row), keys its guests. */
    rc = SQLITE_OK;
    BIND_STR(st->drain_lookup, 1, d->uuid, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st->drain_lookup);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(st->drain_lookup, 0);
    store_stmt_done(st->drain_lookup);
    if (rc != SQLITE_ROW) {
        status = store_fail(st, err, rc, "look up drain %.36s", d->uuid);
        goto cleanup;
    }
    rc = SQLITE_OK;
    store_bind_int(st->drain_guests_delete, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st->drain_guests_delete);
    store_stmt_done(st->drain_guests_delete);
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "replace the guests of drain %.36s", d->uuid);
        goto cleanup;
    }
    if ((status = insert_guests_locked(st, id, d, err)) != MD_OK)
        goto cleanup;
    if (ev && (status = store_add_event_locked(st, st->drain_add_event, "drain", d->uuid, ev,
                                               err)) != MD_OK)
        goto cleanup;
    if ((rc = store_run(st->commit)) != SQLITE_OK)
        status = store_fail(st, err, rc, "commit update of drain %.36s", d->uuid);

cleanup:
    store_stmt_done(s);
    store_rollback_if_open(st);
    pthread_mutex_unlock(&st->lock);
    return status;
}

md_status md_store_drain_add_event(md_store *st, const char *uuid, md_event *ev, md_err *err)
{
    md_status status;

    pthread_mutex_lock(&st->lock);
    status = store_add_event_locked(st, st->drain_add_event, "drain", uuid, ev, err);
    pthread_mutex_unlock(&st->lock);
    return status;
}

/* ---- reads ---------------------------------------------------------------- */

md_status md_store_drain_get(md_store *st, const char *uuid, md_drain *out, md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = st->drain_get;
    int rc = SQLITE_OK;

    md_drain_init(out);
    pthread_mutex_lock(&st->lock);
    store_bind_str(s, 1, uuid, MD_UUID_LEN, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        status = md_err_set(err, MD_ERR_NOT_FOUND, "store %s: drain %.36s: no such drain", st->path,
                            uuid);
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        status = store_fail(st, err, rc, "read drain %.36s", uuid);
        goto cleanup;
    }
    status = read_drain_locked(st, s, out, err);

cleanup:
    store_stmt_done(s);
    pthread_mutex_unlock(&st->lock);
    if (status != MD_OK)
        md_drain_clear(out);
    return status;
}

md_status md_store_drain_list(md_store *st, bool in_progress_only, const char *marker, size_t limit,
                              md_drain **out, size_t *n, md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = NULL;
    md_drain *ds = NULL;
    size_t count = 0, cap = 0, len = 0;
    int64_t marker_id = 0, marker_created = 0;
    bool have_marker = marker && marker[0];
    char sql[sizeof SQL_SELECT_DRAIN + 256];
    bool ok;
    int rc = SQLITE_OK, i = 1;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&st->lock);

    /* As md_store_list(): a marker that names nothing is the caller's
     * error, not an empty page that would read as "no more". */
    if (have_marker) {
        store_bind_str(st->drain_lookup, 1, marker, MD_UUID_LEN, &rc);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st->drain_lookup);
        if (rc == SQLITE_ROW) {
            marker_id = sqlite3_column_int64(st->drain_lookup, 0);
            marker_created = sqlite3_column_int64(st->drain_lookup, 1);
        } else if (rc == SQLITE_DONE) {
            status = md_err_set(err, MD_ERR_NOT_FOUND,
                                "store %s: list drains: marker %.36s names no drain", st->path,
                                marker);
        } else {
            status = store_fail(st, err, rc, "list drains: look up marker %.36s", marker);
        }
        store_stmt_done(st->drain_lookup);
        if (status != MD_OK)
            goto cleanup;
        rc = SQLITE_OK;
    }

    ok = store_sql_append(sql, sizeof sql, &len, SQL_SELECT_DRAIN " WHERE 1");
    if (in_progress_only) {
        const char *sep = " AND state IN (";
        for (int k = 0; k < MD_DRAIN_NSTATES; k++) {
            if (md_drain_state_in_progress((md_drain_state)k)) {
                ok = ok && store_sql_append(sql, sizeof sql, &len, sep) &&
                     store_sql_append(sql, sizeof sql, &len, "?");
                sep = ", ";
            }
        }
        ok = ok && store_sql_append(sql, sizeof sql, &len, ")");
    }
    if (have_marker)
        ok = ok && store_sql_append(sql, sizeof sql, &len,
                                    " AND (created_at < ? OR (created_at = ? AND id < ?))");
    ok = ok && store_sql_append(sql, sizeof sql, &len, " ORDER BY created_at DESC, id DESC");
    if (limit)
        ok = ok && store_sql_append(sql, sizeof sql, &len, " LIMIT ?");
    if (!ok) {
        status =
            md_err_set(err, MD_ERR_INTERNAL, "store %s: list drains: query too long", st->path);
        goto cleanup;
    }
    rc = sqlite3_prepare_v2(st->db, sql, (int)len + 1, &s, NULL);
    if (rc != SQLITE_OK) {
        status = store_fail(st, err, rc, "list drains: prepare");
        goto cleanup;
    }
    if (in_progress_only) {
        for (int k = 0; k < MD_DRAIN_NSTATES; k++)
            if (md_drain_state_in_progress((md_drain_state)k))
                BIND_NAME(s, i++, md_drain_state_str((md_drain_state)k), &rc);
    }
    if (have_marker) {
        store_bind_int(s, i++, marker_created, &rc);
        store_bind_int(s, i++, marker_created, &rc);
        store_bind_int(s, i++, marker_id, &rc);
    }
    if (limit)
        store_bind_int(s, i++, limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit, &rc);
    if (rc == SQLITE_OK && i - 1 != sqlite3_bind_parameter_count(s)) {
        status = md_err_set(err, MD_ERR_INTERNAL,
                            "store %s: list drains: bound %d of %d parameters", st->path, i - 1,
                            sqlite3_bind_parameter_count(s));
        goto cleanup;
    }

    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if ((status = store_grow((void **)&ds, &cap, count, sizeof *ds)) != MD_OK) {
            md_err_set(err, status, "store %s: list drains: out of memory", st->path);
            goto cleanup;
        }
        if ((status = read_drain_locked(st, s, &ds[count], err)) != MD_OK)
            goto cleanup;
        count++;
    }
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "list drains");
        goto cleanup;
    }
    *out = ds;
    *n = count;
    ds = NULL;
    count = 0;

cleanup:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    md_drain_free_array(ds, count);
    return status;
}

md_status md_store_drain_events_page(md_store *st, const char *uuid, int64_t after_id, size_t limit,
                                     md_event **out, size_t *n, md_err *err)
{
    md_status status;

    pthread_mutex_lock(&st->lock);
    status =
        store_events_page_locked(st, st->drain_events, "drain", uuid, after_id, limit, out, n, err);
    pthread_mutex_unlock(&st->lock);
    return status;
}
