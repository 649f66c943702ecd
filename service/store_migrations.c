/* store_migrations.c - durable migration records, their events and commands.
 *
 * DESIGN: a migration is one row of migrations (schema in store.c), its
 * timeline is rows of events and the commands given to it (abort, force
 * complete, ...) are rows of commands until they are carried out; events
 * and commands go with their record (ON DELETE CASCADE). The connection,
 * its lock, the schema and the helpers used here are store.c's
 * (store_priv.h); this file holds what is kept about migrations, as
 * store_drain.c holds what is kept about drains.
 *
 * The column order of the migrations table is the enum mig_col below: the
 * same index is the bind parameter ?N of the INSERT and the UPDATE and the
 * result column N of the SELECT, so the three can not drift apart.
 *
 * Every public call takes st->lock for its whole length (store.c's DESIGN
 * says why). md_store_purge_finished() prepares its statement per call,
 * because its WHERE clause depends on the states this build knows; it is
 * assembled from fixed fragments and every value is still bound. The list
 * is store_list.c's.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/store_priv.h"

/* The columns of migrations after id. Each value is both the bind
 * parameter number in INSERT/UPDATE and the result column in SELECT
 * (where column 0 is id). */
enum mig_col {
    C_UUID = 1,
    C_STATE,
    C_MIGRATION_TYPE,
    C_INSTANCE_UUID,
    C_INSTANCE_NAME,
    C_SOURCE_COMPUTE,
    C_DEST_COMPUTE,
    C_DEST_HOST,
    C_BLOCK_MIGRATION,
    C_PERMIT_POST_COPY,
    C_AUTO_CONVERGE,
    C_MAX_DOWNTIME_MS,
    C_BANDWIDTH_MIBPS,
    C_TIMEOUT_ACTION,
    C_POLICY,
    C_CREATED_AT,
    C_UPDATED_AT,
    C_MEMORY_TOTAL_BYTES,
    C_MEMORY_PROCESSED_BYTES,
    C_MEMORY_REMAINING_BYTES,
    C_DISK_TOTAL_BYTES,
    C_DISK_PROCESSED_BYTES,
    C_DISK_REMAINING_BYTES,
    C_PROGRESS,
    C_MEMORY_ITERATION,
    C_TRANSFER_RATE,
    C_DIRTY_RATE,
    C_CURRENT_DOWNTIME_MS,
    C_DOWNTIME_MS,
    C_ELAPSED_MS,
    C_POST_COPY,
    C_PAUSED,
    C_ERROR,
    C_RECOVERY_ATTEMPTS,
    C_RECOVERY_STARTED_AT,
    C_DRAIN_UUID,
    C_POST_COPY_AFTER_FIRST_PASS,
};

/* In the order of enum mig_col. */
#define MIG_COLUMNS                                                                      \
    "uuid, state, migration_type, instance_uuid, instance_name, source_compute, "        \
    "dest_compute, dest_host, block_migration, permit_post_copy, auto_converge, "        \
    "max_downtime_ms, bandwidth_mibps, timeout_action, policy, created_at, updated_at, " \
    "memory_total_bytes, memory_processed_bytes, memory_remaining_bytes, "               \
    "disk_total_bytes, disk_processed_bytes, disk_remaining_bytes, progress, "           \
    "memory_iteration, transfer_rate, dirty_rate, current_downtime_ms, downtime_ms, "    \
    "elapsed_ms, post_copy, paused, error, recovery_attempts, recovery_started_at, "     \
    "drain_uuid, post_copy_after_first_pass"
#define MIG_PARAMS                                                                 \
    "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, " \
    "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37"
_Static_assert(C_POST_COPY_AFTER_FIRST_PASS == 37, "MIG_COLUMNS and MIG_PARAMS list 37 columns");

#define SQL_SELECT_MIGRATION "SELECT id, " MIG_COLUMNS " FROM migrations"

const char store_sql_select_migration[] = SQL_SELECT_MIGRATION;

