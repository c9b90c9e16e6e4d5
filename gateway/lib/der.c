/*
 * der.c - DER encoding (X.690 section 10) into a fixed buffer, and reading
 * TLV headers within a bound. A constructed element is written with a
 * one-byte length placeholder; der_end() moves the contents up when the
 * final length needs the long form.
 */
#include "der.h"

#include <string.h>

void der_init(struct der *d, unsigned char *buf, size_t cap)
{
	d->buf = buf;
	d->len = 0;
	d->cap = cap;
	d->overflow = 0;
}

int der_ok(const struct der *d)
{
	return !d->overflow;
}

static int der_fail(struct der *d)
{
	d->overflow = 1;
	return -1;
}

int der_raw(struct der *d, const void *p, size_t n)
{
	if (d->overflow || n > d->cap - d->len) {
		return der_fail(d);
	}
	if (n > 0) {
		memcpy(d->buf + d->len, p, n);
	}
	d->len += n;
	return 0;
}

/* Bytes after the first length byte that the long form of len needs (0: short form). */
static size_t der_len_extra(size_t len)
{
	size_t extra = 0;

	if (len < 0x80) {
		return 0;
	}
	for (; len > 0; len >>= 8) {
		extra++;
	}
	return extra;
}

/* Writes the length len at p (1 + der_len_extra(len) bytes). */
static void der_put_len(unsigned char *p, size_t len)
{
	size_t extra = der_len_extra(len);

	if (extra == 0) {
		p[0] = (unsigned char)len;
		return;
	}
	p[0] = (unsigned char)(0x80 | extra);
	for (size_t i = extra; i > 0; i--) {
		p[i] = (unsigned char)(len & 0xff);
		len >>= 8;
	}
}

static int der_header(struct der *d, unsigned char tag, size_t n)
{
	unsigned char h[2 + sizeof(size_t)];

	h[0] = tag;
	der_put_len(h + 1, n);
	return der_raw(d, h, 2 + der_len_extra(n));
}

int der_tlv(struct der *d, unsigned char tag, const void *p, size_t n)
{
	if (der_header(d, tag, n) < 0) {
		return -1;
	}
	return der_raw(d, p, n);
}

size_t der_begin(struct der *d, unsigned char tag)
{
	unsigned char h[2] = { tag, 0 };

	(void)der_raw(d, h, sizeof(h));
	return d->len; /* the contents start here; the length byte is just before */
}

int der_end(struct der *d, size_t mark)
{
	size_t len, extra;

	if (d->overflow) {
		return -1;
	}
	if (mark < 2 || mark > d->len) {
		return der_fail(d); /* not a mark of this buffer: a caller bug */
	}
	len = d->len - mark;
	extra = der_len_extra(len);
	if (extra > d->cap - d->len) {
		return der_fail(d);
	}
	memmove(d->buf + mark + extra, d->buf + mark, len);
	der_put_len(d->buf + mark - 1, len);
	d->len += extra;
	return 0;
}

int der_uint(struct der *d, const unsigned char *be, size_t n)
{
	static const unsigned char zero = 0;
	size_t pad;

	while (n > 1 && be[0] == 0) {
		be++;
		n--;
	}
	if (n == 0) {
		be = &zero;
		n = 1;
	}
	pad = (be[0] & 0x80) != 0;
	if (n > d->cap) {
		return der_fail(d);
	}
	if (der_header(d, DER_INTEGER, n + pad) < 0 || (pad && der_raw(d, &zero, 1) < 0)) {
		return -1;
	}
	return der_raw(d, be, n);
}

int der_bool(struct der *d, int value)
{
	unsigned char v = value ? 0xff : 0x00;

	return der_tlv(d, DER_BOOLEAN, &v, 1);
}

int der_bits(struct der *d, const void *p, size_t n)
{
	static const unsigned char unused = 0;

	if (n >= d->cap) {
		return der_fail(d);
	}
	if (der_header(d, DER_BIT_STRING, n + 1) < 0 || der_raw(d, &unused, 1) < 0) {
		return -1;
	}
	return der_raw(d, p, n);
}

/* ---- reading ---- */

int der_read_header(const unsigned char *der, size_t end, size_t *pos, unsigned *tag, size_t *len)
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

int der_read_skip(const unsigned char *der, size_t end, size_t *pos, unsigned want)
{
	unsigned tag;
	size_t p = *pos, len;

	if (der_read_header(der, end, &p, &tag, &len) < 0 || tag != want) {
		return -1;
	}
	*pos = p + len;
	return 0;
}
