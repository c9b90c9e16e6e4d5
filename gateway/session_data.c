/*
 * session_data.c - the DATA command: hands the envelope to `queue`, adds
 * Received: (with TLS and the authenticated user), streams the message
 * through the DATA filter (smtp_data.c) to `queue`, adds Message-ID: and
 * Date: when missing (RFC 6409 section 8), and answers 250 only after the
 * queue has committed the message to disk.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "session.h"
#include "smtp_data.h"
#include "smtp_received.h"
#include "timefmt.h"
#include "wbuf.h"

#define DATA_CHUNK 8192

struct data_run {
	struct smtp_data filter;
	struct wbuf out; /* over out_buf: each flush is one PROTO_Q_DATA frame */
	char out_buf[DATA_CHUNK];
	uint64_t size;   /* bytes passed to the queue, headers we added included */
	int queue_error; /* the queue refused a frame: stop sending */
	int oversize;
	char id[SPOOL_ID_LEN + 1];
	time_t arrival;
};

static struct data_run run;
static struct ipc_frame data_frame;

static const struct proto_row session_queue_rows[] = {
	{ .type = PROTO_Q_REPLY, PROTO_SIZE(struct proto_q_reply), .strings = { PROTO_STR(struct proto_q_reply, id) } },
};

const struct proto_table session_queue_replies = PROTO_TABLE("queue reply to session", NULL, session_queue_rows);

/* The writer's sink: one frame to the queue; after a refusal (or past the size limit) frames are dropped. */
static ssize_t data_send(void *ctx, const char *data, size_t len)
{
	const struct session *s = ctx;

	if (!run.queue_error && !run.oversize && ipc_send(s->queue_fd, PROTO_Q_DATA, data, len, -1) < 0) {
		run.queue_error = errno;
	}
	return (ssize_t)len;
}

/* Appends bytes we generate (headers) to the outgoing buffer. */
static void data_add(const char *text)
{
	size_t len = strlen(text);

	(void)wbuf_put(&run.out, text, len); /* the sink never fails: errors are in run */
	run.size += len;
}

static void data_received(struct session *s)
{
	/* room for the longest fields (EHLO and host name 255, user CONFIG_USERNAME_MAX, recipient 254):
	   smtp_received_format() shortens only what cannot happen here */
	char hdr[2048], date[64];
	const char *rcpt = s->env.rcpts; /* the first */

	_Static_assert(sizeof(hdr) >= 128 + 2 * ADDR_DOMAIN_MAX + ADDR_MAX + CONFIG_USERNAME_MAX + PROTO_ADDR_STR +
					  sizeof(s->tls_info) + SPOOL_ID_LEN + sizeof(date),
		       "Received: fits with its longest fields");

	timefmt_rfc5322(run.arrival, date, sizeof(date));
	if (s->local) {
		/* Postfix's form for local submission: no network, the kernel-named uid */
		snprintf(hdr, sizeof(hdr), "Received: by %s (subgate, from userid %u)\r\n\tid %s%s%.*s%s;\r\n\t%s\r\n",
			 s->conf->hostname, (unsigned)s->peer_uid, run.id, s->env.nrcpt == 1 ? "\r\n\tfor <" : "",
			 ADDR_MAX, s->env.nrcpt == 1 ? rcpt : "", s->env.nrcpt == 1 ? ">" : "", date);
		data_add(hdr);
		return;
	}
	struct smtp_received rcv = { .helo = s->helo,
				     .client = s->client,
				     .tls = s->tls_info,
				     .user = s->login.user,
				     .by = s->conf->hostname,
				     .id = run.id,
				     .rcpt = s->env.nrcpt == 1 ? rcpt : NULL,
				     .date = date };
	if (smtp_received_format(hdr, sizeof(hdr), &rcv) > 0) {
		data_add(hdr);
	}
}

