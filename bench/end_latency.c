/* end_latency.c - measures how long after a job's end in the hypervisor its record says it ended.
 *
 * A controller or a drain waits for a migration's record to say
 * "completed"; libvirt's JOB_COMPLETED event, which carries the real
 * downtime, may come later than the migrate call's return, or never
 * (service/engine_worker.c, "The end's statistics"). This benchmark runs
 * the daemon's own engine in-process (daemon/daemon.h, without the API) on
 * the simulator with its clock stopped, and for each of --runs idle guests
 * in turn: creates its migration, waits until it runs, then moves the
 * simulated clock far enough for the job to complete (md_hv_sim_advance,
 * which ends the job - the migrate call returns - and delivers the events)
 * and measures the real time from just before that move to the moment
 * md_engine_wait() sees the record completed (the record is durable in the
 * store before the engine says so). Three cases, one engine each: the
 * JOB_COMPLETED event delivered as the job ends, held until the record has
 * ended (late), and dropped (never comes); md_hv_sim_set_completed_events
 * sets them. It also counts the records that had their downtime as they
 * ended and those that never got one (within 2 s of the event's release),
 * and for the late case measures the time from the event's delivery to the
 * record's downtime.
 *
 *   build-release/bench/end-latency [--runs R]      (default 20)
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "service/config.h"
#include "service/engine.h"
#include "service/hv.h"
#include "service/hv_sim.h"
#include "service/log.h"
#include "service/migration.h"

#define DEFAULT_RUNS 20
#define MAX_RUNS 200
/* Long enough, in simulated seconds, for an idle 1 GiB guest to finish. */
#define FINISH_S 30.0
#define WAIT_MS 10000
/* How long a record may take to get its downtime once the event is out. */
#define DOWNTIME_WAIT_MS 2000

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "end-latency: %s%s%s\n", what, why ? ": " : "", why ? why : "");
    exit(EXIT_FAILURE);
}

static bool is_running(md_mig_state s)
{
    return s == MD_MIG_RUNNING;
}

