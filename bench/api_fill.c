/* api_fill.c - fills a migrationd database with N finished migrations, for bench/api-load.sh.
 *
 *   build-release/bench/api-fill DB N
 *
 * Opens (creating) DB with md_store_open() - the daemon's own store code,
 * so the schema is exactly the daemon's - and inserts N records with
 * md_store_insert(): live migrations of 500 instances (UUIDs and names
 * vm-0000..vm-0499) from 20 source hosts to 20 destinations, one a minute
 * going back from now, mostly completed (1 in 10 cancelled, 1 in 20
 * failed with an error message), with realistic byte counts. Prints the
 * UUID of the newest record (the one a show request can ask for) on
 * stdout. Run it before the daemon starts on DB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/log.h"
#include "service/migration.h"
#include "service/store.h"

#define NINSTANCES 500
#define NHOSTS 20

int main(int argc, char **argv)
{
    md_store *st = NULL;
    md_err err;
    char newest[MD_UUID_LEN] = "";
    struct timespec ts;

    if (argc != 3 || atol(argv[2]) <= 0) {
        fprintf(stderr, "usage: api-fill DB N\n");
        return 2;
    }
    long n = atol(argv[2]);
    md_log_init(MD_LOG_WARNING);
    if (md_store_open(argv[1], &st, &err) != MD_OK) {
        fprintf(stderr, "api-fill: %s\n", err.msg);
        return 1;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    for (long i = 0; i < n; i++) {
        md_migration m;
        long inst = i % NINSTANCES;
        md_migration_init(&m);
        if (!md_uuid_generate(m.uuid)) {
            fprintf(stderr, "api-fill: no randomness\n");
            return 1;
        }
        /* Instance UUIDs derived from the index, so that they repeat. */
        snprintf(m.instance_uuid, sizeof m.instance_uuid, "%08lx-0000-4000-8000-%012lx", inst,
                 inst);
        snprintf(m.instance_name, sizeof m.instance_name, "vm-%04ld", inst);
        snprintf(m.source_compute, sizeof m.source_compute, "compute-%02ld", i % NHOSTS);
        snprintf(m.dest_compute, sizeof m.dest_compute, "compute-%02ld", (i + 7) % NHOSTS);
        m.max_downtime_ms = 500;
        m.timeout_action = POLICY_TIMEOUT_ABORT;
        m.policy = POLICY_ADAPTIVE;
        /* Oldest first, so that the last one inserted is the newest. */
        m.created_at = now - (n - i) * 60000;
        m.updated_at = m.created_at + 20000 + (i % 40) * 1000;
        uint64_t ram = (uint64_t)(1 + i % 16) << 30;
        m.memory_total_bytes = ram;
        m.memory_processed_bytes = ram + ram / 5;
        m.memory_iteration = (uint32_t)(2 + i % 5);
        m.transfer_rate = 1ull << 30;
        m.dirty_rate = (uint64_t)(i % 300) << 20;
        m.current_downtime_ms = 300;
        m.elapsed_ms = 20000 + (i % 40) * 1000;
        if (i % 20 == 7) {
            m.state = MD_MIG_FAILED;
            m.memory_remaining_bytes = ram / 3;
            m.progress = 66;
            snprintf(m.error, sizeof m.error,
                     "unable to connect to server at 'compute-%02ld': "
                     "Connection refused",
                     (i + 7) % NHOSTS);
        } else if (i % 10 == 3) {
            m.state = MD_MIG_CANCELLED;
            m.memory_remaining_bytes = ram / 4;
            m.progress = 75;
        } else {
            m.state = MD_MIG_COMPLETED;
            m.progress = 100;
            m.downtime_ms = 40 + i % 200;
        }
        if (md_store_insert(st, &m, &err) != MD_OK) {
            fprintf(stderr, "api-fill: record %ld: %s\n", i, err.msg);
            md_store_close(st);
            return 1;
        }
        memcpy(newest, m.uuid, sizeof newest);
    }
    md_store_close(st);
    printf("%s\n", newest);
    return 0;
}
