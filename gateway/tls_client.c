/*
 * tls_client.c - the relay's TLS client (relay process): trust anchors from a
 * PEM bundle or an SPKI pin, and the BearSSL client context for one
 * smarthost connection. Owns the anchors (two fixed stores: in use and a
 * reload's); nothing here allocates.
 *
 * Pin mode runs its own br_x509_class: it keeps the leaf certificate, takes
 * its key from br_x509_decoder, and compares the SHA-256 of the leaf's
 * SubjectPublicKeyInfo DER with the pin. A mismatch fails the handshake with
 * TLS_CLIENT_ERR_PIN_MISMATCH. The rest of the chain is ignored; the
 * handshake proves that the server holds the pinned key. CA mode with an IP
 * literal runs another class of ours around br_x509_minimal: the chain and
 * dates are its job, the leaf's iPAddress SANs ours (tls_cert.c).
 */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "secret.h"
#include "test_hook.h"
#include "tls_cert.h"
#include "tls_engine.h"
#include "tls_pem.h"

#define TLS_CLIENT_CA_FILE_MAX  ((size_t)4 << 20)
#define TLS_CLIENT_DAYS_TO_1970 719528 /* days from 0000-01-01 (BearSSL's epoch) to 1970-01-01 */

/* ---- trust anchors (start-up) ---- */

/*
 * The anchors and their bytes (names, keys): the set in use and the one a
 * reload loads beside it (tls_client_free_ca gives its store back). The trust
 * struct points into them, so it may be copied.
 */
static struct tls_ca_store {
	br_x509_trust_anchor anchors[CONFIG_TLS_CA_ANCHORS_MAX];
	unsigned char bytes[CONFIG_TLS_CA_STORE_KB * 1024];
	size_t used;
	int taken;
} tls_ca_stores[2];

struct tls_ca_load {
	struct tls_client_trust *t;
	struct tls_ca_store *st;
	int too_many;
	int full;
};

struct tls_ca_dn {
	unsigned char *buf;
	size_t len, cap;
	int overflow;
};

