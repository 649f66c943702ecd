/* test_api_auth.c - authentication and roles through a real migrationd and a real Keystone.
 *
 * The environment names the Keystone (KS_URL, KS_DIR, the service account
 * KS_SERVICE_USER/KS_SERVICE_PASSWORD/KS_SERVICE_PROJECT) and the passwords
 * of its users (KS_*_PASSWORD), as printed by `keystone.sh start`; without
 * KS_URL every test is skipped. MD_BINARY_DIR names the build directory
 * (migrationd) and MD_SOURCE_DIR the source tree (keystone.sh).
 *
 * The group setup gets real tokens (POST /v3/auth/tokens): alice (admin),
 * bob (reader), carol (member, which implies reader), dave (observer: no
 * access), and a second token of alice's that it revokes at once. It then
 * writes a configuration (hypervisor "simulator", host node-a, time_scale
 * 50, one guest that never converges and two idle ones, one migration at a
 * time, api.auth_strategy "keystone" with the service account), starts
 * $MD_BINARY_DIR/migrationd on a free loopback port and waits for
 * GET /healthcheck, which needs no token.
 *
 * The tests run in order against that one daemon and check, over HTTP:
 * public routes without a token; 401 without a token, with a garbage one
 * and with the revoked one; everything allowed to alice; reads allowed and
 * every write refused (403) to bob, with nothing written; nothing at all
 * for dave; the same rules on the Nova routes under /v2.1. Then Keystone is
 * stopped (keystone.sh stop $KS_DIR): a token the daemon has not cached
 * (carol's, never used before) gets 503 naming Keystone and writes nothing,
 * while cached tokens keep working. Last, SIGTERM: the daemon must exit 0
 * within 10 s, with no sanitizer report in its log.
 *
 * Every HTTP request is bounded (5 s), every wait is bounded, and the group
 * teardown kills the daemon if a failed test left it running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
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

#define REQUEST_TIMEOUT_MS 5000
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000
#define WAIT_MS 15000
#define NOVA_VERSION "OpenStack-API-Version: compute 2.80"

static struct {
    bool on;                        /* KS_URL is set: the daemon runs */
    char *alice, *alice_revoked, *bob, *carol, *dave;
    char dir[64];
    char config[128];
    char log[128];
    char base[64];                  /* http://127.0.0.1:PORT */
    pid_t pid;
    CURL *curl;
    char m1[37];                    /* BUSY1's migration: running (alice) */
    char m2[37];                    /* IDLE2's migration: queued behind m1 */
} g;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

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

/* ---- HTTP ---------------------------------------------------------------------------- */

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
    long status;                    /* 0 when the request itself failed */
    CURLcode rc;
    buf body;
    buf headers;
    char *subject_token;            /* Keystone's X-Subject-Token */
    json_object *json;
} resp;

