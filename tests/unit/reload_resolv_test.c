/*
 * reload_resolv_test.c - what counts as a new version of hosts or
 * resolv.conf: another inode (replaced by rename), size, mtime or ctime,
 * appearing or vanishing; the same stat is no change.
 */
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "reload_resolv.h"

TEST(reload_resolv_changed_by_each_field)
{
	struct stat st;
	struct reload_resolv_seen a, b, gone = reload_resolv_identity(NULL), gone2 = reload_resolv_identity(NULL);

	memset(&st, 0, sizeof(st));
	st.st_dev = 8;
	st.st_ino = 1234;
	st.st_size = 40;
	st.st_mtim.tv_sec = 1700000000;
	st.st_ctim.tv_sec = 1700000000;
	a = reload_resolv_identity(&st);
	b = a;
	CHECK(a.present && !reload_resolv_changed(&a, &b));
	CHECK(!reload_resolv_changed(&gone, &gone2));
	CHECK(reload_resolv_changed(&a, &gone) && reload_resolv_changed(&gone, &a));
	b.ino = 1235;
	CHECK(reload_resolv_changed(&a, &b));
	b = a;
	b.dev = 9;
	CHECK(reload_resolv_changed(&a, &b));
	b = a;
	b.size = 41;
	CHECK(reload_resolv_changed(&a, &b));
	b = a;
	b.mtime.tv_nsec = 1; /* rewritten in place within the same second */
	CHECK(reload_resolv_changed(&a, &b));
	b = a;
	b.ctime.tv_sec++;
	CHECK(reload_resolv_changed(&a, &b));
}
