/* api.c - request handling: routing, authentication, body checks, microversions.
 *
 * DESIGN
 * ------
 * md_api_handle() runs the same ladder for every request, answering with a
 * fault at the first rung that fails, so a handler only ever sees a request
 * that is routed, authorised and well formed at the HTTP level:
 *
 *   1. a body over api.max_body_bytes: 413 (the server kept none of it);
 *   2. routing over the v1, drain and Nova tables: 404 for no path, 405 with Allow
 *      when the path exists for other methods;
 *   3. for /v2.1 paths, the microversion headers: 400 malformed, 406 out of
 *      2.1..2.80; the version is echoed on every /v2.1 answer;
 *   4. authentication when the route needs a role and auth is on: 401
 *      without or with an invalid token, 503 with Retry-After when Keystone
 *      cannot answer now (or too many validations are in flight), 403 when
 *      api/authz.h's rule refuses the route's class (an admin token: the
 *      admin project or the system, and a role of roles.list, .create,
 *      .update or .abort). Faults for a caller without a valid token say
 *      nothing of Keystone's URL, the service user or files: auth.c logs
 *      the detail. GET /metrics needs no token where api.metrics_auth
 *      says so (by default from a loopback address), and roles.list
 *      elsewhere;
 *   5. for routes that take JSON: 415 unless Content-Type is JSON, 400
 *      unless the body parses as one JSON object.
 *
 * md_api_precheck() runs rungs 1 to 4 on the headers alone, with the same
 * functions, before the HTTP layer reads a body: a request that would be
 * refused anyway is answered at once, and its body is never read.
 *
 * Nothing here keeps state between requests, so any number of threads may
 * run it at once.
 */
#include "api/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/authz.h"

struct md_api {
    md_api_deps deps;
    md_api_record_cache *records;
};

md_status md_api_new(const md_api_deps *deps, md_api **out, md_err *err)
{
    md_api *api = calloc(1, sizeof *api);

    *out = NULL;
    if (!api || !(api->records = md_api_record_cache_new())) {
        free(api);
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    }
    api->deps = *deps;
    *out = api;
    return MD_OK;
}

void md_api_free(md_api *api)
{
    if (!api)
        return;
    md_api_record_cache_free(api->records);
    free(api);
}

void md_api_response_clear(md_api_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

void md_api_response_header(md_api_response *resp, const char *name, const char *value)
{
    if (resp->nheaders >= MD_API_MAX_HEADERS)
        return;
    md_api_header *h = &resp->headers[resp->nheaders++];
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->value, sizeof h->value, "%s", value);
}

const char *md_api_query(const md_api_ctx *c, const char *key)
{
    const char *v = NULL;

    for (size_t i = 0; i < c->req->nquery; i++) {
        if (strcmp(c->req->query[i].key, key) == 0)
            v = c->req->query[i].value;
    }
    return v;
}

bool md_api_check_query(md_api_ctx *c, const char *const *allowed)
{
    for (size_t i = 0; i < c->req->nquery; i++) {
        bool ok = false;
        for (size_t j = 0; allowed && allowed[j] && !ok; j++)
            ok = strcmp(c->req->query[i].key, allowed[j]) == 0;
        if (!ok) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid input for query parameters: unknown parameter "
                         "'%.100s'",
                         c->req->query[i].key);
            return false;
        }
    }
    if (c->req->too_many_params) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for query parameters: too many parameters");
        return false;
    }
    return true;
}

/* Matches path against pattern segment by segment; "{}" takes one
 * non-empty segment into c->params. */
static bool match(const char *pattern, const char *path, md_api_ctx *c)
{
    size_t np = 0;

    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return false;
        pattern++;
        path++;
        size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
        if (plen == 2 && strncmp(pattern, "{}", 2) == 0) {
            if (slen == 0 || slen >= sizeof c->param_buf[0] || np >= MD_API_MAX_PARAMS)
                return false;
            memcpy(c->param_buf[np], path, slen);
            c->param_buf[np][slen] = '\0';
            c->params[np] = c->param_buf[np];
            np++;
        } else if (plen != slen || strncmp(pattern, path, plen) != 0) {
            return false;
        }
        pattern += plen;
        path += slen;
    }
    return *pattern == '\0' && *path == '\0';
}

