/* config.h - load and validate migrationd.conf (libconfig) into a read-only snapshot.
 *
 * The daemon reads its configuration once, at start-up, before any other
 * thread exists; `migrationd --check-config` runs the same code without
 * starting anything. md_config_load() either returns a complete, valid
 * md_config or a list of every problem found in the file, one line each,
 * naming the file, the line and the full key ("x.conf:12: libvirt.foo: ...")
 * so that an operator can fix them all in one edit.
 *
 * The keys, their types, defaults and limits are those of DESIGN.md section 4
 * (Nova's defaults and minimums); etc/migrationd.conf documents each of them.
 *
 * Strings are fixed-size arrays inside md_config, so an md_config is one
 * allocation, owns everything it refers to, and can be copied with memcpy.
 * After load nothing modifies it: any thread may read it without locking.
 */
#ifndef MD_CONFIG_H
#define MD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "policy/policy.h"
#include "service/log.h"
#include "service/status.h"

/* api.auth_strategy: who may call the REST API. */
typedef enum md_auth_strategy {
    MD_AUTH_NOAUTH = 0, /* no authentication: for loopback or a trusted network */
    MD_AUTH_KEYSTONE,   /* X-Auth-Token validated against Keystone, roles checked */
} md_auth_strategy;

/* api.metrics_auth: when GET /metrics needs a token with a read role (it
 * never does under auth_strategy "noauth"). */
typedef enum md_metrics_auth {
    MD_METRICS_AUTH_LOOPBACK_OPEN = 0, /* not from a loopback address; elsewhere it does */
    MD_METRICS_AUTH_ALWAYS,            /* from everywhere, loopback included */
    MD_METRICS_AUTH_NEVER,             /* from nowhere: the page is public */
} md_metrics_auth;

/* Limits of roles.read / roles.write: at most this many names, each shorter
 * than MD_CONFIG_ROLE_LEN bytes (so a name fits with its NUL). */
#define MD_CONFIG_MAX_ROLES 16
#define MD_CONFIG_ROLE_LEN 64

/* service.hypervisor: what the daemon migrates with. */
typedef enum md_hypervisor_kind {
    MD_HYPERVISOR_LIBVIRT = 0, /* real guests through libvirtd */
    MD_HYPERVISOR_SIMULATOR,   /* the migration simulator, for tests and benchmarks */
} md_hypervisor_kind;

/* One simulated domain of the [simulator] section. */
#define MD_CONFIG_MAX_SIM_DOMAINS 2048
#define MD_CONFIG_SIM_NAME_LEN 64
typedef struct md_config_sim_domain {
    char name[MD_CONFIG_SIM_NAME_LEN];
    char uuid[37];
    int ram_mib;
    int working_set_mib;
    int dirty_mibps;
} md_config_sim_domain;

/* One destination of the top-level `peers` list (DESIGN.md section 4): a
 * compute node this node may migrate to, and where to reach it, so that no
 * name has to be resolved. service/peers.h looks them up. */
#define MD_CONFIG_MAX_PEERS 256
#define MD_CONFIG_PEER_LEN 256 /* name and addresses, with the NUL (= MD_NAME_LEN) */
typedef struct md_config_peer {
    char name[MD_CONFIG_PEER_LEN];            /* the dest_compute requests name it by */
    char address[MD_CONFIG_PEER_LEN];         /* libvirt (and, by default, migration) address */
    char migrate_address[MD_CONFIG_PEER_LEN]; /* where QEMU connects; "" = address */
    int bandwidth_mibps;                      /* the link, for planning; 0 = not given */
} md_config_peer;

/* The default path of the daemon's configuration file. */
#define MD_CONFIG_DEFAULT_PATH "/etc/migrationd/migrationd.conf"

typedef struct md_config_roles {
    size_t count; /* 1..MD_CONFIG_MAX_ROLES */
    char names[MD_CONFIG_MAX_ROLES][MD_CONFIG_ROLE_LEN];
} md_config_roles;

/* Member names are the configuration keys, so that the table in config.c
 * and etc/migrationd.conf read the same. Integer values all fit in an int
 * (the largest maximum is 16777216). */
