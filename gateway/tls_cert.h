/*
 * tls_cert.h - reads the two things the relay's TLS client needs from the
 * smarthost's leaf certificate (DER) that BearSSL does not give: where its
 * SubjectPublicKeyInfo lies (the SPKI pin hashes those bytes), and whether
 * its subjectAltName holds a given IP address (a smarthost given by IP
 * address: br_x509_minimal matches names against dNSName entries only).
 * Nothing here is crypto: signatures, chain and dates are br_x509_minimal's
 * (or the pin's) job, and these functions only read bytes it accepted.
 * Pure functions over the caller's buffer; no allocation.
 */
#ifndef SUBGATE_TLS_CERT_H
#define SUBGATE_TLS_CERT_H

#include <stddef.h>

/*
 * Finds subjectPublicKeyInfo, header included: *off and *spki_len.
 * Returns 0, or -1 if the DER cannot be walked that far.
 */
int tls_cert_spki(const unsigned char *der, size_t len, size_t *off, size_t *spki_len);

/*
 * 1 if the subjectAltName extension holds an iPAddress entry equal to ip
 * (ip_len 4 for IPv4, 16 for IPv6; an entry of another length never
 * matches, so 127.0.0.1 is not ::ffff:127.0.0.1). 0 if it holds none: also
 * without a subjectAltName, since a dNSName or the CN spelling the address
 * does not stand for it (RFC 6125 section 6.2.1, RFC 5280 section 4.2.1.6).
 * -1 if the DER is malformed, or has two subjectAltName extensions.
 */
int tls_cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t ip_len);

#endif
