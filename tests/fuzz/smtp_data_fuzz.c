/*
 * smtp_data_fuzz.c - libFuzzer target for the DATA stream filter. The input
 * is the byte stream a client sends after DATA. It is fed twice: in one call
 * with a large output buffer, and split in two at a point derived from its
 * first byte with an output buffer of 1..5 bytes. Both runs must agree on
 * every byte, event and flag; END may only follow "\r\n.\r\n" (or ".\r\n" as
 * the whole message); HEADERS_END comes at most once and before END; the
 * output never holds a bare CR or LF; and a completed message, dot-stuffed
 * again, must come back unchanged. Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

#define SDF_IN_MAX   65536
#define SDF_OUT_MAX  (2 * SDF_IN_MAX + 8)
#define SDF_MAX_LINE 78

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sdf_run {
	char out[SDF_OUT_MAX];
	size_t out_len;
	size_t headers_end_at; /* output offset of HEADERS_END */
	unsigned headers_end;
	enum smtp_data_event event; /* the event that stopped the run (MORE: input ran out) */
	size_t consumed;
	struct smtp_data d;
};

static void sdf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* One call; returns its event and appends its output. */
static enum smtp_data_event sdf_call(struct sdf_run *r, const char *in, size_t len, size_t cap, size_t *used)
{
	static char tmp[SDF_OUT_MAX];
	size_t made = 0;
	enum smtp_data_event ev;

	sdf_assert(cap <= sizeof(tmp));
	ev = smtp_data_feed(&r->d, in, len, used, tmp, cap, &made);
	sdf_assert(*used <= len && made <= cap && r->out_len + made <= sizeof(r->out));
	sdf_assert(*used > 0 || made > 0 || ev != SMTP_DATA_MORE || len == 0);
	memcpy(r->out + r->out_len, tmp, made);
	r->out_len += made;
	return ev;
}

/* Feeds in[0..split) then in[split..len) through an output buffer of cap bytes. */
static void sdf_feed(struct sdf_run *r, const char *in, size_t len, size_t split, size_t cap)
{
	size_t pos = 0, used = 0;

	r->out_len = 0;
	r->headers_end = 0;
	smtp_data_init(&r->d, SDF_MAX_LINE);
	for (;;) {
		size_t stop = pos < split ? split : len;
		enum smtp_data_event ev = sdf_call(r, in + pos, stop - pos, cap, &used);

		pos += used;
		if (ev == SMTP_DATA_HEADERS_END) {
			sdf_assert(r->headers_end++ == 0);
			r->headers_end_at = r->out_len;
			continue;
		}
		r->event = ev;
		if (ev != SMTP_DATA_MORE || pos == len) {
			break;
		}
	}
	r->consumed = pos;
	if (r->event == SMTP_DATA_MORE) {
		/* all input consumed: nothing may be pending */
		sdf_assert(sdf_call(r, in + pos, 0, cap, &used) == SMTP_DATA_MORE && used == 0);
		sdf_assert(r->consumed == len);
	}
	sdf_assert(r->d.bytes_out == r->out_len);
}

static int sdf_same(const struct sdf_run *a, const struct sdf_run *b)
{
	return a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0 &&
	       a->headers_end == b->headers_end && (a->headers_end == 0 || a->headers_end_at == b->headers_end_at) &&
	       a->event == b->event && a->consumed == b->consumed && a->d.errors == b->d.errors &&
	       a->d.has_message_id == b->d.has_message_id && a->d.has_date == b->d.has_date && a->d.lines == b->d.lines;
}

/* Framing promises of one run over input in. */
static void sdf_check_framing(const struct sdf_run *r, const char *in)
{
	if (r->event == SMTP_DATA_END) {
		sdf_assert((r->consumed == 3 && memcmp(in, ".\r\n", 3) == 0) ||
			   (r->consumed >= 5 && memcmp(in + r->consumed - 5, "\r\n.\r\n", 5) == 0));
		sdf_assert(r->headers_end == 1);
		sdf_assert(r->out_len == 0 || (r->out_len >= 2 && memcmp(r->out + r->out_len - 2, "\r\n", 2) == 0));
	}
	for (size_t i = 0; i < r->out_len; i++) {
		if (r->out[i] == '\n') {
			sdf_assert(i > 0 && r->out[i - 1] == '\r');
		} else if (r->out[i] == '\r' && i + 1 < r->out_len) {
			sdf_assert(r->out[i + 1] == '\n');
		}
	}
}

/* A complete message, dot-stuffed again and terminated, must give the same message back. */
static void sdf_check_round_trip(const struct sdf_run *r)
{
	static char again[SDF_OUT_MAX + 8];
	static struct sdf_run back;
	size_t len = 0;

	for (size_t i = 0; i < r->out_len; i++) {
		if (r->out[i] == '.' && (i == 0 || r->out[i - 1] == '\n')) {
			again[len++] = '.';
		}
		again[len++] = r->out[i];
	}
	memcpy(again + len, ".\r\n", 4);
	len += 3;
	sdf_feed(&back, again, len, len, SDF_OUT_MAX);
	sdf_assert(back.event == SMTP_DATA_END && back.consumed == len);
	sdf_assert(back.out_len == r->out_len && memcmp(back.out, r->out, r->out_len) == 0);
	sdf_assert(back.headers_end_at == r->headers_end_at && back.d.errors == r->d.errors);
	sdf_assert(back.d.has_message_id == r->d.has_message_id && back.d.has_date == r->d.has_date);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdf_run whole, split;
	const char *in = (const char *)data;
	size_t cut = 0, cap = 1;

	if (size > SDF_IN_MAX) {
		return 0;
	}
	if (size > 0) {
		cut = ((size_t)data[0] * 31 + 7) % (size + 1);
		cap = 1 + data[0] % 5;
	}
	sdf_feed(&whole, in, size, size, SDF_OUT_MAX);
	sdf_feed(&split, in, size, cut, cap);
	sdf_assert(sdf_same(&whole, &split));
	sdf_check_framing(&whole, in);
	if (whole.event == SMTP_DATA_END) {
		sdf_check_round_trip(&whole);
	}
	return 0;
}
