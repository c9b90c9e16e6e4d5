/*
 * tls_server.h - the server's TLS identity and BearSSL server contexts.
 * The master loads the certificate chain and private key once at start
 * (tls_creds_load); each session process builds a server context from them
 * with the Kconfig cipher profile (tls_server_setup): ECDHE only, AES-GCM and
 * (optionally) ChaCha20-Poly1305, TLS 1.2 (1.0/1.1 only when configured).
 */
#ifndef SUBGATE_TLS_SERVER_H
#define SUBGATE_TLS_SERVER_H

#include <bearssl.h>
#include <stddef.h>

#define TLS_CHAIN_MAX 8

struct tls_creds {
	br_x509_certificate chain[TLS_CHAIN_MAX];
	size_t chain_len;
	int key_type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	unsigned issuer_key_type;
	br_rsa_private_key rsa;
	br_ec_private_key ec;
};

/* Loads the PEM chain and key (start-up only; allocates). Returns 0 or -1 with a reason in err. */
int tls_creds_load(struct tls_creds *c, const char *cert_path, const char *key_path, char *err, size_t errcap);

/* Configures cc for one connection over the caller's I/O buffer. Returns 0 or -1. */
int tls_server_setup(br_ssl_server_context *cc, const struct tls_creds *c, void *iobuf, size_t in_size,
		     size_t out_size);

/* "TLSv1.2" etc. for logs and Received:. */
const char *tls_version_name(unsigned version);

/* OpenSSL-style cipher suite name ("ECDHE-ECDSA-AES128-GCM-SHA256"), or "unknown". */
const char *tls_suite_name(uint16_t suite);

/* A short reason for br_ssl_engine_last_error() codes. */
const char *tls_error_name(int err);

#endif
