/*
 * envelope_fuzz.c - libFuzzer target for envelope_unpack(), the queue's
 * reading of the PROTO_Q_BEGIN frame a session sends (the queue trusts no
 * session). The input is the frame's payload: nrcpt, len and arrival as in
 * struct proto_q_begin, then the strings (len is forced to what the input
 * carries, as the queue's table and handler make it). Checks: an accepted
 * envelope has 1..CONFIG_MAX_RECIPIENTS recipients, each string lies inside
 * the frame and ends with its NUL there; and, when its fields fit a
 * session's struct envelope, the session's packing of the same fields
 * (envelope_start, envelope_add_rcpt, envelope_pack) gives back exactly the
 * input. Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void evf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* s is a string of b's strings, NUL-terminated within len. */
static void evf_inside(const struct proto_q_begin *b, const char *s)
{
	evf_assert(s >= b->strings && s < b->strings + b->len);
	evf_assert(memchr(s, '\0', (size_t)(b->strings + b->len - s)) != NULL);
}

/* Packs the fields again as a session would; the frame must come out the same. */
static void evf_repack(const struct proto_q_begin *b, const struct spool_envelope *env)
{
	static struct envelope e;
	static struct proto_q_begin again;

	if (strlen(env->sender) >= sizeof(e.sender) || strlen(env->user) >= sizeof(e.user) ||
	    strlen(env->client) >= sizeof(e.client)) {
		return; /* a session could not have collected these */
	}
	envelope_start(&e, env->sender, env->user, env->client);
	e.arrival = b->arrival;
	for (unsigned i = 0; i < env->nrcpt; i++) {
		evf_assert(envelope_add_rcpt(&e, env->rcpts[i]) == 0);
	}
	evf_assert(envelope_pack(&e, &again) == proto_q_begin_size(b));
	evf_assert(again.nrcpt == b->nrcpt && again.len == b->len && again.arrival == b->arrival);
	evf_assert(memcmp(again.strings, b->strings, b->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_q_begin b;
	static const char *rcpts[CONFIG_MAX_RECIPIENTS];
	const size_t head = offsetof(struct proto_q_begin, strings);
	struct spool_envelope env;

	if (size < head || size > sizeof(b)) {
		return 0; /* the queue's table refuses these lengths */
	}
	memcpy(&b, data, size);
	b.len = (uint32_t)(size - head);
	if (envelope_unpack(&b, &env, rcpts) < 0) {
		return 0;
	}
	evf_assert(env.nrcpt == b.nrcpt && env.nrcpt >= 1 && env.nrcpt <= CONFIG_MAX_RECIPIENTS);
	evf_assert(env.rcpts == rcpts && env.arrival == (time_t)b.arrival);
	evf_inside(&b, env.sender);
	evf_inside(&b, env.user);
	evf_inside(&b, env.client);
	for (unsigned i = 0; i < env.nrcpt; i++) {
		evf_inside(&b, env.rcpts[i]);
	}
	evf_repack(&b, &env);
	return 0;
}
