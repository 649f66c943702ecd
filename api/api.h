/* api.h - the REST API's request handling, independent of the HTTP server.
 *
 * The HTTP layer (api/http.c, the only code that includes <microhttpd.h>)
 * turns each request into an md_api_request, calls md_api_handle(), and
 * sends the md_api_response back. Everything between - authentication,
 * routing, validation, JSON in and out (json-c), faults - lives behind this
 * interface, so it is tested and fuzzed without sockets.
 *
 * Handlers never call the hypervisor, and reach the store only through the
 * engine: they read records (the engine's in-memory view, or the store
 * through md_engine_list() and md_engine_events()) and hand commands to the
 * engine, which returns at once. No file of api/ includes the store's or
 * the hypervisor's header itself (engine.h brings their types).
 *
 * Threads: md_api_handle() may run on any number of threads at once.
 */
#ifndef MD_API_H
#define MD_API_H

#include <stdbool.h>
#include <stddef.h>

#include "service/config.h"
#include "service/engine.h"

typedef struct md_api md_api;
typedef struct md_auth md_auth;

#define MD_API_MAX_QUERY 32
#define MD_API_MAX_HEADERS 8

typedef struct md_api_param {
    const char *key;   /* decoded */
    const char *value; /* decoded; "" for a key without '=' */
} md_api_param;

typedef struct md_api_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* decoded path without the query */
    size_t nquery;
    md_api_param query[MD_API_MAX_QUERY];
    bool too_many_params;          /* more than MD_API_MAX_QUERY were given */
    const char *auth_token;        /* X-Auth-Token, or NULL */
    const char *content_type;      /* Content-Type, or NULL */
    const char *nova_version;      /* X-OpenStack-Nova-API-Version, or NULL */
    const char *openstack_version; /* OpenStack-API-Version, or NULL */
    const char *body;              /* not NUL-terminated; NULL if none */
    size_t body_len;
    bool body_too_large; /* longer than api.max_body_bytes (not kept) */
    /* The peer of the connection as the HTTP layer saw it: its numeric
     * address ("" when unknown), and whether it is a loopback address
     * (127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104) - false when unknown, so
     * that a request of unknown origin gets no loopback privilege. */
    char client_addr[64];
    bool client_loopback;
} md_api_request;

typedef struct md_api_header {
    char name[48];
    char value[512];
} md_api_header;

typedef struct md_api_response {
    int status; /* HTTP status code */
    char *body; /* the body's text (malloc), or NULL for none */
    /* The body's media type, a static string; NULL for JSON
     * ("application/json"), which every route but /metrics answers. */
    const char *content_type;
    size_t nheaders;
    md_api_header headers[MD_API_MAX_HEADERS];
} md_api_response;

/* The services a handler may use. All borrowed; they outlive the api. */
typedef struct md_api_deps {
    const md_config *cfg;
    md_engine *engine;
    const char *hypervisor_name; /* "libvirt" or "simulator", for GET / */
    md_auth *auth;               /* NULL when auth_strategy is noauth */
} md_api_deps;

/* Creates the request handler. On MD_OK *out is freed with md_api_free(). */
md_status md_api_new(const md_api_deps *deps, md_api **out, md_err *err);

/* Accepts NULL. */
void md_api_free(md_api *api);

/* Handles one request into *resp (which the caller zeroes first and
 * releases with md_api_response_clear()). Never fails: every problem
 * becomes a response (a Nova-style fault for errors). Any thread. */
void md_api_handle(md_api *api, const md_api_request *req, md_api_response *resp);

/* Decides, from the method, path and headers alone, before the body is
 * read (req->body is not looked at), whether the request is refused: a
 * body announced longer than api.max_body_bytes (413), no route (404, 405
 * with Allow), a bad microversion on /v2.1 (400, 406), and - only when a
 * body is coming, content_length != 0 - authentication and roles (401,
 * 403, 503), each by the same code and with the same answer as
 * md_api_handle(). content_length is the body's announced length, 0 for
 * none, -1 when unknown (chunked). Returns true when the request may be
 * read (resp is left empty); false after filling *resp (zeroed by the
 * caller, released with md_api_response_clear()) with the answer. Blocks
 * as md_api_handle() does (token validation); any thread. */
bool md_api_precheck(md_api *api, const md_api_request *req, long long content_length,
                     md_api_response *resp);

/* Frees resp->body and empties resp. */
void md_api_response_clear(md_api_response *resp);

/* Adds a header to resp (silently dropped past MD_API_MAX_HEADERS, which no
 * route reaches). */
void md_api_response_header(md_api_response *resp, const char *name, const char *value);

#endif /* MD_API_H */
