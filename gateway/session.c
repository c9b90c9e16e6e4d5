/*
 * session.c - the session's main loop and its state machine: a const table
 * {verb, allowed states, needs TLS, needs AUTH, handler} (OpenSMTPD
 * commands[], Postfix smtpd_cmd_table) and one function that changes state.
 * Runs in the per-connection session process.
 */
#include "session.h"
#include "test_hook.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "tls_pump.h"

#define ANY_STATE   (SESSION_CONNECTED | SESSION_READY | SESSION_MAIL | SESSION_RCPT)
#define IN_MAIL     (SESSION_MAIL | SESSION_RCPT)
#define NEEDS_TLS   1u
#define NEEDS_AUTH  2u
#define SYNC_POINT  4u  /* the client waits for the reply (RFC 2920 3.1; Postfix SMTPD_CMD_FLAG_LAST) */
#define JUNK        8u  /* moves no mail: counts against CONFIG_JUNK_COMMAND_LIMIT */
#define ENDS_STREAM 16u /* what follows is not commands (BDAT's chunk): reply and close */

#define REFUSE_SECONDS 10 /* a refuser's whole life: TLS handshake and 421 */

struct session_command {
	enum smtp_verb verb;
	unsigned states;
	unsigned flags;
	void (*handler)(struct session *s, const struct smtp_cmd *cmd);
	const char *bad_sequence; /* reply when the state does not allow the verb */
	const char *in_mail;      /* the same inside a mail transaction, if it differs */
};

#define SEND_EHLO      "503 5.5.1 Error: send EHLO first"
#define IN_TRANSACTION "503 5.5.1 Error: MAIL transaction in progress"

static const struct session_command session_commands[] = {
	{ SMTP_VERB_EHLO, ANY_STATE, SYNC_POINT | JUNK, session_cmd_ehlo, NULL, NULL },
	{ SMTP_VERB_HELO, ANY_STATE, SYNC_POINT | JUNK, session_cmd_helo, NULL, NULL },
	{ SMTP_VERB_STARTTLS, SESSION_READY, SYNC_POINT, session_cmd_starttls, SEND_EHLO, IN_TRANSACTION },
	/* RFC 4954 4: AUTH is not permitted during a mail transaction */
	{ SMTP_VERB_AUTH, SESSION_READY, NEEDS_TLS | SYNC_POINT, session_cmd_auth, SEND_EHLO, IN_TRANSACTION },
	{ SMTP_VERB_MAIL, SESSION_READY, NEEDS_TLS | NEEDS_AUTH, session_cmd_mail, SEND_EHLO,
	  "503 5.5.1 Error: nested MAIL command" },
	{ SMTP_VERB_RCPT, IN_MAIL, NEEDS_TLS | NEEDS_AUTH, session_cmd_rcpt, "503 5.5.1 Error: need MAIL command",
	  NULL },
	{ SMTP_VERB_DATA, SESSION_RCPT, NEEDS_TLS | NEEDS_AUTH | SYNC_POINT, session_cmd_data,
	  "503 5.5.1 Error: need RCPT command", NULL },
	{ SMTP_VERB_RSET, ANY_STATE, JUNK, session_cmd_rset, NULL, NULL },
	{ SMTP_VERB_NOOP, ANY_STATE, SYNC_POINT | JUNK, session_cmd_noop, NULL, NULL },
	{ SMTP_VERB_QUIT, ANY_STATE, 0, session_cmd_quit, NULL, NULL },
	{ SMTP_VERB_HELP, ANY_STATE, NEEDS_TLS | SYNC_POINT | JUNK, session_cmd_help, NULL, NULL },
	{ SMTP_VERB_VRFY, ANY_STATE, NEEDS_TLS | SYNC_POINT | JUNK, session_cmd_vrfy, NULL, NULL },
	{ SMTP_VERB_EXPN, ANY_STATE, NEEDS_TLS | SYNC_POINT | JUNK, session_cmd_unsupported, NULL, NULL },
	{ SMTP_VERB_BDAT, ANY_STATE, ENDS_STREAM, session_cmd_unsupported, NULL, NULL },
};

/*
 * SIGTERM from the master: finish a message in DATA, then say 421 and go; or,
 * with an 'E' on the status socket, give the slot back now (master_session.c).
 * Until it logs in, a session's every wait ends on it.
 */
static volatile sig_atomic_t session_term;

static void session_on_term(int signo)
{
	(void)signo;
	session_term = 1;
}