typedef struct table {
    const md_api_route *routes;
    size_t n;
} table;

/* Finds the route; with none for this method, collects the methods the
 * path has into allow (for 405). */
static const md_api_route *route(const char *method, const char *path, md_api_ctx *c, char *allow,
                                 size_t allowlen)
{
    const table tables[] = { { md_api_v1_routes, md_api_v1_nroutes },
                             { md_api_drain_routes, md_api_drain_nroutes },
                             { md_api_nova_routes, md_api_nova_nroutes } };
    allow[0] = '\0';

    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (size_t i = 0; i < tables[t].n; i++) {
            const md_api_route *r = &tables[t].routes[i];
            if (!match(r->pattern, path, c))
                continue;
            if (strcmp(r->method, method) == 0)
                return r;
            if (!strstr(allow, r->method)) {
                size_t len = strlen(allow);
                snprintf(allow + len, allowlen - len, "%s%s", len ? ", " : "", r->method);
            }
        }
    }
    return NULL;
}

/* "X.Y" (Nova's form: no leading zeros in X) or "latest": the minor of a
 * 2.Y into *minor, -1 for another major (well formed, so a 406 as in Nova,
 * not a 400). Returns -1 for a malformed string. */
static int parse_version(const char *v, int *minor)
{
    char *end;

    while (*v == ' ')
        v++;
    if (strcasecmp(v, "latest") == 0) {
        *minor = MD_API_NOVA_MAX_MINOR;
        return 0;
    }
    if (v[0] < '1' || v[0] > '9')
        return -1;
    long major = strtol(v, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        return -1;
    long m = strtol(end + 1, &end, 10);
    while (*end == ' ')
        end++;
    if (*end != '\0' || m > 100000 || major > 100000)
        return -1;
    *minor = major == 2 ? (int)m : -1;
    return 0;
}

/* Reads the requested microversion; answers 400/406 and returns false when
 * it cannot be served. Echoes the version in the response headers. */
static bool negotiate(md_api_ctx *c)
{
    const char *v = NULL;
    char buf[64];
    int minor = MD_API_NOVA_MIN_MINOR;

    if (c->req->openstack_version) {
        /* "compute 2.60"; other services' versions are not ours to judge. */
        const char *p = c->req->openstack_version;
        while (*p == ' ')
            p++;
        if (strncasecmp(p, "compute ", 8) == 0)
            v = p + 8;
    }
    if (!v && c->req->nova_version)
        v = c->req->nova_version;
    if (v && parse_version(v, &minor) != 0) {
        md_api_fault(c->resp, MD_ERR_INVALID, "Invalid API version request string %.64s", v);
        return false;
    }
    if (minor < MD_API_NOVA_MIN_MINOR || minor > MD_API_NOVA_MAX_MINOR) {
        md_api_fault(c->resp, MD_ERR_NOT_ACCEPTABLE,
                     "Version %.64s is not supported by the API. Minimum is 2.%d "
                     "and maximum is 2.%d.",
                     v ? v : "", MD_API_NOVA_MIN_MINOR, MD_API_NOVA_MAX_MINOR);
        return false;
    }
    c->version_minor = minor;
    snprintf(buf, sizeof buf, "compute 2.%d", minor);
    md_api_response_header(c->resp, "OpenStack-API-Version", buf);
    snprintf(buf, sizeof buf, "2.%d", minor);
    md_api_response_header(c->resp, "X-OpenStack-Nova-API-Version", buf);
    md_api_response_header(c->resp, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    return true;
}

/* Validates the request's token into c->who. Answers 401 or 503 and
 * returns false when it is not valid or cannot be validated now. */
static bool authenticate(md_api_ctx *c)
{
    md_err err;
    char retry[16];

    if (!c->req->auth_token || !c->req->auth_token[0]) {
        /* Never worth a question to Keystone. */
        md_api_fault(c->resp, MD_ERR_UNAUTHORIZED, "Authentication required: no X-Auth-Token");
        return false;
    }
    md_status st = md_auth_validate(c->deps->auth, c->req->auth_token, &c->who, &err);
    if (st == MD_OK) {
        c->authenticated = true;
        return true;
    }
    /* err's detail may name Keystone's URL or the service user; auth.c
     * has logged what the operator needs. */
    if (st == MD_ERR_UNAUTHORIZED) {
        md_api_fault(c->resp, st, "Authentication required: the token is not valid");
    } else if (st == MD_ERR_UNAVAILABLE) {
        md_api_fault(c->resp, st,
                     "Cannot validate the token: the identity service (Keystone) is "
                     "unavailable or busy; retry later");
        snprintf(retry, sizeof retry, "%d", c->who.retry_after_s > 0 ? c->who.retry_after_s : 1);
        md_api_response_header(c->resp, "Retry-After", retry);
    } else {
        md_api_fault(c->resp, st, "Cannot validate the token");
    }
    return false;
}

bool md_api_authorise(md_api_ctx *c, md_api_role role)
{
    static const md_authz_action actions[] = {
        [MD_API_READ] = MD_AUTHZ_LIST,
        [MD_API_CREATE] = MD_AUTHZ_CREATE,
        [MD_API_UPDATE] = MD_AUTHZ_UPDATE,
        [MD_API_ABORT] = MD_AUTHZ_ABORT,
    };

    if (role == MD_API_PUBLIC || !c->deps->auth)
        return true;
    if (role == MD_API_METRICS) {
        /* A Prometheus on the node itself holds no Keystone token (a
         * scrape config has a fixed header, a token expires): by default
         * the page is open to loopback callers only. */
        md_metrics_auth m = c->deps->cfg->api.metrics_auth;
        if (m == MD_METRICS_AUTH_NEVER ||
            (m == MD_METRICS_AUTH_LOOPBACK_OPEN && c->req->client_loopback))
            return true;
        role = MD_API_READ;
    }
    if (!c->authenticated && !authenticate(c))
        return false;
    md_authz_action action = actions[role];
    switch (md_authz_check(c->deps->cfg, &c->who, action)) {
    case MD_AUTHZ_ALLOWED: return true;
    case MD_AUTHZ_WRONG_SCOPE:
        md_api_fault(c->resp, MD_ERR_FORBIDDEN,
                     "Policy does not allow this request to be performed: it needs a token "
                     "scoped to the admin project%s",
                     c->deps->cfg->roles.allow_system_scope ? " or to the system" : "");
        return false;
    case MD_AUTHZ_NO_ROLE:
        md_api_fault(c->resp, MD_ERR_FORBIDDEN,
                     "Policy does not allow this request to be performed: it needs one of the "
                     "%s roles (%s)",
                     action == MD_AUTHZ_LIST ? "read" : "write", md_authz_action_key(action));
        return false;
    }
    return false;
}

static bool is_json(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static bool parse_body(md_api_ctx *c)
{
    const md_api_request *r = c->req;

    if (!is_json(r->content_type)) {
        md_api_fault(c->resp, MD_ERR_MEDIA_TYPE,
                     "The request body must be JSON (Content-Type: "
                     "application/json), got %.64s",
                     r->content_type ? r->content_type : "none");
        return false;
    }
    if (!r->body || r->body_len == 0) {
        md_api_fault(c->resp, MD_ERR_INVALID, "A JSON request body is required");
        return false;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        md_api_fault(c->resp, MD_ERR_NOMEM, "out of memory");
        return false;
    }
    /* JSON text is UTF-8 (RFC 8259): strings that are not would come back
     * out in records and faults as JSON no client can read. */
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!obj || jerr != json_tokener_success || used != r->body_len) {
        /* Trailing bytes or an incomplete document are as malformed as bad
         * syntax: json-c stops at the end of the first value. */
        md_api_fault(c->resp, MD_ERR_INVALID, "Malformed request body: %s",
                     jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                  : "unexpected data after the JSON value");
        json_object_put(obj);
        return false;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "Malformed request body: expected a JSON object");
        json_object_put(obj);
        return false;
    }
    c->body = obj;
    return true;
}

/* Rung 2 of the ladder: normalises the request's path into path and finds
 * its route; answers 404, or 405 with Allow, and returns NULL when there is
 * none. */
static const md_api_route *find_route(md_api_ctx *c, char *path, size_t pathlen)
{
    const md_api_request *req = c->req;
    char allow[64];

    /* One trailing slash is tolerated, as most clients and servers do. */
    snprintf(path, pathlen, "%s", req->path && req->path[0] ? req->path : "/");
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        path[len - 1] = '\0';

    const md_api_route *r = route(req->method, path, c, allow, sizeof allow);
    if (!r) {
        if (allow[0]) {
            md_api_fault(c->resp, MD_ERR_METHOD, "Method %.16s is not allowed on %.200s",
                         req->method, path);
            md_api_response_header(c->resp, "Allow", allow);
        } else {
            md_api_fault(c->resp, MD_ERR_NOT_FOUND, "No such resource: %.200s", path);
        }
    }
    return r;
}

static void too_large(md_api *api, md_api_response *resp)
{
    md_api_fault(resp, MD_ERR_TOO_LARGE, "Request body is larger than %d bytes",
                 api->deps.cfg->api.max_body_bytes);
}

bool md_api_precheck(md_api *api, const md_api_request *req, long long content_length,
                     md_api_response *resp)
{
    md_api_ctx *c = calloc(1, sizeof *c);
    char path[2048];
    bool ok = false;

    if (!c) {
        resp->status = md_api_status_http(MD_ERR_NOMEM);
        return false;
    }
    c->deps = &api->deps;
    c->records = api->records;
    c->req = req;
    c->resp = resp;

    if (content_length > api->deps.cfg->api.max_body_bytes) {
        too_large(api, resp);
        goto cleanup;
    }
    const md_api_route *r = find_route(c, path, sizeof path);
    if (!r)
        goto cleanup;
    if (strncmp(path, "/v2.1", 5) == 0 && !negotiate(c))
        goto cleanup;
    /* Authentication first only protects a body from being read; a
     * request without one is authenticated by the ladder alone, so that its
     * token is not validated twice. */
    if (content_length != 0 && !md_api_authorise(c, r->role))
        goto cleanup;
    ok = true;

cleanup:
    /* A request that may go on starts md_api_handle() with an empty
     * response (negotiate() has added headers to it). */
    if (ok)
        md_api_response_clear(resp);
    free(c);
    return ok;
}

void md_api_handle(md_api *api, const md_api_request *req, md_api_response *resp)
{
    md_api_ctx *c = calloc(1, sizeof *c);
    char path[2048];

    if (!c) {
        resp->status = md_api_status_http(MD_ERR_NOMEM);
        return;
    }
    c->deps = &api->deps;
    c->records = api->records;
    c->req = req;
    c->resp = resp;

    if (req->body_too_large) {
        too_large(api, resp);
        goto cleanup;
    }
    const md_api_route *r = find_route(c, path, sizeof path);
    if (!r)
        goto cleanup;
    if (strncmp(path, "/v2.1", 5) == 0 && !negotiate(c))
        goto cleanup;
    if (!md_api_authorise(c, r->role))
        goto cleanup;
    if (r->json_body && !parse_body(c))
        goto cleanup;
    r->handler(c);

cleanup:
    json_object_put(c->body);
    free(c);
}
