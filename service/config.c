/* config.c - load and validate migrationd.conf (libconfig) into a read-only snapshot.
 *
 * DESIGN: config_keys.c holds one table of every key with its rules and
 * defaults (its essay says why); this file walks a file that libconfig has
 * parsed and hands each setting to that table's setters, then checks what
 * spans keys (check_cross()).
 *
 * Validation never stops at the first problem: each one is appended to the
 * caller's error list as "FILE:LINE: section.key: what is wrong" and the
 * walk goes on, so that one run of --check-config shows everything to fix.
 * libconfig itself stops at the first syntax error; that one is reported
 * alone because nothing after it can be trusted.
 */
#include "service/config_priv.h"
#include "service/limits.h"
#include "service/migration.h"
#include "service/peers.h"

#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- loading a file ---- */

typedef struct load_ctx {
    const char *path;       /* the file given to md_config_load() */
    const char *dir;        /* its directory, the include directory */
    md_config_errors *errs; /* may be NULL: errors are only counted */
    size_t nerrors;
    bool nomem;
} load_ctx;

static void add_line(load_ctx *lc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_line(load_ctx *lc, const char *fmt, ...)
{
    va_list ap;
    char *line = NULL, **lines;

    lc->nerrors++;
    if (!lc->errs)
        return;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0) {
        lc->nomem = true;
        return;
    }
    lines = realloc(lc->errs->lines, (lc->errs->count + 1) * sizeof *lines);
    if (!lines) {
        free(line);
        lc->nomem = true;
        return;
    }
    lines[lc->errs->count++] = line;
    lc->errs->lines = lines;
}

/* Reports a problem with setting s, whose full key is key. libconfig names
 * an @included file as the include directive wrote it, so a relative name
 * is shown with the directory it was read from. */
static void add_error(load_ctx *lc, const config_setting_t *s, const char *key, const char *why)
{
    const char *file = config_setting_source_file(s);

    if (!file)
        file = lc->path;
    if (file[0] != '/' && strcmp(file, lc->path) != 0 && strcmp(lc->dir, ".") != 0)
        add_line(lc, "%s/%s:%u: %s: %s", lc->dir, file, config_setting_source_line(s), key, why);
    else
        add_line(lc, "%s:%u: %s: %s", file, config_setting_source_line(s), key, why);
}

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    }
    return "nothing";
}

static void load_roles(load_ctx *lc, md_config *c, const config_key *k, const char *key,
                       const config_setting_t *s)
{
    md_config_roles roles;
    int n = config_setting_length(s);
    bool ok = true;
    char why[256], elem_key[160];

    memset(&roles, 0, sizeof roles);
    if (n < k->min) {
        add_error(lc, s, key, "must list at least one role");
        ok = false;
    } else if (n > k->max) {
        snprintf(why, sizeof why, "lists %d roles, the maximum is %lld", n, k->max);
        add_error(lc, s, key, why);
        ok = false;
    }
    for (int i = 0; i < n && i < MD_CONFIG_MAX_ROLES; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        snprintf(elem_key, sizeof elem_key, "%s[%d]", key, i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            snprintf(why, sizeof why, "expected a string, got %s",
                     type_name(config_setting_type(e)));
            add_error(lc, e, elem_key, why);
            ok = false;
        } else if (!cfg_role_name_ok(config_setting_get_string(e), why, sizeof why)) {
            add_error(lc, e, elem_key, why);
            ok = false;
        } else {
            strcpy(roles.names[roles.count++], config_setting_get_string(e));
        }
    }
    if (ok)
        memcpy(cfg_member(c, k), &roles, sizeof roles);
}

