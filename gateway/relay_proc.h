/*
 * relay_proc.h - the `relay` process (DESIGN.md section 1 and 4): holds the
 * smarthost credentials, is the only process that connects anywhere, and
 * delivers the messages the queue hands it over one reused connection.
 */
#ifndef SUBGATE_RELAY_PROC_H
#define SUBGATE_RELAY_PROC_H

#include "conf.h"
#include "jail.h"
#include "proto.h"
#include "tls_client.h"

/*
 * The relay keeper: loads the smarthost credentials, enters the jail, then
 * runs one relay worker at a time, restarting it when it dies; each worker's
 * channel to the queue goes to the master (PROTO_RELAY_CHANNEL), which
 * forwards it. Never returns.
 */
/* reload_fd: the reload process hands over new settings there (SIGHUP). */
void relay_proc_main(const struct conf *c, const struct tls_client_trust *trust, const struct jail *j, int master_fd,
		     int reload_fd) __attribute__((noreturn));

/* The frames the relay takes: jobs from the queue (worker), reloads (keeper; ctx: an int, set to 1 to restart). */
extern const struct proto_table relay_proc_queue_frames, relay_proc_reload_frames;

#endif
