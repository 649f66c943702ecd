/* auth.c - Keystone v3 token validation through libcurl and json-c, with a token cache.
 *
 * DESIGN: every Keystone call is one libcurl easy handle made for it and
 * freed after it, with "Connection: close" (uwsgi's http-socket, which
 * serves Keystone in the tests, has no keep-alive) and CURLOPT_NOSIGNAL, so
 * any number of threads may call at once without sharing curl state. The
 * one process-global is curl_global_init(), run once through pthread_once
 * by the first md_auth_new(); it is never undone (curl_global_cleanup() is
 * not safe while another thread could still use libcurl, and the process
 * needs it until exit anyway).
 *
 * The service's own token is obtained with the [keystone] password
 * credentials, scoped to the project, and renewed when it expires within
 * RENEW_MARGIN_MS or when Keystone answers 401 to a validation made with it
 * (then the validation is retried once). Renewal happens under svc_lock, so
 * that a burst of requests at expiry causes one POST, not one per thread;
 * the others wait for it (bounded by keystone.timeout_ms). A generation
 * number tells a thread that saw a 401 whether someone has renewed since it
 * copied the token. A thread that waited while another's login failed
 * takes that failure instead of trying again: otherwise each waiting
 * thread would wait its own timeout_ms in turn, and the last of N would
 * answer after N times timeout_ms.
 *
 * Valid answers are kept in the token cache of api/token_cache.h (CACHE_SETS
 * sets of CACHE_WAYS entries), each until the token's own expires_at (wall
 * clock) or fetched_at + cache_seconds (monotonic clock), whichever comes
 * first; this file reads both clocks and passes them in. The cache's lock
 * is never held across HTTP: a miss looks up, asks Keystone, and inserts
 * (two threads missing on the same token at once both ask; the second
 * insert finds the first's entry and refreshes it). With cache_seconds = 0
 * the cache is not used at all.
 *
 * Tokens Keystone refused (404) go into a second, smaller token cache, the
 * refused cache (REFUSED_SETS x REFUSED_WAYS), for negative_cache_seconds:
 * a client retrying a bad token, or a flood of one junk token, costs one
 * validation. Keystone failing to answer is never cached there: that is
 * the guard's business.
 *
 * Every call that would ask Keystone is first admitted by the guard
 * (api/auth_guard.h: the bound on validations in flight and the circuit
 * breaker) and released after with whether Keystone failed. Failures are
 * logged here, with the detail that err carries (Keystone's URL, the
 * service user), which callers never see; the breaker bounds how often.
 *
 * The JSON of the token API (reading token documents, writing the login)
 * is api/auth_json.c's; this file does the HTTP and the state.
 *
 * A token longer than MD_TOKEN_MAX_LEN or with a byte that no Keystone
 * token has is refused without asking Keystone: fernet tokens are
 * base64url, JWS tokens base64url with dots, UUID tokens hexadecimal; a
 * space, CR or LF would otherwise end up inside a request header.
 */
#include "api/auth.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/auth_guard.h"
#include "api/auth_json.h"
#include "api/internal.h"
#include "api/token_cache.h"
#include "service/clock.h"
#include "service/log.h"

#define CACHE_SETS 256
#define CACHE_WAYS 4
/* 256 refused tokens: enough for every client that retries a bad token;
 * a flood of distinct junk tokens only ever evicts other junk. */
#define REFUSED_SETS 64
#define REFUSED_WAYS 4
/* At most one warning per this many ms that validations are refused for
 * being too many, so that a flood does not flood the log too. */
#define BUSY_WARN_MS 10000
#define MAX_REPLY_BYTES (1024 * 1024)
#define RENEW_MARGIN_MS 60000

struct md_auth {
    const md_config *cfg;
    char *tokens_url;   /* {auth_url}/auth/tokens */
    char *validate_url; /* tokens_url?nocatalog */
    char *login_body;   /* the password-method request, JSON */

