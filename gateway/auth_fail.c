/*
 * auth_fail.c - the brute-force counter table of the `auth` process.
 */
#include "auth_fail.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

struct auth_fail_entry {
	char addr[48];
	unsigned count;
	int64_t window_start;
	int64_t last;
};

static struct auth_fail_entry auth_fail_table[CONFIG_AUTH_FAIL_TRACKED_ADDRS];

static struct auth_fail_entry *auth_fail_find(const char *addr)
{
	for (size_t i = 0; i < CONFIG_AUTH_FAIL_TRACKED_ADDRS; i++) {
		if (auth_fail_table[i].count > 0 && strcmp(auth_fail_table[i].addr, addr) == 0) {
			return &auth_fail_table[i];
		}
	}
	return NULL;
}

static void auth_fail_expire(struct auth_fail_entry *e, int64_t now_s)
{
	if (e != NULL && now_s - e->window_start >= CONFIG_AUTH_FAIL_WINDOW) {
		e->count = 0;
	}
}

int auth_fail_blocked(const char *addr, int64_t now_s)
{
	struct auth_fail_entry *e = auth_fail_find(addr);

	auth_fail_expire(e, now_s);
	return e != NULL && e->count >= CONFIG_AUTH_MAX_FAILURES;
}

static struct auth_fail_entry *auth_fail_slot(void)
{
	struct auth_fail_entry *victim = &auth_fail_table[0];

	for (size_t i = 0; i < CONFIG_AUTH_FAIL_TRACKED_ADDRS; i++) {
		if (auth_fail_table[i].count == 0) {
			return &auth_fail_table[i];
		}
		if (auth_fail_table[i].last < victim->last) {
			victim = &auth_fail_table[i];
		}
	}
	return victim;
}

unsigned auth_fail_record(const char *addr, int64_t now_s)
{
	struct auth_fail_entry *e = auth_fail_find(addr);

	auth_fail_expire(e, now_s);
	if (e == NULL || e->count == 0) {
		e = e ? e : auth_fail_slot();
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		e->count = 0;
		e->window_start = now_s;
	}
	e->count++;
	e->last = now_s;
	return e->count;
}

void auth_fail_clear(const char *addr)
{
	struct auth_fail_entry *e = auth_fail_find(addr);

	if (e != NULL) {
		e->count = 0;
	}
}

void auth_fail_reset(void)
{
	memset(auth_fail_table, 0, sizeof(auth_fail_table));
}
