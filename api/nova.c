/* nova.c - the Nova-compatible surface under /v2.1 (compute API up to microversion 2.80).
 *
 * DESIGN
 * ------
 * Existing Nova clients (python-openstackclient's "server migration
 * list|show|force complete|abort" and "server migrate --live-migration
 * --host H", python-novaclient) work against migrationd unchanged: the
 * routes, field names, microversion gates and status codes are Nova's
 * (api-ref os-migrations.inc, server-migrations.inc, servers-actions.inc;
 * nova/api/openstack/compute/migrations.py, server_migrations.py,
 * migrate_server.py), with these deliberate differences:
 *
 *  - "running (post-copy)" is a live migration in progress here: it is
 *    listed, shown and linked like "running" (Nova leaves it out, so its
 *    show and abort fail during post-copy). Abort during post-copy is a
 *    409 with the reason. So is migrationd's own "running (post-copy
 *    recovering)", a broken post-copy being resumed: the guest is still
 *    between the two nodes.
 *  - A command the migration's state does not allow (force_complete on a
 *    queued one, abort of one that has ended or is in post-copy) is 409
 *    conflictingRequest with the engine's reason, where Nova answers 400
 *    for some of them; an unknown migration id is 404 for force_complete
 *    too (Nova: 400).
 *  - {migration_id} is Nova's integer id or the migration's UUID.
 *  - A server is a libvirt domain of this node, {server_id} its UUID. The
 *    migrations routes also know a server that has left this node but has
 *    migration records here (an empty list rather than a 404).
 *  - os-migrateLive needs a host: this node cannot schedule. block_migration
 *    "auto" means no block migration (shared storage is assumed).
 *  - GET /servers?name= matches a substring of the name (Nova: a regular
 *    expression); other list parameters (all_tenants, limit, ...) are
 *    accepted and ignored: a node has few domains.
 *  - os-migrations filters by user_id/project_id (2.80) match nothing:
 *    migrationd knows no users or projects (both fields are null).
 *  - One value per query parameter: a repeated one counts as its last.
 *  - GET /os-migrations below 2.59, which has no paging, answers the
 *    newest 1000 records (MD_MAX_LIST_LIMIT, Nova's [api] max_limit) that
 *    match, where Nova answers every one: an answer must not grow with the
 *    history. The daemon logs when it left records out; from 2.59 the
 *    default page is the same 1000 with a next link, as in Nova.
 *
 * Microversions (the negotiated 2.N is c->version_minor; api.c has echoed
 * it already): migration_type and links 2.23, force_complete 2.22, server
 * migrations list/show 2.23, abort 2.24 (of queued/preparing ones 2.65),
 * uuid, paging and changes-since 2.59 (unknown query parameters become 400s
 * there), changes-before 2.66, user_id/project_id 2.80. A route used below
 * its microversion is a 404, as in Nova.
 */
#include "api/internal.h"
#include "api/nova_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/limits.h"

/* ---- small helpers ------------------------------------------------------------ */

/* The non-static ones are nova_priv.h's, shared with nova_migrations.c. */

bool nova_at_least(const md_api_ctx *c, int minor)
{
    return c->version_minor >= minor;
}

/* A 404 for a route used below the microversion that introduced it. */
static bool need_version(md_api_ctx *c, int minor)
{
    if (nova_at_least(c, minor))
        return true;
    md_api_fault(c->resp, MD_ERR_NOT_FOUND,
                 "The resource could not be found (it needs microversion 2.%d "
                 "or later; this request has 2.%d)",
                 minor, c->version_minor);
    return false;
}

