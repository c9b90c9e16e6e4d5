/*
 * tls_client.h - the relay's TLS client (BearSSL): how the smarthost is
 * trusted, and the client context. Two modes:
 *  - CA bundle (smarthost_ca): trust anchors decoded at start-up from a PEM
 *    file; the chain is validated by br_x509_minimal and the host name is
 *    checked against the certificate (DNS SANs, else the CN; an IP address
 *    against iPAddress SANs only, see tls_client_setup). Validity is
 *    judged at max(now, clock_floor) so an appliance without an RTC that
 *    boots in 1970 still works (DESIGN.md section 4). BearSSL reports
 *    "expired" and "not yet valid" with one code; the reason says when the
 *    floor was used. A self-signed non-CA certificate in the bundle is
 *    trusted directly (its key, no chain; BearSSL then skips the dates).
 *  - SPKI pin (smarthost_pin): the SHA-256 of the leaf certificate's
 *    SubjectPublicKeyInfo DER must match; no CA and no clock needed.
 * Nothing allocates: the anchors live in fixed stores (CONFIG_TLS_CA_*).
 */
#ifndef SUBGATE_TLS_CLIENT_H
#define SUBGATE_TLS_CLIENT_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

#define TLS_CLIENT_LEAF_MAX 8192 /* bytes of leaf certificate kept for the pin and IP checks */
#define TLS_CLIENT_NAME_MAX 64   /* an IP literal checked in CA mode (no SNI) */

/*
 * br_ssl_engine_last_error() after a pin mismatch. BearSSL keeps 32..63 for
 * its own X.509 codes and 256+ for alerts; this code is in neither range.
 */
#define TLS_CLIENT_ERR_PIN_MISMATCH 128
/* ... and after a CA-valid certificate without the smarthost's IP address as an iPAddress SAN. */
#define TLS_CLIENT_ERR_IP_MISMATCH 129

struct tls_client_trust {
	int pinned;
	unsigned char pin[32];
	br_x509_trust_anchor *anchors;
	size_t nanchors;
	time_t clock_floor; /* build time of the binary (or newest spool mtime) */
};

/* Loads a PEM CA bundle into trust anchors. Returns the count (>0), or -1 with a reason. */
int tls_client_load_ca(struct tls_client_trust *t, const char *path, char *err, size_t errcap);

/* Frees the anchors of tls_client_load_ca (reload, tests). */
void tls_client_free_ca(struct tls_client_trust *t);

/* 1 when a and b trust the same: the same pin, or the same anchors in the same order. */
int tls_client_trust_equal(const struct tls_client_trust *a, const struct tls_client_trust *b);

/* Pin mode. */
void tls_client_set_pin(struct tls_client_trust *t, const unsigned char pin[32]);

/* Per-connection state; lives in the relay process, reused for every connection. */
struct tls_client {
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	/*
	 * Our own br_x509_class: in pin mode it hashes the leaf's SPKI; in CA
	 * mode with an IP literal it runs xc without a name, then looks for ip
	 * among the leaf's iPAddress SANs.
	 */
	const br_x509_class *pin_vtable;
	const struct tls_client_trust *trust;
	unsigned char leaf[TLS_CLIENT_LEAF_MAX];
	size_t leaf_len;
	int cert_index;
	int leaf_too_big;
	unsigned pin_error;
	br_x509_decoder_context leaf_decoder;
	br_x509_pkey leaf_key;
	int clock_floored;                 /* 1 if the system clock was before the floor and the floor was used */
	char ip_name[TLS_CLIENT_NAME_MAX]; /* the IP literal, for the reason */
	unsigned char ip[16];
	size_t ip_len; /* 4 or 16; 0 for a host name */
};

/*
 * For our br_x509_classes (tls_pin.c, the IP check): the tls_client whose
 * pin_vtable ctx is, and the leaf certificate's bytes kept in c->leaf (at
 * most TLS_CLIENT_LEAF_MAX; more sets leaf_too_big). keep returns 1 if buf
 * was kept (it belongs to the first certificate and fits).
 */
struct tls_client *tls_client_of_x509(const br_x509_class *const *ctx);
void tls_client_leaf_reset(struct tls_client *c);
void tls_client_leaf_start_cert(const br_x509_class **ctx, uint32_t length);
int tls_client_leaf_keep(struct tls_client *c, const unsigned char *buf, size_t len);
void tls_client_leaf_end_cert(const br_x509_class **ctx);

/*
 * Prepares c for one connection to server_name (the smarthost's name as
 * configured, used for SNI and, in CA mode, the name check). An IP literal
 * (IPv4, or IPv6 without brackets) sends no SNI; in CA mode the chain and
 * dates are br_x509_minimal's, and the address must be an iPAddress entry of
 * the leaf's subjectAltName: not a dNSName spelling it, not the CN
 * (RFC 6125 section 6.2.1). A pin checks no name at all. Buffers are the
 * caller's. Returns 0 or -1 (no trust configured, name too long, an
 * all-numeric name that is no address).
 */
int tls_client_setup(struct tls_client *c, const struct tls_client_trust *t, const char *server_name, void *iobuf,
		     size_t in_size, size_t out_size);

/*
 * After a failed handshake: a short reason from br_ssl_engine_last_error
 * ("certificate expired or not yet valid", "unknown CA", "host name
 * mismatch", "pin mismatch", ...). 0 (no engine error: the peer closed or
 * the pump timed out; see errno) is "connection closed". Numbered reasons
 * ("TLS error N", alerts) use a static buffer: valid until the next call.
 */
const char *tls_client_error(const struct tls_client *c, int err);

/*
 * 1 if the error is not about the certificate (I/O, protocol, alerts), 0 for
 * certificate and pin errors. The relay defers in both cases; this only
 * chooses the log severity.
 */
int tls_client_error_is_temporary(int err);

#endif
