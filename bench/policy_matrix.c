/* policy_matrix.c - compares migration policies and two peers on the simulator.
 *
 * Runs every scenario of a matrix (RAM, dirty rate as a multiple of link
 * bandwidth, link speed, and what the job may use besides pre-copy: neither,
 * auto-converge, or post-copy) under each policy with Nova's default settings
 * and prints one row per policy and mode: completion rate, total time as a
 * multiple of the one-pass floor (RAM / bandwidth), downtime, bytes sent per
 * byte of RAM, time in post-copy, the guest's impact, and how soon failures
 * were given up. Virtual time: the numbers are the model's, identical on
 * every run and machine.
 *
 * Guest impact (GI) is the guest's loss in seconds of its own time: slowdown
 * x depth, integrated over the migration (sim.h's guest_impact_s):
 *   - auto-converge: throttle fraction x time throttled (a guest throttled
 *     to 60 % for 10 s loses 6 s);
 *   - post-copy: the missing share of the working set x time (the guest
 *     stalls on faults in proportion to the pages it wants that are still on
 *     the source);
 *   - pause and the final stop (downtime): depth 1, every second counts.
 * It is counted for every run, completed or not: a throttled guest that is
 * aborted at the end still paid for its throttling.
 *
 * The policies: none, nova, adaptive (policy.h) and two peers modelled here
 * only, as the tools drive QEMU:
 *   - postcopy-after-precopy: `virsh migrate --postcopy --postcopy-after-precopy`
 *     sets no downtime (QEMU's 300 ms default) and starts post-copy at the
 *     first iteration event after the first pass; without post-copy it does
 *     nothing (that is `none`), so it runs in the post-copy mode only.
 *   - kubevirt: KubeVirt's migration monitor: QEMU's default downtime, no
 *     ramp; a completion limit of 150 s per GiB of data (RAM + disks, no
 *     minimum), after which it starts post-copy if permitted and aborts
 *     otherwise; and a progress timeout: no new low of data remaining, at
 *     any sample, for 150 s aborts.
 *
 *   build/bench/policy-matrix                 the table and the goal checks
 *   build/bench/policy-matrix --csv           one line per run
 *   build/bench/policy-matrix --trace POLICY RAM_GIB DIRTY_X LINK_GBIT MODE
 *                                             one run, every action and its reason
 *                                             (MODE: 0 neither, 1 auto-converge,
 *                                             2 post-copy)
 */
#include "policy/policy.h"
#include "policy/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MIB (1024.0 * 1024.0)

static const double ram_gib[] = { 1, 4, 16, 64 };
static const double dirty_x[] = { 0, 0.25, 0.5, 0.9, 1.5, 3 };
static const double link_gbit[] = { 1, 10, 25 };
/* What the job may use besides pre-copy. The daemon never asks for both:
 * it sets auto-converge only when post-copy is not permitted. */
enum { MODE_NEITHER = 0, MODE_AUTO_CONVERGE, MODE_POST_COPY, NMODE };
static const char *const mode_name[NMODE] = { "neither", "auto-conv", "post-copy" };
/* The guest writes at random over this share of its RAM. */
#define WORKING_SET_SHARE 0.25
#define NRAM (sizeof ram_gib / sizeof ram_gib[0])
#define NDIRTY (sizeof dirty_x / sizeof dirty_x[0])
#define NLINK (sizeof link_gbit / sizeof link_gbit[0])
#define NSCEN (NRAM * NDIRTY * NLINK * NMODE)
/* The default maximum downtime (live_migration_downtime). */
#define MAX_DOWNTIME_MS 500
/* A goal's slack on time: "within 1.1x". */
#define TIME_SLACK 1.1

typedef enum row_kind {
    ROW_NONE = 0,
    ROW_NOVA,
    ROW_ADAPTIVE,
    ROW_PCAP, /* postcopy-after-precopy */
    ROW_KUBEVIRT,
    NROW,
} row_kind;

static const char *const row_name[NROW] = { "none", "nova", "adaptive", "pc-after-pre",
                                            "kubevirt" };

typedef struct run {
    double floor_s;
    double ram_bytes;
    int mode;
    sim_result r;
} run;

