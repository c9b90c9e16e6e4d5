/*
 * smtp_sasl_fuzz.c - libFuzzer target for what a smarthost's refusal of an
 * OAuth2 login carries: the input is given to smtp_sasl_json_string() as
 * JSON (for "status", and for a key taken from its first bytes), to
 * smtp_sasl_challenge() as a 334 challenge's base64 text. Besides the
 * sanitizers it checks:
 * every value NUL-terminated within its buffer, printable ASCII only, a
 * result of -1, 0 or 1, and a value found only when the scan said so.
 * Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_sasl.h"

#define SSF_INPUT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ssf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static void ssf_printable(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	ssf_assert(nul != NULL);
	for (const char *p = s; p < nul; p++) {
		ssf_assert(*p >= 0x20 && *p < 0x7f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	char out[24], key[8];
	struct smtp_sasl_error e;
	int rc;

	if (size > SSF_INPUT_MAX) {
		return 0;
	}
	rc = smtp_sasl_json_string(json, size, "status", out, sizeof(out));
	ssf_assert(rc >= -1 && rc <= 1);
	ssf_printable(out, sizeof(out));
	ssf_assert(rc == 1 || out[0] == '\0' || rc == -1);
	memcpy(key, json, size < sizeof(key) - 1 ? size : sizeof(key) - 1);
	key[size < sizeof(key) - 1 ? size : sizeof(key) - 1] = '\0';
	rc = smtp_sasl_json_string(json, size, key, out, 1);
	ssf_assert(rc >= -1 && rc <= 1 && out[0] == '\0');
	rc = smtp_sasl_challenge(json, size, &e);
	ssf_assert(rc == 0 || rc == -1);
	ssf_printable(e.status, sizeof(e.status));
	ssf_printable(e.schemes, sizeof(e.schemes));
	ssf_printable(e.scope, sizeof(e.scope));
	return 0;
}
