/*
 * wbuf.h - the one output buffer (qmail substdio, skalibs buffer): a writer
 * {buf, len, cap} over storage its caller owns, emptied through a sink (a
 * socket, a file, a TLS engine, IPC frames). It never allocates and never
 * grows: what cannot fit is an error the caller sees.
 *
 * Puts that do not fit flush first; data no smaller than the buffer goes
 * from the caller's memory straight to the sink. A sink may take fewer
 * bytes than offered; EINTR is retried; EAGAIN leaves the rest in the
 * buffer (moved to its front) for a later wbuf_flush from a poll loop: a
 * non-blocking writer fills with wbuf_put_some or wbuf_space, never with
 * wbuf_put. Any other sink error is sticky: every later call fails with it.
 */
#ifndef SUBGATE_LIB_WBUF_H
#define SUBGATE_LIB_WBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

/* Takes up to len bytes (len > 0): returns how many (> 0), or -1 with errno. */
typedef ssize_t (*wbuf_sink_fn)(void *ctx, const char *data, size_t len);

struct wbuf {
	char *buf;
	size_t len; /* bytes waiting in buf */
	size_t cap;
	wbuf_sink_fn sink; /* NULL: a fixed buffer that only fills (flush: ENOBUFS) */
	void *ctx;
	int err; /* 0, or the errno of a sink failure: sticky until wbuf_reset */
};

void wbuf_init(struct wbuf *w, char *buf, size_t cap, wbuf_sink_fn sink, void *ctx);

/* Drops what is buffered and a sticky error. */
void wbuf_reset(struct wbuf *w);

/* Writes all n bytes (flushing as needed). Returns 0 or -1 with errno. */
int wbuf_put(struct wbuf *w, const void *data, size_t n);
int wbuf_puts(struct wbuf *w, const char *s);

/*
 * Formats into the free space; if the text does not fit, flushes and
 * formats once more. The text must be shorter than cap (EMSGSIZE, nothing
 * written). Returns 0 or -1 with errno.
 */
int wbuf_printf(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int wbuf_vprintf(struct wbuf *w, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Copies what fits of data, never calling the sink. Returns the bytes taken (0 after a sink error). */
size_t wbuf_put_some(struct wbuf *w, const void *data, size_t n);

/* The free space, for a producer that writes in place; then wbuf_added with what it wrote. */
char *wbuf_space(struct wbuf *w, size_t *room);
void wbuf_added(struct wbuf *w, size_t n);

/*
 * Hands everything buffered to the sink. Returns 0 (empty), or -1 with
 * errno; after EAGAIN the unsent bytes stay buffered.
 */
int wbuf_flush(struct wbuf *w);

#endif
