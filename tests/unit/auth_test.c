/*
 * auth_test.c - failed-login counting per address and per account (window,
 * table reuse that never frees a lock, IPv6 prefixes, success clearing only
 * its own account) and
 * the login cache (hit, miss on changed password or credential, expiry).
 */
#include <stdio.h>
#include <string.h>

#include "auth_cache.h"
#include "auth_fail.h"
#include "config.h"
#include "harness.h"

/* n failures of user from addr at time t; returns the last count of the address. */
static unsigned fail_n(const char *addr, const char *user, int n, int64_t t)
{
	unsigned count = 0;

	for (int i = 0; i < n; i++) {
		count = auth_fail_record(addr, user, t);
	}
	return count;
}

TEST(auth_fail_blocks_after_limit_and_window_expires)
{
	auth_fail_reset();
	fail_n("192.0.2.1", "alice", CONFIG_AUTH_MAX_FAILURES - 1, 1000);
	CHECK(auth_fail_check("192.0.2.1", 1000) == AUTH_FAIL_ALLOW);
	CHECK(auth_fail_record("192.0.2.1", "alice", 1001) == CONFIG_AUTH_MAX_FAILURES);
	CHECK(auth_fail_check("192.0.2.1", 1001) == AUTH_FAIL_LOCKED);
	CHECK(auth_fail_check("192.0.2.2", 1001) == AUTH_FAIL_ALLOW); /* other addresses are not affected */
	CHECK(auth_fail_check("192.0.2.1", 1000 + CONFIG_AUTH_FAIL_WINDOW - 1) == AUTH_FAIL_LOCKED);
	CHECK(auth_fail_check("192.0.2.1", 1000 + CONFIG_AUTH_FAIL_WINDOW) == AUTH_FAIL_ALLOW);
	CHECK(auth_fail_record("192.0.2.1", "alice", 1000 + CONFIG_AUTH_FAIL_WINDOW) == 1); /* a new window */
}

TEST(auth_fail_success_clears_only_that_account)
{
	auth_fail_reset();
	/* the old bypass: fail for bob, log in as oneself, fail for bob again, ... */
	for (int round = 0; round < CONFIG_AUTH_MAX_FAILURES; round++) {
		auth_fail_record("192.0.2.9", "bob", 100 + round);
		auth_fail_success("mallory");
	}
	CHECK(auth_fail_check("192.0.2.9", 200) == AUTH_FAIL_LOCKED); /* the address count survives */
	if (CONFIG_AUTH_ACCOUNT_MAX_FAILURES > 1) {
		auth_fail_reset();
		fail_n("192.0.2.10", "bob", 1, 100);
		fail_n("192.0.2.11", "carol", 1, 100);
		fail_n("192.0.2.12", "bob", CONFIG_AUTH_ACCOUNT_MAX_FAILURES - 2, 100);
		auth_fail_success("carol");
		auth_fail_record("192.0.2.13", "bob", 101); /* bob's count was kept: now guarded */
		CHECK(auth_fail_account_locked("bob", 101));
		auth_fail_success("bob");
		CHECK(!auth_fail_account_locked("bob", 101));
	}
}

/* Fills the address table with addresses 10.1.x.y that have one failure each (unlocked), each for a name of its own. */
static void fill_unlocked(int64_t t)
{
	char addr[32], name[32];

	for (int i = 0; i < CONFIG_AUTH_FAIL_TRACKED_ADDRS + 70; i++) {
		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 250, i % 250);
		snprintf(name, sizeof(name), "user%d", i);
		auth_fail_record(addr, name, t + i);
	}
}

TEST(auth_fail_eviction_never_frees_a_locked_address)
{
	auth_fail_reset();
	fail_n("198.51.100.7", "alice", CONFIG_AUTH_MAX_FAILURES, 10);
	CHECK(auth_fail_check("198.51.100.7", 10) == AUTH_FAIL_LOCKED);
	if (CONFIG_AUTH_MAX_FAILURES > 1) {
		fill_unlocked(20); /* more new addresses than the table holds: the old code forgot the lock */
		CHECK(auth_fail_check("198.51.100.7", 30) == AUTH_FAIL_LOCKED);
		CHECK(auth_fail_check("10.1.0.1", 30) == AUTH_FAIL_ALLOW); /* evicted, never wrongly blocked */
	}
	CHECK(auth_fail_check("198.51.100.7", 10 + CONFIG_AUTH_FAIL_WINDOW) == AUTH_FAIL_ALLOW); /* expired */
}

