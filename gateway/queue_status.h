/*
 * queue_status.h - why the queue waits, as words (queue process; pure, so
 * unit-tested with an injected clock): the answer to `status` on the
 * control socket in text and JSON, the one-line SPOOL/status, and the
 * once-a-day alert logic behind the syslog warnings. queue_ctl_status.c
 * gathers the facts and writes the file; this file only composes.
 *
 * The JSON has a "smarthosts" array (one entry today) and an optional
 * "paused" object, so a backup smarthost or an OAuth token state become
 * more members later, not a new format.
 */
#ifndef SUBGATE_QUEUE_STATUS_H
#define SUBGATE_QUEUE_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "json.h"

#define QUEUE_STATUS_LINE_MAX 160 /* SPOOL/status, "\n" included */
#define QUEUE_STATUS_DAY      86400

/* The facts one status answer or SPOOL/status line is made of. */
struct queue_status {
	time_t now;
	int delivering;         /* a message is with the relay */
	time_t paused_until;    /* the queue holds until then (0 or past: it runs) */
	time_t problem_since;   /* the smarthost refuses our credentials since then; 0: it does not */
	const char *problem;    /* why, "the smarthost refused our credentials" */
	const char *smarthost;  /* as configured, "host:port" */
	time_t last_reply_at;   /* 0: no reply yet */
	const char *last_reply; /* the smarthost's last reply line */
	unsigned queued;        /* queue/ + defer/ */
	uint64_t queued_bytes;
	unsigned held; /* hold/ */
	uint64_t held_bytes;
	time_t oldest;        /* arrival of the oldest message in queue/ + defer/; 0: none */
	time_t next_attempt;  /* 0: nothing scheduled */
	uint64_t alert_after; /* seconds: an oldest message this old is late */
};

/* An age in its largest unit: "45s", "12m", "3h", "2d". */
void queue_status_age(uint64_t secs, char *out, size_t cap);

/* Whether the oldest message is older than alert_after. */
int queue_status_late(const struct queue_status *s);

/* The SPOOL/status line ("ok\n", "paused: ...\n", "late: ...\n") into out. */
void queue_status_line(const struct queue_status *s, char *out, size_t cap);

/* The whole answer body (text, or one JSON document with "\n") through sink. Returns 0 or -1. */
int queue_status_write(const struct queue_status *s, int json, json_sink sink, void *ctx);

/* One condition watched for the log: warned once when it starts, again once a day, cleared once. */
struct queue_alert {
	time_t since;  /* 0: not on */
	time_t warned; /* the last warning */
};

enum queue_alert_do {
	QUEUE_ALERT_NONE,
	QUEUE_ALERT_START, /* warn: it has just begun */
	QUEUE_ALERT_AGAIN, /* warn: another day of it */
	QUEUE_ALERT_CLEAR, /* info: it has ended */
};

/* Advances the alert: on says whether the condition holds at now. */
enum queue_alert_do queue_alert_step(struct queue_alert *a, int on, time_t now);

#endif