void session_prepare_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = session_on_term; /* no SA_RESTART: a wait for a command ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
}

/* The daemon is stopping (or needs this slot) and no message is open: tell the client and go. */
static void session_stop_if_asked(struct session *s)
{
	char why = 0;

	if (session_term && s->status_fd >= 0 && read(s->status_fd, &why, 1) == 1 && why == 'E') {
		session_reply(s, "421 4.4.2 %s Error: timeout exceeded (server busy, log in sooner)",
			      s->conf->hostname);
		session_close(s, "not logged in, and every session slot was taken");
	}
	if (session_term) {
		session_reply(s, "421 4.3.2 %s Service shutting down; try again later", s->conf->hostname);
		session_close(s, "the daemon is stopping");
	}
}

static const char *session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_CONNECTED:
		return "CONNECTED";
	case SESSION_READY:
		return "READY";
	case SESSION_MAIL:
		return "MAIL";
	default:
		return "RCPT";
	}
}

void session_enter_state(struct session *s, enum session_state next)
{
	if (s->state != next) {
		log_debug("%s: state %s -> %s", s->id, session_state_name(s->state), session_state_name(next));
	}
	s->state = next;
}

static void session_vreply(struct session *s, const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);

	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		n = snprintf(line, sizeof(line), "451 4.3.0 Error: reply too long");
	}
	line[n] = '\r';
	line[n + 1] = '\n';
	conn_write(&s->conn, line, (size_t)n + 2);
}

void session_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
}

void session_error(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= CONFIG_MAX_ERRORS) {
		session_reply(s, "421 4.7.0 %s Error: too many errors", s->conf->hostname);
		session_close(s, "too many errors");
	}
}

void session_reset_transaction(struct session *s)
{
	envelope_clear(&s->env);
	if (s->state & (SESSION_MAIL | SESSION_RCPT)) {
		session_enter_state(s, SESSION_READY);
	}
}

static void session_log_end(struct session *s, const char *why)
{
	char counts[256] = "";
	size_t len = 0;

	for (int v = 1; v < SMTP_VERB_COUNT; v++) {
		if (s->counts[v] > 0 && len < sizeof(counts)) {
			int n = snprintf(counts + len, sizeof(counts) - len, " %s=%u",
					 smtp_verb_name((enum smtp_verb)v), s->counts[v]);
			len += n > 0 ? (size_t)n : 0;
		}
	}
	log_info("%s: disconnect from [%s]%s%s%s", s->id, s->client, counts, why ? ": " : "", why ? why : "");
}

void session_close(struct session *s, const char *why)
{
	if (s->status_fd >= 0) {
		close(s->status_fd); /* "finished": the master counts this session no more */
		s->status_fd = -1;
	}
	clock_wait_cancel = NULL;
	s->conn.limit_ms = 0; /* the last reply has its own short bound */
	conn_flush(&s->conn, 5);
	conn_close(&s->conn);
	session_log_end(s, why);
	memset(&s->login, 0, sizeof(s->login));
	exit(0);
}

static void session_parse_failed(struct session *s, enum smtp_parse_status st, const struct smtp_cmd *cmd)
{
	enum smtp_verb verb = cmd->verb;

	if (verb == SMTP_VERB_BDAT) {
		session_reply(s, "502 5.5.1 Error: BDAT not supported");
		session_close(s, "BDAT is not supported");
	}
	if (st == SMTP_PARSE_FORBIDDEN) {
		/* Postfix smtpd_forbidden_commands: a web client or proxy probe, not a mail client */
		log_warn("%s: non-SMTP command from [%s]", s->id, s->client);
		session_reply(s, "521 5.5.1 %s Error: non-SMTP command", s->conf->hostname);
		session_close(s, "non-SMTP command");
	}
	if (st == SMTP_PARSE_SYNTAX && verb == SMTP_VERB_AUTH && cmd->auth_mech[0] != '\0') {
		/* the mechanism parsed; the initial response is not base64 (RFC 4954 section 4) */
		session_error(s, "501 5.5.2 Cannot decode response");
		return;
	}
	switch (st) {
	case SMTP_PARSE_UNKNOWN_VERB:
		session_error(s, "500 5.5.1 Error: command not recognized");
		break;
	case SMTP_PARSE_BAD_ADDRESS:
		session_error(s, verb == SMTP_VERB_MAIL ? "501 5.1.7 Bad sender address syntax"
							: "501 5.1.3 Bad recipient address syntax");
		break;
	case SMTP_PARSE_UNKNOWN_PARAM:
		session_error(s, "555 5.5.4 Unsupported option");
		break;
	case SMTP_PARSE_BAD_CHARACTER:
		session_error(s, "500 5.5.2 Error: invalid character in command");
		break;
	default:
		session_error(s, "501 5.5.4 Syntax error in parameters or arguments");
		break;
	}
}