/* The statements of migration records, prepared at open with store.c's own. */
const store_stmt_def store_migrations_prepared[] = {
    { offsetof(md_store, insert),
      "INSERT INTO migrations (" MIG_COLUMNS ") VALUES (" MIG_PARAMS ")" },
    /* Setting uuid to ?1 where uuid = ?1 changes nothing; it lets the
     * UPDATE share the INSERT's parameter numbering and binder. */
    { offsetof(md_store, update),
      "UPDATE migrations SET (" MIG_COLUMNS ") = (" MIG_PARAMS ") WHERE uuid = ?1" },
    { offsetof(md_store, get), SQL_SELECT_MIGRATION " WHERE uuid = ?1" },
    /* Taking migration_id from the SELECT makes "no such record" a plain
     * zero-row insert, with no window between a lookup and the insert. */
    { offsetof(md_store, add_event), "INSERT INTO events (migration_id, at, kind, value, message)"
                                     " SELECT id, ?2, ?3, ?4, ?5 FROM migrations WHERE uuid = ?1" },
    /* One statement, hence one snapshot: the LEFT JOIN yields one row with
     * NULL events for a record without any (after ?2), and no row for no
     * record. ?3 is the page size, -1 for no limit. */
    { offsetof(md_store, events),
      "SELECT m.id, e.id, e.at, e.kind, e.value, e.message"
      " FROM migrations AS m LEFT JOIN events AS e ON e.migration_id = m.id AND e.id > ?2"
      " WHERE m.uuid = ?1 ORDER BY e.id LIMIT ?3" },
    /* As add_event: an unknown uuid inserts no row. */
    { offsetof(md_store, add_command), "INSERT INTO commands (migration_id, kind, created_at, done)"
                                       " SELECT id, ?2, ?3, 0 FROM migrations WHERE uuid = ?1" },
    { offsetof(md_store, pending),
      "SELECT c.id, m.uuid, c.kind, c.created_at"
      " FROM commands AS c JOIN migrations AS m ON m.id = c.migration_id"
      " WHERE c.done = 0 ORDER BY c.id" },
    { offsetof(md_store, finish_command), "UPDATE commands SET done = 1 WHERE id = ?1" },
    { offsetof(md_store, finish_commands),
      "UPDATE commands SET done = 1"
      " WHERE done = 0 AND migration_id = (SELECT id FROM migrations WHERE uuid = ?1)" },
};

const size_t store_migrations_nprepared = sizeof store_migrations_prepared /
                                          sizeof store_migrations_prepared[0];

