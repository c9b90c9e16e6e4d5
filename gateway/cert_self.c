/*
 * cert_self.c - the self-signed server certificate of `subgate cert`: an
 * RFC 5280 end-entity certificate whose issuer is its own subject.
 *
 * Extensions, and why (checked against OpenSSL 3 with X509_STRICT, as Python
 * 3.13's default context sets it, and against `openssl s_client`):
 *   basicConstraints  critical, cA FALSE: an end entity. A CA:TRUE server
 *                     certificate is refused by Mozilla's verifier
 *                     (Thunderbird: CA_CERT_USED_AS_END_ENTITY).
 *   keyUsage          absent: with digitalSignature alone OpenSSL would not
 *                     consider the certificate self-signed (no keyCertSign)
 *                     and could not anchor it; keyCertSign needs cA TRUE.
 *   extendedKeyUsage  serverAuth.
 *   subjectAltName    dNSName = the host name (clients ignore the CN).
 *   subjectKeyIdentifier, authorityKeyIdentifier: SHA-1 of the public key
 *                     (RFC 5280 4.2.1.2 method 1), the same in both.
 */
#include "cert_self.h"

#include <errno.h>
#include <string.h>

#include "der.h"
#include "secret.h"
#include "timefmt.h"

/* OBJECT IDENTIFIER contents */
static const unsigned char oid_ecdsa_sha256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const unsigned char oid_ec_public_key[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char oid_prime256v1[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_common_name[] = { 0x55, 0x04, 0x03 };
static const unsigned char oid_basic_constraints[] = { 0x55, 0x1d, 0x13 };
static const unsigned char oid_ext_key_usage[] = { 0x55, 0x1d, 0x25 };
static const unsigned char oid_subject_alt_name[] = { 0x55, 0x1d, 0x11 };
static const unsigned char oid_subject_key_id[] = { 0x55, 0x1d, 0x0e };
static const unsigned char oid_authority_key_id[] = { 0x55, 0x1d, 0x23 };
static const unsigned char oid_kp_server_auth[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };

#define CERT_SELF_KEY_DER_MAX 160 /* RFC 5915 P-256 key with its public key: 121 bytes */
#define CERT_SELF_SPKI_MAX    128 /* P-256: 91 bytes */
#define CERT_SELF_SKI_LEN     20

int cert_self_keygen(struct cert_self_key *k)
{
	const br_ec_impl *ec = br_ec_get_default();
	br_hmac_drbg_context rng;
	unsigned char seed[48];
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (secret_random(seed, sizeof(seed)) < 0) {
		return -1;
	}
	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, sizeof(seed));
	if (br_ec_keygen(&rng.vtable, ec, &k->sk, k->priv, BR_EC_secp256r1) != 0 &&
	    br_ec_compute_pub(ec, &k->pk, k->pub, &k->sk) != 0) {
		rc = 0;
	} else {
		cert_self_key_wipe(k);
		errno = ENOTSUP;
	}
	secret_wipe(seed, sizeof(seed));
	secret_wipe(&rng, sizeof(rng));
	return rc;
}

int cert_self_serial(struct cert_self_req *r)
{
	if (secret_random(r->serial, sizeof(r->serial)) < 0) {
		return -1;
	}
	r->serial[0] = (unsigned char)((r->serial[0] & 0x7f) | 0x40); /* positive, and all 16 bytes are used */
	return 0;
}

static size_t cert_self_pem(const void *der, size_t len, const char *banner, char *out, size_t cap)
{
	size_t n = br_pem_encode(NULL, der, len, banner, BR_PEM_LINE64);

	if (len == 0 || n == 0 || n >= cap) {
		return 0;
	}
	return br_pem_encode(out, der, len, banner, BR_PEM_LINE64);
}

size_t cert_self_key_pem(const struct cert_self_key *k, char *out, size_t cap)
{
	unsigned char der[CERT_SELF_KEY_DER_MAX];
	size_t len = br_encode_ec_raw_der(NULL, &k->sk, &k->pk);
	size_t n = 0;

	if (len != 0 && len <= sizeof(der) && br_encode_ec_raw_der(der, &k->sk, &k->pk) == len) {
		n = cert_self_pem(der, len, "EC PRIVATE KEY", out, cap);
	}
	secret_wipe(der, sizeof(der));
	return n;
}

size_t cert_self_cert_pem(const unsigned char *der, size_t len, char *out, size_t cap)
{
	return cert_self_pem(der, len, "CERTIFICATE", out, cap);
}

static void cert_self_oid(struct der *d, const unsigned char *oid, size_t len)
{
	(void)der_tlv(d, DER_OID, oid, len);
}

/* AlgorithmIdentifier ecdsa-with-SHA256: no parameters (RFC 5758 3.2). */
static void cert_self_sig_alg(struct der *d)
{
	size_t m = der_begin(d, DER_SEQUENCE);

	cert_self_oid(d, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256));
	(void)der_end(d, m);
}

