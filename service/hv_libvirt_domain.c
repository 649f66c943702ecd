/* hv_libvirt_domain.c - the libvirt boundary's operations on this node's domains.
 *
 * Why a file of its own: hv_libvirt.c keeps this node's connection alive
 * (the event loop, the supervisor that reconnects, the domain events) and
 * knows nothing of what a domain is; everything here is the other side of
 * that line, one short question or command about a domain on the
 * connection hv_libvirt.c lends it (lv_conn_get, lv_conn_put): lookup,
 * list, migrate, the job statistics, the controls and the dirty rate, and
 * the handle helpers they share with hv_libvirt_peer.c. An operation never
 * touches the connection's state itself: a failure goes through lv_fail(),
 * which flags a dead connection for the supervisor. migrate() is the one
 * long call and opens a connection of its own for it (see lv_migrate).
 * The job statistics are read here for job() and, through
 * lv_job_from_params(), for hv_libvirt.c's JOB_COMPLETED event, so that
 * both read libvirt's fields the same way. hv_libvirt.c's DESIGN essay says
 * how the threads and the connection work.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "service/hv.h"
#include "service/hv_libvirt_priv.h"
#include "service/log.h"

/* libvirt's page size when job statistics do not report one. */
#define LV_DEFAULT_PAGE_SIZE 4096u

/* The value libvirt itself uses for "unlimited" migration bandwidth (the
 * QEMU driver's QEMU_DOMAIN_MIG_BANDWIDTH_MAX, reported by
 * virDomainMigrateGetMaxSpeed when no limit is set): QEMU's 64-bit bytes/s
 * limit expressed in MiB/s, or ULONG_MAX where a long has 32 bits. Passing
 * 0 would not mean "unlimited" to QEMU. */
#if ULONG_MAX == 4294967295UL
#define LV_BANDWIDTH_UNLIMITED ULONG_MAX
#else
#define LV_BANDWIDTH_UNLIMITED ((unsigned long)(INT64_MAX / (1024 * 1024)))
#endif

/* libvirt writes UUID strings into our fixed-size fields directly. */
_Static_assert(MD_UUID_LEN >= VIR_UUID_STRING_BUFLEN, "MD_UUID_LEN too small for libvirt UUIDs");

/* ---------------------------------------------------------------------------
 * Domain handles and job statistics.
 * ------------------------------------------------------------------------- */

void lv_domain_free(virDomainPtr dom)
{
    if (dom)
        virDomainFree(dom);
}

/* True for the 36-character form 8-4-4-4-12 and for 32 bare hex digits,
 * the two forms virDomainLookupByUUIDString accepts. */
bool lv_looks_like_uuid(const char *s)
{
    size_t n = strlen(s);
    size_t i;

    if (n != 36 && n != 32)
        return false;
    for (i = 0; i < n; i++) {
        bool dash = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

        if (dash ? s[i] != '-'
                 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    }
    return true;
}

/* Finds a domain by UUID, else by name: a name may itself look like a UUID
 * (some tools name guests after their UUID), so a UUID that matches no
 * domain is tried as a name too. NULL with the libvirt error set when
 * neither matches. */
static virDomainPtr lv_find(virConnectPtr conn, const char *id)
{
    virDomainPtr dom = NULL;
    virErrorPtr e;

    if (lv_looks_like_uuid(id)) {
        dom = virDomainLookupByUUIDString(conn, id);
        if (dom)
            return dom;
        e = virGetLastError();
        if (!e || e->code != VIR_ERR_NO_DOMAIN)
            return NULL;
    }
    return virDomainLookupByName(conn, id);
}

/* Reads a ULLONG job field; absent fields leave *out alone. */
bool lv_param_ull(virTypedParameterPtr p, int n, const char *name, unsigned long long *out)
{
    return virTypedParamsGetULLong(p, n, name, out) == 1;
}

/* Reads a ULLONG job field into a uint64_t; absent fields leave *out
 * alone. (uint64_t and unsigned long long are distinct types, so the value
 * goes through a local rather than a cast pointer.) */
static void lv_param_u64(virTypedParameterPtr p, int n, const char *name, uint64_t *out)
{
    unsigned long long v;

    if (lv_param_ull(p, n, name, &v))
        *out = v;
}

/* Fills the fields of *job from job statistics (virDomainGetJobStats or the
 * JOB_COMPLETED event). The dirty rate comes in pages per second. */
void lv_job_from_params(virTypedParameterPtr p, int n, md_hv_job *job)
{
    unsigned long long v;
    unsigned long long page = LV_DEFAULT_PAGE_SIZE;

    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &v))
        job->elapsed_ms = v > INT64_MAX ? INT64_MAX : (int64_t)v;
    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION, &v))
        job->iteration = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL, &job->mem_total);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED, &job->mem_processed);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING, &job->mem_remaining);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_DISK_TOTAL, &job->disk_total);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED, &job->disk_processed);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_DISK_REMAINING, &job->disk_remaining);
    lv_param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_BPS, &job->transfer_rate);
    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, &v) && v > 0)
        page = v;
    if (lv_param_ull(p, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &v))
        job->dirty_rate = v > UINT64_MAX / page ? UINT64_MAX : v * page;
}