/* Binds every field of m but id as the parameters of enum mig_col. */
static int bind_migration(sqlite3_stmt *s, const md_migration *m)
{
    int rc = SQLITE_OK;

    BIND_STR(s, C_UUID, m->uuid, &rc);
    BIND_NAME(s, C_STATE, md_mig_state_str(m->state), &rc);
    BIND_STR(s, C_MIGRATION_TYPE, m->migration_type, &rc);
    BIND_STR(s, C_INSTANCE_UUID, m->instance_uuid, &rc);
    BIND_STR(s, C_INSTANCE_NAME, m->instance_name, &rc);
    BIND_STR(s, C_SOURCE_COMPUTE, m->source_compute, &rc);
    BIND_STR(s, C_DEST_COMPUTE, m->dest_compute, &rc);
    BIND_STR(s, C_DEST_HOST, m->dest_host, &rc);
    store_bind_int(s, C_BLOCK_MIGRATION, m->block_migration, &rc);
    store_bind_int(s, C_PERMIT_POST_COPY, m->permit_post_copy, &rc);
    store_bind_int(s, C_AUTO_CONVERGE, m->auto_converge, &rc);
    store_bind_int(s, C_MAX_DOWNTIME_MS, m->max_downtime_ms, &rc);
    store_bind_int(s, C_BANDWIDTH_MIBPS, m->bandwidth_mibps, &rc);
    BIND_NAME(s, C_TIMEOUT_ACTION, policy_timeout_action_str(m->timeout_action), &rc);
    BIND_NAME(s, C_POLICY, policy_kind_str(m->policy), &rc);
    store_bind_int(s, C_CREATED_AT, m->created_at, &rc);
    store_bind_int(s, C_UPDATED_AT, m->updated_at, &rc);
    store_bind_u64(s, C_MEMORY_TOTAL_BYTES, m->memory_total_bytes, &rc);
    store_bind_u64(s, C_MEMORY_PROCESSED_BYTES, m->memory_processed_bytes, &rc);
    store_bind_u64(s, C_MEMORY_REMAINING_BYTES, m->memory_remaining_bytes, &rc);
    store_bind_u64(s, C_DISK_TOTAL_BYTES, m->disk_total_bytes, &rc);
    store_bind_u64(s, C_DISK_PROCESSED_BYTES, m->disk_processed_bytes, &rc);
    store_bind_u64(s, C_DISK_REMAINING_BYTES, m->disk_remaining_bytes, &rc);
    store_bind_int(s, C_PROGRESS, m->progress, &rc);
    store_bind_int(s, C_MEMORY_ITERATION, m->memory_iteration, &rc);
    store_bind_u64(s, C_TRANSFER_RATE, m->transfer_rate, &rc);
    store_bind_u64(s, C_DIRTY_RATE, m->dirty_rate, &rc);
    store_bind_int(s, C_CURRENT_DOWNTIME_MS, m->current_downtime_ms, &rc);
    store_bind_int(s, C_DOWNTIME_MS, m->downtime_ms, &rc);
    store_bind_int(s, C_ELAPSED_MS, m->elapsed_ms, &rc);
    store_bind_int(s, C_POST_COPY, m->post_copy, &rc);
    store_bind_int(s, C_PAUSED, m->paused, &rc);
    BIND_STR(s, C_ERROR, m->error, &rc);
    store_bind_int(s, C_RECOVERY_ATTEMPTS, m->recovery_attempts, &rc);
    store_bind_int(s, C_RECOVERY_STARTED_AT, m->recovery_started_at, &rc);
    BIND_STR(s, C_DRAIN_UUID, m->drain_uuid, &rc);
    store_bind_int(s, C_POST_COPY_AFTER_FIRST_PASS, m->post_copy_after_first_pass, &rc);
    return rc;
}

/* Refuses a record whose enums have no name: it would be stored as a
 * string that no later read could parse back. */
static md_status check_migration(md_store *st, const md_migration *m, const char *doing,
                                 md_err *err)
{
    policy_kind kind;
    policy_timeout_action action;

    if ((unsigned)m->state >= MD_MIG_NSTATES ||
        policy_kind_parse(policy_kind_str(m->policy), &kind) != 0 || kind != m->policy ||
        policy_timeout_action_parse(policy_timeout_action_str(m->timeout_action), &action) != 0 ||
        action != m->timeout_action)
        return md_err_set(
            err, MD_ERR_INVALID,
            "store %s: %s migration %.36s: state, policy or timeout action out of range", st->path,
            doing, m->uuid);
    return MD_OK;
}

/* A name this build does not know (a newer daemon's state, a hand-edited
 * row) is MD_ERR_INVALID: guessing a state would steer a live migration
 * on a guess. */
