/*
 * sendmail_smtp.c - the client end of SPOOL/public/submit for sendmail:
 * connect, buffered writes, replies (multi-line, with enhanced codes),
 * commands, and the exit code a refusal maps to. Bounded buffers and a
 * timeout on every wait.
 */
#include "sendmail_smtp.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "cli_ctl.h"
#include "clock.h"
#include "log.h"

/* Waits up to SM_TIMEOUT_MS for the socket. Returns 0, or -1 with errno (ETIMEDOUT). */
static int sendmail_smtp_wait(int fd, short events)
{
	return clock_wait_fd(fd, events, clock_now_ms() + (int64_t)SM_TIMEOUT_MS) > 0 ? 0 : -1;
}

/* The writer's sink: waits for room, then sends what the socket takes. */
static ssize_t sendmail_smtp_send(void *ctx, const char *data, size_t len)
{
	const struct sendmail_smtp *c = ctx;

	for (;;) {
		ssize_t n = sendmail_smtp_wait(c->fd, POLLOUT) < 0 ? -1 : send(c->fd, data, len, MSG_NOSIGNAL);

		if (n >= 0 || errno != EAGAIN) {
			return n; /* EINTR: the writer calls again */
		}
	}
}

void sendmail_smtp_attach(struct sendmail_smtp *c, int fd)
{
	c->fd = fd;
	c->in_len = 0;
	wbuf_init(&c->out, c->out_buf, sizeof(c->out_buf), sendmail_smtp_send, c);
}

int sendmail_smtp_flush(struct sendmail_smtp *c)
{
	return wbuf_flush(&c->out);
}

int sendmail_smtp_put(struct sendmail_smtp *c, const char *data, size_t len)
{
	return wbuf_put(&c->out, data, len);
}

/* A line of the server at c->in: *len octets without CRLF, *used with it; -1 on EOF, error, timeout. */
static int sm_read_line(struct sendmail_smtp *c, size_t *len, size_t *used)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->in_len);
		ssize_t n;

		if (nl != NULL) {
			*used = (size_t)(nl - c->in) + 1;
			*len = *used - 1;
			if (*len > 0 && c->in[*len - 1] == '\r') {
				(*len)--;
			}
			return 0;
		}
		if (c->in_len == sizeof(c->in)) {
			errno = EPROTO;
			return -1;
		}
		if (sendmail_smtp_wait(c->fd, POLLIN) < 0) {
			return -1;
		}
		n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n == 0) {
			errno = ECONNRESET;
		}
		if (n <= 0) {
			if (n < 0 && errno == EINTR) {
				continue;
			}
			return -1;
		}
		c->in_len += (size_t)n;
	}
}

/* Reads one reply into c->reply and c->shown. Returns its code, or -1 (logged). */
int sendmail_smtp_reply(struct sendmail_smtp *c, const char *what)
{
	enum smtp_reply_status st = SMTP_REPLY_MORE;
	size_t len, used;

	smtp_reply_init(&c->reply);
	while (st == SMTP_REPLY_MORE) {
		if (sm_read_line(c, &len, &used) < 0) {
			log_err("%s: no reply from %s: %s; message not sent", what, c->path, strerror(errno));
			return -1;
		}
		st = smtp_reply_line(&c->reply, c->in, len);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	if (st == SMTP_REPLY_BAD) {
		log_err("%s: malformed reply from %s; message not sent", what, c->path);
		return -1;
	}
	snprintf(c->shown, sizeof(c->shown), "%d %s%s%s", c->reply.code, c->reply.enhanced,
		 c->reply.enhanced[0] ? " " : "", c->reply.text);
	return c->reply.code;
}

/* Sends a command line and reads the reply. Returns its code, or -1 (logged). */
int sendmail_smtp_command(struct sendmail_smtp *c, const char *fmt, ...)
{
	char line[ADDR_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = smtp_command_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0) {
		log_err("command too long");
		return -1;
	}
	n -= 2; /* the command without its CRLF, for the messages below */
	if (sendmail_smtp_put(c, line, (size_t)n + 2) < 0 || sendmail_smtp_flush(c) < 0) {
		line[n] = '\0';
		log_err("%s: cannot send to %s: %s; message not sent", line, c->path, strerror(errno));
		return -1;
	}
	line[n] = '\0';
	return sendmail_smtp_reply(c, line);
}

/* The exit code for a refusal: 4xx EX_TEMPFAIL, else code5; logs "what: reply". */
int sendmail_smtp_refused(const struct sendmail_smtp *c, const char *what, int code5)
{
	log_err("%s: %s", what, c->shown);
	return c->reply.code / 100 == 4 ? EX_TEMPFAIL : code5;
}

/* Connects, reads the greeting and says EHLO. Returns 0 or an exit code. */
int sendmail_smtp_open(struct sendmail_smtp *c, const char *conf, int greet, const char *suffix)
{
	char spool[CONF_PATH_MAX];
	struct timeval tv = { .tv_sec = SM_TIMEOUT_MS / 1000 };
	int rc = cli_ctl_spool(conf, spool, sizeof(spool));

	if (rc != 0) {
		return rc;
	}
	sendmail_smtp_attach(c, cli_ctl_connect(spool, CTL_CLIENT_SUBMIT, c->path, sizeof(c->path)));
	if (c->fd < 0) {
		return cli_ctl_connect_error(
		    c->path, errno, "not allowed to submit mail here (local_submit_group); message not sent", suffix);
	}
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!greet) {
		return 0;
	}
	rc = sendmail_smtp_reply(c, "connect");
	if (rc != 220) {
		return rc < 0 ? EX_TEMPFAIL : sendmail_smtp_refused(c, "connect", EX_UNAVAILABLE);
	}
	rc = sendmail_smtp_command(c, "EHLO localhost");
	if (rc != 250) {
		return rc < 0 ? EX_TEMPFAIL : sendmail_smtp_refused(c, "EHLO localhost", EX_PROTOCOL);
	}
	return 0;
}

/* Ends the session politely (after a refusal; nothing is sent). */
void sendmail_smtp_quit(struct sendmail_smtp *c)
{
	if (sendmail_smtp_command(c, "RSET") >= 0) {
		(void)sendmail_smtp_command(c, "QUIT");
	}
}
