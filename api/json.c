/* json.c - representations' pieces: members, times as Nova writes them, ISO 8601, links, events. */
#include "api/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void md_api_time_str(int64_t ms, char out[32])
{
    struct tm tm;

    /* Records are stamped by the clock, never before 1970; were one, it
     * reads as the epoch (a negative remainder would print ".-01000"). */
    if (ms < 0)
        ms = 0;
    time_t secs = (time_t)(ms / 1000);
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06d", (int)(ms % 1000) * 1000);
}

/* Reads exactly n digits at *p into *v and advances; false if not digits. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        *v = *v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return true;
}

bool md_api_time_parse(const char *s, int64_t *ms)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0, frac_ms = 0, off_min = 0;
    struct tm tm;

    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return false;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &se))
                return false;
            if (*p == '.') {
                p++;
                int scale = 100, nd = 0;
                while (isdigit((unsigned char)*p)) {
                    if (nd++ < 3) {
                        frac_ms += (*p - '0') * scale;
                        scale /= 10;
                    }
                    p++;
                }
                if (nd == 0)
                    return false;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (!digits(&p, 2, &oh))
                return false;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && !digits(&p, 2, &om))
                return false;
            if (oh > 23 || om > 59)
                return false;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0')
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
        return false;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    /* timegm normalises 31 February into March: refuse dates that moved. */
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d || back.tm_mon != mo - 1)
        return false;
    *ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + frac_ms;
    return true;
}

void md_api_base_url(const md_api_deps *d, char out[320])
{
    const char *host = d->cfg->api.listen_host;
    bool v6 = strchr(host, ':') != NULL;

    snprintf(out, 320, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
             d->cfg->api.listen_port);
}

void md_api_put(json_object *o, const char *key, json_object *v)
{
    json_object_object_add_ex(o, key, v,
                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

void md_api_put_str_or_null(json_object *o, const char *key, const char *v)
{
    md_api_put(o, key, v[0] ? json_object_new_string(v) : NULL);
}

void md_api_put_u64(json_object *o, const char *key, uint64_t v)
{
    md_api_put(o, key, json_object_new_int64((int64_t)v));
}

void md_api_put_time(json_object *o, const char *key, int64_t ms)
{
    char t[32];

    md_api_time_str(ms, t);
    md_api_put(o, key, json_object_new_string(t));
}

void md_api_put_time_or_null(json_object *o, const char *key, int64_t ms)
{
    if (ms > 0)
        md_api_put_time(o, key, ms);
    else
        md_api_put(o, key, NULL);
}

json_object *md_api_link(const char *rel, const char *href)
{
    json_object *l = json_object_new_object();

    md_api_put(l, "rel", json_object_new_string(rel));
    md_api_put(l, "href", json_object_new_string(href));
    return l;
}

json_object *md_api_next_links(const md_api_deps *d, const char *path, size_t limit, size_t n,
                               const char *marker)
{
    json_object *links = json_object_new_array();

    if (links && limit && n == limit) {
        char url[320], href[640];
        md_api_base_url(d, url);
        snprintf(href, sizeof href, "%s%s?limit=%zu&marker=%s", url, path, limit, marker);
        json_object_array_add(links, md_api_link("next", href));
    }
    return links;
}

json_object *md_api_events_json(const md_api_deps *d, const char *path, const md_event *ev,
                                size_t n, size_t limit)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_new_object();
        md_api_put(e, "id", json_object_new_int64(ev[i].id));
        md_api_put_time(e, "at", ev[i].at);
        md_api_put(e, "kind", json_object_new_string(ev[i].kind));
        md_api_put(e, "value", json_object_new_int64(ev[i].value));
        md_api_put(e, "message", json_object_new_string(ev[i].message));
        json_object_array_add(arr, e);
    }
    md_api_put(o, "events", arr);
    char marker[32];
    snprintf(marker, sizeof marker, "%lld", n ? (long long)ev[n - 1].id : 0LL);
    md_api_put(o, "events_links", md_api_next_links(d, path, limit, n, marker));
    return o;
}

void md_api_reply_events(md_api_ctx *c, const char *what, const char *collection,
                         md_api_events_reader read)
{
    md_event *ev = NULL;
    size_t n = 0, limit;
    int64_t after;
    char path[128];
    md_err err;
    const char *id = md_api_path_uuid(c, what);

    if (!id || !md_api_events_query(c, &limit, &after))
        return;
    /* The store reads limit 0 as "no limit"; a client asking for zero
     * events gets none (after the check that the record exists). */
    md_status st = read(c->deps->engine, id, after, limit ? limit : 1, &ev, &n, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return;
    }
    snprintf(path, sizeof path, "%s/%s/events", collection, id);
    json_object *o = md_api_events_json(c->deps, path, ev, limit ? n : 0, limit);
    free(ev);
    md_api_reply(c->resp, o ? 200 : md_api_status_http(MD_ERR_NOMEM), o);
}

void md_api_record_href(const md_api_deps *d, const char *collection, const char *uuid,
                        char out[512])
{
    char url[320];

    md_api_base_url(d, url);
    snprintf(out, 512, "%s%s/%s", url, collection, uuid);
}

void md_api_reply_record(md_api_ctx *c, int status, const char *name, json_object *rec)
{
    json_object *o = rec ? json_object_new_object() : NULL;

    if (!o) {
        json_object_put(rec);
        md_api_fault(c->resp, MD_ERR_NOMEM, "out of memory");
        return;
    }
    md_api_put(o, name, rec);
    md_api_reply(c->resp, status, o);
}
