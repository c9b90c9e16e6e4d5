/*
 * session_flow_test.c - the session's transitions, command after command
 * (session_test.c has the table of single commands): RSET, EHLO and HELO
 * drop the envelope, the end of DATA leaves the login without an envelope,
 * a second MAIL keeps the transaction, AUTH's verdicts, refusals by the
 * queue, the pipelining rules before and after AUTH, the junk-command and
 * error limits, lines that end the session, aliases. What the session sent
 * to auth and the queue is checked where it carries the envelope or login.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "harness.h"
#include "session_stub.h"

#define OK            "250 2.0.0 Ok"
#define MAIL_OK       "250 2.1.0 Ok"
#define RCPT_OK       "250 2.1.5 Ok"
#define GO_AHEAD      "354 End data with <CR><LF>.<CR><LF>"
#define QUEUED        "250 2.0.0 Ok: queued as " STUB_QID
#define NEED_MAIL     "503 5.5.1 Error: need MAIL command"
#define NEED_RCPT     "503 5.5.1 Error: need RCPT command"
#define AUTH_REQUIRED "530 5.7.0 Authentication required"
#define SYNC_ERROR    "554 5.5.0 Error: SMTP protocol synchronization"
#define AUTH_ALICE    "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==" /* \0alice@example.com\0secret */
#define MAIL_ALICE    "MAIL FROM:<alice@example.com>"
#define MESSAGE       "Subject: t\r\n\r\nhello\r\n."

/* Sends line (unless NULL) and checks the reply; says what came on a mismatch. */
static void step(struct stub *t, const char *line, const char *want, int at)
{
	char got[2048];
	int rc = line != NULL ? stub_cmd(t, line, got, sizeof(got)) : stub_reply(t, got, sizeof(got));

	if (rc < 0 || strcmp(got, want) != 0) {
		printf("  line %d: %s: got \"%s\"%s\n    want \"%s\"\n", at, line != NULL ? line : "(read)", got,
		       rc < 0 ? " and no complete reply" : "", want);
		harness_fail(__FILE__, at, "the reply");
	}
}

#define EXPECT(t, line, want)  step((t), (line), (want), __LINE__)
#define EXPECT_REPLY(t, want)  step((t), NULL, (want), __LINE__)
#define START(t, state, flags) CHECK(stub_start((t), (state), (flags)) == 0)

/* The session ended by itself (after the last reply) and its process exited with 0. */
static void expect_end(struct stub *t, int at)
{
	if (!stub_closed(t)) {
		harness_fail(__FILE__, at, "the session closes after its last reply");
	}
	if (!stub_finish(t)) {
		harness_fail(__FILE__, at, "the session process exits with 0");
	}
	stub_close_channels(t);
}

/* The client leaves; the session was still reading commands. */
static void expect_open(struct stub *t, int at)
{
	step(t, "NOOP", OK, at);
	if (!stub_finish(t)) {
		harness_fail(__FILE__, at, "the session process exits with 0");
	}
}

#define EXPECT_END(t)  expect_end((t), __LINE__)
#define EXPECT_OPEN(t) expect_open((t), __LINE__)

/* The envelope of the last PROTO_Q_BEGIN the session sent, as "a|b|c|...", with its count. */
static void last_envelope(struct stub *t, char *out, size_t cap, unsigned *nrcpt)
{
	static struct ipc_frame f;
	size_t used = 0;

	out[0] = '\0';
	*nrcpt = 0;
	while (stub_frame(t->queue_fd, &f)) {
		const struct proto_q_begin *b = (const struct proto_q_begin *)f.payload;

		if (f.hdr.type != PROTO_Q_BEGIN) {
			continue;
		}
		*nrcpt = b->nrcpt;
		used = 0;
		for (uint32_t i = 0; i < b->len && used + 1 < cap; i++) {
			out[used] = b->strings[i];
			if (out[used] == '\0') {
				out[used] = '|';
			}
			used++;
		}
		out[used] = '\0';
	}
	stub_close_channels(t);
}

