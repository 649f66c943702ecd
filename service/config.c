/* config.c - load and validate migrationd.conf (libconfig) into a read-only snapshot.
 *
 * DESIGN: one table, config_keys[], describes every key: its section and
 * name, its type, where it lives in md_config, its limits and unit, its
 * default and, for enum-valued or shaped strings, a callback. The defaults
 * and the file's values go through the same setters, so a default is held
 * to the same rules as a value an operator writes, and adding a key is one
 * struct member plus one table row. The row macros check at compile time
 * that the member has the type the row claims.
 *
 * Validation never stops at the first problem: each one is appended to the
 * caller's error list as "FILE:LINE: section.key: what is wrong" and the
 * walk goes on, so that one run of --check-config shows everything to fix.
 * libconfig itself stops at the first syntax error; that one is reported
 * alone because nothing after it can be trusted.
 */
#include "service/config.h"
#include "service/limits.h"
#include "service/migration.h"
#include "service/peers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum key_type {
    KEY_INT,         /* int member; min/max bound the value */
    KEY_BOOL,        /* bool member */
    KEY_STRING,      /* char array member; min/max bound the length */
    KEY_ENUM,        /* enum member, set from a string by parse() */
    KEY_ROLES,       /* md_config_roles member; min/max bound the count */
    KEY_DOUBLE,      /* double member; dmin/dmax bound the value */
    KEY_SIM_DOMAINS, /* the simulator's list of domain groups */
} key_type;

/* Reports why a value is not acceptable by writing a phrase into why. */
typedef bool (*string_check_fn)(md_config *c, const char *value, char *why, size_t whylen);

typedef struct config_key {
    const char *section;
    const char *name;
    key_type type;
    size_t offset;                 /* of the member in md_config */
    size_t size;                   /* of the member: the capacity of a string */
    long long min, max;            /* see key_type */
    double dmin, dmax, def_double; /* KEY_DOUBLE */
    const char *unit;              /* KEY_INT: named in range messages; may be NULL */
    long long def_int;             /* KEY_INT, KEY_BOOL */
    /* KEY_STRING, KEY_ENUM: the default as written in a file; KEY_ROLES: the
     * names separated by commas; NULL: computed by md_config_defaults(). */
    const char *def_str;
    int (*parse)(const char *text, void *member); /* KEY_ENUM: 0 or -1 */
    const char *choices;                          /* KEY_ENUM: for messages */
    string_check_fn check;                        /* KEY_STRING: optional */
} config_key;

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
    /* No default of their own: resolve_role_classes() copies read or write. */
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

static void *member_of(md_config *c, const config_key *k)
{
    return (char *)c + k->offset;
}

static bool set_int(md_config *c, const config_key *k, long long v, char *why, size_t whylen)
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
    *(int *)member_of(c, k) = (int)v;
    return true;
}

static bool set_double(md_config *c, const config_key *k, double v, char *why, size_t whylen)
{
    if (!(v >= k->dmin && v <= k->dmax)) {
        snprintf(why, whylen, "%g is outside %g to %g%s%s%s", v, k->dmin, k->dmax,
                 k->unit ? " (" : "", k->unit ? k->unit : "", k->unit ? ")" : "");
        return false;
    }
    *(double *)member_of(c, k) = v;
    return true;
}

static bool set_string(md_config *c, const config_key *k, const char *v, char *why, size_t whylen)
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
    memset(member_of(c, k), 0, k->size);
    memcpy(member_of(c, k), v, len);
    return true;
}

static bool set_enum(md_config *c, const config_key *k, const char *v, char *why, size_t whylen)
{
    if (k->parse(v, member_of(c, k)) == 0)
        return true;
    snprintf(why, whylen, "\"%s\" is not one of: %s", v, k->choices);
    return false;
}

static bool role_name_ok(const char *name, char *why, size_t whylen)
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
    /* An action class: resolve_role_classes() fills it in. */
    if (!p) {
        memcpy(member_of(c, k), &roles, sizeof roles);
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
    memcpy(member_of(c, k), &roles, sizeof roles);
    return true;
}

static bool set_default(md_config *c, const config_key *k, char *why, size_t whylen)
{
    switch (k->type) {
    case KEY_INT: return set_int(c, k, k->def_int, why, whylen);
    case KEY_BOOL: *(bool *)member_of(c, k) = k->def_int != 0; return true;
    case KEY_STRING: return k->def_str ? set_string(c, k, k->def_str, why, whylen) : true;
    case KEY_ENUM: return set_enum(c, k, k->def_str, why, whylen);
    case KEY_ROLES: return set_roles_default(c, k, why, whylen);
    case KEY_DOUBLE: return set_double(c, k, k->def_double, why, whylen);
    case KEY_SIM_DOMAINS: c->simulator.ndomains = 0; return true;
    }
    return false;
}

/* Returns the row of section.name, or with name NULL the first row of the
 * section (which tells whether the section exists); NULL if there is none.
 * A linear search: the table is small and is searched once per setting. */
static const config_key *find_key(const char *section, const char *name)
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

/* Gives every action class the file did not set (cf NULL: none was set)
 * the roles of read or write, as loaded, so that the older keys keep
 * meaning what they meant and a class set in the file overrides them. */
static void resolve_role_classes(md_config *c, const config_t *cf)
{
    for (size_t i = 0; i < sizeof role_classes / sizeof role_classes[0]; i++) {
        if (!cf || !config_lookup(cf, role_classes[i].key))
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
    if (!set_string(c, find_key("service", "host"), host[0] ? host : "localhost", why, sizeof why))
        set_string(c, find_key("service", "host"), "localhost", why, sizeof why);
    resolve_role_classes(c, NULL);
}

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
        } else if (!role_name_ok(config_setting_get_string(e), why, sizeof why)) {
            add_error(lc, e, elem_key, why);
            ok = false;
        } else {
            strcpy(roles.names[roles.count++], config_setting_get_string(e));
        }
    }
    if (ok)
        memcpy(member_of(c, k), &roles, sizeof roles);
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
        if (ok && !set_int(c, k, config_setting_get_int64(s), why, sizeof why))
            add_error(lc, s, key, why);
        break;
    case KEY_BOOL:
        ok = type == CONFIG_TYPE_BOOL;
        if (ok)
            *(bool *)member_of(c, k) = config_setting_get_bool(s) != 0;
        break;
    case KEY_STRING:
        ok = type == CONFIG_TYPE_STRING;
        if (ok && !set_string(c, k, config_setting_get_string(s), why, sizeof why))
            add_error(lc, s, key, why);
        break;
    case KEY_ENUM:
        ok = type == CONFIG_TYPE_STRING;
        if (ok && !set_enum(c, k, config_setting_get_string(s), why, sizeof why))
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
            if (!set_double(c, k, v, why, sizeof why))
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
        if (!find_key(sname, NULL)) {
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
            const config_key *k = find_key(sname, config_setting_name(s));
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
    resolve_role_classes(c, &cf);
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
