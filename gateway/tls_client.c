/*
 * tls_client.c - the relay's TLS client (relay process): the BearSSL client
 * context for one smarthost connection, the trust it is given (a pin, or
 * anchors loaded by tls_anchors.c), the leaf-keeping our br_x509_classes
 * share, and the reasons for a failed handshake. Nothing here allocates.
 *
 * Pin mode runs tls_pin.c's br_x509_class. CA mode with an IP literal runs
 * another class of ours (here) around br_x509_minimal: the chain and dates
 * are its job, the leaf's iPAddress SANs ours (tls_cert.c).
 */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "test_hook.h"
#include "tls_anchors.h"
#include "tls_cert.h"
#include "tls_engine.h"
#include "tls_pin.h"

#define TLS_CLIENT_DAYS_TO_1970 719528 /* days from 0000-01-01 (BearSSL's epoch) to 1970-01-01 */

/* ---- trust: a pin, or anchors (tls_anchors.c) ---- */

void tls_client_free_ca(struct tls_client_trust *t)
{
	tls_anchors_free(&t->anchors, &t->nanchors);
}

int tls_client_load_ca(struct tls_client_trust *t, const char *path, char *err, size_t errcap)
{
	return tls_anchors_load(&t->anchors, &t->nanchors, path, err, errcap);
}

int tls_client_trust_equal(const struct tls_client_trust *a, const struct tls_client_trust *b)
{
	if (a->pinned != b->pinned || (a->pinned && memcmp(a->pin, b->pin, sizeof(a->pin)) != 0)) {
		return 0;
	}
	return tls_anchors_equal(a->anchors, a->nanchors, b->anchors, b->nanchors);
}

void tls_client_set_pin(struct tls_client_trust *t, const unsigned char pin[32])
{
	t->pinned = 1;
	memcpy(t->pin, pin, sizeof(t->pin));
}

/* ---- our br_x509_classes (pin_vtable); the leaf's bytes, kept (bounded) for the pin and the IP check ---- */

struct tls_client *tls_client_of_x509(const br_x509_class *const *ctx)
{
	return (struct tls_client *)(void *)((char *)ctx - offsetof(struct tls_client, pin_vtable));
}

void tls_client_leaf_reset(struct tls_client *c)
{
	c->leaf_len = 0;
	c->cert_index = 0;
	c->leaf_too_big = 0;
	c->pin_error = 0;
}

void tls_client_leaf_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_client *c = tls_client_of_x509(ctx);

	if (c->cert_index == 0 && length > TLS_CLIENT_LEAF_MAX) {
		c->leaf_too_big = 1;
	}
}

/* Keeps bytes of the first certificate. Returns 1 if buf was kept. */
int tls_client_leaf_keep(struct tls_client *c, const unsigned char *buf, size_t len)
{
	if (c->cert_index != 0 || c->leaf_too_big) {
		return 0;
	}
	if (len > TLS_CLIENT_LEAF_MAX - c->leaf_len) {
		c->leaf_too_big = 1;
		return 0;
	}
	memcpy(c->leaf + c->leaf_len, buf, len);
	c->leaf_len += len;
	return 1;
}

void tls_client_leaf_end_cert(const br_x509_class **ctx)
{
	tls_client_of_x509(ctx)->cert_index++;
}

/*
 * CA mode with an IP literal: br_x509_minimal checks the chain and the dates
 * but is given no name (it would match the address text against dNSName
 * entries and the CN only, RFC 6125 forbids both); the leaf's bytes are kept
 * and, once xc has accepted the chain, its subjectAltName must hold the
 * address as an iPAddress entry (TLS_CLIENT_ERR_IP_MISMATCH).
 */
static const br_x509_class **tls_ip_xc(const br_x509_class *const *ctx)
{
	return &tls_client_of_x509(ctx)->xc.vtable;
}

static void tls_ip_start_chain(const br_x509_class **ctx, const char *server_name)
{
	(void)server_name; /* the engine has none: no SNI for an IP literal (RFC 6066 section 3) */
	tls_client_leaf_reset(tls_client_of_x509(ctx));
	br_x509_minimal_vtable.start_chain(tls_ip_xc(ctx), NULL);
}

static void tls_ip_start_cert(const br_x509_class **ctx, uint32_t length)
{
	tls_client_leaf_start_cert(ctx, length);
	br_x509_minimal_vtable.start_cert(tls_ip_xc(ctx), length);
}

static void tls_ip_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	(void)tls_client_leaf_keep(tls_client_of_x509(ctx), buf, len);
	br_x509_minimal_vtable.append(tls_ip_xc(ctx), buf, len);
}

static void tls_ip_end_cert(const br_x509_class **ctx)
{
	tls_client_leaf_end_cert(ctx);
	br_x509_minimal_vtable.end_cert(tls_ip_xc(ctx));
}

static unsigned tls_ip_end_chain(const br_x509_class **ctx)
{
	struct tls_client *c = tls_client_of_x509(ctx);
	unsigned err = br_x509_minimal_vtable.end_chain(tls_ip_xc(ctx));

	if (err == 0 && c->leaf_too_big) {
		err = BR_ERR_X509_LIMIT_EXCEEDED;
	} else if (err == 0) {
		int rc = tls_cert_has_ip(c->leaf, c->leaf_len, c->ip, c->ip_len);

		err = rc > 0 ? 0 : rc == 0 ? TLS_CLIENT_ERR_IP_MISMATCH : BR_ERR_X509_INVALID_VALUE;
	}
	c->pin_error = err;
	return err;
}

static const br_x509_pkey *tls_ip_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	if (tls_client_of_x509(ctx)->pin_error != 0) {
		return NULL;
	}
	return br_x509_minimal_vtable.get_pkey(tls_ip_xc(ctx), usages);
}

