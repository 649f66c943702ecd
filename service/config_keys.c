/* config_keys.c - every key of migrationd.conf: its table, defaults and setters.
 *
 * DESIGN: one table, config_keys[], describes every key: its section and
 * name, its type, where it lives in md_config, its limits and unit, its
 * default and, for enum-valued or shaped strings, a callback. The defaults
 * and the file's values (config.c) go through the same setters, so a
 * default is held to the same rules as a value an operator writes, and
 * adding a key is one struct member plus one table row. The row macros
 * check at compile time that the member has the type the row claims.
 *
 * This file does not know libconfig: config.c reads the file and hands each
 * value to the setters here (config_priv.h).
 */
#include "service/config_priv.h"
#include "service/limits.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The offset of c->sec.key, which must have type T: a row that names the
 * wrong type does not compile. */
#define MEMBER(sec, key, T) _Generic(((md_config *)0)->sec.key, T : offsetof(md_config, sec.key))
#define MEMBER_SIZE(sec, key) sizeof(((md_config *)0)->sec.key)

#define INT_KEY(sec, key, def, lo, hi, unit_)                                                      \
    {                                                                                              \
        .section = #sec, .name = #key, .type = KEY_INT, .offset = MEMBER(sec, key, int),           \
        .size = MEMBER_SIZE(sec, key), .min = (lo), .max = (hi), .unit = (unit_), .def_int = (def) \
    }
#define BOOL_KEY(sec, key, def)                                                            \
    {                                                                                      \
        .section = #sec, .name = #key, .type = KEY_BOOL, .offset = MEMBER(sec, key, bool), \
        .size = MEMBER_SIZE(sec, key), .def_int = (def)                                    \
    }
/* The longest string is the member's capacity less its NUL. */
#define STRING_KEY(sec, key, def, minlen, check_)                                              \
    {                                                                                          \
        .section = #sec, .name = #key, .type = KEY_STRING, .offset = MEMBER(sec, key, char *), \
        .size = MEMBER_SIZE(sec, key), .min = (minlen),                                        \
        .max = (long long)MEMBER_SIZE(sec, key) - 1, .def_str = (def), .check = (check_)       \
    }
#define ENUM_KEY(sec, key, T, def, parse_, choices_)                                              \
    {                                                                                             \
        .section = #sec, .name = #key, .type = KEY_ENUM, .offset = MEMBER(sec, key, T),           \
        .size = MEMBER_SIZE(sec, key), .def_str = (def), .parse = (parse_), .choices = (choices_) \
    }
#define ROLES_KEY(sec, key, def)                                                              \
    {                                                                                         \
        .section = #sec, .name = #key, .type = KEY_ROLES,                                     \
        .offset = MEMBER(sec, key, md_config_roles), .size = MEMBER_SIZE(sec, key), .min = 1, \
        .max = MD_CONFIG_MAX_ROLES, .def_str = (def)                                          \
    }

#define DOUBLE_KEY(sec, key, def, lo, hi, unit_)                                               \
    {                                                                                          \
        .section = #sec, .name = #key, .type = KEY_DOUBLE, .offset = MEMBER(sec, key, double), \
        .size = MEMBER_SIZE(sec, key), .dmin = (lo), .dmax = (hi), .unit = (unit_),            \
        .def_double = (def)                                                                    \
    }
#define SIM_DOMAINS_KEY(sec, key)                                                        \
    {                                                                                    \
        .section = #sec, .name = #key, .type = KEY_SIM_DOMAINS,                          \
        .offset = offsetof(md_config, sec.key), .size = MEMBER_SIZE(sec, key), .min = 0, \
        .max = MD_CONFIG_MAX_SIM_DOMAINS                                                 \
    }

static int parse_log_level(const char *text, void *member);
static int parse_hypervisor(const char *text, void *member);
static int parse_auth_strategy(const char *text, void *member);
static int parse_metrics_auth(const char *text, void *member);
static int parse_timeout_action(const char *text, void *member);
static int parse_policy_kind(const char *text, void *member);
static bool check_listen(md_config *c, const char *value, char *why, size_t whylen);
static bool check_http_url(md_config *c, const char *value, char *why, size_t whylen);
static bool check_scheme(md_config *c, const char *value, char *why, size_t whylen);

