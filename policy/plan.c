/* plan.c - the drain planner: which guest goes where, when, and how.
 *
 * DESIGN
 * ------
 * A drain is a scheduling problem: jobs (guests) of known size on a few
 * machines (destination links), to be finished by a deadline. Even its
 * simplest form, identical machines and fixed job lengths, is NP-hard, and
 * ours is worse: a job's length depends on how much of its link it gets
 * (a busy guest that converges alone may never converge on half a link),
 * and on a choice per job (pre-copy, or post-copy after the first pass).
 * So the planner does not search for an optimum. It predicts with the same
 * model the rest of migrationd trusts (sim.h under policy.h), and searches
 * a small, well-understood space of schedules with it.
 *
 * Why longest first. Each guest is first predicted alone on the fastest
 * destination's link. Guests start in order of those predictions, longest
 * first, each on the destination where it would end soonest given what is
 * already planned there (Graham's LPT rule). On identical machines LPT is
 * within 4/3 of the optimal makespan, and it avoids the failure every FIFO
 * drain has: the one 64 GiB guest that happens to be last, starting when
 * everything else is done and alone deciding the makespan. Guests whose
 * pre-copy cannot complete and who may not use post-copy go last: they will
 * fail whatever we do, and should not hold a link while the others wait.
 *
 * Why equal link sharing. Migrations running at once to one destination are
 * TCP streams through the same bottleneck, and long-lived TCP flows with the
 * same round-trip time converge to roughly equal shares. Equal shares are
 * also exactly what the simulated hypervisor does (service/hv_sim.c), so a
 * drain on the simulator can be checked against its plan to the second,
 * and any difference is a bug, not noise. Sharing matters for the choice of
 * parallelism: it never adds bandwidth on one link, it only spreads data
 * over more destinations, and it can hurt: a guest that dirties memory at
 * 60 % of its link converges alone but not on half of it.
 *
 * Why the fewest post-copy guests wins. Post-copy always ends, and for a
 * busy guest it ends much sooner (one pass plus the working set, instead
 * of passes until the downtime ramp catches up). But while it runs the
 * guest lives on two hosts: a network failure or the death of either host
 * loses the guest, and it runs slowed by page faults. That is a price worth
 * paying to meet a deadline and not otherwise. So among the schedules that
 * meet the deadline the planner takes the one with the fewest post-copy
 * guests, then the shortest makespan. When none meets it, it takes the one
 * that loses the fewest guests, then the least makespan x (1 +
 * PLAN_LATE_POSTCOPY_COST x the share of guests in post-copy): every such
 * schedule is late, so a switch buys only time, and switching every guest
 * must save more than about 9 % of the drain's time to be worth its risk.
 * (Ranked by makespan alone, a late drain of 100 guests put 88 of them in
 * post-copy to end in 239 s instead of 246 s.) For a given
 * parallelism, guests are switched in order of what the switch saves them
 * alone (busiest first); the number switched is found by bisection, which
 * finds the same count as switching one at a time as long as switching one
 * more never makes the drain end later (it does not in the model: a switch
 * only shortens a guest and frees its link sooner). A pre-copy guest that
 * the shared-link simulation predicts will not complete is switched too.
 *
 * Limits of the model, which an operator should know:
 *  - The source host's own link is not modelled: each destination's link is
 *    independent. Draining to two peers through one 10 Gbit/s NIC is two
 *    10 Gbit/s links here. Configure peers' bandwidth_mibps to the share
 *    each really gets when the source is the bottleneck.
 *  - A dirty rate measured over one second is a sample of a workload that
 *    changes; the working set, when unknown, is taken as all of RAM, which
 *    overstates post-copy's working-set resend for guests that write little.
 *  - The model of a guest is random writes over its working set at a
 *    constant rate (sim.h); a guest that streams through memory, or changes
 *    behaviour mid-drain, will differ. The engine re-plans after each
 *    migration with the actual numbers.
 *  - Free memory is taken as what each destination had before the drain;
 *    every guest planned there (pinned ones included) counts its full RAM
 *    against it, with no overcommit and no other tenants arriving.
 *  - Auto-converge is not modelled (plan_input has no such setting), so
 *    a guest that would converge only with it is predicted to need post-copy.
 *  - The search is a heuristic: LPT order, greedy destinations, one ranking
 *    of post-copy candidates. It can miss a schedule that meets a deadline
 *    by a small margin; plan_result.lower_bound_s says how far off any
 *    schedule must be.
 *
 * Cost. Each guest is simulated alone twice (identical guests once). Each
 * schedule is simulated in steps of the monitor's interval, with every
 * migration sampled by its policy at its own ticks and iteration boundaries
 * (as sim_run() does); when one ends inside a step, the step is replayed
 * up to that end, so the link is re-shared at the right moment. At most
 * PLAN_MAX_PARALLEL simulations are live at once, so a thousand guests need
 * no more stack than four. A schedule is cut short once it cannot beat the
 * best found so far (past the deadline the best meets), since schedules in
 * which guests fail are the costly ones: a failing pre-copy runs until its
 * policy gives up. Measured (2-core machine, -O2): 100 guests, 2 links, up
 * to 4 at once, 0.5 s interval: about 10 ms; 1000 guests, up to 16: 0.25 s.
 */
