/*
 * relay_proc.h - the `relay` process (DESIGN.md section 1 and 4): holds the
 * smarthost credentials, is the only process that connects anywhere, and
 * delivers the messages the queue hands it over one reused connection.
 */
#ifndef SUBGATE_RELAY_PROC_H
#define SUBGATE_RELAY_PROC_H

#include "conf.h"
#include "tls_client.h"

/* Runs until the queue's channel closes. Never returns. */
void relay_proc_main(const struct conf *c, const struct tls_client_trust *trust, int queue_fd)
    __attribute__((noreturn));

#endif
