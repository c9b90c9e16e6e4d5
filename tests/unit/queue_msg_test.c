/*
 * queue_msg_test.c - the queue's half of a submission (queue_msg.c) fed the
 * frames a compromised session could forge: another client in the
 * envelope, a user or sender that auth did not allow the session's login
 * (or no login at all), a bare CR or LF or a NUL in the data, no final
 * CRLF, more than max_message_size. Each is refused and leaves nothing in
 * the spool; an honest message, also one exactly at the limit, is
 * committed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "queue_msg.h"
#include "session.h"

#define MSG_MAX_SIZE 1000

static char msg_dir[64];
static struct spool msg_sp;
static struct conf msg_conf;
static int msg_pair[2]; /* [0] the queue's end, [1] the forged session's */

/* auth's word: session sid on slot logged in as user, who may send as spec (and as @example.net). */
static void msg_login(uint32_t slot, const char *sid, const char *user, const char *spec)
{
	static struct proto_auth_login l;

	memset(&l, 0, sizeof(l));
	l.slot = slot;
	snprintf(l.session_id, sizeof(l.session_id), "%s", sid);
	snprintf(l.user, sizeof(l.user), "%s", user);
	snprintf(l.senders[0], sizeof(l.senders[0]), "%s", spec);
	snprintf(l.senders[1], sizeof(l.senders[1]), "@example.net");
	l.nsenders = 2;
	queue_msg_login(&l);
}

static void msg_setup(void)
{
	struct spool_limits limits = { 100, 1 << 20, 0 };

	snprintf(msg_dir, sizeof(msg_dir), "/tmp/subgate-qmsg-XXXXXX");
	CHECK(mkdtemp(msg_dir) != NULL);
	CHECK(spool_open(&msg_sp, msg_dir, &limits) == 0);
	memset(&msg_conf, 0, sizeof(msg_conf));
	msg_conf.max_message_size = MSG_MAX_SIZE;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, msg_pair) == 0);
	queue_msg_init(&msg_sp, &msg_conf, -1);
	queue_msg_adopt(0, msg_pair[0], "S0001", "192.0.2.7");
	msg_login(0, "S0001", "alice", "alice@example.com");
}

