/*
 * tls_pin_test.c - the SPKI pin (tls_pin.c): right and wrong pins in real
 * handshakes (tls_kit.c; EC and RSA, an IP literal needs no name), and the
 * pin class fed by hand: the key it returns, an empty chain, a leaf too
 * large, DER it cannot walk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "tls_client.h"
#include "tls_kit.h"
#include "tls_pin.h"

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
