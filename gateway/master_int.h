/*
 * master_int.h - the master's state, shared by master.c (start-up, the
 * long-lived children, signals, the loop) and master_session.c (accept,
 * connection limits, one session process per connection).
 */
#ifndef SUBGATE_MASTER_INT_H
#define SUBGATE_MASTER_INT_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "config.h"
#include "jail.h"
#include "listener.h"
#include "proto.h"
#include "spool.h"
#include "tls_client.h"
#include "tls_server.h"

struct master_child {
	pid_t pid;
	char client[PROTO_ADDR_STR];
	char id[12];
};

struct master {
	struct conf conf;
	struct jail jail;
	struct tls_creds creds; /* the certificate chain only: the key lives in `auth` */
	struct tls_client_trust trust;
	struct spool spool; /* open only until `queue` has it */
	struct listener listeners[CONFIG_MAX_LISTENERS];
	unsigned nlisteners;
	struct master_child sessions[CONFIG_MAX_SESSIONS];
	pid_t auth_pid, queue_pid, relay_pid;
	int auth_fd, queue_fd, relay_fd, sigfd, pid_fd;
	sigset_t saved_mask;
	unsigned counter;
};

extern struct master master;

/* In a new child: keep only what the role needs, die with the master. */
void master_child_setup(void);

/* A listener is readable: accept, check the limits, fork a session. */
void master_accept(const struct listener *l);

/* A reaped pid that was a session: forget it (log a signal). Returns 1 if it was one. */
int master_session_reaped(pid_t pid, int status);

/* SIGTERM to every session. */
void master_stop_sessions(void);

#endif
