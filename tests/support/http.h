/* http.h - a libcurl client, and a migrationd process on the simulator to talk to, for tests.
 *
 * The HTTP tests (tests/api/test_http.c, tests/keystone/test_api_auth.c)
 * run the real daemon binary, $MD_BINARY_DIR/migrationd, on a free
 * loopback port, and talk to it (and to Keystone) with libcurl. This module
 * is the one place that includes <curl/curl.h> among the tests, writes the
 * daemon's configuration, starts, waits for and stops the process, and
 * checks what every answer of migrationd must be.
 *
 * Order of use: md_test_http_global_init() once, on the main thread, before
 * any client exists; md_test_daemon_init(), md_test_daemon_start() (again
 * after a stop: a restart on the same database), requests, and
 * md_test_daemon_close() last; md_test_http_global_cleanup() at the end.
 *
 * Every request is bounded (MD_TEST_HTTP_TIMEOUT_MS) and so is every wait.
 * A client is used by one thread at a time; each thread makes its own.
 * Functions that fail the test (cmocka's fail_msg) run on the test's
 * thread only; md_test_http_request() never asserts and is thread-safe.
 */
#ifndef MD_TEST_HTTP_H
#define MD_TEST_HTTP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define MD_TEST_HTTP_TIMEOUT_MS 5000  /* the bound of every request */
#define MD_TEST_DAEMON_START_MS 10000 /* from fork to GET /healthcheck answering 200 */
#define MD_TEST_DAEMON_STOP_MS 10000  /* from SIGTERM to the exit */
#define MD_TEST_DAEMON_WAIT_MS 15000  /* for a state the daemon reaches by itself */

/* ---- the client ------------------------------------------------------------------- */

typedef struct md_test_http md_test_http;

typedef struct md_test_buf {
    char *p; /* NUL-terminated (malloc), NULL while empty */
    size_t len;
} md_test_buf;

/* One answer. Zeroed by md_test_http_resp_free(). */
typedef struct md_test_http_resp {
    long status; /* 0 when the request itself failed */
    int rc;      /* libcurl's CURLcode: 0 when it did not */
    md_test_buf body;
    md_test_buf headers; /* the raw header lines of every response */
    json_object *json;   /* the parsed body, or NULL */
} md_test_http_resp;

/* curl_global_init() and curl_global_cleanup(): once each, on the main
 * thread, before the first and after the last client. */
void md_test_http_global_init(void);
void md_test_http_global_cleanup(void);

/* A new client (one libcurl handle, which keeps its connection alive)
 * whose relative targets go to base ("http://127.0.0.1:PORT", or NULL for
 * absolute URLs only). NULL when libcurl cannot make one. Free it with
 * md_test_http_free(), which accepts NULL. */
md_test_http *md_test_http_new(const char *base);
void md_test_http_free(md_test_http *c);

/* Sets the base of relative targets (copied). */
void md_test_http_set_base(md_test_http *c, const char *base);

/* One request on c, bounded by MD_TEST_HTTP_TIMEOUT_MS. target is a path
 * ("/v1/...", after the base) or an absolute URL ("http..."). headers is a
 * NULL-terminated list of extra header lines, or NULL; "Expect:" is always
 * sent, so a body goes at once. A body (not NULL) is sent as is, body_len
 * bytes, with the method given (POST unless it says otherwise). The body
 * is parsed as JSON when there is one. Never asserts; blocks for the
 * round trip. The caller frees the answer with md_test_http_resp_free(). */
md_test_http_resp md_test_http_request(md_test_http *c, const char *method, const char *target,
                                       const char *const *headers, const char *body,
                                       size_t body_len);

/* libcurl's text for r->rc (static storage). */
const char *md_test_http_error(const md_test_http_resp *r);

/* The value of header name in r (name case-insensitive, value without the
 * leading blanks), truncated into out; false when absent. Only the final
 * response counts (not an interim 100). */
bool md_test_http_header(const md_test_http_resp *r, const char *name, char *out, size_t len);

/* Frees what r holds and zeroes it. Accepts a zeroed r. */
void md_test_http_resp_free(md_test_http_resp *r);

/* ---- the daemon ------------------------------------------------------------------- */

/* What differs between the tests' configurations. Around it the daemon
 * always gets: host node-a, the database in its directory, the simulated
 * hypervisor, log level info, the API on 127.0.0.1 and the free port, a
 * monitor interval of 100 ms, no completion or progress timeout (a busy
 * guest runs until it is aborted), and a simulator at time_scale 50 with a
 * 1024 MiB/s link. */