    pthread_mutex_t svc_lock;        /* guards the four svc_ fields */
    char *svc_token;                 /* NULL until the first request */
    int64_t svc_expires_at;          /* ms since the epoch */
    uint64_t svc_generation;         /* incremented at each renewal */
    atomic_uint_fast64_t svc_logins; /* logins tried; written under svc_lock */
    md_status svc_login_st;          /* the last login's outcome, under svc_lock */
    md_err svc_login_err;            /* and its message */

    md_token_cache *cache;   /* valid answers; used only when cache_seconds > 0 */
    md_token_cache *refused; /* refused tokens; only when negative_cache_seconds > 0 */
    md_auth_guard *guard;    /* admits the calls that ask Keystone */
    atomic_uint_fast64_t keystone_requests; /* md_auth_stats.keystone_requests */
    atomic_uint_fast64_t refused_busy;      /* md_auth_stats.refused_busy */
    atomic_uint_fast64_t refused_open;      /* md_auth_stats.refused_open */
    atomic_int_fast64_t busy_warned_at;     /* monotonic ms of the last busy warning */
};

/* One HTTP exchange with Keystone. */
typedef struct http_reply {
    long status;
    char *body; /* NUL-terminated, or NULL when empty */
    size_t len;
    bool too_large;
    char *subject_token; /* X-Subject-Token of the answer, or NULL */
} http_reply;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t now_real_ms(void)
{
    return md_clock_ms(CLOCK_REALTIME);
}

static int64_t now_mono_ms(void)
{
    return md_clock_ms(CLOCK_MONOTONIC);
}

static md_token_time token_time_now(void)
{
    md_token_time t = { .mono_ms = now_mono_ms(), .real_ms = now_real_ms() };
    return t;
}

/* Whether c can be part of a Keystone token (base64 and base64url, '='
 * padding, the dots of JWS). */
static bool token_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '=' || c == '.' || c == '+' || c == '/';
}

static bool token_is_acceptable(const char *token, size_t len)
{
    if (len == 0 || len > MD_TOKEN_MAX_LEN) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!token_byte((unsigned char)token[i])) {
            return false;
        }
    }
    return true;
}

static void http_reply_clear(http_reply *r)
{
    free(r->body);
    free(r->subject_token);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_reply *r = userdata;
    size_t n = size * nmemb;
    if (r->len + n > MAX_REPLY_BYTES) {
        r->too_large = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
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

/* Appends "name: value" to *list. Returns false when out of memory (the
 * list built so far stays in *list for the caller to free). */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
    char *line = NULL;
    if (asprintf(&line, "%s: %s", name, value) < 0) {
        return false;
    }
    struct curl_slist *grown = curl_slist_append(*list, line);
    free(line);
    if (grown == NULL) {
        return false;
    }
    *list = grown;
    return true;
}

/* Makes one request to Keystone: a POST of post_body (when not NULL) to
 * url, else a GET. auth_token and subject_token become X-Auth-Token and
 * X-Subject-Token when not NULL. Returns MD_OK when Keystone answered
 * (whatever the status, which is in rep->status), MD_ERR_UNAVAILABLE when
 * it could not be reached in time, MD_ERR_NOMEM. */
static md_status http_call(md_auth *a, const char *url, const char *post_body,
                           const char *auth_token, const char *subject_token, http_reply *rep,
                           md_err *err)
{
    md_status st = MD_OK;
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    atomic_fetch_add(&a->keystone_requests, 1);
    CURL *h = curl_easy_init();
    if (h == NULL) {
        st = md_err_set(err, MD_ERR_NOMEM, "cannot create a libcurl handle");
        goto cleanup;
    }
    bool ok = add_header(&headers, "Connection", "close") &&
              add_header(&headers, "Accept", "application/json") &&
              (post_body == NULL || add_header(&headers, "Content-Type", "application/json")) &&
              (auth_token == NULL || add_header(&headers, "X-Auth-Token", auth_token)) &&
              (subject_token == NULL || add_header(&headers, "X-Subject-Token", subject_token));
    if (!ok) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory building a Keystone request");
        goto cleanup;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->cfg->keystone.timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "migrationd");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rep);
    if (post_body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body);
    }

    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        if (rep->too_large) {
            st = md_err_set(err, MD_ERR_UNAVAILABLE,
                            "Keystone at %s sent an answer larger than %d bytes",
                            a->cfg->keystone.auth_url, MAX_REPLY_BYTES);
        } else {
            st = md_err_set(err, MD_ERR_UNAVAILABLE, "Keystone at %s is unreachable: %s",
                            a->cfg->keystone.auth_url,
                            errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        }
        goto cleanup;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rep->status);
    struct curl_header *hdr = NULL;
    if (curl_easy_header(h, "X-Subject-Token", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK) {
        rep->subject_token = strdup(hdr->value);
        if (rep->subject_token == NULL) {
            st = md_err_set(err, MD_ERR_NOMEM, "out of memory reading a Keystone answer");
            goto cleanup;
        }
    }

cleanup:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return st;
}

