/*
 * auth_fail.c - the brute-force counter tables of the `auth` process: one
 * for client addresses, one for user names. Both are fixed-size; when one is
 * full, the stalest entry that is not locked is reused, never a locked one.
 */
#include "auth_fail.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "timefmt.h"

#define AUTH_FAIL_ENTRY_KEY (CONFIG_USERNAME_MAX + 1 > AUTH_FAIL_KEY_MAX ? CONFIG_USERNAME_MAX + 1 : AUTH_FAIL_KEY_MAX)

struct auth_fail_entry {
	char key[AUTH_FAIL_ENTRY_KEY];
	unsigned count; /* 0: a free entry */
	int64_t window_start;
	int64_t last;
};

struct auth_fail_table {
	struct auth_fail_entry *entries;
	size_t size;
	unsigned limit;
	const char *what; /* "address" or "account", for the log */
};

static struct auth_fail_entry auth_fail_addrs[CONFIG_AUTH_FAIL_TRACKED_ADDRS];
static struct auth_fail_entry auth_fail_accounts[CONFIG_AUTH_FAIL_TRACKED_ACCOUNTS];
static struct auth_fail_table auth_fail_by_addr = { auth_fail_addrs, CONFIG_AUTH_FAIL_TRACKED_ADDRS,
						    CONFIG_AUTH_MAX_FAILURES, "address" };
static struct auth_fail_table auth_fail_by_account = { auth_fail_accounts, CONFIG_AUTH_FAIL_TRACKED_ACCOUNTS,
						       CONFIG_AUTH_ACCOUNT_MAX_FAILURES, "account" };

void auth_fail_key(const char *client, char *key, size_t cap)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	const char *pid;

	if (inet_pton(AF_INET, client, a) == 1 && inet_ntop(AF_INET, a, text, sizeof(text)) != NULL) {
		snprintf(key, cap, "%s", text);
	} else if (inet_pton(AF_INET6, client, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			inet_ntop(AF_INET, a + 12, text, sizeof(text));
			snprintf(key, cap, "%s", text);
			return;
		}
		for (unsigned bit = CONFIG_AUTH_FAIL_IPV6_PREFIX; bit < 128; bit++) {
			a[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
		}
		inet_ntop(AF_INET6, a, text, sizeof(text));
		snprintf(key, cap, "%s/%d", text, CONFIG_AUTH_FAIL_IPV6_PREFIX);
	} else if ((pid = strstr(client, " pid=")) != NULL) {
		snprintf(key, cap, "%.*s", (int)(pid - client), client);
	} else {
		snprintf(key, cap, "%s", client);
	}
}

/* Counting within the current window (an expired entry counts as free). */
static int auth_fail_live(const struct auth_fail_entry *e, int64_t now_s)
{
	return e->count > 0 && now_s - e->window_start < CONFIG_AUTH_FAIL_WINDOW;
}

static int auth_fail_locked(const struct auth_fail_table *t, const struct auth_fail_entry *e, int64_t now_s)
{
	return e != NULL && auth_fail_live(e, now_s) && e->count >= t->limit;
}

static struct auth_fail_entry *auth_fail_find(const struct auth_fail_table *t, const char *key, int64_t now_s)
{
	for (size_t i = 0; i < t->size; i++) {
		struct auth_fail_entry *e = &t->entries[i];

		if (auth_fail_live(e, now_s) && strcmp(e->key, key) == 0) {
			return e;
		}
	}
	return NULL;
}

/* A free or expired entry; else the stalest one that is not locked; NULL if all are locked. */
static struct auth_fail_entry *auth_fail_slot(const struct auth_fail_table *t, int64_t now_s)
{
	struct auth_fail_entry *victim = NULL;

	for (size_t i = 0; i < t->size; i++) {
		struct auth_fail_entry *e = &t->entries[i];

		if (!auth_fail_live(e, now_s)) {
			return e;
		}
		if (!auth_fail_locked(t, e, now_s) && (victim == NULL || e->last < victim->last)) {
			victim = e;
		}
	}
	return victim;
}

