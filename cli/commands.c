/* commands.c - the commands of migrationctl that are one request or a few: list, show,
 * events, start, set, the actions (force-complete, post-copy, recover, abort) and version. Each checks what only the client can check (a UUID that is not one), sends, and
 * prints; what the server refuses it says itself, in the fault that client.c turns into the
 * message. */
#include "cli/migrationctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mc_status need_uuid(const mc_args *a, const char *cmd, mc_err *e)
{
    if (a->npos != 1)
        return mc_err_set(e, MC_ERR_USAGE,
                          "%s takes one migration UUID (see: migrationctl help %s)", cmd, cmd);
    if (!mc_is_uuid(a->pos[0]))
        return mc_err_set(e, MC_ERR_USAGE, "'%.64s' is not a migration UUID", a->pos[0]);
    return MC_OK;
}

mc_status mc_cmd_list(mc_client *c, const mc_args *a, mc_err *e)
{
    static const char *const columns[] = { "uuid",          "status",
                                           "instance_name", "source_compute",
                                           "dest_compute",  "progress",
                                           "created_at",    NULL };
    char base[1024] = "", limit[32];
    json_object *all = NULL;
    mc_status st;

    if (a->npos)
        return mc_err_set(e, MC_ERR_USAGE, "list takes options only (see: migrationctl help list)");
    if (a->instance && !mc_is_uuid(a->instance))
        return mc_err_set(e, MC_ERR_USAGE,
                          "--instance takes an instance UUID (the API filters on instance_uuid)");
    mc_query_add(base, sizeof base, "status", a->status);
    mc_query_add(base, sizeof base, "instance_uuid", a->instance);
    mc_query_add(base, sizeof base, "host", a->host);
    mc_query_add(base, sizeof base, "migration_type", a->type);
    mc_query_add(base, sizeof base, "changes-since", a->changes_since);
    mc_query_add(base, sizeof base, "changes-before", a->changes_before);
    if (a->limit >= 0) {
        snprintf(limit, sizeof limit, "%lld", a->limit);
        mc_query_add(base, sizeof base, "limit", limit);
    }
    /* With --limit, one page, as asked. Without, every page, with the same filters. */
    st = mc_client_list(c, "/v1/os-migrations", "migrations", base, a->marker, a->limit >= 0, &all,
                        e);
    if (st == MC_OK)
        st = mc_print_list(&a->out, all, columns, e);
    json_object_put(all);
    return st;
}

mc_status mc_cmd_show(mc_client *c, const mc_args *a, mc_err *e)
{
    json_object *m = NULL;
    mc_status st;

    if ((st = need_uuid(a, "show", e)) != MC_OK)
        return st;
    if ((st = mc_client_get_migration(c, a->pos[0], &m, e)) == MC_OK)
        st = mc_print_object(&a->out, m, e);
    json_object_put(m);
    return st;
}

mc_status mc_cmd_events(mc_client *c, const mc_args *a, mc_err *e)
{
    static const char *const columns[] = { "id", "at", "kind", "value", "message", NULL };
    json_object *ev = NULL;
    mc_status st;

    if ((st = need_uuid(a, "events", e)) != MC_OK)
        return st;
    if ((st = mc_client_get_events(c, a->pos[0], 0, &ev, e)) == MC_OK)
        st = mc_print_list(&a->out, ev, columns, e);
    json_object_put(ev);
    return st;
}

/* Adds the settings options that were given (max_downtime_ms, bandwidth_mibps,
 * permit_post_copy) to m; returns how many. */
static int add_settings(json_object *m, const mc_args *a)
{
    int n = 0;

    if (a->max_downtime >= 0) {
        json_object_object_add(m, "max_downtime_ms", json_object_new_int64(a->max_downtime));
        n++;
    }
    if (a->bandwidth >= 0) {
        json_object_object_add(m, "bandwidth_mibps", json_object_new_int64(a->bandwidth));
        n++;
    }
    if (a->post_copy >= 0) {
        json_object_object_add(m, "permit_post_copy", json_object_new_boolean(a->post_copy));
        n++;
    }
    return n;
}

/* {"migration": m}, taking m. */
static json_object *wrap(json_object *m)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "migration", m);
    return o;
}

/* The "migration" object of a 202 answer, or NULL (an answer without one is still a 202). */
static json_object *answer_record(json_object *doc)
{
    json_object *m;
    return doc && json_object_object_get_ex(doc, "migration", &m) ? m : NULL;
}