/* Every key of DESIGN.md section 4, in the order of etc/migrationd.conf.
 * Limits are Nova's minimums where Nova has them (policy.h names those) and
 * otherwise generous bounds that still catch a slipped digit. */
static const config_key config_keys[] = {
    INT_KEY(service, max_concurrent_live_migrations, 1, 1, 4096, NULL),
    INT_KEY(service, max_queued_migrations, 1000, 1, 100000, NULL),
    STRING_KEY(service, database, "/var/lib/migrationd/migrationd.db", 1, NULL),
    STRING_KEY(service, host, NULL, 1, NULL),
    ENUM_KEY(service, log_level, md_log_level, "info", parse_log_level,
             "debug, info, warning, error"),
    ENUM_KEY(service, hypervisor, md_hypervisor_kind, "libvirt", parse_hypervisor,
             "libvirt, simulator"),
    INT_KEY(service, keep_finished_days, 0, 0, 36500, "days"),

    STRING_KEY(api, listen, "127.0.0.1:8775", 1, check_listen),
    ENUM_KEY(api, auth_strategy, md_auth_strategy, "noauth", parse_auth_strategy,
             "noauth, keystone"),
    INT_KEY(api, max_body_bytes, 65536, 1024, 16777216, "bytes"),
    BOOL_KEY(api, allow_insecure_noauth, false),
    /* etc/migrationd.conf says why these defaults. */
    INT_KEY(api, max_connections, 256, 1, 65536, NULL),
    INT_KEY(api, max_connections_per_client, 32, 1, 65536, NULL),
    INT_KEY(api, request_timeout_s, 30, 1, 3600, "s"),
    INT_KEY(api, idle_timeout_s, 60, 1, 3600, "s"),
    ENUM_KEY(api, metrics_auth, md_metrics_auth, "loopback-open", parse_metrics_auth,
             "loopback-open, always, never"),

    STRING_KEY(keystone, auth_url, "http://127.0.0.1:5000/v3", 1, check_http_url),
    STRING_KEY(keystone, username, "migrationd", 0, NULL),
    STRING_KEY(keystone, password, "", 0, NULL),
    STRING_KEY(keystone, project_name, "service", 0, NULL),
    STRING_KEY(keystone, user_domain_name, "Default", 0, NULL),
    STRING_KEY(keystone, project_domain_name, "Default", 0, NULL),
    INT_KEY(keystone, cache_seconds, 300, 0, 86400, "s"),
    INT_KEY(keystone, timeout_ms, 5000, 100, 600000, "ms"),
    /* etc/migrationd.conf says why these defaults. */
    INT_KEY(keystone, negative_cache_seconds, 10, 0, 300, "s"),
    INT_KEY(keystone, max_concurrent_validations, 4, 1, 32, NULL),
    INT_KEY(keystone, breaker_seconds, 5, 1, 300, "s"),

    ROLES_KEY(roles, read, "admin"),
    ROLES_KEY(roles, write, "admin"),
    /* No default of their own: cfg_resolve_role_classes() copies read or write. */
    ROLES_KEY(roles, list, NULL),
    ROLES_KEY(roles, create, NULL),
    ROLES_KEY(roles, update, NULL),
    ROLES_KEY(roles, abort, NULL),
    STRING_KEY(roles, admin_project_id, "", 0, NULL),
    STRING_KEY(roles, admin_project_name, "admin", 0, NULL),
    STRING_KEY(roles, admin_project_domain_name, "Default", 0, NULL),
    BOOL_KEY(roles, allow_system_scope, true),

    STRING_KEY(libvirt, uri, "qemu:///system", 1, NULL),
    STRING_KEY(libvirt, live_migration_scheme, "tcp", 1, check_scheme),
    INT_KEY(libvirt, live_migration_downtime, 500, POLICY_MIN_DOWNTIME_MS, MD_MAX_DOWNTIME_MS,
            "ms"),
    /* etc/migrationd.conf says why this default; check_cross() keeps it at
     * most live_migration_downtime. */
    INT_KEY(libvirt, live_migration_downtime_target, POLICY_DEFAULT_DOWNTIME_TARGET_MS,
            POLICY_MIN_DOWNTIME_TARGET_MS, MD_MAX_DOWNTIME_MS, "ms"),
    INT_KEY(libvirt, live_migration_downtime_steps, 10, POLICY_MIN_DOWNTIME_STEPS, POLICY_MAX_STEPS,
            NULL),
    INT_KEY(libvirt, live_migration_downtime_delay, 75, POLICY_MIN_DOWNTIME_DELAY_S, 86400,
            "s per GiB"),
    INT_KEY(libvirt, live_migration_completion_timeout, 800, 0, 86400, "s per GiB"),
    INT_KEY(libvirt, live_migration_progress_timeout, 150, 0, 86400, "s"),
    ENUM_KEY(libvirt, live_migration_timeout_action, policy_timeout_action, "abort",
             parse_timeout_action, "abort, force_complete"),
    BOOL_KEY(libvirt, live_migration_permit_post_copy, false),
    BOOL_KEY(libvirt, live_migration_permit_auto_converge, false),
    INT_KEY(libvirt, live_migration_bandwidth, 0, 0, MD_MAX_BANDWIDTH_MIBPS, "MiB/s"),
    INT_KEY(libvirt, live_migration_parallel_connections, 1, 1, 255, NULL),
    BOOL_KEY(libvirt, live_migration_with_native_tls, false),
    INT_KEY(libvirt, live_migration_monitor_interval_ms, 500, 50, 60000, "ms"),
    ENUM_KEY(libvirt, live_migration_policy, policy_kind, "adaptive", parse_policy_kind,
             "nova, adaptive"),
    /* etc/migrationd.conf says why these defaults. */
    INT_KEY(libvirt, live_migration_postcopy_stall_timeout, 10, 0, 3600, "s"),
    INT_KEY(libvirt, live_migration_postcopy_recovery_timeout, 600, 10, 86400, "s"),
    INT_KEY(libvirt, connection_wait_timeout, 90, 0, 3600, "s"),

    DOUBLE_KEY(simulator, time_scale, 20.0, 0.001, 100000.0, "simulated s per s"),
    INT_KEY(simulator, link_mibps, 1024, 1, MD_SIM_MAX_MIBPS, "MiB/s"),
    INT_KEY(simulator, free_mib, 1048576, 0, MD_SIM_MAX_FREE_MIB, "MiB"),
    SIM_DOMAINS_KEY(simulator, domains),
    STRING_KEY(simulator, blackholed_hosts, "", 0, NULL),
};

