/* test_auth.c - api/auth.c against a real Keystone started by tests/keystone/keystone.sh.
 *
 * The environment names the Keystone (KS_URL, KS_DIR) and the passwords of
 * its accounts (KS_*_PASSWORD), as printed by `keystone.sh start`; without
 * KS_URL every test is skipped. The tests get real user tokens themselves
 * (POST /v3/auth/tokens with libcurl) and check what md_auth_validate()
 * makes of them: the roles of each account, invalid and revoked tokens, the
 * cache (through md_auth_get_stats(), which counts HTTP requests), renewal
 * of a revoked service token, and the failures that must become
 * MD_ERR_UNAVAILABLE: nothing listening, no answer in time, wrong service
 * credentials, a service user that may not validate, Keystone stopped;
 * the token's scope (project name and domain, system); the cache of
 * refused tokens; and against a socket that never answers, the circuit
 * breaker and the bound on validations in flight.
 * The last test stops Keystone (keystone.sh stop), so it must stay last.
 *
 * Role matching (md_auth_has_role) is checked here against read roles
 * "reader" and "admin", set by make_config(): the default rule, admin
 * scope included, is api/authz.c's (tests/unit/test_authz.c, and
 * tests/keystone/test_api_auth.c through a daemon).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/auth.h"
#include "service/config.h"

/* The tokens every test may use, fetched once by group_setup. */
typedef struct fixture {
    const char *url;
    char *alice;          /* admin on demo */
    char *alice_revoked;  /* a second token of alice's, revoked */
    char *alice_unscoped; /* no project */
    char *bob;            /* reader on demo */
    char *carol;          /* member on demo */
    char *dave;           /* observer on demo */
    char *demo_id;        /* the demo project's id */
} fixture;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? v : "";
}

/* ---- direct Keystone calls made by the test itself ---- */

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char *subject_token;
} reply;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    reply *r = userdata;
    size_t n = size * nmemb;
    char *grown = realloc(r->body, r->len + n + 1);
    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + r->len, data, n);
    r->len += n;
    grown[r->len] = '\0';
    r->body = grown;
    return n;
}

static void reply_clear(reply *r)
{
    free(r->body);
    free(r->subject_token);
    memset(r, 0, sizeof *r);
}

/* One request to KS_URL + path; a NULL body means no body. Fails the test
 * when Keystone can not be reached. */
