/*
 * queue_proc.c - the `queue` process: one spool message per session at a
 * time. A session that disappears (EOF on its socket) loses its unfinished
 * message; nothing partial ever reaches queue/.
 */
#include "queue_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_reload.h"
#include "fdmap.h"
#include "fsutil.h"
#include "log.h"
#include "proto.h"
#include "queue_ctl.h"
#include "queue_sched.h"
#include "service.h"

struct queue_slot {
	struct spool_msg msg;
	const char *sid;
	int fd;
	int active;
	int error; /* sticky errno of the current message */
	unsigned nrcpt;
	char sender[ADDR_MAX + 1];
};

static struct service queue_service;
static struct queue_slot queue_slots[CONFIG_MAX_SESSIONS];
static struct spool *queue_spool;
static struct ipc_frame queue_in;

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
		spool_msg_abort(queue_spool, &s->msg);
		s->active = 0;
	}
}

/* Splits the packed envelope into strings; returns 0 or -1 if malformed. */
static int queue_unpack(struct proto_q_begin *b, const char **fields, unsigned nfields)
{
	size_t pos = 0;

	if (b->len > sizeof(b->strings)) {
		return -1;
	}
	for (unsigned i = 0; i < nfields; i++) {
		const char *nul = memchr(b->strings + pos, '\0', b->len - pos);

		if (nul == NULL) {
			return -1;
		}
		fields[i] = b->strings + pos;
		pos = (size_t)(nul - b->strings) + 1;
	}
	return pos == b->len ? 0 : -1;
}

static void queue_begin(struct queue_slot *s, struct proto_q_begin *b)
{
	const char *fields[3 + CONFIG_MAX_RECIPIENTS];
	struct spool_envelope env;

	queue_abort(s);
	s->error = 0;
	if (b->nrcpt == 0 || b->nrcpt > CONFIG_MAX_RECIPIENTS || queue_unpack(b, fields, 3 + b->nrcpt) < 0) {
		log_err("queue: session %s: malformed envelope", s->sid);
		queue_reply(s, EPROTO, NULL);
		return;
	}
	env = (struct spool_envelope){ .sender = fields[0],
				       .user = fields[1],
				       .client = fields[2],
				       .nrcpt = b->nrcpt,
				       .rcpts = fields + 3,
				       .arrival = (time_t)b->arrival };
	if (spool_msg_create(queue_spool, &s->msg, &env) < 0) {
		int err = errno;

		log_warn("queue: session %s: cannot accept a message: %s", s->sid, strerror(err));
		queue_reply(s, err, NULL);
		return;
	}
	s->active = 1;
	snprintf(s->sender, sizeof(s->sender), "%s", fields[0]);
	s->nrcpt = b->nrcpt;
	queue_reply(s, 0, s->msg.id);
}

static void queue_data(struct queue_slot *s, const void *buf, size_t len)
{
	if (!s->active || s->error) {
		return;
	}
	if (spool_msg_write(queue_spool, &s->msg, buf, len) < 0) {
		s->error = errno;
		log_warn("%s: cannot store message: %s", s->msg.id, strerror(s->error));
		queue_abort(s);
	}
}

