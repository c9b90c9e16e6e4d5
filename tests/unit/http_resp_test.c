/*
 * http_resp_test.c - the token endpoint's reply parser as a table: framing
 * by Content-Length, chunked (extensions, trailers) and end of stream, 1xx
 * replies skipped, and every refusal with its error code (bare LF or CR,
 * obs-fold, duplicate or malformed Content-Length, Content-Length with
 * Transfer-Encoding, other codings, overflowing sizes, oversize header or
 * body, truncation). Each reply is also fed split at every byte offset and
 * byte by byte: the outcome must not depend on how the bytes arrive.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "harness.h"

#if CONFIG_RELAY_OAUTH
#include "http_resp.h"

#define HRT_BODY_CAP 64

struct hrt_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int eof;    /* the stream ends after in */
	int result; /* HTTP_RESP_DONE, HTTP_RESP_MORE or an error */
	int status; /* when DONE */
	const char *body;
};

#define HRT_OK "HTTP/1.1 200 OK\r\n"
static const struct hrt_case hrt_cases[] = {
	/* framing */
	{ HRT_OK "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b\"}\r\n", 0, 0, HTTP_RESP_DONE,
	  200, "{\"a\":\"b\"}\r\n" },
	{ HRT_OK "content-length:   2  \r\n\r\n{}", 0, 0, HTTP_RESP_DONE, 200, "{}" },
	{ HRT_OK "Content-Length: 0\r\n\r\n", 0, 0, HTTP_RESP_DONE, 200, "" },
	{ HRT_OK "Content-Length: 2\r\n\r\n{}extra", 0, 0, HTTP_RESP_DONE, 200, "{}" },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n5\r\n:\"b\"}\r\n0\r\n\r\n", 0, 0, HTTP_RESP_DONE,
	  200, "{\"a\":\"b\"}" },
	{ HRT_OK
	  "Transfer-Encoding: Chunked\r\n\r\na;name=val;x=\"q\"\r\n0123456789\r\n0 ; end\r\nX-Trailer: 1\r\n\r\n",
	  0, 0, HTTP_RESP_DONE, 200, "0123456789" },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n00000002\r\nab\r\n0\r\n\r\n", 0, 0, HTTP_RESP_DONE, 200, "ab" },
	{ "HTTP/1.1 400 Bad Request\r\nCache-Control: no-store\r\n\r\n{\"error\":\"invalid_grant\"}", 0, 1,
	  HTTP_RESP_DONE, 400, "{\"error\":\"invalid_grant\"}" },
	{ "HTTP/1.0 200\r\n\r\nbody", 0, 1, HTTP_RESP_DONE, 200, "body" },
	{ "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx", 0, 0, HTTP_RESP_DONE, 200, "x" },
	{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\nX: y\r\n\r\n" HRT_OK "Content-Length: 1\r\n\r\nz", 0,
	  0, HTTP_RESP_DONE, 200, "z" },
	{ "HTTP/1.1 204 No Content\r\n\r\n", 0, 0, HTTP_RESP_DONE, 204, "" },
	{ HRT_OK "X-Odd: \x80\xff obs-text\t\r\nContent-Length: 1\r\n\r\nq", 0, 0, HTTP_RESP_DONE, 200, "q" },
	/* incomplete: more bytes needed, or the stream ends early */
	{ HRT_OK "Content-Length: 5\r\n\r\nabc", 0, 0, HTTP_RESP_MORE, 0, NULL },
	{ HRT_OK "Content-Length: 5\r\n\r\nabc", 0, 1, HTTP_RESP_ETRUNCATED, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 0, 1, HTTP_RESP_ETRUNCATED, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n0\r\n", 0, 1, HTTP_RESP_ETRUNCATED, 0, NULL },
	{ "HTTP/1.1 200 OK\r\n", 0, 1, HTTP_RESP_ETRUNCATED, 0, NULL },
	{ "", 0, 1, HTTP_RESP_ETRUNCATED, 0, NULL },
	/* status line */
	{ "HTTP/1.1 99 x\r\n\r\n", 0, 0, HTTP_RESP_ESTATUS, 0, NULL },
	{ "HTTP/2 200 OK\r\n\r\n", 0, 0, HTTP_RESP_ESTATUS, 0, NULL },
	{ "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, HTTP_RESP_ESTATUS, 0, NULL },
	{ "HTTP/1.1  200 OK\r\n\r\n", 0, 0, HTTP_RESP_ESTATUS, 0, NULL },
	{ "http/1.1 200 OK\r\n\r\n", 0, 0, HTTP_RESP_ESTATUS, 0, NULL },
	{ "HTTP/1.1 600 OK\r\n\r\n", 0, 0, HTTP_RESP_ESTATUS, 0, NULL },
	{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, 0, HTTP_RESP_ESTATUS, 0, NULL },
	/* line ends and control bytes */
	{ "HTTP/1.1 200 OK\nContent-Length: 0\n\n", 0, 0, HTTP_RESP_ELINE, 0, NULL },
	{ HRT_OK "Content-Length: 0\n\r\n", 0, 0, HTTP_RESP_ELINE, 0, NULL },
	{ HRT_OK "X: a\rb\r\nContent-Length: 0\r\n\r\n", 0, 0, HTTP_RESP_ELINE, 0, NULL },
	{ HRT_OK "X: a\0b\r\n\r\n", sizeof(HRT_OK "X: a\0b\r\n\r\n") - 1, 0, HTTP_RESP_ELINE, 0, NULL },
	{ HRT_OK "X: \x1b[31m\r\n\r\n", 0, 0, HTTP_RESP_ELINE, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n", 0, 0, HTTP_RESP_ELINE, 0, NULL },
	/* field lines */
	{ HRT_OK "X: a\r\n folded\r\nContent-Length: 0\r\n\r\n", 0, 0, HTTP_RESP_EFOLD, 0, NULL },
	{ HRT_OK "\tX: a\r\n\r\n", 0, 0, HTTP_RESP_EFOLD, 0, NULL },
	{ HRT_OK "Content-Length : 0\r\n\r\n", 0, 0, HTTP_RESP_EHEADER, 0, NULL },
	{ HRT_OK "no colon here\r\n\r\n", 0, 0, HTTP_RESP_EHEADER, 0, NULL },
	{ HRT_OK ": empty name\r\n\r\n", 0, 0, HTTP_RESP_EHEADER, 0, NULL },
	{ HRT_OK "X(y): z\r\n\r\n", 0, 0, HTTP_RESP_EHEADER, 0, NULL },
	/* Content-Length */
	{ HRT_OK "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: 2, 2\r\n\r\n{}", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: -1\r\n\r\n", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: +2\r\n\r\n{}", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: 0x10\r\n\r\n", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: \r\n\r\n", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: 18446744073709551617\r\n\r\n", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: 99999999999999999999999999\r\n\r\n", 0, 0, HTTP_RESP_ELENGTH, 0, NULL },
	{ HRT_OK "Content-Length: 65\r\n\r\n", 0, 0, HTTP_RESP_EBODY_SIZE, 0, NULL },
	/* Transfer-Encoding */
	{ HRT_OK "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 0, HTTP_RESP_EFRAMING, 0,
	  NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 0, 0, HTTP_RESP_EFRAMING, 0,
	  NULL },
	{ "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 0, HTTP_RESP_EFRAMING, 0, NULL },
	{ HRT_OK "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 0, HTTP_RESP_ECODING, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, HTTP_RESP_ECODING, 0, NULL },
	{ HRT_OK "Transfer-Encoding: identity\r\n\r\n", 0, 0, HTTP_RESP_ECODING, 0, NULL },
	/* chunks */
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n-1\r\n", 0, 0, HTTP_RESP_ECHUNK, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n\r\n", 0, 0, HTTP_RESP_ECHUNK, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n", 0, 0, HTTP_RESP_ECHUNK, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n2 x\r\nab\r\n0\r\n\r\n", 0, 0, HTTP_RESP_ECHUNK, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 0, 0, HTTP_RESP_ECHUNK, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 0, 0, HTTP_RESP_ECHUNK, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n", 0, 0, HTTP_RESP_ECHUNK, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n41\r\n", 0, 0, HTTP_RESP_EBODY_SIZE, 0, NULL },
	{ HRT_OK "Transfer-Encoding: chunked\r\n\r\n20\r\n0123456789abcdef0123456789abcdef\r\n21\r\n", 0, 0,
	  HTTP_RESP_EBODY_SIZE, 0, NULL },
	{ HRT_OK "\r\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX", 0, 0, HTTP_RESP_EBODY_SIZE, 0,
	  NULL },
};

/* Feeds c->in in pieces of step bytes, the first split at first; the outcome as the table says. */
static int hrt_run(const struct hrt_case *c, size_t first, size_t step, struct http_resp *r, char *body)
{
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	size_t off = 0;
	int res = HTTP_RESP_MORE;

	http_resp_init(r, body, HRT_BODY_CAP);
	while (off < len && res == HTTP_RESP_MORE) {
		size_t n = off == 0 ? first : step;
		size_t used;

		n = n > len - off ? len - off : n;
		res = http_resp_feed(r, c->in + off, n, &used);
		if (res == HTTP_RESP_MORE && used != n) {
			return -100;
		}
		off += used;
	}
	if (res == HTTP_RESP_MORE && c->eof) {
		res = http_resp_eof(r);
	}
	return res;
}

static void hrt_check(const struct hrt_case *c, size_t first, size_t step)
{
	char body[HRT_BODY_CAP];
	struct http_resp r;
	int res = hrt_run(c, first, step, &r, body);

	CHECK(res == c->result);
	if (res != c->result || res != HTTP_RESP_DONE) {
		return;
	}
	CHECK(r.status == c->status);
	CHECK(r.body_len == strlen(c->body));
	CHECK_BYTES(r.body, c->body, strlen(c->body));
}

TEST(http_resp_table_every_split)
{
	for (size_t i = 0; i < sizeof(hrt_cases) / sizeof(hrt_cases[0]); i++) {
		const struct hrt_case *c = &hrt_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);

		hrt_check(c, len + 1, len + 1); /* whole */
		hrt_check(c, 1, 1);             /* byte by byte */
		for (size_t first = 1; first < len; first++) {
			hrt_check(c, first, len); /* two pieces, split at every offset */
		}
	}
}

TEST(http_resp_header_cap)
{
	static char in[CONFIG_OAUTH_HTTP_MAX_HEADER + 64];
	char body[HRT_BODY_CAP];
	struct http_resp r;
	size_t n = 0, used;

	/* a header section of exactly the cap passes; one byte more does not */
	for (int extra = 0; extra <= 1; extra++) {
		size_t fill = CONFIG_OAUTH_HTTP_MAX_HEADER - strlen(HRT_OK "X: \r\n\r\n") + (size_t)extra;

		n = (size_t)snprintf(in, sizeof(in), "%s", HRT_OK "X: ");
		memset(in + n, 'a', fill);
		n += fill;
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n\r\n");
		http_resp_init(&r, body, sizeof(body));
		int res = http_resp_feed(&r, in, n, &used);
		CHECK(res == (extra ? HTTP_RESP_EHEADER_SIZE : HTTP_RESP_MORE));
		CHECK(http_resp_eof(&r) == (extra ? HTTP_RESP_EHEADER_SIZE : HTTP_RESP_DONE));
	}
	/* a long Content-Length line (past what the parser keeps) is refused, not cut */
	n = (size_t)snprintf(in, sizeof(in), "%sContent-Length: %0300d\r\n\r\n", HRT_OK, 1);
	http_resp_init(&r, body, sizeof(body));
	CHECK(http_resp_feed(&r, in, n, &used) == HTTP_RESP_EHEADER);
}

TEST(http_resp_errors_are_sticky)
{
	char body[HRT_BODY_CAP];
	struct http_resp r;
	size_t used;

	http_resp_init(&r, body, sizeof(body));
	CHECK(http_resp_feed(&r, "HTTP/1.1 200 OK\n", 16, &used) == HTTP_RESP_ELINE);
	CHECK(used == 16);
	CHECK(http_resp_feed(&r, "\r\n", 2, &used) == HTTP_RESP_ELINE);
	CHECK(http_resp_eof(&r) == HTTP_RESP_ELINE);
	CHECK_STR(http_resp_strerror(HTTP_RESP_ELINE), "bare CR or LF, or a control byte");
	CHECK_STR(http_resp_strerror(HTTP_RESP_DONE), "ok");
	CHECK_STR(http_resp_strerror(-99), "unknown");
}

struct hrt_reader {
	const char *data;
	size_t len;
	size_t off;
	int fail_at; /* fail with EIO after this many calls (-1: never) */
	int calls;
};

static ssize_t hrt_read(void *ctx, char *buf, size_t len)
{
	struct hrt_reader *rd = ctx;
	size_t n = rd->len - rd->off < 3 ? rd->len - rd->off : 3;

	if (rd->calls++ == rd->fail_at) {
		errno = EIO;
		return -1;
	}
	if (rd->calls % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	n = n > len ? len : n;
	memcpy(buf, rd->data + rd->off, n);
	rd->off += n;
	return (ssize_t)n;
}

TEST(http_resp_read_loop)
{
	static const char reply[] = HRT_OK "Transfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
	struct hrt_reader rd = { reply, sizeof(reply) - 1, 0, -1, 0 };
	char body[HRT_BODY_CAP];
	struct http_resp r;

	http_resp_init(&r, body, sizeof(body));
	CHECK(http_resp_read(&r, hrt_read, &rd) == HTTP_RESP_DONE);
	CHECK(r.body_len == 7 && memcmp(body, "{\"a\":1}", 7) == 0);
	http_resp_wipe(&r);
	CHECK(body[0] == 0 && r.body_len == 0);

	struct hrt_reader cut = { reply, 20, 0, -1, 0 };
	http_resp_init(&r, body, sizeof(body));
	CHECK(http_resp_read(&r, hrt_read, &cut) == HTTP_RESP_ETRUNCATED);

	struct hrt_reader bad = { reply, sizeof(reply) - 1, 0, 4, 0 };
	http_resp_init(&r, body, sizeof(body));
	CHECK(http_resp_read(&r, hrt_read, &bad) == HTTP_RESP_EIO);
}
#endif
