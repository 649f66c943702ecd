/* hv_sim_index.c - the simulator's domains by UUID and by name, in constant time.
 *
 * Every operation of the simulated hypervisor names a domain, and the
 * monitor asks for each migration's job statistics at every pass: with
 * 1000 migrations a linear search over the domains was a quarter of the
 * monitor's CPU (README, "Benchmark: monitor load"). The domains are fixed
 * when the simulator opens, so this is an open-addressing hash table built
 * once: each domain is in it twice, by UUID (compared ignoring case, as
 * libvirt does) and by name (compared exactly), at most half full, probed
 * linearly. It is never changed after the build, so reading it needs no
 * lock beyond what the caller holds for the domain it finds.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>

#include "service/hv_sim_priv.h"

/* FNV-1a of s with its letters folded to lower case: a UUID in any case
 * and a name that differs from another only by case land in one chain,
 * where the exact comparison tells them apart. */
static uint64_t hash_ci(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++) {
        h ^= (uint64_t)(unsigned char)tolower((unsigned char)*s);
        h *= 1099511628211ULL;
    }
    return h;
}

static void put(hv_sim *h, const char *key, uint32_t slot_value)
{
    size_t mask = h->index_cap - 1;
    size_t i = (size_t)hash_ci(key) & mask;

    while (h->index[i])
        i = (i + 1) & mask;
    h->index[i] = slot_value;
}

md_status hvs_index_build(hv_sim *h, md_err *err)
{
    size_t cap = 8;

    while (cap < 4 * h->ndoms)
        cap *= 2;
    h->index = calloc(cap, sizeof *h->index);
    if (!h->index)
        return md_err_set(err, MD_ERR_NOMEM, "simulator: out of memory");
    h->index_cap = cap;
    /* A slot holds 2 * (index + 1), plus 1 for the name: 0 is empty. */
    for (size_t i = 0; i < h->ndoms; i++) {
        put(h, h->doms[i].cfg.uuid, (uint32_t)(2 * (i + 1)));
        put(h, h->doms[i].cfg.name, (uint32_t)(2 * (i + 1) + 1));
    }
    return MD_OK;
}

void hvs_index_free(hv_sim *h)
{
    free(h->index);
    h->index = NULL;
    h->index_cap = 0;
}

sim_domain *hvs_find(hv_sim *h, const char *id)
{
    sim_domain *found = NULL;

    if (!h->index_cap)
        return NULL;
    size_t mask = h->index_cap - 1;
    /* The whole chain, keeping the first domain in configuration order,
     * as a search in order would: a name may be another domain's UUID. */
    for (size_t i = (size_t)hash_ci(id) & mask; h->index[i]; i = (i + 1) & mask) {
        uint32_t v = h->index[i];
        sim_domain *d = &h->doms[v / 2 - 1];
        bool match = (v & 1) ? strcmp(d->cfg.name, id) == 0 : strcasecmp(d->cfg.uuid, id) == 0;
        if (match && (!found || d < found))
            found = d;
    }
    return found;
}
