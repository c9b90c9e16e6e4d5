/*
 * queue_ctl_test.c - the queue control server (queue_ctl.c, queue_ctl_list.c)
 * over socketpairs, against a temporary spool and the real scheduler with a
 * fake relay on an IPC pair: list and show in text and JSON, hold / release
 * / delete / flush, the active message refusing changes, the reason file
 * after a deferral, bad and late requests, the connection limit.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "harness.h"
#include "proto.h"
#include "queue_ctl.h"
#include "queue_sched.h"
#include "service.h"
#include "spool_state.h"

#define CTL_TEST_TIMEOUT_MS 200

static char ctl_dir[64];
static struct spool ctl_sp;
static struct conf ctl_conf;
static struct service ctl_svc;
static char answer[65536];
static struct ipc_frame relay_frame;

static void ctl_setup(void)
{
	struct spool_limits limits = { 100, 1 << 20, 0 };

	snprintf(ctl_dir, sizeof(ctl_dir), "/tmp/subgate-ctl-XXXXXX");
	CHECK(mkdtemp(ctl_dir) != NULL);
	CHECK(spool_open(&ctl_sp, ctl_dir, &limits) == 0);
	memset(&ctl_conf, 0, sizeof(ctl_conf));
	snprintf(ctl_conf.hostname, sizeof(ctl_conf.hostname), "gw.example.net");
	ctl_conf.retry_min = 300;
	ctl_conf.retry_max = 3600;
	ctl_conf.queue_lifetime = (uint64_t)100 * 365 * 86400; /* the test mail is from 2023 */
	service_init(&ctl_svc, "queue", -1);
	queue_sched_init(&ctl_conf, &ctl_sp, &ctl_svc);
	queue_ctl_init(&ctl_sp, CTL_TEST_TIMEOUT_MS);
}

static void ctl_teardown(void)
{
	char cmd[128];

	queue_sched_relay_channel(-1); /* forget any job in flight */
	queue_ctl_shutdown();
	spool_close(&ctl_sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", ctl_dir);
	CHECK(system(cmd) == 0);
}

static void commit(char id[SPOOL_ID_LEN + 1], const char *body)
{
	const char *rcpts[2] = { "b@example.org", "c@example.org" };
	struct spool_envelope env = { "a@example.com", "alice", "192.0.2.1", 2, rcpts, 1700000000 };
	struct spool_msg m;

	CHECK(spool_msg_create(&ctl_sp, &m, &env) == 0);
	CHECK(spool_msg_write(&ctl_sp, &m, body, strlen(body)) == 0);
	CHECK(spool_msg_commit(&ctl_sp, &m) == 0);
	memcpy(id, m.id, SPOOL_ID_LEN + 1);
}

/* Runs the control connections through poll until none is left. */
static void serve(void)
{
	struct pollfd pfd[QUEUE_CTL_CLIENTS];
	unsigned n;

	while ((n = queue_ctl_fds(pfd, QUEUE_CTL_CLIENTS)) > 0) {
		CHECK(poll(pfd, n, queue_ctl_timeout_ms()) >= 0);
		queue_ctl_ready(pfd, n);
	}
}

/* Reads everything the server wrote until it closed. */
static size_t drain(int fd)
{
	size_t len = 0;
	ssize_t r;

	while (len < sizeof(answer) - 1 && (r = read(fd, answer + len, sizeof(answer) - 1 - len)) > 0) {
		len += (size_t)r;
	}
	answer[len] = '\0';
	close(fd);
	return len;
}

/* Sends raw bytes as a request (shut: then half-close) as only_uid (-1: root) and returns the answer. */
static const char *ask_as(int64_t only_uid, const char *req, size_t len, int shut)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(write(sv[1], req, len) == (ssize_t)len);
	if (shut) {
		CHECK(shutdown(sv[1], SHUT_WR) == 0);
	}
	queue_ctl_accept(sv[0], only_uid);
	serve();
	drain(sv[1]);
	return answer;
}

static const char *ask_raw(const char *req, size_t len, int shut)
{
	return ask_as(-1, req, len, shut);
}

