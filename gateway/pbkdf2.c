/*
 * pbkdf2.c - PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2). BearSSL supplies HMAC
 * and SHA-256; this file only chains the blocks. The key context is computed
 * once, so each iteration costs two SHA-256 compressions.
 */
#include "pbkdf2.h"

#include <bearssl.h>
#include <string.h>

#include "secret.h"

enum { SHA256_LEN = 32 };

static void pbkdf2_block(const br_hmac_key_context *key, const void *salt, size_t salt_len, uint32_t block_index,
			 uint32_t iterations, unsigned char t[SHA256_LEN])
{
	br_hmac_context hc;
	unsigned char u[SHA256_LEN];
	unsigned char be_index[4] = {
		(unsigned char)(block_index >> 24),
		(unsigned char)(block_index >> 16),
		(unsigned char)(block_index >> 8),
		(unsigned char)block_index,
	};

	br_hmac_init(&hc, key, 0);
	br_hmac_update(&hc, salt, salt_len);
	br_hmac_update(&hc, be_index, sizeof(be_index));
	br_hmac_out(&hc, u);
	memcpy(t, u, SHA256_LEN);
	for (uint32_t i = 1; i < iterations; i++) {
		br_hmac_init(&hc, key, 0);
		br_hmac_update(&hc, u, SHA256_LEN);
		br_hmac_out(&hc, u);
		for (size_t k = 0; k < SHA256_LEN; k++) {
			t[k] ^= u[k];
		}
	}
	secret_wipe(u, sizeof(u));
	secret_wipe(&hc, sizeof(hc));
}

void pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len, uint32_t iterations,
		   void *out, size_t out_len)
{
	br_hmac_key_context key;
	unsigned char *dst = out;
	uint32_t block_index = 1;

	br_hmac_key_init(&key, &br_sha256_vtable, password, password_len);
	while (out_len > 0) {
		unsigned char t[SHA256_LEN];
		size_t n = out_len < SHA256_LEN ? out_len : SHA256_LEN;

		pbkdf2_block(&key, salt, salt_len, block_index++, iterations, t);
		memcpy(dst, t, n);
		secret_wipe(t, sizeof(t));
		dst += n;
		out_len -= n;
	}
	secret_wipe(&key, sizeof(key));
}
