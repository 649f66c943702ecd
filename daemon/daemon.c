/* daemon.c - the composition root: a whole migrationd built from a configuration.
 *
 * DESIGN: the order is the point of this file. The store opens first
 * because recovery needs the records, the hypervisor second because
 * recovery needs the jobs; the engine recovers whatever an earlier run left
 * in progress before it takes new work; authentication, the request handler
 * and the HTTP server come last and stop first, so that no request ever
 * reaches an engine that is not running. Every failure unwinds exactly
 * what was built, and reports once, here, with the part that failed named.
 */
#include "daemon/daemon.h"

#include <stdlib.h>

#include "api/auth.h"
#include "api/http.h"

struct md_daemon {
    const md_config *cfg;
    md_store *store;
    md_hv *hv;
    bool started;
    bool hv_busy; /* an engine worker was left blocked in the hypervisor */
    md_engine *engine;
    md_auth *auth;
    md_api *api;
    md_http *http;
};

md_status md_daemon_open(const md_config *cfg, md_daemon **out, md_err *err)
{
    md_daemon *d = calloc(1, sizeof *d);
    md_status st;
    md_err e;

    *out = NULL;
    if (!d)
        return md_err_set(err, MD_ERR_NOMEM, "out of memory");
    d->cfg = cfg;
    st = md_store_open(cfg->service.database, &d->store, &e);
    if (st != MD_OK) {
        md_err_set(err, st, "%s", e.msg);
        goto cleanup;
    }
    st = md_hv_open(cfg, &d->hv, &e);
    if (st != MD_OK) {
        md_err_set(err, st, "cannot open the hypervisor (%s): %s",
                   cfg->service.hypervisor == MD_HYPERVISOR_SIMULATOR ? "simulator"
                                                                      : cfg->libvirt.uri,
                   e.msg);
        goto cleanup;
    }
    *out = d;
    return MD_OK;

cleanup:
    md_daemon_close(d);
    return st;
}

md_status md_daemon_start(md_daemon *d, md_daemon_layers layers, md_err *err)
{
    md_status st;
    md_err e;

    if (d->started)
        return md_err_set(err, MD_ERR_CONFLICT, "the daemon is already started");
    d->started = true;
    st = md_engine_start(d->cfg, d->store, d->hv, &d->engine, &e);
    if (st != MD_OK) {
        md_err_set(err, st, "cannot start the engine: %s", e.msg);
        goto cleanup;
    }
    if (layers == MD_DAEMON_ENGINE)
        return MD_OK;
    if (d->cfg->api.auth_strategy == MD_AUTH_KEYSTONE) {
        st = md_auth_new(d->cfg, &d->auth, &e);
        if (st != MD_OK) {
            md_err_set(err, st, "cannot set up Keystone authentication: %s", e.msg);
            goto cleanup;
        }
    }
    md_api_deps deps = {
        .cfg = d->cfg, .engine = d->engine, .hypervisor_name = d->hv->ops->name, .auth = d->auth
    };
    st = md_api_new(&deps, &d->api, &e);
    if (st != MD_OK) {
        md_err_set(err, st, "cannot start the API: %s", e.msg);
        goto cleanup;
    }
    if (layers == MD_DAEMON_HANDLER)
        return MD_OK;
    st = md_http_start(d->cfg, d->api, &d->http, &e);
    if (st != MD_OK) {
        md_err_set(err, st, "cannot start the API: %s", e.msg);
        goto cleanup;
    }
    return MD_OK;

cleanup:
    md_daemon_stop(d);
    return st;
}

bool md_daemon_stop(md_daemon *d)
{
    if (!d || !d->started)
        return true;
    md_http_stop(d->http);
    d->http = NULL;
    md_api_free(d->api);
    d->api = NULL;
    md_auth_free(d->auth);
    d->auth = NULL;
    /* A worker still blocked in libvirt keeps using the connection: then
     * the hypervisor must stay open until the process exits. */
    if (!md_engine_stop(d->engine))
        d->hv_busy = true;
    d->engine = NULL;
    d->started = false;
    return !d->hv_busy;
}

void md_daemon_close(md_daemon *d)
{
    if (!d)
        return;
    md_daemon_stop(d);
    if (!d->hv_busy)
        md_hv_close(d->hv);
    md_store_close(d->store);
    free(d);
}

md_store *md_daemon_store(const md_daemon *d)
{
    return d->store;
}

md_hv *md_daemon_hv(const md_daemon *d)
{
    return d->hv;
}

md_engine *md_daemon_engine(const md_daemon *d)
{
    return d->engine;
}

md_api *md_daemon_api(const md_daemon *d)
{
    return d->api;
}
