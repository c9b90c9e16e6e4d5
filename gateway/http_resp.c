/*
 * http_resp.c - the incremental HTTP/1.1 reply parser and its read loop
 * (http_resp.h). Pure but for http_resp_read's reader; whichever process
 * talks to a token endpoint (the relay, `subgate oauth login`).
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "http_resp.h"
#include "secret.h"

enum {
	HR_STATUS,
	HR_HEADER,
	HR_BODY_LENGTH,
	HR_BODY_CLOSE,
	HR_CHUNK_SIZE,
	HR_CHUNK_DATA,
	HR_CHUNK_CRLF,
	HR_TRAILER,
	HR_DONE,
};

/* Content-Length and chunk sizes above this are refused before they can overflow. */
#define HR_SIZE_MAX (1ULL << 60)

void http_resp_init(struct http_resp *r, char *body, size_t body_cap)
{
	memset(r, 0, sizeof(*r));
	r->body = body;
	r->body_cap = body_cap;
	r->state = HR_STATUS;
}

static int hr_fail(struct http_resp *r, int err)
{
	r->err = err;
	return err;
}

static int hr_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hr_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* "HTTP/1.x NNN[ reason]": the status; 1xx but 101 are read and skipped later. */
static int hr_status_line(struct http_resp *r)
{
	const char *l = r->line;
	size_t n = r->line_len < HTTP_RESP_LINE_KEEP ? r->line_len : HTTP_RESP_LINE_KEEP;

	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ' || l[9] < '1' ||
	    l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9' || (n > 12 && l[12] != ' ')) {
		return hr_fail(r, HTTP_RESP_ESTATUS);
	}
	r->http10 = l[7] == '0';
	r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (r->status == 101) {
		return hr_fail(r, HTTP_RESP_ESTATUS);
	}
	r->state = HR_HEADER;
	return HTTP_RESP_MORE;
}

static int hr_content_length(struct http_resp *r, const char *v, size_t n)
{
	unsigned long long len = 0;

	if (r->have_length || n == 0) {
		return hr_fail(r, HTTP_RESP_ELENGTH);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || len > HR_SIZE_MAX) {
			return hr_fail(r, HTTP_RESP_ELENGTH);
		}
		len = len * 10 + (unsigned)(v[i] - '0');
	}
	if (len > HR_SIZE_MAX) {
		return hr_fail(r, HTTP_RESP_ELENGTH);
	}
	r->have_length = 1;
	r->left = len;
	return HTTP_RESP_MORE;
}

static int hr_transfer_encoding(struct http_resp *r, const char *v, size_t n)
{
	if (r->http10) {
		return hr_fail(r, HTTP_RESP_EFRAMING);
	}
	if (r->chunked || n != 7 || strncasecmp(v, "chunked", 7) != 0) {
		return hr_fail(r, HTTP_RESP_ECODING);
	}
	r->chunked = 1;
	return HTTP_RESP_MORE;
}

/* One field line (a header, or a trailer when use is 0: checked, not used). */
static int hr_field(struct http_resp *r, int use)
{
	size_t kept = r->line_len < HTTP_RESP_LINE_KEEP ? r->line_len : HTTP_RESP_LINE_KEEP;
	const char *colon = memchr(r->line, ':', kept);
	size_t name_len, b, e;

	if (hr_ows(r->line[0])) {
		return hr_fail(r, HTTP_RESP_EFOLD);
	}
	if (colon == NULL) {
		return hr_fail(r, HTTP_RESP_EHEADER);
	}
	name_len = (size_t)(colon - r->line);
	for (size_t i = 0; i < name_len; i++) {
		if (!hr_tchar((unsigned char)r->line[i])) {
			return hr_fail(r, HTTP_RESP_EHEADER);
		}
	}
	if (name_len == 0) {
		return hr_fail(r, HTTP_RESP_EHEADER);
	}
	int is_cl = name_len == 14 && strncasecmp(r->line, "content-length", 14) == 0;
	int is_te = name_len == 17 && strncasecmp(r->line, "transfer-encoding", 17) == 0;
	if (!use || (!is_cl && !is_te)) {
		return HTTP_RESP_MORE;
	}
	if (r->line_len > HTTP_RESP_LINE_KEEP) {
		return hr_fail(r, HTTP_RESP_EHEADER);
	}
	for (b = name_len + 1; b < kept && hr_ows(r->line[b]); b++) {
	}
	for (e = kept; e > b && hr_ows(r->line[e - 1]); e--) {
	}
	return is_cl ? hr_content_length(r, r->line + b, e - b) : hr_transfer_encoding(r, r->line + b, e - b);
}

