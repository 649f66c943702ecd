/* http.c - the REST API's HTTP server on libmicrohttpd.
 *
 * DESIGN
 * ------
 * libmicrohttpd calls access() several times per request: once with the
 * headers, once per chunk of body (we keep at most api.max_body_bytes and
 * only note that more came), and once with no data left (we build an
 * md_api_request, let md_api_handle() answer and queue the response).
 * completed() frees the request's state in every case, including
 * connections that die half-way. The server runs an epoll thread pool of
 * twice the CPUs (at least 4, and at least 2 more than the Keystone
 * validations that may be in flight), so a slow request does not hold up
 * the others; the handlers themselves never wait on the hypervisor.
 *
 * LIMITS
 * ------
 * A caller must not be able to take the API away from the others, so:
 *   - at most api.max_connections connections at once, and at most
 *     api.max_connections_per_client from one address (libmicrohttpd
 *     closes the one past it as soon as it is accepted);
 *   - a connection silent for api.idle_timeout_s is closed;
 *   - a request must arrive whole within api.request_timeout_s of its
 *     request line, or its connection is closed without an answer. The
 *     idle timeout alone would let a client that sends one byte every few
 *     seconds hold a connection for ever. The deadline is checked when the
 *     headers are in and on every chunk of body (a client that sends
 *     nothing at all is the idle timeout's);
 *   - with the headers in, md_api_precheck() refuses what would be refused
 *     anyway - a body announced over the limit, no route, a bad
 *     microversion, and when a body is coming, a missing or invalid token
 *     or role - and the answer is queued at once. libmicrohttpd then reads
 *     none of the body: it sends no "100 Continue" to a client that waits
 *     for one, and closes the connection after the answer.
 */
#include "api/http.h"

#include <arpa/inet.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service/clock.h"
#include "service/log.h"

/* The memory of one connection for its headers and buffers, libmicrohttpd's
 * own default written out: a header block larger than this is refused
 * (431), and with the body (kept apart, at most api.max_body_bytes) it
 * bounds what api.max_connections connections cost. */
#define CONNECTION_MEMORY_BYTES ((size_t)32 * 1024)

struct md_http {
    struct MHD_Daemon *daemon;
    const md_config *cfg;
    md_api *api;
    int port;
};

/* What one request collects before it is handled. */
typedef struct req_state {
    int64_t deadline_ms; /* monotonic: the whole request must be in by then */
    bool headers_seen;   /* access() had its first call */
    char *body;
    size_t len;
    bool too_large;
    md_api_request req;
} req_state;

static req_state *new_state(const md_http *h)
{
    req_state *st = calloc(1, sizeof *st);

    if (st)
        st->deadline_ms = md_clock_ms(CLOCK_MONOTONIC) +
                          (int64_t)h->cfg->api.request_timeout_s * 1000;
    return st;
}

/* Called with the request line, before any header: the request's clock
 * starts here, so that slow headers count against the deadline too. What
 * it returns is the request's state (*con_cls); NULL when out of memory,
 * and access() tries again. */
static void *request_started_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)uri;
    (void)conn;
    return new_state(cls);
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    md_api_request *r = cls;

    (void)kind;
    if (r->nquery >= MD_API_MAX_QUERY) {
        r->too_many_params = true;
        return MHD_NO;
    }
    r->query[r->nquery].key = key;
    r->query[r->nquery].value = value ? value : "";
    r->nquery++;
    return MHD_YES;
}

/* Queues out on conn. The body is handed to MHD as it is, which frees it
 * with the response (out->body is then NULL), rather than copied: a list's
 * body is 50 KiB, which a copy would allocate, write and free again at
 * every request. */
static enum MHD_Result send_response(struct MHD_Connection *conn, md_api_response *out)
{
    bool has_body = out->body != NULL;
    struct MHD_Response *resp =
        has_body
            ? MHD_create_response_from_buffer(strlen(out->body), out->body, MHD_RESPMEM_MUST_FREE)
            : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc;

    if (!resp)
        return MHD_NO;
    out->body = NULL;
    if (has_body)
        MHD_add_response_header(resp, "Content-Type",
                                out->content_type ? out->content_type : "application/json");
    for (size_t i = 0; i < out->nheaders; i++)
        MHD_add_response_header(resp, out->headers[i].name, out->headers[i].value);
    rc = MHD_queue_response(conn, (unsigned)(out->status ? out->status : 500), resp);
    MHD_destroy_response(resp);
    return rc;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* The connection's peer: its numeric address into addr ("" when unknown)
 * and whether it is a loopback address (false when unknown). */
static bool client_address(struct MHD_Connection *conn, char *addr, size_t len)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;

    addr[0] = '\0';
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, (socklen_t)len);
    return is_loopback(sa);
}

/* Fills what the API reads from the headers (the body comes later). */
static void read_headers(struct MHD_Connection *conn, const char *url, const char *method,
                         md_api_request *r)
{
    r->method = method;
    r->path = url;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, r);
    r->auth_token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Auth-Token");
    r->content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    r->nova_version =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-OpenStack-Nova-API-Version");
    r->openstack_version =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "OpenStack-API-Version");
    r->client_loopback = client_address(conn, r->client_addr, sizeof r->client_addr);
}

/* The body's announced length: 0 for none, -1 when it is chunked (its
 * length is known only at its end). libmicrohttpd has already refused a
 * malformed Content-Length with 400. */
static long long announced_length(struct MHD_Connection *conn)
{
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

    if (te)
        return -1;
    if (!cl)
        return 0;
    long long n = strtoll(cl, NULL, 10);
    return n < 0 ? LLONG_MAX : n;
}

