/* test_config.c - unit tests of service/config.c: loading and validating migrationd.conf.
 *
 * Each test writes a configuration file into a private temporary directory,
 * loads it and checks the result against DESIGN.md section 4: the defaults,
 * the limits and the exact "FILE:LINE: section.key: ..." error lines.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/policy.h"
#include "service/config.h"

typedef struct fixture {
    char dir[64];
    char path[128]; /* dir/test.conf: the file most tests write */
} fixture;

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/md_test_config.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/test.conf", f->dir);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char p[512];

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static md_status load_text(const fixture *f, const char *text, md_config **cfg,
                           md_config_errors *errs)
{
    write_file(f->path, text);
    return md_config_load(f->path, cfg, errs);
}

/* Loads text, which must be valid; the caller frees the result. */
static md_config *load_valid(const fixture *f, const char *text)
{
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    md_status st = load_text(f, text, &cfg, &errs);

    if (st != MD_OK) {
        fprintf(stderr, "unexpected errors for:\n%s\n", text);
        md_config_errors_print(&errs, stderr);
    }
    assert_int_equal(st, MD_OK);
    assert_int_equal(errs.count, 0);
    assert_non_null(cfg);
    md_config_errors_free(&errs);
    return cfg;
}

static md_config *load_validf(const fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static md_config *load_validf(const fixture *f, const char *fmt, ...)
{
    char text[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return load_valid(f, text);
}

/* Loads text, which must be invalid with exactly one error: on `line`, for
 * `key`, and containing `msg` (when not NULL). */
static void expect_invalid(const fixture *f, const char *text, int line, const char *key,
                           const char *msg)
{
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config sentinel;
    md_config *cfg = &sentinel; /* the load must reset it to NULL */
    char prefix[512];
    md_status st = load_text(f, text, &cfg, &errs);

    snprintf(prefix, sizeof prefix, "%s:%d: %s: ", f->path, line, key);
    if (errs.count != 1 || strncmp(errs.lines[0], prefix, strlen(prefix)) != 0 ||
        (msg && !strstr(errs.lines[0], msg))) {
        fprintf(stderr, "for:\n%s\nexpected one error \"%s...%s\", got %zu:\n", text, prefix,
                msg ? msg : "", errs.count);
        md_config_errors_print(&errs, stderr);
    }
    assert_int_equal(st, MD_ERR_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.count, 1);
    assert_true(strncmp(errs.lines[0], prefix, strlen(prefix)) == 0);
    if (msg)
        assert_non_null(strstr(errs.lines[0], msg));
    md_config_errors_free(&errs);
}

static void expect_invalidf(const fixture *f, int line, const char *key, const char *msg,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void expect_invalidf(const fixture *f, int line, const char *key, const char *msg,
                            const char *fmt, ...)
{
    char text[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    expect_invalid(f, text, line, key, msg);
}

/* Asserts every default of DESIGN.md section 4 except service.host and
 * peers (none by default; the tests that mean it check it). */
static void assert_defaults_except_host(const md_config *c)
{
    assert_int_equal(c->service.max_concurrent_live_migrations, 1);
    assert_int_equal(c->service.max_queued_migrations, 1000);
    assert_string_equal(c->service.database, "/var/lib/migrationd/migrationd.db");
    assert_int_equal(c->service.log_level, MD_LOG_INFO);
    assert_int_equal(c->service.hypervisor, MD_HYPERVISOR_LIBVIRT);
    assert_int_equal(c->service.keep_finished_days, 0);

    assert_string_equal(c->api.listen, "127.0.0.1:8775");
    assert_string_equal(c->api.listen_host, "127.0.0.1");
    assert_int_equal(c->api.listen_port, 8775);
    assert_int_equal(c->api.auth_strategy, MD_AUTH_NOAUTH);
    assert_int_equal(c->api.max_body_bytes, 65536);
    assert_int_equal(c->api.max_connections, 256);
    assert_int_equal(c->api.max_connections_per_client, 32);
    assert_int_equal(c->api.request_timeout_s, 30);
    assert_int_equal(c->api.idle_timeout_s, 60);
    assert_int_equal(c->api.metrics_auth, MD_METRICS_AUTH_LOOPBACK_OPEN);

    assert_string_equal(c->keystone.auth_url, "http://127.0.0.1:5000/v3");
    assert_string_equal(c->keystone.username, "migrationd");
    assert_string_equal(c->keystone.password, "");
    assert_string_equal(c->keystone.project_name, "service");
    assert_string_equal(c->keystone.user_domain_name, "Default");
    assert_string_equal(c->keystone.project_domain_name, "Default");
    assert_int_equal(c->keystone.cache_seconds, 300);
    assert_int_equal(c->keystone.timeout_ms, 5000);
    assert_int_equal(c->keystone.negative_cache_seconds, 10);
    assert_int_equal(c->keystone.max_concurrent_validations, 4);
    assert_int_equal(c->keystone.breaker_seconds, 5);

    /* Nova's defaults: every action needs an admin, "reader" is not one. */
    const md_config_roles *classes[] = { &c->roles.read,   &c->roles.write,  &c->roles.list,
                                         &c->roles.create, &c->roles.update, &c->roles.abort };
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        assert_int_equal(classes[i]->count, 1);
        assert_string_equal(classes[i]->names[0], "admin");
    }
    assert_string_equal(c->roles.admin_project_id, "");
    assert_string_equal(c->roles.admin_project_name, "admin");
    assert_string_equal(c->roles.admin_project_domain_name, "Default");
    assert_true(c->roles.allow_system_scope);

    assert_string_equal(c->libvirt.uri, "qemu:///system");
    assert_string_equal(c->libvirt.live_migration_scheme, "tcp");
    assert_int_equal(c->libvirt.live_migration_downtime, 500);
    assert_int_equal(c->libvirt.live_migration_downtime_target, 50);
    assert_int_equal(c->libvirt.live_migration_downtime_steps, 10);
    assert_int_equal(c->libvirt.live_migration_downtime_delay, 75);
    assert_int_equal(c->libvirt.live_migration_completion_timeout, 800);
    assert_int_equal(c->libvirt.live_migration_progress_timeout, 150);
    assert_int_equal(c->libvirt.live_migration_timeout_action, POLICY_TIMEOUT_ABORT);
    assert_false(c->libvirt.live_migration_permit_post_copy);
    assert_false(c->libvirt.live_migration_permit_auto_converge);
    assert_int_equal(c->libvirt.live_migration_bandwidth, 0);
    assert_int_equal(c->libvirt.live_migration_parallel_connections, 1);
    assert_false(c->libvirt.live_migration_with_native_tls);
    assert_int_equal(c->libvirt.live_migration_monitor_interval_ms, 500);
    assert_int_equal(c->libvirt.live_migration_policy, POLICY_ADAPTIVE);
    assert_int_equal(c->libvirt.live_migration_postcopy_stall_timeout, 10);
    assert_int_equal(c->libvirt.live_migration_postcopy_recovery_timeout, 600);
    assert_int_equal(c->libvirt.connection_wait_timeout, 90);

    assert_true(c->simulator.time_scale == 20.0);
    assert_int_equal(c->simulator.link_mibps, 1024);
    assert_int_equal(c->simulator.free_mib, 1048576);
    assert_string_equal(c->simulator.blackholed_hosts, "");
    assert_int_equal(c->simulator.ndomains, 0);
}

/* ---- defaults ---- */

static void test_empty_file_gives_every_default(void **state)
{
    char host[256] = "";
    md_config *c = load_valid(*state, "");

    assert_defaults_except_host(c);
    assert_int_equal(c->peers.count, 0);
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    assert_string_equal(c->service.host, host[0] ? host : "localhost");
    md_config_free(c);
}

static void test_empty_sections_give_every_default(void **state)
{
    md_config *c = load_valid(*state, "service = {};\napi = {};\nkeystone = {};\n"
                                      "roles = {};\nlibvirt = {};\nsimulator = {};\n");

    assert_defaults_except_host(c);
    assert_int_equal(c->peers.count, 0);
    md_config_free(c);
}

static void test_defaults_function_equals_loading_an_empty_file(void **state)
{
    md_config *loaded = load_valid(*state, "# nothing but a comment\n");
    md_config *def = calloc(1, sizeof *def);

    assert_non_null(def);
    md_config_defaults(def);
    assert_defaults_except_host(def);
    assert_int_equal(def->peers.count, 0);
    assert_memory_equal(def, loaded, sizeof *def);
    free(def);
    md_config_free(loaded);
}

/* ---- files that cannot be read or parsed ---- */

static void test_missing_file_is_not_found_and_named(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    char path[256];

    snprintf(path, sizeof path, "%s/no-such.conf", f->dir);
    assert_int_equal(md_config_load(path, &cfg, &errs), MD_ERR_NOT_FOUND);
    assert_null(cfg);
    assert_int_equal(errs.count, 1);
    assert_true(strncmp(errs.lines[0], path, strlen(path)) == 0);
    assert_non_null(strstr(errs.lines[0], "No such file"));
    md_config_errors_free(&errs);
}

static void test_directory_is_io_error(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;

    assert_int_equal(md_config_load(f->dir, &cfg, &errs), MD_ERR_IO);
    assert_null(cfg);
    assert_int_equal(errs.count, 1);
    assert_true(strncmp(errs.lines[0], f->dir, strlen(f->dir)) == 0);
    md_config_errors_free(&errs);
}

static void test_unreadable_file_is_io_error(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    char path[256];

    /* root reads any file whatever its mode. */
    if (geteuid() == 0)
        skip();
    snprintf(path, sizeof path, "%s/unreadable.conf", f->dir);
    write_file(path, "");
    assert_int_equal(chmod(path, 0), 0);
    assert_int_equal(md_config_load(path, &cfg, &errs), MD_ERR_IO);
    assert_null(cfg);
    assert_int_equal(errs.count, 1);
    assert_true(strncmp(errs.lines[0], path, strlen(path)) == 0);
    md_config_errors_free(&errs);
}

static void test_syntax_error_names_file_and_line(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    char prefix[256];

    assert_int_equal(load_text(f, "service = {\n  log_level = \"info\";\n  database = ;\n};\n",
                               &cfg, &errs),
                     MD_ERR_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.count, 1);
    snprintf(prefix, sizeof prefix, "%s:3: ", f->path);
    assert_true(strncmp(errs.lines[0], prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(errs.lines[0], "syntax error"));
    md_config_errors_free(&errs);
}

static void test_duplicate_key_is_a_syntax_error(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    char prefix[256];

    assert_int_equal(load_text(f,
                               "api = {\n  max_body_bytes = 2048;\n  max_body_bytes = 4096;\n};\n",
                               &cfg, &errs),
                     MD_ERR_INVALID);
    assert_int_equal(errs.count, 1);
    snprintf(prefix, sizeof prefix, "%s:3: ", f->path);
    assert_true(strncmp(errs.lines[0], prefix, strlen(prefix)) == 0);
    md_config_errors_free(&errs);
}

/* ---- unknown names ---- */

static void test_unknown_section_is_rejected(void **state)
{
    expect_invalid(*state, "service = {};\n\nnova = { x = 1; };\n", 3, "nova", "unknown section");
}

static void test_unknown_top_level_scalar_is_rejected(void **state)
{
    expect_invalid(*state, "max_concurrent_live_migrations = 2;\n", 1,
                   "max_concurrent_live_migrations", "unknown section");
}

static void test_unknown_key_names_file_line_and_full_key(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    char expected[256];

    assert_int_equal(load_text(f, "service = {\n  log_level = \"info\";\n  foo = 1;\n};\n", &cfg,
                               &errs),
                     MD_ERR_INVALID);
    assert_int_equal(errs.count, 1);
    snprintf(expected, sizeof expected, "%s:3: service.foo: unknown key", f->path);
    assert_string_equal(errs.lines[0], expected);
    md_config_errors_free(&errs);
}

static void test_key_of_another_section_is_unknown(void **state)
{
    expect_invalid(*state, "api = { live_migration_downtime = 500; };\n", 1,
                   "api.live_migration_downtime", "unknown key");
}

/* ---- wrong types ---- */

static void test_string_for_integer_is_rejected(void **state)
{
    expect_invalid(*state, "api = {\n  max_body_bytes = \"65536\";\n};\n", 2, "api.max_body_bytes",
                   "expected an integer, got a string");
}

static void test_float_for_integer_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_downtime = 500.0; };\n", 1,
                   "libvirt.live_migration_downtime", "expected an integer, got a float");
}

static void test_bool_for_integer_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_bandwidth = true; };\n", 1,
                   "libvirt.live_migration_bandwidth", "expected an integer, got a boolean");
}

