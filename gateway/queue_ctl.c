/*
 * queue_ctl.c - queue control connections in the `queue` process (protocol
 * in queue_ctl.h): waits for the request line without blocking, parses it
 * against a table of verbs, runs it (flush, delete, hold, release here;
 * list and show in queue_ctl_list.c), answers with blocking writes, closes.
 */
#include "queue_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queue_ctl_int.h"
#include "queue_sched.h"
#include "spool_state.h"

#define CTL_WRITE_LIMIT 6 /* the whole answer within this many request timeouts */

struct ctl_client {
	int64_t deadline;
	size_t len;
	int64_t only_uid; /* -1, or (SPOOL/public/showq) list only what this local uid submitted */
	int fd;           /* -1: free */
	char req[QUEUE_CTL_REQUEST_MAX + 1];
};

struct ctl_request {
	const char *verb;
	const char *id; /* NULL for verbs without one */
	int json;
};

struct ctl_verb {
	const char *name;
	int takes_id;
	void (*run)(struct ctl_out *o, const struct ctl_request *r);
};

static struct spool *ctl_spool;
static unsigned ctl_timeout_ms = QUEUE_CTL_TIMEOUT_MS;
static struct ctl_client ctl_clients[QUEUE_CTL_CLIENTS];
static struct ctl_out ctl_answer;
static int64_t ctl_only_uid = -1; /* the connection being answered may list only this uid's mail */

int64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_flush(struct ctl_out *o)
{
	size_t done = 0;

	while (!o->failed && done < o->len) {
		struct iovec iov = { o->buf + done, o->len - done };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = sendmsg(o->fd, &msg, MSG_NOSIGNAL); /* never SIGPIPE */

		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			o->failed = 1; /* EAGAIN here is the socket's send timeout */
		}
		if (ctl_now_ms() > o->deadline) {
			o->failed = 1;
		}
	}
	o->len = 0;
	return o->failed ? -1 : 0;
}

void ctl_put(struct ctl_out *o, const char *p, size_t n)
{
	while (n > 0 && !o->failed) {
		size_t room = sizeof(o->buf) - o->len, take = n < room ? n : room;

		memcpy(o->buf + o->len, p, take);
		o->len += take;
		p += take;
		n -= take;
		if (o->len == sizeof(o->buf)) {
			(void)ctl_flush(o);
		}
	}
}

void ctl_printf(struct ctl_out *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0) {
		ctl_put(o, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}

void ctl_put_text(struct ctl_out *o, const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		ctl_put(o, c < 0x20 || c == 0x7f ? "?" : p, 1);
	}
}

int ctl_json_sink(void *ctx, const char *data, size_t len)
{
	struct ctl_out *o = ctx;

	ctl_put(o, data, len);
	return o->failed ? -1 : 0;
}

/* The status line of a refusal; TEXT is one line. */
static void ctl_err(struct ctl_out *o, int code, const char *text)
{
	ctl_printf(o, "err %d ", code);
	ctl_put_text(o, text);
	ctl_put(o, "\n", 1);
}

/* An action's result: a line of text, or {"id":ID,"result":WHAT}. */
static void ctl_done(struct ctl_out *o, const struct ctl_request *r, const char *what, const char *text)
{
	struct json j;

	ctl_put(o, "ok\n", 3);
	if (!r->json) {
		ctl_printf(o, "%s: %s\n", r->id, text);
		return;
	}
	json_init(&j, ctl_json_sink, o);
	json_object_begin(&j);
	json_key(&j, "id");
	json_string(&j, r->id);
	json_key(&j, "result");
	json_string(&j, what);
	json_object_end(&j);
	(void)json_finish(&j);
	ctl_put(o, "\n", 1);
}

/* Finds the message for delete, hold, release; answers the refusal itself. Returns 1 if found. */
static int ctl_find(struct ctl_out *o, const struct ctl_request *r, enum spool_where *where, int may_be_active)
{
	const char *active = queue_sched_active();
	char text[96];
	int rc = spool_locate(ctl_spool, r->id, where);

	if (rc < 0) {
		snprintf(text, sizeof(text), "%s: cannot look up the message: %s", r->id, strerror(errno));
		ctl_err(o, EX_IOERR, text);
		return 0;
	}
	if (rc == 0) {
		snprintf(text, sizeof(text), "no message %s in the queue", r->id);
		ctl_err(o, EX_NOUSER, text);
		return 0;
	}
	if (!may_be_active && active != NULL && strcmp(active, r->id) == 0) {
		snprintf(text, sizeof(text), "%s is being delivered now; try again", r->id);
		ctl_err(o, EX_TEMPFAIL, text);
		return 0;
	}
	return 1;
}

