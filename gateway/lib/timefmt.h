/*
 * timefmt.h - RFC 5322 section 3.3 date-time in UTC ("Thu, 01 Jan 1970
 * 00:00:00 +0000") without the C library's time-zone machinery (which would
 * read /etc/localtime and cost several KiB in a static binary). Used for
 * Date:, Received:, bounces and `subgate queue list`.
 */
#ifndef SUBGATE_TIMEFMT_H
#define SUBGATE_TIMEFMT_H

#include <stddef.h>
#include <time.h>

#define TIMEFMT_RFC5322_LEN 32 /* enough for any time_t */

/* Writes the date-time of t (UTC) into out. */
void timefmt_rfc5322(time_t t, char *out, size_t cap);

#endif
