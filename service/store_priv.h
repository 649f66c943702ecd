/* store_priv.h - what the store's files share: the connection, its statements and helpers.
 *
 * Private to service/store*.c, the store module, which alone includes
 * <sqlite3.h> (tests/lint/fences.sh). The store is one job split by what
 * it keeps:
 *
 *   store.c             the connection: open, the schema and its upgrades,
 *                       probe, close, and the helpers declared below;
 *   store_migrations.c  migration records, their events and commands, the
 *                       list and the purge;
 *   store_drain.c       drains, their guests and their events;
 *   store_list.c        the list of migration records and its statements.
 *
 * Locking: st->lock is held for the whole of every public call (store.c's
 * DESIGN essay says why). A function below that says "under the lock"
 * must be called with it held; none of them takes it.
 */
#ifndef MD_STORE_PRIV_H
#define MD_STORE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/store.h"

/* SQLite's handles, declared as <sqlite3.h> declares them (a repeated
 * typedef of the same type is allowed in C11): this header is included by
 * the store's .c files, which include <sqlite3.h> themselves, and the
 * fence (tests/lint/fences.sh) names those files as its only owners. */
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

/* The shapes of md_store_list()'s statement: one bit per filter that adds
 * a term to it (store_list.c's enum list_term), so 2^STORE_LIST_TERMS. */
#define STORE_LIST_TERMS 10
#define STORE_LIST_SHAPES (1u << STORE_LIST_TERMS)

/* How many read-only connections md_store_list() has (store_list.c): as
 * many as the API has threads on a machine of two CPUs. */
#define STORE_READERS 4

/* One of md_store_list()'s connections (store_list.c's DESIGN), with the
 * statements it keeps. lock is held for the whole of a list on it. */
typedef struct store_reader {
    pthread_mutex_t lock;
    bool lock_made; /* lock was initialised (a failed open may stop before) */
    sqlite3 *db;
    sqlite3_stmt *lookup;                  /* ?1 uuid -> id, created_at */
    sqlite3_stmt *list[STORE_LIST_SHAPES]; /* each shape's, once used; nlist are */
    size_t nlist;
} store_reader;

struct md_store {
    pthread_mutex_t lock; /* held for the whole of every call */
    sqlite3 *db;
    char *path; /* for messages */
    sqlite3_stmt *begin, *commit, *rollback;
    /* store_migrations.c's. */
    sqlite3_stmt *insert;          /* ?1..?N as store_migrations.c's enum mig_col */
    sqlite3_stmt *update;          /* the same, WHERE uuid = ?1 */
    sqlite3_stmt *get;             /* ?1 uuid */
    sqlite3_stmt *add_event;       /* ?1 uuid, ?2 at, ?3 kind, ?4 value, ?5 message */
    sqlite3_stmt *events;          /* ?1 uuid, ?2 after id, ?3 limit -> migration id, event */
    sqlite3_stmt *add_command;     /* ?1 uuid, ?2 kind, ?3 created_at */
    sqlite3_stmt *pending;         /* -> id, uuid, kind, created_at, oldest first */
    sqlite3_stmt *finish_command;  /* ?1 id */
    sqlite3_stmt *finish_commands; /* ?1 uuid: every pending command of it */
    /* store_drain.c's, described in its table of statements. */
    sqlite3_stmt *drain_insert, *drain_update, *drain_get, *drain_lookup;
    sqlite3_stmt *drain_guests, *drain_guest_insert, *drain_guests_delete;
    sqlite3_stmt *drain_add_event, *drain_events;
    /* store_list.c's connections, and where md_store_list() looks for a
     * free one first (any thread; atomic). */
    store_reader readers[STORE_READERS];
    atomic_uint next_reader;
};

/* A statement that md_store_open() prepares and md_store_close()
 * finalizes, with where in md_store it is kept. */
typedef struct store_stmt_def {
    size_t offset;
    const char *sql;
} store_stmt_def;

/* store_migrations.c's statements (the migration records', their events'
 * and commands'), prepared with store.c's own: store_migrations_nprepared
 * entries. Constant data, defined once; read by md_store_open() and
 * md_store_close() only, from any thread. */
extern const store_stmt_def store_migrations_prepared[];
extern const size_t store_migrations_nprepared;

/* store_drain.c's statements, prepared with store.c's own. */
extern const store_stmt_def store_drain_prepared[];
extern const size_t store_drain_nprepared;

