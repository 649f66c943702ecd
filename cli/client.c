/* client.c - requests to migrationd's REST API, and what its answers mean to an operator.
 *
 * Every error answer of migrationd is a Nova fault, {"<faultName>": {"code": N, "message":
 * "..."}}, whose message says why (the state that forbids an abort, the field that is
 * wrong). That message is what the operator sees, prefixed by what the status means; the
 * status picks the exit code: 401 and 403 are about who is asking (MC_ERR_CONNECT, like
 * an unreachable daemon: nothing about the migration was learnt), the rest are about the
 * request (MC_ERR_REQUEST). */
#include "cli/migrationctl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mc_status mc_client_init(mc_client *c, const char *url, long timeout_s, mc_err *e)
{
    memset(c, 0, sizeof *c);
    c->timeout_s = timeout_s;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return mc_err_set(e, MC_ERR_USAGE, "the URL '%.200s' must start with http:// or https://",
                          url);
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    if (len >= sizeof c->url)
        return mc_err_set(e, MC_ERR_USAGE, "the URL is longer than %zu characters",
                          sizeof c->url - 1);
    memcpy(c->url, url, len);
    c->url[len] = '\0';
    return MC_OK;
}

void mc_client_free(mc_client *c)
{
    if (!c)
        return;
    free(c->token);
    c->token = NULL;
}

bool mc_is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[36] == '\0';
}

bool mc_status_is_final(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "cancelled") == 0 ||
           strcmp(status, "failed") == 0 || strcmp(status, "error") == 0;
}

/* The message of a Nova fault body, or of Keystone's {"error": {"message"}} (a proxy in
 * front of the API may answer in either), or NULL. Lives as long as doc. */
static const char *fault_message(json_object *doc)
{
    if (!doc || !json_object_is_type(doc, json_type_object) || json_object_object_length(doc) != 1)
        return NULL;
    json_object_object_foreach(doc, name, fault) {
        (void)name;
        json_object *m;
        if (json_object_is_type(fault, json_type_object) &&
            json_object_object_get_ex(fault, "message", &m) &&
            json_object_is_type(m, json_type_string))
            return json_object_get_string(m);
    }
    return NULL;
}

/* What an error status says, the server's message with it. */
static mc_status answer_error(const mc_client *c, long status, const char *method, const char *path,
                              const char *what, const char *msg, mc_err *e)
{
    const char *m = msg ? msg : "(no message)";

    switch (status) {
    case 401:
        if (!c->token)
            return mc_err_set(e, MC_ERR_CONNECT,
                              "migrationd at %s requires authentication (%s): set OS_TOKEN, or "
                              "OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME "
                              "(source an openrc file)",
                              c->url, m);
        return mc_err_set(e, MC_ERR_CONNECT, "migrationd at %s did not accept the token: %s",
                          c->url, m);
    case 403: return mc_err_set(e, MC_ERR_CONNECT, "not allowed: %s", m);
    case 404:
        /* The server's message names what is missing ("Migration X could not be found");
         * what the client asked for is said only when the server did not say it. */
        if (msg)
            return mc_err_set(e, MC_ERR_REQUEST, "not found: %s", msg);
        return mc_err_set(e, MC_ERR_REQUEST, "%s not found (%s %s)", what ? what : "resource",
                          method, path);
    case 409: return mc_err_set(e, MC_ERR_REQUEST, "refused: %s", m);
    case 400: return mc_err_set(e, MC_ERR_REQUEST, "bad request: %s", m);
    case 503: return mc_err_set(e, MC_ERR_REQUEST, "migrationd is unavailable: %s", m);
    default: return mc_err_set(e, MC_ERR_REQUEST, "%s %s: HTTP %ld: %s", method, path, status, m);
    }
}

