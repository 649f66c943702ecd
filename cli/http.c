/* http.c - one HTTP exchange for migrationctl; the only file of cli/ that includes libcurl.
 *
 * Everything libcurl can say about a failed transfer becomes one sentence here, "cannot reach
 * PEER at URL: REASON", where REASON is what an operator can act on ("connection refused",
 * "no answer within 30 s", "cannot resolve host x"), never curl's own error stack. */
#include "cli/migrationctl.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The largest answer read: a page of 1,000 records is about 1.5 MB; anything far beyond
 * that is not migrationd, and must not exhaust the operator's memory. */
#define MC_HTTP_MAX_BODY (64u * 1024 * 1024)

mc_status mc_http_global_init(mc_err *e)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return mc_err_set(e, MC_ERR_CONNECT, "cannot initialise libcurl");
    return MC_OK;
}

void mc_http_global_cleanup(void)
{
    curl_global_cleanup();
}

void mc_http_response_free(mc_http_response *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->header);
    memset(r, 0, sizeof *r);
}

typedef struct sink {
    mc_http_response *resp;
    const char *want_header;
    bool too_large;
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t len = size * n;

    if (s->resp->len + len > MC_HTTP_MAX_BODY) {
        s->too_large = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    char *p = realloc(s->resp->body, s->resp->len + len + 1);
    if (!p)
        return 0;
    memcpy(p + s->resp->len, data, len);
    s->resp->len += len;
    p[s->resp->len] = '\0';
    s->resp->body = p;
    return len;
}

/* Keeps the value of the one header asked for (the last one if it repeats). */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t len = size * n, name = s->want_header ? strlen(s->want_header) : 0;

    if (name && len > name + 1 && data[name] == ':' &&
        strncasecmp(data, s->want_header, name) == 0) {
        const char *v = data + name + 1;
        const char *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        free(s->resp->header);
        s->resp->header = strndup(v, (size_t)(end - v));
    }
    return len;
}

static mc_status out_of_memory(const mc_http_request *req, mc_err *e)
{
    return mc_err_set(e, MC_ERR_CONNECT, "cannot reach %s at %s: out of memory", req->peer,
                      req->peer_url);
}

/* What a failed transfer means, in the words an operator would use. */
static void reason(CURL *h, CURLcode rc, const mc_http_request *req, char *out, size_t len)
{
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
            snprintf(out, len, "connection refused");
        else if (os_errno)
            snprintf(out, len, "%s", strerror((int)os_errno));
        else
            snprintf(out, len, "cannot connect");
        return;
    case CURLE_COULDNT_RESOLVE_HOST: snprintf(out, len, "cannot resolve the host name"); return;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out, len, "no answer within %ld s", req->timeout_s);
        return;
    case CURLE_GOT_NOTHING: snprintf(out, len, "the connection closed without an answer"); return;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        snprintf(out, len, "the connection broke (%s)",
                 os_errno ? strerror((int)os_errno) : curl_easy_strerror(rc));
        return;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: snprintf(out, len, "not a usable URL"); return;
    default:
        /* TLS and the rest: curl's one-line description says it well enough. */
        snprintf(out, len, "%s", curl_easy_strerror(rc));
        return;
    }
}

mc_status mc_http_send(const mc_http_request *req, mc_http_response *out, mc_err *e)
{
    struct curl_slist *headers = NULL, *h = NULL;
    char line[8192], why[256];
    sink s = { .resp = out, .want_header = req->want_header };
    mc_status st = MC_OK;
    CURL *c = NULL;

    memset(out, 0, sizeof *out);
    c = curl_easy_init();
    if (!c) {
        st = mc_err_set(e, MC_ERR_CONNECT, "cannot reach %s at %s: libcurl failed to start",
                        req->peer, req->peer_url);
        goto cleanup;
    }
    /* Each header is checked: a list that lost one would send a request without its token. */
    const char *fixed[] = { "Accept: application/json",
                            req->body ? "Content-Type: application/json" : NULL };
    for (size_t i = 0; i < 2; i++) {
        if (!fixed[i])
            continue;
        if (!(h = curl_slist_append(headers, fixed[i]))) {
            st = out_of_memory(req, e);
            goto cleanup;
        }
        headers = h;
    }
    if (req->token) {
        snprintf(line, sizeof line, "X-Auth-Token: %s", req->token);
        if (!(h = curl_slist_append(headers, line))) {
            st = out_of_memory(req, e);
            goto cleanup;
        }
        headers = h;
    }
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req->timeout_s < 10 ? req->timeout_s : 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* http and https only: a URL from the environment must not read files or mail. */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    /* A daemon on loopback is never reached through a proxy, whatever http_proxy says;
     * no_proxy's own hosts stay exempt too. */
    const char *np = getenv("no_proxy") ? getenv("no_proxy") : getenv("NO_PROXY");
    snprintf(line, sizeof line, "localhost,127.0.0.1,::1%s%s", np && *np ? "," : "", np ? np : "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, line);
    if (req->cacert)
        curl_easy_setopt(c, CURLOPT_CAINFO, req->cacert);

    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (s.too_large)
            snprintf(why, sizeof why, "the answer is larger than %u MiB",
                     MC_HTTP_MAX_BODY / 1024 / 1024);
        else
            reason(c, rc, req, why, sizeof why);
        st = mc_err_set(e, MC_ERR_CONNECT, "cannot reach %s at %s: %s", req->peer, req->peer_url,
                        why);
        goto cleanup;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (!out->body && !(out->body = calloc(1, 1)))
        st = out_of_memory(req, e);

cleanup:
    if (st != MC_OK)
        mc_http_response_free(out);
    curl_slist_free_all(headers);
    if (c)
        curl_easy_cleanup(c);
    return st;
}
