/* test_log.c - the logger's escaping of control characters (service/log.c).
 *
 * Values that come from API callers (an instance name, a destination) are
 * formatted into log lines; a newline in one must not start a forged line
 * of its own, and an escape sequence must not drive the operator's
 * terminal. md_log_escape() is tested on its own, and md_log() through a
 * pipe that stands in for stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/log.h"

static const char *escape(const char *in, size_t len, char *out, size_t outsize)
{
    size_t n = md_log_escape(in, len, out, outsize);
    assert_int_equal(n, strlen(out));
    return out;
}

static void test_plain_text_is_copied(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(escape("vm-1 to node-b", 14, out, sizeof out), "vm-1 to node-b");
    /* UTF-8 and backslashes are not control characters. */
    assert_string_equal(escape("gäst \\n", 8, out, sizeof out), "gäst \\n");
}

static void test_newline_and_carriage_return_are_escaped(void **state)
{
    char out[128];
    const char *forged = "vm\n2026-01-01T00:00:00.000Z ERROR forged\r";

    (void)state;
    escape(forged, strlen(forged), out, sizeof out);
    assert_string_equal(out, "vm\\n2026-01-01T00:00:00.000Z ERROR forged\\r");
    assert_null(strchr(out, '\n'));
    assert_null(strchr(out, '\r'));
}

static void test_every_other_control_byte_is_hex(void **state)
{
    char in[34], out[256], want[16];

    (void)state;
    for (int c = 0; c < 0x20; c++)
        in[c] = (char)c;
    in[32] = 0x7f;
    in[33] = 'x';
    escape(in, sizeof in, out, sizeof out);
    for (size_t i = 0; out[i]; i++)
        assert_true((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] != 0x7f);
    /* NUL, ESC and DEL as \xHH; tab as \t. */
    assert_memory_equal(out, "\\x00\\x01", 8);
    snprintf(want, sizeof want, "\\t");
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "\\x1b"));
    assert_non_null(strstr(out, "\\x1f\\x7fx"));
}

static void test_output_is_cut_between_escapes(void **state)
{
    char out[6];

    (void)state;
    /* "ab\n" needs 4 bytes + NUL; "ab\x1b" needs 6 + NUL: the escape goes. */
    assert_string_equal(escape("ab\ncd", 5, out, sizeof out), "ab\\nc");
    assert_string_equal(escape("ab\x1b", 3, out, sizeof out), "ab");
    assert_string_equal(escape("abcdefgh", 8, out, 1), "");
}

/* md_log() with fd 2 on a pipe: one line, whatever the arguments hold. */
static void test_log_line_cannot_be_forged(void **state)
{
    int p[2];
    char buf[4096];

    (void)state;
    assert_int_equal(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
    unsetenv("JOURNAL_STREAM");
    md_log_init(MD_LOG_INFO);
    md_info("migration of instance %s to %s", "vm\nFAKE ERROR root logged in", "node-b\x1b[2J");
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    /* Exactly one newline, the last byte. */
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
    assert_null(strchr(buf, '\x1b'));
    assert_non_null(strstr(buf, " INFO migration of instance vm\\nFAKE ERROR root logged in to "
                                "node-b\\x1b[2J\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_is_copied),
        cmocka_unit_test(test_newline_and_carriage_return_are_escaped),
        cmocka_unit_test(test_every_other_control_byte_is_hex),
        cmocka_unit_test(test_output_is_cut_between_escapes),
        cmocka_unit_test(test_log_line_cannot_be_forged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
