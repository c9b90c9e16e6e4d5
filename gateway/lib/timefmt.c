/*
 * timefmt.c - calendar arithmetic for RFC 5322 dates and X.509 times, UTC only.
 */
#include "timefmt.h"

#include <stdio.h>

#define TIMEFMT_SECS_PER_DAY  86400
#define TIMEFMT_DAYS_PER_ERA  146097 /* 400 Gregorian years */
#define TIMEFMT_YEARS_PER_ERA 400

/* Floor division for the calendar arithmetic (time_t may be negative). */
static long long timefmt_floor_div(long long a, long long b)
{
	long long q = a / b;

	if ((a % b) != 0 && ((a < 0) != (b < 0))) {
		q--;
	}
	return q;
}

/* Gregorian date of a day count since 1970-01-01 (H. Hinnant, civil_from_days). */
static void timefmt_civil(long long days, long long *year, unsigned *month, unsigned *mday)
{
	long long z = days + 719468; /* days since 0000-03-01 */
	long long era = timefmt_floor_div(z, TIMEFMT_DAYS_PER_ERA);
	long long doe = z - era * TIMEFMT_DAYS_PER_ERA;                        /* [0, 146096] */
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	long long mp = (5 * doy + 2) / 153;                                    /* March = 0 */

	*mday = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * TIMEFMT_YEARS_PER_ERA + (*month <= 2 ? 1 : 0);
}

/* RFC 5322 3.3 date-time in UTC: "Thu, 01 Jan 1970 00:00:00 +0000". */
void timefmt_rfc5322(time_t t, char *out, size_t cap)
{
	static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	long long secs = (long long)t;
	long long days = timefmt_floor_div(secs, TIMEFMT_SECS_PER_DAY);
	long long sod = secs - days * TIMEFMT_SECS_PER_DAY;
	long long wday = (days + 4) % 7; /* 1970-01-01 was a Thursday */
	long long year;
	unsigned month;
	unsigned mday;

	if (wday < 0) {
		wday += 7;
	}
	timefmt_civil(days, &year, &month, &mday);
	unsigned hms = (unsigned)sod; /* 0 .. 86399: days was floored */

	(void)snprintf(out, cap, "%s, %02u %s %04lld %02u:%02u:%02u +0000", wdays[wday], mday, months[month - 1], year,
		       hms / 3600, hms / 60 % 60, hms % 60);
}

unsigned timefmt_x509(long long t, char out[TIMEFMT_X509_LEN], size_t *len)
{
	long long days = timefmt_floor_div(t, TIMEFMT_SECS_PER_DAY);
	unsigned hms = (unsigned)(t - days * TIMEFMT_SECS_PER_DAY);
	long long year;
	unsigned month;
	unsigned mday;
	int n;

	*len = 0;
	if (days < -7305 || days > 2932896) { /* 1950-01-01 .. 9999-12-31 */
		return 0;
	}
	timefmt_civil(days, &year, &month, &mday);
	n = snprintf(out, TIMEFMT_X509_LEN, "%0*lld%02u%02u%02u%02u%02uZ", year < 2050 ? 2 : 4,
		     year < 2050 ? year % 100 : year, month, mday, hms / 3600, hms / 60 % 60, hms % 60);
	if (n < 0 || n >= TIMEFMT_X509_LEN) {
		return 0;
	}
	*len = (size_t)n;
	return year < 2050 ? 0x17 : 0x18;
}
