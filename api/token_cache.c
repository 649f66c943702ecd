/* token_cache.c - the bounded, mutex-protected cache of valid Keystone answers (see token_cache.h).
 *
 * DESIGN: a set-associative table of sets * ways entries in one
 * allocation, the set chosen by an FNV-1a hash of the token. An entry holds
 * a full copy of the token (compared with memcmp after the hash), the
 * result, its end of validity on the monotonic clock (insertion +
 * cache_ms; the wall-clock end is the result's own expires_at) and the
 * tick of its last use, a counter that grows at every hit and insertion,
 * which orders the ways of a set for LRU replacement without a list.
 * Memory is bounded by sets * ways tokens of at most MD_TOKEN_MAX_LEN
 * bytes. The token's copy is made before the lock is taken, so that the
 * mutex is never held across malloc.
 */
#include "api/token_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct cache_entry {
    uint64_t hash;
    char *token; /* NULL when the way is empty */
    size_t token_len;
    int64_t cached_until_mono; /* ms, on md_token_time.mono_ms's clock */
    uint64_t last_used;        /* tick when last returned or stored */
    md_auth_result result;
} cache_entry;

struct md_token_cache {
    size_t sets;
    size_t ways;
    int64_t cache_ms;
    pthread_mutex_t lock; /* guards entries, tick and stats */
    uint64_t tick;
    md_token_cache_stats stats;
    cache_entry *entries; /* sets * ways; set s is entries[s * ways ...] */
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static cache_entry *set_of(md_token_cache *c, uint64_t hash)
{
    return &c->entries[(hash % c->sets) * c->ways];
}

static bool holds(const cache_entry *e, const char *token, size_t len, uint64_t hash)
{
    return e->token != NULL && e->hash == hash && e->token_len == len &&
           memcmp(e->token, token, len) == 0;
}

static bool expired(const cache_entry *e, md_token_time now)
{
    return e->cached_until_mono <= now.mono_ms || e->result.expires_at <= now.real_ms;
}

md_status md_token_cache_new(size_t sets, size_t ways, int64_t cache_ms, md_token_cache **out,
                             md_err *err)
{
    md_status st = MD_OK;
    md_token_cache *c = NULL;
    *out = NULL;

    if (sets == 0 || ways == 0 || cache_ms < 0 || sets > SIZE_MAX / sizeof(cache_entry) / ways) {
        st = md_err_set(err, MD_ERR_INVALID,
                        "token cache: sets > 0, ways > 0 and cache_ms >= 0 are needed");
        goto cleanup;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory creating the token cache");
        goto cleanup;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->sets = sets;
    c->ways = ways;
    c->cache_ms = cache_ms;
    c->entries = calloc(sets * ways, sizeof *c->entries);
    if (c->entries == NULL) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory creating the token cache");
        goto cleanup;
    }
    *out = c;
    c = NULL;

cleanup:
    md_token_cache_free(c);
    return st;
}

void md_token_cache_free(md_token_cache *c)
{
    if (c == NULL) {
        return;
    }
    if (c->entries != NULL) {
        for (size_t i = 0; i < c->sets * c->ways; i++) {
            free(c->entries[i].token);
        }
    }
    free(c->entries);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool md_token_cache_lookup(md_token_cache *c, const char *token, size_t len, md_token_time now,
                           md_auth_result *out)
{
    bool hit = false;
    uint64_t hash = fnv1a(token, len);
    cache_entry *set = set_of(c, hash);

    pthread_mutex_lock(&c->lock);
    for (size_t w = 0; w < c->ways; w++) {
        cache_entry *e = &set[w];
        if (!holds(e, token, len, hash)) {
            continue;
        }
        if (expired(e, now)) {
            free(e->token);
            memset(e, 0, sizeof *e);
            break;
        }
        e->last_used = ++c->tick;
        *out = e->result;
        hit = true;
        break;
    }
    if (hit) {
        c->stats.hits++;
    } else {
        c->stats.misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void md_token_cache_insert(md_token_cache *c, const char *token, size_t len,
                           const md_auth_result *r, md_token_time now)
{
    if (len == 0 || len > MD_TOKEN_MAX_LEN) {
        return;
    }
    char *copy = malloc(len);
    if (copy == NULL) {
        return;
    }
    memcpy(copy, token, len);
    uint64_t hash = fnv1a(token, len);
    cache_entry *set = set_of(c, hash);

    pthread_mutex_lock(&c->lock);
    /* The same token (another thread stored it meanwhile), else an empty or
     * expired way, else the least recently used one. */
    cache_entry *victim = NULL;
    for (size_t w = 0; w < c->ways && victim == NULL; w++) {
        if (holds(&set[w], token, len, hash)) {
            victim = &set[w];
        }
    }
    for (size_t w = 0; w < c->ways && victim == NULL; w++) {
        if (set[w].token == NULL || expired(&set[w], now)) {
            victim = &set[w];
        }
    }
    if (victim == NULL) {
        victim = &set[0];
        for (size_t w = 1; w < c->ways; w++) {
            if (set[w].last_used < victim->last_used) {
                victim = &set[w];
            }
        }
    }
    free(victim->token);
    victim->hash = hash;
    victim->token = copy;
    victim->token_len = len;
    victim->cached_until_mono = now.mono_ms + c->cache_ms;
    victim->last_used = ++c->tick;
    victim->result = *r;
    pthread_mutex_unlock(&c->lock);
}

size_t md_token_cache_count(md_token_cache *c)
{
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->sets * c->ways; i++) {
        if (c->entries[i].token != NULL) {
            n++;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

void md_token_cache_get_stats(md_token_cache *c, md_token_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}
