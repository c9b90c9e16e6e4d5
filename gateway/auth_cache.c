/*
 * auth_cache.c - the login cache of the `auth` process (see the header).
 * Built only with CONFIG_AUTH_CACHE (Makefile: srcs-$(CONFIG_AUTH_CACHE)).
 */
#include "auth_cache.h"

#include <bearssl.h>
#include <string.h>

#include "secret.h"

struct auth_cache_entry {
	unsigned char mac[32];
	int64_t expires;
};

static struct auth_cache_entry auth_cache[CONFIG_AUTH_CACHE_ENTRIES];
static br_hmac_key_context auth_cache_key;
static size_t auth_cache_next;

int auth_cache_init(void)
{
	unsigned char key[32];

	if (secret_random(key, sizeof(key)) < 0) {
		return -1;
	}
	br_hmac_key_init(&auth_cache_key, &br_sha256_vtable, key, sizeof(key));
	secret_wipe(key, sizeof(key));
	memset(auth_cache, 0, sizeof(auth_cache));
	return 0;
}

static void auth_cache_mac(const char *user, const struct scram_credential *cred, const char *pw, size_t len,
			   unsigned char mac[32])
{
	br_hmac_context hc;

	br_hmac_init(&hc, &auth_cache_key, 0);
	br_hmac_update(&hc, user, strlen(user) + 1);
	br_hmac_update(&hc, cred->stored_key, sizeof(cred->stored_key));
	br_hmac_update(&hc, pw, len);
	br_hmac_out(&hc, mac);
	secret_wipe(&hc, sizeof(hc));
}

int auth_cache_hit(const char *user, const struct scram_credential *cred, const char *pw, size_t len, int64_t now_s)
{
	unsigned char mac[32];
	int hit = 0;

	auth_cache_mac(user, cred, pw, len, mac);
	for (size_t i = 0; i < CONFIG_AUTH_CACHE_ENTRIES; i++) {
		if (auth_cache[i].expires > now_s && secret_equal(auth_cache[i].mac, mac, sizeof(mac))) {
			hit = 1;
		}
	}
	secret_wipe(mac, sizeof(mac));
	return hit;
}

void auth_cache_put(const char *user, const struct scram_credential *cred, const char *pw, size_t len, int64_t now_s)
{
	struct auth_cache_entry *e = &auth_cache[auth_cache_next];

	auth_cache_next = (auth_cache_next + 1) % CONFIG_AUTH_CACHE_ENTRIES;
	auth_cache_mac(user, cred, pw, len, e->mac);
	e->expires = now_s + CONFIG_AUTH_CACHE_TTL;
}
