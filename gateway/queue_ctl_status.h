/*
 * queue_ctl_status.h - the queue's status in the queue process: the
 * `status` answer of the control socket, the paused line before a text
 * listing, SPOOL/status and the syslog alerts (queue_status.h words them).
 */
#ifndef SUBGATE_QUEUE_CTL_STATUS_H
#define SUBGATE_QUEUE_CTL_STATUS_H

#include "conf.h"
#include "spool.h"

struct ctl_out;

void queue_ctl_status_init(const struct conf *c, struct spool *sp);

/* The answer to `status [json]` ("ok\n" and the body) into o. */
void queue_ctl_status_answer(struct ctl_out *o, int json);

/* "Queue paused: WHY\n" into o when the queue waits for a reason (the text list's first line). */
void queue_ctl_status_paused_line(struct ctl_out *o);

/* After each poll round: checks the alerts and SPOOL/status when it is time. */
void queue_ctl_status_tick(void);

/* Milliseconds until the next check (0: due). */
int queue_ctl_status_timeout_ms(void);

#endif
