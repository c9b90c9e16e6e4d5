/*
 * session_verb.c - the session's command handlers except AUTH and DATA:
 * greeting commands, STARTTLS, the envelope (MAIL, RCPT with aliases) and
 * the small ones. Runs in the session process.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "local_users.h"
#include "log.h"
#include "session.h"
#include "tls_engine.h"
#include "userdb_record.h"

static unsigned char session_tls_buf[CONFIG_TLS_INBUF_SIZE + CONFIG_TLS_OUTBUF_SIZE];
static br_ssl_server_context session_tls;
static struct tls_server_policy session_tls_policy;
static struct ipc_frame session_sign_frame;

static const struct proto_row session_sign_rows[] = {
	{ .type = PROTO_TLS_SIGNATURE, PROTO_SIZE(struct proto_tls_signature) },
};

const struct proto_table session_sign_reply = PROTO_TABLE("auth signature for session", NULL, session_sign_rows);

/* The handshake signature comes from `auth`, which alone holds the private key. */
static size_t session_sign(void *ctx, unsigned algo_id, const unsigned char *hv, size_t hv_len, unsigned char *sig,
			   size_t sig_cap)
{
	struct session *s = ctx;
	struct proto_tls_sign req = { .key_generation = s->key_generation,
				      .algo_id = algo_id,
				      .hv_len = (uint32_t)hv_len };
	const struct proto_tls_signature *r = (const struct proto_tls_signature *)session_sign_frame.payload;

	if (hv_len > sizeof(req.hv)) {
		return 0;
	}
	memcpy(req.hv, hv, hv_len);
	if (ipc_send(s->auth_fd, PROTO_TLS_SIGN, &req, sizeof(req), -1) < 0 ||
	    proto_recv(s->auth_fd, &session_sign_reply, s->id, &session_sign_frame, NULL) != 1) {
		log_err("%s: auth process unavailable for the TLS handshake: %s", s->id, strerror(errno));
		return 0;
	}
	if (r->len == 0 || r->len > sizeof(r->sig) || r->len > sig_cap) {
		return 0;
	}
	memcpy(sig, r->sig, r->len);
	return r->len;
}

int session_start_tls(struct session *s)
{
	br_ssl_engine_context *eng = &session_tls.eng;

	session_tls_policy = (struct tls_server_policy){ .creds = s->creds, .sign = session_sign, .sign_ctx = s };
	if (tls_server_setup(&session_tls, &session_tls_policy, session_tls_buf, CONFIG_TLS_INBUF_SIZE,
			     CONFIG_TLS_OUTBUF_SIZE) < 0 ||
	    conn_start_tls(&s->conn, eng, (int)s->conf->command_timeout) < 0) {
		int timed_out = errno == ETIMEDOUT;
		char why[64];

		log_warn("%s: TLS handshake with [%s] failed: %s", s->id, s->client,
			 timed_out ? "timeout"
				   : tls_engine_error(br_ssl_engine_last_error(eng), "client", why, sizeof(why)));
		return -1;
	}
	s->tls = 1;
	snprintf(s->tls_info, sizeof(s->tls_info), "%s with cipher %s",
		 tls_version_name(br_ssl_engine_get_version(eng)), tls_suite_name(eng->session.cipher_suite));
	log_info("%s: TLS established with [%s]: %s", s->id, s->client, s->tls_info);
	return 0;
}

static void session_set_helo(struct session *s, const char *arg)
{
	snprintf(s->helo, sizeof(s->helo), "%s", arg);
	session_reset_transaction(s);
	session_enter_state(s, SESSION_READY);
}

void session_cmd_ehlo(struct session *s, const struct smtp_cmd *cmd)
{
	session_set_helo(s, cmd->arg);
	s->esmtp = 1;
	session_reply(s, "250-%s", s->conf->hostname);
	session_reply(s, "250-PIPELINING");
	session_reply(s, "250-SIZE %llu", (unsigned long long)s->conf->max_message_size);
	if (s->local) {
		/* the local socket: neither TLS nor AUTH; the kernel names the peer */
	} else if (!s->tls) {
		session_reply(s, "250-STARTTLS");
	} else {
		session_reply(s, "250-AUTH PLAIN%s%s", CONFIG_AUTH_LOGIN ? " LOGIN" : "",
			      CONFIG_AUTH_SCRAM_SHA256 ? " SCRAM-SHA-256" : "");
	}
	session_reply(s, "250-ENHANCEDSTATUSCODES");
	session_reply(s, "250 8BITMIME");
}

