/* http.c - a libcurl client, and a migrationd process on the simulator to talk to, for tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/check.h"

struct md_test_http {
    CURL *curl;
    char base[128];
};

/* ---- the client ------------------------------------------------------------------- */

void md_test_http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void md_test_http_global_cleanup(void)
{
    curl_global_cleanup();
}

md_test_http *md_test_http_new(const char *base)
{
    md_test_http *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    md_test_http_set_base(c, base);
    return c;
}

void md_test_http_free(md_test_http *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void md_test_http_set_base(md_test_http *c, const char *base)
{
    snprintf(c->base, sizeof c->base, "%s", base ? base : "");
}

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
    md_test_buf *b = userdata;
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

md_test_http_resp md_test_http_request(md_test_http *c, const char *method, const char *target,
                                       const char *const *headers, const char *body,
                                       size_t body_len)
{
    char url[2048];
    struct curl_slist *hl = NULL;
    CURL *h = c->curl;
    md_test_http_resp r;

    memset(&r, 0, sizeof r);
    snprintf(url, sizeof url, "%s%s", strncmp(target, "http", 4) == 0 ? "" : c->base, target);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)MD_TEST_HTTP_TIMEOUT_MS);
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
    r.rc = (int)curl_easy_perform(h);
    if (r.rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    if (r.body.len)
        r.json = json_tokener_parse(r.body.p);
    return r;
}

const char *md_test_http_error(const md_test_http_resp *r)
{
    return curl_easy_strerror((CURLcode)r->rc);
}

bool md_test_http_header(const md_test_http_resp *r, const char *name, char *out, size_t len)
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

void md_test_http_resp_free(md_test_http_resp *r)
{
    free(r->body.p);
    free(r->headers.p);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

/* ---- the daemon ------------------------------------------------------------------- */

int md_test_daemon_init(md_test_daemon *d, const char *tag, const md_test_daemon_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    snprintf(d->dir, sizeof d->dir, "/tmp/md-%s-XXXXXX", tag);
    if (!mkdtemp(d->dir)) {
        perror(d->dir);
        d->dir[0] = '\0';
        return -1;
    }
    snprintf(d->config, sizeof d->config, "%s/migrationd.conf", d->dir);
    snprintf(d->log, sizeof d->log, "%s/migrationd.log", d->dir);
    d->http = md_test_http_new(NULL);
    if (!d->http) {
        fprintf(stderr, "test daemon: libcurl cannot make a handle\n");
        return -1;
    }
    return 0;
}

/* A free TCP port on the loopback, or -1. Another process may take it
 * before the daemon binds it; on a test machine that does not happen. */
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

static int write_config(const md_test_daemon *d, int port)
{
    const md_test_daemon_config *cfg = d->cfg;
    FILE *f = fopen(d->config, "w");

    if (!f) {
        perror(d->config);
        return -1;
    }
    fprintf(f,
            "service = { host = \"node-a\"; database = \"%s/migrationd.db\";\n"
            "            hypervisor = \"simulator\"; max_concurrent_live_migrations = %d;\n"
            "            log_level = \"info\"; };\n"
            "api = { listen = \"127.0.0.1:%d\"; %s };\n",
            d->dir, cfg->max_concurrent, port, cfg->api ? cfg->api : "");
    if (cfg->sections)
        cfg->sections(f);
    fprintf(f,
            "libvirt = { live_migration_monitor_interval_ms = 100;\n"
            "            live_migration_completion_timeout = 0;\n"
            "            live_migration_progress_timeout = 0; };\n"
            "simulator = {\n"
            "    time_scale = 50.0;\n"
            "    link_mibps = 1024;\n"
            "    domains = (\n"
            "%s"
            "    );\n"
            "};\n",
            cfg->domains);
    if (fclose(f) != 0) {
        perror(d->config);
        return -1;
    }
    return 0;
}

void md_test_daemon_dump_log(const md_test_daemon *d)
{
    char line[1024];
    FILE *f = fopen(d->log, "r");

    if (!f)
        return;
    fprintf(stderr, "---- %s ----\n", d->log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

int md_test_daemon_start(md_test_daemon *d)
{
    char bin[4096];
    const char *dir = getenv("MD_BINARY_DIR");
    int port = free_port();

    snprintf(bin, sizeof bin, "%s/migrationd", dir ? dir : ".");
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "%s is not an executable: set MD_BINARY_DIR to the build directory\n", bin);
        return -1;
    }
    if (port < 0) {
        fprintf(stderr, "test daemon: no free port on 127.0.0.1\n");
        return -1;
    }
    if (write_config(d, port) != 0)
        return -1;
    snprintf(d->base, sizeof d->base, "http://127.0.0.1:%d", port);
    md_test_http_set_base(d->http, d->base);
    d->pid = fork();
    if (d->pid < 0) {
        perror("fork");
        d->pid = 0;
        return -1;
    }
    if (d->pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "--config", d->config, (char *)NULL);
        _exit(127);
    }
    int64_t until = md_test_now_ms() + MD_TEST_DAEMON_START_MS;
    for (;;) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            md_test_daemon_dump_log(d);
            fprintf(stderr, "migrationd exited during start-up (status %d)\n", status);
            return -1;
        }
        md_test_http_resp r = md_test_http_request(d->http, "GET", "/healthcheck", NULL, NULL, 0);
        long st = r.status;
        md_test_http_resp_free(&r);
        if (st == 200)
            return 0;
        if (md_test_now_ms() > until) {
            md_test_daemon_dump_log(d);
            fprintf(stderr, "migrationd did not answer GET /healthcheck within %d ms\n",
                    MD_TEST_DAEMON_START_MS);
            return -1;
        }
        md_test_sleep_ms(50);
    }
}

