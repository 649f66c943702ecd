/* auth_json.c - reading Keystone's token documents and writing the service login, with json-c. */
#include "api/auth_json.h"

#include <stdbool.h>
#include <string.h>

#include "api/internal.h"
#include "service/log.h"

/* Parses body as a JSON object holding "token". On success *root
 * owns the document and *token points inside it. */
md_status md_auth_parse_token_doc(const char *url, const char *body, size_t len, json_object **root,
                                  json_object **token, md_err *err)
{
    md_status st = MD_OK;
    json_object *doc = NULL;
    json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        st = md_err_set(err, MD_ERR_NOMEM, "out of memory parsing a Keystone answer");
        goto cleanup;
    }
    if (body != NULL) {
        doc = json_tokener_parse_ex(tok, body, (int)len);
    }
    if (doc == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_object_get_ex(doc, "token", token) ||
        !json_object_is_type(*token, json_type_object)) {
        st = md_err_set(err, MD_ERR_UNAVAILABLE,
                        "Keystone at %s sent an answer without a token object", url);
        goto cleanup;
    }
    *root = doc;
    doc = NULL;

cleanup:
    json_object_put(doc);
    if (tok != NULL) {
        json_tokener_free(tok);
    }
    return st;
}

/* Reads token.expires_at into *out. */
md_status md_auth_token_expiry(const char *url, json_object *token, int64_t *out, md_err *err)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(token, "expires_at", &v) ||
        !json_object_is_type(v, json_type_string) ||
        !md_api_time_parse(json_object_get_string(v), out)) {
        return md_err_set(err, MD_ERR_UNAVAILABLE,
                          "Keystone at %s sent a token without a valid expires_at", url);
    }
    return MD_OK;
}

/* Copies token.<obj>.id into buf ("" when the object is absent, as for
 * the project of an unscoped or domain-scoped token). */
static md_status copy_id(const char *url, json_object *token, const char *obj, bool required,
                         char *buf, size_t size, md_err *err)
{
    json_object *o = NULL;
    json_object *id = NULL;
    buf[0] = '\0';
    if (!json_object_object_get_ex(token, obj, &o)) {
        if (!required) {
            return MD_OK;
        }
    } else if (json_object_object_get_ex(o, "id", &id) &&
               json_object_is_type(id, json_type_string) &&
               (size_t)json_object_get_string_len(id) < size) {
        memcpy(buf, json_object_get_string(id), (size_t)json_object_get_string_len(id) + 1);
        return MD_OK;
    }
    return md_err_set(err, MD_ERR_UNAVAILABLE, "Keystone at %s sent a token with no usable %s.id",
                      url, obj);
}

/* Copies the string member key of o into buf when it is one and fits;
 * leaves buf "" otherwise (the scope's names are informative: a missing
 * one only makes a name rule not match). */
