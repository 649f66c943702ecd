/* main.c - migrationd's entry point: options, configuration, signals.
 *
 * DESIGN: main() owns the process; daemon/daemon.c builds the daemon. main
 * loads the configuration (or only checks it, for --check-config), sets up
 * logging, blocks SIGTERM and SIGINT before any thread exists so that every
 * thread started later inherits the mask, and then waits for one of them
 * with sigwait(): the signal is taken as an ordinary value on the main
 * thread, so no handler and no mutable global are needed to stop the
 * daemon.
 */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "policy/policy.h"
#include "service/config.h"
#include "service/log.h"
#include "service/status.h"

/* Exit codes: 0 success, 1 configuration or start-up failure, 2 bad usage. */
enum { EXIT_USAGE = 2 };

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: migrationd [--config FILE]\n"
            "       migrationd --check-config FILE\n"
            "\n"
            "Supervises libvirt live migrations of this node's guests.\n"
            "\n"
            "  -c, --config FILE        run with FILE (default %s)\n"
            "  -t, --check-config FILE  validate FILE, report every problem, and exit\n"
            "  -h, --help               show this help and exit\n"
            "  -V, --version            show the version and exit\n",
            MD_CONFIG_DEFAULT_PATH);
}

/* Loads path; on failure prints every problem to stderr. Returns the config
 * or NULL. */
static md_config *load_config(const char *path)
{
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    md_status st = md_config_load(path, &cfg, &errs);

    if (st != MD_OK) {
        md_config_errors_print(&errs, stderr);
        if (st == MD_ERR_NOMEM)
            fprintf(stderr, "%s: %s while loading the configuration\n", path, md_status_str(st));
    }
    md_config_errors_free(&errs);
    return cfg;
}

static int check_config(const char *path)
{
    md_config *cfg = load_config(path);

    if (!cfg)
        return EXIT_FAILURE;
    printf("%s: configuration OK\n", path);
    md_config_free(cfg);
    return EXIT_SUCCESS;
}

/* glibc's malloc starts by giving back to the kernel any free memory of
 * more than 128 KiB at the top of a heap, at once, and serving blocks of
 * 128 KiB or more with mmap() of their own. A list of 50 records takes and
 * frees about 250 KiB per request (its records, the JSON text, the body),
 * so every list returned its pages (madvise(), which on a machine of
 * several CPUs interrupts them all to flush their TLBs) and the next one
 * faulted them back in: an eighth of a list's CPU. glibc raises both
 * thresholds by itself once it frees a block it had mapped, but never for
 * blocks under 128 KiB; here they are set where that rule would put them
 * for a block of 2 MiB, the body of a list of 1000 records (the largest
 * page). The memory kept is what requests used and will use again, at
 * most 4 MiB free per heap. A failed mallopt() leaves glibc's defaults,
 * which only cost CPU. */
static void tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 2 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
}

static int run(const char *path)
{
    md_config *cfg = NULL;
    md_daemon *d = NULL;
    sigset_t stop_signals;
    int sig = 0, rc = EXIT_FAILURE, err;
    md_err e;

    tune_malloc();
    /* Block before anything else can start a thread: a thread created
     * with the signals unblocked could take a SIGTERM and die with it. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    err = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if (err != 0) {
        fprintf(stderr, "migrationd: cannot block signals: %s\n", strerror(err));
        goto cleanup;
    }

    cfg = load_config(path);
    if (!cfg)
        goto cleanup;
    md_log_init(cfg->service.log_level);
    md_info("migrationd %s starting: config %s, host %s, hypervisor %s, listen %s, auth %s, "
            "policy %s, max_concurrent_live_migrations %d, database %s",
            MD_VERSION, path, cfg->service.host, md_config_hypervisor_str(cfg->service.hypervisor),
            cfg->api.listen, md_config_auth_strategy_str(cfg->api.auth_strategy),
            policy_kind_str(cfg->libvirt.live_migration_policy),
            cfg->service.max_concurrent_live_migrations, cfg->service.database);

    if (md_daemon_open(cfg, &d, &e) != MD_OK || md_daemon_start(d, MD_DAEMON_FULL, &e) != MD_OK) {
        md_error("%s", e.msg);
        goto cleanup;
    }
    md_info("migrationd ready");

    err = sigwait(&stop_signals, &sig);
    if (err != 0) {
        md_error("sigwait failed: %s", strerror(err));
        goto cleanup;
    }
    md_info("stopping on %s: migrations in flight keep running and are recovered at the "
            "next start",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = EXIT_SUCCESS;

cleanup:
    md_daemon_close(d);
    md_config_free(cfg);
    if (rc == EXIT_SUCCESS)
        md_info("stopped");
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = MD_CONFIG_DEFAULT_PATH;
    const char *check_path = NULL;
    int opt;

    while ((opt = getopt_long(argc, argv, "c:t:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 't': check_path = optarg; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        case 'V': printf("migrationd %s\n", MD_VERSION); return EXIT_SUCCESS;
        default:
            /* getopt_long has already named the bad option. */
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "migrationd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }

    if (check_path)
        return check_config(check_path);
    return run(config_path);
}