static const br_x509_class tls_ip_class = {
	sizeof(struct tls_client), tls_ip_start_chain, tls_ip_start_cert, tls_ip_append,
	tls_ip_end_cert,           tls_ip_end_chain,   tls_ip_get_pkey,
};

/* ---- per connection ---- */

static const struct {
	int id;
	const br_hash_class *impl;
} tls_client_hashes[] = {
	{ br_sha1_ID, &br_sha1_vtable },     { br_sha224_ID, &br_sha224_vtable }, { br_sha256_ID, &br_sha256_vtable },
	{ br_sha384_ID, &br_sha384_vtable }, { br_sha512_ID, &br_sha512_vtable },
};

static void tls_client_engine(br_ssl_client_context *cc)
{
	br_ssl_engine_context *eng = &cc->eng;

	tls_engine_profile(eng, 1, 1);
	for (size_t i = 0; i < sizeof(tls_client_hashes) / sizeof(tls_client_hashes[0]); i++) {
		br_ssl_engine_set_hash(eng, tls_client_hashes[i].id, tls_client_hashes[i].impl);
	}
	/* the ServerKeyExchange signature: ECDSA, and RSA unless EC-only */
	br_ssl_engine_set_default_ecdsa(eng);
	if (!CONFIG_TLS_PROFILE_EC_ONLY) {
		br_ssl_engine_set_default_rsavrfy(eng);
	}
}

/* Validity is judged at max(now, clock floor); BearSSL counts days from 0000-01-01. */
static void tls_client_ca(struct tls_client *c, const struct tls_client_trust *t)
{
	br_x509_minimal_context *xc = &c->xc;
	time_t when = test_hook_clock(); /* time(NULL) but in the test build */

	br_x509_minimal_init(xc, &br_sha256_vtable, t->anchors, t->nanchors);
	for (size_t i = 0; i < sizeof(tls_client_hashes) / sizeof(tls_client_hashes[0]); i++) {
		br_x509_minimal_set_hash(xc, tls_client_hashes[i].id, tls_client_hashes[i].impl);
	}
	/* chains are often RSA-signed even for an EC leaf, so RSA stays in the EC-only profile */
	br_x509_minimal_set_rsa(xc, br_rsa_pkcs1_vrfy_get_default());
	br_x509_minimal_set_ecdsa(xc, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
	if (when < t->clock_floor) {
		when = t->clock_floor;
		c->clock_floored = 1;
	}
	if (when < 0) {
		when = 0;
	}
	br_x509_minimal_set_time(xc, (uint32_t)(TLS_CLIENT_DAYS_TO_1970 + when / 86400), (uint32_t)(when % 86400));
}

/* IPv6 has a colon; an all-numeric dotted name is IPv4 (no DNS name has a numeric TLD). */
static int tls_client_is_ip(const char *name)
{
	return strchr(name, ':') != NULL || name[strspn(name, "0123456789.")] == '\0';
}

/* The literal as the bytes an iPAddress entry holds: 4 or 16. Returns 0, or -1 if it is no address. */
static int tls_client_ip_bytes(struct tls_client *c, const char *name)
{
	int v6 = strchr(name, ':') != NULL;

	if (snprintf(c->ip_name, sizeof(c->ip_name), "%s", name) >= (int)sizeof(c->ip_name) ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, name, c->ip) != 1) {
		return -1;
	}
	c->ip_len = v6 ? 16 : 4;
	return 0;
}

int tls_client_setup(struct tls_client *c, const struct tls_client_trust *t, const char *server_name, void *iobuf,
		     size_t in_size, size_t out_size)
{
	int ip = tls_client_is_ip(server_name);
	int own = t->pinned || ip; /* our class: the pin, or xc plus the IP check */

	c->ip_name[0] = '\0';
	c->ip_len = 0;
	if ((!t->pinned && t->nanchors == 0) || server_name[0] == '\0' ||
	    (ip && tls_client_ip_bytes(c, server_name) < 0)) {
		return -1;
	}
	c->trust = t;
	c->clock_floored = 0;
	c->pin_vtable = t->pinned ? &tls_pin_class : &tls_ip_class;
	br_ssl_client_zero(&c->cc);
	tls_client_engine(&c->cc);
	if (!t->pinned) {
		tls_client_ca(c, t);
	}
	br_ssl_engine_set_x509(&c->cc.eng, own ? &c->pin_vtable : &c->xc.vtable);
	br_ssl_engine_set_buffers_bidi(&c->cc.eng, iobuf, in_size, (unsigned char *)iobuf + in_size, out_size);
	return br_ssl_client_reset(&c->cc, ip ? NULL : server_name, 0) ? 0 : -1;
}

/* ---- reasons ---- */

const char *tls_client_error(const struct tls_client *c, int err)
{
	static char buf[144];

	switch (err) {
	case BR_ERR_X509_EXPIRED:
		return c->clock_floored ? "certificate expired or not yet valid (clock floor used)"
					: tls_engine_error(err, "server", buf, sizeof(buf));
	case TLS_CLIENT_ERR_PIN_MISMATCH:
		return "pin mismatch";
	case TLS_CLIENT_ERR_IP_MISMATCH:
		snprintf(buf, sizeof(buf), "IP address mismatch (no subjectAltName IP address %s in the certificate)",
			 c->ip_name);
		return buf;
	default:
		return tls_engine_error(err, "server", buf, sizeof(buf));
	}
}

int tls_client_error_is_temporary(int err)
{
	int cert = (err >= BR_ERR_X509_OK && err <= 63) || err == TLS_CLIENT_ERR_PIN_MISMATCH ||
		   err == TLS_CLIENT_ERR_IP_MISMATCH || err == BR_ERR_WRONG_KEY_USAGE;

	return !cert;
}
