/* hv_libvirt_priv.h - what the libvirt boundary's files share: connection and error helpers.
 *
 * Private to service/hv_libvirt*.c, the libvirt boundary, which alone
 * includes libvirt's headers (tests/lint/fences.sh). The boundary is one job
 * split by whom it talks to:
 *
 *   hv_libvirt.c       this node's connection, its supervisor and reconnect,
 *                      the event loop and domain events, and the operations
 *                      on this node's domains (lookup, list, migrate, job
 *                      statistics, the controls, the dirty rate);
 *   hv_libvirt_peer.c  the questions to OTHER hosts, each on a connection of
 *                      its own with bounded waits: the reachability probe,
 *                      locate() and free_memory().
 *
 * The boundary's struct stays inside hv_libvirt.c: hv_libvirt_peer.c only
 * passes it along to the helpers below, so the fields and the locking
 * rules of hv->mu are read in one file. hv_libvirt.c's DESIGN essay says
 * how the connection, its reference counting and the threads work.
 *
 * Errors: libvirt keeps its last error per thread; a function below that
 * says "the libvirt error is set" leaves it for the caller to read on the
 * same thread, before its next libvirt call.
 */
#ifndef MD_HV_LIBVIRT_PRIV_H
#define MD_HV_LIBVIRT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "service/hv.h"

/* libvirt's handles, declared as <libvirt/libvirt-host.h> and
 * <libvirt/libvirt-domain.h> declare them (a repeated typedef of the same
 * type is allowed in C11): this header is included by the boundary's .c
 * files, which include libvirt themselves, and the fence
 * (tests/lint/fences.sh) names those files as its only owners. */
typedef struct _virConnect virConnect;
typedef virConnect *virConnectPtr;
typedef struct _virDomain virDomain;
typedef virDomain *virDomainPtr;

/* Keepalive on every connection the boundary opens: a probe every 5 s, the
 * connection is dead after 3 unanswered (so 15 to 20 s). */
#define LV_KEEPALIVE_INTERVAL_S 5
#define LV_KEEPALIVE_COUNT 3u

/* The libvirt boundary (hv_libvirt.c); md_hv is its first member. */
typedef struct md_hv_libvirt md_hv_libvirt;

/* ---------------------------------------------------------------------------
 * hv_libvirt.c's helpers, for the operations of both files.
 * ------------------------------------------------------------------------- */

/* The boundary behind an md_hv that md_hv_libvirt_open() returned. Never
 * NULL for such a base; any thread; does not block. */
md_hv_libvirt *lv_of(md_hv *base);

/* Takes a reference on this node's current connection for one operation:
 * MD_OK and *out set, to be dropped with lv_conn_put(); MD_ERR_UNAVAILABLE
 * (*out NULL) at once while disconnected, MD_ERR_INTERNAL when libvirt
 * refuses the reference. Any thread; takes hv's mutex briefly, never a
 * round trip to libvirtd. */
md_status lv_conn_get(md_hv_libvirt *hv, virConnectPtr *out, md_err *err);

/* Drops one reference on conn (lv_conn_get's, or a connection opened for
 * one call); NULL is accepted and does nothing. Any thread. Dropping the
 * last reference closes the connection, a last round trip to its daemon
 * that the connection's keepalive bounds when it has one. */
void lv_conn_put(virConnectPtr conn);

/* Frees a domain handle; NULL is accepted and does nothing. Any thread. */
void lv_domain_free(virDomainPtr dom);

/* Turns the calling thread's last libvirt error, raised by a call on conn
 * (NULL when none), into a status and writes libvirt's message into err;
 * returns that status and resets the error. A dead connection is
 * MD_ERR_UNAVAILABLE and, when conn is this node's current connection,
 * flags it lost for the supervisor; then VIR_ERR_NO_DOMAIN is
 * MD_ERR_NOT_FOUND, VIR_ERR_OPERATION_INVALID with conflict set is
 * MD_ERR_CONFLICT, VIR_ERR_NO_MEMORY is MD_ERR_NOMEM, anything else
 * MD_ERR_HYPERVISOR. Call it right after the failing call, on the same
 * thread, never with hv's mutex held (it may take it). May ask conn
 * whether it is alive, which does not block. */
md_status lv_fail(md_hv_libvirt *hv, virConnectPtr conn, bool conflict, md_err *err);

/* True when s has one of the two forms virDomainLookupByUUIDString accepts:
 * 36 characters 8-4-4-4-12, or 32 bare hex digits. Pure. */
bool lv_looks_like_uuid(const char *s);

/* ---------------------------------------------------------------------------
 * hv_libvirt_peer.c: other hosts.
 * ------------------------------------------------------------------------- */

/* Whether the host that uri reaches accepts a TCP connection on its libvirt
 * port within MD_HV_PEER_TIMEOUT_MS: MD_OK when it does or when uri is
 * local (nothing to check), else md_net_probe's status with its message in
 * err. BLOCKS up to MD_HV_PEER_TIMEOUT_MS; any thread. Used before every
 * connection to another host, migrate()'s included (libvirtd connects to
 * the destination itself there). */
md_status lv_probe_peer(const char *uri, md_err *err);

/* The md_hv_ops locate and free_memory of the boundary, as service/hv.h
 * documents them: each opens and closes a connection to dest_uri of its
 * own. BLOCK, bounded as hv.h says; any thread but the monitor's. */
md_status lv_locate(md_hv *base, const char *uuid, const char *dest_uri, md_hv_location *out,
                    md_err *err);
md_status lv_free_memory(md_hv *base, const char *dest_uri, uint64_t *bytes, md_err *err);

#endif /* MD_HV_LIBVIRT_PRIV_H */