/* The reply for a verb the state does not allow. */
static const char *session_bad_sequence(const struct session *s, const struct session_command *c)
{
	if ((s->state & IN_MAIL) && c->in_mail != NULL) {
		return c->in_mail;
	}
	return c->bad_sequence != NULL ? c->bad_sequence : "503 5.5.1 Error: bad sequence of commands";
}

/*
 * Talking out of turn, as Postfix's smtpd_forbid_unauth_pipelining sees it:
 * before AUTH, input already waiting when a command the client must wait
 * for is answered, or after any command while PIPELINING is not offered (no
 * EHLO yet, or HELO). An authenticated client may pipeline (RFC 2920).
 */
static void session_check_turn(struct session *s, const struct session_command *c)
{
	if (s->authed || (s->esmtp && !(c->flags & SYNC_POINT)) || !conn_input_pending(&s->conn)) {
		return;
	}
	log_warn("%s: improper command pipelining after %s from [%s]", s->id, smtp_verb_name(c->verb), s->client);
	session_reply(s, "554 5.5.0 Error: SMTP protocol synchronization");
	session_close(s, "improper command pipelining");
}

/* Checks that apply before the verb's own rules; each may end the session. */
static void session_screen(struct session *s, const struct session_command *c)
{
	session_check_turn(s, c);
	if (c->flags & ENDS_STREAM) {
		/* BDAT's chunk follows at once: whatever we answer, it would be read as commands */
		session_reply(s, "502 5.5.1 Error: %s not supported", smtp_verb_name(c->verb));
		session_close(s, "BDAT is not supported");
	}
	if ((c->flags & JUNK) && ++s->junk > CONFIG_JUNK_COMMAND_LIMIT) {
		log_warn("%s: too many junk commands from [%s]", s->id, s->client);
		session_reply(s, "421 4.7.0 %s Error: too many junk commands", s->conf->hostname);
		session_close(s, "too many junk commands");
	}
}

static void session_dispatch(struct session *s, const struct smtp_cmd *cmd)
{
	for (size_t i = 0; i < sizeof(session_commands) / sizeof(session_commands[0]); i++) {
		const struct session_command *c = &session_commands[i];

		if (c->verb != cmd->verb) {
			continue;
		}
		s->counts[cmd->verb]++;
		session_screen(s, c);
		if ((c->flags & NEEDS_TLS) && !s->tls && !s->local) {
			session_error(s, "530 5.7.0 Must issue a STARTTLS command first");
		} else if (!(c->states & s->state)) {
			session_error(s, "%s", session_bad_sequence(s, c));
		} else if ((c->flags & NEEDS_AUTH) && !s->authed) {
			session_error(s, "530 5.7.0 Authentication required");
		} else {
			c->handler(s, cmd);
		}
		return;
	}
	session_error(s, "500 5.5.1 Error: command not recognized");
}

static void session_bad_line(struct session *s, enum conn_line st)
{
	switch (st) {
	case CONN_LINE_EOF:
		session_close(s, "lost connection");
	case CONN_LINE_ERROR:
		if (errno == ECANCELED) {
			session_stop_if_asked(s);
		}
		if (errno == ETIMEDOUT) {
			int login = s->conn.limit_ms > 0 && clock_now_ms() >= s->conn.limit_ms;

			session_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->conf->hostname);
			session_close(s, login ? "login timeout" : "timeout");
		}
		session_close(s, errno == TLS_PUMP_RENEGOTIATION ? "TLS renegotiation refused" : "connection error");
	case CONN_LINE_TOO_LONG:
		session_error(s, "500 5.5.2 Error: line too long");
		return;
	case CONN_LINE_NUL:
		session_error(s, "500 5.5.2 Error: NUL character in command");
		return;
	default: /* bare CR or LF: the stream cannot be trusted any more (SMTP smuggling) */
		session_reply(s, "521 5.5.2 %s Error: bare <CR> or <LF> received", s->conf->hostname);
		session_close(s, "bare CR or LF in command");
	}
}

/* After a successful AUTH: the login deadline is met; the master may count on this session. */
static void session_note_login(struct session *s)
{
	if (!s->authed || s->told_authed) {
		return;
	}
	s->told_authed = 1;
	s->conn.limit_ms = 0;
	clock_wait_cancel = NULL;
	if (s->status_fd >= 0 && write(s->status_fd, "A", 1) < 0) {
		/* the master let this slot go already: the next wait ends on its SIGTERM */
	}
}

