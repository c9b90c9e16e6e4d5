/*
 * queue_msg.h - the messages sessions send to the `queue` process: one
 * spool message per session slot at a time (PROTO_Q_CHECK, BEGIN, DATA...,
 * END or ABORT; proto.h). The queue trusts no session: it checks again
 * what the session should have checked, so that a compromised session
 * cannot store what an honest one never would:
 *   - the envelope's client is what the master named the connection
 *     (PROTO_NEW_SESSION), so nobody's mail shows up in another's mailq;
 *   - for a network session, the envelope's user is who logged in on this
 *     session and the sender one auth allows that user (PROTO_AUTH_LOGIN,
 *     which auth sends before the session hears of the login); a session
 *     that never logged in stores nothing. Local sessions have no login:
 *     their client ("local uid=N") is what the master saw;
 *   - the message is no larger than max_message_size plus the headers a
 *     session adds (QUEUE_MSG_ADDED_MAX): else EFBIG, 552 5.3.4;
 *   - the stored bytes are CRLF lines: no bare CR, bare LF or NUL, and
 *     the message ends with CRLF: else EBADMSG, 554 5.6.0.
 * A refused message is aborted at once (nothing more is written); the
 * session gets the errno in the PROTO_Q_REPLY to its END.
 */
#ifndef SUBGATE_QUEUE_MSG_H
#define SUBGATE_QUEUE_MSG_H

#include "conf.h"
#include "lib/ipc.h"
#include "proto.h"
#include "spool.h"

/* Received: (session_data.c builds it in 1024 bytes), Message-ID: and Date:, with room. */
#define QUEUE_MSG_ADDED_MAX (1024 + 2 * (ADDR_DOMAIN_MAX + 64) + 512)

/*
 * The spool to write, the settings (max_message_size; a reload may change
 * them in place) and auth's channel (PROTO_AUTH_LOGIN; -1: none).
 */
void queue_msg_init(struct spool *sp, const struct conf *c, int auth_fd);

/* A new session in slot: its channel, its id for the log, its client as the master named it. */
void queue_msg_adopt(unsigned slot, int fd, const char *sid, const char *client);

/* auth's word on who logged in on a slot (strings terminated). Returns 0, or -1: slot or count out of range. */
int queue_msg_login(const struct proto_auth_login *l);

/* Takes every login auth has sent; returns without waiting. The channel, -1 once it closed. */
void queue_msg_auth_drain(void);
int queue_msg_auth_fd(void);

/*
 * Receives and handles one frame from the session in slot. Returns 0, or -1:
 * the session is gone, or sent a frame its table refuses (logged): drop it.
 */
int queue_msg_recv(unsigned slot);

/* The frames: a session's (ctx: the slot), and auth's channel. */
extern const struct proto_table queue_msg_session_frames, queue_msg_auth_frames;

/* The session is gone (or the process stops): its unfinished message goes with it. */
void queue_msg_drop(unsigned slot);

#endif
