/* auth.c - the token migrationctl sends, from the environment an openrc file sets.
 *
 * The same variables as openstackclient, so that an operator who can run `openstack` can run
 * migrationctl with nothing new to learn: OS_TOKEN wins; else OS_AUTH_URL selects a Keystone v3
 * password login. Neither set means no token at all, for a daemon with auth_strategy "noauth"
 * on loopback (the daemon's 401 then says which variables to set). The password never leaves
 * this file but in the login request, and no token or password is ever printed. */
#include "cli/migrationctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An environment variable, or NULL when unset or empty (an openrc file that exports
 * OS_PROJECT_ID="" means "not given", as it does for openstackclient). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* {"name": name, "domain": {"id"|"name": ...}} or {"id": id}: a user or a project as
 * Keystone names it. The domain defaults to Keystone's default domain (id "default"), as
 * keystoneauth does for the default domain of an openrc without one. */
static json_object *named(const char *id, const char *name, const char *domain_id,
                          const char *domain_name)
{
    json_object *o = json_object_new_object(), *d;

    if (id) {
        json_object_object_add(o, "id", json_object_new_string(id));
        return o;
    }
    json_object_object_add(o, "name", json_object_new_string(name));
    d = json_object_new_object();
    if (domain_id || !domain_name)
        json_object_object_add(d, "id", json_object_new_string(domain_id ? domain_id : "default"));
    else
        json_object_object_add(d, "name", json_object_new_string(domain_name));
    json_object_object_add(o, "domain", d);
    return o;
}

/* The body of POST /v3/auth/tokens for a password login, or NULL with the error. */
static json_object *login_body(mc_err *e, mc_status *st)
{
    const char *user = env("OS_USERNAME"), *user_id = env("OS_USER_ID");
    const char *password = env("OS_PASSWORD");
    const char *project = env("OS_PROJECT_NAME"), *project_id = env("OS_PROJECT_ID");
    const char *system = env("OS_SYSTEM_SCOPE");

    /* Older openrc files name the project a tenant; keystoneauth reads both. */
    if (!project)
        project = env("OS_TENANT_NAME");
    if (!project_id)
        project_id = env("OS_TENANT_ID");
    if (!user && !user_id) {
        *st = mc_err_set(e, MC_ERR_USAGE, "OS_AUTH_URL is set but OS_USERNAME is not");
        return NULL;
    }
    if (!password) {
        *st = mc_err_set(e, MC_ERR_USAGE, "OS_AUTH_URL is set but OS_PASSWORD is not");
        return NULL;
    }
    /* migrationd refuses unscoped tokens (its roles need the admin project or the system),
     * so a login without a scope would only move the failure to the first request. */
    if (!project && !project_id && !system) {
        *st = mc_err_set(e, MC_ERR_USAGE,
                         "OS_AUTH_URL is set but no scope is: set OS_PROJECT_NAME (or "
                         "OS_PROJECT_ID), or OS_SYSTEM_SCOPE=all");
        return NULL;
    }
    if (system && strcmp(system, "all") != 0) {
        *st = mc_err_set(e, MC_ERR_USAGE, "OS_SYSTEM_SCOPE must be \"all\", not '%.64s'", system);
        return NULL;
    }
    json_object *u = named(user_id, user, env("OS_USER_DOMAIN_ID"), env("OS_USER_DOMAIN_NAME"));
    json_object_object_add(u, "password", json_object_new_string(password));
    json_object *pw = json_object_new_object();
    json_object_object_add(pw, "user", u);
    json_object *methods = json_object_new_array();
    json_object_array_add(methods, json_object_new_string("password"));
    json_object *identity = json_object_new_object();
    json_object_object_add(identity, "methods", methods);
    json_object_object_add(identity, "password", pw);
    json_object *scope = json_object_new_object();
    if (project || project_id) {
        json_object_object_add(scope, "project",
                               named(project_id, project, env("OS_PROJECT_DOMAIN_ID"),
                                     env("OS_PROJECT_DOMAIN_NAME")));
    } else {
        json_object *all = json_object_new_object();
        json_object_object_add(all, "all", json_object_new_boolean(1));
        json_object_object_add(scope, "system", all);
    }
    json_object *auth = json_object_new_object();
    json_object_object_add(auth, "identity", identity);
    json_object_object_add(auth, "scope", scope);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "auth", auth);
    return body;
}