static void ks_call(const char *method, const char *path, const char *auth, const char *subject,
                    const char *body, reply *r)
{
    char url[1024];
    char line[9000];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    snprintf(url, sizeof url, "%s%s", env("KS_URL"), path);
    h = curl_slist_append(h, "Connection: close");
    h = curl_slist_append(h, "Content-Type: application/json");
    if (auth != NULL) {
        snprintf(line, sizeof line, "X-Auth-Token: %s", auth);
        h = curl_slist_append(h, line);
    }
    if (subject != NULL) {
        snprintf(line, sizeof line, "X-Subject-Token: %s", subject);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    struct curl_header *hdr = NULL;
    if (curl_easy_header(c, "X-Subject-Token", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK) {
        r->subject_token = strdup(hdr->value);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* A new token of user (password from env var pw_var), scoped to project
 * (NULL: unscoped). When project_id is not NULL it receives the project's
 * id (malloc). */
static char *get_token(const char *user, const char *pw_var, const char *project, char **project_id)
{
    reply r = { 0 };
    json_object *req = json_object_new_object();
    json_object *auth = json_object_new_object();
    json_object *identity = json_object_new_object();
    json_object *methods = json_object_new_array();
    json_object *password = json_object_new_object();
    json_object *u = json_object_new_object();
    json_object *dom = json_object_new_object();
    json_object_object_add(dom, "name", json_object_new_string("Default"));
    json_object_object_add(u, "name", json_object_new_string(user));
    json_object_object_add(u, "domain", dom);
    json_object_object_add(u, "password", json_object_new_string(env(pw_var)));
    json_object_object_add(password, "user", u);
    json_object_array_add(methods, json_object_new_string("password"));
    json_object_object_add(identity, "methods", methods);
    json_object_object_add(identity, "password", password);
    json_object_object_add(auth, "identity", identity);
    if (project != NULL) {
        json_object *scope = json_object_new_object();
        json_object *p = json_object_new_object();
        json_object *pdom = json_object_new_object();
        json_object_object_add(pdom, "name", json_object_new_string("Default"));
        json_object_object_add(p, "name", json_object_new_string(project));
        json_object_object_add(p, "domain", pdom);
        json_object_object_add(scope, "project", p);
        json_object_object_add(auth, "scope", scope);
    }
    json_object_object_add(req, "auth", auth);

    ks_call("POST", "/auth/tokens", NULL, NULL, json_object_to_json_string(req), &r);
    json_object_put(req);
    if (r.status != 201 || r.subject_token == NULL) {
        fail_msg("token for %s: HTTP %ld %s", user, r.status, r.body ? r.body : "");
    }
    if (project_id != NULL) {
        json_object *doc = json_tokener_parse(r.body);
        json_object *t = NULL, *p = NULL, *id = NULL;
        assert_true(json_object_object_get_ex(doc, "token", &t));
        assert_true(json_object_object_get_ex(t, "project", &p));
        assert_true(json_object_object_get_ex(p, "id", &id));
        *project_id = strdup(json_object_get_string(id));
        json_object_put(doc);
    }
    char *token = r.subject_token;
    r.subject_token = NULL;
    reply_clear(&r);
    return token;
}

/* Sets the service user's password to the same value through the admin
 * API. Keystone revokes every token of a user whose password changes, so
 * this revokes the service token that an md_auth holds. */
static void revoke_service_tokens(void)
{
    reply r = { 0 };
    char *admin = get_token("admin", "KS_ADMIN_PASSWORD", "admin", NULL);
    ks_call("GET", "/users?name=migrationd", admin, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_object *doc = json_tokener_parse(r.body);
    json_object *users = NULL, *id = NULL;
    assert_true(json_object_object_get_ex(doc, "users", &users));
    assert_int_equal(json_object_array_length(users), 1);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(users, 0), "id", &id));
    char path[256];
    snprintf(path, sizeof path, "/users/%s", json_object_get_string(id));
    json_object_put(doc);
    reply_clear(&r);

    char body[512];
    snprintf(body, sizeof body, "{\"user\": {\"password\": \"%s\"}}", env("KS_SERVICE_PASSWORD"));
    ks_call("PATCH", path, admin, NULL, body, &r);
    assert_int_equal(r.status, 200);
    reply_clear(&r);
    free(admin);
}

/* ---- md_auth set-up ---- */

static md_config *make_config(const char *url, int cache_seconds, int timeout_ms)
{
    md_config *cfg = calloc(1, sizeof *cfg);
    assert_non_null(cfg);
    md_config_defaults(cfg);
    snprintf(cfg->keystone.auth_url, sizeof cfg->keystone.auth_url, "%s", url);
    snprintf(cfg->keystone.username, sizeof cfg->keystone.username, "%s", env("KS_SERVICE_USER"));
    snprintf(cfg->keystone.password, sizeof cfg->keystone.password, "%s",
             env("KS_SERVICE_PASSWORD"));
    snprintf(cfg->keystone.project_name, sizeof cfg->keystone.project_name, "%s",
             env("KS_SERVICE_PROJECT"));
    cfg->keystone.cache_seconds = cache_seconds;
    cfg->keystone.timeout_ms = timeout_ms;
    cfg->roles.read = (md_config_roles){ .count = 2, .names = { "reader", "admin" } };
    return cfg;
}

static md_auth *make_auth(const md_config *cfg)
{
    md_auth *a = NULL;
    md_err err = { "" };
    if (md_auth_new(cfg, &a, &err) != MD_OK) {
        fail_msg("md_auth_new: %s", err.msg);
    }
    return a;
}

static uint64_t requests(md_auth *a)
{
    md_auth_stats s;
    md_auth_get_stats(a, &s);
    return s.keystone_requests;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Validates token with a, expecting MD_OK; returns the result. */
static md_auth_result validate_ok(md_auth *a, const char *token)
{
    md_auth_result r;
    md_err err = { "" };
    md_status st = md_auth_validate(a, token, &r, &err);
    if (st != MD_OK) {
        fail_msg("validate: %s: %s", md_status_str(st), err.msg);
    }
    return r;
}

static bool has(const md_auth_result *r, const char *role)
{
    for (size_t i = 0; i < r->nroles; i++) {
        if (strcmp(r->roles[i], role) == 0) {
            return true;
        }
    }
    return false;
}

static int group_setup(void **state)
{
    if (getenv("KS_URL") == NULL) {
        *state = NULL;
        return 0;
    }
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return -1;
    }
    f->url = env("KS_URL");
    f->alice = get_token("alice", "KS_ALICE_PASSWORD", "demo", &f->demo_id);
    f->alice_revoked = get_token("alice", "KS_ALICE_PASSWORD", "demo", NULL);
    f->alice_unscoped = get_token("alice", "KS_ALICE_PASSWORD", NULL, NULL);
    f->bob = get_token("bob", "KS_BOB_PASSWORD", "demo", NULL);
    f->carol = get_token("carol", "KS_CAROL_PASSWORD", "demo", NULL);
    f->dave = get_token("dave", "KS_DAVE_PASSWORD", "demo", NULL);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    if (f != NULL) {
        free(f->alice);
        free(f->alice_revoked);
        free(f->alice_unscoped);
        free(f->bob);
        free(f->carol);
        free(f->dave);
        free(f->demo_id);
        free(f);
    }
    return 0;
}

static fixture *fx(void **state)
{
    if (*state == NULL) {
        skip();
    }
    return *state;
}

/* ---- the tests ---- */

static void test_has_role_rules(void **state)
{
    (void)state;
    md_config *cfg = calloc(1, sizeof *cfg);
    assert_non_null(cfg);
    md_config_defaults(cfg);
    cfg->roles.read = (md_config_roles){ .count = 2, .names = { "reader", "admin" } };
    md_auth_result r = { .nroles = 2, .roles = { "member", "Reader" } };
    assert_true(md_auth_has_role(&r, &cfg->roles.read)); /* case does not matter */
    assert_false(md_auth_has_role(&r, &cfg->roles.write));
    md_auth_result none = { .nroles = 0 };
    assert_false(md_auth_has_role(&none, &cfg->roles.read));
    assert_false(md_auth_has_role(NULL, &cfg->roles.read));
    assert_false(md_auth_has_role(&r, NULL));
    free(cfg);
}

static void test_alice_admin_reads_and_writes(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    int64_t t0 = now_ms();
    md_auth_result r = validate_ok(a, f->alice);
    assert_true(has(&r, "admin"));
    assert_true(md_auth_has_role(&r, &cfg->roles.write));
    assert_true(md_auth_has_role(&r, &cfg->roles.read));
    assert_string_equal(r.project_id, f->demo_id);
    /* The scope, for api/authz.c: demo in Default, not the system. */
    assert_string_equal(r.project_name, "demo");
    assert_string_equal(r.project_domain_id, "default");
    assert_string_equal(r.project_domain_name, "Default");
    assert_false(r.system_all);
    assert_int_equal(strlen(r.user_id), 32);
    /* keystone.sh issues tokens for an hour. */
    assert_true(r.expires_at > t0 + 3000 * 1000);
    assert_true(r.expires_at <= t0 + 3601 * 1000);
    md_auth_free(a);
    free(cfg);
}

static void test_bob_reader_reads_only(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    md_auth_result r = validate_ok(a, f->bob);
    assert_int_equal(r.nroles, 1);
    assert_string_equal(r.roles[0], "reader");
    assert_true(md_auth_has_role(&r, &cfg->roles.read));
    assert_false(md_auth_has_role(&r, &cfg->roles.write));
    md_auth_free(a);
    free(cfg);
}

/* Keystone's bootstrap makes member imply reader, and validation lists
 * implied roles: a member may read. */
static void test_carol_member_reads_through_implied_reader(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    md_auth_result r = validate_ok(a, f->carol);
    assert_true(has(&r, "member"));
    assert_true(has(&r, "reader"));
    assert_true(md_auth_has_role(&r, &cfg->roles.read));
    assert_false(md_auth_has_role(&r, &cfg->roles.write));
    md_auth_free(a);
    free(cfg);
}

static void test_dave_observer_neither(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    md_auth_result r = validate_ok(a, f->dave);
    assert_int_equal(r.nroles, 1);
    assert_string_equal(r.roles[0], "observer");
    assert_false(md_auth_has_role(&r, &cfg->roles.read));
    assert_false(md_auth_has_role(&r, &cfg->roles.write));
    md_auth_free(a);
    free(cfg);
}

static void test_unscoped_token_has_no_project(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    md_auth_result r = validate_ok(a, f->alice_unscoped);
    assert_string_equal(r.project_id, "");
    assert_int_equal(strlen(r.user_id), 32);
    assert_int_equal(r.nroles, 0);
    assert_false(md_auth_has_role(&r, &cfg->roles.read));
    md_auth_free(a);
    free(cfg);
}

static void test_invalid_tokens_are_not_found(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    md_auth_result r;
    md_err err = { "" };

    assert_int_equal(md_auth_validate(a, "gAAAAABgarbage", &r, &err), MD_ERR_UNAUTHORIZED);
    assert_string_equal(err.msg, "token is not valid");
    /* Refusals are remembered (negative_cache_seconds): the second one
     * does not ask again. */
    uint64_t before = requests(a);
    assert_int_equal(md_auth_validate(a, "gAAAAABgarbage", &r, &err), MD_ERR_UNAUTHORIZED);
    assert_string_equal(err.msg, "token is not valid");
    assert_int_equal(requests(a), before);
    md_auth_stats s;
    md_auth_get_stats(a, &s);
    assert_int_equal(s.refused_hits, 1);

    /* These never reach Keystone. */
    before = requests(a);
    assert_int_equal(md_auth_validate(a, NULL, &r, &err), MD_ERR_UNAUTHORIZED);
    assert_int_equal(md_auth_validate(a, "", &r, &err), MD_ERR_UNAUTHORIZED);
    char *crlf = malloc(strlen(f->bob) + 32);
    assert_non_null(crlf);
    sprintf(crlf, "%s\r\nX-Injected: 1", f->bob);
    assert_int_equal(md_auth_validate(a, crlf, &r, &err), MD_ERR_UNAUTHORIZED);
    free(crlf);
    /* Bytes no Keystone token has (fernet and JWS are base64url). */
    assert_int_equal(md_auth_validate(a, "gAAAAAB garbage", &r, &err), MD_ERR_UNAUTHORIZED);
    assert_int_equal(md_auth_validate(a, "gAAAAAB\x1b[2J", &r, &err), MD_ERR_UNAUTHORIZED);
    assert_int_equal(md_auth_validate(a, "gAAAAAB\"garbage", &r, &err), MD_ERR_UNAUTHORIZED);
    char *longer = malloc(8194);
    assert_non_null(longer);
    memset(longer, 'A', 8193);
    longer[8193] = '\0';
    assert_int_equal(md_auth_validate(a, longer, &r, &err), MD_ERR_UNAUTHORIZED);
    assert_string_equal(err.msg, "token is not valid");
    free(longer);
    assert_int_equal(requests(a), before);

    md_auth_free(a);
    free(cfg);
}

static void test_revoked_token_is_not_found(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    reply rep = { 0 };
    ks_call("DELETE", "/auth/tokens", f->alice_revoked, f->alice_revoked, NULL, &rep);
    assert_int_equal(rep.status, 204);
    reply_clear(&rep);

    md_auth_result r;
    md_err err = { "" };
    assert_int_equal(md_auth_validate(a, f->alice_revoked, &r, &err), MD_ERR_UNAUTHORIZED);
    assert_string_equal(err.msg, "token is not valid");
    /* The other token of the same user stays valid. */
    validate_ok(a, f->alice);
    md_auth_free(a);
    free(cfg);
}

static void test_cache_answers_second_validation(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    md_auth_result r1 = validate_ok(a, f->bob);
    uint64_t after_first = requests(a);
    assert_int_equal(after_first, 2); /* service login + validation */
    md_auth_result r2 = validate_ok(a, f->bob);
    assert_int_equal(requests(a), after_first);
    assert_memory_equal(&r1, &r2, sizeof r1);
    md_auth_stats s;
    md_auth_get_stats(a, &s);
    assert_int_equal(s.cache_hits, 1);
    assert_int_equal(s.cache_misses, 1);
    /* A different token is a different entry. */
    md_auth_result r3 = validate_ok(a, f->alice);
    assert_true(has(&r3, "admin"));
    assert_int_equal(requests(a), after_first + 1);
    md_auth_free(a);
    free(cfg);
}

static void test_cache_seconds_zero_asks_every_time(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 0, 5000);
    md_auth *a = make_auth(cfg);
    validate_ok(a, f->bob);
    validate_ok(a, f->bob);
    validate_ok(a, f->bob);
    assert_int_equal(requests(a), 4); /* one login, three validations */
    md_auth_stats s;
    md_auth_get_stats(a, &s);
    assert_int_equal(s.cache_hits, 0);
    md_auth_free(a);
    free(cfg);
}

static void test_cache_expires_after_cache_seconds(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 1, 5000);
    md_auth *a = make_auth(cfg);
    validate_ok(a, f->bob);
    validate_ok(a, f->bob);
    assert_int_equal(requests(a), 2);
    usleep(1100 * 1000);
    validate_ok(a, f->bob);
    assert_int_equal(requests(a), 3);
    md_auth_free(a);
    free(cfg);
}

typedef struct thread_arg {
    md_auth *a;
    fixture *f;
    int failures;
} thread_arg;

static void *validate_many(void *p)
{
    thread_arg *t = p;
    const char *tokens[3] = { t->f->alice, t->f->bob, t->f->carol };
    const char *expect[3] = { "admin", "reader", "member" };
    for (int i = 0; i < 30; i++) {
        md_auth_result r;
        md_err err = { "" };
        int k = i % 3;
        if (md_auth_validate(t->a, tokens[k], &r, &err) != MD_OK || !has(&r, expect[k])) {
            t->failures++;
        }
    }
    return NULL;
}

/* Threads share one md_auth: the first misses run concurrently (and race
 * to log in and to insert), the rest are hits. */
static void test_threads_share_one_validator(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    /* Every thread may ask at once: the bound is tested on its own. */
    cfg->keystone.max_concurrent_validations = 8;
    md_auth *a = make_auth(cfg);
    pthread_t th[8];
    thread_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (thread_arg){ .a = a, .f = f };
        assert_int_equal(pthread_create(&th[i], NULL, validate_many, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    /* One login (threads wait for it), at most one validation per token
     * and thread. */
    assert_true(requests(a) <= 1 + 3 * 8);
    md_auth_stats s;
    md_auth_get_stats(a, &s);
    assert_int_equal(s.cache_hits + s.cache_misses, 8 * 30);
    md_auth_free(a);
    free(cfg);
}

/* When Keystone revokes the service token (here: its user's password is
 * set again), the next validation gets 401, logs in again and retries. */
static void test_revoked_service_token_is_renewed(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 0, 5000);
    md_auth *a = make_auth(cfg);
    validate_ok(a, f->bob);
    assert_int_equal(requests(a), 2);
    revoke_service_tokens();
    /* Revocation has one-second resolution: a token issued in the same
     * second would count as revoked too. */
    usleep(1100 * 1000);
    md_auth_result r = validate_ok(a, f->bob);
    assert_string_equal(r.roles[0], "reader");
    /* validation (401), login, validation */
    assert_int_equal(requests(a), 5);
    md_auth_free(a);
    free(cfg);
}

static void test_service_user_without_rights(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    snprintf(cfg->keystone.username, sizeof cfg->keystone.username, "carol");
    snprintf(cfg->keystone.password, sizeof cfg->keystone.password, "%s", env("KS_CAROL_PASSWORD"));
    snprintf(cfg->keystone.project_name, sizeof cfg->keystone.project_name, "demo");
    md_auth *a = make_auth(cfg);
    md_auth_result r;
    md_err err = { "" };
    assert_int_equal(md_auth_validate(a, f->bob, &r, &err), MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "credentials were refused"));
    assert_non_null(strstr(err.msg, "may not validate"));
    md_auth_free(a);
    free(cfg);
}

static void test_wrong_service_password(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    snprintf(cfg->keystone.password, sizeof cfg->keystone.password, "not-the-password");
    md_auth *a = make_auth(cfg);
    md_auth_result r;
    md_err err = { "" };
    assert_int_equal(md_auth_validate(a, f->bob, &r, &err), MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "migrationd's own Keystone credentials were refused"));
    assert_null(strstr(err.msg, "not-the-password"));
    md_auth_free(a);
    free(cfg);
}

