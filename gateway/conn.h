/*
 * conn.h - one SMTP connection, plain or TLS, as its end point sees it: the
 * session's connection to its client (plaintext until STARTTLS, or TLS from
 * the first byte on an implicit-TLS listener) and the relay's to the
 * smarthost (TLS client engine). TLS records move through tls_pump. Reads
 * are zero-copy views of buffered input (conn_peek / conn_consume); writes
 * are buffered (wbuf.h) until conn_flush. Every wait has a deadline; every
 * buffer is fixed-size.
 */
#ifndef SUBGATE_CONN_H
#define SUBGATE_CONN_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wbuf.h"

#define CONN_PLAIN_IN 4096
#define CONN_OUT      2048

struct conn {
	int fd;
	br_ssl_engine_context *eng; /* NULL while plaintext */
	unsigned char in[CONN_PLAIN_IN];
	size_t in_start, in_end;
	struct wbuf out; /* over out_buf; its sink writes to the socket, or into the TLS engine */
	char out_buf[CONN_OUT];
	int64_t out_deadline; /* of the write or flush under way; 0: write_timeout from the first wait */
	int failed;           /* sticky: a write or flush failed */
	int write_timeout;    /* seconds a buffered write may wait for the peer (conn_init: 30) */
	int64_t limit_ms;     /* 0, or a clock_now_ms() time no wait may pass (the login deadline) */
};

enum conn_line {
	CONN_LINE_OK,
	CONN_LINE_EOF,
	CONN_LINE_ERROR,    /* I/O error, timeout (errno ETIMEDOUT), line past the discard limit (EMSGSIZE) */
	CONN_LINE_TOO_LONG, /* discarded up to its LF */
	CONN_LINE_BARE_CR,  /* CR not followed by LF */
	CONN_LINE_BARE_LF,  /* LF not preceded by CR */
	CONN_LINE_NUL,      /* NUL byte in the line */
};

/* Takes over a connected socket (made non-blocking). */
void conn_init(struct conn *c, int fd);

/*
 * The end of a wait of timeout_s seconds starting at now_ms, but never later
 * than limit_ms (0: no limit). Pure.
 */
int64_t conn_deadline_at(int64_t now_ms, int timeout_s, int64_t limit_ms);

/*
 * Postfix smtpd_min_data_rate: the time by which a transfer that began at
 * start_ms and has received `bytes` must be over: base_s seconds plus one
 * second per min_rate bytes (min_rate 0: no bound, returns INT64_MAX). Pure.
 */
int64_t conn_rate_deadline(int64_t start_ms, uint64_t bytes, unsigned base_s, unsigned min_rate);

/* Switches to TLS on an engine that is already reset; runs the handshake. Returns 0 or -1. */
int conn_start_tls(struct conn *c, br_ssl_engine_context *eng, int timeout_s);

/*
 * Makes input available: returns the number of buffered bytes (>0) with
 * *data pointing at them, 0 on EOF, -1 on error or timeout (errno).
 */
ssize_t conn_peek(struct conn *c, const unsigned char **data, int timeout_s);
void conn_consume(struct conn *c, size_t n);

/* Bytes of input already buffered (no I/O). */
size_t conn_buffered(const struct conn *c);

/*
 * 1 if the client has sent anything not yet read: bytes buffered here or in
 * TLS, or waiting in the socket (peeked, never consumed). An EOF is not input.
 */
int conn_input_pending(const struct conn *c);

/* Reads one CRLF-terminated line (without CRLF, NUL-terminated) of at most cap-1 bytes. */
enum conn_line conn_read_line(struct conn *c, char *line, size_t cap, size_t *len, int timeout_s);

int conn_write(struct conn *c, const void *buf, size_t len);
int conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int conn_flush(struct conn *c, int timeout_s);

/* Sends TLS close_notify (best effort) and closes the socket. */
void conn_close(struct conn *c);

#endif
