/* record_cache.c - the v1 text of migration records, rendered once and kept for the lists.
 *
 * DESIGN
 * ------
 * A list of 50 records spent two thirds of its CPU on json-c building 50
 * objects of 40 members each, writing them out and freeing them again
 * (README, "Benchmark: API load"), although most records on a page have
 * ended and read the same at every request. So a record's text is kept:
 * json-c renders it once (md_api_migration_json(), written out with
 * MD_API_JSON_FLAGS, as md_api_reply() writes a body), and a list's array
 * holds, for each record, an object whose serializer is json-c's own
 * json_object_userdata_to_json_string, which copies the kept text into the
 * body as it is. json-c still writes every byte of JSON; nothing here
 * escapes or formats a value.
 *
 * What is kept is keyed by the whole record: a slot holds a copy of the
 * md_migration its text was rendered from, and the text is used only when
 * the record given now is byte for byte that copy. Any change to any field
 * (a monitor pass's progress, a downtime added after the end, an operator's
 * settings) makes it a miss, which renders and replaces the text; it can
 * never serve a stale one. A difference that is not a change (bytes after a
 * string's NUL in a record from the engine's memory) only costs a render.
 *
 * The cache has CACHE_SETS sets of CACHE_WAYS slots; a hash of the
 * record's uuid picks the set, and a record not found in it takes the slot
 * of its own older text, else the set's next slot in turn (the oldest
 * text kept there). With four ways, a page of 50 records never has two
 * that push each other out at every request, as a direct-mapped table
 * would have at 50 in 2048 slots. Its memory is bounded (a copy of the
 * record, 1.8 KiB, and its text, about 1 KiB, per slot) whatever the
 * number of records.
 *
 * Threads: the API's threads share one cache. Its mutex guards the slots,
 * taken once for the lookups of a whole page and once more for what it
 * rendered, never during a render. A kept text is
 * reference counted (C11 atomics): a list holds a reference from its
 * lookup until json-c deletes the array's object, so a text replaced in
 * the meantime is freed by whichever lets go of it last.
 */
#include "api/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Twice the largest page (MD_MAX_LIST_LIMIT, 1000) in slots: about 6 MiB
 * when all are used. */
#define CACHE_WAYS 4
#define CACHE_SETS 512

/* A rendered record: the record as it was (the key) and its text. */
typedef struct kept {
    atomic_size_t refs; /* the slot's reference and one per object that shows it */
    md_migration rec;
    char text[]; /* NUL-terminated */
} kept;

struct md_api_record_cache {
    pthread_mutex_t lock;
    kept *slot[CACHE_SETS][CACHE_WAYS];
    unsigned char next[CACHE_SETS]; /* the way each set replaces next */
};

static void kept_unref(kept *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1)
        free(k);
}

