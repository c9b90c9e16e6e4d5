/*
 * service_test.c - the auth/queue loop (service.c) in a child process: a
 * malformed frame on the master's channel (extra descriptors, an empty
 * message) is refused and skipped, leaves no descriptor open, and is not
 * taken for the master's end; closing the channel is.
 *
 * Also: a slot the master gives to a new session in the same round in which
 * the old session's socket hung up is not served until the new session speaks.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "ipc_raw.h"
#include "service.h"

#define SERVICE_TEST_WAIT_MS 5000

static struct service service_test_svc;
static int service_test_report = -1;

/* The child tells the test how many descriptors it holds after each adoption. */
static void service_test_adopt(unsigned slot, const struct proto_new_session *ns)
{
	int n = ipc_raw_fd_count();

	(void)slot;
	(void)ns;
	if (write(service_test_report, &n, sizeof(n)) != (ssize_t)sizeof(n)) {
		_exit(3);
	}
}

static void service_test_request(unsigned slot)
{
	service_drop(&service_test_svc, slot);
}

static void __attribute__((noreturn)) service_test_child(int master_fd, int report_fd)
{
	service_test_report = report_fd;
	service_init(&service_test_svc, "test", master_fd);
	service_test_svc.adopt = service_test_adopt;
	service_test_svc.request = service_test_request;
	service_run(&service_test_svc);
}

/* Hands the child a new session in slot 0; returns the descriptor count it reports, or -1. */
static int service_test_new_session(int master_fd, int report_fd)
{
	struct proto_new_session ns = { .slot = 0, .client = "127.0.0.1", .session_id = "T" };
	struct pollfd p = { .fd = report_fd, .events = POLLIN };
	int pair[2], n = -1;

	if (ipc_pair(pair) < 0) {
		return -1;
	}
	if (ipc_send(master_fd, PROTO_NEW_SESSION, &ns, sizeof(ns), pair[0]) < 0 ||
	    poll(&p, 1, SERVICE_TEST_WAIT_MS) != 1 || read(report_fd, &n, sizeof(n)) != (ssize_t)sizeof(n)) {
		n = -1;
	}
	close(pair[0]);
	close(pair[1]);
	return n;
}

TEST(service_skips_malformed_master_frames)
{
	int sv[2], rp[2], p[2], status = -1, first, second;
	struct iovec iov = { &status, 0 };
	struct msghdr empty = { .msg_iov = &iov, .msg_iovlen = 1 };
	pid_t pid;

	if (ipc_pair(sv) < 0 || pipe(rp) < 0 || pipe(p) < 0 || (pid = fork()) < 0) {
		CHECK(!"cannot set up");
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		close(rp[0]);
		service_test_child(sv[1], rp[1]);
	}
	close(sv[1]);
	close(rp[1]);
	first = service_test_new_session(sv[0], rp[0]);
	CHECK(first > 0);
	CHECK(ipc_raw_send(sv[0], PROTO_NEW_SESSION, p[1], 2, 0) == 0); /* two descriptors in one message */
	CHECK(ipc_raw_send(sv[0], PROTO_NEW_SESSION, p[1], 2, 1) == 0); /* two messages of one each */
	CHECK(ipc_raw_send(sv[0], PROTO_NEW_SESSION, p[1], 3, 0) == 0); /* more than fit the old buffer */
	CHECK(ipc_raw_send(sv[0], PROTO_FLUSH, p[1], 1, 0) == 0);       /* no payload, wrong size */
	CHECK(sendmsg(sv[0], &empty, MSG_NOSIGNAL) == 0);               /* an empty message is not the end */
	second = service_test_new_session(sv[0], rp[0]);                /* replaces slot 0: the same count again */
	CHECK(second == first);
	close(sv[0]); /* the master's end: the child exits */
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(rp[0]);
	close(p[0]);
	close(p[1]);
}

static struct service test_svc;
static unsigned test_requests;

static int test_timeout_ms(void)
{
	return 2000; /* a round never waits for ever, whatever goes wrong */
}

static void test_request(unsigned slot)
{
	test_requests++;
	service_drop(&test_svc, slot); /* what auth does with a frame it cannot read */
}

TEST(service_does_not_serve_a_slot_whose_socket_changed_this_round)
{
	struct proto_new_session ns;
	int master[2], old_session[2], new_session[2];

	CHECK(ipc_pair(master) == 0);
	CHECK(ipc_pair(old_session) == 0);
	CHECK(ipc_pair(new_session) == 0);
	service_init(&test_svc, "test", master[0]);
	test_svc.request = test_request;
	test_svc.timeout_ms = test_timeout_ms;
	test_svc.fds[3] = old_session[0];
	close(old_session[1]); /* the old session is gone: its socket hangs up */
	memset(&ns, 0, sizeof(ns));
	ns.slot = 3;
	CHECK(ipc_send(master[1], PROTO_NEW_SESSION, &ns, sizeof(ns), new_session[1]) == 0);
	close(new_session[1]);
	test_requests = 0;
	service_poll_once(&test_svc);
	CHECK(test_requests == 0); /* the hang-up was the old socket's; the new one has said nothing */
	CHECK(test_svc.fds[3] >= 0);
	CHECK(ipc_send(new_session[0], PROTO_TLS_SIGN, NULL, 0, -1) == 0);
	service_poll_once(&test_svc);
	CHECK(test_requests == 1); /* the new session's frame is served */
	service_drop(&test_svc, 3);
	close(new_session[0]);
	close(master[0]);
	close(master[1]);
}
