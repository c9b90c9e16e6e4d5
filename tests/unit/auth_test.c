/*
 * auth_test.c - failed-login counting per address (window, table reuse) and
 * the login cache (hit, miss on changed password or credential, expiry).
 */
#include <stdio.h>
#include <string.h>

#include "auth_cache.h"
#include "auth_fail.h"
#include "config.h"
#include "harness.h"

TEST(auth_fail_blocks_after_limit_and_window_expires)
{
	auth_fail_reset();
	for (int i = 0; i < CONFIG_AUTH_MAX_FAILURES - 1; i++) {
		auth_fail_record("192.0.2.1", 1000);
	}
	CHECK(!auth_fail_blocked("192.0.2.1", 1000));
	CHECK(auth_fail_record("192.0.2.1", 1001) == CONFIG_AUTH_MAX_FAILURES);
	CHECK(auth_fail_blocked("192.0.2.1", 1001));
	CHECK(!auth_fail_blocked("192.0.2.2", 1001)); /* other addresses are not affected */
	CHECK(auth_fail_blocked("192.0.2.1", 1000 + CONFIG_AUTH_FAIL_WINDOW - 1));
	CHECK(!auth_fail_blocked("192.0.2.1", 1000 + CONFIG_AUTH_FAIL_WINDOW));
	CHECK(auth_fail_record("192.0.2.1", 1000 + CONFIG_AUTH_FAIL_WINDOW) == 1); /* a new window */
}

TEST(auth_fail_clear_on_success)
{
	auth_fail_reset();
	for (int i = 0; i < CONFIG_AUTH_MAX_FAILURES; i++) {
		auth_fail_record("2001:db8::1", 50);
	}
	CHECK(auth_fail_blocked("2001:db8::1", 50));
	auth_fail_clear("2001:db8::1");
	CHECK(!auth_fail_blocked("2001:db8::1", 50));
}

TEST(auth_fail_table_reuses_stalest_entry)
{
	char addr[32];

	auth_fail_reset();
	for (int i = 0; i < CONFIG_AUTH_MAX_FAILURES; i++) {
		auth_fail_record("198.51.100.7", 10);
	}
	/* fill every other slot with newer addresses; the oldest (ours) is evicted last */
	for (int i = 0; i < CONFIG_AUTH_FAIL_TRACKED_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
		auth_fail_record(addr, 20 + i);
	}
	CHECK(!auth_fail_blocked("198.51.100.7", 30)); /* evicted: forgotten, never wrongly blocked */
	CHECK(!auth_fail_blocked("10.0.0.1", 30));
}

#if CONFIG_AUTH_CACHE
TEST(auth_cache_hits_only_the_same_password_and_credential)
{
	struct scram_credential cred, other;

	memset(&cred, 0, sizeof(cred));
	memset(&other, 0, sizeof(other));
	cred.stored_key[0] = 1;
	other.stored_key[0] = 2;
	CHECK(auth_cache_init() == 0);
	CHECK(!auth_cache_hit("alice", &cred, "pw", 2, 100));
	auth_cache_put("alice", &cred, "pw", 2, 100);
	CHECK(auth_cache_hit("alice", &cred, "pw", 2, 101));
	CHECK(!auth_cache_hit("alice", &cred, "pW", 2, 101));  /* other password */
	CHECK(!auth_cache_hit("alice", &other, "pw", 2, 101)); /* password changed in the DB */
	CHECK(!auth_cache_hit("bob", &cred, "pw", 2, 101));
	CHECK(!auth_cache_hit("alice", &cred, "pw", 2, 100 + CONFIG_AUTH_CACHE_TTL)); /* expired */
	CHECK(auth_cache_init() == 0);                                                /* new key: all forgotten */
	CHECK(!auth_cache_hit("alice", &cred, "pw", 2, 101));
}
#endif