/* Obtains a new service token (POST with the password method). Called with
 * svc_lock held. */
static md_status renew_service_token(md_auth *a, md_err *err)
{
    md_status st = MD_OK;
    http_reply rep = { 0 };
    json_object *root = NULL;
    json_object *token = NULL;
    int64_t expires_at = 0;

    st = http_call(a, a->tokens_url, a->login_body, NULL, NULL, &rep, err);
    if (st != MD_OK) {
        goto cleanup;
    }
    if (rep.status == 401 || rep.status == 403) {
        st = md_err_set(err, MD_ERR_UNAVAILABLE,
                        "migrationd's own Keystone credentials were refused by %s (HTTP %ld)",
                        a->cfg->keystone.auth_url, rep.status);
        goto cleanup;
    }
    if (rep.status != 201 && rep.status != 200) {
        st = md_err_set(err, MD_ERR_UNAVAILABLE,
                        "Keystone at %s is unavailable: it answered HTTP %ld to the service login",
                        a->cfg->keystone.auth_url, rep.status);
        goto cleanup;
    }
    if (rep.subject_token == NULL ||
        !token_is_acceptable(rep.subject_token, strlen(rep.subject_token))) {
        st = md_err_set(err, MD_ERR_UNAVAILABLE,
                        "Keystone at %s issued no usable X-Subject-Token to the service login",
                        a->cfg->keystone.auth_url);
        goto cleanup;
    }
    st = md_auth_parse_token_doc(a->cfg->keystone.auth_url, rep.body, rep.len, &root, &token, err);
    if (st == MD_OK) {
        st = md_auth_token_expiry(a->cfg->keystone.auth_url, token, &expires_at, err);
    }
    if (st != MD_OK) {
        goto cleanup;
    }
    free(a->svc_token);
    a->svc_token = rep.subject_token;
    rep.subject_token = NULL;
    a->svc_expires_at = expires_at;
    a->svc_generation++;
    md_debug("keystone: obtained a service token from %s, valid for %lld s",
             a->cfg->keystone.auth_url, (long long)((expires_at - now_real_ms()) / 1000));

cleanup:
    json_object_put(root);
    http_reply_clear(&rep);
    return st;
}

/* Copies the service token into *out (to be freed) with its generation,
 * renewing it first when it is missing, expires within RENEW_MARGIN_MS, or
 * is still the generation stale_gen that Keystone refused (stale_gen 0:
 * none refused). */
