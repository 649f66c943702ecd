/* net.h - bounded checks that another host answers, before a call that would wait for it.
 *
 * libvirt's remote driver has no connect timeout (libvirt 9.0: none among
 * its URI parameters): virConnectOpen to a destination whose packets are
 * dropped waits until the kernel gives up on the TCP handshake (about two
 * minutes with the default net.ipv4.tcp_syn_retries of 6). The hypervisor
 * boundary therefore first asks, with this module, whether the
 * destination's libvirtd accepts a TCP connection within a bound, and only
 * then opens the connection (service/hv_libvirt_peer.c, lv_probe_peer for
 * lv_locate, lv_free_memory and lv_migrate). Pure POSIX sockets; no libvirt.
 */
#ifndef MD_NET_H
#define MD_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "service/status.h"

/* The host and TCP port that a libvirt URI connects to:
 * "driver[+transport]://[user@]host[:port]/path[?query]", host possibly an
 * IPv6 address in brackets (written into host without them). The port is
 * the URI's, else the transport's default: 16509 for tcp, 16514 for tls
 * (also the transport of a URI that names a host and no transport), 22 for
 * ssh, libssh and libssh2. Returns false when the URI reaches no other host
 * over TCP (no host: a local URI; the unix or ext transports) or does not
 * parse; then host and port are untouched. Pure; any thread. */
bool md_net_uri_endpoint(const char *uri, char *host, size_t hostlen, int *port);

/* Connects to host:port over TCP and closes the connection again, waiting
 * at most timeout_ms for the handshake (each address host resolves to is
 * tried in turn within that one bound). MD_OK: it accepted.
 * MD_ERR_UNAVAILABLE: it refused, is unreachable, or did not answer in time
 * (err says which, naming host:port and the bound). MD_ERR_INVALID: host
 * does not resolve. BLOCKS up to timeout_ms, plus the name's resolution
 * when host is not an address (the resolver's own timeouts apply: peers
 * give addresses so that none is needed). Any thread. */
md_status md_net_probe(const char *host, int port, int timeout_ms, md_err *err);

#endif /* MD_NET_H */
