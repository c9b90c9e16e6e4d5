/*
 * secret.c - secret hygiene helpers used by every process that touches a
 * password, a key or a derived hash.
 */
#include "secret.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void secret_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}

int secret_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a;
	const volatile unsigned char *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < len; i++) {
		diff |= (unsigned char)(x[i] ^ y[i]);
	}
	return diff == 0;
}

int secret_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
