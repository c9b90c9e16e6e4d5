/*
 * spool_test.c - the spool on a real directory under /tmp: commit and abort
 * leave exactly the right files, the start-up sweep and usage count, the
 * quotas (count, bytes, free-space reserve), IDs, envelope validation, and
 * counters that stay exact through every path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "spool.h"

static char spool_dir[64];

static const char *const test_rcpts[] = { "bob@example.org", "carol@example.net" };

static const struct spool_envelope test_env = {
	.sender = "alice@example.com",
	.user = "alice",
	.client = "192.168.1.23",
	.nrcpt = 1,
	.rcpts = test_rcpts,
	.arrival = 1700000000,
};

static const struct spool_limits roomy = { 1000, 1 << 30, 0 };

static const char *temp_spool(void)
{
	snprintf(spool_dir, sizeof(spool_dir), "/tmp/spool_test.XXXXXX");
	CHECK(mkdtemp(spool_dir) != NULL);
	return spool_dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_spool(struct spool *s)
{
	spool_close(s);
	CHECK(nftw(spool_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

/* Path of a file inside the spool: "sub/name". */
static const char *spool_path(const char *sub, const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", spool_dir, sub, name);
	return path;
}

/* Number of entries in a spool subdirectory, "." and ".." excluded. */
static int count_files(const char *sub)
{
	char path[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", spool_dir, sub);
	d = opendir(path);
	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	}
	closedir(d);
	return n;
}

/* Reads a whole file into buf; returns its length or -1. */
static long read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		return -1;
	}
	n = read(fd, buf, cap);
	close(fd);
	return (long)n;
}

static void write_file(const char *sub, const char *name, size_t size)
{
	static const char fill[4096];
	int fd = open(spool_path(sub, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0 && size <= sizeof(fill));
	CHECK(write(fd, fill, size) == (ssize_t)size);
	close(fd);
}

/* Sum of the sizes of the regular files in queue/ and defer/. */
static uint64_t bytes_on_disk(void)
{
	static const char *const subs[] = { "queue", "defer" };
	uint64_t total = 0;

	for (size_t i = 0; i < 2; i++) {
		char path[128];
		struct dirent *de;
		struct stat st;
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", spool_dir, subs[i]);
		d = opendir(path);
		CHECK(d != NULL);
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode)) {
				total += (uint64_t)st.st_size;
			}
		}
		if (d != NULL) {
			closedir(d);
		}
	}
	return total;
}

static const char expected_envelope[] = "subgate-spool 1\n"
					"arrival 1700000000\n"
					"sender alice@example.com\n"
					"user alice\n"
					"client 192.168.1.23\n"
					"rcpt P bob@example.org\n"
					"\n";

