/*
 * spool_state.h - what happens to a committed message after the relay has
 * tried it (queue process only): a recipient is marked delivered or bounced
 * by rewriting its one state byte (pwrite + fdatasync); a message that still
 * has pending recipients moves to defer/ with its mtime set to the next
 * attempt (Postfix's habit); a finished message is removed. The scheduler
 * asks which message is due next. The operator's commands (queue_ctl.c) find,
 * hold, release and delete messages; reason/ID keeps the last deferral reason.
 */
#ifndef SUBGATE_SPOOL_STATE_H
#define SUBGATE_SPOOL_STATE_H

#include <sys/types.h>
#include <time.h>

#include "spool.h"
#include "spool_env.h"

/* Where a committed message lives. */
enum spool_where {
	SPOOL_IN_QUEUE,
	SPOOL_IN_DEFER,
	SPOOL_IN_HOLD,
};

#define SPOOL_REASON_MAX 600 /* bytes of a deferral reason kept in reason/ID */

/* The directory fd for a state (queue/, defer/ or hold/). */
int spool_where_fd(const struct spool *s, enum spool_where where);

/* 1 if name is a spool id (SPOOL_ID_LEN lowercase hex digits). */
int spool_is_id(const char *name);

/* Opens a committed message read-write (for marks). Returns the fd or -1. */
int spool_open_msg(struct spool *s, const char *id, enum spool_where where);

/* Opens it read-only (what the relay gets). */
int spool_open_msg_ro(struct spool *s, const char *id, enum spool_where where);

/* Reads and parses the envelope of an open message. Returns 0 or -1. */
int spool_read_env(int fd, struct spool_env *e);

/* Rewrites one recipient's state byte durably. Returns 0 or -1 with errno. */
int spool_mark_rcpt(int fd, const struct spool_rcpt *r, char state);

/* Moves the message to defer/ (if not there) with mtime = when. Returns 0 or -1. */
int spool_defer(struct spool *s, int fd, const char *id, enum spool_where where, time_t when);

/* Deletes a finished message (and its reason) and forgets its size. Returns 0 or -1. */
int spool_remove(struct spool *s, int fd, const char *id, enum spool_where where);

/* Finds a committed message: 1 with *where set, 0 if there is none, -1 on error. */
int spool_locate(struct spool *s, const char *id, enum spool_where *where);

/* Deletes a message by id (the operator's delete): spool_remove without an open fd. */
int spool_delete(struct spool *s, const char *id, enum spool_where where);

/* Moves a message from queue/ or defer/ to hold/, then fsyncs both directories. Returns 0 or -1. */
int spool_hold(struct spool *s, const char *id, enum spool_where where);

/* Moves a held message to queue/ (due now), then fsyncs both directories. Returns 0 or -1. */
int spool_release(struct spool *s, const char *id);

/* Records the last deferral reason (at most SPOOL_REASON_MAX bytes, no fsync). Returns 0 or -1. */
int spool_reason_set(struct spool *s, const char *id, const char *text);

/* Reads it into buf (NUL-terminated). Returns its length, 0 if there is none. */
size_t spool_reason_get(struct spool *s, const char *id, char *buf, size_t cap);

/* Forgets it (the message left the spool). */
void spool_reason_remove(struct spool *s, const char *id);

/*
 * Finds a message due now that is not `skip` (the one in flight): any file
 * in queue/ (oldest id first), else a file in defer/ whose mtime <= now.
 * Returns 1 with id/where set, or 0 with *next_due = the earliest future
 * mtime in defer/ (0 if none). -1 on error. Ids come from a batch that one
 * directory read filled (spool_state.c); each is handed out once per read.
 */
int spool_next_due(struct spool *s, time_t now, const char *skip, char id[SPOOL_ID_LEN + 1], enum spool_where *where,
		   time_t *next_due);

/*
 * Drops the batch of spool_next_due, so that the next call reads the spool
 * again: always (deferred_only 0), or only when the batch is of deferred
 * messages (1: new mail in queue/ goes before them; new ids sort after a
 * batch of queued ones, which therefore stays).
 */
void spool_due_forget(struct spool *s, int deferred_only);

/* Moves a message the queue cannot open to corrupt/ (Postfix's habit). Returns 0 or -1 with errno. */
int spool_quarantine(struct spool *s, const char *id, enum spool_where where);

/*
 * Makes every deferred message but `skip` (the one in flight, which must stay
 * where the scheduler expects it) due now (flush). Returns how many.
 */
unsigned spool_flush_deferred(struct spool *s, const char *skip);

#endif