/* Keystone's {"error": {"message": ...}}, or the status alone. */
static const char *keystone_message(const mc_http_response *r, json_object **doc)
{
    json_object *err, *msg;

    *doc = json_tokener_parse(r->body);
    if (*doc && json_object_object_get_ex(*doc, "error", &err) &&
        json_object_object_get_ex(err, "message", &msg))
        return json_object_get_string(msg);
    return "(no message)";
}

mc_status mc_auth_token(long timeout_s, char **token, mc_err *e)
{
    char url[1024];
    const char *auth_url = env("OS_AUTH_URL"), *type = env("OS_AUTH_TYPE");
    mc_http_response r = { 0 };
    json_object *body = NULL, *doc = NULL;
    mc_status st = MC_OK;

    *token = NULL;
    if (env("OS_TOKEN")) {
        if (!(*token = strdup(env("OS_TOKEN"))))
            return mc_err_set(e, MC_ERR_USAGE, "out of memory");
        return MC_OK;
    }
    if (!auth_url)
        return MC_OK;
    if (type && strcmp(type, "password") != 0 && strcmp(type, "v3password") != 0)
        return mc_err_set(e, MC_ERR_USAGE,
                          "OS_AUTH_TYPE '%.64s' is not supported: use a password login "
                          "(OS_AUTH_TYPE=password) or OS_TOKEN",
                          type);
    /* OS_AUTH_URL names Keystone's root or its /v3, with or without a final '/'. */
    size_t len = strlen(auth_url);
    while (len > 0 && auth_url[len - 1] == '/')
        len--;
    if (len >= 5 && strncmp(auth_url + len - 5, "/v2.0", 5) == 0)
        return mc_err_set(e, MC_ERR_USAGE,
                          "OS_AUTH_URL %.200s is Keystone's v2.0 API, which is gone: use /v3",
                          auth_url);
    bool v3 = len >= 3 && strncmp(auth_url + len - 3, "/v3", 3) == 0;
    if (len > 900)
        return mc_err_set(e, MC_ERR_USAGE, "OS_AUTH_URL is too long");
    snprintf(url, sizeof url, "%.*s%s/auth/tokens", (int)len, auth_url, v3 ? "" : "/v3");
    if (!(body = login_body(e, &st)))
        goto cleanup;
    mc_http_request req = { .method = "POST",
                            .url = url,
                            .peer = "Keystone",
                            .peer_url = auth_url,
                            .body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                            .want_header = "X-Subject-Token",
                            .cacert = env("OS_CACERT"),
                            .timeout_s = timeout_s };
    if ((st = mc_http_send(&req, &r, e)) != MC_OK)
        goto cleanup;
    const char *who = env("OS_USERNAME") ? env("OS_USERNAME") : env("OS_USER_ID");
    if (r.status == 401) {
        st = mc_err_set(e, MC_ERR_CONNECT,
                        "Keystone at %s refused the login of user '%s' (wrong user, password "
                        "or project?): %s",
                        auth_url, who, keystone_message(&r, &doc));
        goto cleanup;
    }
    if (r.status != 201 && r.status != 200) {
        st = mc_err_set(e, MC_ERR_CONNECT, "Keystone at %s answered the login with HTTP %ld: %s",
                        auth_url, r.status, keystone_message(&r, &doc));
        goto cleanup;
    }
    if (!r.header || !r.header[0]) {
        st = mc_err_set(e, MC_ERR_CONNECT,
                        "Keystone at %s answered the login without an X-Subject-Token", auth_url);
        goto cleanup;
    }
    *token = r.header;
    r.header = NULL;

cleanup:
    json_object_put(body);
    json_object_put(doc);
    mc_http_response_free(&r);
    return st;
}
