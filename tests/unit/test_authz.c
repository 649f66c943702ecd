/* test_authz.c - who may do what (api/authz.c): the admin scope and the action classes' roles.
 *
 * Tokens are described by hand as md_auth_result, as api/auth.c fills them
 * from Keystone's GET /v3/auth/tokens: project-scoped (id, name, domain),
 * system-scoped, domain-scoped (neither) or unscoped, with their roles as
 * Keystone expands them (admin implies member implies reader). The
 * configuration starts from md_config_defaults(), which are Nova's: an
 * admin on the admin project "admin" of domain "Default", or a system
 * admin, for every action.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/authz.h"

static const md_authz_action all_actions[] = { MD_AUTHZ_LIST, MD_AUTHZ_CREATE, MD_AUTHZ_UPDATE,
                                               MD_AUTHZ_ABORT };
#define N_ACTIONS (sizeof all_actions / sizeof all_actions[0])

static md_config *defaults(void)
{
    md_config *c = calloc(1, sizeof *c);
    assert_non_null(c);
    md_config_defaults(c);
    return c;
}

/* A token scoped to project name (id "id-" name) of domain dom, with the
 * roles given as "a,b,c". */
static md_auth_result project_token(const char *name, const char *dom, const char *roles)
{
    md_auth_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.user_id, sizeof r.user_id, "u1");
    snprintf(r.project_id, sizeof r.project_id, "id-%s", name);
    snprintf(r.project_name, sizeof r.project_name, "%s", name);
    snprintf(r.project_domain_id, sizeof r.project_domain_id, "%s",
             strcmp(dom, "Default") == 0 ? "default" : dom);
    snprintf(r.project_domain_name, sizeof r.project_domain_name, "%s", dom);
    for (const char *p = roles; *p && r.nroles < MD_AUTH_MAX_ROLES;) {
        size_t n = strcspn(p, ",");
        snprintf(r.roles[r.nroles++], sizeof r.roles[0], "%.*s", (int)n, p);
        p += n + (p[n] == ',');
    }
    return r;
}

static md_auth_result system_token(const char *roles)
{
    md_auth_result r = project_token("x", "Default", roles);
    memset(r.project_id, 0, sizeof r.project_id);
    memset(r.project_name, 0, sizeof r.project_name);
    memset(r.project_domain_id, 0, sizeof r.project_domain_id);
    memset(r.project_domain_name, 0, sizeof r.project_domain_name);
    r.system_all = true;
    return r;
}

static void expect_all(const md_config *c, const md_auth_result *r, md_authz_verdict v)
{
    for (size_t i = 0; i < N_ACTIONS; i++)
        assert_int_equal(md_authz_check(c, r, all_actions[i]), v);
}

static void test_admin_of_the_admin_project_may_do_everything(void **state)
{
    (void)state;
    md_config *c = defaults();
    md_auth_result r = project_token("admin", "Default", "admin,member,reader");
    expect_all(c, &r, MD_AUTHZ_ALLOWED);
    /* Role names are compared without regard to case, as Keystone does. */
    r = project_token("admin", "Default", "Admin");
    expect_all(c, &r, MD_AUTHZ_ALLOWED);
    free(c);
}

static void test_member_of_any_project_gets_nothing(void **state)
{
    (void)state;
    md_config *c = defaults();
    md_auth_result member = project_token("demo", "Default", "member,reader");
    expect_all(c, &member, MD_AUTHZ_WRONG_SCOPE);
    /* Not even on the admin project: reading needs admin too (Nova). */
    md_auth_result admin_member = project_token("admin", "Default", "member,reader");
    expect_all(c, &admin_member, MD_AUTHZ_NO_ROLE);
    free(c);
}

static void test_admin_of_another_project_is_not_an_admin(void **state)
{
    (void)state;
    md_config *c = defaults();
    md_auth_result r = project_token("demo", "Default", "admin,member,reader");
    expect_all(c, &r, MD_AUTHZ_WRONG_SCOPE);
    /* A project named "admin" in another domain is another project. */
    r = project_token("admin", "tenant-domain", "admin");
    expect_all(c, &r, MD_AUTHZ_WRONG_SCOPE);
    /* Names are compared exactly. */
    r = project_token("Admin", "Default", "admin");
    expect_all(c, &r, MD_AUTHZ_WRONG_SCOPE);
    free(c);
}

static void test_system_scope_is_an_admin_scope_unless_disabled(void **state)
{
    (void)state;
    md_config *c = defaults();
    md_auth_result r = system_token("admin,member,reader");
    expect_all(c, &r, MD_AUTHZ_ALLOWED);
    md_auth_result reader = system_token("reader");
    expect_all(c, &reader, MD_AUTHZ_NO_ROLE);
    c->roles.allow_system_scope = false;
    expect_all(c, &r, MD_AUTHZ_WRONG_SCOPE);
    free(c);
}