/* True when a job's statistics describe a migration, or do not say what
 * they describe (older daemons): a backup or a snapshot is not the job the
 * engine supervises. */
bool lv_params_migration(virTypedParameterPtr p, int n, bool incoming_too)
{
    int op;

    if (virTypedParamsGetInt(p, n, VIR_DOMAIN_JOB_OPERATION, &op) != 1)
        return true;
    return op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT ||
           (incoming_too && op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN);
}

/* Fills *out from a domain handle. -1 with the libvirt error set when a
 * required call fails. The disks are optional: a driver without block
 * statistics yields a domain without disks and a warning. */
static int lv_fill_domain(virDomainPtr dom, md_hv_domain *out)
{
    virDomainPtr doms[2] = { dom, NULL };
    virDomainStatsRecordPtr *recs = NULL;
    virDomainInfo info;
    unsigned long kib;
    unsigned int count = 0;
    unsigned long long cap;
    char key[64];
    const char *name;
    int state = 0;
    int reason = 0;
    int active;
    int ret = -1;
    unsigned int i;

    memset(out, 0, sizeof *out);
    if (virDomainGetUUIDString(dom, out->uuid) < 0)
        goto cleanup;
    name = virDomainGetName(dom);
    if (!name)
        goto cleanup;
    md_strlcpy(out->name, name, sizeof out->name);

    kib = virDomainGetMaxMemory(dom);
    if (kib == 0) {
        if (virDomainGetInfo(dom, &info) < 0)
            goto cleanup;
        kib = info.maxMem;
    }
    out->ram_bytes = (uint64_t)kib * 1024u;

    active = virDomainIsActive(dom);
    if (active < 0 || virDomainGetState(dom, &state, &reason, 0) < 0)
        goto cleanup;
    out->active = active == 1;
    out->paused = state == VIR_DOMAIN_PAUSED;

    if (virDomainListGetStats(doms, VIR_DOMAIN_STATS_BLOCK, &recs, 0) < 0) {
        md_warn("cannot read the disks of domain %s: %s", out->name, virGetLastErrorMessage());
        virResetLastError();
    } else if (recs && recs[0]) {
        virTypedParamsGetUInt(recs[0]->params, recs[0]->nparams, "block.count", &count);
        for (i = 0; i < count && out->ndisks < MD_HV_MAX_DISKS; i++) {
            snprintf(key, sizeof key, "block.%u.capacity", i);
            if (virTypedParamsGetULLong(recs[0]->params, recs[0]->nparams, key, &cap) == 1 &&
                cap > 0)
                out->disk_bytes[out->ndisks++] = cap;
        }
        if (count > MD_HV_MAX_DISKS)
            md_warn("domain %s has %u disks; only the first %d are counted", out->name, count,
                    MD_HV_MAX_DISKS);
    }
    ret = 0;

cleanup:
    if (recs)
        virDomainStatsRecordListFree(recs);
    return ret;
}

/* ---------------------------------------------------------------------------
 * The operations on this node's domains.
 * ------------------------------------------------------------------------- */

md_status lv_lookup(md_hv *base, const char *id, md_hv_domain *out, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    md_status st;

    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    dom = lv_find(conn, id);
    if (!dom || lv_fill_domain(dom, out) < 0) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }

cleanup:
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

