/*
 * queue_ctl_slow_test.c - control clients that do not read their answers
 * (queue_ctl.c): the queue process answers others meanwhile and never
 * waits in a write; a client that reads late still gets the whole answer,
 * produced piece by piece into its bounded buffer (list in JSON and text,
 * show of a large message); one that never reads is dropped at its
 * deadline. The server's end of each connection has a small send buffer,
 * so a listing cannot hide in the kernel; it also has a send timeout, so
 * a blocking write would fail (cut the answer) instead of hanging the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "conf.h"
#include "harness.h"
#include "queue_ctl.h"
#include "queue_sched.h"
#include "service.h"
#include "spool_state.h"

#define SLOW_MESSAGES 40
#define SLOW_RCPTS    30

static char slow_dir[64];
static struct spool slow_sp;
static struct conf slow_conf;
static struct service slow_svc;
static char slow_answer[1 << 20];

static void slow_setup(unsigned timeout_ms)
{
	struct spool_limits limits = { 1000, 1 << 26, 0 };

	snprintf(slow_dir, sizeof(slow_dir), "/tmp/subgate-ctl-slow-XXXXXX");
	CHECK(mkdtemp(slow_dir) != NULL);
	CHECK(spool_open(&slow_sp, slow_dir, &limits) == 0);
	memset(&slow_conf, 0, sizeof(slow_conf));
	slow_conf.retry_min = 300;
	slow_conf.retry_max = 3600;
	slow_conf.queue_lifetime = (uint64_t)100 * 365 * 86400;
	service_init(&slow_svc, "queue", -1);
	queue_sched_init(&slow_conf, &slow_sp, &slow_svc);
	queue_ctl_init(&slow_sp, timeout_ms);
}

static void slow_teardown(void)
{
	char cmd[128];

	queue_ctl_shutdown();
	spool_close(&slow_sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", slow_dir);
	CHECK(system(cmd) == 0);
}

/* SLOW_MESSAGES messages of SLOW_RCPTS long recipients each: a listing of about 100 KB. */
static void slow_fill(char id[SPOOL_ID_LEN + 1], size_t body_size)
{
	static char addrs[SLOW_RCPTS][80], body[1 << 17];
	const char *rcpts[SLOW_RCPTS];
	struct spool_msg m;

	for (int i = 0; i < SLOW_RCPTS; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "recipient-number-%02d-with-a-long-name@example.org", i);
		rcpts[i] = addrs[i];
	}
	for (size_t i = 0; i < body_size && i < sizeof(body); i++) {
		body[i] = "abcdefghijklmnopqrstuvwxyz"[i % 26];
		if (i % 100 == 99) {
			body[i] = '\n';
		}
	}
	for (int k = 0; k < SLOW_MESSAGES; k++) {
		struct spool_envelope env = { "a@example.com", "alice", "192.0.2.1", SLOW_RCPTS, rcpts, 1700000000 };

		CHECK(spool_msg_create(&slow_sp, &m, &env) == 0);
		CHECK(spool_msg_write(&slow_sp, &m, body, body_size) == 0);
		CHECK(spool_msg_commit(&slow_sp, &m) == 0);
	}
	memcpy(id, m.id, SPOOL_ID_LEN + 1);
}

/* A connection with the request sent; returns the client's end, the server's end is accepted. */
static int slow_connect(const char *req)
{
	struct timeval tv = { .tv_sec = 1 };
	int sv[2], small = 4096;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0); /* as the master sets it */
	CHECK(write(sv[1], req, strlen(req)) == (ssize_t)strlen(req));
	queue_ctl_accept(sv[0], -1);
	return sv[1];
}

/* One pass of the queue's poll loop over the control connections. Returns how many are open. */
static unsigned slow_pass(int wait_ms)
{
	struct pollfd pfd[QUEUE_CTL_CLIENTS];
	unsigned n = queue_ctl_fds(pfd, QUEUE_CTL_CLIENTS);

	if (n > 0) {
		CHECK(poll(pfd, n, wait_ms) >= 0);
		queue_ctl_ready(pfd, n);
	}
	return queue_ctl_fds(pfd, QUEUE_CTL_CLIENTS);
}

