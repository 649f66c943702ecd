/* nova_migrations.c - GET /v2.1/os-migrations: Nova's list of this node's migrations.
 *
 * One job: reading the list's query as Nova's schema of the negotiated
 * microversion does, turning it into the store's filter, and answering the
 * page with Nova's fields and, from 2.59, its next link. The rest of the
 * /v2.1 surface, the DESIGN essay (whose differences from Nova hold here
 * too: the cap of 1000 records below 2.59, user_id/project_id filters that
 * match nothing, one value per query parameter) and the route table are in
 * nova.c; the helpers both files use are declared in nova_priv.h.
 */
#include "api/internal.h"
#include "api/nova_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/limits.h"
#include "service/log.h"

/* ---- small helpers ------------------------------------------------------------ */

static void put_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v && v[0] ? json_object_new_string(v) : NULL);
}

/* Appends s to out percent-encoded as Python's urlencode does (quote_plus). */
static void url_encode(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(out);

    for (; *s && n + 4 < outlen; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            out[n++] = (char)ch;
        else if (ch == ' ')
            out[n++] = '+';
        else
            n += (size_t)snprintf(out + n, outlen - n, "%%%02X", ch);
    }
    out[n] = '\0';
}

/* ---- os-migrations --------------------------------------------------------------------- */

/* A migration as Nova's os-migrations list shows it at this microversion. */
static json_object *list_item_json(const md_api_ctx *c, const md_migration *m)
{
    json_object *o = json_object_new_object();

    nova_put_time(o, "created_at", m->created_at);
    json_object_object_add(o, "dest_compute", json_object_new_string(m->dest_compute));
    json_object_object_add(o, "dest_host",
                           json_object_new_string(m->dest_host[0] ? m->dest_host
                                                                  : m->dest_compute));
    json_object_object_add(o, "dest_node", json_object_new_string(m->dest_compute));
    json_object_object_add(o, "id", json_object_new_int64(m->id));
    put_str(o, "instance_uuid", m->instance_uuid);
    json_object_object_add(o, "new_instance_type_id", NULL);
    json_object_object_add(o, "old_instance_type_id", NULL);
    json_object_object_add(o, "source_compute", json_object_new_string(m->source_compute));
    json_object_object_add(o, "source_node", json_object_new_string(m->source_compute));
    json_object_object_add(o, "status", json_object_new_string(md_mig_state_str(m->state)));
    nova_put_time(o, "updated_at", m->updated_at);
    if (nova_at_least(c, 23)) {
        json_object_object_add(o, "migration_type", json_object_new_string(m->migration_type));
        if (strcmp(m->migration_type, "live-migration") == 0 && nova_in_progress(m) &&
            m->instance_uuid[0]) {
            char path[160];
            snprintf(path, sizeof path, "servers/%s/migrations/%lld", m->instance_uuid,
                     (long long)m->id);
            json_object_object_add(o, "links", nova_self_links(c, path));
        }
    }
    if (nova_at_least(c, 59))
        json_object_object_add(o, "uuid", json_object_new_string(m->uuid));
    if (nova_at_least(c, 80)) {
        json_object_object_add(o, "user_id", NULL);
        json_object_object_add(o, "project_id", NULL);
    }
    return o;
}

/* What a list request asks beyond the store's filter. */
typedef struct list_query {
    bool nothing;               /* a filter no record can match */
    const char *source_compute; /* filter after the store, or NULL */
    bool paged;                 /* 2.59: limit/marker apply, next link */
    size_t limit;               /* the page size asked (paged) */
} list_query;

/* Reads os-migrations' query as Nova's schema of this microversion does;
 * false after a 400. */
