/*
 * cert_self.h - a new EC P-256 key and a self-signed X.509 v3 server
 * certificate for it, made with BearSSL (HMAC-DRBG, keygen, SHA, ECDSA) and
 * lib/der.c. Runs in the `subgate cert` process only (CONFIG_TOOL_CERT);
 * caller-owned buffers, no allocation. The key stays in struct cert_self_key
 * until cert_self_key_wipe().
 */
#ifndef SUBGATE_CERT_SELF_H
#define SUBGATE_CERT_SELF_H

#include <bearssl.h>
#include <stddef.h>

#define CERT_SELF_SERIAL_LEN 16
#define CERT_SELF_CN_MAX     64   /* ub-common-name (RFC 5280 appendix A) */
#define CERT_SELF_DER_MAX    1024 /* the largest certificate (a 64-byte name) is about 600 bytes */
#define CERT_SELF_PEM_MAX    2048 /* PEM of CERT_SELF_DER_MAX bytes, with its banners */

struct cert_self_key {
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char priv[BR_EC_KBUF_PRIV_MAX_SIZE];
	unsigned char pub[BR_EC_KBUF_PUB_MAX_SIZE];
};

struct cert_self_req {
	const char *hostname; /* CN and the one dNSName of subjectAltName; 1..CERT_SELF_CN_MAX bytes */
	long long not_before; /* seconds since the epoch, UTC */
	long long not_after;
	unsigned char serial[CERT_SELF_SERIAL_LEN]; /* random; the top bit is cleared (a positive INTEGER) */
};

/* A new P-256 key from an HMAC-DRBG seeded by getrandom(2). Returns 0, or -1 with errno. */
int cert_self_keygen(struct cert_self_key *k);

/* Fills the serial with random bytes (positive, 16 bytes long). Returns 0, or -1 with errno. */
int cert_self_serial(struct cert_self_req *r);

/* PEM "EC PRIVATE KEY" (RFC 5915, with the curve and public key) into out. Returns its length, or 0. */
size_t cert_self_key_pem(const struct cert_self_key *k, char *out, size_t cap);

/* Builds and signs the certificate (DER) into out. Returns its length, or 0 (bad request, short cap). */
size_t cert_self_build(const struct cert_self_req *r, const struct cert_self_key *k, unsigned char *out, size_t cap);

/* PEM "CERTIFICATE" of a DER certificate into out. Returns its length, or 0 if cap is short. */
size_t cert_self_cert_pem(const unsigned char *der, size_t len, char *out, size_t cap);

/* SHA-256 of the key's SubjectPublicKeyInfo: the value of smarthost_pin = sha256/BASE64. */
void cert_self_spki_sha256(const struct cert_self_key *k, unsigned char out[32]);

void cert_self_key_wipe(struct cert_self_key *k);

#endif