static md_status get_service_token(md_auth *a, uint64_t stale_gen, char **out, uint64_t *gen,
                                   md_err *err)
{
    md_status st = MD_OK;
    uint64_t logins_seen = atomic_load(&a->svc_logins);
    pthread_mutex_lock(&a->svc_lock);
    if (a->svc_token == NULL || a->svc_expires_at - now_real_ms() < RENEW_MARGIN_MS ||
        (stale_gen != 0 && stale_gen == a->svc_generation)) {
        if (atomic_load(&a->svc_logins) != logins_seen && a->svc_login_st != MD_OK) {
            /* Another thread's login failed while this one waited. */
            st = md_err_set(err, a->svc_login_st, "%s", a->svc_login_err.msg);
            goto cleanup;
        }
        st = renew_service_token(a, &a->svc_login_err);
        a->svc_login_st = st;
        atomic_fetch_add(&a->svc_logins, 1);
        if (st != MD_OK) {
            md_err_set(err, st, "%s", a->svc_login_err.msg);
            goto cleanup;
        }
    }
    *out = strdup(a->svc_token);
    if (*out == NULL) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory copying the service token");
        goto cleanup;
    }
    *gen = a->svc_generation;

cleanup:
    pthread_mutex_unlock(&a->svc_lock);
    return st;
}

/* Asks Keystone about token once with the service token svc. Sets *refused
 * when Keystone answered 401 (it does not accept svc; the caller renews and
 * retries). */
static md_status validate_once(md_auth *a, const char *svc, const char *token, md_auth_result *out,
                               bool *refused, md_err *err)
{
    md_status st = MD_OK;
    http_reply rep = { 0 };
    json_object *root = NULL;
    json_object *tok = NULL;
    *refused = false;

    st = http_call(a, a->validate_url, NULL, svc, token, &rep, err);
    if (st != MD_OK) {
        goto cleanup;
    }
    switch (rep.status) {
    case 200:
        st =
            md_auth_parse_token_doc(a->cfg->keystone.auth_url, rep.body, rep.len, &root, &tok, err);
        if (st == MD_OK) {
            st = md_auth_fill_result(a->cfg->keystone.auth_url, tok, out, err);
        }
        break;
    case 404: st = md_err_set(err, MD_ERR_UNAUTHORIZED, "token is not valid"); break;
    case 401:
        *refused = true;
        st = md_err_set(err, MD_ERR_UNAVAILABLE,
                        "migrationd's own Keystone credentials were refused by %s (HTTP 401)",
                        a->cfg->keystone.auth_url);
        break;
    case 403:
        st = md_err_set(err, MD_ERR_UNAVAILABLE,
                        "migrationd's own Keystone credentials were refused by %s: user %s "
                        "may not validate tokens (HTTP 403)",
                        a->cfg->keystone.auth_url, a->cfg->keystone.username);
        break;
    default:
        st = md_err_set(err, MD_ERR_UNAVAILABLE,
                        "Keystone at %s is unavailable: it answered HTTP %ld to a validation",
                        a->cfg->keystone.auth_url, rep.status);
        break;
    }

cleanup:
    json_object_put(root);
    http_reply_clear(&rep);
    return st;
}

