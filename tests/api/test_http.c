/* test_http.c - the REST API over HTTP (libcurl) against a real migrationd process on the simulator.
 *
 * The group setup writes a configuration (hypervisor "simulator", host
 * node-a, time_scale 50, idle domains that finish in well under a second
 * and busy ones that never converge), starts $MD_BINARY_DIR/migrationd
 * --config on a free loopback port and waits for GET /healthcheck. The
 * tests then run in order against that one daemon: routes, status codes and
 * headers on the wire, the body limit, a migration that completes, paging,
 * filters, the Nova aliases, many concurrent clients, a restart on the same
 * database, and a clean exit on SIGTERM. Expected values come from
 * DESIGN.md sections 3, 6 and 7 and Nova's API reference.
 *
 * Every request is bounded (5 s); every wait is bounded; the daemon is
 * killed by the group teardown if a test left it running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IDLE1 "11111111-1111-4111-8111-111111111111"
#define IDLE2 "22222222-2222-4222-8222-222222222222"
#define BUSY1 "44444444-4444-4444-8444-444444444444"
#define BUSY2 "55555555-5555-4555-8555-555555555555"
#define BUSY3 "66666666-6666-4666-8666-666666666666"
#define GHOST "99999999-9999-4999-8999-999999999999" /* no such migration or domain */

#define MAX_BODY 8192              /* api.max_body_bytes of the test's configuration */
#define REQUEST_TIMEOUT_MS 5000
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000
#define WAIT_MS 15000              /* for a state the daemon reaches by itself */

/* The daemon and what the tests learn about it on the way. */
static struct {
    char dir[64];
    char config[128];
    char log[128];
    char base[64];                 /* http://127.0.0.1:PORT */
    pid_t pid;
    CURL *curl;                    /* the main thread's handle (keep-alive) */
    char busy1[37];                /* the busy migration left running for the restart */
} d;

/* ---- time ------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- HTTP -------------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len;
} buf;

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
    buf *b = userdata;
    size_t add = size * n;
    char *p = realloc(b->p, b->len + add + 1);

    if (!p)
        return 0;
    memcpy(p + b->len, data, add);
    b->p = p;
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

typedef struct resp {
    long status;                   /* 0 when the request itself failed */
    CURLcode rc;
    buf body;
    buf headers;                   /* the raw header lines of the final response */
    json_object *json;             /* the parsed body, or NULL */
} resp;

static void resp_free(resp *r)
{
    free(r->body.p);
    free(r->headers.p);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

/* The value of header name in r (case-insensitive name, trimmed), into out;
 * false when absent. Only the last response's headers count (after a 100). */
static bool resp_header(const resp *r, const char *name, char *out, size_t len)
{
    const char *p = r->headers.p;
    size_t nlen = strlen(name);
    bool found = false;

    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t llen = eol ? (size_t)(eol - p) : strlen(p);
        if (strncmp(p, "HTTP/", 5) == 0)
            found = false; /* a new response starts: forget the interim one */
        else if (llen > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = llen - (size_t)(v - p);
            if (vlen >= len)
                vlen = len - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            found = true;
        }
        p += llen + (eol ? 2 : 0);
    }
    return found;
}

/* One request on handle h. target is a path ("/v1/...") or an absolute
 * URL. headers: NULL-terminated extra header lines, or NULL. A body is
 * sent as is with the given length. Never asserts: thread-safe. */