static void copy_string(json_object *o, const char *key, char *buf, size_t size)
{
    json_object *v = NULL;
    buf[0] = '\0';
    if (o != NULL && json_object_object_get_ex(o, key, &v) &&
        json_object_is_type(v, json_type_string) && (size_t)json_object_get_string_len(v) < size) {
        memcpy(buf, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
    }
}

/* Reads the token's scope beyond project.id: the project's name and
 * domain, and whether it is scoped to the whole system. */
static void fill_scope(json_object *token, md_auth_result *out)
{
    json_object *project = NULL;
    json_object *domain = NULL;
    json_object *system = NULL;
    json_object *all = NULL;
    if (json_object_object_get_ex(token, "project", &project) &&
        json_object_is_type(project, json_type_object)) {
        copy_string(project, "name", out->project_name, sizeof out->project_name);
        if (json_object_object_get_ex(project, "domain", &domain) &&
            json_object_is_type(domain, json_type_object)) {
            copy_string(domain, "id", out->project_domain_id, sizeof out->project_domain_id);
            copy_string(domain, "name", out->project_domain_name, sizeof out->project_domain_name);
        }
    }
    out->system_all = json_object_object_get_ex(token, "system", &system) &&
                      json_object_is_type(system, json_type_object) &&
                      json_object_object_get_ex(system, "all", &all) &&
                      json_object_is_type(all, json_type_boolean) && json_object_get_boolean(all);
}

/* Fills *out from a validation answer's token object. Roles past
 * MD_AUTH_MAX_ROLES, or with names too long to be configured, are left out
 * (they can not match any configured role name anyway in the second case). */
md_status md_auth_fill_result(const char *url, json_object *token, md_auth_result *out, md_err *err)
{
    md_status st = MD_OK;
    memset(out, 0, sizeof *out);
    st = md_auth_token_expiry(url, token, &out->expires_at, err);
    if (st == MD_OK) {
        st = copy_id(url, token, "user", true, out->user_id, sizeof out->user_id, err);
    }
    if (st == MD_OK) {
        st = copy_id(url, token, "project", false, out->project_id, sizeof out->project_id, err);
    }
    if (st != MD_OK) {
        return st;
    }
    fill_scope(token, out);
    json_object *roles = NULL;
    if (!json_object_object_get_ex(token, "roles", &roles)) {
        return MD_OK; /* an unscoped token has no roles */
    }
    if (!json_object_is_type(roles, json_type_array)) {
        return md_err_set(err, MD_ERR_UNAVAILABLE,
                          "Keystone at %s sent token.roles that is not a list", url);
    }
    size_t n = json_object_array_length(roles);
    for (size_t i = 0; i < n; i++) {
        json_object *name = NULL;
        if (!json_object_object_get_ex(json_object_array_get_idx(roles, i), "name", &name) ||
            !json_object_is_type(name, json_type_string)) {
            continue;
        }
        size_t len = (size_t)json_object_get_string_len(name);
        if (len >= sizeof out->roles[0]) {
            continue;
        }
        if (out->nroles == MD_AUTH_MAX_ROLES) {
            md_warn("keystone: user %s has more than %d roles; only the first %d are checked",
                    out->user_id, MD_AUTH_MAX_ROLES, MD_AUTH_MAX_ROLES);
            break;
        }
        memcpy(out->roles[out->nroles++], json_object_get_string(name), len + 1);
    }
    return MD_OK;
}

/* Adds a new empty object (or array) under key to parent, which owns it.
 * Returns it, or NULL when out of memory. */
static json_object *add_child(json_object *parent, const char *key, bool array)
{
    json_object *child = array ? json_object_new_array() : json_object_new_object();
    if (child == NULL || json_object_object_add(parent, key, child) != 0) {
        json_object_put(child);
        return NULL;
    }
    return child;
}

static bool add_string(json_object *parent, const char *key, const char *value)
{
    json_object *s = json_object_new_string(value);
    if (s == NULL || json_object_object_add(parent, key, s) != 0) {
        json_object_put(s);
        return false;
    }
    return true;
}

/* Builds the JSON body of the service login (password method, project
 * scope) with json-c. Returns a malloc'd string, or NULL when out of
 * memory. */
char *md_auth_login_body(const md_config *cfg)
{
    char *body = NULL;
    json_object *root = json_object_new_object();
    if (root == NULL) {
        goto cleanup;
    }
    json_object *auth = add_child(root, "auth", false);
    json_object *identity = auth != NULL ? add_child(auth, "identity", false) : NULL;
    json_object *methods = identity != NULL ? add_child(identity, "methods", true) : NULL;
    json_object *method = json_object_new_string("password");
    if (methods == NULL || method == NULL || json_object_array_add(methods, method) != 0) {
        json_object_put(method);
        goto cleanup;
    }
    json_object *password = add_child(identity, "password", false);
    json_object *user = password != NULL ? add_child(password, "user", false) : NULL;
    json_object *udomain = user != NULL ? add_child(user, "domain", false) : NULL;
    json_object *scope = add_child(auth, "scope", false);
    json_object *project = scope != NULL ? add_child(scope, "project", false) : NULL;
    json_object *pdomain = project != NULL ? add_child(project, "domain", false) : NULL;
    if (udomain == NULL || pdomain == NULL || !add_string(user, "name", cfg->keystone.username) ||
        !add_string(user, "password", cfg->keystone.password) ||
        !add_string(udomain, "name", cfg->keystone.user_domain_name) ||
        !add_string(project, "name", cfg->keystone.project_name) ||
        !add_string(pdomain, "name", cfg->keystone.project_domain_name)) {
        goto cleanup;
    }
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    if (text != NULL) {
        body = strdup(text);
    }

cleanup:
    json_object_put(root);
    return body;
}
