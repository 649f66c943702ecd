/* monitor_load.c - measures the CPU time and memory migrationd spends watching many migrations.
 *
 * The benchmark runs the daemon's own engine in-process, built by the
 * daemon's composition root (daemon/daemon.h) without the API: the store on
 * a database in a fresh temporary directory, the simulator with a generated
 * configuration, the engine; the migrations are created with
 * md_engine_create(). For each count N (1, 100 and 1000 by default) it
 * re-executes itself, so that every N gets a fresh process and a clean peak
 * RSS. A run configures N simulated guests that can never converge (64 GiB
 * of RAM all written at 4 GiB/s over a 1 GiB/s link), raises the concurrency
 * cap to N, turns the completion and progress timeouts off so that nothing
 * aborts them, waits until all N are running, and then measures a window of
 * --seconds (default 20) at the default monitor interval (500 ms): the
 * process's CPU time (getrusage), the CPU time of the monitor thread, the
 * simulator's ticker thread and the rest (/proc/self/task; the monitor is
 * recognised as the thread that reads job statistics), peak and current
 * RSS, and the size of the database. At the end every migration must still be
 * running, or the run fails.
 *
 * The simulated hypervisor runs in the same process: its ticker thread,
 * which advances all N simulated migrations every 50 ms, is included in the
 * process figures (and shown on its own).
 *
 *   build/bench/monitor-load                     N = 1, 100, 1000; 20 s each
 *   build/bench/monitor-load --seconds 5 --counts 0,1000 --time-scale 20
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "service/config.h"
#include "service/engine.h"
#include "service/hv.h"
#include "service/log.h"
#include "service/migration.h"

/* The guests: 64 GiB, all of it written at 4 GiB/s, over a 1 GiB/s link.
 * Pre-copy never converges and the first pass alone takes 64 simulated
 * seconds; post-copy is not permitted (Nova's default). */
#define GUEST_RAM_MIB 65536
#define GUEST_WS_MIB 65536
#define GUEST_DIRTY_MIBPS 4096
#define LINK_MIBPS 1024

#define MAX_COUNTS 8
#define DEFAULT_SECONDS 20
#define DEFAULT_TIME_SCALE 1.0
/* How long to wait for all N migrations to reach "running". */
#define START_WAIT_S 60
/* Time between "all running" and the window, so that the first samples of
 * every migration have been taken. */
#define WARMUP_MS 1000

/* The targets at N = 1000. */
#define TARGET_N 1000
#define TARGET_CPU_PCT 2.0
#define TARGET_RSS_MIB 50.0

/* What one run measured; the child sends it to the parent as one line. */
typedef struct result {
    long n;
    double window_s;
    double cpu_s;          /* user + system of the whole process */
    double monitor_s;      /* the engine's monitor thread; -1 = not known (N = 0) */
    double ticker_s;       /* the simulator's ticker thread */
    double other_s;        /* every other thread (main, workers) */
    long maxrss_kib;       /* peak RSS over the process's life */
    long rss_kib;          /* RSS at the end of the window */
    long long store_bytes; /* database + WAL + shared memory file */
    long running_end;      /* migrations still running at the end */
    long stale;            /* migrations whose progress the monitor did not keep fresh */
} result;

/* The simulator's own job-statistics call, and the thread id of the first
 * thread that called it through job_spy(): in a run, only the engine's
 * monitor samples jobs (recovery does too, but there is nothing to recover
 * in a fresh database). */
static md_status (*sim_job_stats)(md_hv *hv, const char *uuid, md_hv_job *out, md_err *err);
static md_hv_ops spy_ops;
static atomic_int monitor_tid;

static md_status job_spy(md_hv *hv, const char *uuid, md_hv_job *out, md_err *err)
{
    static _Thread_local bool seen;

    if (!seen) {
        seen = true;
        int expected = 0;
        atomic_compare_exchange_strong(&monitor_tid, &expected, (int)gettid());
    }
    return sim_job_stats(hv, uuid, out, err);
}

