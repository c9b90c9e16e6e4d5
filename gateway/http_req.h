/*
 * http_req.h - the token endpoint's requests (RFC 9112): a POST with a form
 * body (RFC 6749 section 4, application/x-www-form-urlencoded), composed into
 * caller-owned buffers (struct wbuf). Pure: no I/O but the wbuf's own sink.
 * The body carries secrets (refresh tokens, client secrets, codes): its
 * owner wipes the buffer (secret_wipe) once the request is sent.
 */
#ifndef SUBGATE_HTTP_REQ_H
#define SUBGATE_HTTP_REQ_H

#include <stddef.h>

#include "wbuf.h"

/*
 * Percent-encodes in (n bytes): RFC 3986 unreserved characters (ALPHA DIGIT
 * - . _ ~) as they are, every other byte as %XX (upper case). Writes a NUL
 * after it. Returns the length, or -1 if out (cap bytes) is too small.
 */
long http_req_pct_encode(const char *in, size_t n, char *out, size_t cap);

/*
 * Appends name=value to a form body in body (a fixed wbuf: no sink), with
 * '&' before it unless the body is empty; both percent-encoded. Returns 0, or
 * -1 with errno (ENOBUFS: no room; the body is then left as it was).
 */
int http_req_form(struct wbuf *body, const char *name, const char *value);

/*
 * Writes "POST path HTTP/1.1" with Host (host, or host:port when port is
 * not 443), Content-Type application/x-www-form-urlencoded, Accept
 * application/json, Content-Length, Connection: close and User-Agent, then
 * body (body_len bytes). host is a DNS name or an IP literal (IPv6 in
 * brackets), path starts with '/'; neither may hold a space, a control
 * byte or a non-ASCII byte (EINVAL). Returns 0, or -1 with errno.
 */
int http_req_post(struct wbuf *w, const char *host, unsigned port, const char *path, const char *body, size_t body_len);

#endif
