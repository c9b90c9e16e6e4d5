/*
 * session_auth.c - SMTP AUTH (RFC 4954) in the session: PLAIN (RFC 4616),
 * LOGIN and SCRAM-SHA-256 (RFC 7677). The session decodes the SASL
 * messages and forwards them to `auth`; it never sees a stored credential.
 * Passwords are wiped as soon as they are sent. Never logged.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "log.h"
#include "secret.h"
#include "session.h"

#define SASL_LINE_MAX 2048

static struct ipc_frame auth_frame;
static char sasl_line[SASL_LINE_MAX + 1];
static unsigned char sasl_raw[SASL_LINE_MAX];

/* Sends a challenge and reads the client's base64 response (decoded into sasl_raw). */
static long session_sasl_read(struct session *s, const char *challenge_b64, int *aborted)
{
	size_t len;
	enum conn_line st;

	*aborted = 0;
	session_reply(s, "334 %s", challenge_b64);
	if (conn_flush(&s->conn, (int)s->conf->command_timeout) < 0) {
		session_close(s, "write error");
	}
	st = conn_read_line(&s->conn, sasl_line, sizeof(sasl_line), &len, (int)s->conf->command_timeout);
	if (st == CONN_LINE_EOF || st == CONN_LINE_ERROR || st == CONN_LINE_BARE_CR || st == CONN_LINE_BARE_LF) {
		session_close(s, "lost connection during AUTH");
	}
	if (st == CONN_LINE_OK && strcmp(sasl_line, "*") == 0) {
		*aborted = 1;
		return -1;
	}
	long n = st == CONN_LINE_OK ? base64_decode(sasl_line, len, sasl_raw, sizeof(sasl_raw) - 1) : -1;
	secret_wipe(sasl_line, sizeof(sasl_line));
	return n;
}

/* The client cancelled ("*") or sent something that is not base64. */
static void session_sasl_bad(struct session *s, int aborted)
{
	session_error(s, aborted ? "501 5.7.0 Authentication aborted" : "501 5.5.2 Cannot decode response");
}

/* Decodes an initial response ("=" means empty). */
static long session_sasl_initial(const char *initial)
{
	if (strcmp(initial, "=") == 0) {
		return 0;
	}
	return base64_decode(initial, strlen(initial), sasl_raw, sizeof(sasl_raw) - 1);
}

static const struct proto_row session_auth_rows[] = {
	{ .type = PROTO_AUTH_RESULT,
	  PROTO_SIZE(struct proto_auth_result),
	  .strings = { PROTO_STR(struct proto_auth_result, user), PROTO_STR(struct proto_auth_result, server_message),
		       PROTO_STRS(struct proto_auth_result, senders) } },
};

const struct proto_table session_auth_replies = PROTO_TABLE("auth reply to session", NULL, session_auth_rows);

static const struct proto_auth_result *session_auth_call(struct session *s, uint32_t type, const void *req, size_t len)
{
	int rc = ipc_send(s->auth_fd, type, req, len, -1);

	if (rc == 0) {
		rc = proto_recv(s->auth_fd, &session_auth_replies, s->id, &auth_frame, NULL);
	}
	if (rc != 1) {
		log_err("%s: auth process unavailable: %s", s->id, rc == 0 ? "closed" : strerror(errno));
		secret_wipe(&auth_frame, sizeof(auth_frame)); /* whatever arrived */
		return NULL;
	}
	struct proto_auth_result *r = (struct proto_auth_result *)auth_frame.payload;
	if (r->nsenders > CONFIG_USER_MAX_SENDERS) {
		r->nsenders = CONFIG_USER_MAX_SENDERS;
	}
	return r;
}

static void session_auth_delay(void)
{
	poll(NULL, 0, CONFIG_AUTH_FAIL_DELAY_MS);
}