static const char *ask(const char *req)
{
	return ask_raw(req, strlen(req), 0);
}

/* A message from `client` (a local session's is "local uid=UID pid=PID"), logged in as `user`. */
static void commit_by(char id[SPOOL_ID_LEN + 1], const char *user, const char *client)
{
	const char *rcpts[1] = { "b@example.org" };
	struct spool_envelope env = { "a@example.com", user, client, 1, rcpts, 1700000000 };
	struct spool_msg m;

	CHECK(spool_msg_create(&ctl_sp, &m, &env) == 0);
	CHECK(spool_msg_write(&ctl_sp, &m, "Subject: x\r\n\r\nx\r\n", 17) == 0);
	CHECK(spool_msg_commit(&ctl_sp, &m) == 0);
	memcpy(id, m.id, SPOOL_ID_LEN + 1);
}

static int has(const char *text, const char *needle)
{
	return strstr(text, needle) != NULL;
}

static int starts(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

TEST(queue_ctl_empty_queue)
{
	ctl_setup();
	CHECK_STR(ask("list\n"), "ok\nMail queue is empty\n");
	CHECK_STR(ask("list json\n"), "ok\n{\"count\":0,\"bytes\":0,\"messages\":[]}\n");
	CHECK_STR(ask("flush\n"), "ok\nflush: 0 deferred messages due now\n");
	CHECK_STR(ask("flush json\n"), "ok\n{\"result\":\"flushed\",\"count\":0}\n");
	ctl_teardown();
}

TEST(queue_ctl_list_text_and_json_with_hold)
{
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], want[256], expect[128];
	const char *r;

	ctl_setup();
	commit(a, "Subject: a\r\n\r\nbody\r\n");
	commit(b, "Subject: b\r\n\r\nbody\r\n");
	snprintf(want, sizeof(want), "hold %s\n", b);
	snprintf(expect, sizeof(expect), "ok\n%s: placed on hold\n", b);
	CHECK_STR(ask(want), expect);

	r = ask("list\n");
	CHECK(starts(r, "ok\n-Queue ID-         --Size-- ---Arrival Time (UTC)---        -Sender/Recipient-------\n"));
	snprintf(want, sizeof(want), "%s  ", a);
	CHECK(has(r, want)); /* queued: no marker */
	snprintf(want, sizeof(want), "%s! ", b);
	CHECK(has(r, want));
	CHECK(has(r, "Tue, 14 Nov 2023 22:13:20 +0000 a@example.com\n"));
	CHECK(has(r, "\n                                                            b@example.org\n"
		     "                                                            c@example.org\n\n"));
	CHECK(has(r, "\n-- 1 Kbytes in 2 Requests.\n"));

	r = ask("list json\n");
	CHECK(starts(r, "ok\n{\"count\":2,\"bytes\":"));
	snprintf(want, sizeof(want), "{\"id\":\"%s\",\"state\":\"held\",\"size\":", b);
	CHECK(has(r, want));
	snprintf(want, sizeof(want), "{\"id\":\"%s\",\"state\":\"queued\",\"size\":", a);
	CHECK(has(r, want));
	CHECK(has(r, "\"arrival\":1700000000,\"sender\":\"a@example.com\",\"recipients\":[{\"address\":"
		     "\"b@example.org\",\"state\":\"pending\"},{\"address\":\"c@example.org\",\"state\":\"pending\"}],"
		     "\"next_attempt\":null,\"last_error\":null}"));
	CHECK(r[strlen(r) - 1] == '\n' && r[strlen(r) - 2] == '}');

	/* holding twice is fine; releasing makes it queued (due) again; releasing twice is not */
	snprintf(want, sizeof(want), "hold %s json\n", b);
	snprintf(expect, sizeof(expect), "ok\n{\"id\":\"%s\",\"result\":\"held\"}\n", b);
	CHECK_STR(ask(want), expect);
	snprintf(want, sizeof(want), "release %s\n", b);
	CHECK(starts(ask(want), "ok\n"));
	CHECK(has(answer, ": released\n"));
	r = ask("list\n");
	snprintf(want, sizeof(want), "%s! ", b);
	CHECK(!has(r, want));
	snprintf(want, sizeof(want), "release %s\n", b);
	CHECK(starts(ask(want), "err 67 "));
	CHECK(has(answer, "is not on hold\n"));
	CHECK(ctl_sp.nmessages == 2);
	ctl_teardown();
}