static void test_domain_scoped_and_unscoped_tokens_get_nothing(void **state)
{
    (void)state;
    md_config *c = defaults();
    md_auth_result r = system_token("admin");
    r.system_all = false; /* no project, no system: a domain or no scope */
    expect_all(c, &r, MD_AUTHZ_WRONG_SCOPE);
    /* Even with "any project" configured. */
    c->roles.admin_project_name[0] = '\0';
    expect_all(c, &r, MD_AUTHZ_WRONG_SCOPE);
    free(c);
}

static void test_admin_project_by_id_ignores_the_name(void **state)
{
    (void)state;
    md_config *c = defaults();
    snprintf(c->roles.admin_project_id, sizeof c->roles.admin_project_id, "id-ops");
    md_auth_result ops = project_token("ops", "Default", "admin");
    expect_all(c, &ops, MD_AUTHZ_ALLOWED);
    md_auth_result named_admin = project_token("admin", "Default", "admin");
    expect_all(c, &named_admin, MD_AUTHZ_WRONG_SCOPE);
    free(c);
}

static void test_empty_admin_project_accepts_any_project(void **state)
{
    (void)state;
    md_config *c = defaults();
    c->roles.admin_project_name[0] = '\0';
    md_auth_result r = project_token("demo", "Default", "admin");
    expect_all(c, &r, MD_AUTHZ_ALLOWED);
    r = project_token("demo", "Default", "member,reader");
    expect_all(c, &r, MD_AUTHZ_NO_ROLE);
    free(c);
}

/* Each class has its own roles: here a reader of the admin project may
 * list, an operator may also create and steer, only admin may abort. */
static void test_each_action_class_has_its_own_roles(void **state)
{
    (void)state;
    md_config *c = defaults();
    c->roles.list = (md_config_roles){ .count = 3, .names = { "reader", "operator", "admin" } };
    c->roles.create = (md_config_roles){ .count = 2, .names = { "operator", "admin" } };
    c->roles.update = c->roles.create;
    c->roles.abort = (md_config_roles){ .count = 1, .names = { "admin" } };

    md_auth_result reader = project_token("admin", "Default", "reader");
    assert_int_equal(md_authz_check(c, &reader, MD_AUTHZ_LIST), MD_AUTHZ_ALLOWED);
    assert_int_equal(md_authz_check(c, &reader, MD_AUTHZ_CREATE), MD_AUTHZ_NO_ROLE);
    assert_int_equal(md_authz_check(c, &reader, MD_AUTHZ_ABORT), MD_AUTHZ_NO_ROLE);
    md_auth_result op = project_token("admin", "Default", "operator");
    assert_int_equal(md_authz_check(c, &op, MD_AUTHZ_LIST), MD_AUTHZ_ALLOWED);
    assert_int_equal(md_authz_check(c, &op, MD_AUTHZ_CREATE), MD_AUTHZ_ALLOWED);
    assert_int_equal(md_authz_check(c, &op, MD_AUTHZ_UPDATE), MD_AUTHZ_ALLOWED);
    assert_int_equal(md_authz_check(c, &op, MD_AUTHZ_ABORT), MD_AUTHZ_NO_ROLE);
    /* The scope still comes first. */
    md_auth_result elsewhere = project_token("demo", "Default", "operator");
    assert_int_equal(md_authz_check(c, &elsewhere, MD_AUTHZ_LIST), MD_AUTHZ_WRONG_SCOPE);
    free(c);
}

static void test_null_is_refused_and_keys_are_named(void **state)
{
    (void)state;
    md_config *c = defaults();
    md_auth_result r = project_token("admin", "Default", "admin");
    assert_int_equal(md_authz_check(NULL, &r, MD_AUTHZ_LIST), MD_AUTHZ_WRONG_SCOPE);
    assert_int_equal(md_authz_check(c, NULL, MD_AUTHZ_LIST), MD_AUTHZ_WRONG_SCOPE);
    assert_string_equal(md_authz_action_key(MD_AUTHZ_LIST), "roles.list");
    assert_string_equal(md_authz_action_key(MD_AUTHZ_CREATE), "roles.create");
    assert_string_equal(md_authz_action_key(MD_AUTHZ_UPDATE), "roles.update");
    assert_string_equal(md_authz_action_key(MD_AUTHZ_ABORT), "roles.abort");
    assert_ptr_equal(md_authz_roles(c, MD_AUTHZ_ABORT), &c->roles.abort);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_of_the_admin_project_may_do_everything),
        cmocka_unit_test(test_member_of_any_project_gets_nothing),
        cmocka_unit_test(test_admin_of_another_project_is_not_an_admin),
        cmocka_unit_test(test_system_scope_is_an_admin_scope_unless_disabled),
        cmocka_unit_test(test_domain_scoped_and_unscoped_tokens_get_nothing),
        cmocka_unit_test(test_admin_project_by_id_ignores_the_name),
        cmocka_unit_test(test_empty_admin_project_accepts_any_project),
        cmocka_unit_test(test_each_action_class_has_its_own_roles),
        cmocka_unit_test(test_null_is_refused_and_keys_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