static void resp_free(resp *r)
{
    free(r->body.p);
    free(r->headers.p);
    free(r->subject_token);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

/* One request to url on handle h; headers is NULL-terminated (or NULL).
 * Never asserts. */
static resp http(CURL *h, const char *method, const char *url, const char *const *headers,
                 const char *body)
{
    struct curl_slist *hl = NULL;
    resp r;

    memset(&r, 0, sizeof r);
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
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (strcmp(method, "GET") == 0 && !body)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    r.rc = curl_easy_perform(h);
    if (r.rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
        struct curl_header *hdr = NULL;
        if (curl_easy_header(h, "X-Subject-Token", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK)
            r.subject_token = strdup(hdr->value);
    }
    curl_slist_free_all(hl);
    if (r.body.len)
        r.json = json_tokener_parse(r.body.p);
    return r;
}

/* ---- Keystone, called by the test itself --------------------------------------------- */

/* A new project-scoped token of user (password from env var pw_var). */
static char *get_token(const char *user, const char *pw_var)
{
    char url[1024], body[1024];
    const char *h[] = { "Connection: close", "Content-Type: application/json", NULL };
    CURL *c = curl_easy_init();

    assert_non_null(c);
    json_object *pw = json_object_new_string(env(pw_var));
    snprintf(body, sizeof body,
             "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": "
             "{\"user\": {\"name\": \"%s\", \"domain\": {\"name\": \"Default\"}, "
             "\"password\": %s}}}, \"scope\": {\"project\": {\"name\": \"%s\", "
             "\"domain\": {\"name\": \"Default\"}}}}}",
             user, json_object_to_json_string(pw), env("KS_PROJECT")[0] ? env("KS_PROJECT")
                                                                         : "demo");
    json_object_put(pw);
    snprintf(url, sizeof url, "%s/auth/tokens", env("KS_URL"));
    resp r = http(c, "POST", url, h, body);
    curl_easy_cleanup(c);
    if (r.status != 201 || !r.subject_token)
        fail_msg("token for %s: %s, HTTP %ld %s", user, curl_easy_strerror(r.rc), r.status,
                 r.body.p ? r.body.p : "");
    char *t = r.subject_token;
    r.subject_token = NULL;
    resp_free(&r);
    return t;
}

/* Revokes token (DELETE /v3/auth/tokens, the token revoking itself). */
static void revoke_token(const char *token)
{
    char url[1024], auth[9000], subject[9000];
    CURL *c = curl_easy_init();

    assert_non_null(c);
    snprintf(url, sizeof url, "%s/auth/tokens", env("KS_URL"));
    snprintf(auth, sizeof auth, "X-Auth-Token: %s", token);
    snprintf(subject, sizeof subject, "X-Subject-Token: %s", token);
    const char *h[] = { "Connection: close", auth, subject, NULL };
    resp r = http(c, "DELETE", url, h, NULL);
    curl_easy_cleanup(c);
    if (r.status != 204)
        fail_msg("revoking a token: %s, HTTP %ld", curl_easy_strerror(r.rc), r.status);
    resp_free(&r);
}

/* ---- the daemon's API ---------------------------------------------------------------- */

static void dump_log(void)
{
    char line[1024];
    FILE *f = fopen(g.log, "r");

    if (!f)
        return;
    fprintf(stderr, "---- %s ----\n", g.log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static const char *fault_name(long status)
{
    switch (status) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 409: return "conflictingRequest";
    case 415: return "badMediaType";
    case 503: return "serviceUnavailable";
    }
    return NULL;
}

/* A request to the daemon as the holder of token (NULL: no X-Auth-Token).
 * A body goes as application/json; /v2.1 requests ask for microversion
 * 2.80. Checks what every answer must be: no transport error, JSON bodies,
 * and a Nova fault of the right name for every error. */
static resp call(const char *method, const char *path, const char *token, const char *body)
{
    char url[2048], auth[9000];
    const char *h[4] = { NULL };
    size_t n = 0;

    snprintf(url, sizeof url, "%s%s", g.base, path);
    if (token) {
        snprintf(auth, sizeof auth, "X-Auth-Token: %s", token);
        h[n++] = auth;
    }
    if (body)
        h[n++] = "Content-Type: application/json";
    if (strncmp(path, "/v2.1", 5) == 0)
        h[n++] = NOVA_VERSION;
    resp r = http(g.curl, method, url, h, body);
    if (r.rc != CURLE_OK) {
        dump_log();
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(r.rc));
    }
    if (r.body.len && !r.json)
        fail_msg("%s %s: %ld with a body that is not JSON: %s", method, path, r.status, r.body.p);
    if (r.status >= 400) {
        const char *name = fault_name(r.status);
        json_object *inner, *code, *msg;
        if (!name || !r.json || json_object_object_length(r.json) != 1 ||
            !json_object_object_get_ex(r.json, name, &inner) ||
            !json_object_object_get_ex(inner, "code", &code) ||
            json_object_get_int(code) != r.status ||
            !json_object_object_get_ex(inner, "message", &msg) ||
            !json_object_is_type(msg, json_type_string) || json_object_get_string_len(msg) == 0)
            fail_msg("%s %s: %ld is not a Nova %s fault: %s", method, path, r.status,
                     name ? name : "?", r.body.p ? r.body.p : "(no body)");
    }
    return r;
}

static void expect(const char *method, const char *path, const char *token, const char *body,
                   long status)
{
    resp r = call(method, path, token, body);
    if (r.status != status)
        fail_msg("%s %s: answered %ld, want %ld: %s", method, path, r.status, status,
                 r.body.p ? r.body.p : "");
    resp_free(&r);
}

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

static const char *fault_message(const resp *r)
{
    return get_str(get(r->json, fault_name(r->status)), "message");
}

/* The number of migration records, as token's holder lists them. */
static size_t count_as(const char *token)
{
    resp r = call("GET", "/v1/os-migrations", token, NULL);
    if (r.status != 200)
        fail_msg("list: %ld %s", r.status, r.body.p);
    size_t n = json_object_array_length(get(r.json, "migrations"));
    resp_free(&r);
    return n;
}

static size_t count(void)
{
    return count_as(g.alice);
}

/* The record of migration uuid as alice sees it, as a JSON string (malloc). */
static char *record(const char *uuid)
{
    char path[128];

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    resp r = call("GET", path, g.alice, NULL);
    if (r.status != 200)
        fail_msg("show %s: %ld %s", uuid, r.status, r.body.p);
    char *s = strdup(json_object_to_json_string_ext(get(r.json, "migration"),
                                                    JSON_C_TO_STRING_PLAIN));
    resp_free(&r);
    return s;
}

/* A field of migration uuid's record (as alice sees it), into out. */
static void field(const char *uuid, const char *key, char *out, size_t len)
{
    char path[128];

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    resp r = call("GET", path, g.alice, NULL);
    if (r.status != 200)
        fail_msg("show %s: %ld %s", uuid, r.status, r.body.p);
    snprintf(out, len, "%s", json_object_get_string(get(get(r.json, "migration"), key)));
    resp_free(&r);
}

static bool in_progress(const char *s)
{
    return strcmp(s, "queued") == 0 || strcmp(s, "preparing") == 0 ||
           strcmp(s, "running") == 0 || strcmp(s, "running (post-copy)") == 0;
}

/* Waits until migration uuid's status is want (NULL: any final one). */
static void wait_status(const char *uuid, const char *want)
{
    char got[64] = "";
    int64_t until = now_ms() + WAIT_MS;

    while (now_ms() < until) {
        field(uuid, "status", got, sizeof got);
        if (want ? strcmp(got, want) == 0 : !in_progress(got))
            return;
        sleep_ms(20);
    }
    fail_msg("migration %s is %s after %d ms, want %s", uuid, got, WAIT_MS,
             want ? want : "a final state");
}

/* POST /v1/os-migrations as alice: 202 with the record; its uuid. */
static void create(const char *instance_uuid, char uuid[37])
{
    char body[256];

    snprintf(body, sizeof body,
             "{\"migration\": {\"instance_uuid\": \"%s\", \"dest_compute\": \"node-b\"}}",
             instance_uuid);
    resp r = call("POST", "/v1/os-migrations", g.alice, body);
    if (r.status != 202)
        fail_msg("create %s as alice: %ld %s", instance_uuid, r.status, r.body.p);
    snprintf(uuid, 37, "%s", get_str(get(r.json, "migration"), "uuid"));
    assert_string_equal(get_str(get(r.json, "migration"), "instance_uuid"), instance_uuid);
    resp_free(&r);
}

/* ---- the daemon ---------------------------------------------------------------------- */

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* A libconfig string: the value quoted, with " and \ escaped. */
static void put_string(FILE *f, const char *key, const char *value)
{
    fprintf(f, "    %s = \"", key);
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        fputc(*p, f);
    }
    fprintf(f, "\";\n");
}

static bool write_config(int port)
{
    FILE *f = fopen(g.config, "w");

    if (!f)
        return false;
    fprintf(f,
            "service = { host = \"node-a\"; database = \"%s/migrationd.db\";\n"
            "            hypervisor = \"simulator\"; max_concurrent_live_migrations = 1;\n"
            "            log_level = \"info\"; };\n"
            "api = { listen = \"127.0.0.1:%d\"; auth_strategy = \"keystone\"; };\n"
            "keystone = {\n",
            g.dir, port);
    put_string(f, "auth_url", env("KS_URL"));
    put_string(f, "username", env("KS_SERVICE_USER"));
    put_string(f, "password", env("KS_SERVICE_PASSWORD"));
    put_string(f, "project_name", env("KS_SERVICE_PROJECT"));
    put_string(f, "user_domain_name", "Default");
    put_string(f, "project_domain_name", "Default");
    fprintf(f,
            "    cache_seconds = 300;\n"
            "    timeout_ms = 3000;\n"
            "};\n"
            "roles = { read = [ \"reader\", \"admin\" ]; write = [ \"admin\" ]; };\n"
            /* No timeouts: the busy guest runs until it is aborted. */
            "libvirt = { live_migration_monitor_interval_ms = 100;\n"
            "            live_migration_completion_timeout = 0;\n"
            "            live_migration_progress_timeout = 0; };\n"
            "simulator = {\n"
            "    time_scale = 50.0;\n"
            "    link_mibps = 1024;\n"
            "    domains = (\n"
            "        { name = \"vm-idle-1\"; uuid = \"" IDLE1 "\"; ram_mib = 1024; },\n"
            "        { name = \"vm-idle-2\"; uuid = \"" IDLE2 "\"; ram_mib = 1024; },\n"
            /* It dirties all its memory faster than the link copies it. */
            "        { name = \"vm-busy-1\"; uuid = \"" BUSY1 "\"; ram_mib = 4096;\n"
            "          working_set_mib = 4096; dirty_mibps = 8192; }\n"
            "    );\n"
            "};\n");
    if (fclose(f) != 0)
        return false;
    snprintf(g.base, sizeof g.base, "http://127.0.0.1:%d", port);
    return true;
}

/* Starts the daemon and waits (bounded) until GET /healthcheck answers 200
 * without a token. Returns false (having said why) when it does not. */
static bool start_daemon(void)
{
    char bin[4096];
    int port = free_port();

    snprintf(bin, sizeof bin, "%s/migrationd", getenv("MD_BINARY_DIR") ? env("MD_BINARY_DIR")
                                                                       : ".");
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "%s is not an executable: set MD_BINARY_DIR to the build directory\n",
                bin);
        return false;
    }
    if (port < 0 || !write_config(port)) {
        fprintf(stderr, "cannot write %s or find a free port\n", g.config);
        return false;
    }
    g.pid = fork();
    if (g.pid < 0)
        return false;
    if (g.pid == 0) {
        int fd = open(g.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "--config", g.config, (char *)NULL);
        _exit(127);
    }
    char url[128];
    snprintf(url, sizeof url, "%s/healthcheck", g.base);
    int64_t until = now_ms() + START_TIMEOUT_MS;
    for (;;) {
        int status;
        if (waitpid(g.pid, &status, WNOHANG) == g.pid) {
            g.pid = 0;
            dump_log();
            fprintf(stderr, "migrationd exited during start-up (status %d)\n", status);
            return false;
        }
        resp r = http(g.curl, "GET", url, NULL, NULL);
        long st = r.status;
        resp_free(&r);
        if (st == 200)
            return true;
        if (now_ms() > until) {
            dump_log();
            fprintf(stderr, "migrationd did not answer GET /healthcheck within %d ms\n",
                    START_TIMEOUT_MS);
            return false;
        }
        sleep_ms(50);
    }
}

