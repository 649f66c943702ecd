/* fixture.c - cmocka fixtures on the in-process stack: requests to the API, waits on the engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/fixture.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/hv_sim.h"
#include "tests/support/check.h"

/* ---- the fixture ------------------------------------------------------------------ */

/* The domains of MD_TEST_VM_*, bit i for entry i. */
static const struct {
    const char *name, *uuid;
    int ram_mib, working_set_mib, dirty_mibps;
} catalogue[] = {
    { "vm-a", MD_TEST_IDLE_A, 1024, 0, 0 },         /* MD_TEST_VM_A */
    { "vm-b", MD_TEST_IDLE_B, 1024, 0, 0 },         /* MD_TEST_VM_B */
    { "vm-c", MD_TEST_IDLE_C, 1024, 0, 0 },         /* MD_TEST_VM_C */
    { "vm-busy", MD_TEST_BUSY, 1024, 512, 2048 },   /* MD_TEST_VM_BUSY */
    { "vm-busy2", MD_TEST_BUSY2, 1024, 512, 2048 }, /* MD_TEST_VM_BUSY2 */
    { "vm-hot", MD_TEST_HOT, 1024, 1024, 4096 },    /* MD_TEST_VM_HOT */
};

int md_test_fixture_setup(void **state)
{
    const md_test_fixture_spec *spec = *state;
    md_test_stack *s = calloc(1, sizeof *s);

    assert_non_null(s);
    assert_int_equal(md_test_stack_init(s, "/tmp", spec->tag), 0);
    for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++) {
        if (spec->vms & (1u << i))
            md_test_stack_add_domain(s, catalogue[i].name, catalogue[i].uuid, catalogue[i].ram_mib,
                                     catalogue[i].working_set_mib, catalogue[i].dirty_mibps);
    }
    if (spec->prepare)
        spec->prepare(s);
    assert_int_equal(md_test_stack_open(s), 0);
    *state = s;
    return 0;
}

int md_test_fixture_teardown(void **state)
{
    md_test_stack *s = *state;

    md_test_stack_close(s);
    free(s);
    return 0;
}

FILE *md_test_lock_db(md_test_stack *s)
{
    char cmd[300];

    snprintf(cmd, sizeof cmd, "sqlite3 '%s' >/dev/null 2>&1", s->db);
    FILE *locker = popen(cmd, "w");
    assert_non_null(locker);
    fputs("BEGIN IMMEDIATE;\nUPDATE migrations SET error = error;\n", locker);
    fflush(locker);
    /* The shell has the lock once it has read those lines. */
    md_test_sleep_ms(300);
    return locker;
}

void md_test_unlock_db(FILE *locker)
{
    fputs("COMMIT;\n", locker);
    assert_int_equal(pclose(locker), 0);
}

void md_test_fixture_start(md_test_stack *s, bool api)
{
    assert_int_equal(md_test_stack_start(s, api), 0);
}

/* ---- requests to the API ---------------------------------------------------------- */

