/*
 * tls_key.c - the TLS private key in the `auth` process: PEM decoding into
 * one fixed buffer, and signing with BearSSL's default RSA/ECDSA code.
 */
#include "tls_key.h"

#include <stdio.h>
#include <string.h>

#include "secret.h"
#include "tls_pem.h"

#define TLS_KEY_FILE_MAX ((size_t)64 << 10)

struct tls_key_load {
	struct tls_key *k;
	unsigned objects;
	int bad;
};

/* Copies len bytes into the key buffer at *off; returns the copy or NULL when full. */
static unsigned char *tls_key_keep(struct tls_key *k, size_t *off, const unsigned char *p, size_t len)
{
	unsigned char *dst = k->buf + *off;

	if (len > sizeof(k->buf) - *off) {
		return NULL;
	}
	memcpy(dst, p, len);
	*off += len;
	return dst;
}

static int tls_key_take(struct tls_key *k, br_skey_decoder_context *kc)
{
	size_t off = 0;

	k->type = br_skey_decoder_key_type(kc);
	if (k->type == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *r = br_skey_decoder_get_rsa(kc);

		k->rsa = *r;
		k->rsa.p = tls_key_keep(k, &off, r->p, r->plen);
		k->rsa.q = tls_key_keep(k, &off, r->q, r->qlen);
		k->rsa.dp = tls_key_keep(k, &off, r->dp, r->dplen);
		k->rsa.dq = tls_key_keep(k, &off, r->dq, r->dqlen);
		k->rsa.iq = tls_key_keep(k, &off, r->iq, r->iqlen);
		return k->rsa.p && k->rsa.q && k->rsa.dp && k->rsa.dq && k->rsa.iq ? 0 : -1;
	}
	if (k->type == BR_KEYTYPE_EC) {
		const br_ec_private_key *e = br_skey_decoder_get_ec(kc);

		k->ec = *e;
		k->ec.x = tls_key_keep(k, &off, e->x, e->xlen);
		return k->ec.x ? 0 : -1;
	}
	return -1;
}

static int tls_key_object(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	struct tls_key_load *l = ctx;
	br_skey_decoder_context kc;

	if (strstr(label, "PRIVATE KEY") == NULL) {
		return 0;
	}
	if (l->objects++ > 0) {
		l->bad = 1;
		return 0;
	}
	br_skey_decoder_init(&kc);
	br_skey_decoder_push(&kc, der, len);
	l->bad |= br_skey_decoder_last_error(&kc) != 0 || tls_key_take(l->k, &kc) < 0;
	secret_wipe(&kc, sizeof(kc));
	return 0;
}

int tls_key_load(struct tls_key *k, const char *path, char *err, size_t errcap)
{
	struct tls_key_load l = { k, 0, 0 };
	int rc;

	memset(k, 0, sizeof(*k));
	rc = tls_pem_decode_file(path, TLS_KEY_FILE_MAX, tls_key_object, &l);
	if (rc == -1) {
		snprintf(err, errcap, "%s: cannot read the private key", path);
		return -1;
	}
	if (rc < 0 || l.bad || l.objects != 1) {
		tls_key_wipe(k);
		snprintf(err, errcap, "%s: cannot load the private key", path);
		return -1;
	}
	return 0;
}

static const br_hash_class *tls_key_hash(unsigned id)
{
	switch (id) {
	case br_sha1_ID:
		return &br_sha1_vtable;
	case br_sha224_ID:
		return &br_sha224_vtable;
	case br_sha256_ID:
		return &br_sha256_vtable;
	case br_sha384_ID:
		return &br_sha384_vtable;
	case br_sha512_ID:
		return &br_sha512_vtable;
	default:
		return NULL;
	}
}

static const unsigned char *tls_key_hash_oid(unsigned id)
{
	switch (id) {
	case br_sha1_ID:
		return BR_HASH_OID_SHA1;
	case br_sha224_ID:
		return BR_HASH_OID_SHA224;
	case br_sha256_ID:
		return BR_HASH_OID_SHA256;
	case br_sha384_ID:
		return BR_HASH_OID_SHA384;
	case br_sha512_ID:
		return BR_HASH_OID_SHA512;
	default:
		return NULL;
	}
}

static size_t tls_key_sign_rsa(const struct tls_key *k, unsigned id, const unsigned char *hv, size_t hv_len,
			       unsigned char *sig, size_t sig_cap)
{
	const unsigned char *oid = id == 0 ? NULL : tls_key_hash_oid(id);
	size_t sig_len = (k->rsa.n_bitlen + 7) / 8;
	const br_hash_class *hc = id == 0 ? NULL : tls_key_hash(id);
	size_t want = hc ? (hc->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK : 36;

	if ((id != 0 && oid == NULL) || hv_len != want || sig_len > sig_cap) {
		return 0;
	}
	return br_rsa_pkcs1_sign_get_default()(oid, hv, hv_len, &k->rsa, sig) ? sig_len : 0;
}

static size_t tls_key_sign_ec(const struct tls_key *k, unsigned id, const unsigned char *hv, size_t hv_len,
			      unsigned char *sig, size_t sig_cap)
{
	const br_hash_class *hc = tls_key_hash(id);

	if (hc == NULL || hv_len != ((hc->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK) || sig_cap < 139) {
		return 0;
	}
	return br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), hc, hv, &k->ec, sig);
}

size_t tls_key_sign(const struct tls_key *k, unsigned algo_id, const unsigned char *hv, size_t hv_len,
		    unsigned char *sig, size_t sig_cap)
{
	if ((algo_id & 0xFF00) != 0xFF00 || hv_len > TLS_HASH_MAX) {
		return 0; /* only pre-hashed input: the choose callback always asks for a hash */
	}
	if (k->type == BR_KEYTYPE_RSA) {
		return tls_key_sign_rsa(k, algo_id & 0xFF, hv, hv_len, sig, sig_cap);
	}
	return k->type == BR_KEYTYPE_EC ? tls_key_sign_ec(k, algo_id & 0xFF, hv, hv_len, sig, sig_cap) : 0;
}

void tls_key_wipe(struct tls_key *k)
{
	secret_wipe(k, sizeof(*k));
}

/* A pointer into src->buf, as the same offset into dst->buf (NULL stays NULL). */
static unsigned char *tls_key_rebase(struct tls_key *dst, const struct tls_key *src, const unsigned char *p)
{
	return p != NULL ? dst->buf + (p - src->buf) : NULL;
}

void tls_key_move(struct tls_key *dst, struct tls_key *src)
{
	tls_key_wipe(dst);
	*dst = *src;
	dst->rsa.p = tls_key_rebase(dst, src, src->rsa.p);
	dst->rsa.q = tls_key_rebase(dst, src, src->rsa.q);
	dst->rsa.dp = tls_key_rebase(dst, src, src->rsa.dp);
	dst->rsa.dq = tls_key_rebase(dst, src, src->rsa.dq);
	dst->rsa.iq = tls_key_rebase(dst, src, src->rsa.iq);
	dst->ec.x = tls_key_rebase(dst, src, src->ec.x);
	tls_key_wipe(src);
}