#include "policy/plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy/sim.h"

/* Two instants closer than this are the same one (seconds). */
#define PLAN_EPS 1e-6

/* When no schedule meets the deadline, each guest in post-copy costs this
 * share of the makespan over the number of guests (see DESIGN). */
#define PLAN_LATE_POSTCOPY_COST 0.1

/* One migration being simulated. */
typedef struct job {
    size_t gi;    /* the guest's index */
    int dest;     /* its destination's index */
    double start; /* when it started, seconds from now */
    double next_tick;
    uint32_t seen_iteration;
    bool capped; /* still running at PLAN_MAX_SECONDS */
    sim s;
    policy pol;
} job;

/* What one simulated schedule came to. */
typedef struct score {
    bool feasible;
    bool cut; /* stopped at the horizon: the unfinished count as failing */
    size_t nunplaced, nfailing, npost;
    double makespan;
    unsigned parallel;
} score;

/* ---- one migration ------------------------------------------------------ */

static int guest_dest(const plan_guest *g)
{
    return g->pinned ? g->pinned_dest : g->dest;
}

static plan_mode guest_mode(const plan_guest *g)
{
    return g->pinned ? g->pinned_mode : g->mode;
}

/* A pinned guest started in the past; a start a clock's skew in the future
 * is taken as now rather than refused. */
static double guest_release(const plan_guest *g)
{
    return g->pinned && g->pinned_start_s < 0 ? g->pinned_start_s : 0;
}

static void job_start(job *j, const plan_input *in, const plan_guest *g, size_t gi, int dest,
                      double start, plan_mode mode, double link)
{
    sim_params sp;
    policy_settings ps = in->policy;
    uint64_t disk = (uint64_t)g->disk_bytes;

    memset(&sp, 0, sizeof sp);
    sp.ram_bytes = g->ram_bytes;
    sp.working_set_bytes = g->working_set_bytes > 0 ? g->working_set_bytes : g->ram_bytes;
    sp.dirty_rate = g->dirty_rate;
    sp.link_rate = link;
    sp.disk_bytes = g->disk_bytes;
    sp.permit_post_copy = mode == PLAN_POSTCOPY;
    ps.data_gib = policy_data_gib((uint64_t)g->ram_bytes, &disk, g->disk_bytes > 0 ? 1 : 0);
    ps.permit_post_copy = mode == PLAN_POSTCOPY;
    ps.post_copy_after_first_pass = mode == PLAN_POSTCOPY;

    j->gi = gi;
    j->dest = dest;
    j->start = start;
    j->next_tick = in->interval_s;
    j->capped = false;
    sim_init(&j->s, &sp);
    policy_init(&j->pol, &ps);
    j->seen_iteration = j->s.iteration;
}

/* Runs j to local time until (or its end), sampling its policy on the
 * interval's ticks and at each iteration boundary, as sim_run() does. A
 * migration still running at PLAN_MAX_SECONDS is aborted (or, in post-copy,
 * which cannot be aborted, left as it is) and marked capped. */
