/*
 * spool_env.c - parses spool envelopes (queue and relay processes, and
 * `subgate queue`). Strict: any deviation from the format is an error, so a
 * damaged file is reported instead of half-delivered.
 */
#include "spool_env.h"

#include <stdlib.h>
#include <string.h>

/*
 * Splits off the next line of buf[*pos..len); returns it NUL-terminated, or
 * NULL at the end or when the line holds a NUL byte (a zeroed block read back
 * from flash must not end the envelope early and hide recipients).
 */
static char *spool_env_line(char *buf, size_t len, size_t *pos)
{
	char *start = buf + *pos;
	char *nl = memchr(start, '\n', len - *pos);

	if (nl == NULL || memchr(start, '\0', (size_t)(nl - start)) != NULL) {
		return NULL;
	}
	*nl = '\0';
	*pos = (size_t)(nl - buf) + 1;
	return start;
}

/* "key value" with an exact key; returns the value or NULL. */
static const char *spool_env_value(const char *line, const char *key)
{
	size_t n = strlen(key);

	return strncmp(line, key, n) == 0 && line[n] == ' ' ? line + n + 1 : NULL;
}

static int spool_env_rcpt(struct spool_env *e, char *line, size_t offset)
{
	const char *v = spool_env_value(line, "rcpt");

	if (v == NULL || e->nrcpt >= CONFIG_MAX_RECIPIENTS || (v[0] != 'P' && v[0] != 'D' && v[0] != 'B') ||
	    v[1] != ' ' || v[2] == '\0') {
		return -1;
	}
	e->rcpt[e->nrcpt].state = v[0];
	e->rcpt[e->nrcpt].state_offset = offset + (size_t)(v - line);
	e->rcpt[e->nrcpt].addr = v + 2;
	e->nrcpt++;
	return 0;
}

static int spool_env_header(struct spool_env *e, size_t *pos, size_t len)
{
	static const char *const keys[] = { "arrival", "sender", "user", "client" };
	const char *values[4];
	char *line = spool_env_line(e->buf, len, pos);
	char *end;

	if (line == NULL || strcmp(line, "subgate-spool 1") != 0) {
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		line = spool_env_line(e->buf, len, pos);
		if (line == NULL || (values[i] = spool_env_value(line, keys[i])) == NULL) {
			return -1;
		}
	}
	e->arrival = (time_t)strtoll(values[0], &end, 10);
	if (*end != '\0' || end == values[0]) {
		return -1;
	}
	e->sender = values[1];
	e->user = values[2];
	e->client = values[3];
	return 0;
}

int spool_env_parse(struct spool_env *e, const char *data, size_t len)
{
	size_t pos = 0;

	len = len < SPOOL_ENV_MAX ? len : SPOOL_ENV_MAX;
	memcpy(e->buf, data, len);
	e->buf[len] = '\0';
	e->nrcpt = 0;
	if (spool_env_header(e, &pos, len) < 0) {
		return -1;
	}
	for (;;) {
		size_t offset = pos;
		char *line = spool_env_line(e->buf, len, &pos);

		if (line == NULL) {
			return -1; /* no blank line within SPOOL_ENV_MAX */
		}
		if (line[0] == '\0') {
			e->body_offset = pos;
			return e->nrcpt > 0 ? 0 : -1;
		}
		if (spool_env_rcpt(e, line, offset) < 0) {
			return -1;
		}
	}
}

unsigned spool_env_pending(const struct spool_env *e)
{
	unsigned n = 0;

	for (unsigned i = 0; i < e->nrcpt; i++) {
		n += e->rcpt[i].state == SPOOL_RCPT_PENDING;
	}
	return n;
}
