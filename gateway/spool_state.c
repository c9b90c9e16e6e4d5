/*
 * spool_state.c - everything that happens to a committed message after its
 * commit (queue process): finding the next one due (queue/ first, then
 * defer/ by mtime), marking a recipient done, deferring (mtime = next
 * attempt), hold and release, quarantine of a damaged file, removal, and the
 * per-message "why it waits" note. A message's state is the directory that
 * holds it (qmail INTERNALS). Every operation goes through the spool's
 * directory fds, so it works in the chroot.
 *
 * Finding the next one: one read of queue/ keeps its oldest
 * CONFIG_SPOOL_DUE_BATCH ids (when queue/ is empty, one read of defer/ keeps
 * the due ones), handed out in turn; each is checked with one fstatat when
 * its turn comes (it may have been deleted or held since). Draining a
 * backlog reads the directory once per batch, not once per message.
 * Directories are read with dirscan (getdents64 into a fixed buffer): no
 * allocation.
 */
#include "spool_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirscan.h"
#include "fs.h"
#include "log.h"

static int spool_dir_fd(const struct spool *s, enum spool_where where)
{
	switch (where) {
	case SPOOL_IN_DEFER:
		return s->defer_fd;
	case SPOOL_IN_HOLD:
		return s->hold_fd;
	default:
		return s->queue_fd;
	}
}

int spool_where_fd(const struct spool *s, enum spool_where where)
{
	return spool_dir_fd(s, where);
}

int spool_open_msg(struct spool *s, const char *id, enum spool_where where)
{
	return openat(spool_dir_fd(s, where), id, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
}

int spool_quarantine(struct spool *s, const char *id, enum spool_where where)
{
	if (renameat(spool_dir_fd(s, where), id, s->corrupt_fd, id) < 0) {
		return -1;
	}
	spool_reason_remove(s, id);
	return fsync(s->corrupt_fd);
}

int spool_open_msg_ro(struct spool *s, const char *id, enum spool_where where)
{
	return openat(spool_dir_fd(s, where), id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

int spool_read_env(int fd, struct spool_env *e)
{
	static char head[SPOOL_ENV_MAX];
	ssize_t n = pread(fd, head, sizeof(head), 0);

	if (n <= 0) {
		return -1;
	}
	return spool_env_parse(e, head, (size_t)n);
}

int spool_mark_rcpt(int fd, const struct spool_rcpt *r, char state)
{
	if (pwrite(fd, &state, 1, (off_t)r->state_offset) != 1) {
		return -1;
	}
	return fdatasync(fd);
}

int spool_defer(struct spool *s, int fd, const char *id, enum spool_where where, time_t when)
{
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = when } };

	if (futimens(fd, times) < 0) {
		return -1;
	}
	if (where == SPOOL_IN_QUEUE && renameat(s->queue_fd, id, s->defer_fd, id) < 0) {
		return -1;
	}
	return 0;
}

int spool_remove(struct spool *s, int fd, const char *id, enum spool_where where)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || unlinkat(spool_dir_fd(s, where), id, 0) < 0) {
		return -1;
	}
	s->nmessages -= s->nmessages > 0;
	s->nbytes -= (uint64_t)st.st_size < s->nbytes ? (uint64_t)st.st_size : s->nbytes;
	spool_reason_remove(s, id);
	return 0;
}

int spool_is_id(const char *name)
{
	size_t n = strlen(name);

	return n == SPOOL_ID_LEN && strspn(name, "0123456789abcdef") == n;
}