#define N_KEYS (sizeof config_keys / sizeof config_keys[0])

/* ---- enum parsers: adapt each typed parser to the table's void * ---- */

static int parse_log_level(const char *text, void *member)
{
    return md_log_level_parse(text, member);
}

static int parse_hypervisor(const char *text, void *member)
{
    md_hypervisor_kind *out = member;

    if (strcmp(text, "libvirt") == 0)
        *out = MD_HYPERVISOR_LIBVIRT;
    else if (strcmp(text, "simulator") == 0)
        *out = MD_HYPERVISOR_SIMULATOR;
    else
        return -1;
    return 0;
}

const char *md_config_hypervisor_str(md_hypervisor_kind k)
{
    return k == MD_HYPERVISOR_SIMULATOR ? "simulator" : "libvirt";
}

static int parse_auth_strategy(const char *text, void *member)
{
    md_auth_strategy *out = member;

    if (strcmp(text, "noauth") == 0)
        *out = MD_AUTH_NOAUTH;
    else if (strcmp(text, "keystone") == 0)
        *out = MD_AUTH_KEYSTONE;
    else
        return -1;
    return 0;
}

static const char *const metrics_auth_names[] = {
    [MD_METRICS_AUTH_LOOPBACK_OPEN] = "loopback-open",
    [MD_METRICS_AUTH_ALWAYS] = "always",
    [MD_METRICS_AUTH_NEVER] = "never",
};