md_status md_auth_new(const md_config *cfg, md_auth **out, md_err *err)
{
    md_status st = MD_OK;
    md_auth *a = NULL;
    *out = NULL;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK) {
        st = md_err_set(err, MD_ERR_INTERNAL, "libcurl failed to initialise: %s",
                        curl_easy_strerror(curl_init_result));
        goto cleanup;
    }
    const char *url = cfg->keystone.auth_url;
    size_t url_len = strlen(url);
    while (url_len > 0 && url[url_len - 1] == '/') {
        url_len--;
    }
    if (url_len == 0 || cfg->keystone.timeout_ms <= 0 || cfg->keystone.cache_seconds < 0 ||
        cfg->keystone.negative_cache_seconds < 0) {
        st = md_err_set(err, MD_ERR_INVALID,
                        "keystone: auth_url, timeout_ms > 0 and cache_seconds >= 0 are needed");
        goto cleanup;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory creating the Keystone validator");
        goto cleanup;
    }
    a->cfg = cfg;
    atomic_init(&a->keystone_requests, 0);
    atomic_init(&a->refused_busy, 0);
    atomic_init(&a->svc_logins, 0);
    atomic_init(&a->refused_open, 0);
    atomic_init(&a->busy_warned_at, INT64_MIN / 2);
    pthread_mutex_init(&a->svc_lock, NULL);
    st = md_token_cache_new(CACHE_SETS, CACHE_WAYS, (int64_t)cfg->keystone.cache_seconds * 1000,
                            &a->cache, err);
    if (st == MD_OK) {
        st = md_token_cache_new(REFUSED_SETS, REFUSED_WAYS,
                                (int64_t)cfg->keystone.negative_cache_seconds * 1000, &a->refused,
                                err);
    }
    if (st == MD_OK) {
        st = md_auth_guard_new(cfg->keystone.max_concurrent_validations,
                               (int64_t)cfg->keystone.breaker_seconds * 1000, &a->guard, err);
    }
    if (st != MD_OK) {
        goto cleanup;
    }
    if (asprintf(&a->tokens_url, "%.*s/auth/tokens", (int)url_len, url) < 0) {
        a->tokens_url = NULL;
    }
    if (asprintf(&a->validate_url, "%.*s/auth/tokens?nocatalog", (int)url_len, url) < 0) {
        a->validate_url = NULL;
    }
    a->login_body = md_auth_login_body(cfg);
    if (a->tokens_url == NULL || a->validate_url == NULL || a->login_body == NULL) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory creating the Keystone validator");
        goto cleanup;
    }
    *out = a;
    a = NULL;

cleanup:
    md_auth_free(a);
    return st;
}

void md_auth_free(md_auth *a)
{
    if (a == NULL) {
        return;
    }
    md_token_cache_free(a->cache);
    md_token_cache_free(a->refused);
    md_auth_guard_free(a->guard);
    if (a->login_body != NULL) {
        explicit_bzero(a->login_body, strlen(a->login_body));
    }
    free(a->login_body);
    free(a->svc_token);
    free(a->tokens_url);
    free(a->validate_url);
    pthread_mutex_destroy(&a->svc_lock);
    free(a);
}

/* Asks Keystone about token (svc login included), retrying once with a
 * new service token when Keystone refused the one it had. */
static md_status ask_keystone(md_auth *a, const char *token, md_auth_result *out, md_err *err)
{
    md_status st = MD_OK;
    char *svc = NULL;
    uint64_t gen = 0;
    bool refused = false;

    st = get_service_token(a, 0, &svc, &gen, err);
    if (st != MD_OK) {
        goto cleanup;
    }
    st = validate_once(a, svc, token, out, &refused, err);
    if (refused) {
        /* The service token was revoked or expired early: renew, once. */
        free(svc);
        svc = NULL;
        st = get_service_token(a, gen, &svc, &gen, err);
        if (st == MD_OK) {
            st = validate_once(a, svc, token, out, &refused, err);
        }
    }

cleanup:
    free(svc);
    return st;
}

/* Refuses a validation the guard did not admit: MD_ERR_UNAVAILABLE with
 * out->retry_after_s, counted, and (for too many at once) a warning at
 * most every BUSY_WARN_MS. */
static md_status refuse(md_auth *a, md_guard_verdict v, int retry_after_s, md_auth_result *out,
                        md_err *err)
{
    memset(out, 0, sizeof *out);
    out->retry_after_s = retry_after_s;
    if (v == MD_GUARD_OPEN) {
        atomic_fetch_add(&a->refused_open, 1);
        return md_err_set(err, MD_ERR_UNAVAILABLE,
                          "Keystone failed to answer recently; validations are refused for "
                          "%d s more",
                          retry_after_s);
    }
    uint64_t n = atomic_fetch_add(&a->refused_busy, 1) + 1;
    int64_t now = now_mono_ms();
    int64_t last = atomic_load(&a->busy_warned_at);
    if (now - last >= BUSY_WARN_MS &&
        atomic_compare_exchange_strong(&a->busy_warned_at, &last, now)) {
        md_warn("keystone: %d token validations are in flight (max_concurrent_validations); "
                "refusing more with 503 (%llu refused so far)",
                a->cfg->keystone.max_concurrent_validations, (unsigned long long)n);
    }
    return md_err_set(err, MD_ERR_UNAVAILABLE,
                      "%d token validations are in flight already (max_concurrent_validations)",
                      a->cfg->keystone.max_concurrent_validations);
}