TEST(session_rset_drops_the_envelope)
{
	struct stub t;
	char env[512];
	unsigned nrcpt;

	START(&t, SESSION_READY, STUB_TLS | STUB_AUTHED);
	for (int i = 0; i < 4; i++) {
		CHECK(stub_queue_answer(&t, 0) == 0); /* two MAILs, the message's start and end */
	}
	EXPECT(&t, MAIL_ALICE, MAIL_OK);
	EXPECT(&t, "RCPT TO:<first@example.org>", RCPT_OK);
	EXPECT(&t, "RSET", OK);
	EXPECT(&t, "RCPT TO:<first@example.org>", NEED_MAIL);
	EXPECT(&t, "DATA", NEED_RCPT);
	EXPECT(&t, MAIL_ALICE, MAIL_OK);
	EXPECT(&t, "RCPT TO:<second@example.org>", RCPT_OK);
	EXPECT(&t, "DATA", GO_AHEAD);
	EXPECT(&t, MESSAGE, QUEUED);
	EXPECT_OPEN(&t);
	last_envelope(&t, env, sizeof(env), &nrcpt);
	CHECK(nrcpt == 1);
	CHECK_STR(env, "alice@example.com|alice@example.com|" STUB_CLIENT "|second@example.org|");
}

/* After a message: logged in, no envelope; a second message needs MAIL again. */
TEST(session_end_of_data_keeps_the_login_only)
{
	struct stub t;

	START(&t, SESSION_RCPT, STUB_TLS | STUB_AUTHED);
	for (int i = 0; i < 3; i++) {
		CHECK(stub_queue_answer(&t, 0) == 0);
	}
	EXPECT(&t, "DATA", GO_AHEAD);
	EXPECT(&t, MESSAGE, QUEUED);
	EXPECT(&t, "RCPT TO:<rcpt@example.org>", NEED_MAIL);
	EXPECT(&t, "DATA", NEED_RCPT);
	EXPECT(&t, AUTH_ALICE, "503 5.5.1 Error: already authenticated");
	EXPECT(&t, MAIL_ALICE, MAIL_OK);
	EXPECT(&t, "RCPT TO:<rcpt@example.org>", RCPT_OK);
	EXPECT_OPEN(&t);
	stub_close_channels(&t);
}

TEST(session_second_mail_keeps_the_transaction)
{
	struct stub t;
	char env[512];
	unsigned nrcpt;

	START(&t, SESSION_MAIL, STUB_TLS | STUB_AUTHED);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	EXPECT(&t, MAIL_ALICE, "503 5.5.1 Error: nested MAIL command");
	EXPECT(&t, "RCPT TO:<one@example.org>", RCPT_OK);
	EXPECT(&t, MAIL_ALICE, "503 5.5.1 Error: nested MAIL command");
	EXPECT(&t, "RCPT TO:<two@example.org>", RCPT_OK);
	EXPECT(&t, "DATA", GO_AHEAD);
	EXPECT(&t, MESSAGE, QUEUED);
	EXPECT_OPEN(&t);
	last_envelope(&t, env, sizeof(env), &nrcpt);
	CHECK(nrcpt == 2);
	CHECK_STR(env, "alice@example.com|alice@example.com|" STUB_CLIENT "|one@example.org|two@example.org|");
}

/* EHLO and HELO drop the envelope but not the login; HELO also ends PIPELINING. */
TEST(session_ehlo_and_helo_start_over)
{
	struct stub t;

	START(&t, SESSION_RCPT, STUB_TLS | STUB_AUTHED);
	CHECK(stub_queue_answer(&t, 0) == 0);
	EXPECT(&t, "EHLO client.example.test", STUB_EHLO_TLS);
	EXPECT(&t, "RCPT TO:<rcpt@example.org>", NEED_MAIL);
	EXPECT(&t, MAIL_ALICE, MAIL_OK);
	EXPECT(&t, "RCPT TO:<rcpt@example.org>", RCPT_OK);
	EXPECT(&t, "HELO client.example.test", "250 " STUB_HOST);
	EXPECT(&t, "DATA", NEED_RCPT);
	EXPECT(&t, AUTH_ALICE, "503 5.5.1 Error: already authenticated");
	EXPECT_OPEN(&t);
	stub_close_channels(&t);
}

