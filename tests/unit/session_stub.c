/*
 * session_stub.c - the session under test in a process of its own (it ends
 * by exit(), as a session does), and the test's side of its connection,
 * auth channel and queue channel. See session_stub.h.
 */
#include "session_stub.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#define STUB_WAIT_MS 10000 /* a reply that does not come within this fails the test */

static struct conf stub_conf;
static struct tls_creds stub_no_creds; /* for sessions whose client never sends a TLS hello */
static const struct tls_creds *stub_creds = &stub_no_creds;

static struct {
	uint32_t uid;
	char name[CONF_USER_MAX + 1];
	char sender[ADDR_MAX + 1];
} stub_peer = { 0, "root", "root@" STUB_HOST };

void stub_set_local_peer(uint32_t uid, const char *name, const char *sender)
{
	stub_peer.uid = name != NULL ? uid : 0;
	snprintf(stub_peer.name, sizeof(stub_peer.name), "%s", name != NULL ? name : "root");
	snprintf(stub_peer.sender, sizeof(stub_peer.sender), "%s", name != NULL ? sender : "root@" STUB_HOST);
}

void stub_set_creds(const struct tls_creds *creds)
{
	stub_creds = creds != NULL ? creds : &stub_no_creds;
}

static void stub_env_add(struct proto_q_begin *env, const char *str)
{
	size_t len = strlen(str) + 1;

	memcpy(env->strings + env->len, str, len);
	env->len += (uint32_t)len;
}

/* The login and envelope a session in this state would have by now. */
static void stub_fill(struct session *s, enum session_state state, unsigned flags)
{
	if (flags & STUB_LOCAL) {
		s->peer_uid = stub_peer.uid;
		snprintf(s->peer_name, sizeof(s->peer_name), "%s", stub_peer.name);
		snprintf(s->local_sender, sizeof(s->local_sender), "%s", stub_peer.sender);
		if (s->peer_name[0] != '\0') {
			snprintf(s->login.user, sizeof(s->login.user), "%s", s->peer_name);
		} else {
			snprintf(s->login.user, sizeof(s->login.user), "uid=%u", (unsigned)s->peer_uid);
		}
	} else if (flags & STUB_AUTHED) {
		snprintf(s->login.user, sizeof(s->login.user), "alice@example.com");
		snprintf(s->login.senders[0], sizeof(s->login.senders[0]), "@example.com");
		s->login.nsenders = 1;
	}
	if (state != SESSION_CONNECTED) {
		snprintf(s->helo, sizeof(s->helo), "client.example.test");
	}
	if (state & (SESSION_MAIL | SESSION_RCPT)) {
		stub_env_add(&s->env, (flags & STUB_LOCAL) ? s->local_sender : "alice@example.com");
		stub_env_add(&s->env, s->login.user);
		stub_env_add(&s->env, s->client);
	}
	if (state == SESSION_RCPT) {
		stub_env_add(&s->env, "rcpt@example.org");
		s->env.nrcpt = 1;
	}
}

static void stub_child(int fd, int auth_fd, int queue_fd, enum session_state state, unsigned flags)
{
	static struct session sess;
	struct session *s = &sess;

	signal(SIGPIPE, SIG_IGN); /* as the master has it for every process */
	s->conf = &stub_conf;
	s->creds = stub_creds;
	conn_init(&s->conn, fd);
	s->conn.write_timeout = 10;
	s->auth_fd = auth_fd;
	s->queue_fd = queue_fd;
	s->status_fd = -1;
	snprintf(s->id, sizeof(s->id), "stub");
	snprintf(s->client, sizeof(s->client), STUB_CLIENT);
	s->state = state;
	s->tls = (flags & STUB_TLS) != 0;
	if (s->tls) {
		snprintf(s->tls_info, sizeof(s->tls_info), "TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256");
	}
	s->local = (flags & STUB_LOCAL) != 0;
	s->authed = (flags & (STUB_AUTHED | STUB_LOCAL)) != 0;
	s->told_authed = 1;
	s->esmtp = state != SESSION_CONNECTED && !(flags & STUB_HELO);
	stub_fill(s, state, flags);
	session_loop(s);
	session_close(s, NULL);
}

static void stub_conf_init(void)
{
	memset(&stub_conf, 0, sizeof(stub_conf));
	snprintf(stub_conf.hostname, sizeof(stub_conf.hostname), STUB_HOST);
	stub_conf.max_message_size = 65536;
	stub_conf.command_timeout = 10;
	stub_conf.data_timeout = 10;
	stub_conf.login_timeout = 60;
	snprintf(stub_conf.alias[0].name, sizeof(stub_conf.alias[0].name), "root");
	snprintf(stub_conf.alias[0].targets, sizeof(stub_conf.alias[0].targets), "admin@example.com, ops@example.net");
	stub_conf.nalias = 1;
}

