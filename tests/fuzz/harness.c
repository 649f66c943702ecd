/* harness.c - the API request fuzzer's framing, in-process stack and checks (see harness.h). */
#include "tests/fuzz/harness.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "service/hv_sim.h"
#include "tests/support/faults.h"
#include "tests/support/stack.h"

#define VM_A "11111111-1111-4111-8111-111111111111"

/* Rebuild the stack on a fresh database after this many creations, so
 * that lists (up to 1000 records a page) stay cheap. */
#define MAX_CREATES 300
/* Move simulated time by STEP_S after every STEP_EVERY requests. */
#define STEP_EVERY 4
#define STEP_S 0.5
#define NLINES 7
#define FIELD_MAX 4096

struct fz_stack {
    md_test_stack st;
    char last_uuid[MD_UUID_LEN];
    char last_drain[MD_UUID_LEN];
    unsigned long runs;
    unsigned long creates;
};

static void down(fz_stack *s)
{
    md_test_stack_close(&s->st);
    s->last_uuid[0] = '\0';
    s->last_drain[0] = '\0';
    s->creates = 0;
}

/* The shared test stack (tests/support/stack.h) with the harness's limits
 * and domains. Idle guests finish in about a simulated second; the busy
 * one needs the policy (or post-copy); the hot one never converges. */
static bool up(fz_stack *s)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    if (md_test_stack_init(&s->st, base, "fuzz") != 0)
        return false;
    s->st.cfg->service.max_concurrent_live_migrations = 1;
    s->st.cfg->api.max_body_bytes = 1024;
    md_test_stack_add_domain(&s->st, "vm-a", VM_A, 1024, 0, 0);
    md_test_stack_add_domain(&s->st, "vm-b", "22222222-2222-4222-8222-222222222222", 1024, 0, 0);
    md_test_stack_add_domain(&s->st, "vm-busy", "44444444-4444-4444-8444-444444444444", 1024, 512,
                             2048);
    md_test_stack_add_domain(&s->st, "vm-hot", "77777777-7777-4777-8777-777777777777", 1024, 1024,
                             4096);
    return md_test_stack_open(&s->st) == 0 && md_test_stack_start(&s->st, true) == 0;
}

fz_stack *fz_stack_new(void)
{
    fz_stack *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    if (!up(s)) {
        fz_stack_free(s);
        return NULL;
    }
    return s;
}

void fz_stack_free(fz_stack *s)
{
    if (!s)
        return;
    down(s);
    free(s);
}

/* ---- framing ---------------------------------------------------------------- */

/* A growable byte buffer. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static bool buf_add(buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

/* Copies data[0..n) into a new buffer with the placeholders replaced;
 * as a C string (ending at the first NUL) when cstr. */
static char *expand(const fz_stack *s, const uint8_t *data, size_t n, bool cstr, size_t *outlen)
{
    buf b = { 0 };

    if (cstr) {
        const void *nul = memchr(data, 0, n);
        if (nul)
            n = (size_t)((const uint8_t *)nul - data);
    }
    if (!buf_add(&b, "", 0))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        if (data[i] == '@' && i + 1 < n && data[i + 1] == 'M')
            rep = s->last_uuid[0] ? s->last_uuid : "00000000-0000-4000-8000-000000000000";
        else if (data[i] == '@' && i + 1 < n && data[i + 1] == 'D')
            rep = s->last_drain[0] ? s->last_drain : "00000000-0000-4000-8000-000000000000";
        else if (data[i] == '@' && i + 1 < n && data[i + 1] == 'I')
            rep = VM_A;
        bool ok = rep ? buf_add(&b, rep, strlen(rep)) : buf_add(&b, &data[i], 1);
        if (!ok) {
            free(b.p);
            return NULL;
        }
        if (rep)
            i++;
    }
    if (outlen)
        *outlen = b.len;
    return b.p;
}