int md_test_daemon_stop(md_test_daemon *d)
{
    int status = -1;

    if (d->pid <= 0)
        return 0;
    kill(d->pid, SIGTERM);
    int64_t until = md_test_now_ms() + MD_TEST_DAEMON_STOP_MS;
    while (md_test_now_ms() < until) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return status;
        }
        md_test_sleep_ms(20);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

/* True when the daemon's log holds no report of ASan, UBSan or TSan. */
static bool log_is_clean(const md_test_daemon *d)
{
    char line[2048];
    bool clean = true;
    FILE *f = fopen(d->log, "r");

    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error:"))
            clean = false;
    }
    fclose(f);
    return clean;
}

void md_test_daemon_expect_clean_stop(md_test_daemon *d)
{
    int status = md_test_daemon_stop(d);

    if (status == -1) {
        md_test_daemon_dump_log(d);
        fail_msg("migrationd did not exit within %d ms of SIGTERM", MD_TEST_DAEMON_STOP_MS);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        md_test_daemon_dump_log(d);
        fail_msg("migrationd ended with %s %d after SIGTERM",
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    if (!log_is_clean(d)) {
        md_test_daemon_dump_log(d);
        fail_msg("the daemon's log has a sanitizer report");
    }
}

/* Removes the daemon's directory: it holds files only (configuration,
 * log, the database and its journal files). */
static void remove_dir(const char *path)
{
    char p[512];
    struct dirent *e;
    DIR *dir = opendir(path);

    if (!dir)
        return;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (unlink(p) != 0)
            perror(p);
    }
    closedir(dir);
    if (rmdir(path) != 0)
        fprintf(stderr, "test daemon: could not remove %s\n", path);
}

void md_test_daemon_close(md_test_daemon *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    if (d->dir[0])
        remove_dir(d->dir);
    d->dir[0] = '\0';
    md_test_http_free(d->http);
    d->http = NULL;
}

void md_test_daemon_check(const md_test_daemon *d, const char *method, const char *target,
                          const md_test_http_resp *r)
{
    char ct[128] = "", what[2100];

    if (r->rc != CURLE_OK) {
        md_test_daemon_dump_log(d);
        fail_msg("%s %s: %s (daemon log %s)", method, target, md_test_http_error(r), d->log);
    }
    if (r->status >= 500 && !d->server_errors_ok)
        fail_msg("%s %s: answered %ld: %s", method, target, r->status, r->body.p);
    if (r->body.len) {
        if (!md_test_http_header(r, "Content-Type", ct, sizeof ct) ||
            strncasecmp(ct, "application/json", 16) != 0)
            fail_msg("%s %s: Content-Type %s", method, target, ct);
        if (!r->json)
            fail_msg("%s %s: %ld with a body that is not JSON: %s", method, target, r->status,
                     r->body.p);
    }
    if (r->status >= 400) {
        snprintf(what, sizeof what, "%s %s", method, target);
        md_test_check_fault(what, r->status, r->json, r->body.p);
    }
}

md_test_http_resp md_test_daemon_call(md_test_daemon *d, const char *method, const char *target,
                                      const char *const *headers, const char *body)
{
    const char *h[16] = { NULL };
    size_t n = 0;

    if (body)
        h[n++] = "Content-Type: application/json";
    for (size_t i = 0; headers && headers[i]; i++) {
        if (n == sizeof h / sizeof h[0] - 1)
            fail_msg("%s %s: more than %zu headers", method, target, n);
        h[n++] = headers[i];
    }
    md_test_http_resp r =
        md_test_http_request(d->http, method, target, h, body, body ? strlen(body) : 0);
    md_test_daemon_check(d, method, target, &r);
    return r;
}

void md_test_daemon_expect(md_test_daemon *d, const char *method, const char *target,
                           const char *const *headers, const char *body, long status)
{
    md_test_http_resp r = md_test_daemon_call(d, method, target, headers, body);

    if (r.status != status)
        fail_msg("%s %s: answered %ld, want %ld: %s", method, target, r.status, status,
                 r.body.p ? r.body.p : "");
    md_test_http_resp_free(&r);
}

json_object *md_test_daemon_show(md_test_daemon *d, const char *const *headers, const char *uuid,
                                 md_test_http_resp *r)
{
    char path[128];

    snprintf(path, sizeof path, "/v1/os-migrations/%s", uuid);
    *r = md_test_daemon_call(d, "GET", path, headers, NULL);
    if (r->status != 200)
        fail_msg("show %s: %ld %s", uuid, r->status, r->body.p);
    return md_test_json_get(r->json, "migration");
}

bool md_test_status_in_progress(const char *status)
{
    return strcmp(status, "queued") == 0 || strcmp(status, "preparing") == 0 ||
           strcmp(status, "running") == 0 || strcmp(status, "running (post-copy)") == 0 ||
           strcmp(status, "running (post-copy recovering)") == 0;
}

void md_test_daemon_wait_status(md_test_daemon *d, const char *const *headers, const char *uuid,
                                const char *want)
{
    char got[64] = "";
    int64_t until = md_test_now_ms() + MD_TEST_DAEMON_WAIT_MS;

    while (md_test_now_ms() < until) {
        md_test_http_resp r;
        snprintf(got, sizeof got, "%s",
                 md_test_json_str(md_test_daemon_show(d, headers, uuid, &r), "status"));
        md_test_http_resp_free(&r);
        if (want ? strcmp(got, want) == 0 : !md_test_status_in_progress(got))
            return;
        md_test_sleep_ms(20);
    }
    fail_msg("migration %s is %s after %d ms, want %s", uuid, got, MD_TEST_DAEMON_WAIT_MS,
             want ? want : "a final state");
}

int64_t md_test_daemon_wait_downtime(md_test_daemon *d, const char *const *headers,
                                     const char *uuid)
{
    int64_t until = md_test_now_ms() + MD_TEST_DAEMON_WAIT_MS;

    while (md_test_now_ms() < until) {
        md_test_http_resp r;
        json_object *m = md_test_daemon_show(d, headers, uuid, &r);
        bool known = !md_test_json_is_null(m, "downtime_ms");
        int64_t dt = known ? md_test_json_int(m, "downtime_ms") : -1;
        md_test_http_resp_free(&r);
        if (known)
            return dt;
        md_test_sleep_ms(20);
    }
    fail_msg("migration %s: downtime_ms still null after %d ms", uuid, MD_TEST_DAEMON_WAIT_MS);
    return -1;
}
