/*
 * queue_msg.c - see queue_msg.h: receives the sessions' messages into the
 * spool (queue process) and checks again what the sessions checked,
 * against the logins auth reports on its own channel. Owns the tables of
 * both channels. A session that disappears loses its unfinished message;
 * nothing partial ever reaches queue/.
 */
#include "queue_msg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "log.h"
#include "queue_sched.h"

struct queue_slot {
	struct spool_msg msg;
	const char *sid;
	int fd;
	int active;
	int error;     /* sticky errno of the current message */
	int last;      /* the last byte stored: '\r' matters, '\n' ends a line; -1 none yet */
	uint64_t size; /* message bytes stored (the envelope not counted) */
	unsigned nrcpt;
	char sender[ADDR_MAX + 1];
	char client[PROTO_ADDR_STR];
};

/* Who logged in on each slot, as auth said (PROTO_AUTH_LOGIN); sid "" before any login. */
struct queue_login {
	char sid[12];
	char user[CONFIG_USERNAME_MAX + 1];
	uint32_t nsenders;
	char senders[CONFIG_USER_MAX_SENDERS][ADDR_MAX + 1];
};

static struct queue_slot queue_slots[CONFIG_MAX_SESSIONS];
static struct queue_login queue_logins[CONFIG_MAX_SESSIONS];
static struct spool *msg_spool;
static const struct conf *msg_conf;
static struct ipc_frame msg_in;      /* a session's frame */
static struct ipc_frame msg_auth_in; /* auth's: read while a session's envelope is in msg_in */
static int msg_auth_fd = -1;         /* auth's channel: who logged in (PROTO_AUTH_LOGIN); -1 once closed */

void queue_msg_init(struct spool *sp, const struct conf *c, int auth_fd)
{
	msg_spool = sp;
	msg_conf = c;
	msg_auth_fd = auth_fd;
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		queue_slots[i].fd = -1;
		queue_slots[i].sid = "";
	}
}

static void queue_reply(struct queue_slot *s, int error, const char *id)
{
	struct proto_q_reply r;

	memset(&r, 0, sizeof(r));
	r.error = error;
	snprintf(r.id, sizeof(r.id), "%s", id ? id : "");
	if (ipc_send(s->fd, PROTO_Q_REPLY, &r, sizeof(r), -1) < 0) {
		log_warn("queue: session %s: cannot reply: %s", s->sid, strerror(errno));
	}
}

static void queue_abort(struct queue_slot *s)
{
	if (s->active) {
		spool_msg_abort(msg_spool, &s->msg);
		s->active = 0;
	}
}

void queue_msg_adopt(unsigned slot, int fd, const char *sid, const char *client)
{
	struct queue_slot *s = &queue_slots[slot];

	queue_abort(s);
	s->fd = fd;
	s->sid = sid;
	s->error = 0;
	snprintf(s->client, sizeof(s->client), "%s", client);
}

void queue_msg_drop(unsigned slot)
{
	queue_abort(&queue_slots[slot]);
	queue_slots[slot].fd = -1;
}

int queue_msg_login(const struct proto_auth_login *l)
{
	struct queue_login *q;

	if (l->slot >= CONFIG_MAX_SESSIONS || l->nsenders > CONFIG_USER_MAX_SENDERS) {
		return -1;
	}
	q = &queue_logins[l->slot];
	memcpy(q->sid, l->session_id, sizeof(q->sid));
	memcpy(q->user, l->user, sizeof(q->user));
	q->nsenders = l->nsenders;
	memcpy(q->senders, l->senders, sizeof(q->senders[0]) * l->nsenders);
	return 0;
}

static int queue_login_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	(void)fd;
	return queue_msg_login((const struct proto_auth_login *)f->payload);
}

static const struct proto_row queue_auth_rows[] = {
	{ .type = PROTO_AUTH_LOGIN,
	  PROTO_SIZE(struct proto_auth_login),
	  .strings = { PROTO_STR(struct proto_auth_login, session_id), PROTO_STR(struct proto_auth_login, user),
		       PROTO_STRS(struct proto_auth_login, senders) },
	  .handler = queue_login_frame },
};

