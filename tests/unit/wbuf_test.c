/*
 * wbuf_test.c - lib/wbuf.c, the one output buffer: puts, printf and flush
 * over a recording sink; exact and over capacity; a writer without a sink;
 * sticky errors, EINTR and EAGAIN; partial writes through a real
 * non-blocking socket with a small send buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "wbuf.h"

/* A sink that records what it takes, at most `most` bytes a call, failing as told. */
struct rec {
	char got[4096];
	size_t len;
	unsigned calls;
	size_t most;      /* 0: no limit */
	unsigned fail_at; /* the call that fails (1-based), 0: none */
	int fail_errno;
	int fail_zero; /* the failing call returns 0 instead of -1 */
};

static ssize_t rec_sink(void *ctx, const char *data, size_t len)
{
	struct rec *r = ctx;
	size_t n = r->most != 0 && len > r->most ? r->most : len;

	r->calls++;
	if (r->fail_at != 0 && r->calls == r->fail_at) {
		errno = r->fail_errno;
		return r->fail_zero ? 0 : -1;
	}
	if (n > sizeof(r->got) - r->len) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(r->got + r->len, data, n);
	r->len += n;
	return (ssize_t)n;
}

static struct rec rec;
static char wb_store[16];

static struct wbuf wb_new(void)
{
	struct wbuf w;

	memset(&rec, 0, sizeof(rec));
	wbuf_init(&w, wb_store, sizeof(wb_store), rec_sink, &rec);
	return w;
}

TEST(wbuf_put_buffers_until_flush)
{
	struct wbuf w = wb_new();

	CHECK(wbuf_put(&w, "HELO ", 5) == 0);
	CHECK(wbuf_puts(&w, "x") == 0);
	CHECK(wbuf_printf(&w, " %d\r\n", 42) == 0);
	CHECK(rec.calls == 0 && w.len == 11);
	CHECK(wbuf_flush(&w) == 0);
	CHECK(rec.calls == 1 && rec.len == 11 && w.len == 0);
	CHECK_BYTES(rec.got, "HELO x 42\r\n", 11);
	CHECK(wbuf_flush(&w) == 0); /* nothing buffered: the sink is not called */
	CHECK(rec.calls == 1);
}

TEST(wbuf_exact_and_over_capacity)
{
	struct wbuf w = wb_new();
	char big[40];

	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (char)('a' + i % 26);
	}
	CHECK(wbuf_put(&w, big, 16) == 0); /* exactly full: nothing sent yet */
	CHECK(rec.calls == 0 && w.len == 16);
	CHECK(wbuf_put(&w, "!", 1) == 0); /* one more: the full buffer goes first */
	CHECK(rec.calls == 1 && rec.len == 16 && w.len == 1);
	CHECK(wbuf_put(&w, big, 15) == 0); /* fills it exactly again */
	CHECK(rec.calls == 1 && w.len == 16);
	CHECK(wbuf_put(&w, big, sizeof(big)) == 0); /* larger than the buffer: flush, then straight to the sink */
	CHECK(rec.calls == 3 && rec.len == 16 + 16 + 40 && w.len == 0);
	CHECK_BYTES(rec.got + 16, "!abcdefghijklmno", 16);
	CHECK_BYTES(rec.got + 32, big, sizeof(big));
	CHECK(wbuf_put(&w, big, 10) == 0);
	CHECK(wbuf_put(&w, big, 10) == 0); /* does not fit behind: the first ten go, these wait */
	CHECK(rec.calls == 4 && rec.len == 82 && w.len == 10);
}

TEST(wbuf_printf_flushes_once_or_refuses)
{
	struct wbuf w = wb_new();

	CHECK(wbuf_printf(&w, "%s", "0123456789") == 0);
	CHECK(wbuf_printf(&w, "%s", "abcdefghij") == 0); /* did not fit behind: flushed, formatted again */
	CHECK(rec.calls == 1 && rec.len == 10 && w.len == 10);
	CHECK_BYTES(w.buf, "abcdefghij", 10);
	errno = 0;
	CHECK(wbuf_printf(&w, "%s", "0123456789abcdef") == -1); /* 16 octets never fit in 16 (its NUL) */
	CHECK(errno == EMSGSIZE);
	CHECK(rec.calls == 1 && w.len == 10); /* nothing flushed, nothing written */
	CHECK(w.err == 0);                    /* the writer is still usable */
	CHECK(wbuf_flush(&w) == 0);
	CHECK(wbuf_printf(&w, "%s", "0123456789abcde") == 0); /* 15: the most that fits */
	CHECK(w.len == 15);
}

TEST(wbuf_without_a_sink_only_fills)
{
	char store[8];
	struct wbuf w;

	wbuf_init(&w, store, sizeof(store), NULL, NULL);
	CHECK(wbuf_flush(&w) == 0); /* empty */
	CHECK(wbuf_put(&w, "12345", 5) == 0);
	errno = 0;
	CHECK(wbuf_put(&w, "6789", 4) == -1); /* oversize: refused whole */
	CHECK(errno == ENOBUFS && w.len == 5);
	CHECK(wbuf_put(&w, "678", 3) == 0);
	CHECK(w.len == 8);
	errno = 0;
	CHECK(wbuf_printf(&w, "%d", 9) == -1 && errno == ENOBUFS);
	CHECK(wbuf_flush(&w) == -1 && errno == ENOBUFS);
	CHECK_BYTES(store, "12345678", 8);
	CHECK(w.err == 0);
}

