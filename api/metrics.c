/* metrics.c - GET /metrics: the engine's metrics in Prometheus's text format 0.0.4.
 *
 * DESIGN
 * ------
 * The page is rendered from one md_engine_snapshot (md_engine_metrics():
 * a copy taken under the engine lock, in memory, so the page answers while
 * the store is degraded and never waits for the hypervisor). Nothing is
 * kept between scrapes: the counters live in the engine.
 *
 * Names follow Prometheus's conventions: the prefix migrationd_, base
 * units in the name (_bytes, _seconds, _ratio), _total on counters.
 * Every family is written with its HELP and TYPE even when it has no
 * sample, and the label values of counters that could be zero (each final
 * state, each action) are all written from the start, so that rate() and
 * increase() see a series before its first increment.
 *
 * The per-migration series carry the labels uuid (the migration's),
 * instance_uuid, instance_name, destination and state. Not "instance":
 * Prometheus gives every scraped series an "instance" label of its own
 * (the target's address) and would rename ours exported_instance.
 * instance_name and destination come from callers and libvirt, so every
 * label value is escaped (backslash, double quote, line feed) and made
 * valid UTF-8, which Prometheus requires of label values.
 */
#include "api/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* ---- the buffer ------------------------------------------------------------ */

static bool grow(md_metrics_buf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *t = realloc(b->text, cap);
    if (!t) {
        b->failed = true;
        return false;
    }
    b->text = t;
    b->cap = cap;
    return true;
}

static void put_mem(md_metrics_buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static void put(md_metrics_buf *b, const char *s)
{
    put_mem(b, s, strlen(s));
}

/* Appends s with each byte of `special` written as a backslash and its
 * letter: the text format's escapes are \\, \" and \n. */
static void put_escaped(md_metrics_buf *b, const char *s, const char *special)
{
    for (; *s; s++) {
        if (*s == '\\' && strchr(special, '\\'))
            put(b, "\\\\");
        else if (*s == '"' && strchr(special, '"'))
            put(b, "\\\"");
        else if (*s == '\n' && strchr(special, '\n'))
            put(b, "\\n");
        else
            put_mem(b, s, 1);
    }
}

/* A sample value as the format reads it (Go's ParseFloat). Integral values
 * up to 2^53 (byte counts, counters) are written whole, so that they read
 * back exactly; others with 15 significant digits when those read back as
 * the same double (0.05, not 0.050000000000000003), else with 17, which
 * always do. */
static void format_value(double v, char out[40])
{
    if (isnan(v)) {
        snprintf(out, 40, "NaN");
    } else if (isinf(v)) {
        snprintf(out, 40, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) <= 9007199254740992.0) {
        snprintf(out, 40, "%.0f", v);
    } else {
        snprintf(out, 40, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, 40, "%.17g", v);
    }
}

/* ---- the format's lines ------------------------------------------------------ */

void md_metrics_family(md_metrics_buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP ");
    put(b, name);
    put(b, " ");
    put_escaped(b, help, "\\\n");
    put(b, "\n# TYPE ");
    put(b, name);
    put(b, " ");
    put(b, type);
    put(b, "\n");
}

/* Appends labels and, when le is not NULL, le="le" after them, in braces
 * (nothing when there are none). */
static void put_labels(md_metrics_buf *b, const char *const *labels, const char *le)
{
    char value[4 * MD_NAME_LEN];
    bool any = false;

    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        put(b, any ? "," : "{");
        put(b, labels[i]);
        put(b, "=\"");
        snprintf(value, sizeof value, "%s", labels[i + 1]);
        md_api_utf8_sanitize(value);
        put_escaped(b, value, "\\\"\n");
        put(b, "\"");
        any = true;
    }
    if (le) {
        put(b, any ? "," : "{");
        put(b, "le=\"");
        put(b, le);
        put(b, "\"");
        any = true;
    }
    if (any)
        put(b, "}");
}

void md_metrics_sample(md_metrics_buf *b, const char *name, const char *const *labels, double value)
{
    char v[40];

    put(b, name);
    put_labels(b, labels, NULL);
    format_value(value, v);
    put(b, " ");
    put(b, v);
    put(b, "\n");
}

static void histogram_line(md_metrics_buf *b, const char *name, const char *suffix,
                           const char *const *labels, const char *le, double value)
{
    char v[40];

    put(b, name);
    put(b, suffix);
    put_labels(b, labels, le);
    format_value(value, v);
    put(b, " ");
    put(b, v);
    put(b, "\n");
}