static void put_u64(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

void nova_put_time(json_object *o, const char *key, int64_t ms)
{
    char t[32];
    md_api_time_str(ms, t);
    json_object_object_add(o, key, json_object_new_string(t));
}

json_object *nova_link(const char *rel, const char *href)
{
    json_object *l = json_object_new_object();
    json_object_object_add(l, "href", json_object_new_string(href));
    json_object_object_add(l, "rel", json_object_new_string(rel));
    return l;
}

/* Nova's pair of links to a resource: self under /v2.1, bookmark without. */
json_object *nova_self_links(const md_api_ctx *c, const char *path)
{
    char url[320], href[800];
    json_object *links = json_object_new_array();

    md_api_base_url(c->deps, url);
    snprintf(href, sizeof href, "%s/v2.1/%s", url, path);
    json_object_array_add(links, nova_link("self", href));
    snprintf(href, sizeof href, "%s/%s", url, path);
    json_object_array_add(links, nova_link("bookmark", href));
    return links;
}

/* Nova's statuses of a live migration in progress, and here also
 * post-copy and its recovery (see DESIGN). */
bool nova_in_progress(const md_migration *m)
{
    return md_mig_state_in_progress(m->state);
}

/* Nova's parameter_types.boolean: true/false or one of their string forms. */
static bool nova_bool(json_object *v, bool *out)
{
    static const char *const yes[] = { "True", "TRUE", "true", "1",   "ON", "On",
                                       "on",   "YES",  "Yes",  "yes", NULL };
    static const char *const no[] = { "False", "FALSE", "false", "0",  "OFF", "Off",
                                      "off",   "NO",    "No",    "no", NULL };

    if (json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    for (size_t i = 0; yes[i]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* ---- servers (domains of this node) -------------------------------------------- */

/* The node's domains as the engine last listed them; false after a fault. */
static bool load_domains(md_api_ctx *c, md_hv_domain **v, size_t *n)
{
    md_err err;
    md_status st = md_engine_domains(c->deps->engine, v, n, &err);

    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return false;
    }
    return true;
}

static const md_hv_domain *find_domain(const md_hv_domain *v, size_t n, const char *uuid)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(v[i].uuid, uuid) == 0)
            return &v[i];
    }
    return NULL;
}

/* True when record m is a migration of the server (uuid, and name when the
 * record was created by name and not resolved yet). */
static bool of_server(const md_migration *m, const char *uuid, const char *name)
{
    if (m->instance_uuid[0])
        return strcasecmp(m->instance_uuid, uuid) == 0;
    return name && name[0] && strcmp(m->instance_name, name) == 0;
}

/* Every migration in progress on this node as the store holds it (read through
 * the engine); false after a fault. */
static bool load_in_progress(md_api_ctx *c, md_migration **v, size_t *n)
{
    md_store_filter f;
    md_err err;

    memset(&f, 0, sizeof f);
    f.in_progress_only = true;
    md_status st = md_engine_list(c->deps->engine, &f, v, n, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return false;
    }
    return true;
}

static bool migrating(const md_migration *v, size_t n, const md_hv_domain *d)
{
    for (size_t i = 0; i < n; i++) {
        if (of_server(&v[i], d->uuid, d->name))
            return true;
    }
    return false;
}

/* A server as Nova shows one: {id, name, links}, and with detail the
 * status, placement and a minimal flavor. */
static json_object *server_json(const md_api_ctx *c, const md_hv_domain *d, bool busy, bool detail)
{
    char path[128];
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_string(d->uuid));
    json_object_object_add(o, "name", json_object_new_string(d->name));
    snprintf(path, sizeof path, "servers/%s", d->uuid);
    json_object_object_add(o, "links", nova_self_links(c, path));
    if (!detail)
        return o;

    /* Nova's status = f(vm_state, task_state); power_state 1 running,
     * 3 paused, 4 shutdown. */
    const char *vm_state = !d->active ? "stopped" : d->paused ? "paused" : "active";
    const char *status = busy         ? "MIGRATING"
                         : !d->active ? "SHUTOFF"
                         : d->paused  ? "PAUSED"
                                      : "ACTIVE";
    int power = !d->active ? 4 : d->paused ? 3 : 1;
    const char *host = c->deps->cfg->service.host;
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "OS-EXT-STS:vm_state", json_object_new_string(vm_state));
    json_object_object_add(o, "OS-EXT-STS:task_state",
                           busy ? json_object_new_string("migrating") : NULL);
    json_object_object_add(o, "OS-EXT-STS:power_state", json_object_new_int(power));
    json_object_object_add(o, "OS-EXT-SRV-ATTR:host", json_object_new_string(host));
    json_object_object_add(o, "OS-EXT-SRV-ATTR:hypervisor_hostname", json_object_new_string(host));
    json_object_object_add(o, "OS-EXT-SRV-ATTR:instance_name", json_object_new_string(d->name));

    /* The flavor: before 2.47 a reference, from 2.47 the sizes themselves
     * (RAM in MiB, the first disk in GiB); migrationd has no flavors. */
    json_object *fl = json_object_new_object();
    if (nova_at_least(c, 47)) {
        uint64_t disk = d->ndisks ? d->disk_bytes[0] >> 30 : 0;
        json_object_object_add(fl, "original_name", json_object_new_string("migrationd"));
        put_u64(fl, "ram", d->ram_bytes >> 20);
        put_u64(fl, "disk", disk);
        json_object_object_add(fl, "ephemeral", json_object_new_int(0));
        json_object_object_add(fl, "swap", json_object_new_int(0));
        json_object_object_add(fl, "extra_specs", json_object_new_object());
    } else {
        json_object_object_add(fl, "id", json_object_new_string("migrationd"));
        json_object_object_add(fl, "links", json_object_new_array());
    }
    json_object_object_add(o, "flavor", fl);
    json_object_object_add(o, "image", json_object_new_string(""));
    json_object_object_add(o, "addresses", json_object_new_object());
    json_object_object_add(o, "metadata", json_object_new_object());
    return o;
}

