/* faults.c - Nova's fault names, written down once for every test. */
#include "tests/support/faults.h"

#include <stddef.h>

const char *md_test_fault_name(long status)
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
    case 429: return "overLimit";
    case 503: return "serviceUnavailable";
    }
    return NULL;
}
