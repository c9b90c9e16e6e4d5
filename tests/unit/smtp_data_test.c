/*
 * smtp_data_test.c - the DATA stream filter: end of data, dot-unstuffing,
 * the header block (Message-ID:, Date:, where HEADERS_END falls), the SMTP
 * smuggling look-alikes, NUL and long lines, pipelined bytes, and the same
 * results however input and output are split. Table-driven.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "smtp_data.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal and its length (literals may hold NUL bytes). */
#define SD_S(x) x, sizeof(x) - 1
/* What the runner writes into the output at HEADERS_END (as a session inserts headers). */
#define SD_MARK     "<H>"
#define SD_MARK_LEN 3
#define SD_OUT_MAX  8192

struct sd_result {
	char out[SD_OUT_MAX];
	size_t out_len;
	enum smtp_data_event event; /* the event that ended the run (MORE: input ran out) */
	size_t consumed;
	unsigned headers_end;
	unsigned errors;
	int has_message_id;
	int has_date;
	uint64_t bytes_out;
	uint64_t lines;
	int broken; /* an API contract violation seen by the runner */
};

static void sd_append(struct sd_result *r, const char *p, size_t n)
{
	if (r->out_len + n > sizeof(r->out)) {
		r->broken = 1;
		return;
	}
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
}

/* Next input chunk size: mode 0 all, 1 one byte, else pseudo-random 0..8 (seeded by mode). */
static size_t sd_chunk(unsigned mode, unsigned *seed, size_t left)
{
	size_t n;

	if (mode == 0) {
		return left;
	}
	if (mode == 1) {
		return left < 1 ? left : 1;
	}
	*seed = *seed * 1103515245u + 12345u;
	n = (*seed >> 16) % 9;
	return n < left ? n : left;
}

/* Copies the results out of d once the run has stopped. */
static void sd_collect(struct sd_result *r, const struct smtp_data *d, size_t consumed)
{
	r->consumed = consumed;
	r->errors = d->errors;
	r->has_message_id = d->has_message_id;
	r->has_date = d->has_date;
	r->bytes_out = d->bytes_out;
	r->lines = d->lines;
	if (d->bytes_out + (uint64_t)r->headers_end * SD_MARK_LEN != r->out_len) {
		r->broken = 1;
	}
}

/* Feeds in, split as mode says, through an output buffer of out_cap bytes, until an event or the end of input. */
static void sd_run(const char *in, size_t len, size_t max_line, unsigned mode, size_t out_cap, struct sd_result *r)
{
	static char obuf[SD_OUT_MAX];
	struct smtp_data d;
	size_t pos = 0;
	unsigned seed = mode;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&d, max_line);
	for (unsigned guard = 0; guard < 1000000; guard++) {
		size_t chunk = sd_chunk(mode, &seed, len - pos), used = 0, made = 0;
		enum smtp_data_event ev = smtp_data_feed(&d, in + pos, chunk, &used, obuf, out_cap, &made);

		if (used > chunk || made > out_cap) {
			r->broken = 1;
			break;
		}
		sd_append(r, obuf, made);
		pos += used;
		if (ev == SMTP_DATA_HEADERS_END) {
			r->headers_end++;
			sd_append(r, SD_MARK, SD_MARK_LEN);
		} else if (ev != SMTP_DATA_MORE) {
			r->event = ev;
			break;
		} else if (pos == len) {
			/* all input consumed: nothing may be pending */
			ev = smtp_data_feed(&d, in + pos, 0, &used, obuf, out_cap, &made);
			r->broken |= ev != SMTP_DATA_MORE || used != 0 || made != 0;
			r->event = SMTP_DATA_MORE;
			break;
		}
	}
	sd_collect(r, &d, pos);
}

struct sd_case {
	const char *in;
	size_t in_len;
	const char *out; /* with SD_MARK where HEADERS_END was reported */
	size_t out_len;
	enum smtp_data_event event;
	int consumed; /* -1: all of the input */
	unsigned errors;
	int has_message_id;
	int has_date;
	unsigned max_line; /* 0: 1000 */
};

