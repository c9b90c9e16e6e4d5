/*
 * bench/loadgen.c - SMTP load generator for benchmarks (Postfix's smtp-source,
 * with TLS and AUTH): C connections, one thread each, send N messages in all,
 * M per connection, over STARTTLS, implicit TLS or plain TCP, after AUTH PLAIN
 * if asked. It times each message from the end-of-data dot to its reply and
 * prints a summary and one JSON line; exit 0 only if every message got a 2xx.
 *
 * A tool, not part of the daemon. It owns its threads, one BearSSL client and
 * I/O buffer per thread, the --ca anchors, the shared message body and the
 * latency table (a slot per message). It borrows gateway/tls_pump.c, tls_pem.c,
 * lib/clock.c and lib/base64.c. Every wait is bounded by --timeout and by the --max-seconds
 * deadline, so it always ends.
 */
#include <bearssl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "clock.h"
#include "tls_pem.h"
#include "tls_pump.h"

#define LG_LINE_MAX    1024 /* a reply line (RFC 5321: 512) or a command line */
#define LG_ANCHORS_MAX 256
#define LG_CRED_MAX    128

enum lg_mode { LG_STARTTLS, LG_TLS, LG_PLAIN };
enum lg_rc { LG_DEAD = -1, LG_OK = 0, LG_REFUSED = 1 }; /* refused: the connection is still usable */

static struct {
	const char *host, *mode, *user, *pass, *ca, *servername, *from, *to, *helo;
	unsigned long port, total, conns, per_conn, size, timeout, max_seconds;
	int insecure;
} opt; /* defaults: in lg_opts */

static struct {
	enum lg_mode mode;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	br_x509_trust_anchor anchors[LG_ANCHORS_MAX];
	size_t nanchors;
	char *body, auth[LG_LINE_MAX], ehlo[80], mail[80], rcpt[80]; /* command lines */
	int64_t *lat_us; /* per message: end-of-data latency + 1, 0 if not accepted */
	int64_t deadline_ms;
	time_t started;
	struct lg_conn *conns; /* one per thread */
	atomic_ulong next, connections, handshakes;
	atomic_int reported;
} lg;

struct lg_any { /* --insecure: any chain is accepted; the leaf's key is taken */
	const br_x509_class *vtable;
	br_x509_decoder_context dc;
	int certs;
};

struct lg_conn {
	pthread_t tid;
	unsigned id;
	int fd;
	br_ssl_engine_context *eng; /* NULL while plaintext */
	size_t in_len;
	char in[LG_LINE_MAX], line[LG_LINE_MAX + 1], err[LG_LINE_MAX + 128];
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	struct lg_any any;
	unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

/* ---- --insecure: a br_x509_class that decodes the leaf and checks nothing ---- */

#define LG_ANY(ctx) ((struct lg_any *)(void *)(ctx))

static void lg_any_start_chain(const br_x509_class **ctx, const char *server_name)
{
	(void)server_name;
	LG_ANY(ctx)->certs = 0;
	br_x509_decoder_init(&LG_ANY(ctx)->dc, NULL, NULL);
}

static void lg_any_start_cert(const br_x509_class **ctx, uint32_t length)
{
	(void)length;
	LG_ANY(ctx)->certs++;
}

static void lg_any_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	if (LG_ANY(ctx)->certs == 1) {
		br_x509_decoder_push(&LG_ANY(ctx)->dc, buf, len);
	}
}

static void lg_any_end_cert(const br_x509_class **ctx)
{
	(void)ctx;
}

/* 0 once the leaf decoded with a key BearSSL supports (an empty chain is "truncated"). */
static unsigned lg_any_end_chain(const br_x509_class **ctx)
{
	return (unsigned)br_x509_decoder_last_error(&LG_ANY(ctx)->dc);
}

static const br_x509_pkey *lg_any_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	if (usages != NULL) {
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	}
	return br_x509_decoder_get_pkey(&LG_ANY(ctx)->dc);
}

static const br_x509_class lg_any_class = {
	sizeof(struct lg_any), lg_any_start_chain, lg_any_start_cert, lg_any_append,
	lg_any_end_cert,       lg_any_end_chain,   lg_any_get_pkey,
};

