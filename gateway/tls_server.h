/*
 * tls_server.h - the server's TLS identity and BearSSL server contexts.
 * The master loads the certificate chain once at start (tls_creds_load);
 * each session process builds a server context from it with the Kconfig
 * cipher profile (tls_server_setup): ECDHE only, AES-GCM and (optionally)
 * ChaCha20-Poly1305, TLS 1.2 (1.0/1.1 only when configured). The private key
 * is not here: signatures come from a tls_sign_fn (tls_key.h, in `auth`).
 */
#ifndef SUBGATE_TLS_SERVER_H
#define SUBGATE_TLS_SERVER_H

#include <bearssl.h>
#include <stddef.h>

#define TLS_CHAIN_MAX 8

struct tls_creds {
	br_x509_certificate chain[TLS_CHAIN_MAX];
	size_t chain_len;
	int key_type; /* the leaf's public key: BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	int store;    /* which of tls_server.c's two chain stores holds the DER; -1 none */
};

/*
 * Signs a handshake hash (BearSSL's algo_id: 0xFF00 + hash id) into sig.
 * Returns the signature length, 0 on failure (the handshake then fails).
 */
typedef size_t (*tls_sign_fn)(void *ctx, unsigned algo_id, const unsigned char *hv, size_t hv_len, unsigned char *sig,
			      size_t sig_cap);

/* A BearSSL server policy whose signatures come from `sign`. */
struct tls_server_policy {
	const br_ssl_server_policy_class *vtable; /* first: BearSSL passes &vtable */
	const struct tls_creds *creds;
	tls_sign_fn sign;
	void *sign_ctx;
};

/*
 * Loads the PEM chain into one of two fixed stores (CONFIG_TLS_CHAIN_KB each: the
 * chain in use and a reload's). Returns 0 or -1 with a reason in err.
 */
int tls_creds_load(struct tls_creds *c, const char *cert_path, char *err, size_t errcap);

/* Gives the chain's store back (a reload replaces it). */
void tls_creds_free(struct tls_creds *c);

/*
 * Configures cc for one connection over the caller's I/O buffer; pol->creds,
 * sign and sign_ctx must be set and pol must outlive the connection.
 * Returns 0 or -1.
 */
int tls_server_setup(br_ssl_server_context *cc, struct tls_server_policy *pol, void *iobuf, size_t in_size,
		     size_t out_size);

/* "TLSv1.2" etc. for logs and Received:. */
const char *tls_version_name(unsigned version);

/* OpenSSL-style cipher suite name ("ECDHE-ECDSA-AES128-GCM-SHA256"), or "unknown". */
const char *tls_suite_name(uint16_t suite);

#endif