static void scenario(size_t i, sim_params *p, int *mode)
{
    size_t md = i % NMODE, l = (i / NMODE) % NLINK, d = (i / NMODE / NLINK) % NDIRTY,
           m = i / NMODE / NLINK / NDIRTY;

    memset(p, 0, sizeof *p);
    p->ram_bytes = ram_gib[m] * GIB;
    p->link_rate = link_gbit[l] * 1e9 / 8.0;
    p->dirty_rate = dirty_x[d] * p->link_rate;
    p->working_set_bytes = WORKING_SET_SHARE * p->ram_bytes;
    p->permit_post_copy = md == MODE_POST_COPY;
    p->auto_converge = md == MODE_AUTO_CONVERGE;
    *mode = (int)md;
}

static void print_action(void *ctx, const sim *s, const policy_action *a)
{
    (void)ctx;
    printf("  t=%9.1fs iter=%-4u remaining=%9.0f MiB  %-12s %5u  %s\n", s->now, s->iteration,
           s->pass_remaining / MIB, policy_action_str(a->kind), a->downtime_ms, a->reason);
}

static policy_action act(policy_action_kind kind, uint32_t ms, const char *reason)
{
    policy_action a;

    memset(&a, 0, sizeof a);
    a.kind = kind;
    a.downtime_ms = ms;
    snprintf(a.reason, sizeof a.reason, "%s", reason);
    return a;
}

/* virsh --postcopy-after-precopy: post-copy at the first iteration event
 * after the first pass (virsh's iteration callback acts on iteration 2). */
typedef struct pcap {
    bool permit_post_copy;
    bool done;
} pcap;

static policy_action pcap_decide(void *dctx, const policy_sample *s)
{
    pcap *v = dctx;

    if (v->done || !v->permit_post_copy || s->post_copy || s->iteration < 2)
        return act(POLICY_ACT_NONE, 0, "");
    v->done = true;
    return act(POLICY_ACT_POST_COPY, 0, "virsh: the first pass is done, starting post-copy");
}

/* KubeVirt's migration monitor (virt-launcher's live-migration-source.go). */
typedef struct kubevirt {
    bool permit_post_copy;
    double limit_s;
    double progress_timeout_s;
    bool have_low;
    uint64_t low;
    double low_at_s;
    bool done;
} kubevirt;

static policy_action kubevirt_decide(void *dctx, const policy_sample *s)
{
    kubevirt *k = dctx;
    uint64_t remaining = s->mem_remaining + s->disk_remaining;

    if (k->done || s->post_copy)
        return act(POLICY_ACT_NONE, 0, "");
    if (!k->have_low || remaining < k->low) {
        k->have_low = true;
        k->low = remaining;
        k->low_at_s = s->elapsed_s;
    }
    if (s->elapsed_s > k->limit_s) {
        k->done = true;
        if (k->permit_post_copy)
            return act(POLICY_ACT_POST_COPY, 0, "kubevirt: completion limit, starting post-copy");
        return act(POLICY_ACT_ABORT, 0, "kubevirt: completion limit, aborting");
    }
    if (s->elapsed_s - k->low_at_s > k->progress_timeout_s) {
        k->done = true;
        return act(POLICY_ACT_ABORT, 0, "kubevirt: no progress, aborting");
    }
    return act(POLICY_ACT_NONE, 0, "");
}

/* The converging oracle: the configured maximum downtime from the first
 * sample, nothing else. */
static policy_action const_max_decide(void *dctx, const policy_sample *s)
{
    bool *set = dctx;

    (void)s;
    if (*set)
        return act(POLICY_ACT_NONE, 0, "");
    *set = true;
    return act(POLICY_ACT_SET_DOWNTIME, MAX_DOWNTIME_MS, "the maximum, constant");
}

/* Every run gets the same cap: Nova's completion timeout (plus a second, so
 * Nova's own timeout fires first). For "none" the cap is an operator giving
 * up; such a run counts as not completed. */
static double run_cap(const sim_params *p)
{
    return 800.0 * fmax(p->ram_bytes / GIB, POLICY_MIN_DATA_GIB) + 1;
}

