/*
 * session_stub.h - a session process for the unit tests: session_loop() in
 * a forked child, on a session set up in any state, with the test as its
 * client (a stream socketpair; no TLS engine: "TLS on" is the session's flag
 * and the bytes stay plaintext) and as its auth and queue processes
 * (SEQPACKET pairs on which the test writes canned answers before the
 * command that needs them, and reads afterwards what the session sent).
 */
#ifndef SUBGATE_SESSION_STUB_H
#define SUBGATE_SESSION_STUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ipc.h"
#include "proto.h"
#include "session.h"

/* How the session starts; states are enum session_state. */
#define STUB_TLS    1u /* TLS is up */
#define STUB_AUTHED 2u /* logged in as alice@example.com, who owns @example.com */
#define STUB_LOCAL  4u /* the local submission socket: root (uid 0) unless set, logged in by the kernel */
#define STUB_HELO   8u /* the client said HELO, not EHLO: no PIPELINING */

#define STUB_HOST   "gw.example.test"
#define STUB_CLIENT "192.0.2.1"
#define STUB_QID    "0123456789abcdef" /* the queue id the canned queue answers give */

/* The EHLO replies: before TLS, after it, and on the local socket. */
#if CONFIG_AUTH_LOGIN
#define STUB_AUTH_LOGIN " LOGIN"
#else
#define STUB_AUTH_LOGIN ""
#endif
#if CONFIG_AUTH_SCRAM_SHA256
#define STUB_AUTH_SCRAM " SCRAM-SHA-256"
#else
#define STUB_AUTH_SCRAM ""
#endif
#define STUB_EHLO_HEAD  "250-" STUB_HOST "\n250-PIPELINING\n250-SIZE 65536\n"
#define STUB_EHLO_TAIL  "250-ENHANCEDSTATUSCODES\n250 8BITMIME"
#define STUB_EHLO_PLAIN STUB_EHLO_HEAD "250-STARTTLS\n" STUB_EHLO_TAIL
#define STUB_EHLO_TLS   STUB_EHLO_HEAD "250-AUTH PLAIN" STUB_AUTH_LOGIN STUB_AUTH_SCRAM "\n" STUB_EHLO_TAIL
#define STUB_EHLO_LOCAL STUB_EHLO_HEAD STUB_EHLO_TAIL

struct stub {
	pid_t pid;
	int fd;       /* the client's end of the connection */
	int auth_fd;  /* the auth process's end */
	int queue_fd; /* the queue process's end */
};

/* Starts the session process. Returns 0 or -1. */
int stub_start(struct stub *t, enum session_state state, unsigned flags);

/* The certificate chain of the sessions started from now on (STARTTLS); NULL: none. */
void stub_set_creds(const struct tls_creds *creds);

/*
 * The peer of the local sessions started from now on: its uid, login name
 * ("": none in /etc/passwd) and allowed sender. name NULL: root again.
 */
void stub_set_local_peer(uint32_t uid, const char *name, const char *sender);

/* Canned answers, read by the session when it asks (in the order written). */
int stub_auth_answer(struct stub *t, enum proto_auth_status status);
int stub_auth_send(int fd, enum proto_auth_status status); /* the same on any auth end */
int stub_queue_answer(struct stub *t, int32_t error);

/* Sends bytes as they are (pipelining: several commands in one write). */
int stub_send(struct stub *t, const char *bytes);

/*
 * Reads one reply (its lines joined by '\n', each checked to end in CRLF)
 * into out. Returns 0, or -1 on EOF, timeout or a malformed line.
 */
int stub_reply(struct stub *t, char *out, size_t cap);

/* Sends line and CRLF, then reads the reply. */
int stub_cmd(struct stub *t, const char *line, char *out, size_t cap);

/* Ends the client's side; 1 if the session then closes without another byte. */
int stub_closed(struct stub *t);

/*
 * Closes the client's side, waits for the process and closes every end but
 * the auth and queue ones (see stub_frame). Returns 1 if the session ended
 * by itself with status 0, else 0.
 */
int stub_finish(struct stub *t);

/* The next frame the session sent on fd (auth_fd or queue_fd): 1, or 0 when none is left. */
int stub_frame(int fd, struct ipc_frame *f);

/* Closes the auth and queue ends (after stub_finish). */
void stub_close_channels(struct stub *t);

#endif
