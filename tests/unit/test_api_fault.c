/* test_api_fault.c - the md_status -> HTTP code and Nova name map, fault bodies (api/fault.c).
 *
 * The expected codes and names are Nova's (nova/api/openstack/wsgi.py,
 * Fault._fault_names; DESIGN.md section 6), written out here once more on
 * purpose: the table in fault.c is checked against an independent copy.
 * Every fault is read back with json-c, as a client would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static const struct {
    md_status st;
    int http;
    const char *name;
} expected[] = {
    { MD_ERR_INVALID, 400, "badRequest" },
    { MD_ERR_NOT_FOUND, 404, "itemNotFound" },
    { MD_ERR_CONFLICT, 409, "conflictingRequest" },
    { MD_ERR_NOMEM, 500, "computeFault" },
    { MD_ERR_IO, 500, "computeFault" },
    { MD_ERR_HYPERVISOR, 500, "computeFault" },
    { MD_ERR_UNAVAILABLE, 503, "serviceUnavailable" },
    { MD_ERR_INTERNAL, 500, "computeFault" },
    { MD_ERR_UNAUTHORIZED, 401, "unauthorized" },
    { MD_ERR_FORBIDDEN, 403, "forbidden" },
    { MD_ERR_METHOD, 405, "badMethod" },
    { MD_ERR_NOT_ACCEPTABLE, 406, "notAcceptable" },
    { MD_ERR_TOO_LARGE, 413, "overLimit" },
    { MD_ERR_MEDIA_TYPE, 415, "badMediaType" },
    { MD_ERR_OVER_LIMIT, 429, "overLimit" },
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

/* A fault read back: its HTTP status, its one key, code and message. */
typedef struct fault {
    int status;
    char name[64];
    int64_t code;
    char *message; /* malloc */
} fault;

/* Parses resp as {"<name>": {"code": N, "message": "..."}} with nothing
 * else in either object, failing the test otherwise; clears resp. */
static fault read_fault(md_api_response *resp)
{
    fault f = { .status = resp->status };
    json_object *o, *inner = NULL, *code = NULL, *msg = NULL;

    assert_non_null(resp->body);
    o = json_tokener_parse(resp->body);
    if (!o || !json_object_is_type(o, json_type_object) || json_object_object_length(o) != 1)
        fail_msg("not a fault body: %s", resp->body);
    json_object_object_foreach(o, key, val) {
        snprintf(f.name, sizeof f.name, "%s", key);
        inner = val;
    }
    if (!json_object_is_type(inner, json_type_object) || json_object_object_length(inner) != 2 ||
        !json_object_object_get_ex(inner, "code", &code) ||
        !json_object_is_type(code, json_type_int) ||
        !json_object_object_get_ex(inner, "message", &msg) ||
        !json_object_is_type(msg, json_type_string))
        fail_msg("the fault is not {\"code\": int, \"message\": string}: %s", resp->body);
    f.code = json_object_get_int64(code);
    f.message = strdup(json_object_get_string(msg));
    assert_non_null(f.message);
    json_object_put(o);
    md_api_response_clear(resp);
    return f;
}

static void fault_free(fault *f)
{
    free(f->message);
}

/* The test's table must cover every status but MD_OK: a new status fails
 * here until its code and name are written down twice. */
static void expected_table_covers_every_status(void **state)
{
    bool seen[MD_STATUS_COUNT] = { false };

    (void)state;
    assert_int_equal(N_EXPECTED, MD_STATUS_COUNT - 1);
    for (size_t i = 0; i < N_EXPECTED; i++) {
        assert_true(expected[i].st > MD_OK && expected[i].st < MD_STATUS_COUNT);
        assert_false(seen[expected[i].st]);
        seen[expected[i].st] = true;
    }
}

static void every_status_maps_to_its_code_and_nova_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_EXPECTED; i++) {
        md_api_response resp = { 0 };

        assert_int_equal(md_api_status_http(expected[i].st), expected[i].http);
        md_api_fault(&resp, expected[i].st, "case %zu", i);
        fault f = read_fault(&resp);
        if (f.status != expected[i].http || f.code != expected[i].http ||
            strcmp(f.name, expected[i].name) != 0)
            fail_msg("%s: answered %d {\"%s\": {\"code\": %lld}}, want %d %s",
                     md_status_str(expected[i].st), f.status, f.name, (long long)f.code,
                     expected[i].http, expected[i].name);
        char want[32];
        snprintf(want, sizeof want, "case %zu", i);
        assert_string_equal(f.message, want);
        fault_free(&f);
    }
}

