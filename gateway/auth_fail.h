/*
 * auth_fail.h - failed-login counters per client address, kept by the
 * `auth` process across connections (brute-force throttling). A fixed table
 * of CONFIG_AUTH_FAIL_TRACKED_ADDRS entries; the stalest entry is reused.
 * Time is passed in, so the logic is testable.
 */
#ifndef SUBGATE_AUTH_FAIL_H
#define SUBGATE_AUTH_FAIL_H

#include <stdint.h>

/* 1 if the address has CONFIG_AUTH_MAX_FAILURES failures within the current window. */
int auth_fail_blocked(const char *addr, int64_t now_s);

/* Counts one failure. Returns the count within the window. */
unsigned auth_fail_record(const char *addr, int64_t now_s);

/* Forgets the address (after a successful login). */
void auth_fail_clear(const char *addr);

/* Empties the table (tests). */
void auth_fail_reset(void);

#endif
