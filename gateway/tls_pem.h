/*
 * tls_pem.h - reads PEM files with BearSSL's decoders: certificate chains,
 * private keys (RSA or EC) and CA bundles, at start-up and on a reload.
 * Files are read in pieces into fixed buffers: nothing is allocated.
 */
#ifndef SUBGATE_TLS_PEM_H
#define SUBGATE_TLS_PEM_H

#include <stddef.h>
#include <sys/types.h>

enum tls_pem_key_type {
	TLS_PEM_KEY_NONE,
	TLS_PEM_KEY_RSA,
	TLS_PEM_KEY_EC,
};

/* Called once per PEM object with its label ("CERTIFICATE", ...) and DER bytes. */
typedef int (*tls_pem_object_fn)(const char *label, const unsigned char *der, size_t len, void *ctx);

/*
 * Decodes every PEM object of a buffer. Returns the number of objects, or -1 on bad PEM
 * or an object over CONFIG_TLS_PEM_OBJECT_MAX bytes of DER (errno EFBIG).
 */
int tls_pem_decode(const char *text, size_t len, tls_pem_object_fn fn, void *ctx);

/*
 * The same for the file at path (through the fd map), read in pieces. Returns the
 * number of objects; -1 with errno when it cannot be read, is over max bytes or holds
 * an object over CONFIG_TLS_PEM_OBJECT_MAX (EFBIG); -2 on bad PEM. fn may have seen
 * objects before a failure.
 */
int tls_pem_decode_file(const char *path, size_t max, tls_pem_object_fn fn, void *ctx);

/*
 * Checks a PEM file of X.509 certificates. Returns the number of certificates
 * that decode, or -1 with a reason in err.
 */
int tls_pem_check_certs(const char *path, char *err, size_t errcap);

/* Checks a PEM private key. Returns its type, or TLS_PEM_KEY_NONE with a reason in err. */
enum tls_pem_key_type tls_pem_check_key(const char *path, char *err, size_t errcap);

/*
 * Reads a small whole file (a secret) into buf, NUL-terminated: at most cap - 1 bytes.
 * Returns its length, or -1 with errno (EFBIG when it does not fit; buf is wiped).
 */
ssize_t tls_pem_read_file(const char *path, char *buf, size_t cap);

#endif