static void job_advance(job *j, double interval, double until)
{
    if (until > PLAN_MAX_SECONDS)
        until = PLAN_MAX_SECONDS;
    while (sim_active(&j->s) && j->s.now < until - 1e-9) {
        double before = j->s.now;

        sim_advance(&j->s, fmin(j->next_tick, until) - j->s.now);
        if (!sim_active(&j->s))
            break;
        bool tick = j->s.now >= j->next_tick - 1e-9;
        if (tick)
            j->next_tick += interval;
        if (!tick && j->s.iteration == j->seen_iteration) {
            if (j->s.now <= before)
                break; /* what is left is below the clock's resolution */
            continue;
        }
        j->seen_iteration = j->s.iteration;

        policy_sample sample;
        sim_sample(&j->s, &sample);
        policy_action a = policy_step_sample(&j->pol, &sample);
        if (a.kind != POLICY_ACT_NONE)
            sim_apply(&j->s, &a);
    }
    if (sim_active(&j->s) && j->s.now >= PLAN_MAX_SECONDS - 1e-9) {
        j->capped = true;
        sim_abort(&j->s);
    }
}

static bool job_done(const job *j)
{
    return !sim_active(&j->s) || j->capped;
}

/* Seconds from j's start to its end (or to now while it runs). */
static double job_length(const job *j)
{
    return sim_active(&j->s) ? j->s.now : j->s.end;
}

/* ---- sorting without the C library's qsort (policy/ has no stdlib.h) ---- */

typedef bool (*before_fn)(const void *ctx, size_t a, size_t b);

static void sift_down(size_t *v, size_t root, size_t n, before_fn before, const void *ctx)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && before(ctx, v[child], v[child + 1]))
            child++;
        if (!before(ctx, v[root], v[child]))
            return;
        size_t t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

/* Heapsort of indices: before() must be a strict total order (every
 * comparator here breaks ties by index), so the result is deterministic. */
static void sort_idx(size_t *v, size_t n, before_fn before, const void *ctx)
{
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, i, n, before, ctx);
    for (size_t end = n - 1; end > 0; end--) {
        size_t t = v[0];
        v[0] = v[end];
        v[end] = t;
        sift_down(v, 0, end, before, ctx);
    }
}

/* Start order: pinned guests first, by their real start; then the others
 * by their planned order. */
static bool start_before(const void *ctx, size_t a, size_t b)
{
    const plan_guest *g = ctx;
    if (g[a].pinned != g[b].pinned)
        return g[a].pinned;
    if (g[a].pinned) {
        if (g[a].pinned_start_s != g[b].pinned_start_s)
            return g[a].pinned_start_s < g[b].pinned_start_s;
    } else if (g[a].order != g[b].order) {
        return g[a].order < g[b].order;
    }
    return a < b;
}

/* ---- a whole schedule, links shared ------------------------------------- */

/* Each live migration gets an equal share of its destination's link. */
static void share_links(job *live, size_t nlive, const plan_dest *d)
{
    unsigned count[PLAN_MAX_DESTS] = { 0 };

    for (size_t k = 0; k < nlive; k++)
        count[live[k].dest]++;
    for (size_t k = 0; k < nlive; k++)
        sim_set_link_rate(&live[k].s, d[live[k].dest].link_rate / count[live[k].dest]);
}

static void advance_all(job *live, size_t nlive, double interval, double until)
{
    for (size_t k = 0; k < nlive; k++)
        job_advance(&live[k], interval, until - live[k].start);
}

/* Simulates the schedule in g (dest, mode, order; pinned guests their
 * pinned ones), at most parallel at once (pinned guests start at their real
 * start whatever the limit, up to PLAN_MAX_PARALLEL). queue is scratch of
 * ng entries. Fills each guest's start_s, duration_s and completes, and *o.
 * At horizon (seconds from now; INFINITY = none) it stops, and every guest
 * not yet ended counts as failing: the search passes the time beyond which
 * a schedule cannot win, since schedules with failing guests, which run
 * until their policy gives up, are the expensive ones to simulate. */
