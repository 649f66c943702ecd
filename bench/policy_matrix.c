/* policy_matrix.c - compares policies none, nova and adaptive on the simulator.
 *
 * Runs every scenario of a matrix (RAM, dirty rate as a multiple of link
 * bandwidth, link speed, post-copy permitted or not) under each policy with
 * Nova's default settings and prints one row per policy: completion rate,
 * total time as a multiple of the one-pass floor (RAM / bandwidth), downtime,
 * bytes sent per byte of RAM and time in post-copy. Virtual time: the numbers
 * are the model's, identical on every run and machine.
 *
 *   build/bench/policy-matrix                 the table
 *   build/bench/policy-matrix --csv           one line per run
 *   build/bench/policy-matrix --trace POLICY RAM_GIB DIRTY_X LINK_GBIT POSTCOPY
 *                                             one run, every action and its reason
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
/* The guest writes at random over this share of its RAM. */
#define WORKING_SET_SHARE 0.25
#define NRAM (sizeof ram_gib / sizeof ram_gib[0])
#define NDIRTY (sizeof dirty_x / sizeof dirty_x[0])
#define NLINK (sizeof link_gbit / sizeof link_gbit[0])
#define NSCEN (NRAM * NDIRTY * NLINK * 2)

typedef struct run {
    double floor_s;
    double ram_bytes;
    bool post_copy_permitted;
    sim_result r;
} run;

static void scenario(size_t i, sim_params *p)
{
    size_t pc = i % 2, l = (i / 2) % NLINK, d = (i / 2 / NLINK) % NDIRTY,
           m = i / 2 / NLINK / NDIRTY;

    memset(p, 0, sizeof *p);
    p->ram_bytes = ram_gib[m] * GIB;
    p->link_rate = link_gbit[l] * 1e9 / 8.0;
    p->dirty_rate = dirty_x[d] * p->link_rate;
    p->working_set_bytes = WORKING_SET_SHARE * p->ram_bytes;
    p->permit_post_copy = pc == 1;
}

static void print_action(void *ctx, const sim *s, const policy_action *a)
{
    (void)ctx;
    printf("  t=%9.1fs iter=%-4u remaining=%9.0f MiB  %-12s %5u  %s\n", s->now, s->iteration,
           s->pass_remaining / MIB, policy_action_str(a->kind), a->downtime_ms, a->reason);
}

