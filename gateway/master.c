/*
 * master.c - the master process: start-up as root, the jail, the long-lived
 * children (auth, queue, relay), signals and the event loop. The accept
 * path and the sessions are in master_session.c.
 *
 * Start-up order: configuration checks (in a throw-away child, so no secret
 * ever sits in the master's memory), certificate chain, accounts, filters,
 * spool and jail directories, listeners, pid file; then auth (loads the TLS
 * key), queue and relay (loads the smarthost secret) are forked and jail
 * themselves; last the master drops into its own jail. A long-lived child
 * that dies takes the daemon down (OpenSMTPD's rule): only a root start can
 * rebuild its jail, and the service manager restarts subgate. The relay
 * restarts its own worker (relay_proc.c).
 */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "auth_proc.h"
#include "conf_files.h"
#include "log.h"
#include "master_int.h"
#include "queue_proc.h"
#include "relay_proc.h"
#include "reload_proc.h"
#include "sandbox.h"
#include "version.h"

struct master master; /* zero-initialised (.bss, not file space); descriptors set to -1 in master_run */

void master_child_setup(void)
{
	const int fds[] = { master.auth_fd, master.queue_fd,  master.relay_fd,   master.reload_fd, master.sigfd,
			    master.pid_fd,  master.submit_fd, master.control_fd, master.showq_fd };

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (unsigned i = 0; i < master.nlisteners; i++) {
		close(master.listeners[i].fd);
	}
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		if (master.sessions[i].pid > 0 && master.sessions[i].status_fd >= 0) {
			close(master.sessions[i].status_fd); /* another session's status is not this child's */
		}
	}
	sigprocmask(SIG_SETMASK, &master.saved_mask, NULL);
}

enum master_role { MASTER_AUTH, MASTER_QUEUE, MASTER_RELAY, MASTER_RELOAD };

/* In a new long-lived child: close the reload channels' ends it does not own; return the one it does. */
static int master_reload_end(enum master_role role)
{
	int keep = role == MASTER_AUTH ? master.reload_auth[1] : role == MASTER_RELAY ? master.reload_relay[1] : -1;
	const int ends[] = { master.reload_auth[0], master.reload_auth[1], master.reload_relay[0],
			     master.reload_relay[1] };

	for (size_t i = 0; role != MASTER_RELOAD && i < sizeof(ends) / sizeof(ends[0]); i++) {
		if (ends[i] >= 0 && ends[i] != keep) {
			close(ends[i]);
		}
	}
	if (role == MASTER_RELOAD) {
		close(master.reload_auth[1]);
		close(master.reload_relay[1]);
	}
	return keep;
}

/*
 * In auth or the queue: their channel's end, the other end closed. Only
 * these two ever hold it (the master closes it before anything else is
 * forked), so what the queue reads there comes from auth, never a session.
 */
static int master_login_end(enum master_role role)
{
	int keep = role == MASTER_AUTH ? 0 : 1;

	close(master.auth_queue[1 - keep]);
	return master.auth_queue[keep];
}

static void __attribute__((noreturn)) master_child_main(enum master_role role, int ctl)
{
	int reload_end = master_reload_end(role);
	int login_end = role == MASTER_AUTH || role == MASTER_QUEUE ? master_login_end(role) : -1;

	master_child_setup();
	if (role != MASTER_QUEUE) {
		spool_close(&master.spool); /* the spool's directories are the queue's alone */
	}
	switch (role) {
	case MASTER_AUTH:
		auth_proc_main(&master.conf, &master.jail, ctl, reload_end, login_end);
	case MASTER_QUEUE:
		queue_proc_main(&master.conf, &master.spool, &master.jail, ctl, login_end);
	case MASTER_RELAY:
		relay_proc_main(&master.conf, &master.trust, &master.jail, ctl, reload_end);
	default:
		reload_proc_main(master.conf.file, &master.jail, ctl, master.reload_auth[0], master.reload_relay[0]);
	}
}

/* Forks a long-lived child with a channel to the master; the child jails itself. */
static pid_t master_spawn(enum master_role role, int *ctl_fd)
{
	static const char *const names[] = { "auth process", "queue process", "relay keeper", "reload process" };
	int pair[2];
	pid_t pid;

	if (ipc_pair(pair) < 0 || (pid = fork()) < 0) {
		fatal(EX_OSERR, "cannot start %s: %s", names[role], strerror(errno));
	}
	if (pid == 0) {
		close(pair[0]);
		master_child_main(role, pair[1]);
	}
	close(pair[1]);
	*ctl_fd = pair[0];
	log_info("%s started (pid %d)", names[role], (int)pid);
	return pid;
}

