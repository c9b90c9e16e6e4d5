/*
 * envelope.c - see envelope.h: the session's envelope, and its layout in
 * the PROTO_Q_BEGIN frame (packed by the session, unpacked by the queue).
 */
#include "envelope.h"

#include <stdio.h>
#include <string.h>

void envelope_clear(struct envelope *e)
{
	e->sender[0] = '\0';
	e->user[0] = '\0';
	e->client[0] = '\0';
	e->arrival = 0;
	e->nrcpt = 0;
	e->rcpts_len = 0;
}

void envelope_start(struct envelope *e, const char *sender, const char *user, const char *client)
{
	envelope_clear(e);
	snprintf(e->sender, sizeof(e->sender), "%s", sender);
	snprintf(e->user, sizeof(e->user), "%s", user);
	snprintf(e->client, sizeof(e->client), "%s", client);
}

/* The packed bytes of sender, user and client, NULs included. */
static size_t envelope_head_len(const struct envelope *e)
{
	return strlen(e->sender) + strlen(e->user) + strlen(e->client) + 3;
}

int envelope_add_rcpt(struct envelope *e, const char *addr)
{
	size_t len = strlen(addr) + 1;

	if (e->nrcpt >= CONFIG_MAX_RECIPIENTS || envelope_head_len(e) + e->rcpts_len + len > ENVELOPE_STRINGS_MAX) {
		return -1;
	}
	memcpy(e->rcpts + e->rcpts_len, addr, len);
	e->rcpts_len += (uint32_t)len;
	e->nrcpt++;
	return 0;
}

/* Appends a string and its NUL at b->len (envelope_add_rcpt made sure it fits). */
static void envelope_put(struct proto_q_begin *b, const char *s, size_t len)
{
	memcpy(b->strings + b->len, s, len);
	b->len += (uint32_t)len;
}

size_t envelope_pack(const struct envelope *e, struct proto_q_begin *b)
{
	b->nrcpt = e->nrcpt;
	b->arrival = e->arrival;
	b->len = 0;
	envelope_put(b, e->sender, strlen(e->sender) + 1);
	envelope_put(b, e->user, strlen(e->user) + 1);
	envelope_put(b, e->client, strlen(e->client) + 1);
	envelope_put(b, e->rcpts, e->rcpts_len);
	return proto_q_begin_size(b);
}

/* The string at *pos in b's strings, moving *pos past its NUL; NULL if none ends before len. */
static const char *envelope_take(const struct proto_q_begin *b, size_t *pos)
{
	const char *s = b->strings + *pos, *nul = memchr(s, '\0', b->len - *pos);

	if (nul == NULL) {
		return NULL;
	}
	*pos = (size_t)(nul - b->strings) + 1;
	return s;
}

int envelope_unpack(const struct proto_q_begin *b, struct spool_envelope *env, const char **rcpts)
{
	const char *head[3];
	size_t pos = 0;

	if (b->nrcpt == 0 || b->nrcpt > CONFIG_MAX_RECIPIENTS || b->len > sizeof(b->strings)) {
		return -1;
	}
	for (unsigned i = 0; i < 3; i++) {
		if ((head[i] = envelope_take(b, &pos)) == NULL) {
			return -1;
		}
	}
	for (unsigned i = 0; i < b->nrcpt; i++) {
		if ((rcpts[i] = envelope_take(b, &pos)) == NULL) {
			return -1;
		}
	}
	if (pos != b->len) {
		return -1;
	}
	*env = (struct spool_envelope){ .sender = head[0],
					.user = head[1],
					.client = head[2],
					.nrcpt = b->nrcpt,
					.rcpts = rcpts,
					.arrival = (time_t)b->arrival };
	return 0;
}