static void run_one(policy_kind kind, const sim_params *p, sim_action_cb cb, run *out)
{
    policy_settings ps;

    policy_settings_default(&ps, kind, policy_data_gib((uint64_t)p->ram_bytes, NULL, 0));
    ps.permit_post_copy = p->permit_post_copy;
    /* Every policy gets the same cap: Nova's completion timeout (plus a
     * second, so Nova's own timeout fires first). For "none" the cap is an
     * operator giving up; such a run counts as not completed. */
    double cap = ps.completion_timeout_s * ps.data_gib + 1;
    out->floor_s = p->ram_bytes / p->link_rate;
    out->ram_bytes = p->ram_bytes;
    out->post_copy_permitted = p->permit_post_copy;
    sim_run(p, &ps, 0.5, cap, cb, NULL, &out->r);
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

/* One table row over the runs whose post-copy permission is pc (-1: all). */
static void print_row(const char *name, const run *runs, size_t n, int pc, uint32_t max_dt)
{
    static double t[NSCEN], dt[NSCEN], bytes[NSCEN], post[NSCEN];
    size_t nt = 0, npost = 0, total = 0, over = 0;
    double maxdt = 0;

    for (size_t i = 0; i < n; i++) {
        const run *x = &runs[i];
        if (pc >= 0 && x->post_copy_permitted != (pc == 1))
            continue;
        total++;
        if (!x->r.completed)
            continue;
        t[nt] = x->r.total_s / x->floor_s;
        dt[nt] = x->r.downtime_ms;
        bytes[nt] = x->r.bytes_sent / x->ram_bytes;
        nt++;
        maxdt = fmax(maxdt, x->r.downtime_ms);
        if (x->r.postcopy_s > 0)
            post[npost++] = x->r.postcopy_s;
        else if (x->r.downtime_ms > max_dt)
            over++;
    }
    printf(
        "| %-8s | %-4s | %3zu/%-3zu %5.1f%% | %6.2f | %6.2f | %7.0f | %8.0f | %6zu | %5.2f | %4zu | %8.1f |\n",
        name,
        pc < 0 ? "all"
        : pc   ? "yes"
               : "no",
        nt, total, 100.0 * (double)nt / (double)total, pct(t, nt, 0.5), pct(t, nt, 0.95),
        pct(dt, nt, 0.5), maxdt, over, pct(bytes, nt, 0.5), npost, pct(post, npost, 0.5));
}

static int usage(void)
{
    fprintf(stderr,
            "usage: policy-matrix [--csv]\n"
            "       policy-matrix --trace none|nova|adaptive RAM_GIB DIRTY_X LINK_GBIT 0|1\n");
    return 2;
}

static int trace(char **argv)
{
    policy_kind kind;
    sim_params p;
    run r;

    if (policy_kind_parse(argv[0], &kind) != 0)
        return usage();
    memset(&p, 0, sizeof p);
    p.ram_bytes = atof(argv[1]) * GIB;
    p.link_rate = atof(argv[3]) * 1e9 / 8.0;
    p.dirty_rate = atof(argv[2]) * p.link_rate;
    p.working_set_bytes = WORKING_SET_SHARE * p.ram_bytes;
    p.permit_post_copy = atoi(argv[4]) != 0;
    if (!(p.ram_bytes > 0) || !(p.link_rate > 0) || p.dirty_rate < 0)
        return usage();
    printf("policy %s: RAM %.0f GiB, working set %.0f%%, dirty %.2f x link, link %.1f Gbit/s, "
           "post-copy %s\n",
           policy_kind_str(kind), p.ram_bytes / GIB, WORKING_SET_SHARE * 100, atof(argv[2]),
           atof(argv[3]), p.permit_post_copy ? "permitted" : "not permitted");
    run_one(kind, &p, print_action, &r);
    printf("%s after %.1f s (%.2f x floor), downtime %.0f ms, sent %.2f x RAM, %u iterations, "
           "post-copy %.1f s, guest stall %.1f s, throttle %.0f%%\n",
           r.r.completed ? "completed" : "not completed", r.r.total_s, r.r.total_s / r.floor_s,
           r.r.downtime_ms, r.r.bytes_sent / r.ram_bytes, r.r.iterations, r.r.postcopy_s,
           r.r.guest_stall_s, r.r.max_throttle * 100);
    return 0;
}

int main(int argc, char **argv)
{
    static run runs[3][NSCEN];
    const policy_kind kinds[3] = { POLICY_NONE, POLICY_NOVA, POLICY_ADAPTIVE };
    bool csv = false;

    if (argc == 7 && strcmp(argv[1], "--trace") == 0)
        return trace(argv + 2);
    if (argc == 2 && strcmp(argv[1], "--csv") == 0)
        csv = true;
    else if (argc != 1)
        return usage();

    if (csv)
        printf("policy,ram_gib,dirty_x,link_gbit,post_copy,completed,total_s,floor_x,"
               "downtime_ms,bytes_x_ram,postcopy_s,iterations\n");
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < NSCEN; i++) {
            sim_params p;
            scenario(i, &p);
            run_one(kinds[k], &p, NULL, &runs[k][i]);
            const sim_result *r = &runs[k][i].r;
            if (csv)
                printf("%s,%.0f,%.2f,%.0f,%d,%d,%.1f,%.3f,%.1f,%.3f,%.1f,%u\n",
                       policy_kind_str(kinds[k]), p.ram_bytes / GIB, p.dirty_rate / p.link_rate,
                       p.link_rate * 8 / 1e9, p.permit_post_copy, r->completed, r->total_s,
                       r->total_s / runs[k][i].floor_s, r->downtime_ms, r->bytes_sent / p.ram_bytes,
                       r->postcopy_s, r->iterations);
        }
    }
    if (csv)
        return 0;

    printf("%zu scenarios: RAM {1,4,16,64} GiB x dirty {0,0.25,0.5,0.9,1.5,3} x link x "
           "{1,10,25} Gbit/s x post-copy {no,yes};\nworking set %.0f%% of RAM, Nova's defaults "
           "(500 ms, 10 steps, 75 s/GiB, 800 s/GiB, 150 s, abort), sampled every 0.5 s.\n\n",
           NSCEN, WORKING_SET_SHARE * 100);
    printf("| policy   | p-c  | completed       | med T  | p95 T  | med dt  | max dt   | dt>max | "
           "B/RAM | p-c# | med p-c  |\n");
    printf("|----------|------|-----------------|--------|--------|---------|----------|--------|"
           "-------|------|----------|\n");
    for (int pc = -1; pc <= 1; pc++)
        for (size_t k = 0; k < 3; k++)
            print_row(policy_kind_str(kinds[k]), runs[k], NSCEN, pc, 500);

    size_t missed = 0;
    for (size_t i = 0; i < NSCEN; i++)
        if (runs[1][i].r.completed && !runs[2][i].r.completed)
            missed++;
    printf("\nT = total time / (RAM / link); dt = guest-visible downtime in ms (final stop + time "
           "paused);\ndt>max = pre-copy completions whose downtime exceeded 500 ms; B/RAM = bytes "
           "sent / RAM;\np-c# = runs that used post-copy, med p-c = their median seconds in "
           "post-copy.\nScenarios nova completed and adaptive did not: %zu\n",
           missed);
    return 0;
}
