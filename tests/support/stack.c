/* stack.c - the daemon's in-process stack on the simulator, for tests. */
#include "tests/support/stack.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/log.h"

int md_test_stack_init(md_test_stack *s, const char *base, const char *tag)
{
    memset(s, 0, sizeof *s);
    md_log_init(MD_LOG_ERROR);
    snprintf(s->dir, sizeof s->dir, "%s/md-%s-XXXXXX", base, tag);
    if (!mkdtemp(s->dir)) {
        perror(s->dir);
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(s->db, sizeof s->db, "%s/m.db", s->dir);
    s->cfg = calloc(1, sizeof *s->cfg);
    if (!s->cfg) {
        fprintf(stderr, "test stack: out of memory\n");
        return -1;
    }
    md_config_defaults(s->cfg);
    snprintf(s->cfg->service.host, sizeof s->cfg->service.host, "node-a");
    s->cfg->service.hypervisor = MD_HYPERVISOR_SIMULATOR;
    s->cfg->libvirt.live_migration_monitor_interval_ms = 50;
    s->cfg->simulator.link_mibps = 1024;
    return 0;
}

void md_test_stack_add_domain(md_test_stack *s, const char *name, const char *uuid, int ram_mib,
                              int working_set_mib, int dirty_mibps)
{
    md_config_sim_domain *d = &s->cfg->simulator.domains[s->cfg->simulator.ndomains++];

    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->uuid, sizeof d->uuid, "%s", uuid);
    d->ram_mib = ram_mib;
    d->working_set_mib = working_set_mib;
    d->dirty_mibps = dirty_mibps;
}

int md_test_stack_open(md_test_stack *s)
{
    md_err err;

    if (md_store_open(s->db, &s->store, &err) != MD_OK ||
        md_hv_sim_open(s->cfg, &s->hv, &err) != MD_OK) {
        fprintf(stderr, "test stack: %s\n", err.msg);
        return -1;
    }
    md_hv_sim_set_manual_clock(s->hv, true);
    return 0;
}

int md_test_stack_start(md_test_stack *s, bool api)
{
    md_err err;

    if (md_engine_start(s->cfg, s->store, s->hv, &s->eng, &err) != MD_OK) {
        fprintf(stderr, "test stack: engine: %s\n", err.msg);
        return -1;
    }
    if (api) {
        md_api_deps deps = { .cfg = s->cfg, .engine = s->eng,
                             .hypervisor_name = s->hv->ops->name, .auth = NULL };
        if (md_api_new(&deps, &s->api, &err) != MD_OK) {
            fprintf(stderr, "test stack: api: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

bool md_test_stack_stop(md_test_stack *s)
{
    bool clean;

    md_api_free(s->api);
    s->api = NULL;
    clean = md_engine_stop(s->eng);
    s->eng = NULL;
    return clean;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void md_test_stack_close(md_test_stack *s)
{
    /* A worker left blocked in the simulator keeps using it: leak it then,
     * as the daemon does, rather than free it under the worker. */
    if (md_test_stack_stop(s))
        md_hv_close(s->hv);
    s->hv = NULL;
    md_store_close(s->store);
    s->store = NULL;
    free(s->cfg);
    s->cfg = NULL;
    if (s->dir[0] && nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "test stack: could not remove %s\n", s->dir);
    s->dir[0] = '\0';
}