typedef struct md_test_daemon_config {
    int max_concurrent;        /* service.max_concurrent_live_migrations */
    const char *api;           /* more settings of the api section, or "" */
    const char *domains;       /* the simulator's domains: the list's items */
    void (*sections)(FILE *f); /* writes more top-level sections, or NULL */
} md_test_daemon_config;

typedef struct md_test_daemon {
    char dir[64];                     /* the temporary directory, removed at close */
    char config[128];                 /* its migrationd.conf */
    char log[128];                    /* its migrationd.log: the daemon's stdout and stderr */
    char base[64];                    /* http://127.0.0.1:PORT while it runs */
    pid_t pid;                        /* 0 while it does not */
    md_test_http *http;               /* the test thread's client, at base */
    const md_test_daemon_config *cfg; /* borrowed: outlives the daemon */
    bool server_errors_ok;            /* false: any 5xx answer fails the check */
} md_test_daemon;

/* Creates the directory (/tmp/md-<tag>-XXXXXX) and the client; cfg is
 * borrowed. Returns 0, or -1 after printing why to stderr. */
int md_test_daemon_init(md_test_daemon *d, const char *tag, const md_test_daemon_config *cfg);

/* Writes the configuration for a new free port and starts the daemon
 * (its output appended to d->log), then waits (bounded by
 * MD_TEST_DAEMON_START_MS) until GET /healthcheck answers 200 without any
 * header. Returns 0, or -1 after printing why and the log to stderr. */
int md_test_daemon_start(md_test_daemon *d);

/* SIGTERM, then waits (bounded by MD_TEST_DAEMON_STOP_MS) for the exit.
 * Returns the wait status, 0 when the daemon was not running, or -1 when
 * it did not exit in time (it is then killed). */
int md_test_daemon_stop(md_test_daemon *d);

/* md_test_daemon_stop(); fails the test (showing the log) unless the
 * daemon exited in time with status 0 and its log holds no sanitizer
 * report. */
void md_test_daemon_expect_clean_stop(md_test_daemon *d);

/* Kills a daemon left running (SIGKILL), removes the directory and frees
 * the client. Safe on a zeroed or partly set up d. */
void md_test_daemon_close(md_test_daemon *d);

/* Copies the daemon's log to stderr (to see why a test failed). */
void md_test_daemon_dump_log(const md_test_daemon *d);

/* Fails the test unless r is what every answer of migrationd must be: no
 * transport error (the log is shown then), no 5xx unless
 * d->server_errors_ok, a JSON body served as application/json when there
 * is a body, and a Nova fault of the status's name for every error.
 * method and target name the request in the failure message. */
void md_test_daemon_check(const md_test_daemon *d, const char *method, const char *target,
                          const md_test_http_resp *r);

/* A checked request on d->http: headers as md_test_http_request(), plus
 * "Content-Type: application/json" when there is a body (NUL-terminated). */
md_test_http_resp md_test_daemon_call(md_test_daemon *d, const char *method, const char *target,
                                      const char *const *headers, const char *body);

/* md_test_daemon_call(), then fails the test unless the answer is status. */
void md_test_daemon_expect(md_test_daemon *d, const char *method, const char *target,
                           const char *const *headers, const char *body, long status);

/* GET /v1/os-migrations/{uuid} with headers into *r, which must answer
 * 200; returns its "migration" object (owned by *r). */
json_object *md_test_daemon_show(md_test_daemon *d, const char *const *headers, const char *uuid,
                                 md_test_http_resp *r);

/* Polls md_test_daemon_show() until the migration's status is want (NULL:
 * any final one); fails the test after MD_TEST_DAEMON_WAIT_MS. */
void md_test_daemon_wait_status(md_test_daemon *d, const char *const *headers, const char *uuid,
                                const char *want);

/* Polls md_test_daemon_show() until the migration's downtime_ms is known
 * (not null), which libvirt's final statistics bring a moment after the
 * end; returns it. Fails the test after MD_TEST_DAEMON_WAIT_MS. */
int64_t md_test_daemon_wait_downtime(md_test_daemon *d, const char *const *headers,
                                     const char *uuid);

/* True for the status names of migrations in progress as the API shows
 * them ("queued", "preparing", "running", "running (post-copy)",
 * "running (post-copy recovering)"). */
bool md_test_status_in_progress(const char *status);

#endif /* MD_TEST_HTTP_H */