/* Turns a final verdict into the reply (and the session's login on success). */
static void session_auth_verdict(struct session *s, const struct proto_auth_result *r, const char *mech)
{
	if (r == NULL || r->status == PROTO_AUTH_TEMPFAIL) {
		session_error(s, "454 4.7.0 Temporary authentication failure");
	} else if (r->status == PROTO_AUTH_OK) {
		s->login = *r;
		s->authed = 1;
		log_info("%s: client=[%s], sasl_method=%s, sasl_username=%s", s->id, s->client, mech, r->user);
		session_reply(s, "235 2.7.0 Authentication successful");
	} else if (r->status == PROTO_AUTH_THROTTLED) {
		log_warn("%s: client=[%s]: too many failed logins, disconnecting", s->id, s->client);
		session_reply(s, "421 4.7.0 %s Error: too many failed logins; try again later", s->conf->hostname);
		session_close(s, "too many failed logins");
	} else if (r->status == PROTO_AUTH_MALFORMED) {
		session_error(s, "501 5.5.2 Error: malformed authentication message");
	} else {
		session_auth_delay();
		session_error(s, "535 5.7.8 Error: authentication failed");
	}
	/* a valid frame is exactly a header and a result: wiping only that leaves the rest of the
	   16 KiB buffer untouched, i.e. not in this session's private memory */
	secret_wipe(&auth_frame, offsetof(struct ipc_frame, payload) + sizeof(struct proto_auth_result));
}

/* Checks user/password with `auth` (PLAIN and LOGIN). Wipes them. */
static void session_auth_password(struct session *s, const char *user, size_t ulen, const char *pw, size_t plen,
				  const char *mech)
{
	static struct proto_auth_plain req;

	memset(&req, 0, sizeof(req));
	if (ulen == 0 || ulen >= sizeof(req.user) || plen >= sizeof(req.password) || memchr(user, '\0', ulen) ||
	    memchr(pw, '\0', plen)) {
		session_auth_delay();
		session_error(s, "535 5.7.8 Error: authentication failed");
		return;
	}
	snprintf(req.mech, sizeof(req.mech), "%s", mech);
	memcpy(req.user, user, ulen);
	memcpy(req.password, pw, plen);
	session_auth_verdict(s, session_auth_call(s, PROTO_AUTH_PLAIN, &req, sizeof(req)), mech);
	secret_wipe(&req, sizeof(req));
}

static void session_auth_plain(struct session *s, const struct smtp_cmd *cmd)
{
	int aborted = 0;
	long n = cmd->auth_initial[0] ? session_sasl_initial(cmd->auth_initial) : session_sasl_read(s, "", &aborted);

	if (n < 0) {
		session_sasl_bad(s, aborted);
		return;
	}
	/* authzid NUL authcid NUL passwd; an authzid other than the user is not supported */
	const char *p = (const char *)sasl_raw, *end = p + n;
	const char *nul1 = memchr(p, '\0', (size_t)n);
	const char *nul2 = nul1 ? memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1)) : NULL;
	if (nul2 == NULL) {
		secret_wipe(sasl_raw, sizeof(sasl_raw));
		session_error(s, "501 5.5.2 Error: malformed PLAIN response");
		return;
	}
	size_t zlen = (size_t)(nul1 - p), ulen = (size_t)(nul2 - nul1 - 1);
	if (zlen != 0 && (zlen != ulen || memcmp(p, nul1 + 1, ulen) != 0)) {
		ulen = 0; /* fails below, after the usual delay */
	}
	session_auth_password(s, nul1 + 1, ulen, nul2 + 1, (size_t)(end - nul2 - 1), "PLAIN");
	secret_wipe(sasl_raw, sizeof(sasl_raw));
}

static void session_auth_login(struct session *s, const struct smtp_cmd *cmd)
{
	static char user[CONFIG_USERNAME_MAX + 2];
	int aborted = 0;
	long n = cmd->auth_initial[0] ? session_sasl_initial(cmd->auth_initial)
				      : session_sasl_read(s, "VXNlcm5hbWU6", &aborted); /* "Username:" */

	if (n < 0 || (size_t)n >= sizeof(user)) {
		session_sasl_bad(s, aborted);
		return;
	}
	memcpy(user, sasl_raw, (size_t)n);
	size_t ulen = (size_t)n;
	n = session_sasl_read(s, "UGFzc3dvcmQ6", &aborted); /* "Password:" */
	if (n < 0) {
		session_sasl_bad(s, aborted);
	} else {
		session_auth_password(s, user, ulen, (const char *)sasl_raw, (size_t)n, "LOGIN");
	}
	secret_wipe(sasl_raw, sizeof(sasl_raw));
	secret_wipe(user, sizeof(user));
}

