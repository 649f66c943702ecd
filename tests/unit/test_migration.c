/* test_migration.c - states, transitions and record helpers (service/migration.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "service/migration.h"

static void state_names_are_novas_and_round_trip(void **state)
{
    (void)state;
    const char *names[] = { "queued",
                            "preparing",
                            "running",
                            "running (post-copy)",
                            "running (post-copy recovering)",
                            "completed",
                            "cancelled",
                            "failed",
                            "error" };
    assert_int_equal(sizeof names / sizeof names[0], MD_MIG_NSTATES);
    for (int i = 0; i < MD_MIG_NSTATES; i++) {
        md_mig_state s;
        assert_string_equal(md_mig_state_str((md_mig_state)i), names[i]);
        assert_int_equal(md_mig_state_parse(names[i], &s), 0);
        assert_int_equal(s, i);
    }
    md_mig_state s;
    assert_int_equal(md_mig_state_parse("Running", &s), -1);
}

static void in_progress_includes_post_copy(void **state)
{
    (void)state;
    assert_true(md_mig_state_in_progress(MD_MIG_QUEUED));
    assert_true(md_mig_state_in_progress(MD_MIG_PREPARING));
    assert_true(md_mig_state_in_progress(MD_MIG_RUNNING));
    assert_true(md_mig_state_in_progress(MD_MIG_POSTCOPY));
    assert_true(md_mig_state_in_progress(MD_MIG_POSTCOPY_RECOVERING));
    assert_false(md_mig_state_in_progress(MD_MIG_COMPLETED));
    assert_false(md_mig_state_in_progress(MD_MIG_CANCELLED));
    assert_false(md_mig_state_in_progress(MD_MIG_FAILED));
    assert_false(md_mig_state_in_progress(MD_MIG_ERROR));
}

/* Issue 9 opened one door: error -> running (post-copy recovering), for an
 * operator's recover of a post-copy that libvirt still holds paused. */
static void final_states_have_no_way_out_but_error_to_recovering(void **state)
{
    (void)state;
    for (int from = MD_MIG_COMPLETED; from <= MD_MIG_ERROR; from++)
        for (int to = 0; to < MD_MIG_NSTATES; to++) {
            bool open = from == MD_MIG_ERROR && to == MD_MIG_POSTCOPY_RECOVERING;
            assert_int_equal(md_mig_transition_allowed((md_mig_state)from, (md_mig_state)to), open);
        }
}

/* Every transition into and out of recovering, and every one not allowed:
 * like post-copy, a recovering guest has left the source for good. */
static void recovering_is_entered_from_running_post_copy_and_error_only(void **state)
{
    (void)state;
    for (int s = 0; s < MD_MIG_NSTATES; s++) {
        bool in = s == MD_MIG_RUNNING || s == MD_MIG_POSTCOPY || s == MD_MIG_ERROR;
        bool out = s == MD_MIG_POSTCOPY || s == MD_MIG_COMPLETED || s == MD_MIG_ERROR;
        assert_int_equal(md_mig_transition_allowed((md_mig_state)s, MD_MIG_POSTCOPY_RECOVERING),
                         in);
        assert_int_equal(md_mig_transition_allowed(MD_MIG_POSTCOPY_RECOVERING, (md_mig_state)s),
                         out);
    }
}

static void illegal_transitions_are_refused(void **state)
{
    (void)state;
    /* Never backwards, never skipping the start, never "runs on the source"
     * after the guest has moved in post-copy. */
    assert_false(md_mig_transition_allowed(MD_MIG_RUNNING, MD_MIG_QUEUED));
    assert_false(md_mig_transition_allowed(MD_MIG_RUNNING, MD_MIG_PREPARING));
    assert_false(md_mig_transition_allowed(MD_MIG_QUEUED, MD_MIG_RUNNING));
    assert_false(md_mig_transition_allowed(MD_MIG_QUEUED, MD_MIG_COMPLETED));
    assert_false(md_mig_transition_allowed(MD_MIG_QUEUED, MD_MIG_POSTCOPY));
    assert_false(md_mig_transition_allowed(MD_MIG_POSTCOPY, MD_MIG_CANCELLED));
    assert_false(md_mig_transition_allowed(MD_MIG_POSTCOPY, MD_MIG_FAILED));
    assert_false(md_mig_transition_allowed(MD_MIG_POSTCOPY, MD_MIG_RUNNING));
    assert_false(md_mig_transition_allowed(MD_MIG_RUNNING, MD_MIG_RUNNING));
    assert_false(md_mig_transition_allowed((md_mig_state)99, MD_MIG_ERROR));
}

