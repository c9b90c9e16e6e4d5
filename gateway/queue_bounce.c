/*
 * queue_bounce.c - turns permanent failures into one bounce message per
 * attempt, committed to the spool like any other message (queue process).
 */
#include "queue_bounce.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "log.h"
#include "secret.h"

#define BOUNCE_HEADERS_MAX   65536
#define QUEUE_BOUNCE_OUT_CAP 512 /* the notice is written to its file in pieces this large */

struct queue_bounce_sink {
	struct spool *sp;
	struct spool_msg *m;
};

/* The bounce writer's sink: the new message's file, counted against the spool's quota. */
static ssize_t queue_bounce_write(void *ctx, const char *data, size_t len)
{
	struct queue_bounce_sink *k = ctx;

	return spool_msg_write(k->sp, k->m, data, len) < 0 ? -1 : (ssize_t)len;
}

/* The original header block (before the first empty line), at most BOUNCE_HEADERS_MAX bytes. */
static size_t queue_bounce_headers(int fd, const struct spool_env *env, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap, (off_t)env->body_offset);
	const char *end;

	if (n <= 0) {
		return 0;
	}
	end = memmem(buf, (size_t)n, "\r\n\r\n", 4);
	return end != NULL ? (size_t)(end - buf) + 2 : (size_t)n;
}

static int queue_bounce_commit(const struct conf *c, struct spool *sp, const struct bounce_info *info,
			       const char *headers, size_t hlen)
{
	const char *rcpts[1] = { info->sender };
	struct spool_envelope env = { .sender = "",
				      .user = "MAILER-DAEMON",
				      .client = "127.0.0.1",
				      .nrcpt = 1,
				      .rcpts = rcpts,
				      .arrival = info->now };
	struct spool_msg m;
	struct queue_bounce_sink sink = { sp, &m };
	char buf[QUEUE_BOUNCE_OUT_CAP];
	struct wbuf out;

	(void)c;
	if (spool_msg_create(sp, &m, &env) < 0) {
		return -1;
	}
	wbuf_init(&out, buf, sizeof(buf), queue_bounce_write, &sink);
	if (bounce_compose(info, headers, hlen, &out) < 0) {
		int err = errno;

		spool_msg_abort(sp, &m);
		errno = err ? err : EINVAL;
		return -1;
	}
	if (spool_msg_commit(sp, &m) < 0) {
		return -1;
	}
	log_info("%s: sender non-delivery notification to <%s>", m.id, info->sender);
	return 0;
}

int queue_bounce_send(const struct conf *c, struct spool *sp, int msg_fd, const struct spool_env *env, const char *id,
		      const struct queue_bounce_rcpt *failed, unsigned nfailed, int expired)
{
	static char headers[BOUNCE_HEADERS_MAX];
	struct bounce_rcpt rcpts[CONFIG_MAX_RECIPIENTS];
	char boundary[64], message_id[ADDR_DOMAIN_MAX + 64];
	unsigned char rnd[8];
	struct bounce_info info;

	if (!CONFIG_BOUNCES || env->sender[0] == '\0') {
		log_info("%s: %u recipient(s) failed; no bounce (%s)", id, nfailed,
			 CONFIG_BOUNCES ? "null sender" : "bounces are disabled");
		return 0;
	}
	for (unsigned i = 0; i < nfailed && i < CONFIG_MAX_RECIPIENTS; i++) {
		rcpts[i] = (struct bounce_rcpt){ failed[i].addr, failed[i].status, failed[i].reply };
	}
	secret_random(rnd, sizeof(rnd));
	snprintf(boundary, sizeof(boundary), "%.16s/%02x%02x%02x%02x%02x%02x%02x%02x/subgate", id, rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(message_id, sizeof(message_id), "<%s.bounce@%s>", id, c->hostname);
	info = (struct bounce_info){ .hostname = c->hostname,
				     .queue_id = id,
				     .sender = env->sender,
				     .smarthost = c->smarthost_host,
				     .arrival = env->arrival,
				     .now = time(NULL),
				     .expired = expired,
				     .nrcpt = nfailed,
				     .rcpts = rcpts,
				     .boundary = boundary,
				     .message_id = message_id };
	if (queue_bounce_commit(c, sp, &info, headers, queue_bounce_headers(msg_fd, env, headers, sizeof(headers))) <
	    0) {
		log_err("%s: cannot queue a bounce to <%s>: %s", id, env->sender, strerror(errno));
		return -1;
	}
	return 0;
}
