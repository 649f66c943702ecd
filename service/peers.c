/* peers.c - the destinations this node may migrate to: the `peers` list of the configuration. */
#include "service/peers.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"

bool md_peer_name_ok(const char *name, char *why, size_t whylen)
{
    size_t len = strlen(name);

    if (len == 0) {
        snprintf(why, whylen, "must not be empty");
        return false;
    }
    if (len >= MD_CONFIG_PEER_LEN) {
        snprintf(why, whylen, "is %zu characters long, the maximum is %d", len,
                 MD_CONFIG_PEER_LEN - 1);
        return false;
    }
    if (name[strspn(name, HOST_CHARS)] != '\0') {
        snprintf(why, whylen, "\"%s\" may contain only letters, digits, '.', '-' and '_'", name);
        return false;
    }
    return true;
}

bool md_peer_address_ok(const char *addr, char *why, size_t whylen)
{
    struct in6_addr a6;

    if (!strchr(addr, ':'))
        return md_peer_name_ok(addr, why, whylen);
    /* The URIs put brackets around it themselves (md_uri_host). */
    if (inet_pton(AF_INET6, addr, &a6) != 1) {
        snprintf(why, whylen,
                 "\"%s\" is not a host name, an IPv4 address or an IPv6 address "
                 "(written without brackets)",
                 addr);
        return false;
    }
    return true;
}

const md_config_peer *md_peers_find(const md_config *c, const char *name)
{
    for (size_t i = 0; i < c->peers.count; i++) {
        if (strcasecmp(c->peers.list[i].name, name) == 0)
            return &c->peers.list[i];
    }
    return NULL;
}

void md_peers_names(const md_config *c, char *out, size_t outlen)
{
    static const char more[] = ", ...";
    size_t used = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < c->peers.count; i++) {
        const char *sep = i ? ", " : "";
        size_t need = strlen(sep) + strlen(c->peers.list[i].name);
        /* Room for this name and, unless it is the last, for the ellipsis
         * that may have to follow. */
        size_t reserve = i + 1 < c->peers.count ? sizeof more - 1 : 0;
        if (used + need + reserve >= outlen) {
            if (used + sizeof more <= outlen)
                memcpy(out + used, more, sizeof more);
            return;
        }
        used += (size_t)snprintf(out + used, outlen - used, "%s%s", sep, c->peers.list[i].name);
    }
}

const char *md_peer_migrate_address(const md_config_peer *p)
{
    return p->migrate_address[0] ? p->migrate_address : p->address;
}

bool md_peer_has_address(const md_config_peer *p, const char *addr)
{
    return strcasecmp(p->address, addr) == 0 ||
           (p->migrate_address[0] && strcasecmp(p->migrate_address, addr) == 0);
}

void md_uri_host(const char *host, char *out, size_t outlen)
{
    if (strchr(host, ':') && host[0] != '[')
        snprintf(out, outlen, "[%s]", host);
    else
        snprintf(out, outlen, "%s", host);
}