/* GET /v2.1/servers/{id}: a domain of this node, by UUID (as Nova: names
 * are found through the list). */
static void h_server_show(md_api_ctx *c)
{
    md_hv_domain *v = NULL;
    md_migration *mv = NULL;
    size_t n = 0, mn = 0;

    if (!md_api_check_query(c, NULL) || !load_domains(c, &v, &n))
        return;
    const md_hv_domain *d = find_domain(v, n, c->params[0]);
    if (!d) {
        md_api_fault(c->resp, MD_ERR_NOT_FOUND, "Instance %s could not be found.", c->params[0]);
    } else if (load_in_progress(c, &mv, &mn)) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "server", server_json(c, d, migrating(mv, mn, d), true));
        md_api_reply(c->resp, 200, o);
    }
    free(mv);
    free(v);
}

/* GET /v2.1/servers[/detail]?name=: the node's domains whose name contains
 * name. Other parameters are accepted and ignored (see DESIGN). */
static void list_servers(md_api_ctx *c, bool detail)
{
    md_hv_domain *v = NULL;
    md_migration *mv = NULL;
    size_t n = 0, mn = 0;
    const char *name = md_api_query(c, "name");

    if (c->req->too_many_params) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for query parameters: too many parameters");
        return;
    }
    if (!load_domains(c, &v, &n))
        return;
    if (load_in_progress(c, &mv, &mn)) {
        json_object *o = json_object_new_object(), *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            if (name && !strstr(v[i].name, name))
                continue;
            json_object_array_add(arr, server_json(c, &v[i], migrating(mv, mn, &v[i]), detail));
        }
        json_object_object_add(o, "servers", arr);
        md_api_reply(c->resp, 200, o);
    }
    free(mv);
    free(v);
}

static void h_servers(md_api_ctx *c)
{
    list_servers(c, false);
}

static void h_servers_detail(md_api_ctx *c)
{
    list_servers(c, true);
}

/* ---- os-migrateLive ---------------------------------------------------------------- */

/* Checks the os-migrateLive object against Nova's schema of this
 * microversion and fills q; false after a 400. */