/* auth's word on logins (a slot or a count out of range is refused too); a refused frame is skipped. */
const struct proto_table queue_msg_auth_frames = PROTO_TABLE("queue: from auth", "skipped", queue_auth_rows);

int queue_msg_auth_fd(void)
{
	return msg_auth_fd;
}

void queue_msg_auth_drain(void)
{
	struct pollfd p = { .fd = msg_auth_fd, .events = POLLIN };

	while (msg_auth_fd >= 0 && poll(&p, 1, 0) == 1) {
		int rc = proto_recv(msg_auth_fd, &queue_msg_auth_frames, NULL, &msg_auth_in, NULL);

		if (rc == 0 || (rc < 0 && errno != EPROTO)) {
			log_err("queue: the channel from auth closed; no network session can queue mail now");
			close(msg_auth_fd);
			msg_auth_fd = -1;
		}
	}
}

/*
 * Whether the envelope's user and sender are what auth allowed the login of
 * this slot's session (a local session has no login: the master named it).
 */
static int queue_login_allows(unsigned slot, const char *user, const char *sender, const char *client)
{
	const struct queue_login *q = &queue_logins[slot];

	if (strncmp(client, "local ", 6) == 0) {
		return 1;
	}
	if (strcmp(q->sid, queue_slots[slot].sid) != 0 || strcmp(q->user, user) != 0) {
		return 0; /* no login on this session (a stale one is another session's) */
	}
	for (uint32_t i = 0; i < q->nsenders; i++) {
		if (addr_matches_spec(sender, q->senders[i])) {
			return 1;
		}
	}
	return 0;
}

/* A refusal of what the session should never have sent: logged as the session's fault. */
static void queue_refuse(struct queue_slot *s, int err, const char *why)
{
	log_err("queue: session %s: %s; message refused", s->sid, why);
	s->error = err;
	queue_abort(s);
}

static void queue_begin(unsigned slot, const struct proto_q_begin *b)
{
	struct queue_slot *s = &queue_slots[slot];
	const char *rcpts[CONFIG_MAX_RECIPIENTS];
	struct spool_envelope env;

	queue_abort(s);
	s->error = 0;
	if (envelope_unpack(b, &env, rcpts) < 0) {
		log_err("queue: session %s: malformed envelope", s->sid);
		queue_reply(s, EPROTO, NULL);
		return;
	}
	if (strcmp(env.client, s->client) != 0) {
		queue_refuse(s, EPERM, "the envelope names another client than the connection's");
		queue_reply(s, EPERM, NULL);
		return;
	}
	if (!queue_login_allows(slot, env.user, env.sender, env.client)) {
		queue_refuse(s, EPERM, "the envelope's user or sender is not what auth allowed the login");
		queue_reply(s, EPERM, NULL);
		return;
	}
	if (spool_msg_create(msg_spool, &s->msg, &env) < 0) {
		int err = errno;

		log_warn("queue: session %s: cannot accept a message: %s", s->sid, strerror(err));
		queue_reply(s, err, NULL);
		return;
	}
	s->active = 1;
	s->last = -1;
	s->size = 0;
	snprintf(s->sender, sizeof(s->sender), "%s", env.sender);
	s->nrcpt = b->nrcpt;
	queue_reply(s, 0, s->msg.id);
}

/* Whether buf continues CRLF text after the byte *last: no bare CR, bare LF or NUL. */
static int queue_text_ok(const unsigned char *buf, size_t len, int *last)
{
	int prev = *last;

	for (size_t i = 0; i < len; i++) {
		int c = buf[i];

		if (c == '\0' || (c == '\n') != (prev == '\r')) {
			return 0;
		}
		prev = c;
	}
	*last = prev;
	return 1;
}