static resp http(CURL *h, const char *method, const char *target, const char *const *headers,
                 const char *body, size_t body_len)
{
    char url[2048];
    struct curl_slist *hl = NULL;
    resp r;

    memset(&r, 0, sizeof r);
    snprintf(url, sizeof url, "%s%s", strncmp(target, "http", 4) == 0 ? "" : d.base, target);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (strcmp(method, "GET") == 0 && !body)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    r.rc = curl_easy_perform(h);
    if (r.rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    if (r.body.len)
        r.json = json_tokener_parse(r.body.p);
    return r;
}

/* Nova's fault names (nova/api/openstack/wsgi.py) for the statuses here. */
static const char *fault_name(long status)
{
    switch (status) {
    case 400: return "badRequest";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 406: return "notAcceptable";
    case 409: return "conflictingRequest";
    case 413: return "overLimit";
    case 415: return "badMediaType";
    }
    return NULL;
}

/* What every answer must be: no transport error, no 5xx, a JSON body with
 * Content-Type application/json, and a Nova fault for every error. */
static void check_answer(const char *method, const char *target, const resp *r)
{
    char ct[128];

    if (r->rc != CURLE_OK)
        fail_msg("%s %s: %s (daemon log %s)", method, target, curl_easy_strerror(r->rc), d.log);
    if (r->status >= 500)
        fail_msg("%s %s: answered %ld: %s", method, target, r->status, r->body.p);
    if (r->body.len) {
        if (!resp_header(r, "Content-Type", ct, sizeof ct) ||
            strncasecmp(ct, "application/json", 16) != 0)
            fail_msg("%s %s: Content-Type %s", method, target, ct);
        if (!r->json)
            fail_msg("%s %s: the body is not JSON: %s", method, target, r->body.p);
    }
    if (r->status >= 400) {
        const char *name = fault_name(r->status);
        json_object *inner, *code, *msg;
        if (!name || !r->json || json_object_object_length(r->json) != 1 ||
            !json_object_object_get_ex(r->json, name, &inner) ||
            !json_object_object_get_ex(inner, "code", &code) ||
            json_object_get_int(code) != r->status ||
            !json_object_object_get_ex(inner, "message", &msg) ||
            !json_object_is_type(msg, json_type_string) || json_object_get_string_len(msg) == 0)
            fail_msg("%s %s: %ld is not a Nova %s fault: %s", method, target, r->status,
                     name ? name : "?", r->body.p ? r->body.p : "(no body)");
    }
}

/* A checked request on the main thread's handle, with optional headers;
 * a body is sent as application/json. */
static resp call_h(const char *method, const char *target, const char *const *headers,
                   const char *body)
{
    const char *h[8] = { NULL };
    size_t n = 0;

    if (body)
        h[n++] = "Content-Type: application/json";
    for (size_t i = 0; headers && headers[i] && n < 7; i++)
        h[n++] = headers[i];
    resp r = http(d.curl, method, target, h, body, body ? strlen(body) : 0);
    check_answer(method, target, &r);
    return r;
}

static resp call(const char *method, const char *target, const char *body)
{
    return call_h(method, target, NULL, body);
}

static void expect(const char *method, const char *target, const char *body, long status)
{
    resp r = call(method, target, body);
    if (r.status != status)
        fail_msg("%s %s: answered %ld, want %ld: %s", method, target, r.status, status,
                 r.body.p ? r.body.p : "");
    resp_free(&r);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no key \"%s\" in %s", key, json_object_to_json_string(o));
    return v;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!json_object_is_type(v, json_type_string))
        fail_msg("\"%s\" is not a string in %s", key, json_object_to_json_string(o));
    return json_object_get_string(v);
}

static int64_t get_int(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!json_object_is_type(v, json_type_int))
        fail_msg("\"%s\" is not an integer in %s", key, json_object_to_json_string(o));
    return json_object_get_int64(v);
}

static const char *fault_message(const resp *r)
{
    return get_str(get(r->json, fault_name(r->status)), "message");
}

/* ---- the daemon ---------------------------------------------------------------------- */

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void write_config(int port)
{
    FILE *f = fopen(d.config, "w");

    assert_non_null(f);
    fprintf(f,
            "service = { host = \"node-a\"; database = \"%s/migrationd.db\";\n"
            "            hypervisor = \"simulator\"; max_concurrent_live_migrations = 2;\n"
            "            log_level = \"info\"; };\n"
            "api = { listen = \"127.0.0.1:%d\"; max_body_bytes = %d; };\n"
            /* No timeouts: the busy guests run until they are aborted. */
            "libvirt = { live_migration_monitor_interval_ms = 100;\n"
            "            live_migration_completion_timeout = 0;\n"
            "            live_migration_progress_timeout = 0; };\n"
            "simulator = {\n"
            "    time_scale = 50.0;\n"
            "    link_mibps = 1024;\n"
            "    domains = (\n"
            /* 16 GiB and idle: one pass of 16 simulated s, about 0.3 s. */
            "        { name = \"vm-idle-1\"; uuid = \"" IDLE1 "\"; ram_mib = 16384; },\n"
            "        { name = \"vm-idle-2\"; uuid = \"" IDLE2 "\"; ram_mib = 1024; },\n"
            /* They dirty all their memory faster than the link copies it. */
            "        { name = \"vm-busy-1\"; uuid = \"" BUSY1 "\"; ram_mib = 4096;\n"
            "          working_set_mib = 4096; dirty_mibps = 8192; },\n"
            "        { name = \"vm-busy-2\"; uuid = \"" BUSY2 "\"; ram_mib = 4096;\n"
            "          working_set_mib = 4096; dirty_mibps = 8192; },\n"
            "        { name = \"vm-busy-3\"; uuid = \"" BUSY3 "\"; ram_mib = 4096;\n"
            "          working_set_mib = 4096; dirty_mibps = 8192; }\n"
            "    );\n"
            "};\n",
            d.dir, port, MAX_BODY);
    assert_int_equal(fclose(f), 0);
    snprintf(d.base, sizeof d.base, "http://127.0.0.1:%d", port);
}

