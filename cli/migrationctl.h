/* migrationctl.h - the private header of migrationctl, the command-line client of migrationd.
 *
 * migrationctl is a client of the REST API and nothing else: it links no code of the daemon
 * (service/, api/, policy/), so that it can run on an operator's machine against any
 * migrationd it can reach, and so that the API, not shared structs, is the contract.
 *
 * The files, each with one job:
 *   main.c      the command line: options, help, dispatch, exit codes
 *   commands.c  the commands that are one or a few requests (list, show, start, ...)
 *   drain.c     the drain commands (drain start, list, show, events, cancel, watch)
 *   watch.c     the live view of one migration or drain (watch, start --wait, drain watch)
 *   client.c    requests to migrationd's /v1: URLs, the token, faults -> messages
 *   auth.c      the token: OS_TOKEN, or a Keystone v3 password login
 *   http.c      one HTTP exchange; the only file that includes libcurl
 *   format.c    table, json and value output, -c columns
 *
 * THE ERROR CONVENTION
 * --------------------
 * Every function that can fail returns an mc_status, which is also the process's exit code
 * (so a failure deep in http.c exits with the right code without a translation table), and
 * writes a one-line message into an mc_err. The message is written once, by the code that
 * knows what failed; main() prints it as "migrationctl: MESSAGE" on stderr and exits with the
 * status. Nothing else prints errors.
 *
 * Single-threaded: nothing here is thread-safe, and nothing needs to be.
 */
#ifndef MC_MIGRATIONCTL_H
#define MC_MIGRATIONCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The exit codes of migrationctl, documented in `migrationctl help` (main.c). */
typedef enum mc_status {
    MC_OK = 0,             /* done; for watch and start --wait: the migration (drain) completed */
    MC_ERR_ENDED = 1,      /* the migration ended failed, cancelled or error; the drain partial,
                         cancelled or failed */
    MC_ERR_USAGE = 2,      /* the command line is wrong */
    MC_ERR_CONNECT = 3,    /* migrationd or Keystone unreachable, or auth refused (401/403) */
    MC_ERR_REQUEST = 4,    /* migrationd refused the request (400, 404, 409, 5xx, ...) */
    MC_ERR_TIMEOUT = 5,    /* --timeout ran out while the migration was still in progress */
    MC_ERR_UNSUPPORTED = 6 /* the command needs something this migrationd does not have (drains
                              on a migrationd older than them) */
} mc_status;

/* The message of a failure (one line, no trailing newline). */
typedef struct mc_err {
    char msg[1024];
} mc_err;

/* Formats the message into e (when e is not NULL) and returns st, so that a failure is
 * reported in one statement: return mc_err_set(e, MC_ERR_..., ...). */
