/* fuzz_api.c - libFuzzer target: any bytes, framed as one request (tests/fuzz/harness.h),
 * through md_api_handle() of the real in-process stack.
 *
 * Aborts - which libFuzzer reports as a crash and saves as crash-* - when a
 * response breaks the rules of harness.h: a status the API must never give
 * (any 5xx included), a fault that is not a well-formed Nova fault with the
 * right code and a message, or a 2xx body that is not valid JSON. ASan and
 * UBSan catch the rest. Built only with -DMIGRATIOND_FUZZ=ON (clang); run by
 * tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fz_stack *stack;

/* libFuzzer ends a run that found nothing with exit(): stop the stack and
 * remove its temporary directory then. */
static void stack_down(void)
{
    fz_stack_free(stack);
    stack = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    stack = fz_stack_new();
    if (!stack) {
        fprintf(stderr, "fuzz_api: cannot build the in-process stack\n");
        abort();
    }
    atexit(stack_down);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[1024];
    int status;

    if (!fz_run(stack, data, size, &status, why, sizeof why)) {
        fprintf(stderr, "fuzz_api: VIOLATION (status %d): %s\n", status, why);
        abort();
    }
    return 0;
}
