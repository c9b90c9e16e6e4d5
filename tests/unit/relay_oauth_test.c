/*
 * relay_oauth_test.c - the relay's OAuth2 login against a scripted
 * smarthost: a child process on the other end of a socket pair answers each
 * line the relay sends with the script's next reply and hands back a
 * transcript of what it received. Covers the initial response on the AUTH
 * line and in a continuation (the 512-octet boundary, a 2.5 KB Microsoft
 * token, the 12288-octet maximum), the failure dance of both mechanisms,
 * 535, 454 and 504, a mechanism not offered, a token too long or unfit
 * (nothing sent), and that neither the token nor its base64 reaches a log
 * line or the link's error (stderr captured around each login).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "config.h"
#include "harness.h"

#if CONFIG_RELAY_OAUTH /* the OAuth2 login is built only then (Makefile) */
#include "log.h"
#include "relay_oauth.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define ROT_HOST    "smtp.example.com"
#define ROT_PORT    587
#define ROT_USER    "u@x"
#define ROT_REPLIES 4
/* Gmail's XOAUTH2 error challenge; RFC 7628 3.2.2's OAUTHBEARER one */
#define ROT_GOOGLE_ERR                                                                                 \
	"334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNv" \
	"bS8ifQ=="
#define ROT_RFC_ERR                                                                                    \
	"334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3Vy" \
	"YXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="

struct rot_case {
	const char *name;
	enum smtp_sasl_mech mech;
	int offered;                      /* the EHLO listed the mechanism */
	size_t token_len;                 /* a token of this many characters */
	const char *replies[ROT_REPLIES]; /* one per line received */
	const char *transcript;           /* what the smarthost received; %R: the base64 response */
	int rc, refused;                  /* relay_oauth_login's result and l->auth_refused */
	const char *error;                /* a part of l->error when rc is -1 */
};