typedef struct md_config {
    struct {
        int max_concurrent_live_migrations;
        int max_queued_migrations; /* past it, a new request is refused (overLimit) */
        char database[4096];
        char host[256];
        md_log_level log_level;
        md_hypervisor_kind hypervisor;
        int keep_finished_days; /* purge ended records older than this; 0 = keep them */
    } service;
    struct {
        char listen[300];      /* as written: "HOST:PORT" or "[IPV6]:PORT" */
        char listen_host[256]; /* derived: HOST, or IPV6 without brackets */
        int listen_port;       /* derived: 1..65535 */
        md_auth_strategy auth_strategy;
        int max_body_bytes;
        bool allow_insecure_noauth; /* noauth on a non-loopback address */

        int max_connections;            /* open at once, all clients together */
        int max_connections_per_client; /* open at once from one client address */
        int request_timeout_s;          /* to receive one whole request */
        int idle_timeout_s;             /* a connection may stay silent */
        md_metrics_auth metrics_auth;   /* who may read GET /metrics without a token */
    } api;
    struct {
        char auth_url[1024];
        char username[256];
        char password[256];
        char project_name[256];
        char user_domain_name[256];
        char project_domain_name[256];
        int cache_seconds;
        int timeout_ms;
        int negative_cache_seconds;     /* how long a token Keystone refused stays refused */
        int max_concurrent_validations; /* Keystone validations in flight at once */
        int breaker_seconds;            /* 503 at once for this long after Keystone failed */
    } keystone;
    struct {
        md_config_roles read;  /* the default of list */
        md_config_roles write; /* the default of create, update and abort */
        /* The action classes, each resolved after loading: a class the file
         * does not set holds a copy of read or write. */
        md_config_roles list;                /* GET: list, show, events */
        md_config_roles create;              /* POST a migration, os-migrateLive */
        md_config_roles update;              /* PUT settings and steering, force_complete */
        md_config_roles abort;               /* DELETE, and PUT "action": "abort" */
        char admin_project_id[128];          /* "" = match by name */
        char admin_project_name[256];        /* "" with an empty id: any project */
        char admin_project_domain_name[256]; /* the domain of admin_project_name */
        bool allow_system_scope;             /* a token scoped to the system (all) counts */
    } roles;
    struct {
        char uri[1024];
        char live_migration_scheme[32];
        int live_migration_downtime;        /* ms */
        int live_migration_downtime_target; /* ms, adaptive's aim; <= the above */
        int live_migration_downtime_steps;
        int live_migration_downtime_delay;     /* s per GiB */
        int live_migration_completion_timeout; /* s per GiB; 0 = off */
        int live_migration_progress_timeout;   /* s; 0 = off */
        policy_timeout_action live_migration_timeout_action;
        bool live_migration_permit_post_copy;
        bool live_migration_permit_auto_converge;
        int live_migration_bandwidth; /* MiB/s; 0 = unlimited */
        int live_migration_parallel_connections;
        bool live_migration_with_native_tls;
        int live_migration_monitor_interval_ms;
        policy_kind live_migration_policy;            /* POLICY_NOVA or POLICY_ADAPTIVE */
        int live_migration_postcopy_stall_timeout;    /* s without post-copy progress; 0 = off */
        int live_migration_postcopy_recovery_timeout; /* s of resume attempts after a break */
        int connection_wait_timeout; /* s a migration waits for libvirtd; 0 = fail at once */
    } libvirt;
    struct {
        double time_scale;           /* simulated seconds per real second */
        int link_mibps;              /* the simulated link */
        int free_mib;                /* free memory of each destination, MiB */
        char blackholed_hosts[1024]; /* destination hosts that drop packets, comma-separated */
        size_t ndomains;
        md_config_sim_domain domains[MD_CONFIG_MAX_SIM_DOMAINS];
    } simulator;
    /* The top-level `peers` list, in file order. count 0 (no `peers` in the
     * file): any destination is allowed, as before the list existed. */
    struct {
        size_t count; /* 0..MD_CONFIG_MAX_PEERS; an empty list is an error */
        md_config_peer list[MD_CONFIG_MAX_PEERS];
    } peers;
} md_config;

/* The problems found while loading a file, in file order, one line each
 * without a trailing newline. The caller owns the struct; start from
 * MD_CONFIG_ERRORS_INIT (or all zero) and release it with
 * md_config_errors_free(). */
typedef struct md_config_errors {
    size_t count;
    char **lines;
} md_config_errors;

#define MD_CONFIG_ERRORS_INIT \
    {                         \
        0, NULL               \
    }

/* Fills *c with every default of DESIGN.md section 4; service.host becomes
 * this node's name from gethostname() ("localhost" if that fails). Never
 * fails. Calls gethostname(), which does not block; any thread. */
void md_config_defaults(md_config *c);

/* Reads and validates the libconfig file at path (@include is resolved
 * relative to the file's directory). Keys not in the file keep their
 * defaults. On MD_OK *out is a new md_config that the caller owns and frees
 * with md_config_free(). On any other status *out is NULL and, when errs is
 * not NULL, one line per problem has been appended to errs (which may
 * already hold lines): every problem of the file, not only the first.
 * Returns:
 *   MD_OK             the file is valid;
 *   MD_ERR_NOT_FOUND  path does not exist (one line naming it);
 *   MD_ERR_IO         path exists but cannot be read (one line naming it);
 *   MD_ERR_INVALID    a syntax error, unknown section or key, wrong type or
 *                     invalid value (one line each);
 *   MD_ERR_NOMEM      an allocation failed (errs may be incomplete).
 * path is borrowed. Blocks on file I/O; any thread, but the daemon calls it
 * once from main() before starting others. */
md_status md_config_load(const char *path, md_config **out, md_config_errors *errs);

/* Releases c. Accepts NULL. */
void md_config_free(md_config *c);

/* Writes each line of errs followed by a newline to f (the daemon uses
 * stderr). Accepts NULL errs. Blocks on stdio; any thread. */
void md_config_errors_print(const md_config_errors *errs, FILE *f);

/* Releases the lines of errs and leaves it empty, ready for reuse. Accepts
 * NULL. */
void md_config_errors_free(md_config_errors *errs);

/* Fills every field of *out from c's libvirt section: the policy kind,
 * downtime, downtime target, steps, delay, completion and progress
 * timeouts, timeout action and whether post-copy and auto-converge are
 * permitted, with data_gib (from policy_data_gib())
 * as given. c is borrowed. Pure; any thread. */
void md_config_policy_settings(const md_config *c, double data_gib, policy_settings *out);

/* Static names "noauth" and "keystone". */
const char *md_config_auth_strategy_str(md_auth_strategy a);

/* Static names "loopback-open", "always", "never" ("unknown" out of
 * range). */
const char *md_config_metrics_auth_str(md_metrics_auth m);

/* Static names "libvirt" and "simulator". */
const char *md_config_hypervisor_str(md_hypervisor_kind k);

#endif /* MD_CONFIG_H */
