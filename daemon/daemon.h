/* daemon.h - the composition root: a whole migrationd built from a configuration.
 *
 * migrationd is a library of layers (policy/, service/, api/) and one place
 * that wires them together: this module. It opens the store and the
 * hypervisor boundary, starts the engine (which recovers what an earlier run
 * left in progress), Keystone authentication when the configuration asks for
 * it, the request handler and the HTTP server, and stops them in the reverse
 * order. The daemon's main(), the in-process test stack, the fuzzer and the
 * benchmarks all build their daemon here, so there is one start order and
 * one stop order. It is the only code outside tests/ and bench/ that
 * includes headers of both service/ and api/.
 *
 * Life cycle:
 *
 *     md_daemon_open()    store + hypervisor (nothing runs yet)
 *     md_daemon_start()   engine (with recovery), auth, API, HTTP server
 *     md_daemon_stop()    HTTP server, API, auth, engine; jobs keep running
 *     md_daemon_close()   stops if needed, then the hypervisor and the store
 *
 * A stop followed by a start is a daemon restart on the same store and
 * hypervisor: the engine recovers the records in progress, as after a real
 * restart. Between open and start a caller may adjust the hypervisor (a test
 * stops the simulator's clock, a benchmark wraps its operations).
 *
 * Threads: every function here is for one thread, the one that owns the
 * daemon (main, or a test's thread); none may run concurrently with another
 * on the same daemon. The handles returned by the accessors are
 * thread-safe as their own headers say.
 */
#ifndef MD_DAEMON_H
#define MD_DAEMON_H

#include <stdbool.h>

#include "api/api.h"
#include "service/config.h"
#include "service/engine.h"
#include "service/hv.h"
#include "service/status.h"
#include "service/store.h"

typedef struct md_daemon md_daemon;

/* How much of the daemon md_daemon_start() builds. */
typedef enum md_daemon_layers {
    MD_DAEMON_ENGINE = 0, /* engine only: benchmarks of the service layer */
    MD_DAEMON_HANDLER,    /* + auth and the request handler, without sockets */
    MD_DAEMON_FULL,       /* + the HTTP server on api.listen: the daemon */
} md_daemon_layers;

/* Opens the store (cfg->service.database) and the hypervisor boundary that
 * cfg->service.hypervisor names. cfg is borrowed and must outlive the
 * daemon. On MD_OK *out must be released with md_daemon_close(); on failure
 * *out is NULL, nothing stays open, and err says what failed. Blocks
 * (SQLite, and a libvirtd connection). */
md_status md_daemon_open(const md_config *cfg, md_daemon **out, md_err *err);

/* Starts the engine and, as layers asks, authentication, the request
 * handler and the HTTP server. Recovers every record left in progress
 * before it takes work. MD_ERR_CONFLICT when already started. On failure
 * whatever it had started is stopped again and err says what failed.
 * Blocks (store and hypervisor I/O during recovery, binding the socket). */
md_status md_daemon_start(md_daemon *d, md_daemon_layers layers, md_err *err);

/* Stops what md_daemon_start() started, the API first so that no request
 * reaches a stopped engine. Migrations in flight keep running in the
 * hypervisor and stay in progress in the store. Returns false when an
 * engine worker was left blocked in the hypervisor (see md_engine_stop):
 * md_daemon_close() then leaves the hypervisor boundary open for the
 * process exit. Does nothing (returns true) when not started; accepts
 * NULL. */
bool md_daemon_stop(md_daemon *d);

/* Stops if started, then closes the hypervisor boundary (unless a worker
 * still blocks in it) and the store, and frees d. Accepts NULL. */
void md_daemon_close(md_daemon *d);

/* The parts, borrowed from d. Store and hypervisor: from open to close.
 * Engine and API: from start to stop, NULL otherwise (the API also NULL
 * when start was asked for MD_DAEMON_ENGINE only). */
md_store *md_daemon_store(const md_daemon *d);
md_hv *md_daemon_hv(const md_daemon *d);
md_engine *md_daemon_engine(const md_daemon *d);
md_api *md_daemon_api(const md_daemon *d);

#endif /* MD_DAEMON_H */