static void ok_is_200_and_no_fault(void **state)
{
    md_api_response resp = { 0 };

    (void)state;
    assert_int_equal(md_api_status_http(MD_OK), 200);
    /* A fault for success, or for no status at all, is a bug: a 500. */
    md_status bogus[] = { MD_OK, MD_STATUS_COUNT, (md_status)-1, (md_status)1000 };
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        md_api_fault(&resp, bogus[i], "bogus %zu", i);
        fault f = read_fault(&resp);
        assert_int_equal(f.status, 500);
        assert_int_equal(f.code, 500);
        assert_string_equal(f.name, "computeFault");
        fault_free(&f);
    }
    assert_int_equal(md_api_status_http(MD_STATUS_COUNT), 500);
}

/* Logs and the fallback message use md_status_str: each status has its
 * own phrase. */
static void every_status_has_its_own_phrase(void **state)
{
    (void)state;
    for (int i = 0; i < MD_STATUS_COUNT; i++) {
        const char *s = md_status_str((md_status)i);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        assert_string_not_equal(s, "unknown status");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(s, md_status_str((md_status)j));
    }
    assert_string_equal(md_status_str(MD_STATUS_COUNT), "unknown status");
}

static void fault_replaces_the_body_and_keeps_headers(void **state)
{
    md_api_response resp = { 0 };

    (void)state;
    md_api_response_header(&resp, "Allow", "GET, POST");
    md_api_fault(&resp, MD_ERR_INVALID, "first");
    md_api_fault(&resp, MD_ERR_METHOD, "Method %s is not allowed on %s", "PATCH", "/v1");
    assert_int_equal(resp.nheaders, 1);
    assert_string_equal(resp.headers[0].name, "Allow");
    assert_string_equal(resp.headers[0].value, "GET, POST");
    fault f = read_fault(&resp);
    assert_int_equal(f.status, 405);
    assert_string_equal(f.name, "badMethod");
    assert_string_equal(f.message, "Method PATCH is not allowed on /v1");
    fault_free(&f);
}

/* What a fault must escape comes back out unchanged: quotes, backslashes,
 * control characters, and a slash that is not written as "\/". */
static void fault_message_survives_json(void **state)
{
    md_api_response resp = { 0 };
    const char *text = "say \"no\" \\ to\ttabs\nand http://x/y";

    (void)state;
    md_api_fault(&resp, MD_ERR_INVALID, "%s", text);
    assert_null(strstr(resp.body, "\\/"));
    fault f = read_fault(&resp);
    assert_string_equal(f.message, text);
    fault_free(&f);
}