static void run_one(row_kind kind, const sim_params *p, int mode, sim_action_cb cb, run *out)
{
    double cap = run_cap(p);

    out->floor_s = p->ram_bytes / p->link_rate;
    out->ram_bytes = p->ram_bytes;
    out->mode = mode;
    if (kind == ROW_PCAP) {
        pcap v = { p->permit_post_copy, false };
        sim_drive(p, 0.5, cap, pcap_decide, &v, cb, NULL, &out->r);
        return;
    }
    if (kind == ROW_KUBEVIRT) {
        kubevirt k = { .permit_post_copy = p->permit_post_copy,
                       .limit_s = 150.0 * p->ram_bytes / GIB,
                       .progress_timeout_s = 150.0 };
        sim_drive(p, 0.5, cap, kubevirt_decide, &k, cb, NULL, &out->r);
        return;
    }
    const policy_kind pk[] = { POLICY_NONE, POLICY_NOVA, POLICY_ADAPTIVE };
    policy_settings ps;
    policy_settings_default(&ps, pk[kind], policy_data_gib((uint64_t)p->ram_bytes, NULL, 0));
    ps.permit_post_copy = p->permit_post_copy;
    ps.permit_auto_converge = p->auto_converge;
    sim_run(p, &ps, 0.5, cap, cb, NULL, &out->r);
}

/* Does pre-copy alone finish this guest at the maximum downtime, without
 * throttling, pausing or post-copy, inside the cap? That is what
 * "converging" means in the goal checks: a property of the guest and the
 * link, not of any policy's luck. */
