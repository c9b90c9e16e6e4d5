/*
 * spool_fault_test.c - the commit when the disk fails: fsync is replaced
 * for the whole unit-test binary by a wrapper that passes every call to the
 * kernel unless a test asked the Nth call to fail, and that remembers which
 * descriptors it was asked to sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "spool.h"

#define FAULT_LOG 16

static unsigned fault_fsync_fail_at; /* 0: never; else the Nth call from now fails with EIO */
static unsigned fault_fsync_calls;
static int fault_fsync_fds[FAULT_LOG];

int fsync(int fd)
{
	unsigned n = ++fault_fsync_calls;

	if (n <= FAULT_LOG) {
		fault_fsync_fds[n - 1] = fd;
	}
	if (fault_fsync_fail_at != 0 && n == fault_fsync_fail_at) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static void fault_arm(unsigned fail_at)
{
	fault_fsync_calls = 0;
	fault_fsync_fail_at = fail_at;
}

static int fault_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int fault_exists(const char *dir, const char *sub, const char *id)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, id);
	return stat(path, &st) == 0;
}

TEST(spool_failed_dir_fsync_syncs_the_removal)
{
	static const char *const rcpts[] = { "bob@example.org" };
	static const struct spool_limits roomy = { 1000, 1 << 30, 0 };
	const struct spool_envelope env = { "alice@example.com", "alice", "192.168.1.23", 1, rcpts, 1700000000 };
	char dir[64];
	struct spool_msg m;
	struct spool s;

	snprintf(dir, sizeof(dir), "/tmp/spool_fault_test.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	CHECK(spool_open(&s, dir, &roomy) == 0);
	CHECK(spool_msg_create(&s, &m, &env) == 0);
	CHECK(spool_msg_write(&s, &m, "body\r\n", 6) == 0);
	/* call 1: the file; call 2: queue/ after the rename, which fails */
	fault_arm(2);
	errno = 0;
	CHECK(spool_msg_commit(&s, &m) < 0 && errno == EIO);
	fault_fsync_fail_at = 0;
	CHECK(!fault_exists(dir, "queue", m.id) && !fault_exists(dir, "tmp", m.id));
	CHECK(s.nmessages == 0 && s.nbytes == 0);
	/* the unlink from queue/ was synced after the failure, not left to chance */
	CHECK(fault_fsync_fds[1] == s.queue_fd);
	CHECK(fault_fsync_calls >= 3 && fault_fsync_fds[2] == s.queue_fd);
	spool_close(&s);
	CHECK(nftw(dir, fault_remove, 8, FTW_DEPTH | FTW_PHYS) == 0);
}
