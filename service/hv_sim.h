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

#endif /* MD_HV_SIM_H */
