/*
 * tls_pem.h - reads PEM files with BearSSL's decoders: certificate chains,
 * private keys (RSA or EC) and CA bundles. Start-up code only (the master and
 * `subgate check`); it allocates while loading, never in the steady state.
 */
#ifndef SUBGATE_TLS_PEM_H
#define SUBGATE_TLS_PEM_H

#include <stddef.h>

enum tls_pem_key_type {
	TLS_PEM_KEY_NONE,
	TLS_PEM_KEY_RSA,
	TLS_PEM_KEY_EC,
};

/* Called once per PEM object with its label ("CERTIFICATE", ...) and DER bytes. */
typedef int (*tls_pem_object_fn)(const char *label, const unsigned char *der, size_t len, void *ctx);

/* Decodes every PEM object of a buffer. Returns the number of objects, or -1 on bad PEM. */
int tls_pem_decode(const char *text, size_t len, tls_pem_object_fn fn, void *ctx);

/*
 * Checks a PEM file of X.509 certificates. Returns the number of certificates
 * that decode, or -1 with a reason in err.
 */
int tls_pem_check_certs(const char *path, char *err, size_t errcap);

/* Checks a PEM private key. Returns its type, or TLS_PEM_KEY_NONE with a reason in err. */
enum tls_pem_key_type tls_pem_check_key(const char *path, char *err, size_t errcap);

/* Reads a whole file of at most max bytes into a new buffer (caller frees). NULL on error. */
char *tls_pem_read_file(const char *path, size_t max, size_t *len);

#endif
