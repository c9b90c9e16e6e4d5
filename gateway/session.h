/*
 * session.h - one SMTP submission session (one process per connection):
 * TLS server and SMTP server. It holds no user database and no spool
 * access: it asks `auth` to check passwords and streams the message to
 * `queue`, each over the socket the master handed it.
 */
#ifndef SUBGATE_SESSION_H
#define SUBGATE_SESSION_H

#include <bearssl.h>

#include "conf.h"
#include "conn.h"
#include "proto.h"
#include "smtp_parse.h"
#include "tls_server.h"

enum session_state {
	SESSION_CONNECTED = 1u << 0, /* greeting sent; EHLO/HELO expected */
	SESSION_READY = 1u << 1,     /* EHLO/HELO done; no transaction */
	SESSION_MAIL = 1u << 2,      /* MAIL accepted */
	SESSION_RCPT = 1u << 3,      /* at least one RCPT accepted */
};

struct session_start {
	const struct conf *conf;
	const struct tls_creds *creds;
	int fd;
	int implicit_tls;
	int auth_fd;
	int queue_fd;
	int status_fd; /* to the master: 'A' after AUTH, closed when finished (master_int.h) */
	int refuse;    /* over a limit on the implicit-TLS port: TLS handshake, 421, close */
	char client[PROTO_ADDR_STR];
	char id[12];
	int local;                         /* the local submission socket: no TLS, no AUTH */
	uint32_t peer_uid;                 /* its peer */
	char peer_name[CONF_USER_MAX + 1]; /* "" when the uid has no passwd entry */
	char local_sender[ADDR_MAX + 1];   /* the sender the peer may use */
	uint32_t key_generation;           /* which reload `creds` came from: auth signs with that key */
};

struct session {
	const struct conf *conf;
	const struct tls_creds *creds;
	struct conn conn;
	enum session_state state;
	int implicit_tls;
	int local; /* local submission: the peer is a local user, not a network client */
	uint32_t key_generation;
	uint32_t peer_uid;
	char peer_name[CONF_USER_MAX + 1];
	char local_sender[ADDR_MAX + 1];
	int tls;
	int authed;
	int quit;
	int esmtp;     /* EHLO (not HELO) since the last reset: PIPELINING offered */
	unsigned junk; /* commands that moved no mail since the last message (CONFIG_JUNK_COMMAND_LIMIT) */
	int auth_fd;
	int queue_fd;
	int status_fd;   /* see struct session_start; -1 once closed */
	int told_authed; /* the master knows this session logged in */
	unsigned errors;
	char id[12];
	char client[PROTO_ADDR_STR];
	char helo[ADDR_DOMAIN_MAX + 1];
	char tls_info[96];
	struct proto_auth_result login; /* user and allowed senders after AUTH */
	struct proto_q_begin env;       /* envelope being built: sender, user, client, rcpts */
	unsigned counts[SMTP_VERB_COUNT];
};

/* In the new session process, before its filter: SIGTERM lets a message in DATA finish. */
void session_prepare_signals(void);

/* Serves the connection to its end, then exits the process. */
void session_main(const struct session_start *start) __attribute__((noreturn));

/*
 * Reads and answers commands until QUIT (or until the session ends, which
 * exits the process). session_main calls it after the greeting; the unit test
 * (tests/unit/session_test.c) calls it on a session it set up in any state.
 */
void session_loop(struct session *s);

/* Shared by the session_*.c files. */
void session_reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void session_error(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void session_enter_state(struct session *s, enum session_state next);
void session_reset_transaction(struct session *s);
void session_close(struct session *s, const char *why) __attribute__((noreturn));

/* Command handlers (session_verb.c, session_auth.c, session_data.c). */
void session_cmd_ehlo(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_helo(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_starttls(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_mail(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_rcpt(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_rset(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_noop(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_quit(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_help(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_vrfy(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_unsupported(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_auth(struct session *s, const struct smtp_cmd *cmd);
void session_cmd_data(struct session *s, const struct smtp_cmd *cmd);

/* The session's TLS server context (session_verb.c). */
int session_start_tls(struct session *s);

#endif
