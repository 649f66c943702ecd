/* auth_json.h - the JSON of Keystone's token API for api/auth.c (private to api/).
 *
 * Reading a token document (POST and GET /v3/auth/tokens answer
 * {"token": {...}}) into an md_auth_result, and writing the service's
 * password login. Messages of failures name url, Keystone's auth_url, for
 * the log (api/auth.h: the API never shows them to callers).
 *
 * Pure but for allocation; any thread.
 */
#ifndef MD_API_AUTH_JSON_H
#define MD_API_AUTH_JSON_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "api/auth.h"
#include "service/config.h"
#include "service/status.h"

/* Parses the len bytes of body (NULL: none) as a JSON object holding a
 * "token" object. On MD_OK *root owns the document (json_object_put() it)
 * and *token points inside it; MD_ERR_UNAVAILABLE for anything else,
 * MD_ERR_NOMEM. */
md_status md_auth_parse_token_doc(const char *url, const char *body, size_t len, json_object **root,
                                  json_object **token, md_err *err);

/* Reads token.expires_at into *out (ms since the epoch);
 * MD_ERR_UNAVAILABLE when it is missing or not a time. */
md_status md_auth_token_expiry(const char *url, json_object *token, int64_t *out, md_err *err);

/* Fills *out from a validation answer's token object: expiry, user,
 * scope (project id, name and domain; system) and role names.
 * MD_ERR_UNAVAILABLE when a required member is missing or malformed. */
md_status md_auth_fill_result(const char *url, json_object *token, md_auth_result *out,
                              md_err *err);

/* The JSON body of the service login (password method, project scope)
 * from cfg's keystone section, malloc'd; NULL when out of memory. */
char *md_auth_login_body(const md_config *cfg);

#endif /* MD_API_AUTH_JSON_H */
