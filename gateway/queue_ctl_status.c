/*
 * queue_ctl_status.c - the queue's status in the queue process: gathers the
 * facts (the scheduler's state, one scan of queue/, defer/ and hold/),
 * answers `status` on the control socket, keeps the one-line SPOOL/status
 * and logs the alerts (queue_status.h composes the words). Checked at
 * least once a minute, at the moment the oldest message becomes late, and
 * soon after the credentials are refused or a late queue moves; at most
 * once a second. No allocation: static buffers.
 */
#include "queue_ctl_status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirscan.h"
#include "log.h"
#include "queue_ctl_int.h"
#include "queue_sched.h"
#include "spool_state.h"
#include "timefmt.h"

#define STATUS_CHECK_MAX 60 /* seconds between two checks at most */

static const struct conf *st_conf;
static struct spool *st_spool;
static char st_smarthost[ADDR_DOMAIN_MAX + 16];
static time_t st_next_check; /* 0: at once */
static time_t st_last_check;
static time_t st_seen_refused; /* what the last check saw of the scheduler */
static time_t st_seen_reply;
static uint64_t st_seen_count; /* the spool's message count */
static int st_seen_empty;      /* nothing was queued: no check is planned for a message's lateness */
static struct queue_alert st_paused, st_late;
static char st_line[QUEUE_STATUS_LINE_MAX]; /* what SPOOL/status holds ("": not written yet) */
static int st_dir_fd = -1;                  /* SPOOL/state (spool.c makes it; SPOOL/status links into it) */

void queue_ctl_status_init(const struct conf *c, struct spool *sp)
{
	st_conf = c;
	st_spool = sp;
	st_next_check = 0;
	st_dir_fd = openat(sp->root_fd, "state", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st_dir_fd < 0) {
		log_warn("queue: no SPOOL/state directory (%s): SPOOL/status is not kept", strerror(errno));
	}
}

