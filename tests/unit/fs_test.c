/*
 * fs_test.c - replacing a file from a descriptor (content, mode, a
 * leftover .tmp, a symlink at the .tmp name never followed). fs_dirname is
 * tested in lib_test.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"

static int fs_dir(char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/fsutil_test.XXXXXX");
	return mkdtemp(path) != NULL ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
}

static int fs_source(const char *dir, const char *text)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/source", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && (fs_write_all(fd, text, strlen(text)) < 0 || lseek(fd, 0, SEEK_SET) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int fs_read(int dir_fd, const char *name, char *out, size_t cap)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, cap - 1) : -1;

	if (fd >= 0) {
		close(fd);
	}
	out[n > 0 ? n : 0] = '\0';
	return (int)n;
}

TEST(fs_replace_from_fd_copies_and_sets_the_mode)
{
	char dir[64], got[256];
	struct stat st;
	int d = fs_dir(dir, sizeof(dir)), in;

	CHECK(d >= 0);
	in = fs_source(dir, "nameserver 192.0.2.53\n");
	CHECK(in >= 0);
	CHECK(fs_replace_from_fd(d, "resolv.conf", in, 0644) == 0);
	close(in);
	CHECK(fs_read(d, "resolv.conf", got, sizeof(got)) == 22);
	CHECK_STR(got, "nameserver 192.0.2.53\n");
	CHECK(fstatat(d, "resolv.conf", &st, 0) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(faccessat(d, "resolv.conf.tmp", F_OK, 0) < 0); /* renamed, not left */

	/* a second version replaces the first; a leftover, read-only .tmp is removed first */
	CHECK(close(openat(d, "resolv.conf.tmp", O_WRONLY | O_CREAT | O_CLOEXEC, 0400)) == 0);
	in = fs_source(dir, "nameserver 198.51.100.1\nnameserver 198.51.100.2\n");
	CHECK(fs_replace_from_fd(d, "resolv.conf", in, 0644) == 0);
	close(in);
	CHECK(fs_read(d, "resolv.conf", got, sizeof(got)) == 48);
	CHECK_STR(got, "nameserver 198.51.100.1\nnameserver 198.51.100.2\n");

	/* an empty source gives an empty file */
	in = fs_source(dir, "");
	CHECK(fs_replace_from_fd(d, "hosts", in, 0600) == 0);
	close(in);
	CHECK(fstatat(d, "hosts", &st, 0) == 0 && st.st_size == 0 && (st.st_mode & 07777) == 0600);

	/* a symlink planted at the .tmp name is removed, never written through */
	CHECK(symlinkat("/tmp/fsutil_test_must_not_exist", d, "hosts.tmp") == 0);
	in = fs_source(dir, "127.0.0.1 localhost\n");
	CHECK(fs_replace_from_fd(d, "hosts", in, 0644) == 0);
	close(in);
	CHECK(access("/tmp/fsutil_test_must_not_exist", F_OK) < 0);
	CHECK(fs_read(d, "hosts", got, sizeof(got)) == 20);

	unlinkat(d, "resolv.conf", 0);
	unlinkat(d, "hosts", 0);
	unlinkat(d, "source", 0);
	close(d);
	CHECK(rmdir(dir) == 0);
}