mc_status mc_cmd_start(mc_client *c, const mc_args *a, mc_err *e)
{
    json_object *m = json_object_new_object(), *body = NULL, *doc = NULL, *rec;
    mc_status st = MC_OK;
    char uuid[40];

    if (a->npos != 2) {
        st = mc_err_set(e, MC_ERR_USAGE,
                        "start takes INSTANCE and DEST (see: migrationctl help start)");
        goto cleanup;
    }
    /* The API takes an instance by uuid or by libvirt domain name; a UUID-shaped name is
     * read as a uuid, as libvirt's own tools do. */
    json_object_object_add(m, mc_is_uuid(a->pos[0]) ? "instance_uuid" : "instance_name",
                           json_object_new_string(a->pos[0]));
    json_object_object_add(m, "dest_compute", json_object_new_string(a->pos[1]));
    if (a->dest_host)
        json_object_object_add(m, "dest_host", json_object_new_string(a->dest_host));
    if (a->block)
        json_object_object_add(m, "block_migration", json_object_new_boolean(1));
    if (a->timeout_action)
        json_object_object_add(m, "timeout_action", json_object_new_string(a->timeout_action));
    add_settings(m, a);
    body = wrap(m);
    m = NULL;
    st = mc_client_create(c, "/v1/os-migrations", "migration", body, &doc, &rec, e);
    if (st != MC_OK)
        goto cleanup;
    snprintf(uuid, sizeof uuid, "%s", mc_member_text(rec, "uuid"));
    if (!a->wait) {
        st = mc_print_object(&a->out, rec, e);
        goto cleanup;
    }
    printf("migration %s: %s to %s, %s\n", uuid, a->pos[0], a->pos[1],
           mc_member_text(rec, "status"));
    fflush(stdout);
    st = mc_watch(c, a, uuid, e);

cleanup:
    json_object_put(m);
    json_object_put(body);
    json_object_put(doc);
    return st;
}

/* PUT /v1/os-migrations/UUID with body; prints "migration UUID: DONE (status S)". */
static mc_status put_migration(mc_client *c, const char *uuid, json_object *body, const char *done,
                               mc_err *e)
{
    char path[80], what[80];
    json_object *doc = NULL;

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    snprintf(what, sizeof what, "migration %s", uuid);
    mc_status st = mc_client_call(c, "PUT", path, body, what, &doc, e);
    if (st == MC_OK) {
        json_object *rec = answer_record(doc);
        printf("migration %s: %s%s%s%s\n", uuid, done, rec ? " (status " : "",
               rec ? mc_member_text(rec, "status") : "", rec ? ")" : "");
    }
    json_object_put(doc);
    return st;
}

mc_status mc_cmd_set(mc_client *c, const mc_args *a, mc_err *e)
{
    json_object *m = json_object_new_object(), *body = NULL;
    mc_status st;

    if ((st = need_uuid(a, "set", e)) != MC_OK)
        goto cleanup;
    if (add_settings(m, a) == 0) {
        st = mc_err_set(e, MC_ERR_USAGE,
                        "set needs --max-downtime, --bandwidth, --post-copy or --no-post-copy");
        goto cleanup;
    }
    body = wrap(m);
    m = NULL;
    st = put_migration(c, a->pos[0], body, "settings accepted", e);

cleanup:
    json_object_put(m);
    json_object_put(body);
    return st;
}

mc_status mc_cmd_action(mc_client *c, const mc_args *a, const char *action, mc_err *e)
{
    char cmd[32], done[64];
    json_object *m, *body;
    mc_status st;

    snprintf(cmd, sizeof cmd, "%s", action);
    for (char *p = cmd; *p; p++)
        *p = *p == '_' ? '-' : *p;
    if ((st = need_uuid(a, cmd, e)) != MC_OK)
        return st;
    m = json_object_new_object();
    json_object_object_add(m, "action", json_object_new_string(action));
    body = wrap(m);
    snprintf(done, sizeof done, "%s accepted", cmd);
    st = put_migration(c, a->pos[0], body, done, e);
    json_object_put(body);
    return st;
}

mc_status mc_cmd_version(mc_client *c, const mc_args *a, mc_err *e)
{
    json_object *doc = NULL, *me, *versions, *out = json_object_new_object();
    char list[256] = "";
    size_t len = 0;
    mc_status st;

    if (a->npos) {
        st = mc_err_set(e, MC_ERR_USAGE, "version takes no arguments");
        goto cleanup;
    }
    json_object_object_add(out, "migrationctl", json_object_new_string(MD_VERSION));
    json_object_object_add(out, "url", json_object_new_string(c->url));
    if ((st = mc_client_call(c, "GET", "/", NULL, NULL, &doc, e)) != MC_OK)
        goto cleanup;
    if (!doc || !json_object_object_get_ex(doc, "migrationd", &me)) {
        st = mc_err_set(e, MC_ERR_REQUEST, "%s does not answer as migrationd does (GET /)", c->url);
        goto cleanup;
    }
    json_object_object_add(out, "migrationd",
                           json_object_new_string(mc_member_text(me, "version")));
    json_object_object_add(out, "host", json_object_new_string(mc_member_text(me, "host")));
    json_object_object_add(out, "hypervisor",
                           json_object_new_string(mc_member_text(me, "hypervisor")));
    json_object *sim = NULL;
    json_object_object_get_ex(me, "simulated", &sim);
    json_object_object_add(out, "simulated", json_object_get(sim));
    if (json_object_object_get_ex(doc, "versions", &versions) &&
        json_object_is_type(versions, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(versions) && len < sizeof list; i++) {
            json_object *v = json_object_array_get_idx(versions, i);
            const char *max = mc_member_text(v, "version");
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s%s%s%s%s", i ? ", " : "",
                                    mc_member_text(v, "id"), max[0] ? " (" : "",
                                    mc_member_text(v, "min_version"), max[0] ? " to " : "", max);
            if (max[0] && len < sizeof list)
                len += (size_t)snprintf(list + len, sizeof list - len, ")");
        }
    }
    json_object_object_add(out, "api_versions", json_object_new_string(list));
    st = mc_print_object(&a->out, out, e);

cleanup:
    json_object_put(doc);
    json_object_put(out);
    return st;
}
