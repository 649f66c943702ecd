/* status.c - names of the md_status values. */
#include "service/status.h"

#include <stdarg.h>
#include <stdio.h>

const char *md_status_str(md_status st)
{
    switch (st) {
    case MD_OK: return "ok";
    case MD_ERR_INVALID: return "invalid input";
    case MD_ERR_NOT_FOUND: return "not found";
    case MD_ERR_CONFLICT: return "conflict";
    case MD_ERR_NOMEM: return "out of memory";
    case MD_ERR_IO: return "I/O error";
    case MD_ERR_HYPERVISOR: return "hypervisor error";
    case MD_ERR_UNAVAILABLE: return "service unavailable";
    case MD_ERR_INTERNAL: return "internal error";
    case MD_ERR_UNAUTHORIZED: return "unauthorized";
    case MD_ERR_FORBIDDEN: return "forbidden";
    case MD_ERR_METHOD: return "method not allowed";
    case MD_ERR_NOT_ACCEPTABLE: return "not acceptable";
    case MD_ERR_TOO_LARGE: return "request too large";
    case MD_ERR_MEDIA_TYPE: return "unsupported media type";
    case MD_ERR_OVER_LIMIT: return "over limit";
    case MD_STATUS_COUNT: break;
    }
    return "unknown status";
}

md_status md_err_set(md_err *e, md_status st, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return st;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return st;
}
