/*
 * master.c - the master process: start-up, accept loop, connection limits,
 * session spawning and child supervision (`subgate serve`).
 */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "auth_proc.h"
#include "cli.h"
#include "conf_files.h"
#include "listener.h"
#include "log.h"
#include "proto.h"
#include "queue_proc.h"
#include "relay_proc.h"
#include "session.h"
#include "version.h"

struct master_child {
	pid_t pid;
	char client[PROTO_ADDR_STR];
	char id[12];
};

static struct conf master_conf;
static struct tls_creds master_creds;
static struct spool master_spool;
static struct listener master_listeners[CONFIG_MAX_LISTENERS];
static unsigned master_nlisteners;
static struct master_child master_sessions[CONFIG_MAX_SESSIONS];
static pid_t master_auth_pid, master_queue_pid, master_relay_pid;
static int64_t master_relay_started;
static struct tls_client_trust master_trust;
static int master_auth_fd = -1, master_queue_fd = -1, master_sigfd = -1;
static sigset_t master_saved_mask;
static unsigned master_counter;

/* In a new child: keep only what the role needs, die with the master. */
static void master_child_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (unsigned i = 0; i < master_nlisteners; i++) {
		close(master_listeners[i].fd);
	}
	if (master_auth_fd >= 0) {
		close(master_auth_fd);
	}
	if (master_queue_fd >= 0) {
		close(master_queue_fd);
	}
	if (master_sigfd >= 0) {
		close(master_sigfd);
	}
	sigprocmask(SIG_SETMASK, &master_saved_mask, NULL);
}

static pid_t master_spawn_service(const char *name, int *ctl_fd, int is_auth)
{
	int pair[2];
	pid_t pid;

	if (ipc_pair(pair) < 0 || (pid = fork()) < 0) {
		fatal(EX_OSERR, "cannot start %s: %s", name, strerror(errno));
	}
	if (pid == 0) {
		close(pair[0]);
		master_child_setup();
		if (is_auth) {
			auth_proc_main(&master_conf, pair[1]);
		}
		queue_proc_main(&master_conf, &master_spool, pair[1]);
	}
	close(pair[1]);
	if (*ctl_fd >= 0) {
		close(*ctl_fd);
	}
	*ctl_fd = pair[0];
	log_info("%s process started (pid %d)", name, (int)pid);
	return pid;
}

/* Starts the relay and hands the queue its end of their channel. */
static void master_spawn_relay(void)
{
	int pair[2];
	pid_t pid;

	if (ipc_pair(pair) < 0) {
		fatal(EX_OSERR, "cannot start relay: %s", strerror(errno));
	}
	if (ipc_send(master_queue_fd, PROTO_RELAY_CHANNEL, NULL, 0, pair[0]) < 0) {
		log_err("cannot hand the relay channel to the queue: %s", strerror(errno));
	}
	close(pair[0]);
	pid = fork();
	if (pid < 0) {
		fatal(EX_OSERR, "cannot start relay: %s", strerror(errno));
	}
	if (pid == 0) {
		master_child_setup();
		relay_proc_main(&master_conf, &master_trust, pair[1]);
	}
	close(pair[1]);
	master_relay_pid = pid;
	master_relay_started = time(NULL);
	log_info("relay process started (pid %d)", (int)pid);
}

static unsigned master_count_client(const char *client, int *free_slot)
{
	unsigned same = 0;

	*free_slot = -1;
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		if (master_sessions[i].pid == 0) {
			*free_slot = *free_slot < 0 ? i : *free_slot;
		} else if (strcmp(master_sessions[i].client, client) == 0) {
			same++;
		}
	}
	return same;
}

static unsigned master_live_sessions(void)
{
	unsigned n = 0;

	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		n += master_sessions[i].pid > 0;
	}
	return n;
}

static void master_refuse(int fd, const struct listener *l, const char *client, const char *why)
{
	static const char busy[] = "421 4.7.0 Error: too many connections; try again later\r\n";

	log_warn("refused connection from [%s] on %s: %s", client, l->name, why);
	if (!l->implicit_tls && write(fd, busy, sizeof(busy) - 1) < 0) {
		/* nothing more to tell a client that went away */
	}
	close(fd);
}

/* Hands the session's ends of its channels to auth and queue. Returns 0 or -1. */
static int master_connect_services(int slot, const struct master_child *c, int auth_end, int queue_end)
{
	struct proto_new_session ns;

	memset(&ns, 0, sizeof(ns));
	ns.slot = (uint32_t)slot;
	snprintf(ns.client, sizeof(ns.client), "%s", c->client);
	snprintf(ns.session_id, sizeof(ns.session_id), "%s", c->id);
	return ipc_send(master_auth_fd, PROTO_NEW_SESSION, &ns, sizeof(ns), auth_end) < 0 ||
		       ipc_send(master_queue_fd, PROTO_NEW_SESSION, &ns, sizeof(ns), queue_end) < 0
		   ? -1
		   : 0;
}

