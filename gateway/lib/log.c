/*
 * log.c - the log sink shared by every process and command.
 * Command-line tools log to standard error as "subgate: message"; the daemon
 * logs to syslog (mail facility) or, in the foreground, to standard error.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

static const char *log_progname = "subgate";
static enum log_dest log_dest = LOG_TO_STDERR;

void log_init(const char *progname, enum log_dest dest)
{
	log_progname = progname;
	log_dest = CONFIG_LOG_SYSLOG ? dest : LOG_TO_STDERR;
	if (log_dest == LOG_TO_SYSLOG) {
		openlog(progname, LOG_PID | LOG_NDELAY, CONFIG_LOG_FACILITY_MAIL ? LOG_MAIL : LOG_DAEMON);
	}
}

static void log_vemit(int priority, const char *fmt, va_list ap)
{
	char line[1024], out[1100];
	int n;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_dest == LOG_TO_SYSLOG) {
		syslog(priority, "%s", line);
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