md_status lv_list(md_hv *base, md_hv_domain **out, size_t *n, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr *doms = NULL;
    md_hv_domain *arr = NULL;
    virErrorPtr e;
    size_t k = 0;
    md_status st;
    int nd = 0;
    int i;

    *out = NULL;
    *n = 0;
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    /* Flags 0: active and inactive, persistent and transient. */
    nd = virConnectListAllDomains(conn, &doms, 0);
    if (nd < 0) {
        nd = 0;
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    arr = calloc(nd > 0 ? (size_t)nd : 1, sizeof *arr);
    if (!arr) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory listing %d domains", nd);
        goto cleanup;
    }
    for (i = 0; i < nd; i++) {
        if (lv_fill_domain(doms[i], &arr[k]) == 0) {
            k++;
            continue;
        }
        /* A domain undefined between the listing and now is simply gone. */
        e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            virResetLastError();
            continue;
        }
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    *out = arr;
    *n = k;
    arr = NULL;

cleanup:
    for (i = 0; i < nd; i++)
        lv_domain_free(doms[i]);
    free(doms);
    free(arr);
    lv_conn_put(conn);
    return st;
}

md_status lv_migrate(md_hv *base, const md_hv_migrate_args *a, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virConnectPtr mconn = NULL;
    virDomainPtr dom = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int maxparams = 0;
    unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
                         VIR_MIGRATE_UNDEFINE_SOURCE;
    md_err perr;
    md_status st;

    if (!a || !a->uuid || !a->dest_uri || !a->dest_uri[0])
        return md_err_set(err, MD_ERR_INVALID, "migrate needs a domain and a destination URI");
    /* libvirt would refuse it too (qemuMigrationAnyCanResume), but as an
     * argument error that reads like a failed migration. */
    if (a->resume && !a->post_copy)
        return md_err_set(err, MD_ERR_INVALID,
                          "resuming a failed post-copy migration needs the post-copy flag");
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    /* The call blocks for the whole migration on a connection of its own.
     * On a shared connection the thread blocked in it owns the connection's
     * socket I/O, and libvirt 9.0's client then sometimes leaves another
     * thread's request unsent until the next message arrives on the socket
     * (the server's keepalive probe, 5 s later): measured here, the
     * monitor's job-statistics and control calls stalled 2-20 s each during
     * every migration, so the policy acted late or not at all. */
    mconn = virConnectOpen(hv->uri);
    if (!mconn) {
        st = md_err_set(err, MD_ERR_HYPERVISOR,
                        "cannot open a connection to %s for the migration call: %s", hv->uri,
                        virGetLastErrorMessage());
        virResetLastError();
        goto cleanup;
    }
    if (virConnectSetKeepAlive(mconn, LV_KEEPALIVE_INTERVAL_S, LV_KEEPALIVE_COUNT) < 0)
        virResetLastError();
    dom = lv_find(mconn, a->uuid);
    if (!dom) {
        st = lv_fail(hv, mconn, false, err);
        goto cleanup;
    }
    /* libvirtd would connect to the destination itself and, to one that
     * drops packets, wait minutes for the handshake before failing. A
     * destination that does not answer us within the bound is a failed
     * attempt now (for a resume: one to retry later). */
    if (lv_probe_peer(a->dest_uri, &perr) != MD_OK) {
        st = md_err_set(err, MD_ERR_HYPERVISOR, "cannot %s to %s: %s",
                        a->resume ? "resume the migration" : "migrate", a->dest_uri, perr.msg);
        goto cleanup;
    }

    /* Nova's flags (FACTS.md): auto-converge only when post-copy is not
     * permitted, since throttling the guest is pointless once post-copy can
     * finish the job. */
    if (a->post_copy)
        flags |= VIR_MIGRATE_POSTCOPY;
    else if (a->auto_converge)
        flags |= VIR_MIGRATE_AUTO_CONVERGE;
    if (a->block_migration)
        flags |= VIR_MIGRATE_NON_SHARED_INC;
    if (a->native_tls)
        flags |= VIR_MIGRATE_TLS;

    /* The typed parameters fail only for lack of memory. */
    if ((a->migrate_uri && a->migrate_uri[0] &&
         virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_URI,
                                 a->migrate_uri) < 0) ||
        (a->bandwidth_mibps > 0 &&
         virTypedParamsAddULLong(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_BANDWIDTH,
                                 a->bandwidth_mibps) < 0) ||
        (a->parallel_connections > 1 &&
         virTypedParamsAddInt(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
                              a->parallel_connections > INT_MAX
                                  ? INT_MAX
                                  : (int)a->parallel_connections) < 0)) {
        st = lv_fail(hv, mconn, false, err);
        goto cleanup;
    }
    if (a->parallel_connections > 1)
        flags |= VIR_MIGRATE_PARALLEL;
    /* A resume is the same call with the same destination, parameters and
     * flags (VIR_MIGRATE_POSTCOPY included: libvirt 9.0 refuses a resume
     * without it), plus this flag. libvirt then neither starts a job nor
     * re-applies capabilities: it checks that the domain's outgoing job
     * failed in post-copy, asks the destination to prepare for the resume
     * (the migrate URI is passed on to it as in the first call), restarts
     * QEMU's stream with "resume" and waits in the destination's Finish for
     * the migration to complete, as a first post-copy call does. */
    if (a->resume)
        flags |= VIR_MIGRATE_POSTCOPY_RESUME;

    md_debug("%s %s to %s (migrate URI %s, flags 0x%x)", a->resume ? "resuming" : "migrating",
             a->uuid, a->dest_uri, a->migrate_uri && a->migrate_uri[0] ? a->migrate_uri : "-",
             flags);
    /* A refused request (a domain not running, say) is a failed migration
     * too, hence conflict is false for a first call. A resume refused in
     * the job's state (VIR_ERR_OPERATION_INVALID: no failed post-copy job,
     * one still owned by the first call, "QEMU reports migration is still
     * running") is a conflict the caller may retry. A lost migration
     * connection is MD_ERR_UNAVAILABLE (lv_fail): the job may go on without
     * the call. */
    if (virDomainMigrateToURI3(dom, a->dest_uri, params, (unsigned int)nparams, flags) < 0)
        st = lv_fail(hv, mconn, a->resume, err);

