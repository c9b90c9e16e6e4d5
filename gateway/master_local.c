/*
 * master_local.c - the master's two Unix sockets in the spool:
 * public/submit (local submission for sendmail; peers named by SO_PEERCRED,
 * no setuid/setgid program needed) and private/control (queue control, root
 * only, handed to the queue process). Both are made as root before the jail;
 * afterwards the master only accepts on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "master_int.h"

#define MASTER_CONTROL_TIMEOUT 5 /* seconds a control client may take to send or read */

/* Makes SPOOL/DIR the owner's (root's) with `mode`, repairing owner and mode of an existing one. */
static int master_local_dir(const char *dir, mode_t mode, char *path, size_t cap)
{
	struct stat st;
	int n = snprintf(path, cap, "%s/%s", master.conf.spool, dir);

	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		return -1;
	}
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return chown(path, master.local_owner, master.local_owner ? getegid() : 0) < 0 || chmod(path, mode) < 0 ? -1
														: 0;
}

/* Binds and listens on NAME in the current directory (short: sun_path is 108 bytes). Returns 0 or -1. */
static int master_local_bind(int fd, const char *name, mode_t mode, gid_t gid)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old = umask(0177);
	int rc;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", name);
	unlink(name); /* a stale socket from a previous run: the pid file lock says none is alive */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chown(name, master.local_owner, gid) < 0 ||
		     chmod(name, mode) < 0 || listen(fd, 16) < 0
		 ? -1
		 : 0;
	umask(old);
	return rc;
}

/* A listening Unix stream socket SPOOL/DIR/NAME, mode and group as given. Returns the fd or -1. */
static int master_local_socket(const char *dir, mode_t dir_mode, const char *name, mode_t mode, gid_t gid)
{
	char path[CONF_PATH_MAX + 16];
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ok = cwd >= 0 && fd >= 0 && master_local_dir(dir, dir_mode, path, sizeof(path)) == 0 && chdir(path) == 0 &&
		 master_local_bind(fd, name, mode, gid) == 0;

	if (!ok) {
		log_err("cannot listen on %s/%s/%s: %s", master.conf.spool, dir, name, strerror(errno));
	}
	if (cwd >= 0) {
		if (fchdir(cwd) < 0) {
			log_warn("cannot return to the start directory: %s", strerror(errno));
		}
		close(cwd);
	}
	if (!ok && fd >= 0) {
		close(fd);
	}
	return ok ? fd : -1;
}

int master_local_open(void)
{
	gid_t gid = 0;
	mode_t mode = 0666;

	/* Root's; started by another user (--no-jail, tests, development) that user's, as it cannot give them away */
	master.local_owner = geteuid();
	if (master.local_owner != 0) {
		gid = getegid();
	}
	if (master.conf.local_submit_group[0] != '\0') {
		const struct group *g = getgrnam(master.conf.local_submit_group);

		if (g == NULL) {
			log_err("local_submit_group: no such group '%s'", master.conf.local_submit_group);
			return EX_CONFIG;
		}
		gid = g->gr_gid;
		mode = 0660;
	}
	if (local_users_load(&master.local_users, "/etc/passwd") < 0) {
		log_warn("cannot read /etc/passwd (%s): only root may use sendmail", strerror(errno));
	}
	master.submit_fd = master_local_socket("public", 0755, "submit", mode, gid);
	master.control_fd = master_local_socket("private", 0700, "control", 0600, master.local_owner ? getegid() : 0);
	master.showq_fd = master_local_socket("public", 0755, "showq", mode, gid);
	return master.submit_fd < 0 || master.control_fd < 0 || master.showq_fd < 0 ? EX_CANTCREAT : 0;
}

/* Accepts one connection and names its peer. Returns the fd, or -1. */
static int master_local_accept_peer(int lfd, struct ucred *peer)
{
	socklen_t len = sizeof(*peer);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			log_warn("accept on a local socket: %s", strerror(errno));
		}
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, peer, &len) < 0 || len != sizeof(*peer)) {
		log_warn("local socket: cannot name the peer: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Bounded waits on a control connection, then it goes to the queue. */
static void master_control_hand(int fd, const struct proto_control *c)
{
	const struct timeval tv = { MASTER_CONTROL_TIMEOUT, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    ipc_send(master.queue_fd, PROTO_CONTROL, c, sizeof(*c), fd) < 0) {
		log_err("control socket: cannot hand the client to the queue: %s", strerror(errno));
	}
}

void master_control_accept(void)
{
	static const char refused[] = "err 77 only root may control the queue\n";
	struct ucred peer;
	int fd = master_local_accept_peer(master.control_fd, &peer);

	if (fd < 0) {
		return;
	}
	if (peer.uid != 0 && peer.uid != master.local_owner) {
		log_warn("control socket: refused uid %u (pid %d): not root", (unsigned)peer.uid, (int)peer.pid);
		if (write(fd, refused, sizeof(refused) - 1) < 0) {
			/* the peer went away */
		}
	} else {
		master_control_hand(fd, &(struct proto_control){ .restricted = 0 });
	}
	close(fd);
}

/* SPOOL/public/showq: root (or the owner) lists everything, anyone else only what it submitted. */
void master_showq_accept(void)
{
	struct ucred peer;
	int fd = master_local_accept_peer(master.showq_fd, &peer);

	if (fd < 0) {
		return;
	}
	master_control_hand(fd, &(struct proto_control){ .restricted = peer.uid != 0 && peer.uid != master.local_owner,
							 .uid = peer.uid });
	close(fd);
}

void master_submit_accept(void)
{
	struct ucred peer;
	int fd = master_local_accept_peer(master.submit_fd, &peer);

	if (fd >= 0) {
		master_start_local_session(fd, peer.uid, (int)peer.pid);
	}
}
