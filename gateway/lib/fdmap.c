/*
 * fdmap.c - descriptors handed over for paths (see fdmap.h).
 */
#include "fdmap.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

struct fdmap_entry {
	int fd; /* 0: free (a handed descriptor is never 0: stdin is open) */
	char path[CONFIG_PATH_MAX_LEN];
};

static struct fdmap_entry fdmap[FDMAP_MAX];

static struct fdmap_entry *fdmap_find(const char *path)
{
	for (int i = 0; i < FDMAP_MAX; i++) {
		if (fdmap[i].fd > 0 && strcmp(fdmap[i].path, path) == 0) {
			return &fdmap[i];
		}
	}
	return NULL;
}

int fdmap_add(const char *path, int fd)
{
	struct fdmap_entry *e = fdmap_find(path);

	for (int i = 0; e == NULL && i < FDMAP_MAX; i++) {
		e = fdmap[i].fd > 0 ? NULL : &fdmap[i];
	}
	if (e == NULL || fd <= 0 || strlen(path) >= sizeof(e->path)) {
		if (fd > 0) {
			close(fd);
		}
		return -1;
	}
	if (e->fd > 0) {
		close(e->fd);
	}
	e->fd = fd;
	snprintf(e->path, sizeof(e->path), "%s", path);
	return 0;
}

int fdmap_open(const char *path)
{
	struct fdmap_entry *e = fdmap_find(path);
	int fd;

	if (e == NULL) {
		return open(path, O_RDONLY | O_CLOEXEC);
	}
	fd = e->fd;
	e->fd = 0;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		/* a pipe or socket: read it from where it is */
	}
	return fd;
}

void fdmap_clear(void)
{
	for (int i = 0; i < FDMAP_MAX; i++) {
		if (fdmap[i].fd > 0) {
			close(fdmap[i].fd);
			fdmap[i].fd = 0;
		}
	}
}