void md_metrics_histogram(md_metrics_buf *b, const char *name, const char *const *labels,
                          const md_engine_histogram *h)
{
    char le[40];
    uint64_t cumulative = 0;

    for (size_t i = 0; i < h->nbounds; i++) {
        cumulative += h->counts[i];
        format_value(h->bounds[i], le);
        histogram_line(b, name, "_bucket", labels, le, (double)cumulative);
    }
    histogram_line(b, name, "_bucket", labels, "+Inf", (double)h->count);
    histogram_line(b, name, "_sum", labels, NULL, h->sum);
    histogram_line(b, name, "_count", labels, NULL, (double)h->count);
}

/* ---- the page ------------------------------------------------------------------ */

static const md_mig_state final_states[] = { MD_MIG_COMPLETED, MD_MIG_CANCELLED, MD_MIG_FAILED,
                                             MD_MIG_ERROR };
#define NFINAL (sizeof final_states / sizeof final_states[0])

/* The per-migration gauges: name, help, and the value of a record. */
typedef struct per_migration {
    const char *name;
    const char *help;
    double (*value)(const md_migration *m);
} per_migration;

static double data_total(const md_migration *m)
{
    return (double)m->memory_total_bytes + (double)m->disk_total_bytes;
}
static double data_processed(const md_migration *m)
{
    return (double)m->memory_processed_bytes + (double)m->disk_processed_bytes;
}
static double data_remaining(const md_migration *m)
{
    return (double)m->memory_remaining_bytes + (double)m->disk_remaining_bytes;
}
static double memory_total(const md_migration *m)
{
    return (double)m->memory_total_bytes;
}
static double memory_processed(const md_migration *m)
{
    return (double)m->memory_processed_bytes;
}
static double memory_remaining(const md_migration *m)
{
    return (double)m->memory_remaining_bytes;
}
static double dirty_rate(const md_migration *m)
{
    return (double)m->dirty_rate;
}
static double transfer_rate(const md_migration *m)
{
    return (double)m->transfer_rate;
}
static double iteration(const md_migration *m)
{
    return (double)m->memory_iteration;
}
static double downtime_limit(const md_migration *m)
{
    return (double)m->current_downtime_ms / 1000.0;
}
static double progress(const md_migration *m)
{
    return (double)m->progress / 100.0;
}
static double created(const md_migration *m)
{
    return (double)m->created_at / 1000.0;
}

static const per_migration gauges[] = {
    { "migrationd_migration_data_total_bytes",
      "Memory and disk data the migration has to copy, as the hypervisor last reported "
      "(0 until its job starts).",
      data_total },
    { "migrationd_migration_data_processed_bytes",
      "Memory and disk data copied so far (pages dirtied again count again).", data_processed },
    { "migrationd_migration_data_remaining_bytes", "Memory and disk data still to copy.",
      data_remaining },
    { "migrationd_migration_memory_total_bytes", "Guest memory the migration has to copy.",
      memory_total },
    { "migrationd_migration_memory_processed_bytes", "Guest memory copied so far.",
      memory_processed },
    { "migrationd_migration_memory_remaining_bytes", "Guest memory still to copy.",
      memory_remaining },
    { "migrationd_migration_memory_dirty_rate_bytes_per_second",
      "How fast the guest dirties its memory, as the hypervisor last reported (0 when "
      "unknown).",
      dirty_rate },
    { "migrationd_migration_transfer_rate_bytes_per_second",
      "How fast the migration copies data, as the hypervisor last reported.", transfer_rate },
    { "migrationd_migration_memory_iteration",
      "The pass over guest memory pre-copy is in (0 before the first).", iteration },
    { "migrationd_migration_downtime_limit_seconds",
      "The maximum downtime now set on the job by the policy (0 until it sets one).",
      downtime_limit },
    { "migrationd_migration_progress_ratio",
      "Share of memory and disk data no longer remaining, 0 to 1; capped at 0.99 until "
      "the migration completes, and never going down.",
      progress },
    { "migrationd_migration_created_timestamp_seconds",
      "When the migration was requested (Unix time).", created },
};

/* The labels of a migration's series: NULL-terminated pairs. */
static void migration_labels(const md_migration *m, const char *labels[11])
{
    labels[0] = "uuid";
    labels[1] = m->uuid;
    labels[2] = "instance_uuid";
    labels[3] = m->instance_uuid;
    labels[4] = "instance_name";
    labels[5] = m->instance_name;
    labels[6] = "destination";
    labels[7] = m->dest_compute;
    labels[8] = "state";
    labels[9] = md_mig_state_str(m->state);
    labels[10] = NULL;
}

