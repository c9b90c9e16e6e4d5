/*
 * tls_client_test.c - the relay's TLS client in real handshakes: a BearSSL
 * server (tls_creds_load + tls_server_setup) in a forked child and the
 * client over a socketpair, both driven by tls_pump. Certificates are made
 * with the openssl CLI: a CA, smtp.test and other.test signed by it (EC
 * P-256), an expired smtp.test (openssl ca -startdate/-enddate), a
 * self-signed RSA 2048 rsa.test; pins come from openssl's own pipeline.
 * For IP-literal smarthosts, leaves whose subjectAltName holds only
 * IP:127.0.0.1 (ip4), only IP:::1 (ip6), IP:127.0.0.2 and DNS:127.0.0.1
 * (ip2), and none at all with CN=127.0.0.1 (cn127).
 * Also: CA bundle errors, Debian's bundle, the pin class fed by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "clock.h"
#include "config.h"
#include "harness.h"
#include "tls_client.h"
#include "tls_key.h"
#include "tls_pem.h"
#include "tls_pump.h"
#include "tls_server.h"

#define DEBIAN_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* Run with sh in the temporary directory; every file the tests use comes from here. */
static const char gen_script[] =
    "set -e\n"
    "cat >x.cnf <<'EOF'\n"
    "[req]\ndistinguished_name = dn\n[dn]\n"
    "[v3ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
    "[smtp]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:smtp.test\n"
    "[other]\nbasicConstraints = CA:FALSE\nsubjectAltName = DNS:other.test,DNS:127.0.0.1\n"
    "[rsa]\nbasicConstraints = CA:FALSE\nsubjectAltName = DNS:rsa.test\n"
    "[ip4]\nbasicConstraints = CA:FALSE\nsubjectAltName = IP:127.0.0.1\n"
    "[ip6]\nbasicConstraints = CA:FALSE\nsubjectAltName = IP:::1\n"
    "[ip2]\nbasicConstraints = CA:FALSE\nsubjectAltName = IP:127.0.0.2,DNS:127.0.0.1\n"
    "[cn127]\nbasicConstraints = CA:FALSE\n"
    "[ca]\ndefault_ca = db\n"
    "[db]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\n"
    "policy = pol\nunique_subject = no\n[pol]\ncommonName = supplied\n"
    "EOF\n"
    "ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; }\n"
    "ec ca; ec smtp; ec other\n"
    "openssl req -x509 -new -config x.cnf -extensions v3ca -key ca.key -subj /CN=Unit-CA -days 3650 -out ca.crt\n"
    "for n in smtp other ip4 ip6 ip2 cn127; do\n"
    "  cn=$n.test; [ $n = cn127 ] && cn=127.0.0.1; [ -f $n.key ] || ec $n\n"
    "  openssl req -new -config x.cnf -key $n.key -subj /CN=$cn -out $n.csr\n"
    "  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 "
    "-extfile x.cnf -extensions $n -out $n.crt\n"
    "  openssl x509 -in $n.crt -outform der -out $n.der\n"
    "done\n"
    ": >index.txt; echo 1000 >serial\n"
    "openssl ca -batch -notext -config x.cnf -cert ca.crt -keyfile ca.key -in smtp.csr "
    "-startdate 20200101000000Z -enddate 20200201000000Z -extfile x.cnf -extensions smtp -out expired.crt\n"
    "openssl req -x509 -newkey rsa:2048 -nodes -config x.cnf -extensions rsa -keyout rsa.key "
    "-subj /CN=rsa.test -days 30 -out rsa.crt\n"
    "for n in smtp other rsa; do\n"
    "  openssl x509 -in $n.crt -pubkey -noout | openssl pkey -pubin -outform der >$n.spki\n"
    "  openssl dgst -sha256 -binary <$n.spki | base64 >$n.pin\n"
    "done\n"
    "cat ca.crt rsa.crt >ca-rsa.crt; cat rsa.crt ca.crt >rsa-ca.crt\n"
    ": >empty.pem\n";

