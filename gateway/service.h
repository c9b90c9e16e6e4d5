/*
 * service.h - the loop shared by the long-lived helper processes (`auth`,
 * `queue`): wait on the master's channel and on one socket per live session;
 * adopt a new session's socket when the master hands it over
 * (PROTO_NEW_SESSION + fd); pass each readable session socket to the
 * process's request handler; exit when the master goes away.
 */
#ifndef SUBGATE_SERVICE_H
#define SUBGATE_SERVICE_H

#include <poll.h>

#include "config.h"
#include "proto.h"

#define SERVICE_MORE_FDS 8 /* room for more_fds (the queue's control connections) */

struct service {
	const char *name;
	int master_fd;
	int fds[CONFIG_MAX_SESSIONS]; /* -1: slot free */
	char sids[CONFIG_MAX_SESSIONS][12];
	/* A new session took `slot` (its socket is fds[slot]). */
	void (*adopt)(unsigned slot, const struct proto_new_session *ns);
	/* fds[slot] is readable. */
	void (*request)(unsigned slot);
	/* The slot's socket is being closed (session gone or misbehaving). */
	void (*drop)(unsigned slot);
	/* The master is gone: clean up before exit. */
	void (*shutdown)(void);
	/* Optional: one more channel (the queue's link to the relay), -1 if none. */
	int extra_fd;
	void (*extra)(void);
	/*
	 * The frames the master may send (proto.h; handlers get the service as
	 * ctx), with SERVICE_NEW_SESSION_ROW among them. service_init sets
	 * service_master_frames: new sessions only.
	 */
	const struct proto_table *master_frames;
	/* Optional: up to SERVICE_MORE_FDS more descriptors to poll (fills pfd, returns how
	 * many), and their handler, called after every poll round with the same entries. */
	unsigned (*more_fds)(struct pollfd *pfd, unsigned cap);
	void (*more_ready)(const struct pollfd *pfd, unsigned n);
	/* Optional: poll timeout in ms (-1: none), and a hook run after every poll round. */
	int (*timeout_ms)(void);
	void (*after_poll)(void);
};

/* PROTO_NEW_SESSION + the session's socket: adopted into its slot (ctx: the struct service). */
int service_new_session(void *ctx, struct ipc_frame *f, int fd);

#define SERVICE_NEW_SESSION_ROW                                                                      \
	{                                                                                            \
		.type = PROTO_NEW_SESSION, PROTO_SIZE(struct proto_new_session), .fd = PROTO_FD_ONE, \
		.strings = { PROTO_STR(struct proto_new_session, client),                            \
			     PROTO_STR(struct proto_new_session, session_id) },                      \
		.handler = service_new_session                                                       \
	}

extern const struct proto_table service_master_frames;

/* Marks every slot free. */
void service_init(struct service *svc, const char *name, int master_fd);

/* Closes the slot's socket after calling svc->drop. */
void service_drop(struct service *svc, unsigned slot);

/* One round of service_run: one poll, then the master's frame, session requests, the rest. */
void service_poll_once(struct service *svc);

/* Runs forever; exits the process when the master's channel closes. */
void service_run(struct service *svc) __attribute__((noreturn));

#endif
