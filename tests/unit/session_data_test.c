/*
 * session_data_test.c - the session's DATA and MAIL as the queue sees them
 * (session_stub.c): the message the queue receives, with Received: for a
 * network or a local client and the Message-ID: and Date: it lacked; a
 * message the session refuses is aborted at the queue and ends the
 * transaction; a bare LF in it ends the session. Also the sender rules of
 * the local socket for a user who is not root.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "harness.h"
#include "session_stub.h"

#define GO_AHEAD  "354 End data with <CR><LF>.<CR><LF>"
#define QUEUED    "250 2.0.0 Ok: queued as " STUB_QID
#define NEED_MAIL "503 5.5.1 Error: need MAIL command"

static struct ipc_frame dt_frame;
static char dt_text[4096];
static char dt_long[CONFIG_MAX_TEXT_LINE + 64];

/*
 * What the session sent the queue: the Q_DATA payloads joined in dt_text,
 * the type of the last frame, and whether a Q_END came. Closes the channels.
 */
static uint32_t dt_queued(struct stub *t, int *ended)
{
	size_t used = 0;
	uint32_t last = 0;

	*ended = 0;
	dt_text[0] = '\0';
	while (stub_frame(t->queue_fd, &dt_frame)) {
		last = dt_frame.hdr.type;
		*ended |= last == PROTO_Q_END;
		if (last == PROTO_Q_DATA && dt_frame.hdr.len < sizeof(dt_text) - used) {
			memcpy(dt_text + used, dt_frame.payload, dt_frame.hdr.len);
			used += dt_frame.hdr.len;
			dt_text[used] = '\0';
		}
	}
	stub_close_channels(t);
	return last;
}

/* The date of the Received: line (after its last ";\r\n\t"), or "" if none. */
static void dt_date(char *out, size_t cap)
{
	const char *p = strstr(dt_text, ";\r\n\t");
	const char *end = p != NULL ? strstr(p + 4, "\r\n") : NULL;

	out[0] = '\0';
	if (end != NULL && (size_t)(end - p - 4) < cap) {
		memcpy(out, p + 4, (size_t)(end - p - 4));
		out[end - p - 4] = '\0';
	}
}

static void dt_send_message(struct stub *t, const char *message, const char *want, int at)
{
	char got[512];

	if (stub_cmd(t, "DATA", got, sizeof(got)) < 0 || strcmp(got, GO_AHEAD) != 0 ||
	    stub_cmd(t, message, got, sizeof(got)) < 0 || strcmp(got, want) != 0) {
		printf("  line %d: got \"%s\"\n    want \"%s\"\n", at, got, want);
		harness_fail(__FILE__, at, "DATA and the message");
	}
}

