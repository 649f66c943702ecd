/* http.h - the REST API's HTTP server (libmicrohttpd).
 *
 * The only module that includes <microhttpd.h>. It listens on api.listen,
 * collects each request (path, decoded query, the headers the API reads,
 * a body of at most api.max_body_bytes, the client's address), hands it to
 * md_api_handle() and sends the answer with the Content-Type the answer
 * names (application/json unless it says otherwise). A request that
 * md_api_precheck() refuses on its headers is answered before its body is
 * read. It holds callers to api.max_connections,
 * api.max_connections_per_client, api.request_timeout_s and
 * api.idle_timeout_s by closing their connections (see http.c).
 *
 * Threads: a small pool of libmicrohttpd threads runs the handlers. Start
 * and stop from the main thread.
 */
#ifndef MD_HTTP_H
#define MD_HTTP_H

#include "api/api.h"
#include "service/config.h"
#include "service/status.h"

typedef struct md_http md_http;

/* Starts listening. Refuses (MD_ERR_INVALID) auth_strategy "noauth" on an
 * address that is not loopback unless api.allow_insecure_noauth is true.
 * cfg and api are borrowed and must outlive the server. On MD_OK *out is
 * stopped with md_http_stop(). */
md_status md_http_start(const md_config *cfg, md_api *api, md_http **out, md_err *err);

/* Stops accepting, finishes the requests in flight and frees h. Accepts
 * NULL. */
void md_http_stop(md_http *h);

/* The port the server listens on. */
int md_http_port(const md_http *h);

#endif /* MD_HTTP_H */