static void legal_transitions_are_allowed(void **state)
{
    (void)state;
    assert_true(md_mig_transition_allowed(MD_MIG_QUEUED, MD_MIG_PREPARING));
    assert_true(md_mig_transition_allowed(MD_MIG_QUEUED, MD_MIG_CANCELLED));
    assert_true(md_mig_transition_allowed(MD_MIG_PREPARING, MD_MIG_RUNNING));
    assert_true(md_mig_transition_allowed(MD_MIG_PREPARING, MD_MIG_FAILED));
    assert_true(md_mig_transition_allowed(MD_MIG_PREPARING, MD_MIG_QUEUED)); /* recovery only */
    assert_true(md_mig_transition_allowed(MD_MIG_RUNNING, MD_MIG_POSTCOPY));
    assert_true(md_mig_transition_allowed(MD_MIG_RUNNING, MD_MIG_COMPLETED));
    assert_true(md_mig_transition_allowed(MD_MIG_RUNNING, MD_MIG_CANCELLED));
    assert_true(md_mig_transition_allowed(MD_MIG_RUNNING, MD_MIG_FAILED));
    assert_true(md_mig_transition_allowed(MD_MIG_POSTCOPY, MD_MIG_COMPLETED));
    assert_true(md_mig_transition_allowed(MD_MIG_POSTCOPY, MD_MIG_ERROR));
    assert_true(md_mig_transition_allowed(MD_MIG_POSTCOPY, MD_MIG_POSTCOPY_RECOVERING));
    assert_true(md_mig_transition_allowed(MD_MIG_POSTCOPY_RECOVERING, MD_MIG_POSTCOPY));
}

static void command_kind_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = { "abort", "force_complete", "post_copy", "recover", "speed" };
    md_command_kind k;

    assert_int_equal(sizeof names / sizeof names[0], MD_CMD_NKINDS);
    for (int i = 0; i < MD_CMD_NKINDS; i++) {
        assert_string_equal(md_command_kind_str((md_command_kind)i), names[i]);
        assert_int_equal(md_command_kind_parse(names[i], &k), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(md_command_kind_str((md_command_kind)MD_CMD_NKINDS), "unknown");
    assert_int_equal(md_command_kind_parse("Abort", &k), -1);
    assert_int_equal(md_command_kind_parse("", &k), -1);
}

static void progress_never_goes_down_and_says_100_only_when_completed(void **state)
{
    (void)state;
    md_migration m;

    md_migration_init(&m);
    m.state = MD_MIG_RUNNING;
    m.memory_total_bytes = 1000;
    m.memory_remaining_bytes = 600;
    m.progress = md_migration_progress(&m);
    assert_int_equal(m.progress, 40);
    /* A new pass: remaining jumps up; progress holds. */
    m.memory_remaining_bytes = 900;
    m.progress = md_migration_progress(&m);
    assert_int_equal(m.progress, 40);
    m.memory_remaining_bytes = 0;
    assert_int_equal(md_migration_progress(&m), 99);
    /* Disk counts too: 500 of 1500 left. */
    m.disk_total_bytes = 500;
    m.disk_remaining_bytes = 500;
    m.progress = 0;
    assert_int_equal(md_migration_progress(&m), 66);
    m.state = MD_MIG_COMPLETED;
    assert_int_equal(md_migration_progress(&m), 100);
}

static void generated_uuids_are_valid_version_4_and_distinct(void **state)
{
    (void)state;
    char a[MD_UUID_LEN], b[MD_UUID_LEN];

    assert_true(md_uuid_generate(a));
    assert_true(md_uuid_generate(b));
    assert_true(md_uuid_valid(a));
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_string_not_equal(a, b);
    assert_false(md_uuid_valid("not-a-uuid"));
    assert_false(md_uuid_valid("1234567-1234-1234-1234-1234567890123"));
    assert_true(md_uuid_valid("6F9619FF-8B86-D011-B42D-00C04FC964FF"));
}

static void strlcpy_always_terminates(void **state)
{
    (void)state;
    char buf[4];

    assert_true(md_strlcpy(buf, "abc", sizeof buf));
    assert_string_equal(buf, "abc");
    assert_false(md_strlcpy(buf, "abcd", sizeof buf));
    assert_string_equal(buf, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_names_are_novas_and_round_trip),
        cmocka_unit_test(in_progress_includes_post_copy),
        cmocka_unit_test(final_states_have_no_way_out_but_error_to_recovering),
        cmocka_unit_test(recovering_is_entered_from_running_post_copy_and_error_only),
        cmocka_unit_test(command_kind_names_round_trip),
        cmocka_unit_test(illegal_transitions_are_refused),
        cmocka_unit_test(legal_transitions_are_allowed),
        cmocka_unit_test(progress_never_goes_down_and_says_100_only_when_completed),
        cmocka_unit_test(generated_uuids_are_valid_version_4_and_distinct),
        cmocka_unit_test(strlcpy_always_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