void session_loop(struct session *s)
{
	static struct smtp_cmd cmd;
	char line[CONFIG_MAX_COMMAND_LINE + 1];
	size_t len;

	while (!s->quit) {
		/* PIPELINING: replies go out when no further command is waiting */
		if (conn_buffered(&s->conn) == 0 && conn_flush(&s->conn, (int)s->conf->command_timeout) < 0) {
			session_close(s, "write error");
		}
		session_stop_if_asked(s);
		clock_wait_cancel = &session_term; /* waiting for a command: a stop ends the wait */
		enum conn_line st =
		    conn_read_line(&s->conn, line, CONFIG_MAX_COMMAND_LINE - 1, &len, (int)s->conf->command_timeout);
		clock_wait_cancel = s->authed ? NULL : &session_term; /* before AUTH every wait is cut short */
		if (st != CONN_LINE_OK) {
			session_bad_line(s, st);
			continue;
		}
#if CONFIG_TEST_HOOKS
		if (len > 6 && memcmp(line, "XHOOK ", 6) == 0) {
			char out[256];

			test_hook_channels(s->auth_fd, s->queue_fd);
			test_hook_action(line + 6, out, sizeof(out));
			session_reply(s, "250 %s", out);
			continue;
		}
#endif
		enum smtp_parse_status ps = smtp_parse_line(line, len, &cmd);
		if (ps != SMTP_PARSE_OK) {
			session_parse_failed(s, ps, &cmd);
			continue;
		}
		session_dispatch(s, &cmd);
		session_note_login(s);
	}
}

/* Takes over the connection; until a successful AUTH every wait ends by one deadline and on SIGTERM. */
static void session_begin(struct session *s, int fd, int refuse)
{
	conn_init(&s->conn, fd);
	s->conn.write_timeout = (int)s->conf->command_timeout;
	log_info("%s: connect from [%s]%s", s->id, s->client, s->implicit_tls ? " (implicit TLS)" : "");
	if (!s->local) {
		/* one deadline from here to a successful AUTH, whatever the client says meanwhile */
		uint64_t secs = refuse ? REFUSE_SECONDS : s->conf->login_timeout;

		s->conn.limit_ms = clock_now_ms() + (int64_t)secs * 1000;
		clock_wait_cancel = &session_term;
	}
	s->told_authed = s->local;
}

void session_main(const struct session_start *start)
{
	/*
	 * Zero already: this process was just forked from the master, which never
	 * touches it. Not clearing it again keeps the buffers a session does not
	 * use (most recipient slots, say) out of its private memory.
	 */
	static struct session sess;
	struct session *s = &sess;

	alloc_freeze("session"); /* forked from the frozen master: frozen from birth, its set-up included */
	s->conf = start->conf;
	s->creds = start->creds;
	s->implicit_tls = start->implicit_tls;
	s->auth_fd = start->auth_fd;
	s->queue_fd = start->queue_fd;
	s->status_fd = start->status_fd;
	memcpy(s->id, start->id, sizeof(s->id));
	memcpy(s->client, start->client, sizeof(s->client));
	s->local = start->local;
	s->key_generation = start->key_generation;
	if (s->local) {
		/* the kernel named the peer (SO_PEERCRED): that is its login */
		s->authed = 1;
		s->peer_uid = start->peer_uid;
		memcpy(s->peer_name, start->peer_name, sizeof(s->peer_name));
		memcpy(s->local_sender, start->local_sender, sizeof(s->local_sender));
		if (s->peer_name[0] != '\0') {
			_Static_assert(sizeof(s->peer_name) <= sizeof(s->login.user), "login.user holds a login name");
			memcpy(s->login.user, s->peer_name, sizeof(s->peer_name));
		} else {
			snprintf(s->login.user, sizeof(s->login.user), "uid=%u", (unsigned)s->peer_uid);
		}
	}
	s->state = SESSION_CONNECTED;
	session_begin(s, start->fd, start->refuse);
	if (s->implicit_tls && session_start_tls(s) < 0) {
		session_close(s, "TLS handshake failed");
	}
	if (start->refuse) {
		session_reply(s, "421 4.7.0 Error: too many connections; try again later");
		session_close(s, "refused: too many connections");
	}
	if (!s->authed && conn_input_pending(&s->conn)) {
		/* a client that talks before the greeting is not waiting for replies (RFC 5321 4.3.1) */
		log_warn("%s: [%s] sent data before the greeting", s->id, s->client);
		session_reply(s, "554 5.5.0 Error: SMTP protocol synchronization");
		session_close(s, "talked before the greeting");
	}
	session_reply(s, "220 %s ESMTP subgate", s->conf->hostname);
	session_loop(s);
	session_close(s, NULL);
}