TEST(session_auth_success_opens_mail_and_pipelining)
{
	static struct ipc_frame f;
	const struct proto_auth_plain *req = (const struct proto_auth_plain *)f.payload;
	struct stub t;

	START(&t, SESSION_READY, STUB_TLS);
	CHECK(stub_auth_answer(&t, PROTO_AUTH_OK) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	EXPECT(&t, MAIL_ALICE, AUTH_REQUIRED);
	EXPECT(&t, AUTH_ALICE, "235 2.7.0 Authentication successful");
	CHECK(stub_send(&t, "NOOP\r\nNOOP\r\n") == 0); /* an authenticated client may pipeline */
	EXPECT_REPLY(&t, OK);
	EXPECT_REPLY(&t, OK);
	EXPECT(&t, "MAIL FROM:<bob@example.net>",
	       "553 5.7.1 <bob@example.net>: Sender address rejected: not owned by user alice@example.com");
	EXPECT(&t, MAIL_ALICE, MAIL_OK);
	EXPECT_OPEN(&t);
	CHECK(stub_frame(t.auth_fd, &f) == 1);
	CHECK(f.hdr.type == PROTO_AUTH_PLAIN && f.hdr.len == sizeof(*req));
	CHECK_STR(req->mech, "PLAIN");
	CHECK_STR(req->user, "alice@example.com");
	CHECK_STR(req->password, "secret");
	stub_close_channels(&t);
}

/* Every verdict but OK leaves the client logged out, and the session open. */
TEST(session_auth_failures_keep_mail_closed)
{
	struct stub t;

	START(&t, SESSION_READY, STUB_TLS);
	CHECK(stub_auth_answer(&t, PROTO_AUTH_FAILED) == 0);
	CHECK(stub_auth_answer(&t, PROTO_AUTH_TEMPFAIL) == 0);
	CHECK(stub_auth_answer(&t, PROTO_AUTH_MALFORMED) == 0);
	CHECK(stub_auth_answer(&t, PROTO_AUTH_OK) == 0);
	EXPECT(&t, AUTH_ALICE, "535 5.7.8 Error: authentication failed");
	EXPECT(&t, MAIL_ALICE, AUTH_REQUIRED);
	EXPECT(&t, AUTH_ALICE, "454 4.7.0 Temporary authentication failure");
	EXPECT(&t, AUTH_ALICE, "501 5.5.2 Error: malformed authentication message");
	EXPECT(&t, "AUTH PLAIN", "334 ");
	EXPECT(&t, "*", "501 5.7.0 Authentication aborted");
	EXPECT(&t, "AUTH PLAIN !!!notbase64", "501 5.5.2 Cannot decode response");
	EXPECT(&t, "AUTH CRAM-MD5", "504 5.5.4 Unrecognized authentication type");
	EXPECT(&t, MAIL_ALICE, AUTH_REQUIRED);
	EXPECT(&t, AUTH_ALICE, "235 2.7.0 Authentication successful");
	EXPECT_OPEN(&t);
	stub_close_channels(&t);
}

TEST(session_auth_throttled_ends_the_session)
{
	struct stub t;

	START(&t, SESSION_READY, STUB_TLS);
	CHECK(stub_auth_answer(&t, PROTO_AUTH_THROTTLED) == 0);
	EXPECT(&t, AUTH_ALICE, "421 4.7.0 " STUB_HOST " Error: too many failed logins; try again later");
	EXPECT_END(&t);
}

/* The queue refuses: MAIL, the start of DATA (the transaction stays) and its end (it does not). */
TEST(session_queue_refusals)
{
	struct stub t;

	START(&t, SESSION_READY, STUB_TLS | STUB_AUTHED);
	CHECK(stub_queue_answer(&t, ENOSPC) == 0);
	CHECK(stub_queue_answer(&t, EIO) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, EMSGSIZE) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, ENOSPC) == 0);
	EXPECT(&t, MAIL_ALICE, "452 4.3.1 Insufficient system storage");
	EXPECT(&t, MAIL_ALICE, "451 4.3.0 Error: queue unavailable");
	EXPECT(&t, MAIL_ALICE, MAIL_OK);
	EXPECT(&t, "RCPT TO:<rcpt@example.org>", RCPT_OK);
	EXPECT(&t, "DATA", "452 4.5.3 Error: too many recipients");
	EXPECT(&t, "DATA", GO_AHEAD);
	EXPECT(&t, MESSAGE, "452 4.3.1 Insufficient system storage");
	EXPECT(&t, "DATA", NEED_RCPT);
	EXPECT(&t, "RCPT TO:<rcpt@example.org>", NEED_MAIL);
	EXPECT_OPEN(&t);
	stub_close_channels(&t);
}

