/*
 * reload_test.c - the pieces of SIGHUP that need no processes: descriptors
 * handed over for paths (fdmap: used once, rewound, bounded) and the keys a
 * reload may not change (conf_change_keep_start_keys).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_change.h"
#include "fdmap.h"
#include "harness.h"

/* A pipe's read end holding `text` (a handed-over "file"). */
static int reload_pipe(const char *text)
{
	int p[2];

	if (pipe(p) < 0 || write(p[1], text, strlen(text)) != (ssize_t)strlen(text)) {
		return -1;
	}
	close(p[1]);
	return p[0];
}

TEST(fdmap_hands_over_once)
{
	char buf[16] = "";
	int fd = reload_pipe("handed");

	CHECK(fd > 0);
	CHECK(fdmap_add("/etc/subgate/key.pem", fd) == 0);
	int got = fdmap_open("/etc/subgate/key.pem");
	CHECK(got == fd);
	CHECK(read(got, buf, sizeof(buf) - 1) == 6);
	CHECK_STR(buf, "handed");
	close(got);
	/* used once: the next open is a real open(2) of a path that does not exist here */
	CHECK(fdmap_open("/etc/subgate/key.pem") < 0);
}

TEST(fdmap_rewinds_files_and_is_bounded)
{
	char path[] = "/tmp/subgate-fdmap-XXXXXX";
	int fd = mkstemp(path);
	char buf[8] = "";

	CHECK(fd > 0 && write(fd, "abc", 3) == 3); /* the offset is at the end now */
	CHECK(fdmap_add("/x/conf", fd) == 0);
	int got = fdmap_open("/x/conf");
	CHECK(read(got, buf, sizeof(buf)) == 3); /* rewound */
	close(got);
	unlink(path);
	for (int i = 0; i < FDMAP_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "/f/%d", i);
		CHECK(fdmap_add(name, reload_pipe("x")) == 0);
	}
	CHECK(fdmap_add("/f/one-too-many", reload_pipe("x")) < 0);
	fdmap_clear();
	CHECK(fdmap_add("/f/after-clear", reload_pipe("x")) == 0);
	fdmap_clear();
}

TEST(conf_reload_keeps_start_keys)
{
	static struct conf now, next;
	static const char a[] = "hostname = a.example\nsmarthost = [s.example]:587\nlisten = 127.0.0.1:587 starttls\n"
				"run_as = subgate\nspool = /var/spool/subgate\nmax_message_size = 1m\n";
	static const char b[] = "hostname = b.example\nsmarthost = [t.example]:465\nlisten = 127.0.0.1:2587 starttls\n"
				"run_as = daemon\nspool = /var/spool/subgate\nmax_message_size = 2m\n";

	CHECK(conf_parse_buffer(&now, "/etc/subgate/subgate.conf", a, strlen(a)) == 0);
	CHECK(conf_parse_buffer(&next, "/etc/subgate/subgate.conf", b, strlen(b)) == 0);
	CHECK(conf_change_keep_start_keys(&next, &now) == 2); /* listen and run_as */
	CHECK(next.listen[0].port == 587 && next.nlisten == now.nlisten);
	CHECK_STR(next.run_as, "subgate");
	CHECK_STR(next.hostname, "b.example"); /* the rest is new */
	CHECK_STR(next.smarthost_host, "t.example");
	CHECK(next.max_message_size == 2u << 20);
	CHECK(conf_change_keep_start_keys(&next, &now) == 0);
}
