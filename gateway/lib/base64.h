/*
 * base64.h - RFC 4648 base64 over caller-owned buffers (no allocation).
 * Used for SASL payloads, SCRAM salts and proofs, and SPKI pins.
 */
#ifndef SUBGATE_BASE64_H
#define SUBGATE_BASE64_H

#include <stddef.h>

/* Bytes needed to encode len bytes, including the terminating NUL. */
#define BASE64_ENCODED_SIZE(len) ((((len) + 2) / 3) * 4 + 1)

/* Encodes src into dst (NUL-terminated). Returns the length written, or -1 if cap is short. */
long base64_encode(const void *src, size_t len, char *dst, size_t cap);

/*
 * Decodes exactly len characters of canonical, padded base64 (no whitespace).
 * Returns the number of bytes written, or -1 on bad input or short cap.
 */
long base64_decode(const char *src, size_t len, void *dst, size_t cap);

#endif
