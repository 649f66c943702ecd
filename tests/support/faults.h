/* faults.h - Nova's fault names, written down once for every test.
 *
 * The tests check the API's fault bodies against Nova's own names
 * (nova/api/openstack/wsgi.py), kept here independently of api/fault.c so
 * that a wrong entry in the API's table fails a test instead of agreeing
 * with it. Plain C (no cmocka), so that the fuzzer shares it too.
 */
#ifndef MD_TEST_FAULTS_H
#define MD_TEST_FAULTS_H

/* Nova's fault name for an HTTP error status (400 -> "badRequest", ...),
 * or NULL for a status the API never gives as a fault. Static strings;
 * any thread. */
const char *md_test_fault_name(long status);

#endif /* MD_TEST_FAULTS_H */
