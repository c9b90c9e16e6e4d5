/*
 * secret.h - wiping and comparing secrets (passwords, keys, derived hashes).
 */
#ifndef SUBGATE_SECRET_H
#define SUBGATE_SECRET_H

#include <stddef.h>

/* Overwrites len bytes so the compiler cannot drop the store. */
void secret_wipe(void *p, size_t len);

/* Constant-time comparison of two equal-length buffers: 1 if equal, else 0. */
int secret_equal(const void *a, const void *b, size_t len);

/* Fills buf with len bytes from the kernel's CSPRNG. Returns 0 or -1 with errno. */
int secret_random(void *buf, size_t len);

#endif