/* Reads fd to its end while the queue keeps serving; returns the length in slow_answer. */
static size_t slow_read_all(int fd)
{
	size_t len = 0;
	int flags = fcntl(fd, F_GETFL);

	CHECK(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
	for (int rounds = 0; rounds < 100000; rounds++) {
		ssize_t r = read(fd, slow_answer + len, sizeof(slow_answer) - 1 - len);

		if (r == 0 || len == sizeof(slow_answer) - 1) {
			break;
		}
		if (r > 0) {
			len += (size_t)r;
			continue;
		}
		CHECK(errno == EAGAIN);
		slow_pass(100);
	}
	slow_answer[len] = '\0';
	close(fd);
	return len;
}

static size_t slow_count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) {
		n++;
	}
	return n;
}

TEST(queue_ctl_late_reader_gets_the_whole_answer_and_others_are_served_meanwhile)
{
	char id[SPOOL_ID_LEN + 1], req[64];
	int slow, root, show;
	size_t len;

	slow_setup(5000);
	slow_fill(id, 1000);
	slow = slow_connect("list json\n");
	slow_pass(0); /* reads the request and sends what fits: the answer waits for the reader */
	snprintf(req, sizeof(req), "show %s\n", id);
	show = slow_connect(req);
	root = slow_connect("list\n");
	/* the text list and the show go out, read as they come, while the JSON list waits */
	len = slow_read_all(root);
	CHECK(strncmp(slow_answer, "ok\n-Queue ID-", 13) == 0);
	CHECK(slow_count(slow_answer, "recipient-number-17-") == SLOW_MESSAGES);
	CHECK(len > 20 && strstr(slow_answer, "Kbytes in 40 Requests.\n") == slow_answer + len - 23);
	len = slow_read_all(show);
	CHECK(strncmp(slow_answer, "ok\nid: ", 7) == 0);
	CHECK(len > 1000 && slow_answer[len - 1] == '\n' && slow_answer[len - 2] == 'a' + 998 % 26);
	len = slow_read_all(slow);
	CHECK(strncmp(slow_answer, "ok\n{\"count\":40,", 15) == 0);
	CHECK(slow_count(slow_answer, "\"recipients\":[") == SLOW_MESSAGES);
	CHECK(slow_count(slow_answer, "recipient-number-17-") == SLOW_MESSAGES);
	CHECK(len > 5 && strcmp(slow_answer + len - 4, "}]}\n") == 0);
	CHECK(queue_ctl_timeout_ms() == -1);
	slow_teardown();
}

TEST(queue_ctl_client_that_never_reads_is_dropped)
{
	char id[SPOOL_ID_LEN + 1];
	int slow;
	size_t len;

	slow_setup(200);
	slow_fill(id, 10);
	slow = slow_connect("list\n");
	for (int rounds = 0; rounds < 1000 && slow_pass(100) > 0; rounds++) {
		/* nobody reads: the queue gives up at the deadline, it does not wait in a write */
	}
	CHECK(queue_ctl_timeout_ms() == -1);
	len = slow_read_all(slow);
	CHECK(strncmp(slow_answer, "ok\n", 3) == 0 && len < 100000); /* cut short: what fitted */
	slow_teardown();
}

TEST(queue_ctl_slot_is_clean_after_a_client_dropped_mid_answer)
{
	char id[SPOOL_ID_LEN + 1];
	int slow;

	slow_setup(200);
	slow_fill(id, 10);
	slow = slow_connect("list\n"); /* takes the first slot */
	for (int rounds = 0; rounds < 1000 && slow_pass(100) > 0; rounds++) {
		/* nobody reads: dropped at the deadline, a step of the listing half written */
	}
	CHECK(queue_ctl_timeout_ms() == -1);
	close(slow);
	(void)slow_read_all(slow_connect("flush\n")); /* the same slot, a new client */
	CHECK(strncmp(slow_answer, "ok\nflush: ", 10) == 0);
	slow_teardown();
}
