/*
 * reload_resolv.h - keeping the relay's copies of /etc/hosts and
 * /etc/resolv.conf (SPOOL/etc, read by musl's resolver inside the jail)
 * current. The reload process, which may read any file and has no chroot,
 * stats the host's files every CONFIG_RELAY_RESOLV_CHECK_SECONDS and on
 * SIGHUP, and hands a changed one (open, read-only) to the master, which
 * passes it to the queue, the spool's one writer, which replaces the copy.
 */
#ifndef SUBGATE_RELOAD_RESOLV_H
#define SUBGATE_RELOAD_RESOLV_H

#include <sys/stat.h>

/* What identifies one version of a file: a new inode, size or time is a change. */
struct reload_resolv_seen {
	int present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/* The identity of st (NULL: the file is absent). */
struct reload_resolv_seen reload_resolv_identity(const struct stat *st);

/* 1 when a and b are different versions (or one is absent and the other not). */
int reload_resolv_changed(const struct reload_resolv_seen *a, const struct reload_resolv_seen *b);

/* Records the host's files as they are now (the jail's copies were made from them at start). */
void reload_resolv_init(void);

/* Hands the master every file that changed since last seen (all of them when force). */
void reload_resolv_check(int master_fd, int force);

/* The interval between checks: the Kconfig value, or (test builds) SUBGATE_TEST_RESOLV_CHECK_MS. */
int reload_resolv_interval_ms(void);

#endif