/* The relay hands over the queue's end of each new worker's channel; pass it on. */
static int master_relay_channel(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	(void)f;
	if (ipc_send(master.queue_fd, PROTO_RELAY_CHANNEL, NULL, 0, fd) < 0) {
		log_err("cannot hand the relay channel to the queue: %s", strerror(errno));
	}
	close(fd);
	return 0;
}

static const struct proto_row master_relay_rows[] = {
	{ .type = PROTO_RELAY_CHANNEL, .fd = PROTO_FD_ONE, .handler = master_relay_channel },
};

/* The relay keeper's channel. A refused frame is skipped. */
const struct proto_table master_relay_frames = PROTO_TABLE("master: from the relay", "skipped", master_relay_rows);

/* A frame from the relay; its end is for SIGCHLD to say. */
static void master_relay_frame(void)
{
	static struct ipc_frame f;

	(void)proto_recv(master.relay_fd, &master_relay_frames, NULL, &f, NULL);
}

/*
 * Stops every child and exits. A child still starting may be root for a moment,
 * out of reach of the master's kill(2): the signal is repeated for at most 5 s.
 * With CONFIG_SANDBOX_SEPARATE_UIDS the long-lived children are never within
 * reach (another uid; nor is the parent-death signal, which the kernel checks
 * against the dying master's uid): closing their channels tells them to go.
 */
static void __attribute__((noreturn)) master_exit(int code)
{
	const struct timespec tick = { 0, 100000000L };
	int *const channels[] = { &master.auth_fd, &master.queue_fd, &master.relay_fd, &master.reload_fd };
	int gone = 0;

	for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
		if (*channels[i] >= 0) {
			close(*channels[i]);
			*channels[i] = -1;
		}
	}
	for (int i = 0; i < 50; i++) {
		pid_t pid;

		master_stop_sessions(SIGKILL); /* SIGTERM had its grace (master_begin_stop) */
		kill(master.auth_pid, SIGTERM);
		kill(master.queue_pid, SIGTERM);
		kill(master.relay_pid, SIGTERM);
		kill(master.reload_pid, SIGTERM);
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		}
		if (pid < 0) {
			gone = 1; /* no child left */
			break;
		}
		nanosleep(&tick, NULL);
	}
	if (!gone) {
		log_warn("child processes still running after 5 s; exiting without them");
	}
	if (master.pid_fd >= 0 && ftruncate(master.pid_fd, 0) < 0) {
		log_warn("cannot empty the pid file: %s", strerror(errno));
	}
	exit(code);
}

static void master_reaped(pid_t pid, int status)
{
	const char *name = pid == master.auth_pid     ? "auth"
			   : pid == master.queue_pid  ? "queue"
			   : pid == master.relay_pid  ? "relay"
			   : pid == master.reload_pid ? "reload"
						      : NULL;

	if (name == NULL) {
		master_session_reaped(pid, status);
		return;
	}
	log_err("%s process (pid %d) died (%s %d%s); stopping, so that a fresh start rebuilds the jail", name, (int)pid,
		WIFSIGNALED(status) ? "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? ", a forbidden system call: seccomp" : "");
	master_exit(WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG ? EX_CONFIG : EX_SOFTWARE);
}

/* Closes every listening socket: no new sessions. */
static void master_close_listeners(void)
{
	for (unsigned i = 0; i < master.nlisteners; i++) {
		close(master.listeners[i].fd);
		master.listeners[i].fd = -1;
	}
	close(master.submit_fd);
	close(master.control_fd);
	close(master.showq_fd);
	master.submit_fd = master.control_fd = master.showq_fd =
	    -1; /* the reload channel stays open (unpolled) until master_exit */
	master.reload_auth[0] = master.reload_auth[1] = master.reload_relay[0] = master.reload_relay[1] = -1;
	master.auth_queue[0] = master.auth_queue[1] = -1;
}

/*
 * SIGTERM: stop accepting; idle sessions say 421 and go, sessions in DATA
 * finish their message (their 250 comes only after the commit), bounded by
 * CONFIG_SHUTDOWN_GRACE_SECONDS. master_stop_tick() finishes the job.
 */
static void master_begin_stop(int signo, unsigned sender)
{
	if (master.stopping) {
		log_info("signal %d from pid %u: already stopping", signo, sender);
		return;
	}
	master.stopping = 1;
	master.stop_deadline = time(NULL) + CONFIG_SHUTDOWN_GRACE_SECONDS;
	master_close_listeners();
	master_stop_sessions(SIGTERM); /* before the line: once it is logged, every session has been told */
	log_info("stopping on signal %d from pid %u: no new sessions; %u session%s may finish for up to %d s", signo,
		 sender, master_live_sessions(), master_live_sessions() == 1 ? "" : "s", CONFIG_SHUTDOWN_GRACE_SECONDS);
}

/* While stopping, once a second: exit when the sessions are gone or the grace is over. */
static void master_stop_tick(void)
{
	unsigned left = master_live_sessions();

	if (left == 0) {
		log_info("all sessions finished; stopped");
		master_exit(0);
	}
	if (time(NULL) >= master.stop_deadline) {
		log_warn("%u session%s still open after %d s: closing them (nothing they were told 250 for is lost)",
			 left, left == 1 ? "" : "s", CONFIG_SHUTDOWN_GRACE_SECONDS);
		master_exit(0);
	}
	master_stop_sessions(SIGTERM); /* again: a session between two waits may have missed the first */
}

static void master_signal(void)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	if (read(master.sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si)) {
		return;
	}
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
		master_begin_stop((int)si.ssi_signo, si.ssi_pid);
	}
	if (si.ssi_signo == SIGHUP && !master.stopping) {
		master_reload_request();
	}
	if (si.ssi_signo == SIGUSR1 && ipc_send(master.queue_fd, PROTO_FLUSH, NULL, 0, -1) < 0) {
		log_err("cannot ask the queue to flush: %s", strerror(errno));
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		master_reaped(pid, status);
	}
}

