/*
 * cli_ctl.c - the client end of the spool's sockets (see cli_ctl.h):
 * SPOOL lookup, connect with readable errors, and one control request with
 * its answer copied to standard output. Runs in the command-line tools.
 */
#include "cli_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "config.h"
#include "log.h"

static struct conf ctl_conf;

int cli_ctl_spool(const char *conf_path, char *spool, size_t cap)
{
	int fd = open(conf_path, O_RDONLY | O_CLOEXEC);
	int n;

	if (fd < 0) {
		/* not ours to read (a 0600 file) or absent: the built-in spool */
		n = snprintf(spool, cap, "%s", CONFIG_SPOOL_DIR);
		return n > 0 && (size_t)n < cap ? 0 : EX_SOFTWARE;
	}
	close(fd);
	if (conf_load_scope(&ctl_conf, conf_path, CONF_SCOPE_TOOL) < 0) {
		return ctl_conf.unreadable ? EX_NOINPUT : EX_CONFIG;
	}
	n = snprintf(spool, cap, "%s", ctl_conf.spool);
	return n > 0 && (size_t)n < cap ? 0 : EX_SOFTWARE;
}

int cli_ctl_connect(const char *spool, const char *name, char *path, size_t cap)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_CLIENT_TIMEOUT_MS / 1000 };
	int n = snprintf(path, cap, "%s/%s", spool, name);
	int fd;

	if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, (size_t)n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	/* bounds connect() too when the listener's backlog is full */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int cli_ctl_connect_error(const char *path, int err, const char *denied, const char *suffix)
{
	if (err == ENOENT || err == ECONNREFUSED) {
		log_err("the mail gateway is not running (%s: %s)%s", path, strerror(err), suffix);
		return EX_TEMPFAIL;
	}
	if (err == EACCES || err == EPERM) {
		log_err("%s", denied);
		return EX_NOPERM;
	}
	log_err("cannot connect to %s: %s%s", path, strerror(err), suffix);
	return EX_UNAVAILABLE;
}

int cli_ctl_status(const char *line, const char **text)
{
	const char *p;
	long code = 0;

	*text = "";
	if (strcmp(line, "ok") == 0) {
		return 0;
	}
	if (strncmp(line, "err ", 4) != 0) {
		return -1;
	}
	for (p = line + 4; *p >= '0' && *p <= '9' && code < 1000; p++) {
		code = code * 10 + (*p - '0');
	}
	if (p == line + 4 || code < 1 || code > 255 || (*p != ' ' && *p != '\0')) {
		return -1;
	}
	*text = *p == ' ' ? p + 1 : p;
	return (int)code;
}

/* Reads at most cap bytes, waiting at most CTL_CLIENT_TIMEOUT_MS. Returns n (0 at EOF), or -1 (errno). */
static ssize_t ctl_read(int fd, char *buf, size_t cap)
{
	ssize_t n;

	if (clock_wait_fd(fd, POLLIN, clock_now_ms() + CTL_CLIENT_TIMEOUT_MS) <= 0) {
		return -1;
	}
	do {
		n = read(fd, buf, cap);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* Reads the status line into line (NUL-terminated, no "\n"); the bytes after it go to stdout. */
static int ctl_read_status(int fd, char *line, size_t cap)
{
	char buf[CTL_CLIENT_STATUS_MAX];
	size_t have = 0;

	for (;;) {
		ssize_t n = ctl_read(fd, buf + have, sizeof(buf) - have);
		char *nl;

		if (n <= 0) {
			log_err("the queue did not answer: %s", n < 0 ? strerror(errno) : "connection closed");
			return n < 0 && errno == ETIMEDOUT ? EX_TEMPFAIL : EX_PROTOCOL;
		}
		have += (size_t)n;
		nl = memchr(buf, '\n', have);
		if (nl != NULL) {
			size_t len = (size_t)(nl - buf);

			if (len >= cap) {
				break;
			}
			memcpy(line, buf, len);
			line[len] = '\0';
			fwrite(nl + 1, 1, have - len - 1, stdout);
			return 0;
		}
		if (have == sizeof(buf)) {
			break;
		}
	}
	log_err("the queue's answer has no valid status line");
	return EX_PROTOCOL;
}

/* Copies the rest of the answer to stdout until the server closes. */
static int ctl_copy_body(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = ctl_read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			log_err("cannot write output");
			return EX_IOERR;
		}
	}
	if (n < 0) {
		log_err("reading the queue's answer: %s", strerror(errno));
		return errno == ETIMEDOUT ? EX_TEMPFAIL : EX_IOERR;
	}
	return 0;
}

/* "list" or "list json": what the public socket serves. */
static int cli_ctl_is_list(const char *request)
{
	return strcmp(request, "list") == 0 || strcmp(request, "list json") == 0;
}

int cli_ctl_request(const char *spool, const char *request)
{
	char path[CONF_PATH_MAX + 32], req[CTL_CLIENT_REQUEST_MAX + 1], line[CTL_CLIENT_STATUS_MAX];
	const char *text;
	int n = snprintf(req, sizeof(req), "%s\n", request);
	int fd, rc, code;

	if (n < 0 || (size_t)n > CTL_CLIENT_REQUEST_MAX || strpbrk(request, "\r\n") != NULL) {
		log_err("request too long or not one line");
		return EX_USAGE;
	}
	/* root controls the queue; anyone else may list (the messages it submitted) */
	fd = cli_ctl_connect(spool, geteuid() == 0 || !cli_ctl_is_list(request) ? CTL_CLIENT_CONTROL : CTL_CLIENT_SHOWQ,
			     path, sizeof(path));
	if (fd < 0) {
		return cli_ctl_connect_error(path, errno, "only root may control the queue; others may list", "");
	}
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		log_err("cannot send the request to %s: %s", path, strerror(errno));
		close(fd);
		return errno == EAGAIN ? EX_TEMPFAIL : EX_IOERR;
	}
	rc = ctl_read_status(fd, line, sizeof(line));
	if (rc == 0) {
		code = cli_ctl_status(line, &text);
		if (code < 0) {
			log_err("the queue's answer has no valid status line");
			rc = EX_PROTOCOL;
		} else {
			if (code != 0) {
				log_err("%s", text);
			}
			rc = ctl_copy_body(fd);
			rc = code != 0 ? code : rc;
		}
	}
	close(fd);
	return rc;
}

int cli_ctl_run(const char *conf_path, const char *request)
{
	char spool[CONF_PATH_MAX];
	int rc = cli_ctl_spool(conf_path, spool, sizeof(spool));

	return rc != 0 ? rc : cli_ctl_request(spool, request);
}