static const struct rot_case rot_cases[] = {
	{ "xoauth2 initial response",
	  SMTP_SASL_XOAUTH2,
	  1,
	  200,
	  { "235 2.7.0 Accepted" },
	  "AUTH XOAUTH2 %R\n",
	  0,
	  0,
	  NULL },
	{ "oauthbearer initial response",
	  SMTP_SASL_OAUTHBEARER,
	  1,
	  200,
	  { "235 2.7.0 Accepted" },
	  "AUTH OAUTHBEARER %R\n",
	  0,
	  0,
	  NULL },
	/* "AUTH XOAUTH2 " + 496 base64 + CRLF = 511 octets; one token byte more makes it 515 */
	{ "largest initial response",
	  SMTP_SASL_XOAUTH2,
	  1,
	  349,
	  { "235 2.7.0 Accepted" },
	  "AUTH XOAUTH2 %R\n",
	  0,
	  0,
	  NULL },
	{ "smallest continuation",
	  SMTP_SASL_XOAUTH2,
	  1,
	  350,
	  { "334 ", "235 2.7.0 Accepted" },
	  "AUTH XOAUTH2\n%R\n",
	  0,
	  0,
	  NULL },
	{ "microsoft-sized token",
	  SMTP_SASL_XOAUTH2,
	  1,
	  2500,
	  { "334 ", "235 2.7.0 Authentication successful" },
	  "AUTH XOAUTH2\n%R\n",
	  0,
	  0,
	  NULL },
	{ "oauthbearer continuation",
	  SMTP_SASL_OAUTHBEARER,
	  1,
	  2500,
	  { "334", "235 2.7.0 ok" },
	  "AUTH OAUTHBEARER\n%R\n",
	  0,
	  0,
	  NULL },
	{ "largest token",
	  SMTP_SASL_XOAUTH2,
	  1,
	  SMTP_SASL_MESSAGE_MAX - 23,
	  { "334 ", "235 2.7.0 ok" },
	  "AUTH XOAUTH2\n%R\n",
	  0,
	  0,
	  NULL },
	{ "token one byte too long",
	  SMTP_SASL_XOAUTH2,
	  1,
	  SMTP_SASL_MESSAGE_MAX - 22,
	  { "235 never" },
	  "",
	  -1,
	  0,
	  "too long for a response line (12288 octets)" },
	{ "xoauth2 failure dance",
	  SMTP_SASL_XOAUTH2,
	  1,
	  200,
	  { ROT_GOOGLE_ERR, "535 5.7.8 Username and Password not accepted." },
	  "AUTH XOAUTH2 %R\n\n",
	  -1,
	  1,
	  "AUTH XOAUTH2 refused: 535 5.7.8 Username and Password not accepted. (token error: status 401, scope "
	  "https://mail.google.com/)" },
	{ "oauthbearer failure dance",
	  SMTP_SASL_OAUTHBEARER,
	  1,
	  200,
	  { ROT_RFC_ERR, "535 5.7.8 Invalid credentials" },
	  "AUTH OAUTHBEARER %R\nAQ==\n",
	  -1,
	  1,
	  "535 5.7.8 Invalid credentials (token error: status invalid_token, scope example_scope)" },
	{ "failure dance after a continuation",
	  SMTP_SASL_XOAUTH2,
	  1,
	  2500,
	  { "334 ", ROT_GOOGLE_ERR, "535 5.7.8 no" },
	  "AUTH XOAUTH2\n%R\n\n",
	  -1,
	  1,
	  "(token error: status 401" },
	{ "unreadable error challenge",
	  SMTP_SASL_XOAUTH2,
	  1,
	  200,
	  { "334 !!", "535 5.7.8 no" },
	  "AUTH XOAUTH2 %R\n\n",
	  -1,
	  1,
	  "535 5.7.8 no (token error: status unknown)" },
	{ "server asking again after the dummy",
	  SMTP_SASL_XOAUTH2,
	  1,
	  200,
	  { ROT_GOOGLE_ERR, "334 ", "501 5.7.0 cancelled" },
	  "AUTH XOAUTH2 %R\n\n*\n",
	  -1,
	  0,
	  "501 5.7.0 cancelled" },
	{ "microsoft 535 at once",
	  SMTP_SASL_XOAUTH2,
	  1,
	  2500,
	  { "334 ", "535 5.7.3 Authentication unsuccessful" },
	  "AUTH XOAUTH2\n%R\n",
	  -1,
	  1,
	  "AUTH XOAUTH2 refused: 535 5.7.3 Authentication unsuccessful" },
	{ "temporary failure",
	  SMTP_SASL_XOAUTH2,
	  1,
	  200,
	  { "454 4.7.0 Temporary authentication failure" },
	  "AUTH XOAUTH2 %R\n",
	  -1,
	  0,
	  "454 4.7.0 Temporary authentication failure" },
	{ "temporary failure before the continuation",
	  SMTP_SASL_OAUTHBEARER,
	  1,
	  2500,
	  { "421 4.3.2 shutting down" },
	  "AUTH OAUTHBEARER\n",
	  -1,
	  0,
	  "AUTH OAUTHBEARER refused: 421 4.3.2 shutting down" },
	{ "mechanism refused",
	  SMTP_SASL_XOAUTH2,
	  1,
	  2500,
	  { "504 5.5.4 Unrecognized authentication type" },
	  "AUTH XOAUTH2\n",
	  -1,
	  0,
	  "504 5.5.4" },
	{ "unfit token",
	  SMTP_SASL_XOAUTH2,
	  1,
	  0,
	  { "235 never" },
	  "",
	  -1,
	  0,
	  "the user name or the access token holds characters SASL cannot carry" },
	{ "not offered",
	  SMTP_SASL_OAUTHBEARER,
	  0,
	  200,
	  { "235 never" },
	  "",
	  -1,
	  0,
	  "smarthost[127.0.0.1]:587 does not offer AUTH OAUTHBEARER" },
	{ "connection lost", SMTP_SASL_XOAUTH2, 1, 200, { NULL }, "AUTH XOAUTH2 %R\n", -1, 0, "connection closed" },
};

static struct conf rot_conf;
static char rot_token[SMTP_SASL_MESSAGE_MAX + 1];
static char rot_b64[SMTP_SASL_LINE_MAX];
static char rot_want[2 * SMTP_SASL_LINE_MAX];
static char rot_got[2 * SMTP_SASL_LINE_MAX];
static char rot_log[8192];

/* The smarthost: each CRLF line received is recorded (with LF) and answered with the next reply. */
static void __attribute__((noreturn)) rot_smarthost(int fd, int out, const char *const *replies)
{
	static char buf[SMTP_SASL_LINE_MAX * 2];
	size_t have = 0, next = 0;
	ssize_t n;

	while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		char *crlf;

		have += (size_t)n;
		while ((crlf = memmem(buf, have, "\r\n", 2)) != NULL) {
			size_t len = (size_t)(crlf - buf);

			*crlf = '\n';
			if (write(out, buf, len + 1) != (ssize_t)(len + 1)) {
				_exit(2);
			}
			if (next < ROT_REPLIES && replies[next] != NULL) {
				const char *r = replies[next++];

				if (write(fd, r, strlen(r)) < 0 || write(fd, "\r\n", 2) < 0) {
					_exit(2);
				}
			} else {
				shutdown(fd, SHUT_WR); /* the script is over: the relay sees EOF */
			}
			memmove(buf, crlf + 2, have - len - 2);
			have -= len + 2;
		}
	}
	_exit(0);
}

