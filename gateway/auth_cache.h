/*
 * auth_cache.h - remembers successful password checks (Dovecot's auth cache
 * idea) so that a device logging in for every message does not pay the
 * PBKDF2 cost each time. An entry is HMAC-SHA256(key, user, StoredKey,
 * password) under a random key made at start, with an expiry: the cache never
 * holds a password or anything that verifies one after a restart, and a
 * password change (new StoredKey) misses. Lives in the `auth` process.
 * With CONFIG_AUTH_CACHE=n the functions are stubs that never hit.
 */
#ifndef SUBGATE_AUTH_CACHE_H
#define SUBGATE_AUTH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "scram.h"

#if CONFIG_AUTH_CACHE
int auth_cache_init(void);
int auth_cache_hit(const char *user, const struct scram_credential *cred, const char *pw, size_t len, int64_t now_s);
void auth_cache_put(const char *user, const struct scram_credential *cred, const char *pw, size_t len, int64_t now_s);
#else
static inline int auth_cache_init(void)
{
	return 0;
}
static inline int auth_cache_hit(const char *user, const struct scram_credential *cred, const char *pw, size_t len,
				 int64_t now_s)
{
	(void)user, (void)cred, (void)pw, (void)len, (void)now_s;
	return 0;
}
static inline void auth_cache_put(const char *user, const struct scram_credential *cred, const char *pw, size_t len,
				  int64_t now_s)
{
	(void)user, (void)cred, (void)pw, (void)len, (void)now_s;
}
#endif

#endif
