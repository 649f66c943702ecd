/* metrics.h - the Prometheus text exposition (format 0.0.4) of the engine's metrics.
 *
 * GET /metrics (api/metrics.c's handler) renders an md_engine_snapshot with
 * the functions below; they are apart from the handler so that the unit
 * tests (tests/unit/test_api_metrics.c) check the format itself: escaping,
 * cumulative histogram buckets, _sum and _count. README.rst ("Metrics")
 * lists every series and its KubeVirt counterpart.
 *
 * Private to api/. No state: any thread may call any of them on its own
 * buffer.
 */
#ifndef MD_API_METRICS_H
#define MD_API_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "service/engine.h"

/* The Content-Type of the text format, version 0.0.4. */
#define MD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A growing text buffer. Zero it to start; after an allocation failure
 * every later append is dropped and failed stays true. The caller frees
 * text (NULL until the first append). */
typedef struct md_metrics_buf {
    char *text; /* NUL-terminated */
    size_t len, cap;
    bool failed;
} md_metrics_buf;

/* Appends "# HELP name help" and "# TYPE name type": type is "counter",
 * "gauge" or "histogram"; help is escaped (backslash and line feed). */
void md_metrics_family(md_metrics_buf *b, const char *name, const char *type, const char *help);

/* Appends one sample line "name{k="v",...} value". labels is NULL (no
 * labels) or a list of name, value pairs ended by NULL; each value is made
 * valid UTF-8 ('?' for a byte that is not) and escaped as the format says
 * (backslash, double quote and line feed as \\, \" and \n). A value of 0.5
 * is written "0.5", an integral one up to 2^53 without a fraction, NaN and
 * the infinities as "NaN", "+Inf" and "-Inf". */
void md_metrics_sample(md_metrics_buf *b, const char *name, const char *const *labels,
                       double value);

/* Appends histogram h as name_bucket lines, one per bound and one with
 * le="+Inf", each counting every observation up to its bound (cumulative,
 * so the +Inf bucket equals the count), then name_sum and name_count; each
 * line carries labels (as md_metrics_sample, NULL for none) before le. */
void md_metrics_histogram(md_metrics_buf *b, const char *name, const char *const *labels,
                          const md_engine_histogram *h);

/* The whole page for snapshot s of a daemon of the given version, in a new
 * NUL-terminated string (free()); NULL when out of memory. */
char *md_metrics_render(const md_engine_snapshot *s, const char *version);

#endif /* MD_API_METRICS_H */