#define MORE      SMTP_DATA_MORE
#define END       SMTP_DATA_END
#define BARE_LF   SMTP_DATA_BARE_LF
#define BARE_CR   SMTP_DATA_BARE_CR
#define NUL       SMTP_DATA_ERR_NUL
#define LONG_LINE SMTP_DATA_ERR_LONG_LINE

static const struct sd_case sd_cases[] = {
	/* 0: plain message */
	{ SD_S("Subject: hi\r\nFrom: a@example.com\r\n\r\nbody\r\n.\r\n"),
	  SD_S("Subject: hi\r\nFrom: a@example.com\r\n<H>\r\nbody\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("Message-ID: <x@y>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nb\r\n.\r\n"),
	  SD_S("Message-ID: <x@y>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n<H>\r\nb\r\n"), END, -1, 0, 1, 1, 0 },
	{ SD_S("MESSAGE-id: <x@y>\r\ndATE: x\r\n\r\n.\r\n"), SD_S("MESSAGE-id: <x@y>\r\ndATE: x\r\n<H>\r\n"), END, -1,
	  0, 1, 1, 0 },
	{ SD_S("Message-ID : <x@y>\r\nDate\t: x\r\n\r\n.\r\n"), SD_S("Message-ID : <x@y>\r\nDate\t: x\r\n<H>\r\n"), END,
	  -1, 0, 1, 1, 0 },
	{ SD_S("Message-IDs: x\r\nX-Date: y\r\nDates: z\r\nMessage-I: d\r\n\r\n.\r\n"),
	  SD_S("Message-IDs: x\r\nX-Date: y\r\nDates: z\r\nMessage-I: d\r\n<H>\r\n"), END, -1, 0, 0, 0, 0 },
	/* 5: only the header block counts */
	{ SD_S("Subject: a\r\n\r\nMessage-ID: <x@y>\r\nDate: y\r\n.\r\n"),
	  SD_S("Subject: a\r\n<H>\r\nMessage-ID: <x@y>\r\nDate: y\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("Subject: a\r\n b\r\n\tc\r\nDate: x\r\n\r\nbody\r\n.\r\n"),
	  SD_S("Subject: a\r\n b\r\n\tc\r\nDate: x\r\n<H>\r\nbody\r\n"), END, -1, 0, 0, 1, 0 },
	{ SD_S("Subject: a\r\n Message-ID: <x@y>\r\n\r\n.\r\n"), SD_S("Subject: a\r\n Message-ID: <x@y>\r\n<H>\r\n"),
	  END, -1, 0, 0, 0, 0 },
	/* 8: dot-unstuffing; "." alone ends the message, what follows is not consumed */
	{ SD_S("S: a\r\n\r\n..x\r\n..\r\n.x\r\n...\r\n.\r\n"), SD_S("S: a\r\n<H>\r\n.x\r\n.\r\nx\r\n..\r\n"), END, -1,
	  0, 0, 0, 0 },
	{ SD_S("S: a\r\n\r\nline1\r\n.\r\nline2\r\n.\r\n"), SD_S("S: a\r\n<H>\r\nline1\r\n"), END, 18, 0, 0, 0, 0 },
	/* 10: empty message, with pipelined commands after it */
	{ SD_S(".\r\n"), SD_S("<H>"), END, -1, 0, 0, 0, 0 },
	{ SD_S(".\r\nQUIT\r\n"), SD_S("<H>"), END, 3, 0, 0, 0, 0 },
	{ SD_S("S: a\r\n\r\nb\r\n.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"),
	  SD_S("S: a\r\n<H>\r\nb\r\n"), END, 14, 0, 0, 0, 0 },
	/* 13: where the header block ends without a blank line */
	{ SD_S("hello world\r\n.\r\n"), SD_S("<H>hello world\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("\r\nbody\r\n.\r\n"), SD_S("<H>\r\nbody\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("Subject: a\r\nDate: b\r\n.\r\n"), SD_S("Subject: a\r\nDate: b\r\n<H>"), END, -1, 0, 0, 1, 0 },
	{ SD_S("Subject: a\r\nthis is body\r\nDate: x\r\n.\r\n"), SD_S("Subject: a\r\n<H>this is body\r\nDate: x\r\n"),
	  END, -1, 0, 0, 0, 0 },
	{ SD_S(" indented\r\n.\r\n"), SD_S("<H> indented\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("Subject: a\r\n.hidden\r\n.\r\n"), SD_S("Subject: a\r\n<H>hidden\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("..X-Dot: y\r\nDate: z\r\n\r\n.\r\n"), SD_S(".X-Dot: y\r\nDate: z\r\n<H>\r\n"), END, -1, 0, 0, 1, 0 },
	{ SD_S(":foo\r\n.\r\n"), SD_S("<H>:foo\r\n"), END, -1, 0, 0, 0, 0 },
	/* 21 */
	{ SD_S("Sub\xc3\xa9: x\r\nDate: y\r\n.\r\n"), SD_S("<H>Sub\xc3\xa9: x\r\nDate: y\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("Subject: caf\xc3\xa9\r\nDate: x\r\n\r\n.\r\n"), SD_S("Subject: caf\xc3\xa9\r\nDate: x\r\n<H>\r\n"), END,
	  -1, 0, 0, 1, 0 },
	{ SD_S("Subject x: y\r\n.\r\n"), SD_S("<H>Subject x: y\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("Subject\r\n.\r\n"), SD_S("<H>Subject\r\n"), END, -1, 0, 0, 0, 0 },
	{ SD_S("Date:\r\nMessage-ID:<a@b>\r\n\r\n.\r\n"), SD_S("Date:\r\nMessage-ID:<a@b>\r\n<H>\r\n"), END, -1, 0, 1,
	  1, 0 },
	/* 26: NUL bytes are copied and flagged; framing goes on */
	{ SD_S("S: a\r\n\r\nx\0y\r\n.\r\n"), SD_S("S: a\r\n<H>\r\nx\0y\r\n"), END, -1, NUL, 0, 0, 0 },
	{ SD_S("\0: x\r\n.\r\n"), SD_S("<H>\0: x\r\n"), END, -1, NUL, 0, 0, 0 },
	{ SD_S("Subject: a\0b\r\nDate: c\r\n\r\n.\r\n"), SD_S("Subject: a\0b\r\nDate: c\r\n<H>\r\n"), END, -1, NUL, 0,
	  1, 0 },
	{ SD_S(".\0\r\n.\r\n"), SD_S("<H>\0\r\n"), END, -1, NUL, 0, 0, 0 },
	/* 30: smuggling look-alikes never end the message */
	{ SD_S("S: a\r\n\r\nx\n.\nMAIL FROM:<e@example.com>\r\n"), SD_S("S: a\r\n<H>\r\nx"), BARE_LF, 10, 0, 0, 0, 0 },
	{ SD_S("S: a\r\n\r\nx\r.\rMAIL FROM:<e@example.com>\r\n"), SD_S("S: a\r\n<H>\r\nx\r"), BARE_CR, 11, 0, 0, 0,
	  0 },
	{ SD_S("S: a\r\n\r\nx\r\n.\nMAIL FROM:<e@example.com>\r\n"), SD_S("S: a\r\n<H>\r\nx\r\n"), BARE_LF, 13, 0, 0, 0,
	  0 },
	{ SD_S("S: a\r\n\r\nx\n.\r\nMAIL FROM:<e@example.com>\r\n"), SD_S("S: a\r\n<H>\r\nx"), BARE_LF, 10, 0, 0, 0,
	  0 },
	{ SD_S(".\nMAIL FROM:<e@example.com>\r\n"), SD_S(""), BARE_LF, 2, 0, 0, 0, 0 },
	{ SD_S("S: a\r\n\r\nx\r\n.\rx\r\n.\r\n"), SD_S("S: a\r\n<H>\r\nx\r\n"), BARE_CR, 14, 0, 0, 0, 0 },
	{ SD_S("\n.\r\n"), SD_S(""), BARE_LF, 1, 0, 0, 0, 0 },
	{ SD_S("\r.\r"), SD_S("<H>\r"), BARE_CR, 2, 0, 0, 0, 0 },
	{ SD_S(".\r.\r\n"), SD_S(""), BARE_CR, 3, 0, 0, 0, 0 },
	{ SD_S("S: a\r\n\r\nx\r\r\n.\r\n"), SD_S("S: a\r\n<H>\r\nx\r"), BARE_CR, 11, 0, 0, 0, 0 },
	{ SD_S("Subject\n.\r\n"), SD_S("<H>Subject"), BARE_LF, 8, 0, 0, 0, 0 },
	{ SD_S("Subject: a\r\n\n.\r\n"), SD_S("Subject: a\r\n"), BARE_LF, 13, 0, 0, 0, 0 },
	{ SD_S("S: a\r\n\r\n\r\n\r\n.\n.\r\n"), SD_S("S: a\r\n<H>\r\n\r\n\r\n"), BARE_LF, 14, 0, 0, 0, 0 },
	/* 43: input that ends before the end of data */
	{ SD_S("S: a\r\n\r\nbody\r\n."), SD_S("S: a\r\n<H>\r\nbody\r\n"), MORE, -1, 0, 0, 0, 0 },
	{ SD_S("S: a\r\n\r\nbody\r\n.\r"), SD_S("S: a\r\n<H>\r\nbody\r\n"), MORE, -1, 0, 0, 0, 0 },
	{ SD_S("Subject: a\r\nMessage-I"), SD_S("Subject: a\r\n"), MORE, -1, 0, 0, 0, 0 },
	{ SD_S("Subject: a\r"), SD_S("Subject: a\r"), MORE, -1, 0, 0, 0, 0 },
	{ SD_S(""), SD_S(""), MORE, -1, 0, 0, 0, 0 },
	/* 48: line length (max_line 10, CRLF included, after unstuffing) */
	{ SD_S("S: a\r\n\r\n12345678\r\n.\r\n"), SD_S("S: a\r\n<H>\r\n12345678\r\n"), END, -1, 0, 0, 0, 10 },
	{ SD_S("S: a\r\n\r\n123456789\r\n.\r\n"), SD_S("S: a\r\n<H>\r\n123456789\r\n"), END, -1, LONG_LINE, 0, 0, 10 },
	{ SD_S("S: a\r\n\r\n.12345678\r\n.\r\n"), SD_S("S: a\r\n<H>\r\n12345678\r\n"), END, -1, 0, 0, 0, 10 },
	{ SD_S("Date: 123\r\n\r\n.\r\n"), SD_S("Date: 123\r\n<H>\r\n"), END, -1, LONG_LINE, 0, 1, 10 },
	{ SD_S("Date: 12\r\n\r\n.\r\n"), SD_S("Date: 12\r\n<H>\r\n"), END, -1, 0, 0, 1, 10 },
	{ SD_S("Message-ID:\r\n.\r\n"), SD_S("Message-ID:\r\n<H>"), END, -1, LONG_LINE, 1, 0, 10 },
	{ SD_S("S: a\r\n\r\n123456789\r"), SD_S("S: a\r\n<H>\r\n123456789\r"), MORE, -1, 0, 0, 0, 10 },
};

static int sd_same(const struct sd_result *a, const struct sd_result *b)
{
	return a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0 && a->event == b->event &&
	       a->consumed == b->consumed && a->headers_end == b->headers_end && a->errors == b->errors &&
	       a->has_message_id == b->has_message_id && a->has_date == b->has_date && a->bytes_out == b->bytes_out &&
	       a->lines == b->lines && !a->broken && !b->broken;
}

static void sd_show(size_t i, const char *what, const struct sd_result *r)
{
	printf("  case %zu %s: event %d consumed %zu headers_end %u errors %u mid %d date %d out '", i, what,
	       (int)r->event, r->consumed, r->headers_end, r->errors, r->has_message_id, r->has_date);
	for (size_t k = 0; k < r->out_len; k++) {
		unsigned char c = (unsigned char)r->out[k];

		printf(c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
	}
	printf("'%s\n", r->broken ? " BROKEN" : "");
}

static int sd_matches(const struct sd_case *t, const struct sd_result *r)
{
	size_t consumed = t->consumed < 0 ? t->in_len : (size_t)t->consumed;

	return !r->broken && r->out_len == t->out_len && memcmp(r->out, t->out, t->out_len) == 0 &&
	       r->event == t->event && r->consumed == consumed && r->errors == t->errors &&
	       r->has_message_id == t->has_message_id && r->has_date == t->has_date &&
	       r->headers_end == (memmem(t->out, t->out_len, SD_MARK, SD_MARK_LEN) != NULL ? 1u : 0u);
}

TEST(smtp_data_table)
{
	static struct sd_result r;

	for (size_t i = 0; i < NELEM(sd_cases); i++) {
		const struct sd_case *t = &sd_cases[i];

		sd_run(t->in, t->in_len, t->max_line != 0 ? t->max_line : 1000, 0, SD_OUT_MAX, &r);
		if (!sd_matches(t, &r)) {
			sd_show(i, "one shot", &r);
			harness_fail(__FILE__, __LINE__, "data table");
		}
	}
}

/* Every split of input (one byte, random chunks) and output (1..7 bytes) gives the one-shot result. */
TEST(smtp_data_split_feeding)
{
	static struct sd_result whole, split;

	for (size_t i = 0; i < NELEM(sd_cases); i++) {
		const struct sd_case *t = &sd_cases[i];
		size_t max_line = t->max_line != 0 ? t->max_line : 1000;

		sd_run(t->in, t->in_len, max_line, 0, SD_OUT_MAX, &whole);
		for (unsigned mode = 0; mode < 12; mode++) {
			for (size_t cap = 1; cap <= 8; cap++) {
				sd_run(t->in, t->in_len, max_line, mode, cap == 8 ? SD_OUT_MAX : cap, &split);
				if (!sd_same(&whole, &split)) {
					printf("  mode %u out_cap %zu\n", mode, cap);
					sd_show(i, "split", &split);
					harness_fail(__FILE__, __LINE__, "split feeding differs");
					break;
				}
			}
		}
	}
}

/* END only right after <CRLF>.<CRLF>, or ".<CRLF>" as the whole input. */
static int sd_end_ok(const char *in, size_t consumed)
{
	return (consumed == 3 && memcmp(in, ".\r\n", 3) == 0) ||
	       (consumed >= 5 && memcmp(in + consumed - 5, "\r\n.\r\n", 5) == 0);
}

/* Random inputs over a hostile alphabet: split feeding agrees, and END comes only after the real terminator. */
TEST(smtp_data_random_inputs)
{
	static const char alphabet[] = { '\r', '\n', '.', ':', ' ', '\t', 'a', 'D', '\0', '\r', '\n', '.' };
	static struct sd_result whole, split;
	static char in[64];
	unsigned seed = 12345;

	for (unsigned n = 0; n < 3000; n++) {
		size_t len = n % sizeof(in);

		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			in[k] = alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		sd_run(in, len, 6, 0, SD_OUT_MAX, &whole);
		sd_run(in, len, 6, 2 + n % 7, 1 + n % 5, &split);
		if (!sd_same(&whole, &split) || (whole.event == SMTP_DATA_END && !sd_end_ok(in, whole.consumed))) {
			sd_show(n, "random", &split);
			harness_fail(__FILE__, __LINE__, "random input");
			break;
		}
	}
}

/* Builds a message "Subject: x\r\n\r\n" + (dot) + n times 'a' + CRLF + ".\r\n" into buf. */
static size_t sd_long_message(char *buf, size_t cap, int dot, size_t n)
{
	static const char head[] = "Subject: x\r\n\r\n";
	size_t len = sizeof(head) - 1;

	if (len + 1 + n + 6 > cap) {
		return 0;
	}
	memcpy(buf, head, len);
	if (dot) {
		buf[len++] = '.';
	}
	memset(buf + len, 'a', n);
	len += n;
	memcpy(buf + len, "\r\n.\r\n", 6);
	return len + 5;
}

TEST(smtp_data_long_lines)
{
	static char msg[4096];
	static struct sd_result r;
	size_t len;

	len = sd_long_message(msg, sizeof(msg), 0, 998); /* 1000 octets with CRLF */
	sd_run(msg, len, 1000, 0, SD_OUT_MAX, &r);
	CHECK(r.event == SMTP_DATA_END && r.errors == 0 && r.lines == 3);
	len = sd_long_message(msg, sizeof(msg), 0, 999);
	sd_run(msg, len, 1000, 0, SD_OUT_MAX, &r);
	CHECK(r.event == SMTP_DATA_END && r.errors == SMTP_DATA_ERR_LONG_LINE);
	CHECK(r.out_len == 14 + SD_MARK_LEN + 999 + 2);  /* still copied */
	len = sd_long_message(msg, sizeof(msg), 1, 998); /* stuffed: 998 after unstuffing */
	sd_run(msg, len, 1000, 0, SD_OUT_MAX, &r);
	CHECK(r.event == SMTP_DATA_END && r.errors == 0);
	len = sd_long_message(msg, sizeof(msg), 1, 999);
	sd_run(msg, len, 1000, 1, 3, &r);
	CHECK(r.event == SMTP_DATA_END && r.errors == SMTP_DATA_ERR_LONG_LINE);
	len = sd_long_message(msg, sizeof(msg), 0, 3000);
	sd_run(msg, len, 1000, 0, SD_OUT_MAX, &r);
	CHECK(r.event == SMTP_DATA_END && r.errors == SMTP_DATA_ERR_LONG_LINE && r.bytes_out == 14 + 3002);
}

TEST(smtp_data_long_field_name)
{
	static char msg[512];
	static struct sd_result r;
	size_t n = SMTP_DATA_NAME_MAX;

	/* a field name that fills the hold-back buffer is a header ... */
	memset(msg, 'X', n);
	memcpy(msg + n, ": v\r\nDate: d\r\n\r\n.\r\n", 20);
	sd_run(msg, n + 19, 1000, 0, SD_OUT_MAX, &r);
	CHECK(r.event == SMTP_DATA_END && r.has_date && r.headers_end == 1);
	CHECK(r.out_len == n + 14 + SD_MARK_LEN + 2 && memcmp(r.out + n + 14, SD_MARK "\r\n", 5) == 0);
	/* ... one more octet is not: the header block ends before it, and nothing is lost */
	memset(msg, 'X', n + 1);
	memcpy(msg + n + 1, ": v\r\nDate: d\r\n\r\n.\r\n", 20);
	sd_run(msg, n + 20, 1000, 1, 2, &r);
	CHECK(r.event == SMTP_DATA_END && !r.has_date && r.headers_end == 1);
	CHECK(r.out_len == SD_MARK_LEN + n + 1 + 16 && memcmp(r.out, SD_MARK "XXX", 6) == 0);
	CHECK(memcmp(r.out + SD_MARK_LEN + n + 1, ": v\r\nDate: d\r\n\r\n", 16) == 0);
}

TEST(smtp_data_final_events_repeat)
{
	struct smtp_data d;
	char out[64];
	size_t used, made;

	smtp_data_init(&d, 1000);
	CHECK(smtp_data_feed(&d, SD_S("\r\n.\r\nQUIT\r\n"), &used, out, sizeof(out), &made) == SMTP_DATA_HEADERS_END);
	CHECK(used == 0 && made == 0);
	CHECK(smtp_data_feed(&d, SD_S("\r\n.\r\nQUIT\r\n"), &used, out, sizeof(out), &made) == SMTP_DATA_END);
	CHECK(used == 5 && made == 2 && d.lines == 1 && d.bytes_out == 2);
	CHECK(smtp_data_feed(&d, SD_S("QUIT\r\n"), &used, out, sizeof(out), &made) == SMTP_DATA_END);
	CHECK(used == 0 && made == 0);
	smtp_data_init(&d, 1000);
	CHECK(smtp_data_feed(&d, SD_S("a\n"), &used, out, sizeof(out), &made) == SMTP_DATA_HEADERS_END);
	CHECK(used == 1 && made == 0); /* "a" is held back: it might have been a field name */
	CHECK(smtp_data_feed(&d, SD_S("\n"), &used, out, sizeof(out), &made) == SMTP_DATA_BARE_LF);
	CHECK(used == 1 && made == 1 && out[0] == 'a');
	CHECK(smtp_data_feed(&d, SD_S(".\r\n"), &used, out, sizeof(out), &made) == SMTP_DATA_BARE_LF);
	CHECK(used == 0 && made == 0);
	/* a full output buffer stops before consuming */
	smtp_data_init(&d, 1000);
	CHECK(smtp_data_feed(&d, SD_S("\r\n"), &used, out, 0, &made) == SMTP_DATA_MORE && used == 0 && made == 0);
}