static void simulate(const plan_input *in, plan_guest *g, size_t ng, const plan_dest *d,
                     unsigned parallel, double horizon, size_t *queue, score *o)
{
    job live[PLAN_MAX_PARALLEL], saved[PLAN_MAX_PARALLEL];
    size_t nlive = 0, nq = 0, qi = 0;
    double t = 0;

    memset(o, 0, sizeof *o);
    o->parallel = parallel;
    for (size_t i = 0; i < ng; i++) {
        g[i].start_s = 0;
        g[i].duration_s = 0;
        g[i].completes = false;
        if (guest_mode(&g[i]) == PLAN_POSTCOPY)
            o->npost++;
        if (guest_dest(&g[i]) < 0) {
            o->nunplaced++;
            continue;
        }
        queue[nq++] = i;
        t = fmin(t, guest_release(&g[i]));
    }
    sort_idx(queue, nq, start_before, g);

    while (qi < nq || nlive > 0) {
        if (t > horizon) {
            o->cut = true;
            o->nfailing += nlive + (nq - qi);
            o->makespan = fmax(o->makespan, t);
            break;
        }
        /* Start what may start now, in order: a guest waits for its
         * release (a pinned one's real start, the others' now) and a slot. */
        while (qi < nq) {
            const plan_guest *q = &g[queue[qi]];
            unsigned limit = q->pinned ? PLAN_MAX_PARALLEL : parallel;
            if (guest_release(q) > t + PLAN_EPS || nlive >= limit)
                break;
            job_start(&live[nlive++], in, q, queue[qi], guest_dest(q), t, guest_mode(q),
                      d[guest_dest(q)].link_rate);
            qi++;
        }
        if (nlive == 0) {
            t = guest_release(&g[queue[qi]]);
            continue;
        }
        share_links(live, nlive, d);

        /* The step ends early at the next release, and at the end of one
         * whose final stop runs past the previous step (it holds its slot
         * and its share of the link until then). */
        double target = t + in->interval_s;
        if (qi < nq) {
            double rel = guest_release(&g[queue[qi]]);
            if (rel > t + PLAN_EPS && rel < target)
                target = rel;
        }
        for (size_t k = 0; k < nlive; k++) {
            double end = live[k].start + job_length(&live[k]);
            if (job_done(&live[k]) && end > t + PLAN_EPS && end < target)
                target = end;
        }
        memcpy(saved, live, nlive * sizeof *live);
        advance_all(live, nlive, in->interval_s, target);

        /* One that ended inside the step freed a share of its link (and a
         * slot) from its end on: replay the step to exactly then. The ones
         * that end then are run to their end, so that rounding cannot
         * leave them a hair short of it. */
        double ends[PLAN_MAX_PARALLEL], first = INFINITY;
        for (size_t k = 0; k < nlive; k++) {
            ends[k] = job_done(&live[k]) ? live[k].start + job_length(&live[k]) : INFINITY;
            first = fmin(first, ends[k]);
        }
        if (first < target - PLAN_EPS && first > t + PLAN_EPS) {
            memcpy(live, saved, nlive * sizeof *live);
            for (size_t k = 0; k < nlive; k++) {
                double until = ends[k] <= first + PLAN_EPS ? ends[k] + PLAN_EPS : first;
                job_advance(&live[k], in->interval_s, until - live[k].start);
            }
            target = first;
        }
        t = target;

        for (size_t k = 0; k < nlive;) {
            if (!job_done(&live[k]) || live[k].start + job_length(&live[k]) > t + PLAN_EPS) {
                k++;
                continue;
            }
            plan_guest *x = &g[live[k].gi];
            x->start_s = live[k].start;
            x->duration_s = job_length(&live[k]);
            x->completes = live[k].s.state == SIM_COMPLETED && !live[k].capped;
            if (!x->completes)
                o->nfailing++;
            o->makespan = fmax(o->makespan, x->start_s + x->duration_s);
            live[k] = live[--nlive];
        }
    }
    o->feasible = o->nunplaced == 0 && o->nfailing == 0 && o->makespan <= in->deadline_s;
}