cleanup:
    virTypedParamsFree(params, nparams);
    lv_domain_free(dom);
    lv_conn_put(mconn);
    lv_conn_put(conn);
    return st;
}

md_status lv_job(md_hv *base, const char *uuid, md_hv_job *out, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    virTypedParameterPtr params = NULL;
    unsigned long long reqs = 0;
    int nparams = 0;
    int type = VIR_DOMAIN_JOB_NONE;
    int state = 0;
    int reason = 0;
    bool running;
    md_status st;

    memset(out, 0, sizeof *out);
    out->downtime_ms = -1;
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    dom = lv_find(conn, uuid);
    if (!dom) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    if (virDomainGetJobStats(dom, &type, &params, &nparams, 0) < 0) {
        /* A domain that is no longer running (the source of a completed
         * migration, between its stop and its undefinition) has no job. */
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_OPERATION_INVALID && virDomainIsActive(dom) == 0) {
            virResetLastError();
            goto cleanup;
        }
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    if (type == VIR_DOMAIN_JOB_NONE || !lv_params_migration(params, nparams, true))
        goto cleanup;

    out->active = true;
    /* The source of a post-copy migration is paused with reason
     * PAUSED_POSTCOPY, and PAUSED_POSTCOPY_FAILED once it failed; the
     * destination runs with RUNNING_POSTCOPY(_FAILED). A failed post-copy
     * keeps its job (libvirt >= 8.5, so that it can be resumed) and the job
     * statistics do not say it failed: libvirt maps QEMU's postcopy-paused
     * to an UNBOUNDED job like a running one (virDomainJobStatusToType), so
     * the state's reason is the one sign. A job that is ending does not
     * need it: a state that cannot be read then leaves it ending. */
    running = type == VIR_DOMAIN_JOB_BOUNDED || type == VIR_DOMAIN_JOB_UNBOUNDED;
    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        if (running) {
            st = lv_fail(hv, conn, false, err);
            goto cleanup;
        }
        virResetLastError();
        state = VIR_DOMAIN_NOSTATE;
    }
    out->post_copy_failed =
        (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED) ||
        (state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED);
    /* After an abort (or a failure) libvirt keeps the job for a second or
     * more while it cleans up, reporting type FAILED or CANCELLED with every
     * counter at 0: still a job, but nothing to sample. A failed post-copy
     * job is not ending, whatever its type says: it waits for a resume. */
    if (!running) {
        out->ending = !out->post_copy_failed;
        out->post_copy = out->post_copy_failed;
        goto cleanup;
    }
    lv_job_from_params(params, nparams, out);
    /* While a job runs, "downtime" is QEMU's expected downtime, not a
     * measured one; downtime_ms stays -1 until JOB_COMPLETED. */

    /* Page requests from the destination are a second sign of post-copy. */
    lv_param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, &reqs);
    out->post_copy = reqs > 0 || out->post_copy_failed ||
                     (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY) ||
                     (state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_POSTCOPY);

cleanup:
    if (st != MD_OK) {
        memset(out, 0, sizeof *out);
        out->downtime_ms = -1;
    }
    virTypedParamsFree(params, nparams);
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