static char tc_dir[64];
static int tc_state; /* 0 not made yet, 1 ready, -1 failed */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tc_cleanup(void)
{
	nftw(tc_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *tc_path(const char *name)
{
	static char path[4][128];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tc_dir, name);
	return p;
}

static int tc_setup(void)
{
	char cmd[160];
	FILE *f;

	if (tc_state != 0) {
		return tc_state > 0 ? 0 : -1;
	}
	tc_state = -1;
	snprintf(tc_dir, sizeof(tc_dir), "/tmp/tls_client_test.XXXXXX");
	if (mkdtemp(tc_dir) == NULL) {
		return -1;
	}
	atexit(tc_cleanup);
	f = fopen(tc_path("gen.sh"), "w");
	if (f == NULL || fputs(gen_script, f) == EOF || fclose(f) != 0) {
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "cd %s && sh gen.sh >gen.log 2>&1", tc_dir);
	if (system(cmd) != 0) {
		printf("  certificate generation failed, see %s/gen.log\n", tc_dir);
		return -1;
	}
	tc_state = 1;
	return 0;
}

/* The pin openssl computed for NAME.crt. */
static int tc_pin(const char *name, unsigned char pin[32])
{
	char file[32], text[64];
	size_t len;
	FILE *f;

	snprintf(file, sizeof(file), "%s.pin", name);
	f = fopen(tc_path(file), "r");
	if (f == NULL) {
		return -1;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
		len--;
	}
	return base64_decode(text, len, pin, 32) == 32 ? 0 : -1;
}

static int tc_trust_ca(struct tls_client_trust *t, const char *file, time_t floor)
{
	char err[256];

	memset(t, 0, sizeof(*t));
	t->clock_floor = floor;
	return tls_client_load_ca(t, tc_path(file), err, sizeof(err));
}

static int tc_trust_pin(struct tls_client_trust *t, const char *name)
{
	unsigned char pin[32];

	memset(t, 0, sizeof(*t));
	if (tc_pin(name, pin) < 0) {
		return -1;
	}
	tls_client_set_pin(t, pin);
	return 0;
}

/* ---- one handshake ---- */

struct hs {
	int rc;         /* 0: handshake and one round trip of application data */
	int server_ok;  /* the server child saw "ping" and answered */
	int sni;        /* ... and the client had sent a server name */
	int err;        /* br_ssl_engine_last_error */
	int sys_err;    /* errno after the client's failed step */
	uint16_t suite; /* negotiated cipher suite */
	const char *reason;
};

static unsigned char hs_client_buf[BR_SSL_BUFSIZE_BIDI];
static unsigned char hs_server_buf[BR_SSL_BUFSIZE_BIDI];
static struct tls_client hs_client;
static br_ssl_server_context hs_server_cc;
static int hs_renegotiate; /* the server asks to renegotiate (HelloRequest) after "ping" */

static int hs_send(br_ssl_engine_context *eng, int fd, const char *msg, int64_t deadline)
{
	size_t len;
	unsigned char *buf;

	if (tls_pump(eng, fd, BR_SSL_SENDAPP, deadline) < 0) {
		return -1;
	}
	buf = br_ssl_engine_sendapp_buf(eng, &len);
	if (len < 4) {
		return -1;
	}
	memcpy(buf, msg, 4);
	br_ssl_engine_sendapp_ack(eng, 4);
	br_ssl_engine_flush(eng, 0);
	return tls_pump(eng, fd, BR_SSL_SENDAPP, deadline);
}

static int hs_recv(br_ssl_engine_context *eng, int fd, const char *msg, int64_t deadline)
{
	size_t len;
	unsigned char *buf;

	if (tls_pump(eng, fd, BR_SSL_RECVAPP, deadline) < 0) {
		return -1;
	}
	buf = br_ssl_engine_recvapp_buf(eng, &len);
	if (len != 4 || memcmp(buf, msg, 4) != 0) {
		return -1;
	}
	br_ssl_engine_recvapp_ack(eng, len);
	return 0;
}

/* The server signs in-process here; in the daemon the same callback asks `auth`. */
static size_t hs_sign(void *ctx, unsigned algo_id, const unsigned char *hv, size_t hv_len, unsigned char *sig,
		      size_t cap)
{
	return tls_key_sign(ctx, algo_id, hv, hv_len, sig, cap);
}

static void hs_server(int fd, const char *cert, const char *key)
{
	static struct tls_creds creds;
	static struct tls_key tkey;
	static struct tls_server_policy pol;
	char err[256];
	int64_t deadline = clock_now_ms() + 10000;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	pol = (struct tls_server_policy){ .creds = &creds, .sign = hs_sign, .sign_ctx = &tkey };
	if (tls_creds_load(&creds, tc_path(cert), err, sizeof(err)) < 0 ||
	    tls_key_load(&tkey, tc_path(key), err, sizeof(err)) < 0 ||
	    tls_server_setup(&hs_server_cc, &pol, hs_server_buf, BR_SSL_BUFSIZE_INPUT, BR_SSL_BUFSIZE_OUTPUT) < 0) {
		_exit(2);
	}
	if (hs_recv(&hs_server_cc.eng, fd, "ping", deadline) < 0) {
		_exit(1);
	}
	if (hs_renegotiate) {
		/* our engines refuse; this one is made to ask, as a hostile smarthost would */
		br_ssl_engine_remove_flags(&hs_server_cc.eng, BR_OPT_NO_RENEGOTIATION);
		_exit(br_ssl_engine_renegotiate(&hs_server_cc.eng) &&
			      tls_pump(&hs_server_cc.eng, fd, BR_SSL_RECVAPP, deadline) < 0
			  ? 4
			  : 5);
	}
	if (hs_send(&hs_server_cc.eng, fd, "pong", deadline) < 0) {
		_exit(1);
	}
	_exit(br_ssl_engine_get_server_name(&hs_server_cc.eng)[0] != '\0' ? 0 : 3);
}

static struct hs hs_run(const char *cert, const char *key, const struct tls_client_trust *t, const char *name)
{
	struct hs r = { -1, 0, 0, 0, 0, 0, "" };
	br_ssl_session_parameters sp;
	int64_t deadline = clock_now_ms() + 10000;
	int sv[2], status = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		return r;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		hs_server(sv[1], cert, key);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	if (pid > 0 &&
	    tls_client_setup(&hs_client, t, name, hs_client_buf, BR_SSL_BUFSIZE_INPUT, BR_SSL_BUFSIZE_OUTPUT) == 0) {
		r.rc = hs_send(&hs_client.cc.eng, sv[0], "ping", deadline) < 0 ||
			       hs_recv(&hs_client.cc.eng, sv[0], "pong", deadline) < 0
			   ? -1
			   : 0;
		r.sys_err = errno;
		r.err = br_ssl_engine_last_error(&hs_client.cc.eng);
		br_ssl_engine_get_session_parameters(&hs_client.cc.eng, &sp);
		r.suite = sp.cipher_suite;
		r.reason = tls_client_error(&hs_client, r.err);
	}
	close(sv[0]);
	if (pid > 0 && waitpid(pid, &status, 0) == pid) {
		r.server_ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
		r.sni = r.server_ok && WEXITSTATUS(status) == 0;
		r.server_ok |= hs_renegotiate && WIFEXITED(status) && WEXITSTATUS(status) == 4;
	}
	return r;
}

static int has(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

/* The client's first choice the server also has (the server enforces its own order, the same). */
static uint16_t first_suite(int rsa)
{
	if (CONFIG_TLS_CHACHA20) {
		return rsa ? BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
			   : BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;
	}
	return rsa ? BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 : BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
}

/*
 * A smarthost that asks to renegotiate (HelloRequest) once the session runs:
 * the client ends the connection at the record's header, before reading a
 * reply (BearSSL alone would answer with a warning alert and read on).
 */
TEST(tls_client_refuses_renegotiation)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "ca.crt", 0) == 1);
	hs_renegotiate = 1;
	r = hs_run("smtp.crt", "smtp.key", &t, "smtp.test");
	hs_renegotiate = 0;
	CHECK(r.rc < 0 && r.sys_err == TLS_PUMP_RENEGOTIATION && r.err == 0);
	CHECK(r.server_ok); /* the server did send its HelloRequest, and then saw the connection end */
	CHECK((hs_client.cc.eng.flags & BR_OPT_NO_RENEGOTIATION) != 0);
	CHECK(br_ssl_engine_renegotiate(&hs_client.cc.eng) == 0); /* nor does the client ask */
	tls_client_free_ca(&t);
}

