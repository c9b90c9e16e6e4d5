/*
 * tls_cert.c - a bounded walk over a leaf certificate's DER (see
 * tls_cert.h): Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
 * [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject,
 * subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID
 * OPTIONAL, [3] extensions OPTIONAL }, ... } (RFC 5280 section 4.1).
 * The TLV reading itself is lib/der.c's (der_read_header, der_read_skip).
 */
#include "tls_cert.h"

#include <string.h>

#include "der.h"

#define TLS_CERT_IP DER_CONTEXT(7) /* GeneralName iPAddress: [7] IMPLICIT OCTET STRING */

/* *pos at the subjectPublicKeyInfo header, *end the end of tbsCertificate. */
static int tls_cert_to_spki(const unsigned char *der, size_t len, size_t *pos, size_t *end)
{
	static const unsigned char skipped[] = { 0x02, 0x30, 0x30, 0x30, 0x30 }; /* serial .. subject */
	unsigned tag;
	size_t n;

	*pos = 0;
	if (der_read_header(der, len, pos, &tag, &n) < 0 || tag != DER_SEQUENCE) {
		return -1;
	}
	if (der_read_header(der, *pos + n, pos, &tag, &n) < 0 || tag != DER_SEQUENCE) {
		return -1;
	}
	*end = *pos + n;
	if (*pos < *end && der[*pos] == 0xa0 && der_read_skip(der, *end, pos, 0xa0) < 0) {
		return -1;
	}
	for (size_t i = 0; i < sizeof(skipped); i++) {
		if (der_read_skip(der, *end, pos, skipped[i]) < 0) {
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
	if (der_read_skip(der, end, &pos, DER_SEQUENCE) < 0) {
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

	if (der_read_header(der, end, &p, &tag, &n) < 0 || tag != DER_SEQUENCE) {
		return -1;
	}
	ext_end = p + n;
	if (der_read_header(der, ext_end, &p, &tag, &n) < 0 || tag != DER_OID) {
		return -1;
	}
	oid = p;
	san = n == sizeof(san_oid) && memcmp(der + oid, san_oid, n) == 0;
	p += n;
	if (p < ext_end && der[p] == DER_BOOLEAN && der_read_skip(der, ext_end, &p, DER_BOOLEAN) < 0) {
		return -1;
	}
	if (der_read_header(der, ext_end, &p, &tag, &n) < 0 || tag != DER_OCTET_STRING || p + n != ext_end) {
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

	if (tls_cert_to_spki(der, len, &pos, &end) < 0 || der_read_skip(der, end, &pos, DER_SEQUENCE) < 0) {
		return -1;
	}
	while (pos < end && (der[pos] == 0x81 || der[pos] == 0x82)) { /* the unique IDs */
		if (der_read_skip(der, end, &pos, der[pos]) < 0) {
			return -1;
		}
	}
	if (pos == end) {
		return 0; /* no extensions (a v1 certificate) */
	}
	if (der_read_header(der, end, &pos, &tag, &n) < 0 || tag != 0xa3 || pos + n != end ||
	    der_read_header(der, end, &pos, &tag, &n) < 0 || tag != DER_SEQUENCE || pos + n != end) {
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
	if (der_read_header(der, end, &pos, &tag, &n) < 0 || tag != DER_SEQUENCE || pos + n != end) {
		return -1;
	}
	/* The whole list is walked: a malformed entry after a match is still malformed. */
	while (pos < end) {
		if (der_read_header(der, end, &pos, &tag, &n) < 0) {
			return -1;
		}
		if (tag == TLS_CERT_IP && n == ip_len && ip_len > 0 && memcmp(der + pos, ip, ip_len) == 0) {
			found = 1;
		}
		pos += n;
	}
	return found;
}
