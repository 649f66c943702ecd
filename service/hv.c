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

void md_hv_base_init(md_hv *hv, const md_hv_ops *ops)
{
    hv->ops = ops;
    hv->on_event = NULL;
    hv->event_ctx = NULL;
    pthread_mutex_init(&hv->event_lock, NULL);
}

void md_hv_base_fini(md_hv *hv)
{
    pthread_mutex_destroy(&hv->event_lock);
}

void md_hv_emit(md_hv *hv, const md_hv_event *ev)
{
    pthread_mutex_lock(&hv->event_lock);
    if (hv->on_event)
        hv->on_event(hv->event_ctx, ev);
    pthread_mutex_unlock(&hv->event_lock);
}

void md_hv_set_event_handler(md_hv *hv, md_hv_event_fn fn, void *ctx)
{
    pthread_mutex_lock(&hv->event_lock);
    hv->on_event = fn;
    hv->event_ctx = ctx;
    pthread_mutex_unlock(&hv->event_lock);
}

void md_hv_close(md_hv *hv)
{
    if (hv)
        hv->ops->close(hv);
}
