/*
 * lib_test.c - gateway/lib helpers: secrets, paths.
 */
#include <string.h>

#include "fs.h"
#include "harness.h"
#include "log.h"
#include "secret.h"

TEST(secret_helpers)
{
	unsigned char a[32], b[32];

	CHECK(secret_random(a, sizeof(a)) == 0);
	memcpy(b, a, sizeof(a));
	CHECK(secret_equal(a, b, sizeof(a)));
	b[31] ^= 0x80;
	CHECK(!secret_equal(a, b, sizeof(a)));
	secret_wipe(a, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) == 0);
}

TEST(fs_dirname_cases)
{
	char dir[16];

	CHECK(fs_dirname("/etc/subgate/x.conf", dir, sizeof(dir)) == 0);
	CHECK_STR(dir, "/etc/subgate");
	CHECK(fs_dirname("x.conf", dir, sizeof(dir)) == 0);
	CHECK_STR(dir, ".");
	CHECK(fs_dirname("/x", dir, sizeof(dir)) == 0);
	CHECK_STR(dir, "/");
	CHECK(fs_dirname("/a/very/long/directory/x", dir, sizeof(dir)) < 0);
}

TEST(log_printable_neutralises_control_bytes)
{
	char out[16];

	CHECK_STR(log_printable("alice", out, sizeof(out)), "alice");
	CHECK_STR(log_printable("a\nsubgate: x", out, sizeof(out)), "a?subgate: x");
	CHECK_STR(log_printable("\r\t\x7f\xc3\xa4", out, sizeof(out)), "?????");
	CHECK_STR(log_printable("0123456789abcdefXYZ", out, 8), "0123456");
}