static void master_fork_session(int fd, const struct listener *l, int slot, struct master_child *c)
{
	int a[2], q[2];
	pid_t pid;

	if (ipc_pair(a) < 0 || ipc_pair(q) < 0 || master_connect_services(slot, c, a[1], q[1]) < 0) {
		log_err("cannot set up a session for [%s]: %s", c->client, strerror(errno));
		close(fd);
		return;
	}
	close(a[1]);
	close(q[1]);
	pid = fork();
	if (pid == 0) {
		struct session_start start = { .conf = &master_conf,
					       .creds = &master_creds,
					       .fd = fd,
					       .implicit_tls = l->implicit_tls,
					       .auth_fd = a[0],
					       .queue_fd = q[0] };

		master_child_setup();
		memcpy(start.client, c->client, sizeof(start.client));
		memcpy(start.id, c->id, sizeof(start.id));
		session_main(&start);
	}
	close(a[0]);
	close(q[0]);
	close(fd);
	if (pid < 0) {
		log_err("cannot fork a session for [%s]: %s", c->client, strerror(errno));
		return;
	}
	c->pid = pid;
}

static void master_accept(const struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct master_child c;
	int slot, fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			log_warn("accept on %s: %s", l->name, strerror(errno));
		}
		return;
	}
	memset(&c, 0, sizeof(c));
	listener_peer_name(&ss, c.client, sizeof(c.client));
	if (master_count_client(c.client, &slot) >= master_conf.max_sessions_per_addr) {
		master_refuse(fd, l, c.client, "too many connections from this address");
		return;
	}
	if (slot < 0 || master_live_sessions() >= master_conf.max_sessions) {
		master_refuse(fd, l, c.client, "too many connections");
		return;
	}
	snprintf(c.id, sizeof(c.id), "%06X%04X", (unsigned)time(NULL) & 0xffffffu, master_counter++ & 0xffffu);
	master_fork_session(fd, l, slot, &c);
	if (c.pid > 0) {
		master_sessions[slot] = c;
	}
}

static void master_reaped(pid_t pid, int status)
{
	if (pid == master_relay_pid) {
		log_err("relay process (pid %d) exited (%s %d); restarting it", (int)pid,
			WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		if (time(NULL) - master_relay_started < 2) {
			sleep(1); /* a relay that dies at once must not spin */
		}
		master_spawn_relay();
		return;
	}
	if (pid == master_auth_pid || pid == master_queue_pid) {
		int is_auth = pid == master_auth_pid;

		log_err("%s process (pid %d) died (%s %d); restarting it", is_auth ? "auth" : "queue", (int)pid,
			WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		if (is_auth) {
			master_auth_pid = master_spawn_service("auth", &master_auth_fd, 1);
		} else {
			master_queue_pid = master_spawn_service("queue", &master_queue_fd, 0);
			kill(master_relay_pid,
			     SIGTERM); /* its channel went with the old queue; it restarts with a new one */
		}
		return;
	}
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		if (master_sessions[i].pid == pid) {
			if (WIFSIGNALED(status)) {
				log_warn("%s: session process %d for [%s] killed by signal %d", master_sessions[i].id,
					 (int)pid, master_sessions[i].client, WTERMSIG(status));
			}
			memset(&master_sessions[i], 0, sizeof(master_sessions[i]));
			return;
		}
	}
}

static void master_stop(int signo)
{
	log_info("stopping on signal %d", signo);
	unlink(master_conf.pid_file);
	for (int i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		if (master_sessions[i].pid > 0) {
			kill(master_sessions[i].pid, SIGTERM);
		}
	}
	kill(master_auth_pid, SIGTERM);
	kill(master_queue_pid, SIGTERM);
	kill(master_relay_pid, SIGTERM);
	while (wait(NULL) > 0) {
	}
	exit(0);
}

static void master_signal(void)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	if (read(master_sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si)) {
		return;
	}
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
		master_stop((int)si.ssi_signo);
	}
	if (si.ssi_signo == SIGUSR1 && ipc_send(master_queue_fd, PROTO_FLUSH, NULL, 0, -1) < 0) {
		log_err("cannot ask the queue to flush: %s", strerror(errno));
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		master_reaped(pid, status);
	}
}

