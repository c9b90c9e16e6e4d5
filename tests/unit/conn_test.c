/*
 * conn_test.c - the plaintext side of the connection layer: CRLF line
 * reading with bare CR/LF and NUL detection, over-long lines, pipelined
 * input staying buffered, timeouts, buffered writes (larger than the
 * buffer, too long, to a peer that reads nothing), pending input seen
 * without being consumed, the absolute limit on every wait (the login
 * deadline) and the minimum-rate deadline of DATA.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "harness.h"

static struct conn test_conn;

struct line_case {
	const char *input;
	size_t len;
	enum conn_line want;
	const char *line;
};

static const struct line_case line_cases[] = {
	{ "EHLO x\r\n", 8, CONN_LINE_OK, "EHLO x" }, { "\r\n", 2, CONN_LINE_OK, "" },
	{ "EHLO x\n", 7, CONN_LINE_BARE_LF, NULL },  { "EHLO\rx\r\n", 8, CONN_LINE_BARE_CR, NULL },
	{ "NO\0OP\r\n", 7, CONN_LINE_NUL, NULL },    { "QUIT", 4, CONN_LINE_EOF, NULL },
};

static enum conn_line read_one(const char *input, size_t len, char *line, size_t cap, size_t *n)
{
	int sv[2];
	enum conn_line st;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], input, len) == (ssize_t)len);
	shutdown(sv[1], SHUT_WR);
	conn_init(&test_conn, sv[0]);
	st = conn_read_line(&test_conn, line, cap, n, 2);
	close(sv[0]);
	close(sv[1]);
	return st;
}

TEST(conn_line_cases)
{
	char line[64];
	size_t n;

	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		enum conn_line st = read_one(c->input, c->len, line, sizeof(line), &n);

		CHECK(st == c->want);
		if (c->line != NULL && st == CONN_LINE_OK) {
			CHECK_STR(line, c->line);
		}
	}
}

TEST(conn_long_line_is_skipped_to_its_end)
{
	char big[300], line[16];
	size_t n;
	int sv[2];

	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 2] = '\r';
	big[sizeof(big) - 1] = '\n';
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], big, sizeof(big)) == (ssize_t)sizeof(big));
	CHECK(write(sv[1], "NOOP\r\n", 6) == 6);
	conn_init(&test_conn, sv[0]);
	CHECK(conn_read_line(&test_conn, line, sizeof(line), &n, 2) == CONN_LINE_TOO_LONG);
	CHECK(conn_read_line(&test_conn, line, sizeof(line), &n, 2) == CONN_LINE_OK);
	CHECK_STR(line, "NOOP");
	close(sv[0]);
	close(sv[1]);
}

TEST(conn_pipelined_input_stays_buffered)
{
	char line[32];
	size_t n;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "STARTTLS\r\nNOOP\r\n", 16) == 16);
	conn_init(&test_conn, sv[0]);
	CHECK(conn_read_line(&test_conn, line, sizeof(line), &n, 2) == CONN_LINE_OK);
	CHECK_STR(line, "STARTTLS");
	CHECK(conn_buffered(&test_conn) == 6); /* what the STARTTLS guard looks at */
	close(sv[0]);
	close(sv[1]);
}

TEST(conn_read_times_out)
{
	char line[32];
	size_t n;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&test_conn, sv[0]);
	CHECK(conn_read_line(&test_conn, line, sizeof(line), &n, 1) == CONN_LINE_ERROR);
	CHECK(errno == ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

TEST(conn_writes_are_buffered_until_flush)
{
	char buf[64];
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&test_conn, sv[0]);
	CHECK(conn_printf(&test_conn, "250 %s\r\n", "ok") == 0);
	CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) < 0); /* nothing sent yet */
	CHECK(conn_flush(&test_conn, 2) == 0);
	CHECK(recv(sv[1], buf, sizeof(buf), 0) == 8 && memcmp(buf, "250 ok\r\n", 8) == 0);
	close(sv[0]);
	close(sv[1]);
}

TEST(conn_write_larger_than_the_buffer)
{
	static char big[3 * CONN_OUT + 7], got[sizeof(big) + 16];
	size_t have = 0;
	ssize_t n;
	int sv[2];

	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (char)('a' + i % 26);
	}
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&test_conn, sv[0]);
	CHECK(conn_write(&test_conn, "250-", 4) == 0);
	CHECK(conn_write(&test_conn, big, sizeof(big)) == 0);
	CHECK(conn_flush(&test_conn, 2) == 0);
	while (have < 4 + sizeof(big) && (n = recv(sv[1], got + have, sizeof(got) - have, MSG_DONTWAIT)) > 0) {
		have += (size_t)n;
	}
	CHECK(have == 4 + sizeof(big));
	CHECK(memcmp(got, "250-", 4) == 0 && memcmp(got + 4, big, sizeof(big)) == 0);
	close(sv[0]);
	close(sv[1]);
}

