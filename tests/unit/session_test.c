/*
 * session_test.c - the session's command table, row by row: one command in
 * every state a session can be in (connected, after EHLO, in a transaction
 * with or without a recipient), before and after TLS, before and after AUTH,
 * and on the local submission socket, and the exact reply it gets; then
 * whether the session reads on (a NOOP after it is answered), ends (QUIT,
 * BDAT, a STARTTLS whose handshake fails) or is in DATA. The session runs
 * in a process of its own (session_stub.c); auth and the queue answer OK.
 * Contexts no session reaches (AUTH without TLS, a transaction before AUTH,
 * TLS or no login on the local socket) have no rows.
 * The transitions are in session_flow_test.c (STARTTLS with a real handshake
 * in session_tls_test.c), what the queue receives in session_data_test.c.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "harness.h"
#include "session_stub.h"

/* states */
#define CONN  SESSION_CONNECTED
#define READY SESSION_READY
#define MAIL  SESSION_MAIL
#define RCPT  SESSION_RCPT
/* flags */
#define PLAIN  0u
#define TLS    STUB_TLS
#define AUTHED (STUB_TLS | STUB_AUTHED)
#define LOCAL  STUB_LOCAL

#define EHLO_PLAIN STUB_EHLO_PLAIN
#define EHLO_TLS   STUB_EHLO_TLS
#define EHLO_LOCAL STUB_EHLO_LOCAL

#define OK             "250 2.0.0 Ok"
#define MUST_TLS       "530 5.7.0 Must issue a STARTTLS command first"
#define AUTH_REQUIRED  "530 5.7.0 Authentication required"
#define SEND_EHLO      "503 5.5.1 Error: send EHLO first"
#define IN_TRANSACTION "503 5.5.1 Error: MAIL transaction in progress"
#define ALREADY_AUTHED "503 5.5.1 Error: already authenticated"
#define NESTED_MAIL    "503 5.5.1 Error: nested MAIL command"
#define NEED_MAIL      "503 5.5.1 Error: need MAIL command"
#define NEED_RCPT      "503 5.5.1 Error: need RCPT command"
#define GO_AHEAD       "354 End data with <CR><LF>.<CR><LF>"
#define HELP_TEXT      "214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT HELP VRFY"
#define VRFY_TEXT      "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery"

enum after {
	ON,      /* the session reads the next command */
	CLOSES,  /* the session ends after the reply */
	IN_DATA, /* the message follows; its end is answered with "queued" */
};

struct row {
	const char *line;
	enum session_state state;
	unsigned flags;
	const char *reply; /* every line of it, joined by \n */
	enum after after;
};

