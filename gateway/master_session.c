/*
 * master_session.c - the master's accept path: connection limits (total and
 * per client address), a session id, the session's private channels to
 * `auth` and `queue`, and the fork into a jailed session process.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master_int.h"
#include "session.h"

static unsigned master_count_client(const char *client, int *free_slot)
{
	unsigned same = 0;

	*free_slot = -1;
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		if (master.sessions[i].pid == 0) {
			*free_slot = *free_slot < 0 ? i : *free_slot;
		} else if (strcmp(master.sessions[i].client, client) == 0) {
			same++;
		}
	}
	return same;
}

unsigned master_live_sessions(void)
{
	unsigned n = 0;

	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		n += master.sessions[i].pid > 0;
	}
	return n;
}

static void master_refuse(int fd, const struct listener *l, const char *client, const char *why)
{
	static const char busy[] = "421 4.7.0 Error: too many connections; try again later\r\n";

	log_warn("refused connection from [%s] on %s: %s", client, l->name, why);
	if (!l->implicit_tls && write(fd, busy, sizeof(busy) - 1) < 0) {
		/* nothing more to tell a client that went away */
	}
	close(fd);
}

/* Hands the session's ends of its channels to auth and queue. Returns 0 or -1. */
static int master_connect_services(int slot, const struct master_child *c, int auth_end, int queue_end)
{
	struct proto_new_session ns;

	memset(&ns, 0, sizeof(ns));
	ns.slot = (uint32_t)slot;
	snprintf(ns.client, sizeof(ns.client), "%s", c->client);
	snprintf(ns.session_id, sizeof(ns.session_id), "%s", c->id);
	return ipc_send(master.auth_fd, PROTO_NEW_SESSION, &ns, sizeof(ns), auth_end) < 0 ||
		       ipc_send(master.queue_fd, PROTO_NEW_SESSION, &ns, sizeof(ns), queue_end) < 0
		   ? -1
		   : 0;
}

static void __attribute__((noreturn))
master_run_session(int fd, const struct listener *l, const struct master_child *c, int auth_fd, int queue_fd)
{
	static struct session_start start;

	start = (struct session_start){ .conf = &master.conf,
					.creds = &master.creds,
					.fd = fd,
					.implicit_tls = l->implicit_tls,
					.auth_fd = auth_fd,
					.queue_fd = queue_fd,
					.local = c->local,
					.peer_uid = c->uid,
					.key_generation = master.key_generation };
	session_prepare_signals();
	master_child_setup();
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* SIGTERM now means "finish DATA": a dead master must not wait for that */
	jail_enter(&master.jail, SANDBOX_SESSION);
	memcpy(start.client, c->client, sizeof(start.client));
	memcpy(start.id, c->id, sizeof(start.id));
	if (c->local) {
		const char *name = local_users_name(&master.local_users, c->uid);

		if (name != NULL) {
			snprintf(start.peer_name, sizeof(start.peer_name), "%s", name);
			local_users_sender(&master.conf, name, start.local_sender, sizeof(start.local_sender));
		}
	}
	session_main(&start);
}

static void master_fork_session(int fd, const struct listener *l, int slot, struct master_child *c)
{
	int a[2], q[2];
	pid_t pid;

	if (ipc_pair(a) < 0 || ipc_pair(q) < 0 || master_connect_services(slot, c, a[1], q[1]) < 0) {
		log_err("cannot set up a session for [%s]: %s", c->client, strerror(errno));
		close(fd);
		return;
	}
	close(a[1]);
	close(q[1]);
	pid = fork();
	if (pid == 0) {
		master_run_session(fd, l, c, a[0], q[0]);
	}
	close(a[0]);
	close(q[0]);
	close(fd);
	if (pid < 0) {
		log_err("cannot fork a session for [%s]: %s", c->client, strerror(errno));
		return;
	}
	c->pid = pid;
}

/* Checks the limits for a new connection and forks its session. */
static void master_admit(int fd, const struct listener *l, struct master_child *c)
{
	int slot;

	if (master.stopping) {
		close(fd);
		return;
	}
	if (master_count_client(c->client, &slot) >= master.conf.max_sessions_per_addr) {
		master_refuse(fd, l, c->client, "too many connections from this address");
		return;
	}
	if (slot < 0 || master_live_sessions() >= master.conf.max_sessions) {
		master_refuse(fd, l, c->client, "too many connections");
		return;
	}
	snprintf(c->id, sizeof(c->id), "%06X%04X", (unsigned)time(NULL) & 0xffffffu, master.counter++ & 0xffffu);
	master_fork_session(fd, l, slot, c);
	if (c->pid > 0) {
		master.sessions[slot] = *c;
	}
}

void master_accept(const struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct master_child c;
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			log_warn("accept on %s: %s", l->name, strerror(errno));
		}
		return;
	}
	memset(&c, 0, sizeof(c));
	listener_peer_name(&ss, c.client, sizeof(c.client));
	master_admit(fd, l, &c);
}

void master_start_local_session(int fd, uint32_t uid, int pid)
{
	static const struct listener local = { .fd = -1, .implicit_tls = 0, .name = "the local socket" };
	struct master_child c;

	memset(&c, 0, sizeof(c));
	c.local = 1;
	c.uid = uid;
	snprintf(c.client, sizeof(c.client), "local uid=%u pid=%d", (unsigned)uid, pid);
	master_admit(fd, &local, &c);
}

int master_session_reaped(pid_t pid, int status)
{
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		struct master_child *c = &master.sessions[i];

		if (c->pid != pid) {
			continue;
		}
		if (WIFSIGNALED(status)) {
			log_warn("%s: session process %d for [%s] killed by signal %d%s", c->id, (int)pid, c->client,
				 WTERMSIG(status),
				 WTERMSIG(status) == SIGSYS ? " (a forbidden system call: seccomp)" : "");
		}
		memset(c, 0, sizeof(*c));
		return 1;
	}
	return 0;
}

void master_stop_sessions(int signo)
{
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		if (master.sessions[i].pid > 0) {
			kill(master.sessions[i].pid, signo);
		}
	}
}
