/*
 * http_req.c - composes the token endpoint's POST and its form body
 * (http_req.h). Pure, whichever process asks: the relay's token refresh and
 * `subgate oauth login`.
 */
#include <errno.h>
#include <string.h>

#include "http_req.h"

static int http_req_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

long http_req_pct_encode(const char *in, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = http_req_unreserved(c) ? 1 : 3;

		if (o >= cap || cap - o <= need) {
			return -1;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= cap) {
		return -1;
	}
	out[o] = '\0';
	return (long)o;
}

/* Encodes s straight into the body's free space; on no room, returns -1. */
static int http_req_put_encoded(struct wbuf *body, const char *s)
{
	size_t room;
	char *p = wbuf_space(body, &room);
	long n = http_req_pct_encode(s, strlen(s), p, room);

	if (n < 0) {
		return -1;
	}
	wbuf_added(body, (size_t)n);
	return 0;
}

int http_req_form(struct wbuf *body, const char *name, const char *value)
{
	size_t was = body->len;

	if ((body->len == 0 || wbuf_put_some(body, "&", 1) == 1) && http_req_put_encoded(body, name) == 0 &&
	    wbuf_put_some(body, "=", 1) == 1 && http_req_put_encoded(body, value) == 0) {
		return 0;
	}
	memset(body->buf + was, 0, body->len - was);
	body->len = was;
	errno = ENOBUFS;
	return -1;
}

/* A host or path byte: visible ASCII only (no space, control or 8-bit byte). */
static int http_req_clean(const char *s, const char *forbid)
{
	if (*s == '\0') {
		return 0;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr(forbid, c) != NULL) {
			return 0;
		}
	}
	return 1;
}

int http_req_post(struct wbuf *w, const char *host, unsigned port, const char *path, const char *body, size_t body_len)
{
	if (!http_req_clean(host, "/?#@\\\"") || path[0] != '/' || !http_req_clean(path, "#\\\"") || port == 0 ||
	    port > 65535) {
		errno = EINVAL;
		return -1;
	}
	if (wbuf_printf(w, "POST %s HTTP/1.1\r\nHost: %s", path, host) < 0) {
		return -1;
	}
	if (port != 443 && wbuf_printf(w, ":%u", port) < 0) {
		return -1;
	}
	if (wbuf_printf(w,
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
			"Content-Length: %zu\r\nConnection: close\r\nUser-Agent: subgate\r\n\r\n",
			body_len) < 0) {
		return -1;
	}
	return wbuf_put(w, body, body_len);
}