TEST(queue_ctl_show_text_and_json)
{
	char id[SPOOL_ID_LEN + 1], req[64];
	const char *r;

	ctl_setup();
	commit(id, "Subject: caf\xe9 \"q\"\r\n\r\nbody\r\n");
	snprintf(req, sizeof(req), "show %s\n", id);
	r = ask(req);
	CHECK(starts(r, "ok\nid: "));
	CHECK(has(r, "\nstate: queued\n"));
	CHECK(has(r, "\nsender: a@example.com\nuser: alice\nclient: 192.0.2.1\n"
		     "recipient: b@example.org (pending)\nrecipient: c@example.org (pending)\n\n"
		     "Subject: caf\xe9 \"q\"\r\n\r\nbody\r\n"));

	snprintf(req, sizeof(req), "show %s json\n", id);
	r = ask(req);
	CHECK(starts(r, "ok\n{\"id\":\""));
	CHECK(has(r, ",\"last_error\":null,\"message\":\"Subject: caf\\u00e9 \\\"q\\\"\\r\\n\\r\\nbody\\r\\n\"}\n"));

	CHECK(starts(ask("show 0123456789abcdef\n"), "err 67 no message 0123456789abcdef in the queue\n"));
	ctl_teardown();
}

TEST(queue_ctl_show_streams_a_large_message)
{
	static char body[30000];
	char id[SPOOL_ID_LEN + 1], req[64];
	size_t len;

	ctl_setup();
	for (size_t i = 0; i < sizeof(body) - 1; i++) {
		body[i] = "\xc3\xa9x"[i % 3]; /* an e-acute cut by every read size */
	}
	body[sizeof(body) - 1] = '\0';
	commit(id, body);
	snprintf(req, sizeof(req), "show %s json\n", id);
	ask(req);
	len = strlen(answer);
	CHECK(len > sizeof(body));
	CHECK(!has(answer, "\\u00")); /* no character was split into escaped bytes */
	CHECK_STR(answer + len - 6, "x\xc3\xa9\"}\n");
	ctl_teardown();
}

TEST(queue_ctl_delete_and_flush)
{
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], req[64], want[128];
	int fd;

	ctl_setup();
	commit(a, "x\r\n");
	commit(b, "y\r\n");
	fd = spool_open_msg(&ctl_sp, b, SPOOL_IN_QUEUE);
	CHECK(fd >= 0 && spool_defer(&ctl_sp, fd, b, SPOOL_IN_QUEUE, time(NULL) + 3600) == 0);
	close(fd);
	CHECK(spool_reason_set(&ctl_sp, b, "451 4.7.1 greylisted") == 0);

	ask("list\n");
	CHECK(has(answer, "a@example.com\n(451 4.7.1 greylisted)\n"));
	ask("list json\n");
	CHECK(has(answer, "\"state\":\"deferred\""));
	CHECK(has(answer, "\"last_error\":\"451 4.7.1 greylisted\"}"));
	CHECK(!has(answer, "\"next_attempt\":null,\"last_error\":\"451"));

	CHECK_STR(ask("flush\n"), "ok\nflush: 1 deferred message due now\n");
	CHECK(spool_locate(&ctl_sp, b, &(enum spool_where){ 0 }) == 1);

	snprintf(req, sizeof(req), "delete %s\n", b);
	snprintf(want, sizeof(want), "ok\n%s: deleted\n", b);
	CHECK_STR(ask(req), want);
	CHECK(ctl_sp.nmessages == 1);
	CHECK(spool_reason_get(&ctl_sp, b, want, sizeof(want)) == 0); /* the reason went with it */
	CHECK(starts(ask(req), "err 67 "));
	snprintf(req, sizeof(req), "delete %s json\n", a);
	snprintf(want, sizeof(want), "ok\n{\"id\":\"%s\",\"result\":\"deleted\"}\n", a);
	CHECK_STR(ask(req), want);
	CHECK(ctl_sp.nmessages == 0 && ctl_sp.nbytes == 0);
	ctl_teardown();
}