/*
 * One SCRAM step: sends msg (len bytes, not NUL-terminated) to `auth`. A
 * message with a NUL (RFC 5802 allows none) or too long for the frame is the
 * client's error: the answer is "malformed" (501), not "auth unavailable" (454).
 */
static const struct proto_auth_result *session_scram_call(struct session *s, uint32_t type, const void *msg, size_t len)
{
	static struct proto_auth_result
	    malformed; /* .bss: a const initialiser would put 4.6 KB of zeros in the binary */
	static struct proto_auth_scram req;

	if (len >= sizeof(req.message) || memchr(msg, '\0', len) != NULL) {
		malformed.status = PROTO_AUTH_MALFORMED;
		return &malformed;
	}
	memset(&req, 0, sizeof(req));
	memcpy(req.message, msg, len);
	return session_auth_call(s, type, &req, sizeof(req));
}

/* Sends a server message as a 334 challenge and reads the decoded answer. */
static long session_scram_challenge(struct session *s, const char *server_msg, int *aborted)
{
	char b64[BASE64_ENCODED_SIZE(SCRAM_MSG_MAX)];

	base64_encode(server_msg, strlen(server_msg), b64, sizeof(b64));
	return session_sasl_read(s, b64, aborted);
}

/* A SCRAM step that did not continue: the client's fault (n <= 0) or the verdict of `auth`. */
static void session_scram_stop(struct session *s, long n, int aborted, const struct proto_auth_result *r)
{
	if (n <= 0) {
		session_sasl_bad(s, aborted);
	} else {
		session_auth_verdict(s, r, "SCRAM-SHA-256");
	}
}

static void session_auth_scram(struct session *s, const struct smtp_cmd *cmd)
{
	static struct proto_auth_result ok;
	int aborted = 0;
	long n = cmd->auth_initial[0] ? session_sasl_initial(cmd->auth_initial) : session_sasl_read(s, "", &aborted);
	const struct proto_auth_result *r =
	    n > 0 ? session_scram_call(s, PROTO_AUTH_SCRAM_FIRST, sasl_raw, (size_t)n) : NULL;

	if (n <= 0 || r == NULL || r->status != PROTO_AUTH_CONTINUE) {
		session_scram_stop(s, n, aborted, r);
		return;
	}
	n = session_scram_challenge(s, r->server_message, &aborted);
	r = n > 0 ? session_scram_call(s, PROTO_AUTH_SCRAM_FINAL, sasl_raw, (size_t)n) : NULL;
	if (n <= 0 || r == NULL || r->status != PROTO_AUTH_OK) {
		session_scram_stop(s, n, aborted, r);
		return;
	}
	ok = *r;
	/* RFC 4954: server-final goes as a challenge; the client answers with an empty line */
	n = session_scram_challenge(s, ok.server_message, &aborted);
	if (n != 0) {
		session_error(s, aborted ? "501 5.7.0 Authentication aborted" : "501 5.5.2 Unexpected response");
	} else {
		session_auth_verdict(s, &ok, "SCRAM-SHA-256");
	}
	secret_wipe(&ok, sizeof(ok));
}

void session_cmd_auth(struct session *s, const struct smtp_cmd *cmd)
{
	if (s->authed) {
		session_error(s, "503 5.5.1 Error: already authenticated");
	} else if (strcmp(cmd->auth_mech, "PLAIN") == 0) {
		session_auth_plain(s, cmd);
	} else if (CONFIG_AUTH_LOGIN && strcmp(cmd->auth_mech, "LOGIN") == 0) {
		session_auth_login(s, cmd);
	} else if (CONFIG_AUTH_SCRAM_SHA256 && strcmp(cmd->auth_mech, "SCRAM-SHA-256") == 0) {
		session_auth_scram(s, cmd);
	} else {
		session_error(s, "504 5.5.4 Unrecognized authentication type");
	}
}
