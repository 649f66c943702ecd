/* watch.c - the live view of one migration or drain: `watch UUID`, `start --wait`,
 * `drain watch UUID` and `drain start --wait`.
 *
 * It polls the record (GET /v1/os-migrations/UUID or /v1/drains/UUID) and the events after
 * the last one seen (GET .../events?marker=ID), every --interval seconds, until the record is
 * final. What differs between the two is what a record's block says and when it is final
 * (a `kind`); the loop, the redrawing and the retries across a restart are one.
 *
 * On a terminal the view is a block of three lines redrawn in place: the state, a progress
 * bar and the percentage; what remains (memory, disk), the iteration and the elapsed time;
 * the rates (transfer, dirty) and the current downtime limit. A new event is printed as a
 * line above the block, which is then drawn again below it, so the timeline scrolls while
 * the progress stays put. The block is erased and redrawn with "\r", ESC[K (erase the line)
 * and ESC[A (cursor up), which every terminal since the VT100 understands; its lines are cut
 * to the terminal's width, as a line that wrapped would make "up one line" miss.
 *
 * Not on a terminal (a pipe, a log file, CI), every change of state, progress, iteration or
 * downtime limit is one plain line, and so is each event: a log of the same facts, without
 * a control character.
 */
#include "cli/migrationctl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* How long a daemon may stay unreachable during a watch before giving up: a restart (which
 * leaves running migrations running and re-attaches them) takes a few seconds; 30 s covers
 * one under load without hiding a daemon that is gone. */
#define MC_WATCH_UNREACHABLE_S 30.0

typedef struct view {
    bool tty;
    int drawn;          /* lines of the live block on the screen; the cursor ends the last */
    int64_t last_event; /* the id of the last event printed */
    int64_t created_ms; /* the record's created_at: events are timed from it */
    char last_key[160]; /* plain output: what the last progress line said, but the time */
} view;

/* What is watched: where its records are, what its block and plain line say, when it is
 * final, and what its end means for the exit code. */
typedef struct kind {
    const char *collection; /* "/v1/os-migrations" */
    const char *key;        /* "migration": the answer's member and the messages' noun */
    bool (*final)(json_object *rec);
    void (*block)(json_object *rec, int cols, char l[3][256]);
    void (*plain)(json_object *rec, char *out, size_t len);
    void (*change_key)(json_object *rec, char *out, size_t len); /* plain: a line when it moves */
    mc_status (*end)(json_object *rec, const char *uuid, mc_err *e);
} kind;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9) };
    nanosleep(&ts, NULL);
}

static int64_t member_int(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static const char *member_str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

/* The API's times, "2026-11-21T23:51:24.123000" (UTC), in ms since the epoch; 0 when the
 * text is not one. */
static int64_t time_ms(const char *s)
{
    struct tm tm = { 0 };
    int us = 0;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &us) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + us / 1000;
}

/* Bytes in the unit that keeps 1 to 4 digits before the point. */
static const char *size_text(int64_t b, char *out, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    int u = 0;

    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return out;
}