static void test_integer_for_bool_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_permit_post_copy = 1; };\n", 1,
                   "libvirt.live_migration_permit_post_copy", "expected a boolean, got an integer");
}

static void test_string_for_bool_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_with_native_tls = \"yes\"; };\n", 1,
                   "libvirt.live_migration_with_native_tls", "expected a boolean, got a string");
}

static void test_integer_for_string_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { uri = 5; };\n", 1, "libvirt.uri",
                   "expected a string, got an integer");
}

static void test_integer_for_enum_is_rejected(void **state)
{
    expect_invalid(*state, "service = { log_level = 1; };\n", 1, "service.log_level",
                   "expected a string, got an integer");
}

static void test_string_for_array_is_rejected(void **state)
{
    expect_invalid(*state, "roles = { read = \"admin\"; };\n", 1, "roles.read",
                   "expected an array of strings, got a string");
}

static void test_list_for_array_is_rejected(void **state)
{
    expect_invalid(*state, "roles = { write = ( \"admin\" ); };\n", 1, "roles.write",
                   "expected an array of strings, got a list");
}

static void test_integer_in_roles_array_is_rejected(void **state)
{
    expect_invalid(*state, "roles = { read = [ 1 ]; };\n", 1, "roles.read[0]",
                   "expected a string, got an integer");
}

static void test_group_for_key_is_rejected(void **state)
{
    expect_invalid(*state, "service = { database = { path = \"/x\"; }; };\n", 1, "service.database",
                   "expected a string, got a group");
}

static void test_section_that_is_not_a_group_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = 5;\n", 1, "libvirt", "expected a group, got an integer");
}

static void test_section_that_is_an_array_is_rejected(void **state)
{
    expect_invalid(*state, "roles = [ \"admin\" ];\n", 1, "roles",
                   "expected a group, got an array");
}

/* ---- integer limits ---- */

static void test_downtime_99_is_below_minimum(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_downtime = 99; };\n", 1,
                   "libvirt.live_migration_downtime", "99 is below the minimum 100 (ms)");
}

static void test_downtime_100_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_downtime = 100; };\n");

    assert_int_equal(c->libvirt.live_migration_downtime, 100);
    md_config_free(c);
}

static void test_downtime_above_maximum_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_downtime = 600001; };\n", 1,
                   "libvirt.live_migration_downtime", "600001 is above the maximum 600000 (ms)");
}

static void test_downtime_steps_2_is_below_minimum(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_downtime_steps = 2; };\n", 1,
                   "libvirt.live_migration_downtime_steps", "2 is below the minimum 3");
}

static void test_downtime_steps_3_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_downtime_steps = 3; };\n");

    assert_int_equal(c->libvirt.live_migration_downtime_steps, 3);
    md_config_free(c);
}

static void test_downtime_steps_above_policy_max_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_downtime_steps = 1001; };\n", 1,
                   "libvirt.live_migration_downtime_steps", "1001 is above the maximum 1000");
}

static void test_downtime_delay_2_is_below_minimum(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_downtime_delay = 2; };\n", 1,
                   "libvirt.live_migration_downtime_delay", "2 is below the minimum 3");
}

static void test_downtime_delay_3_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_downtime_delay = 3; };\n");

    assert_int_equal(c->libvirt.live_migration_downtime_delay, 3);
    md_config_free(c);
}

static void test_downtime_target_9_is_below_minimum(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_downtime_target = 9; };\n", 1,
                   "libvirt.live_migration_downtime_target", "9 is below the minimum 10 (ms)");
}

static void test_downtime_target_10_and_the_maximum_are_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_downtime_target = 10; };\n");

    assert_int_equal(c->libvirt.live_migration_downtime_target, 10);
    md_config_free(c);
    c = load_valid(*state, "libvirt = { live_migration_downtime_target = 500; };\n");
    assert_int_equal(c->libvirt.live_migration_downtime_target, 500);
    md_config_free(c);
}

static void test_downtime_target_above_the_downtime_is_rejected_naming_both(void **state)
{
    expect_invalid(*state,
                   "libvirt = {\n  live_migration_downtime = 300;\n"
                   "  live_migration_downtime_target = 301;\n};\n",
                   3, "libvirt.live_migration_downtime_target",
                   "301 must not exceed live_migration_downtime (300 ms)");
}

static void test_downtime_target_may_rise_with_the_downtime(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_downtime = 600000; "
                                      "live_migration_downtime_target = 600000; };\n");

    assert_int_equal(c->libvirt.live_migration_downtime_target, 600000);
    md_config_free(c);
    expect_invalid(*state,
                   "libvirt = { live_migration_downtime = 600000; "
                   "live_migration_downtime_target = 600001; };\n",
                   1, "libvirt.live_migration_downtime_target",
                   "600001 is above the maximum 600000 (ms)");
}

static void test_policy_settings_carry_the_target_and_auto_converge(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_downtime_target = 80; "
                                      "live_migration_permit_auto_converge = true; };\n");
    policy_settings ps;

    md_config_policy_settings(c, 3.0, &ps);
    assert_int_equal(ps.downtime_ms, 500);
    assert_int_equal(ps.downtime_target_ms, 80);
    assert_true(ps.permit_auto_converge);
    assert_false(ps.permit_post_copy);
    md_config_free(c);
}

static void test_completion_and_progress_timeout_0_mean_off_and_are_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_completion_timeout = 0;\n"
                                      "  live_migration_progress_timeout = 0; };\n");

    assert_int_equal(c->libvirt.live_migration_completion_timeout, 0);
    assert_int_equal(c->libvirt.live_migration_progress_timeout, 0);
    md_config_free(c);
}

static void test_postcopy_stall_timeout_0_means_off_and_both_timeouts_are_read(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_postcopy_stall_timeout = 0;\n"
                                      "  live_migration_postcopy_recovery_timeout = 45; };\n");

    assert_int_equal(c->libvirt.live_migration_postcopy_stall_timeout, 0);
    assert_int_equal(c->libvirt.live_migration_postcopy_recovery_timeout, 45);
    md_config_free(c);
}

static void test_postcopy_recovery_timeout_0_is_rejected_naming_its_minimum(void **state)
{
    /* Recovery can not be switched off: a broken post-copy left alone
     * keeps the guest stalled, so there is always a time after which the
     * operator is told. */
    expect_invalid(*state, "libvirt = {\n  live_migration_postcopy_recovery_timeout = 0; };\n", 2,
                   "libvirt.live_migration_postcopy_recovery_timeout",
                   "0 is below the minimum 10 (s)");
}

static void test_keep_finished_days_is_read(void **state)
{
    md_config *c = load_valid(*state, "service = { keep_finished_days = 30; };\n");

    assert_int_equal(c->service.keep_finished_days, 30);
    md_config_free(c);
}

static void test_connection_wait_timeout_0_means_no_wait_and_is_read(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { connection_wait_timeout = 0; };\n");

    assert_int_equal(c->libvirt.connection_wait_timeout, 0);
    md_config_free(c);
}

static void test_negative_completion_timeout_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_completion_timeout = -1; };\n", 1,
                   "libvirt.live_migration_completion_timeout", "-1 is below the minimum 0");
}

typedef struct int_limit {
    const char *section, *key;
    long long min, max;
    int (*get)(const md_config *c);
} int_limit;

#define GETTER(sec, key)                     \
    static int get_##key(const md_config *c) \
    {                                        \
        return c->sec.key;                   \
    }
GETTER(service, max_concurrent_live_migrations)
GETTER(service, max_queued_migrations)
GETTER(api, max_body_bytes)
GETTER(api, max_connections)
GETTER(api, max_connections_per_client)
GETTER(api, request_timeout_s)
GETTER(api, idle_timeout_s)
GETTER(keystone, cache_seconds)
GETTER(keystone, timeout_ms)
GETTER(keystone, negative_cache_seconds)
GETTER(keystone, max_concurrent_validations)
GETTER(keystone, breaker_seconds)
GETTER(libvirt, live_migration_downtime)
GETTER(libvirt, live_migration_downtime_steps)
GETTER(libvirt, live_migration_downtime_delay)
GETTER(libvirt, live_migration_completion_timeout)
GETTER(libvirt, live_migration_progress_timeout)
GETTER(libvirt, live_migration_bandwidth)
GETTER(libvirt, live_migration_parallel_connections)
GETTER(libvirt, live_migration_monitor_interval_ms)
GETTER(libvirt, live_migration_postcopy_stall_timeout)
GETTER(libvirt, live_migration_postcopy_recovery_timeout)
GETTER(service, keep_finished_days)
GETTER(libvirt, connection_wait_timeout)
GETTER(simulator, link_mibps)
GETTER(simulator, free_mib)

