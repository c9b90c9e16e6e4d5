/*
 * queue_proc.c - the `queue` process: its poll loop, the frames of the
 * master (its table: reloads, relay channels, flushes, control connections,
 * resolver files), and the sessions' and auth's channels, handed to
 * queue_msg.c.
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
#include "queue_ctl_status.h"
#include "queue_msg.h"
#include "queue_sched.h"
#include "service.h"

static struct service queue_service;
static struct spool *queue_spool;

static void queue_request(unsigned slot)
{
	if (queue_msg_recv(slot) < 0) {
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
	const char *name = r->name; /* terminated: the table */
	int etc, rc;

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

static int queue_reload_file_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	fdmap_add(((const struct proto_reload_file *)f->payload)->path, fd);
	return 0;
}

static int queue_reload_apply_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	(void)f;
	(void)fd;
	queue_reload_apply();
	fdmap_clear();
	return 0;
}

static int queue_relay_channel_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	(void)f;
	queue_sched_relay_channel(fd);
	return 0;
}

static int queue_flush_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	(void)f;
	(void)fd;
	(void)queue_sched_flush();
	return 0;
}

static int queue_control_frame(void *ctx, struct ipc_frame *f, int fd)
{
	const struct proto_control *c = (const struct proto_control *)f->payload;

	(void)ctx;
	queue_ctl_accept(fd, c->restricted ? (int64_t)c->uid : -1);
	return 0;
}

static int queue_resolv_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	queue_resolv_file((const struct proto_resolv_file *)f->payload, fd);
	if (fd >= 0) {
		close(fd);
	}
	return 0;
}

static const struct proto_row queue_master_rows[] = {
	SERVICE_NEW_SESSION_ROW,
	PROTO_RELOAD_FILE_ROW(queue_reload_file_frame),
	PROTO_RELOAD_APPLY_ROW(queue_reload_apply_frame),
	{ .type = PROTO_RELAY_CHANNEL, .fd = PROTO_FD_ONE, .handler = queue_relay_channel_frame },
	{ .type = PROTO_FLUSH, .handler = queue_flush_frame },
	{ .type = PROTO_CONTROL, PROTO_SIZE(struct proto_control), .fd = PROTO_FD_ONE, .handler = queue_control_frame },
	PROTO_RESOLV_FILE_ROW(queue_resolv_frame),
};

/* The master's channel: sessions, reloads, relay channels, flushes, control connections, resolver files. */
const struct proto_table queue_proc_master_frames = PROTO_TABLE("queue: from the master", "skipped", queue_master_rows);

/* The earliest of the next retry, the next control request deadline and the next status check. */
static int queue_timeout_ms(void)
{
	int sched = queue_sched_timeout_ms(), ctl = queue_ctl_timeout_ms(), st = queue_ctl_status_timeout_ms();
	int t = sched < 0 || (ctl >= 0 && ctl < sched) ? ctl : sched;

	return t < 0 || st < t ? st : t;
}

/* The control connections' descriptors, and auth's channel last. */
static unsigned queue_more_fds(struct pollfd *pfd, unsigned cap)
{
	unsigned n = cap > 0 ? queue_ctl_fds(pfd, cap - 1) : 0;

	if (queue_msg_auth_fd() >= 0 && n < cap) {
		pfd[n++] = (struct pollfd){ .fd = queue_msg_auth_fd(), .events = POLLIN };
	}
	return n;
}

static void queue_more_ready(const struct pollfd *pfd, unsigned n)
{
	if (n > 0 && pfd[n - 1].fd == queue_msg_auth_fd()) {
		if (pfd[n - 1].revents) {
			queue_msg_auth_drain();
		}
		n--;
	}
	queue_ctl_ready(pfd, n);
}

static void queue_after_poll(void)
{
	queue_sched_poll();
	queue_ctl_status_tick();
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
	queue_service.master_frames = &queue_proc_master_frames;
	queue_service.timeout_ms = queue_timeout_ms;
	queue_service.after_poll = queue_after_poll;
	queue_service.more_fds = queue_more_fds;
	queue_service.more_ready = queue_more_ready;
	queue_conf = *c;
	queue_msg_init(sp, &queue_conf, auth_fd);
	queue_sched_init(&queue_conf, sp, &queue_service);
	queue_ctl_init(sp, QUEUE_CTL_TIMEOUT_MS);
	queue_ctl_status_init(&queue_conf, sp);
	alloc_freeze("queue");
	service_run(&queue_service);
}