/* SIGTERM; returns the wait status, or -1 when the daemon did not exit
 * within STOP_TIMEOUT_MS (it is then killed). */
static int stop_daemon(void)
{
    int status = -1;

    if (g.pid <= 0)
        return 0;
    kill(g.pid, SIGTERM);
    int64_t until = now_ms() + STOP_TIMEOUT_MS;
    while (now_ms() < until) {
        if (waitpid(g.pid, &status, WNOHANG) == g.pid) {
            g.pid = 0;
            return status;
        }
        sleep_ms(20);
    }
    kill(g.pid, SIGKILL);
    waitpid(g.pid, &status, 0);
    g.pid = 0;
    return -1;
}

static void remove_dir(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *e;
    char p[512];

    if (!dir)
        return;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        unlink(p);
    }
    closedir(dir);
    rmdir(path);
}

static int group_setup(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    if (!getenv("KS_URL"))
        return 0;
    g.curl = curl_easy_init();
    if (!g.curl)
        return -1;
    snprintf(g.dir, sizeof g.dir, "/tmp/md-api-auth-XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    snprintf(g.config, sizeof g.config, "%s/migrationd.conf", g.dir);
    snprintf(g.log, sizeof g.log, "%s/migrationd.log", g.dir);
    g.alice = get_token("alice", "KS_ALICE_PASSWORD");
    g.alice_revoked = get_token("alice", "KS_ALICE_PASSWORD");
    g.bob = get_token("bob", "KS_BOB_PASSWORD");
    g.carol = get_token("carol", "KS_CAROL_PASSWORD");
    g.dave = get_token("dave", "KS_DAVE_PASSWORD");
    /* Revoked before the daemon ever sees it, so it is in no cache. */
    revoke_token(g.alice_revoked);
    if (!start_daemon())
        return -1;
    g.on = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g.pid > 0) {
        kill(g.pid, SIGKILL);
        waitpid(g.pid, NULL, 0);
        g.pid = 0;
    }
    if (g.dir[0])
        remove_dir(g.dir);
    curl_easy_cleanup(g.curl);
    free(g.alice);
    free(g.alice_revoked);
    free(g.bob);
    free(g.carol);
    free(g.dave);
    return 0;
}