static void queue_data(struct queue_slot *s, const void *buf, size_t len)
{
	if (!s->active || s->error) {
		return;
	}
	if (len > msg_conf->max_message_size + QUEUE_MSG_ADDED_MAX - s->size) {
		queue_refuse(s, EFBIG, "the message exceeds max_message_size");
		return;
	}
	if (!queue_text_ok(buf, len, &s->last)) {
		queue_refuse(s, EBADMSG, "the message holds a bare CR, a bare LF or a NUL");
		return;
	}
	if (spool_msg_write(msg_spool, &s->msg, buf, len) < 0) {
		s->error = errno;
		log_warn("%s: cannot store message: %s", s->msg.id, strerror(s->error));
		queue_abort(s);
		return;
	}
	s->size += len;
}

static void queue_end(struct queue_slot *s)
{
	char id[SPOOL_ID_LEN + 1];
	uint64_t size;

	if (s->active && s->last != '\n' && s->last != -1) {
		queue_refuse(s, EBADMSG, "the message does not end with CRLF");
	}
	if (!s->active) {
		queue_reply(s, s->error ? s->error : EPROTO, NULL);
		return;
	}
	memcpy(id, s->msg.id, sizeof(id));
	size = s->msg.bytes;
	s->active = 0;
	if (spool_msg_commit(msg_spool, &s->msg) < 0) {
		int err = errno;

		log_err("%s: cannot commit message: %s", id, strerror(err));
		queue_reply(s, err, NULL);
		return;
	}
	log_info("%s: from=<%s>, size=%llu, nrcpt=%u (queue active)", id, s->sender, (unsigned long long)size,
		 s->nrcpt);
	queue_reply(s, 0, id);
	queue_sched_dirty();
}

static int queue_check_frame(void *ctx, struct ipc_frame *f, int fd)
{
	const struct proto_q_check *q = (const struct proto_q_check *)f->payload;

	(void)fd;
	queue_reply(ctx, spool_quota_check(msg_spool, q->size) < 0 ? errno : 0, NULL);
	return 0;
}

/* The envelope: its `len` must be what the frame carries; auth's logins are read first. */
static int queue_begin_frame(void *ctx, struct ipc_frame *f, int fd)
{
	const struct proto_q_begin *b = (const struct proto_q_begin *)f->payload;

	(void)fd;
	if (f->hdr.len != proto_q_begin_size(b)) {
		return -1;
	}
	queue_msg_auth_drain(); /* auth wrote the login before the session could send this */
	queue_begin((unsigned)((struct queue_slot *)ctx - queue_slots), b);
	return 0;
}

static int queue_data_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)fd;
	queue_data(ctx, f->payload, f->hdr.len);
	return 0;
}

static int queue_end_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)f;
	(void)fd;
	queue_end(ctx);
	return 0;
}

static int queue_abort_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)f;
	(void)fd;
	queue_abort(ctx);
	return 0;
}

static const struct proto_row queue_session_rows[] = {
	{ .type = PROTO_Q_CHECK, PROTO_SIZE(struct proto_q_check), .handler = queue_check_frame },
	{ .type = PROTO_Q_BEGIN,
	  .min_len = offsetof(struct proto_q_begin, strings),
	  .max_len = sizeof(struct proto_q_begin),
	  .handler = queue_begin_frame },
	{ .type = PROTO_Q_DATA, .min_len = 0, .max_len = IPC_PAYLOAD_MAX, .handler = queue_data_frame },
	{ .type = PROTO_Q_END, .handler = queue_end_frame },
	{ .type = PROTO_Q_ABORT, .handler = queue_abort_frame },
};

/* A session's message (ctx: its struct queue_slot). A refused frame drops the session. */
const struct proto_table queue_msg_session_frames = PROTO_TABLE("queue: session", "dropping it", queue_session_rows);

int queue_msg_recv(unsigned slot)
{
	struct queue_slot *s = &queue_slots[slot];
	int rc = proto_recv(s->fd, &queue_msg_session_frames, s->sid, &msg_in, s);

	if (rc < 0 && errno != EPROTO) {
		log_err("queue: session %s: refused a frame (%s); dropping it", s->sid, strerror(errno));
	}
	return rc > 0 ? 0 : -1;
}
