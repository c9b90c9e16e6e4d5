/*
 * dirscan.c - directory entries with getdents64(2) into a fixed buffer
 * (dirscan.h). The kernel's record (struct linux_dirent64) is read field by
 * field from the buffer: ino (8 bytes), off (8), reclen (2), type (1), name.
 */
#include "dirscan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DIRSCAN_RECLEN_AT 16 /* offsetof(struct linux_dirent64, d_reclen) */
#define DIRSCAN_NAME_AT   19 /* offsetof(struct linux_dirent64, d_name) */

unsigned long dirscan_reads;

int dirscan_open(struct dirscan *d, int dir_fd)
{
	d->pos = d->len = 0;
	d->error = 0;
	d->fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return d->fd < 0 ? -1 : 0;
}

/* Refills buf. Returns 1, 0 at the end, -1 on error. */
static int dirscan_fill(struct dirscan *d)
{
	long n;

	if (d->fd < 0) {
		return 0;
	}
	do {
		n = syscall(SYS_getdents64, d->fd, d->buf, sizeof(d->buf));
	} while (n < 0 && errno == EINTR);
	dirscan_reads++;
	if (n < 0) {
		d->error = errno;
		return -1;
	}
	d->pos = 0;
	d->len = (size_t)n;
	return n > 0;
}

const char *dirscan_next(struct dirscan *d)
{
	for (;;) {
		const char *name;
		uint16_t reclen;

		if (d->pos >= d->len) {
			int rc = dirscan_fill(d);

			if (rc <= 0) {
				errno = rc < 0 ? d->error : 0;
				return NULL;
			}
		}
		memcpy(&reclen, d->buf + d->pos + DIRSCAN_RECLEN_AT, sizeof(reclen));
		if (reclen <= DIRSCAN_NAME_AT || reclen > d->len - d->pos) {
			d->error = EIO; /* a record the kernel cannot have written */
			d->pos = d->len = 0;
			dirscan_close(d);
			errno = EIO;
			return NULL;
		}
		name = (const char *)d->buf + d->pos + DIRSCAN_NAME_AT;
		d->pos += reclen;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			return name;
		}
	}
}

void dirscan_close(struct dirscan *d)
{
	if (d->fd >= 0) {
		close(d->fd);
	}
	d->fd = -1;
}
