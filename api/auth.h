/* auth.h - Keystone v3 token validation with a bounded cache (libcurl).
 *
 * With api.auth_strategy = "keystone", every request that needs a role
 * carries X-Auth-Token; md_auth_validate() asks Keystone about it
 * (GET {auth_url}/auth/tokens with X-Auth-Token = the service's own token
 * and X-Subject-Token = the caller's), using the [keystone] credentials to
 * obtain and renew the service token (POST {auth_url}/auth/tokens, password
 * method, project scope). Valid answers are cached until the token expires
 * or keystone.cache_seconds pass, whichever is first, in a cache of bounded
 * size; invalid ones are not cached.
 *
 * Threads: any number of threads may call md_auth_validate() at once.
 * It blocks on HTTP to Keystone on a cache miss: each request is bounded by
 * keystone.timeout_ms, and one call makes at most three (validation, 401,
 * service login, validation again), plus waiting for another thread's
 * service login.
 */
#ifndef MD_AUTH_H
#define MD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/config.h"
#include "service/status.h"

typedef struct md_auth md_auth;

#define MD_AUTH_MAX_ROLES 16

typedef struct md_auth_result {
    char user_id[128];
    char project_id[128];
    size_t nroles;
    char roles[MD_AUTH_MAX_ROLES][64]; /* role names */
    int64_t expires_at;                /* ms since the epoch */
} md_auth_result;

/* Creates the validator (no network I/O yet). cfg is borrowed. */
md_status md_auth_new(const md_config *cfg, md_auth **out, md_err *err);

/* Accepts NULL. */
void md_auth_free(md_auth *a);

/* Validates token. Returns MD_OK with *out filled; MD_ERR_UNAUTHORIZED when
 * Keystone says the token is not valid (expired, revoked, unknown: the API
 * answers 401); MD_ERR_UNAVAILABLE when Keystone cannot be asked or the
 * service's own credentials are refused (503). err says which. */
md_status md_auth_validate(md_auth *a, const char *token, md_auth_result *out, md_err *err);

/* True when r holds one of the role names in allowed. Names are compared
 * without regard to case (strcasecmp): Keystone treats role names that
 * differ only in case as the same role (its name column is unique without
 * regard to case), so "Admin" in the configuration means Keystone's
 * "admin". Note that Keystone expands implied roles into the token: with
 * the default inference rules of `keystone-manage bootstrap` (admin implies
 * member, member implies reader) a member's token also lists "reader".
 * False when r or allowed is NULL. Pure; any thread. */
bool md_auth_has_role(const md_auth_result *r, const md_config_roles *allowed);

/* Counters since md_auth_new(), for tests and metrics. */
typedef struct md_auth_stats {
    uint64_t cache_hits;        /* validations answered from the cache */
    uint64_t cache_misses;      /* with caching on: lookups that found nothing valid */
    uint64_t keystone_requests; /* HTTP requests sent to Keystone (logins included) */
} md_auth_stats;

/* Copies the counters into *out. Any thread. */
void md_auth_get_stats(md_auth *a, md_auth_stats *out);

#endif /* MD_AUTH_H */
