/*
 * master_session.c - the master's accept path: connection limits (total and
 * per client address), a session id, the session's private channels to
 * `auth` and `queue`, and the fork into a jailed session process.
 *
 * A session counts against the limits until it says it has finished (its
 * status socket closes, just before its last reply), not until its process
 * is reaped: a client that got 221 and connects again is never refused for
 * its own finished session. When every slot is taken, the oldest session
 * that has not logged in (and is older than stress_login_timeout) is told
 * to go and its slot is given to the newcomer (master_session_evict), unless
 * the newcomer's address has a session of its own still logging in; an
 * over-limit connection on the implicit-TLS port gets a short-lived
 * "refuser" session that completes TLS and says 421.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master_int.h"
#include "session.h"

/* A slot holds a session that still counts (not finished). */
static int master_slot_open(const struct master_child *c)
{
	return c->pid > 0 && !c->done;
}

/* Forgets the status socket: the session finished or was told to go. */
static void master_slot_finish(struct master_child *c)
{
	if (c->status_fd >= 0) {
		close(c->status_fd);
	}
	c->status_fd = -1;
	c->done = 1;
}

/* Reads what the sessions said since the last look: 'A' logged in, end-of-file finished. */
static void master_read_status(void)
{
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		struct master_child *c = &master.sessions[i];
		char buf[16];
		ssize_t n;

		if (!master_slot_open(c) || c->status_fd < 0) {
			continue;
		}
		while ((n = read(c->status_fd, buf, sizeof(buf))) > 0) {
			c->authed |= memchr(buf, 'A', (size_t)n) != NULL;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			master_slot_finish(c);
		}
	}
}

static unsigned master_count_client(const char *client, int *free_slot)
{
	unsigned same = 0;

	*free_slot = -1;
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		const struct master_child *c = &master.sessions[i];

		if (!master_slot_open(c)) {
			*free_slot = *free_slot < 0 ? i : *free_slot;
		} else if (!c->refuser && strcmp(c->client, client) == 0) {
			same++;
		}
	}
	return same;
}

/* Sessions from `client` still waiting to log in (refusers aside). */
static unsigned master_waiting_logins(const char *client)
{
	unsigned n = 0;

	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		const struct master_child *c = &master.sessions[i];

		n += master_slot_open(c) && !c->authed && !c->refuser && strcmp(c->client, client) == 0;
	}
	return n;
}

unsigned master_live_sessions(void)
{
	unsigned n = 0;

	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		n += master.sessions[i].pid > 0;
	}
	return n;
}

/* Sessions that count against max_sessions; *refusers: how many of them are refusers. */
static unsigned master_open_sessions(unsigned *refusers)
{
	unsigned n = 0;

	*refusers = 0;
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		n += master_slot_open(&master.sessions[i]);
		*refusers += master_slot_open(&master.sessions[i]) && master.sessions[i].refuser;
	}
	return n;
}

/*
 * Every slot is taken: tells the oldest session that has not logged in and
 * is at least stress_login_timeout old (a refuser at any age) to say 421 and
 * go, and frees its slot at once. Returns the slot, or -1 when none may go.
 */