static void need_daemon(void)
{
    if (!g.on)
        skip();
}

/* ---- the tests ----------------------------------------------------------------------- */

static void public_routes_need_no_token(void **state)
{
    (void)state;
    need_daemon();
    expect("GET", "/healthcheck", NULL, NULL, 200);
    expect("GET", "/", NULL, NULL, 200);
    expect("GET", "/v1", NULL, NULL, 200);
    expect("GET", "/v2.1", NULL, NULL, 200);
    /* A bad token on a public route is not looked at. */
    expect("GET", "/healthcheck", "gAAAAABgarbage", NULL, 200);
}

static void missing_or_invalid_token_is_401(void **state)
{
    (void)state;
    need_daemon();
    const char *const bad[] = { NULL, "", "gAAAAABgarbage-not-a-token", g.alice_revoked };
    const char *const what[] = { "no token", "an empty token", "a garbage token",
                                 "a revoked token" };

    for (size_t i = 0; i < 4; i++) {
        resp r = call("GET", "/v1/os-migrations", bad[i], NULL);
        if (r.status != 401)
            fail_msg("GET /v1/os-migrations with %s: %ld, want 401: %s", what[i], r.status,
                     r.body.p);
        assert_non_null(get(r.json, "unauthorized"));
        assert_non_null(strstr(fault_message(&r), "Authentication required"));
        resp_free(&r);
        expect("GET", "/v2.1/os-migrations", bad[i], NULL, 401);
        expect("POST", "/v1/os-migrations", bad[i],
               "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}",
               401);
        expect("POST", "/v2.1/servers/" IDLE1 "/action", bad[i],
               "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 401);
    }
    /* Nothing was written by any of them. */
    assert_int_equal(count(), 0);
}

static void admin_reads_and_writes(void **state)
{
    char m0[37], path[128], got[64];

    (void)state;
    need_daemon();
    assert_int_equal(count_as(g.alice), 0);

    /* The busy guest's migration runs and never converges by itself. */
    create(BUSY1, g.m1);
    wait_status(g.m1, "running");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m1);
    expect("GET", path, g.alice, NULL, 200);
    /* Settings: 202 with the record showing them. */
    resp r = call("PUT", path, g.alice,
                  "{\"migration\": {\"max_downtime_ms\": 400, \"bandwidth_mibps\": 900}}");
    assert_int_equal(r.status, 202);
    json_object *m = get(r.json, "migration");
    assert_int_equal(json_object_get_int(get(m, "max_downtime_ms")), 400);
    assert_int_equal(json_object_get_int(get(m, "bandwidth_mibps")), 900);
    resp_free(&r);
    /* post_copy on a migration that does not permit it: the state says 409. */
    r = call("PUT", path, g.alice, "{\"migration\": {\"action\": \"post_copy\"}}");
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(fault_message(&r), "post-copy"));
    resp_free(&r);

    /* One migration at a time: the next ones wait. */
    create(IDLE1, m0);
    field(m0, "status", got, sizeof got);
    assert_string_equal(got, "queued");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", m0);
    /* force_complete of a queued migration: 409; settings: 202. */
    expect("PUT", path, g.alice, "{\"migration\": {\"action\": \"force_complete\"}}", 409);
    expect("PUT", path, g.alice, "{\"migration\": {\"max_downtime_ms\": 300}}", 202);
    expect("GET", "/v1/os-migrations/" IDLE1 "/events", g.alice, NULL, 404);
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", m0);
    expect("GET", path, g.alice, NULL, 200);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", m0);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(m0, "cancelled");
    /* Cancelled: a second abort is refused by the state, not by policy. */
    expect("DELETE", path, g.alice, NULL, 409);

    /* Left queued behind m1 for the reader's tests. */
    create(IDLE2, g.m2);
    field(g.m2, "status", got, sizeof got);
    assert_string_equal(got, "queued");
    assert_int_equal(count(), 3);
}