static int parse_metrics_auth(const char *text, void *member)
{
    for (size_t i = 0; i < sizeof metrics_auth_names / sizeof metrics_auth_names[0]; i++) {
        if (strcmp(text, metrics_auth_names[i]) == 0) {
            *(md_metrics_auth *)member = (md_metrics_auth)i;
            return 0;
        }
    }
    return -1;
}

const char *md_config_metrics_auth_str(md_metrics_auth m)
{
    return (unsigned)m < sizeof metrics_auth_names / sizeof metrics_auth_names[0]
               ? metrics_auth_names[m]
               : "unknown";
}

static int parse_timeout_action(const char *text, void *member)
{
    return policy_timeout_action_parse(text, member);
}

/* "none" is the benchmark's do-nothing baseline: a daemon that never steers
 * its migrations is exactly what migrationd exists to avoid. */
static int parse_policy_kind(const char *text, void *member)
{
    policy_kind k;

    if (policy_kind_parse(text, &k) != 0 || k == POLICY_NONE)
        return -1;
    *(policy_kind *)member = k;
    return 0;
}

const char *md_config_auth_strategy_str(md_auth_strategy a)
{
    switch (a) {
    case MD_AUTH_NOAUTH: return "noauth";
    case MD_AUTH_KEYSTONE: return "keystone";
    }
    return "unknown";
}

/* ---- string checks ---- */

/* Accepts "HOST:PORT" and "[IPV6]:PORT" and stores the host (without
 * brackets) and port separately, ready for getaddrinfo(). An IPv6 address
 * without brackets is refused because its last group would read as a port. */
static bool check_listen(md_config *c, const char *value, char *why, size_t whylen)
{
    const char *host, *port;
    size_t hostlen;
    char host6[INET6_ADDRSTRLEN + 1];
    struct in6_addr a6;
    long p = 0;

    if (value[0] == '[') {
        const char *end = strchr(value, ']');
        if (!end || end[1] != ':') {
            snprintf(why, whylen, "\"%s\" is not of the form [IPV6]:PORT", value);
            return false;
        }
        host = value + 1;
        hostlen = (size_t)(end - host);
        port = end + 2;
        if (hostlen >= sizeof host6) {
            snprintf(why, whylen, "\"%s\" does not hold an IPv6 address in brackets", value);
            return false;
        }
        memcpy(host6, host, hostlen);
        host6[hostlen] = '\0';
        if (inet_pton(AF_INET6, host6, &a6) != 1) {
            snprintf(why, whylen, "\"%s\" is not an IPv6 address", host6);
            return false;
        }
    } else {
        const char *colon = strrchr(value, ':');
        if (!colon) {
            snprintf(why, whylen, "\"%s\" has no port: expected HOST:PORT or [IPV6]:PORT", value);
            return false;
        }
        host = value;
        hostlen = (size_t)(colon - value);
        port = colon + 1;
        if (hostlen == 0) {
            snprintf(why, whylen, "\"%s\" has no host: expected HOST:PORT or [IPV6]:PORT", value);
            return false;
        }
        if (memchr(host, ':', hostlen)) {
            snprintf(why, whylen, "\"%s\": an IPv6 address needs brackets: [IPV6]:PORT", value);
            return false;
        }
        for (size_t i = 0; i < hostlen; i++) {
            if (host[i] <= ' ' || host[i] == '[' || host[i] == ']' || host[i] == '/') {
                snprintf(why, whylen, "\"%s\" is not a valid host name or address", value);
                return false;
            }
        }
    }
    /* At most five digits, so that the value cannot overflow before the
     * range check. */
    size_t ndigits = strspn(port, "0123456789");
    if (ndigits == 0 || port[ndigits] != '\0' || ndigits > 5 || (p = strtol(port, NULL, 10)) < 1 ||
        p > 65535) {
        snprintf(why, whylen, "\"%s\": the port must be a number from 1 to 65535", value);
        return false;
    }
    if (hostlen >= sizeof c->api.listen_host) {
        snprintf(why, whylen, "the host is longer than %zu characters",
                 sizeof c->api.listen_host - 1);
        return false;
    }
    memset(c->api.listen_host, 0, sizeof c->api.listen_host);
    memcpy(c->api.listen_host, host, hostlen);
    c->api.listen_port = (int)p;
    return true;
}

