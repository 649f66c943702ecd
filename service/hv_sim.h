/* hv_sim.h - controls of the simulated hypervisor that only tests use.
 *
 * By default the simulator's clock follows real time multiplied by
 * simulator.time_scale on a ticker thread. A test can stop that clock and
 * move it by hand, so that every step of a migration happens exactly when
 * the test says, on the test's thread (events included).
 */
#ifndef MD_HV_SIM_H
#define MD_HV_SIM_H

#include <stdbool.h>

#include "service/hv.h"

/* md_hv_sim_set_completed_events()'s modes. */
typedef enum md_hv_sim_completed {
    MD_HV_SIM_COMPLETED_DELIVER,
    MD_HV_SIM_COMPLETED_HOLD,
    MD_HV_SIM_COMPLETED_DROP,
} md_hv_sim_completed;

/* Stops (manual = true) or restarts the real-time clock. hv must have been
 * opened by md_hv_sim_open(). Any thread. */
void md_hv_sim_set_manual_clock(md_hv *hv, bool manual);

/* Advances every running simulated job by seconds of simulated time and
 * delivers the events that produces, on the calling thread. Any thread
 * except the event handler's. */
void md_hv_sim_advance(md_hv *hv, double seconds);

/* Puts a domain of the configuration on this node (here = true) or takes
 * it away, as if it had been migrated away by someone else. Returns false
 * for an unknown UUID. For recovery tests. */
bool md_hv_sim_set_here(md_hv *hv, const char *uuid, bool here);

/* Faults of a post-copy link, as FACTS.md measured them with libvirt 9.0.
 *
 * A job in post-copy moves only while its stream is neither broken nor
 * stalled and the destination is reachable; otherwise it stays where it
 * is (its elapsed time still grows, its transfer rate reads 0).
 *
 * md_hv_sim_break_postcopy: the stream of uuid's job breaks now, as a reset
 * connection does. The job stays active, in post-copy, with
 * post_copy_failed set; nothing moves and the domain stays here (paused, as
 * a libvirt source is). A POSTCOPY_FAILED event is delivered on the calling
 * thread. The migrate() blocked on the job returns MD_ERR_HYPERVISOR
 * "operation failed: job 'migration out' failed in post-copy phase" at
 * once, reachable destination or not: the stream is gone (a reset, or
 * libvirt's keepalive closing the daemons' connection after a partition).
 * A stalled job forced into the failed state by md_hv_abort_job(post_copy
 * = true) while the destination is unreachable is different: its call
 * returns only once the destination is reachable again (libvirt's call
 * waits for the destination to answer). A break ends a stall. Returns
 * false, changing nothing, unless uuid has a job in post-copy that has not
 * failed already.
 *
 * md_hv_sim_stall_postcopy: the stream stops moving (stalled = true): no
 * progress, no failure, as on a partitioned link where TCP neither breaks
 * nor moves, until it is unstalled, broken, or forced into the failed state
 * by md_hv_abort_job(post_copy = true). Returns false, changing nothing,
 * unless uuid has a job in post-copy that has not failed.
 *
 * md_hv_sim_set_dest_reachable: while false, the destination (any) cannot
 * be reached: a migrate() - first or resume - fails at once with
 * MD_ERR_HYPERVISOR "unable to connect to server at 'DEST:16509': No route
 * to host", no post-copy job moves, and the migrate() of a broken job keeps
 * waiting. True (the default) lets them go on. Pre-copy jobs are not
 * affected: the simulator models partitions only where recovery needs them.
 *
 * A resume (md_hv_migrate_args.resume) of a failed job continues post-copy
 * from where it stopped, delivers MD_HV_EV_POSTCOPY again at the next clock
 * step, blocks until the job ends and completes it as any post-copy: the
 * domain moves to the destination.
 *
 * md_hv_sim_set_dest_aware: while false, the destination has not seen the
 * break (its end of the old stream is half-open and waits for TCP, as after
 * a partition): a resume of a failed job fails at once with
 * MD_ERR_CONFLICT "Requested operation is not valid: QEMU reports
 * migration is still running", as libvirt's Prepare on the destination
 * refuses it. True (the default) lets resumes go on.
 *
 * All four: any thread except the event handler's. */