/* ---- --ca: one anchor per certificate, as BearSSL's tools/ta.c builds them ---- */

struct lg_dn {
	unsigned char *buf;
	size_t len, cap;
};

static void lg_dn_append(void *ctx, const void *data, size_t len)
{
	struct lg_dn *d = ctx;

	if (len <= d->cap - d->len) {
		memcpy(d->buf + d->len, data, len);
		d->len += len;
	}
}

/* The anchor's key points into its decoder, kept allocated; a non-CA certificate is trusted directly. */
static int lg_ca_object(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	struct lg_dn dn = { malloc(len ? len : 1), 0, len };
	br_x509_decoder_context *dc = malloc(sizeof(*dc));
	br_x509_trust_anchor *ta = &lg.anchors[lg.nanchors < LG_ANCHORS_MAX ? lg.nanchors : 0];
	const br_x509_pkey *pk = NULL;

	(void)ctx;
	if (dn.buf != NULL && dc != NULL && lg.nanchors < LG_ANCHORS_MAX && strcmp(label, "CERTIFICATE") == 0) {
		br_x509_decoder_init(dc, lg_dn_append, &dn);
		br_x509_decoder_push(dc, der, len);
		pk = br_x509_decoder_get_pkey(dc);
	}
	if (pk == NULL) {
		free(dn.buf);
		free(dc);
		return strcmp(label, "CERTIFICATE") == 0 ? -1 : 0;
	}
	ta->dn.data = dn.buf;
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(dc) ? BR_X509_TA_CA : 0;
	ta->pkey = *pk;
	lg.nanchors++;
	return 0;
}

/* ---- failures: a reason per connection; the first one is printed, all are counted ---- */

/* Notes why step failed: the reply (code > 0), else errno or the TLS engine's error. */
static int lg_fail(struct lg_conn *c, const char *step, int code)
{
	int e = errno, tls = c->eng != NULL ? br_ssl_engine_last_error(c->eng) : 0;
	const char *why = tls == BR_ERR_X509_NOT_TRUSTED       ? "TLS: certificate not trusted"
			  : tls == BR_ERR_X509_BAD_SERVER_NAME ? "TLS: host name mismatch"
			  : tls == BR_ERR_X509_EXPIRED         ? "TLS: certificate expired or not yet valid"
			  : tls != 0                           ? "TLS error (BearSSL code)"
			  : e == ECONNRESET || e == EPIPE      ? "connection closed by the server"
							       : strerror(e);

	if (code > 0) {
		snprintf(c->err, sizeof(c->err), "connection %u: %s: %s", c->id, step, c->line);
		return code == 421 ? LG_DEAD : LG_REFUSED;
	}
	why = clock_now_ms() >= lg.deadline_ms ? "--max-seconds deadline reached" : why;
	snprintf(c->err, sizeof(c->err), "connection %u: %s: %s (%d)", c->id, step, why, tls ? tls : e);
	return LG_DEAD;
}

static void lg_report(const struct lg_conn *c)
{
	if (atomic_exchange(&lg.reported, 1) == 0) {
		fprintf(stderr, "loadgen: %s\n", c->err);
	}
}

/* ---- I/O, plaintext or through the engine (gateway/tls_pump.c), every wait bounded ---- */

static int64_t lg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t lg_io_deadline(void)
{
	int64_t d = clock_now_ms() + (int64_t)opt.timeout * 1000;

	return d < lg.deadline_ms ? d : lg.deadline_ms;
}