/* One integer member of a simulated domain: present, an integer, in range. */
static bool sim_int(load_ctx *lc, const config_setting_t *d, const char *key, const char *name,
                    long long lo, long long hi, long long def, int *out)
{
    const config_setting_t *s = config_setting_get_member(d, name);
    char full[192], why[160];

    snprintf(full, sizeof full, "%s.%s", key, name);
    if (!s) {
        if (def < 0) {
            add_error(lc, d, full, "missing");
            return false;
        }
        *out = (int)def;
        return true;
    }
    int type = config_setting_type(s);
    if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
        snprintf(why, sizeof why, "expected an integer, got %s", type_name(type));
        add_error(lc, s, full, why);
        return false;
    }
    long long v = config_setting_get_int64(s);
    if (v < lo || v > hi) {
        snprintf(why, sizeof why, "%lld is outside %lld to %lld", v, lo, hi);
        add_error(lc, s, full, why);
        return false;
    }
    *out = (int)v;
    return true;
}

/* One string member of a simulated domain: present, a string, well formed. */
static bool sim_string(load_ctx *lc, const config_setting_t *d, const char *key, const char *name,
                       char *out, size_t outlen)
{
    const config_setting_t *s = config_setting_get_member(d, name);
    char full[192];

    snprintf(full, sizeof full, "%s.%s", key, name);
    if (!s) {
        add_error(lc, d, full, "missing");
        return false;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        char why[96];
        snprintf(why, sizeof why, "expected a string, got %s", type_name(config_setting_type(s)));
        add_error(lc, s, full, why);
        return false;
    }
    const char *v = config_setting_get_string(s);
    if (v[0] == '\0' || strlen(v) >= outlen) {
        char why[96];
        snprintf(why, sizeof why, "must be 1 to %zu characters", outlen - 1);
        add_error(lc, s, full, why);
        return false;
    }
    if (strcmp(name, "uuid") == 0 && !md_uuid_valid(v)) {
        add_error(lc, s, full, "is not a UUID (8-4-4-4-12 hexadecimal digits)");
        return false;
    }
    memcpy(out, v, strlen(v) + 1);
    return true;
}

/* Whether no domain before element i of list (the setting `key`) has the
 * same `name` member, compared ignoring case when nocase; reports the first
 * that has at the member of element i. */
static bool sim_unique(load_ctx *lc, const config_setting_t *list, const char *key, int i,
                       const char *name, const char *value, bool nocase)
{
    char full[192], why[256];

    for (int j = 0; j < i; j++) {
        const config_setting_t *o = config_setting_get_elem(list, (unsigned)j);
        const config_setting_t *m =
            config_setting_type(o) == CONFIG_TYPE_GROUP ? config_setting_get_member(o, name) : NULL;

        if (m && config_setting_type(m) == CONFIG_TYPE_STRING &&
            (nocase ? strcasecmp : strcmp)(config_setting_get_string(m), value) == 0) {
            snprintf(full, sizeof full, "%s[%d].%s", key, i, name);
            snprintf(why, sizeof why, "\"%s\" repeats %s[%d].%s", value, key, j, name);
            add_error(lc,
                      config_setting_get_member(config_setting_get_elem(list, (unsigned)i), name),
                      full, why);
            return false;
        }
    }
    return true;
}

/* simulator.domains = ( { name = "..."; uuid = "..."; ram_mib = N;
 * working_set_mib = N; dirty_mibps = N; }, ... ): names and UUIDs unique,
 * the working set no larger than RAM, no other keys. */
/* One element of a list of groups (simulator.domains, peers), named elem
 * in messages: false, with an error, when it is not a group; otherwise
 * true, with an error for each key not in known[0..nknown) and *ok false
 * when there was one. */
static bool check_group(load_ctx *lc, const config_setting_t *g, const char *elem,
                        const char *const *known, size_t nknown, bool *ok)
{
    char full[224], why[160];

    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        snprintf(why, sizeof why, "expected a group, got %s", type_name(config_setting_type(g)));
        add_error(lc, g, elem, why);
        return false;
    }
    for (unsigned j = 0; j < (unsigned)config_setting_length(g); j++) {
        const config_setting_t *m = config_setting_get_elem(g, j);
        bool found = false;
        for (size_t q = 0; q < nknown; q++)
            found = found || strcmp(config_setting_name(m), known[q]) == 0;
        if (!found) {
            snprintf(full, sizeof full, "%s.%s", elem, config_setting_name(m));
            add_error(lc, m, full, "unknown key");
            *ok = false;
        }
    }
    return true;
}

