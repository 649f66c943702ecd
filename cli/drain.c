/* drain.c - `migrationctl drain`: start, list, show, events, cancel and watch host drains.
 *
 * A drain (POST /v1/drains) moves every guest of the node, or the listed ones, to the listed
 * peers by a deadline; migrationd plans it and runs each guest's migration. These commands
 * are requests to /v1/drains and nothing more: the server checks what the request says (a
 * destination that is not a peer, a deadline it cannot meet with --strict) and says why in
 * its fault, which is printed as for any command. `drain watch` and `start --wait` are
 * watch.c's live view with a drain's block. A migrationd from before drains answers 404
 * "No such resource" for /v1/drains: that is exit 6, as the command is not available there.
 */
#include "cli/migrationctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Turns "no such route" into MC_ERR_UNSUPPORTED: the server has no drain API at all, which
 * is not the same as a drain it does not know ("Drain X could not be found"). */
static mc_status unsupported(const mc_client *c, mc_status st, mc_err *e)
{
    if (st == MC_ERR_REQUEST && c->status == 404 && strstr(e->msg, "No such resource"))
        return mc_err_set(e, MC_ERR_UNSUPPORTED,
                          "drain: migrationd at %s has no drains (/v1/drains is not found): it "
                          "is older than them",
                          c->url);
    return st;
}

static mc_status need_drain_uuid(const mc_args *a, const char *sub, mc_err *e)
{
    if (a->npos != 2)
        return mc_err_set(e, MC_ERR_USAGE,
                          "drain %s takes one drain UUID (see: migrationctl help drain)", sub);
    if (!mc_is_uuid(a->pos[1]))
        return mc_err_set(e, MC_ERR_USAGE, "'%.64s' is not a drain UUID", a->pos[1]);
    return MC_OK;
}

static json_object *names(const char *const *v, size_t n)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_string(v[i]));
    return arr;
}

/* Prints a drain: with -f table and no -c, its fields but the guests, then a table of the
 * guests (a cell of JSON per guest would be unreadable); else as any record. */
static mc_status print_drain(const mc_output *o, json_object *d, mc_err *e)
{
    static const char *const guest_columns[] = { "order",
                                                 "instance_name",
                                                 "state",
                                                 "dest_compute",
                                                 "mode",
                                                 "predicted_duration_s",
                                                 "actual_duration_s",
                                                 "migration_uuid",
                                                 NULL };
    json_object *guests = NULL;

    if (o->format != MC_FORMAT_TABLE || o->ncolumns)
        return mc_print_object(o, d, e);
    json_object *top = json_object_new_object();
    json_object_object_foreach(d, key, val) {
        if (strcmp(key, "guests") == 0)
            guests = val;
        else if (strcmp(key, "links") != 0)
            json_object_object_add(top, key, json_object_get(val));
    }
    mc_status st = mc_print_object(o, top, e);
    json_object_put(top);
    if (st == MC_OK && guests && json_object_is_type(guests, json_type_array) &&
        json_object_array_length(guests) > 0) {
        printf("\n");
        st = mc_print_list(o, guests, guest_columns, e);
    }
    return st;
}

static mc_status drain_start(mc_client *c, const mc_args *a, mc_err *e)
{
    json_object *d = json_object_new_object(), *body = json_object_new_object(), *doc = NULL, *rec;
    mc_status st;
    char uuid[40];

    if (a->npos != 1) {
        st = mc_err_set(e, MC_ERR_USAGE, "drain start takes options only");
        goto cleanup;
    }
    if (a->ndests == 0 || a->deadline < 0) {
        st = mc_err_set(e, MC_ERR_USAGE,
                        "drain start needs --dest NAME (one or more) and --deadline SECONDS");
        goto cleanup;
    }
    json_object_object_add(d, "destinations", names(a->dests, a->ndests));
    json_object_object_add(d, "deadline_s", json_object_new_int64(a->deadline));
    if (a->post_copy >= 0)
        json_object_object_add(d, "permit_post_copy", json_object_new_boolean(a->post_copy));
    if (a->parallel >= 0)
        json_object_object_add(d, "max_parallel", json_object_new_int64(a->parallel));
    if (a->ninstances)
        json_object_object_add(d, "instances", names(a->instances, a->ninstances));
    if (a->nexclude)
        json_object_object_add(d, "exclude", names(a->exclude, a->nexclude));
    if (a->strict)
        json_object_object_add(d, "strict", json_object_new_boolean(1));
    if (a->abort_running)
        json_object_object_add(d, "abort_running", json_object_new_boolean(1));
    if (a->block)
        json_object_object_add(d, "block_migration", json_object_new_boolean(1));
    json_object_object_add(body, "drain", d);
    d = NULL;
    st = unsupported(c, mc_client_create(c, "/v1/drains", "drain", body, &doc, &rec, e), e);
    if (st != MC_OK)
        goto cleanup;
    snprintf(uuid, sizeof uuid, "%s", mc_member_text(rec, "uuid"));
    if (!a->wait) {
        st = print_drain(&a->out, rec, e);
        goto cleanup;
    }
    char to[1024] = "";
    for (size_t i = 0, len = 0; i < a->ndests && len < sizeof to; i++)
        len += (size_t)snprintf(to + len, sizeof to - len, "%s%s", i ? ", " : "", a->dests[i]);
    const char *n = mc_member_text(rec, "guests_total");
    printf("drain %s: %s guest%s to %s, deadline %s s, %s\n", uuid, n,
           strcmp(n, "1") == 0 ? "" : "s", to, mc_member_text(rec, "deadline_s"),
           mc_member_text(rec, "state"));
    fflush(stdout);
    st = mc_watch_drain(c, a, uuid, e);

cleanup:
    json_object_put(d);
    json_object_put(body);
    json_object_put(doc);
    return st;
}