static void dump_log(void)
{
    char line[1024];
    FILE *f = fopen(d.log, "r");

    if (!f)
        return;
    fprintf(stderr, "---- %s ----\n", d.log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

/* Starts the daemon on a new free port and waits until it answers. */
static void start_daemon(void)
{
    char bin[4096];
    const char *dir = getenv("MD_BINARY_DIR");

    snprintf(bin, sizeof bin, "%s/migrationd", dir ? dir : ".");
    if (access(bin, X_OK) != 0)
        fail_msg("%s is not an executable: set MD_BINARY_DIR to the build directory", bin);
    write_config(free_port());
    d.pid = fork();
    assert_true(d.pid >= 0);
    if (d.pid == 0) {
        int fd = open(d.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "--config", d.config, (char *)NULL);
        _exit(127);
    }
    int64_t until = now_ms() + START_TIMEOUT_MS;
    for (;;) {
        int status;
        if (waitpid(d.pid, &status, WNOHANG) == d.pid) {
            d.pid = 0;
            dump_log();
            fail_msg("migrationd exited during start-up (status %d)", status);
        }
        resp r = http(d.curl, "GET", "/healthcheck", NULL, NULL, 0);
        long st = r.status;
        resp_free(&r);
        if (st == 200)
            return;
        if (now_ms() > until) {
            dump_log();
            fail_msg("migrationd did not answer GET /healthcheck within %d ms", START_TIMEOUT_MS);
        }
        sleep_ms(50);
    }
}

/* SIGTERM, then waits for the exit; returns the wait status, or -1 if the
 * daemon did not exit in time (it is then killed). */
static int stop_daemon(void)
{
    int status = -1;

    if (d.pid <= 0)
        return 0;
    kill(d.pid, SIGTERM);
    int64_t until = now_ms() + STOP_TIMEOUT_MS;
    while (now_ms() < until) {
        if (waitpid(d.pid, &status, WNOHANG) == d.pid) {
            d.pid = 0;
            return status;
        }
        sleep_ms(20);
    }
    kill(d.pid, SIGKILL);
    waitpid(d.pid, NULL, 0);
    d.pid = 0;
    return -1;
}

static void expect_clean_stop(void)
{
    int status = stop_daemon();
    if (status == -1) {
        dump_log();
        fail_msg("migrationd did not exit within %d ms of SIGTERM", STOP_TIMEOUT_MS);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        dump_log();
        fail_msg("migrationd ended with %s %d after SIGTERM",
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(d.dir, sizeof d.dir, "/tmp/md-http-XXXXXX");
    if (!mkdtemp(d.dir))
        return -1;
    snprintf(d.config, sizeof d.config, "%s/migrationd.conf", d.dir);
    snprintf(d.log, sizeof d.log, "%s/migrationd.log", d.dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    d.curl = curl_easy_init();
    if (!d.curl)
        return -1;
    start_daemon();
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[160];

    (void)state;
    stop_daemon();
    curl_easy_cleanup(d.curl);
    curl_global_cleanup();
    snprintf(cmd, sizeof cmd, "rm -rf %s", d.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d.dir);
    return 0;
}

/* ---- migrations ----------------------------------------------------------------------- */

/* POSTs a migration of instance to node-b; expects 202 and a Location that
 * names it; returns its uuid. */
static void create(const char *instance, char uuid[37])
{
    char body[256], loc[512], want[512];
    const char *key = strlen(instance) == 36 && instance[8] == '-' ? "instance_uuid"
                                                                   : "instance_name";

    snprintf(body, sizeof body, "{\"migration\": {\"%s\": \"%s\", \"dest_compute\": \"node-b\"}}",
             key, instance);
    resp r = call("POST", "/v1/os-migrations", body);
    if (r.status != 202)
        fail_msg("create %s: %ld %s", instance, r.status, r.body.p);
    json_object *m = get(r.json, "migration");
    snprintf(uuid, 37, "%s", get_str(m, "uuid"));
    assert_string_equal(get_str(m, "status"), "queued");
    assert_true(resp_header(&r, "Location", loc, sizeof loc));
    snprintf(want, sizeof want, "%s/v1/os-migrations/%s", d.base, uuid);
    assert_string_equal(loc, want);
    resp_free(&r);
}

/* GET /v1/os-migrations/{uuid}; the record is r->json's "migration". */
static json_object *show(const char *uuid, resp *r)
{
    char path[128];

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    *r = call("GET", path, NULL);
    if (r->status != 200)
        fail_msg("show %s: %ld %s", uuid, r->status, r->body.p);
    return get(r->json, "migration");
}

static bool in_progress(const char *status)
{
    return strcmp(status, "queued") == 0 || strcmp(status, "preparing") == 0 ||
           strcmp(status, "running") == 0 || strcmp(status, "running (post-copy)") == 0;
}

/* Polls until the migration's status is want (or, with want NULL, final);
 * returns false on timeout. */
static bool wait_status(const char *uuid, const char *want, char *got, size_t len)
{
    int64_t until = now_ms() + WAIT_MS;

    while (now_ms() < until) {
        resp r;
        const char *s = get_str(show(uuid, &r), "status");
        snprintf(got, len, "%s", s);
        resp_free(&r);
        if (want ? strcmp(got, want) == 0 : !in_progress(got))
            return true;
        sleep_ms(20);
    }
    return false;
}

static void expect_status_reached(const char *uuid, const char *want)
{
    char got[64];
    if (!wait_status(uuid, want, got, sizeof got))
        fail_msg("migration %s is %s after %d ms, want %s", uuid, got, WAIT_MS,
                 want ? want : "a final state");
}

static size_t count_events(const char *uuid, json_object **copy)
{
    char path[128];

    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", uuid);
    resp r = call("GET", path, NULL);
    assert_int_equal(r.status, 200);
    json_object *ev = get(r.json, "events");
    size_t n = json_object_array_length(ev);
    if (copy)
        *copy = json_object_get(ev);
    resp_free(&r);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void version_document_and_healthcheck_answer_json(void **state)
{
    (void)state;
    resp r = call("GET", "/", NULL);
    assert_int_equal(r.status, 200);
    json_object *me = get(r.json, "migrationd");
    assert_string_equal(get_str(me, "hypervisor"), "simulator");
    assert_true(json_object_get_boolean(get(me, "simulated")));
    assert_string_equal(get_str(me, "host"), "node-a");
    assert_int_equal(json_object_array_length(get(r.json, "versions")), 2);
    resp_free(&r);

    r = call("GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(get_str(r.json, "status"), "ok");
    assert_int_equal(get_int(r.json, "running"), 0);
    assert_int_equal(get_int(r.json, "queued"), 0);
    resp_free(&r);
}

static void errors_on_the_wire_are_nova_faults_with_the_right_status(void **state)
{
    char allow[128];

    (void)state;
    expect("GET", "/v1/nothing", NULL, 404);
    expect("GET", "/v1/os-migrations/" GHOST, NULL, 404);
    expect("GET", "/v1/os-migrations/" GHOST "/events", NULL, 404);
    expect("DELETE", "/v1/os-migrations/" GHOST, NULL, 404);
    expect("GET", "/v1/os-migrations/not-a-uuid", NULL, 400);
    expect("GET", "/v1/os-migrations?foo=bar", NULL, 400);
    expect("GET", "/v1/os-migrations?limit=-3", NULL, 400);
    expect("GET", "/v1/os-migrations?marker=" GHOST, NULL, 400);
    expect("GET", "/v1/os-migrations?status=done", NULL, 400);
    expect("POST", "/v1/os-migrations", "{\"migration\": ", 400);
    expect("POST", "/v1/os-migrations", "{\"migration\": {}} trailing", 400);
    expect("POST", "/v1/os-migrations", "[]", 400);
    expect("POST", "/v1/os-migrations",
           "{\"migration\": {\"instance_uuid\": \"" IDLE2 "\", \"dest_compute\": \"node-b\", "
           "\"max_downtime_ms\": 1.5}}", 400);
    expect("POST", "/v1/os-migrations",
           "{\"migration\": {\"instance_uuid\": \"" IDLE2 "\", \"dest_compute\": \"node-a\"}}",
           400);
    expect("PUT", "/v1/os-migrations/" GHOST, "{\"migration\": {\"action\": \"abort\"}}", 404);

    /* 405 names the methods the resource has. */
    resp r = call("PATCH", "/v1/os-migrations", NULL);
    assert_int_equal(r.status, 405);
    assert_true(resp_header(&r, "Allow", allow, sizeof allow));
    assert_non_null(strstr(allow, "GET"));
    assert_non_null(strstr(allow, "POST"));
    resp_free(&r);
    r = call("POST", "/healthcheck", "{}");
    assert_int_equal(r.status, 405);
    assert_true(resp_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "GET");
    resp_free(&r);

    /* 415: a body that is not JSON by its Content-Type. */
    const char *text[] = { "Content-Type: text/plain", NULL };
    const char *body = "{\"migration\": {\"instance_uuid\": \"" IDLE2 "\", "
                       "\"dest_compute\": \"node-b\"}}";
    r = http(d.curl, "POST", "/v1/os-migrations", text, body, strlen(body));
    check_answer("POST", "/v1/os-migrations (text/plain)", &r);
    assert_int_equal(r.status, 415);
    resp_free(&r);

    /* None of it created anything. */
    r = call("GET", "/v1/os-migrations", NULL);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 0);
    resp_free(&r);
}

static void body_over_max_body_bytes_is_413_and_at_the_limit_is_read(void **state)
{
    const char *h[] = { "Content-Type: application/json", NULL };
    char *body = malloc(MAX_BODY + 2);

    (void)state;
    /* max + 1 bytes: 413 overLimit, and the connection stays usable. */
    memset(body, ' ', MAX_BODY + 1);
    memcpy(body + MAX_BODY - 10, "{\"a\": 1}", 8);
    resp r = http(d.curl, "POST", "/v1/os-migrations", h, body, MAX_BODY + 1);
    check_answer("POST", "/v1/os-migrations (max+1 bytes)", &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    /* Exactly max bytes (JSON after leading blanks) is read and judged on
     * its content: an unknown top-level key is a 400, not a 413. */
    memset(body, ' ', MAX_BODY);
    const char *json = "{\"unknown\": 1}";
    memcpy(body + MAX_BODY - strlen(json), json, strlen(json));
    r = http(d.curl, "POST", "/v1/os-migrations", h, body, MAX_BODY);
    check_answer("POST", "/v1/os-migrations (max bytes)", &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    /* Far over the limit too. */
    char *big = malloc(16 * MAX_BODY);
    memset(big, '[', 16 * MAX_BODY);
    r = http(d.curl, "PUT", "/v1/os-migrations/" GHOST, h, big, 16 * MAX_BODY);
    check_answer("PUT", "/v1/os-migrations (16 x max bytes)", &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    free(big);
    free(body);
    expect("GET", "/healthcheck", NULL, 200);
}

static void idle_migration_completes_with_progress_that_never_goes_down(void **state)
{
    char uuid[37];
    int last = -1, polls = 0;
    char status[64] = "";

    (void)state;
    create(IDLE1, uuid);
    int64_t until = now_ms() + WAIT_MS;
    while (now_ms() < until) {
        resp r;
        json_object *m = show(uuid, &r);
        int progress = (int)get_int(m, "progress");
        snprintf(status, sizeof status, "%s", get_str(m, "status"));
        if (progress < last)
            fail_msg("progress went down from %d to %d (%s)", last, progress, status);
        assert_true(progress >= 0 && progress <= 100);
        last = progress;
        polls++;
        resp_free(&r);
        if (!in_progress(status))
            break;
        sleep_ms(10);
    }
    assert_string_equal(status, "completed");
    assert_int_equal(last, 100);
    assert_true(polls > 1);

    resp r;
    json_object *m = show(uuid, &r);
    assert_string_equal(get_str(m, "instance_name"), "vm-idle-1");
    assert_true(get_int(m, "memory_total_bytes") >= 16384LL * 1024 * 1024);
    assert_int_equal(get_int(m, "memory_remaining_bytes"), 0);
    assert_true(get_int(m, "downtime_ms") >= 0);
    resp_free(&r);
    /* Its timeline starts queued and ends completed. */
    json_object *ev;
    size_t n = count_events(uuid, &ev);
    assert_true(n >= 4);
    assert_non_null(strstr(get_str(json_object_array_get_idx(ev, 0), "message"), "queued"));
    json_object_put(ev);
}

static void busy_migrations_are_steered_over_http(void **state)
{
    char b2[37], b3[37], path[128];

    (void)state;
    create(BUSY1, d.busy1);
    create(BUSY2, b2);
    expect_status_reached(d.busy1, "running");
    expect_status_reached(b2, "running");

    /* A second migration of the same instance: 409, saying which. */
    resp r = call("POST", "/v1/os-migrations",
                  "{\"migration\": {\"instance_uuid\": \"" BUSY1 "\", "
                  "\"dest_compute\": \"node-c\"}}");
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(fault_message(&r), d.busy1));
    resp_free(&r);

    /* Post-copy was not permitted: 409 with the engine's reason. */
    snprintf(path, sizeof path, "/v1/os-migrations/%s", d.busy1);
    r = call("PUT", path, "{\"migration\": {\"action\": \"post_copy\"}}");
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(fault_message(&r), "post-copy"));
    resp_free(&r);
    r = call("PUT", path, "{\"migration\": {\"action\": \"jump\"}}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = call("PUT", path, "{\"migration\": {\"max_downtime_ms\": 400, \"bandwidth_mibps\": 900}}");
    assert_int_equal(r.status, 202);
    assert_int_equal(get_int(get(r.json, "migration"), "max_downtime_ms"), 400);
    assert_int_equal(get_int(get(r.json, "migration"), "bandwidth_mibps"), 900);
    resp_free(&r);

    /* Two run (max_concurrent_live_migrations = 2): the third waits, and
     * is cancelled at once when deleted. */
    create(BUSY3, b3);
    sleep_ms(300);
    assert_string_equal(get_str(show(b3, &r), "status"), "queued");
    resp_free(&r);
    r = call("GET", "/healthcheck", NULL);
    assert_int_equal(get_int(r.json, "running"), 2);
    assert_int_equal(get_int(r.json, "queued"), 1);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", b3);
    expect("DELETE", path, NULL, 202);
    expect_status_reached(b3, "cancelled");
    expect("DELETE", path, NULL, 409);
    r = call("PUT", path, "{\"migration\": {\"action\": \"force_complete\"}}");
    assert_int_equal(r.status, 409);
    resp_free(&r);
}

typedef struct worker {
    int index;
    int ok, bad;
    long first_bad_status;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    CURL *h = curl_easy_init();
    char path[128];

    for (int i = 0; h && i < 200; i++) {
        switch ((i + w->index) % 4) {
        case 0:
            snprintf(path, sizeof path, "/v1/os-migrations");
            break;
        case 1:
            snprintf(path, sizeof path, "/v1/os-migrations/%s", d.busy1);
            break;
        case 2:
            snprintf(path, sizeof path, "/v1/os-migrations?status=running&limit=5");
            break;
        default:
            snprintf(path, sizeof path, "/healthcheck");
            break;
        }
        resp r = http(h, "GET", path, NULL, NULL, 0);
        if (r.rc == CURLE_OK && r.status == 200 && r.json) {
            w->ok++;
        } else {
            if (!w->bad)
                w->first_bad_status = r.rc == CURLE_OK ? r.status : -(long)r.rc;
            w->bad++;
        }
        resp_free(&r);
    }
    if (!h)
        w->bad = 200;
    curl_easy_cleanup(h);
    return NULL;
}

static void concurrent_clients_are_all_answered_while_migrations_progress(void **state)
{
    pthread_t t[4];
    worker w[4];
    resp r;

    (void)state;
    int64_t before = get_int(show(d.busy1, &r), "memory_processed_bytes");
    resp_free(&r);
    int64_t start = now_ms();
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int64_t took = now_ms() - start;
    for (int i = 0; i < 4; i++) {
        if (w[i].bad)
            fail_msg("client %d: %d of 200 requests failed (first: %ld)", i, w[i].bad,
                     w[i].first_bad_status);
        assert_int_equal(w[i].ok, 200);
    }
    /* 800 small requests on loopback; bounded well above what they take. */
    if (took > 30000)
        fail_msg("800 requests took %lld ms", (long long)took);
    /* The migration is still running and still moving. */
    int64_t after = before, until = now_ms() + WAIT_MS;
    while (after <= before && now_ms() < until) {
        json_object *m = show(d.busy1, &r);
        assert_string_equal(get_str(m, "status"), "running");
        after = get_int(m, "memory_processed_bytes");
        resp_free(&r);
        if (after <= before)
            sleep_ms(50);
    }
    assert_true(after > before);
}

static void abort_of_a_running_migration_ends_it_cancelled(void **state)
{
    char path[128];
    resp r;

    (void)state;
    /* The second busy one: the record of the API's list that is running. */
    r = call("GET", "/v1/os-migrations?instance_uuid=" BUSY2, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 1);
    snprintf(path, sizeof path, "/v1/os-migrations/%s",
             get_str(json_object_array_get_idx(get(r.json, "migrations"), 0), "uuid"));
    resp_free(&r);
    r = call("PUT", path, "{\"migration\": {\"action\": \"abort\"}}");
    assert_int_equal(r.status, 202);
    resp_free(&r);
    expect_status_reached(path + strlen("/v1/os-migrations/"), "cancelled");
    expect("DELETE", path, NULL, 409);
}

static void list_pages_follow_next_links_and_filters_apply(void **state)
{
    char uuids[64][37], target[2048], name[32];
    size_t total = 0;

    (void)state;
    /* Unknown domains: accepted, then failed by the worker. Six more
     * records make ten in all. */
    for (int i = 0; i < 6; i++) {
        char u[37];
        snprintf(name, sizeof name, "no-such-vm-%d", i);
        create(name, u);
        expect_status_reached(u, "failed");
    }
    resp r = call("GET", "/v1/os-migrations", NULL);
    json_object *all = json_object_get(get(r.json, "migrations"));
    resp_free(&r);
    total = json_object_array_length(all);
    assert_int_equal(total, 10);
    for (size_t i = 0; i < total; i++)
        snprintf(uuids[i], 37, "%s", get_str(json_object_array_get_idx(all, i), "uuid"));

    /* limit=4: pages of 4, 4 and 2, in the same order, through next links. */
    snprintf(target, sizeof target, "/v1/os-migrations?limit=4");
    size_t seen = 0;
    int pages = 0;
    while (target[0]) {
        r = call("GET", target, NULL);
        assert_int_equal(r.status, 200);
        json_object *page = get(r.json, "migrations");
        size_t n = json_object_array_length(page);
        assert_true(n <= 4);
        for (size_t k = 0; k < n; k++, seen++) {
            assert_true(seen < total);
            assert_string_equal(get_str(json_object_array_get_idx(page, k), "uuid"),
                                uuids[seen]);
        }
        json_object *links = get(r.json, "migrations_links");
        target[0] = '\0';
        for (size_t k = 0; k < json_object_array_length(links); k++) {
            json_object *l = json_object_array_get_idx(links, k);
            if (strcmp(get_str(l, "rel"), "next") == 0)
                snprintf(target, sizeof target, "%s", get_str(l, "href"));
        }
        if (n == 4)
            assert_true(target[0] != '\0'); /* a full page links on */
        else
            assert_true(target[0] == '\0');
        /* An absolute link back to this daemon. */
        if (target[0])
            assert_int_equal(strncmp(target, d.base, strlen(d.base)), 0);
        resp_free(&r);
        pages++;
        assert_true(pages <= 4);
    }
    assert_int_equal(seen, total);
    assert_int_equal(pages, 3);

    /* changes-since / changes-before: by the records' own updated_at (one
     * fixed format, so it compares as text), from the updated_at of an
     * ended record in the older half. */
    char since[64], url[512];
    const char *mid = NULL;
    for (size_t i = total / 2; i < total && !mid; i++) {
        json_object *m = json_object_array_get_idx(all, i);
        if (!in_progress(get_str(m, "status")))
            mid = get_str(m, "updated_at");
    }
    assert_non_null(mid);
    snprintf(since, sizeof since, "%s", mid);
    snprintf(url, sizeof url, "/v1/os-migrations?changes-since=%sZ", since);
    r = call("GET", url, NULL);
    assert_int_equal(r.status, 200);
    json_object *list = get(r.json, "migrations");
    /* Every listed record matches; every ended one that matches is listed
     * (a running one's updated_at moves with each progress flush). */
    for (size_t i = 0; i < json_object_array_length(list); i++)
        assert_true(strcmp(get_str(json_object_array_get_idx(list, i), "updated_at"), since) >=
                    0);
    size_t want = 0;
    for (size_t i = 0; i < total; i++) {
        json_object *m = json_object_array_get_idx(all, i);
        if (in_progress(get_str(m, "status")))
            continue;
        bool match = strcmp(get_str(m, "updated_at"), since) >= 0, listed = false;
        want += match;
        for (size_t k = 0; k < json_object_array_length(list); k++)
            listed = listed || strcmp(get_str(json_object_array_get_idx(list, k), "uuid"),
                                      get_str(m, "uuid")) == 0;
        if (match != listed)
            fail_msg("changes-since=%s: record %s (updated %s) %s", since, get_str(m, "uuid"),
                     get_str(m, "updated_at"), listed ? "listed" : "not listed");
    }
    assert_true(want < total);
    resp_free(&r);
    snprintf(url, sizeof url, "/v1/os-migrations?changes-before=%s%%2B00:00", since);
    r = call("GET", url, NULL);
    assert_int_equal(r.status, 200);
    list = get(r.json, "migrations");
    assert_true(json_object_array_length(list) >= 1);
    for (size_t i = 0; i < json_object_array_length(list); i++)
        assert_true(strcmp(get_str(json_object_array_get_idx(list, i), "updated_at"), since) <=
                    0);
    resp_free(&r);
    expect("GET", "/v1/os-migrations?changes-since=2026-02-30T00:00:00Z", NULL, 400);
    expect("GET", "/v1/os-migrations?changes-since=soon", NULL, 400);

    /* Filters on the wire, values URL-encoded. */
    r = call("GET", "/v1/os-migrations?status=failed", NULL);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 6);
    resp_free(&r);
    r = call("GET", "/v1/os-migrations?status=running%20%28post-copy%29", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 0);
    resp_free(&r);
    /* As form encoding (Python's urlencode, used by novaclient) writes it. */
    r = call("GET", "/v1/os-migrations?status=running+%28post-copy%29", NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    r = call("GET", "/v1/os-migrations?host=node-b&migration_type=live-migration", NULL);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), total);
    resp_free(&r);
    r = call("GET", "/v1/os-migrations?limit=0", NULL);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 0);
    resp_free(&r);
    json_object_put(all);
}

static void nova_aliases_answer_with_the_negotiated_microversion(void **state)
{
    const char *v259[] = { "X-OpenStack-Nova-API-Version: 2.59", NULL };
    char h[128], path[256];

    (void)state;
    resp r = call_h("GET", "/v2.1/os-migrations", v259, NULL);
    assert_int_equal(r.status, 200);
    assert_true(resp_header(&r, "X-OpenStack-Nova-API-Version", h, sizeof h));
    assert_string_equal(h, "2.59");
    assert_true(resp_header(&r, "OpenStack-API-Version", h, sizeof h));
    assert_string_equal(h, "compute 2.59");
    json_object *list = get(r.json, "migrations");
    assert_int_equal(json_object_array_length(list), 10);
    /* Nova's os-migrations fields (2.23 migration_type, 2.59 uuid). */
    static const char *const fields[] = { "id", "uuid", "status", "instance_uuid",
                                          "source_compute", "dest_compute", "dest_host",
                                          "migration_type", "created_at", "updated_at", NULL };
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *m = json_object_array_get_idx(list, i);
        for (size_t k = 0; fields[k]; k++)
            get(m, fields[k]);
        assert_string_equal(get_str(m, "migration_type"), "live-migration");
    }
    resp_free(&r);
    /* 2.59 pages with limit and links. */
    r = call_h("GET", "/v2.1/os-migrations?limit=3", v259, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 3);
    assert_int_equal(json_object_array_length(get(r.json, "migrations_links")), 1);
    resp_free(&r);

    /* The in-progress live migrations of one server. */
    snprintf(path, sizeof path, "/v2.1/servers/%s/migrations", BUSY1);
    r = call_h("GET", path, v259, NULL);
    assert_int_equal(r.status, 200);
    assert_true(resp_header(&r, "X-OpenStack-Nova-API-Version", h, sizeof h));
    assert_string_equal(h, "2.59");
    list = get(r.json, "migrations");
    assert_int_equal(json_object_array_length(list), 1);
    json_object *m = json_object_array_get_idx(list, 0);
    assert_string_equal(get_str(m, "server_uuid"), BUSY1);
    assert_string_equal(get_str(m, "uuid"), d.busy1);
    assert_string_equal(get_str(m, "status"), "running");
    get_int(m, "memory_total_bytes");
    get_int(m, "memory_processed_bytes");
    get_int(m, "memory_remaining_bytes");
    int64_t id = get_int(m, "id");
    resp_free(&r);
    snprintf(path, sizeof path, "/v2.1/servers/%s/migrations/%lld", BUSY1, (long long)id);
    r = call_h("GET", path, v259, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(get_str(get(r.json, "migration"), "uuid"), d.busy1);
    resp_free(&r);

    /* Below 2.23 the server migrations resource does not exist (Nova). */
    snprintf(path, sizeof path, "/v2.1/servers/%s/migrations", BUSY1);
    r = call("GET", path, NULL);
    assert_int_equal(r.status, 404);
    assert_true(resp_header(&r, "X-OpenStack-Nova-API-Version", h, sizeof h));
    assert_string_equal(h, "2.1");
    resp_free(&r);
    /* The OpenStack-API-Version form, and versions out of range. */
    const char *v266[] = { "OpenStack-API-Version: compute 2.66", NULL };
    r = call_h("GET", "/v2.1/os-migrations", v266, NULL);
    assert_int_equal(r.status, 200);
    assert_true(resp_header(&r, "OpenStack-API-Version", h, sizeof h));
    assert_string_equal(h, "compute 2.66");
    resp_free(&r);
    const char *bad[] = { "X-OpenStack-Nova-API-Version: two", NULL };
    r = call_h("GET", "/v2.1/os-migrations", bad, NULL);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    const char *future[] = { "X-OpenStack-Nova-API-Version: 2.999", NULL };
    r = call_h("GET", "/v2.1/os-migrations", future, NULL);
    assert_int_equal(r.status, 406);
    resp_free(&r);
}

static void restart_keeps_the_record_of_a_running_migration(void **state)
{
    resp r;
    char status[64];

    (void)state;
    assert_string_equal(get_str(show(d.busy1, &r), "status"), "running");
    resp_free(&r);
    size_t before = count_events(d.busy1, NULL);

    expect_clean_stop();
    start_daemon();

    /* The record is there; the simulator's job did not survive the
     * process, so recovery settles it to a final state (DESIGN.md 7) -
     * or it is still running if a job was found. */
    json_object *m = show(d.busy1, &r);
    snprintf(status, sizeof status, "%s", get_str(m, "status"));
    assert_string_equal(get_str(m, "instance_uuid"), BUSY1);
    resp_free(&r);
    if (in_progress(status)) {
        assert_string_equal(status, "running");
    } else {
        assert_true(strcmp(status, "failed") == 0 || strcmp(status, "error") == 0 ||
                    strcmp(status, "completed") == 0 || strcmp(status, "cancelled") == 0);
    }
    /* Recovery left its trace in the timeline. */
    json_object *ev;
    size_t after = count_events(d.busy1, &ev);
    assert_true(after > before);
    bool traced = false;
    for (size_t i = before; i < after; i++) {
        const char *kind = get_str(json_object_array_get_idx(ev, i), "kind");
        traced = traced || strcmp(kind, "recovered") == 0 || strcmp(kind, "state") == 0;
    }
    json_object_put(ev);
    assert_true(traced);
    /* Every other record survived too. */
    r = call("GET", "/v1/os-migrations", NULL);
    assert_int_equal(json_object_array_length(get(r.json, "migrations")), 10);
    resp_free(&r);
    r = call("GET", "/healthcheck", NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void daemon_exits_cleanly_on_sigterm(void **state)
{
    (void)state;
    expect_clean_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_document_and_healthcheck_answer_json),
        cmocka_unit_test(errors_on_the_wire_are_nova_faults_with_the_right_status),
        cmocka_unit_test(body_over_max_body_bytes_is_413_and_at_the_limit_is_read),
        cmocka_unit_test(idle_migration_completes_with_progress_that_never_goes_down),
        cmocka_unit_test(busy_migrations_are_steered_over_http),
        cmocka_unit_test(concurrent_clients_are_all_answered_while_migrations_progress),
        cmocka_unit_test(abort_of_a_running_migration_ends_it_cancelled),
        cmocka_unit_test(list_pages_follow_next_links_and_filters_apply),
        cmocka_unit_test(nova_aliases_answer_with_the_negotiated_microversion),
        cmocka_unit_test(restart_keeps_the_record_of_a_running_migration),
        cmocka_unit_test(daemon_exits_cleanly_on_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