static void load_sim_domains(load_ctx *lc, md_config *c, const char *key,
                             const config_setting_t *list)
{
    static const char *const known[] = { "name", "uuid", "ram_mib", "working_set_mib",
                                         "dirty_mibps" };
    int n = config_setting_length(list);
    char elem[160], full[224], why[160];

    c->simulator.ndomains = 0;
    if (n > MD_CONFIG_MAX_SIM_DOMAINS) {
        snprintf(why, sizeof why, "lists %d domains, the maximum is %d", n,
                 MD_CONFIG_MAX_SIM_DOMAINS);
        add_error(lc, list, key, why);
        return;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *d = config_setting_get_elem(list, (unsigned)i);
        md_config_sim_domain dom;
        bool ok = true;

        memset(&dom, 0, sizeof dom);
        snprintf(elem, sizeof elem, "%s[%d]", key, i);
        if (!check_group(lc, d, elem, known, sizeof known / sizeof known[0], &ok))
            continue;
        bool name_ok = sim_string(lc, d, elem, "name", dom.name, sizeof dom.name);
        bool uuid_ok = sim_string(lc, d, elem, "uuid", dom.uuid, sizeof dom.uuid);
        bool ram_ok = sim_int(lc, d, elem, "ram_mib", 1, 16777216, -1, &dom.ram_mib);
        bool ws_ok = sim_int(lc, d, elem, "working_set_mib", 0, 16777216, 0, &dom.working_set_mib);
        ok &= name_ok && uuid_ok && ram_ok && ws_ok;
        ok &= sim_int(lc, d, elem, "dirty_mibps", 0, MD_SIM_MAX_MIBPS, 0, &dom.dirty_mibps);
        if (ram_ok && ws_ok && dom.working_set_mib > dom.ram_mib) {
            snprintf(full, sizeof full, "%s.working_set_mib", elem);
            snprintf(why, sizeof why, "%d is larger than ram_mib %d", dom.working_set_mib,
                     dom.ram_mib);
            add_error(lc, config_setting_get_member(d, "working_set_mib"), full, why);
            ok = false;
        }
        /* Against every earlier domain as written, valid or not, so that a
         * repeat is reported in the same run as the earlier one's errors. */
        if (name_ok && !sim_unique(lc, list, key, i, "name", dom.name, false))
            ok = false;
        if (uuid_ok && !sim_unique(lc, list, key, i, "uuid", dom.uuid, true))
            ok = false;
        if (ok)
            c->simulator.domains[c->simulator.ndomains++] = dom;
    }
}

/* One string member of a peer: present unless optional, a string, and as
 * ok() wants it. Returns false (with an error) when it is not. */
static bool peer_string(load_ctx *lc, const config_setting_t *p, const char *elem, const char *name,
                        bool optional, bool (*ok)(const char *, char *, size_t), char *out)
{
    const config_setting_t *s = config_setting_get_member(p, name);
    char full[224], why[320];

    snprintf(full, sizeof full, "%s.%s", elem, name);
    if (!s) {
        if (!optional)
            add_error(lc, p, full, "missing");
        return optional;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        snprintf(why, sizeof why, "expected a string, got %s", type_name(config_setting_type(s)));
        add_error(lc, s, full, why);
        return false;
    }
    if (!ok(config_setting_get_string(s), why, sizeof why)) {
        add_error(lc, s, full, why);
        return false;
    }
    snprintf(out, MD_CONFIG_PEER_LEN, "%s", config_setting_get_string(s));
    return true;
}

/* peers = ( { name = "..."; address = "..."; migrate_address = "...";
 * bandwidth_mibps = N; }, ... ) at the top level: 1 to MD_CONFIG_MAX_PEERS
 * groups, names unique ignoring case, no other keys. An empty list is an
 * error rather than "no destination at all" or "any destination": either
 * reading would surprise someone, and removing the line says "any". */