/* The fake relay's side: answer every recipient of the job with `outcome`, then DONE. */
static void relay_answers(int relay_fd, unsigned nrcpt, enum proto_r_outcome outcome, const char *reply)
{
	struct proto_r_rcpt r;
	struct proto_r_done d;
	int msg_fd = -1;

	CHECK(ipc_recv(relay_fd, &relay_frame, &msg_fd) == 1 && relay_frame.hdr.type == PROTO_R_JOB &&
	      relay_frame.hdr.len == sizeof(struct proto_r_job) && msg_fd >= 0); /* the message, opened read-only */
	if (msg_fd >= 0) {
		close(msg_fd);
	}
	for (unsigned i = 0; i < nrcpt; i++) {
		memset(&r, 0, sizeof(r));
		memcpy(r.id, relay_frame.payload, SPOOL_ID_LEN);
		r.index = i;
		r.outcome = outcome;
		snprintf(r.reply, sizeof(r.reply), "%s", reply);
		CHECK(ipc_send(relay_fd, PROTO_R_RCPT, &r, sizeof(r), -1) == 0);
		ctl_svc.extra();
	}
	memset(&d, 0, sizeof(d));
	memcpy(d.id, relay_frame.payload, SPOOL_ID_LEN);
	CHECK(ipc_send(relay_fd, PROTO_R_DONE, &d, sizeof(d), -1) == 0);
	ctl_svc.extra();
}

TEST(queue_ctl_active_message_and_reason_after_deferral)
{
	char id[SPOOL_ID_LEN + 1], req[64], want[128];
	int relay[2];
	struct stat st;

	ctl_setup();
	commit(id, "x\r\n");
	CHECK(ipc_pair(relay) == 0);
	queue_sched_relay_channel(relay[0]); /* the scheduler hands the message over at once */
	CHECK(queue_sched_active() != NULL && strcmp(queue_sched_active(), id) == 0);

	ask("list\n");
	snprintf(want, sizeof(want), "%s* ", id);
	CHECK(has(answer, want));
	ask("list json\n");
	CHECK(has(answer, "\"state\":\"active\""));
	snprintf(req, sizeof(req), "delete %s\n", id);
	snprintf(want, sizeof(want), "err 75 %s is being delivered now; try again\n", id);
	CHECK_STR(ask(req), want);
	snprintf(req, sizeof(req), "hold %s\n", id);
	CHECK_STR(ask(req), want);

	relay_answers(relay[1], 2, PROTO_R_DEFERRED, "450 4.2.0 mailbox busy\r\nx");
	CHECK(queue_sched_active() == NULL);
	CHECK(fstatat(ctl_sp.defer_fd, id, &st, 0) == 0);
	ask("list\n");
	CHECK(has(answer, "\n(450 4.2.0 mailbox busy??x)\n")); /* control bytes never reach the terminal */
	ask("list json\n");
	CHECK(has(answer, "\"last_error\":\"450 4.2.0 mailbox busy\\r\\nx\""));
	CHECK(has(answer, "\"state\":\"deferred\""));

	/* a held message keeps its reason; deleting removes both */
	snprintf(req, sizeof(req), "hold %s\n", id);
	CHECK(starts(ask(req), "ok\n"));
	CHECK(fstatat(ctl_sp.reason_fd, id, &st, 0) == 0);
	snprintf(req, sizeof(req), "delete %s\n", id);
	CHECK(starts(ask(req), "ok\n"));
	CHECK(fstatat(ctl_sp.reason_fd, id, &st, 0) < 0);
	close(relay[1]);
	ctl_teardown();
}

