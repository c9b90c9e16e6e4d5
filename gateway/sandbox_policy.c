/*
 * sandbox_policy.c - the per-role system call allow-lists (DESIGN.md
 * section 1) and their translation into a libseccomp filter.
 *
 * A seccomp filter is inherited across fork and filters stack, so a parent's
 * list must hold everything its children do before and after they install
 * their own: the master's filter therefore includes the session's, and the
 * relay keeper's includes the relay's (sandbox_policy_covers). Auth, queue
 * and the relay keeper are forked before the master filters itself.
 * Names that do not exist on an architecture are left out of its filter by
 * libseccomp (musl uses open on x86_64, openat on aarch64, mmap2 on 32-bit ...).
 */
#include "sandbox_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define M   SANDBOX_BIT(SANDBOX_MASTER)
#define S   SANDBOX_BIT(SANDBOX_SESSION)
#define A   SANDBOX_BIT(SANDBOX_AUTH)
#define Q   SANDBOX_BIT(SANDBOX_QUEUE)
#define K   SANDBOX_BIT(SANDBOX_RELAY_KEEPER)
#define R   SANDBOX_BIT(SANDBOX_RELAY)
#define L   SANDBOX_BIT(SANDBOX_RELOAD)
#define ALL (M | S | A | Q | K | R | L)

