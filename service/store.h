/* store.h - durable migration records and their events, and drains, in SQLite.
 *
 * The only module that includes <sqlite3.h>: service/store.c (the file,
 * its schema and upgrades), service/store_migrations.c (migration records,
 * their events and commands), service/store_list.c (the list of records)
 * and service/store_drain.c (drains), sharing service/store_priv.h. One
 * database file in WAL mode holds migrations, their events and the
 * commands given to them (until carried out), and drains with their
 * guests and events, plus a schema version (PRAGMA user_version) that
 * md_store_open() upgrades step by step. A file
 * that is not a migrationd database, is corrupt, or has a newer schema than
 * this build knows is an error at open, never a silent fresh start.
 *
 * Every write is one transaction and is durable against a crash of the
 * daemon when the function returns (WAL, synchronous=NORMAL: a power loss
 * may lose the last transactions, a process crash loses nothing). A state
 * change and its "state" event are written in the same transaction.
 *
 * Thread safety: an md_store may be used from any number of threads at
 * once; calls are serialised inside, but for md_store_list(), which reads
 * through connections of its own (store_list.c) and so runs beside the
 * other calls and up to four lists at once. Every call blocks on file
 * I/O, and waits at most 200 ms for a lock that another connection holds
 * (5 s in md_store_open()), then fails with MD_ERR_IO ("database is
 * locked").
 */
#ifndef MD_STORE_H
#define MD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/drain.h"
#include "service/migration.h"
#include "service/status.h"

typedef struct md_store md_store;

/* Opens (creating if missing) the database at path and brings its schema up
 * to date. On MD_OK *out is the store, to be closed with md_store_close().
 * Returns MD_ERR_IO when the file cannot be opened or created,
 * MD_ERR_INVALID when it is not a migrationd database, is corrupt
 * (integrity check), or has a schema newer than this build; err says which,
 * naming the path, and the file is left untouched. *out is NULL on any
 * failure. path is borrowed. Any thread; blocks. */
md_status md_store_open(const char *path, md_store **out, md_err *err);

/* Writes one page and commits it (the header's schema version, unchanged):
 * MD_OK when a write can be made now, MD_ERR_IO (with SQLite's reason)
 * while another connection holds the lock past the busy wait, the disk is
 * full or the file cannot be written. Any thread; blocks up to the busy
 * wait (200 ms). */
md_status md_store_probe(md_store *st, md_err *err);

/* Closes the store; later calls on it are not allowed. Accepts NULL. */
void md_store_close(md_store *st);

/* Inserts m as a new record (m->uuid must be set and unique; m->id is
 * ignored) and sets m->id. created_at/updated_at are taken as given.
 * Returns MD_ERR_CONFLICT for a duplicate uuid, MD_ERR_INVALID when
 * m->state, m->policy or m->timeout_action is not a known value. */
md_status md_store_insert(md_store *st, md_migration *m, md_err *err);

/* Overwrites every field of the record with m->uuid (progress, settings,
 * state, error, ...). Returns MD_ERR_NOT_FOUND when there is no such record. */
md_status md_store_update(md_store *st, const md_migration *m, md_err *err);

/* Updates many records in one transaction (the monitor's progress flush).
 * Stops at, and returns, the first failure. */
md_status md_store_update_many(md_store *st, const md_migration *const *ms, size_t n, md_err *err);

/* Overwrites the record m->uuid with m and appends ev to its events, in one
 * transaction: a state change and the event that tells it are never apart.
 * When m->state is not in progress (md_mig_state_in_progress()), the same
 * transaction also finishes every pending command of the migration: a
 * command for a migration that has ended can not be carried out any more.
 * Hence a recover accepted in the state error must be followed by the
 * record's move to running (post-copy recovering), not by another write
 * of it in error, which would finish that command unperformed.
 * md_store_update() and md_store_update_many() do not touch commands.
 * Sets ev->id. */
md_status md_store_update_with_event(md_store *st, const md_migration *m, md_event *ev,
                                     md_err *err);

/* Appends an event to the record with uuid; sets ev->id. */
md_status md_store_add_event(md_store *st, const char *uuid, md_event *ev, md_err *err);

/* Reads the record with uuid into *out. MD_ERR_NOT_FOUND if none;
 * MD_ERR_INVALID if the stored state, policy or timeout action is a name
 * this build does not know. */
md_status md_store_get(md_store *st, const char *uuid, md_migration *out, md_err *err);

/* The events of uuid, oldest first, in a new array the caller frees with
 * free(). *n may be 0 (then *out is NULL). MD_ERR_NOT_FOUND if no record.
 * Every event, however many: for tests and tools; the API reads a page at
 * a time with md_store_events_page(). */
md_status md_store_events(md_store *st, const char *uuid, md_event **out, size_t *n, md_err *err);

/* One page of md_store_events(): the events of uuid with an id above
 * after_id (0 = from the first), oldest first, at most limit of them (0 =
 * no limit). A page shorter than limit is the last one; the next page of a
 * full one starts after its last event's id. An after_id that is no event
 * of uuid is no error (ids only order the page). MD_ERR_NOT_FOUND if no
 * record. */
md_status md_store_events_page(md_store *st, const char *uuid, int64_t after_id, size_t limit,
                               md_event **out, size_t *n, md_err *err);

/* Records c (c->id is ignored; c->uuid, c->kind and c->created_at are
 * stored) as a pending command of the migration c->uuid and, when ev is not
 * NULL, appends ev to that migration's events, in one transaction: a
 * command is never stored without the event that tells of it. Sets *id_out
 * (when not NULL) to the command's id, the order of acceptance. Returns
 * MD_ERR_NOT_FOUND (nothing written) when there is no such migration,
 * MD_ERR_INVALID for a kind out of range. The record's state is not
 * checked: whether a command applies is the engine's decision. */
