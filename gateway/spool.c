/*
 * spool.c - the on-flash spool: run by the `queue` process, which alone owns
 * the spool directory and its tmp/ queue/ defer/ hold/ subdirectories. Creates,
 * writes, commits and aborts incoming messages, sweeps tmp/ at start and
 * keeps the usage counters that the quotas are checked against. Every step
 * works on the directory fds (the *at() calls), so it runs after chroot.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dirscan.h"
#include "fs.h"
#include "log.h"
#include "spool_env.h"
#include "wbuf.h"

#define SPOOL_FILE_MODE      0600
#define SPOOL_DIR_MODE       0700
#define SPOOL_ID_TRIES       64 /* IDs tried before giving up with EEXIST */
#define SPOOL_SEQ_BITS       12 /* 3 hex digits */
#define SPOOL_USEC_BITS      20 /* 5 hex digits */
#define SPOOL_ARRIVAL_MAX    32
#define SPOOL_FORMAT_VERSION "1"

unsigned spool_swept;

#define SPOOL_OUT_CAP 512 /* the envelope's writer: a few write calls instead of one per field */

/*
 * Quota for growth by size bytes: the byte limit and the free-space reserve.
 * The message count is checked only when a message starts.
 */
static int spool_quota_bytes(struct spool *s, uint64_t size)
{
	struct statvfs vfs;
	uint64_t avail;

	if (s->nbytes > s->limits.max_bytes || size > s->limits.max_bytes - s->nbytes) {
		errno = EDQUOT;
		return -1;
	}
	if (fstatvfs(s->root_fd, &vfs) < 0) {
		return -1;
	}
	avail = (uint64_t)vfs.f_bavail;
	if (vfs.f_frsize != 0 && avail > UINT64_MAX / vfs.f_frsize) {
		avail = UINT64_MAX;
	} else {
		avail *= vfs.f_frsize;
	}
	if (avail < size || avail - size < s->limits.min_free_bytes) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int spool_quota_check(struct spool *s, uint64_t size)
{
	if (s->nmessages >= s->limits.max_messages) {
		errno = EDQUOT;
		return -1;
	}
	return spool_quota_bytes(s, size);
}

/* Removes a message from the usage counters. */
static void spool_uncount(struct spool *s, uint64_t bytes)
{
	s->nmessages = s->nmessages > 0 ? s->nmessages - 1 : 0;
	s->nbytes = s->nbytes >= bytes ? s->nbytes - bytes : 0;
}

/* Opens (creating it if missing) one subdirectory; refuses anything but a real directory. */
static int spool_open_subdir(int root_fd, const char *name, int *created)
{
	struct stat st;

	if (mkdirat(root_fd, name, SPOOL_DIR_MODE) == 0) {
		*created = 1;
	} else if (errno != EEXIST) {
		return -1;
	}
	if (fstatat(root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

enum spool_scan_mode {
	SPOOL_SCAN_COUNT,   /* add each file to the usage (queue/, defer/, hold/) */
	SPOOL_SCAN_SWEEP,   /* unlink each file, counted in spool_swept (tmp/) */
	SPOOL_SCAN_ORPHANS, /* unlink the reasons of messages that are gone (reason/) */
};

static int spool_id_taken(struct spool *s, const char *id);

/* Walks the regular files of dir_fd and treats each as mode says. */
static int spool_scan(struct spool *s, int dir_fd, const char *name, enum spool_scan_mode mode)
{
	struct dirscan d;
	const char *file;
	struct stat st;

	if (dirscan_open(&d, dir_fd) < 0) {
		return -1;
	}
	while ((file = dirscan_next(&d)) != NULL) {
		if (fstatat(dir_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
			continue;
		}
		if (mode == SPOOL_SCAN_COUNT) {
			s->nmessages++;
			s->nbytes += (uint64_t)st.st_size;
		} else if (mode == SPOOL_SCAN_ORPHANS) {
			if (!spool_id_taken(s, file)) {
				(void)unlinkat(dir_fd, file, 0); /* a crash between the two unlinks */
			}
		} else if (unlinkat(dir_fd, file, 0) == 0) {
			spool_swept++;
			log_warn("removed incomplete message %s/%s", name, file);
		} else {
			log_warn("cannot remove incomplete message %s/%s: %s", name, file, strerror(errno));
		}
	}
	dirscan_close(&d);
	errno = d.error;
	return d.error != 0 ? -1 : 0;
}

void spool_close(struct spool *s)
{
	int *fds[] = {
		&s->tmp_fd, &s->queue_fd, &s->defer_fd, &s->hold_fd, &s->corrupt_fd, &s->reason_fd, &s->root_fd
	};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0) {
			close(*fds[i]);
		}
		*fds[i] = -1;
	}
}

/* Opens the subdirectories and fsyncs the root if it had to create any. */
static int spool_open_subdirs(struct spool *s)
{
	struct {
		const char *name;
		int *fd;
	} dirs[] = { { "corrupt", &s->corrupt_fd }, { "tmp", &s->tmp_fd },   { "queue", &s->queue_fd },
		     { "defer", &s->defer_fd },     { "hold", &s->hold_fd }, { "reason", &s->reason_fd } };
	int created = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		*dirs[i].fd = spool_open_subdir(s->root_fd, dirs[i].name, &created);
		if (*dirs[i].fd < 0) {
			return -1;
		}
	}
	if (created && fsync(s->root_fd) < 0) {
		return -1;
	}
	return 0;
}

/*
 * SPOOL/state (0755) holds the queue's one-line status file, and SPOOL/status
 * points at it: under the jail the spool's own directory is root's (jail.c),
 * so the queue could not replace a file there by rename. Advisory: a
 * failure is logged, and the queue says so again when it writes.
 */
static void spool_state_dir(int root_fd)
{
	if (mkdirat(root_fd, "state", 0755) < 0 && errno != EEXIST) {
		log_warn("cannot create the spool's state directory: %s", strerror(errno));
	}
	if (symlinkat("state/status", root_fd, "status") < 0 && errno != EEXIST) {
		log_warn("cannot create the spool's status link: %s", strerror(errno));
	}
}

int spool_open(struct spool *s, const char *path, const struct spool_limits *limits)
{
	int saved;

	memset(s, 0, sizeof(*s));
	s->tmp_fd = s->queue_fd = s->defer_fd = s->hold_fd = s->corrupt_fd = s->reason_fd = -1;
	s->limits = *limits;
	spool_swept = 0;
	s->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0) {
		return -1;
	}
	if (spool_open_subdirs(s) < 0 || spool_scan(s, s->tmp_fd, "tmp", SPOOL_SCAN_SWEEP) < 0 ||
	    spool_scan(s, s->queue_fd, "queue", SPOOL_SCAN_COUNT) < 0 ||
	    spool_scan(s, s->defer_fd, "defer", SPOOL_SCAN_COUNT) < 0 ||
	    spool_scan(s, s->hold_fd, "hold", SPOOL_SCAN_COUNT) < 0 ||
	    spool_scan(s, s->reason_fd, "reason", SPOOL_SCAN_ORPHANS) < 0) {
		saved = errno;
		spool_close(s);
		errno = saved;
		return -1;
	}
	spool_state_dir(s->root_fd);
	return 0;
}

/* Issues the next ID: the current time, or one more than the last ID if the clock has not moved on. */
static void spool_next_id(struct spool *s, char id[SPOOL_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	struct timespec ts;
	uint64_t n = 0;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0) {
		n = (uint64_t)(uint32_t)ts.tv_sec << (SPOOL_USEC_BITS + SPOOL_SEQ_BITS);
		n |= (uint64_t)(ts.tv_nsec / 1000) << SPOOL_SEQ_BITS;
	}
	if (n <= s->last_id) {
		n = s->last_id + 1;
	}
	s->last_id = n;
	s->sequence = (unsigned)(n & ((1U << SPOOL_SEQ_BITS) - 1));
	for (int i = SPOOL_ID_LEN - 1; i >= 0; i--) {
		id[i] = hex[n & 0xf];
		n >>= 4;
	}
	id[SPOOL_ID_LEN] = '\0';
}

/* 1 if name is a committed message already (a clock set back, e.g. a box without RTC). */
static int spool_id_taken(struct spool *s, const char *id)
{
	struct stat st;

	return fstatat(s->queue_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	       fstatat(s->defer_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	       fstatat(s->hold_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Creates tmp/ID with a fresh ID unused in tmp/, queue/, defer/ and hold/. Returns the fd or -1. */
static int spool_create_file(struct spool *s, char id[SPOOL_ID_LEN + 1])
{
	for (int tries = 0; tries < SPOOL_ID_TRIES; tries++) {
		int fd;

		spool_next_id(s, id);
		if (spool_id_taken(s, id)) {
			continue;
		}
		fd = openat(s->tmp_fd, id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SPOOL_FILE_MODE);
		if (fd >= 0 || errno != EEXIST) {
			return fd;
		}
	}
	errno = EEXIST;
	return -1;
}

/* The envelope writer's sink: the new file (ctx points at its descriptor). */
static ssize_t spool_out_write(void *ctx, const char *data, size_t len)
{
	return write(*(const int *)ctx, data, len);
}

/* Writes (o != NULL) or measures (o == NULL) one line "KEY VALUE\n"; adds its length to *size. */
static int spool_line(struct wbuf *o, const char *key, const char *value, uint64_t *size)
{
	size_t klen = strlen(key), vlen = strlen(value);

	*size += klen + vlen + 1;
	if (o == NULL) {
		return 0;
	}
	if (wbuf_put(o, key, klen) < 0 || wbuf_put(o, value, vlen) < 0) {
		return -1;
	}
	return wbuf_put(o, "\n", 1);
}

/*
 * Writes the envelope to o, or with o NULL only adds up its size; the
 * arrival line is formatted by the caller. Returns 0 or -1 with errno.
 */
static int spool_envelope(struct wbuf *o, const struct spool_envelope *env, const char *arrival, uint64_t *size)
{
	*size = 0;
	if (spool_line(o, "subgate-spool ", SPOOL_FORMAT_VERSION, size) < 0 ||
	    spool_line(o, "arrival ", arrival, size) < 0 || spool_line(o, "sender ", env->sender, size) < 0 ||
	    spool_line(o, "user ", env->user, size) < 0 || spool_line(o, "client ", env->client, size) < 0) {
		return -1;
	}
	for (unsigned i = 0; i < env->nrcpt; i++) {
		if (spool_line(o, "rcpt P ", env->rcpts[i], size) < 0) {
			return -1;
		}
	}
	if (spool_line(o, "", "", size) < 0) {
		return -1;
	}
	return o == NULL ? 0 : wbuf_flush(o);
}

/* A field is one line of text: present, with no CR or LF (a C string cannot hold a NUL). */
static int spool_field_ok(const char *v)
{
	return v != NULL && strpbrk(v, "\r\n") == NULL;
}

static int spool_envelope_ok(const struct spool_envelope *env)
{
	if (!spool_field_ok(env->sender) || !spool_field_ok(env->user) || !spool_field_ok(env->client) ||
	    env->nrcpt == 0 || env->rcpts == NULL) {
		return 0;
	}
	for (unsigned i = 0; i < env->nrcpt; i++) {
		if (!spool_field_ok(env->rcpts[i]) || env->rcpts[i][0] == '\0') {
			return 0;
		}
	}
	return 1;
}

int spool_msg_create(struct spool *s, struct spool_msg *m, const struct spool_envelope *env)
{
	char arrival[SPOOL_ARRIVAL_MAX], buf[SPOOL_OUT_CAP];
	struct wbuf o;
	uint64_t size;
	int fd, saved;

	m->id[0] = '\0';
	m->fd = -1;
	m->bytes = 0;
	if (!spool_envelope_ok(env)) {
		errno = EINVAL;
		return -1;
	}
	(void)snprintf(arrival, sizeof(arrival), "%lld", (long long)env->arrival);
	(void)spool_envelope(NULL, env, arrival, &size);
	if (size > SPOOL_ENV_MAX) {
		errno = EMSGSIZE; /* it could not be read back: never committed */
		return -1;
	}
	if (spool_quota_check(s, size) < 0) {
		return -1;
	}
	fd = spool_create_file(s, m->id);
	if (fd < 0) {
		return -1;
	}
	wbuf_init(&o, buf, sizeof(buf), spool_out_write, &fd);
	if (spool_envelope(&o, env, arrival, &size) < 0) {
		saved = errno;
		close(fd);
		(void)unlinkat(s->tmp_fd, m->id, 0);
		errno = saved;
		return -1;
	}
	m->fd = fd;
	m->bytes = size;
	s->nmessages++;
	s->nbytes += size;
	return 0;
}

int spool_msg_write(struct spool *s, struct spool_msg *m, const void *buf, size_t len)
{
	if (m->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (spool_quota_bytes(s, len) < 0 || fs_write_all(m->fd, buf, len) < 0) {
		return -1;
	}
	m->bytes += len;
	s->nbytes += len;
	return 0;
}

int spool_msg_commit(struct spool *s, struct spool_msg *m)
{
	int dir_fd = s->tmp_fd; /* where the file is when a step fails */
	int rc = -1;
	int saved;

	if (m->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fsync(m->fd) == 0 && renameat(s->tmp_fd, m->id, s->queue_fd, m->id) == 0) {
		/* Not durable in queue/ until this succeeds: on failure it is removed, never half-accepted. */
		dir_fd = s->queue_fd;
		rc = fsync(s->queue_fd);
	}
	saved = errno;
	close(m->fd);
	m->fd = -1;
	if (rc == 0) {
		return 0;
	}
	/* the rename may still reach the disk: make the removal durable too, or
	 * a crash could bring back in queue/ a message the client was refused */
	if (unlinkat(dir_fd, m->id, 0) == 0 && dir_fd == s->queue_fd && fsync(dir_fd) < 0) {
		log_warn("%s: cannot sync the removal from queue/: %s", m->id, strerror(errno));
	}
	spool_uncount(s, m->bytes);
	m->bytes = 0;
	log_warn("%s: commit failed, message removed: %s", m->id, strerror(saved));
	errno = saved;
	return -1;
}

void spool_msg_abort(struct spool *s, struct spool_msg *m)
{
	int saved = errno; /* the caller still reports the error that made it abort */

	if (m->fd < 0) {
		return;
	}
	close(m->fd);
	m->fd = -1;
	if (unlinkat(s->tmp_fd, m->id, 0) < 0 && errno != ENOENT) {
		log_warn("%s: cannot remove aborted message tmp/%s: %s", m->id, m->id, strerror(errno));
	}
	spool_uncount(s, m->bytes);
	m->bytes = 0;
	errno = saved;
}