static void test_nothing_listening(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config("http://127.0.0.1:1/v3", 300, 5000);
    md_auth *a = make_auth(cfg);
    md_auth_result r;
    md_err err = { "" };
    assert_int_equal(md_auth_validate(a, f->bob, &r, &err), MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "Keystone at http://127.0.0.1:1/v3 is unreachable: "));
    print_message("unreachable: %s\n", err.msg);
    md_auth_free(a);
    free(cfg);
}

/* A socket that accepts connections (the kernel completes them) but never
 * answers: the request must give up after keystone.timeout_ms. */
static void test_no_answer_times_out(void **state)
{
    fixture *f = fx(state);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t slen = sizeof sin;
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(s, 16), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &slen), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v3", ntohs(sin.sin_port));

    md_config *cfg = make_config(url, 300, 300);
    md_auth *a = make_auth(cfg);
    md_auth_result r;
    md_err err = { "" };
    int64_t t0 = now_ms();
    assert_int_equal(md_auth_validate(a, f->bob, &r, &err), MD_ERR_UNAVAILABLE);
    int64_t took = now_ms() - t0;
    print_message("timeout after %lld ms: %s\n", (long long)took, err.msg);
    assert_true(took >= 290 && took < 2000);
    assert_non_null(strstr(err.msg, "is unreachable: "));
    md_auth_free(a);
    free(cfg);
    close(s);
}

