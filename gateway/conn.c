/*
 * conn.c - buffered, deadline-bound I/O on one SMTP connection, plain or
 * TLS (see conn.h): the session's way to talk to its client, and the
 * relay's to the smarthost.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "tls_pump.h"

#define CONN_DISCARD_MAX 65536 /* an over-long line is skipped up to this size, then the connection fails */

static ssize_t conn_sink(void *ctx, const char *data, size_t len);

void conn_init(struct conn *c, int fd)
{
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->write_timeout = 30;
	wbuf_init(&c->out, c->out_buf, sizeof(c->out_buf), conn_sink, c);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	/* writes are already whole replies or full buffers: Nagle would only add delayed-ACK stalls */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int64_t conn_deadline_at(int64_t now_ms, int timeout_s, int64_t limit_ms)
{
	int64_t end = now_ms + (int64_t)timeout_s * 1000;

	return limit_ms > 0 && limit_ms < end ? limit_ms : end;
}

int64_t conn_rate_deadline(int64_t start_ms, uint64_t bytes, unsigned base_s, unsigned min_rate)
{
	uint64_t extra_ms;

	if (min_rate == 0) {
		return INT64_MAX;
	}
	extra_ms = bytes / min_rate * 1000 + bytes % min_rate * 1000 / min_rate;
	if (extra_ms > (uint64_t)INT64_MAX / 2) {
		return INT64_MAX;
	}
	return start_ms + (int64_t)base_s * 1000 + (int64_t)extra_ms;
}

static int64_t conn_deadline(const struct conn *c, int timeout_s)
{
	return conn_deadline_at(clock_now_ms(), timeout_s, c->limit_ms);
}

int conn_start_tls(struct conn *c, br_ssl_engine_context *eng, int timeout_s)
{
	c->eng = eng;
	c->in_start = c->in_end = 0;
	wbuf_reset(&c->out);
	if (tls_pump(eng, c->fd, BR_SSL_SENDAPP, conn_deadline(c, timeout_s)) < 0) {
		c->failed = 1; /* a half-open handshake is not flushed or closed politely */
		return -1;
	}
	return 0;
}

size_t conn_buffered(const struct conn *c)
{
	size_t len = 0;

	if (c->eng != NULL) {
		br_ssl_engine_recvapp_buf(c->eng, &len);
		return len;
	}
	return c->in_end - c->in_start;
}

int conn_input_pending(const struct conn *c)
{
	unsigned char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (conn_buffered(c) > 0) {
		return 1;
	}
	/* TLS reads stop at a record's end: a further record is still in the socket */
	return recvmsg(c->fd, &msg, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static ssize_t conn_fill_plain(struct conn *c, int64_t deadline)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in, sizeof(c->in));

		if (n >= 0) {
			c->in_start = 0;
			c->in_end = (size_t)n;
			return n;
		}
		if (errno != EAGAIN && errno != EINTR) {
			return -1;
		}
		if (clock_wait_fd(c->fd, POLLIN, deadline) <= 0) {
			return -1;
		}
	}
}

ssize_t conn_peek(struct conn *c, const unsigned char **data, int timeout_s)
{
	size_t len;

	if (c->eng != NULL) {
		*data = br_ssl_engine_recvapp_buf(c->eng, &len);
		if (len == 0) {
			if (tls_pump(c->eng, c->fd, BR_SSL_RECVAPP, conn_deadline(c, timeout_s)) < 0) {
				/* a refused renegotiation leaves the engine mid-record: no polite close */
				c->failed |= errno == TLS_PUMP_RENEGOTIATION;
				/* a clean close_notify or a socket EOF both read as end of input */
				return errno == ETIMEDOUT || errno == ECANCELED || errno == TLS_PUMP_RENEGOTIATION
					   ? -1
					   : (br_ssl_engine_last_error(c->eng) == BR_ERR_OK ? 0 : -1);
			}
			*data = br_ssl_engine_recvapp_buf(c->eng, &len);
		}
		return (ssize_t)len;
	}
	if (c->in_start == c->in_end) {
		ssize_t n = conn_fill_plain(c, conn_deadline(c, timeout_s));

		if (n <= 0) {
			return n;
		}
	}
	*data = c->in + c->in_start;
	return (ssize_t)(c->in_end - c->in_start);
}

void conn_consume(struct conn *c, size_t n)
{
	if (c->eng != NULL) {
		br_ssl_engine_recvapp_ack(c->eng, n);
	} else {
		c->in_start += n;
	}
}

struct conn_line_state {
	size_t len;
	size_t seen;
	int cr;
	int nul;
	int too_long;
};

