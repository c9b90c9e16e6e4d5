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
#include <unistd.h>

#include "log.h"

#if CONFIG_TEST_HOOKS

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
	rc = test_hook_run(action, colon ? colon + 1 : "");
	snprintf(out, cap, "test hook: %s: %s", spec, rc < 0 ? strerror(errno) : "succeeded");
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