#define LIMIT(sec, key, lo, hi)       \
    {                                 \
#sec, #key, lo, hi, get_##key \
    }

/* Every integer key with its range from DESIGN.md section 4. */
static const int_limit int_limits[] = {
    LIMIT(service, max_concurrent_live_migrations, 1, 4096),
    LIMIT(service, max_queued_migrations, 1, 100000),
    LIMIT(api, max_body_bytes, 1024, 16777216),
    LIMIT(api, max_connections, 1, 65536),
    LIMIT(api, max_connections_per_client, 1, 65536),
    LIMIT(api, request_timeout_s, 1, 3600),
    LIMIT(api, idle_timeout_s, 1, 3600),
    LIMIT(keystone, cache_seconds, 0, 86400),
    LIMIT(keystone, timeout_ms, 100, 600000),
    LIMIT(keystone, negative_cache_seconds, 0, 300),
    LIMIT(keystone, max_concurrent_validations, 1, 32),
    LIMIT(keystone, breaker_seconds, 1, 300),
    LIMIT(libvirt, live_migration_downtime, 100, 600000),
    LIMIT(libvirt, live_migration_downtime_steps, 3, 1000),
    LIMIT(libvirt, live_migration_downtime_delay, 3, 86400),
    LIMIT(libvirt, live_migration_completion_timeout, 0, 86400),
    LIMIT(libvirt, live_migration_progress_timeout, 0, 86400),
    LIMIT(libvirt, live_migration_bandwidth, 0, 1048576),
    LIMIT(libvirt, live_migration_parallel_connections, 1, 255),
    LIMIT(libvirt, live_migration_monitor_interval_ms, 50, 60000),
    LIMIT(libvirt, live_migration_postcopy_stall_timeout, 0, 3600),
    LIMIT(libvirt, live_migration_postcopy_recovery_timeout, 10, 86400),
    LIMIT(service, keep_finished_days, 0, 36500),
    LIMIT(libvirt, connection_wait_timeout, 0, 3600),
    LIMIT(simulator, link_mibps, 1, 10485760),
    LIMIT(simulator, free_mib, 0, 1073741824),
};

static void test_every_integer_accepts_its_limits_and_rejects_beyond(void **state)
{
    const fixture *f = *state;
    char key[128], msg[128];

    for (size_t i = 0; i < sizeof int_limits / sizeof int_limits[0]; i++) {
        const int_limit *l = &int_limits[i];
        md_config *c;

        snprintf(key, sizeof key, "%s.%s", l->section, l->key);
        c = load_validf(f, "%s = { %s = %lld; };\n", l->section, l->key, l->min);
        assert_int_equal(l->get(c), l->min);
        md_config_free(c);
        c = load_validf(f, "%s = { %s = %lld; };\n", l->section, l->key, l->max);
        assert_int_equal(l->get(c), l->max);
        md_config_free(c);

        snprintf(msg, sizeof msg, "%lld is below the minimum %lld", l->min - 1, l->min);
        expect_invalidf(f, 1, key, msg, "%s = { %s = %lld; };\n", l->section, l->key, l->min - 1);
        snprintf(msg, sizeof msg, "%lld is above the maximum %lld", l->max + 1, l->max);
        expect_invalidf(f, 1, key, msg, "%s = { %s = %lld; };\n", l->section, l->key, l->max + 1);
    }
}

static void test_int64_literal_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_downtime = 500L; };\n");

    assert_int_equal(c->libvirt.live_migration_downtime, 500);
    md_config_free(c);
}

static void test_int64_beyond_int_is_range_checked_before_narrowing(void **state)
{
    /* 4294967796 is 2^32 + 500: narrowed to 32 bits first it would pass. */
    expect_invalid(*state, "libvirt = { live_migration_downtime = 4294967796L; };\n", 1,
                   "libvirt.live_migration_downtime",
                   "4294967796 is above the maximum 600000 (ms)");
    expect_invalid(*state, "libvirt = { live_migration_bandwidth = -4294967296L; };\n", 1,
                   "libvirt.live_migration_bandwidth", "-4294967296 is below the minimum 0");
}

/* ---- enum values ---- */

static void test_timeout_action_force_complete_is_accepted(void **state)
{
    md_config *c =
        load_valid(*state, "libvirt = { live_migration_timeout_action = \"force_complete\"; };\n");

    assert_int_equal(c->libvirt.live_migration_timeout_action, POLICY_TIMEOUT_FORCE_COMPLETE);
    md_config_free(c);
}

static void test_bad_timeout_action_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_timeout_action = \"pause\"; };\n", 1,
                   "libvirt.live_migration_timeout_action", "\"pause\"");
}

static void test_policy_nova_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_policy = \"nova\"; };\n");

    assert_int_equal(c->libvirt.live_migration_policy, POLICY_NOVA);
    md_config_free(c);
}

static void test_policy_none_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_policy = \"none\"; };\n", 1,
                   "libvirt.live_migration_policy", "\"none\"");
}

static void test_unknown_policy_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_policy = \"Nova\"; };\n", 1,
                   "libvirt.live_migration_policy", "\"Nova\"");
}

static void test_log_levels_parse_and_bad_level_is_rejected(void **state)
{
    static const struct {
        const char *name;
        md_log_level level;
    } levels[] = {
        { "debug", MD_LOG_DEBUG },
        { "info", MD_LOG_INFO },
        { "warning", MD_LOG_WARNING },
        { "error", MD_LOG_ERROR },
    };

    for (size_t i = 0; i < 4; i++) {
        md_config *c = load_validf(*state, "service = { log_level = \"%s\"; };\n", levels[i].name);
        assert_int_equal(c->service.log_level, levels[i].level);
        md_config_free(c);
    }
    expect_invalid(*state, "service = { log_level = \"verbose\"; };\n", 1, "service.log_level",
                   "\"verbose\"");
}

static void test_bad_auth_strategy_is_rejected(void **state)
{
    expect_invalid(*state, "api = { auth_strategy = \"basic\"; };\n", 1, "api.auth_strategy",
                   "\"basic\"");
}

static void test_metrics_auth_names_are_parsed(void **state)
{
    static const struct {
        const char *name;
        md_metrics_auth value;
    } names[] = {
        { "loopback-open", MD_METRICS_AUTH_LOOPBACK_OPEN },
        { "always", MD_METRICS_AUTH_ALWAYS },
        { "never", MD_METRICS_AUTH_NEVER },
    };
    char text[128];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(text, sizeof text, "api = { metrics_auth = \"%s\"; };\n", names[i].name);
        md_config *c = load_valid(*state, text);
        assert_int_equal(c->api.metrics_auth, names[i].value);
        assert_string_equal(md_config_metrics_auth_str(c->api.metrics_auth), names[i].name);
        md_config_free(c);
    }
}

static void test_bad_metrics_auth_is_rejected(void **state)
{
    expect_invalid(*state, "api = { metrics_auth = \"loopback\"; };\n", 1, "api.metrics_auth",
                   "\"loopback\"");
}

static void test_keystone_auth_with_credentials_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "api = { auth_strategy = \"keystone\"; };\n"
                                      "keystone = { password = \"secret\"; };\n");

    assert_int_equal(c->api.auth_strategy, MD_AUTH_KEYSTONE);
    assert_string_equal(c->keystone.password, "secret");
    md_config_free(c);
}

static void test_keystone_auth_without_password_is_rejected(void **state)
{
    expect_invalid(*state, "api = {\n  auth_strategy = \"keystone\";\n};\n", 2, "api.auth_strategy",
                   "keystone.password");
}

/* ---- strings with a shape ---- */

static void test_listen_without_port_is_rejected(void **state)
{
    expect_invalid(*state, "api = { listen = \"127.0.0.1\"; };\n", 1, "api.listen", "no port");
}

static void test_listen_port_0_is_rejected(void **state)
{
    expect_invalid(*state, "api = { listen = \"127.0.0.1:0\"; };\n", 1, "api.listen", "1 to 65535");
}

static void test_listen_port_70000_is_rejected(void **state)
{
    expect_invalid(*state, "api = { listen = \"127.0.0.1:70000\"; };\n", 1, "api.listen",
                   "1 to 65535");
}

static void test_listen_other_bad_shapes_are_rejected(void **state)
{
    static const char *const bad[] = {
        ":8775",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:http",
        "127.0.0.1:+80",
        "::1:8775",
        "[::1]8775",
        "[::1]",
        "[zz::1]:8775",
        "[]:8775",
        "my host:8775",
        "127.0.0.1:0008775",
        "",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalidf(*state, 1, "api.listen", NULL, "api = { listen = \"%s\"; };\n", bad[i]);
}

static void test_listen_ipv6_in_brackets_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "api = { listen = \"[::1]:8775\"; };\n");

    assert_string_equal(c->api.listen, "[::1]:8775");
    assert_string_equal(c->api.listen_host, "::1");
    assert_int_equal(c->api.listen_port, 8775);
    md_config_free(c);
}

static void test_listen_host_name_and_port_limits_are_accepted(void **state)
{
    md_config *c = load_valid(*state, "api = { listen = \"controller.example:1\"; };\n");

    assert_string_equal(c->api.listen_host, "controller.example");
    assert_int_equal(c->api.listen_port, 1);
    md_config_free(c);
    c = load_valid(*state, "api = { listen = \"0.0.0.0:65535\"; };\n");
    assert_string_equal(c->api.listen_host, "0.0.0.0");
    assert_int_equal(c->api.listen_port, 65535);
    md_config_free(c);
}

static void test_auth_url_without_http_scheme_is_rejected(void **state)
{
    static const char *const bad[] = { "ftp://keystone/v3", "127.0.0.1:5000/v3", "http://",
                                       "https://", "" };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalidf(*state, 1, "keystone.auth_url", NULL,
                        "keystone = { auth_url = \"%s\"; };\n", bad[i]);
}

static void test_auth_url_https_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "keystone = { auth_url = \"https://keystone:5000/v3\"; };\n");

    assert_string_equal(c->keystone.auth_url, "https://keystone:5000/v3");
    md_config_free(c);
}

