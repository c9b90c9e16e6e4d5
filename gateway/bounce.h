/*
 * bounce.h - composes delivery status notifications (RFC 3464, RFC 3462
 * multipart/report; RFC 6522 for the current name) for messages the relay
 * could not deliver, to be queued as new mail from the null sender <>.
 * Pure: writes text through the caller's writer (wbuf.h), so the queue
 * process can stream it into a spool file. No allocation.
 */
#ifndef SUBGATE_BOUNCE_H
#define SUBGATE_BOUNCE_H

#include <stddef.h>
#include <time.h>

#include "wbuf.h"

/* One failed recipient and why. */
struct bounce_rcpt {
	const char *addr;
	const char *status;     /* RFC 3463 code, e.g. "5.1.1" (or "4.4.7" for lifetime expiry) */
	const char *diagnostic; /* the smarthost's reply, e.g. "550 5.1.1 <x@y>: user unknown"; may be NULL */
};

struct bounce_info {
	const char *hostname;  /* our name (Reporting-MTA, From: MAILER-DAEMON@hostname) */
	const char *queue_id;  /* the original message's id */
	const char *sender;    /* the original envelope sender: the bounce's recipient */
	const char *smarthost; /* Remote-MTA name, may be NULL */
	time_t arrival;        /* Arrival-Date */
	time_t now;            /* Date: of the bounce */
	int expired;           /* 1: queue lifetime exceeded (action failed, "too long in queue") */
	unsigned nrcpt;
	const struct bounce_rcpt *rcpts;
	const char *boundary;   /* unique MIME boundary chosen by the caller (no CR/LF) */
	const char *message_id; /* Message-ID of the bounce, e.g. "<ID.bounce@host>" */
};

/*
 * Writes the complete bounce message (headers, human-readable part,
 * message/delivery-status part, text/rfc822-headers part with the original
 * header block) with CRLF line ends to out, and flushes it. original_headers
 * is the original message's header block (up to, not including, the blank
 * line), len bytes; lines longer than 998 are folded or cut so the bounce
 * itself is valid. Returns 0, or -1 with errno: the writer's sink failed
 * (nothing more was sent after that), or EINVAL for an unusable argument (a
 * field containing CR or LF; nothing written).
 */
int bounce_compose(const struct bounce_info *info, const char *original_headers, size_t len, struct wbuf *out);

#endif