mc_status mc_err_set(mc_err *e, mc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- http.c: one HTTP exchange ----------------------------------------------------- */

/* Must be called once before any request, and mc_http_global_cleanup() once at the end
 * (libcurl's global state). Returns MC_OK or MC_ERR_CONNECT. */
mc_status mc_http_global_init(mc_err *e);
void mc_http_global_cleanup(void);

typedef struct mc_http_request {
    const char *method;      /* "GET", "POST", "PUT", "DELETE" */
    const char *url;         /* the whole URL */
    const char *peer;        /* who answers, for messages: "migrationd", "Keystone" */
    const char *peer_url;    /* where, for messages: the endpoint the operator gave */
    const char *token;       /* sent as X-Auth-Token when not NULL */
    const char *body;        /* JSON sent with Content-Type application/json, or NULL */
    const char *want_header; /* a response header to capture (e.g. "X-Subject-Token") */
    const char *cacert;      /* a CA bundle for https, or NULL for the system's */
    long timeout_s;          /* the whole exchange, > 0 */
} mc_http_request;

typedef struct mc_http_response {
    long status;  /* the HTTP status code */
    char *body;   /* the body, NUL-terminated (never NULL after MC_OK); owned */
    size_t len;   /* its length */
    char *header; /* the value of want_header, or NULL when absent; owned */
} mc_http_response;

/* Sends the request and waits for the whole answer (at most timeout_s). Returns MC_OK when
 * any HTTP answer came (whatever its status: the caller judges it), with *out filled (free
 * it with mc_http_response_free); MC_ERR_CONNECT with "cannot reach PEER at URL: REASON"
 * when none did (refused, no route, timeout, TLS, ...). Blocks. */
mc_status mc_http_send(const mc_http_request *req, mc_http_response *out, mc_err *e);

/* Frees what *r owns and zeroes it; r may be NULL or already freed. */
void mc_http_response_free(mc_http_response *r);

/* ---- auth.c: the token -------------------------------------------------------------- */

/* Reads the environment as openstackclient does and returns in *token (owned, free()) the
 * token to send: OS_TOKEN when set; else, when OS_AUTH_URL is set, a project- or
 * system-scoped token from a Keystone v3 password login (OS_USERNAME, OS_PASSWORD,
 * OS_PROJECT_NAME or OS_PROJECT_ID, OS_USER_DOMAIN_NAME/ID, OS_PROJECT_DOMAIN_NAME/ID,
 * OS_SYSTEM_SCOPE); else NULL (no authentication: a noauth daemon). Returns MC_OK,
 * MC_ERR_USAGE when the variables are incomplete, MC_ERR_CONNECT when Keystone cannot be
 * reached or refuses the login. Blocks (one request to Keystone). */
mc_status mc_auth_token(long timeout_s, char **token, mc_err *e);

/* ---- client.c: requests to migrationd ------------------------------------------------ */

typedef struct mc_client {
    char url[512];    /* the endpoint without a trailing '/', e.g. http://127.0.0.1:8775 */
    long timeout_s;   /* per request */
    char *token;      /* the token once obtained (owned), NULL before or without auth */
    bool token_tried; /* whether auth ran already (token may still be NULL: noauth) */
    bool unreachable; /* whether the last call got no HTTP answer at all (watch retries) */
    long status;      /* the HTTP status of the last call's answer, 0 when none came */
} mc_client;

/* Sets up a client of the endpoint url (copied; a trailing '/' is dropped). Returns MC_OK
 * or MC_ERR_USAGE when the URL is not http:// or https:// or too long. */
mc_status mc_client_init(mc_client *c, const char *url, long timeout_s, mc_err *e);

/* Frees what c owns; c may be NULL. */
void mc_client_free(mc_client *c);

/* One request to the API: METHOD PATH (from the endpoint's root, e.g.
 * "/v1/os-migrations?limit=5"), with body (sent as JSON) when not NULL. Gets the token at the
 * first request that needs one. On a 2xx answer returns MC_OK and the parsed body in *out
 * (owned: json_object_put; NULL for an empty body); otherwise the status the answer means
 * (401/403 MC_ERR_CONNECT, other errors MC_ERR_REQUEST) with the server's message. `what`
 * names the thing asked for in 404 messages (e.g. "migration 0b6a...") or is NULL. Blocks. */
mc_status mc_client_call(mc_client *c, const char *method, const char *path, json_object *body,
                         const char *what, json_object **out, mc_err *e);

/* GET COLLECTION/UUID (e.g. "/v1/drains"): the object under key ("drain") of the answer
 * (*out, owned). Blocks. */
mc_status mc_client_get_record(mc_client *c, const char *collection, const char *key,
                               const char *uuid, json_object **out, mc_err *e);

/* POST COLLECTION with body (e.g. "/v1/drains"): the answer (*doc, owned, also on failure)
 * and the new record under key in it (*rec, borrowed from *doc), which must have a UUID;
 * MC_ERR_REQUEST ("POST COLLECTION: 202 without the record") when it has none. Blocks. */
mc_status mc_client_create(mc_client *c, const char *collection, const char *key, json_object *body,
                           json_object **doc, json_object **rec, mc_err *e);

/* GET /v1/os-migrations/UUID: the record (*out, owned). Blocks. */
mc_status mc_client_get_migration(mc_client *c, const char *uuid, json_object **out, mc_err *e);

/* The events of migration uuid after event id `after` (0: from the first), oldest first,
 * following the API's pages to the end: *out is a new array (owned). Blocks. */
mc_status mc_client_get_events(mc_client *c, const char *uuid, int64_t after, json_object **out,
                               mc_err *e);

/* The same for the record COLLECTION/UUID whose events are COLLECTION/UUID/events (key names
 * it in messages: "drain"). Blocks. */
mc_status mc_client_get_record_events(mc_client *c, const char *collection, const char *key,
                                      const char *uuid, int64_t after, json_object **out,
                                      mc_err *e);

/* GET COLLECTION?QUERY (query: "" or "key=value&...", without a marker) from the record
 * after marker (a UUID, or NULL: from the first): the members of the answer's key array
 * ("drains"), of this page only when one_page, else of every page, following the next links
 * of key_links ("drains_links") to the last. *out is a new array (owned). Blocks. */
mc_status mc_client_list(mc_client *c, const char *collection, const char *key, const char *query,
                         const char *marker, bool one_page, json_object **out, mc_err *e);

/* Appends "key=value" to the query q (of len bytes), after a '&' unless q is empty; value
 * is percent-encoded but for RFC 3986's unreserved characters (a status such as "running
 * (post-copy)" has spaces and parentheses). Nothing when value is NULL. */
void mc_query_add(char *q, size_t len, const char *key, const char *value);

/* Whether s looks like a UUID (8-4-4-4-12 hex digits). */
bool mc_is_uuid(const char *s);

/* Whether status names a final state (completed, cancelled, failed, error). */
bool mc_status_is_final(const char *status);

/* ---- format.c: output --------------------------------------------------------------- */

typedef enum mc_format { MC_FORMAT_TABLE, MC_FORMAT_JSON, MC_FORMAT_VALUE } mc_format;

/* What -f and -c asked for. */
typedef struct mc_output {
    mc_format format;
    const char *columns[32]; /* -c COLUMN, in order; NULL-terminated; not owned */
    size_t ncolumns;
} mc_output;

/* Parses a -f argument. Returns MC_OK or MC_ERR_USAGE. */
mc_status mc_format_parse(const char *name, mc_format *out, mc_err *e);

/* Prints the array of objects rows, one row each, with the columns of -c or else the
 * default columns defaults (NULL-terminated; NULL: every member of the first row).
 * table: a grid with a header; json: an array of objects with those members; value: one
 * line per row, the values separated by spaces. Returns MC_OK, or MC_ERR_USAGE when -c
 * names a column that no row has (when there are rows). */
mc_status mc_print_list(const mc_output *o, json_object *rows, const char *const *defaults,
                        mc_err *e);

/* Prints one object: table as Field/Value rows, json as the object, value one value per
 * line; -c selects and orders the members. Returns MC_OK or MC_ERR_USAGE (unknown -c). */
mc_status mc_print_object(const mc_output *o, json_object *obj, mc_err *e);

/* A member's value as text for table and value output: strings as they are, null as "",
 * others as compact JSON. The string lives as long as v. */
const char *mc_value_text(json_object *v);

/* mc_value_text of o's member key, or "" when o is NULL or has no such member. */
const char *mc_member_text(json_object *o, const char *key);

/* ---- commands.c and watch.c: the commands -------------------------------------------- */

/* What main() parsed: the global options and the command's own, by name. */
typedef struct mc_args {
    mc_output out;
    const char *pos[4]; /* the positional arguments after the command */
    size_t npos;
    /* The options of the commands (NULL / -1 / false when not given). */
    const char *status, *instance, *host, *type, *changes_since, *changes_before, *marker;
    const char *dest_host, *timeout_action;
    long long limit, max_downtime, bandwidth;
    int post_copy; /* 1 --post-copy, 0 --no-post-copy, -1 neither */
    bool block, wait;
    /* drain start (and cancel's --abort-running): the repeatable options, in order. */
    const char *dests[16];
    size_t ndests;
    const char *instances[1000], *exclude[1000];
    size_t ninstances, nexclude;
    long long deadline, parallel; /* -1 when not given */
    bool strict, abort_running;
    double interval_s, timeout_s; /* watch: seconds between polls; give up after (0: never) */
} mc_args;

mc_status mc_cmd_list(mc_client *c, const mc_args *a, mc_err *e);
mc_status mc_cmd_show(mc_client *c, const mc_args *a, mc_err *e);
mc_status mc_cmd_events(mc_client *c, const mc_args *a, mc_err *e);
mc_status mc_cmd_start(mc_client *c, const mc_args *a, mc_err *e);
mc_status mc_cmd_set(mc_client *c, const mc_args *a, mc_err *e);
mc_status mc_cmd_version(mc_client *c, const mc_args *a, mc_err *e);
/* force-complete, post-copy, recover, abort: action is the API's name ("force_complete"). */
mc_status mc_cmd_action(mc_client *c, const mc_args *a, const char *action, mc_err *e);
/* drain SUBCOMMAND (a->pos[0]): start, list, show, events, cancel, watch (drain.c). */
mc_status mc_cmd_drain(mc_client *c, const mc_args *a, mc_err *e);

/* Watches migration uuid until it is final: a view redrawn in place when stdout is a
 * terminal, else plain lines. Returns MC_OK when it completed, MC_ERR_ENDED when it ended
 * otherwise, MC_ERR_TIMEOUT when a->timeout_s ran out first, or the error of a request that
 * failed (an unreachable daemon is retried for up to 30 s, as across a restart). Blocks. */
mc_status mc_watch(mc_client *c, const mc_args *a, const char *uuid, mc_err *e);

/* The same for drain uuid: MC_OK when it completed, MC_ERR_ENDED when it ended partial,
 * cancelled or failed, MC_ERR_TIMEOUT at a->timeout_s. Blocks. */
mc_status mc_watch_drain(mc_client *c, const mc_args *a, const char *uuid, mc_err *e);

#endif /* MC_MIGRATIONCTL_H */
