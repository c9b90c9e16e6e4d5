/*
 * queue_ctl_list.c - the answers to `list` and `show` on the queue control
 * socket (queue process): every message in queue/, defer/ and hold/ with its
 * state (the one with the relay now is "active"), size, arrival, sender,
 * recipients and last deferral reason, as postqueue -p text or as JSON.
 * Reads the spool only. Each answer is a job that goes on where it stopped
 * when the connection's buffer is full (queue_ctl_int.h): a list reads one
 * directory entry per step, a show reads its message piece by piece.
 *
 * Text list: a header line, then per message
 *   ID[*!] SIZE ARRIVAL SENDER          (* active, ! held; <> as MAILER-DAEMON)
 *   (LAST ERROR)                        when reason/ID exists
 *                        RECIPIENT      each pending one, aligned with SENDER
 *   <blank line>
 * and "-- N Kbytes in M Request(s)." or "Mail queue is empty".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "dirscan.h"
#include "log.h"
#include "queue_ctl_int.h"
#include "queue_ctl_status.h"
#include "queue_sched.h"
#include "spool_env.h"
#include "spool_state.h"
#include "timefmt.h"

#define CTL_INDENT 60 /* where the sender column starts in the text list */

/* One message as the listing sees it. */
struct ctl_msg {
	char id[SPOOL_ID_LEN + 1];
	const char *state; /* queued, deferred, held, active */
	enum spool_where where;
	uint64_t size;
	time_t mtime;
	int damaged; /* the envelope could not be read: only id, state and size are known */
	char reason[SPOOL_REASON_MAX + 1];
};

static const enum spool_where ctl_dirs[] = { SPOOL_IN_QUEUE, SPOOL_IN_DEFER, SPOOL_IN_HOLD };
static struct spool_env ctl_env;
static char ctl_head[SPOOL_ENV_MAX];
static char ctl_body[8192];

static const char *ctl_rcpt_state(char state)
{
	return state == SPOOL_RCPT_DONE ? "done" : state == SPOOL_RCPT_BOUNCED ? "bounced" : "pending";
}

/* Reads the open message fd into m and ctl_env. Returns 0 (m->damaged set for a damaged envelope) or -1. */
static int ctl_load_fd(struct spool *sp, int fd, const char *id, enum spool_where where, struct ctl_msg *m)
{
	const char *active = queue_sched_active();
	static const char *const names[] = { "queued", "deferred", "held" };
	struct stat st;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	memcpy(m->id, id, SPOOL_ID_LEN + 1);
	m->where = where;
	m->state = active != NULL && strcmp(active, id) == 0 ? "active" : names[where];
	if (fstat(fd, &st) < 0) {
		return -1;
	}
	m->size = (uint64_t)st.st_size;
	m->mtime = st.st_mtime;
	n = pread(fd, ctl_head, sizeof(ctl_head), 0);
	m->damaged = n <= 0 || spool_env_parse(&ctl_env, ctl_head, (size_t)n) < 0;
	(void)spool_reason_get(sp, id, m->reason, sizeof(m->reason));
	return 0;
}

/*
 * Opens and reads one message into m and ctl_env. Returns the open fd (the
 * caller closes it; for a damaged envelope m->damaged is set), or -1.
 */
