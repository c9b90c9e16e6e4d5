/*
 * queue_sched.c - delivery scheduling and result bookkeeping (queue
 * process). At most one message is with the relay at a time. A recipient's
 * state byte is rewritten as soon as the relay reports it, so a crash never
 * re-sends to a delivered recipient (except the one in flight).
 */
#include "queue_sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "queue_bounce.h"
#include "secret.h"
#include "spool_state.h"
#include "timefmt.h"

struct queue_job {
	int active;
	char id[SPOOL_ID_LEN + 1];
	enum spool_where where;
	int fd; /* read-write, for the marks */
	struct spool_env env;
	char on_disk[CONFIG_MAX_RECIPIENTS]; /* each recipient's state byte as the file has it */
	struct queue_bounce_rcpt failed[CONFIG_MAX_RECIPIENTS];
	unsigned nfailed;
	char reason[SPOOL_REASON_MAX + 1]; /* the last deferral reason of this attempt, for reason/ID */
};

static const struct conf *sched_conf;
static struct spool *sched_spool;
static struct service *sched_svc;
static struct queue_job job;
static time_t sched_next_due;     /* earliest deferred message, 0 if none */
static time_t sched_paused_until; /* our smarthost credentials were refused */
static const char *sched_pause_reason = QUEUE_SCHED_REFUSED;
static time_t sched_refused_since; /* credentials refused, and no login has passed since */
static time_t sched_reply_at;      /* the smarthost's last reply (or the relay's failure) for status */
static char sched_reply[sizeof(((struct proto_r_rcpt *)0)->reply)];
static struct ipc_frame sched_frame;
static int sched_dirty = 1;

void queue_sched_init(const struct conf *c, struct spool *sp, struct service *svc)
{
	sched_conf = c;
	sched_spool = sp;
	sched_svc = svc;
	job.fd = -1;
}

/* Backoff from the message's age (doubles as it ages), within retry_min..retry_max, +-10% jitter. */
static time_t sched_backoff(time_t arrival, time_t now)
{
	uint64_t age = now > arrival ? (uint64_t)(now - arrival) : 0;
	uint64_t delay = age < sched_conf->retry_min ? sched_conf->retry_min : age;
	unsigned char r;

	delay = delay > sched_conf->retry_max ? sched_conf->retry_max : delay;
	if (secret_random(&r, 1) == 0 && delay >= 10) {
		delay = delay - delay / 10 + (delay / 5) * r / 255;
	}
	return now + (time_t)delay;
}

static void sched_job_close(void)
{
	if (job.fd >= 0) {
		close(job.fd);
	}
	job.fd = -1;
	job.active = 0;
	job.nfailed = 0;
}

/*
 * Marks every pending recipient bounced (lifetime expiry), in memory: the
 * file says so only once the bounce is queued (sched_finish).
 */
static void sched_expire(time_t now)
{
	log_warn("%s: queue lifetime of %llus exceeded (age %llds): bouncing %u pending recipient(s)", job.id,
		 (unsigned long long)sched_conf->queue_lifetime, (long long)(now - job.env.arrival),
		 spool_env_pending(&job.env));
	for (unsigned i = 0; i < job.env.nrcpt && job.nfailed < CONFIG_MAX_RECIPIENTS; i++) {
		struct spool_rcpt *r = &job.env.rcpt[i];

		if (r->state == SPOOL_RCPT_PENDING) {
			struct queue_bounce_rcpt *f = &job.failed[job.nfailed++];

			r->state = SPOOL_RCPT_BOUNCED;
			snprintf(f->addr, sizeof(f->addr), "%s", r->addr);
			snprintf(f->status, sizeof(f->status), "4.4.7");
			snprintf(f->reply, sizeof(f->reply),
				 "message could not be delivered within the queue lifetime");
		}
	}
}

/* Keeps why a message waits, for `subgate queue list` (advisory: a failure is only logged). */
static void sched_reason(const char *id, const char *reason)
{
	if (reason[0] != '\0' && spool_reason_set(sched_spool, id, reason) < 0) {
		log_warn("%s: cannot record the deferral reason: %s", id, strerror(errno));
	}
}