static void utf8_is_kept_and_broken_sequences_become_question_marks(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        /* Well formed: one to four bytes, the edges of each range. */
        { "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E",
          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E" },
        { "\xC2\x80\xDF\xBF", "\xC2\x80\xDF\xBF" },
        { "\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80", "\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80" },
        { "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF" },
        /* A lone continuation byte, bytes that never start a character. */
        { "a\x80z", "a?z" },
        { "\xFE\xFF", "??" },
        /* Overlong forms. */
        { "\xC0\xAF", "??" },
        { "\xC1\xBF", "??" },
        { "\xE0\x80\xAF", "???" },
        { "\xF0\x80\x80\xAF", "????" },
        /* UTF-16 surrogates, and past U+10FFFF. */
        { "\xED\xA0\x80", "???" },
        { "\xF4\x90\x80\x80", "????" },
        { "\xF5\x80\x80\x80", "????" },
        /* Cut short: by the end of the text, or by an ASCII byte. */
        { "end \xE2\x82", "end ??" },
        { "\xE2\x82x\xC3", "??x?" },
        /* Only the broken byte goes: the good character after it stays. */
        { "\xC3\xC3\xA9", "?\xC3\xA9" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        md_api_response resp = { 0 };
        md_api_fault(&resp, MD_ERR_INVALID, "%s", cases[i].in);
        fault f = read_fault(&resp);
        if (strcmp(f.message, cases[i].out) != 0)
            fail_msg("case %zu: message \"%s\", want \"%s\"", i, f.message, cases[i].out);
        fault_free(&f);
    }
}

/* A message longer than the fault keeps is cut; a character cut in two
 * becomes '?', so the body is still valid JSON text. */
static void long_message_is_cut_to_valid_utf8(void **state)
{
    char in[1100], want[1100];
    md_api_response resp = { 0 };

    (void)state;
    memset(in, 'a', 1022);
    memcpy(in + 1022, "\xC3\xA9tail", 7);
    memset(want, 'a', 1022);
    memcpy(want + 1022, "?", 2);
    md_api_fault(&resp, MD_ERR_INVALID, "%s", in);
    fault f = read_fault(&resp);
    assert_int_equal(strlen(f.message), 1023);
    assert_string_equal(f.message, want);
    fault_free(&f);
}

static void fault_err_passes_the_message_on(void **state)
{
    md_err err;
    md_api_response resp = { 0 };

    (void)state;
    /* As written where it was detected, '%' included: it is not a format. */
    md_status st = md_err_set(&err, MD_ERR_CONFLICT,
                              "cannot abort migration %s: it is in post-copy (100%% %%s)",
                              "66666666-6666-4666-8666-666666666666");
    md_api_fault_err(&resp, st, &err);
    fault f = read_fault(&resp);
    assert_int_equal(f.status, 409);
    assert_string_equal(f.name, "conflictingRequest");
    assert_string_equal(f.message, "cannot abort migration 66666666-6666-4666-8666-666666666666: "
                                   "it is in post-copy (100% %s)");
    fault_free(&f);

    /* The status decides the code, not the message. */
    md_err_set(&err, MD_ERR_UNAVAILABLE, "Keystone at http://ks:5000/v3 is unreachable");
    md_api_fault_err(&resp, MD_ERR_UNAVAILABLE, &err);
    f = read_fault(&resp);
    assert_int_equal(f.status, 503);
    assert_string_equal(f.name, "serviceUnavailable");
    assert_string_equal(f.message, "Keystone at http://ks:5000/v3 is unreachable");
    fault_free(&f);
}

static void fault_err_without_a_message_says_the_status(void **state)
{
    md_err err = { .msg = "" };
    md_api_response resp = { 0 };

    (void)state;
    md_api_fault_err(&resp, MD_ERR_IO, &err);
    fault f = read_fault(&resp);
    assert_int_equal(f.status, 500);
    assert_string_equal(f.name, "computeFault");
    assert_string_equal(f.message, md_status_str(MD_ERR_IO));
    fault_free(&f);

    md_api_fault_err(&resp, MD_ERR_NOT_FOUND, NULL);
    f = read_fault(&resp);
    assert_int_equal(f.status, 404);
    assert_string_equal(f.message, md_status_str(MD_ERR_NOT_FOUND));
    fault_free(&f);
}

static void reply_sets_status_and_body(void **state)
{
    md_api_response resp = { 0 };

    (void)state;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "href", json_object_new_string("http://h:1/v1/"));
    md_api_reply(&resp, 202, o);
    assert_int_equal(resp.status, 202);
    assert_string_equal(resp.body, "{\"href\":\"http://h:1/v1/\"}");

    /* No object: no body (a 202 without one, as Nova's actions answer). */
    md_api_reply(&resp, 202, NULL);
    assert_int_equal(resp.status, 202);
    assert_null(resp.body);
    md_api_response_clear(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expected_table_covers_every_status),
        cmocka_unit_test(every_status_maps_to_its_code_and_nova_name),
        cmocka_unit_test(ok_is_200_and_no_fault),
        cmocka_unit_test(every_status_has_its_own_phrase),
        cmocka_unit_test(fault_replaces_the_body_and_keeps_headers),
        cmocka_unit_test(fault_message_survives_json),
        cmocka_unit_test(utf8_is_kept_and_broken_sequences_become_question_marks),
        cmocka_unit_test(long_message_is_cut_to_valid_utf8),
        cmocka_unit_test(fault_err_passes_the_message_on),
        cmocka_unit_test(fault_err_without_a_message_says_the_status),
        cmocka_unit_test(reply_sets_status_and_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