static void test_scheme_with_other_characters_is_rejected(void **state)
{
    expect_invalid(*state, "libvirt = { live_migration_scheme = \"TCP\"; };\n", 1,
                   "libvirt.live_migration_scheme", "a-z, 0-9 and +");
    expect_invalid(*state, "libvirt = { live_migration_scheme = \"tcp/x\"; };\n", 1,
                   "libvirt.live_migration_scheme", NULL);
    expect_invalid(*state, "libvirt = { live_migration_scheme = \"\"; };\n", 1,
                   "libvirt.live_migration_scheme", "must not be empty");
}

static void test_scheme_tls_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "libvirt = { live_migration_scheme = \"tls\"; };\n");

    assert_string_equal(c->libvirt.live_migration_scheme, "tls");
    md_config_free(c);
}

static void test_empty_required_strings_are_rejected(void **state)
{
    expect_invalid(*state, "service = { database = \"\"; };\n", 1, "service.database",
                   "must not be empty");
    expect_invalid(*state, "service = { host = \"\"; };\n", 1, "service.host", "must not be empty");
    expect_invalid(*state, "libvirt = { uri = \"\"; };\n", 1, "libvirt.uri", "must not be empty");
}

static void test_string_length_limits(void **state)
{
    char longest[4096], toolong[4097];
    md_config *c;

    memset(longest, 'h', 255);
    longest[255] = '\0';
    c = load_validf(*state, "service = { host = \"%s\"; };\n", longest);
    assert_string_equal(c->service.host, longest);
    md_config_free(c);
    memset(toolong, 'h', 256);
    toolong[256] = '\0';
    expect_invalidf(*state, 1, "service.host", "256", "service = { host = \"%s\"; };\n", toolong);

    longest[0] = '/';
    memset(longest + 1, 'd', 4094);
    longest[4095] = '\0';
    c = load_validf(*state, "service = { database = \"%s\"; };\n", longest);
    assert_string_equal(c->service.database, longest);
    md_config_free(c);
    memcpy(toolong, longest, 4095);
    toolong[4095] = 'd';
    toolong[4096] = '\0';
    expect_invalidf(*state, 1, "service.database", "4096", "service = { database = \"%s\"; };\n",
                    toolong);
}

/* ---- roles ---- */

static void test_empty_roles_array_is_rejected(void **state)
{
    expect_invalid(*state, "roles = { read = [ ]; };\n", 1, "roles.read", "at least one");
}

static void test_empty_role_name_is_rejected(void **state)
{
    expect_invalid(*state, "roles = { write = [ \"admin\", \"\" ]; };\n", 1, "roles.write[1]",
                   "empty");
}

static void test_role_name_length_limit(void **state)
{
    char name[65];
    md_config *c;

    memset(name, 'r', 63);
    name[63] = '\0';
    c = load_validf(*state, "roles = { read = [ \"%s\" ]; };\n", name);
    assert_int_equal(c->roles.read.count, 1);
    assert_string_equal(c->roles.read.names[0], name);
    md_config_free(c);
    memset(name, 'r', 64);
    name[64] = '\0';
    expect_invalidf(*state, 1, "roles.read[0]", NULL, "roles = { read = [ \"%s\" ]; };\n", name);
}

static void test_roles_count_limit(void **state)
{
    char list[1024] = "";
    md_config *c;

    for (int i = 0; i < 16; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"r%d\"", i ? ", " : "", i);
    c = load_validf(*state, "roles = { write = [ %s ]; };\n", list);
    assert_int_equal(c->roles.write.count, 16);
    assert_string_equal(c->roles.write.names[15], "r15");
    md_config_free(c);
    expect_invalidf(*state, 1, "roles.write", "17", "roles = { write = [ %s, \"r16\" ]; };\n",
                    list);
}

static void test_roles_are_read_in_order(void **state)
{
    md_config *c = load_valid(*state, "roles = { read = [ \"member\", \"reader\", \"admin\" ];\n"
                                      "  write = [ \"operator\", \"admin\" ]; };\n");

    assert_int_equal(c->roles.read.count, 3);
    assert_string_equal(c->roles.read.names[0], "member");
    assert_string_equal(c->roles.read.names[1], "reader");
    assert_string_equal(c->roles.read.names[2], "admin");
    assert_int_equal(c->roles.write.count, 2);
    assert_string_equal(c->roles.write.names[0], "operator");
    assert_string_equal(c->roles.write.names[1], "admin");
    md_config_free(c);
}

/* The action classes take read's or write's roles as loaded from the same
 * file, unless the file sets them. */
static void test_role_classes_default_to_read_and_write(void **state)
{
    md_config *c = load_valid(*state, "roles = { read = [ \"reader\", \"admin\" ];\n"
                                      "  write = [ \"operator\" ]; };\n");

    assert_int_equal(c->roles.list.count, 2);
    assert_string_equal(c->roles.list.names[0], "reader");
    assert_string_equal(c->roles.list.names[1], "admin");
    assert_int_equal(c->roles.create.count, 1);
    assert_string_equal(c->roles.create.names[0], "operator");
    assert_memory_equal(&c->roles.update, &c->roles.write, sizeof c->roles.write);
    assert_memory_equal(&c->roles.abort, &c->roles.write, sizeof c->roles.write);
    md_config_free(c);
}

static void test_role_class_set_in_the_file_overrides_its_default(void **state)
{
    md_config *c = load_valid(*state, "roles = { write = [ \"operator\" ];\n"
                                      "  abort = [ \"admin\", \"operator\", \"oncall\" ];\n"
                                      "  list = [ \"auditor\" ]; };\n");

    assert_int_equal(c->roles.abort.count, 3);
    assert_string_equal(c->roles.abort.names[2], "oncall");
    assert_int_equal(c->roles.list.count, 1);
    assert_string_equal(c->roles.list.names[0], "auditor");
    /* read keeps its default; the unset classes follow write. */
    assert_string_equal(c->roles.read.names[0], "admin");
    assert_string_equal(c->roles.create.names[0], "operator");
    assert_string_equal(c->roles.update.names[0], "operator");
    md_config_free(c);
    expect_invalid(*state, "roles = { create = [ ]; };\n", 1, "roles.create", "at least one");
    expect_invalid(*state, "roles = { update = \"admin\"; };\n", 1, "roles.update",
                   "an array of strings");
}

static void test_admin_scope_keys_are_read(void **state)
{
    md_config *c = load_valid(*state, "roles = { admin_project_id = \"0123abcd\";\n"
                                      "  admin_project_name = \"cloud-admin\";\n"
                                      "  admin_project_domain_name = \"ops\";\n"
                                      "  allow_system_scope = false; };\n");

    assert_string_equal(c->roles.admin_project_id, "0123abcd");
    assert_string_equal(c->roles.admin_project_name, "cloud-admin");
    assert_string_equal(c->roles.admin_project_domain_name, "ops");
    assert_false(c->roles.allow_system_scope);
    md_config_free(c);
}

/* ---- the hypervisor and the simulator ---- */

#define UUID_A "6f1c2a4e-0b7d-4c3e-9a51-2d8e7f604b19"
#define UUID_B "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
#define UUID_C "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f"

/* Asserts that line i of errs is "PATH:LINE: KEY: ..." and contains msg
 * (when not NULL). */
static void assert_error_at(const md_config_errors *errs, size_t i, const fixture *f, int line,
                            const char *key, const char *msg)
{
    char prefix[512];

    snprintf(prefix, sizeof prefix, "%s:%d: %s: ", f->path, line, key);
    assert_true(i < errs->count);
    if (strncmp(errs->lines[i], prefix, strlen(prefix)) != 0 ||
        (msg && !strstr(errs->lines[i], msg)))
        fprintf(stderr, "error %zu: expected \"%s...%s\", got \"%s\"\n", i, prefix, msg ? msg : "",
                errs->lines[i]);
    assert_true(strncmp(errs->lines[i], prefix, strlen(prefix)) == 0);
    if (msg)
        assert_non_null(strstr(errs->lines[i], msg));
}

/* simulator = { domains = ( ONE ); } with ONE on line 3. */
#define ONE_DOMAIN(dom) "simulator = {\n  domains = (\n    " dom "\n  );\n};\n"

static void test_hypervisor_is_libvirt_and_simulator_at_defaults_by_default(void **state)
{
    static const char *const texts[] = { "", "service = {};\nsimulator = {};\n",
                                         "simulator = {\n  domains = ( );\n};\n" };

    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        md_config *c = load_valid(*state, texts[i]);
        assert_int_equal(c->service.hypervisor, MD_HYPERVISOR_LIBVIRT);
        assert_true(c->simulator.time_scale == 20.0);
        assert_int_equal(c->simulator.link_mibps, 1024);
        assert_int_equal(c->simulator.ndomains, 0);
        md_config_free(c);
    }
}

static void test_hypervisor_simulator_and_libvirt_are_accepted(void **state)
{
    md_config *c = load_valid(*state, "service = { hypervisor = \"simulator\"; };\n");

    assert_int_equal(c->service.hypervisor, MD_HYPERVISOR_SIMULATOR);
    md_config_free(c);
    c = load_valid(*state, "service = { hypervisor = \"libvirt\"; };\n");
    assert_int_equal(c->service.hypervisor, MD_HYPERVISOR_LIBVIRT);
    md_config_free(c);
}

static void test_unknown_hypervisor_is_rejected(void **state)
{
    expect_invalid(*state, "service = {\n  hypervisor = \"xen\";\n};\n", 2, "service.hypervisor",
                   "\"xen\" is not one of: libvirt, simulator");
    expect_invalid(*state, "service = { hypervisor = \"Simulator\"; };\n", 1, "service.hypervisor",
                   "\"Simulator\"");
    expect_invalid(*state, "service = { hypervisor = 1; };\n", 1, "service.hypervisor",
                   "expected a string, got an integer");
}

static void test_hypervisor_names(void **state)
{
    assert_string_equal(md_config_hypervisor_str(MD_HYPERVISOR_LIBVIRT), "libvirt");
    assert_string_equal(md_config_hypervisor_str(MD_HYPERVISOR_SIMULATOR), "simulator");
}

static void test_time_scale_below_minimum_is_rejected(void **state)
{
    expect_invalid(*state, "simulator = {\n  time_scale = 0.0005;\n};\n", 2, "simulator.time_scale",
                   "0.0005");
}

static void test_time_scale_fraction_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "simulator = { time_scale = 0.5; };\n");

    assert_true(c->simulator.time_scale == 0.5);
    md_config_free(c);
}