int stub_start(struct stub *t, enum session_state state, unsigned flags)
{
	int sv[2], av[2], qv[2];

	t->pid = -1;
	t->fd = t->auth_fd = t->queue_fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		return -1;
	}
	if (ipc_pair(av) < 0 || ipc_pair(qv) < 0) {
		return -1;
	}
	stub_conf_init();
	t->pid = fork();
	if (t->pid == 0) {
		close(sv[0]);
		close(av[0]);
		close(qv[0]);
		stub_child(sv[1], av[1], qv[1], state, flags);
	}
	close(sv[1]);
	close(av[1]);
	close(qv[1]);
	t->fd = sv[0];
	t->auth_fd = av[0];
	t->queue_fd = qv[0];
	return t->pid > 0 ? 0 : -1;
}

int stub_auth_answer(struct stub *t, enum proto_auth_status status)
{
	return stub_auth_send(t->auth_fd, status);
}

int stub_auth_send(int fd, enum proto_auth_status status)
{
	static struct proto_auth_result r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	if (status == PROTO_AUTH_OK) {
		snprintf(r.user, sizeof(r.user), "alice@example.com");
		snprintf(r.senders[0], sizeof(r.senders[0]), "@example.com");
		r.nsenders = 1;
	}
	return ipc_send(fd, PROTO_AUTH_RESULT, &r, sizeof(r), -1);
}

int stub_queue_answer(struct stub *t, int32_t error)
{
	struct proto_q_reply r;

	memset(&r, 0, sizeof(r));
	r.error = error;
	memcpy(r.id, STUB_QID, sizeof(r.id) - 1);
	return ipc_send(t->queue_fd, PROTO_Q_REPLY, &r, sizeof(r), -1);
}

int stub_send(struct stub *t, const char *bytes)
{
	size_t len = strlen(bytes);

	return send(t->fd, bytes, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* One byte from the session: 1, 0 on EOF, -1 on error or timeout. */
static int stub_byte(int fd, char *c)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, STUB_WAIT_MS) != 1) {
		return -1;
	}
	return (int)read(fd, c, 1);
}

/* One CRLF line, without it; 0, or -1. */
static int stub_line(int fd, char *line, size_t cap, size_t *len)
{
	char c = 0;

	*len = 0;
	while (stub_byte(fd, &c) == 1) {
		if (c == '\n') {
			if (*len == 0 || line[*len - 1] != '\r') {
				return -1;
			}
			line[--*len] = '\0';
			return 0;
		}
		if (*len + 1 >= cap) {
			return -1;
		}
		line[(*len)++] = c;
	}
	return -1;
}

int stub_reply(struct stub *t, char *out, size_t cap)
{
	char line[1024];
	size_t used = 0, len;

	out[0] = '\0';
	for (;;) {
		if (stub_line(t->fd, line, sizeof(line), &len) < 0) {
			return -1;
		}
		int n = snprintf(out + used, cap - used, "%s%s", used > 0 ? "\n" : "", line);
		if (n < 0 || (size_t)n >= cap - used) {
			return -1;
		}
		used += (size_t)n;
		if (len < 4 || line[3] != '-') {
			return 0;
		}
	}
}

int stub_cmd(struct stub *t, const char *line, char *out, size_t cap)
{
	char buf[CONFIG_MAX_COMMAND_LINE + 64];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

	if (n < 0 || (size_t)n >= sizeof(buf)) {
		return -1;
	}
	if (stub_send(t, buf) < 0) {
		return -1;
	}
	return stub_reply(t, out, cap);
}

int stub_closed(struct stub *t)
{
	char c;

	shutdown(t->fd, SHUT_WR);
	return stub_byte(t->fd, &c) == 0;
}

int stub_finish(struct stub *t)
{
	char buf[256];
	int status = 0, stuck = 0;

	if (t->fd >= 0) {
		struct pollfd p = { .fd = t->fd, .events = POLLIN };

		shutdown(t->fd, SHUT_WR);
		for (;;) {
			if (poll(&p, 1, STUB_WAIT_MS) != 1) {
				stuck = 1;
				break;
			}
			if (read(t->fd, buf, sizeof(buf)) <= 0) {
				break;
			}
		}
		close(t->fd);
		t->fd = -1;
	}
	if (stuck && t->pid > 0) {
		/* the client left and the session did not: it waits for an answer the test never gave */
		kill(t->pid, SIGKILL);
	}
	if (t->pid <= 0 || waitpid(t->pid, &status, 0) != t->pid) {
		return 0;
	}
	t->pid = -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int stub_frame(int fd, struct ipc_frame *f)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 0) != 1) {
		return 0;
	}
	return ipc_recv(fd, f, NULL) == 1;
}

void stub_close_channels(struct stub *t)
{
	if (t->auth_fd >= 0) {
		close(t->auth_fd);
	}
	if (t->queue_fd >= 0) {
		close(t->queue_fd);
	}
	t->auth_fd = t->queue_fd = -1;
}
