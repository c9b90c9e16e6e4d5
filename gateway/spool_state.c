/*
 * spool_state.c - everything that happens to a committed message after its
 * commit (queue process): finding the next one due (queue/ first, then
 * defer/ by mtime), marking a recipient done, deferring (mtime = next
 * attempt), hold and release, quarantine of a damaged file, removal, and the
 * per-message "why it waits" note. A message's state is the directory that
 * holds it (qmail INTERNALS). Every operation goes through the spool's
 * directory fds, so it works in the chroot.
 */
#include "spool_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

DIR *spool_opendir(int dir_fd)
{
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return NULL;
	}
	rewinddir(d); /* the dup shares the position of earlier scans */
	return d;
}

/* Oldest id in queue/ other than skip. Returns 1 if found. */
static int spool_first_queued(struct spool *s, const char *skip, char id[SPOOL_ID_LEN + 1])
{
	int found = 0;
	DIR *d = spool_opendir(s->queue_fd);
	struct dirent *de;

	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (spool_is_id(de->d_name) && strcmp(de->d_name, skip) != 0 &&
		    (!found || strcmp(de->d_name, id) < 0)) {
			memcpy(id, de->d_name, SPOOL_ID_LEN + 1);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

/* A due file in defer/ other than skip, and the earliest future mtime. */
static int spool_first_deferred(struct spool *s, time_t now, const char *skip, char id[SPOOL_ID_LEN + 1],
				time_t *next_due)
{
	int found = 0;
	DIR *d = spool_opendir(s->defer_fd);
	struct dirent *de;
	struct stat st;

	*next_due = 0;
	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!spool_is_id(de->d_name) || strcmp(de->d_name, skip) == 0 ||
		    fstatat(s->defer_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			continue;
		}
		if (st.st_mtime <= now && !found) {
			memcpy(id, de->d_name, SPOOL_ID_LEN + 1);
			found = 1;
		} else if (st.st_mtime > now && (*next_due == 0 || st.st_mtime < *next_due)) {
			*next_due = st.st_mtime;
		}
	}
	closedir(d);
	return found;
}

int spool_next_due(struct spool *s, time_t now, const char *skip, char id[SPOOL_ID_LEN + 1], enum spool_where *where,
		   time_t *next_due)
{
	int rc = spool_first_queued(s, skip, id);

	*next_due = 0;
	if (rc != 0) {
		*where = SPOOL_IN_QUEUE;
		return rc;
	}
	*where = SPOOL_IN_DEFER;
	return spool_first_deferred(s, now, skip, id, next_due);
}

unsigned spool_flush_deferred(struct spool *s, const char *skip)
{
	DIR *d = spool_opendir(s->defer_fd);
	struct dirent *de;
	unsigned n = 0;

	if (d == NULL) {
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (spool_is_id(de->d_name) && strcmp(de->d_name, skip) != 0 &&
		    renameat(s->defer_fd, de->d_name, s->queue_fd, de->d_name) == 0) {
			n++;
		}
	}
	closedir(d);
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