TEST(conn_reply_too_long_fails_alone)
{
	static char text[CONN_OUT];
	char buf[64];
	int sv[2];

	memset(text, 'x', sizeof(text) - 1);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&test_conn, sv[0]);
	CHECK(conn_printf(&test_conn, "250 %s\r\n", text) == -1); /* cannot fit the buffer */
	CHECK(conn_printf(&test_conn, "250 %s\r\n", "ok") == 0);  /* the connection is still good */
	CHECK(conn_flush(&test_conn, 2) == 0);
	CHECK(recv(sv[1], buf, sizeof(buf), 0) == 8 && memcmp(buf, "250 ok\r\n", 8) == 0);
	close(sv[0]);
	close(sv[1]);
}

TEST(conn_flush_to_a_peer_that_does_not_read)
{
	static char big[256 * 1024];
	int sv[2], small = 4096;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
	conn_init(&test_conn, sv[0]);
	test_conn.limit_ms = clock_now_ms() + 50; /* no wait passes this */
	CHECK(conn_write(&test_conn, big, sizeof(big)) == -1);
	CHECK(errno == ETIMEDOUT);
	CHECK(conn_write(&test_conn, "x", 1) == -1); /* a failed connection stays failed */
	CHECK(conn_flush(&test_conn, 2) == -1);
	close(sv[0]);
	close(sv[1]);
}

/* What decides "talking out of turn": input buffered or still in the socket, never consumed; EOF is not input. */
TEST(conn_input_pending_peeks)
{
	int sv[2];
	char line[64];
	size_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&test_conn, sv[0]);
	CHECK(conn_input_pending(&test_conn) == 0);
	CHECK(write(sv[1], "EHLO x\r\nNOOP\r\n", 14) == 14);
	CHECK(conn_input_pending(&test_conn) == 1); /* in the socket */
	CHECK(conn_input_pending(&test_conn) == 1); /* and still there: a peek */
	CHECK(conn_read_line(&test_conn, line, sizeof(line), &n, 2) == CONN_LINE_OK);
	CHECK_STR(line, "EHLO x");
	CHECK(conn_input_pending(&test_conn) == 1); /* buffered */
	CHECK(conn_read_line(&test_conn, line, sizeof(line), &n, 2) == CONN_LINE_OK);
	CHECK_STR(line, "NOOP");
	CHECK(conn_input_pending(&test_conn) == 0);
	shutdown(sv[1], SHUT_WR);
	CHECK(conn_input_pending(&test_conn) == 0);
	close(sv[0]);
	close(sv[1]);
}

TEST(conn_deadline_never_passes_the_limit)
{
	CHECK(conn_deadline_at(1000, 300, 0) == 301000);     /* no limit */
	CHECK(conn_deadline_at(1000, 300, 31000) == 31000);  /* the login deadline comes first */
	CHECK(conn_deadline_at(1000, 10, 31000) == 11000);   /* the wait's own timeout comes first */
	CHECK(conn_deadline_at(40000, 300, 31000) == 31000); /* already past: the wait ends at once */
}

TEST(conn_rate_deadline_grows_with_the_bytes)
{
	CHECK(conn_rate_deadline(5000, 0, 180, 500) == 185000);
	CHECK(conn_rate_deadline(5000, 1000, 180, 500) == 187000); /* 2 s more for 1000 bytes at 500/s */
	CHECK(conn_rate_deadline(5000, 250, 180, 500) == 185500);
	CHECK(conn_rate_deadline(5000, 1000, 180, 0) == INT64_MAX);  /* no minimum rate */
	CHECK(conn_rate_deadline(0, UINT64_MAX, 1, 1) == INT64_MAX); /* no overflow */
}

TEST(conn_read_ends_at_the_limit)
{
	char line[32];
	size_t n;
	int sv[2];
	int64_t t0 = clock_now_ms();

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "NO", 2) == 2); /* a client dribbling a line */
	conn_init(&test_conn, sv[0]);
	test_conn.limit_ms = t0 + 100;
	CHECK(conn_read_line(&test_conn, line, sizeof(line), &n, 30) == CONN_LINE_ERROR);
	CHECK(errno == ETIMEDOUT);
	CHECK(clock_now_ms() - t0 < 20000); /* the limit ended it, not the 30 s timeout */
	close(sv[0]);
	close(sv[1]);
}
