/*
 * queue_status.c - composes the queue's status (queue_status.h): the text
 * and JSON answers to `status`, the SPOOL/status line, and the alert
 * steps. Pure: the facts and the clock come from the caller.
 */
#include "queue_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

void queue_status_age(uint64_t secs, char *out, size_t cap)
{
	if (secs < 60) {
		snprintf(out, cap, "%llus", (unsigned long long)secs);
	} else if (secs < 3600) {
		snprintf(out, cap, "%llum", (unsigned long long)(secs / 60));
	} else if (secs < 2 * (uint64_t)QUEUE_STATUS_DAY) {
		snprintf(out, cap, "%lluh", (unsigned long long)(secs / 3600));
	} else {
		snprintf(out, cap, "%llud", (unsigned long long)(secs / QUEUE_STATUS_DAY));
	}
}

static uint64_t status_oldest_age(const struct queue_status *s)
{
	return s->oldest != 0 && s->now > s->oldest ? (uint64_t)(s->now - s->oldest) : 0;
}

int queue_status_late(const struct queue_status *s)
{
	return s->oldest != 0 && status_oldest_age(s) >= s->alert_after;
}

void queue_status_line(const struct queue_status *s, char *out, size_t cap)
{
	char when[TIMEFMT_RFC5322_LEN], age[16];

	if (s->problem_since != 0) {
		timefmt_rfc5322(s->problem_since, when, sizeof(when));
		snprintf(out, cap, "paused: %s (since %s)\n", s->problem, when);
	} else if (queue_status_late(s)) {
		queue_status_age(status_oldest_age(s), age, sizeof(age));
		snprintf(out, cap, "late: oldest message %s old\n", age);
	} else {
		snprintf(out, cap, "ok\n");
	}
}

/* One line of the text answer; control bytes (from the smarthost) become '?'. */
__attribute__((format(printf, 3, 4))) static int status_put(json_sink sink, void *ctx, const char *fmt, ...)
{
	static char line[768];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return -1;
	}
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	for (int i = 0; i < n - 1; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
			line[i] = '?';
		}
	}
	return sink(ctx, line, (size_t)n);
}

static int status_text_state(const struct queue_status *s, json_sink sink, void *ctx)
{
	char when[TIMEFMT_RFC5322_LEN], since[TIMEFMT_RFC5322_LEN];

	if (s->paused_until > s->now) {
		timefmt_rfc5322(s->paused_until, when, sizeof(when));
		if (status_put(sink, ctx, "state: paused until %s: %s\n", when,
			       s->problem != NULL ? s->problem : "held") < 0) {
			return -1;
		}
	} else if (status_put(sink, ctx, "state: running (%s)\n", s->delivering ? "delivering" : "idle") < 0) {
		return -1;
	}
	if (s->problem_since != 0) {
		timefmt_rfc5322(s->problem_since, since, sizeof(since));
		return status_put(sink, ctx, "problem: %s since %s\n", s->problem, since);
	}
	return 0;
}

static int status_text(const struct queue_status *s, json_sink sink, void *ctx)
{
	char when[TIMEFMT_RFC5322_LEN], age[16];
	int rc = status_text_state(s, sink, ctx);

	rc |= status_put(sink, ctx, "smarthost: %s\n", s->smarthost);
	if (s->last_reply_at != 0) {
		timefmt_rfc5322(s->last_reply_at, when, sizeof(when));
		rc |= status_put(sink, ctx, "last reply: %s: %s\n", when, s->last_reply);
	} else {
		rc |= status_put(sink, ctx, "last reply: none yet\n");
	}
	rc |= status_put(sink, ctx, "queued: %u message%s, %llu bytes\n", s->queued, s->queued == 1 ? "" : "s",
			 (unsigned long long)s->queued_bytes);
	rc |= status_put(sink, ctx, "held: %u message%s, %llu bytes\n", s->held, s->held == 1 ? "" : "s",
			 (unsigned long long)s->held_bytes);
	if (s->oldest != 0) {
		queue_status_age(status_oldest_age(s), age, sizeof(age));
		timefmt_rfc5322(s->oldest, when, sizeof(when));
		rc |= status_put(sink, ctx, "oldest: %s old (arrived %s)%s\n", age, when,
				 queue_status_late(s) ? ", late" : "");
	}
	if (s->next_attempt == 0) {
		return rc | status_put(sink, ctx, "next attempt: none\n");
	}
	timefmt_rfc5322(s->next_attempt, when, sizeof(when));
	return rc | status_put(sink, ctx, "next attempt: %s\n", s->next_attempt <= s->now ? "now" : when);
}