/* ---- input -------------------------------------------------------------- */

static bool finite_nonneg(double x)
{
    return isfinite(x) && x >= 0;
}

static int check_input(const plan_input *in, const plan_guest *g, size_t ng, const plan_dest *d,
                       size_t nd, unsigned parallel, bool check_plan)
{
    if (!in || !g || !d || ng == 0 || ng > PLAN_MAX_GUESTS || nd == 0 || nd > PLAN_MAX_DESTS)
        return -1;
    if (!isfinite(in->deadline_s) || !(in->deadline_s > 0) || !isfinite(in->interval_s) ||
        !(in->interval_s > 0) || parallel < 1 || parallel > PLAN_MAX_PARALLEL)
        return -1;
    for (size_t k = 0; k < nd; k++)
        if (!isfinite(d[k].link_rate) || !(d[k].link_rate > 0) || !finite_nonneg(d[k].free_bytes))
            return -1;
    for (size_t i = 0; i < ng; i++) {
        const plan_guest *x = &g[i];
        if (!isfinite(x->ram_bytes) || !(x->ram_bytes > 0) ||
            !finite_nonneg(x->working_set_bytes) || !finite_nonneg(x->dirty_rate) ||
            !finite_nonneg(x->disk_bytes))
            return -1;
        if (x->pinned && (x->pinned_dest < 0 || (size_t)x->pinned_dest >= nd ||
                          (unsigned)x->pinned_mode > PLAN_POSTCOPY || !isfinite(x->pinned_start_s)))
            return -1;
        if (check_plan && !x->pinned &&
            (x->dest < -1 || (x->dest >= 0 && (size_t)x->dest >= nd) ||
             (unsigned)x->mode > PLAN_POSTCOPY))
            return -1;
    }
    return 0;
}

int plan_simulate(const plan_input *in, plan_guest *g, size_t ng, const plan_dest *d, size_t nd,
                  unsigned parallel, plan_result *out)
{
    size_t queue[PLAN_MAX_GUESTS];
    score sc;

    if (!out || check_input(in, g, ng, d, nd, parallel, true) < 0)
        return -1;
    simulate(in, g, ng, d, parallel, INFINITY, queue, &sc);
    out->makespan_s = sc.makespan;
    out->nfailing = sc.nfailing;
    out->feasible = sc.feasible;
    return 0;
}

/* ---- the search --------------------------------------------------------- */

/* Everything plan_make() carries between the steps of its search. */
typedef struct search {
    const plan_input *in;
    plan_guest *g;
    size_t ng;
    const plan_dest *d;
    size_t nd;
    double ref_link; /* the fastest destination's: alone predictions use it */
    size_t queue[PLAN_MAX_GUESTS];
    size_t cand[PLAN_MAX_GUESTS];
    size_t ncand;
    bool have_best;
    score best;
    int best_dest[PLAN_MAX_GUESTS];
    int best_order[PLAN_MAX_GUESTS];
    unsigned char best_mode[PLAN_MAX_GUESTS];
} search;

/* Alone on the reference link in each mode; identical guests (the common
 * case in a drain of one flavour) are simulated once. */
static void predict_alone(search *S)
{
    plan_guest *g = S->g;

    for (size_t i = 0; i < S->ng; i++) {
        size_t j;
        for (j = 0; j < i; j++)
            if (g[j].ram_bytes == g[i].ram_bytes &&
                g[j].working_set_bytes == g[i].working_set_bytes &&
                g[j].dirty_rate == g[i].dirty_rate && g[j].disk_bytes == g[i].disk_bytes)
                break;
        if (j < i) {
            g[i].alone_precopy_s = g[j].alone_precopy_s;
            g[i].alone_postcopy_s = g[j].alone_postcopy_s;
            g[i].precopy_converges = g[j].precopy_converges;
            continue;
        }
        job jb;
        job_start(&jb, S->in, &g[i], i, 0, 0, PLAN_PRECOPY, S->ref_link);
        job_advance(&jb, S->in->interval_s, PLAN_MAX_SECONDS);
        g[i].precopy_converges = jb.s.state == SIM_COMPLETED && !jb.capped;
        g[i].alone_precopy_s = g[i].precopy_converges ? job_length(&jb) : PLAN_MAX_SECONDS;
        job_start(&jb, S->in, &g[i], i, 0, 0, PLAN_POSTCOPY, S->ref_link);
        job_advance(&jb, S->in->interval_s, PLAN_MAX_SECONDS);
        g[i].alone_postcopy_s = jb.s.state == SIM_COMPLETED && !jb.capped ? job_length(&jb)
                                                                          : PLAN_MAX_SECONDS;
    }
}

