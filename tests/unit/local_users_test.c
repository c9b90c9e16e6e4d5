/*
 * local_users_test.c - the uid -> name table of the local submission socket
 * (passwd parsing: malformed lines, duplicates, bounds) and the sender each
 * local user may use (local_sender lines, else NAME@hostname); the
 * local_submit_group and local_sender config keys.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "harness.h"
#include "local_users.h"

static struct local_users users_under_test;
static struct conf users_conf;

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
				  "# a comment:x:5:5\n"
				  "daemon:x:1:1::/:/sbin/nologin\n"
				  "+nis:x:7:7\n"
				  "broken line without colons\n"
				  "nouid:x::3\n"
				  "big:x:99999999999:1\n"
				  "toor:x:0:0:second root:/root:/bin/sh\n"
				  "backup:x:34:34:backup:/var/backups:/bin/sh"; /* no final newline */

TEST(local_users_parse_passwd)
{
	struct local_users *t = &users_under_test;

	CHECK(local_users_parse(t, passwd_text, strlen(passwd_text)) == 3);
	CHECK_STR(local_users_name(t, 0), "root"); /* the first entry for a uid wins */
	CHECK_STR(local_users_name(t, 1), "daemon");
	CHECK_STR(local_users_name(t, 34), "backup");
	CHECK(local_users_name(t, 7) == NULL);
	CHECK(local_users_name(t, 3) == NULL);
	CHECK(local_users_name(t, 65534) == NULL);
}

TEST(local_users_bounded)
{
	static char text[CONFIG_MAX_LOCAL_USERS * 40 + 200];
	struct local_users *t = &users_under_test;
	size_t len = 0;

	for (unsigned i = 0; i < CONFIG_MAX_LOCAL_USERS + 3; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len, "u%u:x:%u:100::/:/bin/sh\n", i, 1000 + i);
	}
	len += (size_t)snprintf(text + len, sizeof(text) - len, "%s:x:5:5\n",
				"a-name-that-is-much-longer-than-thirty-two-bytes");
	CHECK(local_users_parse(t, text, len) == CONFIG_MAX_LOCAL_USERS);
	CHECK(t->skipped == 4);
	CHECK_STR(local_users_name(t, 1000), "u0");
	CHECK(local_users_name(t, 1000 + CONFIG_MAX_LOCAL_USERS) == NULL);
}

TEST(local_users_sender_default_and_mapped)
{
	static const char text[] = "hostname = gw.example.net\nsmarthost = [smtp.example.com]:587\n"
				   "local_sender = backup: nightly@example.com\nlocal_submit_group = mail\n";
	char out[ADDR_MAX + 1];

	CHECK(conf_parse_buffer(&users_conf, "t.conf", text, strlen(text)) == 0);
	CHECK_STR(users_conf.local_submit_group, "mail");
	CHECK(users_conf.nlocal_sender == 1);
	CHECK(local_users_sender(&users_conf, "backup", out, sizeof(out)) == 0);
	CHECK_STR(out, "nightly@example.com");
	CHECK(local_users_sender(&users_conf, "root", out, sizeof(out)) == 0);
	CHECK_STR(out, "root@gw.example.net");
	CHECK(local_users_sender(&users_conf, "root", out, 8) < 0);
}

TEST(local_users_config_errors)
{
	static const char *const bad[] = {
		"local_sender = backup nightly@example.com\n",
		"local_sender = backup: not-an-address\n",
		"local_sender = Bad Name: a@example.com\n",
		"local_sender = backup: a@example.com\nlocal_sender = backup: b@example.com\n",
		"local_submit_group = Wheel Group\n",
	};
	char text[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n =
		    snprintf(text, sizeof(text), "hostname = gw.example.net\nsmarthost = [s.example]:587\n%s", bad[i]);

		CHECK(conf_parse_buffer(&users_conf, "t.conf", text, (size_t)n) < 0);
	}
}