/* True, after a warning, when the request is past its deadline: the caller
 * then closes the connection. Only the client's address is logged; the
 * path and headers are the caller's words. */
static bool past_deadline(const md_http *h, struct MHD_Connection *conn, const req_state *st)
{
    char addr[INET6_ADDRSTRLEN];

    if (md_clock_ms(CLOCK_MONOTONIC) <= st->deadline_ms)
        return false;
    client_address(conn, addr, sizeof addr);
    if (!addr[0])
        snprintf(addr, sizeof addr, "?");
    md_warn("API: closed the connection of %s: its request was not in within "
            "api.request_timeout_s (%d s): %s",
            addr, h->cfg->api.request_timeout_s,
            st->headers_seen ? "its body was still coming" : "its headers came too late");
    return true;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    md_http *h = cls;
    req_state *st = *con_cls;

    (void)version;
    if (!st) {
        st = new_state(h);
        if (!st)
            return MHD_NO;
        *con_cls = st;
    }
    if (!st->headers_seen) {
        if (past_deadline(h, conn, st))
            return MHD_NO;
        st->headers_seen = true;
        read_headers(conn, url, method, &st->req);
        md_api_response out;
        memset(&out, 0, sizeof out);
        if (md_api_precheck(h->api, &st->req, announced_length(conn), &out))
            return MHD_YES;
        /* Queued now, the answer ends the request: libmicrohttpd reads no
         * body and closes the connection after it. */
        enum MHD_Result rc = send_response(conn, &out);
        md_api_response_clear(&out);
        return rc;
    }
    if (*upload_data_size > 0) {
        if (past_deadline(h, conn, st))
            return MHD_NO;
        size_t max = (size_t)h->cfg->api.max_body_bytes;
        if (!st->too_large && st->len + *upload_data_size <= max) {
            char *b = realloc(st->body, st->len + *upload_data_size + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + st->len, upload_data, *upload_data_size);
            st->body = b;
            st->len += *upload_data_size;
        } else {
            /* Read and drop the rest, so the client gets its 413 rather
             * than a reset connection. */
            st->too_large = true;
            free(st->body);
            st->body = NULL;
            st->len = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    md_api_request *r = &st->req;
    md_api_response out;
    memset(&out, 0, sizeof out);
    r->body = st->body;
    r->body_len = st->len;
    r->body_too_large = st->too_large;
    md_api_handle(h->api, r, &out);
    enum MHD_Result rc = send_response(conn, &out);
    md_api_response_clear(&out);
    return rc;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_state *st = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (st) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

md_status md_http_start(const md_config *cfg, md_api *api, md_http **out, md_err *err)
{
    struct addrinfo hints, *ai = NULL;
    char port[16];
    md_http *h = NULL;
    md_status st = MD_OK;

    *out = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof port, "%d", cfg->api.listen_port);
    int rc = getaddrinfo(cfg->api.listen_host, port, &hints, &ai);
    if (rc != 0) {
        st =
            md_err_set(err, MD_ERR_INVALID, "api.listen %s: %s", cfg->api.listen, gai_strerror(rc));
        goto cleanup;
    }
    /* No authentication is only safe where no one else can connect. */
    if (cfg->api.auth_strategy == MD_AUTH_NOAUTH && !is_loopback(ai->ai_addr) &&
        !cfg->api.allow_insecure_noauth) {
        st = md_err_set(err, MD_ERR_INVALID,
                        "refusing to serve api.listen %s with auth_strategy \"noauth\": it is "
                        "not a loopback address (use keystone, or set "
                        "api.allow_insecure_noauth = true on a trusted network)",
                        cfg->api.listen);
        goto cleanup;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    h->cfg = cfg;
    h->api = api;
    /* Twice the CPUs, at least 4: a thread may wait on Keystone (see
     * api/auth.h), so threads are not only CPU. Keystone validations in
     * flight are bounded by keystone.max_concurrent_validations, and the
     * pool always has 2 threads more, which stay free for the requests that
     * need no validation (/healthcheck, cached tokens). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long want = cpus < 2 ? 4 : cpus > 16 ? 32 : 2 * cpus;
    if (cfg->api.auth_strategy == MD_AUTH_KEYSTONE &&
        want < cfg->keystone.max_concurrent_validations + 2)
        want = cfg->keystone.max_concurrent_validations + 2;
    unsigned pool = (unsigned)want;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, (uint16_t)cfg->api.listen_port, NULL, NULL, access_cb, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
                                 pool, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)cfg->api.max_connections,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                 (unsigned)cfg->api.max_connections_per_client,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->api.idle_timeout_s,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_BYTES,
                                 MHD_OPTION_URI_LOG_CALLBACK, request_started_cb, h,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h, MHD_OPTION_END);
    if (!h->daemon) {
        st = md_err_set(err, MD_ERR_IO,
                        "cannot listen on %s (in use, or not an address of "
                        "this node?)",
                        cfg->api.listen);
        goto cleanup;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : cfg->api.listen_port;
    md_info("API listening on %s (%u threads, auth %s; at most %d connections, %d per client, "
            "%d s per request, %d s idle)",
            cfg->api.listen, pool, md_config_auth_strategy_str(cfg->api.auth_strategy),
            cfg->api.max_connections, cfg->api.max_connections_per_client,
            cfg->api.request_timeout_s, cfg->api.idle_timeout_s);
    *out = h;
    h = NULL;

cleanup:
    if (ai)
        freeaddrinfo(ai);
    md_http_stop(h);
    return st;
}

void md_http_stop(md_http *h)
{
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    free(h);
}

int md_http_port(const md_http *h)
{
    return h->port;
}