md_status store_read_migration(md_store *st, sqlite3_stmt *s, md_migration *m, md_err *err)
{
    const char *state = (const char *)sqlite3_column_text(s, C_STATE);
    const char *action = (const char *)sqlite3_column_text(s, C_TIMEOUT_ACTION);
    const char *kind = (const char *)sqlite3_column_text(s, C_POLICY);

    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(s, 0);
    COL_STR(s, C_UUID, m->uuid);
    if (!state || md_mig_state_parse(state, &m->state) != 0)
        return md_err_set(err, MD_ERR_INVALID, "store %s: migration %s: unknown state '%s'",
                          st->path, m->uuid, state ? state : "");
    if (!action || policy_timeout_action_parse(action, &m->timeout_action) != 0)
        return md_err_set(err, MD_ERR_INVALID,
                          "store %s: migration %s: unknown timeout action '%s'", st->path, m->uuid,
                          action ? action : "");
    if (!kind || policy_kind_parse(kind, &m->policy) != 0)
        return md_err_set(err, MD_ERR_INVALID, "store %s: migration %s: unknown policy '%s'",
                          st->path, m->uuid, kind ? kind : "");
    COL_STR(s, C_MIGRATION_TYPE, m->migration_type);
    COL_STR(s, C_INSTANCE_UUID, m->instance_uuid);
    COL_STR(s, C_INSTANCE_NAME, m->instance_name);
    COL_STR(s, C_SOURCE_COMPUTE, m->source_compute);
    COL_STR(s, C_DEST_COMPUTE, m->dest_compute);
    COL_STR(s, C_DEST_HOST, m->dest_host);
    m->block_migration = sqlite3_column_int64(s, C_BLOCK_MIGRATION) != 0;
    m->permit_post_copy = sqlite3_column_int64(s, C_PERMIT_POST_COPY) != 0;
    m->auto_converge = sqlite3_column_int64(s, C_AUTO_CONVERGE) != 0;
    m->max_downtime_ms = (uint32_t)sqlite3_column_int64(s, C_MAX_DOWNTIME_MS);
    m->bandwidth_mibps = (uint32_t)sqlite3_column_int64(s, C_BANDWIDTH_MIBPS);
    m->created_at = sqlite3_column_int64(s, C_CREATED_AT);
    m->updated_at = sqlite3_column_int64(s, C_UPDATED_AT);
    m->memory_total_bytes = store_col_u64(s, C_MEMORY_TOTAL_BYTES);
    m->memory_processed_bytes = store_col_u64(s, C_MEMORY_PROCESSED_BYTES);
    m->memory_remaining_bytes = store_col_u64(s, C_MEMORY_REMAINING_BYTES);
    m->disk_total_bytes = store_col_u64(s, C_DISK_TOTAL_BYTES);
    m->disk_processed_bytes = store_col_u64(s, C_DISK_PROCESSED_BYTES);
    m->disk_remaining_bytes = store_col_u64(s, C_DISK_REMAINING_BYTES);
    m->progress = (int)sqlite3_column_int64(s, C_PROGRESS);
    m->memory_iteration = (uint32_t)sqlite3_column_int64(s, C_MEMORY_ITERATION);
    m->transfer_rate = store_col_u64(s, C_TRANSFER_RATE);
    m->dirty_rate = store_col_u64(s, C_DIRTY_RATE);
    m->current_downtime_ms = (uint32_t)sqlite3_column_int64(s, C_CURRENT_DOWNTIME_MS);
    m->downtime_ms = sqlite3_column_int64(s, C_DOWNTIME_MS);
    m->elapsed_ms = sqlite3_column_int64(s, C_ELAPSED_MS);
    m->post_copy = sqlite3_column_int64(s, C_POST_COPY) != 0;
    m->paused = sqlite3_column_int64(s, C_PAUSED) != 0;
    COL_STR(s, C_ERROR, m->error);
    m->recovery_attempts = (int)sqlite3_column_int64(s, C_RECOVERY_ATTEMPTS);
    m->recovery_started_at = sqlite3_column_int64(s, C_RECOVERY_STARTED_AT);
    COL_STR(s, C_DRAIN_UUID, m->drain_uuid);
    m->post_copy_after_first_pass = sqlite3_column_int64(s, C_POST_COPY_AFTER_FIRST_PASS) != 0;
    return MD_OK;
}

/* ---- writes --------------------------------------------------------------- */

md_status md_store_insert(md_store *st, md_migration *m, md_err *err)
{
    md_status status;
    int rc;

    if ((status = check_migration(st, m, "insert", err)) != MD_OK)
        return status;
    pthread_mutex_lock(&st->lock);
    rc = bind_migration(st->insert, m);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st->insert);
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "insert migration %.36s", m->uuid);
        goto cleanup;
    }
    m->id = sqlite3_last_insert_rowid(st->db);

cleanup:
    store_stmt_done(st->insert);
    pthread_mutex_unlock(&st->lock);
    return status;
}

/* The UPDATE of one record, for callers that hold the lock. */
static md_status update_locked(md_store *st, const md_migration *m, md_err *err)
{
    md_status status;
    int rc;

    if ((status = check_migration(st, m, "update", err)) != MD_OK)
        goto cleanup;
    rc = bind_migration(st->update, m);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st->update);
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "update migration %.36s", m->uuid);
        goto cleanup;
    }
    if (sqlite3_changes(st->db) == 0)
        status = md_err_set(err, MD_ERR_NOT_FOUND,
                            "store %s: update migration %.36s: no such record", st->path, m->uuid);