md_status md_auth_validate(md_auth *a, const char *token, md_auth_result *out, md_err *err)
{
    md_status st = MD_OK;
    md_err local;
    if (err == NULL) {
        err = &local; /* the log needs the detail even when the caller does not */
    }
    size_t len = token != NULL ? strnlen(token, MD_TOKEN_MAX_LEN + 1) : 0;
    md_guard_ticket ticket;
    int retry_after_s = 1;

    if (!token_is_acceptable(token, len)) {
        return md_err_set(err, MD_ERR_UNAUTHORIZED, "token is not valid");
    }
    bool caching = a->cfg->keystone.cache_seconds > 0;
    if (caching && md_token_cache_lookup(a->cache, token, len, token_time_now(), out)) {
        return MD_OK;
    }
    bool remember_refusals = a->cfg->keystone.negative_cache_seconds > 0;
    md_auth_result scratch;
    if (remember_refusals &&
        md_token_cache_lookup(a->refused, token, len, token_time_now(), &scratch)) {
        return md_err_set(err, MD_ERR_UNAUTHORIZED, "token is not valid");
    }
    md_guard_verdict v = md_auth_guard_admit(a->guard, now_mono_ms(), &ticket, &retry_after_s);
    if (v != MD_GUARD_ADMIT) {
        return refuse(a, v, retry_after_s, out, err);
    }
    st = ask_keystone(a, token, out, err);
    bool failed = st == MD_ERR_UNAVAILABLE;
    md_guard_change change = md_auth_guard_release(a->guard, &ticket, failed, now_mono_ms());
    if (failed) {
        /* The detail (URL, user) is for the operator; the API answers a
         * generic 503. The breaker bounds how often this is written. */
        md_warn("keystone: cannot validate a token: %s%s", err->msg,
                change == MD_GUARD_OPENED ? "; validations get 503 until Keystone answers again"
                                          : "");
        memset(out, 0, sizeof *out);
        out->retry_after_s = a->cfg->keystone.breaker_seconds;
    } else if (change == MD_GUARD_CLOSED) {
        md_info("keystone: answers again; validating tokens");
    }
    if (st == MD_OK && caching) {
        md_token_cache_insert(a->cache, token, len, out, token_time_now());
    } else if (st == MD_ERR_UNAUTHORIZED && remember_refusals) {
        /* Refused for good (Keystone never revives a token), so the entry
         * lasts only negative_cache_seconds, not until an expiry. */
        memset(&scratch, 0, sizeof scratch);
        scratch.expires_at = INT64_MAX;
        md_token_cache_insert(a->refused, token, len, &scratch, token_time_now());
    }
    return st;
}

bool md_auth_has_role(const md_auth_result *r, const md_config_roles *allowed)
{
    if (r == NULL || allowed == NULL) {
        return false;
    }
    for (size_t i = 0; i < r->nroles; i++) {
        for (size_t j = 0; j < allowed->count && j < MD_CONFIG_MAX_ROLES; j++) {
            if (strcasecmp(r->roles[i], allowed->names[j]) == 0) {
                return true;
            }
        }
    }
    return false;
}

void md_auth_get_stats(md_auth *a, md_auth_stats *out)
{
    md_token_cache_stats cs;
    md_token_cache_stats rs;
    md_token_cache_get_stats(a->cache, &cs);
    md_token_cache_get_stats(a->refused, &rs);
    memset(out, 0, sizeof *out);
    out->cache_hits = cs.hits;
    out->cache_misses = cs.misses;
    out->keystone_requests = atomic_load(&a->keystone_requests);
    out->refused_hits = rs.hits;
    out->refused_busy = atomic_load(&a->refused_busy);
    out->refused_open = atomic_load(&a->refused_open);
}
