/*
 * relay_smtp.c - talks to the smarthost (relay process).
 */
#include "relay_smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "base64.h"
#include "clock.h"
#include "listener.h"
#include "log.h"
#include "secret.h"
#include "tls_pem.h"
#include "tls_pump.h"
#include "tls_server.h"

static unsigned char relay_tls_buf[CONFIG_TLS_INBUF_SIZE + BR_SSL_BUFSIZE_OUTPUT];
static struct tls_client relay_tls;

int relay_smtp_load_credentials(const char *path, struct relay_credentials *cred)
{
	char text[1025];
	ssize_t len = tls_pem_read_file(path, text, sizeof(text));
	char *colon, *nl;

	memset(cred, 0, sizeof(*cred));
	if (len < 0) {
		log_err("relay: cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	nl = strchr(text, '\n');
	if (nl != NULL) {
		*nl = '\0';
	}
	colon = strchr(text, ':');
	if (colon == NULL || colon == text || colon[1] == '\0' || (size_t)(colon - text) >= sizeof(cred->user) ||
	    strlen(colon + 1) >= sizeof(cred->password)) {
		log_err("relay: %s: expected one line user:password", path);
		secret_wipe(text, sizeof(text));
		return -1;
	}
	memcpy(cred->user, text, (size_t)(colon - text));
	memcpy(cred->password, colon + 1, strlen(colon + 1));
	cred->set = 1;
	secret_wipe(text, sizeof(text));
	return 0;
}

int relay_smtp_fail(struct relay_link *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->error, sizeof(l->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* A write that did not go through: a stalled peer (timeout) or a broken connection. */
static int relay_write_failed(struct relay_link *l)
{
	if (errno == ETIMEDOUT) {
		return relay_smtp_fail(l, "timeout writing to %s", l->peer);
	}
	return relay_smtp_fail(l, "write to %s failed: %s", l->peer, strerror(errno));
}

int relay_smtp_addr_loopback(const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *b = in6->sin6_addr.s6_addr;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		       (memcmp(b, mapped, sizeof(mapped)) == 0 && b[12] == 127);
	}
	return 0;
}

/* A non-blocking connect within the deadline. Returns the socket or -1. */
static int relay_connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0) {
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    (errno != EINPROGRESS || clock_wait_fd(fd, POLLOUT, deadline) <= 0 ||
	     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)) {
		int saved = err ? err : errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int relay_connect(struct relay_link *l, const struct conf *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[8], addr[48], skipped[48] = "";
	int rc, fd = -1, tried = 0, plain = c->smarthost_tls == CONF_SMARTHOST_NONE;

	snprintf(port, sizeof(port), "%u", (unsigned)c->smarthost_port);
	/*
	 * The one allocation after start-up, and only in the relay: musl's getaddrinfo
	 * allocates its answer, freed below (the trap build allows exactly these two calls).
	 */
	alloc_exempt_begin("getaddrinfo");
	rc = getaddrinfo(c->smarthost_host, port, &hints, &res);
	alloc_exempt_end();
	if (rc != 0) {
		return relay_smtp_fail(l, "cannot resolve %s: %s", c->smarthost_host, gai_strerror(rc));
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		const struct sockaddr_storage *ss = (const struct sockaddr_storage *)(const void *)ai->ai_addr;

		if (plain && !relay_smtp_addr_loopback(ai->ai_addr)) {
			if (skipped[0] == '\0') {
				listener_peer_name(ss, skipped, sizeof(skipped));
			}
			continue;
		}
		tried++;
		fd = relay_connect_one(ai, clock_now_ms() + (int64_t)c->relay_timeout * 1000);
		if (fd >= 0) {
			listener_peer_name(ss, addr, sizeof(addr));
		}
	}
	alloc_exempt_begin("freeaddrinfo");
	freeaddrinfo(res);
	alloc_exempt_end();
	if (fd < 0 && tried == 0 && skipped[0] != '\0') {
		return relay_smtp_fail(
		    l, "smarthost_tls = none, but %s is %s, not a loopback address: no plaintext connection",
		    c->smarthost_host, skipped);
	}
	if (fd < 0) {
		return relay_smtp_fail(l, "connect to %s port %s: %s", c->smarthost_host, port, strerror(errno));
	}
	snprintf(l->peer, sizeof(l->peer), "%s[%s]:%u", c->smarthost_host, addr, (unsigned)c->smarthost_port);
	conn_init(&l->conn, fd);
	l->conn.write_timeout = (int)c->relay_timeout;
	return 0;
}

static int relay_start_tls(struct relay_link *l, const struct conf *c, const struct tls_client_trust *trust)
{
	br_ssl_engine_context *eng = &relay_tls.cc.eng;

	if (tls_client_setup(&relay_tls, trust, c->smarthost_host, relay_tls_buf, CONFIG_TLS_INBUF_SIZE,
			     BR_SSL_BUFSIZE_OUTPUT) < 0) {
		return relay_smtp_fail(l, "TLS set-up failed");
	}
	if (relay_tls.clock_floored) {
		log_warn("relay: the system clock is before this build's date: certificates are judged at the build "
			 "date (no RTC?)");
	}
	if (conn_start_tls(&l->conn, eng, (int)c->relay_timeout) < 0) {
		int err = br_ssl_engine_last_error(eng);

		return relay_smtp_fail(l, "TLS handshake with %s failed: %s", l->peer,
				       errno == ETIMEDOUT ? "timeout" : tls_client_error(&relay_tls, err));
	}
	l->tls = 1;
	snprintf(l->tls_info, sizeof(l->tls_info), "%s/%s", tls_version_name(br_ssl_engine_get_version(eng)),
		 tls_suite_name(eng->session.cipher_suite));
	return 0;
}

/* Why no reply line came: errno only says something after CONN_LINE_ERROR. */
static const char *relay_line_error(enum conn_line cl)
{
	if (cl == CONN_LINE_EOF) {
		return "connection closed";
	}
	if (cl == CONN_LINE_ERROR && errno == ETIMEDOUT) {
		return "timeout waiting for a reply";
	}
	if (cl == CONN_LINE_ERROR && errno == EMSGSIZE) {
		return "reply line too long";
	}
	if (cl == CONN_LINE_ERROR && errno == TLS_PUMP_RENEGOTIATION) {
		return "refused TLS renegotiation request";
	}
	return "bad reply line";
}

int relay_smtp_reply(struct relay_link *l, const struct conf *c, struct smtp_reply *r)
{
	char line[1024];
	size_t len;
	enum smtp_reply_status st = SMTP_REPLY_MORE;

	smtp_reply_init(r);
	while (st == SMTP_REPLY_MORE) {
		enum conn_line cl = conn_read_line(&l->conn, line, sizeof(line), &len, (int)c->relay_timeout);

		if (cl != CONN_LINE_OK && cl != CONN_LINE_TOO_LONG) {
			return relay_smtp_fail(l, "%s from %s", relay_line_error(cl), l->peer);
		}
		if (l->ehlo_capture) {
			smtp_ehlo_line(&l->ehlo, line, len);
		}
		st = smtp_reply_line(r, line, len);
	}
	return st == SMTP_REPLY_DONE ? 0 : relay_smtp_fail(l, "malformed reply from %s", l->peer);
}

int relay_smtp_command(struct relay_link *l, int more, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = smtp_command_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return relay_smtp_fail(l, "command too long");
	}
	if (conn_write(&l->conn, line, (size_t)n) < 0 || (!more && conn_flush(&l->conn, l->conn.write_timeout) < 0)) {
		return relay_write_failed(l);
	}
	return 0;
}

int relay_smtp_line(struct relay_link *l, const char *text, size_t len)
{
	if (conn_write(&l->conn, text, len) < 0 || conn_write(&l->conn, "\r\n", 2) < 0 ||
	    conn_flush(&l->conn, l->conn.write_timeout) < 0) {
		return relay_write_failed(l);
	}
	return 0;
}

/*
 * Sends cmd (unless NULL) and expects a reply of class `want` (2 or 3). Returns 0 or -1.
 * For a password login (`auth`), a refusal that says the server takes no passwords at
 * all (Microsoft's basic authentication switch-off) pauses the queue like a 535.
 */
static int relay_expect_auth(struct relay_link *l, const struct conf *c, int want, const char *what, const char *cmd,
			     int auth)
{
	struct smtp_reply r;

	if ((cmd != NULL && relay_smtp_command(l, 0, "%s", cmd) < 0) || relay_smtp_reply(l, c, &r) < 0) {
		return -1;
	}
	if (SMTP_REPLY_CLASS(r.code) != want) {
		l->basic_auth_disabled = auth && smtp_reply_basic_auth_disabled(&r);
		l->auth_refused = r.code == 535 || l->basic_auth_disabled;
		return relay_smtp_fail(l, "%s: %d %s%s%s", what, r.code, r.enhanced, r.enhanced[0] ? " " : "", r.text);
	}
	return 0;
}

static int relay_expect(struct relay_link *l, const struct conf *c, int want, const char *what, const char *cmd)
{
	return relay_expect_auth(l, c, want, what, cmd, 0);
}

static int relay_ehlo(struct relay_link *l, const struct conf *c)
{
	int rc;

	char cmd[ADDR_DOMAIN_MAX + 8];

	snprintf(cmd, sizeof(cmd), "EHLO %s", c->helo_name);
	smtp_ehlo_init(&l->ehlo);
	l->ehlo_capture = 1;
	rc = relay_expect(l, c, 2, "EHLO refused", cmd);
	l->ehlo_capture = 0;
	return rc;
}

static int relay_auth(struct relay_link *l, const struct conf *c, const struct relay_credentials *cred)
{
	char plain[600], cmd[16 + BASE64_ENCODED_SIZE(600)];
	size_t ulen = strlen(cred->user), plen = strlen(cred->password);
	int rc;

	if (l->ehlo.auth_plain) {
		plain[0] = '\0';
		memcpy(plain + 1, cred->user, ulen + 1); /* authzid "" NUL authcid NUL password */
		memcpy(plain + ulen + 2, cred->password, plen);
		int n = snprintf(cmd, sizeof(cmd), "AUTH PLAIN ");

		base64_encode(plain, ulen + plen + 2, cmd + n, sizeof(cmd) - (size_t)n);
		rc = relay_expect_auth(l, c, 2, "AUTH PLAIN refused", cmd, 1);
	} else if (l->ehlo.auth_login) {
		int n = snprintf(cmd, sizeof(cmd), "AUTH LOGIN ");

		base64_encode(cred->user, ulen, cmd + n, sizeof(cmd) - (size_t)n);
		rc = relay_expect_auth(l, c, 3, "AUTH LOGIN refused", cmd, 1);
		base64_encode(cred->password, plen, cmd, sizeof(cmd));
		rc = rc < 0 ? rc : relay_expect_auth(l, c, 2, "AUTH LOGIN refused", cmd, 1);
	} else {
		rc = relay_smtp_fail(l, "%s offers neither AUTH PLAIN nor AUTH LOGIN", l->peer);
	}
	secret_wipe(plain, sizeof(plain));
	secret_wipe(cmd, sizeof(cmd));
	return rc;
}

int relay_smtp_open(struct relay_link *l, const struct conf *c, const struct tls_client_trust *trust,
		    const struct relay_credentials *cred)
{
	memset(l, 0, sizeof(*l));
	if (relay_connect(l, c) < 0) {
		return -1;
	}
	l->open = 1;
	if ((c->smarthost_tls == CONF_SMARTHOST_TLS && relay_start_tls(l, c, trust) < 0) ||
	    relay_expect(l, c, 2, "greeting", NULL) < 0 || relay_ehlo(l, c) < 0) {
		return -1;
	}
	if (c->smarthost_tls == CONF_SMARTHOST_STARTTLS) {
		if (!l->ehlo.starttls) {
			return relay_smtp_fail(l, "%s does not offer STARTTLS", l->peer);
		}
		if (relay_expect(l, c, 2, "STARTTLS refused", "STARTTLS") < 0 || relay_start_tls(l, c, trust) < 0 ||
		    relay_ehlo(l, c) < 0) {
			return -1;
		}
	}
	if (cred->set && relay_auth(l, c, cred) < 0) {
		return -1;
	}
	l->last_used_ms = clock_now_ms();
	return 0;
}

void relay_smtp_close(struct relay_link *l)
{
	if (!l->open) {
		return;
	}
	if (!l->conn.failed) {
		relay_smtp_command(l, 0, "QUIT");
	}
	conn_close(&l->conn);
	l->open = 0;
}

/* Writes one header line (CRLF included), dot-stuffed, with `from` replaced by `to` in it. */
static int relay_header_line(struct relay_link *l, const char *line, size_t len, const char *from, const char *to)
{
	size_t flen = strlen(from), head = len;

	for (size_t i = 0; flen > 0 && i + flen <= len; i++) {
		if (strncasecmp(line + i, from, flen) == 0) {
			head = i;
			break;
		}
	}
	if ((line[0] == '.' && conn_write(&l->conn, ".", 1) < 0) || conn_write(&l->conn, line, head) < 0 ||
	    (head < len && (conn_write(&l->conn, to, strlen(to)) < 0 ||
			    conn_write(&l->conn, line + head + flen, len - head - flen) < 0))) {
		return relay_write_failed(l);
	}
	return 0;
}

/*
 * Sends the header block with From: rewritten (masquerading). Returns the
 * offset where the rest of the message starts, or -1. A header block larger
 * than the buffer is sent unchanged (and logged).
 */
static int64_t relay_masquerade_headers(struct relay_link *l, int fd, uint64_t offset, const char *from, const char *to)
{
	static char hdr[65536];
	ssize_t n = pread(fd, hdr, sizeof(hdr), (off_t)offset);
	size_t pos = 0;
	int in_from = 0;

	if (n <= 0) {
		return (int64_t)offset;
	}
	while (pos < (size_t)n) {
		const char *nl = memchr(hdr + pos, '\n', (size_t)n - pos);
		size_t len = nl ? (size_t)(nl - hdr - pos) + 1 : 0;

		if (nl == NULL) {
			log_warn("relay: header block too large to masquerade; sent unchanged");
			break;
		}
		if (len <= 2) {
			break; /* the empty line: the body follows, sent by the caller */
		}
		if (hdr[pos] != ' ' && hdr[pos] != '\t') {
			in_from = len > 5 && strncasecmp(hdr + pos, "From:", 5) == 0;
		}
		if (relay_header_line(l, hdr + pos, len, in_from ? from : "", to) < 0) {
			return -1;
		}
		pos += len;
	}
	return (int64_t)(offset + pos);
}

int relay_smtp_body(struct relay_link *l, int fd, uint64_t offset, const char *masq_from, const char *masq_to)
{
	static char buf[8192];
	int at_line_start = 1, last_lf = 1;
	ssize_t n;

	if (masq_from != NULL) {
		int64_t rest = relay_masquerade_headers(l, fd, offset, masq_from, masq_to);

		if (rest < 0) {
			return -1;
		}
		offset = (uint64_t)rest;
	}

	while ((n = pread(fd, buf, sizeof(buf), (off_t)offset)) > 0) {
		size_t start = 0;

		for (size_t i = 0; i < (size_t)n; i++) {
			if (at_line_start && buf[i] == '.' &&
			    (conn_write(&l->conn, buf + start, i - start) < 0 || conn_write(&l->conn, ".", 1) < 0)) {
				return relay_write_failed(l);
			}
			start = at_line_start && buf[i] == '.' ? i : start;
			at_line_start = buf[i] == '\n';
		}
		if (conn_write(&l->conn, buf + start, (size_t)n - start) < 0) {
			return relay_write_failed(l);
		}
		last_lf = buf[n - 1] == '\n';
		offset += (uint64_t)n;
	}
	if (n < 0) {
		return relay_smtp_fail(l, "cannot read the spool file: %s", strerror(errno));
	}
	return relay_smtp_command(l, 0, "%s.", last_lf ? "" : "\r\n");
}