/* The steering operations: one libvirt call on one domain each. */
typedef enum lv_control_op {
    LV_SET_MAX_DOWNTIME,
    LV_SET_MAX_SPEED,
    LV_START_POST_COPY,
    LV_SUSPEND,
    LV_RESUME,
    LV_ABORT,
} lv_control_op;

static md_status lv_control(md_hv *base, const char *uuid, lv_control_op op, uint32_t value,
                            md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    md_status st;
    int rc = -1;

    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    dom = lv_find(conn, uuid);
    if (!dom) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    switch (op) {
    case LV_SET_MAX_DOWNTIME: rc = virDomainMigrateSetMaxDowntime(dom, value, 0); break;
    case LV_SET_MAX_SPEED:
        rc = virDomainMigrateSetMaxSpeed(dom, value ? value : LV_BANDWIDTH_UNLIMITED, 0);
        break;
    case LV_START_POST_COPY: rc = virDomainMigrateStartPostCopy(dom, 0); break;
    case LV_SUSPEND: rc = virDomainSuspend(dom); break;
    case LV_RESUME: rc = virDomainResume(dom); break;
    case LV_ABORT:
        rc = virDomainAbortJobFlags(dom, value ? VIR_DOMAIN_ABORT_JOB_POSTCOPY : 0);
        break;
    }
    /* VIR_ERR_OPERATION_INVALID here means "not in this state": no job to
     * abort, a job started without post-copy, a domain not paused. */
    if (rc < 0)
        st = lv_fail(hv, conn, true, err);

cleanup:
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

md_status lv_set_max_downtime(md_hv *hv, const char *uuid, uint32_t ms, md_err *err)
{
    return lv_control(hv, uuid, LV_SET_MAX_DOWNTIME, ms, err);
}

md_status lv_set_max_speed(md_hv *hv, const char *uuid, uint32_t mibps, md_err *err)
{
    return lv_control(hv, uuid, LV_SET_MAX_SPEED, mibps, err);
}

md_status lv_start_post_copy(md_hv *hv, const char *uuid, md_err *err)
{
    return lv_control(hv, uuid, LV_START_POST_COPY, 0, err);
}

md_status lv_suspend(md_hv *hv, const char *uuid, md_err *err)
{
    return lv_control(hv, uuid, LV_SUSPEND, 0, err);
}

md_status lv_resume(md_hv *hv, const char *uuid, md_err *err)
{
    return lv_control(hv, uuid, LV_RESUME, 0, err);
}

md_status lv_abort_job(md_hv *hv, const char *uuid, bool post_copy, md_err *err)
{
    return lv_control(hv, uuid, LV_ABORT, post_copy ? 1 : 0, err);
}

/* The running domain uuid on this node's connection, for the dirty-rate
 * operations: MD_ERR_NOT_FOUND when it is not here or not running. */
static md_status lv_running_domain(md_hv_libvirt *hv, virConnectPtr conn, const char *uuid,
                                   virDomainPtr *out, md_err *err)
{
    virDomainPtr dom = lv_find(conn, uuid);
    int active;

    *out = NULL;
    if (!dom)
        return lv_fail(hv, conn, false, err);
    active = virDomainIsActive(dom);
    if (active < 0) {
        md_status st = lv_fail(hv, conn, false, err);
        virDomainFree(dom);
        return st;
    }
    if (active == 0) {
        virDomainFree(dom);
        return md_err_set(err, MD_ERR_NOT_FOUND, "domain %s is not running", uuid);
    }
    *out = dom;
    return MD_OK;
}

/* The domain's "dirtyrate" statistics: *status one of
 * virDomainDirtyRateStatus (UNSTARTED also when libvirt reports none),
 * *started whether a calculation was ever started and, once MEASURED, the
 * rate in bytes/s ("dirtyrate.megabytes_per_second", MiB/s by virsh's
 * documentation of domstats --dirtyrate).
 *
 * QEMU's calc-dirty-rate sets its state to "unstarted" and the new start
 * time, and only its measuring thread, moments later, to "measuring"; so
 * UNSTARTED with a start time (dirtyrate.calc_start_time, 0 until the
 * first calculation) is a calculation about to measure, not none. */
static md_status lv_dirty_stats(md_hv_libvirt *hv, virConnectPtr conn, virDomainPtr dom,
                                int *status, bool *started, uint64_t *bytes_per_s, md_err *err)
{
    virDomainPtr doms[2] = { dom, NULL };
    virDomainStatsRecordPtr *recs = NULL;
    long long mibps = -1, start = 0;
    unsigned long long umibps;
    md_status st = MD_OK;
    int n;

    *status = VIR_DOMAIN_DIRTYRATE_UNSTARTED;
    *started = false;
    *bytes_per_s = 0;
    n = virDomainListGetStats(doms, VIR_DOMAIN_STATS_DIRTYRATE, &recs, 0);
    if (n < 0) {
        st = lv_fail(hv, conn, false, err);
        goto cleanup;
    }
    if (n == 0 || virTypedParamsGetInt(recs[0]->params, recs[0]->nparams, "dirtyrate.calc_status",
                                       status) != 1) {
        virResetLastError();
        *status = VIR_DOMAIN_DIRTYRATE_UNSTARTED;
        goto cleanup;
    }
    if (virTypedParamsGetLLong(recs[0]->params, recs[0]->nparams, "dirtyrate.calc_start_time",
                               &start) != 1)
        start = 0;
    virResetLastError();
    *started = *status != VIR_DOMAIN_DIRTYRATE_UNSTARTED || start > 0;
    if (*status != VIR_DOMAIN_DIRTYRATE_MEASURED)
        goto cleanup;
    if (virTypedParamsGetLLong(recs[0]->params, recs[0]->nparams, "dirtyrate.megabytes_per_second",
                               &mibps) != 1 &&
        virTypedParamsGetULLong(recs[0]->params, recs[0]->nparams, "dirtyrate.megabytes_per_second",
                                &umibps) == 1)
        mibps = umibps > (unsigned long long)INT64_MAX ? INT64_MAX : (long long)umibps;
    virResetLastError();
    if (mibps < 0) {
        st = md_err_set(err, MD_ERR_HYPERVISOR,
                        "the dirty rate was measured but libvirt reports no "
                        "dirtyrate.megabytes_per_second");
        goto cleanup;
    }
    *bytes_per_s = mibps > (long long)(UINT64_MAX >> 20) ? UINT64_MAX : (uint64_t)mibps << 20;

cleanup:
    if (recs)
        virDomainStatsRecordListFree(recs);
    return st;
}

/* virDomainStartDirtyRateCalc in QEMU's page-sampling mode (QEMU 7.2's
 * default, and the one that needs no dirty ring or bitmap in the guest's
 * memory). QEMU refuses a second calculation while one runs with a plain
 * error, which libvirt passes on as an internal error; the status is read
 * first so that it is MD_ERR_CONFLICT here, as hv.h promises. */
md_status lv_dirty_rate_start(md_hv *base, const char *uuid, int seconds, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    uint64_t unused;
    bool started;
    int status;
    md_status st;

    if (seconds < 1 || seconds > 60)
        return md_err_set(err, MD_ERR_INVALID, "a dirty-rate window of %d s is not within 1 to 60",
                          seconds);
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_running_domain(hv, conn, uuid, &dom, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_dirty_stats(hv, conn, dom, &status, &started, &unused, err);
    if (st != MD_OK)
        goto cleanup;
    if (status == VIR_DOMAIN_DIRTYRATE_MEASURING) {
        st = md_err_set(err, MD_ERR_CONFLICT, "the dirty rate of %s is already being measured",
                        uuid);
        goto cleanup;
    }
    if (virDomainStartDirtyRateCalc(dom, seconds, VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING) < 0)
        st = lv_fail(hv, conn, true, err);

cleanup:
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}

md_status lv_dirty_rate_read(md_hv *base, const char *uuid, md_hv_dirty_rate *out, md_err *err)
{
    md_hv_libvirt *hv = lv_of(base);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    bool started;
    int status;
    md_status st;

    memset(out, 0, sizeof *out);
    st = lv_conn_get(hv, &conn, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_running_domain(hv, conn, uuid, &dom, err);
    if (st != MD_OK)
        goto cleanup;
    st = lv_dirty_stats(hv, conn, dom, &status, &started, &out->bytes_per_s, err);
    if (st != MD_OK)
        goto cleanup;
    if (!started)
        st = md_err_set(err, MD_ERR_CONFLICT,
                        "no dirty-rate calculation was started for %s (libvirt reports none)",
                        uuid);
    else
        out->measured = status == VIR_DOMAIN_DIRTYRATE_MEASURED;

cleanup:
    if (st != MD_OK)
        memset(out, 0, sizeof *out);
    lv_domain_free(dom);
    lv_conn_put(conn);
    return st;
}