static void tls_ca_dn_append(void *ctx, const void *data, size_t len)
{
	struct tls_ca_dn *d = ctx;

	if (d->overflow || len > d->cap - d->len) {
		d->overflow = 1;
		return;
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
}

/* Copies len bytes into the store; NULL when it is full. */
static unsigned char *tls_ca_keep(struct tls_ca_store *st, const unsigned char *p, size_t len)
{
	unsigned char *q = st->bytes + st->used;

	if (len > sizeof(st->bytes) - st->used) {
		return NULL;
	}
	memcpy(q, p, len);
	st->used += len;
	return q;
}

/* Copies the key's buffers (the decoder's are gone after this certificate). */
static int tls_ca_copy_key(struct tls_ca_store *st, br_x509_pkey *dst, const br_x509_pkey *src)
{
	*dst = *src;
	if (src->key_type == BR_KEYTYPE_RSA) {
		dst->key.rsa.n = tls_ca_keep(st, src->key.rsa.n, src->key.rsa.nlen);
		dst->key.rsa.e = tls_ca_keep(st, src->key.rsa.e, src->key.rsa.elen);
		return dst->key.rsa.n && dst->key.rsa.e ? 0 : -1;
	}
	dst->key.ec.q = tls_ca_keep(st, src->key.ec.q, src->key.ec.qlen);
	return dst->key.ec.q ? 0 : -1;
}

/*
 * One certificate -> one anchor, as BearSSL's tools/ta.c builds them: the
 * subject DN, the key, and BR_X509_TA_CA when the certificate is a CA. A
 * non-CA certificate becomes a direct-trust anchor for that exact key.
 * Certificates BearSSL cannot decode (other key types) are skipped. The DN
 * is decoded straight into the store, which keeps it only for an anchor.
 */
static int tls_ca_add(struct tls_ca_load *l, const unsigned char *der, size_t len)
{
	struct tls_ca_store *st = l->st;
	size_t mark = st->used;
	struct tls_ca_dn dn = { st->bytes + mark, 0, sizeof(st->bytes) - mark, 0 };
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;
	br_x509_trust_anchor *ta;

	br_x509_decoder_init(&dc, tls_ca_dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL || dn.len == 0) {
		return 0;
	}
	if (l->t->nanchors >= CONFIG_TLS_CA_ANCHORS_MAX) {
		l->too_many = 1;
		return -1;
	}
	ta = &st->anchors[l->t->nanchors];
	memset(ta, 0, sizeof(*ta));
	st->used += dn.len;
	ta->dn.data = dn.buf;
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	if (dn.overflow || tls_ca_copy_key(st, &ta->pkey, pk) < 0) {
		st->used = mark;
		l->full = 1;
		return -1;
	}
	l->t->nanchors++;
	return 0;
}

static int tls_ca_object(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	if (strcmp(label, "CERTIFICATE") != 0 && strcmp(label, "X509 CERTIFICATE") != 0) {
		return 0;
	}
	return tls_ca_add(ctx, der, len);
}

void tls_client_free_ca(struct tls_client_trust *t)
{
	for (size_t i = 0; i < sizeof(tls_ca_stores) / sizeof(tls_ca_stores[0]); i++) {
		if (t->anchors != NULL && t->anchors == tls_ca_stores[i].anchors) {
			tls_ca_stores[i].taken = 0;
		}
	}
	t->anchors = NULL;
	t->nanchors = 0;
}

/* A free store, taken; NULL when both hold anchors in use. */
static struct tls_ca_store *tls_ca_take(void)
{
	for (size_t i = 0; i < sizeof(tls_ca_stores) / sizeof(tls_ca_stores[0]); i++) {
		if (!tls_ca_stores[i].taken) {
			tls_ca_stores[i].taken = 1;
			tls_ca_stores[i].used = 0;
			return &tls_ca_stores[i];
		}
	}
	return NULL;
}

int tls_client_load_ca(struct tls_client_trust *t, const char *path, char *err, size_t errcap)
{
	struct tls_ca_load l = { t, tls_ca_take(), 0, 0 };
	int rc;

	t->anchors = l.st != NULL ? l.st->anchors : NULL;
	t->nanchors = 0;
	if (l.st == NULL) {
		snprintf(err, errcap, "%s: no free trust anchor store (two sets loaded already)", path);
		return -1;
	}
	rc = tls_pem_decode_file(path, TLS_CLIENT_CA_FILE_MAX, tls_ca_object, &l);
	if (l.too_many) {
		snprintf(err, errcap, "%s: more than %d certificates", path, CONFIG_TLS_CA_ANCHORS_MAX);
	} else if (l.full) {
		snprintf(err, errcap, "%s: the anchors need more than %d KiB (CONFIG_TLS_CA_STORE_KB)", path,
			 CONFIG_TLS_CA_STORE_KB);
	} else if (rc == -1) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
	} else if (rc < 0 || t->nanchors == 0) {
		snprintf(err, errcap, "%s: %s", path,
			 rc < 0 ? "not valid PEM" : "no usable certificate (RSA or EC key) found");
	}
	if (rc < 0 || l.too_many || l.full || t->nanchors == 0) {
		tls_client_free_ca(t);
		return -1;
	}
	return (int)t->nanchors;
}

