/*
 * queue_ctl.c - queue control connections in the `queue` process (protocol
 * in queue_ctl.h): reads the request line and writes the answer without
 * ever blocking, from the process's poll loop. Each connection has its own
 * bounded answer buffer, refilled as the client reads (queue_ctl_int.h); a
 * client that reads nothing for the timeout is dropped, so no client can
 * hold up the queue (and with it every SMTP session).
 */
#include "queue_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "queue_ctl_int.h"

#define CTL_WRITE_LIMIT 6 /* the whole answer within this many request timeouts */

struct ctl_client {
	int fd;           /* -1: free */
	int answering;    /* 0: reading the request; 1: sending the answer */
	int64_t deadline; /* reading: the whole request; answering: the client's next read */
	int64_t answer_end;
	int64_t only_uid; /* -1, or (SPOOL/public/showq) list only what this local uid submitted */
	const char *verb; /* for the log */
	size_t len;
	char req[QUEUE_CTL_REQUEST_MAX + 1];
	struct ctl_out out;
	struct ctl_job job;
};

static struct spool *ctl_spool;
static unsigned ctl_timeout_ms = QUEUE_CTL_TIMEOUT_MS;
static struct ctl_client ctl_clients[QUEUE_CTL_CLIENTS];

/*
 * The answer writer's sink (ctx: the descriptor): send() without waiting
 * and without SIGPIPE; sendmsg, which the queue's seccomp filter allows.
 */
static ssize_t ctl_send_now(void *ctx, const char *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	return sendmsg(*(const int *)ctx, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* An empty answer buffer writing to *fd, with no step under way. */
static void ctl_out_init(struct ctl_out *o, int *fd)
{
	o->skip = 0;
	o->placed = 0;
	o->full = 0;
	wbuf_init(&o->w, o->buf, sizeof(o->buf), ctl_send_now, fd);
}

void queue_ctl_put(struct ctl_out *o, const char *p, size_t n)
{
	size_t take;

	if (o->skip > 0) {
		take = n < o->skip ? n : (size_t)o->skip;
		o->skip -= take;
		p += take;
		n -= take;
	}
	if (o->full || n == 0) {
		return;
	}
	take = wbuf_put_some(&o->w, p, n);
	o->placed += take;
	o->full = take < n;
}

void queue_ctl_printf(struct ctl_out *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0) {
		queue_ctl_put(o, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}

void queue_ctl_put_text(struct ctl_out *o, const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		queue_ctl_put(o, c < 0x20 || c == 0x7f ? "?" : p, 1);
	}
}

int queue_ctl_json_sink(void *ctx, const char *data, size_t len)
{
	struct ctl_out *o = ctx;

	queue_ctl_put(o, data, len);
	return o->full ? -1 : 0; /* the step is run again later: stop writing it now */
}

/* A small answer (a refusal) to a connection that has no slot: one try, never waiting. */
static void ctl_refuse(int fd, int code, const char *text)
{
	static struct ctl_out o;

	ctl_out_init(&o, &fd);
	queue_ctl_err(&o, code, text);
	(void)wbuf_flush(&o.w);
}

static void ctl_close(struct ctl_client *c)
{
	queue_ctl_list_end(&c->job);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->answering = 0;
}

void queue_ctl_init(struct spool *sp, unsigned timeout_ms)
{
	ctl_spool = sp;
	ctl_timeout_ms = timeout_ms;
	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		ctl_clients[i].fd = -1;
		ctl_clients[i].len = 0;
		ctl_out_init(&ctl_clients[i].out, &ctl_clients[i].fd);
		ctl_clients[i].job = (struct ctl_job){ .kind = CTL_JOB_NONE, .fd = -1 };
	}
}

/* Connections open now from SPOOL/public/showq. */
static unsigned ctl_public_clients(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		n += ctl_clients[i].fd >= 0 && ctl_clients[i].only_uid >= 0;
	}
	return n;
}

void queue_ctl_accept(int fd, int64_t only_uid)
{
	int flags = fcntl(fd, F_GETFL);

	/* anyone may connect to showq: the last slot is root's, so nobody can crowd root out */
	if (only_uid >= 0 && ctl_public_clients() >= QUEUE_CTL_CLIENTS - 1) {
		log_warn("queue: control: %u listing connections already; refusing another", QUEUE_CTL_CLIENTS - 1);
		ctl_refuse(fd, EX_TEMPFAIL, "busy: too many control connections; try again");
		close(fd);
		return;
	}
	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl_clients[i];

		if (c->fd < 0) {
			/* read and written without blocking, from the poll loop */
			if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
				log_err("queue: control: %s", strerror(errno));
				close(fd);
				return;
			}
			c->fd = fd;
			c->len = 0;
			c->answering = 0;
			c->deadline = clock_now_ms() + ctl_timeout_ms;
			c->only_uid = only_uid;
			return;
		}
	}
	log_warn("queue: control: %u connections already; refusing another", QUEUE_CTL_CLIENTS);
	ctl_refuse(fd, EX_TEMPFAIL, "busy: too many control connections; try again");
	close(fd);
}