/* "SELECT id, <every column of migrations> FROM migrations" (store_migrations.c),
 * whose rows store_read_migration() reads. */
extern const char store_sql_select_migration[];

/* Reads the current row of a store_sql_select_migration statement into
 * *m: MD_OK, or MD_ERR_INVALID for a state, policy or timeout action this
 * build does not know (store_migrations.c). Under the lock. */
md_status store_read_migration(md_store *st, sqlite3_stmt *s, md_migration *m, md_err *err);

/* Opens md_store_list()'s connections to st->path, read-only, each
 * waiting at most busy_ms for a lock: MD_OK, or MD_ERR_IO (MD_ERR_NOMEM)
 * with the connections opened so far left for store_list_close(). Called
 * by md_store_open() once the file is set up, before any other thread can
 * reach st. */
md_status store_list_open(md_store *st, int busy_ms, md_err *err);

/* Closes what store_list_open() opened, even in part, with the statements
 * kept on it (md_store_close(), before st->db). */
void store_list_close(md_store *st);

/* Formats "store PATH: WHAT: sqlite's message" into err and returns the
 * status for the sqlite result code rc (an extended code): MD_ERR_CONFLICT
 * for a UNIQUE or PRIMARY KEY constraint, MD_ERR_NOMEM, else MD_ERR_IO. */
__attribute__((format(printf, 4, 5))) md_status store_fail(md_store *st, md_err *err, int rc,
                                                           const char *what, ...);

/* Resets a cached statement and clears its bindings, ready for its next
 * use. Accepts NULL. */
void store_stmt_done(sqlite3_stmt *s);

/* Ends a failed call's transaction, if one is still open. Under the lock. */
void store_rollback_if_open(md_store *st);

/* Steps a cached statement that returns no rows (BEGIN, COMMIT) and
 * resets it: SQLITE_OK, or SQLite's error code. */
int store_run(sqlite3_stmt *s);

/* The bind helpers do nothing once *rc holds an error, so that a binder
 * is a flat list of calls with one check at the end. Text is bound
 * SQLITE_STATIC: it must outlive the statement's next reset. */
void store_bind_str(sqlite3_stmt *s, int i, const char *v, size_t cap, int *rc);
void store_bind_int(sqlite3_stmt *s, int i, int64_t v, int *rc);
/* A uint64 is stored as its int64 bit pattern; store_col_u64() restores it. */
void store_bind_u64(sqlite3_stmt *s, int i, uint64_t v, int *rc);

#define BIND_STR(s, col, field, rc) store_bind_str((s), (col), (field), sizeof(field), (rc))
#define BIND_NAME(s, col, name, rc) store_bind_str((s), (col), (name), SIZE_MAX, (rc))

/* Reads text column i into dst (cap bytes, cut and terminated); NULL
 * reads as "". */
void store_col_str(sqlite3_stmt *s, int i, char *dst, size_t cap);
uint64_t store_col_u64(sqlite3_stmt *s, int i);

#define COL_STR(s, col, field) store_col_str((s), (col), (field), sizeof(field))

/* Makes room in *arr (of *cap elements of elem bytes) for element n:
 * MD_OK, or MD_ERR_NOMEM with *arr unchanged. */
md_status store_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* Appends a fixed fragment to the statement text in buf (len of cap used):
 * false, buf unchanged, when it does not fit. */
bool store_sql_append(char *buf, size_t cap, size_t *len, const char *frag);

/* Appends ev to the events of the record uuid with the cached statement s
 * (?1 uuid, ?2 at, ?3 kind, ?4 value, ?5 message; inserting no row when
 * there is no such record) and sets ev->id. what names the record's kind
 * in messages ("migration", "drain"). MD_ERR_NOT_FOUND when no record.
 * Under the lock. */
md_status store_add_event_locked(md_store *st, sqlite3_stmt *s, const char *what, const char *uuid,
                                 md_event *ev, md_err *err);

/* One page of events of the record uuid, read with the cached statement s
 * (?1 uuid, ?2 after id, ?3 limit; one row per event of the record's id
 * and the event's id, at, kind, value and message, or a single row with
 * NULL event columns when it has none, or no row when there is no such
 * record), as md_store_events_page() says. what as above. Under the lock. */
md_status store_events_page_locked(md_store *st, sqlite3_stmt *s, const char *what,
                                   const char *uuid, int64_t after_id, size_t limit, md_event **out,
                                   size_t *n, md_err *err);

#endif /* MD_STORE_PRIV_H */
