/*
 * tls_cert.c - a bounded walk over a leaf certificate's DER (see
 * tls_cert.h): Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
 * [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject,
 * subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID
 * OPTIONAL, [3] extensions OPTIONAL }, ... } (RFC 5280 section 4.1).
 */
#include "tls_cert.h"

#include <string.h>

#define TLS_CERT_BOOLEAN  0x01
#define TLS_CERT_OCTETS   0x04
#define TLS_CERT_OID      0x06
#define TLS_CERT_SEQUENCE 0x30
#define TLS_CERT_IP       0x87 /* GeneralName iPAddress: [7] IMPLICIT OCTET STRING */

/*
 * Reads the DER header at *pos (low tag numbers only; short or long-form
 * definite length) within [0, end). On success *pos is the first content
 * byte and *len the content length, which also lies within [0, end).
 */
static int tls_cert_header(const unsigned char *der, size_t end, size_t *pos, unsigned *tag, size_t *len)
{
	size_t p = *pos, n;

	if (end < 2 || p > end - 2 || (der[p] & 0x1f) == 0x1f) {
		return -1;
	}
	*tag = der[p++];
	n = der[p++];
	if (n & 0x80) {
		size_t bytes = n & 0x7f;

		if (bytes == 0 || bytes > 4 || bytes > end - p) {
			return -1; /* indefinite, absurdly long, or truncated */
		}
		for (n = 0; bytes > 0; bytes--) {
			n = (n << 8) | der[p++];
		}
	}
	if (n > end - p) {
		return -1;
	}
	*pos = p;
	*len = n;
	return 0;
}

/* Steps over one element with the given tag. */
static int tls_cert_skip(const unsigned char *der, size_t end, size_t *pos, unsigned want)
{
	unsigned tag;
	size_t len;

	if (tls_cert_header(der, end, pos, &tag, &len) < 0 || tag != want) {
		return -1;
	}
	*pos += len;
	return 0;
}

/* *pos at the subjectPublicKeyInfo header, *end the end of tbsCertificate. */
static int tls_cert_to_spki(const unsigned char *der, size_t len, size_t *pos, size_t *end)
{
	static const unsigned char skipped[] = { 0x02, 0x30, 0x30, 0x30, 0x30 }; /* serial .. subject */
	unsigned tag;
	size_t n;

	*pos = 0;
	if (tls_cert_header(der, len, pos, &tag, &n) < 0 || tag != TLS_CERT_SEQUENCE) {
		return -1;
	}
	if (tls_cert_header(der, *pos + n, pos, &tag, &n) < 0 || tag != TLS_CERT_SEQUENCE) {
		return -1;
	}
	*end = *pos + n;
	if (*pos < *end && der[*pos] == 0xa0 && tls_cert_skip(der, *end, pos, 0xa0) < 0) {
		return -1;
	}
	for (size_t i = 0; i < sizeof(skipped); i++) {
		if (tls_cert_skip(der, *end, pos, skipped[i]) < 0) {
			return -1;
		}
	}
	return 0;
}

int tls_cert_spki(const unsigned char *der, size_t len, size_t *off, size_t *spki_len)
{
	size_t pos, end;

	if (tls_cert_to_spki(der, len, &pos, &end) < 0) {
		return -1;
	}
	*off = pos;
	if (tls_cert_skip(der, end, &pos, TLS_CERT_SEQUENCE) < 0) {
		return -1;
	}
	*spki_len = pos - *off;
	return 0;
}

/*
 * One Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE,
 * extnValue OCTET STRING } at *pos. Returns 1 with *val and *val_len the
 * extnValue contents if it is subjectAltName (2.5.29.17), 0 for another
 * extension, -1 if malformed. Moves *pos past it.
 */
static int tls_cert_extension(const unsigned char *der, size_t end, size_t *pos, size_t *val, size_t *val_len)
{
	static const unsigned char san_oid[] = { 0x55, 0x1d, 0x11 };
	size_t p = *pos, n, ext_end, oid;
	unsigned tag;
	int san;

	if (tls_cert_header(der, end, &p, &tag, &n) < 0 || tag != TLS_CERT_SEQUENCE) {
		return -1;
	}
	ext_end = p + n;
	if (tls_cert_header(der, ext_end, &p, &tag, &n) < 0 || tag != TLS_CERT_OID) {
		return -1;
	}
	oid = p;
	san = n == sizeof(san_oid) && memcmp(der + oid, san_oid, n) == 0;
	p += n;
	if (p < ext_end && der[p] == TLS_CERT_BOOLEAN && tls_cert_skip(der, ext_end, &p, TLS_CERT_BOOLEAN) < 0) {
		return -1;
	}
	if (tls_cert_header(der, ext_end, &p, &tag, &n) < 0 || tag != TLS_CERT_OCTETS || p + n != ext_end) {
		return -1;
	}
	*val = p;
	*val_len = n;
	*pos = ext_end;
	return san;
}

/*
 * The subjectAltName extnValue: *off and *san_len. Returns 1 found, 0 none,
 * -1 malformed or present twice.
 */
static int tls_cert_san(const unsigned char *der, size_t len, size_t *off, size_t *san_len)
{
	size_t pos, end, n, ext_end, val, val_len;
	unsigned tag;
	int found = 0;

	if (tls_cert_to_spki(der, len, &pos, &end) < 0 || tls_cert_skip(der, end, &pos, TLS_CERT_SEQUENCE) < 0) {
		return -1;
	}
	while (pos < end && (der[pos] == 0x81 || der[pos] == 0x82)) { /* the unique IDs */
		if (tls_cert_skip(der, end, &pos, der[pos]) < 0) {
			return -1;
		}
	}
	if (pos == end) {
		return 0; /* no extensions (a v1 certificate) */
	}
	if (tls_cert_header(der, end, &pos, &tag, &n) < 0 || tag != 0xa3 || pos + n != end ||
	    tls_cert_header(der, end, &pos, &tag, &n) < 0 || tag != TLS_CERT_SEQUENCE || pos + n != end) {
		return -1;
	}
	ext_end = pos + n;
	while (pos < ext_end) {
		int rc = tls_cert_extension(der, ext_end, &pos, &val, &val_len);

		if (rc < 0 || (rc == 1 && found)) {
			return -1;
		}
		if (rc == 1) {
			found = 1;
			*off = val;
			*san_len = val_len;
		}
	}
	return found;
}

int tls_cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t ip_len)
{
	size_t pos, san_len, end, n;
	unsigned tag;
	int found = 0;
	int rc = tls_cert_san(der, len, &pos, &san_len);

	if (rc <= 0) {
		return rc;
	}
	end = pos + san_len;
	/* GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName */
	if (tls_cert_header(der, end, &pos, &tag, &n) < 0 || tag != TLS_CERT_SEQUENCE || pos + n != end) {
		return -1;
	}
	/* The whole list is walked: a malformed entry after a match is still malformed. */
	while (pos < end) {
		if (tls_cert_header(der, end, &pos, &tag, &n) < 0) {
			return -1;
		}
		if (tag == TLS_CERT_IP && n == ip_len && ip_len > 0 && memcmp(der + pos, ip, ip_len) == 0) {
			found = 1;
		}
		pos += n;
	}
	return found;
}
