/*
 * queue_ctl_list.c - the answers to `list` and `show` on the queue control
 * socket (queue process): every message in queue/, defer/ and hold/ with its
 * state (the one with the relay now is "active"), size, arrival, sender,
 * recipients and last deferral reason, as postqueue -p text or as JSON.
 * Reads the spool only.
 *
 * Text list: a header line, then per message
 *   ID[*!] SIZE ARRIVAL SENDER          (* active, ! held; <> as MAILER-DAEMON)
 *   (LAST ERROR)                        when reason/ID exists
 *                        RECIPIENT      each pending one, aligned with SENDER
 *   <blank line>
 * and "-- N Kbytes in M Request(s)." or "Mail queue is empty".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "queue_ctl_int.h"
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

/*
 * Opens and reads one message into m and ctl_env. Returns the open fd (the
 * caller closes it; for a damaged envelope m->damaged is set), or -1.
 */
static int ctl_load(struct spool *sp, const char *id, enum spool_where where, struct ctl_msg *m)
{
	const char *active = queue_sched_active();
	static const char *const names[] = { "queued", "deferred", "held" };
	int fd = openat(spool_where_fd(sp, where), id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t n;

	if (fd < 0) {
		return -1;
	}
	memset(m, 0, sizeof(*m));
	memcpy(m->id, id, SPOOL_ID_LEN + 1);
	m->where = where;
	m->state = active != NULL && strcmp(active, id) == 0 ? "active" : names[where];
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	m->size = (uint64_t)st.st_size;
	m->mtime = st.st_mtime;
	n = pread(fd, ctl_head, sizeof(ctl_head), 0);
	m->damaged = n <= 0 || spool_env_parse(&ctl_env, ctl_head, (size_t)n) < 0;
	(void)spool_reason_get(sp, id, m->reason, sizeof(m->reason));
	return fd;
}

static void ctl_text_entry(struct ctl_out *o, const struct ctl_msg *m)
{
	char when[TIMEFMT_RFC5322_LEN];
	const char *mark = strcmp(m->state, "active") == 0 ? "*" : m->where == SPOOL_IN_HOLD ? "!" : " ";

	if (m->damaged) {
		ctl_printf(o, "%s%s %9llu (damaged or unreadable envelope)\n\n", m->id, mark,
			   (unsigned long long)m->size);
		return;
	}
	timefmt_rfc5322(ctl_env.arrival, when, sizeof(when));
	ctl_printf(o, "%s%s %9llu %-31s ", m->id, mark, (unsigned long long)m->size, when);
	ctl_put_text(o, ctl_env.sender[0] ? ctl_env.sender : "MAILER-DAEMON");
	ctl_put(o, "\n", 1);
	if (m->reason[0] != '\0') {
		ctl_put(o, "(", 1);
		ctl_put_text(o, m->reason);
		ctl_put(o, ")\n", 2);
	}
	for (unsigned i = 0; i < ctl_env.nrcpt; i++) {
		if (ctl_env.rcpt[i].state == SPOOL_RCPT_PENDING) {
			ctl_printf(o, "%*s", CTL_INDENT, "");
			ctl_put_text(o, ctl_env.rcpt[i].addr);
			ctl_put(o, "\n", 1);
		}
	}
	ctl_put(o, "\n", 1);
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
		DIR *d = spool_opendir(spool_where_fd(sp, ctl_dirs[k]));
		const struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			if (spool_is_id(de->d_name)) {
				fn(sp, de->d_name, ctl_dirs[k], ctx);
			}
		}
		if (d != NULL) {
			closedir(d);
		}
	}
}

struct ctl_totals {
	unsigned count;
	uint64_t bytes;
};

static int ctl_filtered;           /* list: only the messages of one local uid */
static char ctl_filter_client[32]; /* "local uid=UID ": how local sessions name their client */

/* Whether the message just loaded (ctl_env) may be listed. */
static int ctl_listed(const struct ctl_msg *m)
{
	return !ctl_filtered ||
	       (!m->damaged && strncmp(ctl_env.client, ctl_filter_client, strlen(ctl_filter_client)) == 0);
}