static void load_peers(load_ctx *lc, md_config *c, const config_setting_t *list)
{
    static const char *const known[] = { "name", "address", "migrate_address", "bandwidth_mibps" };
    int n = config_setting_length(list);
    char elem[64], why[160];

    c->peers.count = 0;
    if (config_setting_type(list) != CONFIG_TYPE_LIST) {
        snprintf(why, sizeof why, "expected a list of groups, got %s",
                 type_name(config_setting_type(list)));
        add_error(lc, list, "peers", why);
        return;
    }
    if (n == 0 || n > MD_CONFIG_MAX_PEERS) {
        snprintf(why, sizeof why,
                 "lists %d peers: list 1 to %d, or remove peers to allow any destination", n,
                 MD_CONFIG_MAX_PEERS);
        add_error(lc, list, "peers", why);
        return;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *p = config_setting_get_elem(list, (unsigned)i);
        md_config_peer peer;
        bool ok = true;

        memset(&peer, 0, sizeof peer);
        snprintf(elem, sizeof elem, "peers[%d]", i);
        if (!check_group(lc, p, elem, known, sizeof known / sizeof known[0], &ok))
            continue;
        bool name_ok = peer_string(lc, p, elem, "name", false, md_peer_name_ok, peer.name);
        ok &= name_ok;
        ok &= peer_string(lc, p, elem, "address", false, md_peer_address_ok, peer.address);
        ok &= peer_string(lc, p, elem, "migrate_address", true, md_peer_address_ok,
                          peer.migrate_address);
        if (config_setting_get_member(p, "bandwidth_mibps"))
            ok &= sim_int(lc, p, elem, "bandwidth_mibps", 1, MD_MAX_BANDWIDTH_MIBPS, 0,
                          &peer.bandwidth_mibps);
        if (name_ok && !sim_unique(lc, list, "peers", i, "name", peer.name, true))
            ok = false;
        if (ok)
            c->peers.list[c->peers.count++] = peer;
    }
}

/* Checks s's type against k and stores its value, or reports why not. */
static void load_setting(load_ctx *lc, md_config *c, const config_key *k, const config_setting_t *s)
{
    static const char *const expected[] = {
        [KEY_INT] = "an integer",
        [KEY_BOOL] = "a boolean",
        [KEY_STRING] = "a string",
        [KEY_ENUM] = "a string",
        [KEY_ROLES] = "an array of strings",
        [KEY_DOUBLE] = "a number",
        [KEY_SIM_DOMAINS] = "a list of groups",
    };
    char key[128], why[512];
    int type = config_setting_type(s);
    bool ok;

    snprintf(key, sizeof key, "%s.%s", k->section, k->name);
    switch (k->type) {
    case KEY_INT:
        ok = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
        if (ok && !cfg_set_int(c, k, config_setting_get_int64(s), why, sizeof why))
            add_error(lc, s, key, why);
        break;
    case KEY_BOOL:
        ok = type == CONFIG_TYPE_BOOL;
        if (ok)
            *(bool *)cfg_member(c, k) = config_setting_get_bool(s) != 0;
        break;
    case KEY_STRING:
        ok = type == CONFIG_TYPE_STRING;
        if (ok && !cfg_set_string(c, k, config_setting_get_string(s), why, sizeof why))
            add_error(lc, s, key, why);
        break;
    case KEY_ENUM:
        ok = type == CONFIG_TYPE_STRING;
        if (ok && !cfg_set_enum(c, k, config_setting_get_string(s), why, sizeof why))
            add_error(lc, s, key, why);
        break;
    case KEY_ROLES:
        ok = type == CONFIG_TYPE_ARRAY;
        if (ok)
            load_roles(lc, c, k, key, s);
        break;
    case KEY_DOUBLE:
        ok = type == CONFIG_TYPE_FLOAT || type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
        if (ok) {
            double v = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                                 : (double)config_setting_get_int64(s);
            if (!cfg_set_double(c, k, v, why, sizeof why))
                add_error(lc, s, key, why);
        }
        break;
    case KEY_SIM_DOMAINS:
        ok = type == CONFIG_TYPE_LIST;
        if (ok)
            load_sim_domains(lc, c, key, s);
        break;
    default: ok = false; break;
    }
    if (!ok) {
        snprintf(why, sizeof why, "expected %s, got %s", expected[k->type], type_name(type));
        add_error(lc, s, key, why);
    }
}