/* Writes the recipient states of this attempt that the file does not have yet. */
static void sched_write_marks(void)
{
	for (unsigned i = 0; i < job.env.nrcpt; i++) {
		const struct spool_rcpt *r = &job.env.rcpt[i];

		if (r->state == job.on_disk[i]) {
			continue;
		}
		if (spool_mark_rcpt(job.fd, r, r->state) < 0) {
			log_err("%s: cannot mark <%s>: %s", job.id, r->addr, strerror(errno));
		} else {
			job.on_disk[i] = r->state;
		}
	}
}

/*
 * The bounce could not be queued (quota, ENOSPC, EIO): its recipients are
 * pending again, so the message stays and they are tried, and bounced,
 * again at the next attempt. The file still has them pending.
 */
static void sched_bounce_later(void)
{
	for (unsigned i = 0; i < job.env.nrcpt; i++) {
		struct spool_rcpt *r = &job.env.rcpt[i];

		if (r->state == SPOOL_RCPT_BOUNCED && job.on_disk[i] == SPOOL_RCPT_PENDING) {
			r->state = SPOOL_RCPT_PENDING;
		}
	}
	log_warn("%s: kept in the queue until its bounce can be queued (%u recipient(s))", job.id, job.nfailed);
	snprintf(job.reason, sizeof(job.reason), "the bounce to the sender could not be queued");
	job.nfailed = 0;
}

/*
 * After an attempt: bounce what failed, then remove or defer the message.
 * job.env holds every state change of this attempt; the file has the
 * deliveries but the last, and no bounced mark until the bounce is queued.
 */
static void sched_finish(void)
{
	time_t now = time(NULL);

	if (job.nfailed > 0 &&
	    queue_bounce_send(sched_conf, sched_spool, job.fd, &job.env, job.id, job.failed, job.nfailed,
			      now - job.env.arrival > (time_t)sched_conf->queue_lifetime) < 0) {
		sched_bounce_later();
	}
	if (spool_env_pending(&job.env) == 0) {
		if (spool_remove(sched_spool, job.fd, job.id, job.where) < 0) {
			log_err("%s: cannot remove: %s", job.id, strerror(errno));
		} else {
			log_info("%s: removed", job.id);
		}
	} else {
		time_t when = sched_backoff(job.env.arrival, now);
		char at[TIMEFMT_RFC5322_LEN];

		sched_write_marks();
		if (spool_defer(sched_spool, job.fd, job.id, job.where, when) < 0) {
			log_err("%s: cannot defer: %s", job.id, strerror(errno));
		} else {
			timefmt_rfc5322(when, at, sizeof(at));
			log_info("%s: next attempt in %llds (%s)", job.id, (long long)(when - now), at);
		}
		sched_reason(job.id, job.reason);
		if (sched_next_due == 0 || when < sched_next_due) {
			sched_next_due = when;
		}
	}
	sched_job_close();
}

static void sched_relay_gone(void);

/*
 * A file the queue cannot even open (wrong owner, say): set it aside in
 * corrupt/, or, if that fails too, hold the queue a while rather than spin.
 */
static void sched_unopenable(const char *id, enum spool_where where, time_t now)
{
	int err = errno;

	if (spool_quarantine(sched_spool, id, where) == 0) {
		log_err("%s: cannot open the spool file (%s); moved to corrupt/ for the operator", id, strerror(err));
		return;
	}
	log_err("%s: cannot open the spool file (%s) nor move it to corrupt/ (%s); holding the queue for %llus", id,
		strerror(err), strerror(errno), (unsigned long long)sched_conf->retry_min);
	sched_paused_until = now + (time_t)sched_conf->retry_min;
	sched_pause_reason = "a spool file can be neither opened nor set aside";
}