static void test_time_scale_integer_is_accepted(void **state)
{
    md_config *c = load_valid(*state, "simulator = { time_scale = 100; };\n");

    assert_true(c->simulator.time_scale == 100.0);
    md_config_free(c);
    c = load_valid(*state, "simulator = { time_scale = 100L; };\n");
    assert_true(c->simulator.time_scale == 100.0);
    md_config_free(c);
}

static void test_time_scale_limits_and_type(void **state)
{
    static const char *const good[] = { "0.001", "100000", "100000.0", "1" };
    static const char *const bad[] = { "0", "0.0", "-1.0", "100000.5", "100001", "1e9" };

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        md_config *c = load_validf(*state, "simulator = { time_scale = %s; };\n", good[i]);
        assert_true(c->simulator.time_scale == strtod(good[i], NULL));
        md_config_free(c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalidf(*state, 1, "simulator.time_scale", "outside",
                        "simulator = { time_scale = %s; };\n", bad[i]);
    expect_invalid(*state, "simulator = { time_scale = \"fast\"; };\n", 1, "simulator.time_scale",
                   "expected a number, got a string");
    expect_invalid(*state, "simulator = { time_scale = true; };\n", 1, "simulator.time_scale",
                   "expected a number, got a boolean");
}

static void test_two_simulated_domains_load_with_every_field(void **state)
{
    md_config *c =
        load_valid(*state,
                   "service = { hypervisor = \"simulator\"; };\n"
                   "simulator = {\n"
                   "  time_scale = 50.0;\n"
                   "  link_mibps = 1250;\n"
                   "  free_mib = 65536;\n"
                   "  blackholed_hosts = \"192.0.2.7, node-x\";\n"
                   "  domains = (\n"
                   "    { name = \"vm-idle\"; uuid = \"" UUID_A "\"; ram_mib = 2048;\n"
                   "      working_set_mib = 64; dirty_mibps = 0; },\n"
                   "    { name = \"vm-busy\"; uuid = \"0A9B8C7D-6E5F-4A3B-8C2D-1E0F9A8B7C6D\";\n"
                   "      ram_mib = 16384; working_set_mib = 8192; dirty_mibps = 900; }\n"
                   "  );\n"
                   "};\n");

    assert_int_equal(c->service.hypervisor, MD_HYPERVISOR_SIMULATOR);
    assert_true(c->simulator.time_scale == 50.0);
    assert_int_equal(c->simulator.link_mibps, 1250);
    assert_int_equal(c->simulator.free_mib, 65536);
    assert_string_equal(c->simulator.blackholed_hosts, "192.0.2.7, node-x");
    assert_int_equal(c->simulator.ndomains, 2);
    assert_string_equal(c->simulator.domains[0].name, "vm-idle");
    assert_string_equal(c->simulator.domains[0].uuid, UUID_A);
    assert_int_equal(c->simulator.domains[0].ram_mib, 2048);
    assert_int_equal(c->simulator.domains[0].working_set_mib, 64);
    assert_int_equal(c->simulator.domains[0].dirty_mibps, 0);
    assert_string_equal(c->simulator.domains[1].name, "vm-busy");
    /* Kept as written: UUIDs compare case-insensitively wherever they are used. */
    assert_string_equal(c->simulator.domains[1].uuid, "0A9B8C7D-6E5F-4A3B-8C2D-1E0F9A8B7C6D");
    assert_int_equal(c->simulator.domains[1].ram_mib, 16384);
    assert_int_equal(c->simulator.domains[1].working_set_mib, 8192);
    assert_int_equal(c->simulator.domains[1].dirty_mibps, 900);
    md_config_free(c);
}

static void test_omitted_working_set_and_dirty_rate_default_to_0(void **state)
{
    md_config *c =
        load_valid(*state, ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1; }"));

    assert_int_equal(c->simulator.ndomains, 1);
    assert_int_equal(c->simulator.domains[0].ram_mib, 1);
    assert_int_equal(c->simulator.domains[0].working_set_mib, 0);
    assert_int_equal(c->simulator.domains[0].dirty_mibps, 0);
    md_config_free(c);
}

static void test_domain_without_name_is_rejected(void **state)
{
    expect_invalid(*state, ONE_DOMAIN("{ uuid = \"" UUID_A "\"; ram_mib = 1024; }"), 3,
                   "simulator.domains[0].name", "missing");
}

static void test_domain_name_length_limits(void **state)
{
    char name[65];
    md_config *c;

    memset(name, 'n', 63);
    name[63] = '\0';
    c = load_validf(*state, ONE_DOMAIN("{ name = \"%s\"; uuid = \"" UUID_A "\"; ram_mib = 1; }"),
                    name);
    assert_string_equal(c->simulator.domains[0].name, name);
    md_config_free(c);
    memset(name, 'n', 64);
    name[64] = '\0';
    expect_invalidf(*state, 3, "simulator.domains[0].name", NULL,
                    ONE_DOMAIN("{ name = \"%s\"; uuid = \"" UUID_A "\"; ram_mib = 1; }"), name);
    expect_invalid(*state, ONE_DOMAIN("{ name = \"\"; uuid = \"" UUID_A "\"; ram_mib = 1; }"), 3,
                   "simulator.domains[0].name", NULL);
    expect_invalid(*state, ONE_DOMAIN("{ name = 7; uuid = \"" UUID_A "\"; ram_mib = 1; }"), 3,
                   "simulator.domains[0].name", "expected a string, got an integer");
}

static void test_domain_without_uuid_is_rejected(void **state)
{
    expect_invalid(*state, ONE_DOMAIN("{ name = \"vm-a\"; ram_mib = 1024; }"), 3,
                   "simulator.domains[0].uuid", "missing");
}

static void test_domain_with_bad_uuid_is_rejected(void **state)
{
    static const char *const bad[] = {
        "not-a-uuid",
        "6f1c2a4e0b7d4c3e9a512d8e7f604b19",      /* no dashes */
        "6f1c2a4e-0b7d-4c3e-9a51-2d8e7f604b1g",  /* g is not hexadecimal */
        "6f1c2a4e-0b7d-4c3e-9a51-2d8e7f604b1",   /* 35 characters */
        "6f1c2a4e-0b7d-4c3e-9a51-2d8e7f604b190", /* 37 characters */
        "6f1c2a4e0-b7d-4c3e-9a51-2d8e7f604b19",  /* a dash out of place */
        "{6f1c2a4e-0b7d-4c3e-9a51-2d8e7f604b19}",
        "",
    };

    expect_invalid(*state, ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"vm-a\"; ram_mib = 1; }"), 3,
                   "simulator.domains[0].uuid", "UUID");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalidf(*state, 3, "simulator.domains[0].uuid", NULL,
                        ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"%s\"; ram_mib = 1; }"), bad[i]);
}

static void test_domain_without_ram_is_rejected(void **state)
{
    expect_invalid(*state, ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; }"), 3,
                   "simulator.domains[0].ram_mib", "missing");
}

static void test_domain_with_ram_0_is_rejected(void **state)
{
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\";\n      ram_mib = 0; }"), 4,
                   "simulator.domains[0].ram_mib", "0");
}

static void test_domain_ram_limits_and_type(void **state)
{
    md_config *c = load_valid(*state, ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A
                                                 "\"; ram_mib = 16777216; }"));

    assert_int_equal(c->simulator.domains[0].ram_mib, 16777216);
    md_config_free(c);
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 16777217; }"), 3,
                   "simulator.domains[0].ram_mib", "16777217");
    expect_invalid(*state, ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = -1; }"),
                   3, "simulator.domains[0].ram_mib", "-1");
    /* 2^32 + 1024: range-checked before it is narrowed to an int. */
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 4294968320L; }"),
                   3, "simulator.domains[0].ram_mib", "4294968320");
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = \"2048\"; }"), 3,
                   "simulator.domains[0].ram_mib", "expected an integer, got a string");
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 2048.0; }"), 3,
                   "simulator.domains[0].ram_mib", "expected an integer, got a float");
}

static void test_working_set_larger_than_ram_is_rejected(void **state)
{
    md_config *c =
        load_valid(*state, ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 512; "
                                      "working_set_mib = 512; }"));

    assert_int_equal(c->simulator.domains[0].working_set_mib, 512);
    md_config_free(c);
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 512;\n"
                              "      working_set_mib = 513; }"),
                   4, "simulator.domains[0].working_set_mib", "513");
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 512;\n"
                              "      working_set_mib = -1; }"),
                   4, "simulator.domains[0].working_set_mib", "-1");
}

static void test_negative_dirty_rate_is_rejected(void **state)
{
    md_config *c =
        load_valid(*state, ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1; "
                                      "dirty_mibps = 10485760; }"));

    assert_int_equal(c->simulator.domains[0].dirty_mibps, 10485760);
    md_config_free(c);
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1;\n"
                              "      dirty_mibps = -1; }"),
                   4, "simulator.domains[0].dirty_mibps", "-1");
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1;\n"
                              "      dirty_mibps = 10485761; }"),
                   4, "simulator.domains[0].dirty_mibps", "10485761");
}

static void test_unknown_key_in_domain_is_rejected(void **state)
{
    expect_invalid(*state,
                   ONE_DOMAIN("{ name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1;\n"
                              "      vcpus = 4; }"),
                   4, "simulator.domains[0].vcpus", "unknown key");
}

static void test_domain_that_is_not_a_group_is_rejected(void **state)
{
    /* libconfig dates a string by the token after it (strings concatenate),
     * so the ")" shares its line. */
    expect_invalid(*state, "simulator = {\n  domains = ( \"vm-a\" );\n};\n", 2,
                   "simulator.domains[0]", "expected a group, got a string");
    expect_invalid(*state,
                   "simulator = {\n  domains = (\n"
                   "    { name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1; },\n"
                   "    ( \"vm-b\" )\n  );\n};\n",
                   4, "simulator.domains[1]", "expected a group, got a list");
    expect_invalid(*state, ONE_DOMAIN("[ 1, 2 ]"), 3, "simulator.domains[0]",
                   "expected a group, got an array");
}

static void test_domains_as_array_or_group_is_rejected(void **state)
{
    expect_invalid(*state, "simulator = {\n  domains = [ \"vm-a\" ];\n};\n", 2, "simulator.domains",
                   "expected a list of groups, got an array");
    expect_invalid(*state, "simulator = { domains = [ ]; };\n", 1, "simulator.domains",
                   "expected a list of groups, got an array");
    expect_invalid(*state,
                   "simulator = {\n  domains = { name = \"vm-a\"; uuid = \"" UUID_A "\";\n"
                   "    ram_mib = 1; };\n};\n",
                   2, "simulator.domains", "expected a list of groups, got a group");
    expect_invalid(*state, "simulator = { domains = \"vm-a\"; };\n", 1, "simulator.domains",
                   "expected a list of groups, got a string");
}