void session_cmd_helo(struct session *s, const struct smtp_cmd *cmd)
{
	session_set_helo(s, cmd->arg);
	s->esmtp = 0;
	session_reply(s, "250 %s", s->conf->hostname);
}

void session_cmd_starttls(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	if (s->local) {
		session_error(s, "502 5.5.1 Error: STARTTLS is not offered on the local socket");
		return;
	}
	if (s->tls) {
		session_error(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (conn_buffered(&s->conn) > 0) {
		/* bytes pipelined after STARTTLS would be read as if they came over TLS (CVE-2011-0411) */
		session_close(s, "commands pipelined after STARTTLS");
	}
	session_reply(s, "220 2.0.0 Ready to start TLS");
	if (conn_flush(&s->conn, (int)s->conf->command_timeout) < 0 || session_start_tls(s) < 0) {
		session_close(s, "TLS handshake failed");
	}
	/* RFC 3207 4.2: forget everything learned before TLS; the client must EHLO again */
	s->helo[0] = '\0';
	s->esmtp = 0;
	session_reset_transaction(s);
	session_enter_state(s, SESSION_CONNECTED);
}

/* Asks the queue whether a message of this size would fit. Returns 0 or an errno. */
static int session_queue_check(struct session *s, uint64_t size)
{
	static struct ipc_frame f;
	struct proto_q_check q = { .size = size };

	if (ipc_send(s->queue_fd, PROTO_Q_CHECK, &q, sizeof(q), -1) < 0 ||
	    proto_recv(s->queue_fd, &session_queue_replies, s->id, &f, NULL) != 1) {
		return EIO;
	}
	return ((const struct proto_q_reply *)f.payload)->error;
}

static int session_sender_allowed(const struct session *s, const char *addr)
{
	for (uint32_t i = 0; i < s->login.nsenders && i < CONFIG_USER_MAX_SENDERS; i++) {
		if (addr_matches_spec(addr, s->login.senders[i])) {
			return 1;
		}
	}
	return 0;
}

/*
 * The local socket: root may use any sender (also <>); another user its own
 * login name or its allowed address, which becomes the sender. Returns the
 * envelope sender, or NULL after replying.
 */
static const char *session_local_sender(struct session *s, const char *path)
{
	if (s->peer_uid == 0) {
		return path;
	}
	if (s->peer_name[0] == '\0') {
		log_warn("%s: reject: MAIL from %s: uid %u has no entry in /etc/passwd", s->id, s->client,
			 (unsigned)s->peer_uid);
		session_error(s, "553 5.7.1 <%s>: Sender address rejected: uid %u is not a known local user", path,
			      (unsigned)s->peer_uid);
		return NULL;
	}
	if (strcmp(path, s->peer_name) == 0 || strcasecmp(path, s->local_sender) == 0) {
		return s->local_sender;
	}
	log_warn("%s: reject: MAIL from %s: <%s> not allowed for local user %s", s->id, s->client, path, s->peer_name);
	session_error(s, "553 5.7.1 <%s>: Sender address rejected: not allowed for local user %s (uid %u); use <%s>",
		      path, s->peer_name, (unsigned)s->peer_uid, s->local_sender);
	return NULL;
}

/* The envelope sender of a network or local MAIL command, or NULL after replying. */
static const char *session_mail_sender(struct session *s, const char *path)
{
	if (s->local) {
		return session_local_sender(s, path);
	}
	if (path[0] == '\0' || !session_sender_allowed(s, path)) {
		log_warn("%s: reject: MAIL from [%s]: <%s> not owned by user %s", s->id, s->client, path,
			 s->login.user);
		session_error(s, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s", path, s->login.user);
		return NULL;
	}
	return path;
}

void session_cmd_mail(struct session *s, const struct smtp_cmd *cmd)
{
	const char *sender = session_mail_sender(s, cmd->path);
	int err;

	if (sender == NULL) {
		return;
	}
	if (strchr(sender, '@') == NULL && sender[0] != '\0') {
		/* root gave a bare name: qualify it as the user's own would be */
		static char qualified[ADDR_MAX + 1];

		if (local_users_sender(s->conf, sender, qualified, sizeof(qualified)) < 0) {
			session_error(s, "501 5.1.7 <%s>: Bad sender address syntax", sender);
			return;
		}
		sender = qualified;
	}
	if (cmd->has_size && cmd->size > s->conf->max_message_size) {
		session_error(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	err = session_queue_check(s, cmd->has_size ? cmd->size : 0);
	if (err != 0) {
		log_warn("%s: reject: MAIL from [%s]: spool: %s", s->id, s->client, strerror(err));
		session_error(s, err == ENOSPC || err == EDQUOT ? "452 4.3.1 Insufficient system storage"
								: "451 4.3.0 Error: queue unavailable");
		return;
	}
	envelope_start(&s->env, sender, s->login.user, s->client);
	session_enter_state(s, SESSION_MAIL);
	if (s->local) {
		session_reply(s, "250 2.1.0 <%s>: Sender ok", sender);
	} else {
		session_reply(s, "250 2.1.0 Ok");
	}
}

/* Adds one recipient address; 0, or -1 when the envelope is full (reply sent). */
static int session_add_rcpt(struct session *s, const char *addr)
{
	if (envelope_add_rcpt(&s->env, addr) < 0) {
		session_error(s, "452 4.5.3 Error: too many recipients");
		return -1;
	}
	return 0;
}

/* A bare local name (root, postmaster): the targets of its alias line. */
static const struct conf_alias *session_find_alias(const struct session *s, const char *name)
{
	for (unsigned i = 0; i < s->conf->nalias; i++) {
		if (strcasecmp(s->conf->alias[i].name, name) == 0) {
			return &s->conf->alias[i];
		}
	}
	return NULL;
}

static void session_rcpt_alias(struct session *s, const char *name)
{
	const struct conf_alias *a = session_find_alias(s, name);
	char target[ADDR_MAX + 1];
	uint32_t rcpts_len = s->env.rcpts_len, nrcpt = s->env.nrcpt;

	if (a == NULL) {
		session_error(s, "550 5.1.1 <%s>: Recipient address rejected: local name without an alias", name);
		return;
	}
	for (const char *p = a->targets; *p != '\0';) {
		size_t len = strcspn(p, ",");

		snprintf(target, sizeof(target), "%.*s", (int)len, p);
		if (session_add_rcpt(s, target) < 0) {
			/* all of the alias or none: a retry must not add its first targets twice */
			s->env.rcpts_len = rcpts_len;
			s->env.nrcpt = nrcpt;
			return;
		}
		p += len;
		p += strspn(p, ", ");
	}
	session_enter_state(s, SESSION_RCPT);
	session_reply(s, "250 2.1.5 Ok");
}

void session_cmd_rcpt(struct session *s, const struct smtp_cmd *cmd)
{
	if (strchr(cmd->path, '@') == NULL) {
		session_rcpt_alias(s, cmd->path);
		return;
	}
	if (session_add_rcpt(s, cmd->path) == 0) {
		session_enter_state(s, SESSION_RCPT);
		session_reply(s, "250 2.1.5 Ok");
	}
}

void session_cmd_rset(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reset_transaction(s);
	session_reply(s, "250 2.0.0 Ok");
}

void session_cmd_noop(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, "250 2.0.0 Ok");
}

void session_cmd_quit(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, "221 2.0.0 Bye");
	s->quit = 1;
}

void session_cmd_help(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, "214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
}

void session_cmd_vrfy(struct session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery");
}

void session_cmd_unsupported(struct session *s, const struct smtp_cmd *cmd)
{
	session_error(s, "502 5.5.1 %s not supported", smtp_verb_name(cmd->verb));
}