static void auth_fail_log_lock(const struct auth_fail_table *t, const struct auth_fail_entry *e, const char *why)
{
	char until[TIMEFMT_RFC5322_LEN], safe[AUTH_FAIL_ENTRY_KEY];

	timefmt_rfc5322((time_t)(e->window_start + CONFIG_AUTH_FAIL_WINDOW), until, sizeof(until));
	log_printable(e->key, safe, sizeof(safe));
	log_warn("auth: login lock: %s %s after %u failed logins%s, until %s", t->what, safe, e->count, why, until);
}

/* Counts a failure in table t; returns the entry, or NULL if the table is full of locks. */
static struct auth_fail_entry *auth_fail_count(struct auth_fail_table *t, const char *key, int64_t now_s)
{
	struct auth_fail_entry *e = auth_fail_find(t, key, now_s);

	if (e == NULL) {
		e = auth_fail_slot(t, now_s);
		if (e == NULL) {
			return NULL;
		}
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->count = 0;
		e->window_start = now_s;
	}
	if (e->count < UINT32_MAX) {
		e->count++;
	}
	e->last = now_s;
	if (e->count == t->limit) {
		auth_fail_log_lock(t, e,
				   t == &auth_fail_by_account
				       ? " from all addresses; an address that fails for it now is shut out at once"
				       : "");
	}
	return e;
}

enum auth_fail_verdict auth_fail_check(const char *addr_key, int64_t now_s)
{
	struct auth_fail_entry *e = auth_fail_find(&auth_fail_by_addr, addr_key, now_s);

	if (e != NULL) {
		return auth_fail_locked(&auth_fail_by_addr, e, now_s) ? AUTH_FAIL_LOCKED : AUTH_FAIL_ALLOW;
	}
	return auth_fail_slot(&auth_fail_by_addr, now_s) != NULL ? AUTH_FAIL_ALLOW : AUTH_FAIL_FULL;
}

unsigned auth_fail_record(const char *addr_key, const char *user, int64_t now_s)
{
	struct auth_fail_entry *a = auth_fail_count(&auth_fail_by_addr, addr_key, now_s);
	struct auth_fail_entry *u = auth_fail_count(&auth_fail_by_account, user, now_s);

	if (a == NULL) {
		return CONFIG_AUTH_MAX_FAILURES; /* untracked (check refuses such an address first) */
	}
	if (auth_fail_locked(&auth_fail_by_account, u, now_s) && a->count < CONFIG_AUTH_MAX_FAILURES) {
		char why[CONFIG_USERNAME_MAX + 64], safe[CONFIG_USERNAME_MAX + 1];

		log_printable(user, safe, sizeof(safe));
		snprintf(why, sizeof(why), ", one for the guarded account %s", safe);
		a->count = CONFIG_AUTH_MAX_FAILURES;
		a->window_start = now_s; /* a whole window from now */
		auth_fail_log_lock(&auth_fail_by_addr, a, why);
	}
	return a->count;
}

void auth_fail_success(const char *user)
{
	for (size_t i = 0; i < auth_fail_by_account.size; i++) {
		struct auth_fail_entry *e = &auth_fail_by_account.entries[i];

		if (e->count > 0 && strcmp(e->key, user) == 0) {
			e->count = 0;
		}
	}
}

int auth_fail_account_locked(const char *user, int64_t now_s)
{
	const struct auth_fail_entry *e = auth_fail_find(&auth_fail_by_account, user, now_s);

	return auth_fail_locked(&auth_fail_by_account, e, now_s);
}

static unsigned auth_fail_clear_table(struct auth_fail_table *t, int64_t now_s)
{
	unsigned n = 0;

	for (size_t i = 0; i < t->size; i++) {
		struct auth_fail_entry *e = &t->entries[i];
		char safe[AUTH_FAIL_ENTRY_KEY];

		if (auth_fail_locked(t, e, now_s)) {
			log_printable(e->key, safe, sizeof(safe));
			log_info("auth: login lock of %s %s cleared", t->what, safe);
			n++;
		}
	}
	memset(t->entries, 0, t->size * sizeof(t->entries[0]));
	return n;
}

unsigned auth_fail_clear_all(int64_t now_s)
{
	return auth_fail_clear_table(&auth_fail_by_addr, now_s) + auth_fail_clear_table(&auth_fail_by_account, now_s);
}

void auth_fail_reset(void)
{
	memset(auth_fail_addrs, 0, sizeof(auth_fail_addrs));
	memset(auth_fail_accounts, 0, sizeof(auth_fail_accounts));
}
