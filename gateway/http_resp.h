/*
 * http_resp.h - the token endpoint's reply (RFC 9112), parsed incrementally
 * from bytes fed in chunks of any size: the status line (1xx interim replies
 * skipped), the header section, and the body by Content-Length, by chunked
 * transfer coding (extensions and trailers read and ignored) or up to the
 * end of the connection. Allocation-free: the body goes to the caller's
 * buffer; the parser keeps only the first HTTP_RESP_LINE_KEEP bytes of a
 * line (enough for the fields it reads) and counts the rest.
 *
 * Strict where RFC 9112 lets a recipient be: every line ends in CRLF (a bare
 * LF or CR is an error, not a line end), no control byte but HTAB in a line,
 * no obsolete line folding, no space before a field's colon, one
 * Content-Length of digits only, Transfer-Encoding only "chunked" (once) and
 * never beside Content-Length nor in an HTTP/1.0 reply. Errors are sticky.
 * The body holds secrets (tokens): its owner wipes it (http_resp_wipe).
 */
#ifndef SUBGATE_HTTP_RESP_H
#define SUBGATE_HTTP_RESP_H

#include <stddef.h>
#include <sys/types.h>

#define HTTP_RESP_LINE_KEEP 256

enum http_resp_result {
	HTTP_RESP_MORE = 0, /* feed more bytes (or http_resp_eof at the end of the stream) */
	HTTP_RESP_DONE = 1, /* a whole reply: status and body are set */
	/* errors: negative */
	HTTP_RESP_ESTATUS = -1,      /* malformed status line, or 101 */
	HTTP_RESP_ELINE = -2,        /* bare CR or LF, or a control byte in a line */
	HTTP_RESP_EHEADER = -3,      /* malformed field line */
	HTTP_RESP_EFOLD = -4,        /* obsolete line folding */
	HTTP_RESP_EHEADER_SIZE = -5, /* header section (or trailers) over CONFIG_OAUTH_HTTP_MAX_HEADER */
	HTTP_RESP_ELENGTH = -6,      /* Content-Length not 1*DIGIT, overflowing, or given twice */
	HTTP_RESP_EFRAMING = -7,     /* Content-Length and Transfer-Encoding; Transfer-Encoding in HTTP/1.0 */
	HTTP_RESP_ECODING = -8,      /* a transfer coding other than one "chunked" */
	HTTP_RESP_ECHUNK = -9,       /* malformed chunk size line, overflowing size, no CRLF after data */
	HTTP_RESP_EBODY_SIZE = -10,  /* body over the caller's buffer */
	HTTP_RESP_ETRUNCATED = -11,  /* the stream ended inside the reply */
	HTTP_RESP_EIO = -12,         /* http_resp_read: the reader failed (errno) */
};

struct http_resp {
	int status; /* the final reply's status code, once its status line is read */
	char *body; /* the caller's buffer: body_len bytes of body (not NUL-terminated) */
	size_t body_cap;
	size_t body_len;
	/* parser state */
	int state;
	int err;
	int http10;
	int chunked;
	int have_length;
	int cr;
	unsigned long long left; /* Content-Length or the current chunk: bytes to come */
	size_t header_bytes;
	size_t line_len; /* the whole line so far; the first HTTP_RESP_LINE_KEEP bytes are in line */
	char line[HTTP_RESP_LINE_KEEP];
};

void http_resp_init(struct http_resp *r, char *body, size_t body_cap);

/*
 * Parses len bytes of data; *used says how many were taken (fewer than len
 * only at DONE or an error: what follows a reply is not read). Returns an
 * enum http_resp_result.
 */
int http_resp_feed(struct http_resp *r, const char *data, size_t len, size_t *used);

/* The stream ended: DONE if the reply was whole (a body read to the end), else an error. */
int http_resp_eof(struct http_resp *r);

/* Reads from rd until the reply is whole or an error (the small I/O driver: rd
 * is a socket or TLS reader with its own deadline; returns > 0 bytes, 0 at the
 * end of the stream, -1 with errno). Returns DONE or an error. */
typedef ssize_t (*http_resp_reader)(void *ctx, char *buf, size_t len);
int http_resp_read(struct http_resp *r, http_resp_reader rd, void *ctx);

/* A short text for an enum http_resp_result (for logs: names no secret). */
const char *http_resp_strerror(int result);

/* Wipes the body buffer (all of it) and the parser's state. */
void http_resp_wipe(struct http_resp *r);

#endif