static void __attribute__((noreturn)) master_loop(void)
{
	struct pollfd pfd[CONFIG_MAX_LISTENERS + 1];

	for (unsigned i = 0; i < master_nlisteners; i++) {
		pfd[i] = (struct pollfd){ .fd = master_listeners[i].fd, .events = POLLIN };
	}
	pfd[master_nlisteners] = (struct pollfd){ .fd = master_sigfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, master_nlisteners + 1, -1) < 0) {
			if (errno != EINTR) {
				fatal(EX_OSERR, "poll: %s", strerror(errno));
			}
			continue;
		}
		if (pfd[master_nlisteners].revents) {
			master_signal();
		}
		for (unsigned i = 0; i < master_nlisteners; i++) {
			if (pfd[i].revents) {
				master_accept(&master_listeners[i]);
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
	sigprocmask(SIG_BLOCK, &mask, &master_saved_mask);
	master_sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (master_sigfd < 0) {
		fatal(EX_OSERR, "signalfd: %s", strerror(errno));
	}
}

static void master_open_spool(void)
{
	struct spool_limits limits = { master_conf.spool_max_messages, master_conf.spool_max_size,
				       master_conf.spool_min_free };

	if (mkdir(master_conf.spool, 0755) < 0 && errno != EEXIST) {
		fatal(EX_CANTCREAT, "cannot create spool %s: %s", master_conf.spool, strerror(errno));
	}
	if (spool_open(&master_spool, master_conf.spool, &limits) < 0) {
		fatal(EX_CANTCREAT, "cannot open spool %s: %s", master_conf.spool, strerror(errno));
	}
	log_info("spool %s: %llu messages, %llu bytes queued; %u incomplete removed", master_conf.spool,
		 (unsigned long long)master_spool.nmessages, (unsigned long long)master_spool.nbytes, spool_swept);
}

/* How the relay will trust the smarthost: a pin, or the CA bundle (none for a plaintext loopback). */
static int master_load_trust(char *err, size_t errcap)
{
	master_trust.clock_floor = (time_t)SUBGATE_BUILD_EPOCH;
	if (master_conf.smarthost_tls == CONF_SMARTHOST_NONE) {
		return 0;
	}
	if (master_conf.smarthost_has_pin) {
		tls_client_set_pin(&master_trust, master_conf.smarthost_pin);
		return 0;
	}
	return tls_client_load_ca(&master_trust, master_conf.smarthost_ca, err, errcap) < 0 ? -1 : 0;
}

/* The pid file lets `subgate queue flush` and init scripts find the master. */
static void master_write_pid(void)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	int fd = open(master_conf.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0 || write(fd, line, (size_t)n) != n) {
		log_warn("cannot write the pid file %s: %s", master_conf.pid_file, strerror(errno));
	}
	if (fd >= 0) {
		close(fd);
	}
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

int cmd_serve(int argc, char **argv)
{
	char err[512];
	const char *path = cli_take_config(&argc, argv);
	int foreground = cli_take_flag(&argc, argv, "-f");
	int no_jail = cli_take_flag(&argc, argv, "--no-jail");

	if (path == NULL || argc != 1) {
		log_err("usage: subgate serve [-f] [--no-jail] [-c FILE]");
		return EX_USAGE;
	}
	if (conf_load(&master_conf, path) < 0 || conf_check_files(&master_conf) > 0) {
		return master_conf.unreadable ? EX_NOINPUT : EX_CONFIG;
	}
	if (!no_jail) {
		log_err("this build cannot jail itself yet (chroot, uid, seccomp arrive with the sandbox work);");
		log_err("start it with --no-jail to run unconfined, for development only");
		return EX_CONFIG;
	}
	if (tls_creds_load(&master_creds, master_conf.tls_cert, master_conf.tls_key, err, sizeof(err)) < 0 ||
	    master_load_trust(err, sizeof(err)) < 0) {
		log_err("%s", err);
		return EX_CONFIG;
	}
	if (!foreground) {
		master_daemonize();
	}
	log_init("subgate", foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG);
	log_warn("WARNING: running WITHOUT a jail (--no-jail): no chroot, no uid change, no seccomp");
	master_open_spool();
	int n = listener_open_all(&master_conf, master_listeners, CONFIG_MAX_LISTENERS);
	if (n < 0) {
		return EX_OSERR;
	}
	master_nlisteners = (unsigned)n;
	master_signals();
	master_write_pid();
	master_auth_pid = master_spawn_service("auth", &master_auth_fd, 1);
	master_queue_pid = master_spawn_service("queue", &master_queue_fd, 0);
	master_spawn_relay();
	log_info("subgate ready: %u listener%s, up to %llu sessions", master_nlisteners, n == 1 ? "" : "s",
		 (unsigned long long)master_conf.max_sessions);
	master_loop();
}