mc_status mc_client_call(mc_client *c, const char *method, const char *path, json_object *body,
                         const char *what, json_object **out, mc_err *e)
{
    char url[2560];
    mc_http_response r = { 0 };
    json_object *doc = NULL;
    mc_status st;

    *out = NULL;
    c->unreachable = false;
    c->status = 0;
    if (!c->token_tried) {
        /* Once per run: a watch of an hour keeps the token of its start, as Keystone's
         * tokens last an hour by default and a new login per poll would flood Keystone. */
        c->token_tried = true;
        if ((st = mc_auth_token(c->timeout_s, &c->token, e)) != MC_OK)
            goto cleanup;
    }
    snprintf(url, sizeof url, "%s%s", c->url, path);
    const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
    mc_http_request req = { .method = method,
                            .url = url,
                            .peer = "migrationd",
                            .peer_url = c->url,
                            .token = c->token,
                            .body = text,
                            .cacert = getenv("OS_CACERT"),
                            .timeout_s = c->timeout_s };
    st = mc_http_send(&req, &r, e);
    c->unreachable = st != MC_OK;
    if (st != MC_OK)
        goto cleanup;
    c->status = r.status;
    /* A body that is not JSON is not migrationd's (a proxy's error page, another service on
     * the port): said as such rather than as a parse error. */
    if (r.len > 0) {
        enum json_tokener_error jerr;
        doc = json_tokener_parse_verbose(r.body, &jerr);
        if (!doc && (r.status < 200 || r.status > 299)) {
            st = mc_err_set(e, r.status == 401 || r.status == 403 ? MC_ERR_CONNECT : MC_ERR_REQUEST,
                            "%s %s: HTTP %ld from %s, not a migrationd answer", method, path,
                            r.status, c->url);
            goto cleanup;
        }
        if (!doc) {
            st = mc_err_set(e, MC_ERR_REQUEST, "%s %s: the answer of %s is not JSON (%s)", method,
                            path, c->url, json_tokener_error_desc(jerr));
            goto cleanup;
        }
    }
    if (r.status < 200 || r.status > 299) {
        st = answer_error(c, r.status, method, path, what, fault_message(doc), e);
        goto cleanup;
    }
    *out = doc;
    doc = NULL;
    st = MC_OK;

cleanup:
    json_object_put(doc);
    mc_http_response_free(&r);
    return st;
}

mc_status mc_client_get_record(mc_client *c, const char *collection, const char *key,
                               const char *uuid, json_object **out, mc_err *e)
{
    char path[160], what[80];
    json_object *doc = NULL, *m;

    *out = NULL;
    snprintf(path, sizeof path, "%s/%s", collection, uuid);
    snprintf(what, sizeof what, "%s %s", key, uuid);
    mc_status st = mc_client_call(c, "GET", path, NULL, what, &doc, e);
    if (st != MC_OK)
        return st;
    if (!doc || !json_object_object_get_ex(doc, key, &m) ||
        !json_object_is_type(m, json_type_object)) {
        json_object_put(doc);
        return mc_err_set(e, MC_ERR_REQUEST, "GET %s: the answer has no \"%s\" object", path, key);
    }
    *out = json_object_get(m);
    json_object_put(doc);
    return MC_OK;
}

mc_status mc_client_create(mc_client *c, const char *collection, const char *key, json_object *body,
                           json_object **doc, json_object **rec, mc_err *e)
{
    *rec = NULL;
    mc_status st = mc_client_call(c, "POST", collection, body, NULL, doc, e);
    if (st != MC_OK)
        return st;
    if (!*doc || !json_object_object_get_ex(*doc, key, rec) ||
        !mc_is_uuid(mc_member_text(*rec, "uuid"))) {
        *rec = NULL;
        return mc_err_set(e, MC_ERR_REQUEST, "POST %s: 202 without the record", collection);
    }
    return MC_OK;
}

mc_status mc_client_get_migration(mc_client *c, const char *uuid, json_object **out, mc_err *e)
{
    return mc_client_get_record(c, "/v1/os-migrations", "migration", uuid, out, e);
}

void mc_query_add(char *q, size_t len, const char *key, const char *value)
{
    size_t n = strlen(q);

    if (!value)
        return;
    n += (size_t)snprintf(q + n, n < len ? len - n : 0, "%s%s=", n ? "&" : "", key);
    for (const unsigned char *p = (const unsigned char *)value; *p && n + 4 < len; p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            q[n++] = (char)*p;
        else
            n += (size_t)snprintf(q + n, len - n, "%%%02X", *p);
    }
    q[n < len ? n : len - 1] = '\0';
}

/* The href of the "next" link in the answer doc's links_key array ("drains_links") from
 * just after its "marker=", or NULL when there is none: the page was the last. */