/* A spool step failed after the message was found. */
static void ctl_failed(struct ctl_out *o, const struct ctl_request *r, const char *what)
{
	char text[128];

	log_err("%s: cannot %s: %s", r->id, what, strerror(errno));
	snprintf(text, sizeof(text), "%s: cannot %s: %s", r->id, what, strerror(errno));
	ctl_err(o, EX_IOERR, text);
}

static void ctl_run_delete(struct ctl_out *o, const struct ctl_request *r)
{
	enum spool_where where;

	if (!ctl_find(o, r, &where, 0)) {
		return;
	}
	if (spool_delete(ctl_spool, r->id, where) < 0) {
		ctl_failed(o, r, "delete");
		return;
	}
	log_info("%s: removed (deleted by the operator)", r->id);
	ctl_done(o, r, "deleted", "deleted");
}

static void ctl_run_hold(struct ctl_out *o, const struct ctl_request *r)
{
	enum spool_where where;

	if (!ctl_find(o, r, &where, 0)) {
		return;
	}
	if (where != SPOOL_IN_HOLD && spool_hold(ctl_spool, r->id, where) < 0) {
		ctl_failed(o, r, "put on hold");
		return;
	}
	if (where != SPOOL_IN_HOLD) {
		log_info("%s: placed on hold by the operator", r->id);
	}
	ctl_done(o, r, "held", where == SPOOL_IN_HOLD ? "already on hold" : "placed on hold");
}

static void ctl_run_release(struct ctl_out *o, const struct ctl_request *r)
{
	enum spool_where where;
	char text[64];

	if (!ctl_find(o, r, &where, 1)) {
		return;
	}
	if (where != SPOOL_IN_HOLD) {
		snprintf(text, sizeof(text), "%s is not on hold", r->id);
		ctl_err(o, EX_NOUSER, text);
		return;
	}
	if (spool_release(ctl_spool, r->id) < 0) {
		ctl_failed(o, r, "release");
		return;
	}
	log_info("%s: released from hold by the operator", r->id);
	queue_sched_dirty();
	ctl_done(o, r, "released", "released");
}

static void ctl_run_flush(struct ctl_out *o, const struct ctl_request *r)
{
	unsigned n = queue_sched_flush();
	struct json j;

	ctl_put(o, "ok\n", 3);
	if (!r->json) {
		ctl_printf(o, "flush: %u deferred message%s due now\n", n, n == 1 ? "" : "s");
		return;
	}
	json_init(&j, ctl_json_sink, o);
	json_object_begin(&j);
	json_key(&j, "result");
	json_string(&j, "flushed");
	json_key(&j, "count");
	json_uint(&j, n);
	json_object_end(&j);
	(void)json_finish(&j);
	ctl_put(o, "\n", 1);
}

static void ctl_run_list(struct ctl_out *o, const struct ctl_request *r)
{
	ctl_put(o, "ok\n", 3);
	(void)ctl_list(o, ctl_spool, r->json, ctl_only_uid);
}

static void ctl_run_show(struct ctl_out *o, const struct ctl_request *r)
{
	char text[128];
	int code = ctl_show(o, ctl_spool, r->id, r->json, text, sizeof(text));

	if (code != 0) {
		ctl_err(o, code, text);
	}
}

static const struct ctl_verb ctl_verbs[] = {
	{ "list", 0, ctl_run_list },     { "show", 1, ctl_run_show }, { "flush", 0, ctl_run_flush },
	{ "delete", 1, ctl_run_delete }, { "hold", 1, ctl_run_hold }, { "release", 1, ctl_run_release },
};

/* Splits "VERB [ID] [json]" (single spaces) in place. Returns the verb, or NULL with err set. */
static const struct ctl_verb *ctl_parse(char *line, struct ctl_request *r, const char **err)
{
	char *words[4];
	unsigned n = 0, want;
	const struct ctl_verb *v = NULL;

	memset(r, 0, sizeof(*r));
	for (char *p = line; n < 4;) {
		char *sp = strchr(p, ' ');

		words[n++] = p;
		if (sp == NULL) {
			break;
		}
		*sp = '\0';
		p = sp + 1;
	}
	for (size_t i = 0; i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++) {
		if (strcmp(words[0], ctl_verbs[i].name) == 0) {
			v = &ctl_verbs[i];
		}
	}
	if (v == NULL) {
		*err = "unknown request (list, show ID, flush, delete ID, hold ID, release ID; optionally json)";
		return NULL;
	}
	want = 1 + (unsigned)v->takes_id;
	r->json = n == want + 1 && strcmp(words[want], "json") == 0;
	if (n != want + (unsigned)r->json) {
		*err = v->takes_id ? "malformed request: expected VERB ID [json]"
				   : "malformed request: expected VERB [json]";
		return NULL;
	}
	if (v->takes_id && !spool_is_id(words[1])) {
		*err = "malformed queue id (16 lowercase hex digits)";
		return NULL;
	}
	r->verb = v->name;
	r->id = v->takes_id ? words[1] : NULL;
	return v;
}

