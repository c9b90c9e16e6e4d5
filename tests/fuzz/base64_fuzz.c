/*
 * base64_fuzz.c - libFuzzer target for base64_decode() and base64_encode()
 * (SASL payloads, SCRAM salts and proofs, SPKI pins). Decodes the input with
 * a buffer of every size from 0 up to what it needs; the result must be the
 * same whatever the room (or -1 when short), and whatever decodes must
 * encode back to exactly the input (the decoder takes only canonical,
 * padded base64). Also encodes the raw input and decodes it back.
 * Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

#define B64F_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void b64f_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* The decoded form, with every output size: one answer, never past cap. */
static void b64f_decode(const char *in, size_t len)
{
	static unsigned char full[B64F_MAX], part[B64F_MAX + 1];
	static char back[BASE64_ENCODED_SIZE(B64F_MAX)];
	long n = base64_decode(in, len, full, sizeof(full));

	if (n < 0) {
		return;
	}
	b64f_assert((size_t)n <= len / 4 * 3);
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		memset(part, 0xa5, sizeof(part));
		long m = base64_decode(in, len, part, cap);
		b64f_assert(cap < (size_t)n ? m == -1 : m == n);
		b64f_assert(part[cap] == 0xa5);
	}
	b64f_assert(memcmp(part, full, (size_t)n) == 0);
	b64f_assert(base64_encode(full, (size_t)n, back, sizeof(back)) == (long)len);
	b64f_assert(memcmp(back, in, len) == 0);
}

static void b64f_roundtrip(const uint8_t *data, size_t size)
{
	static char enc[BASE64_ENCODED_SIZE(B64F_MAX)];
	static unsigned char dec[B64F_MAX];
	long n = base64_encode(data, size, enc, sizeof(enc));

	b64f_assert(n == (long)BASE64_ENCODED_SIZE(size) - 1 && enc[n] == '\0');
	b64f_assert(base64_encode(data, size, enc, (size_t)n) == -1);
	b64f_assert(base64_encode(data, size, enc, sizeof(enc)) == n);
	b64f_assert(base64_decode(enc, (size_t)n, dec, sizeof(dec)) == (long)size);
	b64f_assert(memcmp(dec, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > B64F_MAX) {
		return 0;
	}
	b64f_decode((const char *)data, size);
	b64f_roundtrip(data, size);
	return 0;
}