/* Moves up to len bytes from (out) or to p. Returns the count, or -1. */
static ssize_t lg_io(struct lg_conn *c, char *p, size_t len, int out, int64_t dl)
{
	unsigned char *buf;
	size_t n;

	while (c->eng == NULL) {
		ssize_t r = out ? write(c->fd, p, len) : read(c->fd, p, len);

		if (r > 0) {
			return r;
		}
		if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			errno = r == 0 ? ECONNRESET : errno;
			return -1;
		}
		if (clock_wait_fd(c->fd, out ? POLLOUT : POLLIN, dl) <= 0) {
			return -1;
		}
	}
	if (tls_pump(c->eng, c->fd, out ? BR_SSL_SENDAPP : BR_SSL_RECVAPP, dl) < 0) {
		return -1;
	}
	buf = out ? br_ssl_engine_sendapp_buf(c->eng, &n) : br_ssl_engine_recvapp_buf(c->eng, &n);
	n = n < len ? n : len;
	memcpy(out ? (void *)buf : p, out ? (void *)p : buf, n);
	(out ? br_ssl_engine_sendapp_ack : br_ssl_engine_recvapp_ack)(c->eng, n);
	return (ssize_t)n;
}

/* Sends len bytes; flush: and pushes every TLS record out. */
static int lg_send(struct lg_conn *c, const char *p, size_t len, int flush)
{
	int64_t dl = lg_io_deadline();

	for (ssize_t n = 0; len > 0; p += n, len -= (size_t)n) {
		if ((n = lg_io(c, (char *)p, len, 1, dl)) < 0) { /* out: p is only read */
			return -1;
		}
	}
	if (flush && c->eng != NULL) {
		br_ssl_engine_flush(c->eng, 0);
		return tls_pump(c->eng, c->fd, BR_SSL_SENDAPP, dl);
	}
	return 0;
}

/* Reads one line into c->line, CRLF removed. */
static int lg_read_line(struct lg_conn *c, int64_t dl)
{
	size_t used, keep;
	char *nl;

	while ((nl = memchr(c->in, '\n', c->in_len)) == NULL) {
		ssize_t n =
		    c->in_len < sizeof(c->in) ? lg_io(c, c->in + c->in_len, sizeof(c->in) - c->in_len, 0, dl) : -1;

		if (n < 0) {
			errno = c->in_len < sizeof(c->in) ? errno : EMSGSIZE;
			return -1;
		}
		c->in_len += (size_t)n;
	}
	used = (size_t)(nl - c->in) + 1;
	keep = used - 1 - (used > 1 && nl[-1] == '\r');
	memcpy(c->line, c->in, keep);
	c->line[keep] = '\0';
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	return 0;
}

/* Reads a whole reply; LG_OK if its class is want (2 or 3). c->line holds its last line. */
static int lg_expect(struct lg_conn *c, const char *step, int want)
{
	int64_t dl = lg_io_deadline();
	const char *l = c->line;

	for (int lines = 0; lines < 100; lines++) {
		if (lg_read_line(c, dl) < 0) {
			return lg_fail(c, step, 0);
		}
		if (strspn(l, "0123456789") != 3 || l[0] == '0' || (l[3] != ' ' && l[3] != '-' && l[3] != '\0')) {
			break;
		}
		if (l[3] != '-') {
			return l[0] - '0' == want ? LG_OK : lg_fail(c, step, atoi(l));
		}
	}
	errno = EPROTO;
	return lg_fail(c, step, 0);
}

/* Sends one command line (with its CRLF) and reads the reply. */
static int lg_cmd(struct lg_conn *c, const char *step, int want, const char *line)
{
	return lg_send(c, line, strlen(line), 1) < 0 ? lg_fail(c, step, 0) : lg_expect(c, step, want);
}

/* ---- one connection ---- */