cleanup:
    store_stmt_done(st->update);
    return status;
}

/* Marks every pending command of uuid done, for callers that hold the
 * lock. A record without pending commands is no error. */
static md_status finish_commands_locked(md_store *st, const char *uuid, md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = st->finish_commands;
    int rc = SQLITE_OK;

    store_bind_str(s, 1, uuid, MD_UUID_LEN, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        status = store_fail(st, err, rc, "finish the commands of migration %.36s", uuid);
    store_stmt_done(s);
    return status;
}

md_status md_store_update(md_store *st, const md_migration *m, md_err *err)
{
    md_status status;

    /* One statement is one transaction by itself. */
    pthread_mutex_lock(&st->lock);
    status = update_locked(st, m, err);
    pthread_mutex_unlock(&st->lock);
    return status;
}

md_status md_store_update_many(md_store *st, const md_migration *const *ms, size_t n, md_err *err)
{
    md_status status = MD_OK;
    int rc;

    if (n == 0)
        return MD_OK;
    pthread_mutex_lock(&st->lock);
    /* IMMEDIATE takes the write lock up front (waiting up to the busy
     * timeout), so the transaction can not fail half-way for a lock. */
    if ((rc = store_run(st->begin)) != SQLITE_OK) {
        status = store_fail(st, err, rc, "begin update of %zu migrations", n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if ((status = update_locked(st, ms[i], err)) != MD_OK)
            goto cleanup;
    }
    if ((rc = store_run(st->commit)) != SQLITE_OK)
        status = store_fail(st, err, rc, "commit update of %zu migrations", n);

cleanup:
    store_rollback_if_open(st);
    pthread_mutex_unlock(&st->lock);
    return status;
}

md_status md_store_update_with_event(md_store *st, const md_migration *m, md_event *ev, md_err *err)
{
    md_status status = MD_OK;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = store_run(st->begin)) != SQLITE_OK) {
        status = store_fail(st, err, rc, "begin update of migration %.36s", m->uuid);
        goto cleanup;
    }
    if ((status = update_locked(st, m, err)) != MD_OK)
        goto cleanup;
    if ((status = store_add_event_locked(st, st->add_event, "migration", m->uuid, ev, err)) !=
        MD_OK)
        goto cleanup;
    /* A command for a migration that has ended can no longer be carried
     * out; left pending it would be tried again at every start. */
    if (!md_mig_state_in_progress(m->state) &&
        (status = finish_commands_locked(st, m->uuid, err)) != MD_OK)
        goto cleanup;
    if ((rc = store_run(st->commit)) != SQLITE_OK)
        status = store_fail(st, err, rc, "commit update of migration %.36s", m->uuid);

cleanup:
    store_rollback_if_open(st);
    pthread_mutex_unlock(&st->lock);
    return status;
}

md_status md_store_add_event(md_store *st, const char *uuid, md_event *ev, md_err *err)
{
    md_status status;

    pthread_mutex_lock(&st->lock);
    status = store_add_event_locked(st, st->add_event, "migration", uuid, ev, err);
    pthread_mutex_unlock(&st->lock);
    return status;
}

/* ---- commands ------------------------------------------------------------- */

md_status md_store_add_command(md_store *st, const md_command *c, const md_event *ev,
                               int64_t *id_out, md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = st->add_command;
    md_event copy;
    int64_t id = 0;
    int rc;

    if ((unsigned)c->kind >= MD_CMD_NKINDS)
        return md_err_set(err, MD_ERR_INVALID,
                          "store %s: add command to migration %.36s: kind %d out of range",
                          st->path, c->uuid, (int)c->kind);
    pthread_mutex_lock(&st->lock);
    if ((rc = store_run(st->begin)) != SQLITE_OK) {
        status = store_fail(st, err, rc, "begin add command to migration %.36s", c->uuid);
        goto cleanup;
    }
    rc = SQLITE_OK;
    BIND_STR(s, 1, c->uuid, &rc);
    BIND_NAME(s, 2, md_command_kind_str(c->kind), &rc);
    store_bind_int(s, 3, c->created_at, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "add command to migration %.36s", c->uuid);
        goto cleanup;
    }
    if (sqlite3_changes(st->db) == 0) {
        status = md_err_set(err, MD_ERR_NOT_FOUND,
                            "store %s: add command to migration %.36s: no such record", st->path,
                            c->uuid);
        goto cleanup;
    }
    id = sqlite3_last_insert_rowid(st->db);
    store_stmt_done(s);
    /* The event is the caller's, and const: its id is of no use to a
     * caller that has the command's. */
    if (ev) {
        copy = *ev;
        if ((status = store_add_event_locked(st, st->add_event, "migration", c->uuid, &copy,
                                             err)) != MD_OK)
            goto cleanup;
    }
    if ((rc = store_run(st->commit)) != SQLITE_OK) {
        status = store_fail(st, err, rc, "commit add command to migration %.36s", c->uuid);
        goto cleanup;
    }
    if (id_out)
        *id_out = id;

