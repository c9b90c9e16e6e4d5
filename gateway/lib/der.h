/*
 * der.h - bounded ASN.1 DER over caller-owned buffers (no allocation).
 * The writer builds X.509 certificates, which BearSSL can read but not write
 * (`subgate cert`, in its own process; no daemon process uses it). Every
 * append checks the capacity; the first one that does not fit sets a sticky
 * overflow flag, and every later call does nothing.
 * The reader walks TLVs within a bound (the relay's look at the smarthost's
 * leaf certificate, tls_cert.c): every length is checked against it.
 */
#ifndef SUBGATE_DER_H
#define SUBGATE_DER_H

#include <stddef.h>

/* Universal tags (X.680) and the context-specific classes X.509 uses. */
#define DER_BOOLEAN          0x01
#define DER_INTEGER          0x02
#define DER_BIT_STRING       0x03
#define DER_OCTET_STRING     0x04
#define DER_OID              0x06
#define DER_UTF8_STRING      0x0c
#define DER_IA5_STRING       0x16
#define DER_UTC_TIME         0x17
#define DER_GENERALIZED_TIME 0x18
#define DER_SEQUENCE         0x30
#define DER_SET              0x31
#define DER_CONTEXT(n)       (0x80 | (n)) /* [n] IMPLICIT, primitive */
#define DER_CONTEXT_CONS(n)  (0xa0 | (n)) /* [n], constructed */

struct der {
	unsigned char *buf;
	size_t len;
	size_t cap;
	int overflow; /* an append did not fit: the contents are unusable */
};

void der_init(struct der *d, unsigned char *buf, size_t cap);

/* Appends bytes that are already DER. Returns 0, or -1 (overflow set). */
int der_raw(struct der *d, const void *p, size_t n);

/* Appends tag, length and n content bytes. Returns 0 or -1. */
int der_tlv(struct der *d, unsigned char tag, const void *p, size_t n);

/*
 * Opens a constructed element (SEQUENCE, SET, [n], or an OCTET/BIT STRING that
 * wraps DER); returns the mark der_end() needs. Nesting is the caller's stack.
 */
size_t der_begin(struct der *d, unsigned char tag);

/* Closes the element opened at mark: writes its length (short or long form). 0 or -1. */
int der_end(struct der *d, size_t mark);

/* INTEGER of the non-negative big-endian number be[0..n): minimal, 0x00-padded if the top bit is set. */
int der_uint(struct der *d, const unsigned char *be, size_t n);

/* BOOLEAN (DER: 0xff for true). */
int der_bool(struct der *d, int value);

/* BIT STRING of whole bytes (no unused bits). */
int der_bits(struct der *d, const void *p, size_t n);

/* 1 if every append so far fitted. */
int der_ok(const struct der *d);

/*
 * Reads the TLV header at *pos (low tag numbers only; short or long-form
 * definite length, at most 4 length bytes) within [0, end). Returns 0 with
 * *pos the first content byte and *len the content length, which also lies
 * within [0, end); -1 (nothing moved) for a header that does not.
 */
int der_read_header(const unsigned char *der, size_t end, size_t *pos, unsigned *tag, size_t *len);

/* Steps *pos over one element, which must have the tag want. 0, or -1 (nothing moved). */
int der_read_skip(const unsigned char *der, size_t end, size_t *pos, unsigned want);

#endif