static int tls_bytes_equal(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int tls_anchor_equal(const br_x509_trust_anchor *a, const br_x509_trust_anchor *b)
{
	const br_x509_pkey *ka = &a->pkey, *kb = &b->pkey;

	if (a->flags != b->flags || ka->key_type != kb->key_type ||
	    !tls_bytes_equal(a->dn.data, a->dn.len, b->dn.data, b->dn.len)) {
		return 0;
	}
	if (ka->key_type == BR_KEYTYPE_RSA) {
		return tls_bytes_equal(ka->key.rsa.n, ka->key.rsa.nlen, kb->key.rsa.n, kb->key.rsa.nlen) &&
		       tls_bytes_equal(ka->key.rsa.e, ka->key.rsa.elen, kb->key.rsa.e, kb->key.rsa.elen);
	}
	return ka->key.ec.curve == kb->key.ec.curve &&
	       tls_bytes_equal(ka->key.ec.q, ka->key.ec.qlen, kb->key.ec.q, kb->key.ec.qlen);
}

int tls_client_trust_equal(const struct tls_client_trust *a, const struct tls_client_trust *b)
{
	if (a->pinned != b->pinned || (a->pinned && memcmp(a->pin, b->pin, sizeof(a->pin)) != 0) ||
	    a->nanchors != b->nanchors) {
		return 0;
	}
	for (size_t i = 0; i < a->nanchors; i++) {
		if (!tls_anchor_equal(&a->anchors[i], &b->anchors[i])) {
			return 0;
		}
	}
	return 1;
}

void tls_client_set_pin(struct tls_client_trust *t, const unsigned char pin[32])
{
	t->pinned = 1;
	memcpy(t->pin, pin, sizeof(t->pin));
}

/* ---- our br_x509_classes (pin_vtable); the leaf's bytes, kept (bounded) for the pin and the IP check ---- */

static struct tls_client *tls_client_of(const br_x509_class *const *ctx)
{
	return (struct tls_client *)(void *)((char *)ctx - offsetof(struct tls_client, pin_vtable));
}

static void tls_leaf_reset(struct tls_client *c)
{
	c->leaf_len = 0;
	c->cert_index = 0;
	c->leaf_too_big = 0;
	c->pin_error = 0;
}

static void tls_leaf_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_client *c = tls_client_of(ctx);

	if (c->cert_index == 0 && length > TLS_CLIENT_LEAF_MAX) {
		c->leaf_too_big = 1;
	}
}

/* Keeps bytes of the first certificate. Returns 1 if buf was kept. */
static int tls_leaf_keep(struct tls_client *c, const unsigned char *buf, size_t len)
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

static void tls_leaf_end_cert(const br_x509_class **ctx)
{
	tls_client_of(ctx)->cert_index++;
}

/* ---- the SPKI pin (a br_x509_class) ---- */

static void tls_pin_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_client *c = tls_client_of(ctx);

	(void)server_name; /* the pin names the key; the name does not matter */
	tls_leaf_reset(c);
	memset(&c->leaf_key, 0, sizeof(c->leaf_key));
	br_x509_decoder_init(&c->leaf_decoder, NULL, NULL);
}

static void tls_pin_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_client *c = tls_client_of(ctx);

	if (tls_leaf_keep(c, buf, len)) {
		br_x509_decoder_push(&c->leaf_decoder, buf, len);
	}
}

static unsigned tls_pin_check(struct tls_client *c)
{
	br_sha256_context h;
	unsigned char hash[br_sha256_SIZE];
	const br_x509_pkey *pk;
	size_t off, len;
	int err;

	if (c->cert_index == 0) {
		return BR_ERR_X509_EMPTY_CHAIN;
	}
	if (c->leaf_too_big) {
		return BR_ERR_X509_LIMIT_EXCEEDED;
	}
	err = br_x509_decoder_last_error(&c->leaf_decoder);
	pk = br_x509_decoder_get_pkey(&c->leaf_decoder);
	if (err != 0 || pk == NULL) {
		return err != 0 ? (unsigned)err : BR_ERR_X509_UNSUPPORTED;
	}
	/* same TLVs as the decoder walked (it rejects more), so the bytes hashed hold the key returned */
	if (tls_cert_spki(c->leaf, c->leaf_len, &off, &len) < 0) {
		return BR_ERR_X509_INVALID_VALUE;
	}
	c->leaf_key = *pk;
	br_sha256_init(&h);
	br_sha256_update(&h, c->leaf + off, len);
	br_sha256_out(&h, hash);
	return secret_equal(hash, c->trust->pin, sizeof(hash)) ? 0 : TLS_CLIENT_ERR_PIN_MISMATCH;
}

static unsigned tls_pin_end_chain(const br_x509_class **ctx)
{
	struct tls_client *c = tls_client_of(ctx);

	c->pin_error = tls_pin_check(c);
	return c->pin_error;
}

static const br_x509_pkey *tls_pin_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct tls_client *c = tls_client_of(ctx);

	if (c->pin_error != 0 || c->leaf_key.key_type == 0) {
		return NULL;
	}
	if (usages != NULL) {
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	}
	return &c->leaf_key;
}

