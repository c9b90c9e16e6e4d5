/*
 * queue_proc.c - the `queue` process: its poll loop, the frames of the
 * master (reloads, relay channels, flushes, control connections, resolver
 * files), and the sessions' frames, handed to queue_msg.c.
 */
#include "queue_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "conf_change.h"
#include "fdmap.h"
#include "fs.h"
#include "log.h"
#include "proto.h"
#include "queue_ctl.h"
#include "queue_msg.h"
#include "queue_sched.h"
#include "service.h"

static struct service queue_service;
static struct spool *queue_spool;
static struct ipc_frame queue_in;
static struct ipc_frame queue_auth_in;
static int queue_auth_fd = -1; /* auth's channel: who logged in (PROTO_AUTH_LOGIN) */

/* Takes every login auth has sent; returns without waiting. */
static void queue_auth_drain(void)
{
	struct pollfd p = { .fd = queue_auth_fd, .events = POLLIN };

	while (queue_auth_fd >= 0 && poll(&p, 1, 0) == 1) {
		int fd = -1;
		int rc = ipc_recv(queue_auth_fd, &queue_auth_in, &fd);

		if (fd >= 0) {
			close(fd);
		}
		if (rc <= 0) {
			log_err("queue: the channel from auth closed; no network session can queue mail now");
			close(queue_auth_fd);
			queue_auth_fd = -1;
		} else if (queue_auth_in.hdr.type == PROTO_AUTH_LOGIN &&
			   queue_auth_in.hdr.len == sizeof(struct proto_auth_login)) {
			queue_msg_login((const struct proto_auth_login *)queue_auth_in.payload);
		} else {
			log_err("queue: malformed frame from auth (type %u)", queue_auth_in.hdr.type);
		}
	}
}

static void queue_request(unsigned slot)
{
	int rc = ipc_recv(queue_service.fds[slot], &queue_in, NULL);

	if (rc < 0) {
		log_err("queue: session %s: refused a frame (%s); dropping it", queue_service.sids[slot],
			strerror(errno));
	}
	if (rc > 0 && queue_in.hdr.type == PROTO_Q_BEGIN) {
		queue_auth_drain(); /* auth wrote the login before the session could send this */
	}
	if (rc <= 0 || queue_msg_frame(slot, &queue_in) < 0) {
		service_drop(&queue_service, slot);
	}
}

static void queue_adopt(unsigned slot, const struct proto_new_session *ns)
{
	queue_msg_adopt(slot, queue_service.fds[slot], queue_service.sids[slot], ns->client);
}

/* The session is gone: its unfinished message goes with it. */
static void queue_drop(unsigned slot)
{
	queue_msg_drop(slot);
}

static void queue_shutdown(void)
{
	queue_ctl_shutdown();
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		queue_msg_drop(i);
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
	conf_change_keep_start_keys(&next, &queue_conf);
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

/* The control connections' descriptors, and auth's channel last. */
static unsigned queue_more_fds(struct pollfd *pfd, unsigned cap)
{
	unsigned n = cap > 0 ? queue_ctl_fds(pfd, cap - 1) : 0;

	if (queue_auth_fd >= 0 && n < cap) {
		pfd[n++] = (struct pollfd){ .fd = queue_auth_fd, .events = POLLIN };
	}
	return n;
}

static void queue_more_ready(const struct pollfd *pfd, unsigned n)
{
	if (n > 0 && pfd[n - 1].fd == queue_auth_fd) {
		if (pfd[n - 1].revents) {
			queue_auth_drain();
		}
		n--;
	}
	queue_ctl_ready(pfd, n);
}

void queue_proc_main(const struct conf *c, struct spool *sp, const struct jail *j, int master_fd, int auth_fd)
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
	queue_service.more_fds = queue_more_fds;
	queue_service.more_ready = queue_more_ready;
	queue_auth_fd = auth_fd;
	queue_conf = *c;
	queue_msg_init(sp, &queue_conf);
	queue_sched_init(&queue_conf, sp, &queue_service);
	queue_ctl_init(sp, QUEUE_CTL_TIMEOUT_MS);
	alloc_freeze("queue");
	service_run(&queue_service);
}
