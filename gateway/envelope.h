/*
 * envelope.h - a message's envelope on its way from a session to the queue.
 * The session collects it in its own struct (MAIL sets the sender, user and
 * client, RCPT adds recipients); envelope_pack() is the one place that lays
 * it out in the PROTO_Q_BEGIN frame, envelope_unpack() the one place the
 * queue reads that frame back. Pure: no I/O, no allocation.
 */
#ifndef SUBGATE_ENVELOPE_H
#define SUBGATE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "proto.h"
#include "spool.h"

/* What the packed strings (sender, user, client, recipients, each with its NUL) may fill. */
#define ENVELOPE_STRINGS_MAX sizeof(((struct proto_q_begin *)0)->strings)

struct envelope {
	char sender[ADDR_MAX + 1];          /* "" for <> */
	char user[CONFIG_USERNAME_MAX + 1]; /* who logged in; "" on the local socket */
	char client[PROTO_ADDR_STR];        /* the connection, as the master named it */
	int64_t arrival;                    /* set at DATA */
	uint32_t nrcpt;
	uint32_t rcpts_len;               /* used bytes of rcpts */
	char rcpts[ENVELOPE_STRINGS_MAX]; /* the recipients, each NUL-terminated, one after the other */
};

/* No transaction: touches only the counters and first bytes (a session's envelope costs what it fills). */
void envelope_clear(struct envelope *e);

/* MAIL: a new envelope from sender (may be ""), for user, from client. */
void envelope_start(struct envelope *e, const char *sender, const char *user, const char *client);

/* RCPT: adds one recipient. Returns 0, or -1 when CONFIG_MAX_RECIPIENTS or the frame would be exceeded. */
int envelope_add_rcpt(struct envelope *e, const char *addr);

/* Lays e out in b: sender, user, client, then the recipients. Returns the frame's payload length. */
size_t envelope_pack(const struct envelope *e, struct proto_q_begin *b);

/*
 * Reads a PROTO_Q_BEGIN payload back (the queue): env's strings point into
 * b, its recipients into rcpts (room for CONFIG_MAX_RECIPIENTS). Returns 0,
 * or -1 when malformed: no recipient or too many, strings that do not end
 * exactly at `len`, fewer of them than the counts say.
 */
int envelope_unpack(const struct proto_q_begin *b, struct spool_envelope *env, const char **rcpts);

#endif
