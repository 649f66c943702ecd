/* fixture.h - cmocka fixtures on the in-process stack: requests to the API, waits on the engine.
 *
 * The engine and API unit tests (tests/unit/test_engine.c, test_api_v1.c,
 * test_api_nova.c) each run a fresh md_test_stack (tests/support/stack.h)
 * per test: the simulator's clock is stopped and moved by hand, so a
 * migration only progresses when a test says so, and the test then waits,
 * with a generous bound, for the engine's threads to react. This module
 * builds that fixture with the simulated domains a test asks for, hands
 * requests to md_api_handle() as the HTTP layer would (no sockets),
 * checking every answer, and waits on the engine.
 *
 * Functions that fail the test (cmocka's fail_msg or an assertion) may be
 * called on the test's thread only, or in a cmocka setup or teardown.
 */
#ifndef MD_TEST_FIXTURE_H
#define MD_TEST_FIXTURE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "api/api.h"
#include "service/engine.h"
#include "tests/support/stack.h"

/* Long enough for any reaction of the engine's threads on a loaded machine;
 * reached only when a test fails. */
#define MD_TEST_WAIT_MS 10000

/* ---- the fixture ------------------------------------------------------------------ */

/* The simulated domains a fixture can have, all of 1 GiB. The idle ones
 * finish in about a simulated second; vm-busy and vm-busy2 write 2 GiB/s
 * over 512 MiB and never converge at a downtime of 50 ms; vm-hot writes
 * 4 GiB/s over all of its RAM, so pre-copy cannot finish even at the
 * maximum downtime. */
#define MD_TEST_IDLE_A "11111111-1111-4111-8111-111111111111" /* vm-a */
#define MD_TEST_IDLE_B "22222222-2222-4222-8222-222222222222" /* vm-b */
#define MD_TEST_IDLE_C "33333333-3333-4333-8333-333333333333" /* vm-c */
#define MD_TEST_BUSY "44444444-4444-4444-8444-444444444444"   /* vm-busy */
#define MD_TEST_BUSY2 "55555555-5555-4555-8555-555555555555"  /* vm-busy2 */
#define MD_TEST_HOT "77777777-7777-4777-8777-777777777777"    /* vm-hot */
/* The UUID of no domain and no migration. */
#define MD_TEST_GHOST "66666666-6666-4666-8666-666666666666"

/* Which of those domains a fixture has (an OR of these). */
enum {
    MD_TEST_VM_A = 1 << 0,
    MD_TEST_VM_B = 1 << 1,
    MD_TEST_VM_C = 1 << 2,
    MD_TEST_VM_BUSY = 1 << 3,
    MD_TEST_VM_BUSY2 = 1 << 4,
    MD_TEST_VM_HOT = 1 << 5,
};

/* What md_test_fixture_setup() builds. */
typedef struct md_test_fixture_spec {
    const char *tag; /* the temporary directory's name starts with it */
    unsigned vms;    /* the domains: an OR of MD_TEST_VM_* */
    /* Called after those domains are added and before the stack opens
     * (NULL: nothing): adds more domains or peers, changes s->cfg. */
    void (*prepare)(md_test_stack *s);
} md_test_fixture_spec;

/* The cmocka setup and teardown of a test on a fixture; MD_TEST_FIXTURE()
 * names the test with them. The setup replaces *state, a spec (the test's
 * initial state), by a new md_test_stack (under /tmp) with the spec's
 * domains, opened but not started: the test may change its cfg, then
 * starts it with md_test_fixture_start(). It fails the test when that
 * fails. The teardown closes and frees the stack. Both return 0. */
int md_test_fixture_setup(void **state);
int md_test_fixture_teardown(void **state);

/* The struct CMUnitTest of test fn on a fixture built from spec (an
 * md_test_fixture_spec *, which must outlive the run). */
#define MD_TEST_FIXTURE(fn, spec)                                                                 \
    cmocka_unit_test_prestate_setup_teardown(fn, md_test_fixture_setup, md_test_fixture_teardown, \
                                             (spec))

/* md_test_stack_start(), with the API when api is true; fails the test
 * when it fails. */
void md_test_fixture_start(md_test_stack *s, bool api);

/* ---- requests to the API ---------------------------------------------------------- */

/* One answer, with its body parsed. Freed with md_test_reply_free(). */
typedef struct md_test_reply {
    int status;        /* raw.status */
    json_object *json; /* the parsed body, NULL when there is none */
    md_api_response raw;
} md_test_reply;

/* The request headers the API reads; each NULL for none. */
typedef struct md_test_headers {
    const char *content_type;
    const char *nova_version;      /* X-OpenStack-Nova-API-Version */
    const char *openstack_version; /* OpenStack-API-Version */
    const char *auth_token;        /* X-Auth-Token */
} md_test_headers;

/* Hands req to s->api (started with the API) and parses the answer. Fails
 * the test on a 5xx, a body that is not JSON, or an error answer that is
 * not the Nova fault of its status (md_test_check_fault()). */
md_test_reply md_test_handle(md_test_stack *s, const md_api_request *req);

