/* token_cache.h - the bounded cache of valid Keystone answers (private to api/).
 *
 * api/auth.c asks Keystone whether a token is valid and keeps the valid
 * answers here, so that a client sending the same token again is answered
 * without HTTP. The cache knows nothing of Keystone or of HTTP: it maps a
 * token (its bytes) to an md_auth_result with an end of validity, which is
 * the token's own expires_at (wall clock) or the time of insertion plus
 * cache_ms (monotonic clock), whichever comes first.
 *
 * Bounds: sets * ways entries at most, each a copy of a token of at most
 * MD_TOKEN_MAX_LEN bytes; a longer token is never stored. The set of a
 * token is chosen by a hash of its bytes; a token is found only by
 * comparing all its bytes, so a hash collision can never hand one caller's
 * roles to another. A new token takes an empty or expired way of its set,
 * else the least recently used one (a hit or an insertion is a use).
 *
 * Time: the cache reads no clock. Every call that needs the time takes it
 * as an argument (an md_token_time), so that the caller reads the clocks
 * (auth.c: clock_gettime) and tests move time by hand without sleeping.
 *
 * Threads: any number of threads may call every function but _free() at
 * once; one mutex, held only for the copy of a few entries, guards the
 * table and the counters. No function blocks on anything but that mutex,
 * and none does I/O.
 */
#ifndef MD_API_TOKEN_CACHE_H
#define MD_API_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/auth.h"
#include "service/status.h"

/* The longest token migrationd accepts: api/auth.c refuses longer ones
 * without asking Keystone (real tokens are a few hundred bytes), and the
 * cache never stores one. */
#define MD_TOKEN_MAX_LEN 8192

typedef struct md_token_cache md_token_cache;

/* The two clocks the cache compares with, read by the caller. */
typedef struct md_token_time {
    int64_t mono_ms; /* CLOCK_MONOTONIC, ms: for cache_ms */
    int64_t real_ms; /* CLOCK_REALTIME, ms since the epoch: for expires_at */
} md_token_time;

/* Counters since md_token_cache_new(). */
typedef struct md_token_cache_stats {
    uint64_t hits;   /* lookups that found a valid entry */
    uint64_t misses; /* lookups that found none (or only an expired one) */
} md_token_cache_stats;

/* Creates an empty cache of sets * ways entries (both > 0) that keeps an
 * entry at most cache_ms (>= 0) after its insertion. On MD_OK *out is to be
 * freed with md_token_cache_free(); MD_ERR_INVALID for a bad size,
 * MD_ERR_NOMEM. */
md_status md_token_cache_new(size_t sets, size_t ways, int64_t cache_ms, md_token_cache **out,
                             md_err *err);

/* Frees the cache and its copies of the tokens. Accepts NULL. No other
 * thread may be using the cache. */
void md_token_cache_free(md_token_cache *c);

/* Looks up the len bytes of token at time now. On a hit (an entry whose
 * validity has not ended: now.mono_ms < insertion + cache_ms and
 * now.real_ms < its expires_at) copies its result into *out, marks it
 * most recently used and returns true. Otherwise returns false, leaves
 * *out alone, and empties the way of an expired entry for the token. Counts
 * a hit or a miss. */
bool md_token_cache_lookup(md_token_cache *c, const char *token, size_t len, md_token_time now,
                           md_auth_result *out);

/* Stores a copy of the len bytes of token with a copy of *r, inserted at
 * time now. An entry for the same token is replaced (its result and its
 * validity renewed); else the token takes an empty or expired way of its
 * set, else the least recently used way. Stores nothing when len is 0 or
 * more than MD_TOKEN_MAX_LEN, or when out of memory (a failure to cache is
 * never an error: the next lookup misses). */
void md_token_cache_insert(md_token_cache *c, const char *token, size_t len,
                           const md_auth_result *r, md_token_time now);

/* How many ways hold a token (expired ones included until their way is
 * reused or a lookup of their token empties it). For tests. */
size_t md_token_cache_count(md_token_cache *c);

/* Copies the counters into *out. */
void md_token_cache_get_stats(md_token_cache *c, md_token_cache_stats *out);

#endif /* MD_API_TOKEN_CACHE_H */