bool md_hv_sim_break_postcopy(md_hv *hv, const char *uuid);
bool md_hv_sim_stall_postcopy(md_hv *hv, const char *uuid, bool stalled);
void md_hv_sim_set_dest_reachable(md_hv *hv, bool reachable);
void md_hv_sim_set_dest_aware(md_hv *hv, bool aware);

/* The connection to the simulated libvirtd, up (connected = true, the
 * default) or down, as when libvirtd is stopped or restarting. While it is
 * down every operation fails at once with MD_ERR_UNAVAILABLE "simulated
 * libvirtd does not answer (reconnecting)" and md_hv_connected() is false;
 * taking it down makes every blocked migrate() return MD_ERR_UNAVAILABLE
 * (its connection went too) while the jobs go on, and delivers
 * MD_HV_EV_CONNECTION_LOST; bringing it up delivers MD_HV_EV_RECONNECTED;
 * both on the calling thread, as libvirt's boundary's supervisor does, and
 * only on a change. Not modelled: a real libvirtd that restarts cancels an
 * outgoing pre-copy job when it comes back. Any thread except the event
 * handler's. */
void md_hv_sim_set_connected(md_hv *hv, bool connected);

/* hold: md_hv_release_waiters() no longer ends blocked migrate() calls, as
 * libvirt's virDomainMigrateToURI3 cannot be interrupted; they return only
 * when their job ends (complete, abort, break) or the simulator closes.
 * For the tests of a stop that must leave a worker behind. Any thread. */
void md_hv_sim_hold_calls(md_hv *hv, bool hold);

/* What the simulator does with the JOB_COMPLETED events that carry a job's
 * final statistics (its real downtime): deliver them as the job ends (the
 * default), hold them, or drop them, as when libvirt's event comes late or
 * never reaches the daemon (a connection lost at the end). The job itself
 * ends as ever: its migrate() returns and the domain moves. Setting
 * DELIVER again delivers the held ones, oldest first, on the calling
 * thread; DROP drops them too. For the tests of a record completed before
 * its downtime is known. Any thread except the event handler's. */
void md_hv_sim_set_completed_events(md_hv *hv, md_hv_sim_completed mode);

/* A destination that drops packets: while host (the host of destination
 * URIs, compared ignoring case; at most 8 hosts at once) is black-holed, a
 * locate() of a domain that is not here, and a first migrate() to it, wait
 * MD_HV_PEER_TIMEOUT_MS of real time, as libvirt's boundary waits for its
 * reachability check, and then fail as it does: locate() with
 * MD_ERR_UNAVAILABLE, migrate() with MD_ERR_HYPERVISOR, each with a
 * message saying the host "does not answer". Clearing it (false) lets the
 * waiting calls go on at once; md_hv_release_waiters() makes them return
 * MD_ERR_UNAVAILABLE. Any thread except the event handler's. */
void md_hv_sim_set_dest_blackholed(md_hv *hv, const char *host, bool blackholed);

/* The free memory of the destination host (the host of destination URIs,
 * compared ignoring case), in bytes, in place of simulator.free_mib: what
 * md_hv_free_memory() says of it before this simulator migrates a domain
 * there; each domain migrated there since counts against it (its RAM), so
 * the answer falls as guests arrive, down to 0. Returns false, changing
 * nothing, when the simulator cannot keep one more destination (out of
 * memory, or 4096 already). Any thread except the event handler's. */
bool md_hv_sim_set_free_memory(md_hv *hv, const char *host, uint64_t bytes);

/* The domain uuid writes mibps MiB/s from now on: in its running job (from
 * the clock's next step) and in every later measurement and job. A
 * workload that turns busy after a drain measured it, which no plan can
 * foresee. Returns false, changing nothing, for an unknown domain. Any
 * thread except the event handler's. */
bool md_hv_sim_set_dirty_rate(md_hv *hv, const char *uuid, int mibps);

#endif /* MD_HV_SIM_H */