/* Opens the due message and hands it to the relay. Returns 1 if a job started. */
static int sched_start(const char *id, enum spool_where where)
{
	struct proto_r_job j;
	time_t now = time(NULL);
	int ro;

	memset(&job, 0, sizeof(job));
	snprintf(job.id, sizeof(job.id), "%s", id);
	job.where = where;
	job.fd = spool_open_msg(sched_spool, id, where);
	if (job.fd < 0) {
		sched_unopenable(id, where, now);
		sched_job_close();
		return 0;
	}
	if (spool_read_env(job.fd, &job.env) < 0) {
		log_err("%s: unreadable or damaged spool file; set aside for a year", id);
		if (job.fd >= 0 && spool_defer(sched_spool, job.fd, id, where, now + (time_t)365 * 86400) == 0) {
			sched_reason(id, "unreadable or damaged spool file; set aside for a year");
		}
		sched_job_close();
		return 0;
	}
	job.active = 1;
	for (unsigned i = 0; i < job.env.nrcpt; i++) {
		job.on_disk[i] = job.env.rcpt[i].state;
	}
	if (now - job.env.arrival > (time_t)sched_conf->queue_lifetime) {
		sched_expire(now);
		sched_finish();
		return 0;
	}
	ro = spool_open_msg_ro(sched_spool, id, where);
	if (ro < 0) {
		/* never retry the same file in a tight loop: set it aside until the next retry time */
		log_err("%s: cannot open for the relay: %s", id, strerror(errno));
		if (spool_defer(sched_spool, job.fd, id, where, now + (time_t)sched_conf->retry_min) == 0) {
			sched_reason(id, "cannot open the spool file for the relay");
		}
		sched_job_close();
		return 0;
	}
	memset(&j, 0, sizeof(j));
	memcpy(j.id, job.id, sizeof(j.id));
	if (ipc_send(sched_svc->extra_fd, PROTO_R_JOB, &j, sizeof(j), ro) < 0) {
		close(ro);
		sched_relay_gone(); /* the message stays where it is; the master starts a new relay */
		return 0;
	}
	close(ro);
	return 1;
}

void queue_sched_dirty(void)
{
	sched_dirty = 1;
}

void queue_sched_poll(void)
{
	if (sched_dirty || (sched_next_due != 0 && time(NULL) >= sched_next_due) ||
	    (sched_paused_until != 0 && time(NULL) >= sched_paused_until)) {
		queue_sched_kick();
	}
}

void queue_sched_kick(void)
{
	char id[SPOOL_ID_LEN + 1];
	enum spool_where where;
	time_t now = time(NULL);
	int dirty = sched_dirty;

	sched_dirty = 0;
	if (dirty) {
		spool_due_forget(sched_spool, 1); /* new mail goes before a batch of deferred messages */
	}
	if (sched_paused_until != 0 && now >= sched_paused_until) {
		sched_paused_until = 0;
	}
	if (dirty && now < sched_paused_until) {
		log_info("queue: holding for another %llds: new mail waits (a flush ends the hold)",
			 (long long)(sched_paused_until - now));
	}

	while (!job.active && sched_svc->extra_fd >= 0 && now >= sched_paused_until) {
		int rc = spool_next_due(sched_spool, now, "", id, &where, &sched_next_due);

		if (rc <= 0 || sched_start(id, where)) {
			return;
		}
	}
}

int queue_sched_timeout_ms(void)
{
	time_t now = time(NULL), at = sched_next_due;

	if (sched_paused_until > now && (at == 0 || sched_paused_until > at)) {
		at = sched_paused_until;
	}
	if (job.active || sched_svc->extra_fd < 0 || at == 0) {
		return -1;
	}
	return at <= now ? 0 : (int)((at - now) > 86400 ? 86400000 : (at - now) * 1000);
}

unsigned queue_sched_flush(void)
{
	/* the message in flight stays put: its result is applied where it was picked up */
	unsigned n = spool_flush_deferred(sched_spool, job.active ? job.id : "");

	sched_paused_until = 0;
	log_info("queue: flush: %u deferred message%s due now", n, n == 1 ? "" : "s");
	queue_sched_kick();
	return n;
}

const char *queue_sched_active(void)
{
	return job.active ? job.id : NULL;
}

void queue_sched_status(struct queue_status *s)
{
	s->delivering = job.active;
	s->paused_until = sched_paused_until;
	s->problem_since = sched_refused_since;
	s->problem = sched_refused_since != 0      ? QUEUE_SCHED_REFUSED
		     : sched_paused_until > s->now ? sched_pause_reason
						   : NULL;
	s->last_reply_at = sched_reply_at;
	s->last_reply = sched_reply;
}

