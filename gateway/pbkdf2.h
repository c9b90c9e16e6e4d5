/*
 * pbkdf2.h - PBKDF2-HMAC-SHA256 (RFC 8018) over BearSSL's HMAC.
 * Used by `subgate user` to hash new passwords and by `auth` to check them.
 */
#ifndef SUBGATE_PBKDF2_H
#define SUBGATE_PBKDF2_H

#include <stddef.h>
#include <stdint.h>

/* Derives out_len bytes into out. iterations must be >= 1. */
void pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len, uint32_t iterations,
		   void *out, size_t out_len);

#endif
