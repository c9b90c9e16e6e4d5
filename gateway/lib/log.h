/*
 * log.h - one line per event, to syslog or standard error (OpenSMTPD log.h style).
 * Every process uses it; it owns the program name and the chosen destination.
 * Never pass AUTH payloads, passwords or message text to these functions.
 */
#ifndef SUBGATE_LOG_H
#define SUBGATE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_dest {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

void log_init(const char *progname, enum log_dest dest);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Copies text into out for a log line: bytes outside printable ASCII become '?', so a
 * client-chosen string (a user name, a HELO) can never forge a line (Postfix printable()).
 */
const char *log_printable(const char *text, char *out, size_t cap);

/* Logs and exits with the given sysexits.h code; for start-up and broken invariants only. */
void fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
