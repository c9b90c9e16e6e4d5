/*
 * queue_proc.h - the `queue` process (DESIGN.md section 1): the only writer
 * of the spool. Sessions stream envelopes and message bytes to it; it
 * commits each message (tmp -> fsync -> rename -> fsync dir) before it
 * answers, and enforces the quotas.
 */
#ifndef SUBGATE_QUEUE_PROC_H
#define SUBGATE_QUEUE_PROC_H

#include "conf.h"
#include "jail.h"
#include "proto.h"
#include "spool.h"

/* Runs until the master's channel closes. The spool must be open. Never returns. */
void queue_proc_main(const struct conf *c, struct spool *sp, const struct jail *j, int master_fd, int auth_fd)
    __attribute__((noreturn));

/* The frames the queue takes from the master (sessions' and auth's: queue_msg.h; the relay's: queue_sched.h). */
extern const struct proto_table queue_proc_master_frames;

#endif
