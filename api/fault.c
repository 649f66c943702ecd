/* fault.c - Nova-style fault bodies and the one md_status -> HTTP mapping. */
#include "api/internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nova's names for fault bodies (nova/api/openstack/wsgi.py). */
static const char *fault_name(int status)
{
    switch (status) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 406: return "notAcceptable";
    case 409: return "conflictingRequest";
    case 413: return "overLimit";
    case 415: return "badMediaType";
    case 501: return "notImplemented";
    case 503: return "serviceUnavailable";
    }
    return "computeFault";
}

int md_api_status_http(md_status st)
{
    switch (st) {
    case MD_OK: return 200;
    case MD_ERR_INVALID: return 400;
    case MD_ERR_NOT_FOUND: return 404;
    case MD_ERR_CONFLICT: return 409;
    case MD_ERR_UNAVAILABLE: return 503;
    case MD_ERR_NOMEM:
    case MD_ERR_IO:
    case MD_ERR_HYPERVISOR:
    case MD_ERR_INTERNAL: return 500;
    }
    return 500;
}

void md_api_reply(md_api_response *resp, int status, json_object *obj)
{
    resp->status = status;
    free(resp->body);
    resp->body = NULL;
    if (obj) {
        /* URLs read as URLs: "\/" is valid JSON but noise to a person. */
        const char *text = json_object_to_json_string_ext(
            obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        resp->body = text ? strdup(text) : NULL;
        json_object_put(obj);
        if (!resp->body)
            resp->status = 500; /* out of memory: an empty 500 is all that is left */
    }
}

/* Replaces every byte that is not part of a well-formed UTF-8 sequence
 * (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF)
 * with '?'. Messages quote what the client sent, cut to a length that may
 * fall inside a character: JSON text must be UTF-8 all the same. */
static void utf8_sanitize(char *s)
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

void md_api_fault(md_api_response *resp, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_sanitize(msg);
    json_object *inner = json_object_new_object();
    json_object_object_add(inner, "code", json_object_new_int(status));
    json_object_object_add(inner, "message", json_object_new_string(msg));
    json_object *outer = json_object_new_object();
    json_object_object_add(outer, fault_name(status), inner);
    md_api_reply(resp, status, outer);
}

void md_api_fault_err(md_api_response *resp, md_status st, const md_err *err)
{
    md_api_fault(resp, md_api_status_http(st), "%s", err->msg[0] ? err->msg : md_status_str(st));
}