/* The arrival line of a message's envelope ("subgate-spool 1\narrival EPOCH\n"); 0 if unreadable. */
static time_t status_arrival(int dir_fd, const char *id)
{
	char head[64];
	int fd = openat(dir_fd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	const char *p;

	if (fd < 0) {
		return 0;
	}
	n = pread(fd, head, sizeof(head) - 1, 0);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	head[n] = '\0';
	p = strstr(head, "\narrival ");
	return p != NULL ? (time_t)strtoll(p + 9, NULL, 10) : 0;
}

/* Counts one directory into s; *due: the earliest deferral (defer/), or now (queue/). */
static void status_scan_dir(struct queue_status *s, enum spool_where where, time_t *due)
{
	static struct dirscan d;
	int dir_fd = spool_where_fd(st_spool, where);
	const char *name;
	struct stat st;

	if (dirscan_open(&d, dir_fd) < 0) {
		return;
	}
	while ((name = dirscan_next(&d)) != NULL) {
		time_t arrival;

		if (!spool_is_id(name) || fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
			continue;
		}
		if (where == SPOOL_IN_HOLD) {
			s->held++;
			s->held_bytes += (uint64_t)st.st_size;
			continue;
		}
		s->queued++;
		s->queued_bytes += (uint64_t)st.st_size;
		arrival = status_arrival(dir_fd, name);
		if (arrival != 0 && (s->oldest == 0 || arrival < s->oldest)) {
			s->oldest = arrival;
		}
		if (where == SPOOL_IN_QUEUE || st.st_mtime < s->now) {
			*due = s->now;
		} else if (*due == 0 || st.st_mtime < *due) {
			*due = st.st_mtime;
		}
	}
	dirscan_close(&d);
}

/* Everything a status answer or the file says, as of now. */
static void status_gather(struct queue_status *s, time_t now)
{
	time_t due = 0;

	memset(s, 0, sizeof(*s));
	s->now = now;
	snprintf(st_smarthost, sizeof(st_smarthost), "%s%s%s:%u", st_conf->smarthost_bracketed ? "[" : "",
		 st_conf->smarthost_host, st_conf->smarthost_bracketed ? "]" : "", (unsigned)st_conf->smarthost_port);
	s->smarthost = st_smarthost;
	s->alert_after = st_conf->alert_after;
	queue_sched_status(s);
	status_scan_dir(s, SPOOL_IN_QUEUE, &due);
	status_scan_dir(s, SPOOL_IN_DEFER, &due);
	status_scan_dir(s, SPOOL_IN_HOLD, &due);
	if (s->delivering) {
		due = now;
	}
	s->next_attempt = due != 0 && s->paused_until > due ? s->paused_until : due;
}

void queue_ctl_status_answer(struct ctl_out *o, int json)
{
	static struct queue_status s;

	status_gather(&s, time(NULL));
	queue_ctl_put(o, "ok\n", 3);
	(void)queue_status_write(&s, json, queue_ctl_json_sink, o);
}

void queue_ctl_status_paused_line(struct ctl_out *o)
{
	static struct queue_status s;

	memset(&s, 0, sizeof(s));
	s.now = time(NULL);
	queue_sched_status(&s);
	if (s.problem != NULL) {
		queue_ctl_printf(o, "Queue paused: %s\n", s.problem);
	}
}

/*
 * SPOOL/status, replaced whole (tmp + rename) so a reader sees the old line
 * or the new one. No fsync: the line says how things are now, and the
 * queue writes it again at its next check after a restart; a crash that
 * loses it costs nothing the daemon needs.
 */
static void status_write_file(const char *line)
{
	int fd;
	ssize_t n;
	size_t len = strlen(line);

	if (st_dir_fd < 0 || strcmp(line, st_line) == 0) {
		return;
	}
	fd = openat(st_dir_fd, "status.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_warn("queue: cannot write SPOOL/state/status.tmp: %s", strerror(errno));
		return;
	}
	n = fchmod(fd, 0644) == 0 ? write(fd, line, len)
				  : -1; /* readable by an init script or LuCI, whatever the umask */
	if (close(fd) < 0 || n != (ssize_t)len || renameat(st_dir_fd, "status.tmp", st_dir_fd, "status") < 0) {
		log_warn("queue: cannot replace SPOOL/state/status: %s", strerror(errno));
		(void)unlinkat(st_dir_fd, "status.tmp", 0);
		return;
	}
	snprintf(st_line, sizeof(st_line), "%s", line);
}

static void status_alert_paused(const struct queue_status *s)
{
	char since[TIMEFMT_RFC5322_LEN];

	switch (queue_alert_step(&st_paused, s->problem_since != 0, s->now)) {
	case QUEUE_ALERT_START:
	case QUEUE_ALERT_AGAIN:
		timefmt_rfc5322(s->problem_since, since, sizeof(since));
		log_warn("queue: mail waits: %s (since %s); %u message%s queued; last reply: %s", s->problem, since,
			 s->queued, s->queued == 1 ? "" : "s", s->last_reply_at != 0 ? s->last_reply : "none");
		break;
	case QUEUE_ALERT_CLEAR:
		log_info("queue: the smarthost accepts our credentials again");
		break;
	case QUEUE_ALERT_NONE:
		break;
	}
}

static void status_alert_late(const struct queue_status *s)
{
	char age[16], limit[16];

	switch (queue_alert_step(&st_late, queue_status_late(s), s->now)) {
	case QUEUE_ALERT_START:
	case QUEUE_ALERT_AGAIN:
		queue_status_age((uint64_t)(s->now - s->oldest), age, sizeof(age));
		queue_status_age(s->alert_after, limit, sizeof(limit));
		log_warn("queue: mail is late: the oldest message is %s old (alert_after %s); %u message%s queued; "
			 "last reply: %s",
			 age, limit, s->queued, s->queued == 1 ? "" : "s",
			 s->last_reply_at != 0 ? s->last_reply : "none");
		break;
	case QUEUE_ALERT_CLEAR:
		log_info("queue: no message is older than alert_after any more");
		break;
	case QUEUE_ALERT_NONE:
		break;
	}
}

/* One check: the alerts, SPOOL/status, and when to look again. */
static void status_check(time_t now)
{
	static struct queue_status s;
	char line[QUEUE_STATUS_LINE_MAX];
	time_t next = now + STATUS_CHECK_MAX;

	status_gather(&s, now);
	st_last_check = now;
	st_seen_refused = s.problem_since;
	st_seen_reply = s.last_reply_at;
	st_seen_count = st_spool->nmessages;
	st_seen_empty = s.oldest == 0;
	status_alert_paused(&s);
	status_alert_late(&s);
	queue_status_line(&s, line, sizeof(line));
	status_write_file(line);
	if (s.oldest != 0 && !queue_status_late(&s) && s.oldest + (time_t)s.alert_after < next) {
		next = s.oldest + (time_t)s.alert_after;
	}
	st_next_check = next > now ? next : now + 1;
}

void queue_ctl_status_tick(void)
{
	static struct queue_status s;
	time_t now = time(NULL);
	uint64_t count;
	int moved;

	memset(&s, 0, sizeof(s));
	s.now = now;
	queue_sched_status(&s);
	count = st_spool->nmessages;
	/* a change that may end a late queue, or mail (maybe still being received) where the last
	 * check found none: its lateness is to be planned; otherwise the check planned for the oldest message's
	 * alert_after is the next one */
	moved = s.problem_since != st_seen_refused || (st_seen_empty && count != 0) ||
		(st_late.since != 0 && (s.last_reply_at != st_seen_reply || count != st_seen_count));
	if (moved && st_next_check > st_last_check + 1) {
		st_next_check = st_last_check + 1; /* soon, but not more than once a second */
	}
	if (now >= st_next_check) {
		status_check(now);
	}
}

int queue_ctl_status_timeout_ms(void)
{
	time_t now = time(NULL);

	return st_next_check <= now ? 0 : (int)((st_next_check - now) * 1000);
}