TEST(spool_commit_writes_exact_file)
{
	static const char body[] = "Subject: hi\r\n\r\nhello\r\n";
	char want[512], got[512];
	struct spool_msg m;
	struct spool s;
	struct stat st;
	size_t env_len = sizeof(expected_envelope) - 1;

	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	CHECK(spool_msg_create(&s, &m, &test_env) == 0);
	CHECK(strlen(m.id) == SPOOL_ID_LEN && strspn(m.id, "0123456789abcdef") == SPOOL_ID_LEN);
	CHECK(m.bytes == env_len);
	CHECK(count_files("tmp") == 1 && count_files("queue") == 0);
	CHECK(spool_msg_write(&s, &m, body, 10) == 0);
	CHECK(spool_msg_write(&s, &m, body + 10, sizeof(body) - 1 - 10) == 0);
	CHECK(spool_msg_commit(&s, &m) == 0);
	CHECK(m.fd == -1);
	CHECK(count_files("tmp") == 0 && count_files("queue") == 1 && count_files("defer") == 0);
	memcpy(want, expected_envelope, env_len);
	memcpy(want + env_len, body, sizeof(body) - 1);
	CHECK(read_file(spool_path("queue", m.id), got, sizeof(got)) == (long)(env_len + sizeof(body) - 1));
	CHECK_BYTES(got, want, env_len + sizeof(body) - 1);
	CHECK(stat(spool_path("queue", m.id), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(s.nmessages == 1 && s.nbytes == env_len + sizeof(body) - 1);
	spool_msg_abort(&s, &m); /* after a commit: nothing to do */
	CHECK(count_files("queue") == 1 && s.nmessages == 1);
	remove_spool(&s);
}

TEST(spool_abort_leaves_nothing)
{
	struct spool_msg m;
	struct spool s;

	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	CHECK(spool_msg_create(&s, &m, &test_env) == 0);
	CHECK(spool_msg_write(&s, &m, "data\r\n", 6) == 0);
	errno = EDQUOT;
	spool_msg_abort(&s, &m);
	CHECK(errno == EDQUOT);
	CHECK(m.fd == -1);
	spool_msg_abort(&s, &m);
	CHECK(count_files("tmp") == 0 && count_files("queue") == 0);
	CHECK(s.nmessages == 0 && s.nbytes == 0);
	CHECK(spool_msg_write(&s, &m, "x", 1) < 0 && errno == EBADF);
	CHECK(spool_msg_commit(&s, &m) < 0 && errno == EBADF);
	remove_spool(&s);
}

TEST(spool_open_sweeps_and_counts)
{
	char sub[128];
	struct stat st;
	struct spool s;

	temp_spool();
	CHECK(spool_open(&s, spool_dir, &roomy) == 0); /* creates the subdirectories */
	spool_close(&s);
	CHECK(stat(spool_path("tmp", ""), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	write_file("tmp", "0000000100000001", 100);
	write_file("tmp", "0000000100000002", 0);
	write_file("queue", "0000000100000003", 1000);
	write_file("queue", "0000000100000004", 234);
	write_file("defer", "0000000100000005", 4000);
	snprintf(sub, sizeof(sub), "%s/queue/notafile", spool_dir);
	CHECK(mkdir(sub, 0700) == 0);
	spool_swept = 99;
	CHECK(spool_open(&s, spool_dir, &roomy) == 0);
	CHECK(spool_swept == 2);
	CHECK(count_files("tmp") == 0 && count_files("queue") == 3 && count_files("defer") == 1);
	CHECK(s.nmessages == 3 && s.nbytes == 5234);
	CHECK(rmdir(sub) == 0);
	remove_spool(&s);
}

TEST(spool_open_refuses_non_directories)
{
	struct spool s;
	int fd;

	temp_spool();
	fd = open(spool_path("", "defer"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	errno = 0;
	CHECK(spool_open(&s, spool_dir, &roomy) < 0 && errno == ENOTDIR);
	CHECK(s.root_fd == -1 && s.tmp_fd == -1 && s.queue_fd == -1 && s.defer_fd == -1);
	CHECK(unlink(spool_path("", "defer")) == 0);
	CHECK(symlink("tmp", spool_path("", "defer")) == 0);
	errno = 0;
	CHECK(spool_open(&s, spool_dir, &roomy) < 0 && errno == ENOTDIR);
	CHECK(spool_open(&s, spool_path("", "missing"), &roomy) < 0 && errno == ENOENT);
	remove_spool(&s);
}

TEST(spool_quota_message_count)
{
	const struct spool_limits two = { 2, 1 << 30, 0 };
	struct spool_msg a, b, c;
	struct spool s;

	temp_spool();
	CHECK(spool_open(&s, spool_dir, &two) == 0);
	CHECK(spool_quota_check(&s, 0) == 0);
	CHECK(spool_msg_create(&s, &a, &test_env) == 0);
	CHECK(spool_msg_create(&s, &b, &test_env) == 0);
	CHECK(spool_quota_check(&s, 0) < 0 && errno == EDQUOT);
	errno = 0;
	CHECK(spool_msg_create(&s, &c, &test_env) < 0 && errno == EDQUOT && c.fd == -1);
	CHECK(count_files("tmp") == 2 && s.nmessages == 2);
	CHECK(spool_msg_commit(&s, &a) == 0);
	CHECK(spool_msg_create(&s, &c, &test_env) < 0 && errno == EDQUOT);
	spool_msg_abort(&s, &b);
	CHECK(spool_msg_create(&s, &c, &test_env) == 0);
	spool_msg_abort(&s, &c);
	CHECK(count_files("tmp") == 0 && count_files("queue") == 1 && s.nmessages == 1);
	remove_spool(&s);
}

TEST(spool_quota_bytes_during_write)
{
	struct spool_limits lim = { 10, sizeof(expected_envelope) - 1 + 100, 0 };
	static const char data[100];
	struct spool_msg m;
	struct spool s;

	temp_spool();
	CHECK(spool_open(&s, spool_dir, &lim) == 0);
	CHECK(spool_quota_check(&s, lim.max_bytes + 1) < 0 && errno == EDQUOT);
	CHECK(spool_msg_create(&s, &m, &test_env) == 0);
	CHECK(spool_msg_write(&s, &m, data, 60) == 0);
	errno = 0;
	CHECK(spool_msg_write(&s, &m, data, 41) < 0 && errno == EDQUOT);
	CHECK(spool_msg_write(&s, &m, data, 40) == 0); /* exactly at the limit */
	CHECK(s.nbytes == lim.max_bytes && m.bytes == lim.max_bytes);
	CHECK(spool_msg_write(&s, &m, data, 1) < 0 && errno == EDQUOT);
	spool_msg_abort(&s, &m);
	CHECK(count_files("tmp") == 0 && count_files("queue") == 0);
	CHECK(s.nmessages == 0 && s.nbytes == 0);
	lim.max_bytes = 10; /* not even room for the envelope */
	s.limits = lim;
	CHECK(spool_msg_create(&s, &m, &test_env) < 0 && errno == EDQUOT);
	CHECK(count_files("tmp") == 0);
	remove_spool(&s);
}

TEST(spool_free_space_reserve)
{
	struct spool_limits lim = { 10, 1 << 30, UINT64_MAX / 2 };
	struct spool_msg m;
	struct spool s;

	temp_spool();
	CHECK(spool_open(&s, spool_dir, &lim) == 0);
	errno = 0;
	CHECK(spool_quota_check(&s, 0) < 0 && errno == ENOSPC);
	errno = 0;
	CHECK(spool_msg_create(&s, &m, &test_env) < 0 && errno == ENOSPC);
	CHECK(count_files("tmp") == 0 && s.nmessages == 0 && s.nbytes == 0);
	/* The reserve is checked on every write too. */
	s.limits.min_free_bytes = 0;
	CHECK(spool_msg_create(&s, &m, &test_env) == 0);
	s.limits.min_free_bytes = UINT64_MAX / 2;
	errno = 0;
	CHECK(spool_msg_write(&s, &m, "x", 1) < 0 && errno == ENOSPC);
	spool_msg_abort(&s, &m);
	CHECK(count_files("tmp") == 0 && s.nmessages == 0 && s.nbytes == 0);
	remove_spool(&s);
}

TEST(spool_ids_unique_and_sorted)
{
	enum { N = 10000 };
	static char ids[N][SPOOL_ID_LEN + 1];
	unsigned long long first_sec;
	struct spool_msg m;
	struct spool s;
	struct timespec before, after;
	int ok = 1;

	CHECK(spool_open(&s, temp_spool(), &(struct spool_limits){ N + 1, 1ULL << 40, 0 }) == 0);
	CHECK(clock_gettime(CLOCK_REALTIME, &before) == 0);
	for (int i = 0; i < N; i++) {
		ok &= spool_msg_create(&s, &m, &test_env) == 0;
		memcpy(ids[i], m.id, sizeof(ids[i]));
		spool_msg_abort(&s, &m);
	}
	CHECK(ok);
	for (int i = 1; i < N; i++) {
		ok &= strcmp(ids[i - 1], ids[i]) < 0; /* strictly increasing: unique and in time order */
	}
	CHECK(ok);
	CHECK(clock_gettime(CLOCK_REALTIME, &after) == 0);
	CHECK(sscanf(ids[0], "%8llx", &first_sec) == 1);
	CHECK(first_sec >= (unsigned long long)before.tv_sec && first_sec <= (unsigned long long)after.tv_sec);
	CHECK(strtoul(ids[0] + 8, NULL, 16) >> 12 < 1000000); /* microseconds */
	CHECK(count_files("tmp") == 0 && s.nmessages == 0 && s.nbytes == 0);
	remove_spool(&s);
}

TEST(spool_id_skips_committed_ids)
{
	struct spool_msg m;
	struct spool s;

	/* A clock set back (no RTC): the next ID is already in queue/ or defer/. */
	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	s.last_id = 0xfffffff000000000ULL;
	write_file("queue", "fffffff000000001", 10);
	write_file("defer", "fffffff000000002", 10);
	CHECK(spool_msg_create(&s, &m, &test_env) == 0);
	CHECK_STR(m.id, "fffffff000000003");
	CHECK(s.sequence == 3);
	CHECK(spool_msg_commit(&s, &m) == 0);
	CHECK(read_file(spool_path("queue", "fffffff000000001"), (char[16]){ 0 }, 16) == 10);
	CHECK(count_files("queue") == 2 && count_files("defer") == 1);
	remove_spool(&s);
}

TEST(spool_envelope_refuses_line_breaks)
{
	static const char *const bad_rcpts[] = { "bob@example.org", "eve@example.org\r\nrcpt P x@y" };
	static const char *const empty_rcpt[] = { "" };
	struct spool_envelope env[6];
	struct spool_msg m;
	struct spool s;

	for (size_t i = 0; i < 6; i++) {
		env[i] = test_env;
	}
	env[0].sender = "alice@example.com\nrcpt P x@y";
	env[1].user = "alice\r";
	env[2].client = "1.2.3.4\n";
	env[3].rcpts = bad_rcpts;
	env[3].nrcpt = 2;
	env[4].nrcpt = 0;
	env[5].rcpts = empty_rcpt;
	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	for (size_t i = 0; i < 6; i++) {
		errno = 0;
		m.fd = 42;
		CHECK(spool_msg_create(&s, &m, &env[i]) < 0 && errno == EINVAL && m.fd == -1);
	}
	CHECK(count_files("tmp") == 0 && s.nmessages == 0 && s.nbytes == 0);
	remove_spool(&s);
}

TEST(spool_null_sender_and_recipients)
{
	static const char want[] = "subgate-spool 1\n"
				   "arrival 0\n"
				   "sender \n"
				   "user alice\n"
				   "client 192.168.1.23\n"
				   "rcpt P bob@example.org\n"
				   "rcpt P carol@example.net\n"
				   "\n";
	struct spool_envelope env = test_env;
	char got[512];
	struct spool_msg m;
	struct spool s;

	env.sender = "";
	env.nrcpt = 2;
	env.arrival = 0;
	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	CHECK(spool_msg_create(&s, &m, &env) == 0);
	CHECK(m.bytes == sizeof(want) - 1);
	CHECK(spool_msg_commit(&s, &m) == 0);
	CHECK(read_file(spool_path("queue", m.id), got, sizeof(got)) == (long)sizeof(want) - 1);
	CHECK_BYTES(got, want, sizeof(want) - 1);
	remove_spool(&s);
}

TEST(spool_envelope_overhead)
{
	struct spool_msg m;
	struct spool s;
	size_t fields =
	    strlen(test_env.sender) + strlen(test_env.user) + strlen(test_env.client) + strlen(test_rcpts[0]);

	/* 66 fixed bytes (10-digit arrival) plus the four fields: 115 for this envelope. */
	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	CHECK(spool_msg_create(&s, &m, &test_env) == 0);
	CHECK(m.bytes == 66 + fields && m.bytes == 115);
	spool_msg_abort(&s, &m);
	remove_spool(&s);
}

TEST(spool_failed_commit_removes_message)
{
	char queue[128];
	struct spool_msg m;
	struct spool s;

	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	CHECK(spool_msg_create(&s, &m, &test_env) == 0);
	CHECK(spool_msg_write(&s, &m, "body\r\n", 6) == 0);
	snprintf(queue, sizeof(queue), "%s/queue", spool_dir);
	CHECK(rmdir(queue) == 0); /* the rename has nowhere to go */
	errno = 0;
	CHECK(spool_msg_commit(&s, &m) < 0 && errno == ENOENT);
	CHECK(m.fd == -1 && count_files("tmp") == 0);
	CHECK(s.nmessages == 0 && s.nbytes == 0);
	spool_msg_abort(&s, &m);
	CHECK(s.nmessages == 0 && s.nbytes == 0);
	remove_spool(&s);
}

TEST(spool_counters_stay_exact)
{
	struct spool_msg m[4];
	struct spool s, again;
	char chunk[1000];

	memset(chunk, 'x', sizeof(chunk));
	CHECK(spool_open(&s, temp_spool(), &roomy) == 0);
	write_file("defer", "0000000100000001", 321);
	spool_close(&s);
	CHECK(spool_open(&s, spool_dir, &roomy) == 0);
	for (int i = 0; i < 4; i++) {
		CHECK(spool_msg_create(&s, &m[i], &test_env) == 0);
		for (int j = 0; j <= i; j++) {
			CHECK(spool_msg_write(&s, &m[i], chunk, sizeof(chunk) - (size_t)j) == 0);
		}
	}
	CHECK(s.nmessages == 5 && s.nbytes == 321 + m[0].bytes + m[1].bytes + m[2].bytes + m[3].bytes);
	CHECK(spool_msg_commit(&s, &m[1]) == 0);
	spool_msg_abort(&s, &m[0]);
	CHECK(spool_msg_commit(&s, &m[3]) == 0);
	spool_msg_abort(&s, &m[2]);
	spool_msg_abort(&s, &m[2]);
	CHECK(s.nmessages == 3 && s.nbytes == 321 + m[1].bytes + m[3].bytes);
	CHECK(s.nbytes == bytes_on_disk());
	CHECK(spool_open(&again, spool_dir, &roomy) == 0);
	CHECK(again.nmessages == s.nmessages && again.nbytes == s.nbytes && spool_swept == 0);
	spool_close(&again);
	remove_spool(&s);
}
