/*
 * sandbox.c - loading the per-role seccomp filters (DESIGN.md section 1).
 * Forbidden calls kill the whole process (SECCOMP_RET_KILL_PROCESS), which
 * the master sees as SIGSYS; with CONFIG_SANDBOX_SECCOMP_DEBUG they raise
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

#if CONFIG_SANDBOX_SECCOMP_BUILD_TIME
#include "sandbox_bpf.h" /* generated: sandbox_bpf[role] = { instructions, length } */
#elif CONFIG_SANDBOX_SECCOMP
#include <seccomp.h>
#endif

#define SANDBOX_BPF_MAX 1024 /* instructions per role; the largest filter is far below */

#if CONFIG_SANDBOX_SECCOMP && !CONFIG_SANDBOX_SECCOMP_BUILD_TIME
static struct sock_filter sandbox_code[SANDBOX_ROLES][SANDBOX_BPF_MAX];
static unsigned short sandbox_len[SANDBOX_ROLES];

/* libseccomp writes BPF only to a descriptor: a pipe brings it back into memory. */
static int sandbox_export(enum sandbox_role role)
{
	void *ctx = sandbox_policy_build(role, 0, CONFIG_SANDBOX_SECCOMP_DEBUG);
	int p[2], rc = -1;
	ssize_t n;

	if (ctx == NULL || pipe(p) < 0) {
		goto out;
	}
	if (seccomp_export_bpf(ctx, p[1]) == 0) {
		close(p[1]);
		p[1] = -1;
		n = read(p[0], sandbox_code[role], sizeof(sandbox_code[role]));
		if (n > 0 && n % (ssize_t)sizeof(struct sock_filter) == 0 && n < (ssize_t)sizeof(sandbox_code[role])) {
			sandbox_len[role] = (unsigned short)(n / (ssize_t)sizeof(struct sock_filter));
			rc = 0;
		}
	}
	close(p[0]);
	if (p[1] >= 0) {
		close(p[1]);
	}
out:
	if (ctx != NULL) {
		seccomp_release(ctx);
	}
	return rc;
}

int sandbox_init(void)
{
	for (int role = 0; role < SANDBOX_ROLES; role++) {
		if (sandbox_export((enum sandbox_role)role) < 0) {
			log_err("cannot build the seccomp filter for %s", sandbox_role_name((enum sandbox_role)role));
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

static const struct sock_filter *sandbox_code_of(enum sandbox_role role, unsigned short *len)
{
	*len = sandbox_len[role];
	return sandbox_code[role];
}
#elif CONFIG_SANDBOX_SECCOMP
int sandbox_init(void)
{
	return 0;
}

static const struct sock_filter *sandbox_code_of(enum sandbox_role role, unsigned short *len)
{
	*len = sandbox_bpf[role].len;
	return sandbox_bpf[role].code;
}
#else
int sandbox_init(void)
{
	return 0;
}
#endif

#if CONFIG_SANDBOX_SECCOMP_DEBUG
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
#endif

#if CONFIG_SANDBOX_SECCOMP
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
#endif

int sandbox_enter(enum sandbox_role role)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		return -1;
	}
#if CONFIG_SANDBOX_SECCOMP
	unsigned short len;
	const struct sock_filter *code = sandbox_code_of(role, &len);
	struct sock_fprog prog = { .len = len, .filter = (struct sock_filter *)code };

#if CONFIG_SANDBOX_SECCOMP_DEBUG
	if (sandbox_trap_handler() < 0) {
		return -1;
	}
#endif
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0) {
		return 0;
	}
	return sandbox_unfiltered_for_tests(role);
#else
	(void)role;
	return 0;
#endif
}

const char *sandbox_role_name(enum sandbox_role role)
{
	static const char *const names[SANDBOX_ROLES] = SANDBOX_ROLE_NAMES;

	return (unsigned)role < SANDBOX_ROLES ? names[role] : "?";
}

unsigned sandbox_filter_length(enum sandbox_role role)
{
#if CONFIG_SANDBOX_SECCOMP
	unsigned short len;

	sandbox_code_of(role, &len);
	return len;
#else
	(void)role;
	return 0;
#endif
}