typedef struct framed {
    char *line[NLINES];
    char *query; /* line[2], split in place */
    char *body;
    size_t body_len;
    md_api_request req;
} framed;

static void framed_free(framed *f)
{
    for (int i = 0; i < NLINES; i++)
        free(f->line[i]);
    free(f->body);
}

static bool frame(const fz_stack *s, const uint8_t *data, size_t size, framed *f)
{
    size_t pos = 0;
    bool have_body = false;

    memset(f, 0, sizeof *f);
    for (int i = 0; i < NLINES; i++) {
        size_t end = pos;
        while (end < size && data[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n > FIELD_MAX)
            n = FIELD_MAX;
        /* Placeholders only where a client can put a migration id. */
        if (i == 1 || i == 2) {
            f->line[i] = expand(s, data + pos, n, true, NULL);
        } else {
            f->line[i] = malloc(n + 1);
            if (f->line[i]) {
                memcpy(f->line[i], data + pos, n);
                f->line[i][n] = '\0';
                f->line[i][strnlen(f->line[i], n)] = '\0';
            }
        }
        if (!f->line[i])
            return false;
        if (end < size) {
            pos = end + 1;
            if (i == NLINES - 1)
                have_body = true;
        } else {
            pos = size;
        }
    }

    md_api_request *r = &f->req;
    r->method = f->line[0];
    r->path = f->line[1];
    char *q = f->line[2];
    while (q && *q) {
        char *amp = strchr(q, '&');
        if (amp)
            *amp = '\0';
        if (*q) {
            if (r->nquery >= MD_API_MAX_QUERY) {
                r->too_many_params = true;
                break;
            }
            char *eq = strchr(q, '=');
            if (eq)
                *eq = '\0';
            r->query[r->nquery].key = q;
            r->query[r->nquery].value = eq ? eq + 1 : "";
            r->nquery++;
        }
        q = amp ? amp + 1 : NULL;
    }
    const char **hdr[4] = { &r->auth_token, &r->content_type, &r->nova_version,
                            &r->openstack_version };
    for (int i = 0; i < 4; i++)
        *hdr[i] = f->line[3 + i][0] ? f->line[3 + i] : NULL;

    if (have_body && pos < size) {
        f->body = expand(s, data + pos, size - pos, false, &f->body_len);
        if (!f->body)
            return false;
        if (f->body_len > (size_t)s->st.cfg->api.max_body_bytes) {
            /* api/http.c keeps none of a body that is too large. */
            r->body_too_large = true;
        } else {
            r->body = f->body;
            r->body_len = f->body_len;
        }
    }
    return true;
}

/* ---- checks ------------------------------------------------------------------- */

static bool fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return false;
}

