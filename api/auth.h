/* auth.h - Keystone v3 token validation with a bounded cache (libcurl).
 *
 * With api.auth_strategy = "keystone", every request that needs a role
 * carries X-Auth-Token; md_auth_validate() asks Keystone about it
 * (GET {auth_url}/auth/tokens with X-Auth-Token = the service's own token
 * and X-Subject-Token = the caller's), using the [keystone] credentials to
 * obtain and renew the service token (POST {auth_url}/auth/tokens, password
 * method, project scope). Valid answers are cached until the token expires
 * or keystone.cache_seconds pass, whichever is first, in a cache of bounded
 * size; tokens Keystone refused are remembered as refused for
 * keystone.negative_cache_seconds, in a smaller one.
 *
 * Validation never lets Keystone hold every HTTP thread (api/auth_guard.h):
 * at most keystone.max_concurrent_validations calls ask Keystone at once
 * (one more is refused at once: MD_ERR_UNAVAILABLE), and after Keystone
 * failed to answer, every call that would ask it is refused at once for
 * keystone.breaker_seconds, then one probes. Either refusal sets
 * retry_after_s. Cached answers are given whatever Keystone's state.
 *
 * Threads: any number of threads may call md_auth_validate() at once.
 * It blocks on HTTP to Keystone on a cache miss that the guard admits:
 * each request is bounded by keystone.timeout_ms, and one call makes at
 * most three (validation, 401, service login, validation again), plus
 * waiting for another thread's service login.
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
    /* The token's scope: a project (its id, name and domain; Keystone
     * limits ids and names to 64 characters), the whole system
     * (system_all), or neither (a domain-scoped or unscoped token). */
    char project_id[128];
    char project_name[128];
    char project_domain_id[128];
    char project_domain_name[128];
    bool system_all; /* "system": {"all": true} */
    size_t nroles;
    char roles[MD_AUTH_MAX_ROLES][64]; /* role names */
    int64_t expires_at;                /* ms since the epoch */
    /* Set on MD_ERR_UNAVAILABLE only: in how many seconds (>= 1) a retry
     * may succeed, for the API's Retry-After. */
    int retry_after_s;
} md_auth_result;

/* Creates the validator (no network I/O yet). cfg is borrowed. */
md_status md_auth_new(const md_config *cfg, md_auth **out, md_err *err);

/* Accepts NULL. */
void md_auth_free(md_auth *a);

/* Validates token. Returns MD_OK with *out filled; MD_ERR_UNAUTHORIZED when
 * the token is not valid (Keystone says so, now or within
 * negative_cache_seconds, or it is not shaped as a token: empty, longer
 * than MD_TOKEN_MAX_LEN bytes, or with a byte that no Keystone token has,
 * which never reaches Keystone; the API answers 401); MD_ERR_UNAVAILABLE
 * when Keystone cannot be asked (unreachable, too slow, too busy, the
 * breaker open) or the service's own credentials are refused (503), with
 * out->retry_after_s set. err says which, in detail meant for the log: it
 * may name Keystone's URL and the service user, so it is not for callers. */
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
    uint64_t refused_hits;      /* answered 401 from the cache of refused tokens */
    uint64_t refused_busy;      /* refused: max_concurrent_validations in flight */
    uint64_t refused_open;      /* refused: the breaker was open */
} md_auth_stats;

/* Copies the counters into *out. Any thread. */
void md_auth_get_stats(md_auth *a, md_auth_stats *out);

#endif /* MD_AUTH_H */