static int ctl_load(struct spool *sp, const char *id, enum spool_where where, struct ctl_msg *m)
{
	int fd = openat(spool_where_fd(sp, where), id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		return -1;
	}
	if (ctl_load_fd(sp, fd, id, where, m) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void ctl_text_entry(struct ctl_out *o, const struct ctl_msg *m)
{
	char when[TIMEFMT_RFC5322_LEN];
	const char *mark = strcmp(m->state, "active") == 0 ? "*" : m->where == SPOOL_IN_HOLD ? "!" : " ";

	if (m->damaged) {
		queue_ctl_printf(o, "%s%s %9llu (damaged or unreadable envelope)\n\n", m->id, mark,
				 (unsigned long long)m->size);
		return;
	}
	timefmt_rfc5322(ctl_env.arrival, when, sizeof(when));
	queue_ctl_printf(o, "%s%s %9llu %-31s ", m->id, mark, (unsigned long long)m->size, when);
	queue_ctl_put_text(o, ctl_env.sender[0] ? ctl_env.sender : "MAILER-DAEMON");
	queue_ctl_put(o, "\n", 1);
	if (m->reason[0] != '\0') {
		queue_ctl_put(o, "(", 1);
		queue_ctl_put_text(o, m->reason);
		queue_ctl_put(o, ")\n", 2);
	}
	for (unsigned i = 0; i < ctl_env.nrcpt; i++) {
		if (ctl_env.rcpt[i].state == SPOOL_RCPT_PENDING) {
			queue_ctl_printf(o, "%*s", CTL_INDENT, "");
			queue_ctl_put_text(o, ctl_env.rcpt[i].addr);
			queue_ctl_put(o, "\n", 1);
		}
	}
	queue_ctl_put(o, "\n", 1);
}

/* The members of one message object (without the braces; show appends "message"). */
static void ctl_json_members(struct json *j, const struct ctl_msg *m)
{
	json_key(j, "id");
	json_string(j, m->id);
	json_key(j, "state");
	json_string(j, m->state);
	json_key(j, "size");
	json_uint(j, m->size);
	json_key(j, "arrival");
	if (m->damaged) {
		json_null(j);
	} else {
		json_int(j, (int64_t)ctl_env.arrival);
	}
	json_key(j, "sender");
	if (m->damaged) {
		json_null(j);
	} else {
		json_string(j, ctl_env.sender);
	}
	json_key(j, "recipients");
	json_array_begin(j);
	for (unsigned i = 0; !m->damaged && i < ctl_env.nrcpt; i++) {
		json_object_begin(j);
		json_key(j, "address");
		json_string(j, ctl_env.rcpt[i].addr);
		json_key(j, "state");
		json_string(j, ctl_rcpt_state(ctl_env.rcpt[i].state));
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "next_attempt");
	if (m->where == SPOOL_IN_DEFER && strcmp(m->state, "active") != 0) {
		json_int(j, (int64_t)m->mtime);
	} else {
		json_null(j);
	}
	json_key(j, "last_error");
	if (m->reason[0] != '\0') {
		json_string(j, m->reason);
	} else if (m->damaged) {
		json_string(j, "damaged or unreadable envelope");
	} else {
		json_null(j);
	}
}

/* Calls fn for every message id in queue/, defer/ and hold/ (in that order). */
static void ctl_each(struct spool *sp, void (*fn)(struct spool *, const char *, enum spool_where, void *), void *ctx)
{
	for (size_t k = 0; k < sizeof(ctl_dirs) / sizeof(ctl_dirs[0]); k++) {
		struct dirscan d;
		const char *name;

		if (dirscan_open(&d, spool_where_fd(sp, ctl_dirs[k])) < 0) {
			continue;
		}
		while ((name = dirscan_next(&d)) != NULL) {
			if (spool_is_id(name)) {
				fn(sp, name, ctl_dirs[k], ctx);
			}
		}
		dirscan_close(&d);
	}
}

static int ctl_filtered;           /* list: only the messages of one local uid */
static char ctl_filter_client[32]; /* "local uid=UID ": how local sessions name their client */

static void ctl_filter(int64_t only_uid)
{
	ctl_filtered = only_uid >= 0;
	snprintf(ctl_filter_client, sizeof(ctl_filter_client), "local uid=%lld ", (long long)only_uid);
}

/* Whether the message just loaded (ctl_env) may be listed. */
static int ctl_listed(const struct ctl_msg *m)
{
	return !ctl_filtered ||
	       (!m->damaged && strncmp(ctl_env.client, ctl_filter_client, strlen(ctl_filter_client)) == 0);
}

static void ctl_count_one(struct spool *sp, const char *id, enum spool_where where, void *ctx)
{
	static struct ctl_msg m;
	struct ctl_job *job = ctx;
	struct stat st;
	int fd;

	if (ctl_filtered) {
		if ((fd = ctl_load(sp, id, where, &m)) >= 0) {
			close(fd);
			job->count += (unsigned)ctl_listed(&m);
			job->bytes += ctl_listed(&m) ? m.size : 0;
		}
		return;
	}
	if (fstatat(spool_where_fd(sp, where), id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		job->count++;
		job->bytes += (uint64_t)st.st_size;
	}
}

/* One step of an answer: what it writes goes to o and, for JSON, through job->j_step. */
typedef void (*ctl_step_fn)(struct ctl_job *job, struct spool *sp, struct ctl_out *o);

/*
 * Runs a step, its first job->step_done bytes dropped (sent already).
 * Returns 1 if it is complete, 0 if o filled up: it runs again later.
 */
static int ctl_step(struct ctl_job *job, struct spool *sp, struct ctl_out *o, ctl_step_fn fn)
{
	o->skip = job->step_done;
	o->placed = 0;
	o->full = 0;
	job->j_step = job->j;
	fn(job, sp, o);
	o->skip = 0;
	if (o->full) {
		job->step_done += o->placed;
		return 0;
	}
	job->j = job->j_step;
	job->step_done = 0;
	return 1;
}

static void ctl_list_head(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	struct json *j = &job->j_step;

	(void)sp;
	queue_ctl_put(o, "ok\n", 3);
	if (!job->json) {
		queue_ctl_status_paused_line(o);
		if (job->count == 0) {
			queue_ctl_put(o, "Mail queue is empty\n", 20);
		} else {
			queue_ctl_printf(o, "%-17s %9s %-31s %s\n", "-Queue ID-", "--Size--",
					 "---Arrival Time (UTC)---", "-Sender/Recipient-------");
		}
		return;
	}
	json_object_begin(j);
	json_key(j, "count");
	json_uint(j, job->count);
	json_key(j, "bytes");
	json_uint(j, job->bytes);
	json_key(j, "messages");
	json_array_begin(j);
}

static void ctl_list_entry(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	static struct ctl_msg m; /* holds a 600-byte reason: not on the stack */
	int fd = ctl_load(sp, job->id, ctl_dirs[job->dir], &m);

	if (fd < 0) {
		return; /* gone since it was counted (delivered), or not a message file */
	}
	close(fd);
	ctl_filter(job->only_uid);
	if (!ctl_listed(&m)) {
		return;
	}
	if (!job->json) {
		ctl_text_entry(o, &m);
		return;
	}
	json_object_begin(&job->j_step);
	ctl_json_members(&job->j_step, &m);
	json_object_end(&job->j_step);
}

static void ctl_list_foot(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	(void)sp;
	if (!job->json) {
		if (job->count != 0) {
			queue_ctl_printf(o, "-- %llu Kbytes in %u Request%s.\n",
					 (unsigned long long)(job->bytes + 1023) / 1024, job->count,
					 job->count == 1 ? "" : "s");
		}
		return;
	}
	json_array_end(&job->j_step);
	json_object_end(&job->j_step);
	(void)json_finish(&job->j_step);
	queue_ctl_put(o, "\n", 1);
}

/* The next message id of the listing into job->id; 0 when every directory has been read. */
static int ctl_next_id(struct ctl_job *job, struct spool *sp)
{
	const char *name;

	while (job->dir < sizeof(ctl_dirs) / sizeof(ctl_dirs[0])) {
		if (!job->scanning && dirscan_open(&job->scan, spool_where_fd(sp, ctl_dirs[job->dir])) < 0) {
			job->dir++;
			continue;
		}
		job->scanning = 1;
		while ((name = dirscan_next(&job->scan)) != NULL) {
			if (spool_is_id(name)) {
				memcpy(job->id, name, SPOOL_ID_LEN + 1);
				return 1;
			}
		}
		dirscan_close(&job->scan);
		job->scanning = 0;
		job->dir++;
	}
	return 0;
}

void queue_ctl_list_start(struct ctl_job *job, struct spool *sp, struct ctl_out *o, int json, int64_t only_uid)
{
	*job = (struct ctl_job){ .kind = CTL_JOB_LIST, .json = json, .only_uid = only_uid, .fd = -1 };
	json_init(&job->j, queue_ctl_json_sink, o);
	ctl_filter(only_uid);
	ctl_each(sp, ctl_count_one, job);
}

static int ctl_list_more(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	if (job->phase == 0) {
		if (!ctl_step(job, sp, o, ctl_list_head)) {
			return 1;
		}
		job->phase = job->json || job->count > 0 ? 1 : 3;
	}
	while (job->phase == 1) {
		if (job->id[0] == '\0' && !ctl_next_id(job, sp)) {
			job->phase = 2;
			break;
		}
		if (!ctl_step(job, sp, o, ctl_list_entry)) {
			return 1;
		}
		job->id[0] = '\0';
	}
	if (job->phase == 2) {
		if (!ctl_step(job, sp, o, ctl_list_foot)) {
			return 1;
		}
		job->phase = 3;
	}
	return 0;
}

/* show in text: the envelope as "key: value" lines, a blank line, then the message. */
static void ctl_show_text_head(struct ctl_out *o, const struct ctl_msg *m)
{
	char when[TIMEFMT_RFC5322_LEN];

	queue_ctl_printf(o, "id: %s\nstate: %s\nsize: %llu\n", m->id, m->state, (unsigned long long)m->size);
	if (!m->damaged) {
		timefmt_rfc5322(ctl_env.arrival, when, sizeof(when));
		queue_ctl_printf(o, "arrival: %s\nsender: ", when);
		queue_ctl_put_text(o, ctl_env.sender[0] ? ctl_env.sender : "<>");
		queue_ctl_put(o, "\nuser: ", 7);
		queue_ctl_put_text(o, ctl_env.user);
		queue_ctl_put(o, "\nclient: ", 9);
		queue_ctl_put_text(o, ctl_env.client);
		queue_ctl_put(o, "\n", 1);
		for (unsigned i = 0; i < ctl_env.nrcpt; i++) {
			queue_ctl_put(o, "recipient: ", 11);
			queue_ctl_put_text(o, ctl_env.rcpt[i].addr);
			queue_ctl_printf(o, " (%s)\n", ctl_rcpt_state(ctl_env.rcpt[i].state));
		}
	}
	if (m->where == SPOOL_IN_DEFER && strcmp(m->state, "active") != 0) {
		timefmt_rfc5322(m->mtime, when, sizeof(when));
		queue_ctl_printf(o, "next attempt: %s\n", when);
	}
	if (m->reason[0] != '\0') {
		queue_ctl_put(o, "last error: ", 12);
		queue_ctl_put_text(o, m->reason);
		queue_ctl_put(o, "\n", 1);
	}
	queue_ctl_put(o, "\n", 1);
}

/* "ok", then the envelope (the file is read again each time: another answer may have used ctl_env). */
static void ctl_show_head(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	static struct ctl_msg m;

	if (ctl_load_fd(sp, job->fd, job->id, (enum spool_where)job->dir, &m) < 0) {
		m.damaged = 1;
	}
	queue_ctl_put(o, "ok\n", 3);
	if (!job->json) {
		ctl_show_text_head(o, &m);
		return;
	}
	json_object_begin(&job->j_step);
	ctl_json_members(&job->j_step, &m);
	json_key(&job->j_step, "message");
	json_string_begin(&job->j_step);
}

static void ctl_show_tail(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	(void)sp;
	if (job->json) {
		json_string_end(&job->j_step);
		json_object_end(&job->j_step);
		(void)json_finish(&job->j_step);
		queue_ctl_put(o, "\n", 1);
	}
}

int queue_ctl_list_show(struct ctl_job *job, struct spool *sp, struct ctl_out *o, const char *id, int json, char *err,
			size_t errcap)
{
	static struct ctl_msg m;
	enum spool_where where;
	int rc = spool_locate(sp, id, &where), fd = rc == 1 ? ctl_load(sp, id, where, &m) : -1;

	if (rc == 0) {
		snprintf(err, errcap, "no message %s in the queue", id);
		return EX_NOUSER;
	}
	if (fd < 0) {
		snprintf(err, errcap, "%s: cannot read the message: %s", id, strerror(errno));
		return EX_IOERR;
	}
	*job = (struct ctl_job){ .kind = CTL_JOB_SHOW,
				 .json = json,
				 .fd = fd,
				 .dir = (unsigned)where,
				 .damaged = m.damaged,
				 .off = m.damaged ? 0 : (off_t)ctl_env.body_offset };
	memcpy(job->id, id, SPOOL_ID_LEN + 1);
	json_init(&job->j, queue_ctl_json_sink, o);
	return 0;
}

/*
 * The next piece of the message body, raw or in the JSON string, into the
 * room o has (a JSON piece is read small enough that its escapes fit).
 * Returns 0 at the end of the file (or on a read error, logged).
 */
static int ctl_show_body(struct ctl_job *job, struct ctl_out *o)
{
	size_t room, want, have, used;
	char *space = wbuf_space(&o->w, &room);
	ssize_t n;

	want = job->json ? room / 6 : room;
	if (job->json && want > sizeof(ctl_body)) {
		want = sizeof(ctl_body);
	}
	if (want <= job->keep) {
		return 1; /* wait for the client to make room */
	}
	n = pread(job->fd, job->json ? ctl_body + job->keep : space, want - job->keep, job->off);
	if (n < 0) {
		log_err("%s: control: cannot read the message: %s; the answer is cut short", job->id, strerror(errno));
	}
	if (!job->json) {
		wbuf_added(&o->w, n > 0 ? (size_t)n : 0);
	} else {
		memcpy(ctl_body, job->keep_buf, job->keep);
		have = job->keep + (n > 0 ? (size_t)n : 0);
		used = json_string_chunk(&job->j, ctl_body, have, n <= 0);
		job->keep = have - used;
		memcpy(job->keep_buf, ctl_body + used, job->keep);
	}
	job->off += n > 0 ? n : 0;
	return n > 0;
}

static int ctl_show_more(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	if (job->phase == 0) {
		if (!ctl_step(job, sp, o, ctl_show_head)) {
			return 1;
		}
		job->phase = 1;
	}
	if (job->phase == 1) {
		if (ctl_show_body(job, o)) {
			return 1;
		}
		job->phase = 2;
	}
	if (job->phase == 2 && !ctl_step(job, sp, o, ctl_show_tail)) {
		return 1;
	}
	job->phase = 3;
	return 0;
}

void queue_ctl_list_end(struct ctl_job *job)
{
	if (job->scanning) {
		dirscan_close(&job->scan);
		job->scanning = 0;
	}
	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
	}
	job->kind = CTL_JOB_NONE;
}

int queue_ctl_list_more(struct ctl_job *job, struct spool *sp, struct ctl_out *o)
{
	int more = 0;

	if (job->kind == CTL_JOB_LIST) {
		more = ctl_list_more(job, sp, o);
	} else if (job->kind == CTL_JOB_SHOW) {
		more = ctl_show_more(job, sp, o);
	}
	if (!more) {
		queue_ctl_list_end(job);
	}
	return more;
}