/* ---- CA mode ---- */

TEST(tls_client_ca_right_name)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "ca.crt", 1700000000) == 1);
	CHECK(t.nanchors == 1 && (t.anchors[0].flags & BR_X509_TA_CA));
	r = hs_run("smtp.crt", "smtp.key", &t, "smtp.test");
	CHECK(r.rc == 0 && r.err == 0 && r.server_ok && r.sni);
	CHECK(r.suite == first_suite(0));
	CHECK(hs_client.clock_floored == 0);
	CHECK(br_ssl_engine_get_version(&hs_client.cc.eng) == BR_TLS12);
	tls_client_free_ca(&t);
	CHECK(t.anchors == NULL && t.nanchors == 0);
}

TEST(tls_client_ca_wrong_name)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "ca.crt", 0) == 1);
	r = hs_run("other.crt", "other.key", &t, "smtp.test");
	CHECK(r.rc < 0 && r.err == BR_ERR_X509_BAD_SERVER_NAME && !r.server_ok);
	CHECK_STR(r.reason, "host name mismatch");
	CHECK(!tls_client_error_is_temporary(r.err));
	r = hs_run("other.crt", "other.key", &t, "other.test");
	CHECK(r.rc == 0 && r.server_ok);
	tls_client_free_ca(&t);
}