static void test_duplicate_domain_name_is_rejected(void **state)
{
    expect_invalid(*state,
                   "simulator = {\n  domains = (\n"
                   "    { name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1; },\n"
                   "    { uuid = \"" UUID_B "\"; ram_mib = 1;\n"
                   "      name = \"vm-a\"; }\n"
                   "  );\n};\n",
                   5, "simulator.domains[1].name", "vm-a");
}

static void test_duplicate_uuid_differing_only_in_case_is_rejected(void **state)
{
    expect_invalid(*state,
                   "simulator = {\n  domains = (\n"
                   "    { name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1; },\n"
                   "    { name = \"vm-b\"; ram_mib = 1;\n"
                   "      uuid = \"6F1C2A4E-0B7D-4C3E-9A51-2D8E7F604B19\"; }\n"
                   "  );\n};\n",
                   5, "simulator.domains[1].uuid", "simulator.domains[0]");
}

static void test_duplicate_is_found_even_when_the_first_domain_has_other_errors(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;

    assert_int_equal(load_text(f,
                               "simulator = {\n  domains = (\n"
                               "    { name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 0; },\n"
                               "    { name = \"vm-a\"; uuid = \"" UUID_B "\"; ram_mib = 1; }\n"
                               "  );\n};\n",
                               &cfg, &errs),
                     MD_ERR_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.count, 2);
    assert_error_at(&errs, 0, f, 3, "simulator.domains[0].ram_mib", NULL);
    assert_error_at(&errs, 1, f, 4, "simulator.domains[1].name", "vm-a");
    md_config_errors_free(&errs);
}

static void test_several_domain_errors_are_reported_together(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    static const char text[] =
        "service = { hypervisor = \"simulator\"; };\n"
        "simulator = {\n"
        "  time_scale = 0.0;\n" /* 3 */
        "  domains = (\n"
        "    { name = \"vm-a\"; uuid = \"" UUID_A "\"; ram_mib = 1024; },\n" /* 5 */
        "    { uuid = \"" UUID_B "\";\n"                                     /* 6 */
        "      ram_mib = 0; },\n"                                            /* 7 */
        "    { name = \"vm-c\";\n"
        "      uuid = \"not-a-uuid\";\n" /* 9 */
        "      ram_mib = 512;\n"
        "      working_set_mib = 1024;\n"                                /* 11 */
        "      colour = \"red\"; },\n"                                   /* 12 */
        "    42,\n"                                                      /* 13 */
        "    { name = \"vm-a\"; uuid = \"" UUID_C "\"; ram_mib = 256;\n" /* 14 */
        "      dirty_mibps = -5; }\n"                                    /* 15 */
        "  );\n"
        "};\n"
        "libvirt = { live_migration_downtime = 50; };\n"; /* 18 */

    assert_int_equal(load_text(f, text, &cfg, &errs), MD_ERR_INVALID);
    assert_null(cfg);
    if (errs.count != 10)
        md_config_errors_print(&errs, stderr);
    assert_int_equal(errs.count, 10);
    assert_error_at(&errs, 0, f, 3, "simulator.time_scale", "outside");
    assert_error_at(&errs, 1, f, 6, "simulator.domains[1].name", "missing");
    assert_error_at(&errs, 2, f, 7, "simulator.domains[1].ram_mib", "0");
    assert_error_at(&errs, 3, f, 12, "simulator.domains[2].colour", "unknown key");
    assert_error_at(&errs, 4, f, 9, "simulator.domains[2].uuid", "UUID");
    assert_error_at(&errs, 5, f, 11, "simulator.domains[2].working_set_mib", "ram_mib 512");
    assert_error_at(&errs, 6, f, 13, "simulator.domains[3]", "expected a group, got an integer");
    assert_error_at(&errs, 7, f, 15, "simulator.domains[4].dirty_mibps", "-5");
    assert_error_at(&errs, 8, f, 14, "simulator.domains[4].name", "vm-a");
    assert_error_at(&errs, 9, f, 18, "libvirt.live_migration_downtime", "50");
    md_config_errors_free(&errs);
}

/* simulator.domains with n domains, vm-0 .. vm-(n-1), on lines 3 .. n+2. */
static char *domain_list_text(size_t n)
{
    size_t cap = 64 + n * 128, len;
    char *text = malloc(cap);

    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "simulator = {\n  domains = (\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "    { name = \"vm-%zu\";"
                                " uuid = \"00000000-0000-4000-8000-%012zu\"; ram_mib = 1; }%s\n",
                                i, i, i + 1 < n ? "," : "");
    snprintf(text + len, cap - len, "  );\n};\n");
    return text;
}

static void test_domain_count_limit(void **state)
{
    char *text = domain_list_text(MD_CONFIG_MAX_SIM_DOMAINS);
    md_config *c = load_valid(*state, text);

    assert_int_equal(MD_CONFIG_MAX_SIM_DOMAINS, 2048);
    assert_int_equal(c->simulator.ndomains, 2048);
    assert_string_equal(c->simulator.domains[2047].name, "vm-2047");
    assert_string_equal(c->simulator.domains[2047].uuid, "00000000-0000-4000-8000-000000002047");
    md_config_free(c);
    free(text);
    text = domain_list_text(MD_CONFIG_MAX_SIM_DOMAINS + 1);
    expect_invalid(*state, text, 2, "simulator.domains", "2049");
    free(text);
}

/* ---- many errors, includes, the shipped file ---- */

static void test_every_error_of_a_file_is_reported_in_order(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    char expected[512];
    static const char text[] = "service = {\n"
                               "  max_concurrent_live_migrations = 0;\n" /* 2 */
                               "  colour = \"blue\";\n"                  /* 3 */
                               "};\n"
                               "api = { max_body_bytes = \"big\"; };\n" /* 5 */
                               "libvirt = {\n"
                               "  live_migration_downtime = 50;\n"     /* 7 */
                               "  live_migration_policy = \"none\";\n" /* 8 */
                               "  live_migration_permit_post_copy = true;\n"
                               "};\n"
                               "extra = {};\n"; /* 11 */

    assert_int_equal(load_text(f, text, &cfg, &errs), MD_ERR_INVALID);
    assert_null(cfg);
    assert_int_equal(errs.count, 6);
    snprintf(expected, sizeof expected,
             "%s:2: service.max_concurrent_live_migrations: 0 is below the minimum 1", f->path);
    assert_string_equal(errs.lines[0], expected);
    snprintf(expected, sizeof expected, "%s:3: service.colour: unknown key", f->path);
    assert_string_equal(errs.lines[1], expected);
    snprintf(expected, sizeof expected,
             "%s:5: api.max_body_bytes: expected an integer, got a string", f->path);
    assert_string_equal(errs.lines[2], expected);
    snprintf(expected, sizeof expected,
             "%s:7: libvirt.live_migration_downtime: 50 is below the minimum 100 (ms)", f->path);
    assert_string_equal(errs.lines[3], expected);
    snprintf(expected, sizeof expected, "%s:8: libvirt.live_migration_policy: ", f->path);
    assert_true(strncmp(errs.lines[4], expected, strlen(expected)) == 0);
    snprintf(expected, sizeof expected, "%s:11: extra: unknown section", f->path);
    assert_string_equal(errs.lines[5], expected);
    md_config_errors_free(&errs);
    assert_int_equal(errs.count, 0);
    assert_null(errs.lines);
}

static void test_errors_are_counted_without_an_error_list(void **state)
{
    md_config *cfg = NULL;

    assert_int_equal(load_text(*state, "service = { foo = 1; };\n", &cfg, NULL), MD_ERR_INVALID);
    assert_null(cfg);
}

static void test_error_in_included_file_names_that_file(void **state)
{
    const fixture *f = *state;
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *cfg = NULL;
    char inc[256], expected[512];

    snprintf(inc, sizeof inc, "%s/libvirt.inc", f->dir);
    write_file(inc, "libvirt = {\n  live_migration_downtime_steps = 2;\n};\n");
    /* The include is relative: it is found next to the including file. */
    assert_int_equal(load_text(f, "service = {};\n@include \"libvirt.inc\"\n", &cfg, &errs),
                     MD_ERR_INVALID);
    assert_int_equal(errs.count, 1);
    snprintf(expected, sizeof expected,
             "%s:2: libvirt.live_migration_downtime_steps: 2 is below the minimum 3", inc);
    assert_string_equal(errs.lines[0], expected);
    md_config_errors_free(&errs);

    write_file(inc, "libvirt = { live_migration_downtime_steps = 4; };\n");
    cfg = load_valid(f, "@include \"libvirt.inc\"\n");
    assert_int_equal(cfg->libvirt.live_migration_downtime_steps, 4);
    md_config_free(cfg);
}

/* ---- peers ---- */

/* peers = ( ONE ); with ONE on line 2. */
#define ONE_PEER(p) "peers = (\n  " p "\n);\n"

static void test_peers_of_the_design_are_read_in_order(void **state)
{
    md_config *c = load_valid(*state,
                              "service = { host = \"node-a\"; };\n"
                              "peers = ( { name = \"node-b\"; address = \"10.0.0.2\"; },\n"
                              "  { name = \"node-c\"; address = \"10.0.0.3\";\n"
                              "    migrate_address = \"192.168.0.3\";\n"
                              "    bandwidth_mibps = 1000; },\n"
                              "  { name = \"node_d.example\"; address = \"fd00::4\"; } );\n");

    assert_int_equal(c->peers.count, 3);
    assert_string_equal(c->peers.list[0].name, "node-b");
    assert_string_equal(c->peers.list[0].address, "10.0.0.2");
    assert_string_equal(c->peers.list[0].migrate_address, "");
    assert_int_equal(c->peers.list[0].bandwidth_mibps, 0);
    assert_string_equal(c->peers.list[1].name, "node-c");
    assert_string_equal(c->peers.list[1].migrate_address, "192.168.0.3");
    assert_int_equal(c->peers.list[1].bandwidth_mibps, 1000);
    assert_string_equal(c->peers.list[2].address, "fd00::4");
    md_config_free(c);
}