static bool check_http_url(md_config *c, const char *value, char *why, size_t whylen)
{
    /* URL schemes are case-insensitive (RFC 3986), and so is libcurl. */
    if ((strncasecmp(value, "http://", 7) == 0 && value[7] != '\0') ||
        (strncasecmp(value, "https://", 8) == 0 && value[8] != '\0'))
        return true;
    snprintf(why, whylen, "\"%s\" must start with http:// or https:// and name a host", value);
    return false;
}

/* The scheme becomes part of a libvirt URI (qemu+SCHEME://host/system), so
 * only the characters libvirt's transports use are allowed. */
static bool check_scheme(md_config *c, const char *value, char *why, size_t whylen)
{
    if (value[strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789+")] == '\0')
        return true;
    snprintf(why, whylen, "\"%s\" may contain only a-z, 0-9 and +", value);
    return false;
}

/* ---- setters shared by the defaults and the file ---- */

void *cfg_member(md_config *c, const config_key *k)
{
    return (char *)c + k->offset;
}

bool cfg_set_int(md_config *c, const config_key *k, long long v, char *why, size_t whylen)
{
    const char *open = k->unit ? " (" : "", *unit = k->unit ? k->unit : "";
    const char *close = k->unit ? ")" : "";

    if (v < k->min) {
        snprintf(why, whylen, "%lld is below the minimum %lld%s%s%s", v, k->min, open, unit, close);
        return false;
    }
    if (v > k->max) {
        snprintf(why, whylen, "%lld is above the maximum %lld%s%s%s", v, k->max, open, unit, close);
        return false;
    }
    /* Every maximum in the table fits in an int. */
    *(int *)cfg_member(c, k) = (int)v;
    return true;
}

bool cfg_set_double(md_config *c, const config_key *k, double v, char *why, size_t whylen)
{
    if (!(v >= k->dmin && v <= k->dmax)) {
        snprintf(why, whylen, "%g is outside %g to %g%s%s%s", v, k->dmin, k->dmax,
                 k->unit ? " (" : "", k->unit ? k->unit : "", k->unit ? ")" : "");
        return false;
    }
    *(double *)cfg_member(c, k) = v;
    return true;
}

bool cfg_set_string(md_config *c, const config_key *k, const char *v, char *why, size_t whylen)
{
    size_t len = strlen(v);

    if ((long long)len < k->min) {
        snprintf(why, whylen, "must not be empty");
        return false;
    }
    if ((long long)len > k->max) {
        snprintf(why, whylen, "is %zu characters long, the maximum is %lld", len, k->max);
        return false;
    }
    if (k->check && !k->check(c, v, why, whylen))
        return false;
    /* Zero the whole array so that two equal configs compare equal bytewise. */
    memset(cfg_member(c, k), 0, k->size);
    memcpy(cfg_member(c, k), v, len);
    return true;
}

bool cfg_set_enum(md_config *c, const config_key *k, const char *v, char *why, size_t whylen)
{
    if (k->parse(v, cfg_member(c, k)) == 0)
        return true;
    snprintf(why, whylen, "\"%s\" is not one of: %s", v, k->choices);
    return false;
}

bool cfg_role_name_ok(const char *name, char *why, size_t whylen)
{
    size_t len = strlen(name);

    if (len == 0) {
        snprintf(why, whylen, "a role name must not be empty");
        return false;
    }
    if (len >= MD_CONFIG_ROLE_LEN) {
        snprintf(why, whylen, "role name is %zu characters long, the maximum is %d", len,
                 MD_CONFIG_ROLE_LEN - 1);
        return false;
    }
    return true;
}

/* Sets a roles member from the default text "a,b,c". */
static bool set_roles_default(md_config *c, const config_key *k, char *why, size_t whylen)
{
    md_config_roles roles;
    const char *p = k->def_str;

    memset(&roles, 0, sizeof roles);
    /* An action class: cfg_resolve_role_classes() fills it in. */
    if (!p) {
        memcpy(cfg_member(c, k), &roles, sizeof roles);
        return true;
    }
    while (roles.count < MD_CONFIG_MAX_ROLES) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= MD_CONFIG_ROLE_LEN) {
            snprintf(why, whylen, "bad default role list \"%s\"", k->def_str);
            return false;
        }
        memcpy(roles.names[roles.count++], p, len);
        p += len;
        if (*p == '\0')
            break;
        p++;
    }
    memcpy(cfg_member(c, k), &roles, sizeof roles);
    return true;
}

