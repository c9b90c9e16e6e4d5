/*
 * spool_env_fuzz.c - libFuzzer target for spool_env_parse(), which reads the
 * envelope of every spool file the queue, the relay and `subgate queue`
 * open (a damaged file must be refused, never half-read). On success the
 * parser's promises are checked against the input: every string lies inside
 * the parser's copy and is NUL-terminated there, each recipient's state byte
 * sits at its recorded offset in the file (spool_mark_rcpt writes there),
 * the body starts right after a blank line within SPOOL_ENV_MAX, and
 * spool_env_pending() counts the 'P' states. Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sef_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* s points into e->buf and ends before the copy does. */
static void sef_inside(const struct spool_env *e, const char *s)
{
	sef_assert(s >= e->buf && s < e->buf + sizeof(e->buf));
	sef_assert(memchr(s, '\0', (size_t)(e->buf + sizeof(e->buf) - s)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spool_env e;
	unsigned pending = 0;

	if (spool_env_parse(&e, (const char *)data, size) < 0) {
		return 0;
	}
	sef_inside(&e, e.sender);
	sef_inside(&e, e.user);
	sef_inside(&e, e.client);
	sef_assert(e.nrcpt >= 1 && e.nrcpt <= CONFIG_MAX_RECIPIENTS);
	sef_assert(e.body_offset >= 2 && e.body_offset <= size && e.body_offset <= SPOOL_ENV_MAX);
	sef_assert(data[e.body_offset - 1] == '\n' && data[e.body_offset - 2] == '\n');
	for (unsigned i = 0; i < e.nrcpt; i++) {
		const struct spool_rcpt *r = &e.rcpt[i];

		sef_inside(&e, r->addr);
		sef_assert(r->addr[0] != '\0');
		sef_assert(r->state_offset < e.body_offset && data[r->state_offset] == (uint8_t)r->state);
		sef_assert(r->state == 'P' || r->state == 'D' || r->state == 'B');
		pending += r->state == SPOOL_RCPT_PENDING;
	}
	sef_assert(spool_env_pending(&e) == pending);
	return 0;
}