static int lg_connect(struct lg_conn *c)
{
	int fd = socket(lg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0) {
		return lg_fail(c, "socket", 0);
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((connect(fd, (struct sockaddr *)&lg.addr, lg.addrlen) < 0 && errno != EINPROGRESS) ||
	    clock_wait_fd(fd, POLLOUT, lg_io_deadline()) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err != 0) {
		errno = err != 0 ? err : errno;
		close(fd);
		return lg_fail(c, "connect", 0);
	}
	c->fd = fd;
	atomic_fetch_add(&lg.connections, 1);
	return LG_OK;
}

/*
 * A full handshake (never a resumed session), completed before returning.
 * BearSSL's full client profile, TLS 1.2 only; its suites start with the
 * ones gateway/tls_engine.c offers, in the same order (ECDHE, ChaCha20 first).
 */
static int lg_tls_start(struct lg_conn *c)
{
	br_ssl_engine_context *eng = &c->cc.eng;

	br_ssl_client_init_full(&c->cc, &c->xc, lg.anchors, lg.nanchors);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	if (opt.insecure) {
		c->any.vtable = &lg_any_class;
		br_ssl_engine_set_x509(eng, &c->any.vtable);
	}
	br_ssl_engine_set_buffer(eng, c->iobuf, sizeof(c->iobuf), 1);
	c->eng = eng;
	if (!br_ssl_client_reset(&c->cc, opt.servername, 0) ||
	    tls_pump(eng, c->fd, BR_SSL_SENDAPP, lg_io_deadline()) < 0) {
		return lg_fail(c, "TLS handshake", 0);
	}
	atomic_fetch_add(&lg.handshakes, 1);
	return LG_OK;
}

/* Connects and gets to the point where MAIL may be sent. */
static int lg_open(struct lg_conn *c)
{
	int rc = lg_connect(c);

	rc = rc != LG_OK || lg.mode != LG_TLS ? rc : lg_tls_start(c);
	rc = rc != LG_OK ? rc : lg_expect(c, "greeting", 2);
	rc = rc != LG_OK ? rc : lg_cmd(c, "EHLO", 2, lg.ehlo);
	if (rc == LG_OK && lg.mode == LG_STARTTLS) {
		rc = lg_cmd(c, "STARTTLS", 2, "STARTTLS\r\n");
		if (rc == LG_OK && c->in_len != 0) {
			errno = EPROTO; /* bytes behind the 220 would be taken for TLS */
			rc = lg_fail(c, "STARTTLS", 0);
		}
		rc = rc != LG_OK ? rc : lg_tls_start(c);
		rc = rc != LG_OK ? rc : lg_cmd(c, "EHLO after STARTTLS", 2, lg.ehlo);
	}
	return rc == LG_OK && lg.auth[0] != '\0' ? lg_cmd(c, "AUTH", 2, lg.auth) : rc;
}

/* QUIT if polite; then close_notify while waiting (at most 1 s) for the server to close. */
static void lg_close(struct lg_conn *c, int polite)
{
	if (polite && lg_cmd(c, "QUIT", 2, "QUIT\r\n") == LG_OK && c->eng != NULL) {
		br_ssl_engine_close(c->eng);
		(void)tls_pump(c->eng, c->fd, BR_SSL_RECVAPP, clock_now_ms() + 1000);
	}
	close(c->fd);
	c->fd = -1;
	c->eng = NULL;
	c->in_len = 0;
}

/* MAIL, RCPT, DATA, the message (RFC 5322; lines under 78) and the dot, whose reply is timed. */
static int lg_message(struct lg_conn *c, unsigned long i)
{
	char date[64] = "", head[512];
	time_t now = time(NULL);
	struct tm tm;
	int rc = lg_cmd(c, "MAIL", 2, lg.mail), n;
	int64_t t0;

	if (gmtime_r(&now, &tm) != NULL) {
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	}
	n = snprintf(head, sizeof(head),
		     "From: <%s>\r\nTo: <%s>\r\nSubject: loadgen message %lu of %lu\r\nDate: %s\r\n"
		     "Message-ID: <%lu.%lld.%ld@loadgen.invalid>\r\n\r\n",
		     opt.from, opt.to, i + 1, opt.total, date, i, (long long)lg.started, (long)getpid());
	rc = rc != LG_OK ? rc : lg_cmd(c, "RCPT", 2, lg.rcpt);
	rc = rc != LG_OK ? rc : lg_cmd(c, "DATA", 3, "DATA\r\n");
	if (rc == LG_OK && (n < 0 || (size_t)n >= sizeof(head) || lg_send(c, head, (size_t)n, 0) < 0 ||
			    lg_send(c, lg.body, opt.size, 0) < 0 || lg_send(c, ".\r\n", 3, 1) < 0)) {
		rc = lg_fail(c, "message data", 0);
	}
	t0 = lg_now_us();
	rc = rc != LG_OK ? rc : lg_expect(c, "after end of data", 2);
	lg.lat_us[i] = rc == LG_OK ? lg_now_us() - t0 + 1 : 0;
	if (rc != LG_OK) {
		lg_report(c);
	}
	return rc == LG_REFUSED && lg_cmd(c, "RSET", 2, "RSET\r\n") != LG_OK ? LG_DEAD : rc;
}

/* One thread: claims messages while any are left and there is time; a new connection every -m. */
static void *lg_worker(void *arg)
{
	struct lg_conn *c = arg;
	unsigned long i, on_conn = 0;
	int rc = LG_OK;

	while (rc != LG_DEAD && clock_now_ms() < lg.deadline_ms && (i = atomic_fetch_add(&lg.next, 1)) < opt.total) {
		if (c->fd < 0 && (rc = lg_open(c)) != LG_OK) {
			lg_report(c);
			break; /* a server that refuses this thread's session is not hammered */
		}
		rc = lg_message(c, i);
		if (rc != LG_DEAD && ++on_conn == opt.per_conn) {
			lg_close(c, 1);
			on_conn = 0;
		}
	}
	if (c->fd >= 0) {
		lg_close(c, rc != LG_DEAD);
	}
	return NULL;
}

/* ---- command line ---- */

static const char lg_usage[] =
    "usage: loadgen [options]         (one JSON line at the end; exit 0 only if every message got a 2xx)\n"
    "  --host IP --port N              default 127.0.0.1; port 587 (starttls), 465 (tls), 25 (plain)\n"
    "  --mode starttls|tls|plain       default starttls\n"
    "  --user U --pass P               AUTH PLAIN (after TLS)\n"
    "  --ca FILE [--servername NAME]   PEM trust anchors; the name: SNI and name check (else none)\n"
    "  --insecure                      accept any server certificate (TLS needs --ca or --insecure)\n"
    "  -n N -c C -m M -s BYTES         messages in all (100), connections (1, a thread each), messages\n"
    "                                  per connection (0: no limit), body size (4096; 0 or at least 2)\n"
    "  --from A --to A --helo NAME     default bench@example.com, sink@example.org, loadgen.example\n"
    "  --timeout S --max-seconds S     per I/O wait (30), the whole run (300)\n";

static const struct {
	const char *name, **str;
	unsigned long *num, lo, hi;
	const char *dflt;
} lg_opts[] = {
	{ "--host", &opt.host, NULL, 0, 0, "127.0.0.1" },
	{ "--mode", &opt.mode, NULL, 0, 0, "starttls" },
	{ "--user", &opt.user, NULL, 0, 0, NULL },
	{ "--pass", &opt.pass, NULL, 0, 0, NULL },
	{ "--ca", &opt.ca, NULL, 0, 0, NULL },
	{ "--servername", &opt.servername, NULL, 0, 0, NULL },
	{ "--from", &opt.from, NULL, 0, 0, "bench@example.com" },
	{ "--to", &opt.to, NULL, 0, 0, "sink@example.org" },
	{ "--helo", &opt.helo, NULL, 0, 0, "loadgen.example" },
	{ "--port", NULL, &opt.port, 0, 65535, "0" }, /* 0: by mode */
	{ "-n", NULL, &opt.total, 1, 10000000, "100" },
	{ "-c", NULL, &opt.conns, 1, 1000, "1" },
	{ "-m", NULL, &opt.per_conn, 0, 10000000, "0" },
	{ "-s", NULL, &opt.size, 0, 64UL << 20, "4096" },
	{ "--timeout", NULL, &opt.timeout, 1, 3600, "30" },
	{ "--max-seconds", NULL, &opt.max_seconds, 1, 86400, "300" },
};

static int lg_option(const char *name, const char *val)
{
	char *end;
	int ok;

	for (size_t k = 0; k < sizeof(lg_opts) / sizeof(lg_opts[0]); k++) {
		unsigned long *v = lg_opts[k].num;

		if (strcmp(name, lg_opts[k].name) != 0) {
			continue;
		}
		if (v == NULL) {
			*lg_opts[k].str = val;
			return 0;
		}
		errno = 0;
		*v = strtoul(val, &end, 10);
		ok = val[0] >= '0' && val[0] <= '9' && *end == '\0' && errno == 0;
		return ok && *v >= lg_opts[k].lo && *v <= lg_opts[k].hi ? 0 : -1;
	}
	return -1;
}

/* Checks the options together; returns a reason or NULL. */
static const char *lg_check(void)
{
	static const unsigned long ports[] = { 587, 465, 25 };
	const char *names[] = { opt.from, opt.to, opt.helo };

	lg.mode = strcmp(opt.mode, "tls") == 0 ? LG_TLS : strcmp(opt.mode, "plain") == 0 ? LG_PLAIN : LG_STARTTLS;
	for (size_t k = 0; k < 3; k++) { /* at most 64 bytes keeps every header line under 78 */
		if (names[k][0] == '\0' || strlen(names[k]) > 64 || strpbrk(names[k], " <>\t\r\n") != NULL) {
			return "--from, --to and --helo: 1-64 characters, no spaces, line breaks or <>";
		}
	}
	if (lg.mode == LG_STARTTLS && strcmp(opt.mode, "starttls") != 0) {
		return "--mode must be starttls, tls or plain";
	}
	opt.port = opt.port ? opt.port : ports[lg.mode];
	if (lg.mode != LG_PLAIN && (opt.ca != NULL) == (opt.insecure != 0)) {
		return "TLS needs exactly one of --ca FILE and --insecure";
	}
	if ((opt.user == NULL) != (opt.pass == NULL) ||
	    (opt.user && (strlen(opt.user) > LG_CRED_MAX || strlen(opt.pass) > LG_CRED_MAX))) {
		return "--user and --pass go together, each at most 128 bytes";
	}
	return opt.size == 1 ? "-s must be 0 or at least 2 (lines end with CRLF)" : NULL;
}

static int lg_parse(int argc, char **argv)
{
	const char *why;

	for (size_t k = 0; k < sizeof(lg_opts) / sizeof(lg_opts[0]); k++) {
		(void)(lg_opts[k].dflt != NULL && lg_option(lg_opts[k].name, lg_opts[k].dflt));
	}
	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
			fputs(lg_usage, stdout);
			exit(0);
		}
		if (strcmp(argv[k], "--insecure") == 0) {
			opt.insecure = 1;
		} else if (k + 1 == argc || lg_option(argv[k], argv[k + 1]) < 0) {
			fprintf(stderr, "loadgen: bad option or value: %s %s (see -h)\n", argv[k],
				k + 1 < argc ? argv[k + 1] : "");
			return -1;
		} else {
			k++;
		}
	}
	why = lg_check();
	if (why != NULL) {
		fprintf(stderr, "loadgen: %s\n", why);
	}
	return why ? -1 : 0;
}