/*
 * An IP literal sends no SNI and must be an iPAddress SAN of a CA-valid
 * certificate: a DNS SAN or a CN spelling the address does not count.
 */
TEST(tls_client_ca_ip_literal_needs_an_ip_san)
{
	static const struct {
		const char *cert, *name;
		int ok;
	} cases[] = {
		{ "ip4", "127.0.0.1", 1 },
		{ "ip6", "::1", 1 },
		{ "ip2", "127.0.0.2", 1 },
		{ "ip6", "0:0:0:0:0:0:0:1", 1 },
		{ "smtp", "127.0.0.1", 0 },
		{ "smtp", "::1", 0 },
		{ "other", "127.0.0.1", 0 }, /* DNS:127.0.0.1 */
		{ "ip2", "127.0.0.1", 0 },   /* IP:127.0.0.2 and DNS:127.0.0.1 */
		{ "cn127", "127.0.0.1", 0 }, /* CN=127.0.0.1, no SAN */
		{ "ip4", "::1", 0 },
		{ "ip6", "127.0.0.1", 0 },
		{ "ip4", "::ffff:127.0.0.1", 0 },
	};
	struct tls_client_trust t;
	char cert[16], key[16];

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "ca.crt", 0) == 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hs r;

		snprintf(cert, sizeof(cert), "%s.crt", cases[i].cert);
		snprintf(key, sizeof(key), "%s.key", cases[i].cert);
		r = hs_run(cert, key, &t, cases[i].name);
		if (cases[i].ok) {
			CHECK(r.rc == 0 && r.server_ok && !r.sni);
		} else {
			CHECK(r.rc < 0 && r.err == TLS_CLIENT_ERR_IP_MISMATCH && !r.server_ok);
			CHECK(has(r.reason, "IP address mismatch") && has(r.reason, cases[i].name));
			CHECK(!tls_client_error_is_temporary(r.err));
		}
		if (r.rc == 0 ? !cases[i].ok : cases[i].ok) {
			printf("  %s for [%s]: %s\n", cert, cases[i].name, r.reason);
		}
	}
	tls_client_free_ca(&t);
	/* the chain is still checked: a trust store without this CA */
	CHECK(tc_trust_ca(&t, "rsa.crt", 0) == 1);
	CHECK(hs_run("ip4.crt", "ip4.key", &t, "127.0.0.1").err == BR_ERR_X509_NOT_TRUSTED);
	tls_client_free_ca(&t);
	CHECK(tc_trust_ca(&t, "ca.crt", 0) == 1);
	CHECK(tls_client_setup(&hs_client, &t,
			       "1111:2222:3333:4444:5555:6666:7777:8888:1111:2222:3333:4444:5555:6666:7777:8888",
			       hs_client_buf, BR_SSL_BUFSIZE_INPUT, BR_SSL_BUFSIZE_OUTPUT) < 0);
	/* all-numeric but no address: no DNS name either */
	CHECK(tls_client_setup(&hs_client, &t, "1.2.3", hs_client_buf, BR_SSL_BUFSIZE_INPUT, BR_SSL_BUFSIZE_OUTPUT) <
	      0);
	/* an empty name would check no name at all */
	CHECK(tls_client_setup(&hs_client, &t, "", hs_client_buf, BR_SSL_BUFSIZE_INPUT, BR_SSL_BUFSIZE_OUTPUT) < 0);
	tls_client_free_ca(&t);
}