/* Answers one complete request line (without its "\n"). */
static void ctl_answer_line(int fd, char *line)
{
	struct ctl_out *o = &ctl_answer;
	struct ctl_request r;
	const char *err = NULL;
	const struct ctl_verb *v;
	size_t len = strlen(line);

	if (len > 0 && line[len - 1] == '\r') {
		line[len - 1] = '\0';
	}
	o->fd = fd;
	o->failed = 0;
	o->len = 0;
	o->deadline = ctl_now_ms() + (int64_t)ctl_timeout_ms * CTL_WRITE_LIMIT;
	v = ctl_parse(line, &r, &err);
	if (v == NULL) {
		ctl_err(o, EX_USAGE, err);
	} else if (ctl_only_uid >= 0 && v->run != ctl_run_list) {
		ctl_err(o, EX_NOPERM, "only root may do that; others may list their own messages");
	} else {
		v->run(o, &r);
	}
	if (ctl_flush(o) < 0) {
		log_warn("queue: control: the answer to '%s' could not be written", v != NULL ? v->name : "?");
	}
}

/* Answers a refusal before any request was read, and closes. */
static void ctl_refuse(int fd, int code, const char *text)
{
	struct ctl_out *o = &ctl_answer;

	o->fd = fd;
	o->failed = 0;
	o->len = 0;
	o->deadline = ctl_now_ms() + ctl_timeout_ms;
	ctl_err(o, code, text);
	(void)ctl_flush(o);
}

static void ctl_close(struct ctl_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

void queue_ctl_init(struct spool *sp, unsigned timeout_ms)
{
	ctl_spool = sp;
	ctl_timeout_ms = timeout_ms;
	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		ctl_clients[i].fd = -1;
		ctl_clients[i].len = 0;
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
			/* read without blocking from the poll loop; answered with blocking writes */
			if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
				log_err("queue: control: %s", strerror(errno));
				close(fd);
				return;
			}
			c->fd = fd;
			c->len = 0;
			c->deadline = ctl_now_ms() + ctl_timeout_ms;
			c->only_uid = only_uid;
			return;
		}
	}
	log_warn("queue: control: %u connections already; refusing another", QUEUE_CTL_CLIENTS);
	ctl_refuse(fd, EX_TEMPFAIL, "busy: too many control connections; try again");
	close(fd);
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
		ctl_refuse(c->fd, EX_USAGE,
			   n == 0 ? "incomplete request: no newline before the end" : "request too long or not text");
	} else {
		*nl = '\0';
		(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
		ctl_only_uid = c->only_uid;
		ctl_answer_line(c->fd, c->req);
		ctl_only_uid = -1;
	}
	ctl_close(c);
}

unsigned queue_ctl_fds(struct pollfd *pfd, unsigned cap)
{
	unsigned n = 0;

	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS && n < cap; i++) {
		if (ctl_clients[i].fd >= 0) {
			pfd[n++] = (struct pollfd){ .fd = ctl_clients[i].fd, .events = POLLIN };
		}
	}
	return n;
}

void queue_ctl_ready(const struct pollfd *pfd, unsigned n)
{
	int64_t now;

	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; pfd[k].revents && i < QUEUE_CTL_CLIENTS; i++) {
			if (ctl_clients[i].fd >= 0 && ctl_clients[i].fd == pfd[k].fd) {
				ctl_read(&ctl_clients[i]);
			}
		}
	}
	now = ctl_now_ms();
	for (unsigned i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl_clients[i];

		if (c->fd >= 0 && now >= c->deadline) {
			ctl_refuse(c->fd, EX_USAGE, "no complete request line in time");
			ctl_close(c);
		}
	}
}

int queue_ctl_timeout_ms(void)
{
	int64_t now = ctl_now_ms(), next = -1;

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