static void msg_teardown(void)
{
	char cmd[128];

	queue_msg_drop(0);
	close(msg_pair[0]);
	close(msg_pair[1]);
	spool_close(&msg_sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", msg_dir);
	CHECK(system(cmd) == 0);
}

static int msg_files(const char *sub)
{
	char path[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", msg_dir, sub);
	d = opendir(path);
	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		n += de->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

/* The session sends the queue one frame, which the queue takes (through its table). */
static void msg_send(uint32_t type, const void *payload, size_t len)
{
	CHECK(ipc_send(msg_pair[1], type, payload, len, -1) == 0);
	CHECK(queue_msg_recv(0) == 0);
}

/* The queue's answer to the last BEGIN or END: its errno (0: accepted). */
static int msg_reply(void)
{
	static struct ipc_frame f;

	CHECK(proto_recv(msg_pair[1], &session_queue_replies, "test", &f, NULL) == 1);
	return ((const struct proto_q_reply *)f.payload)->error;
}

static int msg_begin_as(const char *sender, const char *user, const char *client)
{
	static struct proto_q_begin b;
	const char *fields[4] = { sender, user, client, "bob@example.org" };

	b.len = 0;
	for (int i = 0; i < 4; i++) {
		memcpy(b.strings + b.len, fields[i], strlen(fields[i]) + 1);
		b.len += (uint32_t)strlen(fields[i]) + 1;
	}
	b.nrcpt = 1;
	b.arrival = 1700000000;
	msg_send(PROTO_Q_BEGIN, &b, proto_q_begin_size(&b));
	return msg_reply();
}

static int msg_begin(const char *client)
{
	return msg_begin_as("alice@example.com", "alice", client);
}

/* A whole message in DATA frames of the given texts; returns the answer to END. */
static int msg_submit(const char *const *chunks, size_t n)
{
	CHECK(msg_begin("192.0.2.7") == 0);
	for (size_t i = 0; i < n; i++) {
		msg_send(PROTO_Q_DATA, chunks[i], strlen(chunks[i]));
	}
	msg_send(PROTO_Q_END, NULL, 0);
	return msg_reply();
}

TEST(queue_msg_honest_message_is_committed)
{
	static const char *const ok[] = { "Subject: x\r", "\n\r\nbody\r\n" }; /* a CRLF split across frames */

	msg_setup();
	CHECK(msg_submit(ok, 2) == 0);
	CHECK(msg_files("queue") == 1 && msg_files("tmp") == 0);
	msg_teardown();
}

TEST(queue_msg_forged_client_is_refused)
{
	msg_setup();
	/* whose mailq a message shows up in: only the master names the client */
	CHECK(msg_begin("local uid=0 pid=1") == EPERM);
	CHECK(msg_begin("192.0.2.77") == EPERM);
	msg_send(PROTO_Q_DATA, "x\r\n", 3);
	msg_send(PROTO_Q_END, NULL, 0);
	CHECK(msg_reply() != 0);
	CHECK(msg_files("queue") == 0 && msg_files("tmp") == 0 && msg_sp.nmessages == 0);
	msg_teardown();
}

TEST(queue_msg_bare_cr_lf_nul_are_refused)
{
	static const char *const bad[][2] = {
		{ "Subject: x\n", "\r\n" },       /* bare LF */
		{ "Subject: x\r", "x\r\n" },      /* bare CR, cut where the frames meet */
		{ "Subject: x\r\n", "a\rb\r\n" }, /* bare CR inside a line */
		{ "Subject: x\r\n", "\r\n.\r" },  /* ends in CR */
		{ "Subject: x\r\n", "no CRLF" },  /* no CRLF at the end */
	};

	msg_setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(msg_submit(bad[i], 2) == EBADMSG);
	}
	CHECK(msg_begin("192.0.2.7") == 0);
	msg_send(PROTO_Q_DATA, "a\0b\r\n", 5);
	msg_send(PROTO_Q_END, NULL, 0);
	CHECK(msg_reply() == EBADMSG);
	CHECK(msg_files("queue") == 0 && msg_files("tmp") == 0 && msg_sp.nmessages == 0 && msg_sp.nbytes == 0);
	msg_teardown();
}

/* Submits size bytes of 100-byte CRLF lines; returns the answer to END. */
static int msg_submit_size(size_t size)
{
	static char line[101];
	size_t left = size;

	memset(line, 'x', 98);
	memcpy(line + 98, "\r\n", 3);
	CHECK(msg_begin("192.0.2.7") == 0);
	for (; left >= 100; left -= 100) {
		msg_send(PROTO_Q_DATA, line, 100);
	}
	if (left > 0) {
		msg_send(PROTO_Q_DATA, line + 100 - left, left);
	}
	msg_send(PROTO_Q_END, NULL, 0);
	return msg_reply();
}

TEST(queue_msg_size_limit)
{
	size_t limit = MSG_MAX_SIZE + QUEUE_MSG_ADDED_MAX;

	msg_setup();
	CHECK(limit % 100 != 0 && limit % 100 >= 2); /* the last line is "...\r\n" either way */
	CHECK(msg_submit_size(limit) == 0);
	CHECK(msg_files("queue") == 1);
	CHECK(msg_submit_size(limit + 100) == EFBIG);
	CHECK(msg_files("queue") == 1 && msg_files("tmp") == 0 && msg_sp.nmessages == 1);
	msg_teardown();
}

TEST(queue_msg_sender_and_user_are_what_auth_allowed)
{
	msg_setup();
	CHECK(msg_begin_as("carol@example.net", "alice", "192.0.2.7") == 0); /* a domain she owns */
	msg_send(PROTO_Q_ABORT, NULL, 0);
	CHECK(msg_begin_as("bob@example.com", "alice", "192.0.2.7") == EPERM); /* another's address */
	CHECK(msg_begin_as("", "alice", "192.0.2.7") == EPERM);                /* the null sender */
	CHECK(msg_begin_as("alice@example.com", "bob", "192.0.2.7") == EPERM); /* another user */
	/* a login of another session on this slot (the one before) counts for nothing */
	msg_login(0, "S0000", "alice", "alice@example.com");
	CHECK(msg_begin("192.0.2.7") == EPERM);
	/* a session that never logged in: nothing at all */
	queue_msg_adopt(0, msg_pair[0], "S0002", "192.0.2.7");
	CHECK(msg_begin("192.0.2.7") == EPERM);
	msg_login(0, "S0002", "alice", "alice@example.com");
	CHECK(msg_begin("192.0.2.7") == 0);
	msg_send(PROTO_Q_ABORT, NULL, 0);
	/* a local session has no login: the master named its uid, the session checked the sender */
	queue_msg_adopt(0, msg_pair[0], "S0003", "local uid=1000 pid=7");
	CHECK(msg_begin_as("user@example.com", "user", "local uid=1000 pid=7") == 0);
	msg_send(PROTO_Q_ABORT, NULL, 0);
	CHECK(msg_files("queue") == 0 && msg_files("tmp") == 0 && msg_sp.nmessages == 0);
	msg_teardown();
}

/*
 * A login still waiting on auth's channel when the envelope comes is read
 * first (queue_msg_auth_drain), into a buffer of its own: the envelope
 * being handled is not overwritten by it.
 */
TEST(queue_msg_login_on_auth_channel_before_the_envelope)
{
	static struct proto_auth_login l;
	int auth[2];

	msg_setup();
	if (ipc_pair(auth) < 0) {
		CHECK(!"cannot set up");
		return;
	}
	queue_msg_init(&msg_sp, &msg_conf, auth[0]);
	queue_msg_adopt(0, msg_pair[0], "S0004", "192.0.2.7");
	memset(&l, 0, sizeof(l));
	snprintf(l.session_id, sizeof(l.session_id), "S0004");
	snprintf(l.user, sizeof(l.user), "bob");
	snprintf(l.senders[0], sizeof(l.senders[0]), "bob@example.com");
	l.nsenders = 1;
	CHECK(ipc_send(auth[1], PROTO_AUTH_LOGIN, &l, sizeof(l), -1) == 0);
	CHECK(msg_begin_as("bob@example.com", "bob", "192.0.2.7") == 0);
	msg_send(PROTO_Q_ABORT, NULL, 0);
	close(auth[1]); /* auth gone: the queue closes its end at the next envelope */
	CHECK(msg_begin_as("bob@example.com", "bob", "192.0.2.7") == 0);
	msg_send(PROTO_Q_ABORT, NULL, 0);
	CHECK(queue_msg_auth_fd() == -1);
	msg_teardown();
}
