/*
 * sandbox_libseccomp.c - the seccomp backend that compiles each role's filter
 * at start, with libseccomp, from sandbox_policy.c (master, before the first
 * fork; CONFIG_SANDBOX_SECCOMP without CONFIG_SANDBOX_SECCOMP_BUILD_TIME).
 * Owns the compiled BPF of every role.
 */
#include <errno.h>
#include <seccomp.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sandbox.h"
#include "sandbox_backend.h"

#define SANDBOX_BPF_MAX 1024 /* instructions per role; the largest filter is far below */

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

int sandbox_backend_init(void)
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

const struct sock_filter *sandbox_backend_code(enum sandbox_role role, unsigned short *len)
{
	*len = sandbox_len[role];
	return sandbox_code[role];
}