static void test_peer_without_name_or_address_is_rejected(void **state)
{
    expect_invalid(*state, ONE_PEER("{ address = \"10.0.0.2\"; }"), 2, "peers[0].name", "missing");
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; }"), 2, "peers[0].address", "missing");
    expect_invalid(*state, ONE_PEER("{ name = \"\"; address = \"10.0.0.2\"; }"), 2, "peers[0].name",
                   "must not be empty");
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; address = \"\"; }"), 2,
                   "peers[0].address", "must not be empty");
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; address = 10; }"), 2, "peers[0].address",
                   "expected a string, got an integer");
}

static void test_peer_names_and_addresses_that_would_break_a_uri_are_rejected(void **state)
{
    expect_invalid(*state, ONE_PEER("{ name = \"node b\"; address = \"10.0.0.2\"; }"), 2,
                   "peers[0].name", "may contain only");
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; address = \"10.0.0.2/x\"; }"), 2,
                   "peers[0].address", "may contain only");
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; address = \"user@10.0.0.2\"; }"), 2,
                   "peers[0].address", "may contain only");
    /* The URIs add the brackets themselves. */
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; address = \"[fd00::2]\"; }"), 2,
                   "peers[0].address", "without brackets");
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; address = \"10.0.0.2:16509\"; }"), 2,
                   "peers[0].address", "not a host name");
    expect_invalid(*state,
                   ONE_PEER("{ name = \"node-b\"; address = \"10.0.0.2\"; "
                            "migrate_address = \"a b\"; }"),
                   2, "peers[0].migrate_address", "may contain only");
}

static void test_peer_name_length_limit(void **state)
{
    char name[300];

    memset(name, 'n', 255);
    name[255] = '\0';
    md_config *c =
        load_validf(*state, "peers = ( { name = \"%s\"; address = \"10.0.0.2\"; } );\n", name);
    assert_int_equal(strlen(c->peers.list[0].name), 255);
    md_config_free(c);
    strcat(name, "n");
    expect_invalidf(*state, 1, "peers[0].name", "256 characters long, the maximum is 255",
                    "peers = ( { name = \"%s\"; address = \"10.0.0.2\"; } );\n", name);
}

static void test_peer_unknown_key_and_bandwidth_limits(void **state)
{
    expect_invalid(*state, ONE_PEER("{ name = \"node-b\"; address = \"10.0.0.2\"; port = 16509; }"),
                   2, "peers[0].port", "unknown key");
    expect_invalid(*state,
                   ONE_PEER("{ name = \"node-b\"; address = \"10.0.0.2\"; bandwidth_mibps = 0; }"),
                   2, "peers[0].bandwidth_mibps", "0 is outside 1 to 1048576");
    expect_invalid(*state,
                   ONE_PEER(
                       "{ name = \"node-b\"; address = \"10.0.0.2\"; bandwidth_mibps = 1048577; }"),
                   2, "peers[0].bandwidth_mibps", "1048577 is outside 1 to 1048576");
    expect_invalid(
        *state,
        ONE_PEER("{ name = \"node-b\"; address = \"10.0.0.2\"; bandwidth_mibps = \"fast\"; }"), 2,
        "peers[0].bandwidth_mibps", "expected an integer");
}

static void test_peer_names_are_unique_ignoring_case(void **state)
{
    expect_invalid(*state,
                   "peers = (\n  { name = \"node-b\"; address = \"10.0.0.2\"; },\n"
                   "  { name = \"Node-B\"; address = \"10.0.0.3\"; }\n);\n",
                   3, "peers[1].name", "repeats peers[0].name");
    /* Two names for one address are allowed (an alias). */
    md_config *c = load_valid(*state, "peers = ( { name = \"node-b\"; address = \"10.0.0.2\"; },\n"
                                      "  { name = \"node-b2\"; address = \"10.0.0.2\"; } );\n");
    assert_int_equal(c->peers.count, 2);
    md_config_free(c);
}

static void test_peer_named_as_this_node_is_rejected(void **state)
{
    expect_invalid(*state,
                   "service = { host = \"node-a\"; };\n"
                   "peers = ( { name = \"NODE-A\"; address = \"10.0.0.1\"; } );\n",
                   2, "peers[0].name", "is this node (service.host)");
}

static void test_peers_must_be_a_non_empty_list_of_groups(void **state)
{
    expect_invalid(*state, "peers = ( );\n", 1, "peers", "lists 0 peers");
    expect_invalid(*state, "peers = [ \"node-b\" ];\n", 1, "peers",
                   "expected a list of groups, got an array");
    expect_invalid(*state, "peers = { name = \"node-b\"; address = \"10.0.0.2\"; };\n", 1, "peers",
                   "expected a list of groups, got a group");
    expect_invalid(*state, "peers = ( \"node-b\" );\n", 1, "peers[0]",
                   "expected a group, got a string");
}

static void test_peers_count_limit(void **state)
{
    static char text[300 * 64];
    size_t len = 0;

    for (int n = 256; n <= 257; n++) {
        len = (size_t)snprintf(text, sizeof text, "peers = (\n");
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(text + len, sizeof text - len,
                                    "{ name = \"n%d\"; address = \"10.0.%d.%d\"; }%s\n", i, i / 250,
                                    i % 250 + 1, i + 1 < n ? "," : "");
        snprintf(text + len, sizeof text - len, ");\n");
        if (n == 256) {
            md_config *c = load_valid(*state, text);
            assert_int_equal(c->peers.count, 256);
            assert_string_equal(c->peers.list[255].name, "n255");
            md_config_free(c);
        } else {
            expect_invalid(*state, text, 1, "peers", "lists 257 peers: list 1 to 256");
        }
    }
}

static void test_shipped_sample_config_is_valid_and_all_defaults(void **state)
{
    const char *src = getenv("MD_SOURCE_DIR");
    md_config_errors errs = MD_CONFIG_ERRORS_INIT;
    md_config *shipped = NULL;
    md_config *def = calloc(1, sizeof *def);
    char path[4096];

    /* CTest sets MD_SOURCE_DIR; run by hand, the test runs in the source tree. */
    snprintf(path, sizeof path, "%s/etc/migrationd.conf", src ? src : ".");
    assert_int_equal(md_config_load(path, &shipped, &errs), MD_OK);
    assert_int_equal(errs.count, 0);
    assert_non_null(def);
    assert_defaults_except_host(shipped);
    /* The one option the sample sets: example peers, so that a node
     * installed from it migrates only to destinations someone wrote down. */
    assert_int_equal(shipped->peers.count, 2);
    assert_string_equal(shipped->peers.list[0].name, "compute2");
    assert_string_equal(shipped->peers.list[1].migrate_address, "198.51.100.13");
    md_config_defaults(def);
    memcpy(def->service.host, shipped->service.host, sizeof def->service.host);
    memcpy(&def->peers, &shipped->peers, sizeof def->peers);
    assert_memory_equal(def, shipped, sizeof *def);
    free(def);
    md_config_free(shipped);
}

/* ---- other values and the policy settings ---- */

static void test_every_value_is_read_from_the_file(void **state)
{
    md_config *c = load_valid(
        *state,
        "service = { max_concurrent_live_migrations = 4; database = \"/srv/md.db\";\n"
        "  host = \"compute7\"; log_level = \"warning\"; };\n"
        "api = { listen = \"10.0.0.5:9000\"; auth_strategy = \"keystone\";\n"
        "  max_body_bytes = 2048; };\n"
        "keystone = { auth_url = \"https://ks/v3\"; username = \"u\"; password = \"p\";\n"
        "  project_name = \"proj\"; user_domain_name = \"ud\"; project_domain_name = \"pd\";\n"
        "  cache_seconds = 0; timeout_ms = 250; };\n"
        "libvirt = { uri = \"qemu+ssh://x/system\"; live_migration_scheme = \"tls\";\n"
        "  live_migration_permit_auto_converge = true; live_migration_bandwidth = 100;\n"
        "  live_migration_parallel_connections = 4; live_migration_with_native_tls = true;\n"
        "  live_migration_monitor_interval_ms = 250; };\n");

    assert_int_equal(c->service.max_concurrent_live_migrations, 4);
    assert_string_equal(c->service.database, "/srv/md.db");
    assert_string_equal(c->service.host, "compute7");
    assert_int_equal(c->service.log_level, MD_LOG_WARNING);
    assert_string_equal(c->api.listen_host, "10.0.0.5");
    assert_int_equal(c->api.listen_port, 9000);
    assert_int_equal(c->api.auth_strategy, MD_AUTH_KEYSTONE);
    assert_int_equal(c->api.max_body_bytes, 2048);
    assert_string_equal(c->keystone.auth_url, "https://ks/v3");
    assert_string_equal(c->keystone.username, "u");
    assert_string_equal(c->keystone.password, "p");
    assert_string_equal(c->keystone.project_name, "proj");
    assert_string_equal(c->keystone.user_domain_name, "ud");
    assert_string_equal(c->keystone.project_domain_name, "pd");
    assert_int_equal(c->keystone.cache_seconds, 0);
    assert_int_equal(c->keystone.timeout_ms, 250);
    assert_string_equal(c->libvirt.uri, "qemu+ssh://x/system");
    assert_string_equal(c->libvirt.live_migration_scheme, "tls");
    assert_true(c->libvirt.live_migration_permit_auto_converge);
    assert_int_equal(c->libvirt.live_migration_bandwidth, 100);
    assert_int_equal(c->libvirt.live_migration_parallel_connections, 4);
    assert_true(c->libvirt.live_migration_with_native_tls);
    assert_int_equal(c->libvirt.live_migration_monitor_interval_ms, 250);
    md_config_free(c);
}

static void test_policy_settings_map_the_libvirt_section(void **state)
{
    policy_settings s;
    md_config *c = load_valid(
        *state, "libvirt = { live_migration_policy = \"nova\"; live_migration_downtime = 1200;\n"
                "  live_migration_downtime_steps = 4; live_migration_downtime_delay = 9;\n"
                "  live_migration_completion_timeout = 0; live_migration_progress_timeout = 60;\n"
                "  live_migration_timeout_action = \"force_complete\";\n"
                "  live_migration_permit_post_copy = true; };\n");

    memset(&s, 0xa5, sizeof s);
    md_config_policy_settings(c, 6.5, &s);
    assert_int_equal(s.kind, POLICY_NOVA);
    assert_int_equal(s.downtime_ms, 1200);
    assert_int_equal(s.downtime_steps, 4);
    assert_int_equal(s.downtime_delay_s, 9);
    assert_int_equal(s.completion_timeout_s, 0);
    assert_int_equal(s.progress_timeout_s, 60);
    assert_int_equal(s.timeout_action, POLICY_TIMEOUT_FORCE_COMPLETE);
    assert_true(s.permit_post_copy);
    assert_true(s.data_gib == 6.5);
    md_config_free(c);
}

