/*
 * dirscan_test.c - lib/dirscan.c: every entry once, "." and ".." skipped,
 * many reads for a large directory, a fresh start on every open, errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirscan.h"
#include "harness.h"

#define DS_FILES 600

static char ds_dir[64];
static unsigned char ds_seen[DS_FILES];

static int ds_setup(void)
{
	int fd;

	snprintf(ds_dir, sizeof(ds_dir), "/tmp/subgate-dirscan-XXXXXX");
	CHECK(mkdtemp(ds_dir) != NULL);
	fd = open(ds_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

static void ds_teardown(int fd)
{
	char cmd[128];

	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", ds_dir);
	CHECK(system(cmd) == 0);
}

/* Names of 1 to 60 characters: "f" + the number, padded with x to vary the record sizes. */
static void ds_name(unsigned i, char *out, size_t cap)
{
	int n = snprintf(out, cap, "f%u", i);

	while ((size_t)n < 1 + i % 60 && (size_t)n + 1 < cap) {
		out[n++] = 'x';
	}
	out[n] = '\0';
}

/* Scans dir_fd; marks each name seen. Returns the number of entries, -1 on an unknown name. */
static int ds_scan(int dir_fd)
{
	struct dirscan d;
	const char *name;
	int count = 0;

	memset(ds_seen, 0, sizeof(ds_seen));
	CHECK(dirscan_open(&d, dir_fd) == 0);
	while ((name = dirscan_next(&d)) != NULL) {
		unsigned i = (unsigned)strtoul(name + 1, NULL, 10);
		char want[80];

		ds_name(i, want, sizeof(want));
		if (name[0] != 'f' || i >= DS_FILES || strcmp(name, want) != 0) {
			count = -1;
			break;
		}
		ds_seen[i]++;
		count++;
	}
	CHECK(d.error == 0);
	dirscan_close(&d);
	dirscan_close(&d); /* twice is harmless */
	return count;
}

TEST(dirscan_empty_directory_has_no_entries)
{
	int fd = ds_setup();

	CHECK(ds_scan(fd) == 0);
	ds_teardown(fd);
}

TEST(dirscan_sees_every_entry_once_over_many_reads)
{
	int fd = ds_setup();
	unsigned long before;
	char name[80];

	for (unsigned i = 0; i < DS_FILES; i++) {
		int f;

		ds_name(i, name, sizeof(name));
		f = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		CHECK(f >= 0);
		close(f);
	}
	before = dirscan_reads;
	CHECK(ds_scan(fd) == DS_FILES);
	for (unsigned i = 0; i < DS_FILES; i++) {
		CHECK(ds_seen[i] == 1);
	}
	/* 600 records of 24 to 88 bytes cannot fit one 2048-byte buffer; the last read says "end" */
	CHECK(dirscan_reads - before > 2);
	/* each open starts from the first entry, even though the caller's fd was never rewound */
	CHECK(ds_scan(fd) == DS_FILES);
	ds_teardown(fd);
}

TEST(dirscan_open_fails_on_a_file_and_on_a_closed_fd)
{
	int fd = ds_setup();
	int f = openat(fd, "plain", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	struct dirscan d;

	CHECK(f >= 0);
	CHECK(dirscan_open(&d, f) < 0 && errno == ENOTDIR);
	close(f);
	CHECK(dirscan_open(&d, f) < 0 && errno == EBADF);
	ds_teardown(fd);
}