/* With negative_cache_seconds 0 every refusal asks Keystone again. */
static void test_refusals_not_remembered_when_off(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    cfg->keystone.negative_cache_seconds = 0;
    md_auth *a = make_auth(cfg);
    md_auth_result r;
    md_err err = { "" };
    assert_int_equal(md_auth_validate(a, "gAAAAABgarbage-2", &r, &err), MD_ERR_UNAUTHORIZED);
    uint64_t before = requests(a);
    assert_int_equal(md_auth_validate(a, "gAAAAABgarbage-2", &r, &err), MD_ERR_UNAUTHORIZED);
    assert_int_equal(requests(a), before + 1);
    md_auth_free(a);
    free(cfg);
}

/* A system-scoped token of the bootstrap admin: no project, system_all. */
static void test_system_scoped_token(void **state)
{
    fixture *f = fx(state);
    md_config *cfg = make_config(f->url, 300, 5000);
    md_auth *a = make_auth(cfg);
    reply rep = { 0 };
    json_object *pw = json_object_new_string(env("KS_ADMIN_PASSWORD"));
    char body[1024];
    snprintf(body, sizeof body,
             "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": "
             "{\"user\": {\"name\": \"admin\", \"domain\": {\"name\": \"Default\"}, "
             "\"password\": %s}}}, \"scope\": {\"system\": {\"all\": true}}}}",
             json_object_to_json_string(pw));
    json_object_put(pw);
    ks_call("POST", "/auth/tokens", NULL, NULL, body, &rep);
    assert_int_equal(rep.status, 201);
    assert_non_null(rep.subject_token);
    md_auth_result r = validate_ok(a, rep.subject_token);
    assert_true(r.system_all);
    assert_string_equal(r.project_id, "");
    assert_true(has(&r, "admin"));
    reply_clear(&rep);
    md_auth_free(a);
    free(cfg);
}