/* A set of thread ids of this process. */
typedef struct tidset {
    pid_t *v;
    size_t n, cap;
} tidset;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void die(const char *what)
{
    fprintf(stderr, "monitor-load: %s\n", what);
    exit(EXIT_FAILURE);
}

static bool tidset_has(const tidset *s, pid_t t)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == t)
            return true;
    }
    return false;
}

static void tidset_add(tidset *s, pid_t t)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        pid_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            die("out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = t;
}

/* Every thread of this process now. */
static void list_threads(tidset *out)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;

    out->n = 0;
    if (!d)
        die("cannot open /proc/self/task");
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.')
            tidset_add(out, (pid_t)atol(de->d_name));
    }
    closedir(d);
}

/* The threads in after that are not in before. */
static void new_threads(const tidset *before, const tidset *after, tidset *out)
{
    out->n = 0;
    for (size_t i = 0; i < after->n; i++) {
        if (!tidset_has(before, after->v[i]))
            tidset_add(out, after->v[i]);
    }
}

/* User + system CPU seconds of one thread of this process, from
 * /proc/self/task/TID/stat (clock-tick resolution); 0 if it is gone. */
static double thread_cpu_s(pid_t tid)
{
    char path[64], buf[1024];
    unsigned long utime = 0, stime = 0;
    FILE *f;
    size_t len;

    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)tid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* The command name may hold spaces and parentheses: fields are counted
     * from the last ')'. utime and stime are fields 14 and 15. */
    char *p = strrchr(buf, ')');
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double threads_cpu_s(const tidset *s)
{
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += thread_cpu_s(s->v[i]);
    return sum;
}

