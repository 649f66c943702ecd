/* limits.h - the bounds that more than one place holds a value to.
 *
 * A migration's settings are checked where an operator writes their
 * defaults (the configuration, service/config.c), where a client asks for
 * them (the REST API, api/v1.c) and where the engine takes them
 * (service/engine.c); a list page is capped by the v1 and the Nova routes
 * alike. Each bound is defined here once so that those places cannot drift
 * apart. Minimums that Nova defines are policy/policy.h's
 * (POLICY_MIN_DOWNTIME_MS, ...); bounds that one key alone has stay in its
 * row of config.c's table.
 */
#ifndef MD_LIMITS_H
#define MD_LIMITS_H

/* The largest max_downtime_ms a migration may have: ten minutes, far above
 * any useful downtime, but a slipped digit is still caught. */
#define MD_MAX_DOWNTIME_MS 600000

/* The largest bandwidth_mibps (MiB/s; 0 means unlimited): 1 TiB/s. */
#define MD_MAX_BANDWIDTH_MIBPS 1048576

/* The most records one list answer holds, whatever limit is asked for:
 * Nova's [api] max_limit default, which its clients expect. */
#define MD_MAX_LIST_LIMIT 1000

/* The largest rate the simulator's link and a simulated guest's dirtying
 * may have (MiB/s): 10 TiB/s. */
#define MD_SIM_MAX_MIBPS 10485760

/* The most free memory a simulated destination may have (MiB): 1 PiB. */
#define MD_SIM_MAX_FREE_MIB 1073741824

/* The longest deadline a drain may have (seconds): a week. Far beyond any
 * maintenance window, so a slipped digit (seconds for milliseconds) is
 * still caught. The API refuses more, and the engine checks it too, since
 * deadline_at is deadline_s * 1000 milliseconds after now and must not
 * overflow for any caller. */
#define MD_DRAIN_MAX_DEADLINE_S 604800

#endif /* MD_LIMITS_H */