/* Decodes %XX and '+' of a query component, as the HTTP layer does. */
static void url_decode(const char *s, size_t n, char *out)
{
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            out[j++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[j++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[j] = '\0';
}

/* Storage for the decoded path and query of one request. */
typedef struct target_buf {
    char path[1024];
    char keys[MD_API_MAX_QUERY][256];
    char values[MD_API_MAX_QUERY][256];
} target_buf;

/* Splits "PATH?k=v&k2=v2" into r's path and decoded query. */
static void parse_target(const char *target, md_api_request *r, target_buf *b)
{
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);

    assert_true(plen < sizeof b->path);
    memcpy(b->path, target, plen);
    b->path[plen] = '\0';
    r->path = b->path;
    r->nquery = 0;
    while (q && *q) {
        q++;
        size_t len = strcspn(q, "&");
        if (len == 0)
            continue;
        assert_true(r->nquery < MD_API_MAX_QUERY);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        assert_true(klen < 256 && len - klen < 256);
        url_decode(q, klen, b->keys[r->nquery]);
        if (eq)
            url_decode(eq + 1, len - klen - 1, b->values[r->nquery]);
        else
            b->values[r->nquery][0] = '\0';
        r->query[r->nquery].key = b->keys[r->nquery];
        r->query[r->nquery].value = b->values[r->nquery];
        r->nquery++;
        q += len;
    }
}

md_test_reply md_test_handle(md_test_stack *s, const md_api_request *req)
{
    md_test_reply out;
    char what[1100];

    memset(&out, 0, sizeof out);
    md_api_handle(s->api, req, &out.raw);
    out.status = out.raw.status;
    if (out.status >= 500)
        fail_msg("%s %s answered %d: %s", req->method, req->path, out.status,
                 out.raw.body ? out.raw.body : "");
    if (out.raw.body) {
        out.json = json_tokener_parse(out.raw.body);
        if (!out.json)
            fail_msg("%s %s: the body is not JSON: %s", req->method, req->path, out.raw.body);
    }
    if (out.status >= 400) {
        snprintf(what, sizeof what, "%s %s", req->method, req->path);
        md_test_check_fault(what, out.status, out.json, out.raw.body);
    }
    return out;
}

md_test_reply md_test_call_h(md_test_stack *s, const char *method, const char *target,
                             const md_test_headers *h, const char *body)
{
    md_api_request r;
    target_buf *b = calloc(1, sizeof *b);

    assert_non_null(b);
    memset(&r, 0, sizeof r);
    r.method = method;
    parse_target(target, &r, b);
    if (h) {
        r.content_type = h->content_type;
        r.nova_version = h->nova_version;
        r.openstack_version = h->openstack_version;
        r.auth_token = h->auth_token;
    }
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    md_test_reply out = md_test_handle(s, &r);
    free(b);
    return out;
}

md_test_reply md_test_call(md_test_stack *s, const char *method, const char *target,
                           const char *body)
{
    md_test_headers h = { .content_type = body ? "application/json" : NULL };

    return md_test_call_h(s, method, target, &h, body);
}

const char *md_test_reply_header(const md_test_reply *r, const char *name)
{
    for (size_t i = 0; i < r->raw.nheaders; i++) {
        if (strcasecmp(r->raw.headers[i].name, name) == 0)
            return r->raw.headers[i].value;
    }
    return NULL;
}

void md_test_reply_free(md_test_reply *r)
{
    json_object_put(r->json);
    md_api_response_clear(&r->raw);
    memset(r, 0, sizeof *r);
}

void md_test_expect_fault(md_test_reply r, int status, const char *text)
{
    if (r.status != status)
        fail_msg("answered %d, want %d: %s", r.status, status, r.raw.body ? r.raw.body : "");
    const char *msg = md_test_fault_message(r.json, status);
    if (text && !strstr(msg, text))
        fail_msg("fault message \"%s\" does not contain \"%s\"", msg, text);
    md_test_reply_free(&r);
}

void md_test_expect_fault_call(md_test_stack *s, const char *method, const char *target,
                               const char *body, int status, const char *text)
{
    md_test_expect_fault(md_test_call(s, method, target, body), status, text);
}

json_object *md_test_show(md_test_stack *s, const char *collection, const char *key,
                          const char *uuid, md_test_reply *r)
{
    char path[160];

    snprintf(path, sizeof path, "%s/%s", collection, uuid);
    *r = md_test_call(s, "GET", path, NULL);
    if (r->status != 200)
        fail_msg("GET %s: %d %s", path, r->status, r->raw.body ? r->raw.body : "");
    return md_test_json_get(r->json, key);
}

/* ---- waiting on the engine -------------------------------------------------------- */

bool md_test_is_running(md_mig_state s)
{
    return s == MD_MIG_RUNNING;
}

bool md_test_is_post_copy(md_mig_state s)
{
    return s == MD_MIG_POSTCOPY;
}

bool md_test_is_recovering(md_mig_state s)
{
    return s == MD_MIG_POSTCOPY_RECOVERING;
}

bool md_test_is_final(md_mig_state s)
{
    return !md_mig_state_in_progress(s);
}

void md_test_expect_state(md_test_stack *s, const char *uuid, bool (*done)(md_mig_state),
                          md_mig_state want)
{
    md_mig_state st = md_engine_wait(s->eng, uuid, done, MD_TEST_WAIT_MS);

    if (st != want)
        fail_msg("migration %s is %s, want %s", uuid, md_mig_state_str(st), md_mig_state_str(want));
}

md_migration md_test_create(md_test_stack *s, const char *instance, md_status want)
{
    md_engine_request q;
    md_migration m;
    md_err err;

    memset(&q, 0, sizeof q);
    memset(&m, 0, sizeof m);
    snprintf(q.instance, sizeof q.instance, "%s", instance);
    snprintf(q.dest_compute, sizeof q.dest_compute, "node-b");
    q.permit_post_copy = -1;
    q.max_downtime_ms = -1;
    q.bandwidth_mibps = -1;
    q.timeout_action = -1;
    md_status st = md_engine_create(s->eng, &q, &m, &err);
    if (st != want)
        fail_msg("create %s: status %d (%s), want %d", instance, st, err.msg, want);
    return m;
}

bool md_test_has_event(md_test_stack *s, const char *uuid, const char *kind, const char *text)
{
    md_event *ev = NULL;
    size_t n = 0;
    bool found = false;
    md_err err;

    if (md_store_events(s->store, uuid, &ev, &n, &err) != MD_OK)
        fail_msg("events of %s: %s", uuid, err.msg);
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(ev[i].kind, kind) == 0 && (!text || strstr(ev[i].message, text));
    free(ev);
    return found;
}

void md_test_expect_event(md_test_stack *s, const char *uuid, const char *kind, const char *text)
{
    int64_t until = md_test_now_ms() + MD_TEST_WAIT_MS;

    while (!md_test_has_event(s, uuid, kind, text)) {
        if (md_test_now_ms() > until)
            fail_msg("migration %s: no %s event%s%s after %d ms", uuid, kind, text ? " with " : "",
                     text ? text : "", MD_TEST_WAIT_MS);
        md_test_sleep_ms(10);
    }
}

md_migration md_test_migration(md_test_stack *s, const char *uuid)
{
    md_migration m;
    md_err err;

    if (md_engine_get(s->eng, uuid, &m, &err) != MD_OK)
        fail_msg("get %s: %s", uuid, err.msg);
    return m;
}

md_migration md_test_stored(md_test_stack *s, const char *uuid)
{
    md_migration m;
    md_err err;

    if (md_store_get(s->store, uuid, &m, &err) != MD_OK)
        fail_msg("store get %s: %s", uuid, err.msg);
    return m;
}

md_hv_domain md_test_domain(md_test_stack *s, const char *uuid)
{
    md_hv_domain d;
    md_err err;

    if (md_hv_lookup(s->hv, uuid, &d, &err) != MD_OK)
        fail_msg("lookup %s: %s", uuid, err.msg);
    return d;
}

md_migration md_test_drive_until(md_test_stack *s, const char *uuid, double step_s,
                                 bool (*pred)(const md_migration *))
{
    md_migration m = md_test_migration(s, uuid);

    for (int waited = 0; !pred(&m) && waited < MD_TEST_WAIT_MS; waited += 20) {
        md_hv_sim_advance(s->hv, step_s);
        md_test_sleep_ms(20);
        m = md_test_migration(s, uuid);
    }
    return m;
}

void md_test_drive_drain(md_test_stack *s, const char *uuid, double step_s,
                         bool (*pred)(const md_drain *), md_drain *out)
{
    md_err err;

    md_drain_init(out);
    assert_int_equal(md_engine_drain_get(s->eng, uuid, out, &err), MD_OK);
    for (int waited = 0; !pred(out) && waited < MD_TEST_WAIT_MS; waited += 20) {
        md_hv_sim_advance(s->hv, step_s);
        md_test_sleep_ms(20);
        md_drain_clear(out);
        assert_int_equal(md_engine_drain_get(s->eng, uuid, out, &err), MD_OK);
    }
}

bool md_test_ended(const md_migration *m)
{
    return !md_mig_state_in_progress(m->state);
}

bool md_test_downtime_set(const md_migration *m)
{
    return m->current_downtime_ms != 0;
}

bool md_test_downtime_known(const md_migration *m)
{
    return m->state == MD_MIG_COMPLETED && m->downtime_ms >= 0;
}

bool md_test_paused_or_ended(const md_migration *m)
{
    return m->paused || md_test_ended(m);
}
