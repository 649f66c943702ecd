/* internal.h - what the API's own files share: routes, handler context, faults, JSON.
 *
 * Private to api/. A route is a method, a path pattern ("/v1/os-migrations/{}"
 * - each "{}" matches one non-empty segment and becomes a parameter), the
 * role class it needs and a handler. api.c matches routes, authenticates,
 * checks and parses the body, and then calls the handler with a context;
 * the handler fills the response through the helpers below.
 */
#ifndef MD_API_INTERNAL_H
#define MD_API_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "api/auth.h"

/* The action class a route needs (api/authz.h has the rule; the classes'
 * roles default to roles.read and roles.write). */
typedef enum md_api_role {
    MD_API_PUBLIC = 0, /* no token needed: version documents, healthcheck */
    MD_API_READ,       /* list, show, events: roles.list */
    MD_API_CREATE,     /* a new migration or drain: roles.create */
    MD_API_UPDATE,     /* settings, force_complete, post_copy: roles.update */
    MD_API_ABORT,      /* aborting, cancelling a drain: roles.abort */
    /* GET /metrics: as MD_API_READ, except where api.metrics_auth lets the
     * caller in without a token (by default, from a loopback address). */
    MD_API_METRICS,
} md_api_role;

#define MD_API_MAX_PARAMS 4

/* The Nova microversions the /v2.1 routes serve, 2.MIN..2.MAX, as numbers
 * (api.c negotiates them) and as the strings the version documents show
 * (v1.c, nova.c). */
#define MD_API_NOVA_MIN_MINOR 1
#define MD_API_NOVA_MAX_MINOR 80
#define MD_API_STR_(x) #x
#define MD_API_STR(x) MD_API_STR_(x)
#define MD_API_NOVA_MIN_VERSION "2." MD_API_STR(MD_API_NOVA_MIN_MINOR)
#define MD_API_NOVA_MAX_VERSION "2." MD_API_STR(MD_API_NOVA_MAX_MINOR)

/* The text of records rendered before, for the lists (record_cache.c). */
typedef struct md_api_record_cache md_api_record_cache;

typedef struct md_api_ctx {
    const md_api_deps *deps;
    md_api_record_cache *records; /* the md_api's, shared by its threads */
    const md_api_request *req;
    md_api_response *resp;
    const char *params[MD_API_MAX_PARAMS]; /* path segments matched by "{}" */
    char param_buf[MD_API_MAX_PARAMS][256];
    json_object *body;  /* the parsed body, or NULL if none */
    int version_minor;  /* /v2.1: negotiated 2.N microversion */
    bool authenticated; /* who holds the token's validation */
    md_auth_result who;
} md_api_ctx;

typedef void (*md_api_handler)(md_api_ctx *c);

typedef struct md_api_route {
    const char *method;
    const char *pattern;
    md_api_role role;
    bool json_body; /* POST/PUT that takes a JSON object */
    md_api_handler handler;
} md_api_route;

/* The route tables of v1.c, drains.c and nova.c. */
extern const md_api_route md_api_v1_routes[];
extern const size_t md_api_v1_nroutes;
extern const md_api_route md_api_drain_routes[];
extern const size_t md_api_drain_nroutes;
extern const md_api_route md_api_nova_routes[];
extern const size_t md_api_nova_nroutes;

/* Whether the caller may perform role's action: true without auth, for
 * MD_API_PUBLIC, for MD_API_METRICS when api.metrics_auth exempts the
 * caller, or when the token (validated once per request, then
 * remembered in c) passes api/authz.h's rule. Otherwise answers 401 (no or
 * an invalid token), 503 with Retry-After (Keystone cannot tell now) or
 * 403 and returns false. api.c runs it for the route's class; a handler
 * runs it again when the body asks for another class (PUT's "abort").
 * Blocks on Keystone as md_auth_validate() does. */
bool md_api_authorise(md_api_ctx *c, md_api_role role);

/* Answers 400 and returns false when the request has a query parameter
 * not named in allowed (NULL-terminated; NULL allows none). api.c. */
bool md_api_check_query(md_api_ctx *c, const char *const *allowed);

/* The value of query parameter key, or NULL. A repeated key: the last. */
const char *md_api_query(const md_api_ctx *c, const char *key);

/* ---- faults and replies (fault.c) ---- */

/* Sets a Nova fault for st: {"<name>": {"code": C, "message": "..."}} with
 * st's HTTP code C and Nova's name for it (badRequest, itemNotFound, ...),
 * from the one table in fault.c. The message is cut to 1023 bytes and made
 * valid UTF-8 ('?' for each byte that is not). st must be a failure: MD_OK
 * or an unknown value is answered as MD_ERR_INTERNAL (500). */
