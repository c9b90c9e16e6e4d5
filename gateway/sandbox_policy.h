/*
 * sandbox_policy.h - what each process role may ask of the kernel: the
 * seccomp allow-lists as data (one table, one reason per entry), and the
 * libseccomp filter built from them. Shared by the daemon (filters built at
 * start) and the build-time policy compiler (filters built into the binary).
 */
#ifndef SUBGATE_SANDBOX_POLICY_H
#define SUBGATE_SANDBOX_POLICY_H

#include <stdint.h>

enum sandbox_role {
	SANDBOX_MASTER,
	SANDBOX_SESSION,
	SANDBOX_AUTH,
	SANDBOX_QUEUE,
	SANDBOX_RELAY_KEEPER,
	SANDBOX_RELAY,
	SANDBOX_RELOAD,
	SANDBOX_ROLES
};

/* Argument checks a rule can carry. */
enum sandbox_check {
	SANDBOX_ANY,         /* no argument check */
	SANDBOX_READ_ONLY,   /* open/openat: no write access, no O_CREAT/O_TRUNC */
	SANDBOX_NO_EXEC,     /* mmap/mprotect: never PROT_EXEC */
	SANDBOX_INET,        /* socket: AF_INET or AF_INET6 only */
	SANDBOX_FORK_ONLY,   /* clone: a plain fork (flags == SIGCHLD), never a thread */
	SANDBOX_STOP_SIGNAL, /* kill: SIGTERM or SIGKILL only */
	SANDBOX_PRCTL_SETUP, /* prctl: PDEATHSIG, NO_NEW_PRIVS, SECCOMP only */
};

struct sandbox_rule {
	const char *syscall;
	uint8_t roles; /* bit per enum sandbox_role */
	uint8_t check; /* enum sandbox_check */
	const char *why;
};

#define SANDBOX_BIT(role) (1u << (role))
#define SANDBOX_ROLE_NAMES                                                              \
	{                                                                               \
		"master", "session", "auth", "queue", "relay keeper", "relay", "reload" \
	}

extern const struct sandbox_rule sandbox_rules[];
extern const unsigned sandbox_nrules;

/*
 * Builds the role's filter for the native architecture (arch_token 0) or the
 * one named by a libseccomp token (SCMP_ARCH_*). `trap`: forbidden calls
 * raise SIGSYS (debug builds) instead of killing the process. Returns a
 * scmp_filter_ctx (as void *, so callers need not include seccomp.h), or
 * NULL.
 */
void *sandbox_policy_build(enum sandbox_role role, uint32_t arch_token, int trap);

#endif