static void test_policy_settings_of_defaults_are_novas(void **state)
{
    policy_settings s;
    md_config *c = load_valid(*state, "");

    md_config_policy_settings(c, 2.0, &s);
    assert_int_equal(s.kind, POLICY_ADAPTIVE);
    assert_int_equal(s.downtime_ms, 500);
    assert_int_equal(s.downtime_steps, 10);
    assert_int_equal(s.downtime_delay_s, 75);
    assert_int_equal(s.completion_timeout_s, 800);
    assert_int_equal(s.progress_timeout_s, 150);
    assert_int_equal(s.timeout_action, POLICY_TIMEOUT_ABORT);
    assert_false(s.permit_post_copy);
    assert_true(s.data_gib == 2.0);
    md_config_free(c);
}

static void test_free_functions_accept_null(void **state)
{
    md_config_errors empty = MD_CONFIG_ERRORS_INIT;

    md_config_free(NULL);
    md_config_errors_free(NULL);
    md_config_errors_free(&empty);
    md_config_errors_print(NULL, stderr);
    assert_int_equal(empty.count, 0);
}

static void test_auth_strategy_names(void **state)
{
    assert_string_equal(md_config_auth_strategy_str(MD_AUTH_NOAUTH), "noauth");
    assert_string_equal(md_config_auth_strategy_str(MD_AUTH_KEYSTONE), "keystone");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_file_gives_every_default),
        cmocka_unit_test(test_empty_sections_give_every_default),
        cmocka_unit_test(test_defaults_function_equals_loading_an_empty_file),
        cmocka_unit_test(test_missing_file_is_not_found_and_named),
        cmocka_unit_test(test_directory_is_io_error),
        cmocka_unit_test(test_unreadable_file_is_io_error),
        cmocka_unit_test(test_syntax_error_names_file_and_line),
        cmocka_unit_test(test_duplicate_key_is_a_syntax_error),
        cmocka_unit_test(test_unknown_section_is_rejected),
        cmocka_unit_test(test_unknown_top_level_scalar_is_rejected),
        cmocka_unit_test(test_unknown_key_names_file_line_and_full_key),
        cmocka_unit_test(test_key_of_another_section_is_unknown),
        cmocka_unit_test(test_string_for_integer_is_rejected),
        cmocka_unit_test(test_float_for_integer_is_rejected),
        cmocka_unit_test(test_bool_for_integer_is_rejected),
        cmocka_unit_test(test_integer_for_bool_is_rejected),
        cmocka_unit_test(test_string_for_bool_is_rejected),
        cmocka_unit_test(test_integer_for_string_is_rejected),
        cmocka_unit_test(test_integer_for_enum_is_rejected),
        cmocka_unit_test(test_string_for_array_is_rejected),
        cmocka_unit_test(test_list_for_array_is_rejected),
        cmocka_unit_test(test_integer_in_roles_array_is_rejected),
        cmocka_unit_test(test_group_for_key_is_rejected),
        cmocka_unit_test(test_section_that_is_not_a_group_is_rejected),
        cmocka_unit_test(test_section_that_is_an_array_is_rejected),
        cmocka_unit_test(test_downtime_99_is_below_minimum),
        cmocka_unit_test(test_downtime_100_is_accepted),
        cmocka_unit_test(test_downtime_above_maximum_is_rejected),
        cmocka_unit_test(test_downtime_steps_2_is_below_minimum),
        cmocka_unit_test(test_downtime_steps_3_is_accepted),
        cmocka_unit_test(test_downtime_steps_above_policy_max_is_rejected),
        cmocka_unit_test(test_downtime_delay_2_is_below_minimum),
        cmocka_unit_test(test_downtime_delay_3_is_accepted),
        cmocka_unit_test(test_downtime_target_9_is_below_minimum),
        cmocka_unit_test(test_downtime_target_10_and_the_maximum_are_accepted),
        cmocka_unit_test(test_downtime_target_above_the_downtime_is_rejected_naming_both),
        cmocka_unit_test(test_downtime_target_may_rise_with_the_downtime),
        cmocka_unit_test(test_policy_settings_carry_the_target_and_auto_converge),
        cmocka_unit_test(test_completion_and_progress_timeout_0_mean_off_and_are_accepted),
        cmocka_unit_test(test_negative_completion_timeout_is_rejected),
        cmocka_unit_test(test_postcopy_stall_timeout_0_means_off_and_both_timeouts_are_read),
        cmocka_unit_test(test_postcopy_recovery_timeout_0_is_rejected_naming_its_minimum),
        cmocka_unit_test(test_keep_finished_days_is_read),
        cmocka_unit_test(test_connection_wait_timeout_0_means_no_wait_and_is_read),
        cmocka_unit_test(test_every_integer_accepts_its_limits_and_rejects_beyond),
        cmocka_unit_test(test_int64_literal_is_accepted),
        cmocka_unit_test(test_int64_beyond_int_is_range_checked_before_narrowing),
        cmocka_unit_test(test_timeout_action_force_complete_is_accepted),
        cmocka_unit_test(test_bad_timeout_action_is_rejected),
        cmocka_unit_test(test_policy_nova_is_accepted),
        cmocka_unit_test(test_policy_none_is_rejected),
        cmocka_unit_test(test_unknown_policy_is_rejected),
        cmocka_unit_test(test_log_levels_parse_and_bad_level_is_rejected),
        cmocka_unit_test(test_bad_auth_strategy_is_rejected),
        cmocka_unit_test(test_metrics_auth_names_are_parsed),
        cmocka_unit_test(test_bad_metrics_auth_is_rejected),
        cmocka_unit_test(test_keystone_auth_with_credentials_is_accepted),
        cmocka_unit_test(test_keystone_auth_without_password_is_rejected),
        cmocka_unit_test(test_listen_without_port_is_rejected),
        cmocka_unit_test(test_listen_port_0_is_rejected),
        cmocka_unit_test(test_listen_port_70000_is_rejected),
        cmocka_unit_test(test_listen_other_bad_shapes_are_rejected),
        cmocka_unit_test(test_listen_ipv6_in_brackets_is_accepted),
        cmocka_unit_test(test_listen_host_name_and_port_limits_are_accepted),
        cmocka_unit_test(test_auth_url_without_http_scheme_is_rejected),
        cmocka_unit_test(test_auth_url_https_is_accepted),
        cmocka_unit_test(test_scheme_with_other_characters_is_rejected),
        cmocka_unit_test(test_scheme_tls_is_accepted),
        cmocka_unit_test(test_empty_required_strings_are_rejected),
        cmocka_unit_test(test_string_length_limits),
        cmocka_unit_test(test_empty_roles_array_is_rejected),
        cmocka_unit_test(test_empty_role_name_is_rejected),
        cmocka_unit_test(test_role_name_length_limit),
        cmocka_unit_test(test_roles_count_limit),
        cmocka_unit_test(test_roles_are_read_in_order),
        cmocka_unit_test(test_hypervisor_is_libvirt_and_simulator_at_defaults_by_default),
        cmocka_unit_test(test_hypervisor_simulator_and_libvirt_are_accepted),
        cmocka_unit_test(test_unknown_hypervisor_is_rejected),
        cmocka_unit_test(test_hypervisor_names),
        cmocka_unit_test(test_time_scale_below_minimum_is_rejected),
        cmocka_unit_test(test_time_scale_fraction_is_accepted),
        cmocka_unit_test(test_time_scale_integer_is_accepted),
        cmocka_unit_test(test_time_scale_limits_and_type),
        cmocka_unit_test(test_two_simulated_domains_load_with_every_field),
        cmocka_unit_test(test_omitted_working_set_and_dirty_rate_default_to_0),
        cmocka_unit_test(test_domain_without_name_is_rejected),
        cmocka_unit_test(test_domain_name_length_limits),
        cmocka_unit_test(test_domain_without_uuid_is_rejected),
        cmocka_unit_test(test_domain_with_bad_uuid_is_rejected),
        cmocka_unit_test(test_domain_without_ram_is_rejected),
        cmocka_unit_test(test_domain_with_ram_0_is_rejected),
        cmocka_unit_test(test_domain_ram_limits_and_type),
        cmocka_unit_test(test_working_set_larger_than_ram_is_rejected),
        cmocka_unit_test(test_negative_dirty_rate_is_rejected),
        cmocka_unit_test(test_unknown_key_in_domain_is_rejected),
        cmocka_unit_test(test_domain_that_is_not_a_group_is_rejected),
        cmocka_unit_test(test_domains_as_array_or_group_is_rejected),
        cmocka_unit_test(test_duplicate_domain_name_is_rejected),
        cmocka_unit_test(test_duplicate_uuid_differing_only_in_case_is_rejected),
        cmocka_unit_test(test_duplicate_is_found_even_when_the_first_domain_has_other_errors),
        cmocka_unit_test(test_several_domain_errors_are_reported_together),
        cmocka_unit_test(test_domain_count_limit),
        cmocka_unit_test(test_every_error_of_a_file_is_reported_in_order),
        cmocka_unit_test(test_errors_are_counted_without_an_error_list),
        cmocka_unit_test(test_error_in_included_file_names_that_file),
        cmocka_unit_test(test_peers_of_the_design_are_read_in_order),
        cmocka_unit_test(test_peer_without_name_or_address_is_rejected),
        cmocka_unit_test(test_peer_names_and_addresses_that_would_break_a_uri_are_rejected),
        cmocka_unit_test(test_peer_name_length_limit),
        cmocka_unit_test(test_peer_unknown_key_and_bandwidth_limits),
        cmocka_unit_test(test_peer_names_are_unique_ignoring_case),
        cmocka_unit_test(test_peer_named_as_this_node_is_rejected),
        cmocka_unit_test(test_peers_must_be_a_non_empty_list_of_groups),
        cmocka_unit_test(test_peers_count_limit),
        cmocka_unit_test(test_shipped_sample_config_is_valid_and_all_defaults),
        cmocka_unit_test(test_every_value_is_read_from_the_file),
        cmocka_unit_test(test_role_classes_default_to_read_and_write),
        cmocka_unit_test(test_role_class_set_in_the_file_overrides_its_default),
        cmocka_unit_test(test_admin_scope_keys_are_read),
        cmocka_unit_test(test_policy_settings_map_the_libvirt_section),
        cmocka_unit_test(test_policy_settings_of_defaults_are_novas),
        cmocka_unit_test(test_free_functions_accept_null),
        cmocka_unit_test(test_auth_strategy_names),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