static void __attribute__((noreturn)) master_loop(void)
{
	struct pollfd pfd[CONFIG_MAX_LISTENERS + 6];
	unsigned n = master.nlisteners;

	alloc_freeze("master");
	for (;;) {
		/* rebuilt each turn: listeners closed on SIGTERM become -1, which poll skips */
		for (unsigned i = 0; i < n; i++) {
			pfd[i] = (struct pollfd){ .fd = master.listeners[i].fd, .events = POLLIN };
		}
		pfd[n] = (struct pollfd){ .fd = master.sigfd, .events = POLLIN };
		pfd[n + 1] = (struct pollfd){ .fd = master.relay_fd, .events = POLLIN };
		pfd[n + 2] = (struct pollfd){ .fd = master.submit_fd, .events = POLLIN };
		pfd[n + 3] = (struct pollfd){ .fd = master.control_fd, .events = POLLIN };
		pfd[n + 4] = (struct pollfd){ .fd = master.stopping ? -1 : master.reload_fd, .events = POLLIN };
		pfd[n + 5] = (struct pollfd){ .fd = master.showq_fd, .events = POLLIN };
		if (master.stopping) {
			master_stop_tick();
		}
		if (poll(pfd, n + 6, master.stopping ? 1000 : -1) < 0) {
			if (errno != EINTR) {
				fatal(EX_OSERR, "poll: %s", strerror(errno));
			}
			continue;
		}
		if (pfd[n].revents) {
			master_signal();
		}
		if (pfd[n + 1].revents) {
			master_relay_frame();
		}
		if (pfd[n + 2].revents) {
			master_submit_accept();
		}
		if (pfd[n + 3].revents) {
			master_control_accept();
		}
		if (pfd[n + 4].revents) {
			master_reload_frame();
		}
		if (pfd[n + 5].revents) {
			master_showq_accept();
		}
		for (unsigned i = 0; i < n; i++) {
			if (pfd[i].revents) {
				master_accept(&master.listeners[i]);
			}
		}
	}
}

static void master_signals(void)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, &master.saved_mask);
	master.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (master.sigfd < 0) {
		fatal(EX_OSERR, "signalfd: %s", strerror(errno));
	}
}

static void master_open_spool(void)
{
	struct spool_limits limits = { master.conf.spool_max_messages, master.conf.spool_max_size,
				       master.conf.spool_min_free };
	char err[CONF_PATH_MAX + 128];

	if (mkdir(master.conf.spool, 0755) < 0 && errno != EEXIST) {
		fatal(EX_CANTCREAT, "cannot create spool %s: %s", master.conf.spool, strerror(errno));
	}
	if (spool_open(&master.spool, master.conf.spool, &limits) < 0) {
		fatal(EX_CANTCREAT, "cannot open spool %s: %s", master.conf.spool, strerror(errno));
	}
	if (jail_prepare(&master.jail, &master.conf, master.spool.root_fd, err, sizeof(err)) < 0) {
		fatal(EX_CANTCREAT, "%s", err);
	}
	log_info("spool %s: %llu messages, %llu bytes queued; %u incomplete removed", master.conf.spool,
		 (unsigned long long)master.spool.nmessages, (unsigned long long)master.spool.nbytes, spool_swept);
}

/* How the relay will trust the smarthost: a pin, or the CA bundle (none for a plaintext loopback). */
static int master_load_trust(char *err, size_t errcap)
{
	master.trust.clock_floor = (time_t)SUBGATE_BUILD_EPOCH;
	if (master.conf.smarthost_tls == CONF_SMARTHOST_NONE) {
		return 0;
	}
	if (master.conf.smarthost_has_pin) {
		tls_client_set_pin(&master.trust, master.conf.smarthost_pin);
		return 0;
	}
	return tls_client_load_ca(&master.trust, master.conf.smarthost_ca, err, errcap) < 0 ? -1 : 0;
}