/* The empty line after the header section: how the body is framed. */
static int hr_headers_end(struct http_resp *r)
{
	if (r->status < 200) {
		r->have_length = 0;
		r->chunked = 0;
		r->left = 0;
		r->state = HR_STATUS;
		return HTTP_RESP_MORE;
	}
	if (r->chunked && r->have_length) {
		return hr_fail(r, HTTP_RESP_EFRAMING);
	}
	if (r->status == 204 || r->status == 304 || (r->have_length && r->left == 0)) {
		r->state = HR_DONE;
		return HTTP_RESP_DONE;
	}
	if (r->chunked) {
		r->state = HR_CHUNK_SIZE;
	} else if (r->have_length) {
		if (r->left > r->body_cap) {
			return hr_fail(r, HTTP_RESP_EBODY_SIZE);
		}
		r->state = HR_BODY_LENGTH;
	} else {
		r->state = HR_BODY_CLOSE;
	}
	return HTTP_RESP_MORE;
}

static int hr_hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* chunk-size [ BWS ";" chunk-ext ]: extensions are ignored. */
static int hr_chunk_size(struct http_resp *r)
{
	unsigned long long size = 0;
	size_t i = 0;

	for (; i < r->line_len && hr_hex(r->line[i]) >= 0; i++) {
		if (size > HR_SIZE_MAX >> 4) {
			return hr_fail(r, HTTP_RESP_ECHUNK);
		}
		size = size * 16 + (unsigned)hr_hex(r->line[i]);
	}
	if (i == 0 || size > HR_SIZE_MAX) {
		return hr_fail(r, HTTP_RESP_ECHUNK);
	}
	for (; i < r->line_len && hr_ows(r->line[i]); i++) {
	}
	if (i < r->line_len && r->line[i] != ';') {
		return hr_fail(r, HTTP_RESP_ECHUNK);
	}
	if (size > r->body_cap - r->body_len) {
		return hr_fail(r, HTTP_RESP_EBODY_SIZE);
	}
	r->left = size;
	r->state = size == 0 ? HR_TRAILER : HR_CHUNK_DATA;
	return HTTP_RESP_MORE;
}

/* A whole line (its CRLF taken off) in a line state. */
static int hr_line(struct http_resp *r)
{
	switch (r->state) {
	case HR_STATUS:
		return hr_status_line(r);
	case HR_HEADER:
		return r->line_len == 0 ? hr_headers_end(r) : hr_field(r, 1);
	case HR_CHUNK_SIZE:
		return hr_chunk_size(r);
	case HR_CHUNK_CRLF:
		if (r->line_len != 0) {
			return hr_fail(r, HTTP_RESP_ECHUNK);
		}
		r->state = HR_CHUNK_SIZE;
		return HTTP_RESP_MORE;
	default: /* HR_TRAILER */
		if (r->line_len == 0) {
			r->state = HR_DONE;
			return HTTP_RESP_DONE;
		}
		return hr_field(r, 0);
	}
}