/* clang-format off */
const struct sandbox_rule sandbox_rules[] = {
	/* every role */
	{ "read",            ALL, SANDBOX_ANY, "sockets, pipes and (queue) message files" },
	{ "write",           ALL, SANDBOX_ANY, "sockets and the log on stderr" },
	{ "readv",           ALL, SANDBOX_ANY, "musl stdio/syslog" },
	{ "writev",          ALL, SANDBOX_ANY, "musl stdio/syslog" },
	{ "close",           ALL, SANDBOX_ANY, "descriptors of finished work" },
	{ "exit",            ALL, SANDBOX_ANY, "process exit" },
	{ "exit_group",      ALL, SANDBOX_ANY, "process exit" },
	{ "restart_syscall", ALL, SANDBOX_ANY, "kernel restart of an interrupted sleep" },
	{ "rt_sigreturn",    ALL, SANDBOX_ANY, "return from a signal handler" },
	{ "sigreturn",       ALL, SANDBOX_ANY, "return from a signal handler (32-bit)" },
	{ "rt_sigprocmask",  ALL, SANDBOX_ANY, "musl masks signals around fork and in the master" },
	{ "clock_gettime",   ALL, SANDBOX_ANY, "timeouts and log time stamps (vDSO fallback)" },
	{ "clock_gettime64", ALL, SANDBOX_ANY, "the same on 32-bit time64" },
	{ "gettimeofday",    ALL, SANDBOX_ANY, "time(3) fallback" },
	{ "time",            ALL, SANDBOX_ANY, "time(3) fallback" },
	{ "nanosleep",       ALL, SANDBOX_ANY, "failed-login delay, restart back-off" },
	{ "clock_nanosleep", ALL, SANDBOX_ANY, "nanosleep on newer architectures" },
	{ "clock_nanosleep_time64", ALL, SANDBOX_ANY, "the same on 32-bit time64" },
	{ "getpid",          ALL, SANDBOX_ANY, "syslog and log lines" },
	{ "gettid",          ALL, SANDBOX_ANY, "musl's fork and raise" },
	{ "getrandom",       ALL, SANDBOX_ANY, "TLS randomness, nonces, queue ids" },
	{ "poll",            ALL, SANDBOX_ANY, "every event loop" },
	{ "ppoll",           ALL, SANDBOX_ANY, "poll on architectures without it" },
	{ "ppoll_time64",    ALL, SANDBOX_ANY, "the same on 32-bit time64" },
	{ "sendmsg",         ALL, SANDBOX_ANY, "frames and descriptors between processes" },
	{ "recvmsg",         ALL, SANDBOX_ANY, "frames and descriptors between processes" },
	{ "fcntl",           ALL, SANDBOX_ANY, "O_NONBLOCK and FD_CLOEXEC on own descriptors" },
	{ "fcntl64",         ALL, SANDBOX_ANY, "the same on 32-bit" },
	{ "lseek",           ALL, SANDBOX_ANY, "rewinding message files" },
	{ "_llseek",         ALL, SANDBOX_ANY, "the same on 32-bit" },
	{ "fstat",           ALL, SANDBOX_ANY, "size of an open file" },
	{ "fstat64",         ALL, SANDBOX_ANY, "the same on 32-bit" },
	{ "brk",             ALL, SANDBOX_ANY, "musl malloc (start-up, libseccomp, DNS)" },
	{ "munmap",          ALL, SANDBOX_ANY, "musl malloc" },
	{ "mremap",          ALL, SANDBOX_ANY, "musl malloc" },
	{ "madvise",         ALL, SANDBOX_ANY, "musl malloc returns memory" },
	{ "mmap",            ALL, SANDBOX_NO_EXEC, "musl malloc; never executable memory" },
	{ "mmap2",           ALL, SANDBOX_NO_EXEC, "the same on 32-bit" },
	{ "mprotect",        ALL, SANDBOX_NO_EXEC, "never makes memory executable" },

	/* the master: accept, fork sessions, reap, stop */
	{ "accept",          M, SANDBOX_ANY, "new connections" },
	{ "accept4",         M, SANDBOX_ANY, "new connections" },
	{ "socketpair",      M | K, SANDBOX_ANY, "per-session channels to auth and queue; relay worker channel" },
	{ "fork",            M | K, SANDBOX_ANY, "a session per connection; the relay worker" },
	{ "clone",           M | K, SANDBOX_FORK_ONLY, "fork on architectures without fork(2); never threads" },
	{ "set_tid_address", M | K, SANDBOX_ANY, "musl's fork, in the new child" },
	{ "wait4",           M | K, SANDBOX_ANY, "reaping children" },
	{ "kill",            M | K, SANDBOX_STOP_SIGNAL, "stopping children (SIGTERM/SIGKILL only); keeper: reload" },
	{ "prctl",           M | K, SANDBOX_PRCTL_SETUP, "the new child: PDEATHSIG, NO_NEW_PRIVS, its filter" },
	{ "seccomp",         M | K, SANDBOX_ANY, "the new child installs its own, narrower filter" },
	{ "rt_sigaction",    M | K, SANDBOX_ANY, "the new child's SIGSYS handler (debug builds)" },
	{ "ftruncate",       M | Q, SANDBOX_ANY, "master: empty the pid file on exit; queue: tmp files" },

	/* sessions: one connection */
	{ "setsockopt",      S | R, SANDBOX_ANY, "TCP_NODELAY on the connection" },
	{ "getsockopt",      S | R, SANDBOX_ANY, "SO_ERROR after connect" },
	{ "shutdown",        S | R, SANDBOX_ANY, "closing the connection after QUIT" },

	/* auth: reads users.cdb, nothing else; reload: reads the configured files, nothing else */
	{ "open",            A | R | L, SANDBOX_READ_ONLY, "auth: users.cdb; relay: /etc/hosts, resolv.conf; reload" },
	{ "openat",          A | R | L, SANDBOX_READ_ONLY, "the same where open(2) does not exist" },
	{ "stat",            A | Q | L, SANDBOX_ANY, "auth: users.cdb replaced?; queue: spool entries; reload: modes" },
	{ "stat64",          A | Q | L, SANDBOX_ANY, "the same on 32-bit" },
	{ "newfstatat",      A | Q | L, SANDBOX_ANY, "stat(2) on newer architectures" },
	{ "fstatat64",       A | Q | L, SANDBOX_ANY, "the same on 32-bit" },
	{ "statx",           A | Q | L, SANDBOX_ANY, "stat(2) on 32-bit time64" },

	/* queue: owns the spool */
	{ "open",            Q, SANDBOX_ANY, "spool files: create, read" },
	{ "openat",          Q, SANDBOX_ANY, "spool files relative to the spool directories" },
	{ "rename",          Q, SANDBOX_ANY, "commit tmp -> queue, defer and back" },
	{ "renameat",        Q, SANDBOX_ANY, "the same relative to directory descriptors" },
	{ "renameat2",       Q, SANDBOX_ANY, "rename on newer architectures" },
	{ "unlink",          Q, SANDBOX_ANY, "delivered, bounced and swept messages" },
	{ "unlinkat",        Q, SANDBOX_ANY, "the same relative to directory descriptors" },
	{ "fsync",           Q, SANDBOX_ANY, "durable commit before the 250" },
	{ "fdatasync",       Q, SANDBOX_ANY, "durable per-recipient done marks" },
	{ "pwrite64",        Q, SANDBOX_ANY, "one-byte recipient marks" },
	{ "pread64",         Q | R, SANDBOX_ANY, "reading the envelope; relay: the message" },
	{ "getdents64",      Q, SANDBOX_ANY, "scanning queue/ and defer/" },
	{ "getdents",        Q, SANDBOX_ANY, "the same on old architectures" },
	{ "statfs",          Q, SANDBOX_ANY, "free-space reserve" },
	{ "fstatfs",         Q, SANDBOX_ANY, "free-space reserve" },
	{ "statfs64",        Q, SANDBOX_ANY, "the same on 32-bit" },
	{ "fstatfs64",       Q, SANDBOX_ANY, "the same on 32-bit" },
	{ "utimensat",       Q, SANDBOX_ANY, "deferred mail: mtime = next attempt" },
	{ "utimensat_time64", Q, SANDBOX_ANY, "the same on 32-bit time64" },
	{ "dup",             Q, SANDBOX_ANY, "a read-only copy for the relay, directory streams" },
	{ "fchmod",          Q, SANDBOX_ANY, "the relay's copies of hosts and resolv.conf are 0644" },

	/* relay: the only role that may reach the network */
	{ "socket",          R, SANDBOX_INET, "TCP to the smarthost, UDP to the resolver; IP only" },
	{ "connect",         R, SANDBOX_ANY, "the smarthost, the resolver" },
	{ "bind",            R, SANDBOX_ANY, "musl binds its DNS socket to port 0" },
	{ "sendto",          R, SANDBOX_ANY, "DNS queries" },
	{ "recvfrom",        R, SANDBOX_ANY, "DNS answers" },
	{ "sendmmsg",        R, SANDBOX_ANY, "DNS queries (musl, A and AAAA at once)" },
};
/* clang-format on */