static void render_node(md_metrics_buf *b, const md_engine_snapshot *s, const char *version)
{
    const char *lv[] = { "version", version, NULL };

    md_metrics_family(b, "migrationd_build_info", "gauge",
                      "Always 1; the version label is migrationd's version.");
    md_metrics_sample(b, "migrationd_build_info", lv, 1);
    md_metrics_family(b, "migrationd_start_time_seconds", "gauge",
                      "When the engine started (Unix time): the counters count from then.");
    md_metrics_sample(b, "migrationd_start_time_seconds", NULL,
                      (double)s->counters.started_at / 1000.0);
    md_metrics_family(b, "migrationd_migrations_queued", "gauge",
                      "Migrations waiting for a free worker.");
    md_metrics_sample(b, "migrationd_migrations_queued", NULL, (double)s->queued);
    md_metrics_family(b, "migrationd_migrations_running", "gauge",
                      "Migrations preparing, running, in post-copy or in post-copy recovery.");
    md_metrics_sample(b, "migrationd_migrations_running", NULL, (double)s->running);
    md_metrics_family(b, "migrationd_store_degraded", "gauge",
                      "1 while the database cannot be written (new requests are refused and "
                      "state changes wait in memory), else 0.");
    md_metrics_sample(b, "migrationd_store_degraded", NULL, s->health.degraded ? 1 : 0);
    md_metrics_family(b, "migrationd_store_pending_writes", "gauge",
                      "State changes and events waiting for the database.");
    md_metrics_sample(b, "migrationd_store_pending_writes", NULL, (double)s->health.pending_writes);
}

static void render_counters(md_metrics_buf *b, const md_engine_counters *c)
{
    const char *lv[3] = { NULL, NULL, NULL };

    md_metrics_family(b, "migrationd_migrations_created_total", "counter",
                      "Migrations accepted since the daemon started.");
    md_metrics_sample(b, "migrationd_migrations_created_total", NULL, (double)c->created);

    md_metrics_family(b, "migrationd_migrations_ended_total", "counter",
                      "Migrations that reached a final state since the daemon started, by "
                      "that state.");
    lv[0] = "state";
    for (size_t i = 0; i < NFINAL; i++) {
        lv[1] = md_mig_state_str(final_states[i]);
        md_metrics_sample(b, "migrationd_migrations_ended_total", lv,
                          (double)c->ended[final_states[i]]);
    }

    md_metrics_family(b, "migrationd_policy_actions_total", "counter",
                      "Actions the policy took on migrations (carried out by the hypervisor) "
                      "since the daemon started, by action.");
    lv[0] = "action";
    for (int k = POLICY_ACT_SET_DOWNTIME; k <= POLICY_ACT_ABORT; k++) {
        lv[1] = policy_action_str((policy_action_kind)k);
        md_metrics_sample(b, "migrationd_policy_actions_total", lv, (double)c->policy_actions[k]);
    }

    md_metrics_family(b, "migrationd_commands_total", "counter",
                      "Operators' requests on migrations accepted since the daemon started, "
                      "by command.");
    lv[0] = "command";
    for (int k = 0; k < MD_ENGINE_NOPS; k++) {
        lv[1] = md_engine_op_str((md_engine_op)k);
        md_metrics_sample(b, "migrationd_commands_total", lv, (double)c->commands[k]);
    }

    md_metrics_family(b, "migrationd_postcopy_recoveries_started_total", "counter",
                      "Post-copy migrations that broke or stalled and went into recovery since "
                      "the daemon started.");
    md_metrics_sample(b, "migrationd_postcopy_recoveries_started_total", NULL,
                      (double)c->recoveries_started);
    md_metrics_family(b, "migrationd_postcopy_recoveries_ended_total", "counter",
                      "Post-copy recoveries that ended since the daemon started, by outcome: "
                      "resumed, completed, error (given up, both halves kept), other.");
    lv[0] = "outcome";
    for (int k = 0; k < MD_ENGINE_NRECOVERY_OUTCOMES; k++) {
        lv[1] = md_engine_recovery_outcome_str((md_engine_recovery_outcome)k);
        md_metrics_sample(b, "migrationd_postcopy_recoveries_ended_total", lv,
                          (double)c->recoveries_ended[k]);
    }

    md_metrics_family(b, "migrationd_migration_duration_seconds", "histogram",
                      "Time from a migration's request to its final state (time queued "
                      "included), by that state.");
    lv[0] = "state";
    for (size_t i = 0; i < NFINAL; i++) {
        lv[1] = md_mig_state_str(final_states[i]);
        md_metrics_histogram(b, "migrationd_migration_duration_seconds", lv,
                             &c->duration[final_states[i]]);
    }
    md_metrics_family(b, "migrationd_migration_downtime_seconds", "histogram",
                      "The guest's downtime at the switch-over of each completed migration, as "
                      "the hypervisor reported it.");
    md_metrics_histogram(b, "migrationd_migration_downtime_seconds", NULL, &c->downtime);
}