TEST(queue_ctl_bad_requests)
{
	static const char *const bad[] = {
		"lst\n",
		"\n",
		"list extra\n",
		"list json json\n",
		"show\n",
		"show 0123\n",
		"show 0123456789ABCDEF\n",
		"show  0123456789abcdef\n",
		"delete 0123456789abcdef json x\n",
		"flush 0123456789abcdef\n",
		"LIST\n",
	};
	char longreq[300];

	ctl_setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(starts(ask(bad[i]), "err 64 "));
		CHECK(answer[strlen(answer) - 1] == '\n' && strchr(answer, '\n') == answer + strlen(answer) - 1);
	}
	CHECK(starts(ask("list\r\n"), "ok\n")); /* CRLF is fine */

	memset(longreq, 'l', sizeof(longreq));
	CHECK(starts(ask_raw(longreq, sizeof(longreq), 0), "err 64 request too long"));
	/* exactly the limit, "\n" included: parsed (and refused as malformed) */
	snprintf(longreq, sizeof(longreq), "list%*s\n", QUEUE_CTL_REQUEST_MAX - 5, "");
	CHECK(starts(ask_raw(longreq, QUEUE_CTL_REQUEST_MAX, 0), "err 64 malformed"));
	CHECK(starts(ask_raw("list", 4, 1), "err 64 incomplete request"));
	CHECK(starts(ask_raw("li\0t\n", 5, 0), "err 64 request too long or not text"));
	CHECK(starts(ask_raw("lis", 3, 0), "err 64 no complete request line in time"));
	ctl_teardown();
}

TEST(queue_ctl_connection_limit)
{
	int sv[QUEUE_CTL_CLIENTS + 1][2];

	ctl_setup();
	for (int i = 0; i <= QUEUE_CTL_CLIENTS; i++) {
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]) == 0);
		queue_ctl_accept(sv[i][0], -1);
	}
	drain(sv[QUEUE_CTL_CLIENTS][1]); /* the one too many was answered and closed at once */
	CHECK_STR(answer, "err 75 busy: too many control connections; try again\n");
	CHECK(queue_ctl_timeout_ms() > 0 && queue_ctl_timeout_ms() <= CTL_TEST_TIMEOUT_MS);
	for (int i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		CHECK(write(sv[i][1], "list\n", 5) == 5);
	}
	serve();
	for (int i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		drain(sv[i][1]);
		CHECK_STR(answer, "ok\nMail queue is empty\n");
	}
	CHECK(queue_ctl_timeout_ms() == -1);
	ctl_teardown();
}

TEST(queue_ctl_showq_cannot_crowd_out_root)
{
	int sv[QUEUE_CTL_CLIENTS + 1][2];

	ctl_setup();
	for (int i = 0; i <= QUEUE_CTL_CLIENTS; i++) {
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]) == 0);
	}
	for (int i = 0; i < QUEUE_CTL_CLIENTS; i++) {
		queue_ctl_accept(sv[i][0], 65534); /* a local user holding listing connections open */
	}
	/* the last public one was refused at once (answered and closed, so this cannot block) */
	if (poll(&(struct pollfd){ .fd = sv[QUEUE_CTL_CLIENTS - 1][1], .events = POLLIN }, 1, 0) != 1) {
		harness_fail(__FILE__, __LINE__, "the last listing connection was not refused at once");
		for (int i = 0; i <= QUEUE_CTL_CLIENTS; i++) {
			close(sv[i][1]);
		}
		queue_ctl_shutdown();
		ctl_teardown();
		return;
	}
	drain(sv[QUEUE_CTL_CLIENTS - 1][1]);
	CHECK_STR(answer, "err 75 busy: too many control connections; try again\n");
	queue_ctl_accept(sv[QUEUE_CTL_CLIENTS][0], -1); /* root still gets in */
	CHECK(write(sv[QUEUE_CTL_CLIENTS][1], "list\n", 5) == 5);
	for (int i = 0; i < QUEUE_CTL_CLIENTS - 1; i++) {
		CHECK(write(sv[i][1], "list\n", 5) == 5);
	}
	serve();
	drain(sv[QUEUE_CTL_CLIENTS][1]);
	CHECK_STR(answer, "ok\nMail queue is empty\n");
	for (int i = 0; i < QUEUE_CTL_CLIENTS - 1; i++) {
		drain(sv[i][1]);
		CHECK_STR(answer, "ok\nMail queue is empty\n");
	}
	ctl_teardown();
}

