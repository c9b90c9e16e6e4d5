/*
 * queue_sched.h - the delivery scheduler inside the `queue` process: it
 * hands one due message at a time to the relay (id + read-only fd), applies
 * the relay's per-recipient results durably (spool_state.h), and then
 * defers the message with backoff, bounces what failed, or removes it.
 * Messages in hold/ are never picked (spool_next_due looks in queue/ and
 * defer/ only), so the queue lifetime does not run out for them either.
 * A deferral records the relay's last reason in reason/ID.
 */
#ifndef SUBGATE_QUEUE_SCHED_H
#define SUBGATE_QUEUE_SCHED_H

#include "conf.h"
#include "queue_status.h"
#include "service.h"
#include "spool.h"

void queue_sched_init(const struct conf *c, struct spool *sp, struct service *svc);

/* The master handed over the queue's end of a (new) relay's channel. */
void queue_sched_relay_channel(int fd);

/* Something may be due: a message was committed, a timer ran out, a flush. */
void queue_sched_kick(void);

/* After each poll round: looks for work only when something changed or a timer is due. */
void queue_sched_poll(void);

/* A message was committed: look again at the next poll round. */
void queue_sched_dirty(void);

/* Retry every deferred message now. Returns how many were waiting. */
unsigned queue_sched_flush(void);

/* The frames the queue takes from the relay. */
extern const struct proto_table queue_sched_relay_frames;

/* The id of the message with the relay now, or NULL. */
const char *queue_sched_active(void);

#define QUEUE_SCHED_REFUSED "the smarthost refused our credentials"

/*
 * Fills the scheduler's part of s (s->now set): delivering, the pause and
 * why, since when the smarthost refuses our credentials (until a login
 * passes: a recipient taken or refused), its last reply and when.
 */
void queue_sched_status(struct queue_status *s);

/* Milliseconds until the next deferred message is due (-1: nothing waits). */
int queue_sched_timeout_ms(void);

#endif