/* Parses text strictly (RFC 8259, valid UTF-8, nothing after the value). */
static json_object *parse_strict(const char *text, const char **error)
{
    json_tokener *tok = json_tokener_new();
    size_t len = strlen(text);

    if (!tok) {
        *error = "out of memory";
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || e != json_tokener_success || used != len) {
        *error = e != json_tokener_success ? json_tokener_error_desc(e) : "trailing data";
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* The text format's type: written out here, not taken from api/metrics.h,
 * so that a change there fails this check instead of agreeing with it. */
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

static bool has_header(const md_api_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0 && r->headers[i].value[0])
            return true;
    return false;
}

static bool check(const md_api_response *r, char *why, size_t whylen)
{
    const char *jerr = NULL;
    int st = r->status;

    switch (st) {
    case 200:
    case 202:
    case 400:
    case 404:
    case 405:
    case 406:
    case 409:
    case 413:
    case 415: break;
    default: return fail(why, whylen, "status %d (body %.300s)", st, r->body ? r->body : "none");
    }
    if (st < 300) {
        if (!r->body)
            return true;
        if (r->content_type) {
            /* GET /metrics, the one answer that is not JSON: Prometheus's
             * text format, whose lines tests/unit/test_api_metrics.c checks
             * and Prometheus itself reads in tests/metrics/run.sh. */
            if (st != 200 || strcmp(r->content_type, METRICS_TYPE) != 0)
                return fail(why, whylen, "%d answered as %s", st, r->content_type);
            size_t len = strlen(r->body);
            return len > 0 && r->body[len - 1] == '\n'
                       ? true
                       : fail(why, whylen, "the metrics page does not end with a line feed");
        }
        json_object *o = parse_strict(r->body, &jerr);
        if (!o)
            return fail(why, whylen, "%d body is not valid JSON (%s): %.300s", st, jerr, r->body);
        bool obj = json_object_is_type(o, json_type_object);
        json_object_put(o);
        return obj ? true : fail(why, whylen, "%d body is not an object: %.300s", st, r->body);
    }
    if (!r->body)
        return fail(why, whylen, "%d without a body", st);
    if (r->content_type)
        return fail(why, whylen, "%d fault answered as %s, not JSON", st, r->content_type);
    json_object *o = parse_strict(r->body, &jerr);
    if (!o)
        return fail(why, whylen, "%d fault is not valid JSON (%s): %.300s", st, jerr, r->body);
    bool ok = false;
    json_object *inner = NULL, *code = NULL, *msg = NULL;
    if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 1)
        fail(why, whylen, "%d fault is not an object of one key: %.300s", st, r->body);
    else if (!json_object_object_get_ex(o, md_test_fault_name(st), &inner) ||
             !json_object_is_type(inner, json_type_object))
        fail(why, whylen, "%d fault is not {\"%s\": {...}}: %.300s", st, md_test_fault_name(st),
             r->body);
    else if (!json_object_object_get_ex(inner, "code", &code) ||
             !json_object_is_type(code, json_type_int) || json_object_get_int(code) != st)
        fail(why, whylen, "%d fault has no integer code %d: %.300s", st, st, r->body);
    else if (!json_object_object_get_ex(inner, "message", &msg) ||
             !json_object_is_type(msg, json_type_string) || json_object_get_string_len(msg) == 0)
        fail(why, whylen, "%d fault has no message: %.300s", st, r->body);
    else if (st == 405 && !has_header(r, "Allow"))
        fail(why, whylen, "405 without Allow");
    else
        ok = true;
    json_object_put(o);
    return ok;
}

/* Remembers the UUID of a migration or a drain just created (the Location
 * header: .../os-migrations/UUID or .../drains/UUID). */
static void note_created(fz_stack *s, const md_api_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, "Location") != 0)
            continue;
        const char *slash = strrchr(r->headers[i].value, '/');
        bool drain = strstr(r->headers[i].value, "/v1/drains/") != NULL;
        if (slash && strlen(slash + 1) == MD_UUID_LEN - 1)
            memcpy(drain ? s->last_drain : s->last_uuid, slash + 1, MD_UUID_LEN);
        s->creates++;
    }
}

bool fz_run(fz_stack *s, const uint8_t *data, size_t size, int *status, char *why, size_t whylen)
{
    framed f;
    md_api_response resp;
    bool ok;

    why[0] = '\0';
    if (status)
        *status = 0;
    if (!frame(s, data, size, &f)) {
        framed_free(&f);
        return true; /* out of memory in the harness: not the API's fault */
    }
    memset(&resp, 0, sizeof resp);
    md_api_handle(s->st.api, &f.req, &resp);
    if (status)
        *status = resp.status;
    ok = check(&resp, why, whylen);
    if (ok && resp.status == 202 && strcmp(f.req.method, "POST") == 0)
        note_created(s, &resp);
    md_api_response_clear(&resp);
    framed_free(&f);

    if (++s->runs % STEP_EVERY == 0)
        md_hv_sim_advance(s->st.hv, STEP_S);
    if (s->creates >= MAX_CREATES) {
        down(s);
        if (!up(s)) {
            fprintf(stderr, "fuzz harness: cannot rebuild the stack\n");
            abort();
        }
    }
    return ok;
}
