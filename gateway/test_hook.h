/*
 * test_hook.h - fault hooks for the test suite, compiled only with
 * CONFIG_TEST_HOOKS (a test build; never in production). They make a jailed
 * process attempt what its jail forbids, so tests can see it fail:
 *   - env SUBGATE_TEST_HOOK="ROLE:ACTION[:ARG]" runs once in every process of
 *     that role right after it entered its jail (ROLE: master, auth, queue,
 *     relay, session);
 *   - the SMTP command "XHOOK ACTION[:ARG]" runs it in the session process.
 * ACTIONs: execve, ptrace, socket, connect:PORT (127.0.0.1), open-read:PATH,
 * open-write:PATH. The outcome is logged ("test hook: ..."), unless the
 * seccomp filter kills the process first. In the session only,
 * ipc-fds:auth:N or ipc-fds:queue:N sends up to N valid requests on that
 * channel, each with two descriptors, and says how many were answered.
 * The relay's clock for certificate validity: env SUBGATE_TEST_CLOCK=SECONDS
 * (since 1970; 0 is a device without RTC at boot) replaces time(NULL).
 */
#ifndef SUBGATE_TEST_HOOK_H
#define SUBGATE_TEST_HOOK_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "sandbox_policy.h"

#if CONFIG_TEST_HOOKS
/* Runs ACTION[:ARG]; describes the outcome in out. */
void test_hook_action(const char *spec, char *out, size_t cap);

/* Runs the environment's hook if it names this role. */
void test_hook_role(enum sandbox_role role);

/* The session's channels to auth and queue, for ipc-fds. */
void test_hook_channels(int auth_fd, int queue_fd);

/* Now for certificate checks: $SUBGATE_TEST_CLOCK when set to a number, else time(NULL). */
time_t test_hook_clock(void);
#else
static inline void test_hook_role(enum sandbox_role role)
{
	(void)role;
}

static inline time_t test_hook_clock(void)
{
	return time(NULL);
}
#endif

#endif