TEST(auth_fail_full_table_of_locks_refuses_new_addresses)
{
	char addr[32], name[32];

	auth_fail_reset();
	for (int i = 0; i < CONFIG_AUTH_FAIL_TRACKED_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "10.2.%d.%d", i / 250, i % 250);
		snprintf(name, sizeof(name), "user%d", i);
		CHECK(auth_fail_check(addr, 50) == AUTH_FAIL_ALLOW);
		fail_n(addr, name, CONFIG_AUTH_MAX_FAILURES, 50);
	}
	CHECK(auth_fail_check("10.2.0.0", 60) == AUTH_FAIL_LOCKED);
	CHECK(auth_fail_check("203.0.113.1", 60) == AUTH_FAIL_FULL); /* tempfail, not a forgotten lock */
	auth_fail_record("203.0.113.1", "user", 60);                 /* cannot evict either */
	CHECK(auth_fail_check("10.2.0.0", 60) == AUTH_FAIL_LOCKED);
	CHECK(auth_fail_check("203.0.113.1", 50 + CONFIG_AUTH_FAIL_WINDOW) == AUTH_FAIL_ALLOW);
	CHECK(auth_fail_clear_all(60) >= CONFIG_AUTH_FAIL_TRACKED_ADDRS); /* and accounts, if any */
	CHECK(auth_fail_check("10.2.0.0", 60) == AUTH_FAIL_ALLOW);
}

TEST(auth_fail_key_groups_ipv6_by_prefix)
{
	char a[AUTH_FAIL_KEY_MAX], b[AUTH_FAIL_KEY_MAX];

	auth_fail_key("192.0.2.1", a, sizeof(a));
	CHECK_STR(a, "192.0.2.1");
	auth_fail_key("::ffff:192.0.2.1", a, sizeof(a)); /* IPv4-mapped counts as IPv4 */
	CHECK_STR(a, "192.0.2.1");
	auth_fail_key("local uid=1000 pid=42", a, sizeof(a));
	CHECK_STR(a, "local uid=1000");
	auth_fail_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", a, sizeof(a));
	auth_fail_key("2001:db8:1:2::1", b, sizeof(b));
	if (CONFIG_AUTH_FAIL_IPV6_PREFIX == 64) {
		CHECK_STR(a, "2001:db8:1:2::/64");
	}
	if (CONFIG_AUTH_FAIL_IPV6_PREFIX <= 64) {
		CHECK_STR(a, b);
		auth_fail_reset();
		fail_n(a, "alice", CONFIG_AUTH_MAX_FAILURES, 5); /* rotating inside the /64 does not help */
		CHECK(auth_fail_check(b, 5) == AUTH_FAIL_LOCKED);
	}
	auth_fail_key("2001:db8:1:3::1", b, sizeof(b));
	if (CONFIG_AUTH_FAIL_IPV6_PREFIX >= 64) {
		CHECK(strcmp(a, b) != 0);
	}
}

TEST(auth_fail_account_counts_across_addresses)
{
	char addr[32];

	auth_fail_reset();
	/* one failure each from many addresses: no address is shut out, the account is guarded */
	for (int i = 0; i < CONFIG_AUTH_ACCOUNT_MAX_FAILURES; i++) {
		snprintf(addr, sizeof(addr), "10.3.%d.%d", (i / 250) % 250, i % 250);
		CHECK(!auth_fail_account_locked("bob", 70));
		auth_fail_record(addr, "bob", 70);
	}
	CHECK(auth_fail_account_locked("bob", 70));
	CHECK(!auth_fail_account_locked("alice", 70));
	/* a fresh address that fails for bob is shut out at once; one that fails for alice is not */
	CHECK(auth_fail_record("192.0.2.50", "bob", 71) == CONFIG_AUTH_MAX_FAILURES);
	CHECK(auth_fail_check("192.0.2.50", 71) == AUTH_FAIL_LOCKED);
	if (CONFIG_AUTH_MAX_FAILURES > 1) {
		CHECK(auth_fail_record("192.0.2.51", "alice", 71) == 1);
		CHECK(auth_fail_check("192.0.2.51", 71) == AUTH_FAIL_ALLOW);
	}
	/* bob himself, from an address that did not fail, is checked (and his correct password logs in) */
	CHECK(auth_fail_check("192.0.2.52", 71) == AUTH_FAIL_ALLOW);
	CHECK(!auth_fail_account_locked("bob", 70 + CONFIG_AUTH_FAIL_WINDOW));
}

TEST(auth_fail_name_spraying_keeps_account_locks)
{
	char name[32], addr[32];

	auth_fail_reset();
	fail_n("192.0.2.60", "bob", CONFIG_AUTH_ACCOUNT_MAX_FAILURES, 80);
	CHECK(auth_fail_account_locked("bob", 80));
	for (int i = 0; i < CONFIG_AUTH_FAIL_TRACKED_ACCOUNTS + 70; i++) {
		snprintf(name, sizeof(name), "random%d", i);
		snprintf(addr, sizeof(addr), "10.4.%d.%d", i / 250, i % 250);
		auth_fail_record(addr, name, 81 + i);
	}
	CHECK(auth_fail_account_locked("bob", 90));
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
