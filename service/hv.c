/* hv.c - picks the hypervisor boundary the configuration names. */
#include "service/hv.h"

#include "service/log.h"

md_status md_hv_open(const md_config *cfg, md_hv **out, md_err *err)
{
    *out = NULL;
    if (cfg->service.hypervisor == MD_HYPERVISOR_SIMULATOR) {
        /* Said loudly: a node that only pretends to migrate must never be
         * mistaken for one that does. */
        md_warn("hypervisor: SIMULATOR - no real guest is migrated by this daemon");
        return md_hv_sim_open(cfg, out, err);
    }
    return md_hv_libvirt_open(cfg, out, err);
}

void md_hv_set_event_handler(md_hv *hv, md_hv_event_fn fn, void *ctx)
{
    hv->on_event = fn;
    hv->event_ctx = ctx;
}

void md_hv_close(md_hv *hv)
{
    if (hv)
        hv->ops->close(hv);
}