md_status md_store_add_command(md_store *st, const md_command *c, const md_event *ev,
                               int64_t *id_out, md_err *err);

/* Every command not yet finished, of every migration, oldest (the first
 * accepted) first, in a new array the caller frees with free() (NULL when
 * *n is 0). MD_ERR_INVALID if a stored kind is a name this build does not
 * know. Meant for the engine's start, to carry out what a crash left. */
md_status md_store_pending_commands(md_store *st, md_command **out, size_t *n, md_err *err);

/* Marks command id as carried out: md_store_pending_commands() no longer
 * returns it. Idempotent: finishing a finished command is MD_OK.
 * MD_ERR_NOT_FOUND for an id that no command has. */
md_status md_store_finish_command(md_store *st, int64_t id, md_err *err);

/* Filters for md_store_list(). Zero/empty fields do not filter. */
typedef struct md_store_filter {
    bool in_progress_only; /* the states of md_mig_state_in_progress() */
    bool have_state;
    md_mig_state state;
    char instance_uuid[MD_UUID_LEN];
    char host[MD_NAME_LEN]; /* source_compute or dest_compute */
    char migration_type[32];
    char drain_uuid[MD_UUID_LEN]; /* the records a drain started */
    int64_t changes_since;        /* updated_at >= this (ms), 0 = no filter */
    int64_t changes_before;       /* updated_at <= this (ms), 0 = no filter */
    char marker[MD_UUID_LEN];     /* start after this record in the order */
    size_t limit;                 /* 0 = no limit */
} md_store_filter;

/* Records matching f, newest first (created_at, then id, descending), in a
 * new array the caller frees with free() (NULL when *n is 0). f may be NULL
 * for no filter. A marker that names no record is MD_ERR_NOT_FOUND (the API
 * answers 400 for it). */
md_status md_store_list(md_store *st, const md_store_filter *f, md_migration **out, size_t *n,
                        md_err *err);
/* Deletes, in one transaction, at most batch (>= 1) of the records that
 * ended before cutoff_ms (updated_at < cutoff_ms, ms since the epoch; a
 * record's last update is its end) as completed, cancelled or failed, with
 * no pending command. Their events and commands go with them. The oldest
 * go first. *purged (when not NULL) is how many were deleted: batch means
 * there may be more, fewer means there are none left now. Never deleted:
 * a record in progress; one in error, which waits for an operator (who may
 * still ask for a recover from it); one with a command accepted but not
 * carried out; the newest record (see store_migrations.c). The test and the delete
 * are one statement, so a command added at the same time either keeps the
 * record or finds it gone (then it is MD_ERR_NOT_FOUND to its caller).
 * Drains are never purged: there is at most one at a time and a handful a
 * year, so they cost nothing to keep, and they are the account of when a
 * node was emptied. A drain guest's migration_uuid may hence name a
 * record that the purge has deleted (md_store_get() then says
 * MD_ERR_NOT_FOUND); the guest keeps its own times and outcome.
 * MD_ERR_INVALID for batch 0. */
md_status md_store_purge_finished(md_store *st, int64_t cutoff_ms, size_t batch, size_t *purged,
                                  md_err *err);

/* ---- drains (service/store_drain.c) -------------------------------------
 *
 * A drain (service/drain.h) is a row of the drains table with one row per
 * guest in drain_guests and its own timeline in drain_events. Each write
 * below is one transaction. */

/* Inserts d as a new drain with its guests (d->uuid set and unique; sets
 * d->id) and, when ev is not NULL, appends ev to its events. MD_ERR_CONFLICT
 * for a uuid already stored. */
md_status md_store_drain_insert(md_store *st, md_drain *d, md_event *ev, md_err *err);

/* Overwrites drain d->uuid and all its guests with d (the guest list may
 * have changed size) and, when ev is not NULL, appends ev (sets ev->id).
 * MD_ERR_NOT_FOUND if there is no such drain. */
md_status md_store_drain_update(md_store *st, const md_drain *d, md_event *ev, md_err *err);

/* Reads drain uuid with its guests into *out (which the caller releases
 * with md_drain_clear(); overwritten, not cleared first). MD_ERR_NOT_FOUND
 * if none. */
md_status md_store_drain_get(md_store *st, const char *uuid, md_drain *out, md_err *err);

/* Drains with their guests, newest first, in a new array the caller frees
 * with md_drain_free_array() (NULL when *n is 0): only those in progress
 * (planning, running) when in_progress_only; at most limit (0 = all)
 * starting after marker (a drain's uuid; "" or NULL = from the newest;
 * MD_ERR_NOT_FOUND for a marker that names no drain). */
md_status md_store_drain_list(md_store *st, bool in_progress_only, const char *marker, size_t limit,
                              md_drain **out, size_t *n, md_err *err);

/* Appends ev to drain uuid's events; sets ev->id. MD_ERR_NOT_FOUND if no
 * such drain. */
md_status md_store_drain_add_event(md_store *st, const char *uuid, md_event *ev, md_err *err);

/* One page of drain uuid's events, as md_store_events_page() for a
 * migration. MD_ERR_NOT_FOUND if no such drain. */
md_status md_store_drain_events_page(md_store *st, const char *uuid, int64_t after_id, size_t limit,
                                     md_event **out, size_t *n, md_err *err);

#endif /* MD_STORE_H */