/* A socket that accepts connections and never answers; *url names it. */
static int blackhole(char url[64])
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t slen = sizeof sin;
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(s, 64), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &slen), 0);
    snprintf(url, 64, "http://127.0.0.1:%d/v3", ntohs(sin.sin_port));
    return s;
}

/* After Keystone failed to answer, the next validations are refused at
 * once (no request), with a retry time, until breaker_seconds passed;
 * then one probes again. */
static void test_breaker_refuses_at_once_after_a_failure(void **state)
{
    (void)state;
    char url[64];
    int s = blackhole(url);
    md_config *cfg = make_config(url, 300, 300);
    cfg->keystone.breaker_seconds = 1;
    md_auth *a = make_auth(cfg);
    md_auth_result r;
    md_err err = { "" };
    assert_int_equal(md_auth_validate(a, "gAAAAABjunk-1", &r, &err), MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "is unreachable: "));
    assert_int_equal(r.retry_after_s, 1);
    uint64_t before = requests(a);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(md_auth_validate(a, "gAAAAABjunk-2", &r, &err), MD_ERR_UNAVAILABLE);
        assert_int_equal(r.retry_after_s, 1);
    }
    assert_non_null(strstr(err.msg, "failed to answer recently"));
    /* Not one request: that is what keeps the API from stalling. */
    assert_int_equal(requests(a), before);
    md_auth_stats st;
    md_auth_get_stats(a, &st);
    assert_int_equal(st.refused_open, 5);
    usleep(1100 * 1000);
    assert_int_equal(md_auth_validate(a, "gAAAAABjunk-3", &r, &err), MD_ERR_UNAVAILABLE);
    assert_int_equal(requests(a), before + 1); /* the probe */
    md_auth_free(a);
    free(cfg);
    close(s);
}