static void queue_end(struct queue_slot *s)
{
	char id[SPOOL_ID_LEN + 1];
	uint64_t size;

	if (!s->active) {
		queue_reply(s, s->error ? s->error : EPROTO, NULL);
		return;
	}
	memcpy(id, s->msg.id, sizeof(id));
	size = s->msg.bytes;
	s->active = 0;
	if (spool_msg_commit(queue_spool, &s->msg) < 0) {
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

static void queue_request(unsigned slot)
{
	struct queue_slot *s = &queue_slots[slot];
	int rc = ipc_recv(s->fd, &queue_in, NULL);
	uint32_t type = queue_in.hdr.type, len = queue_in.hdr.len;

	if (rc <= 0) {
		if (rc < 0) {
			log_err("queue: session %s: refused a frame (%s); dropping it", s->sid, strerror(errno));
		}
		service_drop(&queue_service, slot);
	} else if (type == PROTO_Q_DATA) {
		queue_data(s, queue_in.payload, len);
	} else if (type == PROTO_Q_CHECK && len == sizeof(struct proto_q_check)) {
		const struct proto_q_check *q = (const struct proto_q_check *)queue_in.payload;

		queue_reply(s, spool_quota_check(queue_spool, q->size) < 0 ? errno : 0, NULL);
	} else if (type == PROTO_Q_BEGIN && len >= offsetof(struct proto_q_begin, strings) &&
		   len == proto_q_begin_size((const struct proto_q_begin *)queue_in.payload)) {
		queue_begin(s, (struct proto_q_begin *)queue_in.payload);
	} else if (type == PROTO_Q_END && len == 0) {
		queue_end(s);
	} else if (type == PROTO_Q_ABORT && len == 0) {
		queue_abort(s);
	} else {
		log_err("queue: session %s sent a malformed frame (type %u, %u bytes); dropping it", s->sid, type, len);
		service_drop(&queue_service, slot);
	}
}

static void queue_adopt(unsigned slot, const struct proto_new_session *ns)
{
	(void)ns;
	queue_slots[slot].fd = queue_service.fds[slot];
	queue_slots[slot].sid = queue_service.sids[slot];
}

/* The session is gone: its unfinished message goes with it. */
static void queue_drop(unsigned slot)
{
	queue_abort(&queue_slots[slot]);
}

static void queue_shutdown(void)
{
	queue_ctl_shutdown();
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		queue_abort(&queue_slots[i]);
	}
}

/* Frames from the master besides new sessions: a relay channel, a flush, a control connection. */
static struct conf queue_conf; /* the queue's copy: a reload replaces it */

/* SIGHUP: the configuration the master passed on (fdmap) replaces the queue's copy. */
static void queue_reload_apply(void)
{
	static struct conf next;

	if (conf_load(&next, queue_conf.file) < 0) {
		log_err("queue: reload: %s; keeping the previous settings", next.first_error);
		return;
	}
	conf_keep_start_keys(&next, &queue_conf);
	queue_conf = next;
	queue_spool->limits = (struct spool_limits){ queue_conf.spool_max_messages, queue_conf.spool_max_size,
						     queue_conf.spool_min_free };
	log_info("queue: settings reloaded (lifetime %llus, retries %llus..%llus)",
		 (unsigned long long)queue_conf.queue_lifetime, (unsigned long long)queue_conf.retry_min,
		 (unsigned long long)queue_conf.retry_max);
}

/* The reload process saw the host's hosts or resolv.conf change: replace the relay's copy in SPOOL/etc. */
static void queue_resolv_file(const struct proto_resolv_file *r, int fd)
{
	char name[sizeof(r->name)];
	int etc, rc;

	memcpy(name, r->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (strcmp(name, "hosts") != 0 && strcmp(name, "resolv.conf") != 0) {
		log_err("queue: refused to replace etc/%s: not hosts or resolv.conf", name);
		return;
	}
	etc = openat(queue_spool->root_fd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (etc < 0) {
		log_err("queue: cannot open the relay's etc/: %s", strerror(errno));
		return;
	}
	if (r->present && fd >= 0) {
		rc = fs_replace_from_fd(etc, name, fd, 0644);
	} else {
		rc = unlinkat(etc, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	}
	if (rc < 0) {
		log_err("queue: cannot replace the relay's copy of /etc/%s: %s", name, strerror(errno));
	} else {
		log_info("queue: /etc/%s changed: the relay's copy %s", name,
			 r->present ? "is replaced" : "is removed");
	}
	close(etc);
}

static void queue_master_other(const struct ipc_frame *f, int fd)
{
	const struct proto_reload_file *file = (const struct proto_reload_file *)f->payload;

	if (f->hdr.type == PROTO_RELOAD_FILE && proto_reload_frame_ok(f, fd)) {
		struct proto_reload_file copy = *file;

		proto_terminate(copy.path);
		fdmap_add(copy.path, fd);
	} else if (f->hdr.type == PROTO_RELOAD_APPLY && proto_reload_frame_ok(f, fd)) {
		queue_reload_apply();
		fdmap_clear();
	} else if (f->hdr.type == PROTO_RELAY_CHANNEL && f->hdr.len == 0 && fd >= 0) {
		queue_sched_relay_channel(fd);
	} else if (f->hdr.type == PROTO_FLUSH && f->hdr.len == 0 && fd < 0) {
		(void)queue_sched_flush();
	} else if (f->hdr.type == PROTO_CONTROL && f->hdr.len == sizeof(struct proto_control) && fd >= 0) {
		const struct proto_control *c = (const struct proto_control *)f->payload;

		queue_ctl_accept(fd, c->restricted ? (int64_t)c->uid : -1);
	} else if (f->hdr.type == PROTO_RESOLV_FILE && proto_reload_frame_ok(f, fd)) {
		queue_resolv_file((const struct proto_resolv_file *)f->payload, fd);
		if (fd >= 0) {
			close(fd);
		}
	} else {
		log_err("queue: refused a malformed frame from the master (type %u, %u bytes)", f->hdr.type,
			f->hdr.len);
		if (fd >= 0) {
			close(fd);
		}
	}
}

/* The earlier of the next retry and the next control request deadline. */
static int queue_timeout_ms(void)
{
	int sched = queue_sched_timeout_ms(), ctl = queue_ctl_timeout_ms();

	return sched < 0 || (ctl >= 0 && ctl < sched) ? ctl : sched;
}

void queue_proc_main(const struct conf *c, struct spool *sp, const struct jail *j, int master_fd)
{
	jail_enter(j, SANDBOX_QUEUE);
	queue_spool = sp;
	service_init(&queue_service, "queue", master_fd);
	queue_service.adopt = queue_adopt;
	queue_service.request = queue_request;
	queue_service.drop = queue_drop;
	queue_service.shutdown = queue_shutdown;
	queue_service.master_other = queue_master_other;
	queue_service.timeout_ms = queue_timeout_ms;
	queue_service.after_poll = queue_sched_poll;
	queue_service.more_fds = queue_ctl_fds;
	queue_service.more_ready = queue_ctl_ready;
	queue_conf = *c;
	queue_sched_init(&queue_conf, sp, &queue_service);
	queue_ctl_init(sp, QUEUE_CTL_TIMEOUT_MS);
	service_run(&queue_service);
}