/* ---- set-up, run, summary ---- */

/* Exactly size bytes of lines of at most 78 bytes with CRLF; none starts with '.'. */
static char *lg_make_body(size_t size)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *b = malloc(size ? size : 1);
	size_t pos = 0;

	for (size_t line = 0; b != NULL && pos < size; line++) {
		size_t n = size - pos > 78 ? 78 : size - pos;

		n -= size - pos - n == 1; /* never leave a single byte */
		for (size_t k = 0; k + 2 < n; k++) {
			b[pos + k] = chars[(line + k) % (sizeof(chars) - 1)];
		}
		b[pos + n - 2] = '\r';
		b[pos + n - 1] = '\n';
		pos += n;
	}
	return b;
}

static int lg_setup(void)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
	char port[8], plain[2 * LG_CRED_MAX + 3], b64[BASE64_ENCODED_SIZE(sizeof(plain))];
	int n = opt.user ? snprintf(plain, sizeof(plain), "%c%s%c%s", 0, opt.user, 0, opt.pass) : 0;

	snprintf(port, sizeof(port), "%lu", opt.port);
	if (getaddrinfo(opt.host, port, &hints, &ai) != 0) {
		fprintf(stderr, "loadgen: --host must be an IP address: %s\n", opt.host);
		return -1;
	}
	memcpy(&lg.addr, ai->ai_addr, ai->ai_addrlen);
	lg.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (n > 0 && base64_encode(plain, (size_t)n, b64, sizeof(b64)) > 0) {
		snprintf(lg.auth, sizeof(lg.auth), "AUTH PLAIN %s\r\n", b64);
	}
	snprintf(lg.ehlo, sizeof(lg.ehlo), "EHLO %s\r\n", opt.helo);
	snprintf(lg.mail, sizeof(lg.mail), "MAIL FROM:<%s>\r\n", opt.from);
	snprintf(lg.rcpt, sizeof(lg.rcpt), "RCPT TO:<%s>\r\n", opt.to);
	lg.body = lg_make_body(opt.size);
	lg.lat_us = calloc(opt.total, sizeof(*lg.lat_us));
	lg.conns = calloc(opt.conns, sizeof(*lg.conns));
	if (lg.body == NULL || lg.lat_us == NULL || lg.conns == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return -1;
	}
	if (opt.ca != NULL &&
	    (tls_pem_decode_file(opt.ca, (size_t)1 << 20, lg_ca_object, NULL) <= 0 || lg.nanchors == 0)) {
		fprintf(stderr, "loadgen: %s: unreadable, bad PEM, unusable certificate or more than %d\n", opt.ca,
			LG_ANCHORS_MAX);
		return -1;
	}
	return 0;
}

