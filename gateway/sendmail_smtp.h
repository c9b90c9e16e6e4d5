/*
 * sendmail_smtp.h - the client end of the local submission socket
 * (SPOOL/public/submit) for the sendmail front end: one connection, its
 * buffers and the last reply.
 */
#ifndef SUBGATE_SENDMAIL_SMTP_H
#define SUBGATE_SENDMAIL_SMTP_H

#include <stddef.h>

#include "conf.h"
#include "smtp_reply.h"
#include "wbuf.h"

#define SM_TIMEOUT_MS (300 * 1000) /* per read or write on the submission socket */
#define SM_REPLY_LINE 1024

struct sendmail_smtp {
	int fd;
	char path[CONF_PATH_MAX + 32];
	char in[SM_REPLY_LINE];
	size_t in_len;
	struct wbuf out; /* over out_buf, to fd; every wait SM_TIMEOUT_MS at most */
	char out_buf[8192];
	struct smtp_reply reply;
	char shown[SMTP_REPLY_TEXT_MAX + 32]; /* the last reply as text, for messages */
};

/*
 * Connects to the submission socket of the spool named by the configuration
 * (conf: a path or NULL); with `greet`, reads the greeting and says EHLO.
 * Returns 0 or an exit code (sysexits); `suffix` ends connect errors.
 */
int sendmail_smtp_open(struct sendmail_smtp *c, const char *conf, int greet, const char *suffix);

/* Takes over a connected socket (sendmail_smtp_open does it): empty buffers. */
void sendmail_smtp_attach(struct sendmail_smtp *c, int fd);

/* Queues bytes for the server (flushing when the buffer is full); sends what is queued. 0 or -1. */
int sendmail_smtp_put(struct sendmail_smtp *c, const char *data, size_t len);
int sendmail_smtp_flush(struct sendmail_smtp *c);

/* Reads one reply into c->reply and c->shown. Returns its code, or -1 (logged with `what`). */
int sendmail_smtp_reply(struct sendmail_smtp *c, const char *what);

/* Sends a command line and reads the reply. Returns its code, or -1 (logged). */
int sendmail_smtp_command(struct sendmail_smtp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit code for a refusal: 4xx EX_TEMPFAIL, else code5; logs "what: reply". */
int sendmail_smtp_refused(const struct sendmail_smtp *c, const char *what, int code5);

/* Ends the session politely (after a refusal; nothing was sent): RSET, QUIT. */
void sendmail_smtp_quit(struct sendmail_smtp *c);

#endif
