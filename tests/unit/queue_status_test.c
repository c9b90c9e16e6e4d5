/*
 * queue_status_test.c - the queue's status words with a fixed clock: ages in
 * their largest unit, the SPOOL/status line (ok, paused before late, late at
 * exactly alert_after), the text and JSON answers (running idle or
 * delivering, paused with reason and times, no "paused" member nor
 * "problem" line while all is well, control bytes of a reply made '?'),
 * and the alert steps (one warning when it starts, none while it lasts,
 * again after a day, one clear).
 */
#include <string.h>

#include "harness.h"
#include "queue_status.h"

#define T0   ((time_t)1800000000) /* Fri, 15 Jan 2027 08:00:00 +0000 */
#define DAY2 ((time_t)2 * 86400)

struct capture {
	size_t len;
	char buf[4096];
};

static int capture_sink(void *ctx, const char *data, size_t len)
{
	struct capture *c = ctx;

	if (len > sizeof(c->buf) - 1 - c->len) {
		return -1;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->buf[c->len] = '\0';
	return 0;
}

static struct queue_status base(void)
{
	struct queue_status s;

	memset(&s, 0, sizeof(s));
	s.now = T0;
	s.smarthost = "[smtp.example.net]:587";
	s.alert_after = 3600;
	return s;
}

TEST(queue_status_age_units)
{
	static const struct {
		uint64_t secs;
		const char *want;
	} cases[] = {
		{ 0, "0s" },    { 59, "59s" },     { 60, "1m" },     { 3599, "59m" },
		{ 3600, "1h" }, { 172799, "47h" }, { 172800, "2d" },
	};
	char out[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		queue_status_age(cases[i].secs, out, sizeof(out));
		CHECK_STR(out, cases[i].want);
	}
}

TEST(queue_status_line_cases)
{
	static const struct {
		time_t oldest_age; /* -1: no message */
		time_t problem_since;
		const char *want;
	} cases[] = {
		{ -1, 0, "ok\n" },
		{ 3599, 0, "ok\n" },
		{ 3600, 0, "late: oldest message 1h old\n" },
		{ (time_t)3 * 3600 + 59, 0, "late: oldest message 3h old\n" },
		{ (time_t)3 * 86400, T0 - 3600,
		  "paused: the smarthost refused our credentials (since Fri, 15 Jan 2027 07:00:00 +0000)\n" },
		{ -1, T0, "paused: the smarthost refused our credentials (since Fri, 15 Jan 2027 08:00:00 +0000)\n" },
	};
	char line[QUEUE_STATUS_LINE_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct queue_status s = base();

		s.oldest = cases[i].oldest_age < 0 ? 0 : T0 - cases[i].oldest_age;
		s.problem_since = cases[i].problem_since;
		s.problem = s.problem_since != 0 ? "the smarthost refused our credentials" : NULL;
		queue_status_line(&s, line, sizeof(line));
		CHECK_STR(line, cases[i].want);
	}
}

TEST(queue_status_text_running)
{
	struct queue_status s = base();
	struct capture c = { 0 };

	s.delivering = 1;
	s.last_reply_at = T0 - 3600;
	s.last_reply = "451 4.3.0 try\tlater\r";
	s.queued = 2;
	s.queued_bytes = 2048;
	s.held = 1;
	s.held_bytes = 10;
	s.oldest = T0 - 120;
	s.next_attempt = T0;
	CHECK(queue_status_write(&s, 0, capture_sink, &c) == 0);
	CHECK_STR(c.buf, "state: running (delivering)\n"
			 "smarthost: [smtp.example.net]:587\n"
			 "last reply: Fri, 15 Jan 2027 07:00:00 +0000: 451 4.3.0 try?later?\n"
			 "queued: 2 messages, 2048 bytes\n"
			 "held: 1 message, 10 bytes\n"
			 "oldest: 2m old (arrived Fri, 15 Jan 2027 07:58:00 +0000)\n"
			 "next attempt: now\n");
}

TEST(queue_status_text_paused)
{
	struct queue_status s = base();
	struct capture c = { 0 };

	s.paused_until = T0 + 3600;
	s.problem_since = T0 - 3600;
	s.problem = "the smarthost refused our credentials";
	s.next_attempt = T0 + 3600;
	CHECK(queue_status_write(&s, 0, capture_sink, &c) == 0);
	CHECK_STR(c.buf, "state: paused until Fri, 15 Jan 2027 09:00:00 +0000: the smarthost refused our credentials\n"
			 "problem: the smarthost refused our credentials since Fri, 15 Jan 2027 07:00:00 +0000\n"
			 "smarthost: [smtp.example.net]:587\n"
			 "last reply: none yet\n"
			 "queued: 0 messages, 0 bytes\n"
			 "held: 0 messages, 0 bytes\n"
			 "next attempt: Fri, 15 Jan 2027 09:00:00 +0000\n");
}

TEST(queue_status_json)
{
	static const struct {
		int paused, late;
		const char *want;
	} cases[] = {
		{ 0, 0,
		  "{\"now\":1800000000,\"state\":\"running\",\"delivering\":false,\"summary\":\"ok\","
		  "\"smarthosts\":[{\"address\":\"[smtp.example.net]:587\",\"last_reply_at\":null,\"last_reply\":null}]"
		  ","
		  "\"queued\":{\"count\":0,\"bytes\":0},\"held\":{\"count\":0,\"bytes\":0},\"oldest_arrival\":null,"
		  "\"late\":false,\"next_attempt\":null}\n" },
		{ 1, 1,
		  "{\"now\":1800000000,\"state\":\"paused\",\"delivering\":false,\"paused\":{\"reason\":\"the "
		  "smarthost "
		  "refused our credentials\",\"since\":1799996400,\"until\":1800003600},\"summary\":\"paused: the "
		  "smarthost refused our credentials (since Fri, 15 Jan 2027 07:00:00 +0000)\","
		  "\"smarthosts\":[{\"address\":\"[smtp.example.net]:587\",\"last_reply_at\":1799996400,\"last_reply\":"
		  "\"535 5.7.8 \\\"no\\\"\"}],\"queued\":{\"count\":1,\"bytes\":5},\"held\":{\"count\":0,\"bytes\":0},"
		  "\"oldest_arrival\":1799992800,\"late\":true,\"next_attempt\":1800003600}\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct queue_status s = base();
		struct capture c = { 0 };

		if (cases[i].paused) {
			s.paused_until = s.next_attempt = T0 + 3600;
			s.problem_since = s.last_reply_at = T0 - 3600;
			s.problem = "the smarthost refused our credentials";
			s.last_reply = "535 5.7.8 \"no\"";
		}
		if (cases[i].late) {
			s.oldest = T0 - 7200;
			s.queued = 1;
			s.queued_bytes = 5;
		}
		CHECK(queue_status_write(&s, 1, capture_sink, &c) == 0);
		CHECK_STR(c.buf, cases[i].want);
	}
}

TEST(queue_status_alert_steps)
{
	static const struct {
		time_t at;
		int on;
		enum queue_alert_do want;
	} steps[] = {
		{ T0, 0, QUEUE_ALERT_NONE },
		{ T0 + 1, 1, QUEUE_ALERT_START },
		{ T0 + 2, 1, QUEUE_ALERT_NONE },
		{ T0 + 86400, 1, QUEUE_ALERT_NONE },
		{ T0 + 86401, 1, QUEUE_ALERT_AGAIN },
		{ T0 + DAY2, 1, QUEUE_ALERT_NONE },
		{ T0 + DAY2 + 1, 1, QUEUE_ALERT_AGAIN },
		{ T0 + DAY2 + 2, 0, QUEUE_ALERT_CLEAR },
		{ T0 + DAY2 + 3, 0, QUEUE_ALERT_NONE },
		{ T0 + DAY2 + 4, 1, QUEUE_ALERT_START },
	};
	struct queue_alert a = { 0, 0 };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		CHECK(queue_alert_step(&a, steps[i].on, steps[i].at) == steps[i].want);
	}
}