static void data_missing_headers(struct session *s)
{
	char line[ADDR_DOMAIN_MAX + 64], date[64];

	if (!run.filter.has_message_id) {
		snprintf(line, sizeof(line), "Message-ID: <%s@%s>\r\n", run.id, s->conf->hostname);
		data_add(line);
	}
	if (!run.filter.has_date) {
		timefmt_rfc5322(run.arrival, date, sizeof(date));
		snprintf(line, sizeof(line), "Date: %s\r\n", date);
		data_add(line);
	}
}

/*
 * The reply to a queue refusal: storage, an envelope too large to store
 * (EMSGSIZE), or what the queue itself re-checks in the message (EFBIG:
 * the size limit; EBADMSG: a bare CR or LF); anything else is fallback.
 */
static void data_queue_error(struct session *s, int err, const char *fallback)
{
	if (err == ENOSPC || err == EDQUOT) {
		session_error(s, "452 4.3.1 Insufficient system storage");
	} else if (err == EMSGSIZE) {
		session_error(s, "452 4.5.3 Error: too many recipients");
	} else if (err == EFBIG) {
		session_error(s, "552 5.3.4 Message size exceeds fixed limit");
	} else if (err == EBADMSG) {
		session_error(s, "554 5.6.0 Message contains a bare <CR> or <LF>");
	} else {
		session_error(s, "%s", fallback);
	}
}

/* Opens the message at the queue. Returns 0, or -1 after replying. */
static int data_begin(struct session *s)
{
	struct proto_q_begin *b = (struct proto_q_begin *)data_frame.payload; /* the reply comes back in it */
	int rc;

	memset(&run, 0, sizeof(run));
	wbuf_init(&run.out, run.out_buf, sizeof(run.out_buf), data_send, s);
	run.arrival = time(NULL);
	s->env.arrival = run.arrival;
	rc = ipc_send(s->queue_fd, PROTO_Q_BEGIN, b, envelope_pack(&s->env, b), -1);
	if (rc == 0) {
		rc = proto_recv(s->queue_fd, &session_queue_replies, s->id, &data_frame, NULL) == 1 ? 0 : -1;
	}
	const struct proto_q_reply *r = (const struct proto_q_reply *)data_frame.payload;
	if (rc < 0 || r->error != 0) {
		int err = rc < 0 ? EIO : r->error;

		log_warn("%s: reject: DATA from [%s]: spool: %s", s->id, s->client, strerror(err));
		data_queue_error(s, err, "451 4.3.0 Error: queue unavailable");
		return -1;
	}
	memcpy(run.id, r->id, sizeof(run.id));
	return 0;
}

/* Feeds one buffer of client input through the filter. Returns the filter event. */
static enum smtp_data_event data_feed(struct session *s, const unsigned char *in, size_t len, size_t *consumed)
{
	enum smtp_data_event ev;
	size_t used, produced, room;

	*consumed = 0;
	do {
		char *space = wbuf_space(&run.out, &room);

		ev = smtp_data_feed(&run.filter, (const char *)in + *consumed, len - *consumed, &used, space, room,
				    &produced);
		*consumed += used;
		wbuf_added(&run.out, produced);
		run.size += produced;
		/* RFC 1870: the client's octets count, not the headers we add */
		if (run.filter.bytes_out > s->conf->max_message_size) {
			run.oversize = 1;
		}
		if (run.out.len == run.out.cap || ev != SMTP_DATA_MORE) {
			if (ev == SMTP_DATA_HEADERS_END) {
				data_missing_headers(s);
			}
			(void)wbuf_flush(&run.out);
		}
	} while (ev == SMTP_DATA_MORE && *consumed < len);
	return ev;
}

/*
 * Reads the message until its end. Returns the final filter event. Each read
 * may wait data_timeout; DATA as a whole may take data_timeout plus a second
 * per min_data_rate bytes received (Postfix smtpd_min_data_rate), so a client
 * that dribbles its message cannot hold the session for ever.
 */
