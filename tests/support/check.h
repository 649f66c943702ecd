/* check.h - what every kind of test shares: time, JSON access that fails the test, Nova faults.
 *
 * The in-process API tests (tests/support/fixture.h) and the tests that
 * talk to a migrationd process over HTTP (tests/support/http.h) read the
 * same answers: JSON bodies, and for every error a Nova fault
 * {"<name>": {"code": <status>, "message": "..."}}. The expected fault names
 * are written here once, from Nova (nova/api/openstack/wsgi.py), not taken
 * from api/fault.c, so that the tests stay an independent oracle.
 *
 * Functions that "fail the test" do so with cmocka's fail_msg(), so they
 * may only be called on a test's thread (or in a cmocka setup/teardown).
 * The others are thread-safe. Needs json-c and cmocka; no project code.
 */
#ifndef MD_TEST_CHECK_H
#define MD_TEST_CHECK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/support/faults.h"

/* CLOCK_MONOTONIC in milliseconds, for bounding waits. Any thread. */
int64_t md_test_now_ms(void);

/* Sleeps ms milliseconds (blocks). Any thread. */
void md_test_sleep_ms(int ms);

/* The value of key in object o (borrowed from o; NULL for a JSON null).
 * Fails the test when o has no such key, naming the key and o. */
json_object *md_test_json_get(json_object *o, const char *key);

/* The string, integer or boolean at key in o (a string borrowed from o).
 * Fails the test when the key is absent or of another type. */
const char *md_test_json_str(json_object *o, const char *key);
int64_t md_test_json_int(json_object *o, const char *key);
bool md_test_json_bool(json_object *o, const char *key);

/* Whether the value at key in o is a JSON null. Fails the test when the
 * key is absent: a field that should be there is never taken for null. */
bool md_test_json_is_null(json_object *o, const char *key);

/* Fails the test unless body is exactly one Nova fault: an object with the
 * single key md_test_fault_name(status), holding an object whose "code" is
 * the integer status and whose "message" is a non-empty string. what names
 * the request in the failure message; text is the raw body (or NULL). */
void md_test_check_fault(const char *what, long status, json_object *body, const char *text);

/* The message of the fault in body for status (borrowed from body). Fails
 * the test when there is none. */
const char *md_test_fault_message(json_object *body, long status);

#endif /* MD_TEST_CHECK_H */
