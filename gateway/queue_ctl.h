/*
 * queue_ctl.h - the server side of the queue control protocol, in the
 * `queue` process. The master accepts a connection on SPOOL/private/control,
 * checks that the peer is root, sets SO_SNDTIMEO/SO_RCVTIMEO and hands the
 * socket over (PROTO_CONTROL + fd). A connection on SPOOL/public/showq, open
 * to everyone, may only list, and sees only the messages its uid submitted.
 * One request line per connection:
 *
 *   list [json] | show ID [json] | flush [json] | delete ID [json]
 *   hold ID [json] | release ID [json] | status [json]
 *
 * at most QUEUE_CTL_REQUEST_MAX bytes including the "\n" (a trailing "\r" is
 * ignored), sent within the timeout. The answer is a status line, then a
 * body until the server closes:
 *
 *   ok\n<body>                text (postqueue -p style for list, after a
 *                             "Queue paused: WHY" line while the queue
 *                             waits; "key: value" lines for status) or,
 *                             after " json", one JSON document
 *   err CODE TEXT\n           CODE is a sysexits.h value: 64 bad request,
 *                             67 no such message (or not on hold, for
 *                             release), 75 busy or being delivered now,
 *                             74 a spool error; the body is empty
 *
 * At most QUEUE_CTL_CLIENTS connections at a time (more get `err 75`), of
 * which at most QUEUE_CTL_CLIENTS - 1 from showq: one is always root's.
 * Requests are read and answers written without blocking, from the
 * process's poll loop: each connection has a bounded answer buffer that a
 * list or show refills as the client reads (queue_ctl_int.h). A client
 * that reads nothing for QUEUE_CTL_TIMEOUT_MS, or has not read the whole
 * answer within six times that, is dropped; no client can stall the queue.
 * No allocation: fixed buffers.
 */
#ifndef SUBGATE_QUEUE_CTL_H
#define SUBGATE_QUEUE_CTL_H

#include <poll.h>
#include <stdint.h>

#include "spool.h"

#define QUEUE_CTL_CLIENTS     4
#define QUEUE_CTL_REQUEST_MAX 128
#define QUEUE_CTL_TIMEOUT_MS  5000

/* The spool to control; timeout_ms bounds the wait for a request (QUEUE_CTL_TIMEOUT_MS). */
void queue_ctl_init(struct spool *sp, unsigned timeout_ms);

/*
 * A connected control socket from the master; the queue owns (and closes) it.
 * only_uid -1: every request; else (SPOOL/public/showq) only `list`, and
 * only the messages that local uid submitted.
 */
void queue_ctl_accept(int fd, int64_t only_uid);

/* Fills pfd with the connections waiting for a request. Returns how many (at most cap). */
unsigned queue_ctl_fds(struct pollfd *pfd, unsigned cap);

/* After poll: reads, answers and closes what is ready, and times out the rest. */
void queue_ctl_ready(const struct pollfd *pfd, unsigned n);

/* Milliseconds until the next request deadline (-1: no connection waits). */
int queue_ctl_timeout_ms(void);

/* Closes every connection (the process is exiting). */
void queue_ctl_shutdown(void);

#endif
