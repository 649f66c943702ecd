/* fault.c - Nova-style fault bodies and the one md_status -> HTTP code and fault name map. */
#include "api/internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one map of md_status to what a client sees: the HTTP status code and
 * the name Nova gives a fault body with that code (nova/api/openstack/
 * wsgi.py, Fault._fault_names; computeFault for every 5xx but 503). The
 * short phrase for each status is md_status_str() (service/status.c), the
 * fallback message of md_api_fault_err(). Indexed by the status: the
 * assertion below and tests/unit/test_api_fault.c keep it whole. */
static const struct fault_kind {
    int http;
    const char *name;
} kinds[] = {
    [MD_OK] = { 200, NULL },
    [MD_ERR_INVALID] = { 400, "badRequest" },
    [MD_ERR_NOT_FOUND] = { 404, "itemNotFound" },
    [MD_ERR_CONFLICT] = { 409, "conflictingRequest" },
    [MD_ERR_NOMEM] = { 500, "computeFault" },
    [MD_ERR_IO] = { 500, "computeFault" },
    [MD_ERR_HYPERVISOR] = { 500, "computeFault" },
    [MD_ERR_UNAVAILABLE] = { 503, "serviceUnavailable" },
    [MD_ERR_INTERNAL] = { 500, "computeFault" },
    [MD_ERR_UNAUTHORIZED] = { 401, "unauthorized" },
    [MD_ERR_FORBIDDEN] = { 403, "forbidden" },
    [MD_ERR_METHOD] = { 405, "badMethod" },
    [MD_ERR_NOT_ACCEPTABLE] = { 406, "notAcceptable" },
    [MD_ERR_TOO_LARGE] = { 413, "overLimit" },
    [MD_ERR_MEDIA_TYPE] = { 415, "badMediaType" },
    [MD_ERR_OVER_LIMIT] = { 429, "overLimit" },
};
_Static_assert(sizeof kinds / sizeof kinds[0] == MD_STATUS_COUNT,
               "api/fault.c: every md_status needs a row in kinds[]");

/* The row of st; a fault for MD_OK or a value out of range is a bug, and
 * is answered as one. */
static const struct fault_kind *kind_of(md_status st)
{
    if ((unsigned)st >= MD_STATUS_COUNT || !kinds[st].name)
        st = MD_ERR_INTERNAL;
    return &kinds[st];
}

int md_api_status_http(md_status st)
{
    if (st == MD_OK)
        return kinds[MD_OK].http;
    return kind_of(st)->http;
}

void md_api_reply(md_api_response *resp, int status, json_object *obj)
{
    resp->status = status;
    free(resp->body);
    resp->body = NULL;
    if (obj) {
        const char *text = json_object_to_json_string_ext(obj, MD_API_JSON_FLAGS);
        resp->body = text ? strdup(text) : NULL;
        json_object_put(obj);
        if (!resp->body)
            resp->status = md_api_status_http(MD_ERR_NOMEM); /* an empty 500 is all that is left */
    }
}

/* Messages quote what the client sent, cut to a length that may fall
 * inside a character: JSON text must be UTF-8 all the same. */
void md_api_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        size_t n = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (p[0] < 0x80)
            n = 1;
        else if (p[0] >= 0xC2 && p[0] <= 0xDF)
            n = 2;
        else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
            n = 3;
            lo = p[0] == 0xE0 ? 0xA0 : 0x80;
            hi = p[0] == 0xED ? 0x9F : 0xBF;
        } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
            n = 4;
            lo = p[0] == 0xF0 ? 0x90 : 0x80;
            hi = p[0] == 0xF4 ? 0x8F : 0xBF;
        }
        bool ok = n > 0;
        for (size_t i = 1; ok && i < n; i++)
            ok = i == 1 ? p[i] >= lo && p[i] <= hi : p[i] >= 0x80 && p[i] <= 0xBF;
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

void md_api_fault(md_api_response *resp, md_status st, const char *fmt, ...)
{
    const struct fault_kind *k = kind_of(st);
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    md_api_utf8_sanitize(msg);
    json_object *inner = json_object_new_object();
    json_object_object_add(inner, "code", json_object_new_int(k->http));
    json_object_object_add(inner, "message", json_object_new_string(msg));
    json_object *outer = json_object_new_object();
    json_object_object_add(outer, k->name, inner);
    md_api_reply(resp, k->http, outer);
    /* As Nova's overLimit: when to try again. A queue that is full drains
     * at the pace of migrations, so seconds, not milliseconds. */
    if (k->http == 429)
        md_api_response_header(resp, "Retry-After", "10");
}

void md_api_fault_err(md_api_response *resp, md_status st, const md_err *err)
{
    md_api_fault(resp, st, "%s", err && err->msg[0] ? err->msg : md_status_str(st));
}
