/*
 * test_hook.c - see test_hook.h. Test builds only (CONFIG_TEST_HOOKS).
 */
#include "test_hook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "proto.h"

#if CONFIG_TEST_HOOKS

static int test_hook_auth_fd = -1, test_hook_queue_fd = -1;
static struct ipc_frame test_hook_frame;

void test_hook_channels(int auth_fd, int queue_fd)
{
	test_hook_auth_fd = auth_fd;
	test_hook_queue_fd = queue_fd;
}

/* One valid request (auth: TLS_SIGN, queue: Q_CHECK) carrying `sock` itself twice. Returns 0 or -1. */
static int test_hook_send_two_fds(int sock, int to_auth)
{
	static struct proto_tls_sign sign; /* zero: signs nothing, answered at once, never throttled */
	static struct proto_q_check check; /* size 0: answered at once */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} control;
	struct ipc_header h = { .type = to_auth ? PROTO_TLS_SIGN : PROTO_Q_CHECK,
				.len = to_auth ? sizeof(sign) : sizeof(check) };
	struct iovec iov[2] = { { &h, sizeof(h) }, { to_auth ? (void *)&sign : (void *)&check, h.len } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = control.buf };
	struct cmsghdr *cm;
	int fds[2] = { sock, sock };

	memset(&control, 0, sizeof(control));
	msg.msg_controllen = sizeof(control.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/*
 * "ipc-fds:auth:N" or "ipc-fds:queue:N" (session only): what a compromised
 * session could do to fill a service's descriptor table: up to N valid
 * requests, each with two descriptors, each answer read. Says how many were
 * answered before the service closed the channel.
 */
static void test_hook_ipc_fds(const char *spec, const char *arg, char *out, size_t cap)
{
	int to_auth = strncmp(arg, "auth:", 5) == 0;
	int sock = to_auth ? test_hook_auth_fd : strncmp(arg, "queue:", 6) == 0 ? test_hook_queue_fd : -1;
	const char *count = strchr(arg, ':');
	long n = count != NULL ? strtol(count + 1, NULL, 10) : 0, answered = 0;
	int rc = 1;

	if (sock < 0 || n <= 0) {
		snprintf(out, cap, "test hook: %s: %s", spec, strerror(EINVAL));
		return;
	}
	while (answered < n && rc == 1) {
		rc = test_hook_send_two_fds(sock, to_auth) < 0 ? -1 : ipc_recv(sock, &test_hook_frame, NULL);
		answered += rc == 1;
	}
	snprintf(out, cap, "test hook: %s: %ld answered%s", spec, answered,
		 rc == 1   ? ""
		 : rc == 0 ? ", then the channel closed"
			   : ", then an error");
}

static int test_hook_connect(const char *arg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(arg)) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0) {
		return -1;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc;
}

static int test_hook_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd >= 0) {
		close(fd);
	}
	return fd < 0 ? -1 : 0;
}

static int test_hook_run(const char *action, const char *arg)
{
	static char *const argv[] = { "/bin/true", NULL };

	if (strcmp(action, "execve") == 0) {
		return execve(argv[0], argv, argv + 1);
	}
	if (strcmp(action, "ptrace") == 0) {
		return (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	}
	if (strcmp(action, "socket") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		return fd < 0 ? -1 : close(fd);
	}
	if (strcmp(action, "connect") == 0) {
		return test_hook_connect(arg);
	}
	if (strcmp(action, "open-read") == 0) {
		return test_hook_open(arg, O_RDONLY);
	}
	if (strcmp(action, "open-write") == 0) {
		return test_hook_open(arg, O_WRONLY | O_CREAT);
	}
	errno = EINVAL;
	return -1;
}

void test_hook_action(const char *spec, char *out, size_t cap)
{
	char action[32];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	int rc;

	snprintf(action, sizeof(action), "%.*s", (int)(n < sizeof(action) ? n : sizeof(action) - 1), spec);
	if (strcmp(action, "ipc-fds") == 0) {
		test_hook_ipc_fds(spec, colon ? colon + 1 : "", out, cap);
		return;
	}
	rc = test_hook_run(action, colon ? colon + 1 : "");
	snprintf(out, cap, "test hook: %s: %s", spec, rc < 0 ? strerror(errno) : "succeeded");
}

time_t test_hook_clock(void)
{
	const char *text = getenv("SUBGATE_TEST_CLOCK");
	char *end;
	long long when;

	if (text == NULL || text[0] == '\0') {
		return time(NULL);
	}
	errno = 0;
	when = strtoll(text, &end, 10);
	return errno != 0 || *end != '\0' ? time(NULL) : (time_t)when;
}

void test_hook_role(enum sandbox_role role)
{
	static const char *const names[SANDBOX_ROLES] = { "master",       "session", "auth",  "queue",
							  "relay-keeper", "relay",   "reload" };
	const char *spec = getenv("SUBGATE_TEST_HOOK");
	size_t n = strlen(names[role]);
	char out[256];

	if (spec == NULL || strncmp(spec, names[role], n) != 0 || spec[n] != ':') {
		return;
	}
	test_hook_action(spec + n + 1, out, sizeof(out));
	log_warn("%s %s", names[role], out);
}
#endif