static const struct row rows[] = {
	/* EHLO: every state, the offer depends on TLS and the socket */
	{ "EHLO client.example.test", CONN, PLAIN, EHLO_PLAIN, ON },
	{ "EHLO client.example.test", READY, PLAIN, EHLO_PLAIN, ON },
	{ "EHLO client.example.test", CONN, TLS, EHLO_TLS, ON },
	{ "EHLO client.example.test", READY, TLS, EHLO_TLS, ON },
	{ "EHLO client.example.test", READY, AUTHED, EHLO_TLS, ON },
	{ "EHLO client.example.test", MAIL, AUTHED, EHLO_TLS, ON },
	{ "EHLO client.example.test", RCPT, AUTHED, EHLO_TLS, ON },
	{ "EHLO client.example.test", CONN, LOCAL, EHLO_LOCAL, ON },
	{ "EHLO client.example.test", READY, LOCAL, EHLO_LOCAL, ON },
	{ "EHLO client.example.test", MAIL, LOCAL, EHLO_LOCAL, ON },
	{ "EHLO client.example.test", RCPT, LOCAL, EHLO_LOCAL, ON },
	/* HELO */
	{ "HELO client.example.test", CONN, PLAIN, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", READY, PLAIN, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", CONN, TLS, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", READY, TLS, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", READY, AUTHED, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", MAIL, AUTHED, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", RCPT, AUTHED, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", CONN, LOCAL, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", READY, LOCAL, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", MAIL, LOCAL, "250 " STUB_HOST, ON },
	{ "HELO client.example.test", RCPT, LOCAL, "250 " STUB_HOST, ON },
	/* STARTTLS: READY only; the handshake fails here (the client sends no hello) */
	{ "STARTTLS", CONN, PLAIN, SEND_EHLO, ON },
	{ "STARTTLS", READY, PLAIN, "220 2.0.0 Ready to start TLS", CLOSES },
	{ "STARTTLS", CONN, TLS, SEND_EHLO, ON },
	{ "STARTTLS", READY, TLS, "554 5.5.1 Error: TLS already active", ON },
	{ "STARTTLS", READY, AUTHED, "554 5.5.1 Error: TLS already active", ON },
	{ "STARTTLS", MAIL, AUTHED, IN_TRANSACTION, ON },
	{ "STARTTLS", RCPT, AUTHED, IN_TRANSACTION, ON },
	{ "STARTTLS", CONN, LOCAL, SEND_EHLO, ON },
	{ "STARTTLS", READY, LOCAL, "502 5.5.1 Error: STARTTLS is not offered on the local socket", ON },
	{ "STARTTLS", MAIL, LOCAL, IN_TRANSACTION, ON },
	{ "STARTTLS", RCPT, LOCAL, IN_TRANSACTION, ON },
	/* AUTH (auth answers OK): TLS, then READY; never twice */
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", CONN, PLAIN, MUST_TLS, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", READY, PLAIN, MUST_TLS, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", CONN, TLS, SEND_EHLO, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", READY, TLS, "235 2.7.0 Authentication successful", ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", READY, AUTHED, ALREADY_AUTHED, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", MAIL, AUTHED, IN_TRANSACTION, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", RCPT, AUTHED, IN_TRANSACTION, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", CONN, LOCAL, SEND_EHLO, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", READY, LOCAL, ALREADY_AUTHED, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", MAIL, LOCAL, IN_TRANSACTION, ON },
	{ "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==", RCPT, LOCAL, IN_TRANSACTION, ON },
	/* MAIL (queue answers OK): TLS, READY, then AUTH */
	{ "MAIL FROM:<alice@example.com>", CONN, PLAIN, MUST_TLS, ON },
	{ "MAIL FROM:<alice@example.com>", READY, PLAIN, MUST_TLS, ON },
	{ "MAIL FROM:<alice@example.com>", CONN, TLS, SEND_EHLO, ON },
	{ "MAIL FROM:<alice@example.com>", READY, TLS, AUTH_REQUIRED, ON },
	{ "MAIL FROM:<alice@example.com>", READY, AUTHED, "250 2.1.0 Ok", ON },
	{ "MAIL FROM:<alice@example.com>", MAIL, AUTHED, NESTED_MAIL, ON },
	{ "MAIL FROM:<alice@example.com>", RCPT, AUTHED, NESTED_MAIL, ON },
	{ "MAIL FROM:<alice@example.com>", CONN, LOCAL, SEND_EHLO, ON },
	{ "MAIL FROM:<alice@example.com>", READY, LOCAL, "250 2.1.0 <alice@example.com>: Sender ok", ON },
	{ "MAIL FROM:<alice@example.com>", MAIL, LOCAL, NESTED_MAIL, ON },
	{ "MAIL FROM:<alice@example.com>", RCPT, LOCAL, NESTED_MAIL, ON },
	/* RCPT: TLS, then a transaction (the state is checked before AUTH) */
	{ "RCPT TO:<rcpt@example.org>", CONN, PLAIN, MUST_TLS, ON },
	{ "RCPT TO:<rcpt@example.org>", READY, PLAIN, MUST_TLS, ON },
	{ "RCPT TO:<rcpt@example.org>", CONN, TLS, NEED_MAIL, ON },
	{ "RCPT TO:<rcpt@example.org>", READY, TLS, NEED_MAIL, ON },
	{ "RCPT TO:<rcpt@example.org>", READY, AUTHED, NEED_MAIL, ON },
	{ "RCPT TO:<rcpt@example.org>", MAIL, AUTHED, "250 2.1.5 Ok", ON },
	{ "RCPT TO:<rcpt@example.org>", RCPT, AUTHED, "250 2.1.5 Ok", ON },
	{ "RCPT TO:<rcpt@example.org>", CONN, LOCAL, NEED_MAIL, ON },
	{ "RCPT TO:<rcpt@example.org>", READY, LOCAL, NEED_MAIL, ON },
	{ "RCPT TO:<rcpt@example.org>", MAIL, LOCAL, "250 2.1.5 Ok", ON },
	{ "RCPT TO:<rcpt@example.org>", RCPT, LOCAL, "250 2.1.5 Ok", ON },
	/* DATA (queue answers OK): TLS, then a recipient */
	{ "DATA", CONN, PLAIN, MUST_TLS, ON },
	{ "DATA", READY, PLAIN, MUST_TLS, ON },
	{ "DATA", CONN, TLS, NEED_RCPT, ON },
	{ "DATA", READY, TLS, NEED_RCPT, ON },
	{ "DATA", READY, AUTHED, NEED_RCPT, ON },
	{ "DATA", MAIL, AUTHED, NEED_RCPT, ON },
	{ "DATA", RCPT, AUTHED, GO_AHEAD, IN_DATA },
	{ "DATA", CONN, LOCAL, NEED_RCPT, ON },
	{ "DATA", READY, LOCAL, NEED_RCPT, ON },
	{ "DATA", MAIL, LOCAL, NEED_RCPT, ON },
	{ "DATA", RCPT, LOCAL, GO_AHEAD, IN_DATA },
	/* RSET, NOOP, QUIT: every state, no TLS needed */
	{ "RSET", CONN, PLAIN, OK, ON },
	{ "RSET", READY, PLAIN, OK, ON },
	{ "RSET", CONN, TLS, OK, ON },
	{ "RSET", READY, TLS, OK, ON },
	{ "RSET", READY, AUTHED, OK, ON },
	{ "RSET", MAIL, AUTHED, OK, ON },
	{ "RSET", RCPT, AUTHED, OK, ON },
	{ "RSET", CONN, LOCAL, OK, ON },
	{ "RSET", READY, LOCAL, OK, ON },
	{ "RSET", MAIL, LOCAL, OK, ON },
	{ "RSET", RCPT, LOCAL, OK, ON },
	{ "NOOP", CONN, PLAIN, OK, ON },
	{ "NOOP", READY, PLAIN, OK, ON },
	{ "NOOP", CONN, TLS, OK, ON },
	{ "NOOP", READY, TLS, OK, ON },
	{ "NOOP", READY, AUTHED, OK, ON },
	{ "NOOP", MAIL, AUTHED, OK, ON },
	{ "NOOP", RCPT, AUTHED, OK, ON },
	{ "NOOP", CONN, LOCAL, OK, ON },
	{ "NOOP", READY, LOCAL, OK, ON },
	{ "NOOP", MAIL, LOCAL, OK, ON },
	{ "NOOP", RCPT, LOCAL, OK, ON },
	{ "QUIT", CONN, PLAIN, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", READY, PLAIN, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", CONN, TLS, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", READY, TLS, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", READY, AUTHED, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", MAIL, AUTHED, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", RCPT, AUTHED, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", CONN, LOCAL, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", READY, LOCAL, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", MAIL, LOCAL, "221 2.0.0 Bye", CLOSES },
	{ "QUIT", RCPT, LOCAL, "221 2.0.0 Bye", CLOSES },
	/* HELP, VRFY, EXPN: every state, after TLS */
	{ "HELP", CONN, PLAIN, MUST_TLS, ON },
	{ "HELP", READY, PLAIN, MUST_TLS, ON },
	{ "HELP", CONN, TLS, HELP_TEXT, ON },
	{ "HELP", READY, TLS, HELP_TEXT, ON },
	{ "HELP", READY, AUTHED, HELP_TEXT, ON },
	{ "HELP", MAIL, AUTHED, HELP_TEXT, ON },
	{ "HELP", RCPT, AUTHED, HELP_TEXT, ON },
	{ "HELP", CONN, LOCAL, HELP_TEXT, ON },
	{ "HELP", READY, LOCAL, HELP_TEXT, ON },
	{ "HELP", MAIL, LOCAL, HELP_TEXT, ON },
	{ "HELP", RCPT, LOCAL, HELP_TEXT, ON },
	{ "VRFY alice", CONN, PLAIN, MUST_TLS, ON },
	{ "VRFY alice", READY, PLAIN, MUST_TLS, ON },
	{ "VRFY alice", CONN, TLS, VRFY_TEXT, ON },
	{ "VRFY alice", READY, TLS, VRFY_TEXT, ON },
	{ "VRFY alice", READY, AUTHED, VRFY_TEXT, ON },
	{ "VRFY alice", MAIL, AUTHED, VRFY_TEXT, ON },
	{ "VRFY alice", RCPT, AUTHED, VRFY_TEXT, ON },
	{ "VRFY alice", CONN, LOCAL, VRFY_TEXT, ON },
	{ "VRFY alice", READY, LOCAL, VRFY_TEXT, ON },
	{ "VRFY alice", MAIL, LOCAL, VRFY_TEXT, ON },
	{ "VRFY alice", RCPT, LOCAL, VRFY_TEXT, ON },
	{ "EXPN staff", CONN, PLAIN, MUST_TLS, ON },
	{ "EXPN staff", READY, PLAIN, MUST_TLS, ON },
	{ "EXPN staff", CONN, TLS, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", READY, TLS, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", READY, AUTHED, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", MAIL, AUTHED, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", RCPT, AUTHED, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", CONN, LOCAL, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", READY, LOCAL, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", MAIL, LOCAL, "502 5.5.1 EXPN not supported", ON },
	{ "EXPN staff", RCPT, LOCAL, "502 5.5.1 EXPN not supported", ON },
	/* BDAT: its chunk would be read as commands, so the session ends */
	{ "BDAT 5", CONN, PLAIN, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", READY, PLAIN, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", CONN, TLS, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", READY, TLS, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", READY, AUTHED, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", MAIL, AUTHED, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", RCPT, AUTHED, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", CONN, LOCAL, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", READY, LOCAL, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", MAIL, LOCAL, "502 5.5.1 Error: BDAT not supported", CLOSES },
	{ "BDAT 5", RCPT, LOCAL, "502 5.5.1 Error: BDAT not supported", CLOSES },
	/* an unknown verb */
	{ "XYZZY", CONN, PLAIN, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", READY, PLAIN, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", CONN, TLS, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", READY, TLS, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", READY, AUTHED, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", MAIL, AUTHED, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", RCPT, AUTHED, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", CONN, LOCAL, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", READY, LOCAL, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", MAIL, LOCAL, "500 5.5.1 Error: command not recognized", ON },
	{ "XYZZY", RCPT, LOCAL, "500 5.5.1 Error: command not recognized", ON },
};

static const char *state_name(enum session_state st)
{
	return st == CONN ? "CONNECTED" : st == READY ? "READY" : st == MAIL ? "MAIL" : "RCPT";
}

static const char *flags_name(unsigned flags)
{
	return flags == PLAIN ? "plain" : flags == TLS ? "tls" : flags == AUTHED ? "tls+auth" : "local";
}

/* What follows the reply: 1 if the session behaves as the row says. */
static int row_after(struct stub *t, enum after after)
{
	char got[1024];

	if (after == CLOSES) {
		return stub_closed(t);
	}
	if (after == IN_DATA && (stub_cmd(t, "Subject: t\r\n\r\nhello\r\n.", got, sizeof(got)) < 0 ||
				 strcmp(got, "250 2.0.0 Ok: queued as " STUB_QID) != 0)) {
		return 0;
	}
	return stub_cmd(t, "NOOP", got, sizeof(got)) == 0 && strcmp(got, OK) == 0;
}

static int row_run(const struct row *r, char *got, size_t cap)
{
	struct stub t;
	int ok;

	got[0] = '\0';
	if (stub_start(&t, r->state, r->flags) < 0 || stub_auth_answer(&t, PROTO_AUTH_OK) < 0 ||
	    stub_queue_answer(&t, 0) < 0 || stub_queue_answer(&t, 0) < 0) {
		stub_finish(&t);
		stub_close_channels(&t);
		return 0;
	}
	ok = stub_cmd(&t, r->line, got, cap) == 0 && strcmp(got, r->reply) == 0 && row_after(&t, r->after);
	ok &= stub_finish(&t);
	stub_close_channels(&t);
	return ok;
}

TEST(session_command_table)
{
	char got[1024];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		if (!row_run(r, got, sizeof(got))) {
			printf("  row %zu: %s in %s (%s): got \"%s\"\n    want \"%s\" then %s\n", i, r->line,
			       state_name(r->state), flags_name(r->flags), got, r->reply,
			       r->after == ON       ? "more commands"
			       : r->after == CLOSES ? "the end"
						    : "the message");
			CHECK(!"the reply and what follows match the row");
		}
	}
}
