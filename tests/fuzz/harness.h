/* harness.h - the API request fuzzer's framing, in-process stack and response checks.
 *
 * Shared by the libFuzzer target (tests/fuzz/fuzz_api.c) and the cmocka test
 * that replays its regression files (tests/unit/test_api_fuzz_regressions.c),
 * so that a crashing input means the same request in both.
 *
 * FRAMING. One input is one request, as text lines:
 *
 *   METHOD\n
 *   PATH\n                          decoded path, as libmicrohttpd hands it over
 *   QUERY\n                         k=v&k2&k3=... (split on '&', then the first '=';
 *                                   no percent-decoding: the values are the
 *                                   server's decoded strings; a key without '='
 *                                   gets ""; past 32 pairs: too_many_params)
 *   X-Auth-Token\n                  each header: an empty line = absent
 *   Content-Type\n
 *   X-OpenStack-Nova-API-Version\n
 *   OpenStack-API-Version\n
 *   BODY                            every byte after the 7th newline; none = no
 *                                   body; over api.max_body_bytes (1024 here) =
 *                                   body_too_large, as api/http.c does
 *
 * Missing lines are empty. Every line field ends at its first NUL byte (the
 * server only ever passes C strings). In the path, query and body, "@M" is
 * replaced by the UUID of the last migration the harness saw created (so
 * that inputs can reach existing records), "@D" by that of the last drain
 * (POST /v1/drains), and "@I" by the UUID of the simulated domain vm-a.
 *
 * THE STACK is the daemon's own, in-process: the shared test stack
 * (tests/support/stack.h, built by the daemon's composition root) with the
 * hypervisor simulator and a few domains, a store in a fresh temporary
 * directory, the simulator's clock stopped, max_concurrent_live_migrations
 * 1 and the request handler without auth. Simulated
 * time only moves when the harness moves it (a little after every few
 * requests), so records go through every state. After many creations the
 * stack is rebuilt on a fresh database, to keep lists short.
 *
 * THE CHECKS on every response: the status is one the API may give for
 * some input (200, 202, 400, 404, 405, 406, 409, 413, 415) - never a 5xx;
 * every 4xx body is strict, valid UTF-8 JSON of exactly one key, Nova's
 * fault name for that status, whose value has an integer "code" equal to
 * the status and a non-empty string "message"; a 405 has an Allow header;
 * a 2xx body, when there is one, is strict, valid UTF-8 JSON (an object),
 * except GET /metrics's, which must say it is Prometheus's text format and
 * end with a line feed (no fault is ever anything but JSON).
 */
#ifndef MD_FUZZ_HARNESS_H
#define MD_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fz_stack fz_stack;

/* Builds the stack; NULL (with a message on stderr) when it cannot. */
fz_stack *fz_stack_new(void);

/* Stops everything and removes the temporary directory. Accepts NULL. */
void fz_stack_free(fz_stack *s);

/* Runs one framed input through md_api_handle() and checks the response.
 * Returns true when it is fine; false with why[] saying what is wrong
 * (and the response status in *status when status is not NULL). */
bool fz_run(fz_stack *s, const uint8_t *data, size_t size, int *status, char *why, size_t whylen);

#endif /* MD_FUZZ_HARNESS_H */
