/*
 * tls_anchors_test.c - trust anchors from CA bundles (tls_anchors.c, through
 * tls_client_load_ca): equality of loaded sets and pins, load errors, a
 * bundle of several, Debian's bundle, and the two fixed stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "tls_anchors.h"
#include "tls_client.h"
#include "tls_kit.h"

#define DEBIAN_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

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

/* Two sets at once (in use, and a reload's beside it); a third waits until one is given back. */
TEST(tls_anchors_two_stores_then_refused_until_freed)
{
	br_x509_trust_anchor *a = NULL, *b = NULL, *c = NULL;
	size_t na = 0, nb = 0, nc = 0;
	char err[256];

	CHECK(tc_setup() == 0);
	CHECK(tls_anchors_load(&a, &na, tc_path("ca.crt"), err, sizeof(err)) == 1);
	CHECK(tls_anchors_load(&b, &nb, tc_path("ca.crt"), err, sizeof(err)) == 1);
	CHECK(a != b && tls_anchors_equal(a, na, b, nb));
	CHECK(tls_anchors_load(&c, &nc, tc_path("ca.crt"), err, sizeof(err)) < 0 && c == NULL && nc == 0);
	CHECK(has(err, "no free trust anchor store"));
	tls_anchors_free(&a, &na);
	CHECK(a == NULL && na == 0);
	tls_anchors_free(&a, &na); /* again: harmless, b keeps its store */
	CHECK(tls_anchors_load(&c, &nc, tc_path("ca.crt"), err, sizeof(err)) == 1 && c != b);
	CHECK(tls_anchors_equal(b, nb, c, nc));
	tls_anchors_free(&b, &nb);
	tls_anchors_free(&c, &nc);
}
