/*
 * log.c - the log sink shared by every process and command.
 * Command-line tools log to standard error as "subgate: message"; the daemon
 * logs to syslog (mail facility) or, in the foreground, to standard error.
 *
 * The syslog client is our own, not musl's syslog(3): inside the jail that
 * one would open /etc/localtime for its time stamp and call socket(2) to
 * reconnect, both fatal under seccomp. The /dev/log socket is connected
 * once before the jail; each line is one write(2) of "<PRI>subgate[PID]: msg"
 * (syslogd adds the time). If syslogd goes away, lines are lost until the
 * next start, and nothing else happens.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

static const char *log_progname = "subgate";
static enum log_dest log_dest = LOG_TO_STDERR;
static int log_fd = -1;

/* The syslog socket: /dev/log, or (test builds only) $SUBGATE_LOG_SOCKET. */
static void log_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path =
	    CONFIG_TEST_HOOKS && getenv("SUBGATE_LOG_SOCKET") ? getenv("SUBGATE_LOG_SOCKET") : "/dev/log";

	if (strlen(path) >= sizeof(sun.sun_path)) {
		return;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (log_fd >= 0 && connect(log_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(log_fd);
		log_fd = -1;
	}
}

void log_init(const char *progname, enum log_dest dest)
{
	log_progname = progname;
	log_dest = CONFIG_LOG_SYSLOG ? dest : LOG_TO_STDERR;
	if (log_dest == LOG_TO_SYSLOG) {
		log_connect();
	}
}

static void log_syslog(int priority, const char *line)
{
	char out[1100];
	int facility = CONFIG_LOG_FACILITY_MAIL ? LOG_MAIL : LOG_DAEMON;
	int n = snprintf(out, sizeof(out), "<%d>%s[%d]: %s", facility | priority, log_progname, (int)getpid(), line);

	if (log_fd >= 0 && n > 0 && write(log_fd, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1) < 0) {
		/* syslogd is gone: nothing to report it to */
	}
}

static void log_vemit(int priority, const char *fmt, va_list ap)
{
	char line[1024], out[1100];
	int n;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_dest == LOG_TO_SYSLOG) {
		log_syslog(priority, line);
		return;
	}
	/* one write per line: several processes share stderr, and a line split over
	 * several writes would interleave with theirs */
	n = snprintf(out, sizeof(out), "%s: %s\n", log_progname, line);
	if (n < 0 || (size_t)n >= sizeof(out)) {
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	if (write(STDERR_FILENO, out, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!CONFIG_LOG_DEBUG) {
		return;
	}
	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

const char *log_printable(const char *text, char *out, size_t cap)
{
	size_t i = 0;

	for (; cap > 0 && text[i] != '\0' && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = '?';
		if (c >= 0x20 && c < 0x7f) {
			out[i] = (char)c;
		}
	}
	if (cap > 0) {
		out[i] = '\0';
	}
	return out;
}

void fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(code);
}
