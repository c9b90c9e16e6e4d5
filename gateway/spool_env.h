/*
 * spool_env.h - reads the envelope of a committed spool file (format in
 * spool.h): sender, user, arrival, and each recipient with its state byte
 * and that byte's offset in the file (so the queue can mark it in place).
 * Pure: a copy of the file's first bytes in, a struct out.
 */
#ifndef SUBGATE_SPOOL_ENV_H
#define SUBGATE_SPOOL_ENV_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "ipc.h"

/*
 * The largest envelope on disk: what one PROTO_Q_BEGIN frame can carry
 * (its strings, a NUL after each) written out as spool.h's lines. Each
 * field costs at most 8 bytes more on disk than in the frame ("rcpt P "
 * and "\n" for a NUL), the fixed lines at most 64 (a 20-character
 * arrival), so every envelope the queue accepts can be read back; the
 * queue refuses anything larger before the 250 (spool_msg_create).
 */
#define SPOOL_ENV_MAX (IPC_PAYLOAD_MAX + 64 + 8 * (CONFIG_MAX_RECIPIENTS + 3))

enum spool_rcpt_state {
	SPOOL_RCPT_PENDING = 'P',
	SPOOL_RCPT_DONE = 'D',
	SPOOL_RCPT_BOUNCED = 'B',
};

struct spool_rcpt {
	const char *addr;
	char state;
	size_t state_offset;
};

struct spool_env {
	time_t arrival;
	const char *sender; /* "" for <> */
	const char *user;
	const char *client;
	unsigned nrcpt;
	struct spool_rcpt rcpt[CONFIG_MAX_RECIPIENTS];
	size_t body_offset; /* where the message starts in the file */
	char buf[SPOOL_ENV_MAX + 1];
};

/* Parses the start of a spool file (len bytes; more than the envelope is fine). Returns 0 or -1. */
int spool_env_parse(struct spool_env *e, const char *data, size_t len);

/* Number of recipients still pending. */
unsigned spool_env_pending(const struct spool_env *e);

#endif