static bool list_filter(md_api_ctx *c, md_store_filter *f, list_query *lq)
{
    /* In the order the microversions added them. */
    static const char *const allowed[] = { "hidden",
                                           "host",
                                           "instance_uuid",
                                           "source_compute",
                                           "status",
                                           "migration_type",
                                           "limit",
                                           "marker",
                                           "changes-since",  /* 2.59 */
                                           "changes-before", /* 2.66 */
                                           "user_id",
                                           "project_id", /* 2.80 */
                                           NULL };
    const char *v;

    memset(f, 0, sizeof f[0]);
    memset(lq, 0, sizeof lq[0]);
    /* Before 2.59 Nova's schema allows any parameter and ignores the ones
     * it does not know; from 2.59 only those of the microversion. */
    if (nova_at_least(c, 59)) {
        size_t n = nova_at_least(c, 80) ? 12 : nova_at_least(c, 66) ? 10 : 9;
        const char *now[13];
        memcpy(now, allowed, n * sizeof now[0]);
        now[n] = NULL;
        if (!md_api_check_query(c, now))
            return false;
    } else if (c->req->too_many_params) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for query parameters: too many parameters");
        return false;
    }

    if ((v = md_api_query(c, "status")) != NULL) {
        /* Nova's other statuses (post-migrating, done, ...) match nothing here. */
        if (md_mig_state_parse(v, &f->state) == 0)
            f->have_state = true;
        else
            lq->nothing = true;
    }
    if ((v = md_api_query(c, "instance_uuid")) != NULL) {
        if (md_uuid_valid(v))
            snprintf(f->instance_uuid, sizeof f->instance_uuid, "%s", v);
        else
            lq->nothing = true;
    }
    if ((v = md_api_query(c, "host")) != NULL) {
        if (v[0] && strlen(v) < sizeof f->host)
            snprintf(f->host, sizeof f->host, "%s", v);
        else
            lq->nothing = true;
    }
    if ((v = md_api_query(c, "source_compute")) != NULL) {
        /* The store filters by host (source or destination), the exact
         * match follows on the page. */
        if (!v[0] || strlen(v) >= sizeof f->host)
            lq->nothing = true;
        else if (!f->host[0])
            snprintf(f->host, sizeof f->host, "%s", v);
        lq->source_compute = v;
    }
    if ((v = md_api_query(c, "migration_type")) != NULL) {
        if (strlen(v) < sizeof f->migration_type)
            snprintf(f->migration_type, sizeof f->migration_type, "%s", v);
        else
            lq->nothing = true;
    }
    if ((v = md_api_query(c, "hidden")) != NULL) {
        /* No migration is hidden: hidden=true matches nothing. */
        static const char *const yes[] = { "1", "t", "true", "on", "y", "yes", NULL };
        for (size_t i = 0; yes[i]; i++)
            if (strcasecmp(v, yes[i]) == 0)
                lq->nothing = true;
    }
    if (nova_at_least(c, 80) &&
        (md_api_query(c, "user_id") != NULL || md_api_query(c, "project_id") != NULL))
        lq->nothing = true; /* records have no user or project */

    const char *dates[2] = { "changes-since", "changes-before" };
    int64_t *dst[2] = { &f->changes_since, &f->changes_before };
    int since[2] = { 59, 66 };
    for (int i = 0; i < 2; i++) {
        if (!nova_at_least(c, since[i]) || (v = md_api_query(c, dates[i])) == NULL)
            continue;
        if (!md_api_time_parse(v, dst[i])) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid input for query parameters %s. Value: %.64s. "
                         "'%.64s' is not a 'date-time'",
                         dates[i], v, v);
            return false;
        }
        if (*dst[i] == 0)
            *dst[i] = 1; /* 0 means "no filter" to the store */
    }
    if (f->changes_since && f->changes_before && f->changes_before < f->changes_since) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "The value of changes-since must be less than or equal to "
                     "changes-before.");
        return false;
    }

    if (!nova_at_least(c, 59)) {
        /* No paging: the newest records, one more than the cap read to
         * tell whether any were left out. */
        f->limit = MD_MAX_LIST_LIMIT + 1;
        return true;
    }
    lq->paged = true;
    lq->limit = MD_MAX_LIST_LIMIT;
    if ((v = md_api_query(c, "limit")) != NULL) {
        size_t len = strlen(v);
        if (len == 0 || len > 9 || strspn(v, "0123456789") != len) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid input for query parameters limit. Value: %.64s. "
                         "'%.64s' is not a non-negative integer",
                         v, v);
            return false;
        }
        long n = strtol(v, NULL, 10);
        lq->limit = n < MD_MAX_LIST_LIMIT ? (size_t)n : MD_MAX_LIST_LIMIT;
        if (n == 0)
            lq->nothing = true; /* the store reads limit 0 as no limit */
    }
    f->limit = lq->limit;
    if ((v = md_api_query(c, "marker")) != NULL) {
        if (strlen(v) >= sizeof f->marker) {
            md_api_fault(c->resp, MD_ERR_INVALID, "Marker %.64s could not be found.", v);
            return false;
        }
        snprintf(f->marker, sizeof f->marker, "%s", v);
    }
    return true;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const md_api_param *)a)->key, ((const md_api_param *)b)->key);
}

/* Nova's next link: this request's parameters, sorted, with the marker set
 * to the page's last migration. */
static json_object *next_link(const md_api_ctx *c, const char *marker)
{
    md_api_param p[MD_API_MAX_QUERY + 1];
    size_t n = 0;
    char url[320], href[4096];

    for (size_t i = 0; i < c->req->nquery && i < MD_API_MAX_QUERY; i++) {
        const md_api_param *q = &c->req->query[i];
        if (strcmp(q->key, "marker") == 0 || md_api_query(c, q->key) != q->value)
            continue; /* replaced, or repeated: the last value counts */
        p[n++] = *q;
    }
    p[n].key = "marker";
    p[n++].value = marker;
    qsort(p, n, sizeof p[0], cmp_param);
    md_api_base_url(c->deps, url);
    snprintf(href, sizeof href, "%s/v2.1/os-migrations?", url);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(href, "&", sizeof href - strlen(href) - 1);
        url_encode(href, sizeof href, p[i].key);
        strncat(href, "=", sizeof href - strlen(href) - 1);
        url_encode(href, sizeof href, p[i].value);
    }
    json_object *links = json_object_new_array();
    json_object_array_add(links, nova_link("next", href));
    return links;
}

/* GET /v2.1/os-migrations */
void nova_h_migrations(md_api_ctx *c)
{
    md_store_filter f;
    list_query lq;
    md_migration *v = NULL;
    size_t n = 0;

    if (!list_filter(c, &f, &lq) || !md_api_list_records(c, &f, lq.nothing, &v, &n))
        return;
    if (!lq.paged && n > MD_MAX_LIST_LIMIT) {
        n = MD_MAX_LIST_LIMIT;
        md_info("GET /v2.1/os-migrations at microversion 2.%d (no paging) answered the newest %d "
                "records and left older ones out; microversion 2.59 or later pages with limit "
                "and marker, as does /v1/os-migrations",
                c->version_minor, MD_MAX_LIST_LIMIT);
    }
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        if (lq.source_compute && strcmp(v[i].source_compute, lq.source_compute) != 0)
            continue;
        json_object_array_add(arr, list_item_json(c, &v[i]));
    }
    json_object_object_add(o, "migrations", arr);
    /* Nova adds migrations_links only when a full page may have more. */
    if (lq.paged && lq.limit && n == lq.limit)
        json_object_object_add(o, "migrations_links", next_link(c, v[n - 1].uuid));
    free(v);
    md_api_reply(c->resp, 200, o);
}