static int lg_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted latencies (+1 µs each), in ms. */
static double lg_pct(const int64_t *v, size_t n, unsigned p)
{
	size_t rank = (n * p + 99) / 100;

	return n == 0 ? 0.0 : (double)(v[rank ? rank - 1 : 0] - 1) / 1000.0;
}

static int lg_summary(double secs)
{
	unsigned long ok = 0, conns = atomic_load(&lg.connections), hs = atomic_load(&lg.handshakes);
	double rate, p50, p99;

	for (unsigned long i = 0; i < opt.total; i++) {
		lg.lat_us[ok] = lg.lat_us[i];
		ok += lg.lat_us[i] > 0;
	}
	qsort(lg.lat_us, ok, sizeof(*lg.lat_us), lg_cmp);
	rate = secs > 0 ? (double)ok / secs : 0.0;
	p50 = lg_pct(lg.lat_us, ok, 50);
	p99 = lg_pct(lg.lat_us, ok, 99);
	printf("loadgen: %lu of %lu messages accepted in %.3f s, %.1f msg/s (%s, %lu-byte body, %lu connections, %lu "
	       "TLS handshakes)\nloadgen: end of data to reply: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       ok, opt.total, secs, rate, opt.mode, opt.size, conns, hs, p50, p99, lg_pct(lg.lat_us, ok, 100));
	printf("{\"messages\":%lu,\"failed\":%lu,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
	       "\"connections\":%lu,\"handshakes\":%lu}\n",
	       opt.total, opt.total - ok, secs, rate, p50, p99, conns, hs);
	if (ok < opt.total) {
		fprintf(stderr, "loadgen: %lu of %lu messages not accepted (%s)\n", opt.total - ok, opt.total,
			clock_now_ms() >= lg.deadline_ms ? "--max-seconds deadline reached"
							 : "the first failure is above");
	}
	return ok == opt.total ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct lg_conn *c;
	unsigned long started = 0;
	int64_t t0;

	if (lg_parse(argc, argv) < 0) {
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	if (lg_setup() < 0) {
		return 1;
	}
	lg.started = time(NULL);
	t0 = lg_now_us();
	lg.deadline_ms = clock_now_ms() + (int64_t)opt.max_seconds * 1000;
	for (c = lg.conns; started < opt.conns; started++, c++) {
		c->id = (unsigned)started + 1;
		c->fd = -1;
		if (pthread_create(&c->tid, NULL, lg_worker, c) != 0) {
			fprintf(stderr, "loadgen: could start only %lu of %lu threads\n", started, opt.conns);
			break;
		}
	}
	for (unsigned long k = 0; k < started; k++) {
		pthread_join(lg.conns[k].tid, NULL);
	}
	return lg_summary((double)(lg_now_us() - t0) / 1e6) != 0 || started < opt.conns;
}