static void sched_rcpt_result(const struct proto_r_rcpt *r)
{
	struct spool_rcpt *rc;
	char state;

	if (!job.active || strncmp(r->id, job.id, sizeof(job.id)) != 0 || r->index >= job.env.nrcpt) {
		log_err("queue: relay reported on a recipient that is not in flight");
		return;
	}
	rc = &job.env.rcpt[r->index];
	snprintf(sched_reply, sizeof(sched_reply), "%s", r->reply);
	sched_reply_at = time(NULL);
	if (r->outcome != PROTO_R_DEFERRED) {
		sched_refused_since = 0; /* the smarthost took or refused a recipient: the login passed */
	}
	if (r->outcome == PROTO_R_DEFERRED && rc->state == SPOOL_RCPT_PENDING) {
		snprintf(job.reason, sizeof(job.reason), "%s", r->reply);
	}
	if (r->outcome == PROTO_R_DEFERRED || rc->state != SPOOL_RCPT_PENDING) {
		return;
	}
	state = r->outcome == PROTO_R_DELIVERED ? SPOOL_RCPT_DONE : SPOOL_RCPT_BOUNCED;
	if (state == SPOOL_RCPT_DONE && spool_env_pending(&job.env) == 1) {
		/* the last pending recipient: removing the file records it, no separate mark (one page
		 * write less per message); a crash before the removal re-sends, the same window as
		 * between the smarthost's 250 and a mark */
		rc->state = state;
		return;
	}
	if (state == SPOOL_RCPT_DONE) {
		if (spool_mark_rcpt(job.fd, rc, state) < 0) {
			log_err("%s: cannot mark <%s>: %s", job.id, rc->addr, strerror(errno));
			return;
		}
		job.on_disk[r->index] = state;
	}
	/* bounced: marked in the file only once its bounce is queued (sched_finish); a crash
	 * before that tries the recipient again, and bounces it again, rather than lose the bounce */
	rc->state = state;
	if (state == SPOOL_RCPT_BOUNCED && job.nfailed < CONFIG_MAX_RECIPIENTS) {
		struct queue_bounce_rcpt *f = &job.failed[job.nfailed++];

		snprintf(f->addr, sizeof(f->addr), "%s", rc->addr);
		snprintf(f->status, sizeof(f->status), "%.15s", r->status);
		snprintf(f->reply, sizeof(f->reply), "%s", r->reply);
	}
}

static void sched_relay_gone(void)
{
	log_warn("queue: relay channel closed%s", job.active ? "; the message in flight stays queued" : "");
	close(sched_svc->extra_fd);
	sched_svc->extra_fd = -1;
	sched_job_close();
}

static int sched_rcpt_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	(void)fd;
	sched_rcpt_result((const struct proto_r_rcpt *)f->payload);
	return 0;
}

static int sched_done_frame(void *ctx, struct ipc_frame *f, int fd)
{
	const struct proto_r_done *d = (const struct proto_r_done *)f->payload;

	(void)ctx;
	(void)fd;
	if (d->pause) {
		sched_paused_until = time(NULL) + (time_t)sched_conf->retry_max;
		sched_pause_reason = QUEUE_SCHED_REFUSED;
		if (sched_refused_since == 0) {
			sched_refused_since = time(NULL);
		}
		/* info: the one warning comes from queue_ctl_status.c, not one per retry */
		log_info("queue: the smarthost refused our credentials: holding the queue for %llus",
			 (unsigned long long)sched_conf->retry_max);
	}
	if (job.active) {
		sched_finish();
	}
	queue_sched_kick();
	return 0;
}

static const struct proto_row sched_relay_rows[] = {
	{ .type = PROTO_R_RCPT,
	  PROTO_SIZE(struct proto_r_rcpt),
	  .strings = { PROTO_STR(struct proto_r_rcpt, id), PROTO_STR(struct proto_r_rcpt, status),
		       PROTO_STR(struct proto_r_rcpt, reply) },
	  .handler = sched_rcpt_frame },
	{ .type = PROTO_R_DONE,
	  PROTO_SIZE(struct proto_r_done),
	  .strings = { PROTO_STR(struct proto_r_done, id) },
	  .handler = sched_done_frame },
};

/* The relay's outcomes. A refused frame drops the channel (the master starts a new relay). */
const struct proto_table queue_sched_relay_frames =
    PROTO_TABLE("queue: from the relay", "dropping the channel", sched_relay_rows);

/* The relay said something. */
static void sched_relay_message(void)
{
	if (proto_recv(sched_svc->extra_fd, &queue_sched_relay_frames, NULL, &sched_frame, NULL) <= 0) {
		sched_relay_gone();
	}
}

void queue_sched_relay_channel(int fd)
{
	if (sched_svc->extra_fd >= 0) {
		close(sched_svc->extra_fd);
	}
	sched_job_close();
	sched_svc->extra_fd = fd;
	sched_svc->extra = sched_relay_message;
	queue_sched_kick();
}