static mc_status drain_list(mc_client *c, const mc_args *a, mc_err *e)
{
    static const char *const columns[] = {
        "uuid",          "state",       "destinations",     "guests_total", "guests_done",
        "guests_failed", "deadline_at", "predicted_end_at", "created_at",   NULL
    };
    char limit[40] = "";
    json_object *all = NULL;
    mc_status st;

    if (a->npos != 1)
        return mc_err_set(e, MC_ERR_USAGE, "drain list takes options only");
    if (a->marker && !mc_is_uuid(a->marker))
        return mc_err_set(e, MC_ERR_USAGE, "--marker takes a drain UUID");
    if (a->limit >= 0)
        snprintf(limit, sizeof limit, "limit=%lld", a->limit);
    /* As `list`: with --limit one page, without every page, following the next links. */
    st = unsupported(c,
                     mc_client_list(c, "/v1/drains", "drains", limit, a->marker, a->limit >= 0,
                                    &all, e),
                     e);
    if (st == MC_OK)
        st = mc_print_list(&a->out, all, columns, e);
    json_object_put(all);
    return st;
}

static mc_status drain_show(mc_client *c, const mc_args *a, mc_err *e)
{
    json_object *d = NULL;
    mc_status st;

    if ((st = need_drain_uuid(a, "show", e)) != MC_OK)
        return st;
    st = unsupported(c, mc_client_get_record(c, "/v1/drains", "drain", a->pos[1], &d, e), e);
    if (st == MC_OK)
        st = print_drain(&a->out, d, e);
    json_object_put(d);
    return st;
}

static mc_status drain_events(mc_client *c, const mc_args *a, mc_err *e)
{
    static const char *const columns[] = { "id", "at", "kind", "value", "message", NULL };
    json_object *ev = NULL;
    mc_status st;

    if ((st = need_drain_uuid(a, "events", e)) != MC_OK)
        return st;
    st = unsupported(c, mc_client_get_record_events(c, "/v1/drains", "drain", a->pos[1], 0, &ev, e),
                     e);
    if (st == MC_OK)
        st = mc_print_list(&a->out, ev, columns, e);
    json_object_put(ev);
    return st;
}

static mc_status drain_cancel(mc_client *c, const mc_args *a, mc_err *e)
{
    char path[160], what[80];
    json_object *doc = NULL, *rec = NULL;
    mc_status st;

    if ((st = need_drain_uuid(a, "cancel", e)) != MC_OK)
        return st;
    snprintf(path, sizeof path, "/v1/drains/%s%s", a->pos[1],
             a->abort_running ? "?abort_running=true" : "");
    snprintf(what, sizeof what, "drain %s", a->pos[1]);
    st = unsupported(c, mc_client_call(c, "DELETE", path, NULL, what, &doc, e), e);
    if (st == MC_OK) {
        json_object_object_get_ex(doc, "drain", &rec);
        printf("drain %s: cancel accepted%s%s%s\n", a->pos[1], rec ? " (state " : "",
               rec ? mc_member_text(rec, "state") : "", rec ? ")" : "");
    }
    json_object_put(doc);
    return st;
}

static mc_status drain_watch(mc_client *c, const mc_args *a, mc_err *e)
{
    mc_status st = need_drain_uuid(a, "watch", e);
    return st != MC_OK ? st : unsupported(c, mc_watch_drain(c, a, a->pos[1], e), e);
}

static const struct {
    const char *name;
    mc_status (*run)(mc_client *c, const mc_args *a, mc_err *e);
} subs[] = {
    { "start", drain_start },   { "list", drain_list },     { "show", drain_show },
    { "events", drain_events }, { "cancel", drain_cancel }, { "watch", drain_watch },
};

mc_status mc_cmd_drain(mc_client *c, const mc_args *a, mc_err *e)
{
    for (size_t i = 0; a->npos > 0 && i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(a->pos[0], subs[i].name) == 0)
            return subs[i].run(c, a, e);
    return mc_err_set(e, MC_ERR_USAGE,
                      "drain needs start, list, show, events, cancel or watch%s%.64s%s (see: "
                      "migrationctl help drain)",
                      a->npos ? ", not '" : "", a->npos ? a->pos[0] : "", a->npos ? "'" : "");
}