/* Keeps the CONFIG_SPOOL_DUE_BATCH smallest ids of queue/, sorted (binary search, then shift). */
static void spool_due_insert(struct spool_due *q, const char *id)
{
	unsigned lo = 0, hi = q->n;

	if (q->n == CONFIG_SPOOL_DUE_BATCH && strcmp(id, q->ids[q->n - 1]) >= 0) {
		return;
	}
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (strcmp(q->ids[mid], id) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	q->n -= q->n == CONFIG_SPOOL_DUE_BATCH; /* the largest falls off */
	memmove(q->ids[lo + 1], q->ids[lo], (q->n - lo) * sizeof(q->ids[0]));
	memcpy(q->ids[lo], id, SPOOL_ID_LEN + 1);
	q->n++;
}

/* One read of queue/: its oldest ids. Returns how many, or -1. */
static int spool_scan_queued(struct spool *s)
{
	struct spool_due *q = &s->due;
	struct dirscan d;
	const char *name;

	q->n = q->next = 0;
	q->deferred = 0;
	if (dirscan_open(&d, s->queue_fd) < 0) {
		return -1;
	}
	while ((name = dirscan_next(&d)) != NULL) {
		if (spool_is_id(name)) {
			spool_due_insert(q, name);
		}
	}
	dirscan_close(&d);
	return d.error != 0 ? -1 : (int)q->n;
}

/* One read of defer/: the files due at now, and the earliest future mtime. Returns how many, or -1. */
static int spool_scan_deferred(struct spool *s, time_t now, time_t *next_due)
{
	struct spool_due *q = &s->due;
	struct dirscan d;
	const char *name;
	struct stat st;

	q->n = q->next = 0;
	q->deferred = 1;
	if (dirscan_open(&d, s->defer_fd) < 0) {
		return -1;
	}
	while ((name = dirscan_next(&d)) != NULL) {
		if (!spool_is_id(name) || fstatat(s->defer_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			continue;
		}
		if (st.st_mtime <= now && q->n < CONFIG_SPOOL_DUE_BATCH) {
			memcpy(q->ids[q->n++], name, SPOOL_ID_LEN + 1);
		} else if (st.st_mtime > now && (*next_due == 0 || st.st_mtime < *next_due)) {
			*next_due = st.st_mtime;
		}
	}
	dirscan_close(&d);
	return d.error != 0 ? -1 : (int)q->n;
}

/* The batch's next id that is not skip and is still where (and, in defer/, as due as) the scan saw it. */
static int spool_due_take(struct spool *s, time_t now, const char *skip, char id[SPOOL_ID_LEN + 1],
			  enum spool_where *where)
{
	struct spool_due *q = &s->due;
	struct stat st;

	while (q->next < q->n) {
		const char *cand = q->ids[q->next++];
		int fd = q->deferred ? s->defer_fd : s->queue_fd;

		if (strcmp(cand, skip) == 0 || fstatat(fd, cand, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (q->deferred && st.st_mtime > now)) {
			continue;
		}
		memcpy(id, cand, SPOOL_ID_LEN + 1);
		*where = q->deferred ? SPOOL_IN_DEFER : SPOOL_IN_QUEUE;
		return 1;
	}
	return 0;
}

int spool_next_due(struct spool *s, time_t now, const char *skip, char id[SPOOL_ID_LEN + 1], enum spool_where *where,
		   time_t *next_due)
{
	int rc;

	*next_due = 0;
	if (spool_due_take(s, now, skip, id, where)) {
		return 1;
	}
	rc = spool_scan_queued(s);
	if (rc == 0) {
		rc = spool_scan_deferred(s, now, next_due);
	}
	return rc < 0 ? -1 : spool_due_take(s, now, skip, id, where);
}

void spool_due_forget(struct spool *s, int deferred_only)
{
	if (!deferred_only || s->due.deferred) {
		s->due.n = s->due.next = 0;
	}
}

unsigned spool_flush_deferred(struct spool *s, const char *skip)
{
	struct dirscan d;
	const char *name;
	unsigned n = 0;

	spool_due_forget(s, 0); /* older ids join queue/ */
	if (dirscan_open(&d, s->defer_fd) < 0) {
		return 0;
	}
	while ((name = dirscan_next(&d)) != NULL) {
		if (spool_is_id(name) && strcmp(name, skip) != 0 &&
		    renameat(s->defer_fd, name, s->queue_fd, name) == 0) {
			n++;
		}
	}
	dirscan_close(&d);
	return n;
}

int spool_locate(struct spool *s, const char *id, enum spool_where *where)
{
	static const enum spool_where order[] = { SPOOL_IN_QUEUE, SPOOL_IN_DEFER, SPOOL_IN_HOLD };
	struct stat st;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (fstatat(spool_dir_fd(s, order[i]), id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
			*where = order[i];
			return 1;
		}
		if (errno != ENOENT) {
			return -1;
		}
	}
	return 0;
}

int spool_delete(struct spool *s, const char *id, enum spool_where where)
{
	int fd = openat(spool_dir_fd(s, where), id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc, saved;

	if (fd < 0) {
		return -1;
	}
	rc = spool_remove(s, fd, id, where);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Renames id between two state directories and makes both durable. */
static int spool_move(const char *id, int from_fd, int to_fd)
{
	if (renameat(from_fd, id, to_fd, id) < 0) {
		return -1;
	}
	return fsync(to_fd) < 0 || fsync(from_fd) < 0 ? -1 : 0;
}

int spool_hold(struct spool *s, const char *id, enum spool_where where)
{
	if (where == SPOOL_IN_HOLD) {
		errno = EINVAL;
		return -1;
	}
	return spool_move(id, spool_dir_fd(s, where), s->hold_fd);
}

int spool_release(struct spool *s, const char *id)
{
	spool_due_forget(s, 0); /* an older id joins queue/ */
	return spool_move(id, s->hold_fd, s->queue_fd);
}

int spool_reason_set(struct spool *s, const char *id, const char *text)
{
	size_t len = strnlen(text, SPOOL_REASON_MAX);
	int fd = openat(s->reason_fd, id, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc, saved;

	if (fd < 0) {
		return -1;
	}
	rc = fs_write_all(fd, text, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

size_t spool_reason_get(struct spool *s, const char *id, char *buf, size_t cap)
{
	int fd = openat(s->reason_fd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 && cap > 0 ? read(fd, buf, cap - 1) : -1;

	if (fd >= 0) {
		close(fd);
	}
	n = n > 0 ? n : 0;
	if (cap > 0) {
		buf[n] = '\0';
	}
	return (size_t)n;
}

void spool_reason_remove(struct spool *s, const char *id)
{
	if (s->reason_fd >= 0 && unlinkat(s->reason_fd, id, 0) < 0 && errno != ENOENT) {
		log_warn("%s: cannot remove reason/%s: %s", id, id, strerror(errno));
	}
}