/* A pin needs no name: an IP literal with a certificate that names nothing like it. */
TEST(tls_client_pin_ip_literal)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_pin(&t, "smtp") == 0);
	r = hs_run("smtp.crt", "smtp.key", &t, "127.0.0.1");
	CHECK(r.rc == 0 && r.server_ok && !r.sni);
}

TEST(tls_client_ca_unknown)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "rsa.crt", 0) == 1);
	CHECK(t.anchors[0].flags == 0); /* a self-signed leaf: direct trust */
	r = hs_run("smtp.crt", "smtp.key", &t, "smtp.test");
	CHECK(r.rc < 0 && r.err == BR_ERR_X509_NOT_TRUSTED);
	CHECK_STR(r.reason, "unknown CA");
	CHECK(!tls_client_error_is_temporary(r.err));
	tls_client_free_ca(&t);
}

TEST(tls_client_ca_expired)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "ca.crt", 1700000000) == 1);
	r = hs_run("expired.crt", "smtp.key", &t, "smtp.test");
	CHECK(r.rc < 0 && r.err == BR_ERR_X509_EXPIRED);
	CHECK_STR(r.reason, "certificate expired or not yet valid");
	CHECK(hs_client.clock_floored == 0);
	CHECK(!tls_client_error_is_temporary(r.err));
	tls_client_free_ca(&t);
}

/* A clock behind the floor is moved to it: two years ahead, the 30-day certificate has expired. */
TEST(tls_client_ca_clock_floor)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "ca.crt", time(NULL) + (time_t)2 * 365 * 86400) == 1);
	r = hs_run("smtp.crt", "smtp.key", &t, "smtp.test");
	CHECK(r.rc < 0 && r.err == BR_ERR_X509_EXPIRED);
	CHECK(hs_client.clock_floored == 1);
	CHECK_STR(r.reason, "certificate expired or not yet valid (clock floor used)");
	tls_client_free_ca(&t);
}

/* ECDHE_RSA with a self-signed RSA certificate trusted directly from the bundle. */
TEST(tls_client_ca_rsa_server)
{
	struct tls_client_trust t;
	struct hs r;

	if (CONFIG_TLS_PROFILE_EC_ONLY) {
		return; /* the server takes no RSA key in this build */
	}
	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&t, "rsa.crt", 0) == 1);
	r = hs_run("rsa.crt", "rsa.key", &t, "rsa.test");
	CHECK(r.rc == 0 && r.server_ok);
	CHECK(r.suite == first_suite(1));
	r = hs_run("rsa.crt", "rsa.key", &t, "smtp.test");
	CHECK(r.rc < 0 && r.err == BR_ERR_X509_BAD_SERVER_NAME);
	tls_client_free_ca(&t);
}

/* ---- pin mode ---- */