static void load_root(load_ctx *lc, md_config *c, const config_setting_t *root)
{
    char why[128], key[128];

    for (unsigned i = 0; i < (unsigned)config_setting_length(root); i++) {
        const config_setting_t *sec = config_setting_get_elem(root, i);
        const char *sname = config_setting_name(sec);

        /* The one top-level setting that is not a section (DESIGN.md 4). */
        if (strcmp(sname, "peers") == 0) {
            load_peers(lc, c, sec);
            continue;
        }
        if (!cfg_find_key(sname, NULL)) {
            add_error(lc, sec, sname, "unknown section");
            continue;
        }
        if (config_setting_type(sec) != CONFIG_TYPE_GROUP) {
            snprintf(why, sizeof why, "expected a group, got %s",
                     type_name(config_setting_type(sec)));
            add_error(lc, sec, sname, why);
            continue;
        }
        for (unsigned j = 0; j < (unsigned)config_setting_length(sec); j++) {
            const config_setting_t *s = config_setting_get_elem(sec, j);
            const config_key *k = cfg_find_key(sname, config_setting_name(s));
            if (k) {
                load_setting(lc, c, k, s);
            } else {
                snprintf(key, sizeof key, "%s.%s", sname, config_setting_name(s));
                add_error(lc, s, key, "unknown key");
            }
        }
    }
}

/* Rules that involve more than one key. */
static void check_cross(load_ctx *lc, const md_config *c, const config_t *cf)
{
    /* Validating a user's token needs a token of our own, so Keystone
     * authentication without service credentials could never work. */
    if (c->api.auth_strategy == MD_AUTH_KEYSTONE &&
        (c->keystone.username[0] == '\0' || c->keystone.password[0] == '\0')) {
        const config_setting_t *s = config_lookup(cf, "api.auth_strategy");
        if (s)
            add_error(lc, s, "api.auth_strategy",
                      "keystone needs keystone.username and keystone.password to be set");
    }
    /* adaptive aims for the target and may go up to the maximum: a target
     * above the maximum would be cut to it anyway, so it is a slip. */
    if (c->libvirt.live_migration_downtime_target > c->libvirt.live_migration_downtime) {
        const config_setting_t *s = config_lookup(cf, "libvirt.live_migration_downtime_target");
        char why[160];
        snprintf(why, sizeof why, "%d must not exceed live_migration_downtime (%d ms)",
                 c->libvirt.live_migration_downtime_target, c->libvirt.live_migration_downtime);
        if (s)
            add_error(lc, s, "libvirt.live_migration_downtime_target", why);
    }
    /* A node cannot migrate to itself: a peer named as this node is a
     * copied list that was not edited for this node. */
    const md_config_peer *self = md_peers_find(c, c->service.host);
    const config_setting_t *list = config_lookup(cf, "peers");
    if (self && list) {
        char key[64], why[384];
        for (unsigned i = 0; i < (unsigned)config_setting_length(list); i++) {
            const config_setting_t *m =
                config_setting_get_member(config_setting_get_elem(list, i), "name");
            if (m && config_setting_type(m) == CONFIG_TYPE_STRING &&
                strcasecmp(config_setting_get_string(m), self->name) == 0) {
                snprintf(key, sizeof key, "peers[%u].name", i);
                snprintf(why, sizeof why,
                         "\"%s\" is this node (service.host): a node cannot migrate to itself",
                         self->name);
                add_error(lc, m, key, why);
                break;
            }
        }
    }
}

/* Whether the file set key (cfg_resolve_role_classes()'s question). */
static bool set_in_file(const char *key, const void *cf)
{
    return config_lookup(cf, key) != NULL;
}