static bool is_final(md_mig_state s)
{
    return !md_mig_state_in_progress(s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of v[0..n), sorted in place: nearest rank. */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int k = (int)(q * n + 0.999999) - 1;
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

/* Waits (real time, up to DOWNTIME_WAIT_MS) until migration uuid's record
 * has a downtime; false when it has none by then. */
static bool wait_downtime(md_engine *eng, const char *uuid)
{
    double until = now_ms() + DOWNTIME_WAIT_MS;
    md_migration m;
    md_err err;

    while (now_ms() < until) {
        if (md_engine_get(eng, uuid, &m, &err) == MD_OK && m.downtime_ms >= 0)
            return true;
        usleep(200);
    }
    return false;
}

/* What one case measured. */
typedef struct outcome {
    double end[MAX_RUNS];  /* the job's end to the record's (ms) */
    double late[MAX_RUNS]; /* the late event's delivery to the record's downtime (ms) */
    int nlate;
    int with_downtime; /* records that had their downtime as they ended */
    int never;         /* records that never got one */
} outcome;

/* One engine, runs migrations with the events treated as mode says. */
static void run_case(int runs, md_hv_sim_completed mode, outcome *o)
{
    char dir[] = "/tmp/md-end-latency-XXXXXX";
    md_config *cfg = calloc(1, sizeof *cfg);
    md_daemon *daemon = NULL;
    md_err err;
    char cmd[128];

    if (!cfg || !mkdtemp(dir))
        die("cannot set up", NULL);
    md_log_init(MD_LOG_WARNING);
    md_config_defaults(cfg);
    md_strlcpy(cfg->service.host, "node-a", sizeof cfg->service.host);
    snprintf(cfg->service.database, sizeof cfg->service.database, "%s/migrationd.db", dir);
    cfg->service.hypervisor = MD_HYPERVISOR_SIMULATOR;
    for (int i = 0; i < runs; i++) {
        md_config_sim_domain *d = &cfg->simulator.domains[cfg->simulator.ndomains++];
        snprintf(d->name, sizeof d->name, "vm-%03d", i);
        snprintf(d->uuid, sizeof d->uuid, "00000000-0000-4000-8000-%012d", i);
        d->ram_mib = 1024;
        d->working_set_mib = 64;
        d->dirty_mibps = 0;
    }
    if (md_daemon_open(cfg, &daemon, &err) != MD_OK)
        die("open", err.msg);
    md_hv *hv = md_daemon_hv(daemon);
    md_hv_sim_set_manual_clock(hv, true);
    if (md_daemon_start(daemon, MD_DAEMON_ENGINE, &err) != MD_OK)
        die("start", err.msg);
    md_engine *eng = md_daemon_engine(daemon);

    memset(o, 0, sizeof *o);
    for (int i = 0; i < runs; i++) {
        md_engine_request q;
        md_migration m;

        memset(&q, 0, sizeof q);
        md_strlcpy(q.instance, cfg->simulator.domains[i].uuid, sizeof q.instance);
        md_strlcpy(q.dest_compute, "node-b", sizeof q.dest_compute);
        q.permit_post_copy = q.max_downtime_ms = q.bandwidth_mibps = q.timeout_action = -1;
        if (md_engine_create(eng, &q, &m, &err) != MD_OK)
            die("create", err.msg);
        if (md_engine_wait(eng, m.uuid, is_running, WAIT_MS) != MD_MIG_RUNNING)
            die("a migration did not start", m.uuid);
        /* The record runs just before the migrate call starts the job. */
        md_hv_job job;
        double until = now_ms() + WAIT_MS;
        while (md_hv_job_stats(hv, q.instance, &job, &err) != MD_OK || !job.active) {
            if (now_ms() > until)
                die("a job did not start", m.uuid);
            usleep(200);
        }
        md_hv_sim_set_completed_events(hv, mode);
        double t0 = now_ms();
        md_hv_sim_advance(hv, FINISH_S);
        if (md_engine_wait(eng, m.uuid, is_final, WAIT_MS) != MD_MIG_COMPLETED)
            die("a migration did not complete", m.uuid);
        o->end[i] = now_ms() - t0;
        if (md_engine_get(eng, m.uuid, &m, &err) == MD_OK && m.downtime_ms >= 0)
            o->with_downtime++;
        double t1 = now_ms();
        md_hv_sim_set_completed_events(hv, MD_HV_SIM_COMPLETED_DELIVER);
        if (mode != MD_HV_SIM_COMPLETED_DROP && wait_downtime(eng, m.uuid)) {
            if (mode == MD_HV_SIM_COMPLETED_HOLD)
                o->late[o->nlate++] = now_ms() - t1;
        } else {
            o->never++;
        }
    }
    md_daemon_close(daemon);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "end-latency: could not remove %s\n", dir);
    free(cfg);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "runs", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct {
        md_hv_sim_completed mode;
        const char *name;
    } cases[] = {
        { MD_HV_SIM_COMPLETED_DELIVER, "in time" },
        { MD_HV_SIM_COMPLETED_HOLD, "late" },
        { MD_HV_SIM_COMPLETED_DROP, "never" },
    };
    int runs = DEFAULT_RUNS, opt;
    static outcome o;

    while ((opt = getopt_long(argc, argv, "n:h", options, NULL)) != -1) {
        if (opt == 'n' && atoi(optarg) >= 1 && atoi(optarg) <= MAX_RUNS) {
            runs = atoi(optarg);
        } else {
            fprintf(opt == 'h' ? stdout : stderr,
                    "Usage: end-latency [--runs R]   (R migrations per case, 1..%d, default %d)\n",
                    MAX_RUNS, DEFAULT_RUNS);
            return opt == 'h' ? 0 : 2;
        }
    }
    printf("end-latency: the job's end in the simulated hypervisor to the record's \"completed\"\n"
           "(md_engine_wait), %d idle 1 GiB guests one after another per case, real ms\n\n",
           runs);
    printf("| JOB_COMPLETED | runs | end p50 ms | end p90 ms | end max ms | downtime at the end | "
           "downtime never | late event to downtime p50 ms |\n");
    printf("|---------------|------|------------|------------|------------|---------------------|"
           "----------------|-------------------------------|\n");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        run_case(runs, cases[c].mode, &o);
        char ev[32] = "-";
        if (o.nlate)
            snprintf(ev, sizeof ev, "%.2f", quantile(o.late, o.nlate, 0.5));
        double p50 = quantile(o.end, runs, 0.5), p90 = quantile(o.end, runs, 0.9);
        printf("| %-13s | %4d | %10.2f | %10.2f | %10.2f | %19d | %14d | %29s |\n", cases[c].name,
               runs, p50, p90, o.end[runs - 1], o.with_downtime, o.never, ev);
        fflush(stdout);
    }
    return 0;
}