static const char *next_marker(json_object *doc, const char *links_key)
{
    json_object *links, *l, *rel, *href;

    if (!doc || !json_object_object_get_ex(doc, links_key, &links) ||
        !json_object_is_type(links, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(links); i++) {
        l = json_object_array_get_idx(links, i);
        if (!json_object_object_get_ex(l, "rel", &rel) ||
            !json_object_object_get_ex(l, "href", &href) ||
            strcmp(json_object_get_string(rel), "next") != 0)
            continue;
        const char *m = strstr(json_object_get_string(href), "marker=");
        return m ? m + 7 : NULL;
    }
    return NULL;
}

/* GET path (what names the record it belongs to in 404 messages, or is NULL) and appends
 * each member of the answer's key array to all. *doc is the answer, for its links (owned,
 * also on failure). */
static mc_status get_page(mc_client *c, const char *path, const char *what, const char *key,
                          json_object *all, json_object **doc, mc_err *e)
{
    json_object *page;
    mc_status st = mc_client_call(c, "GET", path, NULL, what, doc, e);

    if (st != MC_OK)
        return st;
    if (!*doc || !json_object_object_get_ex(*doc, key, &page) ||
        !json_object_is_type(page, json_type_array))
        return mc_err_set(e, MC_ERR_REQUEST, "GET %s: the answer has no \"%s\" array", path, key);
    for (size_t i = 0; i < json_object_array_length(page); i++)
        json_object_array_add(all, json_object_get(json_object_array_get_idx(page, i)));
    return MC_OK;
}

mc_status mc_client_list(mc_client *c, const char *collection, const char *key, const char *query,
                         const char *marker, bool one_page, json_object **out, mc_err *e)
{
    char path[1400], links_key[64], next[40] = "";
    json_object *all = json_object_new_array(), *doc = NULL;
    mc_status st = MC_OK;

    *out = NULL;
    snprintf(links_key, sizeof links_key, "%s_links", key);
    if (marker)
        snprintf(next, sizeof next, "%.36s", marker);
    /* The API answers at most 1,000 records a page and links to the next one, which is
     * followed with the same query (and the page's last record as the marker) until there
     * is none. */
    for (;;) {
        char q[1200];
        snprintf(q, sizeof q, "%s", query);
        mc_query_add(q, sizeof q, "marker", next[0] ? next : NULL);
        snprintf(path, sizeof path, "%s%s%s", collection, q[0] ? "?" : "", q);
        if ((st = get_page(c, path, NULL, key, all, &doc, e)) != MC_OK)
            goto cleanup;
        const char *m = next_marker(doc, links_key);
        snprintf(next, sizeof next, "%.36s", m ? m : "");
        if (!mc_is_uuid(next))
            next[0] = '\0'; /* not a marker this client understands: stop there */
        json_object_put(doc);
        doc = NULL;
        if (one_page || !next[0])
            break;
    }
    *out = all;
    all = NULL;

cleanup:
    json_object_put(doc);
    json_object_put(all);
    return st;
}

mc_status mc_client_get_events(mc_client *c, const char *uuid, int64_t after, json_object **out,
                               mc_err *e)
{
    return mc_client_get_record_events(c, "/v1/os-migrations", "migration", uuid, after, out, e);
}

mc_status mc_client_get_record_events(mc_client *c, const char *collection, const char *key,
                                      const char *uuid, int64_t after, json_object **out, mc_err *e)
{
    char path[200], what[80];
    json_object *all = json_object_new_array(), *doc = NULL;
    mc_status st = MC_OK;

    *out = NULL;
    snprintf(what, sizeof what, "%s %s", key, uuid);
    /* The API answers at most 1,000 events a page and links to the next one; a long
     * timeline is read to its end, page by page, each page starting after the last id. */
    for (;;) {
        if (after > 0)
            snprintf(path, sizeof path, "%s/%s/events?marker=%lld", collection, uuid,
                     (long long)after);
        else
            snprintf(path, sizeof path, "%s/%s/events", collection, uuid);
        if ((st = get_page(c, path, what, "events", all, &doc, e)) != MC_OK)
            goto cleanup;
        const char *m = next_marker(doc, "events_links");
        int64_t next = m ? strtoll(m, NULL, 10) : 0;
        json_object_put(doc);
        doc = NULL;
        if (next <= after)
            break; /* no next page (or one that would not move: never loop on it) */
        after = next;
    }
    *out = all;
    all = NULL;

cleanup:
    json_object_put(doc);
    json_object_put(all);
    return st;
}
