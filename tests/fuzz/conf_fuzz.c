/*
 * conf_fuzz.c - libFuzzer target for the runtime configuration parser
 * (conf_parse_buffer: lines, keys, every value parser and the cross-key
 * rules). An operator's typo must give an error naming the line, never a
 * crash. Checks: the result is -1 exactly when errors were counted, and the
 * first error is a NUL-terminated string; a configuration that parses is
 * printed as `subgate config` does, and that text must parse again and print
 * the same (the printed settings are a valid file that means the same).
 * The parser's error lines go to standard error, which is pointed at
 * /dev/null around each call (a crash's input is still saved by libFuzzer).
 * Built by tests/fuzz/run.sh.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define CFF_PRINT_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cff_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static int cff_parse(struct conf *c, const char *text, size_t len)
{
	static int devnull = -1, saved = -1;

	if (devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		saved = dup(2);
		cff_assert(devnull >= 0 && saved >= 0);
	}
	dup2(devnull, 2);
	int rc = conf_parse_buffer(c, "/etc/subgate/subgate.conf", text, len);
	dup2(saved, 2);
	cff_assert((rc == 0) == (c->nerrors == 0));
	cff_assert(memchr(c->first_error, '\0', sizeof(c->first_error)) != NULL);
	return rc;
}

/* Prints c into out (NUL-terminated); returns the length. */
static size_t cff_print(const struct conf *c, char *out, size_t cap)
{
	FILE *f = fmemopen(out, cap, "w");

	cff_assert(f != NULL);
	conf_print(c, f);
	cff_assert(!ferror(f));
	long n = ftell(f);
	fclose(f);
	cff_assert(n >= 0 && (size_t)n < cap - 1);
	out[n] = '\0';
	return (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c, again;
	static char printed[CFF_PRINT_MAX], reprinted[CFF_PRINT_MAX];

	if (cff_parse(&c, (const char *)data, size) < 0) {
		return 0;
	}
	size_t n = cff_print(&c, printed, sizeof(printed));
	cff_assert(cff_parse(&again, printed, n) == 0);
	size_t m = cff_print(&again, reprinted, sizeof(reprinted));
	cff_assert(m == n && memcmp(printed, reprinted, n) == 0);
	return 0;
}