/* Name: one RDN, CN = host (UTF8String, RFC 5280 4.1.2.6). */
static void cert_self_name(struct der *d, const char *host)
{
	size_t name = der_begin(d, DER_SEQUENCE);
	size_t rdn = der_begin(d, DER_SET);
	size_t atv = der_begin(d, DER_SEQUENCE);

	cert_self_oid(d, oid_common_name, sizeof(oid_common_name));
	(void)der_tlv(d, DER_UTF8_STRING, host, strlen(host));
	(void)der_end(d, atv);
	(void)der_end(d, rdn);
	(void)der_end(d, name);
}

static int cert_self_validity(struct der *d, long long not_before, long long not_after)
{
	char text[TIMEFMT_X509_LEN];
	size_t len;
	size_t m = der_begin(d, DER_SEQUENCE);
	unsigned tag = timefmt_x509(not_before, text, &len);

	if (tag == 0) {
		return -1;
	}
	(void)der_tlv(d, (unsigned char)tag, text, len);
	tag = timefmt_x509(not_after, text, &len);
	if (tag == 0) {
		return -1;
	}
	(void)der_tlv(d, (unsigned char)tag, text, len);
	return der_end(d, m);
}

/* SubjectPublicKeyInfo: id-ecPublicKey, named curve prime256v1, the uncompressed point. */
static void cert_self_spki(struct der *d, const struct cert_self_key *k)
{
	size_t spki = der_begin(d, DER_SEQUENCE);
	size_t alg = der_begin(d, DER_SEQUENCE);

	cert_self_oid(d, oid_ec_public_key, sizeof(oid_ec_public_key));
	cert_self_oid(d, oid_prime256v1, sizeof(oid_prime256v1));
	(void)der_end(d, alg);
	(void)der_bits(d, k->pk.q, k->pk.qlen);
	(void)der_end(d, spki);
}

void cert_self_spki_sha256(const struct cert_self_key *k, unsigned char out[32])
{
	unsigned char buf[CERT_SELF_SPKI_MAX];
	struct der d;
	br_sha256_context h;

	der_init(&d, buf, sizeof(buf));
	cert_self_spki(&d, k);
	br_sha256_init(&h);
	br_sha256_update(&h, buf, der_ok(&d) ? d.len : 0);
	br_sha256_out(&h, out);
}

/* Opens Extension { extnID, critical (only when TRUE: DER omits defaults), extnValue OCTET STRING }. */
static void cert_self_ext_open(struct der *d, const unsigned char *oid, size_t len, int critical, size_t marks[2])
{
	marks[0] = der_begin(d, DER_SEQUENCE);
	cert_self_oid(d, oid, len);
	if (critical) {
		(void)der_bool(d, 1);
	}
	marks[1] = der_begin(d, DER_OCTET_STRING);
}

static void cert_self_ext_close(struct der *d, const size_t marks[2])
{
	(void)der_end(d, marks[1]);
	(void)der_end(d, marks[0]);
}

static void cert_self_ext_key_ids(struct der *d, const unsigned char ski[CERT_SELF_SKI_LEN])
{
	size_t m[2], seq;

	cert_self_ext_open(d, oid_subject_key_id, sizeof(oid_subject_key_id), 0, m);
	(void)der_tlv(d, DER_OCTET_STRING, ski, CERT_SELF_SKI_LEN);
	cert_self_ext_close(d, m);
	cert_self_ext_open(d, oid_authority_key_id, sizeof(oid_authority_key_id), 0, m);
	seq = der_begin(d, DER_SEQUENCE);
	(void)der_tlv(d, DER_CONTEXT(0), ski, CERT_SELF_SKI_LEN); /* keyIdentifier [0] IMPLICIT */
	(void)der_end(d, seq);
	cert_self_ext_close(d, m);
}

