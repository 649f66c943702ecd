/* hv_libvirt_peer.c - the libvirt boundary's questions to other hosts: locate, free memory.
 *
 * Why a file of its own: everything in hv_libvirt.c and hv_libvirt_domain.c
 * talks to this node's libvirtd, on the one supervised connection (migrate()
 * on one of its own); everything here talks to ANOTHER host, on a
 * connection opened for one question and closed after it, so it has its
 * own failure modes and its own rule for waiting. libvirt's remote driver
 * has no connect timeout, so each question first checks that the host
 * answers a TCP handshake within MD_HV_PEER_TIMEOUT_MS (lv_probe_peer,
 * which migrate() in hv_libvirt_domain.c uses too) and then gives its
 * connection libvirt's keepalive: a host that drops packets costs at most
 * that bound, or 15 to 20 s once connected.
 * The rule that follows is service/hv.h's: nothing here is called per poll
 * or by the monitor. These connections have no supervisor, no events and
 * no reconnect: a failure is the answer to the one question.
 */
#include <stdint.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "service/hv.h"
#include "service/hv_libvirt_priv.h"
#include "service/net.h"

/* Whether the host that uri reaches answers a TCP handshake within
 * MD_HV_PEER_TIMEOUT_MS (service/hv.h): virConnectOpen has no timeout of its
 * own, and to a black-holed address it waits until the kernel gives up on
 * the handshake, minutes later. A local URI is not checked. */
md_status lv_probe_peer(const char *uri, md_err *err)
{
    char host[256];
    int port;

    if (!md_net_uri_endpoint(uri, host, sizeof host, &port))
        return MD_OK;
    return md_net_probe(host, port, MD_HV_PEER_TIMEOUT_MS, err);
}

/* Looks the domain up by UUID only on conn: 1 active, 0 inactive or
 * unknown there, -1 another error (the libvirt error is set). */
static int lv_active_on(virConnectPtr conn, const char *uuid, virDomainPtr *hold)
{
    virDomainPtr dom = virDomainLookupByUUIDString(conn, uuid);
    virErrorPtr e;
    int active;

    if (!dom) {
        e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            virResetLastError();
            return 0;
        }
        return -1;
    }
    active = virDomainIsActive(dom);
    if (active >= 0) {
        virDomainFree(dom);
        return active;
    }
    /* The domain can go between the lookup and the question: a post-copy
     * that just completed undefines it here. That is "not here", not a
     * failure. Another failure keeps its error for the caller: freeing the
     * domain now would reset it ("unknown libvirt error"), so the caller
     * frees *hold once it has read the error. */
    e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_DOMAIN) {
        virResetLastError();
        virDomainFree(dom);
        return 0;
    }
    *hold = dom;
    return -1;
}

/* Opens a connection to the destination at dest_uri for one question (the
 * caller closes it with lv_conn_put): the destination is probed first
 * (lv_probe_peer) and the opened connection gets libvirt's keepalive, so
 * that a destination that drops packets costs at most
 * MD_HV_PEER_TIMEOUT_MS, or the keepalive's 15 to 20 s once connected.
 * MD_ERR_UNAVAILABLE, naming dest_uri, when it cannot be reached. Used by
 * locate() and free_memory(), never per poll. */
static md_status lv_peer_open(const char *dest_uri, virConnectPtr *out, md_err *err)
{
    virConnectPtr dconn;
    md_err perr;
    md_status st;

    *out = NULL;
    if (lv_probe_peer(dest_uri, &perr) != MD_OK)
        return md_err_set(err, MD_ERR_UNAVAILABLE, "cannot connect to the destination %s: %s",
                          dest_uri, perr.msg);
    dconn = virConnectOpen(dest_uri);
    if (!dconn) {
        st = md_err_set(err, MD_ERR_UNAVAILABLE, "cannot connect to the destination %s: %s",
                        dest_uri, virGetLastErrorMessage());
        virResetLastError();
        return st;
    }
    /* Without it, a question to a destination that stops answering now
     * would wait for TCP's retransmissions to give up (about 15 minutes). */
    if (virConnectSetKeepAlive(dconn, LV_KEEPALIVE_INTERVAL_S, LV_KEEPALIVE_COUNT) < 0)
        virResetLastError();
    *out = dconn;
    return MD_OK;
}

/* Here first; then the destination on a connection of its own, opened and
 * closed for this one question (asked when a job ends, not per poll), by
 * lv_peer_open. */
md_status lv_locate(md_hv *base, const char *uuid, const char *dest_uri, md_hv_location *out,
                    md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virConnectPtr dconn = NULL;
    virDomainPtr hold = NULL; /* a domain whose failed question's error is still to read */
    md_status st;
    int active;

    *out = MD_HV_LOC_UNKNOWN;
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    if (!lv_looks_like_uuid(uuid)) {
        st = md_err_set(err, MD_ERR_INVALID, "locate needs a domain UUID, not '%s'", uuid);
        goto cleanup;
    }
    active = lv_active_on(conn, uuid, &hold);
    if (active < 0) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    if (active == 1) {
        *out = MD_HV_LOC_SOURCE;
        goto cleanup;
    }
    if (!dest_uri || !dest_uri[0]) {
        st = md_err_set(err, MD_ERR_INVALID,
                        "domain %s is not active here and no destination URI was given", uuid);
        goto cleanup;
    }

    st = lv_peer_open(dest_uri, &dconn, err);
    if (st != MD_OK)
        goto cleanup;
    active = lv_active_on(dconn, uuid, &hold);
    if (active < 0) {
        st = md_err_set(err, MD_ERR_HYPERVISOR, "cannot look up %s at the destination %s: %s", uuid,
                        dest_uri, virGetLastErrorMessage());
        virResetLastError();
        goto cleanup;
    }
    *out = active == 1 ? MD_HV_LOC_DEST : MD_HV_LOC_NOWHERE;

cleanup:
    lv_domain_free(hold);
    lv_conn_put(dconn);
    lv_conn_put(conn);
    return st;
}

/* virNodeGetFreeMemory on a connection to the destination opened for the
 * question (lv_peer_open): the free memory of all its NUMA cells. It
 * returns 0 both for a full host and on failure; the error tells them
 * apart. */
md_status lv_free_memory(md_hv *base, const char *dest_uri, uint64_t *bytes, md_err *err)
{
    virConnectPtr dconn = NULL;
    virErrorPtr e;
    unsigned long long n;
    md_status st;

    (void)base;
    *bytes = 0;
    if (!dest_uri || !dest_uri[0])
        return md_err_set(err, MD_ERR_INVALID, "free memory needs a destination URI");
    st = lv_peer_open(dest_uri, &dconn, err);
    if (st != MD_OK)
        goto cleanup;
    n = virNodeGetFreeMemory(dconn);
    e = n == 0 ? virGetLastError() : NULL;
    if (e && e->code != VIR_ERR_OK) {
        /* The destination went away during the question (keepalive) is
         * "unreachable", as when the connection could not be opened. */
        st = md_err_set(err, virConnectIsAlive(dconn) == 0 ? MD_ERR_UNAVAILABLE : MD_ERR_HYPERVISOR,
                        "cannot read the free memory of the destination %s: %s", dest_uri,
                        e->message ? e->message : "unknown libvirt error");
        virResetLastError();
        goto cleanup;
    }
    *bytes = n;

cleanup:
    lv_conn_put(dconn);
    return st;
}