static bool live_args(md_api_ctx *c, json_object *a, md_engine_request *q)
{
    json_object *v;
    bool b;

    if (!json_object_is_type(a, json_type_object)) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for field/attribute os-migrateLive: "
                     "expected an object");
        return false;
    }
    json_object_object_foreach(a, key, val) {
        (void)val;
        bool ok = strcmp(key, "host") == 0 || strcmp(key, "block_migration") == 0 ||
                  (strcmp(key, "disk_over_commit") == 0 && !nova_at_least(c, 25)) ||
                  (strcmp(key, "force") == 0 && nova_at_least(c, 30) && !nova_at_least(c, 68));
        if (!ok) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid input for field/attribute os-migrateLive: "
                         "additional properties are not allowed ('%.64s' was unexpected at "
                         "microversion 2.%d)",
                         key, c->version_minor);
            return false;
        }
    }
    if (!json_object_object_get_ex(a, "host", &v)) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for field/attribute os-migrateLive: "
                     "'host' is a required property");
        return false;
    }
    if (!v) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "host is required: this node cannot choose a destination");
        return false;
    }
    size_t len = (size_t)json_object_get_string_len(v);
    if (!json_object_is_type(v, json_type_string) || len == 0 || len >= sizeof q->dest_compute ||
        strlen(json_object_get_string(v)) != len) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for field/attribute host: expected a host "
                     "name of 1 to %zu characters",
                     sizeof q->dest_compute - 1);
        return false;
    }
    memcpy(q->dest_compute, json_object_get_string(v), len + 1);

    if (!json_object_object_get_ex(a, "block_migration", &v)) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for field/attribute os-migrateLive: "
                     "'block_migration' is a required property");
        return false;
    }
    if (nova_at_least(c, 25) && json_object_is_type(v, json_type_string) &&
        strcmp(json_object_get_string(v), "auto") == 0) {
        q->block_migration = false; /* shared storage assumed (see DESIGN) */
    } else if (nova_bool(v, &b)) {
        q->block_migration = b;
    } else {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for field/attribute block_migration: "
                     "expected a boolean%s",
                     nova_at_least(c, 25) ? " or \"auto\"" : "");
        return false;
    }
    /* disk_over_commit (required by Nova before 2.25; accepted without
     * here) means nothing to libvirt's own checks; force (2.30-2.67) only
     * bypasses a scheduler this node does not have. */
    const char *const bools[] = { "disk_over_commit", "force" };
    for (int i = 0; i < 2; i++) {
        if (json_object_object_get_ex(a, bools[i], &v) && !nova_bool(v, &b)) {
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "Invalid input for field/attribute %s: expected a "
                         "boolean",
                         bools[i]);
            return false;
        }
    }
    return true;
}

static void migrate_live(md_api_ctx *c, json_object *a)
{
    md_engine_request q;
    md_hv_domain *v = NULL;
    size_t n = 0;
    md_migration m;
    md_err err;

    memset(&q, 0, sizeof q);
    q.permit_post_copy = -1;
    q.max_downtime_ms = -1;
    q.bandwidth_mibps = -1;
    q.timeout_action = -1;
    if (!live_args(c, a, &q) || !load_domains(c, &v, &n))
        return;
    const md_hv_domain *d = find_domain(v, n, c->params[0]);
    if (!d) {
        md_api_fault(c->resp, MD_ERR_NOT_FOUND, "Instance %s could not be found.", c->params[0]);
    } else if (!d->active) {
        md_api_fault(c->resp, MD_ERR_CONFLICT,
                     "Cannot 'os-migrateLive' instance %s while it is in "
                     "vm_state stopped",
                     d->uuid);
    } else {
        snprintf(q.instance, sizeof q.instance, "%s", d->uuid);
        md_status st = md_engine_create(c->deps->engine, &q, &m, &err);
        if (st != MD_OK)
            md_api_fault_err(c->resp, st, &err);
        else
            c->resp->status = 202; /* Nova: no body */
    }
    free(v);
}

/* POST /v2.1/servers/{id}/action: os-migrateLive; Nova's other actions are
 * not migrationd's to perform. */
static void h_server_action(md_api_ctx *c)
{
    if (!md_api_check_query(c, NULL))
        return;
    if (json_object_object_length(c->body) != 1) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Malformed request body: an action body has exactly one "
                     "key, the action's name");
        return;
    }
    json_object_object_foreach(c->body, action, args) {
        if (strcmp(action, "os-migrateLive") == 0)
            migrate_live(c, args);
        else
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "There is no such action: %.64s (migrationd performs "
                         "only os-migrateLive)",
                         action);
    }
}

/* ---- migrations of a server ------------------------------------------------------- */

/* Resolves {server_id} for the migrations routes into its UUID and (when
 * it is a domain here) name: a domain of this node, or an instance with
 * migration records here. Answers 404 and returns false otherwise. */
