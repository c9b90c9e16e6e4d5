/*
 * harness.c - runs every registered unit test; exit status 1 if any failed.
 * A test fails when any of its CHECKs fails. Failures go to stdout; module
 * log lines (stderr) are hidden unless UNIT_VERBOSE is set.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define HARNESS_MAX_TESTS 512

static struct {
	const char *name;
	void (*fn)(void);
} harness_tests[HARNESS_MAX_TESTS];
static unsigned harness_ntests;
static unsigned harness_failures_in_test;

void harness_register(const char *name, void (*fn)(void))
{
	if (harness_ntests >= HARNESS_MAX_TESTS) {
		fprintf(stderr, "harness: too many tests\n");
		exit(2);
	}
	harness_tests[harness_ntests].name = name;
	harness_tests[harness_ntests++].fn = fn;
}

void harness_fail(const char *file, int line, const char *expr)
{
	printf("  FAIL %s:%d: %s\n", file, line, expr);
	harness_failures_in_test++;
}

void harness_fail_bytes(const char *file, int line, const char *what, const void *got, const void *want, size_t len)
{
	const unsigned char *g = got, *w = want;

	printf("  FAIL %s:%d: %s\n    got  ", file, line, what);
	for (size_t i = 0; i < len; i++) {
		printf("%02x", g[i]);
	}
	printf("\n    want ");
	for (size_t i = 0; i < len; i++) {
		printf("%02x", w[i]);
	}
	printf("\n");
	harness_failures_in_test++;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	/* Modules log expected errors; show them only with UNIT_VERBOSE=1. */
	log_init("unit", LOG_TO_STDERR);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("UNIT_VERBOSE") == NULL && freopen("/dev/null", "w", stderr) == NULL) {
		return 2;
	}
	for (unsigned i = 0; i < harness_ntests; i++) {
		if (only != NULL && strstr(harness_tests[i].name, only) == NULL) {
			continue;
		}
		harness_failures_in_test = 0;
		harness_tests[i].fn();
		if (harness_failures_in_test == 0) {
			passed++;
		} else {
			printf("FAILED %s\n", harness_tests[i].name);
			failed++;
		}
	}
	printf("unit: %u passed, %u failed\n", passed, failed);
	return failed != 0 || passed == 0;
}