TEST(queue_ctl_peer_gone_does_not_hurt)
{
	int sv[2];

	ctl_setup();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(write(sv[1], "list\n", 5) == 5);
	close(sv[1]); /* the answer goes nowhere: no SIGPIPE, the connection is just closed */
	queue_ctl_accept(sv[0], -1);
	serve();
	CHECK(queue_ctl_timeout_ms() == -1);
	ctl_teardown();
}

TEST(queue_ctl_flush_leaves_the_message_in_flight_alone)
{
	char id[SPOOL_ID_LEN + 1];
	enum spool_where where;
	int relay[2], fd;

	ctl_setup();
	commit(id, "x\r\n");
	fd = spool_open_msg(&ctl_sp, id, SPOOL_IN_QUEUE);
	CHECK(fd >= 0 && spool_defer(&ctl_sp, fd, id, SPOOL_IN_QUEUE, time(NULL) - 1) == 0); /* due */
	close(fd);
	CHECK(ipc_pair(relay) == 0);
	queue_sched_relay_channel(relay[0]);
	CHECK(queue_sched_active() != NULL);
	/* moving it to queue/ under the scheduler would make it remove the wrong path, and send twice */
	CHECK_STR(ask("flush\n"), "ok\nflush: 0 deferred messages due now\n");
	CHECK(spool_locate(&ctl_sp, id, &where) == 1 && where == SPOOL_IN_DEFER);
	relay_answers(relay[1], 2, PROTO_R_DELIVERED, "250 2.0.0 Ok");
	CHECK(spool_locate(&ctl_sp, id, &where) == 0);
	CHECK(ctl_sp.nmessages == 0);
	close(relay[1]);
	ctl_teardown();
}

TEST(queue_ctl_showq_lists_only_the_users_own_and_nothing_else)
{
	char mine[SPOOL_ID_LEN + 1], smtp_namesake[SPOOL_ID_LEN + 1], uid_prefix[SPOOL_ID_LEN + 1];
	char other[SPOOL_ID_LEN + 1];
	const char *a;

	ctl_setup();
	commit_by(mine, "backup", "local uid=34 pid=900");
	commit_by(smtp_namesake, "backup", "192.0.2.7"); /* an SMTP login of the same name: not uid 34's */
	commit_by(uid_prefix, "uid=345", "local uid=345 pid=901");
	commit_by(other, "root", "local uid=0 pid=902");
	a = ask_as(34, "list\n", 5, 0);
	CHECK(starts(a, "ok\n") && has(a, mine) && !has(a, smtp_namesake) && !has(a, uid_prefix) && !has(a, other));
	CHECK(has(a, "in 1 Request."));
	a = ask_as(34, "list json\n", 10, 0);
	CHECK(starts(a, "ok\n{\"count\":1,") && has(a, mine) && !has(a, smtp_namesake));
	CHECK_STR(ask_as(65534, "list\n", 5, 0), "ok\nMail queue is empty\n");
	a = ask_as(345, "list\n", 5, 0);
	CHECK(has(a, uid_prefix) && !has(a, mine));
	a = ask("list\n");
	CHECK(has(a, mine) && has(a, smtp_namesake) && has(a, uid_prefix) && has(a, other) && has(a, "in 4 Requests."));
	/* anything but list is root's */
	CHECK_STR(ask_as(34, "flush\n", 6, 0), "err 77 only root may do that; others may list their own messages\n");
	CHECK(starts(ask_as(34, "show 0000000000000000\n", 22, 0), "err 77 "));
	CHECK(starts(ask_as(34, "delete 0000000000000000\n", 24, 0), "err 77 "));
	CHECK(starts(ask_as(34, "nonsense\n", 9, 0), "err 64 ")); /* still parsed first */
	ctl_teardown();
}