/* Tells a missing file from an unreadable one, which libconfig does not. */
static md_status check_file(load_ctx *lc)
{
    char buf[128];
    struct stat st;
    FILE *f = fopen(lc->path, "r");

    if (!f) {
        int e = errno;
        add_line(lc, "%s: cannot open: %s", lc->path, strerror_r(e, buf, sizeof buf));
        return e == ENOENT || e == ENOTDIR ? MD_ERR_NOT_FOUND : MD_ERR_IO;
    }
    bool is_dir = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
    fclose(f);
    if (is_dir) {
        add_line(lc, "%s: cannot read: is a directory", lc->path);
        return MD_ERR_IO;
    }
    return MD_OK;
}

md_status md_config_load(const char *path, md_config **out, md_config_errors *errs)
{
    load_ctx lc = { .path = path, .dir = ".", .errs = errs };
    md_config *c = NULL;
    char *dircopy = NULL;
    config_t cf;
    bool cf_live = false;
    md_status st;

    *out = NULL;
    st = check_file(&lc);
    if (st != MD_OK)
        goto cleanup;

    c = calloc(1, sizeof *c);
    dircopy = strdup(path);
    if (!c || !dircopy) {
        st = MD_ERR_NOMEM;
        goto cleanup;
    }
    md_config_defaults(c);
    lc.dir = dirname(dircopy);

    config_init(&cf);
    cf_live = true;
    /* @include "x.conf" then means the x.conf next to this file, whatever
     * the daemon's working directory. */
    config_set_include_dir(&cf, lc.dir);
    if (!config_read_file(&cf, path)) {
        const char *file = config_error_file(&cf) ? config_error_file(&cf) : path;
        if (config_error_type(&cf) == CONFIG_ERR_FILE_IO) {
            add_line(&lc, "%s: cannot read: %s", file, config_error_text(&cf));
            st = MD_ERR_IO;
        } else {
            add_line(&lc, "%s:%d: %s", file, config_error_line(&cf), config_error_text(&cf));
            st = MD_ERR_INVALID;
        }
        goto cleanup;
    }
    load_root(&lc, c, config_root_setting(&cf));
    cfg_resolve_role_classes(c, set_in_file, &cf);
    check_cross(&lc, c, &cf);

    if (lc.nomem) {
        st = MD_ERR_NOMEM;
    } else if (lc.nerrors > 0) {
        st = MD_ERR_INVALID;
    } else {
        *out = c;
        c = NULL;
        st = MD_OK;
    }

cleanup:
    if (cf_live)
        config_destroy(&cf);
    free(dircopy);
    md_config_free(c);
    /* A message that could not be stored makes the list incomplete, which
     * the caller must learn rather than print a partial list as the truth. */
    if (lc.nomem)
        st = MD_ERR_NOMEM;
    return st;
}

void md_config_free(md_config *c)
{
    free(c);
}

void md_config_errors_print(const md_config_errors *errs, FILE *f)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->count; i++)
        fprintf(f, "%s\n", errs->lines[i]);
}

void md_config_errors_free(md_config_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->count; i++)
        free(errs->lines[i]);
    free(errs->lines);
    errs->lines = NULL;
    errs->count = 0;
}

void md_config_policy_settings(const md_config *c, double data_gib, policy_settings *out)
{
    *out = (policy_settings){
        .kind = c->libvirt.live_migration_policy,
        .downtime_ms = (uint32_t)c->libvirt.live_migration_downtime,
        .downtime_target_ms = (uint32_t)c->libvirt.live_migration_downtime_target,
        .downtime_steps = (uint32_t)c->libvirt.live_migration_downtime_steps,
        .downtime_delay_s = (uint32_t)c->libvirt.live_migration_downtime_delay,
        .completion_timeout_s = (uint32_t)c->libvirt.live_migration_completion_timeout,
        .progress_timeout_s = (uint32_t)c->libvirt.live_migration_progress_timeout,
        .timeout_action = c->libvirt.live_migration_timeout_action,
        .permit_post_copy = c->libvirt.live_migration_permit_post_copy,
        .permit_auto_converge = c->libvirt.live_migration_permit_auto_converge,
        .data_gib = data_gib,
    };
}
