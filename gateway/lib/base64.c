/*
 * base64.c - strict RFC 4648 section 4 base64: padded, no line breaks,
 * non-canonical trailing bits rejected (so one value has one encoding).
 */
#include "base64.h"

#include <stdint.h>

/* Index 64 is the pad character. */
static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

long base64_encode(const void *src, size_t len, char *dst, size_t cap)
{
	const unsigned char *in = src;
	size_t out = 0;

	if (cap < BASE64_ENCODED_SIZE(len)) {
		return -1;
	}
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i;

		if (n > 1) {
			v |= (uint32_t)in[i + 1] << 8;
		}
		if (n > 2) {
			v |= in[i + 2];
		}
		dst[out++] = base64_alphabet[(v >> 18) & 63];
		dst[out++] = base64_alphabet[(v >> 12) & 63];
		dst[out++] = base64_alphabet[n > 1 ? (v >> 6) & 63 : 64];
		dst[out++] = base64_alphabet[n > 2 ? v & 63 : 64];
	}
	dst[out] = '\0';
	return (long)out;
}

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

/* Decodes one 4-character group; returns bytes produced (1..3) or -1. */
static int base64_group(const char *g, int last, unsigned char out[3])
{
	int v[4];
	int pad = 0;

	for (int i = 0; i < 4; i++) {
		if (g[i] == '=' && last && i >= 2) {
			v[i] = 0;
			pad++;
			continue;
		}
		if (pad > 0 || (v[i] = base64_value(g[i])) < 0) {
			return -1;
		}
	}
	uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
	if ((pad == 1 && (bits & 0xff)) || (pad == 2 && (bits & 0xffff))) {
		return -1; /* non-canonical trailing bits */
	}
	out[0] = (unsigned char)(bits >> 16);
	out[1] = (unsigned char)(bits >> 8);
	out[2] = (unsigned char)bits;
	return 3 - pad;
}

long base64_decode(const char *src, size_t len, void *dst, size_t cap)
{
	unsigned char *out = dst;
	size_t produced = 0;

	if (len % 4 != 0) {
		return -1;
	}
	for (size_t i = 0; i < len; i += 4) {
		unsigned char group[3];
		int n = base64_group(src + i, i + 4 == len, group);

		if (n < 0 || produced + (size_t)n > cap) {
			return -1;
		}
		for (int k = 0; k < n; k++) {
			out[produced++] = group[k];
		}
	}
	return (long)produced;
}