/*
 * Before AUTH, input waiting behind a command the client must wait for (or
 * behind any command while PIPELINING is not offered) ends the session.
 */
TEST(session_pipelining_before_auth)
{
	struct stub t;

	START(&t, SESSION_CONNECTED, 0); /* no EHLO yet */
	CHECK(stub_send(&t, "RSET\r\nRSET\r\n") == 0);
	EXPECT_REPLY(&t, SYNC_ERROR);
	EXPECT_END(&t);

	START(&t, SESSION_READY, 0);
	CHECK(stub_send(&t, "RSET\r\nNOOP\r\n") == 0); /* RSET is no sync point: PIPELINING allows it */
	EXPECT_REPLY(&t, OK);
	EXPECT_REPLY(&t, OK);
	CHECK(stub_send(&t, "NOOP\r\nRSET\r\n") == 0);
	EXPECT_REPLY(&t, SYNC_ERROR);
	EXPECT_END(&t);

	START(&t, SESSION_READY, 0);
	CHECK(stub_send(&t, "STARTTLS\r\nMAIL FROM:<alice@example.com>\r\n") == 0);
	EXPECT_REPLY(&t, SYNC_ERROR);
	EXPECT_END(&t);

	START(&t, SESSION_READY, STUB_TLS);
	CHECK(stub_send(&t, MAIL_ALICE "\r\nRCPT TO:<rcpt@example.org>\r\n") == 0);
	EXPECT_REPLY(&t, AUTH_REQUIRED);
	EXPECT_REPLY(&t, NEED_MAIL);
	CHECK(stub_send(&t, "EHLO client.example.test\r\nNOOP\r\n") == 0);
	EXPECT_REPLY(&t, SYNC_ERROR);
	EXPECT_END(&t);

	START(&t, SESSION_READY, STUB_TLS | STUB_HELO);
	CHECK(stub_send(&t, "RSET\r\nRSET\r\n") == 0);
	EXPECT_REPLY(&t, SYNC_ERROR);
	EXPECT_END(&t);
}

TEST(session_pipelining_after_login)
{
	struct stub t;

	START(&t, SESSION_READY, STUB_TLS | STUB_AUTHED);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_send(&t, "NOOP\r\nRSET\r\n" MAIL_ALICE "\r\nRCPT TO:<rcpt@example.org>\r\nDATA\r\n") == 0);
	EXPECT_REPLY(&t, OK);
	EXPECT_REPLY(&t, OK);
	EXPECT_REPLY(&t, MAIL_OK);
	EXPECT_REPLY(&t, RCPT_OK);
	EXPECT_REPLY(&t, GO_AHEAD);
	EXPECT(&t, MESSAGE, QUEUED);
	EXPECT_OPEN(&t);
	stub_close_channels(&t);

	START(&t, SESSION_CONNECTED, STUB_LOCAL); /* the kernel logged it in */
	CHECK(stub_send(&t, "NOOP\r\nNOOP\r\n") == 0);
	EXPECT_REPLY(&t, OK);
	EXPECT_REPLY(&t, OK);
	EXPECT_OPEN(&t);
	stub_close_channels(&t);
}