static bool set_default(md_config *c, const config_key *k, char *why, size_t whylen)
{
    switch (k->type) {
    case KEY_INT: return cfg_set_int(c, k, k->def_int, why, whylen);
    case KEY_BOOL: *(bool *)cfg_member(c, k) = k->def_int != 0; return true;
    case KEY_STRING: return k->def_str ? cfg_set_string(c, k, k->def_str, why, whylen) : true;
    case KEY_ENUM: return cfg_set_enum(c, k, k->def_str, why, whylen);
    case KEY_ROLES: return set_roles_default(c, k, why, whylen);
    case KEY_DOUBLE: return cfg_set_double(c, k, k->def_double, why, whylen);
    case KEY_SIM_DOMAINS: c->simulator.ndomains = 0; return true;
    }
    return false;
}

/* A linear search: the table is small and is searched once per setting. */
const config_key *cfg_find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(config_keys[i].section, section) == 0 &&
            (!name || strcmp(config_keys[i].name, name) == 0))
            return &config_keys[i];
    }
    return NULL;
}

/* Each action class of the roles section and the list it defaults to. */
static const struct {
    const char *key;
    size_t offset, base;
} role_classes[] = {
    { "roles.list", offsetof(md_config, roles.list), offsetof(md_config, roles.read) },
    { "roles.create", offsetof(md_config, roles.create), offsetof(md_config, roles.write) },
    { "roles.update", offsetof(md_config, roles.update), offsetof(md_config, roles.write) },
    { "roles.abort", offsetof(md_config, roles.abort), offsetof(md_config, roles.write) },
};

void cfg_resolve_role_classes(md_config *c, cfg_is_set_fn is_set, const void *ctx)
{
    for (size_t i = 0; i < sizeof role_classes / sizeof role_classes[0]; i++) {
        if (!is_set || !is_set(role_classes[i].key, ctx))
            memcpy((char *)c + role_classes[i].offset, (char *)c + role_classes[i].base,
                   sizeof(md_config_roles));
    }
}

void md_config_defaults(md_config *c)
{
    char why[256];
    char host[256];

    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!set_default(c, &config_keys[i], why, sizeof why)) {
            /* A default that breaks its own rule is a bug in the table; the
             * unit tests load defaults, so this never reaches a node. */
            fprintf(stderr, "migrationd: bad default for %s.%s: %s\n", config_keys[i].section,
                    config_keys[i].name, why);
            abort();
        }
    }
    /* gethostname() may truncate without a NUL; a node without a name still
     * needs a host for its records. */
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    if (!cfg_set_string(c, cfg_find_key("service", "host"), host[0] ? host : "localhost", why,
                        sizeof why))
        cfg_set_string(c, cfg_find_key("service", "host"), "localhost", why, sizeof why);
    cfg_resolve_role_classes(c, NULL, NULL);
}
