/*
 * http_resp_fuzz.c - libFuzzer target for the token endpoint's reply parser
 * (http_resp.c). The input is fed whole, then again in pieces whose sizes
 * come from its first byte: the outcome (result, status, body) must be the
 * same however the bytes arrive; the body never passes its buffer (a guard
 * byte after it stays), and a DONE reply used no more bytes than it had.
 * Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_resp.h"

#define HRF_CAP 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hrf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static int hrf_run(const uint8_t *data, size_t size, size_t step, struct http_resp *r, char *body)
{
	size_t off = 0;
	int res = HTTP_RESP_MORE;

	memset(body, 0x5a, HRF_CAP + 1);
	http_resp_init(r, body, HRF_CAP);
	while (off < size && res == HTTP_RESP_MORE) {
		size_t n = size - off < step ? size - off : step;
		size_t used;

		res = http_resp_feed(r, (const char *)data + off, n, &used);
		hrf_assert(used <= n);
		hrf_assert(res != HTTP_RESP_MORE || used == n);
		off += used;
	}
	if (res == HTTP_RESP_MORE) {
		res = http_resp_eof(r);
	}
	hrf_assert(res != HTTP_RESP_MORE);
	hrf_assert(r->body_len <= HRF_CAP && (unsigned char)body[HRF_CAP] == 0x5a);
	hrf_assert(http_resp_eof(r) == res); /* sticky either way */
	return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char body_a[HRF_CAP + 1], body_b[HRF_CAP + 1];
	struct http_resp a, b;

	if (size < 1) {
		return 0;
	}
	size_t step = (size_t)(data[0] % 17) + 1;
	int ra = hrf_run(data + 1, size - 1, size, &a, body_a);
	int rb = hrf_run(data + 1, size - 1, step, &b, body_b);

	hrf_assert(ra == rb);
	if (ra == HTTP_RESP_DONE) {
		hrf_assert(a.status == b.status && a.status >= 200 && a.status <= 599);
		hrf_assert(a.body_len == b.body_len && memcmp(body_a, body_b, a.body_len) == 0);
	}
	hrf_assert(http_resp_strerror(ra) != NULL);
	http_resp_wipe(&a);
	http_resp_wipe(&b);
	return 0;
}
