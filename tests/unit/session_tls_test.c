/*
 * session_tls_test.c - STARTTLS as a transition, with a real handshake: the
 * session (session_stub.c) holds a self-signed certificate (cert_self.c),
 * a helper process plays `auth` (it signs the handshake and accepts the
 * login), and the test is a BearSSL client that pins the key (tls_client.c)
 * and talks through a struct conn of its own. After TLS the session has
 * forgotten the EHLO (RFC 3207 4.2): commands wait for a new EHLO, which
 * offers AUTH instead of STARTTLS, and PIPELINING is off until then.
 */
#include "config.h"

#if CONFIG_TOOL_CERT

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cert_self.h"
#include "harness.h"
#include "session_stub.h"
#include "tls_client.h"
#include "tls_key.h"

#define SEND_EHLO "503 5.5.1 Error: send EHLO first"

static struct cert_self_key tt_key;
static unsigned char tt_der[CERT_SELF_DER_MAX];
static struct tls_creds tt_creds;
static struct tls_client_trust tt_trust;
static struct tls_client tt_client;
static unsigned char tt_client_buf[BR_SSL_BUFSIZE_BIDI];
static struct conn tt_conn;
static void (*tt_old_pipe)(int);

/* A certificate for the session and a pin for the client. Returns 0 or -1. */
static int tt_identity(void)
{
	struct cert_self_req r = { .hostname = STUB_HOST };
	unsigned char pin[32];
	size_t len;

	r.not_before = (long long)time(NULL) - 86400;
	r.not_after = r.not_before + 3LL * 86400;
	if (cert_self_keygen(&tt_key) < 0 || cert_self_serial(&r) < 0 ||
	    (len = cert_self_build(&r, &tt_key, tt_der, sizeof(tt_der))) == 0) {
		return -1;
	}
	tt_creds.chain[0].data = tt_der;
	tt_creds.chain[0].data_len = len;
	tt_creds.chain_len = 1;
	tt_creds.key_type = BR_KEYTYPE_EC;
	cert_self_spki_sha256(&tt_key, pin);
	tls_client_set_pin(&tt_trust, pin);
	return 0;
}

/* `auth`, as far as this session needs it: handshake signatures and one good login. */
static void tt_auth(int fd)
{
	static struct ipc_frame f;
	static struct tls_key k;
	const struct proto_tls_sign *req = (const struct proto_tls_sign *)f.payload;
	struct proto_tls_signature sig;

	k.type = BR_KEYTYPE_EC;
	k.ec = tt_key.sk;
	while (ipc_recv(fd, &f, NULL) == 1) {
		if (f.hdr.type == PROTO_TLS_SIGN && f.hdr.len == sizeof(*req) && req->hv_len <= sizeof(req->hv)) {
			memset(&sig, 0, sizeof(sig));
			sig.len =
			    (uint32_t)tls_key_sign(&k, req->algo_id, req->hv, req->hv_len, sig.sig, sizeof(sig.sig));
			ipc_send(fd, PROTO_TLS_SIGNATURE, &sig, sizeof(sig), -1);
		} else if (f.hdr.type == PROTO_AUTH_PLAIN) {
			stub_auth_send(fd, PROTO_AUTH_OK);
		}
	}
	_exit(0);
}

/* One reply over TLS, lines joined by \n. Returns 0, or -1. */
static int tt_reply(char *out, size_t cap)
{
	char line[512];
	size_t used = 0, len;

	for (;;) {
		if (conn_read_line(&tt_conn, line, sizeof(line), &len, 10) != CONN_LINE_OK) {
			return -1;
		}
		int n = snprintf(out + used, cap - used, "%s%s", used > 0 ? "\n" : "", line);
		if (n < 0 || (size_t)n >= cap - used) {
			return -1;
		}
		used += (size_t)n;
		if (len < 4 || line[3] != '-') {
			return 0;
		}
	}
}

static void tt_step(const char *bytes, const char *want, int at)
{
	char got[1024] = "";

	if ((bytes != NULL && (conn_write(&tt_conn, bytes, strlen(bytes)) < 0 || conn_flush(&tt_conn, 10) < 0)) ||
	    tt_reply(got, sizeof(got)) < 0 || strcmp(got, want) != 0) {
		printf("  line %d: %s: got \"%s\"\n    want \"%s\"\n", at, bytes != NULL ? bytes : "(read)", got, want);
		harness_fail(__FILE__, at, "the reply over TLS");
	}
}