/* Sends what the buffer holds and refills it, until the socket is full or the answer complete. */
static void ctl_send(struct ctl_client *c)
{
	struct wbuf *w = &c->out.w;

	for (;;) {
		size_t before;
		int rc;

		if (c->job.kind != CTL_JOB_NONE && w->len < w->cap / 2) {
			(void)queue_ctl_list_more(&c->job, ctl_spool, &c->out);
		}
		if (w->len == 0) {
			ctl_close(c); /* the whole answer is sent */
			return;
		}
		before = w->len;
		rc = wbuf_flush(w);
		if (w->len < before) {
			int64_t now = clock_now_ms();

			c->deadline = now + ctl_timeout_ms < c->answer_end ? now + ctl_timeout_ms : c->answer_end;
		}
		if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return; /* POLLOUT brings us back */
		}
		if (rc < 0) {
			log_warn("queue: control: the answer to '%s' could not be written: %s", c->verb,
				 strerror(errno));
			ctl_close(c);
			return;
		}
	}
}

/* From now on the connection is written to: the answer starts in c->out (and c->job). */
static void ctl_start_answer(struct ctl_client *c)
{
	int64_t now = clock_now_ms();

	c->answering = 1;
	c->answer_end = now + (int64_t)ctl_timeout_ms * CTL_WRITE_LIMIT;
	c->deadline = now + ctl_timeout_ms;
	ctl_send(c);
}

/* A refusal before a request was understood: the answer is this line. */
static void ctl_refuse_request(struct ctl_client *c, const char *text)
{
	ctl_out_init(&c->out, &c->fd);
	c->job.kind = CTL_JOB_NONE;
	c->verb = "?";
	queue_ctl_err(&c->out, EX_USAGE, text);
	ctl_start_answer(c);
}

/* The connection is readable: take what came; answer once the line is complete. */
static void ctl_read(struct ctl_client *c)
{
	ssize_t n = read(c->fd, c->req + c->len, QUEUE_CTL_REQUEST_MAX - c->len);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n < 0) {
		ctl_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	nl = memchr(c->req, '\n', c->len);
	if (nl == NULL && n > 0 && c->len < QUEUE_CTL_REQUEST_MAX) {
		return; /* more to come */
	}
	if (nl == NULL || memchr(c->req, '\0', (size_t)(nl - c->req)) != NULL) {
		ctl_refuse_request(c, n == 0 ? "incomplete request: no newline before the end"
					     : "request too long or not text");
		return;
	}
	*nl = '\0';
	ctl_out_init(&c->out, &c->fd); /* nothing of an earlier client's answer: its half-written step neither */
	c->verb = queue_ctl_cmd_answer(ctl_spool, c->req, c->only_uid, &c->out, &c->job);
	ctl_start_answer(c);
}

unsigned queue_ctl_fds(struct pollfd *pfd, unsigned cap)
{
	unsigned n = 0;

	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS && n < cap; i++) {
		if (ctl_clients[i].fd >= 0) {
			short events = ctl_clients[i].answering ? POLLOUT : POLLIN;

			pfd[n++] = (struct pollfd){ .fd = ctl_clients[i].fd, .events = events };
		}
	}
	return n;
}

void queue_ctl_ready(const struct pollfd *pfd, unsigned n)
{
	int64_t now;

	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; pfd[k].revents && i < QUEUE_CTL_CLIENTS; i++) {
			struct ctl_client *c = &ctl_clients[i];

			if (c->fd >= 0 && c->fd == pfd[k].fd) {
				if (c->answering) {
					ctl_send(c);
				} else {
					ctl_read(c);
				}
			}
		}
	}
	now = clock_now_ms();
	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl_clients[i];

		if (c->fd < 0 || now < c->deadline) {
			continue;
		}
		if (c->answering) {
			log_warn("queue: control: the client does not read its answer to '%s'; dropped", c->verb);
			ctl_close(c);
		} else {
			ctl_refuse_request(c, "no complete request line in time");
			if (c->fd >= 0) {
				ctl_close(c); /* one try: a client that does not send need not be waited for */
			}
		}
	}
}

int queue_ctl_timeout_ms(void)
{
	int64_t now = clock_now_ms(), next = -1;

	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		if (ctl_clients[i].fd >= 0 && (next < 0 || ctl_clients[i].deadline < next)) {
			next = ctl_clients[i].deadline;
		}
	}
	if (next < 0) {
		return -1;
	}
	return next <= now ? 0 : (int)(next - now);
}

void queue_ctl_shutdown(void)
{
	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		if (ctl_clients[i].fd >= 0) {
			ctl_close(&ctl_clients[i]);
		}
	}
}