const unsigned sandbox_nrules = sizeof(sandbox_rules) / sizeof(sandbox_rules[0]);

/* A parent's filter must allow what its children will do (see the top comment). */
static unsigned sandbox_policy_covers(enum sandbox_role role)
{
	switch (role) {
	case SANDBOX_MASTER:
		return M | S;
	case SANDBOX_RELAY_KEEPER:
		return K | R;
	default:
		return SANDBOX_BIT(role);
	}
}

/*
 * Flag and signal values the argument filters compare with, for the filter's
 * architecture, not the build machine's: MIPS numbers O_CREAT, O_APPEND and
 * SIGCHLD differently from everyone else.
 */
struct sandbox_abi {
	uint32_t o_creat, o_trunc, o_append, sigchld;
};

static struct sandbox_abi sandbox_abi_of(uint32_t arch)
{
	switch (arch) {
	case SCMP_ARCH_MIPS:
	case SCMP_ARCH_MIPSEL:
	case SCMP_ARCH_MIPS64:
	case SCMP_ARCH_MIPSEL64:
	case SCMP_ARCH_MIPS64N32:
	case SCMP_ARCH_MIPSEL64N32:
		return (struct sandbox_abi){ 0x100, 0x200, 0x8, 18 };
	default:
		return (struct sandbox_abi){ 0x40, 0x200, 0x400, 17 };
	}
}

static int sandbox_add(scmp_filter_ctx ctx, int nr, const char *name, enum sandbox_check check,
		       const struct sandbox_abi *abi)
{
	const uint32_t allow = SCMP_ACT_ALLOW;

	switch (check) {
	case SANDBOX_READ_ONLY: {
		/* open(path, flags) has flags in arg 1, openat(dir, path, flags) in arg 2 */
		unsigned arg = __builtin_strcmp(name, "openat") == 0 ? 2 : 1;
		scmp_datum_t mask = 3 /* O_ACCMODE */ | abi->o_creat | abi->o_trunc | abi->o_append;

		return seccomp_rule_add(ctx, allow, nr, 1, SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, 0 /* O_RDONLY */));
	}
	case SANDBOX_NO_EXEC:
		return seccomp_rule_add(ctx, allow, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case SANDBOX_INET:
		return seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET)) ||
		       seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	case SANDBOX_FORK_ONLY:
		return seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, abi->sigchld));
	case SANDBOX_STOP_SIGNAL:
		return seccomp_rule_add(ctx, allow, nr, 1, SCMP_A1(SCMP_CMP_EQ, SIGTERM)) ||
		       seccomp_rule_add(ctx, allow, nr, 1, SCMP_A1(SCMP_CMP_EQ, SIGKILL));
	case SANDBOX_PRCTL_SETUP:
		return seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_PDEATHSIG)) ||
		       seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS)) ||
		       seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP));
	default:
		return seccomp_rule_add(ctx, allow, nr, 0);
	}
}

/* The unrestricted rule of a syscall wins over a restricted one for the same role set. */
static int sandbox_unrestricted(unsigned covers, const char *name)
{
	for (unsigned i = 0; i < sandbox_nrules; i++) {
		const struct sandbox_rule *r = &sandbox_rules[i];

		if ((r->roles & covers) && r->check == SANDBOX_ANY && __builtin_strcmp(r->syscall, name) == 0) {
			return 1;
		}
	}
	return 0;
}

void *sandbox_policy_build(enum sandbox_role role, uint32_t arch_token, int trap)
{
	unsigned covers = sandbox_policy_covers(role);
	struct sandbox_abi abi = sandbox_abi_of(arch_token ? arch_token : seccomp_arch_native());
	scmp_filter_ctx ctx = seccomp_init(trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);

	if (ctx == NULL) {
		return NULL;
	}
	if (arch_token != 0 && arch_token != seccomp_arch_native() &&
	    (seccomp_arch_add(ctx, arch_token) < 0 || seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) < 0)) {
		seccomp_release(ctx);
		return NULL;
	}
	for (unsigned i = 0; i < sandbox_nrules; i++) {
		const struct sandbox_rule *r = &sandbox_rules[i];
		/* the native (or libseccomp pseudo) number: libseccomp translates it for the
		 * filter's architecture, socketcall multiplexing included, and leaves out
		 * calls that architecture does not have */
		int nr = seccomp_syscall_resolve_name(r->syscall);

		if (!(r->roles & covers) || nr == __NR_SCMP_ERROR) {
			continue; /* not this role's, or a name libseccomp does not know */
		}
		if (r->check != SANDBOX_ANY && sandbox_unrestricted(covers, r->syscall)) {
			continue;
		}
		if (sandbox_add(ctx, nr, r->syscall, (enum sandbox_check)r->check, &abi) < 0) {
			seccomp_release(ctx);
			errno = EINVAL;
			return NULL;
		}
	}
	return ctx;
}
