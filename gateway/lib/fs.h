/*
 * fs.h - durable file-system steps: write everything, fsync a directory,
 * and the tmp + fsync + rename + fsync(dir) replacement of a file.
 */
#ifndef SUBGATE_LIB_FS_H
#define SUBGATE_LIB_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes, retrying on EINTR. Returns 0 or -1 with errno. */
int fs_write_all(int fd, const void *buf, size_t len);

/* fsyncs the directory that contains path. Returns 0 or -1 with errno. */
int fs_sync_parent_dir(const char *path);

/*
 * Replaces dir_fd/name with what in_fd holds from its current offset: a new
 * name.tmp (a leftover one removed first; O_EXCL), chmod `mode`, renamed over
 * name. Nothing is synced:
 * for copies that can be made again (the relay's hosts and resolv.conf).
 * Returns 0 or -1 with errno (name.tmp may be left behind).
 */
int fs_replace_from_fd(int dir_fd, const char *name, int in_fd, mode_t mode);

/* Copies the directory part of path ("." if none) into dir. Returns 0, or -1 if too long. */
int fs_dirname(const char *path, char *dir, size_t cap);

#endif