cleanup:
    store_stmt_done(s);
    store_rollback_if_open(st);
    pthread_mutex_unlock(&st->lock);
    return status;
}

md_status md_store_pending_commands(md_store *st, md_command **out, size_t *n, md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = st->pending;
    md_command *cs = NULL;
    size_t count = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&st->lock);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 2);

        if ((status = store_grow((void **)&cs, &cap, count, sizeof *cs)) != MD_OK) {
            md_err_set(err, status, "store %s: pending commands: out of memory", st->path);
            goto cleanup;
        }
        md_command *c = &cs[count];
        memset(c, 0, sizeof *c);
        c->id = sqlite3_column_int64(s, 0);
        COL_STR(s, 1, c->uuid);
        /* As for states: a command this build does not know is not
         * guessed at. */
        if (!kind || md_command_kind_parse(kind, &c->kind) != 0) {
            status = md_err_set(err, MD_ERR_INVALID,
                                "store %s: command %lld of migration %s: unknown kind '%s'",
                                st->path, (long long)c->id, c->uuid, kind ? kind : "");
            goto cleanup;
        }
        c->created_at = sqlite3_column_int64(s, 3);
        count++;
    }
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "read pending commands");
        goto cleanup;
    }
    *out = cs;
    *n = count;
    cs = NULL;

cleanup:
    store_stmt_done(s);
    pthread_mutex_unlock(&st->lock);
    free(cs);
    return status;
}

md_status md_store_finish_command(md_store *st, int64_t id, md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = st->finish_command;
    int rc = SQLITE_OK;

    pthread_mutex_lock(&st->lock);
    store_bind_int(s, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        status = store_fail(st, err, rc, "finish command %lld", (long long)id);
        goto cleanup;
    }
    /* SQLite counts a row the WHERE matched even when its value stays the
     * same, so a command finished before still counts: only an id that
     * was never given is an error. */
    if (sqlite3_changes(st->db) == 0)
        status = md_err_set(err, MD_ERR_NOT_FOUND, "store %s: finish command %lld: no such command",
                            st->path, (long long)id);

cleanup:
    store_stmt_done(s);
    pthread_mutex_unlock(&st->lock);
    return status;
}

/* ---- reads ---------------------------------------------------------------- */

md_status md_store_get(md_store *st, const char *uuid, md_migration *out, md_err *err)
{
    md_status status = MD_OK;
    int rc = SQLITE_OK;

    pthread_mutex_lock(&st->lock);
    store_bind_str(st->get, 1, uuid, MD_UUID_LEN, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st->get);
    if (rc == SQLITE_DONE) {
        status = md_err_set(err, MD_ERR_NOT_FOUND, "store %s: migration %.36s: no such record",
                            st->path, uuid);
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        status = store_fail(st, err, rc, "read migration %.36s", uuid);
        goto cleanup;
    }
    status = store_read_migration(st, st->get, out, err);

cleanup:
    store_stmt_done(st->get);
    pthread_mutex_unlock(&st->lock);
    return status;
}

md_status md_store_events(md_store *st, const char *uuid, md_event **out, size_t *n, md_err *err)
{
    return md_store_events_page(st, uuid, 0, 0, out, n, err);
}