/* Scans buffered bytes; returns a final status, or -1 to keep reading. */
static int conn_scan_line(struct conn_line_state *st, const unsigned char *p, size_t n, size_t *used, char *line,
			  size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];

		*used = i + 1;
		st->seen++;
		if (b == '\n') {
			return st->cr ? (st->too_long ? CONN_LINE_TOO_LONG
					 : st->nul    ? CONN_LINE_NUL
						      : CONN_LINE_OK)
				      : CONN_LINE_BARE_LF;
		}
		if (st->cr) {
			return CONN_LINE_BARE_CR;
		}
		if (b == '\r') {
			st->cr = 1;
			continue;
		}
		st->nul |= b == '\0';
		if (st->len + 1 < cap) {
			line[st->len++] = (char)b;
		} else {
			st->too_long = 1;
		}
		if (st->seen > CONN_DISCARD_MAX) {
			errno = EMSGSIZE; /* not an I/O error: callers must not read a stale errno */
			return CONN_LINE_ERROR;
		}
	}
	return -1;
}

enum conn_line conn_read_line(struct conn *c, char *line, size_t cap, size_t *len, int timeout_s)
{
	struct conn_line_state st = { 0, 0, 0, 0, 0 };
	int64_t deadline = conn_deadline(c, timeout_s);

	for (;;) {
		const unsigned char *data;
		int64_t left = deadline - clock_now_ms();
		ssize_t n = conn_peek(c, &data, left > 0 ? (int)((left + 999) / 1000) : 0);
		size_t used = 0;
		int rc;

		if (n <= 0) {
			return n == 0 ? CONN_LINE_EOF : CONN_LINE_ERROR;
		}
		rc = conn_scan_line(&st, data, (size_t)n, &used, line, cap);
		conn_consume(c, used);
		if (rc >= 0) {
			line[st.len] = '\0';
			*len = st.len;
			return (enum conn_line)rc;
		}
	}
}

/* The deadline of the wait under way: the flush's, or write_timeout from the first wait of a write. */
static int64_t conn_out_deadline(struct conn *c)
{
	if (c->out_deadline == 0) {
		c->out_deadline = conn_deadline(c, c->write_timeout);
	}
	return c->out_deadline;
}

/* The writer's sink: into the TLS engine (sending records when it is full), or to the socket. */
static ssize_t conn_sink(void *ctx, const char *data, size_t len)
{
	struct conn *c = ctx;

	for (;;) {
		if (c->eng != NULL) {
			size_t room;
			unsigned char *buf = br_ssl_engine_sendapp_buf(c->eng, &room);

			if (room > 0) {
				len = len < room ? len : room;
				memcpy(buf, data, len);
				br_ssl_engine_sendapp_ack(c->eng, len);
				return (ssize_t)len;
			}
			if (tls_pump(c->eng, c->fd, BR_SSL_SENDAPP, conn_out_deadline(c)) < 0) {
				return -1;
			}
			continue;
		}
		ssize_t n = write(c->fd, data, len);

		if (n >= 0 || (errno != EAGAIN && errno != EINTR)) {
			return n;
		}
		if (clock_wait_fd(c->fd, POLLOUT, conn_out_deadline(c)) <= 0) {
			return -1;
		}
	}
}

/* Ends a write or flush: a failed writer fails the connection. */
static int conn_wrote(struct conn *c, int rc)
{
	c->failed |= c->out.err != 0;
	return c->failed ? -1 : rc;
}

int conn_write(struct conn *c, const void *buf, size_t len)
{
	if (c->failed) {
		return -1;
	}
	c->out_deadline = 0;
	return conn_wrote(c, wbuf_put(&c->out, buf, len));
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (c->failed) {
		return -1;
	}
	c->out_deadline = 0;
	va_start(ap, fmt);
	rc = wbuf_vprintf(&c->out, fmt, ap); /* a reply too long for the buffer fails alone */
	va_end(ap);
	return conn_wrote(c, rc);
}

int conn_flush(struct conn *c, int timeout_s)
{
	int rc;

	if (c->failed) {
		return -1;
	}
	c->out_deadline = conn_deadline(c, timeout_s);
	rc = wbuf_flush(&c->out);
	if (rc == 0 && c->eng != NULL) {
		br_ssl_engine_flush(c->eng, 0);
		c->failed = tls_pump(c->eng, c->fd, BR_SSL_SENDAPP, c->out_deadline) < 0;
	}
	return conn_wrote(c, rc);
}

void conn_close(struct conn *c)
{
	if (c->eng != NULL && !c->failed) {
		c->out_deadline = conn_deadline(c, 2);
		(void)wbuf_flush(&c->out); /* what is buffered goes into the engine, ahead of close_notify */
		br_ssl_engine_close(c->eng);
		tls_pump(c->eng, c->fd, BR_SSL_SENDAPP, conn_deadline(c, 2));
	}
	close(c->fd);
	c->fd = -1;
}