TEST(tls_client_pin_right)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_pin(&t, "smtp") == 0);
	CHECK(t.nanchors == 0);
	r = hs_run("smtp.crt", "smtp.key", &t, "smtp.test");
	CHECK(r.rc == 0 && r.server_ok);
	/* the pin names the key: any name, an IP literal, an expired certificate all pass */
	r = hs_run("smtp.crt", "smtp.key", &t, "192.0.2.1");
	CHECK(r.rc == 0 && r.server_ok && !r.sni);
	r = hs_run("expired.crt", "smtp.key", &t, "mail.example");
	CHECK(r.rc == 0 && r.server_ok);
}

TEST(tls_client_pin_wrong)
{
	struct tls_client_trust t;
	struct hs r;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_pin(&t, "other") == 0);
	r = hs_run("smtp.crt", "smtp.key", &t, "smtp.test");
	CHECK(r.rc < 0 && r.err == TLS_CLIENT_ERR_PIN_MISMATCH && !r.server_ok);
	CHECK_STR(r.reason, "pin mismatch");
	CHECK(!tls_client_error_is_temporary(r.err));
}

/* ---- comparing trust (a reload restarts the relay only when it changed) ---- */

TEST(tls_client_trust_equal_compares_anchors_and_pins)
{
	static struct tls_client_trust a, b;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_ca(&a, "ca-rsa.crt", 0) == 2 && tc_trust_ca(&b, "ca-rsa.crt", 0) == 2);
	CHECK(tls_client_trust_equal(&a, &b)); /* an EC and an RSA anchor, loaded twice */
	tls_client_free_ca(&b);
	CHECK(tc_trust_ca(&b, "rsa-ca.crt", 0) == 2);
	CHECK(!tls_client_trust_equal(&a, &b)); /* the same anchors in another order */
	tls_client_free_ca(&b);
	CHECK(tc_trust_ca(&b, "ca.crt", 0) == 1);
	CHECK(!tls_client_trust_equal(&a, &b));
	tls_client_free_ca(&a);
	CHECK(tc_trust_ca(&a, "smtp.crt", 0) == 1); /* another EC key and name */
	CHECK(!tls_client_trust_equal(&a, &b) && !tls_client_trust_equal(&b, &a));
	tls_client_free_ca(&a);
	tls_client_free_ca(&b);
	CHECK(tc_trust_ca(&a, "ca-rsa.crt", 0) == 2 && tc_trust_ca(&b, "ca-rsa.crt", 0) == 2);
	b.anchors[1].flags ^= BR_X509_TA_CA;
	CHECK(!tls_client_trust_equal(&a, &b));
	b.anchors[1].flags ^= BR_X509_TA_CA;
	b.anchors[0].pkey.key.ec.q[b.anchors[0].pkey.key.ec.qlen - 1] ^= 1;
	CHECK(b.anchors[0].pkey.key_type == BR_KEYTYPE_EC && !tls_client_trust_equal(&a, &b));
	b.anchors[0].pkey.key.ec.q[b.anchors[0].pkey.key.ec.qlen - 1] ^= 1;
	b.anchors[1].pkey.key.rsa.n[3] ^= 1;
	CHECK(b.anchors[1].pkey.key_type == BR_KEYTYPE_RSA && !tls_client_trust_equal(&a, &b));
	b.anchors[1].pkey.key.rsa.n[3] ^= 1;
	CHECK(tls_client_trust_equal(&a, &b));
	tls_client_free_ca(&a);
	tls_client_free_ca(&b);
	tls_client_free_ca(&a);
	tls_client_free_ca(&b);
	CHECK(tc_trust_pin(&a, "smtp") == 0 && tc_trust_pin(&b, "smtp") == 0);
	CHECK(tls_client_trust_equal(&a, &b));
	CHECK(tc_trust_pin(&b, "other") == 0);
	CHECK(!tls_client_trust_equal(&a, &b));
	CHECK(tc_trust_ca(&b, "ca.crt", 0) == 1);
	CHECK(!tls_client_trust_equal(&a, &b)); /* a pin is not a CA file */
	tls_client_free_ca(&b);
}