/* What a guest weighs in ordering and balancing: its alone prediction in
 * its mode. One that cannot complete in pre-copy weighs what it would move
 * in post-copy, so that its endless pre-copy does not swamp the balance. */
static double guest_weight(const plan_guest *g)
{
    plan_mode m = guest_mode(g);
    if (m == PLAN_POSTCOPY || !g->precopy_converges)
        return g->alone_postcopy_s;
    return g->alone_precopy_s;
}

static bool hopeless(const plan_guest *g)
{
    return guest_mode(g) == PLAN_PRECOPY && !g->precopy_converges;
}

/* Longest first; guests that cannot complete last; ties by index. */
static bool lpt_before(const void *ctx, size_t a, size_t b)
{
    const plan_guest *g = ctx;
    if (hopeless(&g[a]) != hopeless(&g[b]))
        return !hopeless(&g[a]);
    if (guest_weight(&g[a]) != guest_weight(&g[b]))
        return guest_weight(&g[a]) > guest_weight(&g[b]);
    return a < b;
}

/* Order and destinations for the modes now in g: longest first, each on
 * the destination where it would end soonest (its planned alone-seconds,
 * scaled to that link) among those with room, ties to the most room left,
 * then the lower index. */
static void schedule(search *S)
{
    plan_guest *g = S->g;
    double load[PLAN_MAX_DESTS], room[PLAN_MAX_DESTS];
    size_t n = 0;
    int order = 0;

    for (size_t k = 0; k < S->nd; k++) {
        load[k] = 0;
        room[k] = S->d[k].free_bytes > 0 ? S->d[k].free_bytes : INFINITY;
    }
    for (size_t i = 0; i < S->ng; i++) {
        if (g[i].pinned) {
            /* A running guest loads its link for what is left of it. */
            int k = g[i].pinned_dest;
            double left = guest_weight(&g[i]) * S->ref_link / S->d[k].link_rate +
                          guest_release(&g[i]);
            load[k] += fmax(0, left);
            room[k] -= g[i].ram_bytes;
        } else {
            S->queue[n++] = i;
        }
    }
    sort_idx(S->queue, n, lpt_before, g);
    for (size_t q = 0; q < n; q++) {
        plan_guest *x = &g[S->queue[q]];
        int best = -1;
        double best_end = INFINITY;
        for (size_t k = 0; k < S->nd; k++) {
            if (room[k] < x->ram_bytes)
                continue;
            double end = load[k] + guest_weight(x) * S->ref_link / S->d[k].link_rate;
            if (best < 0 || end < best_end - PLAN_EPS ||
                (end <= best_end + PLAN_EPS && room[k] > room[best])) {
                best = (int)k;
                best_end = end;
            }
        }
        x->dest = best;
        x->order = best < 0 ? -1 : order++;
        if (best >= 0) {
            load[best] = best_end;
            room[best] -= x->ram_bytes;
        }
    }
}

/* A late schedule's cost in seconds: its makespan, raised by the share of
 * the ng guests it puts in post-copy (see DESIGN). Never below the
 * makespan. */
static double late_cost(const score *s, size_t ng)
{
    return s->makespan * (1 + PLAN_LATE_POSTCOPY_COST * (double)s->npost / (double)ng);
}

/* Past this time (seconds from now) a schedule cannot beat the best so
 * far: after the deadline when the best meets it, after the best's cost
 * when the best loses no guest (a cost is never below a makespan); else
 * none. */
