/* nova_priv.h - what the Nova-compatible surface's files share: microversions, fields, links.
 *
 * Private to api/nova*.c, the /v2.1 routes, split by job:
 *
 *   nova.c             the DESIGN essay, the servers, os-migrateLive, the
 *                      migrations of a server, the version document and
 *                      the route table;
 *   nova_migrations.c  the os-migrations list (its query, filter, page and
 *                      next link).
 *
 * The helpers below are defined in nova.c. Like every handler, they run on
 * the API's request threads only and keep no state of their own.
 */
#ifndef MD_API_NOVA_PRIV_H
#define MD_API_NOVA_PRIV_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/internal.h"

/* True when the request's negotiated microversion is 2.minor or later. */
bool nova_at_least(const md_api_ctx *c, int minor);

/* Adds key to o: ms since the epoch as Nova writes times (md_api_time_str()). */
void nova_put_time(json_object *o, const char *key, int64_t ms);

/* A new {"href": href, "rel": rel} object, owned by the caller (add it
 * to a container or put it). */
json_object *nova_link(const char *rel, const char *href);

/* A new array of Nova's self (under /v2.1) and bookmark links to path
 * ("servers/<uuid>", no leading slash), owned by the caller. */
json_object *nova_self_links(const md_api_ctx *c, const char *path);

/* True when m is a live migration in progress as the Nova routes count
 * one: Nova's statuses, and post-copy and its recovery (nova.c's DESIGN). */
bool nova_in_progress(const md_migration *m);

/* GET /v2.1/os-migrations (nova_migrations.c), for nova.c's route table. */
void nova_h_migrations(md_api_ctx *c);

#endif /* MD_API_NOVA_PRIV_H */
