/* peers.h - the destinations this node may migrate to: the `peers` list of the configuration.
 *
 * With `peers` set, a migration may go only to a node of the list, and the
 * libvirt and migration URIs are built from the addresses written there, so
 * that no destination's name is resolved and a writer of the API cannot send
 * a guest's memory to an address of their choosing. Without it (count 0) any
 * destination is allowed, as before the list existed; the engine warns at
 * start. The configuration's loader (config.c) checks names and addresses
 * with the same functions the engine relies on.
 *
 * Everything here is pure: no I/O, no locks; any thread. Strings are
 * borrowed.
 */
#ifndef MD_PEERS_H
#define MD_PEERS_H

#include <stdbool.h>
#include <stddef.h>

#include "service/config.h"

/* Whether name can be a peer's name: 1 to MD_CONFIG_PEER_LEN - 1
 * characters, each a letter, a digit, '.', '-' or '_' (a host name as Nova
 * knows compute nodes). When not, writes the reason into why. */
bool md_peer_name_ok(const char *name, char *why, size_t whylen);

/* Whether addr can be a peer's address: a host name or IPv4 address (the
 * characters of md_peer_name_ok), or an IPv6 address without brackets,
 * which must parse as one. When not, writes the reason into why. */
bool md_peer_address_ok(const char *addr, char *why, size_t whylen);

/* The peer named name, compared ignoring case (host names are), or NULL.
 * The result is borrowed from c. */
const md_config_peer *md_peers_find(const md_config *c, const char *name);

/* Writes the peers' names into out as "a, b, c" in file order, cut with
 * ", ..." when out is too small; "" without peers. */
void md_peers_names(const md_config *c, char *out, size_t outlen);

/* Where QEMU connects to p: its migrate_address, or its address. Borrowed
 * from p. */
const char *md_peer_migrate_address(const md_config_peer *p);

/* Whether addr is one of p's two addresses (ignoring case). */
bool md_peer_has_address(const md_config_peer *p, const char *addr);

/* Writes host as a URI's host part into out: an IPv6 address (it has a ':')
 * in brackets, anything else as it is. */
void md_uri_host(const char *host, char *out, size_t outlen);

#endif /* MD_PEERS_H */