static double horizon(const search *S)
{
    if (!S->have_best)
        return INFINITY;
    if (S->best.feasible)
        return S->in->deadline_s;
    if (S->best.nunplaced + S->best.nfailing == 0)
        return late_cost(&S->best, S->ng); /* no less than its makespan */
    return INFINITY;
}

/* Schedules and simulates the modes now in g at this parallelism; pre-copy
 * guests the simulation says will not complete are switched to post-copy
 * (when permitted) and the schedule tried again. Stops early once it cannot
 * beat the best so far: switching only adds post-copy guests. */
static void evaluate(search *S, unsigned parallel, score *sc)
{
    for (size_t round = 0; round <= S->ng; round++) {
        bool switched = false;
        size_t npost = 0;

        for (size_t i = 0; i < S->ng; i++)
            npost += guest_mode(&S->g[i]) == PLAN_POSTCOPY;
        if (S->have_best && S->best.feasible && npost > S->best.npost) {
            memset(sc, 0, sizeof *sc);
            sc->cut = true;
            sc->npost = npost;
            sc->makespan = INFINITY;
            sc->parallel = parallel;
            return;
        }
        schedule(S);
        simulate(S->in, S->g, S->ng, S->d, parallel, horizon(S), S->queue, sc);
        if (!S->in->permit_post_copy || sc->nfailing == 0 || sc->cut)
            return;
        for (size_t i = 0; i < S->ng; i++) {
            plan_guest *x = &S->g[i];
            if (!x->pinned && x->dest >= 0 && !x->completes && x->mode == PLAN_PRECOPY) {
                x->mode = PLAN_POSTCOPY;
                switched = true;
            }
        }
        if (!switched)
            return;
    }
}

/* a is better than b, schedules of ng guests: see DESIGN. */
static bool better(const score *a, const score *b, size_t ng)
{
    if (a->feasible != b->feasible)
        return a->feasible;
    if (!a->feasible && a->nunplaced + a->nfailing != b->nunplaced + b->nfailing)
        return a->nunplaced + a->nfailing < b->nunplaced + b->nfailing;
    if (a->feasible && a->npost != b->npost)
        return a->npost < b->npost;
    if (!a->feasible) {
        double ca = late_cost(a, ng), cb = late_cost(b, ng);
        if (fabs(ca - cb) > PLAN_EPS)
            return ca < cb;
    }
    if (fabs(a->makespan - b->makespan) > PLAN_EPS)
        return a->makespan < b->makespan;
    if (a->npost != b->npost)
        return a->npost < b->npost;
    return a->parallel < b->parallel;
}

static void consider(search *S, const score *sc)
{
    if (sc->cut || (S->have_best && !better(sc, &S->best, S->ng)))
        return;
    S->have_best = true;
    S->best = *sc;
    for (size_t i = 0; i < S->ng; i++) {
        S->best_dest[i] = S->g[i].dest;
        S->best_order[i] = S->g[i].order;
        S->best_mode[i] = (unsigned char)S->g[i].mode;
    }
}

/* The modes of the first k candidates switched, the rest as they start. */
static score try_switched(search *S, unsigned parallel, size_t k)
{
    score sc;

    for (size_t i = 0; i < S->ng; i++)
        if (!S->g[i].pinned)
            S->g[i].mode = S->in->permit_post_copy && !S->g[i].precopy_converges ? PLAN_POSTCOPY
                                                                                 : PLAN_PRECOPY;
    for (size_t c = 0; c < k; c++)
        S->g[S->cand[c]].mode = PLAN_POSTCOPY;
    evaluate(S, parallel, &sc);
    consider(S, &sc);
    return sc;
}

static bool saves_more(const void *ctx, size_t a, size_t b)
{
    const plan_guest *g = ctx;
    double sa = g[a].alone_precopy_s - g[a].alone_postcopy_s;
    double sb = g[b].alone_precopy_s - g[b].alone_postcopy_s;
    if (sa != sb)
        return sa > sb;
    return a < b;
}

/* For one parallelism: pre-copy wherever it completes; if that misses the
 * deadline, the fewest switches (busiest first) that meet it, by bisection
 * between none and all of the candidates. */