static const md_drain_state drain_final_states[] = { MD_DRAIN_COMPLETED, MD_DRAIN_PARTIAL,
                                                     MD_DRAIN_CANCELLED, MD_DRAIN_FAILED };

/* The drain in progress (at most one) and the drains' ends. Its series
 * carry its uuid, so that a second drain after it is a new series rather
 * than a jump in the first one's; they go when it ends, as a migration's
 * do, and the ends are counted. The predicted end is absent until the
 * first plan makes one: 0 would read as a prediction long past. */
static void render_drains(md_metrics_buf *b, const md_engine_snapshot *s)
{
    const md_engine_drain_metrics *d = &s->drain;
    const char *lv[5] = { "uuid", d->uuid, NULL, NULL, NULL };
    const struct {
        const char *name;
        size_t n;
    } by[] = { { "done", d->counts.done },
               { "failed", d->counts.failed },
               { "remaining", d->counts.remaining } };

    md_metrics_family(b, "migrationd_drain_info", "gauge",
                      "1 for the drain in progress, with its state (planning: measuring and "
                      "making its first plan; running: migrating by the plan).");
    lv[2] = "state";
    lv[3] = md_drain_state_str(d->state);
    if (s->draining)
        md_metrics_sample(b, "migrationd_drain_info", lv, 1);

    md_metrics_family(b, "migrationd_drain_guests", "gauge",
                      "The guests of the drain in progress by where they are: done (moved), "
                      "failed (staying here), remaining (waiting or migrating).");
    for (size_t i = 0; s->draining && i < sizeof by / sizeof by[0]; i++) {
        lv[3] = by[i].name;
        md_metrics_sample(b, "migrationd_drain_guests", lv, (double)by[i].n);
    }

    lv[2] = NULL;
    md_metrics_family(b, "migrationd_drain_deadline_timestamp_seconds", "gauge",
                      "When the drain in progress should have moved every guest (Unix time).");
    if (s->draining)
        md_metrics_sample(b, "migrationd_drain_deadline_timestamp_seconds", lv,
                          (double)d->deadline_at / 1000.0);
    md_metrics_family(b, "migrationd_drain_predicted_end_timestamp_seconds", "gauge",
                      "When the last plan of the drain in progress predicts its last guest ends "
                      "(Unix time); absent until its first plan.");
    if (s->draining && d->predicted_end_at > 0)
        md_metrics_sample(b, "migrationd_drain_predicted_end_timestamp_seconds", lv,
                          (double)d->predicted_end_at / 1000.0);

    md_metrics_family(b, "migrationd_drains_ended_total", "counter",
                      "Drains that ended since the daemon started, by their final state.");
    lv[0] = "state";
    for (size_t i = 0; i < sizeof drain_final_states / sizeof drain_final_states[0]; i++) {
        lv[1] = md_drain_state_str(drain_final_states[i]);
        md_metrics_sample(b, "migrationd_drains_ended_total", lv,
                          (double)s->counters.drains_ended[drain_final_states[i]]);
    }
}

char *md_metrics_render(const md_engine_snapshot *s, const char *version)
{
    md_metrics_buf b = { 0 };
    const char *labels[11];

    render_node(&b, s, version);
    render_counters(&b, &s->counters);
    render_drains(&b, s);
    for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++) {
        md_metrics_family(&b, gauges[g].name, "gauge", gauges[g].help);
        for (size_t i = 0; i < s->nmigrations; i++) {
            migration_labels(&s->migrations[i], labels);
            md_metrics_sample(&b, gauges[g].name, labels, gauges[g].value(&s->migrations[i]));
        }
    }
    if (b.failed) {
        free(b.text);
        return NULL;
    }
    return b.text;
}

/* ---- the route ------------------------------------------------------------------ */

void md_api_metrics_handler(md_api_ctx *c)
{
    md_engine_snapshot snap;
    md_err err;

    if (!md_api_check_query(c, NULL))
        return;
    md_status st = md_engine_metrics(c->deps->engine, &snap, &err);
    if (st != MD_OK) {
        md_api_fault_err(c->resp, st, &err);
        return;
    }
    char *text = md_metrics_render(&snap, MD_VERSION);
    md_engine_snapshot_clear(&snap);
    if (!text) {
        md_api_fault(c->resp, MD_ERR_NOMEM, "out of memory for the metrics page");
        return;
    }
    c->resp->status = 200;
    c->resp->body = text;
    c->resp->content_type = MD_METRICS_CONTENT_TYPE;
}