typedef struct junk_arg {
    md_auth *a;
    int index;
    md_status st;
} junk_arg;

static void *validate_junk(void *p)
{
    junk_arg *j = p;
    char token[64];
    md_auth_result r;
    md_err err = { "" };
    snprintf(token, sizeof token, "gAAAAABjunk-thread-%d", j->index);
    j->st = md_auth_validate(j->a, token, &r, &err);
    return NULL;
}

/* Junk tokens from many threads at once against a Keystone that never
 * answers: at most max_concurrent_validations of them ask; the others are
 * refused at once. */
static void test_validations_in_flight_are_bounded(void **state)
{
    (void)state;
    char url[64];
    int s = blackhole(url);
    md_config *cfg = make_config(url, 300, 1000);
    cfg->keystone.max_concurrent_validations = 2;
    md_auth *a = make_auth(cfg);
    pthread_t th[8];
    junk_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (junk_arg){ .a = a, .index = i };
        assert_int_equal(pthread_create(&th[i], NULL, validate_junk, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].st, MD_ERR_UNAVAILABLE);
    }
    md_auth_stats st;
    md_auth_get_stats(a, &st);
    print_message("requests %llu, busy %llu, open %llu\n", (unsigned long long)st.keystone_requests,
                  (unsigned long long)st.refused_busy, (unsigned long long)st.refused_open);
    /* Two admitted, each at most one service login; six refused. */
    assert_true(st.keystone_requests <= 2);
    assert_int_equal(st.refused_busy + st.refused_open, 6);
    md_auth_free(a);
    free(cfg);
    close(s);
}

