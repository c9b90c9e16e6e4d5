/*
 * wbuf.c - the buffered writer every output path shares (wbuf.h): the
 * session's client connection, the relay's smarthost connection, the DATA
 * stream to the queue, spool envelopes, bounces, queue control answers and
 * the sendmail client. Owns nothing: the storage is the caller's.
 */
#include "wbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void wbuf_init(struct wbuf *w, char *buf, size_t cap, wbuf_sink_fn sink, void *ctx)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->sink = sink;
	w->ctx = ctx;
	w->err = 0;
}

void wbuf_reset(struct wbuf *w)
{
	w->len = 0;
	w->err = 0;
}

static int wbuf_failed(const struct wbuf *w)
{
	if (w->err != 0) {
		errno = w->err;
		return 1;
	}
	return 0;
}

/*
 * Hands p[0..n) to the sink until all is taken or it fails; *done counts
 * what it took. Returns 0, or -1 with errno (sticky unless EAGAIN).
 */
static int wbuf_drain(struct wbuf *w, const char *p, size_t n, size_t *done)
{
	*done = 0;
	if (n == 0) {
		return 0;
	}
	if (w->sink == NULL) {
		errno = ENOBUFS;
		return -1;
	}
	while (*done < n) {
		ssize_t k = w->sink(w->ctx, p + *done, n - *done);

		if (k > 0) {
			*done += (size_t)k < n - *done ? (size_t)k : n - *done;
			continue;
		}
		if (k == 0) {
			errno = EIO; /* a sink that takes nothing would be called for ever */
		} else if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			w->err = errno;
		}
		return -1;
	}
	return 0;
}

int wbuf_flush(struct wbuf *w)
{
	size_t done;
	int rc;

	if (wbuf_failed(w)) {
		return -1;
	}
	rc = wbuf_drain(w, w->buf, w->len, &done);
	if (done > 0) {
		memmove(w->buf, w->buf + done, w->len - done);
		w->len -= done;
	}
	return rc;
}

int wbuf_put(struct wbuf *w, const void *data, size_t n)
{
	size_t done;

	if (wbuf_failed(w)) {
		return -1;
	}
	if (n <= w->cap - w->len) {
		if (n > 0) {
			memcpy(w->buf + w->len, data, n);
			w->len += n;
		}
		return 0;
	}
	if (w->sink == NULL) {
		errno = ENOBUFS;
		return -1;
	}
	if (wbuf_flush(w) < 0) {
		return -1;
	}
	if (n < w->cap) {
		memcpy(w->buf, data, n);
		w->len = n;
		return 0;
	}
	/* as large as the buffer: copying it would only add a pass */
	if (wbuf_drain(w, data, n, &done) < 0) {
		w->err = w->err != 0 ? w->err : errno; /* part of the data is lost: the stream is broken */
		return -1;
	}
	return 0;
}

int wbuf_puts(struct wbuf *w, const char *s)
{
	return wbuf_put(w, s, strlen(s));
}

int wbuf_vprintf(struct wbuf *w, const char *fmt, va_list ap)
{
	for (int flushed = 0;; flushed = 1) {
		va_list aq;
		int n;

		if (wbuf_failed(w)) {
			return -1;
		}
		va_copy(aq, ap);
		n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, aq);
		va_end(aq);
		if (n < 0) {
			return -1;
		}
		if ((size_t)n < w->cap - w->len) {
			w->len += (size_t)n;
			return 0;
		}
		if ((size_t)n >= w->cap || flushed) {
			errno = EMSGSIZE; /* it cannot fit at all */
			return -1;
		}
		if (wbuf_flush(w) < 0) {
			return -1;
		}
	}
}

int wbuf_printf(struct wbuf *w, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = wbuf_vprintf(w, fmt, ap);
	va_end(ap);
	return rc;
}

size_t wbuf_put_some(struct wbuf *w, const void *data, size_t n)
{
	size_t room = w->cap - w->len;

	if (w->err != 0) {
		return 0;
	}
	n = n < room ? n : room;
	if (n == 0) {
		return 0;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
	return n;
}

char *wbuf_space(struct wbuf *w, size_t *room)
{
	*room = w->err != 0 ? 0 : w->cap - w->len;
	return w->buf + w->len;
}

void wbuf_added(struct wbuf *w, size_t n)
{
	w->len += n < w->cap - w->len ? n : w->cap - w->len;
}