/* The terminal's width, or 80 when it does not say. */
static int term_cols(void)
{
    struct winsize ws;
    return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

/* The three lines of the block on a terminal of cols columns: the state, the bar (as wide
 * as the terminal allows) and the percentage; what remains, the iteration and the time; the
 * rates and the downtime limit. Each fits 80 columns but for the bar. */
static void block_lines(json_object *m, int cols, char l[3][256])
{
    char mem[32], disk[32], tr[32], dr[32], bar[64];
    const char *status = member_str(m, "status");
    int64_t p = member_int(m, "progress");

    p = p < 0 ? 0 : p > 100 ? 100 : p;
    /* "STATUS  [BAR] 100%" in cols - 1 columns, the bar 10 to 50 wide. */
    int width = cols - 1 - (int)strlen(status) - 2 - 2 - 5;
    width = width < 10 ? 10 : width > 50 ? 50 : width;
    int fill = (int)(p * width / 100);
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    snprintf(l[0], 256, "%s  [%s] %3lld%%", status, bar, (long long)p);
    snprintf(l[1], 256, "  remaining: memory %s, disk %s   iteration %lld   elapsed %.1f s",
             size_text(member_int(m, "memory_remaining_bytes"), mem, sizeof mem),
             size_text(member_int(m, "disk_remaining_bytes"), disk, sizeof disk),
             (long long)member_int(m, "memory_iteration"),
             (double)member_int(m, "elapsed_ms") / 1000.0);
    snprintf(l[2], 256, "  transfer %s/s   dirty %s/s   downtime limit %lld ms",
             size_text(member_int(m, "transfer_rate"), tr, sizeof tr),
             size_text(member_int(m, "dirty_rate"), dr, sizeof dr),
             (long long)member_int(m, "current_downtime_ms"));
}

/* The same facts as one line, for output that is not a terminal. */
static void plain_line(json_object *m, char *out, size_t len)
{
    char mem[32], disk[32], tr[32], dr[32];

    snprintf(out, len,
             "%7.1f s  %s  %lld%%  iteration %lld  remaining memory %s, disk %s  transfer %s/s"
             "  dirty %s/s  downtime limit %lld ms",
             (double)member_int(m, "elapsed_ms") / 1000.0, member_str(m, "status"),
             (long long)member_int(m, "progress"), (long long)member_int(m, "memory_iteration"),
             size_text(member_int(m, "memory_remaining_bytes"), mem, sizeof mem),
             size_text(member_int(m, "disk_remaining_bytes"), disk, sizeof disk),
             size_text(member_int(m, "transfer_rate"), tr, sizeof tr),
             size_text(member_int(m, "dirty_rate"), dr, sizeof dr),
             (long long)member_int(m, "current_downtime_ms"));
}

/* Erases the block from the screen, leaving the cursor at the start of its first line. */
static void clear_block(view *v)
{
    if (!v->drawn)
        return;
    fputs("\r\033[K", stdout);
    for (int i = 1; i < v->drawn; i++)
        fputs("\033[A\033[K", stdout);
    v->drawn = 0;
}

/* Prints s cut to the terminal's width (one column kept free: a line that fills the last
 * column leaves some terminals' cursor past it). */
static void put_cut(const char *s, int cols)
{
    int n = 0;
    for (const char *p = s; *p && n < cols - 1; p++) {
        putchar(*p);
        n += ((unsigned char)*p & 0xC0) != 0x80;
    }
}

/* Prints the events not printed yet, above the block (a terminal) or as lines. */
static void show_events(view *v, json_object *events)
{
    for (size_t i = 0; i < json_object_array_length(events); i++) {
        json_object *ev = json_object_array_get_idx(events, i);
        int64_t id = member_int(ev, "id");
        if (id <= v->last_event)
            continue;
        v->last_event = id;
        int64_t at = time_ms(member_str(ev, "at"));
        double rel = v->created_ms && at ? (double)(at - v->created_ms) / 1000.0 : 0.0;
        clear_block(v);
        printf("  %+8.3f s  %-18s %s\n", rel, member_str(ev, "kind"), member_str(ev, "message"));
    }
}

static void show_progress(view *v, const kind *k, json_object *m)
{
    char l[3][256], line[512];

    if (v->tty) {
        int cols = term_cols();
        k->block(m, cols, l);
        clear_block(v);
        for (int i = 0; i < 3; i++) {
            if (i)
                putchar('\n');
            put_cut(l[i], cols);
        }
        v->drawn = 3;
    } else {
        /* elapsed changes at every poll: a line per poll would be a log of time, not of the
         * migration; a line is printed when what the kind counts as a change changed (for a
         * migration the state, progress, iteration or downtime limit). */
        char key[sizeof v->last_key];
        k->change_key(m, key, sizeof key);
        if (strcmp(key, v->last_key) != 0) {
            k->plain(m, line, sizeof line);
            puts(line);
            snprintf(v->last_key, sizeof v->last_key, "%s", key);
        }
    }
    fflush(stdout);
}

static mc_status watch(mc_client *c, const mc_args *a, const kind *k, const char *uuid, mc_err *e)
{
    view v = { .tty = isatty(STDOUT_FILENO) == 1 };
    json_object *m = NULL, *ev = NULL;
    double start = now_s(), unreachable_since = 0.0;
    double interval = a->interval_s > 0 ? a->interval_s : 0.5;
    mc_status st;
    char note[1200];

    for (;;) {
        json_object_put(m);
        json_object_put(ev);
        m = ev = NULL;
        st = mc_client_get_record(c, k->collection, k->key, uuid, &m, e);
        if (st == MC_OK)
            st = mc_client_get_record_events(c, k->collection, k->key, uuid, v.last_event, &ev, e);
        if (st != MC_OK && c->unreachable) {
            /* Across a restart of the daemon: keep the last view and say why it is still. */
            double now = now_s();
            if (unreachable_since == 0.0)
                unreachable_since = now;
            if (now - unreachable_since > MC_WATCH_UNREACHABLE_S)
                goto cleanup;
            snprintf(note, sizeof note, "%s; retrying for up to %.0f s", e->msg,
                     MC_WATCH_UNREACHABLE_S);
            if (!v.tty && now == unreachable_since)
                printf("  %s\n", note); /* once per outage: a line per poll says nothing new */
            else if (v.drawn)
                fprintf(stdout, "\r\033[K  %.*s", term_cols() - 3, note);
            fflush(stdout);
            sleep_s(interval);
            continue;
        }
        if (st != MC_OK)
            goto cleanup;
        unreachable_since = 0.0;
        if (!v.created_ms)
            v.created_ms = time_ms(member_str(m, "created_at"));
        show_events(&v, ev);
        show_progress(&v, k, m);
        if (k->final(m))
            break;
        if (a->timeout_s > 0 && now_s() - start >= a->timeout_s) {
            if (v.drawn)
                putchar('\n');
            const char *state = member_str(m, "status")[0] ? member_str(m, "status")
                                                           : member_str(m, "state");
            st = mc_err_set(e, MC_ERR_TIMEOUT, "%s %s still %s after %.0f s (--timeout)", k->key,
                            uuid, state, a->timeout_s);
            goto cleanup;
        }
        sleep_s(interval);
    }
    if (v.drawn)
        putchar('\n');
    st = k->end(m, uuid, e);

cleanup:
    fflush(stdout);
    json_object_put(m);
    json_object_put(ev);
    return st;
}

/* ---- a migration ---- */

static bool migration_final(json_object *m)
{
    return mc_status_is_final(member_str(m, "status"));
}

static void migration_change_key(json_object *m, char *out, size_t len)
{
    snprintf(out, len, "%s|%lld|%lld|%lld", member_str(m, "status"),
             (long long)member_int(m, "progress"), (long long)member_int(m, "memory_iteration"),
             (long long)member_int(m, "current_downtime_ms"));
}

static mc_status migration_end(json_object *m, const char *uuid, mc_err *e)
{
    mc_status st;
    const char *status = member_str(m, "status");
    json_object *dt = NULL;
    json_object_object_get_ex(m, "downtime_ms", &dt);
    if (strcmp(status, "completed") == 0) {
        printf("migration %s completed in %.1f s", uuid,
               (double)member_int(m, "elapsed_ms") / 1000.0);
        if (dt)
            printf(" (downtime %lld ms)", (long long)json_object_get_int64(dt));
        putchar('\n');
        st = MC_OK;
    } else {
        const char *why = member_str(m, "error");
        st = mc_err_set(e, MC_ERR_ENDED, "migration %s ended %s%s%s", uuid, status,
                        why[0] ? ": " : "", why);
    }
    return st;
}

static const kind migration_kind = {
    .collection = "/v1/os-migrations",
    .key = "migration",
    .final = migration_final,
    .block = block_lines,
    .plain = plain_line,
    .change_key = migration_change_key,
    .end = migration_end,
};

mc_status mc_watch(mc_client *c, const mc_args *a, const char *uuid, mc_err *e)
{
    return watch(c, a, &migration_kind, uuid, e);
}

/* ---- a drain ---- */

static bool drain_final(json_object *d)
{
    const char *s = member_str(d, "state");
    return strcmp(s, "completed") == 0 || strcmp(s, "partial") == 0 ||
           strcmp(s, "cancelled") == 0 || strcmp(s, "failed") == 0;
}

/* "in 120 s", "40 s ago" or "-" for an API time relative to now. */
static const char *when_text(const char *t, char *out, size_t len)
{
    int64_t ms = time_ms(t);
    if (!ms) {
        snprintf(out, len, "-");
        return out;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double d = (double)(ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000)) / 1000.0;
    snprintf(out, len, d >= 0 ? "in %.0f s" : "%.0f s ago", fabs(d));
    return out;
}

/* The drain's three lines: its state, a bar of the guests that left and the counts; the
 * deadline and the plan's predicted end, relative to now; the plan's parallelism and
 * whether it meets the deadline. */
static void drain_block(json_object *d, int cols, char l[3][256])
{
    char bar[64], dl[32], pe[32];
    const char *state = member_str(d, "state");
    int64_t total = member_int(d, "guests_total"), done = member_int(d, "guests_done");

    int width = cols - 1 - (int)strlen(state) - 2 - 2 - 16;
    width = width < 10 ? 10 : width > 50 ? 50 : width;
    int fill = total > 0 ? (int)(done * width / total) : 0;
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    snprintf(l[0], 256, "%s  [%s] %lld/%lld guests", state, bar, (long long)done, (long long)total);
    snprintf(l[1], 256, "  done %lld   failed %lld   remaining %lld   parallel %lld",
             (long long)done, (long long)member_int(d, "guests_failed"),
             (long long)member_int(d, "guests_remaining"), (long long)member_int(d, "parallel"));
    json_object *f = NULL;
    json_object_object_get_ex(d, "feasible", &f);
    const char *end = member_str(d, "predicted_end_at");
    snprintf(l[2], 256, "  deadline %s   predicted end %s   %s",
             when_text(member_str(d, "deadline_at"), dl, sizeof dl), when_text(end, pe, sizeof pe),
             !end[0]                      ? "no plan yet"
             : json_object_get_boolean(f) ? "on time by the plan"
                                          : "late by the plan");
}

static void drain_plain(json_object *d, char *out, size_t len)
{
    char l[3][256];

    drain_block(d, 200, l);
    snprintf(out, len, "%s |%s |%s", l[0], l[1] + 1, l[2] + 1);
}

static void drain_change_key(json_object *d, char *out, size_t len)
{
    snprintf(out, len, "%s|%lld|%lld|%lld|%s", member_str(d, "state"),
             (long long)member_int(d, "guests_done"), (long long)member_int(d, "guests_failed"),
             (long long)member_int(d, "guests_remaining"), member_str(d, "predicted_end_at"));
}

static mc_status drain_end(json_object *d, const char *uuid, mc_err *e)
{
    const char *state = member_str(d, "state"), *why = member_str(d, "error");
    int64_t created = time_ms(member_str(d, "created_at")),
            ended = time_ms(member_str(d, "ended_at"));
    double took = created && ended ? (double)(ended - created) / 1000.0 : 0.0;

    if (strcmp(state, "completed") == 0) {
        printf("drain %s completed: every guest moved (%lld) in %.1f s, deadline %lld s\n", uuid,
               (long long)member_int(d, "guests_done"), took,
               (long long)member_int(d, "deadline_s"));
        return MC_OK;
    }
    return mc_err_set(e, MC_ERR_ENDED,
                      "drain %s ended %s: %lld of %lld guests moved, %lld failed%s%s", uuid, state,
                      (long long)member_int(d, "guests_done"),
                      (long long)member_int(d, "guests_total"),
                      (long long)member_int(d, "guests_failed"), why[0] ? ": " : "", why);
}

static const kind drain_kind = {
    .collection = "/v1/drains",
    .key = "drain",
    .final = drain_final,
    .block = drain_block,
    .plain = drain_plain,
    .change_key = drain_change_key,
    .end = drain_end,
};

mc_status mc_watch_drain(mc_client *c, const mc_args *a, const char *uuid, mc_err *e)
{
    return watch(c, a, &drain_kind, uuid, e);
}