static int master_session_evict(void)
{
	time_t now = time(NULL);
	int victim = -1;

	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		const struct master_child *c = &master.sessions[i];

		if (!master_slot_open(c) || c->authed || c->status_fd < 0 ||
		    (!c->refuser && now - c->started < (time_t)master.conf.stress_login_timeout)) {
			continue;
		}
		if (victim < 0 || (c->refuser && !master.sessions[victim].refuser) ||
		    (c->refuser == master.sessions[victim].refuser &&
		     c->seq - master.sessions[victim].seq > UINT_MAX / 2)) {
			victim = i;
		}
	}
	if (victim >= 0) {
		struct master_child *c = &master.sessions[victim];

		log_info("%s: closing the session of [%s]: not logged in after %lld s, and every session slot is "
			 "taken",
			 c->id, c->client, (long long)(now - c->started));
		if (write(c->status_fd, "E", 1) < 0) {
			/* it is finishing anyway */
		}
		kill(c->pid, SIGTERM); /* ends its wait; it reads the 'E' and says 421 4.4.2 */
		master_slot_finish(c);
	}
	return victim;
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
master_run_session(int fd, const struct listener *l, const struct master_child *c, const int channels[3])
{
	static struct session_start start;

	start = (struct session_start){ .conf = &master.conf,
					.creds = &master.creds,
					.fd = fd,
					.implicit_tls = l->implicit_tls,
					.auth_fd = channels[0],
					.queue_fd = channels[1],
					.status_fd = channels[2],
					.refuse = c->refuser,
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

/* Forks the session of slot `slot`; c->pid and c->status_fd say how it went. */
static void master_fork_session(int fd, const struct listener *l, int slot, struct master_child *c)
{
	int a[2], q[2], st[2] = { -1, -1 };
	pid_t pid;

	if (ipc_pair(a) < 0 || ipc_pair(q) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, st) < 0 ||
	    master_connect_services(slot, c, a[1], q[1]) < 0) {
		log_err("cannot set up a session for [%s]: %s", c->client, strerror(errno));
		close(st[0]);
		close(st[1]);
		close(fd);
		return;
	}
	close(a[1]);
	close(q[1]);
	pid = fork();
	if (pid == 0) {
		const int channels[3] = { a[0], q[0], st[1] };

		close(st[0]);
		master_run_session(fd, l, c, channels);
	}
	close(a[0]);
	close(q[0]);
	close(st[1]); /* the session's end is the session's alone: its close is "finished" */
	close(fd);
	if (pid < 0) {
		log_err("cannot fork a session for [%s]: %s", c->client, strerror(errno));
		close(st[0]);
		return;
	}
	c->pid = pid;
	c->status_fd = st[0];
}

/* Gives slot `slot` to a new session for the connection. */
static void master_start_session(int fd, const struct listener *l, int slot, struct master_child *c)
{
	c->seq = master.counter;
	snprintf(c->id, sizeof(c->id), "%06X%04X", (unsigned)time(NULL) & 0xffffffu, master.counter++ & 0xffffu);
	c->started = time(NULL);
	c->authed = c->local;
	c->status_fd = -1;
	master_fork_session(fd, l, slot, c);
	if (c->pid > 0) {
		master.sessions[slot] = *c;
	}
}

/*
 * Refuses a connection over a limit: 421 4.7.0 in plaintext; on the
 * implicit-TLS port the master holds no key, so a short-lived refuser session
 * (at most CONFIG_MAX_TLS_REFUSALS, in a free slot under max_sessions)
 * completes the handshake and says it; without one the socket is closed.
 */
static void master_refuse(int fd, const struct listener *l, struct master_child *c, const char *why)
{
	static const char busy[] = "421 4.7.0 Error: too many connections; try again later\r\n";
	unsigned refusers;
	int slot;

	if (l->implicit_tls) {
		master_count_client("", &slot); /* only for its free slot */
		if (slot >= 0 && master_open_sessions(&refusers) < master.conf.max_sessions &&
		    refusers + 1 <= CONFIG_MAX_TLS_REFUSALS /* not "<": 0 would be always false */) {
			log_warn("refused connection from [%s] on %s: %s (421 after the TLS handshake)", c->client,
				 l->name, why);
			c->refuser = 1;
			master_start_session(fd, l, slot, c);
			return;
		}
	}
	log_warn("refused connection from [%s] on %s: %s", c->client, l->name, why);
	if (!l->implicit_tls && write(fd, busy, sizeof(busy) - 1) < 0) {
		/* nothing more to tell a client that went away */
	}
	close(fd);
}

/* Checks the limits for a new connection and forks its session. */
static void master_admit(int fd, const struct listener *l, struct master_child *c)
{
	unsigned refusers;
	int slot;

	if (master.stopping) {
		close(fd);
		return;
	}
	master_read_status(); /* sessions that finished since count no more */
	if (master_count_client(c->client, &slot) >= master.conf.max_sessions_per_addr) {
		master_refuse(fd, l, c, "too many connections from this address");
		return;
	}
	if (slot < 0 || master_open_sessions(&refusers) >= master.conf.max_sessions) {
		/* an address that is still logging in elsewhere may not push others out: a flood from
		 * a few addresses cannot churn the slots, while a client from another address gets one */
		int victim = master_waiting_logins(c->client) == 0 ? master_session_evict() : -1;

		if (victim < 0) {
			master_refuse(fd, l, c, "too many connections");
			return;
		}
		slot = slot < 0 ? victim : slot;
	}
	master_start_session(fd, l, slot, c);
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
		if (c->status_fd >= 0) {
			close(c->status_fd);
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
