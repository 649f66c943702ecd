/* fields.c - what a request says: its body's object and fields, its paging query, its path's UUID.
 *
 * The v1 routes (v1.c for migrations, drains.c for drains) read requests
 * the same way: the body is {"<name>": {...}} with only known keys, each
 * field has one JSON type and a range, and a bad one is a 400 whose
 * message names it ("drain.deadline_s must be an integer from 1 to
 * 604800"). The readers live here once so that the two resources cannot
 * drift apart in what they accept or in how they say no.
 */
#include "api/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/limits.h"

json_object *md_api_body_object(md_api_ctx *c, const char *name, const char *const *allowed)
{
    json_object *m = NULL;

    if (json_object_object_length(c->body) != 1 || !json_object_object_get_ex(c->body, name, &m)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "The body must be {\"%s\": {...}} and nothing else",
                     name);
        return NULL;
    }
    if (!json_object_is_type(m, json_type_object)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "\"%s\" must be an object", name);
        return NULL;
    }
    json_object_object_foreach(m, key, val) {
        (void)val;
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            md_api_fault(c->resp, MD_ERR_INVALID, "Unknown field %s.%.64s", name, key);
            return NULL;
        }
    }
    return m;
}

bool md_api_get_string(md_api_ctx *c, json_object *m, const char *name, const char *key, char *out,
                       size_t max)
{
    json_object *v;

    if (!json_object_object_get_ex(m, key, &v))
        return true;
    if (!json_object_is_type(v, json_type_string)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "%s.%s must be a string", name, key);
        return false;
    }
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    /* A NUL inside the string would cut it short without a word. */
    if (len == 0 || len >= max || strlen(s) != len) {
        md_api_fault(c->resp, MD_ERR_INVALID, "%s.%s must be a string of 1 to %zu characters", name,
                     key, max - 1);
        return false;
    }
    memcpy(out, s, len + 1);
    return true;
}

bool md_api_get_bool(md_api_ctx *c, json_object *m, const char *name, const char *key, int *out)
{
    json_object *v;

    if (!json_object_object_get_ex(m, key, &v))
        return true;
    if (!json_object_is_type(v, json_type_boolean)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "%s.%s must be true or false", name, key);
        return false;
    }
    *out = json_object_get_boolean(v) ? 1 : 0;
    return true;
}

bool md_api_get_int(md_api_ctx *c, json_object *m, const char *name, const char *key, int64_t lo,
                    int64_t hi, int64_t *out)
{
    json_object *v;

    if (!json_object_object_get_ex(m, key, &v))
        return true;
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || errno == ERANGE || x < lo || x > hi) {
        md_api_fault(c->resp, MD_ERR_INVALID, "%s.%s must be an integer from %lld to %lld", name,
                     key, (long long)lo, (long long)hi);
        return false;
    }
    *out = x;
    return true;
}

bool md_api_query_limit(md_api_ctx *c, size_t *limit, bool *none)
{
    const char *v = md_api_query(c, "limit");

    *limit = MD_MAX_LIST_LIMIT;
    *none = false;
    if (!v)
        return true;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!v[0] || *end || errno || n < 0) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid limit '%.64s': expected a non-negative integer", v);
        return false;
    }
    /* The store reads limit 0 as "no limit"; a client asking for zero
     * gets none. */
    if (n == 0)
        *none = true;
    *limit = (size_t)(n > MD_MAX_LIST_LIMIT ? MD_MAX_LIST_LIMIT : n);
    return true;
}

bool md_api_events_query(md_api_ctx *c, size_t *limit, int64_t *after)
{
    static const char *const allowed[] = { "limit", "marker", NULL };
    const char *v;
    bool none;

    *after = 0;
    if (!md_api_check_query(c, allowed) || !md_api_query_limit(c, limit, &none))
        return false;
    if ((v = md_api_query(c, "marker")) != NULL) {
        char *end;
        errno = 0;
        long long m = strtoll(v, &end, 10);
        if (!v[0] || *end || errno || m <= 0) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid marker '%.64s': expected the id of an event", v);
            return false;
        }
        *after = m;
    }
    return true;
}

const char *md_api_path_uuid(md_api_ctx *c, const char *what)
{
    if (!md_uuid_valid(c->params[0])) {
        md_api_fault(c->resp, MD_ERR_INVALID, "Invalid %s id %.64s: not a UUID", what,
                     c->params[0]);
        return NULL;
    }
    return c->params[0];
}

bool md_api_query_uuid(md_api_ctx *c, const char *key, const char **out)
{
    const char *v = md_api_query(c, key);

    *out = NULL;
    if (v && !md_uuid_valid(v)) {
        md_api_fault(c->resp, MD_ERR_INVALID, "Invalid %s '%.64s': not a UUID", key, v);
        return false;
    }
    *out = v;
    return true;
}