static void ctl_count_one(struct spool *sp, const char *id, enum spool_where where, void *ctx)
{
	static struct ctl_msg m;
	struct ctl_totals *t = ctx;
	struct stat st;
	int fd;

	if (ctl_filtered) {
		if ((fd = ctl_load(sp, id, where, &m)) >= 0) {
			close(fd);
			t->count += (unsigned)ctl_listed(&m);
			t->bytes += ctl_listed(&m) ? m.size : 0;
		}
		return;
	}
	if (fstatat(spool_where_fd(sp, where), id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		t->count++;
		t->bytes += (uint64_t)st.st_size;
	}
}

struct ctl_lister {
	struct ctl_out *o;
	int json;
	struct json j;
	struct ctl_msg m;
};

static void ctl_list_one(struct spool *sp, const char *id, enum spool_where where, void *ctx)
{
	struct ctl_lister *l = ctx;
	int fd = ctl_load(sp, id, where, &l->m);

	if (fd < 0) {
		return; /* gone since the count (delivered), or not a message file */
	}
	close(fd);
	if (!ctl_listed(&l->m)) {
		return;
	}
	if (!l->json) {
		ctl_text_entry(l->o, &l->m);
		return;
	}
	json_object_begin(&l->j);
	ctl_json_members(&l->j, &l->m);
	json_object_end(&l->j);
}

int ctl_list(struct ctl_out *o, struct spool *sp, int json, int64_t only_uid)
{
	static struct ctl_lister lister; /* holds a 600-byte reason: not on the stack */
	struct ctl_totals t = { 0, 0 };
	struct json *j = &lister.j;

	ctl_filtered = only_uid >= 0;
	snprintf(ctl_filter_client, sizeof(ctl_filter_client), "local uid=%lld ", (long long)only_uid);
	ctl_each(sp, ctl_count_one, &t);
	json_init(j, ctl_json_sink, o);
	lister.o = o;
	lister.json = json;
	if (!json && t.count == 0) {
		ctl_put(o, "Mail queue is empty\n", 20);
		return 0;
	}
	if (!json) {
		ctl_printf(o, "%-17s %9s %-31s %s\n", "-Queue ID-", "--Size--", "---Arrival Time (UTC)---",
			   "-Sender/Recipient-------");
		ctl_each(sp, ctl_list_one, &lister);
		ctl_printf(o, "-- %llu Kbytes in %u Request%s.\n", (unsigned long long)(t.bytes + 1023) / 1024, t.count,
			   t.count == 1 ? "" : "s");
		return 0;
	}
	json_object_begin(j);
	json_key(j, "count");
	json_uint(j, t.count);
	json_key(j, "bytes");
	json_uint(j, t.bytes);
	json_key(j, "messages");
	json_array_begin(j);
	ctl_each(sp, ctl_list_one, &lister);
	json_array_end(j);
	json_object_end(j);
	(void)json_finish(j);
	ctl_put(o, "\n", 1);
	return 0;
}

/* show in text: the envelope as "key: value" lines, a blank line, then the message. */
static void ctl_show_text_head(struct ctl_out *o, const struct ctl_msg *m)
{
	char when[TIMEFMT_RFC5322_LEN];

	ctl_printf(o, "id: %s\nstate: %s\nsize: %llu\n", m->id, m->state, (unsigned long long)m->size);
	if (!m->damaged) {
		timefmt_rfc5322(ctl_env.arrival, when, sizeof(when));
		ctl_printf(o, "arrival: %s\nsender: ", when);
		ctl_put_text(o, ctl_env.sender[0] ? ctl_env.sender : "<>");
		ctl_put(o, "\nuser: ", 7);
		ctl_put_text(o, ctl_env.user);
		ctl_put(o, "\nclient: ", 9);
		ctl_put_text(o, ctl_env.client);
		ctl_put(o, "\n", 1);
		for (unsigned i = 0; i < ctl_env.nrcpt; i++) {
			ctl_put(o, "recipient: ", 11);
			ctl_put_text(o, ctl_env.rcpt[i].addr);
			ctl_printf(o, " (%s)\n", ctl_rcpt_state(ctl_env.rcpt[i].state));
		}
	}
	if (m->where == SPOOL_IN_DEFER && strcmp(m->state, "active") != 0) {
		timefmt_rfc5322(m->mtime, when, sizeof(when));
		ctl_printf(o, "next attempt: %s\n", when);
	}
	if (m->reason[0] != '\0') {
		ctl_put(o, "last error: ", 12);
		ctl_put_text(o, m->reason);
		ctl_put(o, "\n", 1);
	}
	ctl_put(o, "\n", 1);
}

/* The message bytes after the envelope: raw, or as one JSON string. Returns 0 or -1 (read error). */
static int ctl_show_body(struct ctl_out *o, struct json *j, int fd, off_t off)
{
	size_t keep = 0; /* the start of a UTF-8 character cut by the last read */
	ssize_t n;

	while ((n = pread(fd, ctl_body + keep, sizeof(ctl_body) - keep, off)) > 0 && !o->failed) {
		size_t have = keep + (size_t)n, used;

		off += n;
		if (j == NULL) {
			ctl_put(o, ctl_body, have);
			continue;
		}
		used = json_string_chunk(j, ctl_body, have, 0);
		keep = have - used;
		memmove(ctl_body, ctl_body + used, keep);
	}
	if (j != NULL) {
		(void)json_string_chunk(j, ctl_body, keep, 1);
	}
	return n < 0 ? -1 : 0;
}

int ctl_show(struct ctl_out *o, struct spool *sp, const char *id, int json, char *err, size_t errcap)
{
	static struct ctl_msg m;
	enum spool_where where;
	struct json j;
	int rc = spool_locate(sp, id, &where), fd = rc == 1 ? ctl_load(sp, id, where, &m) : -1;

	if (rc == 0) {
		snprintf(err, errcap, "no message %s in the queue", id);
		return EX_NOUSER;
	}
	if (fd < 0) {
		snprintf(err, errcap, "%s: cannot read the message: %s", id, strerror(errno));
		return EX_IOERR;
	}
	ctl_put(o, "ok\n", 3);
	if (!json) {
		ctl_show_text_head(o, &m);
		rc = ctl_show_body(o, NULL, fd, m.damaged ? 0 : (off_t)ctl_env.body_offset);
	} else {
		json_init(&j, ctl_json_sink, o);
		json_object_begin(&j);
		ctl_json_members(&j, &m);
		json_key(&j, "message");
		json_string_begin(&j);
		rc = ctl_show_body(o, &j, fd, m.damaged ? 0 : (off_t)ctl_env.body_offset);
		json_string_end(&j);
		json_object_end(&j);
		(void)json_finish(&j);
		ctl_put(o, "\n", 1);
	}
	if (rc < 0) {
		log_err("%s: control: cannot read the message: %s; the answer is cut short", id, strerror(errno));
	}
	close(fd);
	return 0;
}
