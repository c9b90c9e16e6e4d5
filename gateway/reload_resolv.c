/*
 * reload_resolv.c - the reload process's watch on /etc/hosts and
 * /etc/resolv.conf (see reload_resolv.h).
 */
#include "reload_resolv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proto.h"

static const char *const resolv_names[] = { "hosts", "resolv.conf" };
static struct reload_resolv_seen resolv_seen[2];

struct reload_resolv_seen reload_resolv_identity(const struct stat *st)
{
	struct reload_resolv_seen s = { 0 };

	if (st != NULL) {
		s = (struct reload_resolv_seen){ 1, st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim };
	}
	return s;
}

int reload_resolv_changed(const struct reload_resolv_seen *a, const struct reload_resolv_seen *b)
{
	if (a->present != b->present) {
		return 1;
	}
	return a->present && (a->dev != b->dev || a->ino != b->ino || a->size != b->size ||
			      a->mtime.tv_sec != b->mtime.tv_sec || a->mtime.tv_nsec != b->mtime.tv_nsec ||
			      a->ctime.tv_sec != b->ctime.tv_sec || a->ctime.tv_nsec != b->ctime.tv_nsec);
}

/* The identity of /etc/NAME now; *fd gets it opened read-only when it exists (else -1). */
static struct reload_resolv_seen resolv_open(const char *name, int *fd)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/etc/%s", name);
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (*fd >= 0 && fstat(*fd, &st) == 0) {
		return reload_resolv_identity(&st);
	}
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return reload_resolv_identity(NULL);
}

void reload_resolv_init(void)
{
	for (size_t i = 0; i < sizeof(resolv_names) / sizeof(resolv_names[0]); i++) {
		int fd;

		resolv_seen[i] = resolv_open(resolv_names[i], &fd);
		if (fd >= 0) {
			close(fd);
		}
	}
}

void reload_resolv_check(int master_fd, int force)
{
	for (size_t i = 0; i < sizeof(resolv_names) / sizeof(resolv_names[0]); i++) {
		struct proto_resolv_file f;
		int fd;
		struct reload_resolv_seen now = resolv_open(resolv_names[i], &fd);

		if (force || reload_resolv_changed(&resolv_seen[i], &now)) {
			memset(&f, 0, sizeof(f));
			snprintf(f.name, sizeof(f.name), "%s", resolv_names[i]);
			f.present = (uint32_t)now.present;
			if (ipc_send(master_fd, PROTO_RESOLV_FILE, &f, sizeof(f), fd) == 0) {
				resolv_seen[i] = now;
			} else {
				log_err("reload: cannot hand over /etc/%s: %s", resolv_names[i], strerror(errno));
			}
		}
		if (fd >= 0) {
			close(fd);
		}
	}
}

int reload_resolv_interval_ms(void)
{
	int ms = CONFIG_RELAY_RESOLV_CHECK_SECONDS * 1000;

#if CONFIG_TEST_HOOKS
	const char *v = getenv("SUBGATE_TEST_RESOLV_CHECK_MS");

	if (v != NULL && atoi(v) > 0) {
		ms = atoi(v);
	}
#endif
	return ms;
}
