/* check.c - what every kind of test shares: time, JSON access that fails the test, Nova faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/check.h"

#include <time.h>

int64_t md_test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void md_test_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

json_object *md_test_json_get(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no key \"%s\" in %s", key, json_object_to_json_string(o));
    return v;
}

const char *md_test_json_str(json_object *o, const char *key)
{
    json_object *v = md_test_json_get(o, key);

    if (!json_object_is_type(v, json_type_string))
        fail_msg("\"%s\" is not a string in %s", key, json_object_to_json_string(o));
    return json_object_get_string(v);
}

int64_t md_test_json_int(json_object *o, const char *key)
{
    json_object *v = md_test_json_get(o, key);

    if (!json_object_is_type(v, json_type_int))
        fail_msg("\"%s\" is not an integer in %s", key, json_object_to_json_string(o));
    return json_object_get_int64(v);
}

bool md_test_json_is_null(json_object *o, const char *key)
{
    return md_test_json_get(o, key) == NULL;
}

bool md_test_json_bool(json_object *o, const char *key)
{
    json_object *v = md_test_json_get(o, key);

    if (!json_object_is_type(v, json_type_boolean))
        fail_msg("\"%s\" is not a boolean in %s", key, json_object_to_json_string(o));
    return json_object_get_boolean(v);
}

void md_test_check_fault(const char *what, long status, json_object *body, const char *text)
{
    const char *name = md_test_fault_name(status);
    json_object *inner = NULL, *code = NULL, *msg = NULL;

    if (!name || !json_object_is_type(body, json_type_object) ||
        json_object_object_length(body) != 1 || !json_object_object_get_ex(body, name, &inner) ||
        !json_object_is_type(inner, json_type_object) ||
        !json_object_object_get_ex(inner, "code", &code) ||
        !json_object_is_type(code, json_type_int) || json_object_get_int64(code) != status ||
        !json_object_object_get_ex(inner, "message", &msg) ||
        !json_object_is_type(msg, json_type_string) || json_object_get_string_len(msg) == 0)
        fail_msg("%s: %ld is not a Nova %s fault: %s", what, status, name ? name : "?",
                 text ? text : "(no body)");
}

const char *md_test_fault_message(json_object *body, long status)
{
    const char *name = md_test_fault_name(status);

    if (!name)
        fail_msg("status %ld has no Nova fault: %s", status, json_object_to_json_string(body));
    return md_test_json_str(md_test_json_get(body, name), "message");
}