/*
 * The pid file, locked for the master's life: `subgate queue flush` and init
 * scripts find the master through it, and a second daemon refuses to start.
 * Returns 0, or -1 when another master holds it.
 */
static int master_write_pid(void)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	int fd = open(master.conf.pid_file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return errno == EWOULDBLOCK ? -1 : 0;
	}
	if (fd < 0 || ftruncate(fd, 0) < 0 || write(fd, line, (size_t)n) != n) {
		log_warn("cannot write the pid file %s: %s", master.conf.pid_file, strerror(errno));
	}
	master.pid_fd = fd;
	return 0;
}

static void master_daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		fatal(EX_OSERR, "fork: %s", strerror(errno));
	}
	if (pid > 0) {
		_exit(0);
	}
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2) {
			close(fd);
		}
	}
}

/*
 * `subgate check`'s file checks read the TLS key and the smarthost secret:
 * they run in a child, so that those bytes never enter the master's memory
 * (which every session inherits). Returns the exit code for serve, or 0.
 */
static int master_check_files(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		_exit(conf_check_files(&master.conf) > 0 ? (master.conf.unreadable ? EX_NOINPUT : EX_CONFIG) : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		return EX_OSERR;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
}

/* Everything that needs root, in order. Returns 0 or an exit code. */
static int master_prepare(int no_jail)
{
	char err[512];
	int rc;

	if (!no_jail && geteuid() != 0) {
		log_err("subgate serve must start as root to build its jail (chroot, accounts, seccomp);");
		log_err("for development without root, start it with --no-jail");
		return EX_NOPERM;
	}
	if ((rc = master_check_files()) != 0) {
		return rc;
	}
	if (tls_creds_load(&master.creds, master.conf.tls_cert, err, sizeof(err)) < 0 ||
	    master_load_trust(err, sizeof(err)) < 0 ||
	    jail_init(&master.jail, &master.conf, !no_jail, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return EX_CONFIG;
	}
	return sandbox_init() < 0 ? EX_SOFTWARE : 0;
}

int master_run(const char *path, int foreground, int no_jail)
{
	int rc;

	master.auth_fd = master.queue_fd = master.relay_fd = master.sigfd = master.pid_fd = -1;
	master.submit_fd = master.control_fd = master.showq_fd = master.reload_fd = -1;
	master.reload_auth[0] = master.reload_auth[1] = master.reload_relay[0] = master.reload_relay[1] = -1;
	master.auth_queue[0] = master.auth_queue[1] = -1;
	if (conf_load(&master.conf, path) < 0) {
		return master.conf.unreadable ? EX_NOINPUT : EX_CONFIG;
	}
	if ((rc = master_prepare(no_jail)) != 0) {
		return rc;
	}
	if (!foreground) {
		master_daemonize();
	}
	log_init("subgate", foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG);
	if (no_jail) {
		log_warn("WARNING: running WITHOUT a jail (--no-jail): no chroot, no uid change; seccomp only");
	}
	master_open_spool();
	int n = listener_open_all(&master.conf, master.listeners, CONFIG_MAX_LISTENERS);
	if (n < 0) {
		return EX_OSERR;
	}
	master.nlisteners = (unsigned)n;
	master_signals();
	if (master_write_pid() < 0) {
		log_err("another subgate is running (pid file %s is locked)", master.conf.pid_file);
		return EX_TEMPFAIL;
	}
	if ((rc = master_local_open()) != 0) {
		return rc;
	}
	if (ipc_pair(master.reload_auth) < 0 || ipc_pair(master.reload_relay) < 0 || ipc_pair(master.auth_queue) < 0) {
		fatal(EX_OSERR, "cannot make the reload channels: %s", strerror(errno));
	}
	master.auth_pid = master_spawn(MASTER_AUTH, &master.auth_fd);
	master.queue_pid = master_spawn(MASTER_QUEUE, &master.queue_fd);
	close(master.auth_queue[0]); /* auth's and the queue's alone: no later child may inherit it */
	close(master.auth_queue[1]);
	master.auth_queue[0] = master.auth_queue[1] = -1;
	master.relay_pid = master_spawn(MASTER_RELAY, &master.relay_fd);
	master.reload_pid = master_spawn(MASTER_RELOAD, &master.reload_fd);
	for (int i = 0; i < 2; i++) {
		close(master.reload_auth[i]);
		close(master.reload_relay[i]);
	}
	spool_close(&master.spool); /* the queue's now */
	jail_enter(&master.jail, SANDBOX_MASTER);
	log_info("subgate ready: %u listener%s, up to %llu sessions%s", master.nlisteners, n == 1 ? "" : "s",
		 (unsigned long long)master.conf.max_sessions, no_jail ? "" : ", jailed");
	master_loop();
}