static bool find_server(md_api_ctx *c, char uuid[MD_UUID_LEN], char name[MD_NAME_LEN])
{
    md_hv_domain *v = NULL;
    size_t n = 0;
    const char *id = c->params[0];

    name[0] = '\0';
    if (!md_uuid_valid(id)) {
        md_api_fault(c->resp, MD_ERR_NOT_FOUND, "Instance %.64s could not be found.", id);
        return false;
    }
    if (!load_domains(c, &v, &n))
        return false;
    const md_hv_domain *d = find_domain(v, n, id);
    if (d) {
        snprintf(uuid, MD_UUID_LEN, "%s", d->uuid);
        snprintf(name, MD_NAME_LEN, "%s", d->name);
        free(v);
        return true;
    }
    free(v);

    md_store_filter f;
    md_migration *mv = NULL;
    size_t mn = 0;
    md_err err;
    memset(&f, 0, sizeof f);
    snprintf(f.instance_uuid, sizeof f.instance_uuid, "%s", id);
    f.limit = 1;
    md_status st = md_engine_list(c->deps->engine, &f, &mv, &mn, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return false;
    }
    if (mn == 0)
        md_api_fault(c->resp, MD_ERR_NOT_FOUND, "Instance %s could not be found.", id);
    else
        snprintf(uuid, MD_UUID_LEN, "%s", mv[0].instance_uuid);
    free(mv);
    return mn > 0;
}

/* Finds migration {migration_id} (Nova's integer id, or the UUID) of the
 * server into *out, with live progress. Returns 1 when found, 0 when not
 * (nothing answered yet), -1 after a fault. */
static int find_migration(md_api_ctx *c, const char *uuid, const char *name, md_migration *out)
{
    const char *mid = c->params[1];
    md_migration *v = NULL;
    size_t n = 0;
    md_err err;
    int found = 0;

    if (md_uuid_valid(mid)) {
        md_status st = md_engine_get(c->deps->engine, mid, out, &err);
        if (st == MD_ERR_NOT_FOUND)
            return 0;
        if (st != MD_OK) {
            md_api_fault_err(c->resp, st, &err);
            return -1;
        }
        return of_server(out, uuid, name) ? 1 : 0;
    }
    size_t len = strlen(mid);
    if (len == 0 || len > 18 || strspn(mid, "0123456789") != len)
        return 0;
    int64_t id = strtoll(mid, NULL, 10);

    /* In progress first (records created by name match by name there),
     * then everything the instance ever had here. */
    if (!load_in_progress(c, &v, &n))
        return -1;
    for (size_t i = 0; i < n && !found; i++) {
        if (v[i].id == id && of_server(&v[i], uuid, name)) {
            *out = v[i];
            found = 1;
        }
    }
    free(v);
    v = NULL;
    /* Then every record the instance ever had here, a page at a time, so
     * that a long history is never read into memory at once. */
    md_store_filter f;
    memset(&f, 0, sizeof f);
    snprintf(f.instance_uuid, sizeof f.instance_uuid, "%s", uuid);
    f.limit = MD_MAX_LIST_LIMIT;
    while (!found) {
        md_status st = md_engine_list(c->deps->engine, &f, &v, &n, &err);
        if (st != MD_OK) {
            md_api_fault_err(c->resp, st, &err);
            return -1;
        }
        for (size_t i = 0; i < n && !found; i++) {
            if (v[i].id == id) {
                *out = v[i];
                found = 1;
            }
        }
        if (n == f.limit)
            snprintf(f.marker, sizeof f.marker, "%s", v[n - 1].uuid);
        free(v);
        v = NULL;
        if (n < f.limit)
            break;
    }
    if (found) {
        /* The live view: progress, and a state the store may lag behind. */
        md_migration live;
        if (md_engine_get(c->deps->engine, out->uuid, &live, &err) == MD_OK)
            *out = live;
    }
    return found;
}

