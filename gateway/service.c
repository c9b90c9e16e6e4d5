/*
 * service.c - poll loop and session adoption for `auth` and `queue`.
 */
#include "service.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static struct ipc_frame service_frame;

void service_init(struct service *svc, const char *name, int master_fd)
{
	memset(svc, 0, sizeof(*svc));
	svc->name = name;
	svc->master_fd = master_fd;
	svc->extra_fd = -1;
	svc->master_frames = &service_master_frames;
	for (size_t i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		svc->fds[i] = -1;
	}
}

void service_drop(struct service *svc, unsigned slot)
{
	if (svc->fds[slot] >= 0) {
		if (svc->drop != NULL) {
			svc->drop(slot);
		}
		close(svc->fds[slot]);
		svc->fds[slot] = -1;
	}
}

int service_new_session(void *ctx, struct ipc_frame *f, int fd)
{
	struct service *svc = ctx;
	const struct proto_new_session *ns = (const struct proto_new_session *)f->payload;

	if (ns->slot >= CONFIG_MAX_SESSIONS) {
		return -1;
	}
	service_drop(svc, ns->slot); /* the slot's previous session is gone */
	svc->fds[ns->slot] = fd;
	memcpy(svc->sids[ns->slot], ns->session_id, sizeof(svc->sids[0]));
	if (svc->adopt != NULL) {
		svc->adopt(ns->slot, ns);
	}
	return 0;
}

static const struct proto_row service_master_rows[] = { SERVICE_NEW_SESSION_ROW };

const struct proto_table service_master_frames =
    PROTO_TABLE("service: from the master", "skipped", service_master_rows);

/*
 * One frame from the master. Returns 0, or -1 when the master is gone. A
 * refused frame (EPROTO: logged, its descriptors closed) is skipped: only the
 * channel's end, or a broken channel, means the master is gone.
 */
static int service_master_message(struct service *svc)
{
	int rc = proto_recv(svc->master_fd, svc->master_frames, NULL, &service_frame, svc);

	if (rc < 0 && (errno == EPROTO || errno == EAGAIN)) {
		return 0;
	}
	if (rc <= 0) {
		if (rc < 0) {
			log_err("%s: master channel: %s", svc->name, strerror(errno));
		}
		return -1;
	}
	return 0;
}

void service_poll_once(struct service *svc)
{
	struct pollfd pfd[CONFIG_MAX_SESSIONS + 2 + SERVICE_MORE_FDS];
	unsigned map[CONFIG_MAX_SESSIONS + 2];
	nfds_t n = 2, sessions;
	unsigned more = 0;
	int timeout = svc->timeout_ms != NULL ? svc->timeout_ms() : -1;

	pfd[0] = (struct pollfd){ .fd = svc->master_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = svc->extra_fd, .events = POLLIN }; /* fd -1 is ignored by poll */
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		if (svc->fds[i] >= 0) {
			map[n] = i;
			pfd[n++] = (struct pollfd){ .fd = svc->fds[i], .events = POLLIN };
		}
	}
	sessions = n;
	if (svc->more_fds != NULL) {
		more = svc->more_fds(pfd + n, SERVICE_MORE_FDS);
		n += more;
	}
	if (poll(pfd, n, timeout) < 0) {
		if (errno != EINTR) {
			fatal(71, "%s: poll: %s", svc->name, strerror(errno));
		}
		return;
	}
	if (pfd[0].revents && service_master_message(svc) < 0) {
		log_info("%s: master gone, exiting", svc->name);
		if (svc->shutdown != NULL) {
			svc->shutdown();
		}
		exit(0);
	}
	for (nfds_t i = 2; i < sessions; i++) {
		/*
		 * Only if the slot still holds the socket polled: when the master gave
		 * the slot to a new session in this round (the old one's socket was
		 * closed after the new one was received, so the numbers differ), the
		 * old socket's hang-up must not make us wait on the new session.
		 */
		if (pfd[i].revents && svc->fds[map[i]] == pfd[i].fd) {
			svc->request(map[i]);
		}
	}
	if (svc->more_ready != NULL) {
		svc->more_ready(pfd + sessions, more);
	}
	if (pfd[1].revents && svc->extra_fd >= 0 && svc->extra != NULL) {
		svc->extra();
	}
	if (svc->after_poll != NULL) {
		svc->after_poll();
	}
}

void service_run(struct service *svc)
{
	for (;;) {
		service_poll_once(svc);
	}
}
