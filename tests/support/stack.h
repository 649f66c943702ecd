/* stack.h - the daemon's in-process stack on the simulator, for tests.
 *
 * Several test programs (engine, API, fuzzing) need the same thing: a
 * configuration with the simulated hypervisor, a store in a fresh temporary
 * directory, the simulator with its clock stopped (moved by the test with
 * md_hv_sim_advance), the engine and optionally the API handler. This
 * module builds and tears that down in one place, through the daemon's own
 * composition root (daemon/daemon.h), so that tests start and stop the
 * layers in exactly the daemon's order.
 *
 * Order of use: md_test_stack_init(), md_test_stack_add_domain() for each
 * simulated domain and any change to s->cfg, md_test_stack_open() (store and
 * simulator), then md_test_stack_start()/md_test_stack_stop() as often as a
 * test needs (a stop and a start is a daemon restart on the same store and
 * hypervisor), and md_test_stack_close() last. Each returns 0 on success or
 * -1 after printing why to stderr. Not thread-safe: one test thread.
 */
#ifndef MD_TEST_STACK_H
#define MD_TEST_STACK_H

#include <stdbool.h>

#include "api/api.h"
#include "daemon/daemon.h"
#include "service/engine.h"
#include "service/hv_sim.h"

typedef struct md_test_stack {
    char dir[128];     /* the temporary directory, removed at close */
    char db[192];      /* the store's path inside it */
    md_config *cfg;    /* host node-a, simulator, monitor every 50 ms */
    md_daemon *daemon; /* between open and close */
    md_store *store;
    md_hv *hv;
    md_engine *eng; /* between start and stop */
    md_api *api;    /* between start and stop, when asked for */
} md_test_stack;

/* Creates the directory (under base, e.g. "/tmp"; name starts with tag) and
 * the default test configuration, with no domains yet. */
int md_test_stack_init(md_test_stack *s, const char *base, const char *tag);

/* Adds a simulated domain to s->cfg (before md_test_stack_open). */
void md_test_stack_add_domain(md_test_stack *s, const char *name, const char *uuid, int ram_mib,
                              int working_set_mib, int dirty_mibps);

/* Adds a peer to s->cfg (before md_test_stack_start): name, its address,
 * its migration address ("" = none) and its link for drains' plans
 * (bandwidth_mibps, 0 = not given; the simulator then gives it this
 * link). */
void md_test_stack_add_peer(md_test_stack *s, const char *name, const char *address,
                            const char *migrate_address, int bandwidth_mibps);

/* Opens the store and the simulator, its clock stopped. */
int md_test_stack_open(md_test_stack *s);

/* Starts the engine (recovering what the store holds) and, with api, the
 * request handler without authentication. */
int md_test_stack_start(md_test_stack *s, bool api);

/* Stops the API and the engine; the simulator's jobs go on. Returns false
 * when a worker was left blocked (then the simulator must stay open). */
bool md_test_stack_stop(md_test_stack *s);

/* Stops everything, closes the store and removes the directory. Safe on a
 * zeroed or partly built stack. */
void md_test_stack_close(md_test_stack *s);

#endif /* MD_TEST_STACK_H */