static void status_time(struct json *j, const char *key, time_t t)
{
	json_key(j, key);
	if (t != 0) {
		json_int(j, (int64_t)t);
	} else {
		json_null(j);
	}
}

static void status_count(struct json *j, const char *key, unsigned n, uint64_t bytes)
{
	json_key(j, key);
	json_object_begin(j);
	json_key(j, "count");
	json_uint(j, n);
	json_key(j, "bytes");
	json_uint(j, bytes);
	json_object_end(j);
}

static void status_json_state(const struct queue_status *s, struct json *j)
{
	json_key(j, "now");
	json_int(j, (int64_t)s->now);
	json_key(j, "state");
	json_string(j, s->paused_until > s->now ? "paused" : "running");
	json_key(j, "delivering");
	json_bool(j, s->delivering);
	if (s->paused_until > s->now || s->problem_since != 0) {
		json_key(j, "paused");
		json_object_begin(j);
		json_key(j, "reason");
		json_string(j, s->problem != NULL ? s->problem : "held");
		status_time(j, "since", s->problem_since);
		status_time(j, "until", s->paused_until > s->now ? s->paused_until : 0);
		json_object_end(j);
	}
}

static int status_json(const struct queue_status *s, json_sink sink, void *ctx)
{
	struct json j;
	char line[QUEUE_STATUS_LINE_MAX];

	queue_status_line(s, line, sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	json_init(&j, sink, ctx);
	json_object_begin(&j);
	status_json_state(s, &j);
	json_key(&j, "summary");
	json_string(&j, line);
	json_key(&j, "smarthosts");
	json_array_begin(&j);
	json_object_begin(&j);
	json_key(&j, "address");
	json_string(&j, s->smarthost);
	status_time(&j, "last_reply_at", s->last_reply_at);
	json_key(&j, "last_reply");
	if (s->last_reply_at != 0) {
		json_string(&j, s->last_reply);
	} else {
		json_null(&j);
	}
	json_object_end(&j);
	json_array_end(&j);
	status_count(&j, "queued", s->queued, s->queued_bytes);
	status_count(&j, "held", s->held, s->held_bytes);
	status_time(&j, "oldest_arrival", s->oldest);
	json_key(&j, "late");
	json_bool(&j, queue_status_late(s));
	status_time(&j, "next_attempt", s->next_attempt);
	json_object_end(&j);
	if (json_finish(&j) < 0) {
		return -1;
	}
	return sink(ctx, "\n", 1);
}

int queue_status_write(const struct queue_status *s, int json, json_sink sink, void *ctx)
{
	return json ? status_json(s, sink, ctx) : status_text(s, sink, ctx);
}

enum queue_alert_do queue_alert_step(struct queue_alert *a, int on, time_t now)
{
	if (!on) {
		if (a->since == 0) {
			return QUEUE_ALERT_NONE;
		}
		a->since = 0;
		a->warned = 0;
		return QUEUE_ALERT_CLEAR;
	}
	if (a->since == 0) {
		a->since = now;
		a->warned = now;
		return QUEUE_ALERT_START;
	}
	if (now - a->warned >= QUEUE_STATUS_DAY) {
		a->warned = now;
		return QUEUE_ALERT_AGAIN;
	}
	return QUEUE_ALERT_NONE;
}