TEST(session_junk_command_limit)
{
	struct stub t;

	START(&t, SESSION_CONNECTED, 0);
	for (int i = 0; i < CONFIG_JUNK_COMMAND_LIMIT; i++) {
		EXPECT(&t, "NOOP", OK);
	}
	EXPECT(&t, "NOOP", "421 4.7.0 " STUB_HOST " Error: too many junk commands");
	EXPECT_END(&t);

	/* a message moved: the count starts again */
	START(&t, SESSION_READY, STUB_TLS | STUB_AUTHED);
	for (int i = 0; i < 3; i++) {
		CHECK(stub_queue_answer(&t, 0) == 0);
	}
	for (int i = 0; i < CONFIG_JUNK_COMMAND_LIMIT; i++) {
		EXPECT(&t, "NOOP", OK);
	}
	EXPECT(&t, MAIL_ALICE, MAIL_OK);
	EXPECT(&t, "RCPT TO:<rcpt@example.org>", RCPT_OK);
	EXPECT(&t, "DATA", GO_AHEAD);
	EXPECT(&t, MESSAGE, QUEUED);
	for (int i = 0; i < CONFIG_JUNK_COMMAND_LIMIT; i++) {
		EXPECT(&t, "RSET", OK);
	}
	EXPECT(&t, "RSET", "421 4.7.0 " STUB_HOST " Error: too many junk commands");
	EXPECT_END(&t);
}

TEST(session_error_limit)
{
	struct stub t;

	START(&t, SESSION_CONNECTED, 0);
	for (int i = 1; i < CONFIG_MAX_ERRORS; i++) {
		EXPECT(&t, "XYZZY", "500 5.5.1 Error: command not recognized");
	}
	EXPECT(&t, "MAIL FROM:<alice@example.com>", "530 5.7.0 Must issue a STARTTLS command first");
	EXPECT_REPLY(&t, "421 4.7.0 " STUB_HOST " Error: too many errors");
	EXPECT_END(&t);
}

/* Lines that are not commands: some are answered, some end the session. */
TEST(session_bad_lines)
{
	char long_line[CONFIG_MAX_COMMAND_LINE + 16];
	struct stub t;

	memset(long_line, 'N', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	START(&t, SESSION_READY, 0);
	EXPECT(&t, long_line, "500 5.5.2 Error: line too long");
	EXPECT(&t, "MAIL FROM:<alice", "501 5.1.7 Bad sender address syntax");
	EXPECT(&t, "NOOP\n", "521 5.5.2 " STUB_HOST " Error: bare <CR> or <LF> received");
	EXPECT_END(&t);

	START(&t, SESSION_READY, STUB_TLS | STUB_AUTHED);
	EXPECT(&t, "GET / HTTP/1.1", "521 5.5.1 " STUB_HOST " Error: non-SMTP command");
	EXPECT_END(&t);
}

/* A bare local name: its alias's targets, all or none. */
TEST(session_rcpt_alias)
{
	struct stub t;
	char env[512];
	unsigned nrcpt;

	START(&t, SESSION_MAIL, STUB_TLS | STUB_AUTHED);
	CHECK(stub_queue_answer(&t, 0) == 0);
	CHECK(stub_queue_answer(&t, 0) == 0);
	EXPECT(&t, "RCPT TO:<nobody>", "550 5.1.1 <nobody>: Recipient address rejected: local name without an alias");
	EXPECT(&t, "DATA", NEED_RCPT);
	EXPECT(&t, "RCPT TO:<root>", RCPT_OK);
	EXPECT(&t, "DATA", GO_AHEAD);
	EXPECT(&t, MESSAGE, QUEUED);
	EXPECT_OPEN(&t);
	last_envelope(&t, env, sizeof(env), &nrcpt);
	CHECK(nrcpt == 2);
	CHECK_STR(env, "alice@example.com|alice@example.com|" STUB_CLIENT "|admin@example.com|ops@example.net|");
}