md_api_record_cache *md_api_record_cache_new(void)
{
    md_api_record_cache *c = calloc(1, sizeof *c);

    if (c && pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

void md_api_record_cache_free(md_api_record_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CACHE_SETS; i++)
        for (size_t w = 0; w < CACHE_WAYS; w++)
            kept_unref(c->slot[i][w]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The set of a uuid: FNV-1a over its text, then MurmurHash3's finalizer,
 * so that the low bits depend on every character. */
static size_t set_of(const char *uuid)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < MD_UUID_LEN && uuid[i]; i++)
        h = (h ^ (unsigned char)uuid[i]) * 16777619u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h % CACHE_SETS;
}

/* json-c's user_delete for an object that shows a kept text: its userdata
 * is the text. */
static void object_gone(json_object *o, void *userdata)
{
    (void)o;
    kept_unref((kept *)((char *)userdata - offsetof(kept, text)));
}

/* Renders m with json-c into a new kept (one reference, the caller's), or
 * NULL when out of memory. */
static kept *render(const md_api_deps *d, const md_migration *m)
{
    json_object *o = md_api_migration_json(d, m);
    size_t len = 0;
    kept *k = NULL;

    if (!o)
        return NULL;
    const char *text = json_object_to_json_string_length(o, MD_API_JSON_FLAGS, &len);
    if (text && (k = malloc(offsetof(kept, text) + len + 1)) != NULL) {
        atomic_init(&k->refs, 1);
        k->rec = *m;
        memcpy(k->text, text, len + 1);
    }
    json_object_put(o);
    return k;
}

/* The kept text of m in its set, or NULL. Under the lock. */
static kept *find(md_api_record_cache *c, size_t set, const md_migration *m)
{
    for (size_t way = 0; way < CACHE_WAYS; way++) {
        kept *k = c->slot[set][way];
        if (k && memcmp(&k->rec, m, sizeof *m) == 0)
            return k;
    }
    return NULL;
}

/* Puts k (rendered for k->rec) into set, taking a reference for the slot,
 * in place of the record's own older text or else of the set's oldest;
 * returns what the slot held (with the slot's reference), or NULL. Under
 * the lock. */
static kept *keep(md_api_record_cache *c, size_t set, kept *k)
{
    size_t way;

    for (way = 0; way < CACHE_WAYS; way++)
        if (c->slot[set][way] && strcmp(c->slot[set][way]->rec.uuid, k->rec.uuid) == 0)
            break;
    if (way == CACHE_WAYS)
        way = c->next[set]++ % CACHE_WAYS;
    kept *old = c->slot[set][way];
    atomic_fetch_add(&k->refs, 1);
    c->slot[set][way] = k;
    return old;
}

/* Sets ks[i] to a kept text of v[i], with a reference for the caller, for
 * each of the n records (NULL where out of memory). The lock is taken
 * twice for the whole page, not per record (the API's threads list at
 * once), and never held while rendering. */
static void texts_of(md_api_record_cache *c, const md_api_deps *d, const md_migration *v, size_t n,
                     kept **ks)
{
    bool missed = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        if ((ks[i] = find(c, set_of(v[i].uuid), &v[i])) != NULL)
            atomic_fetch_add(&ks[i]->refs, 1);
        else
            missed = true;
    }
    pthread_mutex_unlock(&c->lock);
    if (!missed)
        return;

    /* Rendered apart from the lock; a record that two threads render at
     * once is kept by both in turn: the same text. */
    bool *fresh = calloc(n, sizeof *fresh);
    for (size_t i = 0; i < n; i++)
        if (!ks[i] && (ks[i] = render(d, &v[i])) != NULL && fresh)
            fresh[i] = true;
    if (!fresh)
        return; /* out of memory: shown, not kept */
    pthread_mutex_lock(&c->lock);
    /* What a slot held is let go: freed now, or by the last list that
     * still shows it. */
    for (size_t i = 0; i < n; i++)
        if (fresh[i])
            kept_unref(keep(c, set_of(v[i].uuid), ks[i]));
    pthread_mutex_unlock(&c->lock);
    free(fresh);
}

/* An object that json-c writes out as k's text, taking over the caller's
 * reference to k; NULL (the reference let go) when out of memory. */
static json_object *show(kept *k)
{
    json_object *o = k ? json_object_new_object() : NULL;

    if (!o) {
        kept_unref(k);
        return NULL;
    }
    json_object_set_serializer(o, json_object_userdata_to_json_string, k->text, object_gone);
    return o;
}

bool md_api_record_cache_add(md_api_record_cache *c, const md_api_deps *d, const md_migration *v,
                             size_t n, json_object *arr)
{
    kept **ks = n ? malloc(n * sizeof *ks) : NULL;
    bool ok = ks || n == 0;

    if (!ks) {
        /* Out of memory for the page's list: each record as json-c builds
         * it, as the list was written before there was a cache. */
        for (size_t i = 0; i < n; i++)
            json_object_array_add(arr, md_api_migration_json(d, &v[i]));
        return ok;
    }
    texts_of(c, d, v, n, ks);
    for (size_t i = 0; i < n; i++) {
        json_object *o = show(ks[i]);
        ok = ok && o;
        json_object_array_add(arr, o);
    }
    free(ks);
    return ok;
}