static enum smtp_data_event data_receive(struct session *s)
{
	enum smtp_data_event ev = SMTP_DATA_MORE;
	int64_t start = clock_now_ms();
	uint64_t received = 0;

	while (ev != SMTP_DATA_END && ev != SMTP_DATA_BARE_CR && ev != SMTP_DATA_BARE_LF) {
		const unsigned char *in;
		size_t consumed;
		ssize_t n;

		s->conn.limit_ms = conn_rate_deadline(start, received, (unsigned)s->conf->data_timeout,
						      (unsigned)s->conf->min_data_rate);
		s->conn.limit_ms = s->conn.limit_ms == INT64_MAX ? 0 : s->conn.limit_ms;
		n = conn_peek(&s->conn, &in, (int)s->conf->data_timeout);

		if (n <= 0) {
			ipc_send(s->queue_fd, PROTO_Q_ABORT, NULL, 0, -1);
			if (n < 0 && errno == ETIMEDOUT) {
				session_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->conf->hostname);
			}
			session_close(s, n < 0 ? "timeout or error during DATA" : "lost connection during DATA");
		}
		ev = data_feed(s, in, (size_t)n, &consumed);
		conn_consume(&s->conn, consumed);
		received += consumed;
	}
	s->conn.limit_ms = 0;
	return ev;
}

/* Commits (or refuses) the complete message and replies. */
static void data_finish(struct session *s)
{
	const struct proto_q_reply *r = (const struct proto_q_reply *)data_frame.payload;
	int rc;

	if (run.oversize || run.filter.errors || run.queue_error) {
		ipc_send(s->queue_fd, PROTO_Q_ABORT, NULL, 0, -1);
		if (run.oversize) {
			session_error(s, "552 5.3.4 Message size exceeds fixed limit");
		} else if (run.filter.errors & SMTP_DATA_ERR_NUL) {
			session_error(s, "554 5.6.0 Message contains NUL characters");
		} else if (run.filter.errors & SMTP_DATA_ERR_LONG_LINE) {
			session_error(s, "554 5.6.0 Message contains a line longer than %d characters",
				      CONFIG_MAX_TEXT_LINE - 2);
		} else {
			session_error(s, "451 4.3.0 Error: queue unavailable");
		}
		return;
	}
	rc = ipc_send(s->queue_fd, PROTO_Q_END, NULL, 0, -1);
	if (rc == 0) {
		rc = proto_recv(s->queue_fd, &session_queue_replies, s->id, &data_frame, NULL) == 1 ? 0 : -1;
	}
	if (rc < 0 || r->error != 0) {
		int err = rc < 0 ? EIO : r->error;

		data_queue_error(s, err, "451 4.3.0 Error: queue file write error");
		return;
	}
	s->junk = 0; /* mail moved: the commands before it were not junk */
	session_reply(s, "250 2.0.0 Ok: queued as %s", run.id);
}

void session_cmd_data(struct session *s, const struct smtp_cmd *cmd)
{
	enum smtp_data_event ev;

	(void)cmd;
	if (data_begin(s) < 0) {
		return;
	}
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (conn_flush(&s->conn, (int)s->conf->command_timeout) < 0) {
		ipc_send(s->queue_fd, PROTO_Q_ABORT, NULL, 0, -1);
		session_close(s, "write error");
	}
	smtp_data_init(&run.filter, CONFIG_MAX_TEXT_LINE);
	data_received(s);
	ev = data_receive(s);
	if (ev != SMTP_DATA_END) {
		ipc_send(s->queue_fd, PROTO_Q_ABORT, NULL, 0, -1);
		session_reply(s, "521 5.5.2 %s Error: bare <CR> or <LF> received in message", s->conf->hostname);
		session_close(s, "bare CR or LF in message");
	}
	data_finish(s);
	session_reset_transaction(s);
}
