/*
 * queue_bounce.h - queues an RFC 3464 bounce (bounce.c) for the recipients
 * of a message that failed permanently, as a new spool message from <> to
 * the original sender. Never for a null sender. Queue process.
 */
#ifndef SUBGATE_QUEUE_BOUNCE_H
#define SUBGATE_QUEUE_BOUNCE_H

#include "addr.h"
#include "conf.h"
#include "spool.h"
#include "spool_env.h"

struct queue_bounce_rcpt {
	char addr[ADDR_MAX + 1];
	char status[16];
	char reply[600];
};

/* Composes and commits the bounce. Returns 0 (also when none is due), -1 on failure (logged). */
int queue_bounce_send(const struct conf *c, struct spool *sp, int msg_fd, const struct spool_env *env, const char *id,
		      const struct queue_bounce_rcpt *failed, unsigned nfailed, int expired);

#endif