TEST(wbuf_put_some_and_space)
{
	struct wbuf w = wb_new();
	size_t room;
	char *p;

	CHECK(wbuf_put_some(&w, "0123456789", 10) == 10);
	CHECK(wbuf_put_some(&w, "abcdefghij", 10) == 6); /* what fits; the sink is never called */
	CHECK(rec.calls == 0 && w.len == 16);
	CHECK(wbuf_put_some(&w, "z", 1) == 0);
	CHECK(wbuf_flush(&w) == 0);
	p = wbuf_space(&w, &room);
	CHECK(p == wb_store && room == 16);
	memcpy(p, "in place!", 8); /* eight octets, no NUL: the buffer holds bytes */
	wbuf_added(&w, 8);
	p = wbuf_space(&w, &room);
	CHECK(p == wb_store + 8 && room == 8);
	wbuf_added(&w, 100); /* never past the end */
	CHECK(w.len == 16);
	CHECK(wbuf_flush(&w) == 0);
	CHECK_BYTES(rec.got + 16, "in place", 8);
}

TEST(wbuf_sink_error_is_sticky)
{
	struct wbuf w = wb_new();
	size_t room;

	rec.fail_at = 1;
	rec.fail_errno = EIO;
	CHECK(wbuf_put(&w, "data", 4) == 0);
	errno = 0;
	CHECK(wbuf_flush(&w) == -1 && errno == EIO);
	CHECK(w.err == EIO);
	errno = 0;
	CHECK(wbuf_put(&w, "x", 1) == -1 && errno == EIO); /* even one that would fit */
	errno = 0;
	CHECK(wbuf_printf(&w, "x") == -1 && errno == EIO);
	CHECK(wbuf_put_some(&w, "x", 1) == 0);
	(void)wbuf_space(&w, &room);
	CHECK(room == 0);
	CHECK(wbuf_flush(&w) == -1 && rec.calls == 1); /* the sink is not called again */
	wbuf_reset(&w);
	CHECK(wbuf_put(&w, "ok", 2) == 0 && wbuf_flush(&w) == 0);
	CHECK(rec.len == 2 && memcmp(rec.got, "ok", 2) == 0);
}

TEST(wbuf_sink_taking_nothing_is_an_error)
{
	struct wbuf w = wb_new();

	rec.fail_at = 1;
	rec.fail_zero = 1;
	CHECK(wbuf_put(&w, "data", 4) == 0);
	errno = 0;
	CHECK(wbuf_flush(&w) == -1 && errno == EIO && w.err == EIO);
}

TEST(wbuf_partial_writes_eintr_and_eagain)
{
	struct wbuf w = wb_new();

	rec.most = 3; /* a sink that takes little at a time */
	rec.fail_at = 2;
	rec.fail_errno = EINTR; /* retried */
	CHECK(wbuf_put(&w, "0123456789", 10) == 0);
	CHECK(wbuf_flush(&w) == 0);
	CHECK(rec.len == 10 && memcmp(rec.got, "0123456789", 10) == 0);
	CHECK(rec.calls == 5);
	rec.calls = 0;
	rec.fail_at = 2;
	rec.fail_errno = EAGAIN; /* later: what is left stays, moved to the front */
	CHECK(wbuf_put(&w, "abcdefgh", 8) == 0);
	errno = 0;
	CHECK(wbuf_flush(&w) == -1 && errno == EAGAIN);
	CHECK(w.err == 0 && w.len == 5);
	CHECK_BYTES(w.buf, "defgh", 5);
	CHECK(wbuf_flush(&w) == 0);
	CHECK(rec.len == 18 && memcmp(rec.got + 10, "abcdefgh", 8) == 0);
}

static ssize_t sock_sink(void *ctx, const char *data, size_t len)
{
	return send(*(const int *)ctx, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Reads what is waiting (non-blocking) into got; returns the bytes read. */
static size_t sock_drain(int fd, char *got, size_t cap)
{
	size_t have = 0;
	ssize_t n;

	while (have < cap && (n = recv(fd, got + have, cap - have, MSG_DONTWAIT)) > 0) {
		have += (size_t)n;
	}
	return have;
}

TEST(wbuf_partial_writes_on_a_small_socket)
{
	static char store[65536], sent[3 * 65536], got[3 * 65536];
	int sv[2], small = 4096, eagain = 0;
	size_t put = 0, have = 0;
	struct wbuf w;

	for (size_t i = 0; i < sizeof(sent); i++) {
		sent[i] = (char)(i * 7 + i / 251);
	}
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
	wbuf_init(&w, store, sizeof(store), sock_sink, &sv[0]);
	/* as the queue's control socket does: fill, flush until EAGAIN, let the reader read, again */
	for (unsigned rounds = 0; have < sizeof(sent) && rounds < 100000; rounds++) {
		put += wbuf_put_some(&w, sent + put, sizeof(sent) - put);
		if (wbuf_flush(&w) < 0) {
			CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
			eagain++;
		}
		have += sock_drain(sv[1], got + have, sizeof(got) - have);
	}
	CHECK(eagain > 0); /* the socket did fill up */
	CHECK(w.err == 0 && w.len == 0);
	CHECK(have == sizeof(sent));
	CHECK(memcmp(got, sent, sizeof(sent)) == 0);
	close(sv[0]);
	close(sv[1]);
}