#define TT_EXPECT(bytes, want) tt_step((bytes), (want), __LINE__)
#define TT_REPLY(want)         tt_step(NULL, (want), __LINE__)

/* The session after EHLO, then STARTTLS and the handshake; 0, or -1. */
static int tt_start(struct stub *t, pid_t *auth)
{
	char got[256];

	tt_conn.fd = -1;
	*auth = -1;
	tt_old_pipe = signal(SIGPIPE, SIG_IGN); /* the client's close_notify may find the session gone */
	stub_set_creds(&tt_creds);
	if (stub_start(t, SESSION_READY, 0) < 0) {
		stub_set_creds(NULL);
		return -1;
	}
	stub_set_creds(NULL);
	*auth = fork();
	if (*auth == 0) {
		tt_auth(t->auth_fd);
	}
	if (*auth < 0 || stub_cmd(t, "STARTTLS", got, sizeof(got)) < 0 ||
	    strcmp(got, "220 2.0.0 Ready to start TLS") != 0) {
		return -1;
	}
	conn_init(&tt_conn, t->fd);
	t->fd = -1; /* the conn has it now */
	if (tls_client_setup(&tt_client, &tt_trust, STUB_HOST, tt_client_buf, BR_SSL_BUFSIZE_INPUT,
			     BR_SSL_BUFSIZE_OUTPUT) < 0) {
		return -1;
	}
	return conn_start_tls(&tt_conn, &tt_client.cc.eng, 10);
}

/* The session ends; so do the helper and the session process, both with 0. */
static void tt_end(struct stub *t, pid_t auth, int at)
{
	char line[64];
	size_t len;
	int status = -1;

	if (tt_conn.fd >= 0) {
		if (conn_read_line(&tt_conn, line, sizeof(line), &len, 10) != CONN_LINE_EOF) {
			harness_fail(__FILE__, at, "the session closes");
		}
		close(tt_conn.fd); /* no close_notify: the session has gone */
		tt_conn.fd = -1;
	}
	if (!stub_finish(t)) {
		harness_fail(__FILE__, at, "the session process exits with 0");
	}
	if (auth > 0 && (waitpid(auth, &status, 0) != auth || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		harness_fail(__FILE__, at, "the auth helper exits with 0");
	}
	stub_close_channels(t);
	signal(SIGPIPE, tt_old_pipe);
}

TEST(session_starttls_forgets_the_ehlo)
{
	struct stub t;
	pid_t auth = -1;

	if (tt_identity() < 0 || tt_start(&t, &auth) < 0) {
		harness_fail(__FILE__, __LINE__, "STARTTLS and the handshake");
		tt_end(&t, auth, __LINE__);
		return;
	}
	CHECK(stub_queue_answer(&t, 0) == 0);
	TT_EXPECT("MAIL FROM:<alice@example.com>\r\n", SEND_EHLO);
	TT_EXPECT("AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==\r\n", SEND_EHLO);
	TT_EXPECT("EHLO client.example.test\r\n", STUB_EHLO_TLS);
	TT_EXPECT("STARTTLS\r\n", "554 5.5.1 Error: TLS already active");
	TT_EXPECT("AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==\r\n", "235 2.7.0 Authentication successful");
	TT_EXPECT("MAIL FROM:<alice@example.com>\r\n", "250 2.1.0 Ok");
	TT_EXPECT("QUIT\r\n", "221 2.0.0 Bye");
	tt_end(&t, auth, __LINE__);
}

/* Before the new EHLO, PIPELINING is not offered: two commands in one record end the session. */
TEST(session_starttls_ends_pipelining_until_ehlo)
{
	struct stub t;
	pid_t auth = -1;

	if (tt_identity() < 0 || tt_start(&t, &auth) < 0) {
		harness_fail(__FILE__, __LINE__, "STARTTLS and the handshake");
		tt_end(&t, auth, __LINE__);
		return;
	}
	TT_EXPECT("RSET\r\nRSET\r\n", "554 5.5.0 Error: SMTP protocol synchronization");
	tt_end(&t, auth, __LINE__);
}

#endif