void md_api_fault(md_api_response *resp, md_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The HTTP status code of st (200 for MD_OK, 500 for an unknown value). */
int md_api_status_http(md_status st);

/* A fault for a failed call: st with err's message, passed on unchanged
 * (md_status_str(st) when err is NULL or its message is empty). */
void md_api_fault_err(md_api_response *resp, md_status st, const md_err *err);

/* Replaces every byte of the NUL-terminated s that is not part of a
 * well-formed UTF-8 sequence (RFC 3629: no overlong forms, surrogates or
 * code points past U+10FFFF) with '?', in place. */
void md_api_utf8_sanitize(char *s);

/* How every body is written out: compact, and "/" as itself ("\/" is
 * valid JSON but noise to a person reading a URL). record_cache.c's texts
 * are written the same way, so that they fit into any body. */
#define MD_API_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Sets status and a JSON body from obj (which is consumed: put), written
 * out with MD_API_JSON_FLAGS. */
void md_api_reply(md_api_response *resp, int status, json_object *obj);

/* GET /metrics: the engine's metrics in Prometheus's text format
 * (metrics.c; the route is in v1.c's table). */
void md_api_metrics_handler(md_api_ctx *c);

/* ---- request fields (fields.c) ---- */

/* The object under name in the body ({"<name>": {...}} and nothing else),
 * with only the keys in allowed (NULL-terminated); else answers 400 naming
 * the unknown key and returns NULL. Owned by c->body. */
json_object *md_api_body_object(md_api_ctx *c, const char *name, const char *const *allowed);

/* The field key of the body object m (named name in messages, as
 * "name.key"): absent leaves *out untouched and returns true; the wrong
 * type or a value out of range answers 400 naming the field and returns
 * false. A string must have 1..max-1 bytes and no NUL; an integer must be
 * a JSON integer in lo..hi; a boolean true or false (*out 1 or 0). */
bool md_api_get_string(md_api_ctx *c, json_object *m, const char *name, const char *key, char *out,
                       size_t max);
bool md_api_get_bool(md_api_ctx *c, json_object *m, const char *name, const char *key, int *out);
bool md_api_get_int(md_api_ctx *c, json_object *m, const char *name, const char *key, int64_t lo,
                    int64_t hi, int64_t *out);

/* The query's limit: absent = MD_MAX_LIST_LIMIT, more is cut to it, 0
 * sets *none (the client asks for nothing; *limit is then 0). Answers 400
 * and returns false when it is not a non-negative integer. */
bool md_api_query_limit(md_api_ctx *c, size_t *limit, bool *none);

/* An events page's query: only limit (as md_api_query_limit) and marker
 * (an event id > 0, *after; 0 when absent). Answers 400 and returns false
 * for anything else. */
bool md_api_events_query(md_api_ctx *c, size_t *limit, int64_t *after);

/* The path's first {} parameter when it is a UUID; else answers 400
 * ("Invalid <what> id ...") and returns NULL. */
const char *md_api_path_uuid(md_api_ctx *c, const char *what);

/* Query parameter key when it is a UUID (*out; NULL when absent) and
 * returns true; else answers 400 ("Invalid <key> '...': not a UUID") and
 * returns false. */
bool md_api_query_uuid(md_api_ctx *c, const char *key, const char **out);

/* ---- JSON helpers (json.c) ---- */

/* Adds v as member key of o; key must be a string literal not yet in o
 * (json-c then neither copies nor looks for it: lists add thousands). */
void md_api_put(json_object *o, const char *key, json_object *v);
/* v, or null when v is "". */
void md_api_put_str_or_null(json_object *o, const char *key, const char *v);
void md_api_put_u64(json_object *o, const char *key, uint64_t v);
/* ms since the epoch as md_api_time_str() writes it; _or_null: null for
 * ms <= 0 (the records' "not yet"). */
void md_api_put_time(json_object *o, const char *key, int64_t ms);
void md_api_put_time_or_null(json_object *o, const char *key, int64_t ms);

/* {"rel": rel, "href": href}. */
json_object *md_api_link(const char *rel, const char *href);

/* A page's links (the "<name>_links" array): [] or, when the page is
 * full (limit > 0 and n == limit), the next page's, path (e.g.
 * "/v1/drains") with limit and marker, the page's last record.
 * For pages without filters; v1.c links migration lists itself. NULL when
 * out of memory. */
json_object *md_api_next_links(const md_api_deps *d, const char *path, size_t limit, size_t n,
                               const char *marker);

/* A page of events, n of ev (oldest first), as {"events": [{id, at, kind,
 * value, message}], "events_links": [...]}: a full page (n == limit > 0)
 * links to the next one, path (e.g. "/v1/drains/UUID/events") with limit
 * and the page's last event id as the marker. NULL when out of memory. */
json_object *md_api_events_json(const md_api_deps *d, const char *path, const md_event *ev,
                                size_t n, size_t limit);

/* The engine's reader of one record's events: md_engine_events or
 * md_engine_drain_events. */
typedef md_status (*md_api_events_reader)(md_engine *e, const char *uuid, int64_t after_id,
                                          size_t limit, md_event **out, size_t *n, md_err *err);

/* GET <collection>/{uuid}/events[?limit=N&marker=EVENT_ID] of a record
 * named what in messages ("migration", "drain"): checks the path and the
 * query, reads the page through read and answers 200 with it
 * (md_api_events_json), or the fault (404 for no such record). */
void md_api_reply_events(md_api_ctx *c, const char *what, const char *collection,
                         md_api_events_reader read);

/* A record's URL, "http://HOST:PORT<collection>/<uuid>" (collection as
 * "/v1/drains"): its self link and its Location when it is created. */
void md_api_record_href(const md_api_deps *d, const char *collection, const char *uuid,
                        char out[512]);

/* Answers status with {"<name>": rec} (name a string literal, as for
 * md_api_put; rec is consumed), or 500 when rec
 * is NULL or the wrapper cannot be made (out of memory). */
void md_api_reply_record(md_api_ctx *c, int status, const char *name, json_object *rec);

/* Milliseconds since the epoch as Nova writes times: "2026-11-21T23:51:24.847000"
 * (a negative time as the epoch). */
void md_api_time_str(int64_t ms, char out[32]);

/* Parses an ISO 8601 date-time (with or without fraction, with "Z", an
 * offset, or none = UTC) into ms since the epoch. Returns false if not one. */
bool md_api_time_parse(const char *s, int64_t *ms);

/* The v1 representation of a record (v1.c): every field of DESIGN.md
 * section 6 plus the migration's settings and its post-copy recovery
 * (recovery_attempts; recovery_started_at, when the post-copy that is
 * being recovered broke, null when none is) and drain_uuid (the drain that
 * started it, null when none did); NULL when out of memory. */
json_object *md_api_migration_json(const md_api_deps *d, const md_migration *m);

/* A new, empty cache of rendered records (record_cache.c), or NULL when out
 * of memory. Freed with md_api_record_cache_free(), which accepts NULL,
 * once no thread uses it; a text still shown by an object lives on until
 * json-c deletes that object. */
md_api_record_cache *md_api_record_cache_new(void);
void md_api_record_cache_free(md_api_record_cache *c);

/* Appends to the array arr, for each of the n records of v, a member that
 * json-c writes out (with MD_API_JSON_FLAGS) exactly as it would
 * md_api_migration_json(d, &v[i]): the text kept from an earlier call when
 * v[i] is byte for byte the record rendered then, else rendered now and
 * kept. Such a member is for writing out only: it has no members of its
 * own, only its text. false when out of memory (a member may then be
 * null). Any thread; blocks only on the cache's mutex, which is never held
 * while rendering. */
bool md_api_record_cache_add(md_api_record_cache *c, const md_api_deps *d, const md_migration *v,
                             size_t n, json_object *arr);

/* The list filters of a request's query (v1.c), shared with the Nova
 * routes: status, instance_uuid, host, migration_type, drain_uuid,
 * changes-since, changes-before, limit, marker. Answers 400 and returns false for a bad
 * value. An unknown status name filters everything out when lenient (Nova
 * clients use Nova's own names) and is a 400 otherwise. */
bool md_api_list_filter(md_api_ctx *c, md_store_filter *f, bool lenient, bool *nothing);

/* Reads the records f selects (none when nothing is true) into *v (free()
 * it) and *n. Answers the fault and returns false on failure: 400 for a
 * marker that names no record, as Nova does. v1.c; shared with
 * nova_migrations.c. */
bool md_api_list_records(md_api_ctx *c, const md_store_filter *f, bool nothing, md_migration **v,
                         size_t *n);

/* The base URL for links: "http://HOST:PORT" of api.listen. */
void md_api_base_url(const md_api_deps *d, char out[320]);

#endif /* MD_API_INTERNAL_H */
