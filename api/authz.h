/* authz.h - who may do what: the rule that turns a validated token into allowed or refused.
 *
 * The rule follows Nova's defaults for os-migrations and live migration
 * (everything needs an admin) and is configured in the roles section of
 * etc/migrationd.conf, which documents it for operators: a token is allowed
 * an action when
 *   1. its scope is the admin project (roles.admin_project_id, else
 *      roles.admin_project_name in roles.admin_project_domain_name; both
 *      empty: any project) or, with roles.allow_system_scope, the whole
 *      system; a domain-scoped or unscoped token never is; and
 *   2. it holds one of the roles of the action's class (roles.list,
 *      roles.create, roles.update, roles.abort), compared without regard
 *      to case as md_auth_has_role() does.
 * The scope is checked first, so a token that fails both is told about its
 * scope (a role on the wrong project is the commoner mistake).
 *
 * Pure: no I/O, no clock, no state; any thread.
 */
#ifndef MD_API_AUTHZ_H
#define MD_API_AUTHZ_H

#include "api/auth.h"
#include "service/config.h"

/* The action classes of the API's routes. */
typedef enum md_authz_action {
    MD_AUTHZ_LIST = 0, /* reads: roles.list */
    MD_AUTHZ_CREATE,   /* a new migration or drain: roles.create */
    MD_AUTHZ_UPDATE,   /* settings and steering of one: roles.update */
    MD_AUTHZ_ABORT,    /* aborting one, or cancelling a drain: roles.abort */
} md_authz_action;

typedef enum md_authz_verdict {
    MD_AUTHZ_ALLOWED = 0,
    MD_AUTHZ_WRONG_SCOPE, /* not the admin project, nor (allowed) system scope */
    MD_AUTHZ_NO_ROLE,     /* the right scope, none of the class's roles */
} md_authz_verdict;

/* Decides whether the holder of the token described by who may perform
 * action under cfg's roles section. Returns MD_AUTHZ_WRONG_SCOPE also when
 * who or cfg is NULL. */
md_authz_verdict md_authz_check(const md_config *cfg, const md_auth_result *who,
                                md_authz_action action);

/* The roles of action's class in cfg (never NULL for a valid action). */
const md_config_roles *md_authz_roles(const md_config *cfg, md_authz_action action);

/* The configuration key of action's class: "roles.list", ... (static). */
const char *md_authz_action_key(md_authz_action action);

#endif /* MD_API_AUTHZ_H */