/* A migration as Nova's server-migrations API shows it. */
static json_object *server_migration_json(const md_api_ctx *c, const md_migration *m,
                                          const char *server_uuid)
{
    json_object *o = json_object_new_object();

    nova_put_time(o, "created_at", m->created_at);
    json_object_object_add(o, "dest_compute", json_object_new_string(m->dest_compute));
    json_object_object_add(o, "dest_host",
                           json_object_new_string(m->dest_host[0] ? m->dest_host
                                                                  : m->dest_compute));
    json_object_object_add(o, "dest_node", json_object_new_string(m->dest_compute));
    put_u64(o, "disk_processed_bytes", m->disk_processed_bytes);
    put_u64(o, "disk_remaining_bytes", m->disk_remaining_bytes);
    put_u64(o, "disk_total_bytes", m->disk_total_bytes);
    json_object_object_add(o, "id", json_object_new_int64(m->id));
    put_u64(o, "memory_processed_bytes", m->memory_processed_bytes);
    put_u64(o, "memory_remaining_bytes", m->memory_remaining_bytes);
    put_u64(o, "memory_total_bytes", m->memory_total_bytes);
    json_object_object_add(o, "server_uuid", json_object_new_string(server_uuid));
    json_object_object_add(o, "source_compute", json_object_new_string(m->source_compute));
    json_object_object_add(o, "source_node", json_object_new_string(m->source_compute));
    json_object_object_add(o, "status", json_object_new_string(md_mig_state_str(m->state)));
    nova_put_time(o, "updated_at", m->updated_at);
    if (nova_at_least(c, 59))
        json_object_object_add(o, "uuid", json_object_new_string(m->uuid));
    if (nova_at_least(c, 80)) {
        json_object_object_add(o, "user_id", NULL);
        json_object_object_add(o, "project_id", NULL);
    }
    return o;
}

/* GET /v2.1/servers/{id}/migrations: its live migrations in progress. */
static void h_server_migrations(md_api_ctx *c)
{
    char uuid[MD_UUID_LEN], name[MD_NAME_LEN];
    md_migration *v = NULL, live;
    size_t n = 0;
    md_err err;

    if (!need_version(c, 23) || !md_api_check_query(c, NULL) || !find_server(c, uuid, name) ||
        !load_in_progress(c, &v, &n))
        return;
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        if (!of_server(&v[i], uuid, name))
            continue;
        if (md_engine_get(c->deps->engine, v[i].uuid, &live, &err) != MD_OK)
            live = v[i];
        if (nova_in_progress(&live))
            json_object_array_add(arr, server_migration_json(c, &live, uuid));
    }
    free(v);
    json_object_object_add(o, "migrations", arr);
    md_api_reply(c->resp, 200, o);
}

/* GET /v2.1/servers/{id}/migrations/{mid}: one in progress. */
static void h_server_migration_show(md_api_ctx *c)
{
    char uuid[MD_UUID_LEN], name[MD_NAME_LEN];
    md_migration m;

    if (!need_version(c, 23) || !md_api_check_query(c, NULL) || !find_server(c, uuid, name))
        return;
    int found = find_migration(c, uuid, name, &m);
    if (found < 0)
        return;
    if (!found) {
        md_api_fault(c->resp, MD_ERR_NOT_FOUND,
                     "In-progress live migration %s is not found for server %s.", c->params[1],
                     uuid);
    } else if (!nova_in_progress(&m)) {
        md_api_fault(c->resp, MD_ERR_NOT_FOUND,
                     "Live migration %s for server %s is not in progress.", c->params[1], uuid);
    } else {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "migration", server_migration_json(c, &m, uuid));
        md_api_reply(c->resp, 200, o);
    }
}

/* Finds {server_id} and {migration_id} for a command; false after a fault. */
static bool command_target(md_api_ctx *c, md_migration *m)
{
    char uuid[MD_UUID_LEN], name[MD_NAME_LEN];

    if (!find_server(c, uuid, name))
        return false;
    int found = find_migration(c, uuid, name, m);
    if (found == 0)
        md_api_fault(c->resp, MD_ERR_NOT_FOUND, "Migration %s not found for instance %s",
                     c->params[1], uuid);
    return found == 1;
}

/* The answer to an engine command: 202 without a body, or its fault. */
static void after_command(md_api_ctx *c, md_status st, const md_err *err)
{
    if (st == MD_OK)
        c->resp->status = 202;
    else
        md_api_fault_err(c->resp, st, err);
}

/* POST /v2.1/servers/{id}/migrations/{mid}/action {"force_complete": null} */
static void h_server_migration_action(md_api_ctx *c)
{
    json_object *v;
    md_migration m;
    md_err err;

    if (!need_version(c, 22) || !md_api_check_query(c, NULL))
        return;
    if (json_object_object_length(c->body) != 1) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Malformed request body: an action body has exactly one "
                     "key, the action's name");
        return;
    }
    if (!json_object_object_get_ex(c->body, "force_complete", &v)) {
        json_object_object_foreach(c->body, action, args) {
            (void)args;
            md_api_fault(c->resp, MD_ERR_INVALID,
                         "There is no such action: %.64s (a migration has only "
                         "force_complete)",
                         action);
        }
        return;
    }
    if (v) {
        md_api_fault(c->resp, MD_ERR_INVALID,
                     "Invalid input for field/attribute force_complete: it must "
                     "be null");
        return;
    }
    if (!command_target(c, &m))
        return;
    md_status st = md_engine_force_complete(c->deps->engine, m.uuid, &err);
    after_command(c, st, &err);
}

