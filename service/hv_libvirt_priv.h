/* hv_libvirt_priv.h - what the libvirt boundary's files share: its struct, connection helpers.
 *
 * Private to service/hv_libvirt*.c, the libvirt boundary, which alone
 * includes libvirt's headers (tests/lint/fences.sh). The boundary is one job
 * split by whom it talks to, and for this node into the connection and the
 * operations made on it:
 *
 *   hv_libvirt.c         this node's connection: open and close, the shared
 *                        event loop, the supervisor and its reconnect with
 *                        backoff, the domain events turned into md_hv
 *                        events, the error helper, and the md_hv_ops table;
 *   hv_libvirt_domain.c  the operations on this node's domains on that
 *                        connection (lookup, list, migrate, job statistics,
 *                        the controls, the dirty rate) and the domain-handle
 *                        and job-statistics helpers;
 *   hv_libvirt_peer.c    the questions to OTHER hosts, each on a connection
 *                        of its own with bounded waits: the reachability
 *                        probe, locate() and free_memory().
 *
 * The boundary's struct is declared here because lv_migrate() reads its
 * URI; only hv_libvirt.c reads or writes the other fields (the rules are
 * at the struct). hv_libvirt.c's DESIGN essay says how the connection, its
 * reference counting and the threads work.
 *
 * Errors: libvirt keeps its last error per thread; a function below that
 * says "the libvirt error is set" leaves it for the caller to read on the
 * same thread, before its next libvirt call.
 */
#ifndef MD_HV_LIBVIRT_PRIV_H
#define MD_HV_LIBVIRT_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "service/hv.h"

/* libvirt's handles, declared as <libvirt/libvirt-host.h>,
 * <libvirt/libvirt-domain.h> and <libvirt/libvirt-common.h> declare them (a repeated typedef of the same
 * type is allowed in C11): this header is included by the boundary's .c
 * files, which include libvirt themselves, and the fence
 * (tests/lint/fences.sh) names those files as its only owners. */
typedef struct _virConnect virConnect;
typedef virConnect *virConnectPtr;
typedef struct _virDomain virDomain;
typedef virDomain *virDomainPtr;
typedef struct _virTypedParameter virTypedParameter;
typedef virTypedParameter *virTypedParameterPtr;

/* Keepalive on every connection the boundary opens: a probe every 5 s, the
 * connection is dead after 3 unanswered (so 15 to 20 s). */
#define LV_KEEPALIVE_INTERVAL_S 5
#define LV_KEEPALIVE_COUNT 3u

/* The domain events we register, in the order of md_hv_libvirt.cb_ids. */
enum { LV_CB_ITERATION = 0, LV_CB_JOB_COMPLETED, LV_CB_LIFECYCLE, LV_NCB };

/* The libvirt boundary; md_hv is its first member.
 *
 * Who touches what. uri is written once by md_hv_libvirt_open() before
 * the boundary is published and never again, so any file reads it without
 * a lock. Every other field belongs to hv_libvirt.c: mu guards conn,
 * cb_ids, lost, closing and live_regs, and cond signals their changes;
 * supervisor and supervisor_started are written by open() before it
 * returns the boundary, and read by close(). The operations in
 * hv_libvirt_domain.c and hv_libvirt_peer.c reach the connection only
 * through lv_conn_get()/lv_conn_put() and report its loss only through
 * lv_fail(), never by these fields. */
typedef struct md_hv_libvirt {
    md_hv base;     /* must be first: md_hv * is cast to this */
    char uri[1024]; /* cfg->libvirt.uri, copied at open */

    pthread_mutex_t mu;  /* guards every field below */
    pthread_cond_t cond; /* loss, closing, live_regs changes */
    virConnectPtr conn;  /* the current connection; NULL = disconnected */
    int cb_ids[LV_NCB];  /* event registrations on conn; -1 = none */
    bool lost;           /* conn was found dead; the supervisor acts */
    bool closing;        /* close() has begun */
    unsigned live_regs;  /* registrations whose free callback is pending */

    pthread_t supervisor;
    bool supervisor_started;
} md_hv_libvirt;

/* ---------------------------------------------------------------------------
 * hv_libvirt.c: the connection, for the operations of every file.
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

/* ---------------------------------------------------------------------------
 * hv_libvirt_domain.c: this node's domains.
 * ------------------------------------------------------------------------- */

/* Frees a domain handle; NULL is accepted and does nothing. Any thread. */
void lv_domain_free(virDomainPtr dom);

/* True when s has one of the two forms virDomainLookupByUUIDString accepts:
 * 36 characters 8-4-4-4-12, or 32 bare hex digits. Pure. */
bool lv_looks_like_uuid(const char *s);

/* Reads the ULLONG typed parameter name of p[0..n): true and *out set when
 * it is there, false and *out untouched when it is absent. Pure. */
bool lv_param_ull(virTypedParameterPtr p, int n, const char *name, unsigned long long *out);

/* Fills the fields of *job that libvirt's job statistics carry (from
 * virDomainGetJobStats or the JOB_COMPLETED event), leaving the others;
 * the dirty rate, in pages per second there, becomes bytes per second.
 * Pure. */
void lv_job_from_params(virTypedParameterPtr p, int n, md_hv_job *job);

/* True when job statistics describe an outgoing migration (an incoming
 * one too with incoming_too), or do not say what they describe (older
 * daemons). Pure. */
bool lv_params_migration(virTypedParameterPtr p, int n, bool incoming_too);

/* The md_hv_ops of this node's domains, as service/hv.h documents them:
 * each borrows the current connection (lv_conn_get), so each returns
 * MD_ERR_UNAVAILABLE at once while disconnected. Any thread; each is one
 * short round trip to libvirtd, except migrate(), which BLOCKS for the
 * whole migration on a connection of its own. */
md_status lv_lookup(md_hv *base, const char *id, md_hv_domain *out, md_err *err);
md_status lv_list(md_hv *base, md_hv_domain **out, size_t *n, md_err *err);
md_status lv_migrate(md_hv *base, const md_hv_migrate_args *a, md_err *err);
md_status lv_job(md_hv *base, const char *uuid, md_hv_job *out, md_err *err);
md_status lv_set_max_downtime(md_hv *hv, const char *uuid, uint32_t ms, md_err *err);
md_status lv_set_max_speed(md_hv *hv, const char *uuid, uint32_t mibps, md_err *err);
md_status lv_start_post_copy(md_hv *hv, const char *uuid, md_err *err);
md_status lv_suspend(md_hv *hv, const char *uuid, md_err *err);
md_status lv_resume(md_hv *hv, const char *uuid, md_err *err);
md_status lv_abort_job(md_hv *hv, const char *uuid, bool post_copy, md_err *err);
md_status lv_dirty_rate_start(md_hv *base, const char *uuid, int seconds, md_err *err);
md_status lv_dirty_rate_read(md_hv *base, const char *uuid, md_hv_dirty_rate *out, md_err *err);

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
