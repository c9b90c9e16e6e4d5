/*
 * sandbox.c - entering a role's sandbox (every process, right after its
 * jail): NO_NEW_PRIVS, then the role's seccomp filter from the backend the
 * build chose (sandbox_backend.h; DESIGN.md section 1). Forbidden calls
 * kill the whole process (SECCOMP_RET_KILL_PROCESS), which the master sees
 * as SIGSYS; with CONFIG_SANDBOX_SECCOMP_DEBUG they raise
 * SIGSYS instead, and a handler logs the call's name and number and exits.
 */
#include "sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sandbox_backend.h"

/* Debug builds only: name the forbidden call, then die as the filter would have. */
static void sandbox_sigsys(int signo, siginfo_t *si, void *uctx)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "subgate[%d]: seccomp: forbidden system call %d (arch 0x%x)\n",
			 (int)getpid(), si->si_syscall, si->si_arch);

	(void)signo;
	(void)uctx;
	if (n > 0 && write(2, line, (size_t)n) < 0) {
		/* nothing else to do */
	}
	signal(SIGSYS, SIG_DFL);
	raise(SIGSYS);
}

static int sandbox_trap_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	return sigaction(SIGSYS, &sa, NULL);
}

/*
 * qemu-user cannot install a guest's seccomp filter (EINVAL). Test builds
 * only, and only when SUBGATE_TEST_NO_SECCOMP=1 says so, may then go on
 * unfiltered, with a warning in every process; the filters of the emulated
 * architectures are verified by tests/seccomp/check.py instead.
 */
static int sandbox_unfiltered_for_tests(enum sandbox_role role)
{
	const char *sw;

	if (!CONFIG_TEST_HOOKS || errno != EINVAL) {
		return -1;
	}
	sw = getenv("SUBGATE_TEST_NO_SECCOMP");
	if (sw == NULL || strcmp(sw, "1") != 0) {
		errno = EINVAL;
		return -1;
	}
	log_warn("WARNING: %s: seccomp unavailable (emulator?); running UNFILTERED because "
		 "SUBGATE_TEST_NO_SECCOMP=1 (test build)",
		 sandbox_role_name(role));
	return 0;
}

int sandbox_init(void)
{
	return sandbox_backend_init();
}

int sandbox_enter(enum sandbox_role role)
{
	unsigned short len;
	const struct sock_filter *code = sandbox_backend_code(role, &len);
	struct sock_fprog prog = { .len = len, .filter = (struct sock_filter *)code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		return -1;
	}
	if (!CONFIG_SANDBOX_SECCOMP) {
		return 0;
	}
	if (CONFIG_SANDBOX_SECCOMP_DEBUG && sandbox_trap_handler() < 0) {
		return -1;
	}
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0) {
		return 0;
	}
	return sandbox_unfiltered_for_tests(role);
}

const char *sandbox_role_name(enum sandbox_role role)
{
	static const char *const names[SANDBOX_ROLES] = SANDBOX_ROLE_NAMES;

	return (unsigned)role < SANDBOX_ROLES ? names[role] : "?";
}

unsigned sandbox_filter_length(enum sandbox_role role)
{
	unsigned short len;

	sandbox_backend_code(role, &len);
	return len;
}