/* One byte of a line: CRLF ends it; a bare CR or LF, or a control byte, is an error. */
static int hr_line_byte(struct http_resp *r, unsigned char c)
{
	int in_header = r->state == HR_STATUS || r->state == HR_HEADER || r->state == HR_TRAILER;

	if (in_header && ++r->header_bytes > (size_t)CONFIG_OAUTH_HTTP_MAX_HEADER) {
		return hr_fail(r, HTTP_RESP_EHEADER_SIZE);
	}
	if (r->cr) {
		if (c != '\n') {
			return hr_fail(r, HTTP_RESP_ELINE);
		}
		r->cr = 0;
		int res = hr_line(r);
		r->line_len = 0;
		return res;
	}
	if (c == '\r') {
		r->cr = 1;
		return HTTP_RESP_MORE;
	}
	if ((c < 0x20 && c != '\t') || c == 0x7f) {
		return hr_fail(r, HTTP_RESP_ELINE);
	}
	if (r->line_len < HTTP_RESP_LINE_KEEP) {
		r->line[r->line_len] = (char)c;
	} else if (!in_header) {
		return hr_fail(r, HTTP_RESP_ECHUNK); /* a chunk size line (and its extensions) must fit */
	}
	r->line_len++;
	return HTTP_RESP_MORE;
}

/* Body bytes: as many as the framing allows; returns how many were taken, or 0 on an error. */
static size_t hr_body(struct http_resp *r, const char *data, size_t len)
{
	size_t n = len;

	if (r->state != HR_BODY_CLOSE && n > r->left) {
		n = (size_t)r->left;
	}
	if (n > r->body_cap - r->body_len) {
		hr_fail(r, HTTP_RESP_EBODY_SIZE);
		return 0;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	if (r->state != HR_BODY_CLOSE) {
		r->left -= n;
		if (r->left == 0) {
			r->state = r->state == HR_CHUNK_DATA ? HR_CHUNK_CRLF : HR_DONE;
		}
	}
	return n;
}

int http_resp_feed(struct http_resp *r, const char *data, size_t len, size_t *used)
{
	size_t i = 0;

	while (i < len && r->err == 0 && r->state != HR_DONE) {
		if (r->state == HR_BODY_LENGTH || r->state == HR_BODY_CLOSE || r->state == HR_CHUNK_DATA) {
			i += hr_body(r, data + i, len - i);
			continue;
		}
		(void)hr_line_byte(r, (unsigned char)data[i]);
		i++;
	}
	*used = i;
	if (r->err != 0) {
		return r->err;
	}
	return r->state == HR_DONE ? HTTP_RESP_DONE : HTTP_RESP_MORE;
}

int http_resp_eof(struct http_resp *r)
{
	if (r->err != 0) {
		return r->err;
	}
	if (r->state == HR_BODY_CLOSE) {
		r->state = HR_DONE;
	}
	return r->state == HR_DONE ? HTTP_RESP_DONE : hr_fail(r, HTTP_RESP_ETRUNCATED);
}

int http_resp_read(struct http_resp *r, http_resp_reader rd, void *ctx)
{
	char buf[1024];

	for (;;) {
		ssize_t n = rd(ctx, buf, sizeof(buf));
		size_t used;
		int res;

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			secret_wipe(buf, sizeof(buf));
			return hr_fail(r, HTTP_RESP_EIO);
		}
		res = n == 0 ? http_resp_eof(r) : http_resp_feed(r, buf, (size_t)n, &used);
		if (res != HTTP_RESP_MORE) {
			secret_wipe(buf, sizeof(buf));
			return res;
		}
	}
}

const char *http_resp_strerror(int result)
{
	static const char *const text[] = {
		"reply incomplete",
		"malformed status line",
		"bare CR or LF, or a control byte",
		"malformed header field",
		"obsolete line folding",
		"header section too large",
		"bad Content-Length",
		"ambiguous framing (Content-Length with Transfer-Encoding, or Transfer-Encoding in HTTP/1.0)",
		"unsupported transfer coding",
		"malformed chunk",
		"body too large",
		"connection closed before the end of the reply",
		"read error",
	};

	if (result == HTTP_RESP_DONE) {
		return "ok";
	}
	if (result <= 0 && (size_t)-result < sizeof(text) / sizeof(text[0])) {
		return text[-result];
	}
	return "unknown";
}

void http_resp_wipe(struct http_resp *r)
{
	if (r->body != NULL) {
		secret_wipe(r->body, r->body_cap);
	}
	secret_wipe(r->line, sizeof(r->line));
	r->body_len = 0;
}