/* METHOD target through md_test_handle(). target is a path with an optional
 * query ("/v1/os-migrations?status=running%20(post-copy)&limit=2"), whose
 * keys and values are decoded (%XX, '+') as the HTTP layer decodes them. h
 * gives the headers (NULL: none); a body (or NULL) is sent as is. */
md_test_reply md_test_call_h(md_test_stack *s, const char *method, const char *target,
                             const md_test_headers *h, const char *body);

/* md_test_call_h() with only a content type: application/json when there
 * is a body. */
md_test_reply md_test_call(md_test_stack *s, const char *method, const char *target,
                           const char *body);

/* The value of response header name (case-insensitive) in r, or NULL.
 * Borrowed from r. */
const char *md_test_reply_header(const md_test_reply *r, const char *name);

/* Frees what r holds and zeroes it. Accepts a zeroed r. */
void md_test_reply_free(md_test_reply *r);

/* Asserts that r answered status (its fault's shape is checked by
 * md_test_handle()) with a message containing text (when not NULL);
 * consumes r. */
void md_test_expect_fault(md_test_reply r, int status, const char *text);

/* md_test_expect_fault() of METHOD target with body (or NULL). */
void md_test_expect_fault_call(md_test_stack *s, const char *method, const char *target,
                               const char *body, int status, const char *text);

/* GET collection/uuid (collection as "/v1/drains"): fails the test unless
 * it answers 200; returns the object under key ("drain"), owned by *r
 * (md_test_reply_free). */
json_object *md_test_show(md_test_stack *s, const char *collection, const char *key,
                          const char *uuid, md_test_reply *r);

/* ---- faults ------------------------------------------------------------------------ */

/* Another process (the sqlite3 shell) takes the store's write lock and
 * keeps it, as a backup job or an administrator's shell would: every write
 * of the engine fails (database is locked) until md_test_unlock_db()
 * commits. Fails the test when the shell cannot be started. */
FILE *md_test_lock_db(md_test_stack *s);
/* Lets the lock of md_test_lock_db() go; fails the test when the shell
 * did not end well. */
void md_test_unlock_db(FILE *locker);

/* ---- waiting on the engine -------------------------------------------------------- */

/* Predicates for md_engine_wait(). */
bool md_test_is_running(md_mig_state s);
bool md_test_is_post_copy(md_mig_state s);
bool md_test_is_recovering(md_mig_state s); /* running (post-copy recovering) */
bool md_test_is_final(md_mig_state s);

/* Waits (bounded by MD_TEST_WAIT_MS) until done holds for the migration's
 * state; fails the test unless that state is then want. */
void md_test_expect_state(md_test_stack *s, const char *uuid, bool (*done)(md_mig_state),
                          md_mig_state want);

/* Creates a migration of instance to node-b through the engine with the
 * configuration's defaults; fails the test unless the status is want.
 * Returns the new record (zeroed on an expected failure). */
md_migration md_test_create(md_test_stack *s, const char *instance, md_status want);

/* True if migration uuid's timeline has an event of kind whose message
 * contains text (text may be NULL). Fails the test when the store cannot
 * list the events. */
bool md_test_has_event(md_test_stack *s, const char *uuid, const char *kind, const char *text);

/* Waits (real time, up to MD_TEST_WAIT_MS) until md_test_has_event() holds;
 * fails the test naming the event otherwise. */
void md_test_expect_event(md_test_stack *s, const char *uuid, const char *kind, const char *text);

/* The engine's view of migration uuid; fails the test when it has none. */
md_migration md_test_migration(md_test_stack *s, const char *uuid);

/* The store's own copy of migration uuid (not the engine's view); fails
 * the test when the store cannot read it. */
md_migration md_test_stored(md_test_stack *s, const char *uuid);

/* The hypervisor's view of domain uuid; fails the test when it has none. */
md_hv_domain md_test_domain(md_test_stack *s, const char *uuid);

/* Moves simulated time step_s seconds at a time (0: none), giving the
 * monitor 20 ms to sample after each step, until pred holds for the
 * migration or MD_TEST_WAIT_MS of real time have passed. Returns the
 * migration as last seen; the caller checks pred again if it must hold. */
md_migration md_test_drive_until(md_test_stack *s, const char *uuid, double step_s,
                                 bool (*pred)(const md_migration *));

/* As md_test_drive_until() for drain uuid: until pred holds for the
 * drain as the engine shows it (md_engine_drain_get) or MD_TEST_WAIT_MS
 * have passed. *out is the drain as last read (initialised here;
 * md_drain_clear it); fails the test when the engine cannot read it. */
void md_test_drive_drain(md_test_stack *s, const char *uuid, double step_s,
                         bool (*pred)(const md_drain *), md_drain *out);

/* Predicates for md_test_drive_until(). */
bool md_test_ended(const md_migration *m);
bool md_test_downtime_set(const md_migration *m); /* the monitor has set a downtime */
bool md_test_paused_or_ended(const md_migration *m);
/* Completed, with the real downtime known: a record is completed as the
 * job ends and gets its downtime when the hypervisor's final statistics
 * come, a moment later (service/engine_worker.c). */
bool md_test_downtime_known(const md_migration *m);

#endif /* MD_TEST_FIXTURE_H */