md_status md_store_events_page(md_store *st, const char *uuid, int64_t after_id, size_t limit,
                               md_event **out, size_t *n, md_err *err)
{
    md_status status;

    pthread_mutex_lock(&st->lock);
    status =
        store_events_page_locked(st, st->events, "migration", uuid, after_id, limit, out, n, err);
    pthread_mutex_unlock(&st->lock);
    return status;
}

/* ---- purge ---------------------------------------------------------------- */

/* The states md_store_purge_finished() deletes: final, and not error. */
static bool purgeable(md_mig_state s)
{
    return !md_mig_state_in_progress(s) && s != MD_MIG_ERROR;
}

md_status md_store_purge_finished(md_store *st, int64_t cutoff_ms, size_t batch, size_t *purged,
                                  md_err *err)
{
    md_status status = MD_OK;
    sqlite3_stmt *s = NULL;
    char sql[640];
    size_t len = 0;
    bool ok;
    int rc = SQLITE_OK, i = 1;

    if (purged)
        *purged = 0;
    if (batch == 0)
        return md_err_set(err, MD_ERR_INVALID, "store %s: purge: a batch of 0 records", st->path);

    /* The final states but error are bound by name from the one
     * definition of "in progress", as in md_store_list(): a state this
     * build does not know (a newer daemon's) is never taken for final.
     * error is kept: it says that no safe state could be reached, an
     * operator has to look (and may still ask for a recover), and such
     * records are rare enough that keeping them costs nothing. The newest
     * record is
     * kept whatever its age: SQLite gives a new row the largest id plus
     * one, so deleting the newest would hand its id (Nova's integer
     * migration id) to the next migration. Events and commands go by the
     * foreign keys' ON DELETE CASCADE (PRAGMA foreign_keys is on). */
    ok = store_sql_append(sql, sizeof sql, &len,
                          "DELETE FROM migrations WHERE id IN (SELECT m.id FROM migrations AS m"
                          " WHERE m.updated_at < ? AND m.id < (SELECT max(id) FROM migrations)"
                          " AND NOT EXISTS (SELECT 1 FROM commands AS c"
                          " WHERE c.migration_id = m.id AND c.done = 0)");
    const char *sep = " AND m.state IN (";
    for (int k = 0; k < MD_MIG_NSTATES; k++) {
        if (purgeable((md_mig_state)k)) {
            ok = ok && store_sql_append(sql, sizeof sql, &len, sep) &&
                 store_sql_append(sql, sizeof sql, &len, "?");
            sep = ", ";
        }
    }
    ok = ok && store_sql_append(sql, sizeof sql, &len, ") ORDER BY m.updated_at, m.id LIMIT ?)");
    if (!ok)
        return md_err_set(err, MD_ERR_INTERNAL, "store %s: purge: query too long", st->path);

    pthread_mutex_lock(&st->lock);
    rc = sqlite3_prepare_v2(st->db, sql, (int)len + 1, &s, NULL);
    if (rc != SQLITE_OK) {
        status = store_fail(st, err, rc, "purge: prepare");
        goto cleanup;
    }
    store_bind_int(s, i++, cutoff_ms, &rc);
    for (int k = 0; k < MD_MIG_NSTATES; k++)
        if (purgeable((md_mig_state)k))
            BIND_NAME(s, i++, md_mig_state_str((md_mig_state)k), &rc);
    store_bind_int(s, i++, batch > (size_t)INT64_MAX ? INT64_MAX : (int64_t)batch, &rc);
    if (rc == SQLITE_OK && i - 1 != sqlite3_bind_parameter_count(s)) {
        status = md_err_set(err, MD_ERR_INTERNAL, "store %s: purge: bound %d of %d parameters",
                            st->path, i - 1, sqlite3_bind_parameter_count(s));
        goto cleanup;
    }
    /* One statement is one transaction: the records, their events and
     * their commands go together or not at all. */
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        status =
            store_fail(st, err, rc, "purge records that ended before %lld", (long long)cutoff_ms);
        goto cleanup;
    }
    /* sqlite3_changes() counts the rows of the DELETE itself, not those
     * the cascade removed. */
    if (purged)
        *purged = (size_t)sqlite3_changes(st->db);

cleanup:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return status;
}
