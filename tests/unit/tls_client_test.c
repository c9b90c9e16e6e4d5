/*
 * tls_client_test.c - the relay's TLS client in real handshakes (tls_kit.c):
 * CA mode with the right and a wrong name, an IP literal (only an iPAddress
 * SAN matches), an unknown CA, an expired certificate and the clock floor,
 * an RSA server, renegotiation refused, and the reasons for failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "tls_client.h"
#include "tls_kit.h"
#include "tls_pump.h"

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
		{ "bad record MAC", BR_ERR_BAD_MAC, 1 },
		{ "TLS error 1", BR_ERR_BAD_PARAM, 1 },
	};

	memset(&hs_client, 0, sizeof(hs_client));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_STR(tls_client_error(&hs_client, cases[i].err), cases[i].reason);
		CHECK(tls_client_error_is_temporary(cases[i].err) == cases[i].temporary);
	}
}
