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
#include <time.h>

#include "conf.h"
#include "config.h"
#include "jail.h"
#include "listener.h"
#include "local_users.h"
#include "proto.h"
#include "spool.h"
#include "tls_client.h"
#include "tls_server.h"

/*
 * A session slot. status_fd is the master's end of a stream socket whose
 * other end only the session holds: the session writes 'A' once it has
 * logged in and closes it before its last reply, so end-of-file there means
 * "finished" (the slot counts no more, even before the process is reaped);
 * the master writes 'E' there before it closes a session to free its slot.
 */
struct master_child {
	pid_t pid;
	int local;     /* came over the local submission socket */
	uint32_t uid;  /* its peer (SO_PEERCRED) */
	int status_fd; /* -1 once finished (or never a network session) */
	int done;      /* finished: its slot may be given to a new session */
	int authed;    /* it said it logged in (or is local) */
	int refuser;   /* only completes TLS to say 421 (implicit TLS over a limit) */
	time_t started;
	unsigned seq; /* order of admission: the oldest goes first */
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
	struct local_users local_users; /* uid -> name for the submission socket */
	int submit_fd, control_fd;      /* SPOOL/public/submit, SPOOL/private/control */
	int showq_fd;                   /* SPOOL/public/showq: anyone may list their own mail */
	uid_t local_owner;              /* owner of both sockets: root, or the user of a --no-jail run */
	int stopping;                   /* SIGTERM: no new sessions; waiting for those in DATA */
	time_t stop_deadline;           /* then the rest are closed */
	pid_t auth_pid, queue_pid, relay_pid, reload_pid;
	int auth_fd, queue_fd, relay_fd, reload_fd, sigfd, pid_fd;
	int reload_auth[2], reload_relay[2]; /* the reload process's channels to auth and the relay keeper */
	int auth_queue[2];       /* auth tells the queue who logged in on a slot ([0] auth's end, [1] the queue's) */
	uint32_t key_generation; /* reloads of the certificate; auth signs with the matching key */
	sigset_t saved_mask;
	unsigned counter;
};

extern struct master master;

/* In a new child: keep only what the role needs, die with the master. */
void master_child_setup(void);

/* A listener is readable: accept, check the limits, fork a session. */
void master_accept(const struct listener *l);

/* A peer on the local submission socket: the same limits, a local session. */
void master_start_local_session(int fd, uint32_t uid, int pid);

/* The Unix sockets (master_local.c): made before the jail; 0 or an exit code. */
int master_local_open(void);
void master_submit_accept(void);
void master_control_accept(void);
void master_showq_accept(void);

/* SIGHUP (master_reload.c): ask the reload process; take what it hands over. */
void master_reload_request(void);
void master_reload_frame(void);

/* The frames the master takes: from the relay keeper (master.c), from the reload process (master_reload.c). */
extern const struct proto_table master_relay_frames, master_reload_frames;

/* A reaped pid that was a session: forget it (log a signal). Returns 1 if it was one. */
int master_session_reaped(pid_t pid, int status);

/* Sessions alive now. */
unsigned master_live_sessions(void);

/* A signal to every session: SIGTERM (finish DATA, then 421) or SIGKILL. */
void master_stop_sessions(int signo);

#endif
