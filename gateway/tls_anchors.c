/*
 * tls_anchors.c - the smarthost's trust anchors: a PEM CA bundle decoded
 * into BearSSL anchors (master and relay keeper; at start and on a reload).
 * They live in two fixed stores (CONFIG_TLS_CA_ANCHORS_MAX anchors and
 * CONFIG_TLS_CA_STORE_KB of names and keys each): the set in use and the one
 * a reload loads beside it, compared (tls_anchors_equal) before they swap.
 * Nothing here allocates.
 */
#include "tls_anchors.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tls_pem.h"

#define TLS_ANCHORS_FILE_MAX ((size_t)4 << 20)

/*
 * The anchors and their bytes (names, keys): the set in use and the one a
 * reload loads beside it (tls_anchors_free gives its store back). Callers
 * hold pointers into them, so their structs may be copied.
 */
static struct tls_ca_store {
	br_x509_trust_anchor anchors[CONFIG_TLS_CA_ANCHORS_MAX];
	unsigned char bytes[CONFIG_TLS_CA_STORE_KB * 1024];
	size_t used;
	int taken;
} tls_ca_stores[2];

struct tls_ca_load {
	size_t n; /* anchors so far */
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
	if (l->n >= CONFIG_TLS_CA_ANCHORS_MAX) {
		l->too_many = 1;
		return -1;
	}
	ta = &st->anchors[l->n];
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
	l->n++;
	return 0;
}

static int tls_ca_object(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	if (strcmp(label, "CERTIFICATE") != 0 && strcmp(label, "X509 CERTIFICATE") != 0) {
		return 0;
	}
	return tls_ca_add(ctx, der, len);
}

void tls_anchors_free(br_x509_trust_anchor **anchors, size_t *n)
{
	for (size_t i = 0; i < sizeof(tls_ca_stores) / sizeof(tls_ca_stores[0]); i++) {
		if (*anchors != NULL && *anchors == tls_ca_stores[i].anchors) {
			tls_ca_stores[i].taken = 0;
		}
	}
	*anchors = NULL;
	*n = 0;
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

int tls_anchors_load(br_x509_trust_anchor **anchors, size_t *n, const char *path, char *err, size_t errcap)
{
	struct tls_ca_load l = { 0, tls_ca_take(), 0, 0 };
	int rc;

	*anchors = l.st != NULL ? l.st->anchors : NULL;
	*n = 0;
	if (l.st == NULL) {
		snprintf(err, errcap, "%s: no free trust anchor store (two sets loaded already)", path);
		return -1;
	}
	rc = tls_pem_decode_file(path, TLS_ANCHORS_FILE_MAX, tls_ca_object, &l);
	if (l.too_many) {
		snprintf(err, errcap, "%s: more than %d certificates", path, CONFIG_TLS_CA_ANCHORS_MAX);
	} else if (l.full) {
		snprintf(err, errcap, "%s: the anchors need more than %d KiB (CONFIG_TLS_CA_STORE_KB)", path,
			 CONFIG_TLS_CA_STORE_KB);
	} else if (rc == -1) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
	} else if (rc < 0 || l.n == 0) {
		snprintf(err, errcap, "%s: %s", path,
			 rc < 0 ? "not valid PEM" : "no usable certificate (RSA or EC key) found");
	}
	*n = l.n;
	if (rc < 0 || l.too_many || l.full || l.n == 0) {
		tls_anchors_free(anchors, n);
		return -1;
	}
	return (int)l.n;
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

int tls_anchors_equal(const br_x509_trust_anchor *a, size_t na, const br_x509_trust_anchor *b, size_t nb)
{
	if (na != nb) {
		return 0;
	}
	for (size_t i = 0; i < na; i++) {
		if (!tls_anchor_equal(&a[i], &b[i])) {
			return 0;
		}
	}
	return 1;
}
