/*
 * auth_fail.h - failed-login counters of the `auth` process, kept across
 * connections (brute-force throttling): one fixed table per client address
 * (IPv4 one by one, IPv6 per CONFIG_AUTH_FAIL_IPV6_PREFIX) and one per user
 * name. A shut-out entry is never evicted to make room. Time is passed in, so
 * the logic is testable; every lock is logged with its end.
 *
 * Policy: an address with CONFIG_AUTH_MAX_FAILURES failures in the window is
 * shut out (no password is checked). An account with
 * CONFIG_AUTH_ACCOUNT_MAX_FAILURES failures is guarded: an address that fails
 * for it is shut out at its first failure. A correct password from an address
 * that is not shut out always logs in, and clears only its account's count.
 */
#ifndef SUBGATE_AUTH_FAIL_H
#define SUBGATE_AUTH_FAIL_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_FAIL_KEY_MAX 56 /* an IPv6 prefix in text with "/NNN" */

enum auth_fail_verdict {
	AUTH_FAIL_ALLOW,  /* check the credentials */
	AUTH_FAIL_LOCKED, /* the address is shut out: 421 4.7.0 */
	AUTH_FAIL_FULL,   /* an unknown address and a table full of locks: 454 4.7.0 */
};

/*
 * The counting key of a client address as the master writes it: IPv4 (also
 * IPv4-mapped IPv6) as is, IPv6 as its prefix ("2001:db8::/64"), anything
 * else (the local socket's "local uid=N pid=P") up to " pid=".
 */
void auth_fail_key(const char *client, char *key, size_t cap);

/* May a login from this address key be checked now? */
enum auth_fail_verdict auth_fail_check(const char *addr_key, int64_t now_s);

/* Counts one failure of user from addr_key. Returns the address's count within the window. */
unsigned auth_fail_record(const char *addr_key, const char *user, int64_t now_s);

/* A successful login: forgets the failures of that account (only). */
void auth_fail_success(const char *user);

/* 1 if the account is guarded (tests and logs). */
int auth_fail_account_locked(const char *user, int64_t now_s);

/* Forgets every lock and count, logging each lock that was still in force. Returns how many. */
unsigned auth_fail_clear_all(int64_t now_s);

/* Empties the tables silently (tests). */
void auth_fail_reset(void);

#endif