TEST(tls_client_pin_rsa)
{
	struct tls_client_trust t;
	struct hs r;

	if (CONFIG_TLS_PROFILE_EC_ONLY) {
		return; /* the server takes no RSA key in this build */
	}
	CHECK(tc_setup() == 0);
	CHECK(tc_trust_pin(&t, "rsa") == 0);
	r = hs_run("rsa.crt", "rsa.key", &t, "rsa.test");
	CHECK(r.rc == 0 && r.server_ok);
	CHECK(r.suite == first_suite(1));
	CHECK(tc_trust_pin(&t, "other") == 0);
	r = hs_run("rsa.crt", "rsa.key", &t, "rsa.test");
	CHECK(r.rc < 0 && r.err == TLS_CLIENT_ERR_PIN_MISMATCH);
}

/* ---- the pin class fed by hand ---- */

static size_t tc_read(const char *name, unsigned char *buf, size_t cap)
{
	FILE *f = fopen(tc_path(name), "rb");
	size_t len;

	if (f == NULL) {
		return 0;
	}
	len = fread(buf, 1, cap, f);
	fclose(f);
	return len;
}

/* One chain of one certificate through the class the engine would call. */
static unsigned pin_feed(const unsigned char *der, size_t len)
{
	const br_x509_class **x = &hs_client.pin_vtable;

	(*x)->start_chain(x, "smtp.test");
	(*x)->start_cert(x, (uint32_t)len);
	if (len > 0) {
		(*x)->append(x, der, len);
	}
	(*x)->end_cert(x);
	return (*x)->end_chain(x);
}

TEST(tls_client_pin_class_by_hand)
{
	static unsigned char der[4096], spki[512], big[TLS_CLIENT_LEAF_MAX + 1];
	const br_x509_class **x = &hs_client.pin_vtable;
	struct tls_client_trust t;
	const br_x509_pkey *pk;
	size_t len, slen, off;
	unsigned usages = 0;

	CHECK(tc_setup() == 0);
	CHECK(tc_trust_pin(&t, "smtp") == 0);
	len = tc_read("smtp.der", der, sizeof(der));
	slen = tc_read("smtp.spki", spki, sizeof(spki));
	CHECK(len > 0 && slen > 0 && memmem(der, len, spki, slen) != NULL);
	off = (size_t)((unsigned char *)memmem(der, len, spki, slen) - der);
	CHECK(tls_client_setup(&hs_client, &t, "smtp.test", hs_client_buf, BR_SSL_BUFSIZE_INPUT,
			       BR_SSL_BUFSIZE_OUTPUT) == 0);
	CHECK(pin_feed(der, len) == 0);
	pk = (*x)->get_pkey(x, &usages);
	CHECK(pk != NULL && pk->key_type == BR_KEYTYPE_EC && usages == (BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN));
	/* every truncation fails, and nothing reads past the end (ASan) */
	for (size_t n = 0; n < len; n++) {
		CHECK(pin_feed(der, n) != 0);
		CHECK((*x)->get_pkey(x, NULL) == NULL);
	}
	/* a changed byte inside the SPKI never passes */
	for (size_t i = 0; i < len; i++) {
		unsigned rc;

		der[i] ^= 0x01;
		rc = pin_feed(der, len);
		der[i] ^= 0x01;
		CHECK(rc != 0 || i < off || i >= off + slen);
	}
	/* the leaf is kept only up to TLS_CLIENT_LEAF_MAX; an empty chain has no key */
	memset(big, 0x30, sizeof(big));
	CHECK(pin_feed(big, sizeof(big)) == BR_ERR_X509_LIMIT_EXCEEDED);
	(*x)->start_chain(x, NULL);
	CHECK((*x)->end_chain(x) == BR_ERR_X509_EMPTY_CHAIN);
	CHECK((*x)->get_pkey(x, NULL) == NULL);
	t.pin[0] ^= 1;
	CHECK(pin_feed(der, len) == TLS_CLIENT_ERR_PIN_MISMATCH);
}

/* ---- loading ---- */

