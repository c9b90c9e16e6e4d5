/*
 * sandbox_builtin.c - the seccomp backend whose filters were compiled at
 * build time (CONFIG_SANDBOX_SECCOMP_BUILD_TIME, the default): the BPF of
 * every role is a constant in the binary (build/include/sandbox_bpf.h, made
 * by tools/sandbox_bpfgen.c from sandbox_policy.c); no libseccomp is linked.
 */
#include "sandbox_backend.h"
#include "sandbox_bpf.h" /* generated: sandbox_bpf[role] = { instructions, length } */

int sandbox_backend_init(void)
{
	return 0;
}

const struct sock_filter *sandbox_backend_code(enum sandbox_role role, unsigned short *len)
{
	*len = sandbox_bpf[role].len;
	return sandbox_bpf[role].code;
}
