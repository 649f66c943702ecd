/* authz.c - the admin rule of authz.h: scope first, then the action class's roles. */
#include "api/authz.h"

#include <string.h>

const md_config_roles *md_authz_roles(const md_config *cfg, md_authz_action action)
{
    switch (action) {
    case MD_AUTHZ_LIST: return &cfg->roles.list;
    case MD_AUTHZ_CREATE: return &cfg->roles.create;
    case MD_AUTHZ_UPDATE: return &cfg->roles.update;
    case MD_AUTHZ_ABORT: return &cfg->roles.abort;
    }
    return NULL;
}

const char *md_authz_action_key(md_authz_action action)
{
    switch (action) {
    case MD_AUTHZ_LIST: return "roles.list";
    case MD_AUTHZ_CREATE: return "roles.create";
    case MD_AUTHZ_UPDATE: return "roles.update";
    case MD_AUTHZ_ABORT: return "roles.abort";
    }
    return "roles";
}

/* Whether who's scope is the admin project or (when allowed) the system. */
static bool admin_scope(const md_config *cfg, const md_auth_result *who)
{
    if (who->system_all)
        return cfg->roles.allow_system_scope;
    /* A project id is what only a project-scoped token has. */
    if (who->project_id[0] == '\0')
        return false;
    if (cfg->roles.admin_project_id[0] != '\0')
        return strcmp(who->project_id, cfg->roles.admin_project_id) == 0;
    if (cfg->roles.admin_project_name[0] == '\0')
        return true; /* any project, as configured */
    /* Keystone's project names are unique within their domain, so the
     * name alone would let an admin of a same-named project in another
     * domain in. */
    return strcmp(who->project_name, cfg->roles.admin_project_name) == 0 &&
           strcmp(who->project_domain_name, cfg->roles.admin_project_domain_name) == 0;
}

md_authz_verdict md_authz_check(const md_config *cfg, const md_auth_result *who,
                                md_authz_action action)
{
    if (!cfg || !who || !admin_scope(cfg, who))
        return MD_AUTHZ_WRONG_SCOPE;
    return md_auth_has_role(who, md_authz_roles(cfg, action)) ? MD_AUTHZ_ALLOWED : MD_AUTHZ_NO_ROLE;
}