TEST(tls_client_load_errors)
{
	struct tls_client_trust t;
	char err[256];

	CHECK(tc_setup() == 0);
	memset(&t, 0, sizeof(t));
	CHECK(tls_client_load_ca(&t, tc_path("missing.pem"), err, sizeof(err)) < 0);
	CHECK(has(err, "missing.pem") && has(err, "No such file"));
	CHECK(tls_client_load_ca(&t, tc_path("smtp.key"), err, sizeof(err)) < 0);
	CHECK(has(err, "smtp.key: no usable certificate"));
	CHECK(tls_client_load_ca(&t, tc_path("empty.pem"), err, sizeof(err)) < 0);
	CHECK(has(err, "no usable certificate"));
	CHECK(t.anchors == NULL && t.nanchors == 0);
	/* no trust at all: nothing to set up */
	CHECK(tls_client_setup(&hs_client, &t, "smtp.test", hs_client_buf, BR_SSL_BUFSIZE_INPUT,
			       BR_SSL_BUFSIZE_OUTPUT) < 0);
}

TEST(tls_client_load_bundle_of_several)
{
	struct tls_client_trust t;
	char cmd[256];

	CHECK(tc_setup() == 0);
	snprintf(cmd, sizeof(cmd), "cd %s && cat ca.crt smtp.key rsa.crt other.crt >bundle.pem", tc_dir);
	CHECK(system(cmd) == 0);
	CHECK(tc_trust_ca(&t, "bundle.pem", 0) == 3);
	CHECK(t.nanchors == 3 && t.anchors[0].pkey.key_type == BR_KEYTYPE_EC);
	CHECK(t.anchors[1].pkey.key_type == BR_KEYTYPE_RSA && t.anchors[1].pkey.key.rsa.nlen == 256);
	CHECK(t.anchors[0].flags == BR_X509_TA_CA && t.anchors[1].flags == 0 && t.anchors[2].flags == 0);
	tls_client_free_ca(&t);
}

TEST(tls_client_load_debian_bundle)
{
	struct tls_client_trust t;
	char err[256];
	size_t ca = 0;
	int n;

	if (access(DEBIAN_BUNDLE, R_OK) != 0) {
		printf("  (skipped: no %s)\n", DEBIAN_BUNDLE);
		return;
	}
	memset(&t, 0, sizeof(t));
	n = tls_client_load_ca(&t, DEBIAN_BUNDLE, err, sizeof(err));
	CHECK(n > 100 && (size_t)n == t.nanchors);
	for (size_t i = 0; i < t.nanchors; i++) {
		ca += (t.anchors[i].flags & BR_X509_TA_CA) != 0;
	}
	CHECK(ca == t.nanchors);
	tls_client_free_ca(&t);
}

/* ---- reasons ---- */

TEST(tls_client_reasons)
{
	static const struct {
		const char *reason;
		int err;
		int temporary;
	} cases[] = {
		{ "connection closed", 0, 1 },
		{ "I/O error", BR_ERR_IO, 1 },
		{ "certificate expired or not yet valid", BR_ERR_X509_EXPIRED, 0 },
		{ "unknown CA", BR_ERR_X509_NOT_TRUSTED, 0 },
		{ "host name mismatch", BR_ERR_X509_BAD_SERVER_NAME, 0 },
		{ "pin mismatch", TLS_CLIENT_ERR_PIN_MISMATCH, 0 },
		{ "bad certificate (X.509 error 52)", BR_ERR_X509_BAD_SIGNATURE, 0 },
		{ "no shared cipher suite", BR_ERR_BAD_CIPHER_SUITE, 1 },
		{ "server sent fatal alert 40", BR_ERR_RECV_FATAL_ALERT + 40, 1 },
		{ "sent fatal alert 80", BR_ERR_SEND_FATAL_ALERT + 80, 1 },
		{ "TLS error 7", BR_ERR_BAD_MAC, 1 },
	};

	memset(&hs_client, 0, sizeof(hs_client));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_STR(tls_client_error(&hs_client, cases[i].err), cases[i].reason);
		CHECK(tls_client_error_is_temporary(cases[i].err) == cases[i].temporary);
	}
}
