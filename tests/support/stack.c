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

void md_test_stack_add_peer(md_test_stack *s, const char *name, const char *address,
                            const char *migrate_address, int bandwidth_mibps)
{
    md_config_peer *p = &s->cfg->peers.list[s->cfg->peers.count++];

    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->address, sizeof p->address, "%s", address);
    snprintf(p->migrate_address, sizeof p->migrate_address, "%s", migrate_address);
    p->bandwidth_mibps = bandwidth_mibps;
}

int md_test_stack_open(md_test_stack *s)
{
    md_err err;

    snprintf(s->cfg->service.database, sizeof s->cfg->service.database, "%s", s->db);
    if (md_daemon_open(s->cfg, &s->daemon, &err) != MD_OK) {
        fprintf(stderr, "test stack: %s\n", err.msg);
        return -1;
    }
    s->store = md_daemon_store(s->daemon);
    s->hv = md_daemon_hv(s->daemon);
    md_hv_sim_set_manual_clock(s->hv, true);
    return 0;
}

int md_test_stack_start(md_test_stack *s, bool api)
{
    md_err err;

    if (md_daemon_start(s->daemon, api ? MD_DAEMON_HANDLER : MD_DAEMON_ENGINE, &err) != MD_OK) {
        fprintf(stderr, "test stack: %s\n", err.msg);
        return -1;
    }
    s->eng = md_daemon_engine(s->daemon);
    s->api = md_daemon_api(s->daemon);
    return 0;
}

bool md_test_stack_stop(md_test_stack *s)
{
    s->api = NULL;
    s->eng = NULL;
    return md_daemon_stop(s->daemon);
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
    /* A worker left blocked in the simulator keeps using it: the daemon
     * then leaks it rather than free it under the worker. */
    md_test_stack_stop(s);
    md_daemon_close(s->daemon);
    s->daemon = NULL;
    s->hv = NULL;
    s->store = NULL;
    free(s->cfg);
    s->cfg = NULL;
    if (s->dir[0] && nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "test stack: could not remove %s\n", s->dir);
    s->dir[0] = '\0';
}