static const br_x509_class tls_pin_class = {
	sizeof(struct tls_client), tls_pin_start_chain, tls_leaf_start_cert, tls_pin_append,
	tls_leaf_end_cert,         tls_pin_end_chain,   tls_pin_get_pkey,
};

/*
 * CA mode with an IP literal: br_x509_minimal checks the chain and the dates
 * but is given no name (it would match the address text against dNSName
 * entries and the CN only, RFC 6125 forbids both); the leaf's bytes are kept
 * and, once xc has accepted the chain, its subjectAltName must hold the
 * address as an iPAddress entry (TLS_CLIENT_ERR_IP_MISMATCH).
 */
static const br_x509_class **tls_ip_xc(const br_x509_class *const *ctx)
{
	return &tls_client_of(ctx)->xc.vtable;
}

static void tls_ip_start_chain(const br_x509_class **ctx, const char *server_name)
{
	(void)server_name; /* the engine has none: no SNI for an IP literal (RFC 6066 section 3) */
	tls_leaf_reset(tls_client_of(ctx));
	br_x509_minimal_vtable.start_chain(tls_ip_xc(ctx), NULL);
}

static void tls_ip_start_cert(const br_x509_class **ctx, uint32_t length)
{
	tls_leaf_start_cert(ctx, length);
	br_x509_minimal_vtable.start_cert(tls_ip_xc(ctx), length);
}

static void tls_ip_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	(void)tls_leaf_keep(tls_client_of(ctx), buf, len);
	br_x509_minimal_vtable.append(tls_ip_xc(ctx), buf, len);
}

static void tls_ip_end_cert(const br_x509_class **ctx)
{
	tls_leaf_end_cert(ctx);
	br_x509_minimal_vtable.end_cert(tls_ip_xc(ctx));
}

static unsigned tls_ip_end_chain(const br_x509_class **ctx)
{
	struct tls_client *c = tls_client_of(ctx);
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
	if (tls_client_of(ctx)->pin_error != 0) {
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
	case BR_ERR_OK:
		return "connection closed";
	case BR_ERR_IO:
		return "I/O error";
	case BR_ERR_X509_EXPIRED:
		return c->clock_floored ? "certificate expired or not yet valid (clock floor used)"
					: "certificate expired or not yet valid";
	case BR_ERR_X509_NOT_TRUSTED:
		return "unknown CA";
	case BR_ERR_X509_BAD_SERVER_NAME:
		return "host name mismatch";
	case TLS_CLIENT_ERR_PIN_MISMATCH:
		return "pin mismatch";
	case TLS_CLIENT_ERR_IP_MISMATCH:
		snprintf(buf, sizeof(buf), "IP address mismatch (no subjectAltName IP address %s in the certificate)",
			 c->ip_name);
		return buf;
	case BR_ERR_X509_LIMIT_EXCEEDED:
		return "certificate or chain too large";
	case BR_ERR_BAD_VERSION:
	case BR_ERR_UNSUPPORTED_VERSION:
		return "unsupported protocol version";
	case BR_ERR_BAD_CIPHER_SUITE:
		return "no shared cipher suite";
	case BR_ERR_WRONG_KEY_USAGE:
		return "certificate key does not fit the cipher suite";
	default:
		break;
	}
	if (err >= BR_ERR_SEND_FATAL_ALERT) {
		snprintf(buf, sizeof(buf), "sent fatal alert %d", err - BR_ERR_SEND_FATAL_ALERT);
	} else if (err >= BR_ERR_RECV_FATAL_ALERT) {
		snprintf(buf, sizeof(buf), "server sent fatal alert %d", err - BR_ERR_RECV_FATAL_ALERT);
	} else if (err >= BR_ERR_X509_OK && err <= 63) {
		snprintf(buf, sizeof(buf), "bad certificate (X.509 error %d)", err);
	} else {
		snprintf(buf, sizeof(buf), "TLS error %d", err);
	}
	return buf;
}

int tls_client_error_is_temporary(int err)
{
	int cert = (err >= BR_ERR_X509_OK && err <= 63) || err == TLS_CLIENT_ERR_PIN_MISMATCH ||
		   err == TLS_CLIENT_ERR_IP_MISMATCH || err == BR_ERR_WRONG_KEY_USAGE;

	return !cert;
}
