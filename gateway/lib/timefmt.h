/*
 * timefmt.h - RFC 5322 section 3.3 date-time in UTC ("Thu, 01 Jan 1970
 * 00:00:00 +0000") without the C library's time-zone machinery (which would
 * read /etc/localtime and cost several KiB in a static binary). Used for
 * Date:, Received:, bounces and `subgate queue list`; also the X.509 validity
 * times of `subgate cert`.
 */
#ifndef SUBGATE_TIMEFMT_H
#define SUBGATE_TIMEFMT_H

#include <stddef.h>
#include <time.h>

#define TIMEFMT_RFC5322_LEN 32 /* enough for any time_t */

/* Writes the date-time of t (UTC) into out. */
void timefmt_rfc5322(time_t t, char *out, size_t cap);

#define TIMEFMT_X509_LEN 16 /* "YYYYMMDDHHMMSSZ" and its NUL */

/*
 * X.509 validity time of t (RFC 5280 4.1.2.5): UTCTime "YYMMDDHHMMSSZ" for the
 * years 1950-2049, GeneralizedTime "YYYYMMDDHHMMSSZ" for 2050-9999. Returns the
 * ASN.1 tag (0x17 or 0x18) and the length in *len, or 0 outside 1950-9999.
 */
unsigned timefmt_x509(long long t, char out[TIMEFMT_X509_LEN], size_t *len);

#endif