/* DELETE /v2.1/servers/{id}/migrations/{mid}: abort. */
static void h_server_migration_delete(md_api_ctx *c)
{
    md_migration m;
    md_err err;

    if (!need_version(c, 24) || !md_api_check_query(c, NULL) || !command_target(c, &m))
        return;
    if (!nova_at_least(c, 65) && (m.state == MD_MIG_QUEUED || m.state == MD_MIG_PREPARING)) {
        md_api_fault(c->resp, MD_ERR_CONFLICT,
                     "Aborting live migration %s with status %s is not yet "
                     "supported for this instance (it needs microversion 2.65 or later).",
                     c->params[1], md_mig_state_str(m.state));
        return;
    }
    md_status st = md_engine_abort(c->deps->engine, m.uuid, &err);
    after_command(c, st, &err);
}

/* ---- the version document ----------------------------------------------------------- */

/* GET /v2.1: Nova's document for its one version. */
static void h_version(md_api_ctx *c)
{
    char url[320], href[400];

    if (!md_api_check_query(c, NULL))
        return;
    json_object *o = json_object_new_object(), *v = json_object_new_object();
    json_object *links = json_object_new_array(), *types = json_object_new_array();
    json_object *mt = json_object_new_object();
    md_api_base_url(c->deps, url);
    snprintf(href, sizeof href, "%s/v2.1/", url);
    json_object_array_add(links, nova_link("self", href));
    json_object *doc = nova_link("describedby", "http://docs.openstack.org/");
    json_object_object_add(doc, "type", json_object_new_string("text/html"));
    json_object_array_add(links, doc);
    json_object_object_add(mt, "base", json_object_new_string("application/json"));
    json_object_object_add(mt, "type",
                           json_object_new_string("application/vnd.openstack.compute+json;"
                                                  "version=2.1"));
    json_object_array_add(types, mt);
    json_object_object_add(v, "id", json_object_new_string("v2.1"));
    json_object_object_add(v, "links", links);
    json_object_object_add(v, "media-types", types);
    json_object_object_add(v, "status", json_object_new_string("CURRENT"));
    json_object_object_add(v, "version", json_object_new_string(MD_API_NOVA_MAX_VERSION));
    json_object_object_add(v, "min_version", json_object_new_string(MD_API_NOVA_MIN_VERSION));
    json_object_object_add(v, "updated", json_object_new_string("2013-07-23T11:33:21Z"));
    json_object_object_add(o, "version", v);
    md_api_reply(c->resp, 200, o);
}

/* "/v2.1/servers/detail" comes before "/v2.1/servers/{}": the first route
 * that matches wins. */
const md_api_route md_api_nova_routes[] = {
    { "GET", "/v2.1", MD_API_PUBLIC, false, h_version },
    { "GET", "/v2.1/servers", MD_API_READ, false, h_servers },
    { "GET", "/v2.1/servers/detail", MD_API_READ, false, h_servers_detail },
    { "GET", "/v2.1/servers/{}", MD_API_READ, false, h_server_show },
    { "POST", "/v2.1/servers/{}/action", MD_API_CREATE, true, h_server_action },
    { "GET", "/v2.1/servers/{}/migrations", MD_API_READ, false, h_server_migrations },
    { "GET", "/v2.1/servers/{}/migrations/{}", MD_API_READ, false, h_server_migration_show },
    { "DELETE", "/v2.1/servers/{}/migrations/{}", MD_API_ABORT, false, h_server_migration_delete },
    { "POST", "/v2.1/servers/{}/migrations/{}/action", MD_API_UPDATE, true,
      h_server_migration_action },
    { "GET", "/v2.1/os-migrations", MD_API_READ, false, nova_h_migrations },
};
const size_t md_api_nova_nroutes = sizeof md_api_nova_routes / sizeof md_api_nova_routes[0];
