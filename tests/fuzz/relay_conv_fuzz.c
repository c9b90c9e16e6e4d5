/*
 * relay_conv_fuzz.c - libFuzzer target for the relay's side of a whole
 * conversation with a smarthost that the input plays: relay_smtp_open()
 * (greeting, EHLO and its capabilities, AUTH PLAIN or LOGIN; or, when the
 * input's second bit is set, no password but relay_oauth_login() with
 * XOAUTH2 or OAUTHBEARER (third bit) and a short token or a 2.5 KB one
 * (fourth bit) that goes in a continuation, failure dance included), then MAIL,
 * two RCPTs, DATA, the body (relay_smtp_body, with From: masquerading when
 * the input's first byte is odd) and the final reply, then QUIT. The
 * smarthost is a thread of this process on 127.0.0.1 (smarthost_tls = none,
 * as for a loopback smarthost) that sends the input, bytes 1.., as soon as
 * the relay connects, then closes its side and reads what the relay says
 * until the relay hangs up. Besides the sanitizers it checks: every reply
 * the relay accepted has a code 200..599, a failed step leaves a reason in
 * link.error (NUL-terminated, printable), and nothing waits: the relay's
 * timeout is one second and the input is all there is. The relay's log
 * lines go to /dev/null (a crash's input is still saved). Built by
 * tests/fuzz/run.sh.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_oauth.h"
#include "relay_smtp.h"

#define RCF_INPUT_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rcf_listen_fd = -1;
static int rcf_devnull = -1, rcf_stderr = -1;
static uint16_t rcf_port;
static const uint8_t *rcf_script;
static size_t rcf_script_len;

static void rcf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* The smarthost: one connection, the script, then it reads until the relay is done. */
static void *rcf_smarthost(void *arg)
{
	static char sink[4096];
	int fd = accept(rcf_listen_fd, NULL, NULL);

	(void)arg;
	if (fd < 0) {
		return NULL;
	}
	for (size_t off = 0; off < rcf_script_len;) {
		ssize_t n = send(fd, rcf_script + off, rcf_script_len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			break;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (recv(fd, sink, sizeof(sink), 0) > 0) {
	}
	close(fd);
	return NULL;
}

static void rcf_setup(struct conf *c, struct relay_credentials *cred, int *body_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	static const char msg[] = "From: Alice <alice@example.com>\r\nSubject: x\r\n\r\n.dot\r\nbody\r\n";

	rcf_devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	rcf_stderr = dup(2);
	rcf_assert(rcf_devnull >= 0 && rcf_stderr >= 0);
	rcf_listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rcf_assert(rcf_listen_fd >= 0 && bind(rcf_listen_fd, (struct sockaddr *)&sa, len) == 0);
	rcf_assert(listen(rcf_listen_fd, 4) == 0 && getsockname(rcf_listen_fd, (struct sockaddr *)&sa, &len) == 0);
	rcf_port = ntohs(sa.sin_port);
	memset(c, 0, sizeof(*c));
	snprintf(c->smarthost_host, sizeof(c->smarthost_host), "127.0.0.1");
	c->smarthost_port = rcf_port;
	c->smarthost_tls = CONF_SMARTHOST_NONE;
	c->relay_timeout = 1;
	snprintf(c->helo_name, sizeof(c->helo_name), "gw.example.test");
	memset(cred, 0, sizeof(*cred));
	snprintf(cred->user, sizeof(cred->user), "gw@example.net");
	snprintf(cred->password, sizeof(cred->password), "secret");
	cred->set = 1;
	*body_fd = memfd_create("body", MFD_CLOEXEC);
	rcf_assert(*body_fd >= 0 && write(*body_fd, msg, sizeof(msg) - 1) == (ssize_t)(sizeof(msg) - 1));
}

/* The OAuth2 login instead of a password: both mechanisms taken as offered. */
static int rcf_oauth(struct relay_link *l, const struct conf *c, uint8_t mode)
{
	static char token[2501];

	if (token[0] == '\0') {
		memset(token, 'T', sizeof(token) - 1);
	}
	l->ehlo.auth_xoauth2 = l->ehlo.auth_oauthbearer = 1;
	token[mode & 8 ? sizeof(token) - 1 : 100] = '\0';
	int rc = relay_oauth_login(l, c, mode & 4 ? SMTP_SASL_OAUTHBEARER : SMTP_SASL_XOAUTH2, "gw@example.net", token);
	token[mode & 8 ? sizeof(token) - 1 : 100] = 'T';
	return rc;
}

static void rcf_check_error(const struct relay_link *l)
{
	const char *nul = memchr(l->error, '\0', sizeof(l->error));

	rcf_assert(nul != NULL && nul > l->error);
}

/* One transaction over an open link. Returns 0 or -1 (l->error set). */
static int rcf_transaction(struct relay_link *l, const struct conf *c, int body_fd, int masquerade)
{
	static const char *const steps[] = { "MAIL FROM:<alice@example.com>", "RCPT TO:<a@example.org>",
					     "RCPT TO:<b@example.org>", "DATA" };
	struct smtp_reply r;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (relay_smtp_command(l, 0, "%s", steps[i]) < 0 || relay_smtp_reply(l, c, &r) < 0) {
			return -1;
		}
		rcf_assert(r.code >= 200 && r.code <= 599);
	}
	if (relay_smtp_body(l, body_fd, 0, masquerade ? "alice@example.com" : NULL, "gw@example.net") < 0 ||
	    relay_smtp_reply(l, c, &r) < 0) {
		return -1;
	}
	rcf_assert(r.code >= 200 && r.code <= 599);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	static struct relay_credentials cred, nocred;
	static struct relay_link link;
	static struct tls_client_trust trust;
	static int body_fd = -1;
	pthread_t smarthost;

	if (size < 1 || size > RCF_INPUT_MAX) {
		return 0;
	}
	if (rcf_listen_fd < 0) {
		rcf_setup(&c, &cred, &body_fd);
	}
	rcf_script = data + 1;
	rcf_script_len = size - 1;
	rcf_assert(pthread_create(&smarthost, NULL, rcf_smarthost, NULL) == 0);
	dup2(rcf_devnull, 2); /* the relay's log lines */
	if (relay_smtp_open(&link, &c, &trust, data[0] & 2 ? &nocred : &cred) < 0 ||
	    (data[0] & 2 && rcf_oauth(&link, &c, data[0]) < 0) ||
	    rcf_transaction(&link, &c, body_fd, data[0] & 1) < 0) {
		rcf_check_error(&link);
	}
	relay_smtp_close(&link);
	dup2(rcf_stderr, 2);
	rcf_assert(pthread_join(smarthost, NULL) == 0);
	return 0;
}
