/* status.h - the one error convention of migrationd: a status enum.
 *
 * Every function that can fail returns an md_status. MD_OK is zero so that
 * `if (st != MD_OK)` and `if (st)` both read naturally. The REST layer maps
 * each value to an HTTP code and a Nova fault name exactly once (the table
 * in api/fault.c), and md_status_str() gives the short English phrase used
 * in logs. The detailed message belongs to the place that detected the
 * error: it reports it once, there.
 */
#ifndef MD_STATUS_H
#define MD_STATUS_H

typedef enum md_status {
    MD_OK = 0,
    MD_ERR_INVALID,     /* bad input: config value, request field, argument */
    MD_ERR_NOT_FOUND,   /* no such migration, domain or file */
    MD_ERR_CONFLICT,    /* the current state does not allow the request */
    MD_ERR_NOMEM,       /* allocation failed */
    MD_ERR_IO,          /* a file, socket or database operation failed */
    MD_ERR_HYPERVISOR,  /* libvirt (or the simulator) refused or failed */
    MD_ERR_UNAVAILABLE, /* a dependency (Keystone, libvirtd) is unreachable */
    MD_ERR_INTERNAL,    /* a bug: an invariant did not hold */
    /* What only a request can be refused for (the REST layer detects them): */
    MD_ERR_UNAUTHORIZED,   /* no credentials, or credentials that are not valid */
    MD_ERR_FORBIDDEN,      /* valid credentials without the right to do this */
    MD_ERR_METHOD,         /* the resource exists, not for this (HTTP) method */
    MD_ERR_NOT_ACCEPTABLE, /* the version or form of answer asked for is not served */
    MD_ERR_TOO_LARGE,      /* the request is larger than allowed */
    MD_ERR_MEDIA_TYPE,     /* the request's body is not of a type that is read */
    MD_ERR_OVER_LIMIT,     /* a limit on how much may be asked at once is reached */
    MD_STATUS_COUNT,       /* not a status: how many there are (for tables) */
} md_status;

/* Returns a static, never-NULL string naming st ("invalid input", ...).
 * Thread-safe; any thread. */
const char *md_status_str(md_status st);

/* The message that goes with a failure: written once, by the code that
 * detected the problem, and carried up unchanged to the log or the API. */
typedef struct md_err {
    char msg[512];
} md_err;

/* Formats the message into e (when e is not NULL) and returns st, so that a
 * failure is reported in one statement: return md_err_set(e, MD_ERR_..., ...).
 * Any thread. */
md_status md_err_set(md_err *e, md_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MD_STATUS_H */