/* Each write bob tries: refused with 403 "forbidden", and then neither the
 * number of records nor m1's or m2's record has changed. */
static void refused_write(const char *method, const char *path, const char *body)
{
    size_t n = count();
    char *m2 = record(g.m2);
    char m1_status[64], m1_downtime[64];

    field(g.m1, "status", m1_status, sizeof m1_status);
    field(g.m1, "max_downtime_ms", m1_downtime, sizeof m1_downtime);
    resp r = call(method, path, g.bob, body);
    if (r.status != 403)
        fail_msg("%s %s as bob (reader): %ld, want 403: %s", method, path, r.status, r.body.p);
    assert_non_null(get(r.json, "forbidden"));
    assert_non_null(strstr(fault_message(&r), "write"));
    resp_free(&r);

    assert_int_equal(count(), n);
    char *m2_after = record(g.m2);
    assert_string_equal(m2_after, m2);
    char s[64];
    field(g.m1, "status", s, sizeof s);
    assert_string_equal(s, m1_status);
    field(g.m1, "max_downtime_ms", s, sizeof s);
    assert_string_equal(s, m1_downtime);
    free(m2);
    free(m2_after);
}

static void reader_reads_but_cannot_write(void **state)
{
    char path[128], path1[128];

    (void)state;
    need_daemon();
    /* Reads: the list, a record, its events; the same list alice sees. */
    assert_int_equal(count_as(g.bob), count_as(g.alice));
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    resp r = call("GET", path, g.bob, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(get_str(get(r.json, "migration"), "uuid"), g.m2);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/os-migrations/%s/events", g.m1);
    expect("GET", path, g.bob, NULL, 200);
    expect("GET", "/v1/os-migrations?status=queued", g.bob, NULL, 200);

    /* Writes: every one refused, nothing written. */
    refused_write("POST", "/v1/os-migrations",
                  "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    snprintf(path1, sizeof path1, "/v1/os-migrations/%s", g.m1);
    refused_write("PUT", path, "{\"migration\": {\"max_downtime_ms\": 1000}}");
    refused_write("PUT", path, "{\"migration\": {\"action\": \"abort\"}}");
    refused_write("PUT", path1, "{\"migration\": {\"max_downtime_ms\": 1000}}");
    refused_write("PUT", path1, "{\"migration\": {\"action\": \"force_complete\"}}");
    refused_write("DELETE", path, NULL);
    refused_write("DELETE", path1, NULL);
    /* Authorisation comes before the body: a malformed body is still a 403. */
    refused_write("POST", "/v1/os-migrations", "{not json");
}

static void observer_gets_nothing(void **state)
{
    char path[128];

    (void)state;
    need_daemon();
    size_t n = count();
    resp r = call("GET", "/v1/os-migrations", g.dave, NULL);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(fault_message(&r), "read"));
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    expect("GET", path, g.dave, NULL, 403);
    expect("GET", "/v2.1/os-migrations", g.dave, NULL, 403);
    expect("POST", "/v1/os-migrations", g.dave,
           "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}", 403);
    expect("DELETE", path, g.dave, NULL, 403);
    assert_int_equal(count(), n);
    /* Public routes stay open to dave too. */
    expect("GET", "/healthcheck", g.dave, NULL, 200);
}

static void nova_routes_obey_the_same_rules(void **state)
{
    char path[256], m3[37] = "";

    (void)state;
    need_daemon();
    /* Reads: bob and alice yes, dave no, nobody without a token. */
    expect("GET", "/v2.1/os-migrations", g.bob, NULL, 200);
    expect("GET", "/v2.1/os-migrations", g.alice, NULL, 200);
    expect("GET", "/v2.1/os-migrations", NULL, NULL, 401);
    expect("GET", "/v2.1/servers", g.bob, NULL, 200);
    expect("GET", "/v2.1/servers/" BUSY1, g.bob, NULL, 200);
    expect("GET", "/v2.1/servers/" BUSY1, g.dave, NULL, 403);
    expect("GET", "/v2.1/servers/" BUSY1 "/migrations", g.bob, NULL, 200);
    snprintf(path, sizeof path, "/v2.1/servers/" BUSY1 "/migrations/%s", g.m1);
    expect("GET", path, g.bob, NULL, 200);

    /* Writes as bob: 403, nothing written. */
    refused_write("POST", "/v2.1/servers/" IDLE1 "/action",
                  "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}");
    snprintf(path, sizeof path, "/v2.1/servers/" BUSY1 "/migrations/%s/action", g.m1);
    refused_write("POST", path, "{\"force_complete\": null}");
    snprintf(path, sizeof path, "/v2.1/servers/" BUSY1 "/migrations/%s", g.m1);
    refused_write("DELETE", path, NULL);
    snprintf(path, sizeof path, "/v2.1/servers/" IDLE2 "/migrations/%s", g.m2);
    refused_write("DELETE", path, NULL);
    expect("POST", "/v2.1/servers/" IDLE1 "/action", g.dave,
           "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 403);

    /* Writes as alice: os-migrateLive queues a migration (202, no body in
     * Nova), which she then aborts (2.65 allows queued ones). */
    size_t n = count();
    expect("POST", "/v2.1/servers/" IDLE1 "/action", g.alice,
           "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 202);
    assert_int_equal(count(), n + 1);
    resp r = call("GET", "/v1/os-migrations?instance_uuid=" IDLE1 "&status=queued", g.alice, NULL);
    assert_int_equal(r.status, 200);
    json_object *list = get(r.json, "migrations");
    assert_int_equal(json_object_array_length(list), 1);
    snprintf(m3, sizeof m3, "%s", get_str(json_object_array_get_idx(list, 0), "uuid"));
    resp_free(&r);
    snprintf(path, sizeof path, "/v2.1/servers/" IDLE1 "/migrations/%s", m3);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(m3, "cancelled");
}

/* Must stay the last test before the daemon's stop: it stops Keystone. */
static void keystone_down_is_503_and_cache_still_answers(void **state)
{
    char cmd[2048], path[128];

    (void)state;
    need_daemon();
    size_t n = count();
    /* alice's and bob's tokens are cached now (cache_seconds 300). */
    expect("GET", "/v1/os-migrations", g.bob, NULL, 200);

    snprintf(cmd, sizeof cmd, "bash '%s/tests/keystone/keystone.sh' stop '%s'",
             env("MD_SOURCE_DIR"), env("KS_DIR"));
    assert_int_equal(system(cmd), 0);

    /* carol's token has never been shown to the daemon: it cannot be
     * validated now. */
    resp r = call("GET", "/v1/os-migrations", g.carol, NULL);
    if (r.status != 503)
        fail_msg("GET with an uncached token, Keystone down: %ld, want 503: %s", r.status,
                 r.body.p);
    const char *msg = fault_message(&r);
    print_message("503: %s\n", msg);
    assert_non_null(get(r.json, "serviceUnavailable"));
    assert_non_null(strstr(msg, "Keystone"));
    assert_non_null(strstr(msg, env("KS_URL")));
    assert_null(strstr(msg, env("KS_SERVICE_PASSWORD")));
    resp_free(&r);

    /* A write with it: 503, nothing written. */
    expect("POST", "/v1/os-migrations", g.carol,
           "{\"migration\": {\"instance_uuid\": \"" IDLE1 "\", \"dest_compute\": \"node-b\"}}", 503);
    expect("POST", "/v2.1/servers/" IDLE1 "/action", g.carol,
           "{\"os-migrateLive\": {\"host\": \"node-b\", \"block_migration\": \"auto\"}}", 503);
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m2);
    expect("DELETE", path, g.carol, NULL, 503);
    /* An unknown token can be told neither valid nor invalid now. */
    expect("GET", "/v1/os-migrations", "gAAAAABgarbage-not-a-token", NULL, 503);
    /* Without one it is still a 401: that needs no Keystone. */
    expect("GET", "/v1/os-migrations", NULL, NULL, 401);

    /* Cached tokens keep working, reads and writes; the roles still count. */
    assert_int_equal(count_as(g.alice), n);
    assert_int_equal(count_as(g.bob), n);
    char status[64];
    field(g.m2, "status", status, sizeof status);
    assert_string_equal(status, "queued");
    expect("DELETE", path, g.bob, NULL, 403);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(g.m2, "cancelled");
    snprintf(path, sizeof path, "/v1/os-migrations/%s", g.m1);
    expect("DELETE", path, g.alice, NULL, 202);
    wait_status(g.m1, NULL);
    expect("GET", "/healthcheck", NULL, NULL, 200);
}

/* Last: SIGTERM; the daemon exits 0 within STOP_TIMEOUT_MS, and its log
 * holds no sanitizer report. */
static void sigterm_exits_zero(void **state)
{
    char line[2048];

    (void)state;
    need_daemon();
    int64_t t0 = now_ms();
    int status = stop_daemon();
    if (status == -1) {
        dump_log();
        fail_msg("migrationd did not exit within %d ms of SIGTERM", STOP_TIMEOUT_MS);
    }
    print_message("migrationd exited %lld ms after SIGTERM\n", (long long)(now_ms() - t0));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        dump_log();
        fail_msg("migrationd's wait status after SIGTERM: %d (want exit 0)", status);
    }
    FILE *f = fopen(g.log, "r");
    assert_non_null(f);
    bool clean = true;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error:"))
            clean = false;
    }
    fclose(f);
    if (!clean) {
        dump_log();
        fail_msg("the daemon's log has a sanitizer report");
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(public_routes_need_no_token),
        cmocka_unit_test(missing_or_invalid_token_is_401),
        cmocka_unit_test(admin_reads_and_writes),
        cmocka_unit_test(reader_reads_but_cannot_write),
        cmocka_unit_test(observer_gets_nothing),
        cmocka_unit_test(nova_routes_obey_the_same_rules),
        /* These two must stay last, in this order. */
        cmocka_unit_test(keystone_down_is_503_and_cache_still_answers),
        cmocka_unit_test(sigterm_exits_zero),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return failed;
}