static void try_parallel(search *S, unsigned parallel)
{
    score sc = try_switched(S, parallel, 0);
    if (sc.feasible || !S->in->permit_post_copy || S->ncand == 0)
        return;
    sc = try_switched(S, parallel, S->ncand);
    if (!sc.feasible)
        return;
    size_t lo = 0, hi = S->ncand;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (try_switched(S, parallel, mid).feasible)
            hi = mid;
        else
            lo = mid;
    }
}

static void summarise(const search *S, plan_result *out)
{
    char extra[160] = "";
    size_t len = 0;

    if (out->nunplaced > 0)
        len += (size_t)snprintf(extra + len, sizeof extra - len,
                                "; %zu guest(s) fit on no destination's free memory",
                                out->nunplaced);
    if (out->nfailing > 0 && len < sizeof extra)
        snprintf(extra + len, sizeof extra - len, "; %zu guest(s) predicted not to complete",
                 out->nfailing);
    snprintf(out->summary, sizeof out->summary,
             "%zu guests to %zu destination(s), %u at once, %zu in post-copy after the first "
             "pass: predicted to end in %.0f s, %s the deadline of %.0f s (no schedule can end "
             "before %.0f s)%s",
             S->ng, S->nd, out->parallel, out->npostcopy, out->makespan_s,
             out->makespan_s <= S->in->deadline_s ? "within" : "missing", S->in->deadline_s,
             out->lower_bound_s, extra);
}

int plan_make(const plan_input *in, plan_guest *g, size_t ng, const plan_dest *d, size_t nd,
              plan_result *out)
{
    /* The search's arrays are most of this (about 30 KiB with 1000 guests);
     * with the live simulations, plan_make() needs about 60 KiB of stack. */
    search S;
    double bytes = 0, links = 0;

    if (!out || !in || check_input(in, g, ng, d, nd, in->max_parallel, false) < 0)
        return -1;
    memset(&S, 0, sizeof S);
    S.in = in;
    S.g = g;
    S.ng = ng;
    S.d = d;
    S.nd = nd;
    for (size_t k = 0; k < nd; k++) {
        S.ref_link = fmax(S.ref_link, d[k].link_rate);
        links += d[k].link_rate;
    }
    for (size_t i = 0; i < ng; i++) {
        bytes += g[i].ram_bytes + g[i].disk_bytes;
        if (g[i].pinned) {
            g[i].dest = g[i].pinned_dest;
            g[i].mode = g[i].pinned_mode;
            g[i].order = -1;
        }
    }
    predict_alone(&S);

    /* Candidates for a switch to post-copy: unpinned guests whose pre-copy
     * completes alone but takes longer than post-copy would. */
    S.ncand = 0;
    for (size_t i = 0; i < ng; i++)
        if (!g[i].pinned && g[i].precopy_converges &&
            g[i].alone_precopy_s - g[i].alone_postcopy_s > 0)
            S.cand[S.ncand++] = i;
    sort_idx(S.cand, S.ncand, saves_more, g);

    unsigned top = in->max_parallel < ng ? in->max_parallel : (unsigned)ng;
    for (unsigned p = 1; p <= top; p++)
        try_parallel(&S, p);

    /* The winner, simulated once more to leave its numbers in g. */
    for (size_t i = 0; i < ng; i++) {
        if (g[i].pinned)
            continue;
        g[i].dest = S.best_dest[i];
        g[i].order = S.best_order[i];
        g[i].mode = (plan_mode)S.best_mode[i];
    }
    score sc;
    simulate(in, g, ng, d, S.best.parallel, INFINITY, S.queue, &sc);

    memset(out, 0, sizeof *out);
    out->feasible = sc.feasible;
    out->makespan_s = sc.makespan;
    out->parallel = sc.parallel;
    out->npostcopy = sc.npost;
    out->nunplaced = sc.nunplaced;
    out->nfailing = sc.nfailing;
    out->lower_bound_s = bytes / links;
    summarise(&S, out);
    return 0;
}

const char *plan_mode_str(plan_mode m)
{
    return m == PLAN_POSTCOPY ? "post-copy" : "pre-copy";
}