static double process_cpu_s(long *maxrss_kib)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (maxrss_kib)
        *maxrss_kib = ru.ru_maxrss;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long current_rss_kib(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* The UUID of simulated guest i, and of nothing else. */
static void guest_uuid(long i, char out[MD_UUID_LEN])
{
    unsigned k = (unsigned)(i + 1);
    snprintf(out, MD_UUID_LEN, "%08x-0000-4000-8000-%012x", k, k);
}

static bool all_running(md_engine *eng, char (*uuids)[MD_UUID_LEN], long n, long *running)
{
    long r = 0;
    for (long i = 0; i < n; i++) {
        md_migration m;
        md_err err;
        if (md_engine_get(eng, uuids[i], &m, &err) == MD_OK && m.state == MD_MIG_RUNNING)
            r++;
    }
    *running = r;
    return r == n;
}

/* One run with n migrations, in this process. Prints its report to stdout
 * and returns what it measured; exits with a failure on any setup error. */
static result run_one(long n, int seconds, double time_scale)
{
    char dir[] = "/tmp/md-monitor-load-XXXXXX";
    char db[64], wal[72], shm[72];
    md_config *cfg = calloc(1, sizeof *cfg);
    char(*uuids)[MD_UUID_LEN] = calloc((size_t)(n ? n : 1), sizeof *uuids);
    int64_t *elapsed0 = calloc((size_t)(n ? n : 1), sizeof *elapsed0);
    md_daemon *daemon = NULL;
    md_hv *hv = NULL;
    md_engine *eng = NULL;
    tidset before = { 0 }, after = { 0 }, ticker = { 0 }, engine_threads = { 0 }, all = { 0 };
    tidset monitor = { 0 };
    result r;
    md_err err;

    memset(&r, 0, sizeof r);
    r.n = n;
    if (!cfg || !uuids || !elapsed0)
        die("out of memory");
    if (!mkdtemp(dir))
        die("cannot create a temporary directory");
    snprintf(db, sizeof db, "%s/migrationd.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", db);
    snprintf(shm, sizeof shm, "%s-shm", db);

    md_log_init(MD_LOG_WARNING);
    md_config_defaults(cfg);
    md_strlcpy(cfg->service.host, "node-a", sizeof cfg->service.host);
    md_strlcpy(cfg->service.database, db, sizeof cfg->service.database);
    cfg->service.hypervisor = MD_HYPERVISOR_SIMULATOR;
    cfg->service.max_concurrent_live_migrations = n > 0 ? (int)n : 1;
    /* Nothing may end the migrations during the window. */
    cfg->libvirt.live_migration_completion_timeout = 0;
    cfg->libvirt.live_migration_progress_timeout = 0;
    cfg->simulator.time_scale = time_scale;
    cfg->simulator.link_mibps = LINK_MIBPS;
    for (long i = 0; i < n; i++) {
        md_config_sim_domain *d = &cfg->simulator.domains[cfg->simulator.ndomains++];
        snprintf(d->name, sizeof d->name, "vm-%04ld", i);
        guest_uuid(i, d->uuid);
        d->ram_mib = GUEST_RAM_MIB;
        d->working_set_mib = GUEST_WS_MIB;
        d->dirty_mibps = GUEST_DIRTY_MIBPS;
    }

    /* The daemon's own composition root (daemon/daemon.h) without the API.
     * The simulator's ticker is the one thread that opening starts; the
     * engine's monitor is found by job_spy(), put in front of the
     * simulator's job-statistics call (one indirect call more per sample)
     * between open and start. */
    list_threads(&before);
    if (md_daemon_open(cfg, &daemon, &err) != MD_OK) {
        fprintf(stderr, "monitor-load: %s\n", err.msg);
        exit(EXIT_FAILURE);
    }
    list_threads(&after);
    new_threads(&before, &after, &ticker);
    hv = md_daemon_hv(daemon);
    spy_ops = *hv->ops;
    sim_job_stats = spy_ops.job;
    spy_ops.job = job_spy;
    hv->ops = &spy_ops;
    list_threads(&before);
    if (md_daemon_start(daemon, MD_DAEMON_ENGINE, &err) != MD_OK) {
        fprintf(stderr, "monitor-load: %s\n", err.msg);
        exit(EXIT_FAILURE);
    }
    eng = md_daemon_engine(daemon);
    list_threads(&after);
    new_threads(&before, &after, &engine_threads);
    if (ticker.n != 1)
        die("cannot tell the simulator's ticker thread apart");

    for (long i = 0; i < n; i++) {
        md_engine_request q;
        md_migration m;

        memset(&q, 0, sizeof q);
        guest_uuid(i, q.instance);
        md_strlcpy(q.dest_compute, "node-b", sizeof q.dest_compute);
        q.permit_post_copy = -1;
        q.max_downtime_ms = -1;
        q.bandwidth_mibps = -1;
        q.timeout_action = -1;
        if (md_engine_create(eng, &q, &m, &err) != MD_OK) {
            fprintf(stderr, "monitor-load: create %s: %s\n", q.instance, err.msg);
            exit(EXIT_FAILURE);
        }
        md_strlcpy(uuids[i], m.uuid, MD_UUID_LEN);
    }

    double t_start = now_s();
    long running = 0;
    while (!all_running(eng, uuids, n, &running)) {
        if (now_s() - t_start > START_WAIT_S) {
            fprintf(stderr, "monitor-load: only %ld of %ld migrations running after %d s\n",
                    running, n, START_WAIT_S);
            exit(EXIT_FAILURE);
        }
        sleep_ms(50);
    }
    double ramp_s = now_s() - t_start;
    sleep_ms(WARMUP_MS);
    if (atomic_load(&monitor_tid) != 0)
        tidset_add(&monitor, (pid_t)atomic_load(&monitor_tid));
    else if (n > 0)
        die("the monitor has not sampled any job");

    /* The window. The thread lists are read outside the getrusage pair, so
     * that reading them is not counted. */
    for (long i = 0; i < n; i++) {
        md_migration m;
        if (md_engine_get(eng, uuids[i], &m, &err) == MD_OK)
            elapsed0[i] = m.elapsed_ms;
    }
    list_threads(&all);
    double mon0 = threads_cpu_s(&monitor), tick0 = threads_cpu_s(&ticker);
    double threads0 = threads_cpu_s(&all);
    double cpu0 = process_cpu_s(NULL), t0 = now_s();
    sleep_ms((long)seconds * 1000);
    double t1 = now_s();
    r.rss_kib = current_rss_kib();
    double cpu1 = process_cpu_s(&r.maxrss_kib);
    if (r.maxrss_kib < r.rss_kib)
        r.maxrss_kib = r.rss_kib; /* the two are read apart: keep them consistent */
    double mon1 = threads_cpu_s(&monitor), tick1 = threads_cpu_s(&ticker);
    double threads1 = threads_cpu_s(&all);

    r.window_s = t1 - t0;
    r.cpu_s = cpu1 - cpu0;
    r.monitor_s = monitor.n ? mon1 - mon0 : -1; /* -1: no monitor sample to find it by */
    r.ticker_s = tick1 - tick0;
    r.other_s = (threads1 - threads0) - (mon1 - mon0) - r.ticker_s;
    if (r.other_s < 0)
        r.other_s = 0;

    /* Every migration must still be running, and the monitor must have
     * kept its progress fresh: the job's elapsed time, as last sampled,
     * must have moved with the window (less two intervals of slack). */
    double want_ms = (r.window_s * 1000.0 - 2.0 * cfg->libvirt.live_migration_monitor_interval_ms) *
                     time_scale;
    for (long i = 0; i < n; i++) {
        md_migration m;
        if (md_engine_get(eng, uuids[i], &m, &err) != MD_OK) {
            fprintf(stderr, "monitor-load: migration %s: %s\n", uuids[i], err.msg);
            continue;
        }
        if (m.state == MD_MIG_RUNNING)
            r.running_end++;
        else
            fprintf(stderr, "monitor-load: migration %s is %s at the end of the window%s%s\n",
                    uuids[i], md_mig_state_str(m.state), m.error[0] ? ": " : "", m.error);
        if ((double)(m.elapsed_ms - elapsed0[i]) < want_ms)
            r.stale++;
    }
    r.store_bytes = file_size(db) + file_size(wal) + file_size(shm);

    printf("N=%ld: all running after %.1f s (%zu engine threads); monitor every %d ms; "
           "window %.1f s\n",
           n, ramp_s, engine_threads.n, cfg->libvirt.live_migration_monitor_interval_ms,
           r.window_s);
    char mon[32] = "-";
    if (r.monitor_s >= 0)
        snprintf(mon, sizeof mon, "%.3f", r.monitor_s);
    printf("  CPU %.3f s = %.2f %% of one core (monitor thread %s s, simulator ticker %.3f s, "
           "other threads %.3f s)\n",
           r.cpu_s, 100.0 * r.cpu_s / r.window_s, mon, r.ticker_s, r.other_s);
    if (n > 0)
        printf("  per monitored migration: %.4f ms of CPU per second = %.5f %% of one core\n",
               1000.0 * r.cpu_s / r.window_s / (double)n, 100.0 * r.cpu_s / r.window_s / (double)n);
    printf("  RSS peak %.1f MiB, now %.1f MiB; store %.2f MiB; running at the end %ld/%ld, "
           "stale progress %ld\n",
           (double)r.maxrss_kib / 1024.0, (double)r.rss_kib / 1024.0,
           (double)r.store_bytes / (1024.0 * 1024.0), r.running_end, n, r.stale);
    fflush(stdout);

    md_daemon_close(daemon);
    unlink(db);
    unlink(wal);
    unlink(shm);
    if (rmdir(dir) != 0)
        fprintf(stderr, "monitor-load: could not remove %s\n", dir);
    free(before.v);
    free(after.v);
    free(ticker.v);
    free(engine_threads.v);
    free(all.v);
    free(monitor.v);
    free(elapsed0);
    free(uuids);
    free(cfg);
    return r;
}

/* Runs `self --one N ...` in a fresh process and reads its result. */
static bool run_child(const char *self, long n, int seconds, double time_scale, result *out)
{
    char nbuf[32], sbuf[32], tbuf[64], fdbuf[32], line[512];
    int fds[2], status;
    pid_t pid;

    if (pipe(fds) != 0)
        die("pipe failed");
    snprintf(nbuf, sizeof nbuf, "%ld", n);
    snprintf(sbuf, sizeof sbuf, "%d", seconds);
    snprintf(tbuf, sizeof tbuf, "%.17g", time_scale);
    snprintf(fdbuf, sizeof fdbuf, "%d", fds[1]);
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        close(fds[0]);
        execl(self, self, "--one", nbuf, "--seconds", sbuf, "--time-scale", tbuf, "--result-fd",
              fdbuf, (char *)NULL);
        perror("monitor-load: exec");
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    bool got = f && fgets(line, sizeof line, f) != NULL;
    if (f)
        fclose(f);
    else
        close(fds[0]);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return false;
    return got &&
           sscanf(line, "%ld %lf %lf %lf %lf %lf %ld %ld %lld %ld %ld", &out->n, &out->window_s,
                  &out->cpu_s, &out->monitor_s, &out->ticker_s, &out->other_s, &out->maxrss_kib,
                  &out->rss_kib, &out->store_bytes, &out->running_end, &out->stale) == 11;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: monitor-load [--seconds W] [--counts N,N,...] [--time-scale S]\n"
            "\n"
            "Runs migrationd's engine in-process on the simulated hypervisor with N\n"
            "concurrent migrations that never finish (default N = 1, 100, 1000, each in a\n"
            "fresh process) and reports CPU time and memory over a window of W seconds\n"
            "(default %d). S is the simulator's time scale (default %.1f).\n",
            DEFAULT_SECONDS, DEFAULT_TIME_SCALE);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "seconds", required_argument, NULL, 's' },
        { "counts", required_argument, NULL, 'c' },
        { "time-scale", required_argument, NULL, 't' },
        { "one", required_argument, NULL, 'o' },
        { "result-fd", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long counts[MAX_COUNTS] = { 1, 100, 1000 };
    size_t ncounts = 3;
    int seconds = DEFAULT_SECONDS, result_fd = -1, opt;
    double time_scale = DEFAULT_TIME_SCALE;
    long one = -1;
    char *end;

    while ((opt = getopt_long(argc, argv, "s:c:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            seconds = atoi(optarg);
            if (seconds < 1 || seconds > 3600) {
                fprintf(stderr, "monitor-load: --seconds must be 1..3600\n");
                return 2;
            }
            break;
        case 'c':
            ncounts = 0;
            for (char *p = optarg; *p; p = *end ? end + 1 : end) {
                long v = strtol(p, &end, 10);
                if (end == p || (*end && *end != ',') || v < 0 || v > MD_CONFIG_MAX_SIM_DOMAINS ||
                    ncounts == MAX_COUNTS) {
                    fprintf(stderr,
                            "monitor-load: --counts: up to %d numbers 0..%d, "
                            "separated by commas\n",
                            MAX_COUNTS, MD_CONFIG_MAX_SIM_DOMAINS);
                    return 2;
                }
                counts[ncounts++] = v;
            }
            break;
        case 't':
            time_scale = strtod(optarg, &end);
            if (*end || time_scale < 0.001 || time_scale > 100000.0) {
                fprintf(stderr, "monitor-load: --time-scale must be 0.001..100000\n");
                return 2;
            }
            break;
        case 'o': one = atol(optarg); break;
        case 'r': result_fd = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || ncounts == 0) {
        usage(stderr);
        return 2;
    }

    if (one >= 0) {
        if (one > MD_CONFIG_MAX_SIM_DOMAINS)
            die("--one: too many migrations");
        result r = run_one(one, seconds, time_scale);
        if (result_fd >= 0) {
            FILE *f = fdopen(result_fd, "w");
            if (!f)
                die("cannot write the result");
            fprintf(f, "%ld %.6f %.6f %.6f %.6f %.6f %ld %ld %lld %ld %ld\n", r.n, r.window_s,
                    r.cpu_s, r.monitor_s, r.ticker_s, r.other_s, r.maxrss_kib, r.rss_kib,
                    r.store_bytes, r.running_end, r.stale);
            fclose(f);
        }
        return r.running_end == r.n ? EXIT_SUCCESS : EXIT_FAILURE;
    }

    printf(
        "monitor-load: migrationd's engine, store and simulated hypervisor in one process,\n"
        "built by daemon/daemon.c; migrations created with md_engine_create()\n"
        "(the engine without the REST API). Policy adaptive, monitor interval 500 ms (default),\n"
        "max_concurrent_live_migrations = N, completion and progress timeouts off (0),\n"
        "guests %d MiB RAM written at %d MiB/s over a %d MiB/s link (never converge),\n"
        "simulator time_scale %g, window %d s, one fresh process per N.\n"
        "CPU includes the simulator's ticker thread advancing all N simulated migrations.\n\n",
        GUEST_RAM_MIB, GUEST_DIRTY_MIBPS, LINK_MIBPS, time_scale, seconds);

    result rs[MAX_COUNTS];
    bool ok[MAX_COUNTS];
    for (size_t i = 0; i < ncounts; i++) {
        ok[i] = run_child("/proc/self/exe", counts[i], seconds, time_scale, &rs[i]);
        if (!ok[i])
            fprintf(stderr, "monitor-load: the run with N=%ld failed\n", counts[i]);
    }

    printf("\n| N    | window s | CPU s  | CPU %% core | monitor s | ticker s | ms/s per mig "
           "| %% core per mig | peak RSS MiB | RSS MiB | store MiB |\n"
           "|------|----------|--------|------------|-----------|----------|--------------"
           "|----------------|--------------|---------|-----------|\n");
    bool all_ok = true, have_target = false, cpu_met = false, rss_met = false;
    double target_cpu = 0, target_rss = 0;
    for (size_t i = 0; i < ncounts; i++) {
        const result *r = &rs[i];
        if (!ok[i]) {
            printf("| %-4ld | failed |\n", counts[i]);
            all_ok = false;
            continue;
        }
        double pct = 100.0 * r->cpu_s / r->window_s;
        double peak = (double)r->maxrss_kib / 1024.0;
        if (r->n > 0)
            printf("| %-4ld | %8.1f | %6.3f | %10.2f | %9.3f | %8.3f | %12.4f | %14.5f "
                   "| %12.1f | %7.1f | %9.2f |\n",
                   r->n, r->window_s, r->cpu_s, pct, r->monitor_s, r->ticker_s,
                   1000.0 * r->cpu_s / r->window_s / (double)r->n, pct / (double)r->n, peak,
                   (double)r->rss_kib / 1024.0, (double)r->store_bytes / (1024.0 * 1024.0));
        else
            printf("| %-4ld | %8.1f | %6.3f | %10.2f | %9s | %8.3f | %12s | %14s "
                   "| %12.1f | %7.1f | %9.2f |\n",
                   r->n, r->window_s, r->cpu_s, pct, "-", r->ticker_s, "-", "-", peak,
                   (double)r->rss_kib / 1024.0, (double)r->store_bytes / (1024.0 * 1024.0));
        if (r->stale)
            printf("  (N=%ld: %ld migrations' progress was not kept fresh by the monitor)\n", r->n,
                   r->stale);
        if (r->n == TARGET_N) {
            have_target = true;
            target_cpu = pct;
            target_rss = peak;
            cpu_met = pct < TARGET_CPU_PCT;
            rss_met = peak < TARGET_RSS_MIB;
        }
    }
    printf("\nCPU: user + system of the whole process over the window (getrusage); monitor\n"
           "and ticker: the engine's monitor thread and the simulator's ticker thread alone\n"
           "(/proc/self/task, clock-tick resolution). Per migration: process CPU / window / N.\n"
           "RSS in MiB (peak: ru_maxrss); store: database + WAL + shared-memory file.\n");
    if (have_target) {
        printf("\nTargets at N=%d: CPU %.2f %% of one core (target < %.0f %%): %s; "
               "peak RSS %.1f MiB (target < %.0f MiB): %s\n",
               TARGET_N, target_cpu, TARGET_CPU_PCT, cpu_met ? "met" : "NOT met", target_rss,
               TARGET_RSS_MIB, rss_met ? "met" : "NOT met");
    }
    return all_ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
