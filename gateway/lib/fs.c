/*
 * fs.c - the small durable-write steps every writer of the spool and of
 * users.cdb shares (qmail INTERNALS: a file is visible only once complete).
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_dirname(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL) {
		if (cap < 2) {
			return -1;
		}
		memcpy(dir, ".", 2);
		return 0;
	}
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len + 1 > cap) {
		return -1;
	}
	memcpy(dir, path, len);
	dir[len] = '\0';
	return 0;
}

int fs_sync_parent_dir(const char *path)
{
	char dir[4096];
	int fd;
	int rc;

	if (fs_dirname(path, dir, sizeof(dir)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	rc = fsync(fd);
	close(fd);
	return rc;
}

int fs_replace_from_fd(int dir_fd, const char *name, int in_fd, mode_t mode)
{
	char tmp[64], buf[4096];
	int out, rc = 0;
	ssize_t n = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlinkat(dir_fd, tmp, 0) < 0 && errno != ENOENT) { /* a leftover, perhaps another owner's */
		return -1;
	}
	out = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		return -1;
	}
	while (rc == 0 && (n = read(in_fd, buf, sizeof(buf))) != 0) {
		rc = n < 0 ? (errno == EINTR ? 0 : -1) : fs_write_all(out, buf, (size_t)n);
	}
	if (fchmod(out, mode) < 0) {
		rc = -1;
	}
	if (close(out) < 0 || rc < 0) {
		return -1;
	}
	return renameat(dir_fd, tmp, dir_fd, name);
}