/* Last: stops Keystone. A cached validation still succeeds without a
 * request; an uncached one is MD_ERR_UNAVAILABLE. */
static void test_keystone_stopped_cache_still_answers(void **state)
{
    fixture *f = fx(state);
    md_config *cached_cfg = make_config(f->url, 300, 5000);
    md_config *uncached_cfg = make_config(f->url, 0, 5000);
    md_auth *cached = make_auth(cached_cfg);
    md_auth *uncached = make_auth(uncached_cfg);
    validate_ok(cached, f->bob);
    validate_ok(uncached, f->bob);

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "bash '%s/tests/keystone/keystone.sh' stop '%s'",
             env("MD_SOURCE_DIR"), env("KS_DIR"));
    assert_int_equal(system(cmd), 0);

    uint64_t before = requests(cached);
    md_auth_result r = validate_ok(cached, f->bob);
    assert_string_equal(r.roles[0], "reader");
    assert_int_equal(requests(cached), before);

    md_err err = { "" };
    assert_int_equal(md_auth_validate(uncached, f->bob, &r, &err), MD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "is unreachable: "));
    /* A token not in the cache can not be validated either. */
    assert_int_equal(md_auth_validate(cached, f->alice, &r, &err), MD_ERR_UNAVAILABLE);

    md_auth_free(cached);
    md_auth_free(uncached);
    free(cached_cfg);
    free(uncached_cfg);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_has_role_rules),
        cmocka_unit_test(test_alice_admin_reads_and_writes),
        cmocka_unit_test(test_bob_reader_reads_only),
        cmocka_unit_test(test_carol_member_reads_through_implied_reader),
        cmocka_unit_test(test_dave_observer_neither),
        cmocka_unit_test(test_unscoped_token_has_no_project),
        cmocka_unit_test(test_invalid_tokens_are_not_found),
        cmocka_unit_test(test_revoked_token_is_not_found),
        cmocka_unit_test(test_cache_answers_second_validation),
        cmocka_unit_test(test_cache_seconds_zero_asks_every_time),
        cmocka_unit_test(test_cache_expires_after_cache_seconds),
        cmocka_unit_test(test_threads_share_one_validator),
        cmocka_unit_test(test_revoked_service_token_is_renewed),
        cmocka_unit_test(test_service_user_without_rights),
        cmocka_unit_test(test_wrong_service_password),
        cmocka_unit_test(test_nothing_listening),
        cmocka_unit_test(test_no_answer_times_out),
        cmocka_unit_test(test_refusals_not_remembered_when_off),
        cmocka_unit_test(test_system_scoped_token),
        cmocka_unit_test(test_breaker_refuses_at_once_after_a_failure),
        cmocka_unit_test(test_validations_in_flight_are_bounded),
        /* Must stay last: it stops Keystone. */
        cmocka_unit_test(test_keystone_stopped_cache_still_answers),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return failed;
}