static bool converging(const sim_params *p)
{
    sim_params q = *p;
    sim_result r;
    bool set = false;

    q.permit_post_copy = false;
    q.auto_converge = false;
    sim_drive(&q, 0.5, run_cap(p), const_max_decide, &set, NULL, NULL, &r);
    return r.completed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (q in 0..1) of v[0..n); NAN when n is 0. Sorts v. */
static double pct(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = (size_t)ceil(q * (double)n);
    return v[k == 0 ? 0 : k - 1];
}

/* One table row over the runs of one mode. */
static void print_row(const char *name, const run *runs, size_t n, int mode)
{
    static double t[NSCEN], dt[NSCEN], bytes[NSCEN], post[NSCEN], gi[NSCEN], ab[NSCEN];
    size_t nt = 0, npost = 0, total = 0, over = 0, ngi = 0, nab = 0;
    double maxdt = 0, maxgi = 0;

    for (size_t i = 0; i < n; i++) {
        const run *x = &runs[i];
        if (x->mode != mode)
            continue;
        total++;
        gi[ngi++] = x->r.guest_impact_s;
        maxgi = fmax(maxgi, x->r.guest_impact_s);
        if (!x->r.completed) {
            ab[nab++] = x->r.total_s;
            continue;
        }
        t[nt] = x->r.total_s / x->floor_s;
        dt[nt] = x->r.downtime_ms;
        bytes[nt] = x->r.bytes_sent / x->ram_bytes;
        nt++;
        maxdt = fmax(maxdt, x->r.downtime_ms);
        if (x->r.postcopy_s > 0)
            post[npost++] = x->r.postcopy_s;
        else if (x->r.downtime_ms > MAX_DOWNTIME_MS)
            over++;
    }
    printf("| %-12s | %-9s | %3zu/%-3zu %5.1f%% | %6.2f | %6.2f | %6.0f | %6.0f | %6zu | %5.2f | "
           "%4zu | %7.1f | %6.2f | %6.2f | %7.1f | %6.0f |\n",
           name, mode_name[mode], nt, total, 100.0 * (double)nt / (double)total, pct(t, nt, 0.5),
           pct(t, nt, 0.95), pct(dt, nt, 0.5), maxdt, over, pct(bytes, nt, 0.5), npost,
           pct(post, npost, 0.5), pct(gi, ngi, 0.5), pct(gi, ngi, 0.95), maxgi, pct(ab, nab, 0.5));
}

static void describe(size_t i, char *buf, size_t len)
{
    sim_params p;
    int mode;

    scenario(i, &p, &mode);
    snprintf(buf, len, "%2.0f GiB dirty %.2fx %2.0f Gbit/s %-9s", p.ram_bytes / GIB,
             p.dirty_rate / p.link_rate, p.link_rate * 8 / 1e9, mode_name[mode]);
}

/* The goals, counted over the matrix; prints the first failures. */
static void goal_checks(run runs[NROW][NSCEN], const bool *conv)
{
    enum { SHOW = 6 };
    size_t nconv = 0, dt_ok = 0, t_ok = 0, npc = 0, pc_ok = 0, ndec = 0, dec_early = 0;
    size_t shown_dt = 0, shown_t = 0, shown_pc = 0, t_conflict = 0, dt_conflict = 0;
    char what[96];
    static char fail_dt[SHOW][256], fail_t[SHOW][256], fail_pc[SHOW][256];

    for (size_t i = 0; i < NSCEN; i++) {
        const sim_result *a = &runs[ROW_ADAPTIVE][i].r, *nv = &runs[ROW_NOVA][i].r;
        describe(i, what, sizeof what);
        if (conv[i]) {
            nconv++;
            /* nova not completing is no bar for adaptive's downtime. */
            bool ok_dt = a->completed && (!nv->completed || a->downtime_ms <= nv->downtime_ms);
            double fastest = INFINITY;
            row_kind fk = ROW_NONE;
            for (size_t k = 0; k < NROW; k++) {
                const sim_result *r = &runs[k][i].r;
                if (r->completed && (k != ROW_PCAP || runs[k][i].mode == MODE_POST_COPY) &&
                    r->total_s < fastest) {
                    fastest = r->total_s;
                    fk = (row_kind)k;
                }
            }
            bool ok_t = a->completed && a->total_s <= TIME_SLACK * fastest;
            dt_ok += ok_dt;
            t_ok += ok_t;
            /* The goals conflict where nova's own downtime needs more than
             * 1.1x the fastest time: then no policy meets both. */
            if (!ok_t && nv->completed && nv->total_s > TIME_SLACK * fastest)
                t_conflict++;
            if (!ok_dt && a->completed && nv->total_s > TIME_SLACK * fastest)
                dt_conflict++;
            if (!ok_dt && shown_dt < SHOW)
                snprintf(fail_dt[shown_dt++], 256, "%s adaptive %s %.0f ms, nova %.0f ms", what,
                         a->completed ? "" : "(not completed)", a->downtime_ms, nv->downtime_ms);
            if (!ok_t && shown_t < SHOW)
                snprintf(fail_t[shown_t++], 256,
                         "%s adaptive %.1f s (%.0f ms), fastest %s %.1f s (%.0f ms): %.2fx", what,
                         a->total_s, a->downtime_ms, row_name[fk], fastest,
                         runs[fk][i].r.downtime_ms, a->total_s / fastest);
        } else if (runs[ROW_ADAPTIVE][i].mode == MODE_POST_COPY) {
            const sim_result *pc = &runs[ROW_PCAP][i].r;
            npc++;
            bool ok = a->completed && pc->completed && a->total_s <= TIME_SLACK * pc->total_s;
            pc_ok += ok;
            if (!ok && shown_pc < SHOW)
                snprintf(fail_pc[shown_pc++], 256, "%s adaptive %.1f s, pc-after-pre %.1f s: %.2fx",
                         what, a->total_s, pc->total_s, a->total_s / pc->total_s);
        } else {
            /* Not converging, no post-copy: how soon adaptive decides
             * against nova (its end, completed or not). */
            ndec++;
            if (runs[ROW_ADAPTIVE][i].r.total_s <= runs[ROW_NOVA][i].r.total_s)
                dec_early++;
        }
    }
    printf("\nGoal checks (converging = pre-copy alone completes it at a constant %d ms, no "
           "throttle,\npause or post-copy, inside the cap; %zu of %zu scenarios):\n",
           MAX_DOWNTIME_MS, nconv, (size_t)NSCEN);
    printf("  converging: adaptive's downtime <= nova's (or nova did not complete): %zu/%zu\n",
           dt_ok, nconv);
    printf("    of the %zu that miss it, %zu are where nova took more than %.1fx the fastest "
           "time: it bought\n    its lower downtime with time the other goal does not allow\n",
           nconv - dt_ok, dt_conflict, TIME_SLACK);
    for (size_t i = 0; i < shown_dt; i++)
        printf("    fails: %s\n", fail_dt[i]);
    printf("  converging: adaptive's total <= %.1fx the fastest policy's: %zu/%zu\n", TIME_SLACK,
           t_ok, nconv);
    printf("    of the %zu that miss it, %zu are where nova itself takes more than %.1fx: no "
           "downtime as low\n    as nova's finishes in time there\n",
           nconv - t_ok, t_conflict, TIME_SLACK);
    for (size_t i = 0; i < shown_t; i++)
        printf("    fails: %s\n", fail_t[i]);
    printf("  not converging, post-copy permitted: adaptive's total <= %.1fx "
           "pc-after-pre's: %zu/%zu\n",
           TIME_SLACK, pc_ok, npc);
    for (size_t i = 0; i < shown_pc; i++)
        printf("    fails: %s\n", fail_pc[i]);
    printf("  not converging, no post-copy: adaptive ends no later than nova: %zu/%zu\n", dec_early,
           ndec);

    /* Letting QEMU throttle against post-copy, on the same guests: each
     * guest that does not converge, under adaptive with auto-converge only
     * and with post-copy only. */
    static double gi_ac[NSCEN], gi_pc[NSCEN], t_ac[NSCEN], t_pc[NSCEN];
    size_t n = 0, ac_done = 0, pc_done = 0;
    double sum_ac = 0, sum_pc = 0, thr_s = 0;
    for (size_t i = 0; i + 1 < NSCEN; i++) {
        if (runs[ROW_ADAPTIVE][i].mode != MODE_AUTO_CONVERGE || conv[i])
            continue;
        const sim_result *ac = &runs[ROW_ADAPTIVE][i].r, *pc = &runs[ROW_ADAPTIVE][i + 1].r;
        gi_ac[n] = ac->guest_impact_s;
        gi_pc[n] = pc->guest_impact_s;
        t_ac[n] = ac->total_s;
        t_pc[n] = pc->total_s;
        sum_ac += ac->guest_impact_s;
        sum_pc += pc->guest_impact_s;
        thr_s += ac->guest_stall_s;
        ac_done += ac->completed;
        pc_done += pc->completed;
        n++;
    }
    printf("\nNot converging (%zu guests), adaptive letting QEMU throttle vs post-copy:\n", n);
    printf("  auto-converge: %zu completed, guest impact median %.1f s, max %.1f s, sum %.0f s "
           "(%.0f s of it throttling); total time median %.1f s\n",
           ac_done, pct(gi_ac, n, 0.5), pct(gi_ac, n, 1.0), sum_ac, thr_s, pct(t_ac, n, 0.5));
    printf("  post-copy:     %zu completed, guest impact median %.1f s, max %.1f s, sum %.0f s; "
           "total time median %.1f s\n",
           pc_done, pct(gi_pc, n, 0.5), pct(gi_pc, n, 1.0), sum_pc, pct(t_pc, n, 0.5));
}

static int usage(void)
{
    fprintf(stderr, "usage: policy-matrix [--csv]\n"
                    "       policy-matrix --trace none|nova|adaptive|pc-after-pre|kubevirt "
                    "RAM_GIB DIRTY_X LINK_GBIT 0|1|2\n");
    return 2;
}

static int row_parse(const char *name, row_kind *out)
{
    for (size_t k = 0; k < NROW; k++) {
        if (strcmp(name, row_name[k]) == 0) {
            *out = (row_kind)k;
            return 0;
        }
    }
    return -1;
}

static int trace(char **argv)
{
    row_kind kind;
    sim_params p;
    run r;
    int mode = atoi(argv[4]);

    if (row_parse(argv[0], &kind) != 0 || mode < 0 || mode >= NMODE)
        return usage();
    memset(&p, 0, sizeof p);
    p.ram_bytes = atof(argv[1]) * GIB;
    p.link_rate = atof(argv[3]) * 1e9 / 8.0;
    p.dirty_rate = atof(argv[2]) * p.link_rate;
    p.working_set_bytes = WORKING_SET_SHARE * p.ram_bytes;
    p.permit_post_copy = mode == MODE_POST_COPY;
    p.auto_converge = mode == MODE_AUTO_CONVERGE;
    if (!(p.ram_bytes > 0) || !(p.link_rate > 0) || p.dirty_rate < 0)
        return usage();
    printf("policy %s: RAM %.0f GiB, working set %.0f%%, dirty %.2f x link, link %.1f Gbit/s, "
           "%s, %s\n",
           row_name[kind], p.ram_bytes / GIB, WORKING_SET_SHARE * 100, atof(argv[2]), atof(argv[3]),
           mode_name[mode], converging(&p) ? "converging" : "not converging");
    run_one(kind, &p, mode, print_action, &r);
    printf("%s after %.1f s (%.2f x floor), downtime %.0f ms, sent %.2f x RAM, %u iterations, "
           "post-copy %.1f s, guest stall %.1f s, throttle %.0f%%, guest impact %.2f s\n",
           r.r.completed ? "completed" : "not completed", r.r.total_s, r.r.total_s / r.floor_s,
           r.r.downtime_ms, r.r.bytes_sent / r.ram_bytes, r.r.iterations, r.r.postcopy_s,
           r.r.guest_stall_s, r.r.max_throttle * 100, r.r.guest_impact_s);
    return 0;
}

int main(int argc, char **argv)
{
    static run runs[NROW][NSCEN];
    static bool conv[NSCEN];
    bool csv = false;

    if (argc == 7 && strcmp(argv[1], "--trace") == 0)
        return trace(argv + 2);
    if (argc == 2 && strcmp(argv[1], "--csv") == 0)
        csv = true;
    else if (argc != 1)
        return usage();

    if (csv)
        printf("policy,ram_gib,dirty_x,link_gbit,mode,converging,completed,total_s,floor_x,"
               "downtime_ms,bytes_x_ram,postcopy_s,iterations,guest_impact_s\n");
    for (size_t i = 0; i < NSCEN; i++) {
        sim_params p;
        int mode;
        scenario(i, &p, &mode);
        conv[i] = converging(&p);
        for (size_t k = 0; k < NROW; k++) {
            run_one((row_kind)k, &p, mode, NULL, &runs[k][i]);
            const sim_result *r = &runs[k][i].r;
            if (csv && (k != ROW_PCAP || mode == MODE_POST_COPY))
                printf("%s,%.0f,%.2f,%.0f,%s,%d,%d,%.1f,%.3f,%.1f,%.3f,%.1f,%u,%.3f\n", row_name[k],
                       p.ram_bytes / GIB, p.dirty_rate / p.link_rate, p.link_rate * 8 / 1e9,
                       mode_name[mode], conv[i], r->completed, r->total_s,
                       r->total_s / runs[k][i].floor_s, r->downtime_ms, r->bytes_sent / p.ram_bytes,
                       r->postcopy_s, r->iterations, r->guest_impact_s);
        }
    }
    if (csv)
        return 0;

    printf("%zu scenarios: RAM {1,4,16,64} GiB x dirty {0,0.25,0.5,0.9,1.5,3} x link x "
           "{1,10,25} Gbit/s x {neither, auto-converge, post-copy};\nworking set %.0f%% of RAM, "
           "Nova's defaults (500 ms, 10 steps, 75 s/GiB, 800 s/GiB, 150 s, abort), sampled "
           "every 0.5 s.\n\n",
           (size_t)NSCEN, WORKING_SET_SHARE * 100);
    printf("| policy       | mode      | completed       | med T  | p95 T  | med dt | max dt | "
           "dt>max | B/RAM | p-c# | med p-c | med GI | p95 GI | max GI  | gaveup |\n");
    printf("|--------------|-----------|-----------------|--------|--------|--------|--------|"
           "--------|-------|------|---------|--------|--------|---------|--------|\n");
    for (int mode = 0; mode < NMODE; mode++)
        for (size_t k = 0; k < NROW; k++)
            if (k != ROW_PCAP || mode == MODE_POST_COPY)
                print_row(row_name[k], runs[k], NSCEN, mode);

    size_t missed = 0;
    for (size_t i = 0; i < NSCEN; i++)
        if (runs[ROW_NOVA][i].r.completed && !runs[ROW_ADAPTIVE][i].r.completed)
            missed++;
    printf("\nT = total time / (RAM / link), completed runs; dt = guest-visible downtime in ms "
           "(final stop + time paused);\ndt>max = pre-copy completions whose downtime exceeded "
           "%d ms; B/RAM = bytes sent / RAM;\np-c# = runs that used post-copy, med p-c = their "
           "median seconds in post-copy;\nGI = guest impact in seconds of guest time lost "
           "(throttle share x time + missing working-set\nshare x time in post-copy + downtime), "
           "over all runs of the row; gaveup = median seconds to\nthe end of the runs that did "
           "not complete (aborted by the policy, or at the cap).\n"
           "Scenarios nova completed and adaptive did not: %zu\n",
           MAX_DOWNTIME_MS, missed);
    goal_checks(runs, conv);
    return 0;
}