TEST(session_data_network_message)
{
	char date[64], want[1024];
	struct stub t;
	int ended;

	CHECK(stub_start(&t, SESSION_RCPT, STUB_TLS | STUB_AUTHED) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	dt_send_message(&t, "Subject: t\r\n\r\nhello\r\n..dot\r\n.", QUEUED, __LINE__);
	CHECK(stub_finish(&t));
	CHECK(dt_queued(&t, &ended) == PROTO_Q_END && ended);
	dt_date(date, sizeof(date));
	CHECK(date[0] != '\0');
	snprintf(want, sizeof(want),
		 "Received: from client.example.test ([" STUB_CLIENT "])\r\n"
		 "\t(using TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256)\r\n"
		 "\t(Authenticated sender: alice@example.com)\r\n"
		 "\tby " STUB_HOST " (subgate) with ESMTPSA id " STUB_QID "\r\n"
		 "\tfor <rcpt@example.org>;\r\n\t%s\r\n"
		 "Subject: t\r\n"
		 "Message-ID: <" STUB_QID "@" STUB_HOST ">\r\n"
		 "Date: %s\r\n"
		 "\r\nhello\r\n.dot\r\n",
		 date, date);
	CHECK_STR(dt_text, want);
}

TEST(session_data_local_message)
{
	char date[64], want[1024];
	struct stub t;
	int ended;

	CHECK(stub_start(&t, SESSION_RCPT, STUB_LOCAL) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	dt_send_message(&t, "Message-ID: <m@example.test>\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nhi\r\n.",
			QUEUED, __LINE__);
	CHECK(stub_finish(&t));
	CHECK(dt_queued(&t, &ended) == PROTO_Q_END && ended);
	dt_date(date, sizeof(date));
	CHECK(date[0] != '\0');
	snprintf(want, sizeof(want),
		 "Received: by " STUB_HOST " (subgate, from userid 0)\r\n"
		 "\tid " STUB_QID "\r\n"
		 "\tfor <rcpt@example.org>;\r\n\t%s\r\n"
		 "Message-ID: <m@example.test>\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nhi\r\n",
		 date);
	CHECK_STR(dt_text, want);
}

/* A message the session refuses: aborted at the queue, the transaction is over, the session is not. */
TEST(session_data_refused_message_ends_the_transaction)
{
	char got[256];
	struct stub t;
	int ended;

	memset(dt_long, 'x', sizeof(dt_long) - 1);
	dt_long[sizeof(dt_long) - 1] = '\0';
	memcpy(dt_long, "\r\n", 2); /* no headers: the long line is in the body */
	CHECK(stub_start(&t, SESSION_RCPT, STUB_TLS | STUB_AUTHED) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_cmd(&t, "DATA", got, sizeof(got)) == 0);
	CHECK_STR(got, GO_AHEAD);
	CHECK(stub_send(&t, dt_long) == 0);
	CHECK(stub_cmd(&t, "\r\n.", got, sizeof(got)) == 0);
	snprintf(dt_text, sizeof(dt_text), "554 5.6.0 Message contains a line longer than %d characters",
		 CONFIG_MAX_TEXT_LINE - 2);
	CHECK_STR(got, dt_text);
	CHECK(stub_cmd(&t, "RCPT TO:<rcpt@example.org>", got, sizeof(got)) == 0);
	CHECK_STR(got, NEED_MAIL);
	CHECK(stub_cmd(&t, "NOOP", got, sizeof(got)) == 0);
	CHECK_STR(got, "250 2.0.0 Ok");
	CHECK(stub_finish(&t));
	CHECK(dt_queued(&t, &ended) == PROTO_Q_ABORT && !ended);
}

/* A bare LF in the message could smuggle a second one past other servers: the session ends. */
TEST(session_data_bare_lf_ends_the_session)
{
	char got[256];
	struct stub t;
	int ended;

	CHECK(stub_start(&t, SESSION_RCPT, STUB_TLS | STUB_AUTHED) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_cmd(&t, "DATA", got, sizeof(got)) == 0);
	CHECK_STR(got, GO_AHEAD);
	CHECK(stub_cmd(&t, "Subject: t\r\n\r\nhello\n.", got, sizeof(got)) == 0);
	CHECK_STR(got, "521 5.5.2 " STUB_HOST " Error: bare <CR> or <LF> received in message");
	CHECK(stub_closed(&t));
	CHECK(stub_finish(&t));
	CHECK(dt_queued(&t, &ended) == PROTO_Q_ABORT && !ended);
}

/* On the local socket a user other than root may send only as itself (its login name or its address). */
TEST(session_local_user_sender_rules)
{
	char got[512];
	struct stub t;

	stub_set_local_peer(1000, "bob", "bob@example.net");
	CHECK(stub_start(&t, SESSION_READY, STUB_LOCAL) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_cmd(&t, "MAIL FROM:<alice@example.com>", got, sizeof(got)) == 0);
	CHECK_STR(got, "553 5.7.1 <alice@example.com>: Sender address rejected: not allowed for local user bob "
		       "(uid 1000); use <bob@example.net>");
	CHECK(stub_cmd(&t, "MAIL FROM:<bob>", got, sizeof(got)) == 0);
	CHECK_STR(got, "250 2.1.0 <bob@example.net>: Sender ok");
	CHECK(stub_cmd(&t, "RSET", got, sizeof(got)) == 0);
	CHECK(stub_cmd(&t, "MAIL FROM:<BOB@example.net>", got, sizeof(got)) == 0);
	CHECK_STR(got, "250 2.1.0 <bob@example.net>: Sender ok");
	CHECK(stub_finish(&t));
	stub_close_channels(&t);

	stub_set_local_peer(4242, "", "");
	CHECK(stub_start(&t, SESSION_READY, STUB_LOCAL) == 0);
	CHECK(stub_cmd(&t, "MAIL FROM:<alice@example.com>", got, sizeof(got)) == 0);
	CHECK_STR(got, "553 5.7.1 <alice@example.com>: Sender address rejected: uid 4242 is not a known local user");
	CHECK(stub_finish(&t));
	stub_close_channels(&t);
	stub_set_local_peer(0, NULL, NULL);
}