/* The token of the case: letters and digits, then "==" (a b64token). */
static void rot_make_token(size_t len)
{
	for (size_t i = 0; i < len; i++) {
		rot_token[i] = "abcdefghijklmnopqrstuvwxyz0123456789-._~+/"[(i * 7 + 3) % 42];
	}
	if (len > 4) {
		rot_token[len - 2] = rot_token[len - 1] = '=';
	}
	rot_token[len] = '\0';
}

/* The expected transcript: %R replaced by the base64 of the case's message. */
static void rot_expect(const struct rot_case *t)
{
	char *msg = rot_got; /* scratch before the run */
	long n = t->mech == SMTP_SASL_XOAUTH2
		     ? smtp_sasl_xoauth2(msg, sizeof(rot_got), ROT_USER, rot_token)
		     : smtp_sasl_oauthbearer(msg, sizeof(rot_got), ROT_USER, ROT_HOST, ROT_PORT, rot_token);
	const char *r = strstr(t->transcript, "%R");

	rot_b64[0] = '\0';
	if (n > 0) {
		base64_encode(msg, (size_t)n, rot_b64, sizeof(rot_b64));
	}
	if (r == NULL) {
		snprintf(rot_want, sizeof(rot_want), "%s", t->transcript);
	} else {
		snprintf(rot_want, sizeof(rot_want), "%.*s%s%s", (int)(r - t->transcript), t->transcript, rot_b64,
			 r + 2);
	}
}

static size_t rot_read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno != EINTR) {
			break;
		}
		len += n > 0 ? (size_t)n : 0;
	}
	buf[len] = '\0';
	return len;
}

/* Runs one case; the log lines written meanwhile go to rot_log. Returns the login's result. */
static int rot_run(const struct rot_case *t, struct relay_link *l)
{
	int sv[2], tp[2], logfd = memfd_create("log", MFD_CLOEXEC), saved = dup(2), rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe(tp) < 0 || logfd < 0 || saved < 0) {
		CHECK(0);
		return -2;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		close(tp[0]);
		rot_smarthost(sv[1], tp[1], t->replies);
	}
	close(sv[1]);
	close(tp[1]);
	memset(l, 0, sizeof(*l));
	conn_init(&l->conn, sv[0]);
	l->conn.write_timeout = 5;
	l->open = 1;
	snprintf(l->peer, sizeof(l->peer), "smarthost[127.0.0.1]:%d", ROT_PORT);
	l->ehlo.auth_xoauth2 = t->offered && t->mech == SMTP_SASL_XOAUTH2;
	l->ehlo.auth_oauthbearer = t->offered && t->mech == SMTP_SASL_OAUTHBEARER;
	dup2(logfd, 2);
	rc = relay_oauth_login(l, &rot_conf, t->mech, ROT_USER, rot_token);
	if (rc < 0) {
		log_warn("relay: %s", l->error); /* as relay_proc.c reports a failed connection */
	}
	dup2(saved, 2);
	close(saved);
	conn_close(&l->conn);
	rot_read_all(tp[0], rot_got, sizeof(rot_got));
	close(tp[0]);
	waitpid(pid, NULL, 0);
	lseek(logfd, 0, SEEK_SET);
	rot_read_all(logfd, rot_log, sizeof(rot_log));
	close(logfd);
	return rc;
}

TEST(relay_oauth_conversations)
{
	static struct relay_link l;

	snprintf(rot_conf.smarthost_host, sizeof(rot_conf.smarthost_host), "%s", ROT_HOST);
	rot_conf.smarthost_port = ROT_PORT;
	rot_conf.relay_timeout = 5;
	for (size_t i = 0; i < NELEM(rot_cases); i++) {
		const struct rot_case *t = &rot_cases[i];
		int rc, ok;

		rot_make_token(t->token_len);
		rot_expect(t);
		rc = rot_run(t, &l);
		ok = rc == t->rc && l.auth_refused == t->refused && strcmp(rot_got, rot_want) == 0 &&
		     (t->error == NULL || strstr(l.error, t->error) != NULL);
		/* the secret, whole or in part, and its base64 are nowhere */
		rot_token[16] = '\0';
		rot_b64[24] = '\0';
		ok = ok &&
		     (rot_token[0] == '\0' ||
		      (strstr(rot_log, rot_token) == NULL && strstr(l.error, rot_token) == NULL)) &&
		     (rot_b64[0] == '\0' || (strstr(rot_log, rot_b64) == NULL && strstr(l.error, rot_b64) == NULL));
		if (!ok) {
			printf("  case \"%s\": rc %d, refused %d, error \"%s\"\n  got  \"%.200s\"\n  want \"%.200s\"\n",
			       t->name, rc, l.auth_refused, l.error, rot_got, rot_want);
			CHECK(0);
		}
	}
}
#endif
