/*
 * tls_kit.c - what the relay's TLS client tests share (tls_kit.h): test
 * certificates made with the openssl CLI: a CA, smtp.test and other.test
 * signed by it (EC P-256), an expired smtp.test (openssl ca
 * -startdate/-enddate), a self-signed RSA 2048 rsa.test; pins come from
 * openssl's own pipeline. For IP-literal smarthosts, leaves whose
 * subjectAltName holds only IP:127.0.0.1 (ip4), only IP:::1 (ip6),
 * IP:127.0.0.2 and DNS:127.0.0.1 (ip2), and none at all with CN=127.0.0.1
 * (cn127). And one real handshake: a BearSSL server (tls_creds_load +
 * tls_server_setup) in a forked child and the client over a socketpair,
 * both driven by tls_pump.
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
#include "tls_kit.h"
#include "tls_pem.h"
#include "tls_pump.h"
#include "tls_server.h"

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

char tc_dir[64];
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

const char *tc_path(const char *name)
{
	static char path[4][128];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tc_dir, name);
	return p;
}

int tc_setup(void)
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
int tc_pin(const char *name, unsigned char pin[32])
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

int tc_trust_ca(struct tls_client_trust *t, const char *file, time_t floor)
{
	char err[256];

	memset(t, 0, sizeof(*t));
	t->clock_floor = floor;
	return tls_client_load_ca(t, tc_path(file), err, sizeof(err));
}

int tc_trust_pin(struct tls_client_trust *t, const char *name)
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

unsigned char hs_client_buf[BR_SSL_BUFSIZE_BIDI];
static unsigned char hs_server_buf[BR_SSL_BUFSIZE_BIDI];
struct tls_client hs_client;
static br_ssl_server_context hs_server_cc;
int hs_renegotiate; /* the server asks to renegotiate (HelloRequest) after "ping" */

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

struct hs hs_run(const char *cert, const char *key, const struct tls_client_trust *t, const char *name)
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

int has(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

/* The client's first choice the server also has (the server enforces its own order, the same). */
uint16_t first_suite(int rsa)
{
	if (CONFIG_TLS_CHACHA20) {
		return rsa ? BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
			   : BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;
	}
	return rsa ? BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 : BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
}
