/*
 * ctl_parse_fuzz.c - libFuzzer target for queue_ctl_cmd_parse(), the parser of
 * the queue control socket's request lines (SPOOL/public/showq takes them
 * from any local user). The input is one line (a NUL ends it early, as in
 * the queue's reader). Checks: an accepted request names a known verb, an ID
 * of 16 lowercase hex digits exactly when the verb takes one, and the line
 * put back together from what was parsed ("VERB[ ID][ json]") is the input
 * itself: nothing is ignored or guessed. Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue_ctl_int.h"

#define CPF_LINE_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cpf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static int cpf_takes_id(const char *verb)
{
	return strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0 || strcmp(verb, "hold") == 0 ||
	       strcmp(verb, "release") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[CPF_LINE_MAX + 1], copy[CPF_LINE_MAX + 1], again[2 * CPF_LINE_MAX];
	struct ctl_request r;
	const char *err = NULL;

	if (size > CPF_LINE_MAX) {
		return 0;
	}
	memcpy(line, data, size);
	line[size] = '\0';
	memcpy(copy, line, size + 1);
	if (queue_ctl_cmd_parse(line, &r, &err) < 0) {
		cpf_assert(err != NULL && err[0] != '\0');
		return 0;
	}
	cpf_assert(r.verb != NULL && (r.id != NULL) == cpf_takes_id(r.verb));
	if (r.id != NULL) {
		cpf_assert(strlen(r.id) == 16 && strspn(r.id, "0123456789abcdef") == 16);
	}
	int n = snprintf(again, sizeof(again), "%s%s%s%s", r.verb, r.id ? " " : "", r.id ? r.id : "",
			 r.json ? " json" : "");
	cpf_assert(n >= 0 && strcmp(again, copy) == 0);
	return 0;
}