/* [3] Extensions: see the comment at the top of the file. */
static void cert_self_extensions(struct der *d, const char *host, const struct cert_self_key *k)
{
	unsigned char ski[br_sha1_SIZE];
	br_sha1_context h;
	size_t outer = der_begin(d, DER_CONTEXT_CONS(3));
	size_t list = der_begin(d, DER_SEQUENCE);
	size_t m[2], seq;

	cert_self_ext_open(d, oid_basic_constraints, sizeof(oid_basic_constraints), 1, m);
	(void)der_end(d, der_begin(d, DER_SEQUENCE)); /* cA FALSE is the default: an empty SEQUENCE */
	cert_self_ext_close(d, m);

	cert_self_ext_open(d, oid_ext_key_usage, sizeof(oid_ext_key_usage), 0, m);
	seq = der_begin(d, DER_SEQUENCE);
	cert_self_oid(d, oid_kp_server_auth, sizeof(oid_kp_server_auth));
	(void)der_end(d, seq);
	cert_self_ext_close(d, m);

	cert_self_ext_open(d, oid_subject_alt_name, sizeof(oid_subject_alt_name), 0, m);
	seq = der_begin(d, DER_SEQUENCE);
	(void)der_tlv(d, DER_CONTEXT(2), host, strlen(host)); /* dNSName [2] IA5String */
	(void)der_end(d, seq);
	cert_self_ext_close(d, m);

	br_sha1_init(&h);
	br_sha1_update(&h, k->pk.q, k->pk.qlen);
	br_sha1_out(&h, ski);
	cert_self_ext_key_ids(d, ski);

	(void)der_end(d, list);
	(void)der_end(d, outer);
}

static int cert_self_tbs(struct der *d, const struct cert_self_req *r, const struct cert_self_key *k)
{
	static const unsigned char v3 = 2;
	size_t tbs = der_begin(d, DER_SEQUENCE);
	size_t version = der_begin(d, DER_CONTEXT_CONS(0));

	(void)der_uint(d, &v3, 1);
	(void)der_end(d, version);
	(void)der_uint(d, r->serial, sizeof(r->serial));
	cert_self_sig_alg(d);
	cert_self_name(d, r->hostname); /* issuer */
	if (cert_self_validity(d, r->not_before, r->not_after) < 0) {
		return -1;
	}
	cert_self_name(d, r->hostname); /* subject: the same bytes */
	cert_self_spki(d, k);
	cert_self_extensions(d, r->hostname, k);
	return der_end(d, tbs);
}

size_t cert_self_build(const struct cert_self_req *r, const struct cert_self_key *k, unsigned char *out, size_t cap)
{
	struct der d;
	br_sha256_context h;
	unsigned char hash[br_sha256_SIZE], sig[80];
	size_t host_len = strlen(r->hostname), cert, tbs_at, sig_len;

	if (host_len == 0 || host_len > CERT_SELF_CN_MAX || k->sk.curve != BR_EC_secp256r1 ||
	    r->not_after <= r->not_before || (r->serial[0] & 0x80) != 0) {
		return 0;
	}
	der_init(&d, out, cap);
	cert = der_begin(&d, DER_SEQUENCE);
	tbs_at = d.len;
	if (cert_self_tbs(&d, r, k) < 0) {
		return 0;
	}
	br_sha256_init(&h);
	br_sha256_update(&h, out + tbs_at, d.len - tbs_at);
	br_sha256_out(&h, hash);
	sig_len = br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), &br_sha256_vtable, hash, &k->sk, sig);
	if (sig_len == 0 || sig_len > sizeof(sig)) {
		return 0;
	}
	cert_self_sig_alg(&d);
	(void)der_bits(&d, sig, sig_len);
	return der_end(&d, cert) == 0 ? d.len : 0;
}

void cert_self_key_wipe(struct cert_self_key *k)
{
	secret_wipe(k, sizeof(*k));
}
