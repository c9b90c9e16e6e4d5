/*
 * spool.h - the on-flash spool (DESIGN.md section 2), owned by the `queue`
 * process alone. A message's state is the directory that holds it:
 *   tmp/ID    being received (never read by anyone else; swept at start)
 *   queue/ID  committed, ready for the relay
 *   defer/ID  waiting for a retry (mtime = next attempt)
 *   hold/ID   put on hold by the operator (`subgate queue hold`): never
 *             scheduled, never expired, until released to queue/
 *   corrupt/ID a file the queue could not open, set aside for the operator
 *   reason/ID the last deferral reason of a message in one of the above
 *             (advisory: written without fsync, removed with the message)
 * Commit: write tmp/ID, fsync(file), rename to queue/ID, fsync(queue/);
 * only then may the session answer 250. One file fsync and one directory
 * fsync per message. Quotas (messages, bytes, free-space reserve) are
 * checked before a message starts and on every write; a refusal is
 * errno ENOSPC or EDQUOT, which the session turns into 452 4.3.1.
 *
 * File format: a text envelope, a blank line, then the message exactly as
 * received after dot-unstuffing (CRLF line ends):
 *   subgate-spool 1\n
 *   arrival EPOCH\n
 *   sender ADDR\n              (empty after the space for the null sender)
 *   user NAME\n                (the authenticated user)
 *   client ADDR\n
 *   rcpt P ADDR\n              one per recipient; the byte after "rcpt " is its
 *                              state: P pending, D delivered, B bounced, changed
 *                              in place by spool_mark_rcpt (one byte, fsync)
 *   \n
 *   MESSAGE
 */
#ifndef SUBGATE_SPOOL_H
#define SUBGATE_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "config.h"

#define SPOOL_ID_LEN 16 /* hex: 8 seconds, 5 microseconds, 3 sequence */

struct spool_limits {
	uint64_t max_messages;
	uint64_t max_bytes;
	uint64_t min_free_bytes; /* free space to keep on the file system */
};

/* Due messages from one scan of queue/ or defer/, handed out in turn (spool_next_due). */
struct spool_due {
	char ids[CONFIG_SPOOL_DUE_BATCH][SPOOL_ID_LEN + 1]; /* queue/: oldest first; defer/: as read */
	unsigned n;                                         /* ids held */
	unsigned next;                                      /* the next one to hand out */
	int deferred;                                       /* 1: they are in defer/ */
};

struct spool {
	int root_fd;
	int tmp_fd;
	int queue_fd;
	int defer_fd;
	int hold_fd;
	int corrupt_fd;
	int reason_fd;
	struct spool_limits limits;
	uint64_t nmessages;   /* files in queue/, defer/ and hold/, plus messages being received */
	uint64_t nbytes;      /* their total size */
	unsigned sequence;    /* the 3-hex-digit sequence part of the last ID issued */
	uint64_t last_id;     /* the last ID issued, as a number: IDs only increase */
	struct spool_due due; /* the queue's scheduling batch (spool_state.c) */
};

struct spool_envelope {
	const char *sender; /* "" for <> */
	const char *user;
	const char *client;
	unsigned nrcpt;
	const char *const *rcpts;
	time_t arrival;
};

struct spool_msg {
	char id[SPOOL_ID_LEN + 1];
	int fd;
	uint64_t bytes; /* written so far, envelope included */
};

/*
 * Opens (creating tmp/ queue/ defer/ hold/ corrupt/ reason/ with mode 0700 if
 * missing) the spool at path, removes every file left in tmp/ (a crash
 * mid-receive), and counts the usage of queue/, defer/ and hold/. Returns 0
 * or -1 with errno.
 */
int spool_open(struct spool *s, const char *path, const struct spool_limits *limits);
void spool_close(struct spool *s);

/* Number of stale tmp/ files spool_open removed (for the start-up log). */
extern unsigned spool_swept;

/*
 * Would a message of about size bytes fit (count, bytes, free space)?
 * Returns 0, or -1 with errno ENOSPC (free space) or EDQUOT (quota).
 */
int spool_quota_check(struct spool *s, uint64_t size);

/*
 * Creates tmp/ID and writes the envelope. Returns 0 or -1 with errno (quota
 * errors as above; EINVAL for a line break in a field or no recipient;
 * EMSGSIZE for an envelope larger than spool_env.h can read back).
 */
int spool_msg_create(struct spool *s, struct spool_msg *m, const struct spool_envelope *env);

/* Appends message bytes; enforces the quotas as the file grows. Returns 0 or -1 with errno. */
int spool_msg_write(struct spool *s, struct spool_msg *m, const void *buf, size_t len);

/* fsync, rename to queue/ID, fsync(queue/). On failure the message is gone (aborted). */
int spool_msg_commit(struct spool *s, struct spool_msg *m);

/* Removes an unfinished message (client went away, RSET, error). */
void spool_msg_abort(struct spool *s, struct spool_msg *m);

#endif
